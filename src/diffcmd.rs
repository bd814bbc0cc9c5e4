//! `procsite diff`: a site's documents against global, or what changed for a site
//! between two versions (git refs or published version names).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::build::{self, BuildOptions};
use crate::diag::Diagnostics;
use crate::report::DocText;

#[derive(Debug, Serialize)]
pub struct DocDiff {
    pub id: String,
    pub title: String,
    pub lines_changed: usize,
    pub diff: String,
}

#[derive(Debug, Serialize)]
pub struct DiffReport {
    pub site: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Against global (no versions given), or between the two versions.
    pub changed: Vec<DocDiff>,
}

fn texts(
    root: &Path,
    refname: Option<String>,
    site: &str,
) -> Result<BTreeMap<String, DocText>, Diagnostics> {
    let r = build::render(&BuildOptions {
        root: root.to_path_buf(),
        refname,
        sites: vec![site.to_string()],
        no_html: true,
        ..Default::default()
    });
    if r.diags.has_errors() {
        return Err(r.diags);
    }
    Ok(r.cells
        .get(site)
        .map(|c| c.texts.clone())
        .unwrap_or_default())
}

/// A published version name (`2026.1`) as its release tag, or the name as a ref.
fn as_ref(root: &Path, name: &str) -> String {
    let Some(git) = crate::repo::git::GitRepo::open(root) else {
        return name.to_string();
    };
    if matches!(git.resolve(Some(name)), Ok(Some(_))) {
        return name.to_string();
    }
    let mut d = Diagnostics::new();
    let sources = crate::repo::scan::scan_work_tree(root, &mut d);
    crate::config::load(&sources)
        .ok()
        .map(|c| c.build.release_tags.replace('*', name))
        .filter(|tag| matches!(git.resolve(Some(tag)), Ok(Some(_))))
        .unwrap_or_else(|| name.to_string())
}

fn doc_diff(
    id: &str,
    title: &str,
    old: &str,
    new: &str,
    old_name: &str,
    new_name: &str,
) -> DocDiff {
    let (o, n) = (
        crate::diff::without_blank_lines(old),
        crate::diff::without_blank_lines(new),
    );
    let d = similar::TextDiff::from_lines(o.as_str(), n.as_str());
    DocDiff {
        id: id.to_string(),
        title: title.to_string(),
        lines_changed: d
            .iter_all_changes()
            .filter(|c| c.tag() != similar::ChangeTag::Equal)
            .count(),
        diff: crate::diff::unified(old, new, old_name, new_name),
    }
}

pub fn diff(
    root: &Path,
    site: &str,
    doc: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<DiffReport, Diagnostics> {
    let wanted = |id: &str| doc.is_none_or(|d| d == id);
    let mut report = DiffReport {
        site: site.to_string(),
        from: from.map(str::to_string),
        to: to.map(str::to_string),
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
    };
    if from.is_none() && to.is_none() {
        for (id, t) in texts(root, None, site)?.iter().filter(|(id, _)| wanted(id)) {
            if let Some(global) = &t.global {
                report.changed.push(doc_diff(
                    id,
                    &t.title,
                    global,
                    &t.markdown,
                    &format!("global/{id}"),
                    &format!("{site}/{id}"),
                ));
            }
        }
        return Ok(report);
    }
    let (from_ref, to_ref) = (from.map(|f| as_ref(root, f)), to.map(|t| as_ref(root, t)));
    let old = texts(root, from_ref.clone(), site)?;
    let new = texts(root, to_ref.clone(), site)?;
    let (a, b) = (from.unwrap_or("work tree"), to.unwrap_or("work tree"));
    for (id, t) in new.iter().filter(|(id, _)| wanted(id)) {
        match old.get(id) {
            None => report.added.push(format!("{id} {}", t.title)),
            Some(o) if o.markdown != t.markdown => report.changed.push(doc_diff(
                id,
                &t.title,
                &o.markdown,
                &t.markdown,
                &format!("{a}/{id}"),
                &format!("{b}/{id}"),
            )),
            Some(_) => {}
        }
    }
    for (id, t) in old.iter().filter(|(id, _)| wanted(id)) {
        if !new.contains_key(id) {
            report.removed.push(format!("{id} {}", t.title));
        }
    }
    Ok(report)
}

/// The report as text: unified diffs, or with `stat` one line per document.
pub fn to_text(r: &DiffReport, stat: bool) -> String {
    let mut s = String::new();
    for a in &r.added {
        s.push_str(&format!("added: {a}\n"));
    }
    for rm in &r.removed {
        s.push_str(&format!("removed: {rm}\n"));
    }
    for c in &r.changed {
        if stat {
            s.push_str(&format!(
                "{} {}: {} line(s) changed\n",
                c.id, c.title, c.lines_changed
            ));
        } else {
            s.push_str(&c.diff);
        }
    }
    if s.is_empty() {
        s = match (&r.from, &r.to) {
            (None, None) => format!("every document at site {} is identical to global\n", r.site),
            _ => format!("nothing changed at site {}\n", r.site),
        };
    }
    s
}

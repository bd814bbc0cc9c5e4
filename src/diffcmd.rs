//! `procsite diff`: a site's documents against global, or what changed for a site
//! between two versions (git refs or published version names).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::build::{self, BuildOptions};
use crate::diag::{Code, Diagnostics};
use crate::report::DocText;

#[derive(Debug, Serialize)]
pub struct DocDiff {
    pub id: String,
    pub title: String,
    pub lines_changed: usize,
    pub diff: String,
    #[serde(skip)]
    pub old: String,
    #[serde(skip)]
    pub new: String,
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
    /// Against global: the site's own documents, which have no global text.
    pub site_only: Vec<String>,
}

/// Each document a site publishes at `refname` (the work tree when None): its texts,
/// and whether it is the site's own.
fn texts(
    root: &Path,
    refname: Option<String>,
    site: &str,
) -> Result<BTreeMap<String, (DocText, bool)>, Diagnostics> {
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
    let Some(cells) = r.cells.get(site) else {
        return Ok(BTreeMap::new());
    };
    Ok(cells
        .texts
        .iter()
        .map(|(id, t)| {
            let own = cells
                .cells
                .iter()
                .any(|c| &c.doc == id && c.state == "site-only");
            (id.clone(), (t.clone(), own))
        })
        .collect())
}

/// A document the site does not publish, asked for by id: an error, not "identical".
fn unknown_doc(site: &str, doc: &str, known: &BTreeMap<String, (DocText, bool)>) -> Diagnostics {
    let mut d = Diagnostics::new();
    d.push(
        crate::diag::Diagnostic::error(
            Code::Argument,
            "DOC",
            0,
            format!(
                "site {site} publishes no document {doc}{}",
                crate::diag::did_you_mean(doc, known.keys().map(String::as_str))
            ),
        )
        .help("give the id of a document the site publishes (its index lists them)"),
    );
    d
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
    let sources = crate::repo::scan::scan_book(root, &mut d);
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
        old: old.to_string(),
        new: new.to_string(),
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
        site_only: Vec::new(),
    };
    if from.is_none() && to.is_none() {
        let all = texts(root, None, site)?;
        if let Some(d) = doc.filter(|d| !all.contains_key(*d)) {
            return Err(unknown_doc(site, d, &all));
        }
        for (id, (t, own)) in all.iter().filter(|(id, _)| wanted(id)) {
            if *own {
                report.site_only.push(format!("{id} {}", t.title));
            } else if let Some(global) = &t.global {
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
    if let Some(d) = doc.filter(|d| !old.contains_key(*d) && !new.contains_key(*d)) {
        let mut both = old.clone();
        both.extend(new.clone());
        return Err(unknown_doc(site, d, &both));
    }
    let old: BTreeMap<String, DocText> = old.into_iter().map(|(k, (t, _))| (k, t)).collect();
    let new: BTreeMap<String, DocText> = new.into_iter().map(|(k, (t, _))| (k, t)).collect();
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
    for own in &r.site_only {
        s.push_str(&format!(
            "site-only: {own} (a document of site {} only: no global text to compare with)\n",
            r.site
        ));
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

/// One document of `diff --format html`.
#[derive(Serialize)]
struct HtmlDoc<'a> {
    id: &'a str,
    title: &'a str,
    lines_changed: usize,
    redline: String,
    stats: crate::redline::Stats,
    hunks: Vec<crate::diff::Hunk>,
}

#[derive(Serialize)]
struct HtmlView<'a> {
    book: crate::render::context::BookView,
    build: crate::render::context::BuildView,
    css: String,
    report: &'a DiffReport,
    /// "global" and the site's name, or the two versions.
    old_label: String,
    new_label: String,
    docs: Vec<HtmlDoc<'a>>,
    portal_href: &'static str,
}

/// The report as one HTML page in the book's theme (its style inlined): a redline per
/// document with the Markdown diff one click away, as on the published diff pages.
pub fn to_html(root: &Path, r: &DiffReport) -> Result<String, Diagnostics> {
    let mut d = Diagnostics::new();
    let sources = crate::repo::scan::scan_work_tree(root, &mut d);
    let config = crate::config::load(&sources)?;
    let line = config.line_of_in_table("[build]", "theme");
    let theme = crate::render::theme::load(&sources, &config.build.theme, line, &mut d)
        .ok_or_else(|| d.clone())?;
    let site_name = config
        .site
        .get(&r.site)
        .map_or_else(|| r.site.clone(), |s| s.name.clone());
    let (old_label, new_label) = match (&r.from, &r.to) {
        (None, None) => ("global".to_string(), site_name),
        (f, t) => (
            f.clone().unwrap_or_else(|| "work tree".into()),
            t.clone().unwrap_or_else(|| "work tree".into()),
        ),
    };
    let docs = r
        .changed
        .iter()
        .map(|c| {
            let red = crate::redline::redline(&c.old, &c.new);
            HtmlDoc {
                id: &c.id,
                title: &c.title,
                lines_changed: c.lines_changed,
                redline: red.html,
                stats: red.stats,
                hunks: crate::diff::labelled_hunks(&c.old, &c.new, &[]),
            }
        })
        .collect();
    let view = HtmlView {
        book: crate::render::book_view(&config),
        build: crate::build::build_view("diff", &Default::default(), false, None),
        css: crate::render::inline_css(&theme),
        report: r,
        old_label,
        new_label,
        docs,
        portal_href: "#",
    };
    let mut diags = Diagnostics::new();
    match crate::render::render_template(&theme, "diffreport.html", &view, &mut diags) {
        Some(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        None => Err(diags),
    }
}

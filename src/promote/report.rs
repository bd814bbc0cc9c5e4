//! What a promotion did, and the report `procsite promote` prints of it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::rewrite::{self, Source};
use super::Prepared;
use crate::build;
use crate::diag::{display_path, Code, Diagnostics};
use crate::parse::frontmatter;
use crate::report::SiteCells;

/// What a promotion did, for the report the command prints.
#[derive(Debug, serde::Serialize)]
pub struct Promotion {
    pub site: String,
    pub doc: String,
    pub branch: String,
    pub commit: String,
    pub head: String,
    pub message: String,
    pub promoted: Vec<String>,
    pub kept: Vec<String>,
    /// The addendum's path, and whether it stays (shrunk) or is removed.
    pub addendum: String,
    pub addendum_kept: bool,
    /// Where the kept pieces went.
    pub local_in: super::LocalIn,
    pub global_path: String,
    pub global_status: String,
    /// Every site that publishes the document, before or after.
    pub sites: Vec<SiteChange>,
    /// The errors of the new commit, other than the other sites' addenda failing.
    pub problems: Vec<String>,
}

#[derive(Debug, serde::Serialize)]
pub struct SiteChange {
    pub site: String,
    pub name: String,
    /// The unified diff of the site's text, HEAD to the new commit; empty if the same.
    pub diff: String,
    /// The site's own addendum on the document, if it has one, and what happens to it.
    pub addendum: Option<(String, AddendumFate)>,
}

#[derive(Debug, serde::Serialize, PartialEq, Eq)]
pub enum AddendumFate {
    /// Another site's addendum: stale once the global text changes; the pieces that
    /// repeat text the global document now has.
    Stale { repeats: Vec<String> },
    /// An operation of it targets an anchor the new global text does not have.
    Fails { messages: Vec<String> },
}

/// The report of a promotion, as printed.
pub fn to_text(p: &Promotion) -> String {
    let short = crate::repo::git::short_id;
    let mut s = format!(
        "branch {}: commit {} on HEAD {}; the work tree, the index and the current branch are unchanged\n",
        p.branch,
        short(&p.commit),
        short(&p.head)
    );
    s.push_str(&format!("made global: {}\n", p.promoted.join(", ")));
    if p.addendum_kept {
        s.push_str(&format!(
            "kept for {}: {}, in {}, which loses its approvals: {} re-approves it\n",
            p.site,
            p.kept.join(", "),
            p.addendum,
            p.site
        ));
    } else if !p.kept.is_empty() {
        s.push_str(&format!(
            "kept for {0}: {1}, inside `::: only site={0}` in the global text\n{2}: removed\n",
            p.site,
            p.kept.join(", "),
            p.addendum
        ));
    } else {
        s.push_str(&format!(
            "{}: removed, nothing of it stays local\n",
            p.addendum
        ));
    }
    s.push_str(&format!(
        "{}: status {}{}\n",
        p.global_path,
        p.global_status,
        if p.global_status == "in-review" {
            ", a new revision to approve before a release publishes it"
        } else {
            ""
        }
    ));
    s.push_str(&format!(
        "\nWhat each site would read of {} once the change is approved:\n",
        p.doc
    ));
    let mut stale = Vec::new();
    for c in &p.sites {
        let who = if c.site == p.site {
            format!("site {} ({}), the adapting site", c.site, c.name)
        } else {
            format!("site {} ({})", c.site, c.name)
        };
        if c.diff.is_empty() {
            s.push_str(&format!("\n{who}: reads the same as before\n"));
        } else {
            s.push_str(&format!("\n{who}:\n{}", c.diff));
        }
        match &c.addendum {
            Some((path, AddendumFate::Stale { repeats })) => {
                let mut line = format!(
                    "- {}: {path} becomes stale: review it against the new global text and re-approve it",
                    c.site
                );
                if !repeats.is_empty() {
                    line.push_str(&format!(
                        "; the global document now has the text of its {}: take that out",
                        repeats.join(", ")
                    ));
                }
                stale.push(line);
            }
            Some((path, AddendumFate::Fails { messages })) => stale.push(format!(
                "- {}: {path} would fail: {}",
                c.site,
                messages.join("; ")
            )),
            _ => {}
        }
    }
    s.push_str(&format!("\nOther sites' addenda on {}:\n", p.doc));
    if stale.is_empty() {
        s.push_str("- none: no other site adapts it\n");
    }
    for l in stale {
        s.push_str(&l);
        s.push('\n');
    }
    if !p.problems.is_empty() {
        s.push_str("\nThe promoted commit does not pass procsite check yet:\n");
        for pr in &p.problems {
            s.push_str(pr);
            s.push('\n');
        }
    }
    s.push_str(&format!(
        "\nNext: push {} and open a pull request; approve {} there, then release.\n",
        p.branch, p.doc
    ));
    s
}

impl Prepared {
    /// What every site that publishes the document reads of it at HEAD and at the new
    /// commit, and what becomes of the other sites' addenda on it.
    pub(super) fn site_changes(
        &self,
        after: &build::Rendered,
        branch: &str,
        new_global: &[u8],
    ) -> Vec<SiteChange> {
        let id = &self.doc.meta.id;
        let text = |cells: &BTreeMap<String, SiteCells>, s: &str| {
            cells
                .get(s)
                .and_then(|c| c.texts.get(id))
                .map(|t| t.markdown.clone())
        };
        let new_global = String::from_utf8_lossy(new_global);
        let global_lines: BTreeSet<&str> = new_global.lines().map(str::trim).collect();
        let errors = after.diags.clone().into_sorted();
        let mut out = Vec::new();
        for (s, cfg) in &self.config.site {
            let (old, new) = (text(&self.before, s), text(&after.cells, s));
            if old.is_none() && new.is_none() {
                continue;
            }
            let (old, new) = (old.unwrap_or_default(), new.unwrap_or_default());
            let diff = if old == new {
                String::new()
            } else {
                crate::diff::unified(
                    &old,
                    &new,
                    &format!("{s}/{id} (HEAD)"),
                    &format!("{s}/{id} ({branch})"),
                )
            };
            // The adapting site's own addendum is reported above, removed or shrunk.
            let addendum = if *s == self.site {
                None
            } else {
                self.others
                    .iter()
                    .find(|(o, _, _)| o == s)
                    .map(|(_, path, text)| {
                        let fails: Vec<String> = errors
                            .iter()
                            .filter(|d| d.code == Code::UnknownAnchor && d.file == *path)
                            .map(|d| format!("line {}: {}", d.line, d.message))
                            .collect();
                        let fate = if fails.is_empty() {
                            let split = frontmatter::split(text).map_or(1, |x| x.body_line);
                            let repeats = rewrite::pieces(&Source::new(text, split))
                                .into_iter()
                                .filter(|p| {
                                    !p.content.is_empty()
                                        && p.content.iter().all(|l| {
                                            l.trim().is_empty() || global_lines.contains(l.trim())
                                        })
                                })
                                .map(|p| p.label())
                                .collect();
                            AddendumFate::Stale { repeats }
                        } else {
                            AddendumFate::Fails { messages: fails }
                        };
                        (display_path(path), fate)
                    })
            };
            out.push(SiteChange {
                site: s.clone(),
                name: cfg.name.clone(),
                diff,
                addendum,
            });
        }
        out
    }
}

/// The errors of the new commit, other than other sites' addenda losing an anchor
/// (reported with their sites).
pub(super) fn problems(diags: &Diagnostics, others: &[(String, PathBuf, String)]) -> Vec<String> {
    diags
        .clone()
        .into_sorted()
        .into_iter()
        .filter(|d| d.is_error())
        .filter(|d| !(d.code == Code::UnknownAnchor && others.iter().any(|(_, p, _)| *p == d.file)))
        .map(|d| d.to_string())
        .collect()
}

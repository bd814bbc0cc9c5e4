//! `procsite promote --site S DOC`: site S's adaptation of the global document DOC,
//! proposed as the global text, in a commit on a new branch `promote/S/DOC`.
//!
//! It works from HEAD's commit, never from the work tree: the new commit is made from
//! HEAD's tree in memory, and the work tree, the index and the current branch stay as
//! they are. Each piece of the addendum is either made global as it stands or kept for
//! the site: in its addendum, which then shrinks to the kept pieces, or (`--local-in
//! global`) in the global text inside `::: only site=S`. The global document becomes a
//! revision in review; a shrunk addendum loses its approvals and is in review too. Then every site's text of DOC is composed at HEAD and at the new commit, so the
//! reviewer sees what each site would read once the change is approved.

pub mod ask;
mod report;
pub mod rewrite;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::build::{self, BuildOptions};
use crate::config::Config;
use crate::diag::{did_you_mean, display_path, Code, Diagnostic, Diagnostics};
use crate::model::{AddendumMeta, Status};
use crate::parse::{self, frontmatter, Document};
use crate::report::SiteCells;
pub use report::{to_text, AddendumFate, Promotion, SiteChange};
use rewrite::{Piece, Source};

/// Where the pieces kept for the site go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LocalIn {
    /// They stay in the addendum, which shrinks to them and is re-approved by the site.
    Addendum,
    /// They go into the global text inside `::: only site=<site>`; the addendum is removed.
    Global,
}

/// A promotion ready to be decided: the site, the document, the addendum's pieces and
/// what HEAD publishes.
pub struct Prepared {
    root: PathBuf,
    site: String,
    doc: Document,
    head: String,
    config: Config,
    global_text: String,
    global_body_line: usize,
    addendum_path: PathBuf,
    addendum_text: String,
    addendum_body_line: usize,
    addendum: AddendumMeta,
    pieces: Vec<Piece>,
    /// The other sites' addenda on the document: site, path, text.
    others: Vec<(String, PathBuf, String)>,
    identity: (String, String),
    /// Each site's texts at HEAD.
    before: std::collections::BTreeMap<String, SiteCells>,
    /// Source files with uncommitted changes, which the promotion leaves out.
    pub dirty: Vec<String>,
}

fn argument(file: impl Into<PathBuf>, message: String, help: String) -> Diagnostics {
    refusal(Code::Argument, file, 0, message, help)
}

fn refusal(
    code: Code,
    file: impl Into<PathBuf>,
    line: usize,
    message: String,
    help: String,
) -> Diagnostics {
    let mut d = Diagnostics::new();
    d.push(Diagnostic::error(code, file, line, message).help(help));
    d
}

/// The name of the branch a promotion makes.
pub fn branch_name(site: &str, doc: &str) -> String {
    format!("promote/{site}/{doc}")
}

/// `procsite check --ref <commit>`: every diagnostic, and each site's composed texts.
fn check_at(root: &Path, commit: &str) -> build::Rendered {
    build::check_all(&BuildOptions {
        root: root.to_path_buf(),
        refname: Some(commit.to_string()),
        ..Default::default()
    })
}

/// The global document `doc_id`, the addendum of `site` to it, and every addendum to
/// it; or the refusal naming what is not there.
fn locate<'c>(
    config: &Config,
    corpus: &'c parse::Corpus,
    site: &str,
    doc_id: &str,
) -> Result<(&'c Document, &'c parse::Addendum, Vec<&'c parse::Addendum>), Diagnostics> {
    if !config.site.contains_key(site) {
        let known: Vec<&str> = config.site.keys().map(String::as_str).collect();
        return Err(argument(
            crate::layout::BOOK,
            format!(
                "there is no site '{site}' in book.toml{}",
                did_you_mean(site, known.iter().copied())
            ),
            format!("give the id of a [site.<id>] table: {}", known.join(", ")),
        ));
    }
    let Some(doc) = corpus
        .documents
        .iter()
        .find(|d| d.meta.id == doc_id && d.site.is_none())
    else {
        if let Some(own) = corpus.documents.iter().find(|d| d.meta.id == doc_id) {
            return Err(argument(
                &*own.path,
                format!(
                    "{doc_id} is a document of site {} only: there is no global text to promote into",
                    own.site.as_deref().unwrap_or_default()
                ),
                "to make it global, move the file to procedures/global/ in a change of its own"
                    .into(),
            ));
        }
        let globals = corpus.documents.iter().filter(|d| d.site.is_none());
        return Err(argument(
            parse::PROCEDURES_DIR.to_string() + "/" + parse::GLOBAL_DIR,
            format!(
                "there is no global document {doc_id}{}",
                did_you_mean(doc_id, globals.map(|d| d.meta.id.as_str()))
            ),
            "give the id of a global document (procsite report lists them with the sites that adapt them)".into(),
        ));
    };
    if doc.meta.status == Status::Obsolete {
        return Err(refusal(
            Code::Promote,
            &*doc.path,
            doc.line("status"),
            format!("{doc_id} is obsolete: nothing is promoted into a withdrawn document"),
            "promote into the document that supersedes it".into(),
        ));
    }
    let adapting: Vec<&parse::Addendum> = corpus
        .addenda
        .iter()
        .filter(|a| a.meta.addendum_to == doc_id)
        .map(|a| &**a)
        .collect();
    let Some(add) = adapting.iter().find(|a| a.site == site) else {
        let others: Vec<String> = adapting
            .iter()
            .map(|a| format!("{} ({})", a.site, display_path(&a.path)))
            .collect();
        return Err(argument(
            format!("{}/{}/{site}", parse::PROCEDURES_DIR, parse::SITES_DIR),
            format!("site {site} has no addendum to {doc_id}: there is nothing to promote"),
            if others.is_empty() {
                format!("no site adapts {doc_id}")
            } else {
                format!("sites that adapt {doc_id}: {}", others.join(", "))
            },
        ));
    };
    Ok((doc, add, adapting))
}

/// Reads HEAD and finds the addendum of `site` to `doc`; refuses what cannot be promoted.
pub fn prepare(root: &Path, site: &str, doc_id: &str) -> Result<Prepared, Diagnostics> {
    let Some(git) = crate::repo::git::GitRepo::open(root) else {
        return Err(refusal(
            Code::Git,
            ".",
            0,
            "this is not a git repository: promote makes a commit on a new branch".into(),
            "run it in the repository of the procedures".into(),
        ));
    };
    let head = match git.resolve(None) {
        Ok(Some(oid)) => oid.to_string(),
        _ => {
            return Err(refusal(
                Code::Git,
                ".git",
                0,
                "HEAD has no commit to promote from".into(),
                "commit the procedures first".into(),
            ))
        }
    };
    let dirty = git.dirty_paths().unwrap_or_default();
    let mut diags = Diagnostics::new();
    let opts = BuildOptions {
        root: root.to_path_buf(),
        refname: Some(head.clone()),
        ..Default::default()
    };
    let Some(loaded) = build::load(&opts, &mut diags) else {
        return Err(diags);
    };
    let config = loaded.config.clone();
    let corpus = parse::parse_corpus(&loaded.source.sources, &config, &mut Diagnostics::new());
    let (doc, add, adapting) = locate(&config, &corpus, site, doc_id)?;
    let branch = branch_name(site, doc_id);
    if crate::repo::create::branch_exists(root, &branch) {
        return Err(refusal(
            Code::Promote,
            format!("refs/heads/{branch}"),
            0,
            format!("branch {branch} exists already"),
            format!(
                "review or merge it; to promote again, delete it first (git branch -D {branch})"
            ),
        ));
    }
    let identity = crate::repo::create::configured_identity(root).map_err(|e| {
        refusal(
            Code::Promote,
            ".git/config",
            0,
            format!("{e}: the commit needs an author"),
            "set them: git config user.name \"Your Name\" && git config user.email you@example.com"
                .into(),
        )
    })?;
    let text_of = |p: &Path| {
        loaded
            .source
            .sources
            .files
            .iter()
            .find(|f| f.path == p)
            .map(|f| f.text.clone())
            .unwrap_or_default()
    };
    let body_line = |t: &str| frontmatter::split(t).map_or(1, |s| s.body_line);
    let global_text = text_of(&doc.path);
    let addendum_text = text_of(&add.path);
    let pieces = rewrite::pieces(&Source::new(&addendum_text, body_line(&addendum_text)));
    let before = check_at(root, &head);
    if before.diags.has_errors() {
        let mut d = before.diags;
        d.push(
            Diagnostic::error(
                Code::Promote,
                ".",
                0,
                format!("HEAD ({}) does not pass procsite check", crate::repo::git::short_id(&head)),
            )
            .help("fix the errors above and commit, then promote: a proposal starts from a sound text")
            .trailing(),
        );
        return Err(d);
    }
    Ok(Prepared {
        root: root.to_path_buf(),
        site: site.to_string(),
        global_body_line: body_line(&global_text),
        addendum_body_line: body_line(&addendum_text),
        doc: doc.clone(),
        head,
        global_text,
        addendum_path: (*add.path).clone(),
        addendum_text,
        addendum: add.meta.clone(),
        pieces,
        others: adapting
            .iter()
            .filter(|a| a.site != site)
            .map(|a| (a.site.clone(), (*a.path).clone(), text_of(&a.path)))
            .collect(),
        identity,
        before: before.cells,
        config,
        dirty,
    })
}

impl Prepared {
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    pub fn addendum_path(&self) -> &Path {
        &self.addendum_path
    }

    /// The pieces `--keep-local` names (by anchor, with or without `#`), or the refusal
    /// of an anchor that is not one of the addendum's pieces.
    pub fn kept_by_anchor(&self, anchors: &[String]) -> Result<BTreeSet<usize>, Diagnostics> {
        let mut kept = BTreeSet::new();
        for a in anchors {
            let a = a.trim_start_matches('#');
            let found: Vec<usize> = (0..self.pieces.len())
                .filter(|i| self.pieces[*i].anchor == a)
                .collect();
            if found.is_empty() {
                let list: Vec<String> = self
                    .pieces
                    .iter()
                    .map(|p| format!("{} (line {}, {})", p.anchor, p.line, p.label()))
                    .collect();
                return Err(argument(
                    &self.addendum_path,
                    format!(
                        "--keep-local {a}: the addendum has no piece at #{a}{}",
                        did_you_mean(a, self.pieces.iter().map(|p| p.anchor.as_str()))
                    ),
                    format!("its pieces: {}", list.join("; ")),
                ));
            }
            kept.extend(found);
        }
        Ok(kept)
    }

    /// Writes the commit and the branch, with the pieces at `kept` kept for the site
    /// where `local_in` says.
    pub fn promote(
        self,
        kept: &BTreeSet<usize>,
        local_in: LocalIn,
    ) -> Result<Promotion, Diagnostics> {
        let by_choice = |keep: bool| -> Vec<&Piece> {
            (self.pieces.iter().enumerate())
                .filter(|(i, _)| kept.contains(i) == keep)
                .map(|(_, p)| p)
                .collect()
        };
        let (promoted, local) = (by_choice(false), by_choice(true));
        if promoted.is_empty() {
            return Err(refusal(
                Code::Promote,
                &self.addendum_path,
                0,
                "every piece is kept local: there is nothing to promote".into(),
                "keep fewer pieces local".into(),
            ));
        }
        // The pieces the global text takes: in the addendum's order, each flagged when
        // it is kept for the site alone.
        let applied: Vec<(&Piece, bool)> = (self.pieces.iter().enumerate())
            .filter(|(i, _)| local_in == LocalIn::Global || !kept.contains(i))
            .map(|(i, p)| (p, kept.contains(&i)))
            .collect();
        let global = Source::new(&self.global_text, self.global_body_line);
        let scope = rewrite::SiteScope {
            id: &self.site,
            name: &self.config.site[&self.site].name,
            rationale: &self.addendum.rationale,
        };
        let body = rewrite::apply(&self.doc, &global, &applied, &scope).map_err(|(i, why)| {
            let (p, site_only) = applied[i];
            let (message, help) = match why {
                rewrite::Refusal::Conditional if site_only => (
                    format!("`{}` is inside `{}`: the global text cannot keep it for {} alone", p.label(), p.conds.join(" … "), self.site),
                    format!("keep it in the addendum (--keep-local {} without --local-in global)", p.anchor),
                ),
                rewrite::Refusal::Conditional => (
                    format!("`{}` is inside `{}`: made global, the sites outside the condition would lose the section's text", p.label(), p.conds.join(" … ")),
                    format!("keep it local (--keep-local {}), or promote it by hand", p.anchor),
                ),
                rewrite::Refusal::NoAnchor(a) => (
                    format!("`{}`: {} has no section #{a}", p.label(), self.doc.meta.id),
                    "run procsite check and fix the addendum first".to_string(),
                ),
            };
            refusal(Code::Promote, &self.addendum_path, p.line, message, help)
        })?;
        let in_addendum: Vec<&Piece> = match local_in {
            LocalIn::Addendum => local.clone(),
            LocalIn::Global => Vec::new(),
        };
        let (status, drop): (Option<&str>, &[&str]) = match self.doc.meta.status {
            Status::Approved => (Some("in-review"), &["effective", "approvals"]),
            _ => (None, &[]),
        };
        let front = rewrite::front_matter(&global, status, drop);
        let new_global = rewrite::file_text(&front, &body);
        self.check_kept_anchors(&new_global, &in_addendum)?;
        let global_path = display_path(&self.doc.path);
        let addendum_path = display_path(&self.addendum_path);
        let mut writes = vec![(global_path.clone(), new_global.into_bytes())];
        let mut removes = Vec::new();
        if in_addendum.is_empty() {
            removes.push(addendum_path.clone());
        } else {
            let add = Source::new(&self.addendum_text, self.addendum_body_line);
            let status = (self.addendum.status == Status::Approved).then_some("in-review");
            let front = rewrite::front_matter(&add, status, &["approvals"]);
            let mut body = rewrite::shrink(&add, &promoted);
            body.insert(0, String::new());
            writes.push((
                addendum_path.clone(),
                rewrite::file_text(&front, &body).into_bytes(),
            ));
        }
        let branch = branch_name(&self.site, &self.doc.meta.id);
        let message = self.message(&promoted, &local, local_in);
        let fail = |e: String| {
            refusal(
                Code::Git,
                ".git",
                0,
                format!("cannot make the commit: {e}"),
                "check that the repository is writable".into(),
            )
        };
        let commit = crate::repo::create::commit_on(
            &self.root,
            &self.head,
            &writes,
            &removes,
            &message,
            &self.identity,
        )
        .map_err(fail)?;
        let after = check_at(&self.root, &commit);
        crate::repo::create::create_branch(&self.root, &branch, &commit).map_err(fail)?;
        let global_status = match status {
            Some(s) => s.to_string(),
            None => self.doc.meta.status.as_str().to_string(),
        };
        Ok(Promotion {
            sites: self.site_changes(&after, &branch, &writes[0].1),
            problems: report::problems(&after.diags, &self.others),
            site: self.site.clone(),
            doc: self.doc.meta.id.clone(),
            branch,
            commit,
            head: self.head.clone(),
            message,
            promoted: promoted.iter().map(|p| p.label()).collect(),
            kept: local.iter().map(|p| p.label()).collect(),
            addendum: addendum_path,
            addendum_kept: !in_addendum.is_empty(),
            local_in,
            global_path,
            global_status,
        })
    }

    /// A kept operation needs its section in the new global text.
    fn check_kept_anchors(&self, new_global: &str, local: &[&Piece]) -> Result<(), Diagnostics> {
        let mut scratch = Diagnostics::new();
        let anchors: BTreeSet<String> =
            frontmatter::parse_file(&self.doc.path, new_global, &mut scratch)
                .map(|p| {
                    let body = parse::blocks::parse_body(
                        &self.doc.path,
                        p.body,
                        p.body_line,
                        false,
                        &self.config,
                        &mut scratch,
                    );
                    parse::stable_anchors(&body).into_values().collect()
                })
                .unwrap_or_default();
        for p in local.iter().filter(|p| p.op.is_some()) {
            if !anchors.contains(&p.anchor) {
                return Err(refusal(
                    Code::Promote,
                    &self.addendum_path,
                    p.line,
                    format!(
                        "`{}` is kept for {}, but the promoted pieces take #{} out of {}",
                        p.label(),
                        self.site,
                        p.anchor,
                        self.doc.meta.id
                    ),
                    "promote it too, or keep the piece that takes the section out".into(),
                ));
            }
        }
        Ok(())
    }

    fn message(&self, promoted: &[&Piece], local: &[&Piece], local_in: LocalIn) -> String {
        let id = &self.doc.meta.id;
        let site = &self.site;
        let name = &self.config.site[site].name;
        let rationale = one_line(&self.addendum.rationale);
        let path = display_path(&self.addendum_path);
        let mut m = format!(
            "Promote {site}'s adaptation of {id} to the global text\n\n\
             The addendum {path} adapted {id} ({}) at site {site} ({name}).\n\n\
             Rationale: {rationale}\n\nMade global:\n",
            self.doc.meta.title
        );
        for p in promoted {
            m.push_str(&format!("- {} (line {})\n", p.label(), p.line));
        }
        if !local.is_empty() {
            m.push_str(&match local_in {
                LocalIn::Addendum => format!("Kept for {site} in the addendum:\n"),
                LocalIn::Global => {
                    format!("Kept for {site} in the global text, inside `::: only site={site}`:\n")
                }
            });
            for p in local {
                m.push_str(&format!("- {} (line {})\n", p.label(), p.line));
            }
        }
        m.push_str("\nApprovals of the addendum:\n");
        if self.addendum.approvals.is_empty() {
            m.push_str(&format!(
                "- none (status {})\n",
                self.addendum.status.as_str()
            ));
        }
        for a in &self.addendum.approvals {
            m.push_str(&format!(
                "- {}, {}, {}, {}\n",
                a.name, a.role, a.meaning, a.date.text
            ));
        }
        m.push('\n');
        if self.doc.meta.status == Status::Approved {
            m.push_str(&format!(
                "{} goes to status in-review: a new revision, approved like any other before a release publishes it.\n",
                display_path(&self.doc.path)
            ));
        }
        if local.is_empty() {
            m.push_str("The addendum is removed: nothing of it stays local.\n");
        } else if local_in == LocalIn::Global {
            m.push_str("The addendum is removed: what stays local is in the global text.\n");
        } else {
            m.push_str(&format!(
                "The addendum keeps {} piece(s) and loses its approvals: {site} re-approves it.\n",
                local.len()
            ));
        }
        m.push_str(&format!("\nChange-Reason: {rationale}\n"));
        m
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

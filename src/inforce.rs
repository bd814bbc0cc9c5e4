//! The text in force at the as-of date. An approved revision whose `effective` date is
//! after it is pending, and a release does not publish a revision still being drafted:
//! in both cases the last approved revision in force, read from history, is published,
//! and the newer one is announced as upcoming.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::{Date, Status};
use crate::parse::{blocks, frontmatter, Corpus, Document};
use crate::repo::git::CommitInfo;
use crate::repo::history::HistoryIndex;
use crate::stamp::Stamps;

/// Why a document's published text is an earlier revision than its file.
#[derive(serde::Serialize, Debug, Clone)]
pub struct InForce {
    /// The approved revision published.
    pub revision: u32,
    /// The commit that made that revision.
    pub commit: Arc<CommitInfo>,
    /// The file's own status and effective date: the upcoming revision.
    pub upcoming_status: Status,
    pub upcoming_effective: Option<Date>,
}

fn in_force_at(meta: &crate::model::DocMeta, as_of: Option<Date>) -> bool {
    meta.status == Status::Approved
        && match (meta.effective, as_of) {
            (Some(e), Some(t)) => e <= t,
            (Some(_), None) => true,
            // A register entry is in force from its approval unless it names a date.
            (None, _) => meta.is_external(),
        }
}

/// Which text of each document is in force at the as-of date, where it is not the
/// file's own: the earlier revisions published instead, and the documents not yet in
/// force at all.
#[derive(serde::Serialize, Debug, Default)]
pub struct InForceMap {
    #[serde(serialize_with = "crate::sorted")]
    earlier: HashMap<Arc<PathBuf>, (Document, InForce)>,
    #[serde(serialize_with = "crate::sorted_set")]
    not_yet: HashSet<Arc<PathBuf>>,
}

impl InForceMap {
    /// The text of `doc` a build publishes: an earlier revision in force, or the file's.
    pub fn published<'a>(&'a self, doc: &'a Document) -> &'a Document {
        self.earlier.get(&doc.path).map_or(doc, |(d, _)| d)
    }

    /// Why the published text is an earlier revision, if it is.
    pub fn info(&self, path: &PathBuf) -> Option<&InForce> {
        self.earlier.get(path).map(|(_, f)| f)
    }

    /// A pending document with no earlier revision in force: not published yet.
    pub fn not_yet(&self, path: &PathBuf) -> bool {
        self.not_yet.contains(path)
    }

    /// Every document as the build publishes it, in corpus order.
    pub fn documents<'a>(&'a self, corpus: &'a Corpus) -> impl Iterator<Item = &'a Document> {
        corpus.documents.iter().map(|d| self.published(d))
    }
}

/// Finds, for each pending or (in a release) unreleased document, its last revision in
/// force, when history has one. A pending document without one is not yet in force.
pub fn select(
    corpus: &Corpus,
    history: &HistoryIndex,
    stamps: &Stamps,
    as_of: Option<Date>,
    release: bool,
    config: &Config,
    diags: &mut Diagnostics,
) -> InForceMap {
    let mut map = InForceMap::default();
    for doc in &corpus.documents {
        let pending = doc.meta.status == Status::Approved && !in_force_at(&doc.meta, as_of);
        let revising = release && matches!(doc.meta.status, Status::Draft | Status::InReview);
        if !(pending || revising) {
            continue;
        }
        match earlier_in_force(doc, history, stamps, as_of, config) {
            Some(old) => {
                map.earlier.insert(doc.path.clone(), old);
            }
            None if pending => {
                map.not_yet.insert(doc.path.clone());
                // Without an effective date the document is already reported as an
                // error; the warning is for a date still to come.
                if let Some(e) = doc.meta.effective {
                    diags.push(
                        Diagnostic::warning(Code::NotInForce, &*doc.path, doc.line("effective"), format!(
                            "{} becomes effective on {e}, after the as-of date{}, and no earlier revision is in force: it is not published yet",
                            doc.meta.id,
                            as_of.map_or_else(String::new, |t| format!(" {t}")),
                        ))
                        .help("this is expected before a new document takes effect; otherwise check the effective date"),
                    );
                }
            }
            None => {}
        }
    }
    map
}

fn earlier_in_force(
    doc: &Document,
    history: &HistoryIndex,
    stamps: &Stamps,
    as_of: Option<Date>,
    config: &Config,
) -> Option<(Document, InForce)> {
    for v in history.versions(&doc.path) {
        let mut scratch = Diagnostics::new();
        let Some(parsed) = frontmatter::parse_file(&doc.path, &v.text, &mut scratch) else {
            continue;
        };
        let frontmatter::Kind::Document(meta) = parsed.kind else {
            continue;
        };
        if meta.id != doc.meta.id || !in_force_at(&meta, as_of) {
            continue;
        }
        let body = blocks::parse_body(
            &doc.path,
            parsed.body,
            parsed.body_line,
            false,
            config,
            &mut scratch,
        );
        if scratch.has_errors() {
            continue;
        }
        let info = InForce {
            revision: stamps
                .get(&doc.path)
                .map_or(0, |s| s.revision_as_of(v.commit)),
            commit: history.commits[v.commit].clone(),
            upcoming_status: doc.meta.status,
            upcoming_effective: doc.meta.effective,
        };
        let earlier = Document {
            anchors: crate::parse::stable_anchors(&body),
            headings: Default::default(),
            digest: Default::default(),
            key_lines: parsed.key_lines,
            clause_lines: parsed.clause_lines,
            path: doc.path.clone(),
            site: doc.site.clone(),
            meta: *meta,
            body,
        };
        return Some((earlier, info));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::history::FileVersion;
    use crate::testkit::{corpus, BOOK};

    fn commit(id: &str) -> Arc<CommitInfo> {
        Arc::new(CommitInfo {
            committer: String::new(),
            id: id.repeat(40),
            author: "A".into(),
            author_email: "a@x".into(),
            author_time: 0,
            author_offset: 0,
            commit_time: 0,
            commit_offset: 0,
            subject: "s".into(),
            trailers: Vec::new(),
            signature: crate::signature::Signature::None,
            merge: false,
        })
    }

    fn text(effective: &str, body: &str) -> String {
        format!("---\nid: SOP-1\ntitle: T\nstatus: approved\neffective: {effective}\napprovals:\n  - {{ name: J, role: R, date: 2025-12-01 }}\n---\n{body}")
    }

    #[test]
    fn a_revision_effective_later_waits_and_the_one_in_force_is_published() {
        let path = "procedures/global/a.md";
        let now = text("2026-09-01", "New text.\n");
        let (config, corpus) = corpus(BOOK, &[(path, &now)]);
        let mut history = HistoryIndex {
            commits: vec![commit("b"), commit("a")],
            ..HistoryIndex::default()
        };
        history.files.insert(
            PathBuf::from(path),
            vec![
                FileVersion {
                    commit: 0,
                    path: PathBuf::from(path),
                    text: Arc::from(now.as_str()),
                },
                FileVersion {
                    commit: 1,
                    path: PathBuf::from(path),
                    text: Arc::from(text("2026-01-01", "Old text.\n").as_str()),
                },
            ],
        );
        let at = |date: &str| {
            let mut d = Diagnostics::new();
            let map = select(
                &corpus,
                &history,
                &Stamps::default(),
                Some(Date::parse(date).unwrap()),
                false,
                &config,
                &mut d,
            );
            (map, d)
        };
        let (map, d) = at("2026-06-01");
        let doc = &corpus.documents[0];
        let published = map.published(doc);
        assert_eq!(published.meta.effective.unwrap().to_string(), "2026-01-01");
        let info = map.info(&doc.path).unwrap();
        assert_eq!(info.commit.id, "a".repeat(40));
        assert_eq!(info.upcoming_effective.unwrap().to_string(), "2026-09-01");
        assert!(!map.not_yet(&doc.path) && !d.has_errors());
        // Once the new revision is effective, the file's own text is published.
        let (map, _) = at("2026-09-01");
        assert!(std::ptr::eq(map.published(doc), &**doc));
        assert!(map.info(&doc.path).is_none());
    }

    #[test]
    fn a_new_document_effective_later_is_not_yet_in_force() {
        let path = "procedures/global/a.md";
        let (config, corpus) = corpus(BOOK, &[(path, &text("2026-09-01", "New.\n"))]);
        let mut d = Diagnostics::new();
        let map = select(
            &corpus,
            &HistoryIndex::default(),
            &Stamps::default(),
            Some(Date::parse("2026-06-01").unwrap()),
            false,
            &config,
            &mut d,
        );
        assert!(map.not_yet(&corpus.documents[0].path));
        let warnings: Vec<String> = d.into_sorted().iter().map(|d| d.to_string()).collect();
        assert_eq!(
            warnings,
            ["procedures/global/a.md:5: warning[not-in-force]: SOP-1 becomes effective on 2026-09-01, after the as-of date 2026-06-01, and no earlier revision is in force: it is not published yet\n  help: this is expected before a new document takes effect; otherwise check the effective date"]
        );
    }
}

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
    earlier: HashMap<Arc<PathBuf>, (Arc<Document>, InForce)>,
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

/// What a build reads to find the revisions in force: the history, the stamps, the
/// as-of date and whether it is a release.
pub struct Dated<'a> {
    pub history: &'a HistoryIndex,
    pub stamps: &'a Stamps,
    pub as_of: Option<Date>,
    pub release: bool,
}

/// Finds, for each pending or (in a release) unreleased document, its last revision in
/// force, when history has one. A pending document without one is not yet in force.
/// With `keep` (`serve`), what the last build found is taken again ([`KeptEarlier`]).
pub fn select(
    corpus: &Corpus,
    dated: &Dated,
    config: &Config,
    keep: Option<&std::sync::Mutex<KeptEarlier>>,
    diags: &mut Diagnostics,
) -> InForceMap {
    let Dated {
        history,
        stamps,
        as_of,
        release,
    } = *dated;
    let mut map = InForceMap::default();
    // A configuration that cannot be written as JSON cannot key what is kept.
    let config_json = keep.and_then(|_| serde_json::to_vec(config).ok());
    let keep = keep.filter(|_| history.walk != 0 && config_json.is_some());
    let made_with = keep.and(config_json).map(|c| (history.walk, c, as_of));
    let mut kept = keep
        .map(|k| std::mem::take(&mut *k.lock().unwrap_or_else(|e| e.into_inner())))
        .filter(|k| k.made_with == made_with)
        .unwrap_or_default();
    let mut found_now = HashMap::new();
    // The documents to look back for, with what the last build found of them; the
    // others are found side by side (each reads and parses its earlier versions).
    let wanted: Vec<_> = corpus
        .documents
        .iter()
        .filter_map(|doc| {
            let pending = doc.meta.status == Status::Approved && !in_force_at(&doc.meta, as_of);
            let revising = release && matches!(doc.meta.status, Status::Draft | Status::InReview);
            if !(pending || revising) {
                return None;
            }
            let key = (doc.path.as_ref().clone(), doc.meta.id.clone());
            let kept = kept.found.remove(&key);
            Some((doc, pending, key, kept))
        })
        .collect();
    let wanted: Vec<_> = {
        use rayon::prelude::*;
        wanted
            .into_par_iter()
            .map(|(doc, pending, key, kept)| {
                let found = kept.unwrap_or_else(|| earlier_in_force(doc, history, as_of, config));
                (doc, pending, key, found)
            })
            .collect()
    };
    for (doc, pending, key, found) in wanted {
        if keep.is_some() {
            found_now.insert(key, found.clone());
        }
        match found {
            Some((at, earlier)) => {
                let v = &history.versions(&doc.path)[at];
                let info = InForce {
                    revision: stamps
                        .get(&doc.path)
                        .map_or(0, |s| s.revision_as_of(v.commit)),
                    commit: history.commits[v.commit].clone(),
                    upcoming_status: doc.meta.status,
                    upcoming_effective: doc.meta.effective,
                };
                map.earlier.insert(doc.path.clone(), (earlier, info));
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
    if let Some(keep) = keep {
        *keep.lock().unwrap_or_else(|e| e.into_inner()) = KeptEarlier {
            made_with,
            found: found_now,
        };
    }
    map
}

/// The walk, the configuration (as JSON) and the as-of date earlier revisions in force
/// were found with.
type MadeWith = (u64, Vec<u8>, Option<Date>);

/// The earlier revisions in force found by one build, for the next
/// ([`crate::keep_between_builds`]): by path and id, the newest version of that
/// document in force at the as-of date, and its text parsed. That is a function of
/// the versions the walk found of the path, the id, the as-of date and the
/// configuration the body is parsed with: a build of the same walk, configuration
/// and date takes it as it is, rather than parse the versions again.
#[derive(Default)]
pub struct KeptEarlier {
    made_with: Option<MadeWith>,
    found: HashMap<(PathBuf, String), Earlier>,
}

/// The version of a document in force (its place among the versions of its path,
/// newest first), and its text parsed.
type Earlier = Option<(usize, Arc<Document>)>;

/// The earlier revisions this process keeps between builds.
pub fn kept_earlier() -> Option<&'static std::sync::Mutex<KeptEarlier>> {
    static KEPT: std::sync::OnceLock<std::sync::Mutex<KeptEarlier>> = std::sync::OnceLock::new();
    crate::keeps_between_builds().then(|| KEPT.get_or_init(Default::default))
}

fn earlier_in_force(
    doc: &Document,
    history: &HistoryIndex,
    as_of: Option<Date>,
    config: &Config,
) -> Earlier {
    for (at, v) in history.versions(&doc.path).iter().enumerate() {
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
        return Some((at, Arc::new(earlier)));
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

    /// A document whose file holds a revision effective on 2026-09-01, and whose
    /// history holds it and, before it, one effective on 2026-01-01.
    fn pending(walk: u64) -> (Config, Corpus, HistoryIndex) {
        let path = "procedures/global/a.md";
        let now = text("2026-09-01", "New text.\n");
        let (config, corpus) = corpus(BOOK, &[(path, &now)]);
        let mut history = HistoryIndex {
            commits: vec![commit("b"), commit("a")],
            walk,
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
        (config, corpus, history)
    }

    #[test]
    fn a_revision_effective_later_waits_and_the_one_in_force_is_published() {
        let (config, corpus, history) = pending(0);
        let at = |date: &str| {
            let mut d = Diagnostics::new();
            let dated = Dated {
                history: &history,
                stamps: &Stamps::default(),
                as_of: Some(Date::parse(date).unwrap()),
                release: false,
            };
            let map = select(&corpus, &dated, &config, None, &mut d);
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
    fn a_kept_revision_in_force_is_taken_only_for_the_same_walk_configuration_and_date() {
        let (config, corpus, history) = pending(7);
        let doc = &corpus.documents[0];
        let keep = std::sync::Mutex::default();
        let published = |history: &HistoryIndex, config: &Config, date: &str| {
            let dated = Dated {
                history,
                stamps: &Stamps::default(),
                as_of: Some(Date::parse(date).unwrap()),
                release: false,
            };
            let map = select(
                &corpus,
                &dated,
                config,
                Some(&keep),
                &mut Diagnostics::new(),
            );
            let (earlier, info) = map.earlier.get(&doc.path).expect("an earlier revision");
            assert_eq!(info.commit.id, "a".repeat(40));
            Arc::clone(earlier)
        };
        let first = published(&history, &config, "2026-06-01");
        assert_eq!(first.meta.effective.unwrap().to_string(), "2026-01-01");
        // The same walk, configuration and date: the same parse, taken again.
        let again = published(&history, &config, "2026-06-01");
        assert!(Arc::ptr_eq(&first, &again));
        // Another walk, configuration or date: found anew.
        let other_walk = pending(8).2;
        let anew = published(&other_walk, &config, "2026-06-01");
        assert!(!Arc::ptr_eq(&again, &anew));
        let mut other_config = config.clone();
        other_config.book.title = "Other".into();
        let anew_config = published(&other_walk, &other_config, "2026-06-01");
        assert!(!Arc::ptr_eq(&anew, &anew_config));
        let anew_date = published(&other_walk, &other_config, "2026-06-02");
        assert!(!Arc::ptr_eq(&anew_config, &anew_date));
        // Without a walk (no git), nothing is kept.
        let no_walk = pending(0).2;
        let a = published(&no_walk, &config, "2026-06-01");
        let b = published(&no_walk, &config, "2026-06-01");
        assert!(!Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn a_new_document_effective_later_is_not_yet_in_force() {
        let path = "procedures/global/a.md";
        let (config, corpus) = corpus(BOOK, &[(path, &text("2026-09-01", "New.\n"))]);
        let mut d = Diagnostics::new();
        let dated = Dated {
            history: &HistoryIndex::default(),
            stamps: &Stamps::default(),
            as_of: Some(Date::parse("2026-06-01").unwrap()),
            release: false,
        };
        let map = select(&corpus, &dated, &config, None, &mut d);
        assert!(map.not_yet(&corpus.documents[0].path));
        let warnings: Vec<String> = d.into_sorted().iter().map(|d| d.to_string()).collect();
        assert_eq!(
            warnings,
            ["procedures/global/a.md:5: warning[not-in-force]: SOP-1 becomes effective on 2026-09-01, after the as-of date 2026-06-01, and no earlier revision is in force: it is not published yet\n  help: this is expected before a new document takes effect; otherwise check the effective date"]
        );
    }
}

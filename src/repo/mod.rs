//! Reading the repository. Only this module talks to git.

pub mod cache;
pub mod create;
pub mod git;
pub mod history;
pub mod scan;

use std::path::Path;
use std::sync::Arc;

use crate::diag::{Code, Diagnostic, Diagnostics};
use git::{CommitInfo, GitRepo};
use history::HistoryIndex;
use scan::SourceSet;

/// Where a build's sources came from.
#[derive(serde::Serialize, Debug, Clone, Default)]
pub struct BuildInfo {
    /// The commit built, or the HEAD the work tree is based on.
    pub commit: Option<Arc<CommitInfo>>,
    /// The ref asked for with --ref.
    pub refname: Option<String>,
    /// Sources were read from a work tree that differs from the commit.
    pub dirty: bool,
    /// The sources that differ from the commit.
    pub dirty_paths: Vec<String>,
    /// Every tag pointing at the built commit, with its date (local seconds).
    pub tags: Vec<(String, i64)>,
    /// Every tag of the repository: name, commit id, date (local seconds); oldest first.
    pub all_tags: Vec<(String, String, i64)>,
    /// The signatures of the annotated tags among them, by tag name.
    pub tag_signatures: Vec<(String, crate::signature::Signature)>,
    /// The root is inside a git repository.
    pub git: bool,
    /// The history is incomplete (a shallow clone).
    pub shallow: bool,
}

/// A build's input: the sources, where they came from, and their history.
#[derive(serde::Serialize)]
pub struct Source {
    pub sources: SourceSet,
    pub info: BuildInfo,
    pub history: HistoryIndex,
    /// The history cache's folder, when it is used: rendered pieces and search words
    /// are kept in it too (`render::memo`).
    #[serde(skip)]
    pub memo: Option<std::path::PathBuf>,
}

/// Reads the sources of `root`: a commit's tree for `--ref` or a clean work tree,
/// the work tree itself when it has changes or is not in git.
pub fn read(
    root: &Path,
    refname: Option<&str>,
    identify: history::Identify,
    use_cache: bool,
    diags: &mut Diagnostics,
) -> Option<Source> {
    let Some(git) = GitRepo::open(root) else {
        if let Some(r) = refname {
            diags.push(
                Diagnostic::error(
                    Code::Git,
                    "--ref",
                    0,
                    format!(
                        "cannot build '{r}': {} is not in a git repository",
                        crate::diag::display_path(root)
                    ),
                )
                .help("run procsite inside the repository, or build the work tree without --ref"),
            );
            return None;
        }
        return Some(Source {
            sources: scan::scan_work_tree(root, diags),
            info: BuildInfo::default(),
            history: HistoryIndex::default(),
            memo: None,
        });
    };
    let fail = |diags: &mut Diagnostics, msg: String| diags.push(git_failure(refname, msg));
    let oid = match git.resolve(refname) {
        Ok(o) => o,
        Err(e) => {
            fail(diags, e);
            return None;
        }
    };
    let mut info = BuildInfo {
        git: true,
        refname: refname.map(str::to_string),
        shallow: git.is_shallow(),
        ..BuildInfo::default()
    };
    let Some(oid) = oid else {
        // A repository without commits: everything is uncommitted.
        info.dirty = true;
        return Some(Source {
            sources: scan::scan_work_tree(root, diags),
            info,
            history: HistoryIndex::default(),
            memo: None,
        });
    };
    info.all_tags = git
        .release_tags("*")
        .map(|t| {
            t.into_iter()
                .map(|(n, o, when)| (n, o.to_string(), when))
                .collect()
        })
        .unwrap_or_default();
    info.tags = info
        .all_tags
        .iter()
        .filter(|(_, o, _)| *o == oid.to_string())
        .map(|(n, _, when)| (n.clone(), *when))
        .collect();
    info.tag_signatures = info
        .tags
        .iter()
        .filter_map(|(name, _)| Some((name.clone(), git.tag_signature(name)?)))
        .collect();
    match git.commit_info(oid) {
        Ok(c) => info.commit = Some(Arc::new(c)),
        Err(e) => {
            fail(diags, e);
            return None;
        }
    }
    let folder = use_cache
        .then(|| cache::folder(git.repo.path(), &git.prefix))
        .flatten();
    // The history cache loads while the sources are read: the walk then finds it loaded.
    let sources = std::thread::scope(|s| {
        if let Some(folder) = &folder {
            s.spawn(|| cache::load(folder));
        }
        read_sources(&git, root, oid, refname, &mut info, diags)
    })?;
    let history = match history::walk(&git, oid, identify, use_cache) {
        Ok(h) => h,
        Err(e) => {
            fail(diags, format!("cannot walk the history: {e}"));
            return None;
        }
    };
    Some(Source {
        sources,
        info,
        history,
        memo: folder,
    })
}

/// A failure of git while reading `refname` (or the checked-out commit).
fn git_failure(refname: Option<&str>, msg: String) -> Diagnostic {
    Diagnostic::error(Code::Git, refname.map_or(".git", |_| "--ref"), 0, msg)
}

/// The sources of commit `oid`, or of the work tree when it has changes (`info.dirty`,
/// found here when no `refname` is built).
fn read_sources(
    git: &GitRepo,
    root: &Path,
    oid: git2::Oid,
    refname: Option<&str>,
    info: &mut BuildInfo,
    diags: &mut Diagnostics,
) -> Option<SourceSet> {
    let fail = |diags: &mut Diagnostics, msg: String| diags.push(git_failure(refname, msg));
    // `serve` mostly builds a work tree with changes: it reads it while git compares
    // it with HEAD, and uses what it read only if the two differ.
    let mut scanned = None;
    if refname.is_none() {
        let status = if crate::keeps_between_builds() {
            std::thread::scope(|s| {
                let scan = s.spawn(|| {
                    let mut d = Diagnostics::new();
                    (scan::scan_work_tree(root, &mut d), d)
                });
                let status = git.dirty_paths();
                scanned = scan.join().ok();
                status
            })
        } else {
            git.dirty_paths()
        };
        match status {
            Ok(d) => {
                info.dirty = !d.is_empty();
                info.dirty_paths = d;
            }
            Err(e) => {
                fail(diags, format!("cannot read the work tree status: {e}"));
                return None;
            }
        }
    }
    let sources = if info.dirty {
        match scanned {
            Some((sources, d)) => {
                diags.extend(d);
                sources
            }
            None => scan::scan_work_tree(root, diags),
        }
    } else {
        match git.read_sources(oid) {
            Ok(items) => SourceSet::from_bytes(items, diags),
            Err(e) => {
                fail(diags, format!("cannot read commit {oid}: {e}"));
                return None;
            }
        }
    };
    Some(sources)
}

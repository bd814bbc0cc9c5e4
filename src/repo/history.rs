//! One walk of the history: every commit reachable from the built commit, each
//! compared with its first parent inside `procedures/`, giving every document the
//! commits that changed it, following renames and moves.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use git2::{ObjectType, Oid, Repository, Sort, Tree};

use super::cache;
use super::git::{CommitInfo, GitRepo};
use super::scan::is_markdown;

/// One change of a file in a commit.
#[derive(Debug, Clone)]
struct Change {
    /// Path relative to the procsite root.
    path: PathBuf,
    /// The blob after the commit; None for a deletion.
    new: Option<Oid>,
    /// The new text of a Markdown file, read in the walk's threads.
    text: Option<Arc<str>>,
}

/// A version of a document: the commit that made it and the text it left.
#[derive(serde::Serialize, Debug, Clone)]
pub struct FileVersion {
    /// Index into `HistoryIndex::commits`.
    pub commit: usize,
    /// The file's path in that commit.
    pub path: PathBuf,
    /// The file's text after the commit.
    pub text: Arc<str>,
}

/// Every document's history, from one walk.
#[derive(serde::Serialize, Debug, Clone, Default)]
pub struct HistoryIndex {
    /// Every commit reachable from the built commit, newest first (topological).
    pub commits: Vec<Arc<CommitInfo>>,
    /// By path at the built commit: the versions of that file, newest first.
    #[serde(serialize_with = "crate::sorted")]
    pub files: crate::PathMap<Vec<FileVersion>>,
    /// The repository is a shallow clone: older history is missing.
    pub shallow: bool,
    /// For each commit, the indexes of its parents within `commits`.
    pub parents: Vec<Vec<usize>>,
    /// Documents at the built commit whose id an earlier, removed document had under
    /// another title: by path, what was removed. Their history starts after it.
    pub reused: BTreeMap<PathBuf, Reuse>,
    /// No commit has more than one parent.
    pub linear: bool,
    /// Which walk of this process found this history (from 1; copies of a kept walk
    /// share it); 0 for a history no walk found. What is kept between builds of the
    /// same history is keyed by it ([`crate::stamp::stamp_kept`]).
    #[serde(skip)]
    pub walk: u64,
}

/// An id a removed document had, taken by another document.
#[derive(serde::Serialize, Debug, Clone)]
pub struct Reuse {
    /// Index into `commits` of the commit that removed the earlier document.
    pub removed_in: usize,
    /// The earlier document's title, and its file, as last committed.
    pub title: String,
    pub path: PathBuf,
}

impl HistoryIndex {
    /// Whether commit `ancestor` is `commit` or one of its ancestors (indexes into
    /// `commits`). In topological order a parent comes after its child, so the
    /// search never looks past `ancestor`.
    pub fn is_ancestor(&self, ancestor: usize, commit: usize) -> bool {
        // Without merges the history is one line: older is ancestor.
        if self.linear {
            return ancestor >= commit;
        }
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![commit];
        while let Some(c) = stack.pop() {
            if c == ancestor {
                return true;
            }
            if c > ancestor || !seen.insert(c) {
                continue;
            }
            stack.extend(self.parents.get(c).into_iter().flatten().copied());
        }
        false
    }

    pub fn versions(&self, path: &Path) -> &[FileVersion] {
        self.files.get(path).map_or(&[], Vec::as_slice)
    }
}

/// The trees of the last two commits walked: a commit's trees are its parent's
/// "new" side just before, so each tree is read from the pack once, not twice.
struct Trees<'r> {
    repo: &'r Repository,
    current: HashMap<Oid, Tree<'r>>,
    previous: HashMap<Oid, Tree<'r>>,
}

impl<'r> Trees<'r> {
    fn new(repo: &'r Repository) -> Self {
        Trees {
            repo,
            current: HashMap::new(),
            previous: HashMap::new(),
        }
    }

    fn get(&mut self, id: Oid) -> Option<Tree<'r>> {
        if let Some(t) = self.current.get(&id).or_else(|| self.previous.get(&id)) {
            return Some(t.clone());
        }
        let t = self.repo.find_tree(id).ok()?;
        self.current.insert(id, t.clone());
        Some(t)
    }

    fn next_commit(&mut self) {
        self.previous = std::mem::take(&mut self.current);
    }
}

/// git's order of tree entries: by name, trees as if their name ended in '/'.
fn git_cmp(a: &[u8], a_tree: bool, b: &[u8], b_tree: bool) -> Ordering {
    let n = a.len().min(b.len());
    match a[..n].cmp(&b[..n]) {
        Ordering::Equal => {}
        o => return o,
    }
    let tail = |s: &[u8], tree: bool| match s.get(n) {
        Some(c) => *c,
        None if tree => b'/',
        None => 0,
    };
    tail(a, a_tree).cmp(&tail(b, b_tree))
}

fn subtree<'r>(repo: &'r Repository, commit: &git2::Commit, dir: &Path) -> Option<Tree<'r>> {
    let tree = commit.tree().ok()?;
    let entry = tree.get_path(dir).ok()?;
    repo.find_tree(entry.id()).ok()
}

/// Adds every blob under `tree` as added (or deleted).
fn all_blobs(trees: &mut Trees, tree: &Tree, base: &Path, added: bool, out: &mut Vec<Change>) {
    for e in tree.iter() {
        one_side(trees, &e, base, added, out);
    }
}

/// Merge-walk of two sorted trees, descending only where entry ids differ.
fn diff_trees(trees: &mut Trees, old: &Tree, new: &Tree, base: &Path, out: &mut Vec<Change>) {
    let (mut a, mut b) = (old.iter().peekable(), new.iter().peekable());
    loop {
        let order = match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(x), Some(y)) => git_cmp(
                x.name_bytes(),
                x.kind() == Some(ObjectType::Tree),
                y.name_bytes(),
                y.kind() == Some(ObjectType::Tree),
            ),
        };
        match order {
            Ordering::Less => {
                let x = a.next().expect("peeked");
                one_side(trees, &x, base, false, out);
            }
            Ordering::Greater => {
                let y = b.next().expect("peeked");
                one_side(trees, &y, base, true, out);
            }
            Ordering::Equal => {
                let (x, y) = (a.next().expect("peeked"), b.next().expect("peeked"));
                if x.id() == y.id() {
                    continue;
                }
                let path = base.join(String::from_utf8_lossy(y.name_bytes()).as_ref());
                match (x.kind(), y.kind()) {
                    (Some(ObjectType::Tree), Some(ObjectType::Tree)) => {
                        if let (Some(t1), Some(t2)) = (trees.get(x.id()), trees.get(y.id())) {
                            diff_trees(trees, &t1, &t2, &path, out);
                        }
                    }
                    _ => out.push(Change {
                        path,
                        new: Some(y.id()),
                        text: None,
                    }),
                }
            }
        }
    }
}

fn one_side(
    trees: &mut Trees,
    e: &git2::TreeEntry,
    base: &Path,
    added: bool,
    out: &mut Vec<Change>,
) {
    let path = base.join(String::from_utf8_lossy(e.name_bytes()).as_ref());
    match e.kind() {
        Some(ObjectType::Tree) => {
            if let Some(t) = trees.get(e.id()) {
                all_blobs(trees, &t, &path, added, out);
            }
        }
        Some(ObjectType::Blob) => out.push(Change {
            path,
            new: added.then(|| e.id()),
            text: None,
        }),
        _ => {}
    }
}

/// The changes a commit made under `dir` (relative to the repository top),
/// with paths relative to `prefix`. A merge counts only what differs from
/// every parent, so a change made on a branch is counted once, where it was made.
///
/// `known` is the commit's own subtree when the caller already has it (it was the
/// previous commit's parent); the parent's subtree is returned for the same reuse.
fn commit_changes<'r>(
    trees: &mut Trees<'r>,
    commit: &git2::Commit,
    known: Option<Option<Tree<'r>>>,
    dir: &Path,
    prefix: &Path,
) -> (Vec<Change>, Option<(Oid, Option<Tree<'r>>)>) {
    let repo = trees.repo;
    let new = known.unwrap_or_else(|| subtree(repo, commit, dir));
    let parent = commit.parent(0).ok();
    let old = parent.as_ref().and_then(|p| subtree(repo, p, dir));
    let rel = dir.strip_prefix(prefix).unwrap_or(dir);
    let mut out = Vec::new();
    match (&old, &new) {
        (Some(o), Some(n)) if o.id() == n.id() => {}
        (Some(o), Some(n)) => diff_trees(trees, o, n, rel, &mut out),
        (None, Some(n)) => all_blobs(trees, n, rel, true, &mut out),
        (Some(o), None) => all_blobs(trees, o, rel, false, &mut out),
        (None, None) => {}
    }
    trees.next_commit();
    if commit.parent_count() > 1 && !out.is_empty() {
        let others: Vec<Tree> = (1..commit.parent_count())
            .filter_map(|i| commit.parent(i).ok())
            .filter_map(|p| p.tree().ok())
            .collect();
        out.retain(|c| {
            let full = prefix.join(&c.path);
            !others
                .iter()
                .any(|t| t.get_path(&full).ok().map(|e| e.id()) == c.new)
        });
    }
    for c in out.iter_mut().filter(|c| is_markdown(&c.path)) {
        c.text = c.new.and_then(|id| blob_text(repo, id));
    }
    (out, parent.map(|p| (p.id(), old)))
}

/// Walks `oids` (newest first) in threads, each commit compared with its first parent.
fn walk_commits(
    repo: &Repository,
    oids: &[Oid],
    dir: &Path,
    prefix: &Path,
) -> Result<Vec<Walked>, String> {
    let err = |e: git2::Error| e.message().to_string();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let chunk = oids.len().div_ceil(threads).max(1);
    let git_dir = repo.path().to_path_buf();
    std::thread::scope(|s| {
        let handles: Vec<_> = oids
            .chunks(chunk)
            .map(|part| {
                let git_dir = &git_dir;
                s.spawn(move || -> Result<Vec<Walked>, String> {
                    let repo = Repository::open(git_dir).map_err(err)?;
                    let mut trees = Trees::new(&repo);
                    let mut reuse: Option<(Oid, Option<Tree>)> = None;
                    part.iter()
                        .map(|oid| {
                            let c = repo.find_commit(*oid).map_err(err)?;
                            let known = reuse.take().filter(|(id, _)| id == oid).map(|(_, t)| t);
                            let (changes, next) =
                                commit_changes(&mut trees, &c, known, dir, prefix);
                            reuse = next;
                            Ok((
                                CommitInfo::from_commit(&repo, &c),
                                c.parent_ids().collect(),
                                changes,
                            ))
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| "history walk thread panicked".to_string())?
            })
            .collect::<Result<Vec<_>, String>>()
            .map(|v| v.into_iter().flatten().collect())
    })
}

/// Adds to the history cache the commits walked from git (`unknown`) and the texts
/// read for them; a cache that cannot be written only costs the next run time.
fn remember(
    folder: &Path,
    oids: &[Oid],
    unknown: &[Oid],
    per_commit: &[Walked],
    mut new_texts: Vec<(Oid, Arc<str>)>,
    store: Option<&cache::Store>,
) {
    let at: HashMap<Oid, usize> = oids.iter().enumerate().map(|(i, o)| (*o, i)).collect();
    let mut new_commits = Vec::with_capacity(unknown.len());
    for oid in unknown {
        let (info, parents, changes) = &per_commit[at[oid]];
        for c in changes {
            if let (Some(id), Some(text)) = (c.new, &c.text) {
                if store.is_none_or(|s| !s.texts.contains_key(&id)) {
                    new_texts.push((id, Arc::clone(text)));
                }
            }
        }
        new_commits.push((
            *oid,
            cache::CommitRecord {
                info: info.clone(),
                parents: parents.iter().map(Oid::to_string).collect(),
                changes: changes
                    .iter()
                    .map(|c| (c.path.clone(), c.new.map(|o| o.to_string())))
                    .collect(),
            },
        ));
    }
    new_texts.sort_by_key(|(o, _)| *o);
    new_texts.dedup_by_key(|(o, _)| *o);
    let used: HashMap<Oid, Arc<str>> = per_commit
        .iter()
        .flat_map(|(_, _, changes)| changes)
        .filter_map(|c| Some((c.new?, Arc::clone(c.text.as_ref()?))))
        .collect();
    let _ = cache::save(folder, new_commits, new_texts, oids, &used);
}

/// What a document file is, whatever its path, as the caller reads it: a key shared by
/// all versions of one document (`None`: the file is known by its path), and the
/// former ids a renumbered document keeps the history of.
#[derive(serde::Serialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub key: Option<String>,
    pub former: Vec<String>,
    /// The title as written, to tell a document from another that took its id.
    pub title: Option<String>,
}

/// Reads a file's identity from its text; the walk knows nothing of front-matter.
pub type Identify = fn(&Path, &str) -> Identity;

/// A blob's text, newlines normalised; copied once when it is valid UTF-8 without
/// carriage returns, as nearly every document is.
fn blob_text(repo: &Repository, id: Oid) -> Option<Arc<str>> {
    let blob = repo.find_blob(id).ok()?;
    match std::str::from_utf8(blob.content()) {
        Ok(text) if !text.contains('\r') => Some(Arc::from(text)),
        _ => {
            let text = String::from_utf8_lossy(blob.content()).into_owned();
            Some(Arc::from(super::scan::normalize_newlines(text)))
        }
    }
}

/// The commits whose parents git is told rather than reads from the commit: those a
/// shallow clone is cut at (`$GIT_DIR/shallow`) and those `info/grafts` gives other
/// parents (the first id of each of its lines); none in most repositories.
fn told_parents(repo: &Repository) -> std::collections::HashSet<Oid> {
    // A line of `shallow` is one id; one of the grafts, a commit and its parents.
    super::git::told_parents(repo)
        .iter()
        .flat_map(|(_, text)| text.lines())
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|id| Oid::from_str(id).ok())
        .collect()
}

/// One commit as the walk saw it: its description, parents and changes.
type Walked = (CommitInfo, Vec<Oid>, Vec<Change>);

/// What a walk's result depends on: the repository and the folder built, the commit
/// walked from, how files are identified, whether the cache is used, and the parents
/// git is told to see (where a shallow clone is cut, and `info/grafts`).
type WalkKey = (PathBuf, PathBuf, Oid, usize, bool, String);

/// The walks this process keeps (see [`walk`]), each with when it was last used.
#[derive(Default)]
struct Walks {
    uses: u64,
    kept: HashMap<WalkKey, (u64, HistoryIndex)>,
}

/// Walks kept at most: the commit served, and the release tags a build composes
/// beside it; one no longer used goes first.
const WALKS_KEPT: usize = 8;

fn walks() -> &'static std::sync::Mutex<Walks> {
    static WALKS: std::sync::OnceLock<std::sync::Mutex<Walks>> = std::sync::OnceLock::new();
    WALKS.get_or_init(Default::default)
}

/// Lets go of the walks kept: with the history cache's texts, which they hold.
pub fn forget_walks() {
    walks()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .kept
        .clear();
}

/// Walks the history reachable from `head` once and indexes every document. With
/// `use_cache`, what the history cache knows of a commit is not read from git again,
/// and what this walk learns is added to it (see [`super::cache`]). Once per process
/// for each commit, until [`forget_walks`], when the process keeps what it read
/// between builds ([`crate::keep_between_builds`]: `serve`, which builds again and
/// again from the same commit while only the work tree changes). A history is that of
/// its commit, so a walk from the same commit, in the same repository, with the same
/// parents told to git, finds the same.
pub fn walk(
    git: &GitRepo,
    head: Oid,
    identify: Identify,
    use_cache: bool,
) -> Result<HistoryIndex, String> {
    if !crate::keeps_between_builds() {
        return walk_now(git, head, identify, use_cache);
    }
    let [(_, shallow), (_, grafts)] = super::git::told_parents(&git.repo);
    let key = (
        git.repo.path().to_path_buf(),
        git.prefix.clone(),
        head,
        identify as usize,
        use_cache,
        format!("{shallow}\0{grafts}"),
    );
    {
        let mut walks = walks().lock().unwrap_or_else(|e| e.into_inner());
        walks.uses += 1;
        let now = walks.uses;
        if let Some((used, h)) = walks.kept.get_mut(&key) {
            *used = now;
            return Ok(h.clone());
        }
    }
    let walked = walk_now(git, head, identify, use_cache)?;
    let mut walks = walks().lock().unwrap_or_else(|e| e.into_inner());
    walks.uses += 1;
    let now = walks.uses;
    walks.kept.insert(key, (now, walked.clone()));
    while walks.kept.len() > WALKS_KEPT {
        let oldest = walks
            .kept
            .iter()
            .min_by_key(|(_, (used, _))| *used)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => walks.kept.remove(&k),
            None => break,
        };
    }
    Ok(walked)
}

fn walk_now(
    git: &GitRepo,
    head: Oid,
    identify: Identify,
    use_cache: bool,
) -> Result<HistoryIndex, String> {
    let err = |e: git2::Error| e.message().to_string();
    let repo = &git.repo;
    let mut revwalk = repo.revwalk().map_err(err)?;
    revwalk
        .set_sorting(Sort::TOPOLOGICAL | Sort::TIME)
        .map_err(err)?;
    revwalk.push(head).map_err(err)?;
    let oids: Vec<Oid> = revwalk.collect::<Result<_, _>>().map_err(err)?;

    let dir = git.prefix.join(crate::layout::PROCEDURES_DIR);
    let folder = use_cache
        .then(|| cache::folder(repo.path(), &git.prefix))
        .flatten();
    let store = folder.as_deref().map(cache::load);
    // Where a shallow clone is cut, a commit seems to have no parent and to add every
    // file: that is not what the commit is, and the clone may be deepened later. A
    // grafted commit has the parents the grafts give it, for as long as they do. Such
    // commits are read from git every time and never cached.
    let cut = told_parents(repo);
    let known = |o: &Oid| {
        (!cut.contains(o))
            .then(|| store.as_ref().and_then(|s| s.commits.get(o)))
            .flatten()
    };
    let unknown: Vec<Oid> = oids
        .iter()
        .filter(|o| known(o).is_none())
        .copied()
        .collect();
    let mut fresh: HashMap<Oid, Walked> = unknown
        .iter()
        .copied()
        .zip(walk_commits(repo, &unknown, &dir, &git.prefix)?)
        .collect();
    let mut new_texts: Vec<(Oid, Arc<str>)> = Vec::new();
    let per_commit: Vec<Walked> = oids
        .iter()
        .map(|oid| {
            if let Some(w) = fresh.remove(oid) {
                return Ok(w);
            }
            let (record, store) = (known(oid).expect("known"), store.as_ref().expect("store"));
            let parents = record
                .parents
                .iter()
                .map(|p| Oid::from_str(p).map_err(err))
                .collect::<Result<Vec<_>, _>>()?;
            let changes = record
                .changes
                .iter()
                .map(|(path, new)| {
                    let new = new.as_deref().map(Oid::from_str).transpose().map_err(err)?;
                    let text = new.filter(|_| is_markdown(path)).and_then(|id| {
                        store.texts.get(&id).cloned().or_else(|| {
                            let text = blob_text(repo, id)?;
                            new_texts.push((id, Arc::clone(&text)));
                            Some(text)
                        })
                    });
                    Ok(Change {
                        path: path.clone(),
                        new,
                        text,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok((record.info.clone(), parents, changes))
        })
        .collect::<Result<_, String>>()?;
    if let Some(folder) = &folder {
        let learnt: Vec<Oid> = unknown
            .iter()
            .filter(|o| !cut.contains(o))
            .copied()
            .collect();
        remember(
            folder,
            &oids,
            &learnt,
            &per_commit,
            new_texts,
            store.as_deref(),
        );
    }

    // Every version of a document file is grouped by what the file is (its id, or the
    // site and target of an addendum), so moves, renames and merges of branches with
    // both do not cut a history short. Keys are the paths at the built commit.
    let head_commit = repo.find_commit(head).map_err(err)?;
    let mut current = Vec::new();
    if let Some(t) = subtree(repo, &head_commit, &dir) {
        let rel = dir.strip_prefix(&git.prefix).unwrap_or(&dir).to_path_buf();
        all_blobs(&mut Trees::new(repo), &t, &rel, true, &mut current);
    }
    // The walk has read most texts at the built commit already: each blob is read once.
    let read: HashMap<Oid, &Arc<str>> = per_commit
        .iter()
        .flat_map(|(_, _, changes)| changes)
        .filter_map(|c| Some((c.new?, c.text.as_ref()?)))
        .collect();
    let mut key_of: HashMap<String, PathBuf> = HashMap::new();
    // The keys documents have now (not their former ids, whose history they keep).
    let mut own_keys: std::collections::HashSet<String> = std::collections::HashSet::new();
    for c in current.into_iter().filter(|c| is_markdown(&c.path)) {
        let text = c
            .new
            .and_then(|id| match read.get(&id) {
                Some(text) => Some(Arc::clone(text)),
                None => blob_text(repo, id),
            })
            .unwrap_or_else(|| Arc::from(""));
        let identity = identify(&c.path, &text);
        for former in identity.former {
            key_of
                .entry(format!("id:{former}"))
                .or_insert_with(|| c.path.clone());
        }
        let key = identity
            .key
            .unwrap_or_else(|| format!("path:{}", c.path.display()));
        own_keys.insert(key.clone());
        key_of.insert(key, c.path);
    }
    // Each version's identity, read once.
    let identities: Vec<Vec<Option<Identity>>> = per_commit
        .iter()
        .map(|(_, _, changes)| {
            changes
                .iter()
                .map(|ch| match (&ch.text, is_markdown(&ch.path)) {
                    (Some(text), true) => Some(identify(&ch.path, text)),
                    _ => None,
                })
                .collect()
        })
        .collect();
    let key_at = |ch: &Change, id: &Identity| {
        id.key
            .clone()
            .unwrap_or_else(|| format!("path:{}", ch.path.display()))
    };
    // When each id was last removed (no file held it after a commit), oldest commit
    // first, and the title it had then.
    let mut removed: HashMap<String, (usize, String, PathBuf)> = HashMap::new();
    {
        let mut holders: HashMap<String, std::collections::BTreeSet<PathBuf>> = HashMap::new();
        let mut held: HashMap<PathBuf, (String, String)> = HashMap::new();
        for idx in (0..per_commit.len()).rev() {
            let mut left = Vec::new();
            for (ch, id) in per_commit[idx].2.iter().zip(&identities[idx]) {
                if !is_markdown(&ch.path) {
                    continue;
                }
                if let Some((key, title)) = held.remove(&ch.path) {
                    if let Some(h) = holders.get_mut(&key) {
                        h.remove(&ch.path);
                    }
                    left.push((key, title, ch.path.clone()));
                }
                if let Some(id) = id.as_ref().filter(|id| id.key.is_some()) {
                    let key = key_at(ch, id);
                    let title = id.title.clone().unwrap_or_default();
                    holders
                        .entry(key.clone())
                        .or_default()
                        .insert(ch.path.clone());
                    held.insert(ch.path.clone(), (key, title));
                }
            }
            for (key, title, path) in left {
                if holders.get(&key).is_none_or(|h| h.is_empty()) {
                    removed.insert(key, (idx, title, path));
                }
            }
        }
    }
    let mut files: crate::PathMap<Vec<FileVersion>> = crate::PathMap::default();
    let mut reused: BTreeMap<PathBuf, Reuse> = BTreeMap::new();
    for (idx, (_, _, changes)) in per_commit.iter().enumerate() {
        for (ch, id) in changes.iter().zip(&identities[idx]) {
            let (Some(text), Some(id)) = (&ch.text, id) else {
                continue;
            };
            let key = key_at(ch, id);
            let Some(head_path) = key_of.get(&key) else {
                continue;
            };
            // A version from before its id was removed belongs to the document that
            // had the id then: when that one had another title, it is another
            // document, and its history is not this one's.
            let removal = removed
                .get(&key)
                .filter(|(at, ..)| idx > *at && own_keys.contains(&key));
            if let Some((at, title, path)) = removal {
                let newer = files.get(head_path).and_then(|v| v.last());
                let now = newer.map(|v| identify(&v.path, &v.text).title.unwrap_or_default());
                if now.as_deref().is_some_and(|t| t != title) {
                    reused.entry(head_path.clone()).or_insert_with(|| Reuse {
                        removed_in: *at,
                        title: title.clone(),
                        path: path.clone(),
                    });
                }
                if reused.contains_key(head_path) {
                    continue;
                }
            }
            files
                .entry(head_path.clone())
                .or_default()
                .push(FileVersion {
                    commit: idx,
                    path: ch.path.clone(),
                    text: text.clone(),
                });
        }
    }

    let index_of: HashMap<Oid, usize> = oids.iter().enumerate().map(|(i, o)| (*o, i)).collect();
    let parents: Vec<Vec<usize>> = per_commit
        .iter()
        .map(|(_, ps, _)| ps.iter().filter_map(|p| index_of.get(p).copied()).collect())
        .collect();
    let linear = per_commit.iter().all(|(_, ps, _)| ps.len() <= 1);
    Ok(HistoryIndex {
        commits: per_commit
            .into_iter()
            .map(|(c, _, _)| Arc::new(c))
            .collect(),
        files,
        shallow: repo.is_shallow(),
        parents,
        reused,
        linear,
        walk: {
            static WALKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
            WALKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_follow_the_parents_and_a_line_needs_no_search() {
        // 0 merges 1 (a branch) and 2; both come from 3.
        let merged = HistoryIndex {
            parents: vec![vec![2, 1], vec![3], vec![3], vec![]],
            ..Default::default()
        };
        assert!(merged.is_ancestor(3, 0) && merged.is_ancestor(1, 0) && merged.is_ancestor(2, 0));
        assert!(!merged.is_ancestor(2, 1) && !merged.is_ancestor(1, 2));
        assert!(!merged.is_ancestor(0, 3));
        let line = HistoryIndex {
            parents: vec![vec![1], vec![2], vec![]],
            linear: true,
            ..Default::default()
        };
        for (a, c) in [(0, 0), (1, 0), (2, 0), (2, 1)] {
            assert!(line.is_ancestor(a, c), "{a} of {c}");
        }
        assert!(!line.is_ancestor(0, 1) && !line.is_ancestor(1, 2));
    }

    #[test]
    fn git_orders_trees_as_if_slashed() {
        assert_eq!(git_cmp(b"a", true, b"a.md", false), Ordering::Greater);
        assert_eq!(git_cmp(b"a", false, b"a.md", false), Ordering::Less);
        assert_eq!(git_cmp(b"b", false, b"b", false), Ordering::Equal);
    }
}

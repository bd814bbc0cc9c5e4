//! Making a new repository for `procsite init`, and the proposal commits of
//! `procsite promote`: the only place procsite writes to git.

use std::path::Path;

use git2::{IndexAddOption, Repository, Signature};

/// The identity of a first commit when git has none configured. `.invalid` is a
/// reserved domain: the address can never reach anyone, and never passes for a person.
pub const FALLBACK_NAME: &str = "procsite init";
pub const FALLBACK_EMAIL: &str = "init@procsite.invalid";

/// The first commit of a new repository.
#[derive(Debug)]
pub struct FirstCommit {
    pub id: String,
    /// `Name <email>` of the author and committer.
    pub identity: String,
    /// No identity was configured: the commit is by procsite init.
    pub fallback_identity: bool,
}

/// Whether `dir` (or the nearest folder of it that exists) is inside a git repository.
pub fn inside_repository(dir: &Path) -> bool {
    let mut probe = Some(dir);
    while let Some(p) = probe {
        if p.exists() {
            return Repository::discover(p).is_ok();
        }
        probe = p.parent().filter(|q| !q.as_os_str().is_empty());
    }
    Repository::discover(".").is_ok()
}

/// `git init` in `dir` and a first commit of exactly `paths`, by the identity git is
/// configured with, else by [`FALLBACK_NAME`].
pub fn init_with_commit(dir: &Path, paths: &[&str], message: &str) -> Result<FirstCommit, String> {
    let fail = |what: &str, e: git2::Error| format!("{what}: {}", e.message());
    let repo = Repository::init(dir).map_err(|e| fail("cannot create a git repository", e))?;
    let (sig, fallback_identity) = match repo.signature() {
        Ok(sig) => (sig, false),
        Err(_) => (
            Signature::now(FALLBACK_NAME, FALLBACK_EMAIL)
                .map_err(|e| fail("cannot make a commit identity", e))?,
            true,
        ),
    };
    let mut index = repo
        .index()
        .map_err(|e| fail("cannot open the git index", e))?;
    index
        .add_all(paths.iter(), IndexAddOption::FORCE, None)
        .map_err(|e| fail("cannot stage the new files", e))?;
    index
        .write()
        .map_err(|e| fail("cannot write the git index", e))?;
    let tree_id = index
        .write_tree()
        .map_err(|e| fail("cannot write the tree", e))?;
    let tree = repo
        .find_tree(tree_id)
        .map_err(|e| fail("cannot read the tree", e))?;
    let id = repo
        .commit(Some("HEAD"), &sig, &sig, message, &tree, &[])
        .map_err(|e| fail("cannot commit", e))?;
    Ok(FirstCommit {
        id: id.to_string(),
        identity: format!(
            "{} <{}>",
            sig.name().unwrap_or(FALLBACK_NAME),
            sig.email().unwrap_or(FALLBACK_EMAIL)
        ),
        fallback_identity,
    })
}

/// Who made a commit or a tag, and when, exactly as git records it.
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    pub name: &'a str,
    pub email: &'a str,
    /// Seconds since the epoch.
    pub seconds: i64,
    /// The person's time zone, in minutes east of UTC.
    pub offset_minutes: i32,
}

impl Stamp<'_> {
    fn signature(&self) -> Result<Signature<'static>, git2::Error> {
        Signature::new(
            self.name,
            self.email,
            &git2::Time::new(self.seconds, self.offset_minutes),
        )
    }
}

/// One commit of a scripted history: the files it writes (path, bytes) and removes.
#[derive(Debug, Clone)]
pub struct ScriptedCommit<'a> {
    pub author: Stamp<'a>,
    pub committer: Stamp<'a>,
    pub message: String,
    pub writes: Vec<(String, Vec<u8>)>,
    pub removes: Vec<String>,
}

/// An annotated tag of a scripted history, on the commit at index `commit`.
#[derive(Debug, Clone)]
pub struct ScriptedTag<'a> {
    pub name: String,
    pub commit: usize,
    pub tagger: Stamp<'a>,
    pub message: String,
}

/// `git init` in `dir` with `branch` as the first branch, then `commits` in order (each
/// on the previous one) and `tags`, every object with the identities and times the
/// script gives, so the same script always makes the same commit ids. The work tree
/// is then checked out at the last commit. Returns the commit ids in order.
pub fn init_with_history(
    dir: &Path,
    branch: &str,
    commits: &[ScriptedCommit],
    tags: &[ScriptedTag],
) -> Result<Vec<String>, String> {
    let fail = |what: &str, e: git2::Error| format!("{what}: {}", e.message());
    let mut opts = git2::RepositoryInitOptions::new();
    opts.initial_head(branch);
    let repo =
        Repository::init_opts(dir, &opts).map_err(|e| fail("cannot create a git repository", e))?;
    let mut files: std::collections::BTreeMap<String, git2::Oid> = Default::default();
    let mut ids: Vec<git2::Oid> = Vec::with_capacity(commits.len());
    for c in commits {
        for path in &c.removes {
            files.remove(path);
        }
        for (path, bytes) in &c.writes {
            let blob = repo
                .blob(bytes)
                .map_err(|e| fail(&format!("cannot store {path}"), e))?;
            files.insert(path.clone(), blob);
        }
        let tree = tree_of(&repo, &files).map_err(|e| fail("cannot write a tree", e))?;
        let author = c
            .author
            .signature()
            .map_err(|e| fail("cannot make a commit identity", e))?;
        let committer = c
            .committer
            .signature()
            .map_err(|e| fail("cannot make a commit identity", e))?;
        let parents: Vec<git2::Commit> = match ids.last() {
            Some(id) => vec![repo
                .find_commit(*id)
                .map_err(|e| fail("cannot read a commit", e))?],
            None => Vec::new(),
        };
        let parent_refs: Vec<&git2::Commit> = parents.iter().collect();
        let id = repo
            .commit(
                Some("HEAD"),
                &author,
                &committer,
                &c.message,
                &tree,
                &parent_refs,
            )
            .map_err(|e| fail("cannot commit", e))?;
        ids.push(id);
    }
    for t in tags {
        let target = ids
            .get(t.commit)
            .ok_or_else(|| format!("tag {}: no commit {}", t.name, t.commit))?;
        let object = repo
            .find_object(*target, Some(git2::ObjectType::Commit))
            .map_err(|e| fail("cannot read a commit", e))?;
        let tagger = t
            .tagger
            .signature()
            .map_err(|e| fail("cannot make a tag identity", e))?;
        repo.tag(&t.name, &object, &tagger, &t.message, false)
            .map_err(|e| fail(&format!("cannot tag {}", t.name), e))?;
    }
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
        .map_err(|e| fail("cannot check out the files", e))?;
    Ok(ids.iter().map(|id| id.to_string()).collect())
}

/// The identity git is configured with (`user.name`, `user.email`), for a commit made
/// now.
pub fn configured_identity(root: &Path) -> Result<(String, String), String> {
    let repo = Repository::discover(root).map_err(|e| e.message().to_string())?;
    let sig = repo.signature().map_err(|_| {
        "git has no user.name and user.email configured for this repository".to_string()
    })?;
    Ok((
        String::from_utf8_lossy(sig.name_bytes()).into_owned(),
        String::from_utf8_lossy(sig.email_bytes()).into_owned(),
    ))
}

/// Whether the local branch `name` exists.
pub fn branch_exists(root: &Path, name: &str) -> bool {
    Repository::discover(root)
        .and_then(|r| r.find_branch(name, git2::BranchType::Local).map(|_| ()))
        .is_ok()
}

/// A commit on top of `parent` that writes and removes the given files (paths relative
/// to the procsite root), made from the parent's tree in memory: the work tree, the
/// index and every reference stay as they are. Returns the new commit's id.
pub fn commit_on(
    root: &Path,
    parent: &str,
    writes: &[(String, Vec<u8>)],
    removes: &[String],
    message: &str,
    identity: &(String, String),
) -> Result<String, String> {
    let fail = |what: &str, e: git2::Error| format!("{what}: {}", e.message());
    let git = super::git::GitRepo::open(root).ok_or("no git repository here")?;
    let repo = &git.repo;
    let in_repo = |p: &str| {
        crate::diag::display_path(&git.prefix.join(p))
            .trim_start_matches("./")
            .to_string()
    };
    let parent = repo
        .find_commit(git2::Oid::from_str(parent).map_err(|e| fail("bad commit id", e))?)
        .map_err(|e| fail("cannot read the parent commit", e))?;
    let mut index = git2::Index::new().map_err(|e| fail("cannot make an index", e))?;
    index
        .read_tree(&parent.tree().map_err(|e| fail("cannot read a tree", e))?)
        .map_err(|e| fail("cannot read a tree", e))?;
    for path in removes {
        index
            .remove_path(Path::new(&in_repo(path)))
            .map_err(|e| fail(&format!("cannot remove {path}"), e))?;
    }
    for (path, bytes) in writes {
        let path = in_repo(path);
        let mode = index
            .get_path(Path::new(&path), 0)
            .map_or(0o100644, |e| e.mode);
        let blob = repo
            .blob(bytes)
            .map_err(|e| fail(&format!("cannot store {path}"), e))?;
        index
            .add(&entry(&path, blob, mode))
            .map_err(|e| fail(&format!("cannot stage {path}"), e))?;
    }
    let tree_id = index
        .write_tree_to(repo)
        .map_err(|e| fail("cannot write the tree", e))?;
    let tree = repo
        .find_tree(tree_id)
        .map_err(|e| fail("cannot read the tree", e))?;
    let sig = Signature::now(&identity.0, &identity.1)
        .map_err(|e| fail("cannot make a commit identity", e))?;
    repo.commit(None, &sig, &sig, message, &tree, &[&parent])
        .map(|id| id.to_string())
        .map_err(|e| fail("cannot commit", e))
}

/// Makes the local branch `name` point at `commit`; refuses when it exists.
pub fn create_branch(root: &Path, name: &str, commit: &str) -> Result<(), String> {
    let fail = |what: &str, e: git2::Error| format!("{what}: {}", e.message());
    let repo = Repository::discover(root).map_err(|e| fail("no git repository", e))?;
    let commit = repo
        .find_commit(git2::Oid::from_str(commit).map_err(|e| fail("bad commit id", e))?)
        .map_err(|e| fail("cannot read the commit", e))?;
    repo.branch(name, &commit, false)
        .map(|_| ())
        .map_err(|e| fail(&format!("cannot create branch {name}"), e))
}

fn entry(path: &str, id: git2::Oid, mode: u32) -> git2::IndexEntry {
    git2::IndexEntry {
        ctime: git2::IndexTime::new(0, 0),
        mtime: git2::IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode,
        uid: 0,
        gid: 0,
        file_size: 0,
        id,
        flags: 0,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}

/// The tree of `files` (path → blob), folders made from the paths.
fn tree_of<'r>(
    repo: &'r Repository,
    files: &std::collections::BTreeMap<String, git2::Oid>,
) -> Result<git2::Tree<'r>, git2::Error> {
    let mut index = git2::Index::new()?;
    for (path, blob) in files {
        index.add(&entry(path, *blob, 0o100644))?;
    }
    let id = index.write_tree_to(repo)?;
    repo.find_tree(id)
}

//! Making a new repository for `procsite init`: the only place procsite writes to git.

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

/// The tree of `files` (path → blob), folders made from the paths.
fn tree_of<'r>(
    repo: &'r Repository,
    files: &std::collections::BTreeMap<String, git2::Oid>,
) -> Result<git2::Tree<'r>, git2::Error> {
    let mut index = git2::Index::new()?;
    for (path, blob) in files {
        index.add(&git2::IndexEntry {
            ctime: git2::IndexTime::new(0, 0),
            mtime: git2::IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            file_size: 0,
            id: *blob,
            flags: 0,
            flags_extended: 0,
            path: path.as_bytes().to_vec(),
        })?;
    }
    let id = index.write_tree_to(repo)?;
    repo.find_tree(id)
}

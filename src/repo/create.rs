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
    /// "Name <email>" of the author and committer.
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

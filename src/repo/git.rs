//! Access to the git repository: which commit a build reads, its files straight
//! from git objects, and whether the work tree differs from it.

use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid, Repository, StatusOptions, TreeWalkMode, TreeWalkResult};

use super::scan::is_source;
use crate::signature::Signature;

/// A tag glob (`release/*`) as an anchored regular expression.
pub fn glob_regex(glob: &str) -> Result<regex::Regex, String> {
    let pattern: Vec<String> = glob.split('*').map(regex::escape).collect();
    regex::Regex::new(&format!("^{}$", pattern.join(".*")))
        .map_err(|e| format!("release-tags '{glob}': {e}"))
}

/// The version a release tag names: the part the glob's `*` matched
/// (`release/2026.1` under `release/*` → `2026.1`), or the whole tag.
pub fn version_of_tag(tag: &str, glob: &str) -> String {
    let prefix = glob.split('*').next().unwrap_or("");
    let suffix = if glob.contains('*') {
        glob.rsplit('*').next().unwrap_or("")
    } else {
        ""
    };
    tag.strip_prefix(prefix)
        .and_then(|t| t.strip_suffix(suffix))
        .filter(|t| !t.is_empty())
        .unwrap_or(tag)
        .to_string()
}

/// A repository and where the procsite root sits inside its work tree.
pub struct GitRepo {
    pub repo: Repository,
    /// The root relative to the top of the work tree ("" when they are the same).
    pub prefix: PathBuf,
}

/// Where a commit made in the repository of `root` shows: the folder of its `HEAD`
/// and the folder of its branches, tags, `packed-refs`, `shallow` and `info/grafts`
/// (the same folder, but for a linked work tree). `None` outside a repository.
pub fn ref_folders(root: &Path) -> Option<RefFolders> {
    let repo = Repository::discover(root).ok()?;
    Some(RefFolders {
        own: repo.path().canonicalize().ok()?,
        common: repo.commondir().canonicalize().ok()?,
    })
}

/// The folders of a repository where what a build reads of git moves.
#[derive(Debug, Clone)]
pub struct RefFolders {
    /// Holds the work tree's `HEAD`.
    pub own: PathBuf,
    /// Holds `refs/`, `packed-refs`, `shallow` and `info/grafts`, shared by every
    /// work tree.
    pub common: PathBuf,
}

/// The folders under [`RefFolders::common`] whose files are references a build reads.
pub const REF_FOLDERS: [&str; 2] = ["refs/heads", "refs/tags"];
/// The grafts git gives commits, under [`RefFolders::common`].
pub const GRAFTS: &str = "info/grafts";

/// The files under [`RefFolders::common`] that tell git the parents of commits rather
/// than let it read them: where a shallow clone is cut, and the grafts.
pub const TOLD_PARENTS: [&str; 2] = ["shallow", GRAFTS];

/// The text of each of [`TOLD_PARENTS`] in `repo` (empty where there is none).
pub fn told_parents(repo: &Repository) -> [(&'static str, String); 2] {
    TOLD_PARENTS.map(|file| {
        (
            file,
            std::fs::read_to_string(repo.commondir().join(file)).unwrap_or_default(),
        )
    })
}

impl RefFolders {
    /// Whether `path` is what moves when a commit is made in this work tree, a
    /// branch is switched, a branch or tag is made, moved or deleted, a shallow
    /// clone is deepened, or grafts are given or taken away: not a lock file git
    /// writes first, nor the objects, index, logs, remote branches, stash or notes,
    /// nor another work tree's `HEAD`.
    pub fn moved(&self, path: &Path) -> bool {
        if path.extension().is_some_and(|e| e == "lock") {
            return false;
        }
        let head = path == self.own.join("HEAD");
        let shared = path.strip_prefix(&self.common).is_ok_and(|rel| {
            rel == Path::new("packed-refs")
                || rel == Path::new("shallow")
                || rel == Path::new(GRAFTS)
                || REF_FOLDERS.iter().any(|f| rel.starts_with(f))
        });
        head || shared
    }

    /// The lock git holds on the work tree's index while it commits, switches
    /// branches or resets: it moves the reference first and puts the new index in
    /// place last, so a build between the two finds the tree dirty against the new
    /// commit.
    pub fn index_lock(&self) -> PathBuf {
        self.own.join("index.lock")
    }
}

/// A commit, as pages and stamps show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CommitInfo {
    pub id: String,
    pub author: String,
    pub author_email: String,
    /// Seconds since the epoch and offset in minutes, as recorded.
    pub author_time: i64,
    pub author_offset: i32,
    pub commit_time: i64,
    pub commit_offset: i32,
    /// Who made the commit (a rebase or a merge button changes it, not the author).
    pub committer: String,
    pub subject: String,
    /// `Key: value` trailers of the message, in order.
    pub trailers: Vec<(String, String)>,
    /// The commit's signature; an SSH signature is verified when the commit records
    /// an approval (an `Approved-by:` trailer), the only case where it is evidence.
    pub signature: Signature,
    /// A merge commit (more than one parent).
    pub merge: bool,
}

impl CommitInfo {
    pub fn from_commit(repo: &Repository, c: &git2::Commit) -> CommitInfo {
        let author = c.author();
        let message = String::from_utf8_lossy(c.message_bytes()).into_owned();
        let trailers: Vec<(String, String)> = git2::message_trailers_strs(&message)
            .map(|t| {
                t.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let signature = commit_signature(repo, c, records_approval(&trailers));
        CommitInfo {
            id: c.id().to_string(),
            author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
            author_email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
            author_time: author.when().seconds(),
            author_offset: author.when().offset_minutes(),
            commit_time: c.time().seconds(),
            commit_offset: c.time().offset_minutes(),
            committer: String::from_utf8_lossy(c.committer().name_bytes()).into_owned(),
            subject: String::from_utf8_lossy(c.summary_bytes().unwrap_or_default()).into_owned(),
            trailers,
            signature,
            merge: c.parent_count() > 1,
        }
    }

    pub fn short(&self) -> &str {
        short_id(&self.id)
    }
}

/// Whether a commit's trailers record an approval, making its signature evidence.
pub fn records_approval(trailers: &[(String, String)]) -> bool {
    trailers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("Approved-by"))
}

/// The signature of a commit: its `gpgsig` header over the commit without it.
fn commit_signature(repo: &Repository, c: &git2::Commit, verify: bool) -> Signature {
    let Ok(armored) = c.header_field_bytes("gpgsig") else {
        return Signature::None;
    };
    if !verify {
        return Signature::kind_of(&armored);
    }
    match repo.extract_signature(&c.id(), None) {
        Ok((sig, signed)) => Signature::verify(&sig, &signed),
        Err(e) => match Signature::kind_of(&armored) {
            Signature::SshUnchecked => Signature::SshInvalid {
                reason: format!("it cannot be read from the commit: {}", e.message()),
            },
            other => other,
        },
    }
}

/// Where a signature starts in a signed tag object: the last line that begins a
/// signature, as git reads it; `None` when the tag is not signed.
fn tag_signature_start(raw: &[u8]) -> Option<usize> {
    const MARKERS: [&[u8]; 3] = [
        b"-----BEGIN SSH SIGNATURE-----",
        b"-----BEGIN PGP SIGNATURE-----",
        b"-----BEGIN SIGNED MESSAGE-----",
    ];
    let mut start = None;
    let mut at = 0;
    while at < raw.len() {
        if MARKERS.iter().any(|m| raw[at..].starts_with(m)) {
            start = Some(at);
        }
        at = raw[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |eol| at + eol + 1);
    }
    start
}

/// A commit id as pages show it: its first 10 characters.
pub fn short_id(id: &str) -> &str {
    &id[..id.len().min(10)]
}

impl GitRepo {
    /// Opens the repository containing `root`, if there is one.
    pub fn open(root: &Path) -> Option<GitRepo> {
        // Like git itself, trust the object database instead of re-hashing every
        // object read; libgit2's collision-detecting SHA-1 otherwise dominates the walk.
        git2::opts::strict_hash_verification(false);
        let repo = Repository::discover(root).ok()?;
        let workdir = repo.workdir()?.canonicalize().ok()?;
        let root = root.canonicalize().ok()?;
        let prefix = root.strip_prefix(&workdir).ok()?.to_path_buf();
        Some(GitRepo { repo, prefix })
    }

    /// Whether commit `id` is in the repository's history: it exists and HEAD, a
    /// branch or a tag contains it.
    pub fn in_history(&self, id: &str) -> bool {
        let Ok(oid) = Oid::from_str(id) else {
            return false;
        };
        if self.repo.find_commit(oid).is_err() {
            return false;
        }
        let Ok(refs) = self.repo.references() else {
            return false;
        };
        let tips = refs
            .flatten()
            .filter_map(|r| r.peel_to_commit().ok().map(|c| c.id()))
            .chain(
                self.repo
                    .head()
                    .ok()
                    .and_then(|h| h.peel_to_commit().ok())
                    .map(|c| c.id()),
            );
        tips.into_iter()
            .any(|tip| tip == oid || self.repo.graph_descendant_of(tip, oid).unwrap_or(false))
    }

    /// The commit `refname` names (a branch, tag, hash, `HEAD~2`...), or HEAD.
    /// `Ok(None)`: HEAD has no commit yet.
    pub fn resolve(&self, refname: Option<&str>) -> Result<Option<Oid>, String> {
        match refname {
            Some(r) => self
                .repo
                .revparse_single(r)
                .and_then(|o| o.peel_to_commit())
                .map(|c| Some(c.id()))
                .map_err(|e| format!("'{r}' does not name a commit: {}", e.message())),
            None => match self.repo.head() {
                Ok(h) => h
                    .peel_to_commit()
                    .map(|c| Some(c.id()))
                    .map_err(|e| e.message().to_string()),
                Err(e) if e.code() == git2::ErrorCode::UnbornBranch => Ok(None),
                Err(e) => Err(e.message().to_string()),
            },
        }
    }

    /// Tags matching the `[build] release-tags` glob, with their commits and their
    /// dates (seconds, in the tagger's local time), oldest first (then by name).
    pub fn release_tags(&self, glob: &str) -> Result<Vec<(String, Oid, i64)>, String> {
        let re = glob_regex(glob)?;
        let names = self
            .repo
            .tag_names(None)
            .map_err(|e| e.message().to_string())?;
        let mut tags = Vec::new();
        for name in names.iter().flatten().filter(|n| re.is_match(n)) {
            let object = self
                .repo
                .revparse_single(&format!("refs/tags/{name}"))
                .map_err(|e| format!("tag {name}: {}", e.message()))?;
            let commit = object
                .peel_to_commit()
                .map_err(|e| format!("tag {name}: {}", e.message()))?;
            // An annotated tag's date is when the release was tagged; a lightweight
            // tag has only its commit's.
            let when = object
                .as_tag()
                .and_then(|t| t.tagger())
                .map_or(commit.time(), |s| s.when());
            tags.push((
                name.to_string(),
                commit.id(),
                when.seconds() + i64::from(when.offset_minutes()) * 60,
            ));
        }
        tags.sort_by(|a, b| {
            a.2.cmp(&b.2)
                .then_with(|| crate::layout::version_order(&a.0, &b.0))
        });
        Ok(tags)
    }

    /// Names of the tags pointing at `oid` that match the release glob.
    pub fn release_tags_at(&self, oid: Oid, glob: &str) -> Vec<(String, i64)> {
        self.release_tags(glob)
            .map(|t| {
                t.into_iter()
                    .filter(|(_, o, _)| *o == oid)
                    .map(|(n, _, when)| (n, when))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn commit_info(&self, oid: Oid) -> Result<CommitInfo, String> {
        self.repo
            .find_commit(oid)
            .map(|c| CommitInfo::from_commit(&self.repo, &c))
            .map_err(|e| e.message().to_string())
    }

    /// The signature of the annotated tag `name` over the tag object before it, or
    /// `None` for a lightweight tag. An SSH signature is verified.
    pub fn tag_signature(&self, name: &str) -> Option<Signature> {
        let reference = self
            .repo
            .find_reference(&format!("refs/tags/{name}"))
            .ok()?;
        let tag = reference.peel_to_tag().ok()?;
        let odb = self.repo.odb().ok()?;
        let object = odb.read(tag.id()).ok()?;
        let raw = object.data();
        Some(match tag_signature_start(raw) {
            Some(start) => Signature::verify(&raw[start..], &raw[..start]),
            None => Signature::None,
        })
    }

    pub fn is_shallow(&self) -> bool {
        self.repo.is_shallow()
    }

    fn to_repo_path(&self, rel: &Path) -> PathBuf {
        self.prefix.join(rel)
    }

    /// The sources (book.toml, procedures/, themes/) that differ from HEAD, untracked
    /// files included, as paths relative to the procsite root.
    pub fn dirty_paths(&self) -> Result<Vec<String>, String> {
        let mut opts = StatusOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_ignored(false);
        for p in [
            super::scan::BOOK,
            crate::layout::PROCEDURES_DIR,
            super::scan::THEMES_DIR,
        ] {
            opts.pathspec(self.to_repo_path(Path::new(p)));
        }
        let statuses = self
            .repo
            .statuses(Some(&mut opts))
            .map_err(|e| e.message().to_string())?;
        let mut paths: Vec<String> = statuses
            .iter()
            .filter(|s| s.status() != git2::Status::CURRENT)
            .filter_map(|s| s.path().map(str::to_string))
            // What no build reads changes nothing it builds.
            .filter(|p| !super::scan::is_unread_path(Path::new(p)))
            .map(|p| {
                Path::new(&p)
                    .strip_prefix(&self.prefix)
                    .map_or(p.clone(), |r| r.to_string_lossy().into_owned())
            })
            .collect();
        paths.sort();
        Ok(paths)
    }

    /// The commit `refname` names (HEAD when `None`), and what a build of it reads of
    /// the repository besides that commit's objects ([`GitRepo::inputs_of`]). `None`
    /// when the build would read the work tree instead: HEAD has no commit, or
    /// (without `refname`) the sources have uncommitted changes.
    pub fn committed_inputs(&self, refname: Option<&str>) -> Option<(Oid, String)> {
        let oid = self.resolve(refname).ok()??;
        if refname.is_none() && !self.dirty_paths().ok()?.is_empty() {
            return None;
        }
        Some((oid, self.inputs_of(oid)?))
    }

    /// What a build of commit `oid` reads of the repository besides that commit's
    /// objects, one line each: the commit, every tag and replace ref and the object it
    /// names, the commits a shallow clone is cut at, the grafts, and where the root is.
    pub fn inputs_of(&self, oid: Oid) -> Option<String> {
        let mut lines = format!("commit {oid}\nprefix {}\n", self.prefix.display());
        // Tags; and what replaces objects, as grafts do (which git reads too).
        let mut refs: Vec<(String, Oid)> = Vec::new();
        for glob in ["refs/tags/*", "refs/replace/*"] {
            refs.extend(
                self.repo
                    .references_glob(glob)
                    .ok()?
                    .flatten()
                    .filter_map(|r| Some((r.name()?.to_string(), r.target()?))),
            );
        }
        refs.sort();
        for (name, target) in refs {
            lines.push_str(&format!("ref {name} {target}\n"));
        }
        for (file, text) in told_parents(&self.repo) {
            for line in text.lines() {
                lines.push_str(&format!("{file} {line}\n"));
            }
        }
        Some(lines)
    }

    /// The repository's own folder (`.git`, or a worktree's), for what procsite keeps
    /// beside the repository.
    pub fn git_dir(&self) -> &Path {
        self.repo.path()
    }

    /// Every source file of a commit, read from git objects without a checkout.
    pub fn read_sources(&self, oid: Oid) -> Result<Vec<(PathBuf, Vec<u8>)>, String> {
        let err = |e: git2::Error| e.message().to_string();
        let commit = self.repo.find_commit(oid).map_err(err)?;
        let mut tree = commit.tree().map_err(err)?;
        if !self.prefix.as_os_str().is_empty() {
            let entry = match tree.get_path(&self.prefix) {
                Ok(e) => e,
                Err(_) => return Ok(Vec::new()),
            };
            tree = self.repo.find_tree(entry.id()).map_err(err)?;
        }
        let mut blobs: Vec<(PathBuf, Oid)> = Vec::new();
        tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
            let path = PathBuf::from(dir).join(entry.name().unwrap_or_default());
            if entry.kind() == Some(ObjectType::Tree) {
                let wanted = path.starts_with(crate::layout::PROCEDURES_DIR)
                    || path.starts_with(super::scan::THEMES_DIR);
                return if wanted || dir.is_empty() && is_source(&path) {
                    TreeWalkResult::Ok
                } else {
                    TreeWalkResult::Skip
                };
            }
            if entry.kind() == Some(ObjectType::Blob) && is_source(&path) {
                blobs.push((path, entry.id()));
            }
            TreeWalkResult::Ok
        })
        .map_err(err)?;
        blobs
            .into_iter()
            .map(|(p, id)| {
                let blob = self.repo.find_blob(id).map_err(err)?;
                Ok((p, blob.content().to_vec()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_references_are_what_a_commit_moves() {
        // A linked work tree: its HEAD in a folder of its own, the rest shared.
        let linked = RefFolders {
            own: PathBuf::from("/r/.git/worktrees/review"),
            common: PathBuf::from("/r/.git"),
        };
        for moved in [
            "/r/.git/worktrees/review/HEAD",
            "/r/.git/packed-refs",
            "/r/.git/shallow",
            "/r/.git/info/grafts",
            "/r/.git/refs/heads/main",
            "/r/.git/refs/heads/feature/x",
            "/r/.git/refs/tags/release/2026.1",
        ] {
            assert!(linked.moved(Path::new(moved)), "{moved}");
        }
        for not in [
            "/r/.git/HEAD",
            "/r/.git/index",
            "/r/.git/worktrees/review/index",
            "/r/.git/ORIG_HEAD",
            "/r/.git/refs/heads/main.lock",
            "/r/.git/worktrees/review/HEAD.lock",
            "/r/.git/refs/remotes/origin/main",
            "/r/.git/refs/stash",
            "/r/.git/refs/prefetch/remotes/origin/main",
            "/r/.git/objects/ab/cdef",
            "/r/.git/logs/HEAD",
            "/r/.git/procsite/history",
            "/r/.git/info/exclude",
            "/r/procedures/refs/heads/x",
        ] {
            assert!(!linked.moved(Path::new(not)), "{not}");
        }
        // The work tree of the repository itself: one folder for both.
        let main = RefFolders {
            own: PathBuf::from("/r/.git"),
            common: PathBuf::from("/r/.git"),
        };
        assert!(main.moved(Path::new("/r/.git/HEAD")));
        assert!(main.moved(Path::new("/r/.git/refs/heads/main")));
        assert!(!main.moved(Path::new("/r/.git/worktrees/review/HEAD")));
    }

    // A commit and a release tag signed by git 2.47 with `gpg.format = ssh` and
    // OpenSSH 9.2's ssh-keygen, and the public key of the key pair they used.
    const COMMIT: &[u8] = include_bytes!("../../tests/fixtures/git-ssh/commit.txt");
    const TAG: &[u8] = include_bytes!("../../tests/fixtures/git-ssh/tag.txt");
    const KEY: &str = include_str!("../../tests/fixtures/git-ssh/jane.pub");

    fn jane() -> Signature {
        let key = crate::signature::parse_public_key(KEY).unwrap();
        Signature::Ssh {
            fingerprint: crate::signature::fingerprint(&key),
        }
    }

    fn read_commit(raw: &[u8]) -> CommitInfo {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let oid = repo.odb().unwrap().write(ObjectType::Commit, raw).unwrap();
        let commit = repo.find_commit(oid).unwrap();
        CommitInfo::from_commit(&repo, &commit)
    }

    #[test]
    fn a_commit_signed_by_git_with_an_ssh_key_verifies() {
        assert_eq!(read_commit(COMMIT).signature, jane());
        let text = String::from_utf8_lossy(COMMIT);
        let altered = text.replace("Issue SOP-0001", "Issue SOP-0002");
        assert!(matches!(
            read_commit(altered.as_bytes()).signature,
            Signature::SshInvalid { .. }
        ));
        // Without an Approved-by trailer, nothing depends on the signature.
        let unapproved = text.replace("Approved-by", "Reviewed-by");
        assert_eq!(
            read_commit(unapproved.as_bytes()).signature,
            Signature::SshUnchecked
        );
    }

    #[test]
    fn a_tag_signed_by_git_with_an_ssh_key_verifies() {
        let start = tag_signature_start(TAG).unwrap();
        assert!(TAG[..start].ends_with(b"Release 2026.1\n"));
        assert_eq!(Signature::verify(&TAG[start..], &TAG[..start]), jane());
        assert_eq!(
            tag_signature_start(b"object 0\ntype commit\n\nNot signed\n"),
            None
        );
    }
}

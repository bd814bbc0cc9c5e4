//! The one owner of the published tree.
//!
//! It reads what is published (every version folder and its manifest), decides what
//! each site's `versions.json`, `versions.js` and `latest/` say, and writes a change
//! as one transaction:
//!
//! - a lock file beside the output (`.<name>.procsite-lock`) stops a second writer;
//!   it holds the writer's pid and start time, and an OS file lock, so a lock left by
//!   a killed run is taken over (with a warning) and a live one never is;
//! - the whole new tree is assembled beside the output (`.<name>.procsite-next`):
//!   released version folders are immutable, so they are hard-linked, not copied;
//!   a build writes each site's new version folder there a few files at a time as
//!   they are rendered ([`Output::stage`]), so a build holds only the pages in flight;
//! - one atomic exchange of the two folders (`renameat2(RENAME_EXCHANGE)` on Linux)
//!   puts it in place; where the file system cannot exchange, two renames do, and an
//!   interrupted pair is rolled forward by the next run. A kill at any moment leaves
//!   the old tree or the new one, complete;
//! - `manifest.json` at the output root lists the SHA-256 of the portal, the report,
//!   every `versions.json` and every version's own manifest, so `verify` can tell a
//!   complete output from a tampered, partial or interrupted one.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diag::display_path;
use crate::fs::{self, FsError, FsResult};
use crate::layout::{KeptFile, OutFile};
use crate::layout::{
    INDEX, LATEST, MANIFEST_FILE, MARKER, PREVIEW, REPORT_DIR, VERSIONS_JS, VERSIONS_JSON,
};
use crate::manifest::{self, sha256_hex, Manifest, Problem, Verification};

/// How a note begins when opening the output finished or undid an interrupted write.
pub const RECOVERED: &str = "an interrupted write was";

/// How the message of a write that stopped part-way begins.
pub const PARTIAL: &str = "the write stopped part-way";

/// Leftovers of the writer of earlier procsite versions, removed on the next write.
const LEGACY_LEFTOVERS: &[&str] = &[".procsite-staging", ".procsite-old"];

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{} exists and was not created by procsite (it has no {MARKER} file); refusing to write into it", display_path(.0))]
    Foreign(PathBuf),
    #[error("{} is being written by another procsite run ({holder})", display_path(.output))]
    Locked { output: PathBuf, holder: String },
    #[error("{} is not part of procsite's output: {why}", display_path(.path))]
    Unknown { path: PathBuf, why: String },
    #[error("{0}")]
    Fs(#[from] FsError),
    #[error("version {0} is released and cannot be rewritten")]
    Released(String),
    #[error("{} is inside another procsite output", display_path(.0))]
    Nested(PathBuf),
    #[error("released version(s) {} are listed in the output's manifest but missing from the output", .0.join(", "))]
    Lost(Vec<String>),
    #[error(
        "version {version} differs only by case from version {existing}, already in the output"
    )]
    CaseClash { version: String, existing: String },
    /// The output folder cannot be replaced as a whole where it is.
    #[error("{0}")]
    Replace(FsError),
    /// The write stopped with the output neither old nor new: the message says where
    /// each part is.
    #[error("{PARTIAL}: {0}")]
    Partial(String),
}

impl OutputError {
    /// How to fix it, for the `help:` line.
    pub fn help(&self) -> &'static str {
        match self {
            OutputError::Foreign(_) => {
                "choose another folder with --out, or remove the folder if it holds nothing of value"
            }
            OutputError::Locked { .. } => {
                "wait for the other run to finish; only one build or publish may write an output at a time"
            }
            OutputError::Unknown { .. } => {
                "procsite owns its output folder entirely: move the file elsewhere (or restore the version's manifest.json), then run again"
            }
            OutputError::Fs(_) => "fix the cause and run again",
            OutputError::Nested(_) => {
                "an output folder cannot hold another: choose an --out folder outside it"
            }
            OutputError::Lost(_) => {
                "restore the folders from a copy of the output, or run procsite publish, which builds released tags again"
            }
            OutputError::CaseClash { .. } => {
                "the two would be one folder on Windows and macOS: choose another version name"
            }
            OutputError::Replace(_) => {
                "procsite puts a new output in place by replacing the folder as a whole: it needs write access to the folder's parent and cannot replace a mount point; point --out at a folder inside it"
            }
            OutputError::Released(_) => "released versions are immutable: build under a new version name",
            OutputError::Partial(_) => "run the same command again to finish the write",
        }
    }
}

/// The paths beside an output root that belong to it.
struct Sidecars {
    lock: PathBuf,
    next: PathBuf,
    old: PathBuf,
}

fn absolute(shown: &Path) -> FsResult<PathBuf> {
    if let Ok(p) = shown.canonicalize() {
        return Ok(p);
    }
    let parent = match shown.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent)?;
    let parent = parent.canonicalize().map_err(|source| FsError {
        action: "cannot resolve",
        path: parent.clone(),
        source,
    })?;
    Ok(match shown.file_name() {
        Some(name) => parent.join(name),
        None => parent,
    })
}

fn sidecars(root: &Path) -> Sidecars {
    let name = root
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    let parent = root.parent().unwrap_or(Path::new("/"));
    let side = |what: &str| parent.join(format!(".{name}.procsite-{what}"));
    Sidecars {
        lock: side("lock"),
        next: side("next"),
        old: side("old"),
    }
}

/// A test hook's value; test hooks exist in debug builds only (as `cargo test` runs).
fn hook(var: &str) -> Option<String> {
    if cfg!(debug_assertions) {
        std::env::var(var).ok()
    } else {
        None
    }
}

/// Test hook: `PROCSITE_TEST_KILL_AT=<point>` kills the process (SIGKILL, so no
/// clean-up runs) at a named point of the write, to prove a kill leaves a complete tree.
fn kill_point(point: &str) {
    if hook("PROCSITE_TEST_KILL_AT").as_deref() == Some(point) {
        #[cfg(unix)]
        // SAFETY: kill(2) on our own pid has no memory effects.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
        std::process::abort();
    }
}

fn injected(var: &str) -> bool {
    hook(var).is_some()
}

/// The lock of one output. Released (its file removed) when dropped.
pub struct Lock {
    path: PathBuf,
    _file: File,
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.exists()
}

impl Lock {
    /// Takes the lock of `output`, or says who holds it. A lock file left by a run
    /// that died is taken over; the returned note says so.
    fn acquire(path: &Path, output: &Path) -> Result<(Lock, Option<String>), OutputError> {
        let io = |action, source| FsError {
            action,
            path: path.to_path_buf(),
            source,
        };
        loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .map_err(|e| io("cannot open the lock file", e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(OutputError::Locked {
                        output: output.to_path_buf(),
                        holder: holder_of(&mut file),
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(io("cannot lock", e).into());
                }
            }
            // Between open and lock, the holder may have finished and removed the file:
            // then this lock is on a file nobody else sees, and must be taken again.
            if !same_file(&file, path) {
                continue;
            }
            let mut previous = String::new();
            let _ = file.read_to_string(&mut previous);
            let note = (!previous.trim().is_empty()).then(|| {
                format!(
                    "took over the lock of an earlier procsite run that ended without releasing it ({})",
                    previous.trim().replace('\n', ", ")
                )
            });
            let started = time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            let text = format!("pid {}\nstarted {started}\n", std::process::id());
            file.set_len(0)
                .and_then(|_| file.rewind())
                .and_then(|_| file.write_all(text.as_bytes()))
                .map_err(|e| io("cannot write", e))?;
            return Ok((
                Lock {
                    path: path.to_path_buf(),
                    _file: file,
                },
                note,
            ));
        }
    }
}

/// What the holder of a lock wrote in its file (pid, start time), on one line.
fn holder_of(file: &mut File) -> String {
    let mut holder = String::new();
    let _ = file.read_to_string(&mut holder);
    let holder = holder.trim().replace('\n', ", ");
    if holder.is_empty() {
        "a run that is starting".into()
    } else {
        holder
    }
}

/// Who holds the lock at `path` now, when a live run does: its pid and start time.
/// A lock file left by a killed run is held by nobody.
fn live_holder(path: &Path) -> Option<String> {
    let mut file = File::open(path).ok()?;
    match file.try_lock_shared() {
        // Released when `file` closes.
        Ok(()) => None,
        Err(std::fs::TryLockError::WouldBlock) => Some(holder_of(&mut file)),
        Err(std::fs::TryLockError::Error(_)) => None,
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Removed while still locked, so a waiting run re-checks and takes a new file.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What an output holds now: every version folder of every site, by its manifest.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Published {
    /// Site folder → version folder → its manifest (`latest/` is a copy, not listed).
    pub sites: BTreeMap<String, BTreeMap<String, Manifest>>,
}

impl Published {
    pub fn version(&self, site: &str, version: &str) -> Option<&Manifest> {
        self.sites.get(site)?.get(version)
    }

    fn read(root: &Path) -> Result<Published, OutputError> {
        let mut published = Published::default();
        if !root.exists() {
            return Ok(published);
        }
        let unknown = |path: PathBuf, why: &str| OutputError::Unknown {
            path,
            why: why.to_string(),
        };
        for name in fs::read_dir_names(root)? {
            let path = root.join(&name);
            if [MARKER, MANIFEST_FILE, INDEX, REPORT_DIR].contains(&name.as_str()) {
                continue;
            }
            if LEGACY_LEFTOVERS.contains(&name.as_str()) {
                return Err(unknown(path, "an earlier procsite left it; remove it"));
            }
            if !path.is_dir() || name.starts_with('.') {
                return Err(unknown(path, "procsite writes no such file"));
            }
            let versions = published.sites.entry(name.clone()).or_default();
            for v in fs::read_dir_names(&path)? {
                let vpath = path.join(&v);
                if [VERSIONS_JSON, VERSIONS_JS, INDEX, LATEST].contains(&v.as_str()) {
                    continue;
                }
                if !vpath.is_dir() {
                    return Err(unknown(
                        vpath,
                        "procsite writes no such file in a site folder",
                    ));
                }
                match manifest::read_manifest(&vpath) {
                    Some(m) if m.site == name && m.version == v => {
                        versions.insert(v, m);
                    }
                    // A preview is rewritten by the next preview build anyway.
                    _ if v == PREVIEW => {}
                    Some(_) => {
                        return Err(unknown(
                            vpath,
                            "its manifest.json names another site or version",
                        ))
                    }
                    None => {
                        return Err(unknown(
                            vpath,
                            "it has no readable manifest.json, so it cannot be verified",
                        ))
                    }
                }
            }
        }
        Ok(published)
    }
}

/// One version folder to write: a release, a preview, or another unreleased version.
pub struct VersionFolder {
    pub site: String,
    pub version: String,
    /// Every file, `manifest.json` included.
    pub files: Vec<OutFile>,
}

impl VersionFolder {
    pub fn manifest(&self) -> Option<Manifest> {
        self.files
            .iter()
            .find(|f| f.path == MANIFEST_FILE)
            .and_then(|f| serde_json::from_slice(&f.bytes).ok())
    }
}

/// One version as a site's listing shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ListedVersion {
    pub version: String,
    /// SHA-256 of the version's manifest.json.
    pub manifest: String,
    pub date: Option<String>,
    pub commit: Option<String>,
    pub dirty: bool,
    pub release: bool,
    /// The version's top-level pages, so the switcher can fall back to the index.
    pub pages: Vec<String>,
}

impl ListedVersion {
    fn of(m: &Manifest) -> ListedVersion {
        let mut bytes = serde_json::to_vec_pretty(m).expect("a manifest serializes");
        bytes.push(b'\n');
        ListedVersion {
            version: m.version.clone(),
            manifest: sha256_hex(&bytes),
            date: m.date.clone(),
            commit: m.commit.clone(),
            dirty: m.dirty,
            release: m.release,
            pages: m
                .files
                .keys()
                .filter(|f| f.ends_with(".html") && !f.contains('/'))
                .cloned()
                .collect(),
        }
    }
}

/// What a site's folder lists after a change: its released versions, newest first
/// (the first is `latest/`), and apart from them its unreleased builds.
#[derive(Debug, Clone, Serialize)]
pub struct SiteListing {
    pub site: String,
    pub releases: Vec<ListedVersion>,
    pub unreleased: Vec<ListedVersion>,
}

/// A `versions.json` entry (mike's shape, which version switchers read).
#[derive(Debug, Serialize)]
struct VersionEntry<'a> {
    version: &'a str,
    title: &'a str,
    /// SHA-256 of the version's manifest.json: the link from this list to every file.
    manifest: &'a str,
    date: &'a Option<String>,
    commit: &'a Option<String>,
    aliases: Vec<&'static str>,
    pages: &'a [String],
}

/// The top-level manifest of a whole output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputManifest {
    pub format: u32,
    pub tool_version: String,
    /// Files outside version folders (portal, report, versions.json …) → SHA-256.
    pub files: BTreeMap<String, String>,
    /// Version folders (`<site>/<version>`, `latest` included) → SHA-256 of their
    /// `manifest.json`.
    pub versions: BTreeMap<String, String>,
    /// The released version folders among them, which may never go missing.
    #[serde(default)]
    pub released: Vec<String>,
}

/// What a finished write says about itself.
#[derive(Debug, Default)]
pub struct Written {
    /// Warnings: recovered leftovers, a stale lock, a previous tree left behind.
    pub notes: Vec<String>,
    /// The [identity](identity) of the tree written, taken before the lock is let go.
    pub identity: Option<String>,
}

/// An output root opened for writing: locked, recovered, read.
pub struct Output {
    shown: PathBuf,
    root: PathBuf,
    side: Sidecars,
    pub published: Published,
    notes: Vec<String>,
    /// Released versions the output's manifest lists that are no longer on disk.
    lost: Vec<String>,
    /// The version folders written into the staging tree so far.
    staging: std::sync::Mutex<Staging>,
    counter: Counter,
    /// Take the [identity] of the tree once written (for the record of a build).
    pub identity_wanted: bool,
    // Last: dropped after `Drop` has removed an abandoned staging tree.
    _lock: Lock,
}

/// A version folder being written into the staging tree a few files at a time.
pub struct StagedFiles<'o> {
    output: &'o Output,
    site: String,
    version: String,
    dir: PathBuf,
    /// The same version as the output holds it now, whose unchanged files are linked.
    previous: Option<PathBuf>,
    /// Every file written so far: path → SHA-256, for the manifest.
    hashes: BTreeMap<String, String>,
    finished: bool,
}

impl Drop for StagedFiles<'_> {
    /// A folder left unfinished (a write failed) is removed from the staging tree:
    /// nothing half-written is ever put in place, and its links to the published
    /// files are let go before anything could write through them.
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl StagedFiles<'_> {
    /// Writes `files` into the folder, and keeps their hashes for the manifest.
    pub fn write(&mut self, files: &[OutFile]) -> Result<(), OutputError> {
        self.write_files(files)?;
        for f in files {
            self.hashes.insert(f.path.clone(), sha256_hex(&f.bytes));
        }
        Ok(())
    }

    /// Links `kept` into the folder from the output, which holds each at its `at`
    /// with the hash its version's manifest lists, reading none of them. A file the
    /// manifest does not list, or that cannot be linked, is read and written.
    pub fn keep(&mut self, kept: &[KeptFile]) -> Result<(), OutputError> {
        let listed = self
            .output
            .published
            .version(&self.site, &self.version)
            .map(|m| &m.files);
        for k in kept {
            let path = self.dir.join(&k.path);
            self.output.counter.tick(&path)?;
            let hash = listed.and_then(|files| files.get(&k.path));
            let hash = match hash {
                Some(hash) if link_new(&k.at, &path).is_ok() => hash.clone(),
                _ => {
                    let bytes = fs::read(&k.at)?;
                    write_new(&path, &bytes)?;
                    sha256_hex(&bytes)
                }
            };
            self.hashes.insert(k.path.clone(), hash);
        }
        Ok(())
    }

    /// Writes `files` into the folder, without keeping their hashes.
    fn write_files(&self, files: &[OutFile]) -> Result<(), OutputError> {
        self.output
            .counter
            .write_all(&self.dir, files, self.previous.as_deref())?;
        Ok(())
    }

    /// Every file written so far: path → SHA-256.
    pub fn hashes(&self) -> &BTreeMap<String, String> {
        &self.hashes
    }

    /// Writes the folder's manifest and stages the folder.
    pub fn finish(mut self, manifest: OutFile) -> Result<(), OutputError> {
        self.write(std::slice::from_ref(&manifest))?;
        let parsed = serde_json::from_slice(&manifest.bytes).ok();
        self.done(parsed, sha256_hex(&manifest.bytes));
        Ok(())
    }

    fn done(mut self, manifest: Option<Manifest>, hash: String) {
        self.finished = true;
        let staged = StagedVersion {
            manifest,
            hash,
            site: std::mem::take(&mut self.site),
            version: std::mem::take(&mut self.version),
        };
        let mut staging = self
            .output
            .staging
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        staging.versions.push(staged);
    }
}

/// What [`Output::put`] and [`Output::stage`] have written into the staging tree.
#[derive(Default)]
struct Staging {
    /// Whether the staging tree exists (and is this run's).
    started: bool,
    versions: Vec<StagedVersion>,
}

/// A version folder in the staging tree: what the listing and the output's manifest
/// need of it once its files are on disk and out of memory.
struct StagedVersion {
    site: String,
    version: String,
    manifest: Option<Manifest>,
    /// SHA-256 of its manifest.json.
    hash: String,
}

impl Drop for Output {
    /// A staging tree that was never put in place is this run's alone: removed.
    fn drop(&mut self) {
        let staging = self.staging.get_mut().unwrap_or_else(|e| e.into_inner());
        if staging.started {
            let _ = std::fs::remove_dir_all(&self.side.next);
        }
    }
}

impl Output {
    /// Locks the output at `shown` (as the user named it), finishes or discards an
    /// interrupted write, and reads what is published.
    pub fn open(shown: &Path) -> Result<Output, OutputError> {
        let root = absolute(shown)?;
        let side = sidecars(&root);
        let (lock, note) = Lock::acquire(&side.lock, shown)?;
        let mut notes: Vec<String> = note.into_iter().collect();
        recover(&root, &side, &mut notes)?;
        if root.exists() && !root.join(MARKER).is_file() && !fs::read_dir_names(&root)?.is_empty() {
            return Err(OutputError::Foreign(shown.to_path_buf()));
        }
        if let Some(outer) = root.ancestors().skip(1).find(|a| a.join(MARKER).is_file()) {
            return Err(OutputError::Nested(outer.to_path_buf()));
        }
        let published = Published::read(&root)?;
        let released = std::fs::read(root.join(MANIFEST_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice::<OutputManifest>(&b).ok())
            .map(|m| m.released)
            .unwrap_or_default();
        // A release the output listed must still be there: a deleted one would drop
        // out of versions.json and latest/ without a word.
        let lost: Vec<String> = released
            .into_iter()
            .filter(|rel| {
                let (site, version) = rel.split_once('/').unwrap_or((rel, ""));
                published.version(site, version).is_none()
            })
            .collect();
        Ok(Output {
            shown: shown.to_path_buf(),
            root,
            side,
            published,
            notes,
            lost,
            staging: Default::default(),
            counter: Counter::new(),
            identity_wanted: false,
            _lock: lock,
        })
    }

    pub fn shown(&self) -> &Path {
        &self.shown
    }

    /// What opening found and did: a stale lock taken over, an interrupted write
    /// finished or undone, leftovers removed.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// Every site's versions after the folders already put and `new` are written:
    /// sites with a folder or named in `sites`.
    pub fn listing(&self, sites: &[String], new: &[VersionFolder]) -> Vec<SiteListing> {
        let staging = self.staging.lock().unwrap_or_else(|e| e.into_inner());
        let staged = staging
            .versions
            .iter()
            .filter_map(|v| Some((v.site.as_str(), v.version.as_str(), v.manifest.clone()?)));
        let fresh = new
            .iter()
            .filter_map(|v| Some((v.site.as_str(), v.version.as_str(), v.manifest()?)));
        listing_from(&self.published, sites, staged.chain(fresh))
    }

    /// Refuses a new version folder that would replace a released one, or that a
    /// case-insensitive disk would take for another.
    fn admit(&self, site: &str, version: &str) -> Result<(), OutputError> {
        // Each is one folder inside the output, never a path that leads out of it.
        for name in [site, version] {
            let mut parts = Path::new(name).components();
            if !matches!(
                (parts.next(), parts.next()),
                (Some(std::path::Component::Normal(_)), None)
            ) || name.contains(['/', '\\'])
            {
                return Err(OutputError::Unknown {
                    path: self.root.join(site).join(version),
                    why: format!("'{name}' is not a plain folder name"),
                });
            }
        }
        if self
            .published
            .version(site, version)
            .is_some_and(|m| m.release)
        {
            return Err(OutputError::Released(format!("{site}/{version}")));
        }
        let existing = self.published.sites.get(site).into_iter().flatten();
        if let Some((other, _)) = existing
            .into_iter()
            .find(|(k, _)| **k != version && k.eq_ignore_ascii_case(version))
        {
            return Err(OutputError::CaseClash {
                version: format!("{site}/{version}"),
                existing: other.clone(),
            });
        }
        Ok(())
    }

    /// Writes one new version folder into the staging tree now, so its files need
    /// not stay in memory; [`Output::commit`] puts it in place with the rest. Sites
    /// may be put from several threads at once. Nothing a reader sees changes
    /// before the commit, and an output dropped without one removes what was put.
    pub fn put(&self, v: VersionFolder) -> Result<(), OutputError> {
        // The folder brings its manifest, so its files' hashes are not kept.
        let staged = self.stage(&v.site, &v.version)?;
        staged.write_files(&v.files)?;
        staged.done(v.manifest(), manifest_hash(&v.files));
        Ok(())
    }

    /// Opens one new version folder in the staging tree, for its files to be written
    /// a few at a time as they are made ([`Output::put`] writes a whole one); the
    /// folder is staged once [finished](StagedFiles::finish) with its manifest.
    pub fn stage(&self, site: &str, version: &str) -> Result<StagedFiles<'_>, OutputError> {
        self.admit(site, version)?;
        self.start()?;
        let rel = format!("{site}/{version}");
        // A version built again (a preview) keeps the files whose bytes did not
        // change: linked, not written, so they keep their identity and date, and a
        // copy to a web server need only send what changed.
        let previous = self
            .published
            .version(site, version)
            .map(|_| self.root.join(&rel));
        Ok(StagedFiles {
            output: self,
            site: site.to_string(),
            version: version.to_string(),
            dir: self.side.next.join(&rel),
            previous,
            hashes: BTreeMap::new(),
            finished: false,
        })
    }

    /// Creates the staging tree, once.
    fn start(&self) -> Result<(), OutputError> {
        let mut staging = self.staging.lock().unwrap_or_else(|e| e.into_inner());
        if staging.started {
            return Ok(());
        }
        let next = &self.side.next;
        if next.exists() {
            remove_ours(next)?;
        }
        let made = fs::create_dir_all(next).and_then(|()| {
            fs::write(
                &next.join(MARKER),
                b"This folder is written by procsite. Its contents are replaced on each build.\n",
            )
        });
        match made {
            Ok(()) => {
                staging.started = true;
                Ok(())
            }
            // Nothing half-made stays, and the next put meets the same error again
            // rather than writing into a staging tree that is not there.
            Err(e) => {
                let _ = std::fs::remove_dir_all(next);
                Err(e.into())
            }
        }
    }

    /// Writes `new` version folders (after those already [put](Output::put)) and
    /// `files` (portal, report, site pages) with the listing's `versions.json`,
    /// `versions.js` and `latest/`, as one transaction.
    pub fn commit(
        self,
        new: Vec<VersionFolder>,
        files: Vec<OutFile>,
        listing: &[SiteListing],
    ) -> Result<Written, OutputError> {
        let mut written = Written {
            notes: self.notes.clone(),
            identity: None,
        };
        for v in &new {
            self.admit(&v.site, &v.version)?;
        }
        for v in new {
            self.put(v)?;
        }
        self.start()?;
        let staged = std::mem::take(
            &mut self
                .staging
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .versions,
        );
        let restored: std::collections::BTreeSet<String> = staged
            .iter()
            .map(|v| format!("{}/{}", v.site, v.version))
            .collect();
        let lost: Vec<String> = self
            .lost
            .iter()
            .filter(|l| !restored.contains(*l))
            .cloned()
            .collect();
        if !lost.is_empty() {
            return Err(OutputError::Lost(lost));
        }
        self.finish_staging(&staged, files, listing)?;
        kill_point("staged");
        // From here the staging tree is the output, or on its way there: whatever
        // happens, it is no longer this run's to remove.
        self.staging
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .started = false;
        self.swap(&mut written)?;
        if self.identity_wanted {
            written.identity = tree_identity(&self.root).ok();
        }
        Ok(written)
    }

    /// Completes the staging tree around the version folders already in it: the
    /// published versions linked, `latest/`, the files at the root, the manifest.
    fn finish_staging(
        &self,
        new: &[StagedVersion],
        files: Vec<OutFile>,
        listing: &[SiteListing],
    ) -> Result<(), OutputError> {
        let next = &self.side.next;
        let counter = &self.counter;
        let mut top = OutputManifest::of(listing);
        let replaced: std::collections::BTreeSet<(&str, &str)> = new
            .iter()
            .map(|v| (v.site.as_str(), v.version.as_str()))
            .collect();
        // Versions already published and not replaced: linked, never rewritten.
        for (site, versions) in &self.published.sites {
            for version in versions.keys() {
                if replaced.contains(&(site.as_str(), version.as_str())) {
                    continue;
                }
                let rel = format!("{site}/{version}");
                link_tree(&self.root.join(&rel), &next.join(&rel), counter)?;
                top.versions.insert(
                    rel.clone(),
                    hash_file(&next.join(&rel).join(MANIFEST_FILE))?,
                );
            }
        }
        for v in new {
            top.versions
                .insert(format!("{}/{}", v.site, v.version), v.hash.clone());
        }
        let tree_files = root_files(files, listing);
        for s in listing {
            if let Some(newest) = s.releases.first() {
                let rel = format!("{}/{}", s.site, newest.version);
                let latest = format!("{}/{LATEST}", s.site);
                // The newest release is in place already: linked or just written.
                link_tree(&next.join(&rel), &next.join(&latest), counter)?;
                // A copy: its manifest is the one already hashed for the version.
                let hash = match top.versions.get(&rel) {
                    Some(h) => h.clone(),
                    None => hash_file(&next.join(&rel).join(MANIFEST_FILE))?,
                };
                top.versions.insert(latest, hash);
            }
        }
        top.add_files(&tree_files);
        counter.write_all(next, &tree_files, None)?;
        fs::write(&next.join(MANIFEST_FILE), &top.to_bytes())?;
        Ok(())
    }

    /// Puts the staged tree in place: one exchange, or two renames where the file
    /// system cannot exchange; then removes the previous tree.
    fn swap(&self, written: &mut Written) -> Result<(), OutputError> {
        let (root, next) = (&self.root, &self.side.next);
        let result = self.swap_in(written);
        // The previous output still in place: the staged one is of no use.
        if result.is_err() && root.exists() && next.exists() {
            let _ = std::fs::remove_dir_all(next);
        }
        result.map_err(|e| match e {
            OutputError::Fs(f) if replace_refused(&f) => OutputError::Replace(f),
            e => e,
        })
    }

    fn swap_in(&self, written: &mut Written) -> Result<(), OutputError> {
        let (root, next, old) = (&self.root, &self.side.next, &self.side.old);
        let leftover = if !root.exists() {
            fs::rename(next, root)?;
            None
        } else if exchange(next, root)? {
            kill_point("swapped");
            Some(next)
        } else {
            fs::rename(root, old)?;
            kill_point("between-renames");
            if let Err(e) = fs::rename(next, root) {
                return match std::fs::rename(old, root) {
                    Ok(()) => Err(e.into()),
                    Err(back) => Err(OutputError::Partial(format!(
                        "{e}; the previous output is at {} (moving it back failed: {back}) and the new one at {}",
                        display_path(old),
                        display_path(next)
                    ))),
                };
            }
            kill_point("swapped");
            Some(old)
        };
        if let Some(previous) = leftover {
            let removed = if injected("PROCSITE_TEST_FAIL_CLEANUP") {
                Err(std::io::Error::other(
                    "failure injected by PROCSITE_TEST_FAIL_CLEANUP",
                ))
            } else {
                remove_tree(previous)
            };
            if let Err(e) = removed {
                written.notes.push(format!(
                    "the new output is in place, but the previous one could not be removed from {} ({e}); the next run removes it, or remove it by hand",
                    display_path(previous)
                ));
            }
        }
        Ok(())
    }
}

/// Every site's versions when `new` is added to what is `published`: sites with a
/// folder or named in `sites`.
pub fn listing_of(
    published: &Published,
    sites: &[String],
    new: &[VersionFolder],
) -> Vec<SiteListing> {
    let manifests = new
        .iter()
        .filter_map(|v| Some((v.site.as_str(), v.version.as_str(), v.manifest()?)));
    listing_from(published, sites, manifests)
}

/// Every site's versions when versions of the given manifests, by (site, version),
/// are added to what is `published`.
fn listing_from<'a>(
    published: &Published,
    sites: &[String],
    new: impl Iterator<Item = (&'a str, &'a str, Manifest)>,
) -> Vec<SiteListing> {
    let mut all: BTreeMap<String, BTreeMap<String, Manifest>> = published.sites.clone();
    // A folder that is neither a configured site nor holds a version is dropped.
    all.retain(|site, versions| !versions.is_empty() || sites.contains(site));
    for s in sites {
        all.entry(s.clone()).or_default();
    }
    for (site, version, m) in new {
        all.entry(site.to_string())
            .or_default()
            .insert(version.to_string(), m);
    }
    all.into_iter()
        .map(|(site, versions)| {
            let mut releases: Vec<&Manifest> = versions.values().filter(|m| m.release).collect();
            releases.sort_by(|a, b| {
                b.date
                    .cmp(&a.date)
                    .then_with(|| crate::layout::version_order(&b.version, &a.version))
            });
            SiteListing {
                site,
                releases: releases.into_iter().map(ListedVersion::of).collect(),
                unreleased: versions
                    .values()
                    .filter(|m| !m.release)
                    .map(ListedVersion::of)
                    .collect(),
            }
        })
        .collect()
}

/// Whether a rename failed because the folder cannot be moved where it is.
fn replace_refused(e: &FsError) -> bool {
    #[cfg(unix)]
    {
        matches!(
            e.source.raw_os_error(),
            Some(libc::EBUSY) | Some(libc::EXDEV) | Some(libc::EACCES) | Some(libc::EPERM)
        )
    }
    #[cfg(not(unix))]
    {
        e.source.kind() == std::io::ErrorKind::PermissionDenied
    }
}

impl OutputManifest {
    /// A manifest with the listing's released versions, before any file is added.
    fn of(listing: &[SiteListing]) -> OutputManifest {
        let mut released: Vec<String> = listing
            .iter()
            .flat_map(|s| {
                s.releases
                    .iter()
                    .map(move |v| format!("{}/{}", s.site, v.version))
            })
            .collect();
        released.sort();
        OutputManifest {
            format: 1,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            files: BTreeMap::new(),
            versions: BTreeMap::new(),
            released,
        }
    }

    fn add_files(&mut self, files: &[OutFile]) {
        for f in files {
            self.files.insert(f.path.clone(), sha256_hex(&f.bytes));
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a manifest serializes");
        bytes.push(b'\n');
        bytes
    }
}

/// The files outside version folders: `files` (portal, report, versions pages) and
/// each site's `versions.json` and `versions.js`.
fn root_files(mut files: Vec<OutFile>, listing: &[SiteListing]) -> Vec<OutFile> {
    for s in listing {
        files.extend(versions_files(s));
    }
    files
}

/// The whole tree that [`Output::commit`] writes into an empty output, in memory:
/// `new` version folders, each site's `latest/` copy, the files listing them and the
/// output's manifest, with paths relative to the output root. `procsite serve`
/// serves this, so what it shows is what a build writes.
pub fn tree_in_memory(
    new: &[VersionFolder],
    files: Vec<OutFile>,
    listing: &[SiteListing],
) -> Vec<OutFile> {
    let mut top = OutputManifest::of(listing);
    let mut tree = Vec::new();
    for v in new {
        let rel = format!("{}/{}", v.site, v.version);
        top.versions.insert(rel.clone(), manifest_hash(&v.files));
        tree.extend(v.files.iter().map(|f| OutFile {
            path: format!("{rel}/{}", f.path),
            bytes: f.bytes.clone(),
        }));
    }
    let root = root_files(files, listing);
    for s in listing {
        let Some(newest) = s.releases.first() else {
            continue;
        };
        let Some(v) = new
            .iter()
            .find(|v| v.site == s.site && v.version == newest.version)
        else {
            continue;
        };
        let latest = format!("{}/{LATEST}", s.site);
        top.versions.insert(latest.clone(), manifest_hash(&v.files));
        tree.extend(v.files.iter().map(|f| OutFile {
            path: format!("{latest}/{}", f.path),
            bytes: f.bytes.clone(),
        }));
    }
    top.add_files(&root);
    tree.extend(root);
    tree.push(OutFile {
        path: MANIFEST_FILE.to_string(),
        bytes: top.to_bytes(),
    });
    tree
}

/// The files of a site folder that list its versions.
fn versions_files(s: &SiteListing) -> Vec<OutFile> {
    let entries: Vec<VersionEntry> = s
        .releases
        .iter()
        .enumerate()
        .map(|(i, v)| VersionEntry {
            version: &v.version,
            title: &v.version,
            manifest: &v.manifest,
            date: &v.date,
            commit: &v.commit,
            aliases: if i == 0 { vec![LATEST] } else { Vec::new() },
            pages: &v.pages,
        })
        .collect();
    let json = serde_json::to_string_pretty(&entries).expect("versions serialize");
    vec![
        OutFile {
            path: format!("{}/{VERSIONS_JSON}", s.site),
            bytes: format!("{json}\n").into_bytes(),
        },
        OutFile {
            path: format!("{}/{VERSIONS_JS}", s.site),
            bytes: format!("window.PROCSITE_VERSIONS = {json};\n").into_bytes(),
        },
    ]
}

fn manifest_hash(files: &[OutFile]) -> String {
    files
        .iter()
        .find(|f| f.path == MANIFEST_FILE)
        .map_or_else(String::new, |f| sha256_hex(&f.bytes))
}

fn hash_file(path: &Path) -> FsResult<String> {
    Ok(sha256_hex(&fs::read(path)?))
}

/// Counts files staged, for the failure-injection test hook.
struct Counter {
    written: std::sync::atomic::AtomicUsize,
    /// Read once: the hook is consulted for every file staged.
    fail_after: Option<usize>,
}

impl Counter {
    fn new() -> Counter {
        Counter {
            written: Default::default(),
            fail_after: hook("PROCSITE_TEST_FAIL_AFTER_FILES").and_then(|v| v.parse().ok()),
        }
    }

    fn tick(&self, path: &Path) -> FsResult<()> {
        let before = self
            .written
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.fail_after == Some(before) {
            return Err(FsError {
                action: "cannot write",
                path: path.to_path_buf(),
                source: std::io::Error::other("failure injected by PROCSITE_TEST_FAIL_AFTER_FILES"),
            });
        }
        if before + 1 == 2 {
            kill_point("staging");
        }
        Ok(())
    }

    /// Writes `files` under `dir`; a file whose bytes are those of the same file
    /// under `unchanged_in` is linked to it instead.
    fn write_all(
        &self,
        dir: &Path,
        files: &[OutFile],
        unchanged_in: Option<&Path>,
    ) -> FsResult<()> {
        for f in files {
            let path = dir.join(&f.path);
            self.tick(&path)?;
            if let Some(old) = unchanged_in.map(|d| d.join(&f.path)) {
                if same_bytes(&old, &f.bytes) && link_new(&old, &path).is_ok() {
                    continue;
                }
            }
            write_new(&path, &f.bytes)?;
        }
        Ok(())
    }
}

/// Whether `path` is a plain file (not a link to one) holding exactly `bytes`.
fn same_bytes(path: &Path, bytes: &[u8]) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
        && std::fs::read(path).is_ok_and(|old| old == bytes)
}

/// Links `to` to the file `from`; `to` must not exist yet.
fn link_new(from: &Path, to: &Path) -> FsResult<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)?;
    }
    std::fs::hard_link(from, to).map_err(|source| FsError {
        action: "cannot link",
        path: to.to_path_buf(),
        source,
    })
}

/// Writes a file that must not exist yet. Staged files never overwrite: an existing
/// path could be a hard link to a released file (two names that one file system sees
/// as one, such as `2026.1-rc` and `2026.1-RC` on a case-insensitive disk).
fn write_new(path: &Path, bytes: &[u8]) -> FsResult<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let err = |source| FsError {
        action: "cannot write",
        path: path.to_path_buf(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(err)?;
    file.write_all(bytes).map_err(err)
}

/// Recreates `from` at `to` with hard links (released files never change), copying
/// where the file system does not link.
fn link_tree(from: &Path, to: &Path, counter: &Counter) -> FsResult<()> {
    for entry in walkdir::WalkDir::new(from).sort_by_file_name() {
        let entry = entry.map_err(|e| FsError {
            action: "cannot read",
            path: from.to_path_buf(),
            source: e.into(),
        })?;
        let rel = entry.path().strip_prefix(from).unwrap_or(entry.path());
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            fs::create_dir_all(&target)?;
        } else {
            counter.tick(&target)?;
            if std::fs::hard_link(entry.path(), &target).is_err() {
                std::fs::copy(entry.path(), &target).map_err(|source| FsError {
                    action: "cannot copy",
                    path: target.clone(),
                    source,
                })?;
            }
        }
    }
    Ok(())
}

/// Exchanges two folders atomically. `Ok(false)`: this file system cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> FsResult<bool> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    if injected("PROCSITE_TEST_NO_EXCHANGE") {
        return Ok(false);
    }
    let err = |source| FsError {
        action: "cannot move into place",
        path: b.to_path_buf(),
        source,
    };
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|e| err(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))
    };
    let (ca, cb) = (c(a)?, c(b)?);
    // SAFETY: both are valid NUL-terminated paths; renameat2 only reads them.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => Ok(false),
        _ => Err(err(e)),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> FsResult<bool> {
    Ok(false)
}

/// Removes a folder beside the output. Only procsite makes folders of these names
/// (`.<output>.procsite-next`, `-old`), and an interrupted removal may already have
/// taken the marker, so the name is what tells.
fn remove_ours(path: &Path) -> Result<(), OutputError> {
    if path.is_dir() {
        fs::remove_dir_all(path)?;
    } else {
        std::fs::remove_file(path).map_err(|source| FsError {
            action: "cannot remove",
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

/// Finishes or discards what an interrupted write left beside the output.
fn recover(root: &Path, side: &Sidecars, notes: &mut Vec<String>) -> Result<(), OutputError> {
    if !root.exists() && side.next.join(MANIFEST_FILE).is_file() && side.old.exists() {
        // Killed between the two renames: the staged tree is complete.
        fs::rename(&side.next, root)?;
        notes.push(format!(
            "{RECOVERED} finished: its new output is now in {}",
            display_path(root)
        ));
    } else if !root.exists() && side.old.exists() {
        fs::rename(&side.old, root)?;
        notes.push(format!(
            "{RECOVERED} undone: the previous output is back in {}",
            display_path(root)
        ));
    }
    for leftover in [&side.next, &side.old] {
        if leftover.exists() {
            remove_ours(leftover)?;
            notes.push(format!(
                "removed {}, left by an interrupted write",
                display_path(leftover)
            ));
        }
    }
    for name in LEGACY_LEFTOVERS {
        let p = root.join(name);
        if p.exists() && root.join(MARKER).is_file() {
            fs::remove_dir_all(&p)?;
        }
    }
    Ok(())
}

/// The identity of the output at `shown` as the file system keeps it, when no run
/// is writing it and none left anything behind (no lock, staging tree or previous
/// tree beside it); `None` otherwise, or when it is not an output.
///
/// The identity covers, for every file and folder, its path, inode, size, mode, link
/// count and modification and change times. Any write, link, removal or replacement
/// changes a change time (which no tool can set back), so an identity equal to the
/// one taken after a write proves the tree is untouched since, without reading it.
pub fn identity(shown: &Path) -> Option<String> {
    let root = shown.canonicalize().ok()?;
    let side = sidecars(&root);
    let parent = root.parent()?;
    let leftovers = LEGACY_LEFTOVERS.iter().map(|l| parent.join(l));
    if [&side.lock, &side.next, &side.old]
        .into_iter()
        .cloned()
        .chain(leftovers)
        .any(|p| p.symlink_metadata().is_ok())
    {
        return None;
    }
    output_identity(&root)
}

/// The [identity] of the output at `shown` as its writer sees it while holding its
/// lock, whatever lies beside it (the lock, the writer's own staging tree): what
/// [identity] gave when no writer held it, if the tree is unchanged since.
pub fn identity_under_lock(shown: &Path) -> Option<String> {
    output_identity(&shown.canonicalize().ok()?)
}

/// The identity of the tree at the resolved `root`, if it is an output.
fn output_identity(root: &Path) -> Option<String> {
    if !root.join(MARKER).is_file() {
        return None;
    }
    tree_identity(root).ok()
}

/// The [identity] of the tree at `root`. A change in the same tick of the file
/// system's clock as the newest change time in the tree could leave its times as
/// they were: the identity is taken once that tick is over. Change times are set by
/// the kernel's clock alone; one ahead of it (a clock set back) gives no identity.
fn tree_identity(root: &Path) -> std::io::Result<String> {
    for _ in 0..3 {
        let started = std::time::SystemTime::now();
        let (identity, newest) = identity_walk(root)?;
        // Times in whole seconds: a file system that keeps no finer ones.
        let tick = if newest
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
            == 0
        {
            std::time::Duration::from_secs(2)
        } else {
            std::time::Duration::from_millis(20)
        };
        match started.duration_since(newest) {
            Ok(past) if past >= tick => return Ok(identity),
            Ok(past) => std::thread::sleep(tick - past),
            Err(_) => break,
        }
    }
    Err(std::io::Error::other(
        "the output's change times are not settled",
    ))
}

/// `work` done on each of `items`, on as many threads of their own as there are cores
/// (never the build's pool: the page record takes the output's identity inside a
/// `OnceLock` from the build's parallel page jobs, and a pool thread waiting there for
/// work of its own could be handed another page job that waits on the same lock).
/// The results are in the order of `items`.
fn side_by_side<I: Sync, T: Send>(items: &[I], work: impl Fn(&I) -> T + Sync) -> Vec<T> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let take = || {
        let mut done = Vec::new();
        loop {
            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(item) = items.get(k) else {
                return done;
            };
            done.push((k, work(item)));
        }
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(items.len())
        .max(1);
    let mut done = std::thread::scope(|s| {
        let others: Vec<_> = (1..threads).map(|_| s.spawn(take)).collect();
        let mut done = take();
        for t in others {
            done.extend(t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        done
    });
    done.sort_by_key(|(k, _)| *k);
    done.into_iter().map(|(_, t)| t).collect()
}

/// Removes the tree at `root`, the folders at its top [`side_by_side`]: a tree of
/// 29,000 files takes half the time on two cores.
fn remove_tree(root: &Path) -> std::io::Result<()> {
    if !std::fs::symlink_metadata(root)?.is_dir() {
        return std::fs::remove_file(root);
    }
    let folders: Vec<PathBuf> = std::fs::read_dir(root)?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    // A folder that fails here is tried again below, which says why it failed.
    side_by_side(&folders, |folder| {
        let _ = std::fs::remove_dir_all(folder);
    });
    // The rest, and whatever a failure above left.
    std::fs::remove_dir_all(root)
}

/// The identity of every entry under `root`, and the newest change time among them.
/// The folders at the top are walked [`side_by_side`], each into bytes of its own,
/// which are then hashed in the order of a walk by one thread: the identity is the
/// same.
fn identity_walk(root: &Path) -> std::io::Result<(String, std::time::SystemTime)> {
    use sha2::Digest;
    let mut walked = Walked::default();
    // The root as it is (a link is a link), gone into when it leads to a folder: as
    // walkdir walks it, so identities recorded by either agree.
    walked.add(Path::new(""), &std::fs::symlink_metadata(root)?);
    if std::fs::metadata(root)?.is_dir() {
        let mut entries = std::fs::read_dir(root)?.collect::<std::io::Result<Vec<_>>>()?;
        entries.sort_by_key(std::fs::DirEntry::file_name);
        let metas = entries
            .iter()
            .map(std::fs::DirEntry::metadata)
            .collect::<std::io::Result<Vec<_>>>()?;
        let folders: Vec<usize> = (0..entries.len()).filter(|&i| metas[i].is_dir()).collect();
        let mut subtrees = side_by_side(&folders, |&i| {
            let mut subtree = Walked::default();
            let mut rel = PathBuf::from(entries[i].file_name());
            identity_of_entries(&entries[i].path(), &mut rel, &mut |r, m| subtree.add(r, m))
                .map(|()| subtree)
        })
        .into_iter();
        for (entry, meta) in entries.iter().zip(&metas) {
            walked.add(Path::new(&entry.file_name()), meta);
            if meta.is_dir() {
                let subtree = subtrees.next().expect("one walk per folder")?;
                walked.bytes.extend_from_slice(&subtree.bytes);
                walked.newest = walked.newest.max(subtree.newest);
            }
        }
    }
    let identity = format!("{:x}", sha2::Sha256::digest(&walked.bytes));
    Ok((identity, walked.newest))
}

/// What a walk found of some entries, in order: the bytes their identity hashes, and
/// the newest change time among them.
struct Walked {
    bytes: Vec<u8>,
    newest: std::time::SystemTime,
}

impl Default for Walked {
    fn default() -> Self {
        Walked {
            bytes: Vec::new(),
            newest: std::time::UNIX_EPOCH,
        }
    }
}

impl Walked {
    /// An entry at `rel` from the root: its path, a zero, and its fields.
    fn add(&mut self, rel: &Path, meta: &std::fs::Metadata) {
        self.bytes
            .extend_from_slice(rel.as_os_str().as_encoded_bytes());
        self.bytes.push(0);
        let (fields, changed) = stat_fields(meta);
        for f in fields {
            self.bytes.extend_from_slice(&f.to_le_bytes());
        }
        self.newest = self.newest.max(changed);
    }
}

/// Every entry under `dir` (at `rel` from the root), depth first, each folder's
/// entries by name: each one's path from the root and its own metadata (a link's,
/// not its target's), read beside its folder's entries, not by its path again.
fn identity_of_entries(
    dir: &Path,
    rel: &mut PathBuf,
    add: &mut impl FnMut(&Path, &std::fs::Metadata),
) -> std::io::Result<()> {
    let mut entries = std::fs::read_dir(dir)?.collect::<std::io::Result<Vec<_>>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let meta = entry.metadata()?;
        rel.push(entry.file_name());
        add(rel, &meta);
        if meta.is_dir() {
            identity_of_entries(&entry.path(), rel, add)?;
        }
        rel.pop();
    }
    Ok(())
}

/// What identifies an entry, and its change time.
#[cfg(unix)]
fn stat_fields(m: &std::fs::Metadata) -> ([i64; 9], std::time::SystemTime) {
    use std::os::unix::fs::MetadataExt;
    let changed = std::time::UNIX_EPOCH
        + std::time::Duration::new(
            m.ctime().max(0) as u64,
            m.ctime_nsec().clamp(0, 999_999_999) as u32,
        );
    (
        [
            m.dev() as i64,
            m.ino() as i64,
            m.size() as i64,
            i64::from(m.mode()),
            m.nlink() as i64,
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
        ],
        changed,
    )
}

/// Without change times, the modification time stands in for one.
#[cfg(not(unix))]
fn stat_fields(m: &std::fs::Metadata) -> ([i64; 9], std::time::SystemTime) {
    let modified = m.modified().unwrap_or(std::time::UNIX_EPOCH);
    let ns = modified
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    (
        [m.len() as i64, ns, i64::from(m.is_dir()), 0, 0, 0, 0, 0, 0],
        modified,
    )
}

/// Verifies a version folder (one whose manifest.json is a version's) or a whole
/// output (whose manifest.json lists the portal, the report and every version).
pub fn verify_any(dir: &Path) -> Result<Verification, String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a folder", display_path(dir)));
    }
    if manifest::read_manifest(dir).is_some() {
        return Ok(manifest::verify_one(dir));
    }
    verify(dir)
}

/// Verifies a whole output against its top-level manifest: the portal, the report,
/// every `versions.json`, every version folder (against its own manifest), and that
/// nothing else is there and no write was interrupted.
pub fn verify(dir: &Path) -> Result<Verification, String> {
    let mut result = Verification::default();
    let top_path = dir.join(MANIFEST_FILE);
    let top: OutputManifest = match crate::fs::read(&top_path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(m) => m,
        Err(why) => {
            if dir.is_dir() && !top_path.exists() && !dir.join(MARKER).exists() {
                return Err(format!(
                    "{} holds no {MANIFEST_FILE}: give a site version folder or an output folder",
                    display_path(dir)
                ));
            }
            result.problems.push(Problem::Unreadable {
                path: top_path,
                why: format!("the output's manifest cannot be read ({why}), so nothing outside the version folders can be verified"),
            });
            return Ok(result);
        }
    };
    let mut on_disk = manifest::files_under(dir, &mut result)?;
    on_disk.remove(MANIFEST_FILE);
    on_disk.remove(MARKER);
    for (rel, expected) in &top.files {
        match on_disk.remove(rel) {
            None => result.problems.push(Problem::Missing {
                path: dir.join(rel),
            }),
            Some(path) => manifest::check_file(&path, expected, &mut result),
        }
    }
    for (rel, expected) in &top.versions {
        let vdir = dir.join(rel);
        let prefix = format!("{rel}/");
        let inside: Vec<String> = on_disk
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in inside {
            on_disk.remove(&k);
        }
        if !vdir.join(MANIFEST_FILE).is_file() {
            result.problems.push(Problem::Missing { path: vdir });
            continue;
        }
        manifest::check_file(&vdir.join(MANIFEST_FILE), expected, &mut result);
        let before = result.versions.len();
        manifest::verify_version(&vdir, &mut result);
        if rel.ends_with(&format!("/{LATEST}")) && result.versions.len() > before {
            // A copy of a version already counted.
            result.versions.pop();
        }
    }
    for (_, path) in on_disk {
        result.problems.push(Problem::NotListed { path });
    }
    if let Ok(abs) = dir.canonicalize() {
        let side = sidecars(&abs);
        let writer = live_holder(&side.lock);
        for p in [side.next, side.old] {
            if !p.exists() {
                continue;
            }
            // A run writing now: what is in place is the output until it swaps.
            match &writer {
                Some(holder) => result.notes.push(format!(
                    "{}: a procsite run ({holder}) is writing the next output there; the output in place is what was verified",
                    display_path(&p)
                )),
                None => result.problems.push(Problem::Interrupted { path: p }),
            }
        }
    }
    result.problems.sort();
    result.problems.dedup();
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The identity of a tree is what a walk of it by path, each folder's entries by
    /// name, finds: walkdir's walk, with each entry's own metadata.
    #[cfg(unix)]
    #[test]
    fn the_identity_walk_finds_what_a_walk_by_path_finds() {
        use sha2::Digest;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("out");
        for dir in ["b/x", "a", "b/y/z", "c.d", "c"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        for (file, text) in [
            ("a/1", "one"),
            ("b/x/2", "two"),
            ("b/y/z/3", ""),
            ("c/é", "e"),
        ] {
            std::fs::write(root.join(file), text).unwrap();
        }
        std::os::unix::fs::symlink("../a", root.join("b/link")).unwrap();
        std::fs::hard_link(root.join("a/1"), root.join("c.d/1")).unwrap();
        // A name that is not UTF-8.
        use std::os::unix::ffi::OsStrExt;
        std::fs::write(root.join(std::ffi::OsStr::from_bytes(b"a/\xff")), "x").unwrap();
        let by_path_of = |root: &Path| {
            let mut hash = sha2::Sha256::new();
            let mut entries = 0;
            for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
                let entry = entry.unwrap();
                let meta = entry.metadata().unwrap();
                let rel = entry.path().strip_prefix(root).unwrap();
                hash.update(rel.as_os_str().as_encoded_bytes());
                hash.update([0]);
                for f in stat_fields(&meta).0 {
                    hash.update(f.to_le_bytes());
                }
                entries += 1;
            }
            (format!("{:x}", hash.finalize()), entries)
        };
        let by_path = || by_path_of(&root);
        let (identity, entries) = by_path();
        assert_eq!(entries, 15);
        assert_eq!(identity_walk(&root).unwrap().0, identity);
        // A changed file changes it.
        std::fs::write(root.join("b/x/2"), "Two").unwrap();
        let changed = identity_walk(&root).unwrap().0;
        assert_ne!(changed, identity);
        assert_eq!(changed, by_path().0);
        // Reached through a link, the root is the link, and what it leads to is walked.
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&root, &link).unwrap();
        let (through, entries) = by_path_of(&link);
        assert_eq!(entries, 15);
        assert_ne!(through, changed);
        assert_eq!(identity_walk(&link).unwrap().0, through);
    }

    /// A tree is removed whole, its links removed and never followed.
    #[cfg(unix)]
    #[test]
    fn a_tree_is_removed_whole_and_its_links_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("keep"), "kept").unwrap();
        let root = tmp.path().join("old");
        for dir in ["a/x", "b", "c/y/z"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        for file in ["a/x/1", "b/2", "c/y/z/3", "4"] {
            std::fs::write(root.join(file), file).unwrap();
        }
        std::os::unix::fs::symlink(&outside, root.join("b/link")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("d")).unwrap();
        remove_tree(&root).unwrap();
        assert!(!root.exists());
        assert_eq!(
            std::fs::read_to_string(outside.join("keep")).unwrap(),
            "kept"
        );
        // A link given as the tree is removed, not what it leads to.
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        remove_tree(&link).unwrap();
        assert!(link.symlink_metadata().is_err() && outside.join("keep").exists());
        assert!(remove_tree(&root).is_err());
    }

    fn file(path: &str, s: &str) -> OutFile {
        OutFile {
            path: path.into(),
            bytes: s.as_bytes().to_vec(),
        }
    }

    fn version(site: &str, v: &str, release: bool, text: &str) -> VersionFolder {
        let files = vec![file("index.html", text)];
        let info = manifest::VersionInfo {
            site,
            version: v,
            commit: None,
            dirty: false,
            date: Some(format!("2026-01-0{}", text.len() % 9 + 1)),
            release,
        };
        let mut all = files.clone();
        all.push(manifest::manifest_file(&info, &files));
        VersionFolder {
            site: site.into(),
            version: v.into(),
            files: all,
        }
    }

    /// An output of one released version, `a/1`, and a portal page.
    fn released_one() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("public");
        write(
            &root,
            vec![version("a", "1", true, "one")],
            vec![file("index.html", "p1")],
        );
        (tmp, root)
    }

    fn write(root: &Path, new: Vec<VersionFolder>, files: Vec<OutFile>) -> Written {
        let out = Output::open(root).unwrap();
        let listing = out.listing(&["a".to_string()], &new);
        out.commit(new, files, &listing).unwrap()
    }

    #[test]
    fn keeps_released_versions_replaces_previews_and_verifies() {
        let (_tmp, root) = released_one();
        write(
            &root,
            vec![version("a", "preview", false, "p")],
            vec![file("index.html", "p2")],
        );
        write(
            &root,
            vec![version("a", "preview", false, "pp")],
            vec![file("index.html", "p3")],
        );
        assert_eq!(
            std::fs::read_to_string(root.join("a/1/index.html")).unwrap(),
            "one"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("a/latest/index.html")).unwrap(),
            "one"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("a/preview/index.html")).unwrap(),
            "pp"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("index.html")).unwrap(),
            "p3"
        );
        let v = verify(&root).unwrap();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        assert_eq!(v.versions.len(), 2);
        let side = sidecars(&root.canonicalize().unwrap());
        assert!(!side.next.exists() && !side.old.exists() && !side.lock.exists());
    }

    #[test]
    fn a_folder_staged_a_few_files_at_a_time_is_the_folder_put_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let files = vec![
            file("b.html", "bee"),
            file("a.html", "ay"),
            file("sub/c.json", "{}"),
        ];
        let info = manifest::VersionInfo {
            site: "a",
            version: "preview",
            commit: Some("0123abcd"),
            dirty: false,
            date: Some("2026-01-02".into()),
            release: false,
        };
        let mut trees = Vec::new();
        for staged in [false, true] {
            let root = tmp.path().join(format!("public-{staged}"));
            let out = Output::open(&root).unwrap();
            if staged {
                let mut s = out.stage("a", "preview").unwrap();
                s.write(&files[..1]).unwrap();
                s.write(&files[1..]).unwrap();
                let manifest = manifest::manifest_of(&info, s.hashes().clone());
                s.finish(manifest).unwrap();
            } else {
                let mut all = files.clone();
                all.push(manifest::manifest_file(&info, &files));
                out.put(VersionFolder {
                    site: "a".into(),
                    version: "preview".into(),
                    files: all,
                })
                .unwrap();
            }
            let listing = out.listing(&["a".to_string()], &[]);
            out.commit(vec![], vec![file("index.html", "portal")], &listing)
                .unwrap();
            assert!(verify(&root).unwrap().problems.is_empty());
            let mut tree = BTreeMap::new();
            for e in walkdir::WalkDir::new(&root).sort_by_file_name() {
                let e = e.unwrap();
                if e.file_type().is_file() {
                    let rel = e.path().strip_prefix(&root).unwrap().to_path_buf();
                    tree.insert(rel, std::fs::read(e.path()).unwrap());
                }
            }
            trees.push(tree);
        }
        assert!(trees[0].contains_key(Path::new("a/preview/sub/c.json")));
        assert_eq!(trees[0], trees[1]);
    }

    #[test]
    fn a_folder_left_unfinished_is_removed_and_the_published_one_stays_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("public");
        write(&root, vec![version("a", "preview", false, "same")], vec![]);
        let out = Output::open(&root).unwrap();
        {
            let mut s = out.stage("a", "preview").unwrap();
            // Unchanged bytes: the staged file is a link to the published one.
            s.write(&[file("index.html", "same")]).unwrap();
            assert!(out.side.next.join("a/preview/index.html").exists());
        }
        assert!(!out.side.next.join("a/preview").exists());
        let listing = out.listing(&["a".to_string()], &[]);
        out.commit(vec![], vec![file("index.html", "portal")], &listing)
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("a/preview/index.html")).unwrap(),
            "same"
        );
        let v = verify(&root).unwrap();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
    }

    #[test]
    #[cfg(unix)]
    fn a_kept_file_is_linked_with_its_listed_hash_and_an_unlisted_one_is_read() {
        use std::os::unix::fs::MetadataExt;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("public");
        write(&root, vec![version("a", "preview", false, "same")], vec![]);
        // Not in the manifest: what the listed hash cannot vouch for is read.
        std::fs::write(root.join("a/preview/extra.html"), "extra").unwrap();
        let published = root.join("a/preview/index.html");
        let out = Output::open(&root).unwrap();
        let mut s = out.stage("a", "preview").unwrap();
        let kept = |path: &str| KeptFile {
            path: path.into(),
            at: root.join("a/preview").join(path),
            len: 0,
        };
        s.keep(&[kept("index.html"), kept("extra.html")]).unwrap();
        let hashes = s.hashes().clone();
        assert_eq!(hashes["index.html"], sha256_hex(b"same"));
        assert_eq!(hashes["extra.html"], sha256_hex(b"extra"));
        let staged = out.side.next.join("a/preview");
        let ino = |p: &Path| std::fs::metadata(p).unwrap().ino();
        assert_eq!(ino(&staged.join("index.html")), ino(&published));
        assert_eq!(std::fs::read(staged.join("extra.html")).unwrap(), b"extra");
        let missing = s.keep(&[kept("gone.html")]).unwrap_err();
        assert!(missing.to_string().contains("gone.html"), "{missing}");
    }

    #[test]
    fn folders_put_one_by_one_are_listed_and_written_by_the_commit() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("public");
        write(&root, vec![version("a", "1", true, "one")], vec![]);
        let out = Output::open(&root).unwrap();
        out.put(version("a", "2", true, "two")).unwrap();
        out.put(version("b", "preview", false, "p")).unwrap();
        // Put in the staging tree, not yet where a reader looks.
        assert!(!root.join("a/2").exists());
        let listing = out.listing(&["a".to_string(), "b".to_string()], &[]);
        let a = &listing[0];
        assert_eq!(
            a.releases
                .iter()
                .map(|v| v.version.as_str())
                .collect::<Vec<_>>(),
            ["2", "1"]
        );
        assert_eq!(listing[1].unreleased[0].version, "preview");
        out.commit(vec![], vec![file("index.html", "portal")], &listing)
            .unwrap();
        for (path, text) in [
            ("a/1/index.html", "one"),
            ("a/2/index.html", "two"),
            ("a/latest/index.html", "two"),
            ("b/preview/index.html", "p"),
        ] {
            assert_eq!(
                std::fs::read_to_string(root.join(path)).unwrap(),
                text,
                "{path}"
            );
        }
        let v = verify(&root).unwrap();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        // A released version is refused when it is put, before anything is written.
        let out = Output::open(&root).unwrap();
        for (site, v) in [("a", "../../x"), ("..", "1"), ("a", "b/c"), ("a", "")] {
            assert!(
                matches!(
                    out.put(version(site, v, false, "x")),
                    Err(OutputError::Unknown { .. })
                ),
                "{site} {v}"
            );
        }
        assert!(!tmp.path().join("x").exists());
        assert!(matches!(
            out.put(version("a", "2", true, "other")),
            Err(OutputError::Released(_))
        ));
    }

    #[test]
    fn an_output_dropped_without_a_commit_removes_what_was_put_and_changes_nothing() {
        let (_tmp, root) = released_one();
        let before = verify(&root).unwrap();
        let side = sidecars(&root.canonicalize().unwrap());
        let out = Output::open(&root).unwrap();
        out.put(version("a", "preview", false, "p")).unwrap();
        assert!(side.next.join("a/preview/index.html").is_file());
        drop(out);
        assert!(!side.next.exists() && !side.lock.exists());
        assert!(!root.join("a/preview").exists());
        let after = verify(&root).unwrap();
        assert!(after.problems.is_empty(), "{:?}", after.problems);
        assert_eq!(after.versions, before.versions);
    }

    #[test]
    fn verify_tells_a_write_under_way_from_an_interrupted_one() {
        let (_tmp, root) = released_one();
        let side = sidecars(&root.canonicalize().unwrap());
        let out = Output::open(&root).unwrap();
        out.put(version("a", "preview", false, "p")).unwrap();
        let during = verify(&root).unwrap();
        assert!(during.problems.is_empty(), "{:?}", during.problems);
        assert_eq!(during.notes.len(), 1, "{:?}", during.notes);
        let expected = format!(
            "{}: a procsite run (pid {}, started ",
            display_path(&side.next),
            std::process::id()
        );
        assert!(
            during.notes[0].starts_with(&expected),
            "{}",
            during.notes[0]
        );
        drop(out);
        // A staging tree nobody is writing is what a killed run left.
        fs::create_dir_all(&side.next.join("a")).unwrap();
        std::fs::write(&side.lock, "pid 4242\n").unwrap();
        let after = verify(&root).unwrap();
        assert!(after.notes.is_empty(), "{:?}", after.notes);
        assert_eq!(
            after.problems,
            vec![Problem::Interrupted {
                path: side.next.clone()
            }]
        );
    }

    #[test]
    fn a_staging_tree_that_cannot_be_made_fails_every_put_the_same_way() {
        let tmp = tempfile::tempdir().unwrap();
        let parent = tmp.path().join("site");
        let root = parent.join("public");
        write(&root, vec![], vec![file("index.html", "p1")]);
        let out = Output::open(&root).unwrap();
        // The folder the output and its staging tree live in becomes a file.
        std::fs::remove_dir_all(&parent).unwrap();
        std::fs::write(&parent, "not a folder").unwrap();
        let first = out.put(version("a", "preview", false, "p")).unwrap_err();
        let second = out.put(version("b", "preview", false, "p")).unwrap_err();
        let next = sidecars(&root).next;
        let expected = format!("cannot create directory {}", display_path(&next));
        assert!(first.to_string().starts_with(&expected), "{first}");
        assert_eq!(second.to_string(), first.to_string());
        drop(out);
        assert_eq!(std::fs::read_to_string(&parent).unwrap(), "not a folder");
    }

    #[test]
    fn a_released_version_is_never_rewritten() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("public");
        write(&root, vec![version("a", "1", true, "one")], vec![]);
        let out = Output::open(&root).unwrap();
        let new = vec![version("a", "1", true, "other")];
        let listing = out.listing(&[], &new);
        assert!(out.commit(new, vec![], &listing).is_err());
        assert_eq!(
            std::fs::read_to_string(root.join("a/1/index.html")).unwrap(),
            "one"
        );
    }

    #[test]
    fn refuses_a_foreign_folder_and_unknown_files() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("thesis.docx"), "mine").unwrap();
        assert!(matches!(
            Output::open(tmp.path()),
            Err(OutputError::Foreign(_))
        ));
        let root = tmp.path().join("public");
        write(&root, vec![version("a", "1", true, "one")], vec![]);
        std::fs::write(root.join("a/notes.txt"), "x").unwrap();
        assert!(matches!(
            Output::open(&root),
            Err(OutputError::Unknown { .. })
        ));
        assert_eq!(
            std::fs::read_to_string(root.join("a/notes.txt")).unwrap(),
            "x"
        );
    }

    #[test]
    fn a_second_writer_is_refused_while_the_first_holds_the_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("public");
        let first = Output::open(&root).unwrap();
        match Output::open(&root) {
            Err(OutputError::Locked { holder, .. }) => {
                assert!(
                    holder.contains(&format!("pid {}", std::process::id())),
                    "{holder}"
                )
            }
            other => panic!("expected a lock error, got {:?}", other.err()),
        }
        drop(first);
        assert!(Output::open(&root).is_ok());
    }
}

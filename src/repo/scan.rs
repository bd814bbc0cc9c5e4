//! Collects the source files a build reads — `book.toml`, `procedures/**` and
//! `themes/**` — from the work tree or straight from a commit's tree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::{Code, Diagnostic, Diagnostics};

#[derive(serde::Serialize, Debug, Clone)]
pub struct SourceFile {
    /// Relative to the repository root, e.g. `procedures/global/SOP-0020.md`.
    pub path: PathBuf,
    /// The text with line endings normalised to `\n`, so a CRLF checkout reads the same.
    pub text: String,
}

#[derive(serde::Serialize, Debug, Clone, Default)]
pub struct SourceSet {
    /// Markdown files under `procedures/`, sorted by path.
    pub files: Vec<SourceFile>,
    /// Every other file read (book.toml, themes/**), by path, as bytes.
    pub raw: BTreeMap<PathBuf, Vec<u8>>,
    /// Documents that could not be read as text (reported), so that links to them are
    /// not reported again as links to nothing.
    pub unreadable: Vec<PathBuf>,
}

use crate::layout::PROCEDURES_DIR;
pub use crate::layout::{BOOK, THEMES_DIR};

/// Whether a repository-relative path is something a build reads.
pub fn is_source(path: &Path) -> bool {
    (path == Path::new(BOOK) || path.starts_with(PROCEDURES_DIR) || path.starts_with(THEMES_DIR))
        && !is_unread_path(path)
}

/// Whether the file at `path` has a name no build reads ([`is_unread_name`]).
pub fn is_unread_path(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| is_unread_name(&n.to_string_lossy()))
}

/// Whether a file of this name is passed over wherever it is, in the work tree and in
/// a commit alike: a hidden file (`.gitkeep`, an editor's `.#lock` or `.name.swp`)
/// and the backup, auto-save and scratch files editors keep beside the file being
/// edited (`name~`, `#name#`, `name.swp`, `name.tmp`). None is a document, a template
/// or a theme's file, nor makes a work tree dirty. Only the file's own name counts:
/// the files in a hidden folder are read. A hidden file named like a document is not
/// passed over: it is reported as not read ([`misnamed_document`]).
pub fn is_unread_name(name: &str) -> bool {
    name.starts_with('.') && !is_hidden_document(name)
        || name.ends_with('~')
        || name.len() > 1 && name.starts_with('#') && name.ends_with('#')
        || [".swp", ".swx", ".tmp"].iter().any(|e| name.ends_with(e))
}

/// A hidden file named like a document, other than an editor's `.#` lock.
fn is_hidden_document(name: &str) -> bool {
    name.starts_with('.') && !name.starts_with(".#") && name.to_ascii_lowercase().ends_with(".md")
}

/// Why a file under procedures/ named like a document is not read as one, if it is
/// not: the same in the work tree and in a commit.
fn misnamed_document(rel: &Path, name: &str) -> Option<Diagnostic> {
    if is_hidden_document(name) {
        return Some(
            Diagnostic::warning(
                Code::IgnoredFile,
                rel,
                0,
                "this file is not read: its name begins with a dot, which hides it",
            )
            .help(format!("rename it to {}", name.trim_start_matches('.'))),
        );
    }
    let looks_md = name.to_ascii_lowercase().ends_with(".md");
    (looks_md && !name.ends_with(".md")).then(|| {
        Diagnostic::warning(
            Code::IgnoredFile,
            rel,
            0,
            "this file is not read: documents end in .md (lowercase)",
        )
        .help(format!("rename it to {}.md", &name[..name.len() - 3]))
    })
}

/// Whether a build reads the file at `path` (relative to the root) as a document, in
/// the work tree, in a commit and in the history alike: a hidden one it does not
/// ([`misnamed_document`] reports it).
pub fn is_markdown(path: &Path) -> bool {
    path.starts_with(PROCEDURES_DIR)
        && path.extension().is_some_and(|e| e == "md")
        && !path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// The largest document procsite reads. A long procedure is a few hundred kilobytes.
pub const MAX_DOCUMENT_BYTES: usize = 8 * 1024 * 1024;

/// 1-based line and column of a byte offset in bytes that are valid UTF-8 up to it.
fn line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    (line, col)
}

/// A document's text, or the diagnostic saying why it cannot be one.
fn document_text(path: &Path, bytes: Vec<u8>) -> Result<String, Diagnostic> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(Diagnostic::error(
            Code::UnreadableFile,
            path,
            0,
            format!(
                "the file is {:.1} MiB; a document may be at most {} MiB",
                bytes.len() as f64 / (1024.0 * 1024.0),
                MAX_DOCUMENT_BYTES / (1024 * 1024)
            ),
        )
        .help("split it into several documents, and keep images and data out of procedures/"));
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(
            Diagnostic::error(Code::UnreadableFile, path, 1, "the file is UTF-16")
                .col(1)
                .help("save the file as UTF-8"),
        );
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let (line, col) = line_col(e.as_bytes(), offset);
            return Err(Diagnostic::error(
                Code::UnreadableFile,
                path,
                line,
                format!(
                    "the file is not valid UTF-8 (byte 0x{:02X})",
                    e.as_bytes()[offset]
                ),
            )
            .col(col)
            .help("save the file as UTF-8"));
        }
    };
    if let Some(offset) = text.find('\0') {
        let (line, col) = line_col(text.as_bytes(), offset);
        return Err(Diagnostic::error(
            Code::UnreadableFile,
            path,
            line,
            "the file contains a NUL byte",
        )
        .col(col)
        .help("remove it; a NUL byte is never part of a procedure's text"));
    }
    Ok(normalize_newlines(
        text.strip_prefix('\u{FEFF}')
            .map(str::to_string)
            .unwrap_or(text),
    ))
}

impl SourceSet {
    /// Builds a source set from (path, bytes) pairs, whatever they were read from.
    pub fn from_bytes(items: Vec<(PathBuf, Vec<u8>)>, diags: &mut Diagnostics) -> SourceSet {
        let mut set = SourceSet::default();
        for (path, bytes) in items {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if let Some(d) = name
                .filter(|_| path.starts_with(PROCEDURES_DIR))
                .and_then(|n| misnamed_document(&path, &n))
            {
                diags.push(d);
                continue;
            }
            if !is_markdown(&path) {
                set.raw.insert(path, bytes);
                continue;
            }
            match document_text(&path, bytes) {
                Ok(text) => set.files.push(SourceFile { path, text }),
                Err(d) => {
                    diags.push(d);
                    set.unreadable.push(path);
                }
            }
        }
        set.files.sort_by(|a, b| a.path.cmp(&b.path));
        set
    }

    /// A raw file as text with normalised line endings.
    pub fn text(&self, path: &str) -> Option<String> {
        self.raw
            .get(Path::new(path))
            .map(|b| normalize_newlines(String::from_utf8_lossy(b).into_owned()))
    }
}

pub fn normalize_newlines(text: String) -> String {
    if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text
    }
}

/// Why a path under procedures/ that looks like a document is not read, if it is not.
fn not_a_document(rel: &Path, name: &str, kind: std::fs::FileType) -> Option<Diagnostic> {
    if kind.is_symlink() {
        return Some(
            Diagnostic::error(
                Code::NotARegularFile,
                rel,
                0,
                "this is a symbolic link; procsite reads no links",
            )
            .help("put the file itself in procedures/ (a controlled document has one home)"),
        );
    }
    if kind.is_dir() {
        return Some(
            Diagnostic::warning(
                Code::IgnoredFile,
                rel,
                0,
                "a folder named like a document is not read as one",
            )
            .help("rename the folder, or move its documents up"),
        );
    }
    if !kind.is_file() {
        return Some(
            Diagnostic::error(
                Code::NotARegularFile,
                rel,
                0,
                "this is not a regular file (a pipe or a device?)",
            )
            .help("remove it from procedures/"),
        );
    }
    misnamed_document(rel, name)
}

/// Only the work tree's book.toml, for commands that need the configuration and none
/// of the documents (reading every document to find it would be wasted).
pub fn scan_book(root: &Path, diags: &mut Diagnostics) -> SourceSet {
    let mut items = Vec::new();
    read_book(root, &mut items, diags);
    SourceSet::from_bytes(items, diags)
}

fn read_book(root: &Path, items: &mut Vec<(PathBuf, Vec<u8>)>, diags: &mut Diagnostics) {
    let book = root.join(BOOK);
    if book.is_file() {
        match crate::fs::read(&book) {
            Ok(bytes) => items.push((PathBuf::from(BOOK), bytes)),
            Err(e) => diags.push(Diagnostic::error(
                Code::UnreadableFile,
                BOOK,
                0,
                e.to_string(),
            )),
        }
    }
}

/// Reads the sources from the work tree under `root`: walked in order, the files read
/// side by side (in a process that keeps what it reads between builds, only the files
/// whose stamps changed since the last scan).
pub fn scan_work_tree(root: &Path, diags: &mut Diagnostics) -> SourceSet {
    let keeping = crate::keeps_between_builds().then_some(SETTLED);
    scan_keeping(root, diags, keeping)
}

/// [`scan_work_tree`], keeping the files settled this long before they were read for
/// the next scan, or none.
fn scan_keeping(
    root: &Path,
    diags: &mut Diagnostics,
    keeping: Option<std::time::Duration>,
) -> SourceSet {
    use rayon::prelude::*;
    /// A file to read, or what the walk found wrong.
    enum Found {
        File(PathBuf, walkdir::DirEntry),
        Wrong(Diagnostic),
    }
    let mut items = Vec::new();
    read_book(root, &mut items, diags);
    let mut found = Vec::new();
    for dir in [PROCEDURES_DIR, THEMES_DIR] {
        let dir = root.join(dir);
        if !dir.is_dir() {
            continue;
        }
        for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let path = e
                        .path()
                        .map(|p| p.strip_prefix(root).unwrap_or(p).to_path_buf())
                        .unwrap_or_default();
                    found.push(Found::Wrong(Diagnostic::error(
                        Code::UnreadableFile,
                        path,
                        0,
                        format!("cannot read: {e}"),
                    )));
                    continue;
                }
            };
            let rel = entry
                .path()
                .strip_prefix(root)
                .unwrap_or(entry.path())
                .to_path_buf();
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = entry.file_type();
            // A link or a device named like scratch is still reported below.
            let hidden_document = kind.is_file() && is_hidden_document(&name);
            if name.starts_with('.') && !hidden_document
                || kind.is_dir() && !name.ends_with(".md")
                || kind.is_file() && is_unread_name(&name)
            {
                continue;
            }
            if rel.starts_with(PROCEDURES_DIR) {
                if let Some(d) = not_a_document(&rel, &name, kind) {
                    found.push(Found::Wrong(d));
                    continue;
                }
            }
            if kind.is_file() {
                found.push(Found::File(rel, entry));
            }
        }
    }
    let kept = KeptReads::take(root, keeping);
    let read: Vec<Result<(PathBuf, Vec<u8>), Diagnostic>> = found
        .into_par_iter()
        .map(|f| match f {
            Found::Wrong(d) => Err(d),
            Found::File(rel, entry) => match kept.read(&entry, &rel) {
                Ok(bytes) => Ok((rel, bytes)),
                Err(e) => Err(Diagnostic::error(
                    Code::UnreadableFile,
                    &rel,
                    0,
                    e.to_string(),
                )),
            },
        })
        .collect();
    kept.keep();
    for r in read {
        match r {
            Ok(item) => items.push(item),
            Err(d) => diags.push(d),
        }
    }
    SourceSet::from_bytes(items, diags)
}

/// What a file's metadata says of its bytes: the same stamp, the same bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: std::time::SystemTime,
    /// When the file's metadata last changed (a write, or its time put back).
    #[cfg(unix)]
    changed: std::time::SystemTime,
    #[cfg(unix)]
    inode: (u64, u64),
}

impl FileStamp {
    /// Whether the file had not changed for `age` at `when`.
    fn settled(&self, when: std::time::SystemTime, age: std::time::Duration) -> bool {
        #[cfg(unix)]
        let last = self.modified.max(self.changed);
        #[cfg(not(unix))]
        let last = self.modified;
        when.duration_since(last).is_ok_and(|a| a >= age)
    }

    fn of(meta: &std::fs::Metadata) -> Option<FileStamp> {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Some(FileStamp {
            len: meta.len(),
            modified: meta.modified().ok()?,
            #[cfg(unix)]
            changed: std::time::UNIX_EPOCH.checked_add(std::time::Duration::new(
                u64::try_from(meta.ctime()).ok()?,
                u32::try_from(meta.ctime_nsec()).ok()?,
            ))?,
            #[cfg(unix)]
            inode: (meta.dev(), meta.ino()),
        })
    }
}

/// A file changed this long before it was read is taken as unchanged while its
/// stamp is: a file written again within the clock's tick (or a file system's
/// granularity, 2 s at worst) of its last change could keep its stamp, so a file
/// changed since less than this is always read again (as git does with a "racily
/// clean" file).
const SETTLED: std::time::Duration = std::time::Duration::from_secs(3);

/// The files a process that keeps what it reads between builds (`serve`) read last
/// time, by path, with their stamps: a file whose stamp has not changed since, and
/// that no watcher reported changed ([`forget_reads`]), is not read again.
struct KeptReads {
    /// `None` in a process that does not keep them.
    keeping: Option<Keeping>,
    now: std::sync::Mutex<Reads>,
}

/// What the last scan kept, and how it is looked up.
struct Keeping {
    /// The root as the file system names it: files are kept by their path under it,
    /// as a watcher reports them ([`forget_reads`]).
    root: PathBuf,
    before: Reads,
    /// How long before its reading a file must have last changed to be kept.
    settled: std::time::Duration,
}

type Reads = std::collections::HashMap<PathBuf, (FileStamp, Arc<Vec<u8>>)>;

fn kept_reads() -> &'static std::sync::Mutex<Reads> {
    static KEPT: std::sync::OnceLock<std::sync::Mutex<Reads>> = std::sync::OnceLock::new();
    KEPT.get_or_init(Default::default)
}

/// Lets go of what was kept of the files at these paths (as the file system names
/// them: absolute, links resolved), which a watcher reported changed: the next scan
/// reads them whatever their stamps say. Called between builds.
pub fn forget_reads<'a>(paths: impl IntoIterator<Item = &'a Path>) {
    let mut kept = kept_reads().lock().unwrap_or_else(|e| e.into_inner());
    for p in paths {
        kept.remove(p);
    }
}

/// Lets go of every file kept: when a watcher lost events.
pub fn forget_all_reads() {
    kept_reads()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
}

impl KeptReads {
    /// What the last scan of `root` kept, when files settled for `settled` are kept.
    fn take(root: &Path, settled: Option<std::time::Duration>) -> KeptReads {
        let keeping = settled.and_then(|settled| {
            Some(Keeping {
                root: root.canonicalize().ok()?,
                before: std::mem::take(
                    &mut *kept_reads().lock().unwrap_or_else(|e| e.into_inner()),
                ),
                settled,
            })
        });
        KeptReads {
            keeping,
            now: Default::default(),
        }
    }

    /// The bytes of the file at `entry` (at `rel` under the root), read, or as read
    /// last time.
    fn read(&self, entry: &walkdir::DirEntry, rel: &Path) -> crate::fs::FsResult<Vec<u8>> {
        let Some(Keeping {
            root,
            before,
            settled,
        }) = &self.keeping
        else {
            return crate::fs::read(entry.path());
        };
        let key = root.join(rel);
        let reading = std::time::SystemTime::now();
        let stamp = entry.metadata().ok().and_then(|m| FileStamp::of(&m));
        if let (Some(stamp), Some((was, bytes))) = (stamp, before.get(&key)) {
            if *was == stamp {
                let bytes = Arc::clone(bytes);
                let copy = bytes.to_vec();
                self.remember(key, stamp, bytes);
                return Ok(copy);
            }
        }
        let bytes = crate::fs::read(entry.path())?;
        let settled = stamp.filter(|s| s.settled(reading, *settled));
        // Read again unless the file had settled before it was read, and still has
        // the stamp it had then.
        if let Some(stamp) = settled {
            let after = std::fs::symlink_metadata(entry.path()).ok();
            if after.and_then(|m| FileStamp::of(&m)) == Some(stamp) {
                self.remember(key, stamp, Arc::new(bytes.clone()));
            }
        }
        Ok(bytes)
    }

    fn remember(&self, key: PathBuf, stamp: FileStamp, bytes: Arc<Vec<u8>>) {
        self.now
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, (stamp, bytes));
    }

    /// Keeps what this scan read for the next, and only that.
    fn keep(self) {
        if self.keeping.is_some() {
            *kept_reads().lock().unwrap_or_else(|e| e.into_inner()) =
                self.now.into_inner().unwrap_or_else(|e| e.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTLED_HERE: std::time::Duration = std::time::Duration::from_millis(300);

    fn text_of(root: &Path) -> String {
        let mut d = Diagnostics::new();
        let set = scan_keeping(root, &mut d, Some(SETTLED_HERE));
        assert!(d.is_empty());
        set.files[0].text.clone()
    }

    #[test]
    fn a_kept_read_serves_only_while_the_stamp_of_a_settled_file_holds_and_no_watcher_said_otherwise(
    ) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let file = root.join("procedures/global/SOP-0001.md");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        let write = |text: &str, modified: Option<std::time::SystemTime>| {
            std::fs::write(&file, text).unwrap();
            if let Some(m) = modified {
                std::fs::File::options()
                    .write(true)
                    .open(&file)
                    .unwrap()
                    .set_modified(m)
                    .unwrap();
            }
        };
        write("first\n", Some(long_ago));
        std::thread::sleep(SETTLED_HERE);
        assert_eq!(text_of(dir.path()), "first\n");
        // What is kept is what is served while the stamp holds: shown by changing it.
        {
            let mut kept = kept_reads().lock().unwrap();
            let (_, bytes) = kept.get_mut(&file).expect("a settled file is kept");
            *bytes = Arc::new(b"kept!\n".to_vec());
        }
        assert_eq!(text_of(dir.path()), "kept!\n");
        // A file a watcher reported changed is read, whatever its stamp says.
        forget_reads([file.as_path()]);
        assert_eq!(text_of(dir.path()), "first\n");
        // Rewritten with the same length and its old time put back: its change time
        // moved, so it is read, and not kept, since another write within the same
        // tick of the clock would not change its stamp.
        write("again\n", Some(long_ago));
        assert_eq!(text_of(dir.path()), "again\n");
        assert!(!kept_reads().lock().unwrap().contains_key(&file));
        write("fresh\n", None);
        assert_eq!(text_of(dir.path()), "fresh\n");
        assert!(!kept_reads().lock().unwrap().contains_key(&file));
    }
}

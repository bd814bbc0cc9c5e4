//! Collects the source files a build reads — `book.toml`, `procedures/**` and
//! `themes/**` — from the work tree or straight from a commit's tree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
    path == Path::new(BOOK) || path.starts_with(PROCEDURES_DIR) || path.starts_with(THEMES_DIR)
}

fn is_markdown(path: &Path) -> bool {
    path.starts_with(PROCEDURES_DIR) && path.extension().is_some_and(|e| e == "md")
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
    let looks_md = name.to_ascii_lowercase().ends_with(".md");
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

/// Reads the sources from the work tree under `root`.
pub fn scan_work_tree(root: &Path, diags: &mut Diagnostics) -> SourceSet {
    let mut items = Vec::new();
    read_book(root, &mut items, diags);
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
                    diags.push(Diagnostic::error(
                        Code::UnreadableFile,
                        path,
                        0,
                        format!("cannot read: {e}"),
                    ));
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
            if name.starts_with('.') || kind.is_dir() && !name.ends_with(".md") {
                continue;
            }
            if rel.starts_with(PROCEDURES_DIR) {
                if let Some(d) = not_a_document(&rel, &name, kind) {
                    diags.push(d);
                    continue;
                }
            }
            if !kind.is_file() {
                continue;
            }
            match crate::fs::read(entry.path()) {
                Ok(bytes) => items.push((rel, bytes)),
                Err(e) => diags.push(Diagnostic::error(
                    Code::UnreadableFile,
                    &rel,
                    0,
                    e.to_string(),
                )),
            }
        }
    }
    SourceSet::from_bytes(items, diags)
}

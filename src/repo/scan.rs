//! Collects the source files a build reads — `book.toml`, `procedures/**` and
//! `themes/**` — from the work tree or straight from a commit's tree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Diagnostics};

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

impl SourceSet {
    /// Builds a source set from (path, bytes) pairs, whatever they were read from.
    pub fn from_bytes(items: Vec<(PathBuf, Vec<u8>)>, diags: &mut Diagnostics) -> SourceSet {
        let mut set = SourceSet::default();
        for (path, bytes) in items {
            if !is_markdown(&path) {
                set.raw.insert(path, bytes);
                continue;
            }
            match String::from_utf8(bytes) {
                Ok(text) => set.files.push(SourceFile {
                    path,
                    text: normalize_newlines(text),
                }),
                Err(e) => diags.push(
                    Diagnostic::error(
                        &path,
                        0,
                        format!(
                            "the file is not valid UTF-8 (byte {})",
                            e.utf8_error().valid_up_to()
                        ),
                    )
                    .help("save the file as UTF-8"),
                ),
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

/// Reads the sources from the work tree under `root`.
pub fn scan_work_tree(root: &Path, diags: &mut Diagnostics) -> SourceSet {
    let mut items = Vec::new();
    let book = root.join(BOOK);
    if book.is_file() {
        match crate::fs::read(&book) {
            Ok(bytes) => items.push((PathBuf::from(BOOK), bytes)),
            Err(e) => diags.push(Diagnostic::error(BOOK, 0, e.to_string())),
        }
    }
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
                    diags.push(Diagnostic::error(path, 0, format!("cannot read: {e}")));
                    continue;
                }
            };
            if !entry.file_type().is_file() || entry.file_name().to_string_lossy().starts_with('.')
            {
                continue;
            }
            let rel = entry
                .path()
                .strip_prefix(root)
                .unwrap_or(entry.path())
                .to_path_buf();
            match crate::fs::read(entry.path()) {
                Ok(bytes) => items.push((rel, bytes)),
                Err(e) => diags.push(Diagnostic::error(&rel, 0, e.to_string())),
            }
        }
    }
    SourceSet::from_bytes(items, diags)
}

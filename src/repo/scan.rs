//! Collects the source files a build reads, sorted by path.

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Diagnostics};

#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Relative to the repository root, e.g. `procedures/global/SOP-0020.md`.
    pub path: PathBuf,
    /// The text with line endings normalised to `\n`, so a CRLF checkout reads the same.
    pub text: String,
}

#[derive(Debug, Clone, Default)]
pub struct SourceSet {
    pub files: Vec<SourceFile>,
}

impl SourceSet {
    /// Builds a source set from (path, bytes) pairs, whatever they were read from.
    pub fn from_bytes(items: Vec<(PathBuf, Vec<u8>)>, diags: &mut Diagnostics) -> SourceSet {
        let mut files = Vec::new();
        for (path, bytes) in items {
            match String::from_utf8(bytes) {
                Ok(text) => files.push(SourceFile {
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
        files.sort_by(|a, b| a.path.cmp(&b.path));
        SourceSet { files }
    }
}

pub fn normalize_newlines(text: String) -> String {
    if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text
    }
}

/// Reads `procedures/**` from the work tree under `root`.
pub fn scan_work_tree(root: &Path, diags: &mut Diagnostics) -> SourceSet {
    let dir = root.join(crate::parse::PROCEDURES_DIR);
    if !dir.is_dir() {
        diags.push(
            Diagnostic::error(crate::parse::PROCEDURES_DIR, 0, "there is no procedures/ folder")
                .help("create procedures/global/ for global documents and procedures/sites/<site>/ for site addenda"),
        );
        return SourceSet::default();
    }
    let mut items = Vec::new();
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
        if !entry.file_type().is_file() || entry.file_name().to_string_lossy().starts_with('.') {
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
    SourceSet::from_bytes(items, diags)
}

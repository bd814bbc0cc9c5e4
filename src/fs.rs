//! The small filesystem layer: every I/O error names the path it concerns.

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("{action} {}: {source}", crate::diag::display_path(path))]
pub struct FsError {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

pub type FsResult<T> = Result<T, FsError>;

fn wrap<T>(action: &'static str, path: &Path, r: io::Result<T>) -> FsResult<T> {
    r.map_err(|source| FsError {
        action,
        path: path.to_path_buf(),
        source,
    })
}

pub fn read(path: &Path) -> FsResult<Vec<u8>> {
    wrap("cannot read", path, std::fs::read(path))
}

pub fn read_to_string(path: &Path) -> FsResult<String> {
    wrap("cannot read", path, std::fs::read_to_string(path))
}

pub fn write(path: &Path, bytes: &[u8]) -> FsResult<()> {
    if let Some(parent) = path.parent() {
        create_dir_all(parent)?;
    }
    wrap("cannot write", path, std::fs::write(path, bytes))
}

/// Writes `bytes` beside `path` and renames them into place, creating its folder: a
/// reader never sees half a file. For records a build may do without: `false` when
/// it could not be written (nothing is left behind).
pub fn write_aside(path: &Path, bytes: &[u8]) -> bool {
    let part = path.with_extension(format!("part-{}", std::process::id()));
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&part, bytes))
        .and_then(|()| std::fs::rename(&part, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    written.is_ok()
}

pub fn create_dir_all(path: &Path) -> FsResult<()> {
    wrap(
        "cannot create directory",
        path,
        std::fs::create_dir_all(path),
    )
}

pub fn remove_dir_all(path: &Path) -> FsResult<()> {
    wrap("cannot remove", path, std::fs::remove_dir_all(path))
}

pub fn rename(from: &Path, to: &Path) -> FsResult<()> {
    wrap("cannot move into place", to, std::fs::rename(from, to))
}

pub fn read_dir_names(path: &Path) -> FsResult<Vec<String>> {
    let mut names = Vec::new();
    for entry in wrap("cannot list", path, std::fs::read_dir(path))? {
        let entry = wrap("cannot list", path, entry)?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// The names of the entries of `dir`, sorted.
#[cfg(test)]
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

//! Writing output safely: everything is written into a staging folder inside the
//! output root, then renamed into place. A build that fails leaves the previous
//! output as it was, and procsite never deletes a folder it did not create.

use std::path::{Path, PathBuf};

use crate::fs::{self, FsError, FsResult};
use crate::render::OutFile;

/// Marks an output root as procsite's own.
pub const MARKER: &str = ".procsite";
const STAGING: &str = ".procsite-staging";
const OLD: &str = ".procsite-old";

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{} exists and was not created by procsite (it has no {MARKER} file); refusing to write into it", crate::diag::display_path(.0))]
    Foreign(PathBuf),
    #[error(transparent)]
    Fs(#[from] FsError),
}

/// A folder of output replaced as a whole, e.g. `cork/preview`.
pub struct Unit {
    pub dir: String,
    pub files: Vec<OutFile>,
}

/// Makes sure `root` is ours: creates it, adopts an empty folder, or refuses a
/// folder with someone else's files.
pub fn claim_root(root: &Path) -> Result<(), WriteError> {
    if root.join(MARKER).is_file() {
        return Ok(());
    }
    if root.exists() {
        if !fs::read_dir_names(root)?.is_empty() {
            return Err(WriteError::Foreign(root.to_path_buf()));
        }
    } else {
        fs::create_dir_all(root)?;
    }
    fs::write(
        &root.join(MARKER),
        b"This folder is written by procsite. Its contents are replaced on each build.\n",
    )?;
    Ok(())
}

/// Test hook: fail as if the disk filled up after this many files were staged
/// (`PROCSITE_TEST_FAIL_AFTER_FILES=N`), to prove a failed write changes nothing.
const FAIL_AFTER: &str = "PROCSITE_TEST_FAIL_AFTER_FILES";

fn write_files(dir: &Path, files: &[OutFile], written: &mut usize) -> FsResult<()> {
    let fail_after: Option<usize> = std::env::var(FAIL_AFTER).ok().and_then(|v| v.parse().ok());
    for f in files {
        let path = dir.join(&f.path);
        if fail_after == Some(*written) {
            return Err(FsError {
                action: "cannot write",
                path,
                source: std::io::Error::other(format!("failure injected by {FAIL_AFTER}")),
            });
        }
        fs::write(&path, &f.bytes)?;
        *written += 1;
    }
    Ok(())
}

/// Writes `units` (each replacing its folder) and `root_files` (each replacing one
/// file at the root) into `root`.
pub fn publish(root: &Path, units: &[Unit], root_files: &[OutFile]) -> Result<(), WriteError> {
    claim_root(root)?;
    let staging = root.join(STAGING);
    let old = root.join(OLD);
    for leftover in [&staging, &old] {
        if leftover.exists() {
            fs::remove_dir_all(leftover)?;
        }
    }
    let mut written = 0;
    let staged = (|| -> FsResult<()> {
        for unit in units {
            write_files(&staging.join(&unit.dir), &unit.files, &mut written)?;
        }
        write_files(&staging.join("_root"), root_files, &mut written)
    })();
    if let Err(e) = staged {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e.into());
    }

    // Swap each unit into place; on failure put back what was moved aside.
    let mut swapped: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
    let result = (|| -> FsResult<()> {
        for (i, unit) in units.iter().enumerate() {
            let target = root.join(&unit.dir);
            let aside = if target.exists() {
                let aside = old.join(i.to_string());
                fs::create_dir_all(&old)?;
                fs::rename(&target, &aside)?;
                Some(aside)
            } else {
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent)?;
                }
                None
            };
            swapped.push((target.clone(), aside));
            fs::rename(&staging.join(&unit.dir), &target)?;
        }
        for f in root_files {
            let target = root.join(&f.path);
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::rename(&staging.join("_root").join(&f.path), &target)?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        for (target, aside) in swapped.into_iter().rev() {
            if let Some(aside) = aside {
                if target.exists() {
                    let _ = std::fs::remove_dir_all(&target);
                }
                let _ = std::fs::rename(&aside, &target);
            }
        }
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e.into());
    }
    for leftover in [&staging, &old] {
        if leftover.exists() {
            fs::remove_dir_all(leftover)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, s: &str) -> OutFile {
        OutFile {
            path: path.into(),
            bytes: s.as_bytes().to_vec(),
        }
    }

    #[test]
    fn replaces_units_and_keeps_others() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("public");
        publish(
            &root,
            &[Unit {
                dir: "a/v".into(),
                files: vec![file("x.html", "1"), file("old.html", "o")],
            }],
            &[file("index.html", "i1")],
        )
        .unwrap();
        publish(
            &root,
            &[Unit {
                dir: "b/v".into(),
                files: vec![file("y.html", "2")],
            }],
            &[],
        )
        .unwrap();
        publish(
            &root,
            &[Unit {
                dir: "a/v".into(),
                files: vec![file("x.html", "3")],
            }],
            &[file("index.html", "i2")],
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("a/v/x.html")).unwrap(),
            "3"
        );
        assert!(!root.join("a/v/old.html").exists());
        assert_eq!(
            std::fs::read_to_string(root.join("b/v/y.html")).unwrap(),
            "2"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("index.html")).unwrap(),
            "i2"
        );
        assert!(!root.join(STAGING).exists() && !root.join(OLD).exists());
    }

    #[test]
    fn refuses_a_foreign_folder() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("thesis.docx"), "mine").unwrap();
        let err = publish(tmp.path(), &[], &[]).unwrap_err();
        assert!(matches!(err, WriteError::Foreign(_)));
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("thesis.docx")).unwrap(),
            "mine"
        );
    }
}

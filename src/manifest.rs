//! Integrity of published output: `manifest.json` lists the SHA-256 of every file of a
//! site version, and `verify` checks a version or a whole output tree against it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::diag::display_path;
use crate::layout::OutFile;

pub use crate::layout::MANIFEST_FILE;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The manifest format; bumped if its meaning ever changes.
    pub format: u32,
    pub site: String,
    pub version: String,
    /// The commit the version was built from, when built from git.
    pub commit: Option<String>,
    /// The work tree had uncommitted changes.
    pub dirty: bool,
    /// The version's as-of date.
    pub date: Option<String>,
    /// Built in release mode: an immutable, published version.
    pub release: bool,
    pub tool_version: String,
    /// Path inside the version folder → SHA-256, hex. The manifest itself is not listed.
    pub files: BTreeMap<String, String>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// SHA-256 of a sequence of fields, each hashed after its length, so that no two
/// different sequences hash the same bytes (hash a list's count before its items).
#[derive(Default)]
pub struct FieldHash(Sha256);

impl FieldHash {
    pub fn field(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }

    /// The digest as lowercase hex, as [`sha256_hex`] writes it.
    pub fn finish_hex(self) -> String {
        format!("{:x}", self.0.finalize())
    }
}

/// Feeds `value` as JSON to `h`, a block at a time: serde_json writes a value in
/// pieces of a few bytes, each of which would otherwise be a call into the hasher.
pub fn hash_json(h: &mut Sha256, value: &impl serde::Serialize) -> Option<()> {
    use std::io::Write;
    let mut w = std::io::BufWriter::with_capacity(16 * 1024, h);
    serde_json::to_writer(&mut w, value).ok()?;
    w.flush().ok()
}

/// The manifest file of a rendered site version.
pub struct VersionInfo<'a> {
    pub site: &'a str,
    pub version: &'a str,
    pub commit: Option<&'a str>,
    pub dirty: bool,
    pub date: Option<String>,
    pub release: bool,
}

pub fn manifest_file(v: &VersionInfo, files: &[OutFile]) -> OutFile {
    manifest_file_after(v, files, None)
}

/// [`manifest_file`], taking the SHA-256 of a file from `before` (an earlier version
/// folder of the same site, with its manifest) where the file there has the same
/// bytes: comparing bytes is many times faster than hashing them.
pub fn manifest_file_after(
    v: &VersionInfo,
    files: &[OutFile],
    before: Option<&[OutFile]>,
) -> OutFile {
    use rayon::prelude::*;
    let known: HashMap<&str, (&[u8], String)> = before
        .and_then(|before| {
            let manifest = before.iter().find(|f| f.path == MANIFEST_FILE)?;
            let mut listed = serde_json::from_slice::<Manifest>(&manifest.bytes)
                .ok()?
                .files;
            Some(
                before
                    .iter()
                    .filter_map(|f| {
                        let hash = listed.remove(&f.path)?;
                        Some((f.path.as_str(), (f.bytes.as_slice(), hash)))
                    })
                    .collect(),
            )
        })
        .unwrap_or_default();
    let hashes: Vec<String> = files
        .par_iter()
        .map(|f| match known.get(f.path.as_str()) {
            Some((bytes, hash)) if *bytes == f.bytes.as_slice() => hash.clone(),
            _ => sha256_hex(&f.bytes),
        })
        .collect();
    let paths = files.iter().map(|f| f.path.clone());
    manifest_of(v, paths.zip(hashes).collect())
}

/// The manifest of a version folder whose files have these SHA-256s (path → hex).
pub fn manifest_of(v: &VersionInfo, files: BTreeMap<String, String>) -> OutFile {
    let manifest = Manifest {
        format: 1,
        site: v.site.to_string(),
        version: v.version.to_string(),
        commit: v.commit.map(str::to_string),
        dirty: v.dirty,
        date: v.date.clone(),
        release: v.release,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        files,
    };
    let mut bytes = serde_json::to_vec_pretty(&manifest).expect("a manifest serializes");
    bytes.push(b'\n');
    OutFile {
        path: MANIFEST_FILE.into(),
        bytes,
    }
}

/// Reads the manifest of a version folder, if it has a readable one.
pub fn read_manifest(dir: &Path) -> Option<Manifest> {
    let bytes = std::fs::read(dir.join(MANIFEST_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// What verification found wrong with one file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    Changed {
        path: PathBuf,
        expected: String,
        found: String,
    },
    Missing {
        path: PathBuf,
    },
    Extra {
        path: PathBuf,
    },
    /// On disk in an output, but in no manifest: a leftover, or added by hand.
    NotListed {
        path: PathBuf,
    },
    /// A symbolic link or other special file, which procsite never writes.
    NotAFile {
        path: PathBuf,
    },
    /// A version folder whose manifest names another site or version.
    Misplaced {
        path: PathBuf,
        names: String,
    },
    /// A folder an interrupted write left beside the output.
    Interrupted {
        path: PathBuf,
    },
    /// The manifest itself cannot be read.
    Unreadable {
        path: PathBuf,
        why: String,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Changed {
                path,
                expected,
                found,
            } => write!(
                f,
                "{}: changed (manifest SHA-256 {}…, file {}…)",
                display_path(path),
                &expected[..expected.len().min(12)],
                &found[..found.len().min(12)]
            ),
            Problem::Missing { path } => write!(f, "{}: missing", display_path(path)),
            Problem::Extra { path } => {
                write!(f, "{}: extra file, not in the manifest", display_path(path))
            }
            Problem::NotListed { path } => write!(
                f,
                "{}: not in the output's manifest (a leftover, or added by hand)",
                display_path(path)
            ),
            Problem::NotAFile { path } => write!(
                f,
                "{}: not a regular file (a symbolic link?); procsite writes none",
                display_path(path)
            ),
            Problem::Misplaced { path, names } => write!(
                f,
                "{}: its manifest is that of {names}; a version folder was copied or renamed",
                display_path(path)
            ),
            Problem::Interrupted { path } => write!(
                f,
                "{}: left by an interrupted write; run procsite build or publish on this output to finish it",
                display_path(path)
            ),
            Problem::Unreadable { path, why } => write!(f, "{}: {why}", display_path(path)),
        }
    }
}

/// The outcome of verifying a folder.
#[derive(Debug, Default)]
pub struct Verification {
    /// Version folders checked, with the number of files each lists.
    pub versions: Vec<(PathBuf, usize)>,
    pub problems: Vec<Problem>,
    /// What is worth saying but is no problem: a run writing beside the output.
    pub notes: Vec<String>,
}

/// Every regular file under `dir`, by relative path. Anything else procsite never
/// writes (a symbolic link, a device, a socket) is a problem of its own, since its
/// target is not what the manifest hashed.
pub fn files_under(
    dir: &Path,
    result: &mut Verification,
) -> Result<BTreeMap<String, PathBuf>, String> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| e.to_string())?;
        let kind = entry.file_type();
        if !kind.is_file() && !kind.is_dir() {
            result.problems.push(Problem::NotAFile {
                path: entry.path().to_path_buf(),
            });
            continue;
        }
        if kind.is_file() {
            let rel = entry.path().strip_prefix(dir).map_err(|e| e.to_string())?;
            out.insert(
                rel.to_string_lossy().replace('\\', "/"),
                entry.path().to_path_buf(),
            );
        }
    }
    Ok(out)
}

/// Checks one file against the SHA-256 a manifest lists for it.
pub fn check_file(path: &Path, expected: &str, result: &mut Verification) {
    match crate::fs::read(path) {
        Ok(bytes) => {
            let found = sha256_hex(&bytes);
            if found != expected {
                result.problems.push(Problem::Changed {
                    path: path.to_path_buf(),
                    expected: expected.to_string(),
                    found,
                });
            }
        }
        Err(e) => result.problems.push(Problem::Unreadable {
            path: path.to_path_buf(),
            why: e.to_string(),
        }),
    }
}

/// Checks one version folder against its manifest.
pub fn verify_version(dir: &Path, result: &mut Verification) {
    let manifest_path = dir.join(MANIFEST_FILE);
    let manifest: Manifest = match crate::fs::read(&manifest_path)
        .map_err(|e| e.to_string())
        .and_then(|b| {
            serde_json::from_slice(&b).map_err(|e| format!("not a procsite manifest: {e}"))
        }) {
        Ok(m) => m,
        Err(why) => {
            result.problems.push(Problem::Unreadable {
                path: manifest_path,
                why,
            });
            return;
        }
    };
    // Inside an output, a version folder sits at <site>/<version> (or <site>/latest).
    if let (Some(name), Some(site)) = (
        dir.file_name().and_then(|n| n.to_str()),
        dir.parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str()),
    ) {
        let in_output = dir
            .parent()
            .and_then(Path::parent)
            .is_some_and(|root| root.join(crate::layout::MARKER).is_file());
        if in_output
            && (site != manifest.site
                || (name != manifest.version && name != crate::layout::LATEST))
        {
            result.problems.push(Problem::Misplaced {
                path: dir.to_path_buf(),
                names: format!("{}/{}", manifest.site, manifest.version),
            });
        }
    }
    let mut on_disk = match files_under(dir, result) {
        Ok(f) => f,
        Err(why) => {
            result.problems.push(Problem::Unreadable {
                path: dir.to_path_buf(),
                why,
            });
            return;
        }
    };
    on_disk.remove(MANIFEST_FILE);
    for (rel, expected) in &manifest.files {
        match on_disk.remove(rel) {
            None => result.problems.push(Problem::Missing {
                path: dir.join(rel),
            }),
            Some(path) => check_file(&path, expected, result),
        }
    }
    for (_, path) in on_disk {
        result.problems.push(Problem::Extra { path });
    }
    result
        .versions
        .push((dir.to_path_buf(), manifest.files.len()));
}

/// Verifies one version folder against its manifest.
pub fn verify_one(dir: &Path) -> Verification {
    let mut result = Verification::default();
    verify_version(dir, &mut result);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> OutFile {
        OutFile {
            path: path.into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    fn listed(manifest: &OutFile) -> BTreeMap<String, String> {
        serde_json::from_slice::<Manifest>(&manifest.bytes)
            .unwrap()
            .files
    }

    /// A file with the bytes it had before keeps the hash the earlier manifest lists;
    /// any other is hashed.
    #[test]
    fn a_manifest_takes_the_hashes_of_unchanged_files_from_the_one_before() {
        let v = VersionInfo {
            site: "cork",
            version: "preview",
            commit: None,
            dirty: true,
            date: None,
            release: false,
        };
        let files = vec![
            file("a.html", "A"),
            file("b.html", "B"),
            file("c.html", "C"),
        ];
        let first = manifest_file(&v, &files);
        assert_eq!(listed(&first)["a.html"], sha256_hex(b"A"));
        assert_eq!(manifest_file_after(&v, &files, None).bytes, first.bytes);
        // An earlier manifest that lists a hash for the same bytes is believed: the
        // hash is taken, not made again (here a wrong one, to tell the two apart).
        let mut before = files.clone();
        let mut wrong = listed(&first);
        wrong.insert("a.html".into(), "taken".into());
        before.push(manifest_of(&v, wrong));
        let now = vec![
            file("a.html", "A"),
            file("b.html", "B2"),
            file("d.html", "D"),
        ];
        let after = listed(&manifest_file_after(&v, &now, Some(&before)));
        assert_eq!(after["a.html"], "taken");
        assert_eq!(after["b.html"], sha256_hex(b"B2"));
        assert_eq!(after["d.html"], sha256_hex(b"D"));
        assert!(!after.contains_key("c.html"));
        // Without a manifest before, every file is hashed.
        let after = listed(&manifest_file_after(&v, &now, Some(&files)));
        assert_eq!(after["a.html"], sha256_hex(b"A"));
    }
}

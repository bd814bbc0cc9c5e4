//! `procsite verify DIR --source REPO`: every released version in an output, rebuilt
//! from its release tag and compared byte for byte. Builds are deterministic, so a
//! published version that still matches its source is exactly what the tag holds; a
//! copy whose pages and manifests were both edited fails here, where checking the
//! manifests alone cannot see it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::build;
use crate::diag::display_path;
use crate::layout::MANIFEST_FILE;
use crate::manifest::Manifest;

/// What the rebuild found.
#[derive(Debug, Default)]
pub struct Rebuilt {
    /// `<site>/<folder>` of every released version compared, `latest` included.
    pub compared: Vec<String>,
    pub files: usize,
    /// One line per difference, naming the file.
    pub problems: Vec<String>,
}

/// The released version folders of an output: (site, folder name, manifest).
fn released_folders(out: &Path) -> Result<Vec<(String, String, Manifest)>, String> {
    let mut found = Vec::new();
    let sites =
        std::fs::read_dir(out).map_err(|e| format!("cannot read {}: {e}", display_path(out)))?;
    let mut sites: Vec<PathBuf> = sites
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    sites.sort();
    for site_dir in sites {
        let Ok(entries) = std::fs::read_dir(&site_dir) else {
            continue;
        };
        let mut dirs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for dir in dirs {
            let Some(m) = crate::manifest::read_manifest(&dir) else {
                continue;
            };
            if !m.release {
                continue;
            }
            let name = |p: &Path| {
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            };
            found.push((name(&site_dir), name(&dir), m));
        }
    }
    Ok(found)
}

/// Rebuilds every released version under `out` from `source` and compares.
pub fn verify_source(out: &Path, source: &Path) -> Result<Rebuilt, String> {
    let folders = released_folders(out)?;
    if folders.is_empty() {
        return Err(format!(
            "{} holds no released version to rebuild",
            display_path(out)
        ));
    }
    let mut d = crate::diag::Diagnostics::new();
    let sources = crate::repo::scan::scan_book(source, &mut d);
    let config = crate::config::load(&sources)
        .map_err(|_| format!("cannot read book.toml in {}", display_path(source)))?;
    let git = crate::repo::git::GitRepo::open(source)
        .ok_or_else(|| format!("{} is not a git repository", display_path(source)))?;
    let mut result = Rebuilt::default();
    // Each version is rebuilt once, for all its sites.
    let mut cache: BTreeMap<String, Option<build::Rendered>> = BTreeMap::new();
    for (site, folder, m) in &folders {
        let label = format!("{site}/{folder}");
        result.compared.push(label.clone());
        let tag = config.build.release_tags.replace('*', &m.version);
        let tag_commit = git
            .resolve(Some(&tag))
            .ok()
            .flatten()
            .map(|o| o.to_string());
        match (&tag_commit, &m.commit) {
            (None, _) => {
                result.problems.push(format!(
                    "{label}: release tag {tag} is not in {} (deleted, or another repository)",
                    display_path(source)
                ));
                continue;
            }
            (Some(now), Some(was)) if now != was => {
                result.problems.push(format!("{label}: release tag {tag} now names commit {now}, but this version was built from commit {was}"));
                continue;
            }
            _ => {}
        }
        let rendered = cache.entry(m.version.clone()).or_insert_with(|| {
            let r = build::render(&build::release_request(source, &tag, &m.version));
            (!r.diags.has_errors()).then_some(r)
        });
        let Some(rendered) = rendered.as_ref() else {
            result.problems.push(format!("{label}: release tag {tag} no longer builds (procsite check --release --ref {tag} says why)"));
            continue;
        };
        let Some((_, files)) = rendered.sites.iter().find(|(s, _)| s == site) else {
            result.problems.push(format!(
                "{label}: release tag {tag} does not build site {site}"
            ));
            continue;
        };
        let fresh = crate::publish::folder_of(rendered, site, files.clone(), None);
        let dir = out.join(site).join(folder);
        // latest/ is a copy of its version, manifest included, so it compares the same.
        let expected: BTreeMap<&str, &[u8]> = fresh
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.bytes.as_slice()))
            .collect();
        let mut ignored = crate::manifest::Verification::default();
        let on_disk = crate::manifest::files_under(&dir, &mut ignored)?;
        for (path, bytes) in &expected {
            result.files += 1;
            match std::fs::read(dir.join(path)) {
                Ok(b) if b == *bytes => {}
                Ok(_) => result
                    .problems
                    .push(format!("{label}/{path}: differs from the rebuild of {tag}")),
                Err(_) => result.problems.push(format!(
                    "{label}/{path}: missing (the rebuild of {tag} has it)"
                )),
            }
        }
        for path in on_disk.keys() {
            if !expected.contains_key(path.as_str()) && path != MANIFEST_FILE {
                result
                    .problems
                    .push(format!("{label}/{path}: not in the rebuild of {tag}"));
            }
        }
    }
    Ok(result)
}

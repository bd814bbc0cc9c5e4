//! `procsite export`: a complete electronic copy of one site version, readable by
//! people and machines without procsite — the composed Markdown of every document
//! (whose SHA-256 is the content hash its page shows), every document's metadata,
//! history and approvals, the changes since the previous version, and a manifest of
//! them all that `procsite verify` checks.

use std::path::{Path, PathBuf};

use crate::build::{self, BuildOptions};
use crate::diag::{display_path, Code, Diagnostic, Diagnostics};
use crate::layout::{OutFile, HISTORY_FILE, PREVIEW};

/// The folder of the composed documents inside an export.
pub const DOCUMENTS_DIR: &str = "documents";

/// What an export wrote.
#[derive(Debug)]
pub struct Exported {
    pub site: String,
    pub version: String,
    pub documents: usize,
    pub files: usize,
    /// SHA-256 of the export's manifest.json.
    pub manifest_sha256: String,
}

fn error(code: Code, file: impl AsRef<Path>, msg: String, help: &str) -> Diagnostics {
    let mut d = Diagnostics::new();
    d.push(Diagnostic::error(code, file.as_ref(), 0, msg).help(help));
    d
}

/// The build request for `version` of the repository at `root`: a release tag by
/// version name, the newest release when none is given, or the work tree's preview.
fn request(root: &Path, version: Option<&str>) -> Result<BuildOptions, Diagnostics> {
    if version == Some(PREVIEW) {
        return Ok(BuildOptions {
            root: root.to_path_buf(),
            ..Default::default()
        });
    }
    let mut d = Diagnostics::new();
    let sources = crate::repo::scan::scan_book(root, &mut d);
    let config = crate::config::load(&sources)?;
    let git = crate::repo::git::GitRepo::open(root).ok_or_else(|| {
        error(
            Code::Git,
            root,
            "not a git repository: there are no released versions to export".into(),
            "export the uncontrolled work tree with --version preview",
        )
    })?;
    let tags: Vec<String> = git
        .release_tags(&config.build.release_tags)
        .map_err(|e| error(Code::Git, ".git", e, "check the repository"))?
        .into_iter()
        .map(|(name, _, _)| name)
        .filter(|t| !config.release.withdrawn.contains_key(t))
        .collect();
    let tag = match version {
        Some(v) => {
            let tag = config.build.release_tags.replace('*', v);
            if !tags.contains(&tag) {
                let names: Vec<String> = tags
                    .iter()
                    .map(|t| crate::repo::git::version_of_tag(t, &config.build.release_tags))
                    .collect();
                return Err(error(
                    Code::Argument,
                    "--version",
                    format!(
                        "there is no release tag {tag} for version {v}{}",
                        crate::diag::did_you_mean(v, names.iter().map(String::as_str))
                    ),
                    "give a released version (procsite publish lists them on each site's versions page), or --version preview for the work tree",
                ));
            }
            tag
        }
        None => tags.last().cloned().ok_or_else(|| {
            error(
                Code::Argument,
                "--version",
                format!(
                    "no release tag matches '{}': there is no released version to export",
                    config.build.release_tags
                ),
                "tag a release, or export the uncontrolled work tree with --version preview",
            )
        })?,
    };
    let v = crate::repo::git::version_of_tag(&tag, &config.build.release_tags);
    Ok(build::release_request(root, &tag, &v))
}

/// Writes the export of `site` at `version` into `dir`, which must not exist or be
/// empty: an export never overwrites anything.
pub fn export(
    root: &Path,
    site: &str,
    version: Option<&str>,
    dir: &Path,
) -> Result<Exported, Diagnostics> {
    let occupied = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
    if occupied || (dir.exists() && !dir.is_dir()) {
        return Err(error(
            Code::Output,
            dir,
            format!(
                "{} is not empty: an export never overwrites",
                display_path(dir)
            ),
            "give a new folder",
        ));
    }
    let mut req = request(root, version)?;
    req.sites = vec![site.to_string()];
    let rendered = build::render(&req);
    if rendered.diags.has_errors() {
        return Err(rendered.diags);
    }
    let (Some(files), Some(cells)) = (
        rendered
            .sites
            .iter()
            .find(|(s, _)| s == site)
            .map(|(_, f)| f),
        rendered.cells.get(site),
    ) else {
        return Err(rendered.diags);
    };
    let mut out: Vec<OutFile> = Vec::new();
    for (id, text) in &cells.texts {
        out.push(OutFile {
            path: format!("{DOCUMENTS_DIR}/{id}.md"),
            bytes: text.markdown.as_bytes().to_vec(),
        });
    }
    let documents = out.len();
    for name in [HISTORY_FILE, "changes.json"] {
        if let Some(f) = files.iter().find(|f| f.path == name) {
            out.push(f.clone());
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    let build = &rendered.info;
    let manifest = crate::manifest::manifest_file(
        &crate::manifest::VersionInfo {
            site,
            version: &rendered.plan.version,
            commit: build.commit.as_ref().map(|c| c.id.as_str()),
            dirty: build.dirty,
            date: rendered.plan.as_of.map(|d| d.to_string()),
            release: rendered.plan.release,
        },
        &out,
    );
    let manifest_sha256 = crate::manifest::sha256_hex(&manifest.bytes);
    out.push(manifest);
    for f in &out {
        let path: PathBuf = dir.join(&f.path);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, &f.bytes));
        if let Err(e) = written {
            return Err(error(
                Code::Output,
                &path,
                format!("cannot write {}: {e}", display_path(&path)),
                "check the folder's permissions and free space",
            ));
        }
    }
    Ok(Exported {
        site: site.to_string(),
        version: rendered.plan.version.clone(),
        documents,
        files: out.len(),
        manifest_sha256,
    })
}

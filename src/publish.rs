//! `procsite publish`: every release tag not yet in the output is built from git
//! objects in release mode, in tag order; versions already published are verified
//! against their manifests and never rewritten; then each site's `versions.json`,
//! `versions.js` and `latest/` and the portal are updated, all in one staged write.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::build::{self, BuildOptions};
use crate::diag::{display_path, Diagnostic, Diagnostics};
use crate::manifest::{self, Manifest};
use crate::render::{self, OutFile};
use crate::repo::{git::GitRepo, scan};
use crate::write::{self, Unit};

pub const LATEST: &str = "latest";

/// Versions sort by date, then name.
type VersionKey = (Option<String>, String);

#[derive(Debug, Clone, Serialize)]
pub struct VersionEntry {
    pub version: String,
    pub title: String,
    pub date: Option<String>,
    pub commit: Option<String>,
    pub aliases: Vec<String>,
    /// The pages of the version, so the switcher can fall back to the index.
    pub pages: Vec<String>,
}

#[derive(Debug)]
pub struct PublishSummary {
    pub out: PathBuf,
    /// (tag, version) built by this run.
    pub built: Vec<(String, String)>,
    /// Versions already published and verified.
    pub verified: usize,
    pub diags: Diagnostics,
}

/// Each site's published texts, by document id.
type SiteTexts = BTreeMap<String, BTreeMap<String, crate::report::DocText>>;

/// What a published version's sites published, rebuilt in memory from its tag.
fn published_texts(root: &Path, tag: &str, version: &str, when: i64) -> Option<SiteTexts> {
    let r = build::render(&BuildOptions {
        root: root.to_path_buf(),
        refname: Some(tag.to_string()),
        release: true,
        version: Some(version.to_string()),
        as_of: Some(crate::stamp::commit_date(when, 0)),
        ..Default::default()
    });
    (!r.diags.has_errors()).then(|| r.cells.into_iter().map(|(s, c)| (s, c.texts)).collect())
}

fn fail(diags: &mut Diagnostics, path: impl Into<PathBuf>, msg: String, help: &str) {
    diags.push(Diagnostic::error(path, 0, msg).help(help));
}

/// The files of a folder, by relative path, for copying a version into `latest/`.
fn read_tree(dir: &Path) -> Result<Vec<OutFile>, String> {
    let mut files = Vec::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.map_err(|e| e.to_string())?;
        if e.file_type().is_file() {
            let rel = e.path().strip_prefix(dir).map_err(|e| e.to_string())?;
            let bytes = crate::fs::read(e.path()).map_err(|e| e.to_string())?;
            files.push(OutFile {
                path: rel.to_string_lossy().replace('\\', "/"),
                bytes,
            });
        }
    }
    Ok(files)
}

pub fn publish(root: &Path, out: Option<PathBuf>) -> Result<PublishSummary, Diagnostics> {
    let mut diags = Diagnostics::new();
    let Some(git) = GitRepo::open(root) else {
        fail(
            &mut diags,
            ".",
            format!("{} is not in a git repository", display_path(root)),
            "publish reads release tags from git",
        );
        return Err(diags);
    };
    let sources = scan::scan_work_tree(root, &mut diags);
    let config = crate::config::load(&sources)?;
    let out = out.unwrap_or_else(|| root.join(&config.build.output));
    let tags = match git.release_tags(&config.build.release_tags) {
        Ok(t) => t,
        Err(e) => {
            fail(
                &mut diags,
                crate::config::CONFIG_FILE,
                e,
                "fix [build] release-tags",
            );
            return Err(diags);
        }
    };
    if tags.is_empty() {
        fail(
            &mut diags,
            ".git",
            format!(
                "no tag matches release-tags '{}'",
                config.build.release_tags
            ),
            "tag the commit to release, e.g. git tag release/2026.1",
        );
        return Err(diags);
    }

    let mut units: Vec<Unit> = Vec::new();
    let mut built = Vec::new();
    let mut verified = 0;
    // The texts each site published in the previous version, for `changes.html`.
    let mut previous: Option<(String, String, i64)> = None;
    let mut previous_texts: Option<(String, SiteTexts)> = None;
    for (tag, _, when) in &tags {
        let prev = previous.replace((
            tag.clone(),
            crate::repo::git::version_of_tag(tag, &config.build.release_tags),
            *when,
        ));
        let version = crate::repo::git::version_of_tag(tag, &config.build.release_tags);
        let existing: Vec<&String> = config
            .site
            .keys()
            .filter(|s| out.join(s).join(&version).is_dir())
            .collect();
        for site in &existing {
            let dir = out.join(site).join(&version);
            let v = manifest::verify_one(&dir);
            if v.problems.is_empty() {
                verified += 1;
            }
            for p in v.problems {
                fail(&mut diags, &dir, format!("published version {version} has changed: {p}"), "restore the released files (procsite verify lists them); they are never rewritten");
            }
        }
        if existing.len() == config.site.len() {
            continue;
        }
        let opts = BuildOptions {
            root: root.to_path_buf(),
            refname: Some(tag.clone()),
            release: true,
            version: Some(version.clone()),
            // The release tag's date is the version's as-of date.
            as_of: Some(crate::stamp::commit_date(*when, 0)),
            ..Default::default()
        };
        let rendered = build::render(&opts);
        let before = prev.and_then(|(ptag, pversion, pwhen)| {
            let texts = match previous_texts.take() {
                Some((t, texts)) if t == ptag => texts,
                _ => published_texts(root, &ptag, &pversion, pwhen)?,
            };
            Some((pversion, texts))
        });
        previous_texts = Some((
            tag.clone(),
            rendered
                .cells
                .iter()
                .map(|(s, c)| (s.clone(), c.texts.clone()))
                .collect(),
        ));
        for d in rendered.diags.into_sorted() {
            let mut d = d;
            d.message = format!("[{tag}] {}", d.message);
            diags.push(d);
        }
        let as_of = build::as_of(&opts, &rendered.info);
        let date = as_of.map(|d| d.to_string());
        let view = build::build_view(&version, &rendered.info, true, as_of);
        for (site, mut files) in rendered.sites {
            if out.join(&site).join(&version).is_dir() {
                continue;
            }
            if let (Some((pversion, texts)), Some(theme), Some(site_config)) =
                (&before, &rendered.theme, config.site.get(&site))
            {
                let current = rendered
                    .cells
                    .get(&site)
                    .map(|c| c.texts.clone())
                    .unwrap_or_default();
                let old = texts.get(&site).cloned().unwrap_or_default();
                let (added, removed, revised) = render::changes_between(&old, &current);
                let changes = render::context::ChangesView {
                    book: render::book_view(&config),
                    site: render::context::SiteView {
                        id: site.clone(),
                        name: site_config.name.clone(),
                        markets: site_config.markets.clone(),
                    },
                    build: view.clone(),
                    previous: Some(pversion.clone()),
                    added,
                    removed,
                    revised,
                    portal_href: "../../index.html".into(),
                };
                if let Some(file) = render::render_changes(theme, &changes, &mut diags) {
                    files.retain(|f| f.path != file.path);
                    files.push(file);
                    files.sort_by(|a, b| a.path.cmp(&b.path));
                }
            }
            units.push(build::version_unit(
                &site,
                &version,
                &rendered.info,
                date.clone(),
                true,
                files,
            ));
        }
        built.push((tag.clone(), version));
    }
    if diags.has_errors() {
        return Err(diags);
    }

    // Every site's published versions, newest first, and its latest copy.
    let mut root_files = Vec::new();
    let theme_line = config.line_of_in_table("[build]", "theme");
    let Some(theme) = render::theme::load(&sources, &config.build.theme, theme_line, &mut diags)
    else {
        return Err(diags);
    };
    let mut portal_sites = Vec::new();
    for (site, site_config) in &config.site {
        let mut versions: BTreeMap<VersionKey, (Manifest, Option<Vec<OutFile>>)> = BTreeMap::new();
        if let Ok(names) = crate::fs::read_dir_names(&out.join(site)) {
            for name in names.iter().filter(|n| *n != LATEST) {
                if let Some(m) =
                    manifest::read_manifest(&out.join(site).join(name)).filter(|m| m.release)
                {
                    versions.insert((m.date.clone(), m.version.clone()), (m, None));
                }
            }
        }
        for u in units
            .iter()
            .filter(|u| u.dir.starts_with(&format!("{site}/")))
        {
            if let Some(m) = u
                .files
                .iter()
                .find(|f| f.path == manifest::MANIFEST_FILE)
                .and_then(|f| serde_json::from_slice::<Manifest>(&f.bytes).ok())
            {
                versions.insert(
                    (m.date.clone(), m.version.clone()),
                    (m, Some(u.files.clone())),
                );
            }
        }
        let Some(((_, newest), (_, newest_files))) = versions.iter().next_back() else {
            continue;
        };
        let files = match newest_files {
            Some(f) => f.clone(),
            None => match read_tree(&out.join(site).join(newest)) {
                Ok(f) => f,
                Err(e) => {
                    fail(
                        &mut diags,
                        out.join(site).join(newest),
                        e,
                        "check the output folder",
                    );
                    return Err(diags);
                }
            },
        };
        let latest_unit = Unit {
            dir: format!("{site}/{LATEST}"),
            files,
        };
        let entries: Vec<VersionEntry> = versions
            .values()
            .rev()
            .enumerate()
            .map(|(i, (m, _))| VersionEntry {
                version: m.version.clone(),
                title: m.version.clone(),
                date: m.date.clone(),
                commit: m.commit.clone(),
                aliases: if i == 0 {
                    vec![LATEST.to_string()]
                } else {
                    Vec::new()
                },
                pages: m
                    .files
                    .keys()
                    .filter(|f| f.ends_with(".html") && !f.contains('/'))
                    .cloned()
                    .collect(),
            })
            .collect();
        let json = serde_json::to_string_pretty(&entries).expect("versions serialize");
        root_files.push(OutFile {
            path: format!("{site}/versions.json"),
            bytes: format!("{json}\n").into_bytes(),
        });
        root_files.push(OutFile {
            path: format!("{site}/versions.js"),
            bytes: format!("window.PROCSITE_VERSIONS = {json};\n").into_bytes(),
        });
        portal_sites.push(render::context::PortalSite {
            id: site.clone(),
            name: site_config.name.clone(),
            markets: site_config.markets.clone(),
            version: newest.clone(),
            href: format!("{site}/{LATEST}/index.html"),
        });
        units.push(latest_unit);
    }
    let view = build::build_view(
        portal_sites.first().map_or("", |s| s.version.as_str()),
        &crate::repo::BuildInfo::default(),
        true,
        None,
    );
    let Some(portal) = render::render_portal(&config, &theme, portal_sites, &view, &mut diags)
    else {
        return Err(diags);
    };
    root_files.push(portal);
    if let Err(e) = write::publish(&out, &units, &root_files) {
        fail(
            &mut diags,
            &out,
            e.to_string(),
            "nothing was changed; fix the cause and publish again",
        );
        return Err(diags);
    }
    Ok(PublishSummary {
        out,
        built,
        verified,
        diags,
    })
}

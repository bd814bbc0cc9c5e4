//! The pipeline: sources → config → parse → validate → stamp → compose and render
//! per site → write.

use std::path::PathBuf;

use crate::config::{self, Config};
use crate::diag::{Diagnostic, Diagnostics};
use crate::inforce;
use crate::manifest;
use crate::parse;
use crate::release;
use crate::render::{self, context::BuildView, theme, OutFile};
use crate::repo::{self, BuildInfo};
use crate::site;
use crate::stamp::{self, Stamps};
use crate::write;

use rayon::prelude::*;

pub const PREVIEW_VERSION: &str = "preview";

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The repository root (where book.toml is).
    pub root: PathBuf,
    /// Overrides `[build] output`; relative paths are taken from the current directory.
    pub out: Option<PathBuf>,
    /// Sites to build; empty means every site.
    pub sites: Vec<String>,
    pub version: Option<String>,
    /// Build this commit or tag from git objects instead of the work tree.
    pub refname: Option<String>,
    /// A controlled release: refuse anything a release must not contain.
    pub release: bool,
    /// The build's as-of date; default: the built commit's date.
    pub as_of: Option<crate::model::Date>,
}

/// What a run produced: the diagnostics, and the rendered sites when there were no errors.
pub struct Rendered {
    pub config: Option<Config>,
    pub theme: Option<theme::Theme>,
    pub info: BuildInfo,
    pub version: String,
    pub sites: Vec<(String, Vec<OutFile>)>,
    pub diags: Diagnostics,
    /// How long each phase took, for the benchmark.
    pub timings: Vec<(&'static str, std::time::Duration)>,
    /// Each rendered site's harmonization cells.
    pub cells: std::collections::BTreeMap<String, crate::report::SiteCells>,
    /// Every document's title, for the report.
    pub titles: std::collections::BTreeMap<String, String>,
}

#[derive(Debug)]
pub struct BuildSummary {
    pub out: PathBuf,
    pub version: String,
    pub info: BuildInfo,
    pub sites: Vec<(String, usize)>,
    pub diags: Diagnostics,
}

fn check_version_name(v: &str, diags: &mut Diagnostics) {
    let ok = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && !v.starts_with('.')
        && v != "latest";
    if !ok {
        diags.push(
            Diagnostic::error("--version", 0, format!("'{v}' cannot be a version name"))
                .help("use letters, digits, '.', '-' and '_', e.g. 2026.1; 'latest' is reserved"),
        );
    }
}

/// The build's one date: `--as-of`, else the built commit's date; never the clock.
pub fn as_of(opts: &BuildOptions, info: &BuildInfo) -> Option<crate::model::Date> {
    opts.as_of.or_else(|| {
        info.commit
            .as_deref()
            .map(|c| stamp::commit_date(c.commit_time, c.commit_offset))
    })
}

pub fn build_view(
    version: &str,
    info: &BuildInfo,
    release: bool,
    as_of: Option<crate::model::Date>,
) -> BuildView {
    let commit = info.commit.as_deref();
    BuildView {
        version: version.to_string(),
        preview: !release,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        commit: commit.map(|c| c.id.clone()),
        commit_short: commit.map(|c| c.short().to_string()),
        as_of: as_of.map(|d| d.to_string()),
        dirty: info.dirty,
        git: info.git,
        shallow: info.shallow,
        refname: info.refname.clone(),
    }
}

/// The version named by the release tags among `tags` (the highest, if several).
pub fn release_version(tags: &[String], glob: &str) -> Option<String> {
    let re = repo::git::glob_regex(glob).ok()?;
    tags.iter()
        .filter(|t| re.is_match(t))
        .map(|t| repo::git::version_of_tag(t, glob))
        .max()
}

/// Loads, checks, stamps and renders the selected sites, all in memory.
pub fn render(opts: &BuildOptions) -> Rendered {
    let mut diags = Diagnostics::new();
    let version = opts
        .version
        .clone()
        .unwrap_or_else(|| PREVIEW_VERSION.to_string());
    let mut rendered = Rendered {
        config: None,
        theme: None,
        info: BuildInfo::default(),
        version,
        sites: Vec::new(),
        diags: Diagnostics::new(),
        timings: Vec::new(),
        cells: Default::default(),
        titles: Default::default(),
    };
    let mut clock = std::time::Instant::now();
    let mut lap = |rendered: &mut Rendered, phase: &'static str| {
        rendered.timings.push((phase, clock.elapsed()));
        clock = std::time::Instant::now();
    };
    let Some(source) = repo::read(&opts.root, opts.refname.as_deref(), &mut diags) else {
        rendered.diags = diags;
        return rendered;
    };
    rendered.info = source.info.clone();
    lap(&mut rendered, "read sources and walk history");
    let config = match config::load(&source.sources) {
        Ok(c) => c,
        Err(d) => {
            diags.extend(d.into_sorted());
            rendered.diags = diags;
            return rendered;
        }
    };
    if opts.version.is_none() && opts.release && !source.info.dirty {
        // Released from a commit carrying a release tag: that release's version.
        // Previews stay `preview`, so they never collide with a released version.
        if let Some(v) = release_version(&source.info.tags, &config.build.release_tags) {
            rendered.version = v;
        }
    }
    check_version_name(&rendered.version, &mut diags);
    if source.sources.files.is_empty() {
        diags.push(
            Diagnostic::error(parse::PROCEDURES_DIR, 0, "there are no documents in procedures/")
                .help("add global documents under procedures/global/ and site files under procedures/sites/<site>/"),
        );
    }
    if source.info.shallow {
        diags.push(
            Diagnostic::warning(".git", 0, "this is a shallow clone: revisions, changes and approval evidence are incomplete")
                .help("fetch the whole history (git fetch --unshallow; in CI, a checkout with fetch-depth 0)"),
        );
    }
    let mut corpus = parse::parse_corpus(&source.sources, &config, &mut diags);
    site::validate(&corpus, &config, &mut diags);
    if !corpus.unreadable.is_empty() {
        // Composing without those files would report errors they cause elsewhere
        // (links, anchors) as if they were real: stop at the files themselves.
        report_skipped(&mut diags, corpus.unreadable.len());
        rendered.config = Some(config);
        rendered.diags = diags;
        return rendered;
    }
    lap(&mut rendered, "parse and validate");
    let stamps = stamp_corpus(&corpus, &source, &config);
    stamp::report(&corpus, &stamps, opts.release, &mut diags);
    release::check_tool_version(&config, opts.release, &mut diags);
    if let Some(t) = as_of(opts, &source.info) {
        site::check_reviews(&corpus, t, &mut diags);
    }
    release::check_evidence(&corpus, &stamps, &config, opts.release, &mut diags);
    if opts.release {
        release::check_source(&source.info, &mut diags);
    }
    inforce::apply(
        &mut corpus,
        &source.history,
        &stamps,
        as_of(opts, &source.info),
        opts.release,
        &config,
        &mut diags,
    );
    if opts.release {
        release::check_unreleased(&corpus, &stamps, &mut diags);
    }
    lap(&mut rendered, "stamp");

    for s in &opts.sites {
        if !config.site.contains_key(s) {
            diags.push(
                Diagnostic::error(
                    "--site",
                    0,
                    format!(
                        "there is no site '{s}'{}",
                        crate::diag::did_you_mean(s, config.site.keys().map(String::as_str))
                    ),
                )
                .help(format!(
                    "sites in book.toml: {}",
                    config.site.keys().cloned().collect::<Vec<_>>().join(", ")
                )),
            );
        }
    }
    let theme_line = config.line_of_in_table("[build]", "theme");
    let Some(theme) = theme::load(&source.sources, &config.build.theme, theme_line, &mut diags)
    else {
        rendered.config = Some(config);
        rendered.diags = diags;
        return rendered;
    };
    let build = build_view(
        &rendered.version,
        &source.info,
        opts.release,
        as_of(opts, &source.info),
    );
    let shared = render::Shared::new(&corpus);
    let ids: Vec<&String> = config
        .site
        .keys()
        .filter(|id| opts.sites.is_empty() || opts.sites.contains(id))
        .collect();
    let sites: Vec<(
        String,
        (Vec<OutFile>, crate::report::SiteCells),
        Diagnostics,
    )> = ids
        .par_iter()
        .map(|id| {
            let mut d = Diagnostics::new();
            let plan = site::plan(&corpus, &config, id, opts.release, &mut d);
            let files = render::render_site(
                &plan, &corpus, &config, &theme, &build, &stamps, &shared, &mut d,
            );
            (id.to_string(), files, d)
        })
        .collect();
    for (id, (files, cells), d) in sites {
        diags.extend(d.into_sorted());
        rendered.sites.push((id.clone(), files));
        rendered.cells.insert(id, cells);
    }
    rendered.titles = corpus
        .documents
        .iter()
        .map(|d| (d.meta.id.clone(), d.meta.title.clone()))
        .collect();
    lap(&mut rendered, "compose and render");
    rendered.config = Some(config);
    rendered.theme = Some(theme);
    rendered.diags = diags;
    rendered
}

/// Says that composing and link checks were skipped because of unreadable files.
fn report_skipped(diags: &mut Diagnostics, files: usize) {
    diags.push(
        Diagnostic::warning(
            parse::PROCEDURES_DIR,
            0,
            format!("{files} file(s) could not be read; sites were not composed, so links and anchors were not checked"),
        )
        .help("fix the front-matter errors above, then run again"),
    );
}

fn stamp_corpus(corpus: &parse::Corpus, source: &repo::Source, config: &Config) -> Stamps {
    let texts: std::collections::BTreeMap<&std::path::Path, &str> = source
        .sources
        .files
        .iter()
        .map(|f| (f.path.as_path(), f.text.as_str()))
        .collect();
    let files = corpus
        .documents
        .iter()
        .map(|d| (d.path.as_path(), d.meta.approvals.as_slice()))
        .chain(
            corpus
                .addenda
                .iter()
                .map(|a| (a.path.as_path(), a.meta.approvals.as_slice())),
        )
        .map(|(p, approvals)| (p, texts.get(p).copied().unwrap_or_default(), approvals));
    let files = stamp::stamp_all(&source.history, config, files);
    let by_id: std::collections::BTreeMap<&str, &std::path::Path> = corpus
        .documents
        .iter()
        .map(|d| (d.meta.id.as_str(), d.path.as_path()))
        .collect();
    let stale_addenda = corpus
        .addenda
        .iter()
        .filter(|a| {
            let global = by_id
                .get(a.meta.addendum_to.as_str())
                .and_then(|p| files.get(*p));
            match (global, files.get(a.path.as_path())) {
                (Some(g), Some(s)) => {
                    stamp::addendum_is_stale(&source.history, g, s, a.meta.base_revision)
                }
                _ => false,
            }
        })
        .map(|a| a.path.as_ref().clone())
        .collect();
    Stamps {
        files,
        incomplete: !source.info.git || source.info.shallow,
        git: source.info.git,
        stale_addenda,
    }
}

/// Validates every site without writing anything.
pub fn check(opts: &BuildOptions) -> Diagnostics {
    render(&BuildOptions {
        sites: Vec::new(),
        ..opts.clone()
    })
    .diags
}

/// A site's rendered files as a version folder, with its manifest.
pub fn version_unit(
    site: &str,
    version: &str,
    info: &BuildInfo,
    date: Option<String>,
    release: bool,
    mut files: Vec<OutFile>,
) -> write::Unit {
    let v = manifest::VersionInfo {
        site,
        version,
        commit: info.commit.as_ref().map(|c| c.id.as_str()),
        dirty: info.dirty,
        date,
        release,
    };
    let manifest = manifest::manifest_file(&v, &files);
    files.push(manifest);
    write::Unit {
        dir: format!("{site}/{version}"),
        files,
    }
}

/// Whether a unit holds exactly the files a manifest lists, with the same bytes.
fn same_files(m: &manifest::Manifest, unit: &write::Unit) -> bool {
    let fresh: std::collections::BTreeMap<&str, String> = unit
        .files
        .iter()
        .filter(|f| f.path != manifest::MANIFEST_FILE)
        .map(|f| {
            (
                f.path.as_str(),
                format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&f.bytes)),
            )
        })
        .collect();
    fresh.len() == m.files.len() && fresh.iter().all(|(k, v)| m.files.get(*k) == Some(v))
}

/// Builds and writes. With any error, nothing is written and the diagnostics come back.
pub fn build(opts: &BuildOptions) -> Result<BuildSummary, Diagnostics> {
    let rendered = render(opts);
    let mut diags = rendered.diags;
    if opts.release && rendered.version == PREVIEW_VERSION {
        diags.push(
            Diagnostic::error("--release", 0, "a release needs a version").help(
                "tag the commit with a release tag ([build] release-tags) or pass --version V",
            ),
        );
    }
    let (config, theme) = match (rendered.config, rendered.theme) {
        (Some(c), Some(t)) if !diags.has_errors() => (c, t),
        _ => return Err(diags),
    };
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| opts.root.join(&config.build.output));
    let version = rendered.version;
    let summary_sites = rendered
        .sites
        .iter()
        .map(|(id, f)| {
            (
                id.clone(),
                f.iter().filter(|f| f.path.ends_with(".html")).count(),
            )
        })
        .collect();
    let built: Vec<String> = rendered.sites.iter().map(|(id, _)| id.clone()).collect();
    let date = as_of(opts, &rendered.info).map(|d| d.to_string());
    let mut units: Vec<write::Unit> = Vec::new();
    for (id, files) in rendered.sites {
        let unit = version_unit(
            &id,
            &version,
            &rendered.info,
            date.clone(),
            opts.release,
            files,
        );
        // A released version is never rewritten: building it again must give the same bytes.
        let dir = out.join(&unit.dir);
        match manifest::read_manifest(&dir) {
            Some(m) if m.release => {
                if manifest::verify_one(&dir).problems.is_empty() && same_files(&m, &unit) {
                    continue;
                }
                diags.push(
                    Diagnostic::error(
                        &dir,
                        0,
                        format!("version {version} of site {id} is released and would change"),
                    )
                    .help("released versions are immutable: build under a new version name"),
                );
                return Err(diags);
            }
            _ => units.push(unit),
        }
    }
    let portal_sites = config
        .site
        .iter()
        .map(|(id, s)| {
            let exists =
                built.contains(id) || out.join(id).join(&version).join("index.html").is_file();
            render::context::PortalSite {
                id: id.clone(),
                name: s.name.clone(),
                markets: s.markets.clone(),
                version: version.clone(),
                href: if exists {
                    format!("{id}/{version}/index.html")
                } else {
                    String::new()
                },
            }
        })
        .collect();
    let build = build_view(
        &version,
        &rendered.info,
        opts.release,
        as_of(opts, &rendered.info),
    );
    let Some(portal) = render::render_portal(&config, &theme, portal_sites, &build, &mut diags)
    else {
        return Err(diags);
    };
    let report = crate::report::assemble(&config, &rendered.cells, &rendered.titles);
    let Some(mut root_files) = render::render_report(&config, &theme, &build, report, &mut diags)
    else {
        return Err(diags);
    };
    root_files.push(portal);
    if let Err(e) = write::publish(&out, &units, &root_files) {
        diags.push(Diagnostic::error(&out, 0, e.to_string()).help(
            "choose another folder with --out, or remove the folder if it holds nothing of value",
        ));
        return Err(diags);
    }
    Ok(BuildSummary {
        out,
        version,
        info: rendered.info,
        sites: summary_sites,
        diags,
    })
}

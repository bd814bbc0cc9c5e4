//! The pipeline in memory: sources → config → parse → validate → stamp → compose
//! every site → render the selected sites. Writing is `publish`'s.

use std::collections::BTreeMap;
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

use rayon::prelude::*;

pub const PREVIEW_VERSION: &str = crate::layout::PREVIEW;

/// Each site's published texts, by document id.
pub type SiteTexts = BTreeMap<String, BTreeMap<String, crate::report::DocText>>;

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
    /// The build's as-of date; default: the release tag's date in a release of a
    /// tagged commit, else the built commit's date.
    pub as_of: Option<crate::model::Date>,
    /// Stop after composing: texts and report cells, no HTML.
    pub no_html: bool,
    /// The previous version's name and texts, when the caller has them already.
    pub previous: Option<(String, SiteTexts)>,
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
    /// The release tag this build publishes, when it is a release of a tagged commit.
    pub tag: Option<String>,
    /// The as-of date of the build.
    pub as_of: Option<crate::model::Date>,
}

fn check_version_name(v: &str, release: bool, diags: &mut Diagnostics) {
    let why = crate::layout::reserved_version(v).or_else(|| {
        (release && v == PREVIEW_VERSION)
            .then(|| "'preview' is the folder of uncontrolled previews".to_string())
    });
    if let Some(why) = why {
        diags.push(
            Diagnostic::error("--version", 0, format!("'{v}' cannot be a version name")).help(why),
        );
    }
}

/// The build's one date: `--as-of`, else the release tag's date, else the built
/// commit's date; never the clock.
fn as_of(
    opts: &BuildOptions,
    info: &BuildInfo,
    tag: Option<&(String, String, i64)>,
) -> Option<crate::model::Date> {
    opts.as_of
        .or_else(|| tag.map(|(_, _, when)| stamp::commit_date(*when, 0)))
        .or_else(|| {
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

/// The release tag at the built commit that names this release: the one of the
/// version asked for, else the highest. (tag, version, date)
fn release_tag(
    tags: &[(String, i64)],
    glob: &str,
    version: Option<&str>,
) -> Option<(String, String, i64)> {
    let re = repo::git::glob_regex(glob).ok()?;
    tags.iter()
        .filter(|(t, _)| re.is_match(t))
        .map(|(t, when)| (t.clone(), repo::git::version_of_tag(t, glob), *when))
        .filter(|(_, v, _)| version.is_none_or(|want| want == v))
        .max_by(|a, b| a.1.cmp(&b.1))
}

/// The texts of the version published before this release: the nearest earlier
/// release tag that is not withdrawn and composes without errors.
fn previous_texts(
    opts: &BuildOptions,
    config: &Config,
    commit_time: i64,
    tag: Option<&str>,
) -> Option<(String, SiteTexts)> {
    let git = repo::git::GitRepo::open(&opts.root)?;
    let tags = git.release_tags(&config.build.release_tags).ok()?;
    let end = match tag {
        Some(t) => tags.iter().position(|(n, _, _)| n == t)?,
        None => tags
            .iter()
            .filter(|(_, _, when)| *when <= commit_time)
            .count(),
    };
    tags[..end]
        .iter()
        .rev()
        .filter(|(t, _, _)| !config.release.withdrawn.contains_key(t))
        .find_map(|(t, _, when)| {
            let version = repo::git::version_of_tag(t, &config.build.release_tags);
            let r = render(&BuildOptions {
                root: opts.root.clone(),
                refname: Some(t.clone()),
                release: true,
                version: Some(version.clone()),
                as_of: Some(stamp::commit_date(*when, 0)),
                no_html: true,
                ..Default::default()
            });
            (!r.diags.has_errors()).then(|| {
                (
                    version,
                    r.cells.into_iter().map(|(s, c)| (s, c.texts)).collect(),
                )
            })
        })
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
        tag: None,
        as_of: None,
    };
    let mut clock = std::time::Instant::now();
    let mut lap = |rendered: &mut Rendered, phase: &'static str| {
        rendered.timings.push((phase, clock.elapsed()));
        clock = std::time::Instant::now();
    };
    let Some(source) = repo::read(
        &opts.root,
        opts.refname.as_deref(),
        crate::lenient::identity,
        &mut diags,
    ) else {
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
    // A release of a commit carrying a release tag is that release: its version, its
    // date and its name in the footer, whether built by `build --release` or `publish`.
    // Previews stay `preview`, so they never collide with a released version.
    let tag = (opts.release && !source.info.dirty)
        .then(|| {
            release_tag(
                &source.info.tags,
                &config.build.release_tags,
                opts.version.as_deref(),
            )
        })
        .flatten();
    if let Some((name, version, _)) = &tag {
        rendered.version = version.clone();
        rendered.info.refname = Some(name.clone());
        rendered.tag = Some(name.clone());
    }
    let as_of = as_of(opts, &source.info, tag.as_ref());
    rendered.as_of = as_of;
    check_version_name(&rendered.version, opts.release, &mut diags);
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
    let corpus = parse::parse_corpus(&source.sources, &config, &mut diags);
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
    if let Some(t) = as_of {
        site::check_reviews(&corpus, t, &mut diags);
    }
    release::check_evidence(&corpus, &stamps, &config, opts.release, &mut diags);
    if opts.release {
        release::check_source(&source.info, &mut diags);
    }
    let in_force = inforce::select(
        &corpus,
        &source.history,
        &stamps,
        as_of,
        opts.release,
        &config,
        &mut diags,
    );
    if opts.release {
        release::check_unreleased(&corpus, &in_force, &stamps, &mut diags);
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
    let build = build_view(&rendered.version, &rendered.info, opts.release, as_of);
    // The version this release follows, for changes.html.
    let previous = match (&opts.previous, opts.release && !opts.no_html) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => previous_texts(
            opts,
            &config,
            source.info.commit.as_ref().map_or(0, |c| c.commit_time),
            rendered.tag.as_deref(),
        ),
        _ => None,
    };
    let shared = render::Shared::new(&corpus, &in_force);
    let ids: Vec<&String> = config.site.keys().collect();
    // Every site is composed (the report spans them all); the selected ones are
    // rendered. A site's own problems are reported by the build that renders it.
    let sites: Vec<(
        String,
        Option<Vec<OutFile>>,
        crate::report::SiteCells,
        Diagnostics,
    )> = ids
        .par_iter()
        .map(|id| {
            let mut d = Diagnostics::new();
            let selected = opts.sites.is_empty() || opts.sites.contains(id);
            let plan = site::plan(&corpus, &in_force, &config, id, opts.release, &mut d);
            let (docs, cells) = compose_site(&plan, &stamps, &mut d);
            let files = (selected && !opts.no_html).then(|| {
                let before = previous
                    .as_ref()
                    .map(|(v, texts)| (v.as_str(), texts.get(*id).cloned().unwrap_or_default()));
                render::render_site(
                    &plan,
                    &docs,
                    &cells,
                    before.as_ref().map(|(v, t)| (*v, t)),
                    &corpus,
                    &config,
                    &theme,
                    &build,
                    &stamps,
                    &shared,
                    &mut d,
                )
            });
            if !selected {
                d = Diagnostics::new();
            }
            (id.to_string(), files, cells, d)
        })
        .collect();
    for (id, files, cells, d) in sites {
        diags.extend(d.into_sorted());
        if let Some(files) = files {
            rendered.sites.push((id.clone(), files));
        }
        rendered.cells.insert(id, cells);
    }
    rendered.titles = in_force
        .documents(&corpus)
        .map(|d| (d.meta.id.clone(), d.meta.title.clone()))
        .collect();
    lap(&mut rendered, "compose and render");
    rendered.config = Some(config);
    rendered.theme = Some(theme);
    rendered.diags = diags;
    rendered
}

/// Composes every document a site publishes, and the site's report cells (each
/// adapted document's global text composed once, for its diff page and its cell).
fn compose_site<'a>(
    plan: &site::SitePlan<'a>,
    stamps: &Stamps,
    diags: &mut Diagnostics,
) -> (Vec<crate::compose::SiteDoc<'a>>, crate::report::SiteCells) {
    let ctx = crate::parse::blocks::SiteCtx {
        id: plan.id,
        name: &plan.config.name,
        markets: &plan.config.markets,
    };
    let composed: Vec<(crate::compose::SiteDoc, Diagnostics)> = plan
        .docs
        .par_iter()
        .map(|(doc, add)| {
            let mut d = Diagnostics::new();
            (crate::compose::compose(doc, *add, &ctx, &mut d), d)
        })
        .collect();
    let mut docs = Vec::with_capacity(composed.len());
    for (sd, d) in composed {
        diags.extend(d.into_sorted());
        docs.push(sd);
    }
    let global_of = |sd: &crate::compose::SiteDoc| {
        crate::compose::compose(sd.doc, None, &ctx, &mut Diagnostics::new()).markdown
    };
    let stale = |sd: &crate::compose::SiteDoc| render::stale_addendum(sd, stamps);
    let cells = crate::report::site_cells(plan, &docs, &global_of, &stale);
    (docs, cells)
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
pub fn version_folder(
    site: &str,
    version: &str,
    info: &BuildInfo,
    date: Option<String>,
    release: bool,
    mut files: Vec<OutFile>,
) -> crate::output::VersionFolder {
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
    crate::output::VersionFolder {
        site: site.to_string(),
        version: version.to_string(),
        files,
    }
}

/// Whether a folder holds exactly the files a manifest lists, with the same bytes.
pub fn same_files(m: &manifest::Manifest, folder: &crate::output::VersionFolder) -> bool {
    let fresh: BTreeMap<&str, String> = folder
        .files
        .iter()
        .filter(|f| f.path != manifest::MANIFEST_FILE)
        .map(|f| (f.path.as_str(), manifest::sha256_hex(&f.bytes)))
        .collect();
    fresh.len() == m.files.len() && fresh.iter().all(|(k, v)| m.files.get(*k) == Some(v))
}

/// The report across sites of a build, and what the portal says it was built from.
pub fn report_files(
    rendered: &Rendered,
    config: &Config,
    theme: &theme::Theme,
    release: bool,
    diags: &mut Diagnostics,
) -> Option<(Vec<OutFile>, render::context::ReportLink)> {
    let view = build_view(&rendered.version, &rendered.info, release, rendered.as_of);
    let report = crate::report::assemble(config, &rendered.cells, &rendered.titles);
    let files = render::render_report(config, theme, &view, report, diags)?;
    let link = render::context::ReportLink {
        href: format!("{}/{}", crate::layout::REPORT_DIR, crate::layout::INDEX),
        preview: view.preview,
        version: view.version,
        commit_short: view.commit_short,
        dirty: view.dirty,
        as_of: view.as_of,
    };
    Some((files, link))
}

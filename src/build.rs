//! The pipeline in memory, one stage a function:
//! [`load`] (sources, config and history) → [`Plan::settle`] → [`check`] (typed
//! documents, stamps, the text in force, every diagnostic) → [`compose_site`] for every
//! site → [`render::render_site`] for the sites the plan renders. Writing is `publish`'s.

use std::collections::BTreeMap;

use crate::config::{self, Config};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::inforce::{self, InForceMap};
use crate::manifest;
use crate::parse::{self, Corpus};
use crate::release;
use crate::render::{self, context::BuildView, theme, OutFile};
use crate::repo::{self, BuildInfo};
use crate::site;
use crate::stamp::{self, Stamps};

pub use crate::plan::{Plan, Request as BuildOptions, SiteTexts};

use rayon::prelude::*;

pub const PREVIEW_VERSION: &str = crate::layout::PREVIEW;

/// What a run produced: the diagnostics, and the rendered sites when there were no errors.
pub struct Rendered {
    pub config: Option<Config>,
    pub theme: Option<theme::Theme>,
    pub info: BuildInfo,
    pub plan: Plan,
    /// The rendered sites' files, in site order.
    pub sites: Vec<(String, Vec<OutFile>)>,
    pub diags: Diagnostics,
    /// How long each phase took, for the benchmark.
    pub timings: Vec<(&'static str, std::time::Duration)>,
    /// How many documents each rendered site publishes.
    pub documents: BTreeMap<String, usize>,
    /// Every site's harmonization cells and composed texts.
    pub cells: BTreeMap<String, crate::report::SiteCells>,
    /// Every document's title, for the report.
    pub titles: BTreeMap<String, String>,
    /// Every site's harmonization release by release, up to this build (unless the
    /// request skips it).
    pub trend: Option<crate::network::Trend>,
    /// The keys of the pages rendered into an output, for its record.
    pub pages: Option<crate::page_cache::Pages>,
    /// Pieces of text rendered, of how many shown; documents whose search words were
    /// read, of how many indexed (the others were kept from earlier builds).
    pub memo: Option<[(usize, usize); 2]>,
    /// The report across sites, rendered beside the sites' pages when the request
    /// asked for it ([`report_files`] takes it).
    pub report: Option<MadeReport>,
}

/// The report across sites as a build rendered it: whether as a release, its files
/// and link (`None` if its templates failed), and what rendering it reported. The
/// first to ask takes the files ([`report_files`]); a later ask renders them again.
pub struct MadeReport {
    release: bool,
    made: std::sync::Mutex<Option<ReportMade>>,
    diags: Vec<Diagnostic>,
}

/// A report's files and link, or `None` if its templates failed.
type ReportMade = Option<(Vec<OutFile>, render::context::ReportLink)>;

/// The load stage: a build's input, read once. Like every stage value, plain data
/// that serializes, so a stage can be dumped and tested on its own.
#[derive(serde::Serialize)]
pub struct Loaded {
    pub source: repo::Source,
    pub config: Config,
}

/// The check stage: typed documents and what git says of them, all checked.
#[derive(serde::Serialize)]
pub struct Checked {
    pub corpus: Corpus,
    pub stamps: Stamps,
    /// Which documents publish an earlier revision, or none yet, at the as-of date.
    pub in_force: InForceMap,
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
        document_page: false,
    }
}

/// The release tags before the build, oldest first: before `tag` when the build
/// releases one, else those tagged no later than the built commit; without the ones
/// the built commit's own book.toml withdraws, so the same commit always gives the
/// same result.
fn earlier_release_tags(
    git: &repo::git::GitRepo,
    config: &Config,
    commit_time: i64,
    tag: Option<&str>,
) -> Option<Vec<(String, git2::Oid, i64)>> {
    let tags = git.release_tags(&config.build.release_tags).ok()?;
    let end = match tag {
        Some(t) => tags.iter().position(|(n, _, _)| n == t)?,
        None => tags
            .iter()
            .filter(|(_, _, when)| *when <= commit_time)
            .count(),
    };
    Some(
        tags[..end]
            .iter()
            .filter(|(t, _, _)| !config.release.withdrawn.contains_key(t))
            .cloned()
            .collect(),
    )
}

/// The key under which a release tag's point of the trend is kept.
fn point_key(
    root: &std::path::Path,
    tag: &str,
    oid: git2::Oid,
    when: i64,
) -> (std::path::PathBuf, String, String, i64) {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    (root, tag.to_string(), oid.to_string(), when)
}

/// Keeps the trend's point of release tag `tag` from its build `r` (without errors),
/// so the trend of a later build does not compose the tag again.
pub fn remember_release(
    root: &std::path::Path,
    (tag, oid, when): (&str, git2::Oid, i64),
    r: &Rendered,
) {
    if let Some(config) = &r.config {
        let point = point_of(config, r, Some(tag.to_string()));
        crate::network::remember(point_key(root, tag, oid, when), point);
    }
}

fn point_of(config: &Config, r: &Rendered, tag: Option<String>) -> crate::network::RawPoint {
    let cells: Vec<(&str, &crate::report::SiteCells)> =
        r.cells.iter().map(|(s, c)| (s.as_str(), c)).collect();
    crate::network::raw_point(
        config,
        &cells,
        tag,
        r.plan.version.clone(),
        r.plan.as_of.map(|d| d.to_string()),
    )
}

/// The texts of the version published before this release: the nearest earlier
/// release tag that is not withdrawn and composes without errors.
fn previous_texts(
    req: &BuildOptions,
    config: &Config,
    commit_time: i64,
    tag: Option<&str>,
) -> Option<(String, SiteTexts)> {
    let git = repo::git::GitRepo::open(&req.root)?;
    let tags = earlier_release_tags(&git, config, commit_time, tag)?;
    tags.iter().rev().find_map(|(t, oid, when)| {
        let version = repo::git::version_of_tag(t, &config.build.release_tags);
        let r = render(&BuildOptions {
            no_html: true,
            no_trend: true,
            // Tags composed for a preview's comparisons use the cache as the preview does.
            history_cache: Some(req.history_cache.unwrap_or(!req.release)),
            // The build that asked for it lets the cache go when it is done.
            keep_cache_loaded: true,
            ..release_request(&req.root, t, &version)
        });
        if r.diags.has_errors() {
            return None;
        }
        remember_release(&req.root, (t, *oid, *when), &r);
        Some((version, r.texts()))
    })
}

/// The harmonization trend up to a build: a point for each earlier release tag that
/// is not withdrawn and composes without errors (each composed from git objects like
/// `build --release --ref TAG`), then the build itself (`current`, its sites' cells).
pub fn network_trend(
    req: &BuildOptions,
    config: &Config,
    plan: &Plan,
    commit_time: i64,
    current: &[(&str, &crate::report::SiteCells)],
) -> crate::network::Trend {
    trend_with(
        earlier_points(req, config, plan, commit_time),
        config,
        plan,
        current,
    )
}

/// The trend's points of the release tags before the build's commit.
fn earlier_points(
    req: &BuildOptions,
    config: &Config,
    plan: &Plan,
    commit_time: i64,
) -> Vec<crate::network::RawPoint> {
    let git = repo::git::GitRepo::open(&req.root);
    let tags = git
        .as_ref()
        .and_then(|g| earlier_release_tags(g, config, commit_time, plan.tag.as_deref()))
        .unwrap_or_default();
    // Each tag composes on its own, so those not composed before compose in parallel.
    tags.par_iter()
        .filter_map(|(t, oid, when)| {
            let key = point_key(&req.root, t, *oid, *when);
            if let Some(p) = crate::network::cached(&key) {
                return Some(p);
            }
            let version = repo::git::version_of_tag(t, &config.build.release_tags);
            let r = render(&BuildOptions {
                no_html: true,
                no_trend: true,
                history_cache: Some(req.history_cache.unwrap_or(!req.release)),
                // The build that asked for it lets the cache go when it is done.
                keep_cache_loaded: true,
                ..release_request(&req.root, t, &version)
            });
            if r.diags.has_errors() {
                return None;
            }
            remember_release(&req.root, (t, *oid, *when), &r);
            crate::network::cached(&key)
        })
        .collect()
}

/// The trend of `points` and the build's own point, made of `current`.
fn trend_with(
    mut points: Vec<crate::network::RawPoint>,
    config: &Config,
    plan: &Plan,
    current: &[(&str, &crate::report::SiteCells)],
) -> crate::network::Trend {
    points.push(crate::network::raw_point(
        config,
        current,
        plan.tag.clone(),
        plan.version.clone(),
        plan.as_of.map(|d| d.to_string()),
    ));
    crate::network::trend(&points)
}

/// The request that builds release tag `tag`, of version `version`, from git objects.
pub fn release_request(root: &std::path::Path, tag: &str, version: &str) -> BuildOptions {
    BuildOptions {
        root: root.to_path_buf(),
        refname: Some(tag.to_string()),
        release: true,
        version: Some(version.to_string()),
        ..Default::default()
    }
}

impl Rendered {
    /// Each site's published texts, by document id.
    pub fn texts(&self) -> SiteTexts {
        self.cells
            .iter()
            .map(|(s, c)| (s.clone(), c.texts.clone()))
            .collect()
    }
}

/// Reads the sources, the configuration and the history, once.
pub fn load(req: &BuildOptions, diags: &mut Diagnostics) -> Option<Loaded> {
    let source = repo::read(
        &req.root,
        req.refname.as_deref(),
        crate::lenient::identity,
        req.history_cache.unwrap_or(!req.release),
        diags,
    )?;
    let config = match config::load(&source.sources) {
        Ok(c) => c,
        Err(d) => {
            diags.extend(d.into_sorted());
            return None;
        }
    };
    if source.sources.files.is_empty() {
        diags.push(
            Diagnostic::error(Code::NoDocuments, parse::PROCEDURES_DIR, 0, "there are no documents in procedures/")
                .help("add global documents under procedures/global/ and site files under procedures/sites/<site>/"),
        );
    }
    if source.info.shallow {
        diags.push(
            Diagnostic::warning(Code::ShallowClone, ".git", 0, "this is a shallow clone: revisions, changes and approval evidence are incomplete")
                .help("fetch the whole history (git fetch --unshallow; in CI, a checkout with fetch-depth 0)"),
        );
    }
    Some(Loaded { source, config })
}

/// Parses and validates every document, stamps it from history, selects the text in
/// force at the plan's date, and runs the release checks. `None` when files could not
/// be read: composing without them would report follow-on errors elsewhere.
pub fn check(loaded: &Loaded, plan: &Plan, diags: &mut Diagnostics) -> Option<Checked> {
    let Loaded { source, config } = loaded;
    let corpus = parse::parse_corpus(&source.sources, config, diags);
    let ids_unique = site::validate(&corpus, config, plan.release, diags);
    crate::external::check_editions(&corpus, diags);
    if !corpus.unreadable.is_empty() {
        report_skipped(diags, corpus.unreadable.len());
        return None;
    }
    if !ids_unique {
        diags.push(
            Diagnostic::warning(
                Code::NotChecked,
                parse::PROCEDURES_DIR,
                0,
                "ids clash, so sites were not composed and links and anchors were not checked",
            )
            .help("give every document its own id, then run again")
            .trailing(),
        );
        return None;
    }
    let stamps = stamp_corpus(&corpus, source, config, plan);
    stamp::report(&corpus, &stamps, plan.release, diags);
    release::check_tool_version(config, plan.release, diags);
    if let Some(t) = plan.as_of {
        site::check_reviews(&corpus, t, diags);
    }
    release::check_evidence(&corpus, &stamps, config, plan.release, diags);
    release::check_authority(&corpus, config, plan.release, diags);
    release::check_reused_ids(&corpus, &source.history, diags);
    if plan.release {
        release::check_source(&source.info, diags);
        release::check_change_control(&corpus, &stamps, source, config, diags);
    }
    let dated = inforce::Dated {
        history: &source.history,
        stamps: &stamps,
        as_of: plan.as_of,
        release: plan.release,
    };
    let in_force = inforce::select(&corpus, &dated, config, inforce::kept_earlier(), diags);
    if plan.release {
        release::check_unreleased(&corpus, &in_force, &stamps, diags);
    }
    Some(Checked {
        corpus,
        stamps,
        in_force,
    })
}

/// Loads, checks, composes every site and renders the planned ones, all in memory.
/// The levels of `[diagnostics]` are applied to what it reports.
/// Takes each site's files a few at a time as they are rendered, so that a build
/// need not hold a site's pages in memory (the output's owner writes them into its
/// staging tree: `Output::stage`). Called from several threads.
pub trait SiteSink: Sync {
    /// Opens `site`'s version for its files.
    fn open<'s>(&'s self, plan: &Plan, info: &BuildInfo, site: &str) -> Box<dyn SiteFiles + 's>;

    /// Says in `diags` why this sink cannot take the sites `plan` builds, before any
    /// is rendered.
    fn refuses(&self, _plan: &Plan, _config: &Config, _diags: &mut Diagnostics) {}
}

/// One site's files on their way to a [`SiteSink`].
pub trait SiteFiles {
    /// Takes `files`, and the files `kept` as the output holds them.
    fn put(&mut self, files: Vec<OutFile>, kept: Vec<render::KeptFile>);
    /// Every file of the site was put.
    fn done(self: Box<Self>);
}

/// A file the output held for this build that could not be read.
pub fn unreadable(kept: &render::KeptFile, e: &std::io::Error) -> crate::diag::Diagnostic {
    crate::diag::Diagnostic::error(
        crate::diag::Code::Output,
        &kept.at,
        0,
        format!("cannot read: {e}"),
    )
    .help("build again")
}

/// Renders as [`render`] does, handing each rendered site to `sink` instead of
/// keeping its files in [`Rendered::sites`].
pub fn render_into(req: &BuildOptions, sink: &dyn SiteSink) -> Rendered {
    level(render_unleveled(req, Some(sink)), req)
}

pub fn render(req: &BuildOptions) -> Rendered {
    level(render_unleveled(req, None), req)
}

fn level(mut rendered: Rendered, req: &BuildOptions) -> Rendered {
    if let Some(config) = &rendered.config {
        let release = req.release || rendered.plan.release;
        rendered.diags.apply_levels(&config.levels(), release);
    }
    rendered
}

/// One site's part of a run: its files and document count when rendered, and its
/// diagnostics.
type SiteRun = (String, Option<(Vec<OutFile>, usize)>, Diagnostics);

/// One site to render: its id, plan, documents and diagnostics.
type ToRender<'a> = (
    &'a String,
    site::SitePlan<'a>,
    Vec<crate::compose::SiteDoc<'a>>,
    Diagnostics,
);

/// One site composed: its id, plan, documents, report cells and diagnostics.
type Composed<'a> = (
    &'a String,
    site::SitePlan<'a>,
    Vec<crate::compose::SiteDoc<'a>>,
    crate::report::SiteCells,
    Diagnostics,
);

fn render_unleveled(req: &BuildOptions, sink: Option<&dyn SiteSink>) -> Rendered {
    let mut diags = Diagnostics::new();
    let mut rendered = Rendered {
        config: None,
        theme: None,
        info: BuildInfo::default(),
        plan: Plan::default(),
        sites: Vec::new(),
        diags: Diagnostics::new(),
        timings: Vec::new(),
        documents: BTreeMap::new(),
        cells: Default::default(),
        titles: Default::default(),
        trend: None,
        pages: None,
        memo: None,
        report: None,
    };
    let mut clock = std::time::Instant::now();
    let mut lap = |rendered: &mut Rendered, phase: &'static str| {
        rendered.timings.push((phase, clock.elapsed()));
        clock = std::time::Instant::now();
    };
    req.progress.stage("reading sources and history");
    crate::lenient::forget_unheld_versions();
    let Some(loaded) = load(req, &mut diags) else {
        rendered.diags = diags;
        return rendered;
    };
    lap(&mut rendered, "read sources and walk history");
    req.progress.stage("checking");
    let plan = Plan::settle(req, &loaded.config, &loaded.source.info, &mut diags);
    rendered.info = loaded.source.info.clone();
    if let Some(tag) = &plan.tag {
        rendered.info.refname = Some(tag.clone());
    }
    rendered.plan = plan.clone();
    let checked = check(&loaded, &plan, &mut diags);
    lap(&mut rendered, "parse, validate and stamp");
    let Loaded { source, config } = loaded;
    let Some(Checked {
        corpus,
        stamps,
        in_force,
    }) = checked
    else {
        rendered.config = Some(config);
        rendered.diags = diags;
        return rendered;
    };
    let theme_line = config.line_of_in_table("[build]", "theme");
    let Some(theme) = theme::load(&source.sources, &config.build.theme, theme_line, &mut diags)
    else {
        rendered.config = Some(config);
        rendered.diags = diags;
        return rendered;
    };
    theme::unaware_of_document_pages(&theme, plan.release, &mut diags);
    // A build that will be refused hands nothing over: its sites are rendered for
    // their diagnostics only, and nothing is written.
    if let Some(sink) = sink {
        sink.refuses(&plan, &config, &mut diags);
    }
    let writes = sink.is_some();
    let sink = sink.filter(|_| !diags.has_errors_leveled(&config.levels(), plan.release));
    let build = build_view(&plan.version, &rendered.info, plan.release, plan.as_of);
    // The version this release follows, for changes.html.
    let previous = match (&req.previous, plan.release && plan.html) {
        (Some(p), _) => Some(p.clone()),
        (None, true) if !plan.check => previous_texts(
            req,
            &config,
            source.info.commit.as_ref().map_or(0, |c| c.commit_time),
            plan.tag.as_deref(),
        ),
        _ => None,
    };
    let mut shared = render::Shared::new(&corpus, &in_force, &config, &theme, &build, &stamps);
    shared.check = plan.check;
    // A build whose output will be recorded renders only the pages whose view changed,
    // and so does a build of a process that keeps what it renders (`serve`).
    if plan.html && !plan.check {
        let renderer = || {
            crate::last_build::exe_identity().map(|exe| crate::page_cache::renderer(&exe, &theme))
        };
        if req.output_identity {
            shared.pages =
                renderer().and_then(|r| crate::page_cache::Pages::open(&req.root, &plan.output, r));
        } else if crate::keeps_between_builds() {
            shared.pages = renderer().map(|r| crate::page_cache::Pages::in_memory(&r));
        }
    }
    let ids: Vec<&String> = config.site.keys().collect();
    req.progress.stage(if plan.html {
        "composing and rendering"
    } else {
        "composing"
    });
    req.progress.sites(ids.len());
    // Every site is planned and its re-reviews found, and the trend's earlier
    // releases are read: what needs the texts of earlier versions. Then those texts
    // are let go, every site is composed (the report spans them all), the trend is
    // completed with every site's cells, and the planned sites are rendered. A site's
    // own problems are reported by the build that renders it.
    let history = &source.history;
    let revisions = crate::network::RevisionMemo::for_history(history);
    let planned: Vec<_> = ids
        .par_iter()
        .map(|id| {
            let mut d = Diagnostics::new();
            let site_plan = site::plan(&corpus, &in_force, &config, id, plan.release, &mut d);
            let rereviews = site_rereviews(&site_plan, history, &revisions);
            (*id, site_plan, rereviews, d)
        })
        .collect();
    let commit_time = source.info.commit.as_ref().map_or(0, |c| c.commit_time);
    let earlier = (!req.no_trend).then(|| earlier_points(req, &config, &plan, commit_time));
    drop(revisions);
    lap(
        &mut rendered,
        "theme, site plans, re-reviews, earlier releases",
    );
    let memo = source
        .memo
        .as_ref()
        .map(|f| f.join(if plan.check { "check" } else { "render" }));
    drop(source);
    if !req.keep_cache_loaded {
        crate::repo::cache::unload_all();
    }
    // Read once the history's texts are let go: the two are never held together.
    shared.memo = render::memo::Memo::open(memo.as_deref());
    let texts = crate::compose::TextPool::new();
    let composed: Vec<Composed> = planned
        .into_par_iter()
        .map(|(id, site_plan, rereviews, mut d)| {
            let (docs, mut cells) = compose_site(&site_plan, &stamps, &in_force, &texts, &mut d);
            cells.rereviews = rereviews;
            (id, site_plan, docs, cells, d)
        })
        .collect();
    drop(texts);
    lap(&mut rendered, "compose every site");
    if let Some(points) = earlier {
        let current: Vec<(&str, &crate::report::SiteCells)> = composed
            .iter()
            .map(|(id, _, _, cells, _)| (id.as_str(), cells))
            .collect();
        rendered.trend = Some(trend_with(points, &config, &plan, &current));
    }
    rendered.titles = in_force
        .documents(&corpus)
        .map(|d| (d.meta.id.clone(), d.meta.title.clone()))
        .collect();
    let mut cells_of = BTreeMap::new();
    let composed: Vec<_> = composed
        .into_iter()
        .map(|(id, site_plan, docs, cells, d)| {
            cells_of.insert(id.clone(), cells);
            (id, site_plan, docs, d)
        })
        .collect();
    let trend = rendered.trend.as_ref();
    let info = &rendered.info;
    let render_one = |(id, site_plan, docs, mut d): ToRender| -> SiteRun {
        let cells = &cells_of[id];
        let files = plan.renders(id).then(|| {
            let before = previous
                .as_ref()
                .map(|(v, texts)| (v.as_str(), texts.get(id).cloned().unwrap_or_default()));
            let rows = trend.map(|t| crate::network::site_rows(t, id));
            let mut kept = Vec::new();
            let mut unread = Vec::new();
            let mut to = sink.map(|sink| sink.open(&plan, info, id));
            render::render_site(
                &shared,
                &site_plan,
                &docs,
                cells,
                before.as_ref().map(|(v, t)| (*v, t)),
                rows.as_deref(),
                &mut |files, taken| match &mut to {
                    Some(to) => to.put(files, taken),
                    None => {
                        kept.extend(files);
                        // Kept only by a build into an output: read, should one not be.
                        for k in taken {
                            match k.read() {
                                Ok(f) => kept.push(f),
                                Err(e) => unread.push(unreadable(&k, &e)),
                            }
                        }
                    }
                },
                &mut d,
            );
            d.extend(unread);
            if let Some(to) = to {
                to.done();
            }
            kept.sort_by(|a, b| a.path.cmp(&b.path));
            (kept, docs.len())
        });
        if !plan.sites.contains(id) {
            d = Diagnostics::new();
        }
        req.progress.site_done();
        (id.to_string(), files, d)
    };
    // As many sites at once as there are threads, each rendering its pages in
    // parallel: from one parallel pass over every site, a thread waiting for pages
    // would start another site and hold its pages too.
    let render_all = || {
        let at_once = rayon::current_num_threads().max(1);
        let mut sites: Vec<SiteRun> = Vec::with_capacity(composed.len());
        let mut composed = composed.into_iter();
        loop {
            let batch: Vec<ToRender> = composed.by_ref().take(at_once).collect();
            if batch.is_empty() {
                break;
            }
            sites.extend(batch.into_par_iter().map(&render_one).collect::<Vec<_>>());
        }
        sites
    };
    // The report across sites, for a caller that writes or serves it, is rendered
    // meanwhile on a thread of its own: it needs every site's cells, not their pages.
    // Not for a build that will write nothing: its sink refused it, or it has errors.
    let report_wanted = req.with_report
        && plan.html
        && !plan.check
        && (sink.is_some() || !writes)
        && !diags.has_errors_leveled(&config.levels(), plan.release);
    let (sites, report) = std::thread::scope(|s| {
        let report = report_wanted.then(|| {
            s.spawn(|| {
                let mut diags = Diagnostics::new();
                let made = report_of(
                    &ReportInput {
                        plan: &plan,
                        info,
                        cells: &cells_of,
                        titles: &rendered.titles,
                        trend,
                        pages: shared.pages.as_ref(),
                    },
                    &config,
                    &theme,
                    plan.release,
                    &mut diags,
                );
                MadeReport {
                    release: plan.release,
                    made: std::sync::Mutex::new(Some(made)),
                    diags: diags.into_iter().collect(),
                }
            })
        });
        let sites = render_all();
        // A panic there is this build's, and goes on where it would have happened.
        let report = report.map(|r| r.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        (sites, report)
    });
    rendered.report = report;
    for (id, files, d) in sites {
        diags.extend(d.into_sorted());
        if let Some((files, documents)) = files {
            if sink.is_none() {
                rendered.sites.push((id.clone(), files));
            }
            rendered.documents.insert(id, documents);
        }
    }
    rendered.cells = cells_of;
    if plan.release {
        release::check_clause_gaps(&config, &rendered.cells, &plan.sites, &mut diags);
    }
    // What this build rendered is kept for the next; one that cannot be kept only
    // costs the next build time.
    let _ = shared.memo.save();
    rendered.memo = Some(shared.memo.counts());
    lap(&mut rendered, "render sites and the report");
    rendered.pages = shared.pages.take();
    crate::let_go(shared);
    crate::let_go((corpus, stamps, in_force));
    rendered.config = Some(config);
    rendered.theme = Some(theme);
    rendered.diags = diags;
    rendered
}

/// The compose stage of one site: every document it publishes, and the site's report cells (each
/// adapted document's global text composed once, for its diff page and its cell).
pub fn compose_site<'a>(
    plan: &site::SitePlan<'a>,
    stamps: &Stamps,
    in_force: &crate::inforce::InForceMap,
    texts: &crate::compose::TextPool<'a>,
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
            let sd = texts.compose(doc, *add, &ctx, &mut d);
            (sd, d)
        })
        .collect();
    let mut docs = Vec::with_capacity(composed.len());
    for (sd, d) in composed {
        diags.extend(d.into_sorted());
        docs.push(sd);
    }
    let global_of = |sd: &crate::compose::SiteDoc<'a>| {
        let global = texts.compose(sd.doc, None, &ctx, &mut Diagnostics::new());
        (global.markdown, global.content_hash)
    };
    let stale = |sd: &crate::compose::SiteDoc| render::stale_addendum(sd, stamps);
    let changes =
        |global: &std::sync::Arc<str>, site: &std::sync::Arc<str>| texts.line_changes(global, site);
    let mut cells = crate::report::site_cells(plan, &docs, &global_of, &changes, &stale);
    for sd in &docs {
        if let Some(t) = cells.texts.get_mut(&sd.doc.meta.id) {
            let facts = render::published_facts(sd, stamps, in_force);
            t.revision = facts.revision;
            t.site_revision = facts.site_revision;
            t.effective = sd.doc.meta.effective.map(|d| d.to_string());
            t.last_commit = facts.last_commit;
        }
    }
    (docs, cells)
}

/// The re-reviews of every addendum a site publishes, in the order of its documents.
fn site_rereviews(
    plan: &site::SitePlan,
    history: &crate::repo::history::HistoryIndex,
    revisions: &crate::network::RevisionMemo,
) -> Vec<crate::network::Rereview> {
    plan.docs
        .iter()
        .filter_map(|(doc, add)| add.map(|a| (doc, a)))
        .flat_map(|(doc, add)| {
            revisions
                .rereviews(history, &doc.meta.id, &doc.path, &add.path)
                .iter()
                .cloned()
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Says that composing and link checks were skipped because of unreadable files.
fn report_skipped(diags: &mut Diagnostics, files: usize) {
    diags.push(
        Diagnostic::warning(Code::NotChecked,
            parse::PROCEDURES_DIR,
            0,
            format!("{files} file(s) could not be read; sites were not composed, so links and anchors were not checked"),
        )
        .help("fix the errors reported above in those files, then run again")
        .trailing(),
    );
}

fn stamp_corpus(
    corpus: &parse::Corpus,
    source: &repo::Source,
    config: &Config,
    plan: &Plan,
) -> Stamps {
    let texts: std::collections::HashMap<&std::path::Path, &str> = source
        .sources
        .files
        .iter()
        .map(|f| (f.path.as_path(), &*f.text))
        .collect();
    let files = corpus
        .documents
        .iter()
        .map(|d| {
            let held: stamp::Held = d.clone();
            (d.path.as_path(), d.meta.approvals.as_slice(), held)
        })
        .chain(corpus.addenda.iter().map(|a| {
            let held: stamp::Held = a.clone();
            (a.path.as_path(), a.meta.approvals.as_slice(), held)
        }))
        .map(|(p, approvals, parsed)| {
            (
                p,
                texts.get(p).copied().unwrap_or_default(),
                approvals,
                parsed,
            )
        })
        .collect();
    // Release tags whose signature counts for its signer: in a release, the tag it
    // publishes only, so tags added later to the same commit never change a released
    // version; in a preview, every release tag at the built commit.
    let release_tags: Vec<(String, crate::signature::Signature)> =
        match repo::git::glob_regex(&config.build.release_tags) {
            Ok(re) => source
                .info
                .tag_signatures
                .iter()
                .filter(|(name, _)| re.is_match(name))
                .filter(|(name, _)| !plan.release || plan.tag.as_ref() == Some(name))
                .cloned()
                .collect(),
            Err(_) => Vec::new(),
        };
    let files = stamp::stamp_kept(
        &source.history,
        config,
        &release_tags,
        files,
        stamp::kept_stamps(),
    );
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
pub fn check_all(opts: &BuildOptions) -> Rendered {
    render(&BuildOptions {
        sites: Vec::new(),
        no_trend: true,
        check: true,
        ..opts.clone()
    })
}

/// A site's rendered files as a version folder, with its manifest.
pub fn version_folder(
    site: &str,
    version: &str,
    info: &BuildInfo,
    date: Option<String>,
    release: bool,
    mut files: Vec<OutFile>,
    before: Option<&[OutFile]>,
) -> crate::output::VersionFolder {
    let v = manifest::VersionInfo {
        site,
        version,
        commit: info.commit.as_ref().map(|c| c.id.as_str()),
        dirty: info.dirty,
        date,
        release,
    };
    let manifest = manifest::manifest_file_after(&v, &files, before);
    files.push(manifest);
    crate::output::VersionFolder {
        site: site.to_string(),
        version: version.to_string(),
        files,
    }
}

/// The report across sites of a build, and what the portal says it was built from:
/// as the build rendered it, if it did ([`MadeReport`]) as a release or not alike.
pub fn report_files(
    rendered: &Rendered,
    config: &Config,
    theme: &theme::Theme,
    release: bool,
    diags: &mut Diagnostics,
) -> ReportMade {
    if let Some(made) = rendered.report.as_ref().filter(|r| r.release == release) {
        let taken = made.made.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(files) = taken {
            diags.extend(made.diags.iter().cloned());
            return files;
        }
    }
    let input = ReportInput {
        plan: &rendered.plan,
        info: &rendered.info,
        cells: &rendered.cells,
        titles: &rendered.titles,
        trend: rendered.trend.as_ref(),
        pages: rendered.pages.as_ref(),
    };
    report_of(&input, config, theme, release, diags)
}

/// What the report across sites is made of.
struct ReportInput<'a> {
    plan: &'a Plan,
    info: &'a BuildInfo,
    cells: &'a BTreeMap<String, crate::report::SiteCells>,
    titles: &'a BTreeMap<String, String>,
    trend: Option<&'a crate::network::Trend>,
    pages: Option<&'a crate::page_cache::Pages>,
}

fn report_of(
    input: &ReportInput,
    config: &Config,
    theme: &theme::Theme,
    release: bool,
    diags: &mut Diagnostics,
) -> Option<(Vec<OutFile>, render::context::ReportLink)> {
    let view = build_view(&input.plan.version, input.info, release, input.plan.as_of);
    let mut report = crate::report::assemble(config, input.cells, input.titles);
    report.trend = input.trend.cloned();
    let files = render::render_report(config, theme, &view, report, input.pages, diags)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Each stage runs alone on the previous stage's value, and its value dumps as JSON.
    #[test]
    fn stages_run_one_by_one_and_their_values_dump() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("book.toml"), crate::testkit::BOOK).unwrap();
        let docs = dir.path().join("procedures/global");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(
            docs.join("a.md"),
            crate::testkit::doc("SOP-1", "", "## A {#a}\nText.\n"),
        )
        .unwrap();
        let req = BuildOptions {
            root: dir.path().to_path_buf(),
            sites: vec!["cork".into()],
            ..Default::default()
        };
        let mut d = Diagnostics::new();
        let loaded = load(&req, &mut d).expect("loads");
        let plan = Plan::settle(&req, &loaded.config, &loaded.source.info, &mut d);
        assert_eq!(plan.version, "preview");
        assert_eq!(plan.sites, ["cork"]);
        let checked = check(&loaded, &plan, &mut d).expect("checks");
        assert!(!d.has_errors(), "{:?}", d.into_sorted());
        let dump = serde_json::to_value(&checked).unwrap();
        assert_eq!(dump["corpus"]["documents"][0]["meta"]["id"], "SOP-1");
        assert_eq!(dump["stamps"]["incomplete"], true, "outside git");
        let site_plan = site::plan(
            &checked.corpus,
            &checked.in_force,
            &loaded.config,
            "cork",
            plan.release,
            &mut Diagnostics::new(),
        );
        let (docs, cells) = compose_site(
            &site_plan,
            &checked.stamps,
            &checked.in_force,
            &Default::default(),
            &mut Diagnostics::new(),
        );
        let composed = serde_json::to_value(&docs).unwrap();
        assert_eq!(composed[0]["markdown"], "## A {#a}\nText.\n");
        assert_eq!(cells.cells[0].state, "identical");
        assert!(serde_json::to_string(&loaded).unwrap().contains("SOP-1"));
    }

    /// The report a build renders beside its sites is the one rendered after it, and
    /// is taken only for the kind of build (release or not) it was rendered for.
    #[test]
    fn the_report_rendered_beside_the_sites_is_the_report_rendered_after_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("book.toml"), crate::testkit::BOOK).unwrap();
        let write = |path: &str, text: String| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "procedures/global/a.md",
            crate::testkit::doc("SOP-1", "", "## A {#a}\nText.\n\n## B {#b}\nMore.\n"),
        );
        write(
            "procedures/sites/cork/a.md",
            "---\naddendum-to: SOP-1\nrationale: r\nstatus: draft\n---\n::: append #a\nCork.\n:::\n".into(),
        );
        let build = |with_report| {
            render(&BuildOptions {
                root: dir.path().to_path_buf(),
                with_report,
                ..Default::default()
            })
        };
        let files = |r: &Rendered, release: bool| {
            let (config, theme) = (r.config.as_ref().unwrap(), r.theme.as_ref().unwrap());
            let mut d = Diagnostics::new();
            let (files, link) = report_files(r, config, theme, release, &mut d).expect("report");
            let files: Vec<(String, Vec<u8>)> =
                files.into_iter().map(|f| (f.path, f.bytes)).collect();
            (
                files,
                serde_json::to_string(&link).unwrap(),
                d.into_sorted().len(),
            )
        };
        let (beside, after) = (build(true), build(false));
        assert!(beside.report.is_some() && after.report.is_none());
        let kept = || {
            beside
                .report
                .as_ref()
                .unwrap()
                .made
                .lock()
                .unwrap()
                .is_some()
        };
        assert!(kept());
        let made = files(&beside, false);
        assert!(
            !kept(),
            "the files are those rendered beside the sites, taken"
        );
        assert!(
            made.0
                .iter()
                .any(|(p, b)| p == "report/index.html"
                    && String::from_utf8_lossy(b).contains("SOP-1"))
        );
        assert_eq!(made, files(&after, false));
        // Asked as a release, the report is rendered again, as one.
        assert_eq!(files(&beside, true), files(&after, true));
        assert_ne!(files(&beside, true).1, made.1);
    }
}

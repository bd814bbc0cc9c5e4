//! Writing builds and releases into the output, with the pages that list them.
//!
//! `procsite build` hands its version folders to the output's owner.
//! `procsite publish` builds every release tag not yet in the output, in tag order,
//! through the same release path as `build --release` (so both give the same bytes);
//! versions already published are verified against their manifests and never
//! rewritten. A tag that fails the release checks is reported and skipped, and later
//! tags still publish, until it is fixed by a new tag or recorded under
//! `[release] withdrawn`. Everything a run writes goes to the output as one transaction.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::build::{self, BuildOptions, SiteTexts};
use crate::config::Config;
use crate::diag::{display_path, Code, Diagnostic, Diagnostics};
use crate::layout::{INDEX, LATEST};
use crate::manifest;
use crate::output::{ListedVersion, Output, VersionFolder, Written};
use crate::render::{self, context::*, theme::Theme, KeptFile, OutFile};
use crate::repo::{git::GitRepo, scan, BuildInfo};

#[derive(Debug)]
pub struct PublishSummary {
    pub out: PathBuf,
    /// (tag, version) built by this run.
    pub built: Vec<(String, String)>,
    /// Versions already published and verified.
    pub verified: usize,
    /// Tags that failed the release checks and were not published.
    pub refused: Vec<String>,
    pub notes: Vec<String>,
    pub diags: Diagnostics,
}

fn fail(diags: &mut Diagnostics, code: Code, path: impl Into<PathBuf>, msg: String, help: &str) {
    diags.push(Diagnostic::error(code, path, 0, msg).help(help));
}

/// Opens the output for writing, or says why it cannot be written.
/// What opening found and did (a stale lock, an interrupted write) comes back as
/// warnings, whether the run then succeeds or fails.
pub fn open_output(path: &Path, diags: &mut Diagnostics) -> Result<Output, Diagnostics> {
    let mut output = Output::open(path).map_err(|e| {
        let help = e.help();
        fail(diags, Code::Output, path, e.to_string(), help);
        std::mem::take(diags)
    })?;
    for note in output.take_notes() {
        diags.push(Diagnostic::warning(Code::OutputNote, path, 0, note));
    }
    Ok(output)
}

fn link(v: &ListedVersion, href: String) -> VersionLink {
    VersionLink {
        version: v.version.clone(),
        date: v.date.clone(),
        commit_short: v
            .commit
            .as_deref()
            .map(|c| crate::repo::git::short_id(c).to_string()),
        dirty: v.dirty,
        href,
    }
}

/// Renders the portal and every site's versions page for `folders` added to the
/// output, and writes it all with the report as one transaction.
pub fn write_tree(
    output: Output,
    config: &Config,
    theme: &Theme,
    folders: Vec<VersionFolder>,
    report: (Vec<OutFile>, ReportLink),
    diags: &mut Diagnostics,
) -> Result<Written, Diagnostics> {
    let sites: Vec<String> = config.site.keys().cloned().collect();
    let listing = output.listing(&sites, &folders);
    let files = listing_pages(config, theme, &listing, report, diags)?;
    let shown = output.shown().to_path_buf();
    output.commit(folders, files, &listing).map_err(|e| {
        let help = e.help();
        fail(diags, Code::Output, shown, e.to_string(), help);
        std::mem::take(diags)
    })
}

/// The whole output that a build of `rendered` with `folders` (its version folders)
/// writes into an empty output folder, in memory: what `procsite serve` serves.
/// The same functions render it as [`write_tree`] writes, so the two cannot differ.
pub fn tree_in_memory(
    rendered: &build::Rendered,
    folders: &[VersionFolder],
    diags: &mut Diagnostics,
) -> Result<Vec<OutFile>, Diagnostics> {
    let (Some(config), Some(theme)) = (&rendered.config, &rendered.theme) else {
        return Err(std::mem::take(diags));
    };
    let Some(report) = build::report_files(rendered, config, theme, rendered.plan.release, diags)
    else {
        return Err(std::mem::take(diags));
    };
    let sites: Vec<String> = config.site.keys().cloned().collect();
    let listing = crate::output::listing_of(&Default::default(), &sites, folders);
    let files = listing_pages(config, theme, &listing, report, diags)?;
    Ok(crate::output::tree_in_memory(folders, files, &listing))
}

/// The version folder of one site that `rendered` rendered, with its manifest (the
/// hashes of files unchanged since `before`, an earlier folder of the site, taken
/// from its manifest).
pub fn folder_of(
    rendered: &build::Rendered,
    site: &str,
    files: Vec<OutFile>,
    before: Option<&VersionFolder>,
) -> VersionFolder {
    build::version_folder(
        site,
        &rendered.plan.version,
        &rendered.info,
        rendered.plan.as_of.map(|d| d.to_string()),
        rendered.plan.release,
        files,
        before.map(|b| b.files.as_slice()),
    )
}

/// The report's files, every site's versions page and the portal, for `listing`.
fn listing_pages(
    config: &Config,
    theme: &Theme,
    listing: &[crate::output::SiteListing],
    report: (Vec<OutFile>, ReportLink),
    diags: &mut Diagnostics,
) -> Result<Vec<OutFile>, Diagnostics> {
    // Problems of this step only: the caller's may include tags it reported and skipped.
    let mut own = Diagnostics::new();
    let css = render::inline_css(theme);
    let stamp = BuildView::of_output();
    let withdrawn: Vec<WithdrawnView> = config
        .release
        .withdrawn
        .iter()
        .map(|(tag, reason)| WithdrawnView {
            tag: tag.clone(),
            reason: reason.clone(),
        })
        .collect();
    let (mut files, report_link) = report;
    let mut portal_sites = Vec::new();
    for s in listing.iter().filter(|s| config.site.contains_key(&s.site)) {
        let site = &config.site[&s.site];
        let id = &s.site;
        let view = VersionsView {
            book: render::book_view(config),
            css: css.clone(),
            site: SiteView {
                id: id.clone(),
                name: site.name.clone(),
                markets: site.markets.clone(),
            },
            releases: s
                .releases
                .iter()
                .map(|v| link(v, format!("{}/{INDEX}", v.version)))
                .collect(),
            unreleased: s
                .unreleased
                .iter()
                .map(|v| link(v, format!("{}/{INDEX}", v.version)))
                .collect(),
            // A tag whose version is published here is not "never published".
            withdrawn: withdrawn
                .iter()
                .filter(|w| {
                    let v = crate::repo::git::version_of_tag(&w.tag, &config.build.release_tags);
                    !s.releases.iter().any(|r| r.version == v)
                })
                .cloned()
                .collect(),
            build: stamp.clone(),
            portal_href: format!("../{INDEX}"),
        };
        files.extend(render::render_versions(theme, &view, &mut own));
        portal_sites.push(PortalSite {
            id: id.clone(),
            name: site.name.clone(),
            markets: site.markets.clone(),
            current: s
                .releases
                .first()
                .map(|v| link(v, format!("{id}/{LATEST}/{INDEX}"))),
            versions_href: format!("{id}/{INDEX}"),
            unreleased: s
                .unreleased
                .iter()
                .map(|v| link(v, format!("{id}/{}/{INDEX}", v.version)))
                .collect(),
        });
    }
    let portal = PortalView {
        book: render::book_view(config),
        css,
        previews: portal_sites.iter().map(|s| s.unreleased.len()).sum(),
        sites: portal_sites,
        report: Some(report_link),
        build: stamp,
    };
    files.extend(render::render_portal(theme, &portal, &mut own));
    let failed = own.has_errors();
    diags.extend(own.into_sorted());
    if failed {
        return Err(std::mem::take(diags));
    }
    Ok(files)
}

#[derive(Debug)]
pub struct BuildSummary {
    pub out: PathBuf,
    pub version: String,
    pub info: BuildInfo,
    pub sites: Vec<(String, usize)>,
    /// Documents published, over every site written.
    pub documents: usize,
    /// Bytes of the files of the versions written.
    pub bytes: u64,
    /// How long each stage took.
    pub timings: Vec<(&'static str, std::time::Duration)>,
    /// Sites whose released version was already in the output, byte for byte.
    pub unchanged: Vec<String>,
    /// What the output's owner reports: leftovers recovered, a stale lock taken over.
    pub notes: Vec<String>,
    /// The output's identity as the write left it (`output::identity`).
    pub identity: Option<String>,
    /// The keys of the pages rendered, for the record of the output's pages.
    pub pages: Option<crate::page_cache::Pages>,
    /// Document pages taken from the output unchanged, of how many.
    pub pages_taken: Option<(usize, usize)>,
    /// Pieces of text rendered and documents' search words read, each of how many
    /// (`build::Rendered::memo`).
    pub memo: Option<[(usize, usize); 2]>,
    pub diags: Diagnostics,
}

/// Builds and writes. With any error, nothing is written and the diagnostics come back.
pub fn build(opts: &BuildOptions) -> Result<BuildSummary, Diagnostics> {
    let stream = Stream {
        root: opts.root.clone(),
        ..Default::default()
    };
    // The report is written with the sites: it is rendered beside their pages.
    let with_report = BuildOptions {
        with_report: true,
        ..opts.clone()
    };
    let mut rendered = build::render_into(&with_report, &stream);
    let mut diags = std::mem::take(&mut rendered.diags);
    let Stream { output, state, .. } = stream;
    // Opened when the first site started: what opening did (an interrupted
    // write recovered, a stale lock taken over) is said whatever happens next.
    let opened = output.into_inner().map(|(opened, notes)| {
        diags.extend(notes.into_sorted());
        opened
    });
    let state = state.into_inner().unwrap_or_else(|e| e.into_inner());
    let (config, theme) = match (&rendered.config, &rendered.theme) {
        (Some(c), Some(t)) if !diags.has_errors() => (c, t),
        _ => return Err(diags),
    };
    let out_path = rendered.plan.output.clone();
    let mut output = match opened {
        Some(opened) => opened.map_err(|d| {
            diags.extend(d.into_sorted());
            std::mem::take(&mut diags)
        })?,
        None => open_output(&out_path, &mut diags)?,
    };
    output.identity_wanted = opts.output_identity;
    diags.extend(state.diags.into_sorted());
    if diags.has_errors() {
        return Err(diags);
    }
    let mut sites = state.sites;
    sites.sort();
    let documents = state
        .unchanged
        .iter()
        .chain(state.staged.iter())
        .map(|id| rendered.documents.get(id).copied().unwrap_or(0))
        .sum();
    let Some(report) = build::report_files(&rendered, config, theme, opts.release, &mut diags)
    else {
        return Err(diags);
    };
    let written = write_tree(output, config, theme, Vec::new(), report, &mut diags)?;
    let mut unchanged = state.unchanged;
    unchanged.sort();
    let summary = BuildSummary {
        out: out_path,
        version: rendered.plan.version.clone(),
        info: std::mem::take(&mut rendered.info),
        sites,
        documents,
        bytes: state.bytes,
        timings: std::mem::take(&mut rendered.timings),
        unchanged,
        notes: written.notes,
        identity: written.identity,
        pages_taken: rendered.pages.as_ref().map(|p| p.counts()),
        memo: rendered.memo.take(),
        pages: rendered.pages.take(),
        diags,
    };
    crate::let_go(rendered);
    Ok(summary)
}

/// Where a build's sites go as they are rendered: into the output's staging tree,
/// opened (and locked) when the first site starts.
#[derive(Default)]
struct Stream {
    /// The repository root, whose release tags a new release's version must not take.
    root: PathBuf,
    /// The opened output, or why it cannot be written; and the notes of opening it.
    output: std::sync::OnceLock<(Result<Output, Diagnostics>, Diagnostics)>,
    state: std::sync::Mutex<Streamed>,
}

/// What the sites handed to a [`Stream`] came to.
#[derive(Default)]
struct Streamed {
    /// (site, pages) of every site rendered.
    sites: Vec<(String, usize)>,
    /// Sites written into the staging tree.
    staged: Vec<String>,
    /// Sites whose released version was already in the output, byte for byte.
    unchanged: Vec<String>,
    bytes: u64,
    diags: Diagnostics,
}

impl build::SiteSink for Stream {
    fn refuses(&self, plan: &crate::plan::Plan, config: &Config, diags: &mut Diagnostics) {
        if !plan.release || plan.tag.is_some() {
            return;
        }
        if plan.version == build::PREVIEW_VERSION {
            diags.push(
                Diagnostic::error(Code::Argument, "--release", 0, "a release needs a version")
                    .help(
                    "tag the commit with a release tag ([build] release-tags) or pass --version V",
                ),
            );
        } else {
            check_version_is_free(&self.root, config, &plan.version, diags);
        }
    }

    fn open<'s>(
        &'s self,
        plan: &crate::plan::Plan,
        info: &BuildInfo,
        site: &str,
    ) -> Box<dyn build::SiteFiles + 's> {
        let (opened, _) = self.output.get_or_init(|| {
            let mut notes = Diagnostics::new();
            let opened = open_output(&plan.output, &mut notes);
            (opened, notes)
        });
        let version = &plan.version;
        let target = match opened {
            Err(_) => Target::Closed,
            // A released version is never rewritten: building it again must give the
            // same bytes, which its files' hashes are compared with at the end.
            Ok(output) => match output.published.version(site, version) {
                Some(m) if m.release => Target::Released {
                    dir: plan.output.join(site).join(version),
                    manifest: m,
                    hashes: BTreeMap::new(),
                },
                _ => match output.stage(site, version) {
                    Ok(staged) => Target::Staged(staged),
                    Err(e) => Target::Failed(output_error(Some(output), &e)),
                },
            },
        };
        Box::new(SiteStream {
            stream: self,
            output: opened.as_ref().ok(),
            target,
            site: site.to_string(),
            version: version.clone(),
            commit: info.commit.as_ref().map(|c| c.id.clone()),
            dirty: info.dirty,
            date: plan.as_of.map(|d| d.to_string()),
            release: plan.release,
            pages: 0,
            bytes: 0,
        })
    }
}

/// Where one site's files go: its folder in the staging tree, or (a released version
/// built again) only their hashes, to compare with what was released.
enum Target<'o> {
    Staged(crate::output::StagedFiles<'o>),
    Released {
        dir: PathBuf,
        manifest: &'o manifest::Manifest,
        hashes: BTreeMap<String, String>,
    },
    /// The output could not be opened: said once, by the build.
    Closed,
    /// Writing failed: the rest of the site's files are let go.
    Failed(Diagnostic),
}

/// One site's files on their way into a [`Stream`].
struct SiteStream<'s> {
    stream: &'s Stream,
    /// The output, when it could be opened.
    output: Option<&'s Output>,
    target: Target<'s>,
    site: String,
    version: String,
    commit: Option<String>,
    dirty: bool,
    date: Option<String>,
    release: bool,
    pages: usize,
    bytes: u64,
}

impl build::SiteFiles for SiteStream<'_> {
    fn put(&mut self, files: Vec<OutFile>, kept: Vec<KeptFile>) {
        let paths = files
            .iter()
            .map(|f| &f.path)
            .chain(kept.iter().map(|k| &k.path));
        self.pages += paths.filter(|p| p.ends_with(".html")).count();
        self.bytes += files.iter().map(|f| f.bytes.len() as u64).sum::<u64>();
        self.bytes += kept.iter().map(|k| k.len).sum::<u64>();
        match &mut self.target {
            Target::Staged(staged) => {
                if let Err(e) = staged.write(&files).and_then(|()| staged.keep(&kept)) {
                    self.target = Target::Failed(output_error(self.output, &e));
                }
            }
            Target::Released { hashes, .. } => {
                // Pages are kept only by a preview; a release's are read, should one be.
                for f in &files {
                    hashes.insert(f.path.clone(), manifest::sha256_hex(&f.bytes));
                }
                for k in &kept {
                    match k.read() {
                        Ok(f) => {
                            hashes.insert(f.path, manifest::sha256_hex(&f.bytes));
                        }
                        Err(e) => {
                            self.target = Target::Failed(build::unreadable(k, &e));
                            return;
                        }
                    }
                }
            }
            Target::Closed | Target::Failed(_) => {}
        }
    }

    fn done(self: Box<Self>) {
        let this = *self;
        let v = manifest::VersionInfo {
            site: &this.site,
            version: &this.version,
            commit: this.commit.as_deref(),
            dirty: this.dirty,
            date: this.date.clone(),
            release: this.release,
        };
        let outcome = match this.target {
            Target::Closed => return,
            Target::Failed(d) => Err(d),
            Target::Staged(staged) => {
                let manifest = manifest::manifest_of(&v, staged.hashes().clone());
                staged
                    .finish(manifest)
                    .map(|()| true)
                    .map_err(|e| output_error(this.output, &e))
            }
            Target::Released {
                dir,
                manifest,
                hashes,
            } => {
                if manifest::verify_one(&dir).problems.is_empty() && manifest.files == hashes {
                    Ok(false)
                } else {
                    let (site, version) = (&this.site, &this.version);
                    Err(Diagnostic::error(
                        Code::ReleasedVersionChanged,
                        &dir,
                        0,
                        format!("version {version} of site {site} is released and would change"),
                    )
                    .help("released versions are immutable: build under a new version name"))
                }
            }
        };
        let mut state = this.stream.state.lock().unwrap_or_else(|e| e.into_inner());
        state.sites.push((this.site.clone(), this.pages));
        match outcome {
            Ok(staged) => {
                state.bytes += this.bytes;
                if staged {
                    state.staged.push(this.site);
                } else {
                    state.unchanged.push(this.site);
                }
            }
            Err(d) => state.diags.push(d),
        }
    }
}

/// A write into the output that failed, as a diagnostic.
fn output_error(output: Option<&Output>, e: &crate::output::OutputError) -> Diagnostic {
    let shown = output.map_or(Path::new("."), Output::shown);
    Diagnostic::error(Code::Output, shown, 0, e.to_string()).help(e.help())
}

/// A release named with `--version` may not take the version of a release tag on
/// another commit: `publish` would take that folder for the tag's release.
fn check_version_is_free(root: &Path, config: &Config, version: &str, diags: &mut Diagnostics) {
    let Some(git) = GitRepo::open(root) else {
        return;
    };
    let glob = &config.build.release_tags;
    for (tag, oid, _) in git.release_tags(glob).unwrap_or_default() {
        if crate::repo::git::version_of_tag(&tag, glob) == version {
            fail(
                diags, Code::Argument,
                "--version",
                format!(
                    "version {version} is the version of release tag {tag}, which names commit {oid}, not the commit built"
                ),
                "build the tagged commit (procsite build --release --ref TAG), or choose another version name",
            );
        }
    }
}

pub fn publish(
    root: &Path,
    out: Option<PathBuf>,
    progress: &crate::progress::Progress,
) -> Result<PublishSummary, Diagnostics> {
    let mut diags = Diagnostics::new();
    let Some(git) = GitRepo::open(root) else {
        fail(
            &mut diags,
            Code::NotReleasable,
            ".",
            format!("{} is not in a git repository", display_path(root)),
            "publish reads release tags from git",
        );
        return Err(diags);
    };
    let sources = scan::scan_work_tree(root, &mut diags);
    let config = crate::config::load(&sources)?;
    let out = out.unwrap_or_else(|| config.output_under(root));
    let glob = &config.build.release_tags;
    let tags = match git.release_tags(glob) {
        Ok(t) => t,
        Err(e) => {
            fail(
                &mut diags,
                Code::Config,
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
            Code::NotReleasable,
            ".git",
            format!("no tag matches release-tags '{glob}'"),
            "tag the commit to release, e.g. git tag release/2026.1",
        );
        return Err(diags);
    }
    for tag in config.release.withdrawn.keys() {
        if !tags.iter().any(|(t, _, _)| t == tag) {
            diags.push(
                Diagnostic::warning(
                    Code::WithdrawnTag,
                    crate::config::CONFIG_FILE,
                    config.line_of_in_table("[release]", tag),
                    format!(
                        "[release] withdrawn names {tag}, which is not a release tag{}",
                        crate::diag::did_you_mean(tag, tags.iter().map(|(t, _, _)| t.as_str()))
                    ),
                )
                .help("name the tag exactly as git lists it (git tag --list)"),
            );
        }
    }
    let output = open_output(&out, &mut diags)?;
    // A released version must stay traceable to its commit: one whose release tag is
    // gone and whose commit no branch or tag contains any more (history rewritten)
    // stops the run. A tag that names another commit is reported below.
    let tagged: std::collections::BTreeSet<String> = tags
        .iter()
        .map(|(t, _, _)| crate::repo::git::version_of_tag(t, glob))
        .collect();
    let mut blocked = false;
    for (site, versions) in &output.published.sites {
        for (version, m) in versions {
            let Some(commit) = m.commit.as_deref().filter(|_| m.release) else {
                continue;
            };
            if tagged.contains(version) || git.in_history(commit) {
                continue;
            }
            blocked = true;
            fail(
                &mut diags,
                Code::ReleasedVersionChanged,
                out.join(site).join(version),
                format!("{site}/{version} was published from commit {commit}, which is no longer in the repository's history: no release tag names version {version}, and no branch or tag contains the commit"),
                "a released version stays traceable to its source: restore the history and the release tag from a clone or backup that has them; published history is never rewritten",
            );
        }
    }

    let mut folders: Vec<VersionFolder> = Vec::new();
    let mut built = Vec::new();
    let mut refused = Vec::new();
    let mut verified = 0;
    // A published version that changed, or a folder in a release's way, stops the run.
    // The texts of the version published last, so each tag is composed once.
    let mut previous: Option<(String, SiteTexts)> = None;
    let mut newest: Option<build::Rendered> = None;
    for (tag, oid, when) in &tags {
        let version = crate::repo::git::version_of_tag(tag, glob);
        if config.release.withdrawn.contains_key(tag) {
            if let Some(site) = config
                .site
                .keys()
                .find(|s| output.published.version(s, &version).is_some())
            {
                blocked = true;
                fail(
                    &mut diags, Code::Config,
                    crate::config::CONFIG_FILE,
                    format!("release tag {tag} is withdrawn in book.toml, but version {version} is already published (at {site})"),
                    "a published version is never removed: take the tag out of [release] withdrawn, and publish a new release to supersede it",
                );
            }
            // The next tag compares with what its own commit says was published.
            previous = None;
            continue;
        }
        let mut missing = false;
        for site in config.site.keys() {
            match output.published.version(site, &version) {
                Some(m) if m.release && m.commit.as_deref() != Some(oid.to_string().as_str()) => {
                    blocked = true;
                    // Say so when the recorded commit itself is gone (history rewritten).
                    let gone = match m.commit.as_deref() {
                        Some(c) if !git.in_history(c) => {
                            format!(", and commit {c} is no longer in the repository's history")
                        }
                        _ => String::new(),
                    };
                    fail(
                        &mut diags, Code::ReleasedVersionChanged,
                        out.join(site).join(&version),
                        format!(
                            "{site}/{version} was built from commit {}, but release tag {tag} names commit {oid}{gone}",
                            m.commit.as_deref().unwrap_or("(none)")
                        ),
                        "a version name belongs to one commit: if the folder was built by mistake, remove it; otherwise release the commit under a new version name",
                    );
                }
                Some(m) if m.release => {
                    let dir = out.join(site).join(&version);
                    let v = manifest::verify_one(&dir);
                    if v.problems.is_empty() {
                        verified += 1;
                    }
                    for p in v.problems {
                        blocked = true;
                        fail(&mut diags, Code::ReleasedVersionChanged, &dir, format!("published version {version} has changed: {p}"), "restore the released files (procsite verify lists them); they are never rewritten");
                    }
                }
                Some(_) => {
                    blocked = true;
                    fail(
                    &mut diags, Code::Output,
                    out.join(site).join(&version),
                    format!("{site}/{version} holds an unreleased build, and release {tag} needs that folder"),
                    "remove that folder (it is not a release), then publish again",
                )
                }
                None => missing = true,
            }
        }
        let is_last = tags
            .iter()
            .rev()
            .find(|(t, _, _)| !config.release.withdrawn.contains_key(t))
            .is_some_and(|(t, _, _)| t == tag);
        if !missing && !is_last {
            previous = None;
            continue;
        }
        let opts = BuildOptions {
            no_html: !missing,
            previous: previous.take(),
            progress: progress.clone(),
            ..build::release_request(root, tag, &version)
        };
        let mut rendered = build::render(&opts);
        if rendered.diags.has_errors() {
            for mut d in rendered.diags.into_sorted() {
                d.message = format!("[{tag}] {}", d.message);
                diags.push(d);
            }
            diags.push(
                Diagnostic::error(Code::ReleaseRefused,
                    ".git",
                    0,
                    format!("release tag {tag} was not published: it fails the release checks marked [{tag}]"),
                )
                .help(format!(
                    "fix the problems and tag the fixed commit with a new release tag; if {tag} must never be published, record why in book.toml: [release] withdrawn = {{ \"{tag}\" = \"<reason>\" }}"
                )),
            );
            refused.push(tag.clone());
            continue;
        }
        previous = Some((version.clone(), rendered.texts()));
        build::remember_release(root, (tag, *oid, *when), &rendered);
        if missing {
            let date = rendered.plan.as_of.map(|d| d.to_string());
            let before = folders.len();
            for (site, files) in std::mem::take(&mut rendered.sites) {
                if output.published.version(&site, &version).is_none() {
                    folders.push(build::version_folder(
                        &site,
                        &version,
                        &rendered.info,
                        date.clone(),
                        true,
                        files,
                        None,
                    ));
                }
            }
            // A site added to book.toml after this tag has no version of it.
            if folders.len() > before {
                built.push((tag.clone(), version));
            }
        }
        newest = Some(rendered);
    }
    // Problems of versions already published stop everything; a refused tag does not.
    if blocked {
        return Err(diags);
    }
    // The report comes from the newest release: built above, or already published.
    let newest = newest.or_else(|| {
        tags.iter()
            .rev()
            .filter(|(t, _, _)| !config.release.withdrawn.contains_key(t) && !refused.contains(t))
            .map(|(t, _, _)| {
                let version = crate::repo::git::version_of_tag(t, glob);
                build::render(&BuildOptions {
                    no_html: true,
                    ..build::release_request(root, t, &version)
                })
            })
            .find(|r| !r.diags.has_errors())
    });
    let Some(newest) = newest else {
        fail(
            &mut diags, Code::NotReleasable,
            ".git",
            format!("no release tag matching '{glob}' can be published: each is withdrawn or fails the release checks"),
            "tag a commit that passes procsite check --release",
        );
        return Err(diags);
    };
    let (Some(config_n), Some(theme)) = (&newest.config, &newest.theme) else {
        return Err(diags);
    };
    let Some(report) = build::report_files(&newest, config_n, theme, true, &mut diags) else {
        return Err(diags);
    };
    let mut refused_diags = std::mem::take(&mut diags);
    let written = write_tree(output, &config, theme, folders, report, &mut refused_diags)?;
    Ok(PublishSummary {
        out,
        built,
        verified,
        refused,
        notes: written.notes,
        diags: refused_diags,
    })
}

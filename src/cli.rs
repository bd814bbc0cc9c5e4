//! Command-line interface.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};

use crate::build::{self, BuildOptions};
use crate::diag::{display_path, Diagnostics};
use crate::diagfmt::{Counts, Format};
use crate::progress::Progress;

#[derive(Debug, Parser)]
#[command(
    name = "procsite",
    version,
    about = "Publish controlled procedures as one static website per site"
)]
pub struct Cli {
    /// The repository root, where book.toml is.
    #[arg(long, global = true, default_value = ".", value_name = "DIR")]
    pub root: PathBuf,
    /// No progress bar (it is also hidden when stderr is not a terminal or CI is set).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Every diagnostic even when there are many, and how long each stage took.
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// What to read and how strictly: shared by `check` and `build`.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Read this commit or tag straight from git objects, without a checkout.
    #[arg(long = "ref", value_name = "REF")]
    pub refname: Option<String>,
    /// A controlled release: refuse (listing every problem, writing nothing) a dirty or
    /// shallow repository, stale approvals or addenda, links to drafts, approvals below
    /// `[release] approval-evidence`, a tool outside `procsite-version`.
    #[arg(long)]
    pub release: bool,
    /// The as-of date (YYYY-MM-DD) for overdue reviews; default: the built commit's date.
    #[arg(long = "as-of", value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<crate::model::Date>,
}

impl SourceArgs {
    /// Build options for the repository at `root`, reading what these flags say.
    fn options(self, root: PathBuf) -> BuildOptions {
        BuildOptions {
            root,
            refname: self.refname,
            release: self.release,
            as_of: self.as_of,
            ..Default::default()
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate everything and print file:line diagnostics; exit 1 on errors.
    ///
    /// Every diagnostic has a code (docs/diagnostics.md); `[diagnostics]` in book.toml
    /// sets a code's level, except in release mode for the codes that protect a release.
    Check {
        /// text for people; json; github (workflow annotations); gitlab (code quality).
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Exit 1 on warnings too.
        #[arg(long)]
        deny_warnings: bool,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// Build the site websites into the output folder.
    ///
    /// A preview of a committed tree built again with nothing changed (commit, tags,
    /// options, procsite), into an output nobody touched since, is not run again: it
    /// prints what that build printed and writes nothing.
    Build {
        /// Build only this site (repeatable). Default: every site.
        #[arg(long = "site", value_name = "SITE")]
        sites: Vec<String>,
        /// Output folder; overrides [build] output of book.toml.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Version folder name. Default: preview.
        #[arg(long = "version", value_name = "V")]
        version: Option<String>,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// Build every release tag not yet in the output (release mode, from git objects),
    /// verify the versions already there, and update versions.json, latest/ and the portal.
    Publish {
        /// Output folder; overrides [build] output of book.toml.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// A site's documents against global, or what changed for a site between versions.
    Diff {
        /// The site.
        #[arg(long, value_name = "SITE")]
        site: String,
        /// Only this document.
        doc: Option<String>,
        /// The earlier version: a git ref or a published version name.
        #[arg(long, value_name = "V1")]
        from: Option<String>,
        /// The later version (default: the work tree).
        #[arg(long, value_name = "V2")]
        to: Option<String>,
        /// One line per document instead of the diffs.
        #[arg(long)]
        stat: bool,
        /// text, json or html.
        #[arg(long, default_value = "text", value_parser = ["text", "json", "html"])]
        format: String,
    },
    /// Propose a site's adaptation of a global document as the global text: a commit on
    /// a new branch promote/SITE/DOC, made from HEAD without touching the work tree.
    ///
    /// Each piece of the addendum becomes global as it stands, or is kept for the site
    /// (--keep-local, or a question per piece on a terminal): in the addendum, which is
    /// otherwise removed, shrinks and goes back to review; or, with --local-in global, in
    /// the global text inside `::: only site=SITE`. The global document goes to in-review.
    /// Prints what every site would read once the change is approved, and the addenda it
    /// makes stale.
    Promote {
        /// The site whose addendum is promoted.
        #[arg(long, value_name = "SITE")]
        site: String,
        /// The global document's id.
        doc: String,
        /// Keep the piece at this anchor for the site (repeatable).
        #[arg(long = "keep-local", value_name = "ANCHOR")]
        keep_local: Vec<String>,
        /// Ask nothing: every piece not kept with --keep-local becomes global.
        #[arg(long, short)]
        yes: bool,
        /// Where kept pieces go: addendum (it shrinks to them and is re-approved), or
        /// global (inside `::: only site=SITE` in the global text; the addendum is removed).
        #[arg(long = "local-in", default_value = "addendum", value_parser = ["addendum", "global"])]
        local_in: String,
    },
    /// Print the harmonization report: documents × sites, scores, clause coverage,
    /// candidates for harmonization and the trend over the release tags.
    Report {
        /// md, json, csv or html.
        #[arg(long, default_value = "md", value_parser = ["md", "json", "csv", "html"])]
        format: String,
        /// Only the candidates for harmonization: operations several sites make alike,
        /// and documents most sites adapt, each with a `procsite promote` command line.
        #[arg(long, conflicts_with = "trend")]
        candidates: bool,
        /// Only the trend: each site's score, adapted, stale and site-only documents and
        /// re-review times at each release tag up to the built commit.
        #[arg(long)]
        trend: bool,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// Create a new repository of controlled procedures that checks and builds at once.
    ///
    /// Writes into DIR (created if missing):
    ///   book.toml                                    the book, two sites (austin: FDA;
    ///                                                galway: EU and FDA), document types
    ///   procedures/global/sop/SOP-0010.md            a global SOP, approved and in force
    ///   procedures/sites/galway/SOP-0010-galway.md   Galway's addendum to it (append to
    ///                                                #responsibilities, replace #records)
    ///   procedures/sites/austin/WI-AUS-001.md        a work instruction of Austin only
    ///   .gitignore                                   ignores the output folder, public/
    ///
    /// When DIR is not inside a git repository, it also runs `git init` there and commits
    /// these files, as your git user.name and user.email, or, when none is configured,
    /// as "procsite init <init@procsite.invalid>". Inside an existing repository it
    /// commits nothing: review the files and commit them yourself.
    ///
    /// It never overwrites: if any of these files exists, it names them all and writes
    /// nothing.
    ///
    /// With --demo, DIR must be new or empty: it becomes a git repository of its own
    /// holding the quality system of Brightwater Medical Devices (three sites: raleigh,
    /// limerick, tuttlingen; FDA and EU markets), with a nine-month history of commits at
    /// fixed dates and three release tags (release/2026.1, release/2026.2,
    /// release/2026.3): drafts, approvals recorded with Approved-by trailers, a document
    /// made obsolete by its successor, a site addendum re-approved after its global
    /// procedure changed, a revision approved but effective after the last release, and
    /// a draft in review since. Then run `procsite publish && procsite verify public` there.
    #[command(verbatim_doc_comment)]
    Init {
        /// The folder of the new repository.
        #[arg(default_value = ".", value_name = "DIR")]
        dir: PathBuf,
        /// Write a demo repository with a released history instead of the scaffold.
        #[arg(long)]
        demo: bool,
    },
    /// Serve a preview of the work tree from memory, rebuilt on every change, with live reload.
    Serve {
        /// Serve only this site (repeatable). Default: every site.
        #[arg(long = "site", value_name = "SITE")]
        sites: Vec<String>,
        /// The port; 0 picks a free one.
        #[arg(long, default_value_t = 3000, value_name = "P")]
        port: u16,
        /// Listen on this address instead of 127.0.0.1 (the preview becomes visible to the network).
        #[arg(long, value_name = "ADDR")]
        bind: Option<std::net::IpAddr>,
    },
    /// Write a complete electronic copy of one site version into a new folder: the
    /// composed Markdown of every document (its SHA-256 is the page's content hash),
    /// history.json, changes.json and a manifest.json that `procsite verify` checks.
    Export {
        /// The site to export.
        #[arg(long)]
        site: String,
        /// A released version (default: the newest release), or `preview` for the
        /// uncontrolled work tree.
        #[arg(long)]
        version: Option<String>,
        /// A new or empty folder.
        dir: PathBuf,
    },
    /// Check a published version, or a whole output folder, against its manifest.json.
    Verify {
        /// A site version folder (holding manifest.json) or an output folder.
        dir: PathBuf,
        /// Also rebuild every released version from its release tag in this repository
        /// and compare byte for byte: the strongest check a deployed copy can get.
        #[arg(long, value_name = "REPO")]
        source: Option<PathBuf>,
    },
}

/// How a command speaks to the person running it.
#[derive(Debug, Clone, Copy)]
struct Ui {
    verbose: bool,
    quiet: bool,
}

impl Ui {
    fn progress(self) -> Progress {
        Progress::on_terminal(self.quiet)
    }

    /// Prints the diagnostics of a failed command with its summary line; exit code 1.
    fn failed(self, what: &str, diags: Diagnostics, nothing_written: bool) -> ExitCode {
        // A write that stopped part-way, or an interrupted one this run finished or
        // undid, changed the output: the summary must not say otherwise.
        let partial = diags.any_starts_with(crate::output::PARTIAL)
            || diags.any_starts_with(crate::output::RECOVERED);
        let Counts { errors, warnings } = self.print_diagnostics(diags);
        let tail = if nothing_written && !partial {
            "; nothing was written, the output is as it was"
        } else {
            ""
        };
        eprintln!("{what} failed: {errors} error(s), {warnings} warning(s){tail}");
        ExitCode::from(1)
    }

    /// Prints the diagnostics (many warnings of one code shortened unless verbose)
    /// and counts them (a diagnostic reported twice is printed, and counted, once).
    fn print_diagnostics(self, diags: Diagnostics) -> Counts {
        let sorted = diags.into_sorted();
        eprint!("{}", crate::diagfmt::to_text(&sorted, self.verbose));
        Counts::of(&sorted)
    }

    /// The report of `publish`: what it published, what it refused.
    fn published(self, result: Result<crate::publish::PublishSummary, Diagnostics>) -> ExitCode {
        match result {
            Ok(summary) => {
                let Counts { errors, warnings } = self.print_diagnostics(summary.diags);
                print_notes(&summary.notes);
                for (tag, version) in &summary.built {
                    println!("published {tag} as version {version}");
                }
                println!(
                    "{} new version(s), {} published site version(s) verified unchanged, into {}{}",
                    summary.built.len(),
                    summary.verified,
                    display_path(summary.out.strip_prefix(".").unwrap_or(&summary.out)),
                    warned(warnings)
                );
                // The head of the chain page → version manifest → versions.json and
                // output manifest: a reader who kept this hash can check any later copy.
                if let Ok(bytes) = std::fs::read(summary.out.join(crate::layout::MANIFEST_FILE)) {
                    println!(
                        "output manifest.json sha256 {}: keep it with the release record",
                        crate::manifest::sha256_hex(&bytes)
                    );
                }
                if summary.refused.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    eprintln!(
                        "publish failed: {errors} error(s); not published: {}; everything else above was published",
                        summary.refused.join(", ")
                    );
                    ExitCode::from(1)
                }
            }
            Err(diags) => self.failed("publish", diags, true),
        }
    }

    /// The diagnostics a build said, shortened unless verbose.
    fn said(self, said: &crate::last_build::Said) {
        eprint!(
            "{}",
            if self.verbose {
                &said.diagnostics_verbose
            } else {
                &said.diagnostics
            }
        );
    }

    /// The report of a build that ran: its diagnostics, what it wrote.
    fn built(
        self,
        summary: &crate::publish::BuildSummary,
        said: &crate::last_build::Said,
        started: Instant,
    ) -> ExitCode {
        self.said(said);
        self.timings(&summary.timings);
        if let (true, Some((taken, of))) = (self.verbose, summary.pages_taken) {
            eprintln!("  {taken} of {of} document pages unchanged since the last build into this output, taken from it");
        }
        if let (true, Some([(pieces, of_pieces), (words, of_words)])) = (self.verbose, summary.memo)
        {
            eprintln!("  {pieces} of {of_pieces} pieces of text rendered, and the search words of {words} of {of_words} texts read: the others kept from earlier builds");
        }
        print_notes(&summary.notes);
        for site in &summary.unchanged {
            println!(
                "version {} of site {site} is already published with the same bytes; left as it is",
                summary.version
            );
        }
        println!(
            "built {} site(s): {} document(s), {} page(s), {}, version {} into {} in {:.2} s{}",
            said.sites,
            said.documents,
            said.pages,
            size(said.bytes),
            said.version,
            display_path(&said.out),
            started.elapsed().as_secs_f64(),
            warned(said.warnings)
        );
        println!("open {}", display_path(&said.out.join("index.html")));
        ExitCode::SUCCESS
    }

    /// The report of a build answered from the record of the same build, whose
    /// output nobody touched since: what that build said, and that nothing was written.
    fn unchanged(self, said: &crate::last_build::Said, started: Instant) -> ExitCode {
        self.said(said);
        self.timings(&[("compare with the last build", started.elapsed())]);
        println!(
            "nothing to build: {} already holds this build of commit {} ({} site(s): {} document(s), {} page(s), {}, version {}), untouched since; checked in {:.2} s{}",
            display_path(&said.out),
            crate::repo::git::short_id(&said.commit),
            said.sites,
            said.documents,
            said.pages,
            size(said.bytes),
            said.version,
            started.elapsed().as_secs_f64(),
            warned(said.warnings)
        );
        println!("open {}", display_path(&said.out.join("index.html")));
        ExitCode::SUCCESS
    }

    /// With --verbose, how long each stage took.
    fn timings(self, timings: &[(&'static str, std::time::Duration)]) {
        if self.verbose {
            print_timings(timings);
        }
    }
}

/// How long each stage took, one line each, on stderr.
pub(crate) fn print_timings(timings: &[(&'static str, std::time::Duration)]) {
    for (stage, took) in timings {
        eprintln!("  {:>8.3} s  {stage}", took.as_secs_f64());
    }
}

/// " (3 warning(s))" at the end of a summary, or nothing.
fn warned(warnings: usize) -> String {
    if warnings > 0 {
        format!(" ({warnings} warning(s))")
    } else {
        String::new()
    }
}

/// "1.2 MB" and the like, for summaries.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{:.1} kB", b as f64 / 1e3),
        b => format!("{b} bytes"),
    }
}

/// What the output's owner says besides errors: recovered leftovers, a stale lock.
fn print_notes(notes: &[String]) {
    for n in notes {
        eprintln!("warning: {n}");
    }
}

fn parse_date(s: &str) -> Result<crate::model::Date, String> {
    crate::model::Date::parse(s)
}

fn promote(
    ui: Ui,
    root: &std::path::Path,
    site: &str,
    doc: &str,
    keep_local: &[String],
    yes: bool,
    local_in: crate::promote::LocalIn,
) -> ExitCode {
    let prepared = match crate::promote::prepare(root, site, doc) {
        Ok(p) => p,
        Err(d) => return ui.failed("promote", d, false),
    };
    if !prepared.dirty.is_empty() {
        eprintln!(
            "note: promote works from HEAD's commit; the uncommitted changes to {} file(s) are not part of it and stay as they are",
            prepared.dirty.len()
        );
    }
    use std::io::IsTerminal;
    let kept = if !keep_local.is_empty() {
        prepared.kept_by_anchor(keep_local)
    } else if !yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        Ok(crate::promote::ask::ask(
            prepared.pieces(),
            &display_path(prepared.addendum_path()),
            &mut std::io::stdin().lock(),
            &mut std::io::stderr(),
        ))
    } else {
        Ok(Default::default())
    };
    let result = kept.and_then(|k| prepared.promote(&k, local_in));
    match result {
        Ok(p) => {
            print!("{}", crate::promote::to_text(&p));
            ExitCode::SUCCESS
        }
        Err(d) => ui.failed("promote", d, false),
    }
}

fn verify(dir: &std::path::Path) -> ExitCode {
    match crate::output::verify_any(dir) {
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
        Ok(v) => {
            for n in &v.notes {
                eprintln!("note: {n}");
            }
            for p in &v.problems {
                eprintln!("{p}");
            }
            let files: usize = v.versions.iter().map(|(_, n)| n).sum();
            if v.problems.is_empty() {
                println!(
                    "verified {} version(s), {files} file(s): every file matches its manifest",
                    v.versions.len()
                );
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "verification failed: {} problem(s) in {} version(s)",
                    v.problems.len(),
                    v.versions.len()
                );
                ExitCode::from(1)
            }
        }
    }
}

pub fn run(cli: Cli) -> ExitCode {
    let ui = Ui {
        verbose: cli.verbose,
        quiet: cli.quiet,
    };
    match cli.command {
        Command::Init { dir, demo: false } => crate::init::run(&cli.root.join(dir)),
        Command::Init { dir, demo: true } => crate::init::run_demo(&cli.root.join(dir)),
        Command::Verify { dir, source: None } => verify(&dir),
        Command::Verify {
            dir,
            source: Some(repo),
        } => {
            let manifests = verify(&dir);
            if manifests != ExitCode::SUCCESS {
                return manifests;
            }
            match crate::rebuild::verify_source(&dir, &repo) {
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
                Ok(r) if r.problems.is_empty() => {
                    println!(
                        "rebuilt {} released version folder(s) from their tags: all {} file(s) are byte for byte what the source builds",
                        r.compared.len(),
                        r.files
                    );
                    ExitCode::SUCCESS
                }
                Ok(r) => {
                    for p in &r.problems {
                        eprintln!("{p}");
                    }
                    eprintln!(
                        "verification against the source failed: {} difference(s) in {} released version folder(s)",
                        r.problems.len(),
                        r.compared.len()
                    );
                    ExitCode::from(1)
                }
            }
        }
        Command::Export { site, version, dir } => {
            let target = if cli.root == std::path::Path::new(".") {
                dir.clone()
            } else {
                cli.root.join(&dir)
            };
            match crate::export::export(&cli.root, &site, version.as_deref(), &target) {
                Ok(e) => {
                    if !ui.quiet {
                        println!(
                            "exported site {} version {}: {} document(s), {} file(s) into {}; manifest.json sha256 {}",
                            e.site,
                            e.version,
                            e.documents,
                            e.files,
                            crate::diag::display_path(&dir),
                            e.manifest_sha256
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(d) => ui.failed("export", d, true),
            }
        }
        Command::Serve { sites, port, bind } => {
            crate::serve::run(cli.root, sites, port, bind, cli.verbose)
        }
        Command::Diff {
            site,
            doc,
            from,
            to,
            stat,
            format,
        } => {
            match crate::diffcmd::diff(
                &cli.root,
                &site,
                doc.as_deref(),
                from.as_deref(),
                to.as_deref(),
            ) {
                Ok(r) if format == "html" => match crate::diffcmd::to_html(&cli.root, &r) {
                    Ok(page) => {
                        print!("{page}");
                        ExitCode::SUCCESS
                    }
                    Err(d) => ui.failed("diff", d, false),
                },
                Ok(r) if format == "json" => {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&r).expect("the diff serializes")
                    );
                    ExitCode::SUCCESS
                }
                Ok(r) => {
                    print!("{}", crate::diffcmd::to_text(&r, stat));
                    ExitCode::SUCCESS
                }
                Err(diags) => ui.failed("diff", diags, false),
            }
        }
        Command::Promote {
            site,
            doc,
            keep_local,
            yes,
            local_in,
        } => {
            let local_in = if local_in == "global" {
                crate::promote::LocalIn::Global
            } else {
                crate::promote::LocalIn::Addendum
            };
            promote(ui, &cli.root, &site, &doc, &keep_local, yes, local_in)
        }
        Command::Report {
            format,
            candidates,
            trend,
            source,
        } => {
            if (candidates || trend) && format == "html" {
                eprintln!(
                    "error: --{} prints md, json or csv; the HTML report holds it as a section (procsite report --format html)",
                    if candidates { "candidates" } else { "trend" }
                );
                return ExitCode::from(1);
            }
            let opts = BuildOptions {
                no_html: true,
                ..source.options(cli.root)
            };
            let rendered = build::render(&opts);
            let (Some(config), Some(theme)) = (&rendered.config, &rendered.theme) else {
                return ui.failed("report", rendered.diags, false);
            };
            if rendered.diags.has_errors() {
                return ui.failed("report", rendered.diags, false);
            }
            let mut report = crate::report::assemble(config, &rendered.cells, &rendered.titles);
            report.trend = rendered.trend.clone();
            if candidates {
                print!(
                    "{}",
                    match format.as_str() {
                        "json" => crate::network::candidates_json(&report.candidates),
                        "csv" => crate::network::candidates_csv(&report.candidates),
                        _ => crate::network::candidates_markdown(&report.candidates),
                    }
                );
                return ExitCode::SUCCESS;
            }
            if trend {
                let t = report.trend.unwrap_or_default();
                print!(
                    "{}",
                    match format.as_str() {
                        "json" => crate::network::trend_json(&t),
                        "csv" => crate::network::trend_csv(&t),
                        _ => crate::network::trend_markdown(&t),
                    }
                );
                return ExitCode::SUCCESS;
            }
            let text = match format.as_str() {
                "json" => crate::report::to_json(&report),
                "csv" => crate::report::to_csv(&report),
                "html" => {
                    let mut d = Diagnostics::new();
                    match build::report_files(&rendered, config, theme, opts.release, &mut d) {
                        Some((files, _)) => String::from_utf8_lossy(&files[0].bytes).into_owned(),
                        None => {
                            ui.print_diagnostics(d);
                            return ExitCode::from(1);
                        }
                    }
                }
                _ => crate::report::to_markdown(&report),
            };
            print!("{text}");
            ExitCode::SUCCESS
        }
        Command::Publish { out } => {
            let progress = ui.progress();
            let result = crate::publish::publish(&cli.root, out, &progress);
            progress.finish();
            ui.published(result)
        }
        Command::Check {
            format,
            deny_warnings,
            source,
        } => {
            let opts = BuildOptions {
                progress: ui.progress(),
                ..source.options(cli.root)
            };
            crate::ends_after_build();
            let mut rendered = build::check_all(&opts);
            opts.progress.finish();
            let sorted = std::mem::take(&mut rendered.diags).into_sorted();
            let Counts { errors, warnings } = Counts::of(&sorted);
            let text = crate::diagfmt::render(format, &sorted, ui.verbose);
            if format == Format::Text {
                eprint!("{text}");
            } else {
                print!("{text}");
            }
            ui.timings(&rendered.timings);
            let documents = rendered.titles.len();
            let sites = rendered.cells.len();
            crate::let_go(rendered);
            if errors > 0 || (deny_warnings && warnings > 0) {
                let why = if errors > 0 { "" } else { " (--deny-warnings)" };
                eprintln!("check failed: {errors} error(s), {warnings} warning(s){why}");
                ExitCode::from(1)
            } else {
                let line = format!(
                    "check passed: {sites} site(s), {documents} document(s), 0 errors, {warnings} warning(s)"
                );
                // Machine output owns stdout.
                if format == Format::Text {
                    println!("{line}");
                } else {
                    eprintln!("{line}");
                }
                ExitCode::SUCCESS
            }
        }
        Command::Build {
            sites,
            out,
            version,
            source,
        } => {
            let started = Instant::now();
            let opts = BuildOptions {
                out,
                sites,
                version,
                progress: ui.progress(),
                ..source.options(cli.root)
            };
            crate::ends_after_build();
            // The same build again over an untouched output is said again, not run.
            let result = crate::last_build::build(&opts);
            opts.progress.finish();
            match result {
                Ok(crate::last_build::Outcome::Ran(summary, said)) => {
                    ui.built(&summary, &said, started)
                }
                Ok(crate::last_build::Outcome::Answered(said)) => ui.unchanged(&said, started),
                Err(diags) => ui.failed("build", diags, true),
            }
        }
    }
}

//! Times procsite on a repository next to git's own tools on the same history:
//!
//! ```sh
//! cargo run --release --example gen_corpus -- --docs 2000 --sites 10 --commits 10000 --out /tmp/corpus
//! cargo run --release --example bench -- /tmp/corpus [--runs 5]
//! ```
//!
//! Any repository with a `book.toml` will do, a real one included. Each round runs every
//! measurement once (interleaved), procsite in a child process so its peak memory is
//! its own; the medians are printed beside two floors measured in the same rounds —
//! A, `git log --name-only -- procedures`, and B, reading every historical text once
//! with `git log --raw` and `git cat-file --batch` — with each target and whether it
//! is met, then the output's economy (history.json, site index, page sizes). Builds
//! after a commit and `serve` after an edit run in a shared clone, so the repository
//! measured is never written.
//!
//! `bench --hostile [--runs N]` instead times `check` on inputs a hostile or careless
//! user can type (20,000 equal headings, 20,000 nested fences, a 100,000-deep quote,
//! a document just under the size limit, a 4 MiB line), each in its own process so
//! its peak memory is its own, next to a plain one-page repository as the floor.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use procsite::build::{self, BuildOptions};
use procsite::diag::Diagnostics;
use procsite::repo::{git::GitRepo, history};

/// A repository with book.toml and one global document of `body`.
fn hostile_repo(body: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("book.toml"),
        "[book]\ntitle = \"T\"\n[site.cork]\nname = \"Cork\"\nmarkets = [\"EU\"]\n",
    )
    .expect("book.toml");
    let docs = dir.path().join("procedures/global");
    std::fs::create_dir_all(&docs).expect("procedures/");
    std::fs::write(
        docs.join("a.md"),
        format!("---\nid: SOP-1\ntitle: T\ntype: SOP\nstatus: draft\n---\n{body}"),
    )
    .expect("document");
    dir
}

/// In a child process: checks one repository, prints seconds and peak RSS in KiB.
fn check_one(root: &str) {
    let t = Instant::now();
    let rendered = build::check_all(&BuildOptions {
        root: PathBuf::from(root),
        ..Default::default()
    });
    let secs = t.elapsed().as_secs_f64();
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .unwrap_or_default();
    let errors = rendered
        .diags
        .into_sorted()
        .iter()
        .filter(|d| d.is_error())
        .count();
    println!("{secs} {peak} {errors}");
}

fn hostile(runs: usize) {
    let cases: Vec<(&str, String)> = vec![
        (
            "plain one-page repository (floor)",
            "## Scope {#scope}\nText.\n".into(),
        ),
        (
            "20,000 equal headings",
            "## Heading same\ntext\n".repeat(20_000),
        ),
        (
            "20,000 nested ::: fences",
            format!(
                "{}x\n{}",
                "::: only market=EU\n".repeat(20_000),
                ":::\n".repeat(20_000)
            ),
        ),
        (
            "100,000-deep block quote",
            format!("{}deep\n", "> ".repeat(100_000)),
        ),
        (
            "7.9 MiB document",
            "A line of a long procedure, repeated.\n".repeat(220_000),
        ),
        ("one 4 MiB line", format!("{}\n", "word ".repeat(800_000))),
    ];
    let repos: Vec<(&str, tempfile::TempDir)> = cases
        .iter()
        .map(|(name, body)| (*name, hostile_repo(body)))
        .collect();
    let exe = std::env::current_exe().expect("own path");
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); repos.len()];
    let mut peaks: Vec<u64> = vec![0; repos.len()];
    let mut errors: Vec<String> = vec![String::new(); repos.len()];
    // Interleaved: each round checks every case once.
    for _ in 0..runs {
        for (i, (_, dir)) in repos.iter().enumerate() {
            let out = Command::new(&exe)
                .args(["--check-one", &dir.path().to_string_lossy()])
                .output()
                .expect("run a check");
            let text = String::from_utf8_lossy(&out.stdout);
            let mut parts = text.split_whitespace();
            times[i].push(
                parts
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(f64::NAN),
            );
            peaks[i] = peaks[i].max(parts.next().and_then(|s| s.parse().ok()).unwrap_or(0));
            errors[i] = parts.next().unwrap_or("?").to_string();
        }
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let floor = med(&mut times[0].clone());
    println!("check on hostile inputs, median of {runs} interleaved runs");
    for (i, (name, _)) in repos.iter().enumerate() {
        let m = med(&mut times[i]);
        println!(
            "  {name:<36} {m:>8.3} s {:>7.1}x floor  peak {:>7.1} MiB  errors {}",
            m / floor,
            peaks[i] as f64 / 1024.0,
            errors[i]
        );
    }
}

/// Peak resident memory of this process so far, in KiB.
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// In a child process: one procsite run of `mode` on `root` (output to `out`); prints
/// seconds and peak RSS in KiB.
fn run_one(mode: &str, root: &str, out: &str) {
    // As `procsite check` and `procsite build` do: the process ends after its build.
    procsite::ends_after_build();
    let t = Instant::now();
    let root = PathBuf::from(root);
    match mode {
        "check" => {
            procsite::let_go(std::hint::black_box(build::check_all(&BuildOptions {
                root,
                ..Default::default()
            })));
        }
        _ => {
            let sites = mode
                .strip_prefix("site=")
                .map(|s| vec![s.to_string()])
                .unwrap_or_default();
            procsite::last_build::build(&BuildOptions {
                root,
                out: Some(PathBuf::from(out)),
                sites,
                ..Default::default()
            })
            .unwrap_or_else(|d| {
                for x in d.into_sorted().iter().take(10) {
                    eprintln!("{x}");
                }
                panic!("build failed");
            });
        }
    }
    println!("{} {}", t.elapsed().as_secs_f64(), peak_kib());
}

/// Runs a command to completion, its output discarded; panics if it fails.
fn run(cmd: &mut Command) {
    let ok = cmd
        .stdout(Stdio::null())
        .status()
        .expect("run a command")
        .success();
    assert!(ok, "{cmd:?} failed");
}

/// Floor B: read every historical text of `procedures/` once with git's own tools —
/// `git log --raw` lists the blobs, `git cat-file --batch` reads each of them.
fn read_every_blob(root: &std::path::Path) -> usize {
    let log = Command::new("git")
        .args([
            "log",
            "--raw",
            "--no-abbrev",
            "--format=",
            "--",
            "procedures",
        ])
        .current_dir(root)
        .output()
        .expect("git log --raw");
    let mut blobs: Vec<&str> = std::str::from_utf8(&log.stdout)
        .expect("utf-8")
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3))
        .filter(|b| b.bytes().any(|c| c != b'0'))
        .collect();
    blobs.sort_unstable();
    blobs.dedup();
    let mut child = Command::new("git")
        .args(["cat-file", "--batch"])
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("git cat-file --batch");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        for b in &blobs {
            writeln!(stdin, "{b}").expect("feed cat-file");
        }
    }
    assert!(child.wait().expect("cat-file").success());
    blobs.len()
}

/// Bytes and files under `dir`.
fn tree_size(dir: &std::path::Path) -> (u64, usize) {
    let mut bytes = 0;
    let mut files = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let m = e.metadata().expect("metadata");
            if m.is_dir() {
                stack.push(e.path());
            } else {
                bytes += m.len();
                files += 1;
            }
        }
    }
    (bytes, files)
}

/// One measured quantity: its samples, and the floor and target it is judged by.
struct Figure {
    name: &'static str,
    samples: Vec<f64>,
    peak_kib: u64,
}

impl Figure {
    fn new(name: &'static str) -> Figure {
        Figure {
            name,
            samples: Vec::new(),
            peak_kib: 0,
        }
    }
    fn median(&self) -> f64 {
        let mut v = self.samples.clone();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    /// The fastest and the slowest run, so that a figure with outliers shows.
    fn spread(&self) -> (f64, f64) {
        let v = &self.samples;
        (
            v.iter().copied().fold(f64::INFINITY, f64::min),
            v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )
    }
}

fn corpus(root: PathBuf, runs: usize) {
    let exe = std::env::current_exe().expect("own path");
    let shm = std::path::Path::new("/dev/shm");
    let mem = if shm.is_dir() {
        tempfile::tempdir_in(shm).expect("temp dir")
    } else {
        tempfile::tempdir().expect("temp dir")
    };
    let disk = tempfile::tempdir_in(std::env::temp_dir()).expect("temp dir");
    let git = GitRepo::open(&root).expect("a git repository");
    let head = git.resolve(None).expect("HEAD").expect("a commit");
    let walked =
        history::walk(&git, head, procsite::lenient::identity, false).expect("history walk");
    let mut diags = Diagnostics::new();
    let config = procsite::config::load(&procsite::repo::scan::scan_book(&root, &mut diags))
        .unwrap_or_else(|_| panic!("{}: book.toml does not load", root.display()));
    let first_site = config.site.keys().next().expect("a site").clone();
    let site_mode = format!("site={first_site}");

    let mut floor_a = Figure::new("git log --name-only -- procedures (floor A)");
    let mut floor_b = Figure::new("git log --raw + cat-file --batch of every blob (floor B)");
    let mut check = Figure::new("procsite check");
    let mut check_warm = Figure::new("procsite check, warm history cache");
    let mut full = Figure::new("build, all sites, to tmpfs");
    let mut full_warm = Figure::new("build, all sites, warm history cache, to tmpfs");
    let mut again = Figure::new("build again, nothing changed, warm cache, to tmpfs");
    let mut after_commit = Figure::new("build again after a one-line commit, warm cache, tmpfs");
    let mut one = Figure::new("build --site (one site), to tmpfs");
    let mut to_disk = Figure::new("build, all sites, to disk");
    // Run in full: the build before it had the cache off, so no record answers.
    let mut again_disk = Figure::new("build again to disk over its output, warm cache");
    let mut copy = Figure::new("cp -a of that output (floor for the disk)");
    let mut blobs = 0;
    // Clean runs read git with the history cache off; warm runs share one cache,
    // filled before the first round, as CI restores it between runs.
    let cache_dir = tempfile::tempdir().expect("temp dir");
    let warm = cache_dir.path().to_string_lossy().into_owned();
    let child_at = |fig: &mut Figure,
                    root: &std::path::Path,
                    mode: &str,
                    out: &std::path::Path,
                    cache: &str| {
        let o = Command::new(&exe)
            .env(procsite::repo::cache::ENV, cache)
            .args([
                "--run",
                mode,
                &root.to_string_lossy(),
                &out.to_string_lossy(),
            ])
            .output()
            .expect("run procsite");
        assert!(
            o.status.success(),
            "{mode}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let text = String::from_utf8_lossy(&o.stdout);
        let mut parts = text.split_whitespace();
        fig.samples.push(
            parts
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(f64::NAN),
        );
        fig.peak_kib = fig
            .peak_kib
            .max(parts.next().and_then(|s| s.parse().ok()).unwrap_or(0));
    };
    let child_in = |fig: &mut Figure, mode: &str, out: &std::path::Path, cache: &str| {
        child_at(fig, &root, mode, out, cache)
    };
    let child =
        |fig: &mut Figure, mode: &str, out: &std::path::Path| child_in(fig, mode, out, "off");
    child_in(
        &mut Figure::new("fill the cache"),
        "check",
        mem.path(),
        &warm,
    );
    // A clone that takes one commit per round (the corpus itself is never written),
    // built once before the rounds, then rebuilt after each commit over its output.
    let clone = tempfile::tempdir().expect("temp dir");
    run(Command::new("git")
        .args(["clone", "--quiet", "--shared"])
        .arg(&root)
        .arg(clone.path()));
    let edited = first_document(&clone.path().join("procedures/global"));
    let original = std::fs::read_to_string(&edited).expect("read the document");
    let clone_out = mem.path().join("after-commit");
    // The files each rebuild after a commit wrote (new or replaced), of how many.
    let mut rewritten: Vec<usize> = Vec::new();
    let mut files_after = 0;
    child_at(
        &mut Figure::new("first build of the clone"),
        clone.path(),
        "all",
        &clone_out,
        &warm,
    );
    let timed = |fig: &mut Figure, f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        fig.samples.push(t.elapsed().as_secs_f64());
    };
    // Floor A: the names of the files every commit changed, as git lists them.
    let mut log_names = || {
        run(Command::new("git")
            .args(["log", "--name-only", "--format=%H", "--", "procedures"])
            .current_dir(&root))
    };
    // Interleaved: each round runs every measurement once, so a slow moment of the
    // machine touches them all alike.
    for round in 0..runs {
        let fresh = mem.path().join(format!("public-{round}"));
        let on_disk = disk.path().join(format!("public-{round}"));
        let copied = disk.path().join(format!("copy-{round}"));
        timed(&mut floor_a, &mut log_names);
        timed(&mut floor_b, &mut || blobs = read_every_blob(&root));
        child(&mut check, "check", &fresh);
        child_in(&mut check_warm, "check", &fresh, &warm);
        child(&mut full, "all", &fresh);
        let warm_out = mem.path().join(format!("warm-{round}"));
        child_in(&mut full_warm, "all", &warm_out, &warm);
        // The same build again: answered from the record of the one before.
        child_in(&mut again, "all", &warm_out, &warm);
        let _ = std::fs::remove_dir_all(&warm_out);
        one_line_commit(clone.path(), &edited, &original, round);
        let before = files_by_inode(&clone_out);
        child_at(&mut after_commit, clone.path(), "all", &clone_out, &warm);
        let after = files_by_inode(&clone_out);
        rewritten.push(
            after
                .iter()
                .filter(|(p, i)| before.get(*p) != Some(*i))
                .count(),
        );
        files_after = after.len();
        child(
            &mut one,
            &site_mode,
            &mem.path().join(format!("one-{round}")),
        );
        child(&mut to_disk, "all", &on_disk);
        child_in(&mut again_disk, "all", &on_disk, &warm);
        timed(&mut copy, &mut || {
            run(Command::new("cp").arg("-a").arg(&on_disk).arg(&copied))
        });
        let _ = std::fs::remove_dir_all(&copied);
        let _ = std::fs::remove_dir_all(&on_disk);
        if round + 1 < runs {
            let _ = std::fs::remove_dir_all(&fresh);
        }
        let _ = std::fs::remove_dir_all(mem.path().join(format!("one-{round}")));
    }
    let out = mem.path().join(format!("public-{}", runs - 1));
    // serve, in the clone: an edit of one document until the page served shows it,
    // each edit beside a floor A of its own.
    let mut served = Figure::new("serve --site (one site): an edit to the page served");
    let mut floor_serve = Figure::new("floor A, measured beside serve");
    let o = Command::new(&exe)
        .args(["--serve", &clone.path().to_string_lossy(), &first_site])
        .arg(&edited)
        .arg(runs.to_string())
        .output()
        .expect("run serve");
    assert!(
        o.status.success(),
        "serve: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The server prints its own lines too.
    for secs in String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("served "))
    {
        served.samples.push(secs.parse().expect("seconds"));
        timed(&mut floor_serve, &mut log_names);
    }

    println!(
        "repository: {} ({} commits, {} documents and addenda with history, {blobs} historical texts, {} sites)",
        root.display(),
        walked.commits.len(),
        walked.files.len(),
        config.site.len()
    );
    println!("median of {runs} interleaved runs [the fastest to the slowest]; peak memory is the largest of the runs");
    let (a, b) = (floor_a.median(), floor_b.median());
    for f in [
        &floor_a,
        &floor_b,
        &check,
        &check_warm,
        &full,
        &full_warm,
        &again,
        &after_commit,
        &one,
        &to_disk,
        &again_disk,
        &copy,
        &served,
        &floor_serve,
    ] {
        let m = f.median();
        let peak = if f.peak_kib > 0 {
            format!("  peak {:>4.0} MiB", f.peak_kib as f64 / 1024.0)
        } else {
            String::new()
        };
        let (low, high) = f.spread();
        println!(
            "  {:<58} {m:>8.3} s  {:>6.2}x A  {:>5.2}x B  [{low:.3} to {high:.3} s]{peak}",
            f.name,
            m / a,
            m / b
        );
    }
    println!("targets");
    let verdict = |ok: bool| if ok { "met" } else { "NOT MET" };
    let full_m = full.median();
    let lines = [
        (
            format!("full build <= 1.2x floor B: {:.2}x", full_m / b),
            full_m <= 1.2 * b,
        ),
        (
            format!(
                "full build, warm cache <= 3x floor A: {:.2}x",
                full_warm.median() / a
            ),
            full_warm.median() <= 3.0 * a,
        ),
        (
            format!("check <= floor B: {:.2}x", check.median() / b),
            check.median() <= b,
        ),
        (
            format!(
                "check, warm cache <= 1.5x floor A: {:.2}x",
                check_warm.median() / a
            ),
            check_warm.median() <= 1.5 * a,
        ),
        (
            format!(
                "to disk <= tmpfs + 1.2x cp -a: {:.3} s against {:.3} s",
                to_disk.median(),
                full_m + 1.2 * copy.median()
            ),
            to_disk.median() <= full_m + 1.2 * copy.median(),
        ),
        (
            format!(
                "peak memory of the full build <= 500 MiB: {:.0} MiB",
                full.peak_kib as f64 / 1024.0
            ),
            full.peak_kib <= 500 * 1024,
        ),
        (
            format!("all sites <= 1.3x one site: {:.2}x", full_m / one.median()),
            full_m <= 1.3 * one.median(),
        ),
        (
            format!(
                "one commit to one document: rebuild < 1 s: {:.3} s",
                after_commit.median()
            ),
            after_commit.median() < 1.0,
        ),
        (
            {
                rewritten.sort_unstable();
                format!(
                    "one commit to one document: the rebuild writes only what changed: {} of {files_after} files (median)",
                    rewritten[rewritten.len() / 2]
                )
            },
            // A dozen files per site: the document's pages, the index, changes,
            // search index, history.json, manifest, harmonization, versions.
            rewritten[rewritten.len() / 2] <= 16 * config.site.len() + 4,
        ),
        (
            format!("nothing changed: rebuild < 0.5 s: {:.3} s", again.median()),
            again.median() < 0.5,
        ),
        (
            format!(
                "serve: an edit to the reloaded page < 300 ms: {:.3} s ({:.1}x its floor A)",
                served.median(),
                served.median() / floor_serve.median()
            ),
            served.median() < 0.3,
        ),
    ];
    for (text, ok) in lines {
        println!("  {:<7} {text}", verdict(ok));
    }

    // Output economy, from the last full build.
    let (bytes, files) = tree_size(&out);
    println!("output: {:.1} MB in {files} files", bytes as f64 / 1e6);
    let mut worst_history = 0;
    let mut worst_index = 0;
    let mut economy = PageEconomy::default();
    let mut diffs = 0;
    for site in config.site.keys() {
        let dir = out.join(site).join("preview");
        let size = |name: &str| std::fs::metadata(dir.join(name)).map_or(0, |m| m.len());
        worst_history = worst_history.max(size("history.json"));
        worst_index = worst_index.max(size("index.html"));
        diffs += std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".diff.html"))
            .count();
        economy.add_site(&root, &dir);
    }
    println!(
        "  {:<7} largest history.json < 3 MB: {:.2} MB",
        verdict(worst_history < 3_000_000),
        worst_history as f64 / 1e6
    );
    println!(
        "  {:<7} largest site index < 400 KB: {:.0} KB",
        verdict(worst_index < 400_000),
        worst_index as f64 / 1e3
    );
    economy.print(diffs);
}

/// Document pages against the Markdown they show. A page may be 1.5x its Markdown plus
/// a fixed header: what a page has beyond 1.5x its Markdown must not grow with the
/// document's history, so pages of long histories are compared with short ones.
#[derive(Default)]
struct PageEconomy {
    pages: u64,
    page_bytes: u64,
    source_bytes: u64,
    /// The most a page has beyond 1.5x its Markdown: [short history, long history].
    beyond: [f64; 2],
    longest: u64,
}

impl PageEconomy {
    /// Each document of the version folder `dir`, from its history.json: its page, and
    /// its source file in the repository at `root` (the text without site addenda).
    fn add_site(&mut self, root: &std::path::Path, dir: &std::path::Path) {
        let Ok(text) = std::fs::read(dir.join("history.json")) else {
            return;
        };
        let record: serde_json::Value = serde_json::from_slice(&text).expect("history.json");
        for doc in record["documents"].as_array().into_iter().flatten() {
            let (Some(id), Some(source)) = (doc["id"].as_str(), doc["source"].as_str()) else {
                continue;
            };
            let (Ok(page), Ok(md)) = (
                std::fs::metadata(dir.join(format!("{id}.html"))),
                std::fs::metadata(root.join(source)),
            ) else {
                continue;
            };
            let changes = doc["changes"].as_u64().unwrap_or(0);
            let long = changes > procsite::render::HISTORY_ON_PAGE as u64;
            let beyond = page.len() as f64 - 1.5 * md.len() as f64;
            self.beyond[long as usize] = self.beyond[long as usize].max(beyond);
            self.longest = self.longest.max(changes);
            self.pages += 1;
            self.page_bytes += page.len();
            self.source_bytes += md.len();
        }
    }

    fn print(&self, diffs: usize) {
        let n = self.pages.max(1) as f64;
        let [short, long] = self.beyond;
        println!(
            "  {:<7} document page <= 1.5x its Markdown + a fixed header: beyond 1.5x, at most {:.1} KB with <= {} changes, {:.1} KB with more (up to {}); {:.1} KB on average for {:.1} KB of Markdown ({:.2}x); {diffs} diff pages",
            if long <= short * 1.1 { "met" } else { "NOT MET" },
            short / 1e3,
            procsite::render::HISTORY_ON_PAGE,
            long / 1e3,
            self.longest,
            self.page_bytes as f64 / n / 1e3,
            self.source_bytes as f64 / n / 1e3,
            self.page_bytes as f64 / self.source_bytes.max(1) as f64,
        );
    }
}

/// Serves `site` of the repository at `root` and edits `file` `runs` times; prints,
/// a line each, the seconds from the edit to the page served showing it.
fn serve_one(root: &str, site: &str, file: &std::path::Path, runs: usize) {
    use std::io::{Read, Write};
    let server = procsite::serve::Server::start(procsite::serve::ServeOptions {
        root: PathBuf::from(root),
        sites: vec![site.to_string()],
        port: 0,
        ..Default::default()
    })
    .expect("serve starts");
    let id = file.file_stem().expect("a file name").to_string_lossy();
    let target = format!("/{site}/preview/{id}.html");
    let original = std::fs::read_to_string(file).expect("read the document");
    let page = |addr: std::net::SocketAddr| {
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        write!(
            s,
            "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut reply = String::new();
        s.read_to_string(&mut reply).expect("read");
        reply
    };
    for round in 0..runs {
        let word = format!("Served{round}x");
        let text = format!("{}\n{word} edit.\n", original.trim_end());
        // Saved in one step, as editors do, so no build reads it half-written.
        let scratch = file.with_extension("md.tmp");
        std::fs::write(&scratch, text).expect("write the edit");
        let before = server.generation();
        let t = Instant::now();
        std::fs::rename(&scratch, file).expect("save the edit");
        loop {
            if server.generation() > before && page(server.addr()).contains(&word) {
                break;
            }
            assert!(t.elapsed().as_secs() < 300, "serve never showed the edit");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        println!("served {}", t.elapsed().as_secs_f64());
    }
    std::fs::write(file, original).expect("restore the document");
    server.stop();
}

/// The first Markdown file under `dir`, by path.
fn first_document(dir: &std::path::Path) -> PathBuf {
    let mut found: Vec<PathBuf> = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                found.push(p);
            }
        }
    }
    found.sort();
    found.into_iter().next().expect("a global document")
}

/// Every file under `dir`, by path, with its inode: a file a build wrote afresh has
/// a new one, a file it linked as unchanged keeps its own.
fn files_by_inode(dir: &std::path::Path) -> std::collections::BTreeMap<PathBuf, u64> {
    use std::os::unix::fs::MetadataExt;
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| Some((e.path().to_path_buf(), e.metadata().ok()?.ino())))
        .collect()
}

/// Writes `original` with one line naming the round to `file` in the clone at
/// `root` and commits it: the first round adds the line, each later one changes its
/// last word. The commit is dated a minute after the one before, as the next commit
/// of the repository's history would be: dated by the clock, the first round's would
/// move the as-of date of an old repository by years.
fn one_line_commit(root: &std::path::Path, file: &std::path::Path, original: &str, round: usize) {
    let text = format!("{}\nEdited in round {round}.\n", original.trim_end());
    std::fs::write(file, text).expect("write the document");
    let last = Command::new("git")
        .current_dir(root)
        .args(["log", "-1", "--format=%ct"])
        .output()
        .expect("git log");
    let date = format!(
        "@{} +0000",
        String::from_utf8_lossy(&last.stdout)
            .trim()
            .parse::<i64>()
            .expect("a commit time")
            + 60
    );
    run(Command::new("git")
        .current_dir(root)
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .args([
            "-c",
            "user.name=Bench",
            "-c",
            "user.email=bench@example.com",
            "commit",
            "--quiet",
            "--all",
            "--message",
        ])
        .arg(format!("One word, round {round}")));
}

fn main() {
    let mut args = std::env::args().skip(1);
    let first = args
        .next()
        .expect("usage: bench REPO [--runs N] | bench --hostile [--runs N]");
    if first == "--check-one" {
        check_one(&args.next().expect("a repository"));
        return;
    }
    if first == "--serve" {
        let root = args.next().expect("a repository");
        let site = args.next().expect("a site");
        let file = PathBuf::from(args.next().expect("a document"));
        let runs = args.next().and_then(|n| n.parse().ok()).expect("runs");
        serve_one(&root, &site, &file, runs);
        return;
    }
    if first == "--run" {
        procsite::set_up_threads_and_malloc();
        let mode = args.next().expect("a mode");
        let root = args.next().expect("a repository");
        let out = args.next().expect("an output folder");
        run_one(&mode, &root, &out);
        return;
    }
    let runs = match (args.next().as_deref(), args.next()) {
        (Some("--runs"), Some(n)) => n.parse().expect("--runs N"),
        _ => 5,
    };
    if first == "--hostile" {
        hostile(runs);
    } else {
        corpus(PathBuf::from(first), runs);
    }
}

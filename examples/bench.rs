//! Times procsite on a repository next to `git log` on the same history:
//!
//! ```sh
//! cargo run --release --example gen_corpus -- --docs 2000 --sites 10 --commits 10000 --out /tmp/corpus
//! cargo run --release --example bench -- /tmp/corpus [--runs 5]
//! ```
//!
//! Prints the median of each phase and its ratio to
//! `git log --name-only --format=%H -- procedures`.
//!
//! `bench --hostile [--runs N]` instead times `check` on inputs a hostile or careless
//! user can type (20,000 equal headings, 20,000 nested fences, a 100,000-deep quote,
//! a document just under the size limit, a 4 MiB line), each in its own process so
//! its peak memory is its own, next to a plain one-page repository as the floor.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use procsite::build::{self, BuildOptions};
use procsite::diag::Diagnostics;
use procsite::repo::{self, git::GitRepo, history};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

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

fn main() {
    let mut args = std::env::args().skip(1);
    let first = args
        .next()
        .expect("usage: bench REPO [--runs N] | bench --hostile [--runs N]");
    if first == "--check-one" {
        check_one(&args.next().expect("a repository"));
        return;
    }
    if first == "--hostile" {
        let runs = match (args.next().as_deref(), args.next()) {
            (Some("--runs"), Some(n)) => n.parse().expect("--runs N"),
            _ => 5,
        };
        hostile(runs);
        return;
    }
    let root = PathBuf::from(first);
    let runs: usize = match (args.next().as_deref(), args.next()) {
        (Some("--runs"), Some(n)) => n.parse().expect("--runs N"),
        _ => 5,
    };

    let git_log = time(runs, || {
        let ok = Command::new("git")
            .args(["log", "--name-only", "--format=%H", "--", "procedures"])
            .current_dir(&root)
            .stdout(Stdio::null())
            .status()
            .expect("run git log")
            .success();
        assert!(ok, "git log failed");
    });

    let git = GitRepo::open(&root).expect("a git repository");
    let head = git.resolve(None).expect("HEAD").expect("a commit");
    let mut commits = 0;
    let mut files = 0;
    let walk = time(runs, || {
        let h = history::walk(&git, head, procsite::lenient::identity).expect("history walk");
        commits = h.commits.len();
        files = h.files.len();
    });

    let read = time(runs, || {
        let mut d = Diagnostics::new();
        repo::read(&root, None, procsite::lenient::identity, &mut d).expect("sources")
    });

    // Output goes to memory where the machine has it (/dev/shm), so the figure is
    // procsite's work rather than the disk's.
    let shm = std::path::Path::new("/dev/shm");
    let out = if shm.is_dir() {
        tempfile::tempdir_in(shm).expect("temp dir")
    } else {
        tempfile::tempdir().expect("temp dir")
    };
    let opts = BuildOptions {
        root: root.clone(),
        out: Some(out.path().join("public")),
        ..Default::default()
    };
    let mut pages = 0;
    let full = time(runs, || {
        let summary = procsite::publish::build(&opts).unwrap_or_else(|d| {
            for x in d.into_sorted().iter().take(10) {
                eprintln!("{x}");
            }
            panic!("build failed");
        });
        pages = summary.sites.iter().map(|(_, n)| n).sum::<usize>();
    });

    let mut phases = Vec::new();
    let in_memory = time(runs, || {
        phases = build::render(&BuildOptions {
            root: root.clone(),
            ..Default::default()
        })
        .timings;
    });

    let ratio = |d: Duration| d.as_secs_f64() / git_log.as_secs_f64();
    println!(
        "repository: {} ({commits} commits, {files} documents and addenda with history)",
        root.display()
    );
    println!("median of {runs} runs");
    println!(
        "  git log --name-only -- procedures   {:>8.3} s   1.00x",
        git_log.as_secs_f64()
    );
    println!(
        "  history walk                        {:>8.3} s   {:.2}x",
        walk.as_secs_f64(),
        ratio(walk)
    );
    println!(
        "  read sources + walk                 {:>8.3} s   {:.2}x",
        read.as_secs_f64(),
        ratio(read)
    );
    println!(
        "  full build, all sites ({pages} pages) {:>8.3} s   {:.2}x",
        full.as_secs_f64(),
        ratio(full)
    );
    println!(
        "  build in memory, all sites          {:>8.3} s   {:.2}x",
        in_memory.as_secs_f64(),
        ratio(in_memory)
    );
    println!("  (output written to {})", out.path().display());
    println!("phases of one build in memory");
    for (phase, d) in phases {
        println!("  {phase:<34}  {:>8.3} s", d.as_secs_f64());
    }
}

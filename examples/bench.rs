//! Times procsite on a repository next to `git log` on the same history:
//!
//! ```sh
//! cargo run --release --example gen_corpus -- --docs 2000 --sites 10 --commits 10000 --out /tmp/corpus
//! cargo run --release --example bench -- /tmp/corpus [--runs 5]
//! ```
//!
//! Prints the median of each phase and its ratio to
//! `git log --name-only --format=%H -- procedures`.

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

fn main() {
    let mut args = std::env::args().skip(1);
    let root = PathBuf::from(args.next().expect("usage: bench REPO [--runs N]"));
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

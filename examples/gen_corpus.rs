//! Generates a large, deterministic procedure repository for benchmarks:
//!
//! ```sh
//! cargo run --release --example gen_corpus -- --docs 2000 --sites 10 --commits 10000 --out /tmp/corpus
//! ```
//!
//! The history is written with `git fast-import`, so 10,000 commits take seconds.
//! The same arguments always give the same repository, commit hashes included.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

struct Args {
    docs: usize,
    sites: usize,
    commits: usize,
    out: PathBuf,
}

fn parse_args() -> Args {
    let mut a = Args {
        docs: 2000,
        sites: 10,
        commits: 10_000,
        out: PathBuf::from("corpus"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--docs" => a.docs = value.parse().expect("--docs N"),
            "--sites" => a.sites = value.parse().expect("--sites N"),
            "--commits" => a.commits = value.parse().expect("--commits N"),
            "--out" => a.out = PathBuf::from(value),
            other => panic!("unknown flag {other}; use --docs --sites --commits --out"),
        }
    }
    a
}

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const MARKETS: [&str; 3] = ["[\"FDA\"]", "[\"EU\"]", "[\"EU\", \"FDA\"]"];

fn site_id(s: usize) -> String {
    format!("site{s:02}")
}

fn book(sites: usize) -> String {
    let mut b =
        String::from("[book]\ntitle = \"Benchmark QMS\"\n\n[build]\noutput = \"public\"\n\n");
    for s in 0..sites {
        let _ = write!(
            b,
            "[site.{}]\nname = \"Site {s}\"\nmarkets = {}\n\n",
            site_id(s),
            MARKETS[s % 3]
        );
    }
    b
}

fn doc_path(i: usize, moved: bool) -> String {
    let area = if moved {
        "moved".to_string()
    } else {
        format!("area{:02}", i % 20)
    };
    format!("procedures/global/{area}/SOP-{i:04}.md")
}

fn doc_text(i: usize, rev: usize, approved: bool) -> String {
    let mut t = format!(
        "---\nid: SOP-{i:04}\ntitle: Procedure {i} on topic {}\ntype: SOP\nowner: Quality\n",
        i % 37
    );
    if approved {
        t.push_str("status: approved\neffective: 2020-06-01\napprovals:\n  - { name: Jane Roe, role: VP Quality, date: 2020-01-01 }\n");
    } else {
        t.push_str("status: draft\n");
    }
    t.push_str("---\n## Purpose {#purpose}\n");
    let _ = writeln!(
        t,
        "This procedure defines control number {i}, revision text {rev}.\n"
    );
    t.push_str("## Scope {#scope}\nApplies to all sites and products.\n\n");
    t.push_str("## Responsibilities {#responsibilities}\n- Quality Assurance approves records.\n- The process owner maintains this procedure.\n\n");
    t.push_str("## Procedure {#procedure}\n");
    for step in 1..=8 {
        let _ = writeln!(
            t,
            "{step}. Perform step {step} of control {i} and record the result (rev {rev})."
        );
    }
    t.push_str("\n::: only market=EU\nReport to the competent authority under MDR Art. 87.\n:::\n\n::: only market=FDA\nFile reports under 21 CFR 803.\n:::\n\n");
    if i > 1 {
        let _ = writeln!(t, "See [the related procedure](SOP-{:04}#scope).\n", i - 1);
    }
    t.push_str("## Records {#records}\nRecords are kept for 15 years.\n");
    t
}

fn addendum_text(i: usize, rev: usize) -> String {
    format!(
        "---\naddendum-to: SOP-{i:04}\nrationale: Local regulator expectations.\nstatus: draft\n---\n::: append #responsibilities\n- The site quality head approves every change (rev {rev}).\n:::\n\n::: replace #records\nRecords are kept for 20 years at this site.\n:::\n"
    )
}

fn main() {
    let args = parse_args();
    assert!(args.docs >= 2 && args.sites >= 1 && args.commits >= 1);
    if args.out.exists() {
        panic!("{} exists; choose a new folder", args.out.display());
    }
    std::fs::create_dir_all(&args.out).expect("create output folder");
    let git = |a: &[&str]| {
        let ok = Command::new("git")
            .args(a)
            .current_dir(&args.out)
            .status()
            .expect("run git")
            .success();
        assert!(ok, "git {a:?} failed");
    };
    git(&["init", "-q", "-b", "main"]);

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut stream = String::new();
    let mut rev = vec![0usize; args.docs + 1];
    let mut moved = vec![false; args.docs + 1];
    // Addenda: each site adapts about one document in twenty.
    let addenda: Vec<(usize, usize)> = (0..args.sites)
        .flat_map(|s| {
            (1..=args.docs)
                .filter(move |i| (i * 7 + s * 13) % 20 == 0)
                .map(move |i| (s, i))
        })
        .collect();
    let mut time: i64 = 1_600_000_000;
    for c in 0..args.commits {
        time += 3_600;
        let mut files: Vec<(String, Option<String>)> = Vec::new();
        let mut message = format!("Change {c}");
        if c == 0 {
            message = "Initial quality system".into();
            files.push(("book.toml".into(), Some(book(args.sites))));
            for i in 1..=args.docs {
                files.push((doc_path(i, false), Some(doc_text(i, 0, true))));
            }
            for (s, i) in &addenda {
                files.push((
                    format!("procedures/sites/{}/SOP-{i:04}.md", site_id(*s)),
                    Some(addendum_text(*i, 0)),
                ));
            }
        } else {
            let touched = 1 + rng.below(3);
            for _ in 0..touched {
                let roll = rng.below(100);
                if roll < 8 && !addenda.is_empty() {
                    let (s, i) = addenda[rng.below(addenda.len())];
                    rev[i] += 1;
                    files.push((
                        format!("procedures/sites/{}/SOP-{i:04}.md", site_id(s)),
                        Some(addendum_text(i, rev[i])),
                    ));
                    continue;
                }
                let i = 1 + rng.below(args.docs);
                rev[i] += 1;
                if roll < 10 && !moved[i] {
                    // A move with edits: the document keeps its history by id.
                    files.push((doc_path(i, false), None));
                    moved[i] = true;
                }
                files.push((
                    doc_path(i, moved[i]),
                    Some(doc_text(i, rev[i], !roll.is_multiple_of(3))),
                ));
            }
            if c % 5 == 0 {
                message.push_str(
                    "\n\nApproved-by: Jane Roe <jane.roe@example.com>\nChange-Control: CC-",
                );
                let _ = write!(message, "{c:05}");
            }
        }
        let _ = write!(stream, "commit refs/heads/main\nmark :{}\n", c + 1);
        let _ = writeln!(
            stream,
            "author Dana Controller <dana@example.com> {time} +0000"
        );
        let _ = writeln!(
            stream,
            "committer Dana Controller <dana@example.com> {time} +0000"
        );
        let _ = write!(stream, "data {}\n{message}\n", message.len());
        if c > 0 {
            let _ = writeln!(stream, "from :{c}");
        }
        for (path, content) in files {
            match content {
                Some(text) => {
                    let _ = write!(
                        stream,
                        "M 100644 inline {path}\ndata {}\n{text}\n",
                        text.len()
                    );
                }
                None => {
                    let _ = writeln!(stream, "D {path}");
                }
            }
        }
        stream.push('\n');
    }
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(&args.out)
        .stdin(Stdio::piped())
        .spawn()
        .expect("run git fast-import");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stream.as_bytes())
        .expect("feed fast-import");
    assert!(
        child.wait().expect("fast-import").success(),
        "git fast-import failed"
    );
    git(&["checkout", "-q", "-f", "main"]);
    println!(
        "generated {} documents, {} sites, {} addenda, {} commits in {}",
        args.docs,
        args.sites,
        addenda.len(),
        args.commits,
        args.out.display()
    );
}

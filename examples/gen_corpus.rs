//! Generates a large, deterministic procedure repository for benchmarks:
//!
//! ```sh
//! cargo run --release --example gen_corpus -- --docs 2000 --sites 10 --commits 10000 --out /tmp/corpus
//! ```
//!
//! The repository has what real ones have: documents of about 8 KB (`--doc-kb`), about
//! a quarter of them adapted at each site (`--adapt-pct`), revisions approved weeks
//! before they take effect (some still pending at the last commit), edits after the
//! last approval (stale approvals), a few documents with hundreds of commits, moves,
//! and `Approved-by:`/`Change-Control:` trailers. `--aggressive` repacks it with
//! `git gc --aggressive` (deep delta chains, as a long-lived repository has).
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
    doc_kb: usize,
    adapt_pct: usize,
    aggressive: bool,
    out: PathBuf,
}

fn parse_args() -> Args {
    let mut a = Args {
        docs: 2000,
        sites: 10,
        commits: 10_000,
        doc_kb: 8,
        adapt_pct: 27,
        aggressive: false,
        out: PathBuf::from("corpus"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--aggressive" {
            a.aggressive = true;
            continue;
        }
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--docs" => a.docs = value.parse().expect("--docs N"),
            "--sites" => a.sites = value.parse().expect("--sites N"),
            "--commits" => a.commits = value.parse().expect("--commits N"),
            "--doc-kb" => a.doc_kb = value.parse().expect("--doc-kb N"),
            "--adapt-pct" => a.adapt_pct = value.parse().expect("--adapt-pct N"),
            "--out" => a.out = PathBuf::from(value),
            other => panic!(
                "unknown flag {other}; use --docs --sites --commits --doc-kb --adapt-pct --aggressive --out"
            ),
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
    b.push_str("[approvers.jroe]\nname = \"Jane Roe\"\nemails = [\"jane.roe@example.com\"]\nroles = [\"VP Quality\"]\n\n");
    b.push_str("[approvers.ssite]\nname = \"Sean Site\"\nemails = [\"sean.site@example.com\"]\nroles = [\"Site Quality Head\"]\n");
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

/// How a revision stands in the front-matter.
#[derive(Clone, Copy)]
enum State {
    Draft,
    /// Approved on day `approved` (days since the epoch), effective `ahead` days later.
    Approved {
        approved: i64,
        ahead: i64,
    },
}

/// A calendar date from days since 1970-01-01.
fn date(days: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

const WORDS: [&str; 24] = [
    "record",
    "verify",
    "batch",
    "equipment",
    "deviation",
    "supplier",
    "label",
    "inspect",
    "calibrate",
    "document",
    "review",
    "approve",
    "sample",
    "release",
    "quarantine",
    "train",
    "clean",
    "assess",
    "risk",
    "trend",
    "escalate",
    "complaint",
    "audit",
    "retain",
];

fn doc_text(i: usize, rev: usize, state: State, kb: usize) -> String {
    let mut t = format!(
        "---\nid: SOP-{i:04}\ntitle: Procedure {i} on topic {}\ntype: SOP\nowner: Quality\n",
        i % 37
    );
    match state {
        State::Approved { approved, ahead } => {
            let _ = write!(
                t,
                "status: approved\neffective: {}\nreview-due: {}\napprovals:\n  - {{ name: Jane Roe, role: VP Quality, date: {} }}\n",
                date(approved + ahead),
                date(approved + ahead + 730),
                date(approved)
            );
        }
        State::Draft => t.push_str("status: draft\n"),
    }
    t.push_str("---\n## Purpose {#purpose}\n");
    let _ = writeln!(
        t,
        "This procedure defines control number {i}, revision text {rev}.\n"
    );
    t.push_str("## Scope {#scope}\nApplies to all sites and products.\n\n");
    t.push_str("## Responsibilities {#responsibilities}\n- Quality Assurance approves records.\n- The process owner maintains this procedure.\n\n");
    t.push_str("## Procedure {#procedure}\n");
    // Numbered steps in sections until the text reaches the asked size.
    let mut step = 0;
    let mut section = 0;
    while t.len() < kb * 1024 {
        step += 1;
        if step % 12 == 0 {
            section += 1;
            let _ = write!(t, "\n### Stage {section} {{#stage-{section}}}\n");
        }
        let w = |k: usize| WORDS[(i * 7 + step * 13 + k * 5 + rev * (k % 2)) % WORDS.len()];
        let _ = writeln!(
            t,
            "{step}. {} the {} and {} the {} of control {i} before you {} it; record the result and who did it (rev {rev}).",
            w(0), w(1), w(2), w(3), w(4)
        );
    }
    t.push_str("\n::: only market=EU\nReport to the competent authority under MDR Art. 87.\n:::\n\n::: only market=FDA\nFile reports under 21 CFR 803.\n:::\n\n");
    if i > 1 {
        let _ = writeln!(t, "See [the related procedure](SOP-{:04}#scope).\n", i - 1);
    }
    t.push_str("## Records {#records}\nRecords are kept for 15 years.\n");
    t
}

fn addendum_text(i: usize, rev: usize, approved: Option<i64>) -> String {
    let status = match approved {
        Some(day) => format!(
            "status: approved\napprovals:\n  - {{ name: Sean Site, role: Site Quality Head, date: {} }}\n",
            date(day)
        ),
        None => "status: draft\n".to_string(),
    };
    format!(
        "---\naddendum-to: SOP-{i:04}\nrationale: Local regulator expectations.\n{status}---\n::: append #responsibilities\n- The site quality head approves every change (rev {rev}).\n:::\n\n::: replace #records\nRecords are kept for 20 years at this site.\n:::\n"
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
    let start_day: i64 = 1_600_000_000 / 86_400;
    // Every document starts approved, in force since before the history begins.
    let mut state = vec![
        State::Approved {
            approved: start_day - 60,
            ahead: 30
        };
        args.docs + 1
    ];
    // Addenda: each site adapts about `adapt_pct` percent of the documents.
    let addenda: Vec<(usize, usize)> = (0..args.sites)
        .flat_map(|s| {
            (1..=args.docs)
                .filter(move |i| (i * 7919 + s * 104_729) % 100 < args.adapt_pct)
                .map(move |i| (s, i))
        })
        .collect();
    // A few documents are edited far more than the rest (hundreds of commits).
    let hot = (args.docs / 200).max(1);
    let mut time: i64 = 1_600_000_000;
    for c in 0..args.commits {
        time += 3_600;
        let day = time / 86_400;
        let mut files: Vec<(String, Option<String>)> = Vec::new();
        let mut message = format!("Change {c}");
        let mut approves = false;
        if c == 0 {
            message = "Initial quality system".into();
            files.push(("book.toml".into(), Some(book(args.sites))));
            for (i, st) in state.iter().enumerate().skip(1) {
                files.push((doc_path(i, false), Some(doc_text(i, 0, *st, args.doc_kb))));
            }
            for (s, i) in &addenda {
                files.push((
                    format!("procedures/sites/{}/SOP-{i:04}.md", site_id(*s)),
                    Some(addendum_text(*i, 0, Some(start_day - 50))),
                ));
            }
        } else {
            let touched = 1 + rng.below(3);
            for _ in 0..touched {
                let roll = rng.below(100);
                if roll < 12 && !addenda.is_empty() {
                    // A site revises its adaptation, approving it half of the time.
                    let (s, i) = addenda[rng.below(addenda.len())];
                    rev[i] += 1;
                    let approved = rng.below(2) == 0;
                    approves |= approved;
                    files.push((
                        format!("procedures/sites/{}/SOP-{i:04}.md", site_id(s)),
                        Some(addendum_text(i, rev[i], approved.then_some(day))),
                    ));
                    continue;
                }
                let i = if rng.below(5) == 0 {
                    1 + rng.below(hot)
                } else {
                    1 + rng.below(args.docs)
                };
                rev[i] += 1;
                if roll < 14 && !moved[i] {
                    // A move with edits: the document keeps its history by id.
                    files.push((doc_path(i, false), None));
                    moved[i] = true;
                }
                let kind = rng.below(100);
                if kind < 45 {
                    // A new revision, approved now and effective up to 60 days later.
                    state[i] = State::Approved {
                        approved: day,
                        ahead: rng.below(61) as i64,
                    };
                    approves = true;
                } else if kind < 75 {
                    // An edit after the approval: the approval goes stale.
                } else {
                    state[i] = State::Draft;
                }
                files.push((
                    doc_path(i, moved[i]),
                    Some(doc_text(i, rev[i], state[i], args.doc_kb)),
                ));
            }
            if approves {
                let who = if files
                    .iter()
                    .any(|(p, _)| p.starts_with("procedures/sites/"))
                {
                    "Sean Site <sean.site@example.com>"
                } else {
                    "Jane Roe <jane.roe@example.com>"
                };
                let _ = write!(
                    message,
                    "\n\nChange-Reason: periodic update\nApproved-by: {who}\nChange-Control: CC-{c:05}"
                );
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
    if args.aggressive {
        git(&["gc", "-q", "--aggressive", "--prune=now"]);
    }
    println!(
        "generated {} documents, {} sites, {} addenda, {} commits in {}",
        args.docs,
        args.sites,
        addenda.len(),
        args.commits,
        args.out.display()
    );
}

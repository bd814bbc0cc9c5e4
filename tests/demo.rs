//! `procsite init --demo`: a repository with a scripted, released history that publishes
//! three versions, verifies, and is the same on every run.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs procsite in `cwd` with an empty home, so no git configuration leaks in.
fn procsite(cwd: &Path, args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_procsite"))
        .args(args)
        .current_dir(cwd)
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("run procsite");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(out: Output) -> Output {
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    out
}

/// A demo written by `init --demo demo` in a new folder under `parent`, and published.
struct Demo {
    dir: PathBuf,
    init: Output,
}

impl Demo {
    fn published_in(parent: &Path) -> Demo {
        let init = ok(procsite(parent, &["init", "--demo", "demo"]));
        let dir = parent.join("demo");
        ok(procsite(&dir, &["publish"]));
        Demo { dir, init }
    }

    /// One published demo for the tests that only read it, made once per run in the
    /// test scratch folder Cargo provides.
    fn shared() -> &'static Demo {
        static DEMO: std::sync::OnceLock<Demo> = std::sync::OnceLock::new();
        DEMO.get_or_init(|| {
            let parent = Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-shared");
            if parent.exists() {
                std::fs::remove_dir_all(&parent).unwrap();
            }
            std::fs::create_dir_all(&parent).unwrap();
            Demo::published_in(&parent)
        })
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    fn exists(&self, rel: &str) -> bool {
        self.dir.join(rel).exists()
    }

    fn repo(&self) -> git2::Repository {
        git2::Repository::open(&self.dir).unwrap()
    }
}

/// The row of `id` in a site index.
fn row<'a>(index: &'a str, id: &str) -> &'a str {
    let row = &index[pos(index, &format!("href=\"{id}.html\""))..];
    &row[..pos(row, "</tr>")]
}

#[test]
fn the_demo_publishes_three_versions_that_verify() {
    let d = Demo::shared();
    assert!(
        d.init.stdout.contains("created demo/book.toml\n")
            && d.init
                .stdout
                .contains("created demo/procedures/sites/tuttlingen/WI-TUT-001.md\n"),
        "{}",
        d.init.stdout
    );
    for line in [
        "  release/2026.1  2026-02-02  ",
        "  release/2026.2  2026-05-04  ",
        "  release/2026.3  2026-09-14  ",
        "  since then: SOP-0080 revision 2 for review: electronic MDR event files\n",
        "next: cd demo && procsite publish && procsite verify public\n",
        "procsite serve",
    ] {
        assert!(d.init.stdout.contains(line), "{line}:\n{}", d.init.stdout);
    }
    let verify = ok(procsite(&d.dir, &["verify", "public"]));
    assert!(
        verify.stdout.starts_with("verified 9 version(s), "),
        "{}",
        verify.stdout
    );
    for site in ["raleigh", "limerick", "tuttlingen"] {
        let versions: serde_json::Value =
            serde_json::from_str(&d.read(&format!("public/{site}/versions.json"))).unwrap();
        let names: Vec<&str> = versions
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["2026.3", "2026.2", "2026.1"],
            "{site}: newest first"
        );
        assert_eq!(
            d.read(&format!("public/{site}/latest/index.html")),
            d.read(&format!("public/{site}/2026.3/index.html")),
            "{site}: latest is 2026.3"
        );
    }
    // The tree is clean and every release passes the release checks at its tag.
    for tag in ["release/2026.1", "release/2026.2", "release/2026.3"] {
        ok(procsite(&d.dir, &["check", "--release", "--ref", tag]));
    }
}

#[test]
fn the_history_has_fixed_dates_and_three_annotated_release_tags() {
    let d = Demo::shared();
    let repo = d.repo();
    let mut clean = git2::StatusOptions::new();
    clean.include_ignored(false).include_untracked(true);
    assert!(
        repo.statuses(Some(&mut clean)).unwrap().is_empty(),
        "a clean work tree"
    );
    let mut walk = repo.revwalk().unwrap();
    walk.push_head().unwrap();
    let commits: Vec<git2::Commit> = walk
        .map(|id| repo.find_commit(id.unwrap()).unwrap())
        .collect();
    assert_eq!(commits.len(), 30);
    let first = commits.last().unwrap();
    assert_eq!(
        (first.time().seconds(), first.time().offset_minutes()),
        (1_767_799_800, -300),
        "2026-01-07 10:30 -05:00"
    );
    let mut tags = Vec::new();
    repo.tag_foreach(|id, name| {
        let tag = repo.find_tag(id).expect("an annotated tag");
        tags.push((
            String::from_utf8_lossy(name).into_owned(),
            tag.tagger().unwrap().when().seconds(),
        ));
        true
    })
    .unwrap();
    assert_eq!(
        tags,
        [
            ("refs/tags/release/2026.1".to_string(), 1_770_039_000),
            ("refs/tags/release/2026.2".to_string(), 1_777_899_600),
            ("refs/tags/release/2026.3".to_string(), 1_789_390_800),
        ]
    );
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    let last_tag = repo
        .revparse_single("release/2026.3^{commit}")
        .unwrap()
        .id();
    assert_eq!(
        head.parent_id(0).unwrap(),
        last_tag,
        "after the last release, one draft"
    );
    assert_eq!(
        head.summary(),
        Some("SOP-0080 revision 2 for review: electronic MDR event files")
    );
}

#[test]
fn the_work_tree_previews_the_draft_after_the_last_release() {
    let d = Demo::shared();
    let check = ok(procsite(&d.dir, &["check", "--deny-warnings"]));
    assert_eq!(
        check.stdout,
        "check passed: 3 site(s), 9 document(s), 0 errors, 0 warning(s)\n"
    );
    let out = tempfile::tempdir().unwrap();
    let out = out.path().join("preview");
    ok(procsite(
        &d.dir,
        &["build", "--site", "raleigh", "--out", out.to_str().unwrap()],
    ));
    let page = std::fs::read_to_string(out.join("raleigh/preview/SOP-0080.html")).unwrap();
    assert!(page.contains("class=\"watermark\""), "a DRAFT watermark");
    assert!(page.contains("Paper event files are no longer opened."));
    // A release check of the same commit sees revision 1 in force.
    ok(procsite(&d.dir, &["check", "--release", "--deny-warnings"]));
}

/// Approvals are evidence only when they name what they approve: every commit with an
/// `Approved-by:` trailer changes one controlled document, records exactly the
/// approvals its trailers name (dated that day), and no effective date precedes them.
#[test]
fn every_approval_commit_changes_one_document_and_records_its_trailers() {
    let d = Demo::shared();
    let repo = d.repo();
    let mut walk = repo.revwalk().unwrap();
    walk.push_head().unwrap();
    let approval = regex::Regex::new(
        r"  - \{ name: ([^,]+), role: [^,]+, meaning: \w+, date: (\d{4}-\d\d-\d\d) \}",
    )
    .unwrap();
    let mut approval_commits = 0;
    for id in walk {
        let c = repo.find_commit(id.unwrap()).unwrap();
        let message = c.message().unwrap().to_string();
        let trailers: Vec<String> = git2::message_trailers_strs(&message)
            .unwrap()
            .iter()
            .filter(|(k, _)| *k == "Approved-by")
            .map(|(_, v)| v.split(" <").next().unwrap().to_string())
            .collect();
        assert!(
            git2::message_trailers_strs(&message)
                .unwrap()
                .iter()
                .any(|(k, v)| k == "Change-Control" && v.starts_with("CC-2026-0")),
            "{message}"
        );
        if trailers.is_empty() {
            continue;
        }
        approval_commits += 1;
        let parent = c.parent(0).unwrap();
        let diff = repo
            .diff_tree_to_tree(
                Some(&parent.tree().unwrap()),
                Some(&c.tree().unwrap()),
                None,
            )
            .unwrap();
        let changed: Vec<String> = diff
            .deltas()
            .map(|d| d.new_file().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(changed.len(), 1, "{message}: {changed:?}");
        assert!(changed[0].starts_with("procedures/"), "{changed:?}");
        let text = |commit: &git2::Commit| {
            commit
                .tree()
                .unwrap()
                .get_path(Path::new(&changed[0]))
                .ok()
                .map(|e| {
                    let blob = repo.find_blob(e.id()).unwrap();
                    String::from_utf8(blob.content().to_vec()).unwrap()
                })
                .unwrap_or_default()
        };
        let after = text(&c);
        let before = text(&parent);
        let recorded: Vec<(String, String)> = approval
            .captures_iter(&after)
            .filter(|m| !before.contains(&m[0]))
            .map(|m| (m[1].to_string(), m[2].to_string()))
            .collect();
        let names: Vec<String> = recorded.iter().map(|(n, _)| n.clone()).collect();
        assert_eq!(names, trailers, "{message}");
        let offset = time::UtcOffset::from_whole_seconds(c.time().offset_minutes() * 60).unwrap();
        let day = time::OffsetDateTime::from_unix_timestamp(c.time().seconds())
            .unwrap()
            .to_offset(offset)
            .date()
            .to_string();
        for (name, date) in &recorded {
            assert_eq!(date, &day, "{name} approves on the day of {message}");
        }
        // A withdrawal is approved after the document took effect, by design.
        let withdrawn = after.contains("\nstatus: obsolete\n");
        if let Some(effective) = after
            .lines()
            .find_map(|l| l.strip_prefix("effective: "))
            .filter(|_| !withdrawn)
        {
            assert!(
                recorded.iter().all(|(_, date)| effective >= date.as_str()),
                "{message}: effective {effective}"
            );
        }
    }
    assert_eq!(approval_commits, 18);
}

#[test]
fn the_obsolete_document_stays_in_the_version_where_it_was_current() {
    let d = Demo::shared();
    let latest = d.read("public/raleigh/latest/index.html");
    assert!(
        !latest.contains("href=\"SOP-0060.html\""),
        "not linked as current"
    );
    let obsolete = &latest[pos(&latest, "id=\"obsolete\"")..];
    assert!(
        obsolete.contains("SOP-0060") && obsolete.contains("Superseded by SOP-0070"),
        "{obsolete}"
    );
    assert!(!d.exists("public/raleigh/latest/SOP-0060.html"));
    assert!(!d.exists("public/raleigh/2026.2/SOP-0060.html"));
    assert!(d
        .read("public/raleigh/2026.1/index.html")
        .contains("href=\"SOP-0060.html\""));
    assert!(d
        .read("public/raleigh/2026.1/SOP-0060.html")
        .contains("Material Review Board"));
    let successor = d.read("public/raleigh/latest/SOP-0070.html");
    assert!(
        successor.contains("<dt>Supersedes</dt><dd>SOP-0060</dd>"),
        "{successor}"
    );
}

#[test]
fn the_revision_pending_its_effective_date_is_announced_and_the_one_in_force_published() {
    let d = Demo::shared();
    let index = d.read("public/limerick/latest/index.html");
    let sop_0040 = row(&index, "SOP-0040");
    assert!(
        sop_0040.contains("change upcoming: 2026-10-01"),
        "{sop_0040}"
    );
    assert!(sop_0040.contains("</td><td>1</td><td>"), "{sop_0040}");
    let page = d.read("public/limerick/latest/SOP-0040.html");
    assert!(
        page.contains("Revision 2 is approved and becomes effective on <time>2026-10-01</time>"),
        "{page}"
    );
    assert!(
        !page.contains("Competence on critical tasks"),
        "revision 2's text waits"
    );
}

#[test]
fn the_addendum_that_went_stale_was_re_approved() {
    let d = Demo::shared();
    // Stale between the global revision and the site's re-approval ...
    let repo = d.repo();
    let mut walk = repo.revwalk().unwrap();
    walk.push_head().unwrap();
    let revised = walk
        .map(|id| repo.find_commit(id.unwrap()).unwrap())
        .find(|c| c.summary() == Some("Approve SOP-0020 revision 2, effective 2026-05-04"))
        .expect("the approval of SOP-0020 revision 2")
        .id()
        .to_string();
    let then = ok(procsite(&d.dir, &["check", "--ref", &revised]));
    assert!(
        then.stderr
            .contains("procedures/sites/limerick/SOP-0020-limerick.md:2: warning[stale-addendum]"),
        "{}",
        then.stderr
    );
    // ... and not in the releases.
    for version in ["2026.2", "latest"] {
        let page = d.read(&format!("public/limerick/{version}/SOP-0020.html"));
        assert!(!page.contains("stale adaptation"), "{version}");
        assert!(
            page.contains("Reviewed against global revision <strong>2</strong> · current global revision <strong>2</strong>"),
            "{version}: {page}"
        );
        assert!(page.contains("bioburden trend"), "the re-approved text");
        let index = d.read(&format!("public/limerick/{version}/index.html"));
        assert!(!row(&index, "SOP-0020").contains("stale"), "{version}");
    }
}

#[test]
fn older_versions_are_marked_superseded_and_changes_list_the_revision() {
    let d = Demo::shared();
    let old = d.read("public/limerick/2026.1/SOP-0020.html");
    assert!(old.contains("data-version=\"2026.1\""));
    assert!(
        unescape(&old).contains("<script src=\"../versions.js\"></script>"),
        "the page learns what superseded it"
    );
    assert!(old.contains("This version may be superseded"));
    let versions = d.read("public/limerick/versions.js");
    assert!(
        pos(&versions, "\"2026.3\"") < pos(&versions, "\"2026.1\""),
        "{versions}"
    );
    let listing = d.read("public/limerick/index.html");
    let v1 = &listing[pos(&listing, ">2026.1</a>")..];
    assert!(v1[..pos(v1, "</tr>")].contains("superseded"), "{listing}");

    let changes = d.read("public/limerick/2026.2/changes.html");
    assert!(
        changes.contains("Since version 2026.1: 1 new, 1 revised, 1 withdrawn."),
        "{changes}"
    );
    let revised = &changes[pos(&changes, "Revised documents")..];
    assert!(
        revised.contains(
            "<a href=\"SOP-0020.html\">SOP-0020 Corrective and Preventive Action (CAPA)</a>"
        ),
        "{revised}"
    );
    let third = d.read("public/tuttlingen/2026.3/changes.html");
    assert!(
        third.contains("Since version 2026.2: 1 new, 1 revised, 0 withdrawn."),
        "{third}"
    );
}

#[test]
fn two_demos_publish_byte_identical_output() {
    let a = Demo::shared();
    let parent = tempfile::tempdir().unwrap();
    let b = &Demo::published_in(parent.path());
    let (ta, tb) = (
        tree_of(&a.dir.join("public")),
        tree_of(&b.dir.join("public")),
    );
    assert!(ta.len() > 150, "{}", ta.len());
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (path, bytes) in &ta {
        assert!(tb[path] == *bytes, "{path} differs");
    }
    let head = |d: &Demo| d.repo().head().unwrap().peel_to_commit().unwrap().id();
    assert_eq!(head(a), head(b), "the same commits");
    let tag = |d: &Demo| d.repo().revparse_single("release/2026.2").unwrap().id();
    assert_eq!(tag(a), tag(b), "the same tag objects");
}

#[test]
fn a_folder_that_is_not_empty_is_refused_and_nothing_is_written() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("qms");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine\n").unwrap();
    let out = procsite(parent.path(), &["init", "--demo", "qms"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.stderr,
        "error: procsite init --demo writes a whole repository into a new or empty folder, and qms holds:\n  qms/notes.txt\nhelp: name a new folder (`procsite init --demo demo`); nothing was written\n"
    );
    assert_eq!(out.stdout, "");
    assert_eq!(tree_of(&dir).into_keys().collect::<Vec<_>>(), ["notes.txt"]);
    // An empty folder is fine.
    let empty = tempfile::tempdir().unwrap();
    ok(procsite(empty.path(), &["init", "--demo"]));
    assert!(empty.path().join(".git").is_dir());
    assert!(ok(procsite(empty.path(), &["init", "--help"]))
        .stdout
        .contains("--demo"));
}

#[test]
fn the_change_record_of_2026_2_links_change_control_and_lists_training() {
    let d = Demo::shared();
    let json: serde_json::Value =
        serde_json::from_str(&d.read("public/limerick/2026.2/changes.json")).unwrap();
    assert_eq!(json["previous"], "2026.1");
    let revised = &json["revised"][0];
    assert_eq!(revised["id"], "SOP-0020");
    assert_eq!(
        (
            revised["from_revision"].as_u64(),
            revised["to_revision"].as_u64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(
        (
            revised["from_site_revision"].as_u64(),
            revised["to_site_revision"].as_u64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(
        revised["change_controls"],
        serde_json::json!([{ "id": "CC-2026-012", "href": "https://eqms.brightwater.example/change-control/CC-2026-012" }])
    );
    assert!(revised["redline"]["words_inserted"].as_u64().unwrap() > 0);
    assert_eq!(json["added"][0]["id"], "SOP-0070");
    assert_eq!(json["withdrawn"][0]["id"], "SOP-0060");
    assert_eq!(
        json["withdrawn"][0]["reason"],
        "Obsolete: Superseded by SOP-0070 on 2026-04-06: Replaced by SOP-0070, which decides dispositions in the nonconformance record (internal audit IA-2025-07)"
    );
    let training: Vec<&str> = json["training"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(training, ["SOP-0020", "SOP-0070"]);
    // Every release passed require-change-control.
    for tag in ["release/2026.1", "release/2026.2", "release/2026.3"] {
        ok(procsite(&d.dir, &["check", "--release", "--ref", tag]));
    }
}

#[test]
fn every_history_json_follows_its_published_schema_and_names_its_commits() {
    let d = Demo::shared();
    let schema = published_schema("history.schema.json");
    let mut checked = 0;
    for site in ["raleigh", "limerick", "tuttlingen"] {
        for version in ["2026.1", "2026.2", "2026.3"] {
            let text = d.read(&format!("public/{site}/{version}/history.json"));
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            validate_schema(&schema, &schema, &json, "$")
                .unwrap_or_else(|e| panic!("{site}/{version}: {e}"));
            // Every commit a history names is in the list, and the list holds no
            // other commit.
            let commits = json["commits"].as_array().unwrap();
            let named: std::collections::BTreeSet<usize> = json["documents"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(common::history_places)
                .map(|(place, _)| place)
                .collect();
            assert_eq!(named, (0..commits.len()).collect(), "{site}/{version}");
            // One document per line.
            let lines: Vec<&str> = text
                .lines()
                .skip_while(|l| *l != "\"documents\":[")
                .skip(1)
                .take_while(|l| *l != "]}")
                .collect();
            assert_eq!(lines.len(), json["documents"].as_array().unwrap().len());
            for (line, doc) in lines.iter().zip(json["documents"].as_array().unwrap()) {
                let line = line.strip_suffix(',').unwrap_or(line);
                assert_eq!(
                    serde_json::from_str::<serde_json::Value>(line).unwrap(),
                    *doc
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 9);
    // The check is not blind: a changed record fails it.
    let mut json: serde_json::Value =
        serde_json::from_str(&d.read("public/limerick/2026.2/history.json")).unwrap();
    json["commits"][0][1] = 1.into();
    assert_eq!(
        validate_schema(&schema, &schema, &json, "$"),
        Err("$.commits[0][1]: 1 is not [\"string\"]".into())
    );
    json["commits"][0][1] = "2026-01-01T00:00:00+00:00".into();
    json["commits"][0]
        .as_array_mut()
        .unwrap()
        .resize(8, serde_json::Value::Null);
    assert_eq!(
        validate_schema(&schema, &schema, &json, "$"),
        Err("$.commits[0]: 8 items".into())
    );
}

#[test]
fn raleigh_and_limerick_adapting_capa_alike_are_a_candidate_and_the_trend_shows_it() {
    let d = Demo::shared();
    let candidates = ok(procsite(
        &d.dir,
        &["report", "--candidates", "--format", "csv"],
    ))
    .stdout;
    assert_snapshot("demo_candidates.csv", &candidates);
    let first = candidates.lines().nth(1).unwrap();
    assert!(
        first.starts_with("alike,\"SOP-0020\",\"limerick raleigh\",\"append #responsibilities\",93,3,\"limerick\",\"procsite promote --site limerick SOP-0020\""),
        "{first}"
    );
    let trend = ok(procsite(&d.dir, &["report", "--trend", "--format", "csv"])).stdout;
    assert_snapshot("demo_trend.csv", &trend);
    // Raleigh adapts SOP-0020 in 2026.3: 5 of 7 global documents unchanged.
    assert!(trend
        .contains("\"release/2026.3\",\"2026.3\",2026-09-14,\"raleigh\",71,5,7,2,0,0,0,,0,83\n"));
    let report = d.read("public/report/index.html");
    assert!(report.contains("<code>procsite promote --site limerick SOP-0020</code>"));
    assert_eq!(report.matches("<svg class=\"trend-chart\"").count(), 3);
    // Raleigh's own page: its figures and the median, nothing of Limerick.
    let raleigh = d.read("public/raleigh/2026.3/harmonization.html");
    assert!(raleigh
        .contains("<td>2026.3</td><td>2026-09-14</td><td><strong>71%</strong></td><td>83%</td>"));
    assert!(!raleigh.contains("Limerick") && !raleigh.contains("limerick"));
}

/// Commits the work tree on HEAD as `name` at `when` (seconds), with `offset` minutes.
fn commit_as(repo: &git2::Repository, (name, email): (&str, &str), when: i64, message: &str) {
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"].iter(), git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.update_all(["*"].iter(), None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::new(name, email, &git2::Time::new(when, 0)).unwrap();
    let parent = repo.head().unwrap().peel_to_commit().unwrap();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &[&parent])
        .unwrap();
}

fn day_of(when: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(when)
        .unwrap()
        .date()
        .to_string()
}

fn edit(dir: &Path, rel: &str, from: &str, to: &str) {
    let p = dir.join(rel);
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains(from), "{rel} has no {from:?}");
    std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
}

/// The whole loop on the demo: the candidate is promoted, the branch is edited,
/// approved and merged, Raleigh withdraws its addendum, a release is tagged, and the
/// trend shows Raleigh's score and the network median rising.
#[test]
fn a_promoted_candidate_approved_and_released_raises_the_score() {
    let parent = tempfile::tempdir().unwrap();
    ok(procsite(parent.path(), &["init", "--demo", "demo"]));
    let dir = parent.path().join("demo");
    let repo = git2::Repository::open(&dir).unwrap();
    let mut config = repo.config().unwrap();
    config.set_str("user.name", "Samuel Okoye").unwrap();
    config
        .set_str("user.email", "samuel.okoye@brightwater.example")
        .unwrap();

    let candidates = ok(procsite(
        &dir,
        &["report", "--candidates", "--format", "json"],
    ))
    .stdout;
    let candidates: serde_json::Value = serde_json::from_str(&candidates).unwrap();
    let command = candidates[0]["command"].as_str().unwrap().to_string();
    assert_eq!(command, "procsite promote --site limerick SOP-0020");
    let mut args: Vec<&str> = command.split(' ').skip(1).collect();
    args.extend([
        "--keep-local",
        "effectiveness",
        "--keep-local",
        "records",
        "--yes",
    ]);
    let promoted = ok(procsite(&dir, &args)).stdout;
    assert!(
        promoted.contains("- raleigh: procedures/sites/raleigh/SOP-0020-raleigh.md becomes stale")
    );

    // Review on the branch: the wording made general, Raleigh's addendum withdrawn,
    // the global revision approved and Limerick's smaller addendum re-approved.
    repo.set_head("refs/heads/promote/limerick/SOP-0020")
        .unwrap();
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
        .unwrap();
    let t0 = repo
        .head()
        .unwrap()
        .peel_to_commit()
        .unwrap()
        .time()
        .seconds();
    let day = 86_400;
    let (global, limerick) = (
        "procedures/global/sop/SOP-0020.md",
        "procedures/sites/limerick/SOP-0020-limerick.md",
    );
    edit(&dir, global, "- **Limerick Site Quality Head**: approves the action plan of every CAPA that involves a\n  supplier", "- **Site Quality Head**: approves the action plan of every CAPA of the site that involves a\n  supplier");
    let okoye = ("Samuel Okoye", "samuel.okoye@brightwater.example");
    commit_as(
        &repo,
        okoye,
        t0 + day,
        "SOP-0020 revision 3 for review\n\nChange-Control: CC-2026-040\n",
    );
    std::fs::remove_file(dir.join("procedures/sites/raleigh/SOP-0020-raleigh.md")).unwrap();
    let brooks = ("Daniel Brooks", "daniel.brooks@brightwater.example");
    commit_as(
        &repo,
        brooks,
        t0 + 2 * day,
        "Raleigh withdraws its adaptation of SOP-0020\n\nChange-Control: CC-2026-040\n",
    );
    let approved = day_of(t0 + 3 * day);
    let effective = day_of(t0 + 4 * day);
    edit(&dir, global, "status: in-review\n", &format!("status: approved\neffective: {effective}\napprovals:\n  - {{ name: Margaret Ellis, role: VP Quality, meaning: approved, date: {approved} }}\n"));
    let ellis = ("Margaret Ellis", "margaret.ellis@brightwater.example");
    commit_as(&repo, ellis, t0 + 3 * day, "Approve SOP-0020 revision 3\n\nChange-Control: CC-2026-040\nApproved-by: Margaret Ellis <margaret.ellis@brightwater.example>\n");
    edit(&dir, limerick, "status: in-review\n", &format!("status: approved\napprovals:\n  - {{ name: Ciara Walsh, role: Site Quality Head, meaning: approved, date: {approved} }}\n"));
    let walsh = ("Ciara Walsh", "ciara.walsh@brightwater.example");
    commit_as(&repo, walsh, t0 + 3 * day + 3600, "Limerick re-approves its adaptation of SOP-0020\n\nChange-Control: CC-2026-040\nApproved-by: Ciara Walsh <ciara.walsh@brightwater.example>\n");

    // The pull request is merged and the release tagged.
    let tip = repo.head().unwrap().peel_to_commit().unwrap();
    let main = repo
        .find_reference("refs/heads/main")
        .unwrap()
        .peel_to_commit()
        .unwrap();
    let sig = git2::Signature::new(
        "Samuel Okoye",
        "samuel.okoye@brightwater.example",
        &git2::Time::new(t0 + 5 * day, 0),
    )
    .unwrap();
    let merge = repo
        .commit(
            None,
            &sig,
            &sig,
            "Merge promote/limerick/SOP-0020",
            &tip.tree().unwrap(),
            &[&main, &tip],
        )
        .unwrap();
    repo.reference("refs/heads/main", merge, true, "merge")
        .unwrap();
    repo.set_head("refs/heads/main").unwrap();
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
        .unwrap();
    let tagger = git2::Signature::new(
        "Samuel Okoye",
        "samuel.okoye@brightwater.example",
        &git2::Time::new(t0 + 6 * day, 0),
    )
    .unwrap();
    repo.tag(
        "release/2026.4",
        &repo.find_object(merge, None).unwrap(),
        &tagger,
        "Release 2026.4",
        false,
    )
    .unwrap();

    ok(procsite(&dir, &["check", "--release"]));
    let trend = ok(procsite(
        &dir,
        &[
            "report",
            "--trend",
            "--format",
            "csv",
            "--release",
            "--ref",
            "release/2026.4",
        ],
    ))
    .stdout;
    let row = |release: &str, site: &str| {
        trend
            .lines()
            .find(|l| {
                l.starts_with(&format!("\"release/{release}\""))
                    && l.contains(&format!(",\"{site}\","))
            })
            .unwrap_or_else(|| panic!("no row {release} {site} in\n{trend}"))
            .split(',')
            .collect::<Vec<_>>()
    };
    // release,version,date,site,score,identical,applicable,adapted,…,network_median_score
    let (before, after) = (row("2026.3", "raleigh"), row("2026.4", "raleigh"));
    assert_eq!((before[4], before[7]), ("71", "2"), "{trend}");
    assert_eq!((after[4], after[7]), ("85", "1"), "{trend}");
    assert_eq!(row("2026.3", "limerick")[13], "83");
    assert_eq!(row("2026.4", "limerick")[13], "85");
    let none = ok(procsite(
        &dir,
        &["report", "--candidates", "--format", "csv"],
    ))
    .stdout;
    assert_eq!(none.lines().count(), 1, "{none}");

    ok(procsite(&dir, &["publish"]));
    let raleigh =
        std::fs::read_to_string(dir.join("public/raleigh/2026.4/harmonization.html")).unwrap();
    assert!(
        raleigh.contains("<td>2026.4</td>") && raleigh.contains("<strong>85%</strong>"),
        "{raleigh}"
    );
}

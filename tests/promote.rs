//! `procsite promote`: a site's adaptation proposed as the global text, on a new branch.

mod common;
use common::*;

use std::path::Path;

const BRANCH: &str = "promote/cork/SOP-0020";
const CORK: &str = "procedures/sites/cork/SOP-0020.md";
const FREIBURG: &str = "procedures/sites/freiburg/SOP-0020.md";
const GLOBAL: &str = "procedures/global/SOP-0020.md";

const CORK_ADDENDUM: &str = "---
addendum-to: SOP-0020
rationale: Supplier CAPAs need the approval of the site quality head.
status: approved
approvals:
  - { name: Aoife Byrne, role: Site Quality Head, date: 2026-04-02 }
---
::: append #responsibilities
- The site quality head approves every CAPA that involves a supplier.
:::

::: replace #records
CAPA records are kept for 15 years.
:::
";

/// Freiburg adapts the CAPA procedure as Cork does, in one piece of the two.
const FREIBURG_ADDENDUM: &str = "---
addendum-to: SOP-0020
rationale: Supplier CAPAs are approved by the site quality head here too.
status: draft
---
::: append #responsibilities
- The site quality head approves every CAPA that involves a supplier.
:::
";

/// Three sites (boston, cork, freiburg); cork and freiburg adapt SOP-0020 alike.
fn fixture() -> SiteTest {
    let mut t = SiteTest::new();
    t.write(CORK, CORK_ADDENDUM);
    t.write(FREIBURG, FREIBURG_ADDENDUM);
    t.commit("Cork and Freiburg adapt the CAPA procedure");
    with_identity(&t);
    t
}

/// The repository's own git identity, which promote commits as.
fn with_identity(t: &SiteTest) {
    let repo = git2::Repository::open(t.root()).unwrap();
    let mut config = repo.config().unwrap();
    config.set_str("user.name", "Dana Controller").unwrap();
    config.set_str("user.email", "dana@example.com").unwrap();
}

/// The environment of a run: no global or system git configuration.
fn hermetic(t: &SiteTest) -> Vec<(String, String)> {
    let home = t.path(".home").to_string_lossy().into_owned();
    std::fs::create_dir_all(&home).unwrap();
    vec![
        ("HOME".into(), home.clone()),
        ("XDG_CONFIG_HOME".into(), home),
        ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
    ]
}

fn promote(t: &SiteTest, args: &[&str]) -> Output {
    let env = hermetic(t);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut all = vec!["promote"];
    all.extend_from_slice(args);
    t.run_env(&all, &env)
}

fn file_at(repo: &git2::Repository, commit: &git2::Commit, path: &str) -> Option<String> {
    let entry = commit.tree().unwrap().get_path(Path::new(path)).ok()?;
    let blob = repo.find_blob(entry.id()).unwrap();
    Some(String::from_utf8(blob.content().to_vec()).unwrap())
}

fn branch_tip(repo: &git2::Repository) -> git2::Commit<'_> {
    repo.find_branch(BRANCH, git2::BranchType::Local)
        .unwrap()
        .get()
        .peel_to_commit()
        .unwrap()
}

/// The report with the new commit's id (made now, so it changes) and HEAD's replaced.
fn normalised(t: &SiteTest, out: &str) -> String {
    let repo = git2::Repository::open(t.root()).unwrap();
    let tip = branch_tip(&repo).id().to_string();
    let head = repo
        .head()
        .unwrap()
        .peel_to_commit()
        .unwrap()
        .id()
        .to_string();
    out.replace(&tip[..10], "<commit>")
        .replace(&head[..10], "<head>")
}

#[test]
fn promote_commits_on_a_new_branch_and_leaves_head_the_index_and_the_work_tree_alone() {
    let t = fixture();
    // An uncommitted edit: promote works from HEAD and leaves it where it is.
    t.write(
        "procedures/global/SOP-0020.md",
        &format!("{CAPA}\nUnsaved.\n"),
    );
    let repo = git2::Repository::open(t.root()).unwrap();
    let head_before = repo.head().unwrap().peel_to_commit().unwrap().id();
    let branch_before = repo.head().unwrap().name().unwrap().to_string();
    let index_before = repo.index().unwrap().write_tree().unwrap();

    let out = promote(&t, &["--site", "cork", "SOP-0020"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.stderr,
        "note: promote works from HEAD's commit; the uncommitted changes to 1 file(s) are not part of it and stay as they are\n"
    );

    let repo = git2::Repository::open(t.root()).unwrap();
    let head = repo.head().unwrap();
    assert_eq!(head.name().unwrap(), branch_before);
    assert_eq!(head.peel_to_commit().unwrap().id(), head_before);
    assert_eq!(repo.index().unwrap().write_tree().unwrap(), index_before);
    assert_eq!(t.read(GLOBAL), format!("{CAPA}\nUnsaved.\n"));
    assert_eq!(t.read(CORK), CORK_ADDENDUM);

    let tip = branch_tip(&repo);
    assert_eq!(tip.parent_count(), 1);
    assert_eq!(tip.parent_id(0).unwrap(), head_before);
    assert_eq!(tip.author().name(), Some("Dana Controller"));
    assert_eq!(tip.author().email(), Some("dana@example.com"));
    assert_eq!(
        tip.message().unwrap(),
        "Promote cork's adaptation of SOP-0020 to the global text

The addendum procedures/sites/cork/SOP-0020.md adapted SOP-0020 (Corrective and Preventive Action) at site cork (Cork).

Rationale: Supplier CAPAs need the approval of the site quality head.

Made global:
- append #responsibilities (line 8)
- replace #records (line 12)

Approvals of the addendum:
- Aoife Byrne, Site Quality Head, approved, 2026-04-02

procedures/global/SOP-0020.md goes to status in-review: a new revision, approved like any other before a release publishes it.
The addendum is removed: nothing of it stays local.

Change-Reason: Supplier CAPAs need the approval of the site quality head.
"
    );
    assert_snapshot(
        "promote-SOP-0020.md",
        &file_at(&repo, &tip, GLOBAL).unwrap(),
    );
    assert_eq!(file_at(&repo, &tip, CORK), None);
    assert_eq!(
        file_at(&repo, &tip, FREIBURG).as_deref(),
        Some(FREIBURG_ADDENDUM)
    );
    // Exactly two files change: the global document and the addendum.
    let parent_tree = repo.find_commit(head_before).unwrap().tree().unwrap();
    let diff = repo
        .diff_tree_to_tree(Some(&parent_tree), Some(&tip.tree().unwrap()), None)
        .unwrap();
    let changed: Vec<String> = diff
        .deltas()
        .map(|d| {
            format!(
                "{:?} {}",
                d.status(),
                d.old_file().path().unwrap().display()
            )
        })
        .collect();
    assert_eq!(
        changed,
        [format!("Modified {GLOBAL}"), format!("Deleted {CORK}")]
    );

    assert_snapshot("promote-report.txt", &normalised(&t, &out.stdout));
}

#[test]
fn keep_local_shrinks_the_addendum_to_the_kept_piece_and_back_to_review() {
    let t = fixture();
    let out = promote(
        &t,
        &["--site", "cork", "SOP-0020", "--keep-local", "#records"],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let repo = git2::Repository::open(t.root()).unwrap();
    let tip = branch_tip(&repo);
    assert_eq!(
        file_at(&repo, &tip, CORK).unwrap(),
        "---
addendum-to: SOP-0020
rationale: Supplier CAPAs need the approval of the site quality head.
status: in-review
---

::: replace #records
CAPA records are kept for 15 years.
:::
"
    );
    assert_snapshot(
        "promote-SOP-0020-keep-local.md",
        &file_at(&repo, &tip, GLOBAL).unwrap(),
    );
    let message = tip.message().unwrap();
    assert!(
        message.contains("Made global:\n- append #responsibilities (line 8)\nKept for cork in the addendum:\n- replace #records (line 12)\n"),
        "{message}"
    );
    assert!(
        message.contains(
            "The addendum keeps 1 piece(s) and loses its approvals: cork re-approves it.\n"
        ),
        "{message}"
    );
    assert_snapshot(
        "promote-report-keep-local.txt",
        &normalised(&t, &out.stdout),
    );
}

/// Runs `procsite check` in a clone of the repository with the branch checked out.
fn check_branch(t: &SiteTest) -> Output {
    let clone_dir = tempfile::tempdir().unwrap();
    let clone = git2::Repository::clone(t.root().to_str().unwrap(), clone_dir.path()).unwrap();
    let tip = clone
        .revparse_single(&format!("origin/{BRANCH}"))
        .unwrap()
        .peel_to_commit()
        .unwrap();
    clone.set_head_detached(tip.id()).unwrap();
    clone
        .checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_procsite"))
        .arg("check")
        .current_dir(clone_dir.path())
        .output()
        .unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn the_promoted_branch_passes_check() {
    for keep in [None, Some("records")] {
        let t = fixture();
        let mut args = vec!["--site", "cork", "SOP-0020"];
        if let Some(k) = keep {
            args.extend(["--keep-local", k]);
        }
        let out = promote(&t, &args);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        let check = check_branch(&t);
        assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
        assert!(
            check.stdout.starts_with("check passed: 3 site(s)"),
            "{}",
            check.stdout
        );
    }
}

#[test]
fn cork_reads_the_same_text_on_the_branch() {
    let t = fixture();
    assert_eq!(promote(&t, &["--site", "cork", "SOP-0020"]).code, 0);
    let out = t.run(&[
        "diff", "--site", "cork", "SOP-0020", "--from", "HEAD", "--to", BRANCH,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "nothing changed at site cork\n");
}

#[test]
fn refusals_name_the_file_and_the_fix_and_write_nothing() {
    let mut t = fixture();
    t.write(
        "procedures/sites/cork/WI-CORK-001.md",
        &doc(
            "WI-CORK-001",
            "Cork line clearance",
            "",
            "## Steps\nClear the line.\n",
        ),
    );
    t.commit("A work instruction of Cork");
    let cases: [(&[&str], &str); 6] = [
        (
            &["--site", "corkk", "SOP-0020"],
            "book.toml: error[argument]: there is no site 'corkk' in book.toml (did you mean 'cork'?)\n  help: give the id of a [site.<id>] table: boston, cork, freiburg\npromote failed: 1 error(s), 0 warning(s)\n",
        ),
        (
            &["--site", "cork", "SOP-0021"],
            "procedures/global: error[argument]: there is no global document SOP-0021 (did you mean 'SOP-0020'?)\n  help: give the id of a global document (procsite report lists them with the sites that adapt them)\npromote failed: 1 error(s), 0 warning(s)\n",
        ),
        (
            &["--site", "cork", "WI-CORK-001"],
            "procedures/sites/cork/WI-CORK-001.md: error[argument]: WI-CORK-001 is a document of site cork only: there is no global text to promote into\n  help: to make it global, move the file to procedures/global/ in a change of its own\npromote failed: 1 error(s), 0 warning(s)\n",
        ),
        (
            &["--site", "boston", "SOP-0020"],
            "procedures/sites/boston: error[argument]: site boston has no addendum to SOP-0020: there is nothing to promote\n  help: sites that adapt SOP-0020: cork (procedures/sites/cork/SOP-0020.md), freiburg (procedures/sites/freiburg/SOP-0020.md)\npromote failed: 1 error(s), 0 warning(s)\n",
        ),
        (
            &["--site", "cork", "SOP-0020", "--keep-local", "recods"],
            "procedures/sites/cork/SOP-0020.md: error[argument]: --keep-local recods: the addendum has no piece at #recods (did you mean 'records'?)\n  help: its pieces: responsibilities (line 8, append #responsibilities); records (line 12, replace #records)\npromote failed: 1 error(s), 0 warning(s)\n",
        ),
        (
            &["--site", "cork", "SOP-0020", "--keep-local", "records", "--keep-local", "responsibilities"],
            "procedures/sites/cork/SOP-0020.md: error[promote]: every piece is kept local: there is nothing to promote\n  help: keep fewer pieces local\npromote failed: 1 error(s), 0 warning(s)\n",
        ),
    ];
    for (args, stderr) in cases {
        let out = promote(&t, args);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (1, "", stderr),
            "{args:?}"
        );
    }
    let repo = git2::Repository::open(t.root()).unwrap();
    assert_eq!(
        repo.branches(Some(git2::BranchType::Local))
            .unwrap()
            .count(),
        1
    );

    // A second promotion of the same adaptation: the branch exists.
    assert_eq!(promote(&t, &["--site", "cork", "SOP-0020"]).code, 0);
    let out = promote(&t, &["--site", "cork", "SOP-0020"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "refs/heads/promote/cork/SOP-0020: error[promote]: branch promote/cork/SOP-0020 exists already\n  help: review or merge it; to promote again, delete it first (git branch -D promote/cork/SOP-0020)\npromote failed: 1 error(s), 0 warning(s)\n"
    );
}

#[test]
fn a_commit_needs_an_author_from_git_config() {
    let t = fixture();
    let repo = git2::Repository::open(t.root()).unwrap();
    let mut config = repo.config().unwrap();
    config.remove("user.name").unwrap();
    config.remove("user.email").unwrap();
    let out = promote(&t, &["--site", "cork", "SOP-0020"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        ".git/config: error[promote]: git has no user.name and user.email configured for this repository: the commit needs an author\n  help: set them: git config user.name \"Your Name\" && git config user.email you@example.com\npromote failed: 1 error(s), 0 warning(s)\n"
    );
    assert!(repo.find_branch(BRANCH, git2::BranchType::Local).is_err());
}

#[test]
fn an_addendum_or_a_link_whose_section_the_change_takes_out_is_reported() {
    let mut t = SiteTest::new();
    t.write(
        CORK,
        &addendum(
            "SOP-0020",
            "No CAPA board at Cork.",
            "::: remove #board\n:::\n",
        ),
    );
    t.write(
        "procedures/sites/boston/SOP-0020.md",
        &addendum(
            "SOP-0020",
            "A weekly board.",
            "::: append #board\nThe board meets weekly.\n:::\n",
        ),
    );
    t.write(
        "procedures/global/SOP-0030.md",
        &doc(
            "SOP-0030",
            "Complaints",
            "",
            "## Escalation\nTo the [CAPA board](SOP-0020#board).\n",
        ),
    );
    t.commit("Adaptations");
    with_identity(&t);
    let repo = git2::Repository::open(t.root()).unwrap();
    let out = promote(&t, &["--site", "cork", "SOP-0020"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let addenda = out
        .stdout
        .split("Other sites' addenda on SOP-0020:\n")
        .nth(1)
        .unwrap();
    assert_eq!(
        addenda,
        "- boston: procedures/sites/boston/SOP-0020.md would fail: line 6: `append` targets '#board', which SOP-0020 does not have (as composed for site boston)\n\nThe promoted commit does not pass procsite check yet:\nprocedures/global/SOP-0030.md:8: error[link-target]: links to '#board' in SOP-0020, which has no such section at site boston\n  help: anchors in SOP-0020: purpose, records, responsibilities, scope\nprocedures/global/SOP-0030.md:8: error[link-target]: links to '#board' in SOP-0020, which has no such section at site cork\n  help: anchors in SOP-0020: purpose, records, responsibilities, scope\nprocedures/global/SOP-0030.md:8: error[link-target]: links to '#board' in SOP-0020, which has no such section at site freiburg\n  help: anchors in SOP-0020: purpose, records, responsibilities, scope\n\nNext: push promote/cork/SOP-0020 and open a pull request; approve SOP-0020 there, then release.\n"
    );
    let tip = branch_tip(&repo);
    assert!(file_at(&repo, &tip, GLOBAL)
        .unwrap()
        .contains("\nstatus: in-review\n---\n"));
}

#[test]
fn a_replace_inside_a_condition_is_not_made_global() {
    let mut t = fixture();
    t.write(
        CORK,
        &addendum(
            "SOP-0020",
            "EU records.",
            "::: only market=EU\n::: replace #records\nKept 15 years.\n:::\n:::\n\n::: append #scope\nAlso here.\n:::\n",
        ),
    );
    t.commit("Conditional replace");
    let out = promote(&t, &["--site", "cork", "SOP-0020"]);
    assert_eq!(
        out.stderr,
        "procedures/sites/cork/SOP-0020.md:7: error[promote]: `replace #records` is inside `::: only market=EU`: made global, the sites outside the condition would lose the section's text\n  help: keep it local (--keep-local records), or promote it by hand\npromote failed: 1 error(s), 0 warning(s)\n"
    );
    let out = promote(
        &t,
        &["--site", "cork", "SOP-0020", "--keep-local", "records"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn every_adaptation_of_the_demo_promotes_to_a_branch_that_passes_check() {
    let t = SiteTest::no_git();
    let init = t.run(&["init", "--demo", "demo"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let demo = t.path("demo");
    let repo = git2::Repository::open(&demo).unwrap();
    let mut config = repo.config().unwrap();
    config.set_str("user.name", "Dana Controller").unwrap();
    config.set_str("user.email", "dana@example.com").unwrap();
    // Every addendum of the demo, by site and the document it adapts.
    let mut adaptations = Vec::new();
    for entry in walkdir::WalkDir::new(demo.join("procedures/sites")) {
        let entry = entry.unwrap();
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        if let Some(target) = text.lines().find_map(|l| l.strip_prefix("addendum-to: ")) {
            let site = entry.path().parent().unwrap().file_name().unwrap();
            adaptations.push((
                site.to_string_lossy().into_owned(),
                target.trim().to_string(),
            ));
        }
    }
    assert!(!adaptations.is_empty());
    let env = hermetic(&t);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for (site, doc) in &adaptations {
        let out = t.run_env(&["--root", "demo", "promote", "--site", site, doc], &env);
        assert_eq!(out.code, 0, "{site} {doc}: {}{}", out.stdout, out.stderr);
        let branch = format!("promote/{site}/{doc}");
        let tip = repo
            .find_branch(&branch, git2::BranchType::Local)
            .unwrap()
            .get()
            .peel_to_commit()
            .unwrap();
        assert_eq!(
            tip.parent_id(0).unwrap(),
            repo.head().unwrap().target().unwrap()
        );
        let check = t.run(&["--root", "demo", "check", "--ref", &branch]);
        assert_eq!(check.code, 0, "{branch}: {}{}", check.stdout, check.stderr);
    }
    assert_eq!(
        repo.statuses(None).unwrap().len(),
        0,
        "the work tree is untouched"
    );
}

#[test]
fn a_book_in_a_folder_of_the_repository_is_promoted_in_that_folder() {
    let t = SiteTest::empty();
    t.write("qms/book.toml", BOOK);
    t.write("qms/procedures/global/SOP-0020.md", CAPA);
    t.write("qms/procedures/global/SOP-0090.md", STERILE);
    t.write("qms/procedures/sites/cork/SOP-0020.md", CORK_ADDENDUM);
    let mut t = t;
    t.commit("A quality system in qms/");
    with_identity(&t);
    let out = promote(&t, &["--root", "qms", "--site", "cork", "SOP-0020"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let repo = git2::Repository::open(t.root()).unwrap();
    let tip = branch_tip(&repo);
    assert_eq!(file_at(&repo, &tip, &format!("qms/{CORK}")), None);
    assert_eq!(
        file_at(&repo, &tip, &format!("qms/{GLOBAL}")).unwrap(),
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/promote-SOP-0020.md")
        )
        .unwrap()
    );
    assert_eq!(file_at(&repo, &tip, GLOBAL), None);
}

#[test]
fn a_head_that_does_not_pass_check_is_not_promoted_from() {
    let mut t = fixture();
    t.write(
        "procedures/global/SOP-0030.md",
        &doc(
            "SOP-0030",
            "Complaints",
            "",
            "## A\n::: only market=UE\nx\n:::\n",
        ),
    );
    t.commit("A typo in a market");
    let out = promote(&t, &["--site", "cork", "SOP-0020"]);
    let repo = git2::Repository::open(t.root()).unwrap();
    let head = repo.head().unwrap().target().unwrap().to_string();
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr.replace(&head[..10], "<head>"),
        "procedures/global/SOP-0030.md:8: error[unknown-condition]: unknown market 'UE' (did you mean 'EU'?)\n  help: known markets (from book.toml): EU, FDA\n.: error[promote]: HEAD (<head>) does not pass procsite check\n  help: fix the errors above and commit, then promote: a proposal starts from a sound text\npromote failed: 2 error(s), 0 warning(s)\n"
    );
    assert!(repo.find_branch(BRANCH, git2::BranchType::Local).is_err());
}

fn scores(t: &SiteTest, args: &[&str]) -> Vec<(String, u64)> {
    let mut all = vec!["report", "--format", "json"];
    all.extend_from_slice(args);
    let out = t.run(&all);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    json["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["score"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The workflow of docs/promote.md: promote, merge the pull request, approve, release.
#[test]
fn after_the_branch_is_merged_approved_and_released_the_sites_are_harmonized() {
    let mut t = fixture();
    t.tag("release/2026.1");
    let before = scores(&t, &["--ref", "release/2026.1"]);
    assert_eq!(
        before,
        [
            ("boston".to_string(), 100),
            ("cork".into(), 0),
            ("freiburg".into(), 50)
        ]
    );
    assert_eq!(promote(&t, &["--site", "cork", "SOP-0020"]).code, 0);
    // The pull request: merged as it is.
    let repo = git2::Repository::open(t.root()).unwrap();
    let tip = branch_tip(&repo).id();
    let main = repo.head().unwrap().name().unwrap().to_string();
    repo.reference(&main, tip, true, "merge").unwrap();
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
        .unwrap();
    // Freiburg takes out the piece that is global now: nothing of its addendum is left.
    t.remove(FREIBURG);
    t.commit("Freiburg: the supplier CAPA approval is global now");
    // The approver records the approval of the new revision.
    let approved = t.read(GLOBAL).replace(
        "status: in-review\n",
        &format!(
            "status: approved\neffective: {0}\napprovals:\n  - {{ name: Jane Roe, role: VP Quality, date: {0} }}\n",
            t.next_commit_date()
        ),
    );
    t.write(GLOBAL, &approved);
    t.commit("Approve SOP-0020 revision 2\n\nApproved-by: Jane Roe <jane.roe@acme.example>");
    t.tag("release/2026.2");
    let check = t.run(&["check", "--release", "--ref", "release/2026.2"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert_eq!(
        scores(&t, &["--ref", "release/2026.2"]),
        [
            ("boston".to_string(), 100),
            ("cork".into(), 100),
            ("freiburg".into(), 100)
        ]
    );
}

#[test]
fn local_in_global_keeps_the_piece_inside_an_only_site_block_and_removes_the_addendum() {
    let t = fixture();
    let out = promote(
        &t,
        &[
            "--site",
            "cork",
            "SOP-0020",
            "--keep-local",
            "records",
            "--local-in",
            "global",
        ],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let head = out
        .stdout
        .lines()
        .take(3)
        .skip(1)
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        head,
        "made global: append #responsibilities\nkept for cork: replace #records, inside `::: only site=cork` in the global text"
    );
    let repo = git2::Repository::open(t.root()).unwrap();
    let tip = branch_tip(&repo);
    assert_eq!(file_at(&repo, &tip, CORK), None);
    assert_snapshot(
        "promote-SOP-0020-local-in-global.md",
        &file_at(&repo, &tip, GLOBAL).unwrap(),
    );
    let message = tip.message().unwrap();
    assert!(
        message.contains("Kept for cork in the global text, inside `::: only site=cork`:\n- replace #records (line 12)\n")
            && message.contains("The addendum is removed: what stays local is in the global text.\n"),
        "{message}"
    );
    assert!(out
        .stdout
        .contains("\nsite cork (Cork), the adapting site: reads the same as before\n"));
    let check = check_branch(&t);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
}

#[test]
fn every_kind_of_piece_kept_in_the_global_text_reads_the_same_at_the_site() {
    let mut t = fixture();
    t.write(
        CORK,
        &addendum(
            "SOP-0020",
            "Cork does it its own way.",
            "::: prepend #scope\nCork scope first.\n:::\n\n::: insert-after #board\n### Cork board {#cork-board}\nMeets weekly.\n:::\n\n::: insert-before #purpose\n## Cork note {#cork-note}\nRead this first.\n:::\n\n::: remove #records\n:::\n\n::: only market=EU\n::: append #responsibilities\nEU line.\n:::\n:::\n\nA free note.\n",
        ),
    );
    t.commit("Cork adapts every way");
    let keep = [
        "--keep-local",
        "board",
        "--keep-local",
        "purpose",
        "--keep-local",
        "records",
    ];
    let mut args = vec!["--site", "cork", "SOP-0020", "--local-in", "global"];
    args.extend(keep);
    args.extend([
        "--keep-local",
        "responsibilities",
        "--keep-local",
        "site-requirements",
    ]);
    let out = promote(&t, &args);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let diff = t.run(&[
        "diff", "--site", "cork", "SOP-0020", "--from", "HEAD", "--to", BRANCH,
    ]);
    assert_eq!(
        diff.stdout, "nothing changed at site cork\n",
        "{}",
        diff.stderr
    );
    let check = check_branch(&t);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
    let repo = git2::Repository::open(t.root()).unwrap();
    assert_snapshot(
        "promote-SOP-0020-every-kind.md",
        &file_at(&repo, &branch_tip(&repo), GLOBAL).unwrap(),
    );
}

//! What pages say from git: revisions, changes, history, content hashes, stale
//! addenda and approvals, approval evidence, and builds from any ref.

mod common;
use common::*;

use sha2::{Digest, Sha256};

fn draft(id: &str, body: &str) -> String {
    format!("---\nid: {id}\ntitle: T {id}\ntype: SOP\nstatus: draft\n---\n{body}")
}

#[test]
fn revisions_count_approved_issues_and_changes_count_commits() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## A\nFirst text.\n", "2026-05-01"),
    );
    t.commit("Issue SOP-0030");
    t.write(
        "procedures/global/SOP-0030.md",
        &draft("SOP-0030", "## A\nSecond text.\n"),
    );
    t.commit("Draft rework");
    t.write(
        "procedures/global/SOP-0030.md",
        &draft("SOP-0030", "## A\nSecond text, reviewed.\n"),
    );
    t.commit("Review comments");
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## A\nSecond text, reviewed.\n", "2026-06-04"),
    );
    t.commit("Approve revision 2");
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## A\nSecond text, reviewed.\n", "2026-06-04")
            .replace("effective: 2026-06-04", "effective: 2026-06-05"),
    );
    // The effective date is approved content: changing it makes revision 3.
    t.commit("Move the effective date");
    t.build();
    let page = t.page("cork", "SOP-0030");
    assert!(
        dd(&page, "Revision").starts_with('3'),
        "{}",
        dd(&page, "Revision")
    );
    assert!(
        dd(&page, "Changes").starts_with('5'),
        "{}",
        dd(&page, "Changes")
    );
    assert_eq!(dd(&page, "Last changed"), "<time>2026-06-05</time>");
    // History newest first, with subjects.
    let h = pos(&page, "Move the effective date");
    assert!(
        h < pos(&page, "Approve revision 2")
            && pos(&page, "Approve revision 2") < pos(&page, "Issue SOP-0030")
    );
    // The index shows the revision too.
    assert!(t
        .read("public/cork/preview/index.html")
        .contains("</td><td>3</td><td>"));
}

#[test]
fn a_moved_file_keeps_its_history() {
    let mut t = SiteTest::new();
    let text = draft("SOP-0030", "## A\nText.\n");
    t.write("procedures/global/SOP-0030.md", &text);
    t.commit("Add");
    t.write(
        "procedures/global/SOP-0030.md",
        &draft("SOP-0030", "## A\nText, edited.\n"),
    );
    t.commit("Edit");
    // A pure move.
    t.remove("procedures/global/SOP-0030.md");
    t.write(
        "procedures/global/complaints/SOP-0030.md",
        &draft("SOP-0030", "## A\nText, edited.\n"),
    );
    t.commit("Move into the complaints folder");
    t.build();
    assert!(dd(&t.page("cork", "SOP-0030"), "Changes").starts_with('3'));
    // A rename with edits in the same commit: followed by the document id.
    t.remove("procedures/global/complaints/SOP-0030.md");
    t.write(
        "procedures/global/complaints/complaint-handling.md",
        &draft("SOP-0030", "## A\nRewritten while renaming.\n"),
    );
    t.commit("Rename and rewrite");
    t.build();
    let page = t.page("cork", "SOP-0030");
    assert!(
        dd(&page, "Changes").starts_with('4'),
        "{}",
        dd(&page, "Changes")
    );
    for subject in [
        "Add",
        "Edit",
        "Move into the complaints folder",
        "Rename and rewrite",
    ] {
        assert!(
            page.contains(&format!("<td>{subject}")),
            "{subject} missing from history"
        );
    }
}

#[test]
fn content_hash_is_sha256_of_the_published_markdown_whatever_the_line_endings() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &draft("SOP-0030", "## A\r\nText.\r\n\r\n\r\n## B\r\nMore.\r\n"),
    );
    t.build();
    let expected = format!("{:x}", Sha256::digest(b"## A\nText.\n\n## B\nMore.\n"));
    let page = t.page("cork", "SOP-0030");
    assert!(
        page.contains(&format!("data-full=\"{expected}\"")),
        "{page}"
    );
}

#[test]
fn stale_addendum_is_reported_and_shown_and_base_revision_pins_it() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## Scope {#scope}\nV1.\n", "2026-05-01"),
    );
    t.write(
        "procedures/sites/cork/SOP-0030.md",
        &addendum("SOP-0030", "Local.", "::: append #scope\nCork.\n:::\n"),
    );
    t.commit("Global and Cork addendum");
    let check = t.run(&["check"]);
    assert!(!check.stderr.contains("stale addendum"), "{}", check.stderr);
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## Scope {#scope}\nV2.\n", "2026-06-02"),
    );
    t.commit("Global revision 2");
    let check = t.run(&["check"]);
    assert_eq!(check.code, 0, "a stale addendum is a warning in previews");
    assert!(
        check.stderr.contains("procedures/sites/cork/SOP-0030.md:2: warning[stale-addendum]: stale addendum: SOP-0030 changed after the site last reviewed this adaptation"),
        "{}",
        check.stderr
    );
    t.build();
    assert!(t.page("cork", "SOP-0030").contains("Stale adaptation:"));
    assert!(t
        .read("public/cork/preview/index.html")
        .contains("stale adaptation"));
    // Pinning the revision the adaptation was reviewed against.
    t.write(
        "procedures/sites/cork/SOP-0030.md",
        &addendum("SOP-0030", "Local.", "::: append #scope\nCork.\n:::\n")
            .replace("status: draft", "status: draft\nbase-revision: 1"),
    );
    t.commit("Pin base revision 1");
    assert!(t
        .run(&["check"])
        .stderr
        .contains("stale addendum: it is based on revision 1, and SOP-0030 is now at revision 2"));
    t.write(
        "procedures/sites/cork/SOP-0030.md",
        &addendum("SOP-0030", "Local.", "::: append #scope\nCork.\n:::\n")
            .replace("status: draft", "status: draft\nbase-revision: 2"),
    );
    t.commit("Reviewed against revision 2");
    assert!(!t.run(&["check"]).stderr.contains("stale addendum"));
}

#[test]
fn stale_and_post_dated_approvals() {
    let mut t = SiteTest::new();
    // Body and approval in one commit: fine.
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## A\nV1.\n", "2026-05-01"),
    );
    t.commit("Issue with approval");
    assert!(!t.run(&["check"]).stderr.contains("no longer covers"));
    // The body changes later without a new approval: stale.
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## A\nV1, quietly edited.\n", "2026-05-01"),
    );
    t.commit("Edit without approval");
    let check = t.run(&["check"]);
    assert!(
        check.stderr.contains(
            "SOP-0030.md:7: warning[stale-approval]: the approval by Jane Roe (recorded in "
        ),
        "{}",
        check.stderr
    );
    assert!(check
        .stderr
        .contains("no longer covers the text, which changed afterwards"));
    t.build();
    assert!(t.page("cork", "SOP-0030").contains(">stale</span>"));
    // An approval dated after the commit that records it.
    let late = t.next_commit_date().replace("2026-06-", "2026-07-");
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## A\nV2.\n", &late),
    );
    t.commit("Post-dated approval");
    let err = t.expect_failure(&["check"]);
    assert!(
        err.contains(&format!(
            "SOP-0030.md:7: error[approval]: the approval by Jane Roe is dated {late}, after commit "
        )),
        "{err}"
    );
}

#[test]
fn approved_by_trailers_are_evidence_and_shown_in_history() {
    let mut t = SiteTest::new();
    t.write("book.toml", &format!("{BOOK}\n[approvers.jroe]\nname = \"Jane Roe\"\nemails = [\"jane.roe@acme.example\"]\nroles = [\"VP Quality\"]\n"));
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## A\nV1.\n", "2026-05-01"),
    );
    t.commit("Issue SOP-0030");
    t.build();
    assert!(t.page("cork", "SOP-0030").contains(">declared</span>"));
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## A\nV2.\n", "2026-06-02"),
    );
    t.commit("Revise SOP-0030\n\nChange-Reason: audit finding 12\nApproved-by: Jane Roe <jane.roe@acme.example>\nChange-Control: CC-2026-014\n");
    t.build();
    let page = t.page("cork", "SOP-0030");
    assert!(page.contains(">recorded</span>"), "{page}");
    assert!(
        page.contains(
            "<span class=\"trailer\">Approved-by: Jane Roe &lt;jane.roe@acme.example&gt;</span>"
        ),
        "{page}"
    );
    assert!(page.contains("<span class=\"trailer\">Change-Control: CC-2026-014</span>"));
    assert!(page.contains("<span class=\"trailer\">Change-Reason: audit finding 12</span>"));
    // A trailer from someone outside the registry is no evidence.
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## A\nV3.\n", "2026-06-03"),
    );
    t.commit("Revise again\n\nApproved-by: Jane Roe <someone@else.example>\n");
    t.build();
    assert!(t.page("cork", "SOP-0030").contains(">declared</span>"));
}

#[test]
fn a_shallow_clone_is_reported_and_history_marked_incomplete() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &draft("SOP-0030", "## A\nV1.\n"),
    );
    t.commit("One");
    t.write(
        "procedures/global/SOP-0030.md",
        &draft("SOP-0030", "## A\nV2.\n"),
    );
    let second = t.commit("Two");
    t.write(
        "procedures/global/SOP-0030.md",
        &draft("SOP-0030", "## A\nV3.\n"),
    );
    t.commit("Three");
    t.make_shallow(second);
    let out = t.build();
    assert!(
        out.stderr
            .contains(".git: warning[shallow-clone]: this is a shallow clone"),
        "{}",
        out.stderr
    );
    let page = t.page("cork", "SOP-0030");
    assert!(page.contains("This history is incomplete"), "{page}");
    assert!(page.contains(">incomplete</span>"));
    assert!(
        !page.contains("<td>One"),
        "commits beyond the shallow boundary are not walked"
    );
}

#[test]
fn a_folder_outside_git_builds_an_uncontrolled_preview() {
    let t = SiteTest::no_git();
    t.write("book.toml", BOOK);
    t.write("procedures/global/SOP-0020.md", CAPA);
    t.write("procedures/global/SOP-0090.md", STERILE);
    t.build();
    let page = t.page("cork", "SOP-0020");
    assert!(page.contains("Uncontrolled preview"));
    assert!(page.contains("built from files outside version control"));
    assert!(page.contains("Not under version control"));
    assert_eq!(dd(&page, "Revision"), "—");
}

#[test]
fn a_dirty_work_tree_builds_a_preview_of_the_work_tree() {
    let mut t = SiteTest::new();
    t.commit("Initial");
    t.write(
        "procedures/global/SOP-0020.md",
        &CAPA.replace("Global scope text.", "Uncommitted scope text."),
    );
    t.build();
    let page = t.page("cork", "SOP-0020");
    assert!(page.contains("Uncommitted scope text."));
    assert!(page.contains("+ uncommitted"));
    // The index says the version was built with uncommitted changes.
    assert!(t
        .read("public/cork/preview/index.html")
        .contains("with uncommitted changes"));
    assert!(page.contains("Uncontrolled preview"));
}

/// Hidden files and editors' scratch files are passed over alike in a commit and in
/// the work tree, so whether the tree is dirty changes nothing they hold, and they
/// make no tree dirty; a hidden file named like a document, or one ending in `.MD`, is
/// reported from either.
#[test]
fn hidden_and_scratch_files_are_never_read_nor_make_the_tree_dirty() {
    let mut t = SiteTest::new();
    let hidden = CAPA
        .replace("id: SOP-0020", "id: SOP-0021")
        .replace("Corrective and Preventive Action", "Hidden procedure");
    t.write("procedures/global/.SOP-0021.md", &hidden);
    t.write("procedures/global/SOP-0021.md~", &hidden);
    t.write("procedures/global/SOP-0022.MD", &hidden);
    t.write("themes/default/static/.style.css.swp", "scratch");
    t.commit("Initial, with hidden and scratch files");
    let published = |t: &SiteTest| {
        let run = t.build();
        let index = t.read("public/cork/preview/index.html");
        assert!(!t.path("public/cork/preview/static/.style.css.swp").exists());
        assert!(
            run.stderr.contains(
                "procedures/global/.SOP-0021.md: warning[ignored-file]: this file is not read: its name begins with a dot, which hides it\n  help: rename it to SOP-0021.md"
            ),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains(
            "procedures/global/SOP-0022.MD: warning[ignored-file]: this file is not read: documents end in .md (lowercase)"
        ));
        (
            index.contains("Hidden procedure"),
            index.contains("with uncommitted changes"),
        )
    };
    assert_eq!(published(&t), (false, false), "clean");
    // A hidden copy of a document, committed: neither the document nor its history.
    t.write(
        "procedures/global/.SOP-0020.md",
        &CAPA.replace("Global scope text.", "Hidden scope text."),
    );
    t.commit("Hidden copy of SOP-0020");
    t.build();
    let page = t.page("cork", "SOP-0020");
    assert!(!page.contains("Hidden copy of SOP-0020"), "{page}");
    assert!(!page.contains("uncommitted"), "{page}");
    assert!(!page.contains("Hidden scope text."));
    // Untracked scratch files beside a document being edited: still clean.
    t.write("procedures/global/.SOP-0020.md.swp", "vim swap");
    t.write("procedures/global/SOP-0020.md~", CAPA);
    t.write("procedures/global/notes.tmp", "scratch");
    assert_eq!(published(&t), (false, false), "scratch files");
    // A real edit: the work tree is read, and still passes over the same files.
    t.write(
        "procedures/global/SOP-0020.md",
        &CAPA.replace("Global scope text.", "Uncommitted scope text."),
    );
    assert_eq!(published(&t), (false, true), "dirty");
}

#[test]
fn ref_builds_an_old_tag_from_git_objects_without_touching_the_work_tree() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &draft("SOP-0030", "## A\nOld text.\n"),
    );
    t.commit("Old");
    t.tag("release/2026.1");
    t.write(
        "procedures/global/SOP-0030.md",
        &draft("SOP-0030", "## A\nNew text.\n"),
    );
    t.write(
        "procedures/global/SOP-0040.md",
        &draft("SOP-0040", "## A\nAdded later.\n"),
    );
    t.commit("New");
    // Uncommitted work must stay as it is.
    t.write(
        "procedures/global/SOP-0030.md",
        &draft("SOP-0030", "## A\nWork in progress.\n"),
    );
    let out = t.run(&["build", "--ref", "release/2026.1", "--out", "old"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let page = t.read("old/cork/preview/SOP-0030.html");
    assert!(page.contains("Old text.") && !page.contains("New text."));
    assert!(!t.exists("old/cork/preview/SOP-0040.html"));
    assert!(unescape(&t.read("old/cork/preview/index.html")).contains("(release/2026.1)"));
    assert!(t
        .read("procedures/global/SOP-0030.md")
        .contains("Work in progress."));
    let err = t.expect_failure(&["build", "--ref", "release/nope"]);
    assert!(
        err.contains("'release/nope' does not name a commit"),
        "{err}"
    );
}

#[test]
fn one_commit_builds_byte_identical_sites_in_any_clone() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        &addendum("SOP-0020", "r", "::: append #scope\nCork.\n:::\n"),
    );
    t.commit("Initial\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t.build();
    let first = t.tree("public");
    let copy = tempfile::tempdir().unwrap();
    let repo = git2::Repository::open(t.root()).unwrap();
    let url = format!("file://{}", t.root().display());
    drop(repo);
    git2::build::RepoBuilder::new()
        .clone(&url, copy.path())
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_procsite"))
        .args(["build"])
        .current_dir(copy.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let second = tree_of(&copy.path().join("public"));
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    for (k, v) in &first {
        assert!(second[k] == *v, "{k} differs between clones");
    }
}

#[test]
fn history_json_carries_every_documents_stamps() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## A\nV1.\n", "2026-05-01"),
    );
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        &addendum("SOP-0020", "r", "::: append #scope\nCork.\n:::\n"),
    );
    let oid = t.commit("Issue\n\nChange-Control: CC-1\n");
    t.build();
    let json: serde_json::Value =
        serde_json::from_str(&t.read("public/cork/preview/history.json")).unwrap();
    assert_eq!(json["site"]["id"], "cork");
    assert_eq!(json["build"]["commit"].as_str().unwrap().len(), 40);
    let docs = json["documents"].as_array().unwrap();
    let ids: Vec<&str> = docs.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["SOP-0020", "SOP-0030"],
        "sorted by id, cork's documents only"
    );
    let sop30 = &docs[1];
    assert_eq!(sop30["revision"], 1);
    assert_eq!(sop30["changes"], 1);
    // The history names its commits by their place in the list of commits.
    assert_eq!(sop30["history"], serde_json::json!({"global": [0]}));
    // A commit is a row of the list's head; what is none or empty at its end is left
    // out: here who committed and when, being the author at the author time.
    assert_eq!(
        json["commit_fields"],
        serde_json::json!([
            "id",
            "time",
            "author",
            "subject",
            "trailers",
            "committer",
            "committed"
        ])
    );
    let row = json["commits"][0].as_array().unwrap();
    assert_eq!(row.len(), 5);
    let commit = common::history_commit(&json, 0);
    assert_eq!(commit["id"], oid.to_string());
    assert_eq!(commit["subject"], "Issue");
    assert_eq!(
        commit["trailers"],
        serde_json::json!(["Change-Control: CC-1"])
    );
    assert_eq!(sop30.get("adapted"), None);
    assert_eq!(json["format"], "procsite-history/3");
    assert_history_schema(&json);
    // The format versions published before keep is still described: this record,
    // written the older way (a commit an object, a history a list of pairs), follows
    // it, and as it is does not.
    let old = published_schema("history-2.schema.json");
    assert_eq!(
        validate_schema(&old, &old, &json, "$"),
        Err("$: commit_fields is not in the schema".into())
    );
    let mut older = json.clone();
    older["format"] = "procsite-history/2".into();
    older.as_object_mut().unwrap().remove("commit_fields");
    let count = json["commits"].as_array().unwrap().len();
    older["commits"] = (0..count).map(|i| history_commit(&json, i)).collect();
    for doc in older["documents"].as_array_mut().unwrap() {
        let pairs = history_places(doc)
            .into_iter()
            .map(|(at, file)| serde_json::json!([at, file]));
        doc["history"] = pairs.collect();
    }
    validate_schema(&old, &old, &older, "$").unwrap();
    assert_eq!(
        sop30["approvals"][0]["recorded_in"].as_str().unwrap().len(),
        10
    );
    let page = t.page("cork", "SOP-0030");
    assert!(page.contains(&format!(
        "data-full=\"{}\"",
        sop30["content_hash"].as_str().unwrap()
    )));
    assert_eq!(docs[0]["adaptation"]["rationale"], "r");
    assert_eq!(
        docs[0]["site_revision"], 0,
        "a draft addendum has no approved issue yet"
    );
}

#[test]
fn an_approvers_sites_and_valid_from_limit_what_counts_as_evidence() {
    let mut t = SiteTest::new();
    t.write(
        "book.toml",
        &format!("{BOOK}\n[approvers.ab]\nname = \"Aoife Byrne\"\nemails = [\"aoife@acme.example\"]\nroles = [\"Site Quality Head\"]\nsites = [\"cork\"]\nvalid-from = 2026-05-15\n"),
    );
    let add = |date: &str| {
        format!(
            "---\naddendum-to: SOP-0020\nrationale: r\nstatus: approved\napprovals:\n  - {{ name: Aoife Byrne, role: Site Quality Head, date: {date} }}\n---\n::: append #scope\nLocal.\n:::\n"
        )
    };
    t.commit("Global procedures");
    t.write("procedures/sites/cork/SOP-0020.md", &add("2026-05-20"));
    t.write("procedures/sites/boston/SOP-0020.md", &add("2026-05-20"));
    t.write("procedures/sites/freiburg/SOP-0020.md", &add("2026-05-01"));
    t.commit("Site addenda\n\nApproved-by: Aoife Byrne <aoife@acme.example>\n");
    t.build();
    let evidence = |site: &str| {
        let page = t.page(site, "SOP-0020");
        let aside = &page[pos(&page, "id=\"site-adaptation\"")..];
        ["recorded", "declared"]
            .into_iter()
            .find(|e| aside.contains(&format!(">{e}</span>")))
            .unwrap()
    };
    assert_eq!(evidence("cork"), "recorded");
    assert_eq!(evidence("boston"), "declared", "not an approver for Boston");
    assert_eq!(
        evidence("freiburg"),
        "declared",
        "approved before valid-from"
    );
}

#[test]
fn a_change_merged_from_a_branch_counts_once() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &draft("SOP-0030", "## A\nV1.\n"),
    );
    t.commit("Add SOP-0030");
    t.on_branch_then_merge("rework", "Merge rework", |t| {
        t.write(
            "procedures/global/SOP-0030.md",
            &draft("SOP-0030", "## A\nV2 on a branch.\n"),
        );
        t.commit("Rework SOP-0030");
    });
    t.build();
    let page = t.page("cork", "SOP-0030");
    assert!(page.contains("V2 on a branch."));
    assert!(
        dd(&page, "Changes").starts_with('2'),
        "{}",
        dd(&page, "Changes")
    );
    assert!(
        page.contains("<td>Rework SOP-0030") && !page.contains("<td>Merge rework"),
        "{page}"
    );
}

#[test]
fn only_a_new_approval_of_the_addendum_clears_a_stale_adaptation() {
    let mut t = SiteTest::new();
    let add = |rationale: &str, date: &str| {
        format!(
            "---\naddendum-to: SOP-0030\nrationale: {rationale}\nstatus: approved\napprovals:\n  - {{ name: Aoife Byrne, role: Site Quality Head, date: {date} }}\n---\n::: append #scope\nCork.\n:::\n"
        )
    };
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## Scope {#scope}\nV1.\n", "2026-05-01"),
    );
    t.write(
        "procedures/sites/cork/SOP-0030.md",
        &add("Local rule.", "2026-05-02"),
    );
    t.commit("Global revision 1 and Cork's adaptation");
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## Scope {#scope}\nV2.\n", "2026-06-01"),
    );
    t.commit("Global revision 2");
    assert!(t.run(&["check"]).stderr.contains("stale addendum"));
    // Editing the addendum without a new approval does not clear it.
    t.write(
        "procedures/sites/cork/SOP-0030.md",
        &add("Local rule, typo fixed.", "2026-05-02"),
    );
    t.commit("Typo in Cork's rationale");
    assert!(t.run(&["check"]).stderr.contains("stale addendum"));
    t.build();
    let page = t.page("cork", "SOP-0030");
    assert!(
        page.contains("Reviewed against global revision <strong>1</strong>"),
        "{page}"
    );
    assert!(page.contains("current global revision <strong>2</strong>"));
    assert!(page.contains("<strong>Stale adaptation:</strong>"));
    // Re-approval, recorded after the global change, does.
    t.write(
        "procedures/sites/cork/SOP-0030.md",
        &add("Local rule, typo fixed.", "2026-06-04"),
    );
    t.commit("Cork re-approves its adaptation of revision 2");
    assert!(!t.run(&["check"]).stderr.contains("stale addendum"));
    t.build();
    assert!(t
        .page("cork", "SOP-0030")
        .contains("Reviewed against global revision <strong>2</strong>"));
    // A pinned revision above the global one is an error.
    let pinned = add("Local rule, typo fixed.", "2026-06-04")
        .replace("status: approved", "status: approved\nbase-revision: 9");
    t.write("procedures/sites/cork/SOP-0030.md", &pinned);
    let err = t.expect_failure(&["check"]);
    assert!(
        err.contains(
            "cork/SOP-0030.md:5: error[base-revision]: base-revision 9 is higher than SOP-0030's revision 2"
        ),
        "{err}"
    );
}

#[test]
fn a_rename_on_a_branch_merged_with_an_edit_keeps_the_whole_history() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/a.md",
        &draft("SOP-0030", "## A\nOne.\nTwo.\n"),
    );
    let base = t.commit("Create as a.md");
    // Main edits the file...
    t.write(
        "procedures/global/a.md",
        &draft("SOP-0030", "## A\nOne, edited on main.\nTwo.\n"),
    );
    let main_tip = t.commit("Edit on main");
    // ...while a branch from the base renames it.
    {
        let repo = git2::Repository::open(t.root()).unwrap();
        let base_commit = repo.find_commit(base).unwrap();
        repo.reset(base_commit.as_object(), git2::ResetType::Hard, None)
            .unwrap();
    }
    t.remove("procedures/global/a.md");
    t.write(
        "procedures/global/SOP-0030.md",
        &draft("SOP-0030", "## A\nOne.\nTwo.\n"),
    );
    let renamed = t.commit("Rename to SOP-0030.md");
    // The merge takes both: the new name and main's edit.
    t.write(
        "procedures/global/SOP-0030.md",
        &draft("SOP-0030", "## A\nOne, edited on main.\nTwo.\n"),
    );
    {
        let repo = git2::Repository::open(t.root()).unwrap();
        let tree = repo.find_tree(t.stage_all(&repo)).unwrap();
        let sig = t.next_signature();
        let (main_c, renamed_c) = (
            repo.find_commit(main_tip).unwrap(),
            repo.find_commit(renamed).unwrap(),
        );
        repo.commit(
            Some("HEAD"),
            &sig,
            &sig,
            "Merge the rename",
            &tree,
            &[&renamed_c, &main_c],
        )
        .unwrap();
    }
    t.build();
    let page = t.page("cork", "SOP-0030");
    assert!(page.contains("One, edited on main."));
    for subject in ["Create as a.md", "Edit on main", "Rename to SOP-0030.md"] {
        assert!(
            page.contains(&format!("<td>{subject}")),
            "{subject} missing:\n{page}"
        );
    }
}

#[test]
fn a_renumbered_document_keeps_the_history_of_its_former_id() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/QP-020.md",
        &draft("QP-020", "## A\nOld numbering.\n"),
    );
    t.commit("Create QP-020");
    t.remove("procedures/global/QP-020.md");
    t.write(
        "procedures/global/SOP-0030.md",
        &draft("SOP-0030", "## A\nOld numbering.\n")
            .replace("status: draft", "status: draft\nformer-ids: [QP-020]"),
    );
    t.commit("Renumber QP-020 as SOP-0030");
    t.build();
    let page = t.page("cork", "SOP-0030");
    assert!(
        page.contains("<td>Create QP-020") && page.contains("<td>Renumber QP-020 as SOP-0030"),
        "{page}"
    );
}

#[test]
fn a_trailer_counts_only_in_the_documents_own_commits() {
    let mut t = SiteTest::new();
    t.write(
        "book.toml",
        &format!(
            "{BOOK}\n[approvers.jroe]\nname = \"Jane Roe\"\nemails = [\"jane.roe@acme.example\"]\n"
        ),
    );
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## A\nV1.\n", "2026-05-01"),
    );
    t.commit("Issue SOP-0030");
    t.write(
        "procedures/global/SOP-0040.md",
        &draft("SOP-0040", "## A\nOther.\n"),
    );
    t.commit("Another document\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t.build();
    assert!(
        t.page("cork", "SOP-0030").contains(">declared</span>"),
        "a trailer about another document"
    );
    // A merge commit's trailer cannot be tied to one document: no evidence.
    t.on_branch_then_merge(
        "revise",
        "Merge revise\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n",
        |t| {
            t.write(
                "procedures/global/SOP-0030.md",
                &approved("SOP-0030", "## A\nV2.\n", "2026-06-02"),
            );
            t.commit("Revise SOP-0030");
        },
    );
    t.build();
    assert!(
        t.page("cork", "SOP-0030").contains(">declared</span>"),
        "a merge commit's trailer"
    );
    // The trailer in the commit that changed the document (a squash merge) counts.
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## A\nV3.\n", "2026-06-05"),
    );
    t.commit("Revise SOP-0030 (#12)\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t.build();
    assert!(t.page("cork", "SOP-0030").contains(">recorded</span>"));
}
#[test]
fn a_review_due_before_the_as_of_date_is_overdue() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## A\nV1.\n", "2026-05-01").replace(
            "effective: 2026-05-15",
            "effective: 2026-05-02\nreview-due: 2026-06-15",
        ),
    );
    t.commit("Issue");
    // As of the commit (2026-06-01) the review is not yet due.
    let out = t.build();
    assert!(!out.stderr.contains("overdue"), "{}", out.stderr);
    assert!(!t
        .page("cork", "SOP-0030")
        .contains("periodic review overdue"));
    // As of a later date it is, on the page, on the index and in check.
    let out = t.run(&["build", "--as-of", "2026-07-01"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "SOP-0030.md:7: warning[review-overdue]: periodic review overdue: due 2026-06-15, as of 2026-07-01"
        ),
        "{}",
        out.stderr
    );
    assert!(t
        .page("cork", "SOP-0030")
        .contains(">periodic review overdue</span>"));
    assert!(t
        .read("public/cork/preview/index.html")
        .contains(">review overdue</span>"));
    let bad = t.run(&["build", "--as-of", "July"]);
    assert_eq!(bad.code, 2, "a bad date is a usage error: {}", bad.stderr);
}

#[test]
fn a_revision_effective_after_the_as_of_date_waits_and_the_one_in_force_is_published() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## A\nRevision one text.\n", "2026-05-01"),
    );
    t.commit("Revision 1, effective 2026-05-15");
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## A\nRevision two text.\n", "2026-06-01")
            .replace("effective: 2026-06-01", "effective: 2026-09-01"),
    );
    t.commit("Revision 2, effective 2026-09-01");
    // As of the commit (2026-06-02), revision 1 is in force.
    t.build();
    let page = t.page("cork", "SOP-0030");
    assert!(
        page.contains("Revision one text.") && !page.contains("Revision two text."),
        "{page}"
    );
    assert!(
        page.contains("Revision 2 is approved and becomes effective on <time>2026-09-01</time>"),
        "{page}"
    );
    assert!(
        dd(&page, "Revision").starts_with('1'),
        "{}",
        dd(&page, "Revision")
    );
    let index = t.read("public/cork/preview/index.html");
    assert!(index.contains("change upcoming: 2026-09-01"));
    let row = &index[pos(&index, "href=\"SOP-0030.html\"")..];
    let row = &row[..pos(row, "</tr>")];
    assert!(
        row.contains("</td><td>1</td><td>"),
        "the index gives the revision in force, as the page does: {row}"
    );
    // As of the effective date, revision 2.
    let out = t.run(&["build", "--as-of", "2026-09-01"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let page = t.page("cork", "SOP-0030");
    assert!(
        page.contains("Revision two text.") && !page.contains("Upcoming change"),
        "{page}"
    );
}

#[test]
fn a_release_publishes_the_approved_revision_of_a_document_being_revised() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## A\nApproved text.\n", "2026-05-01"),
    );
    t.commit("Revision 1");
    t.write(
        "procedures/global/SOP-0030.md",
        &draft("SOP-0030", "## A\nDraft of revision 2.\n"),
    );
    t.commit("Start revision 2");
    let out = t.run(&["build", "--release", "--version", "r1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let page = t.read("public/cork/r1/SOP-0030.html");
    assert!(
        page.contains("Approved text.") && !page.contains("Draft of revision 2."),
        "{page}"
    );
    assert!(
        page.contains("A new revision is draft and not yet approved."),
        "{page}"
    );
    assert!(!out.stderr.contains("leaves it out"), "{}", out.stderr);
}

#[test]
fn an_adaptation_reviewed_on_a_branch_that_never_saw_the_global_change_is_stale() {
    let mut t = SiteTest::new();
    let add = |date: &str| {
        format!(
            "---\naddendum-to: SOP-0030\nrationale: r\nstatus: approved\napprovals:\n  - {{ name: Aoife Byrne, role: Site Quality Head, date: {date} }}\n---\n::: append #scope\nCork.\n:::\n"
        )
    };
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## Scope {#scope}\nV1.\n", "2026-05-01"),
    );
    t.write("procedures/sites/cork/SOP-0030.md", &add("2026-05-02"));
    let base = t.commit("Global v1 and Cork's adaptation");
    // Main revises the global text...
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## Scope {#scope}\nV2.\n", "2026-06-01"),
    );
    let main_tip = t.commit("Global v2");
    // ...while Cork, on a branch from before it, re-approves its adaptation later.
    {
        let repo = git2::Repository::open(t.root()).unwrap();
        let base_commit = repo.find_commit(base).unwrap();
        repo.reset(base_commit.as_object(), git2::ResetType::Hard, None)
            .unwrap();
    }
    t.write("procedures/sites/cork/SOP-0030.md", &add("2026-06-03"));
    let branch_tip = t.commit("Cork re-approves against v1");
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## Scope {#scope}\nV2.\n", "2026-06-01"),
    );
    {
        let repo = git2::Repository::open(t.root()).unwrap();
        let tree = repo.find_tree(t.stage_all(&repo)).unwrap();
        let sig = t.next_signature();
        let (a, b) = (
            repo.find_commit(branch_tip).unwrap(),
            repo.find_commit(main_tip).unwrap(),
        );
        repo.commit(Some("HEAD"), &sig, &sig, "Merge", &tree, &[&a, &b])
            .unwrap();
    }
    let check = t.run(&["check"]);
    assert!(
        check
            .stderr
            .contains("cork/SOP-0030.md:2: warning[stale-addendum]: stale addendum"),
        "{}",
        check.stderr
    );
}

#[test]
fn history_shows_author_and_committer_with_times_and_offsets() {
    let t = SiteTest::new();
    let repo = git2::Repository::open(t.root()).unwrap();
    let tree = repo.find_tree(t.stage_all(&repo)).unwrap();
    // Written in Cork at 09:30 (UTC+1), rebased by someone else in Boston (UTC-5).
    let author = git2::Signature::new(
        "Ann Author",
        "ann@example.com",
        &git2::Time::new(1_780_302_600, 60),
    )
    .unwrap();
    let committer = git2::Signature::new(
        "Ben Rebaser",
        "ben@example.com",
        &git2::Time::new(1_780_390_800, -300),
    )
    .unwrap();
    repo.commit(Some("HEAD"), &author, &committer, "Issue", &tree, &[])
        .unwrap();
    t.build();
    let history: serde_json::Value =
        serde_json::from_str(&t.read("public/cork/preview/history.json")).unwrap();
    let place = history["documents"][0]["history"]["global"][0]
        .as_u64()
        .unwrap() as usize;
    let row = common::history_commit(&history, place);
    assert_eq!(row["time"], "2026-06-01T09:30:00+01:00");
    assert_eq!(row["author"], "Ann Author");
    assert_eq!(row["committer"], "Ben Rebaser");
    assert_eq!(row["committed"], "2026-06-02T04:00:00-05:00");
    let page = t.page("cork", "SOP-0020");
    assert!(
        page.contains("<td><time datetime=\"2026-06-01T09:30:00+01:00\">2026-06-01</time><br><span class=\"muted\">09:30:00+01:00</span></td><td>Ann Author<br><span class=\"muted\">committed by Ben Rebaser, <time datetime=\"2026-06-02T04:00:00-05:00\">2026-06-02 04:00:00-05:00</time></span></td>"),
        "{page}"
    );
}

#[test]
fn an_approval_pasted_into_a_commit_about_another_document_is_not_recorded() {
    use sha2::Digest;
    let evidence = |t: &SiteTest, id: &str| {
        let history: serde_json::Value =
            serde_json::from_str(&t.read("public/boston/preview/history.json")).unwrap();
        history["documents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == id)
            .unwrap()["approvals"][0]["evidence"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let mut t = SiteTest::empty();
    t.write("book.toml", &format!("{BOOK}{APPROVERS}"));
    t.write(
        "procedures/global/SOP-0090.md",
        &approved("SOP-0090", "## Scope {#scope}\nSterile.\n", "2026-05-01"),
    );
    t.commit("Issue SOP-0090\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    // One commit revises SOP-0020 and SOP-0030; one bare trailer names neither.
    let sop30 = approved("SOP-0030", "## Scope {#scope}\nComplaints.\n", "2026-06-02");
    t.write(
        "procedures/global/SOP-0020.md",
        &approved("SOP-0020", "## Scope {#scope}\nCAPA.\n", "2026-06-02"),
    );
    t.write("procedures/global/SOP-0030.md", &sop30);
    t.commit("Issue SOP-0020 and SOP-0030\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t.build();
    assert_eq!(
        evidence(&t, "SOP-0090"),
        "recorded",
        "one document, one trailer"
    );
    assert_eq!(evidence(&t, "SOP-0020"), "declared");
    assert_eq!(evidence(&t, "SOP-0030"), "declared");
    // check --release says what to paste: the trailer naming the document and its file.
    t.tag("release/2026.1");
    let hash = format!("{:x}", sha2::Sha256::digest(sop30.as_bytes()));
    let err = t
        .run(&["check", "--release", "--ref", "release/2026.1"])
        .stderr;
    assert!(
        err.contains(&format!("in a commit that changes several, the trailer names it: `Approves: SOP-0030 sha256:{hash} Jane Roe <jane.roe@acme.example>`")),
        "{err}"
    );
    // A trailer naming another document's hash, or the wrong document, does not count.
    let sop30b = sop30.replace("Complaints.", "Complaints and feedback.");
    t.write("procedures/global/SOP-0030.md", &sop30b);
    t.write(
        "procedures/global/SOP-0020.md",
        &approved(
            "SOP-0020",
            "## Scope {#scope}\nCAPA, revised.\n",
            "2026-06-02",
        ),
    );
    t.commit(&format!(
        "Revise both\n\nApproves: SOP-0030 sha256:{hash} Jane Roe <jane.roe@acme.example>\nApproves: SOP-0090 sha256:{:x} Jane Roe <jane.roe@acme.example>\n",
        sha2::Sha256::digest(sop30b.as_bytes())
    ));
    t.build();
    assert_eq!(evidence(&t, "SOP-0030"), "declared", "stale hash, wrong id");
    // Named with the hash of the file as committed, it counts.
    let sop30c = sop30b.replace("feedback.", "feedback from users.");
    t.write("procedures/global/SOP-0030.md", &sop30c);
    t.write(
        "procedures/global/SOP-0020.md",
        &approved(
            "SOP-0020",
            "## Scope {#scope}\nCAPA, revised again.\n",
            "2026-06-02",
        ),
    );
    t.commit(&format!(
        "Revise both again\n\nApproves: SOP-0030 sha256:{:x} Jane Roe <jane.roe@acme.example>\n",
        sha2::Sha256::digest(sop30c.as_bytes())
    ));
    t.build();
    assert_eq!(evidence(&t, "SOP-0030"), "recorded");
    assert_eq!(
        evidence(&t, "SOP-0020"),
        "declared",
        "the trailer names SOP-0030 only"
    );
}

#[test]
fn an_approval_covers_the_controlled_front_matter_not_only_the_body() {
    let mut t = SiteTest::empty();
    t.write(
        "book.toml",
        &format!("[book]\ntitle = \"T\"\n\n[site.cork]\nname = \"Cork\"\nmarkets = [\"EU\"]\n{APPROVERS}"),
    );
    let text = approved("SOP-0030", "## Scope {#scope}\nComplaints.\n", "2026-05-01");
    t.write("procedures/global/SOP-0030.md", &text);
    t.commit("Issue SOP-0030\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t.tag("release/2026.1");
    assert_eq!(
        t.run(&["check", "--release", "--ref", "release/2026.1"])
            .code,
        0
    );
    // Which sites get the document changes after the approval: the approval is stale.
    t.write(
        "procedures/global/SOP-0030.md",
        &text.replace(
            "effective: 2026-05-15\n",
            "effective: 2026-05-15\nmarkets: [EU]\n",
        ),
    );
    t.commit("Limit SOP-0030 to the EU");
    t.tag("release/2026.2");
    let err = t.expect_failure(&["check", "--release", "--ref", "release/2026.2"]);
    assert!(
        err.starts_with("procedures/global/SOP-0030.md:8: error[stale-approval]: the approval by Jane Roe (recorded in "),
        "{err}"
    );
    // So does a new title.
    t.write(
        "procedures/global/SOP-0030.md",
        &text.replace("title: T SOP-0030", "title: Complaint handling"),
    );
    t.commit("Rename SOP-0030");
    let out = t.run(&["check"]);
    assert!(
        out.stderr.contains("warning[stale-approval]"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_id_is_never_given_to_another_document() {
    let doc = |title: &str, body: &str| {
        approved("SOP-0030", body, "2026-05-01")
            .replace("title: T SOP-0030", &format!("title: {title}"))
    };
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &doc("Supplier audits", "## A\nAudit text.\n"),
    );
    t.commit("Issue SOP-0030");
    t.write(
        "procedures/global/SOP-0030.md",
        &doc("Supplier audits", "## A\nAudit text, revised.\n"),
    );
    t.commit("Revise SOP-0030");
    // Removed, then restored as it was: the same document, its history whole.
    t.remove("procedures/global/SOP-0030.md");
    t.commit("Remove SOP-0030 by mistake");
    t.write(
        "procedures/global/SOP-0030.md",
        &doc("Supplier audits", "## A\nAudit text, revised.\n"),
    );
    t.commit("Restore SOP-0030");
    t.build();
    let page = t.page("cork", "SOP-0030");
    assert!(page.contains("Issue SOP-0030") && page.contains("Restore SOP-0030"));
    // Removed, then the id given to a new topic: refused, and the old history is not
    // the new document's.
    t.remove("procedures/global/SOP-0030.md");
    let removal = t.commit("Withdraw SOP-0030");
    t.write(
        "procedures/global/quality/SOP-0030.md",
        &doc("Calibration", "## A\nCalibration text.\n"),
    );
    t.commit("New procedure under a free id");
    let out = t.run(&["check"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr.lines().take(2).collect::<Vec<_>>(),
        [
            format!("procedures/global/quality/SOP-0030.md:2: error[reused-id]: SOP-0030 was the id of “Supplier audits” (procedures/global/SOP-0030.md), removed in commit {} (2026-06-05); an id is never given to another document", &removal.to_string()[..10]).as_str(),
            "  help: give this document a new id (the next free number of its type); if it succeeds the removed document, say so in the new one with `supersedes: [SOP-0030]`. Records that cite the old id keep meaning the old document",
        ],
        "{}",
        out.stderr
    );
}

#[test]
fn a_long_history_is_on_a_page_of_its_own_and_the_page_shows_the_newest_changes() {
    let mut t = SiteTest::new();
    t.commit("Start");
    for n in 1..=12 {
        t.write(
            "procedures/global/SOP-0030.md",
            &draft("SOP-0030", &format!("## A\nText {n}.\n")),
        );
        t.commit(&format!("Rework {n}"));
    }
    t.build();
    let page = t.page("cork", "SOP-0030");
    let history = &page[pos(&page, "<section class=\"revision-history\"")..];
    let history = &history[..pos(history, "</section>")];
    let rows = |html: &str| -> Vec<String> {
        html.split("<tr><td>")
            .skip(1)
            .map(|row| {
                row.split("</td></tr>")
                    .next()
                    .unwrap()
                    .rsplit("<td>")
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let newest: Vec<String> = (3..=12).rev().map(|n| format!("Rework {n}")).collect();
    assert_eq!(rows(history), newest);
    assert_eq!(dd(&page, "Changes"), "12");
    assert!(history.contains("<p class=\"history-more\">The newest 10 of 12 changes: <a href=\"SOP-0030.history.html\">the whole history of SOP-0030</a>.</p>"), "{history}");

    let whole = t.read("public/cork/preview/SOP-0030.history.html");
    let all: Vec<String> = (1..=12).rev().map(|n| format!("Rework {n}")).collect();
    assert_eq!(rows(&whole), all);
    assert!(whole.contains("<li><a href=\"SOP-0030.html\">SOP-0030</a></li><li aria-current=\"page\">Revision history</li>"));
    assert!(whole.contains(
        "<div class=\"preview-banner\" role=\"note\"><strong>Uncontrolled preview</strong>"
    ));
    // The version's manifest covers it, and history.json keeps every change.
    let manifest = t.read("public/cork/preview/manifest.json");
    assert!(manifest.contains("\"SOP-0030.history.html\""), "{manifest}");
    let record: serde_json::Value =
        serde_json::from_str(&t.read("public/cork/preview/history.json")).unwrap();
    let doc = record["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "SOP-0030")
        .unwrap();
    assert_eq!(common::history_places(doc).len(), 12);

    // A short history stays whole on the page, with no page of its own.
    let short = t.page("cork", "SOP-0020");
    assert!(!short.contains("history-more"));
    assert!(!t.exists("public/cork/preview/SOP-0020.history.html"));
}

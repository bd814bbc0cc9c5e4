//! `procsite publish`: release tags become immutable versions, with versions.json and latest/.

mod common;
use common::*;

fn repo_with_two_releases() -> SiteTest {
    let mut t = SiteTest::empty();
    t.write("book.toml", &format!("{BOOK}{APPROVERS}"));
    t.write(
        "procedures/global/SOP-0020.md",
        &approved(
            "SOP-0020",
            "## Scope {#scope}\nFirst release text.\n",
            "2026-05-01",
        ),
    );
    t.write(
        "procedures/global/SOP-0090.md",
        &approved("SOP-0090", "## Scope {#scope}\nSterile.\n", "2026-05-01"),
    );
    t.commit("Issue\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t.tag("release/2026.1");
    t.write(
        "procedures/global/SOP-0020.md",
        &approved(
            "SOP-0020",
            "## Scope {#scope}\nSecond release text.\n",
            "2026-06-01",
        ),
    );
    t.commit("Revise SOP-0020\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t.tag("release/2026.2");
    t
}

#[test]
fn two_release_tags_become_two_versions_with_latest_and_versions_json() {
    let t = repo_with_two_releases();
    let out = t.run(&["publish"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(t
        .read("public/cork/2026.1/SOP-0020.html")
        .contains("First release text."));
    assert!(t
        .read("public/cork/2026.2/SOP-0020.html")
        .contains("Second release text."));
    assert!(t
        .read("public/cork/latest/SOP-0020.html")
        .contains("Second release text."));
    let versions: serde_json::Value =
        serde_json::from_str(&t.read("public/cork/versions.json")).unwrap();
    assert_eq!(
        t.version_names("cork"),
        ["2026.2", "2026.1"],
        "newest first"
    );
    assert_eq!(versions[0]["aliases"][0], "latest");
    assert!(t
        .read("public/cork/versions.js")
        .starts_with("window.PROCSITE_VERSIONS = ["));
    assert!(unescape(&t.read("public/index.html")).contains("cork/latest/index.html"));
    assert_eq!(t.run(&["verify", "public/cork/2026.1"]).code, 0);
    // Released pages carry no preview mark.
    assert!(!t
        .read("public/cork/2026.1/SOP-0020.html")
        .contains("Uncontrolled preview"));
}

#[test]
fn a_later_release_leaves_earlier_versions_byte_identical() {
    let mut t = repo_with_two_releases();
    assert_eq!(t.run(&["publish"]).code, 0);
    let first = t.tree("public/cork/2026.1");
    let second = t.tree("public/boston/2026.2");
    t.write(
        "procedures/global/SOP-0020.md",
        &approved(
            "SOP-0020",
            "## Scope {#scope}\nThird release text.\n",
            "2026-06-03",
        ),
    );
    t.commit("Revise again\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t.tag("release/2026.3");
    let out = t.run(&["publish"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("published release/2026.3 as version 2026.3"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("as version 2026.1"));
    assert_eq!(t.tree("public/cork/2026.1"), first);
    assert_eq!(t.tree("public/boston/2026.2"), second);
    assert!(t
        .read("public/cork/latest/SOP-0020.html")
        .contains("Third release text."));
}

#[test]
fn publish_refuses_when_a_released_version_was_changed() {
    let t = repo_with_two_releases();
    assert_eq!(t.run(&["publish"]).code, 0);
    let page = t.path("public/cork/2026.1/SOP-0020.html");
    let mut bytes = std::fs::read(&page).unwrap();
    bytes[50] ^= 0x01;
    std::fs::write(&page, &bytes).unwrap();
    let before = t.tree("public");
    let err = t.expect_failure(&["publish"]);
    assert!(
        err.contains("published version 2026.1 has changed"),
        "{err}"
    );
    assert!(err.contains("SOP-0020.html: changed"), "{err}");
    assert_eq!(t.tree("public"), before, "nothing written");
}

#[test]
fn released_pages_carry_their_version_and_learn_what_superseded_them() {
    let t = repo_with_two_releases();
    assert_eq!(t.run(&["publish"]).code, 0);
    let old = t.read("public/cork/2026.1/SOP-0020.html");
    assert!(old.contains("data-version=\"2026.1\""));
    assert!(
        old.contains("<script src=\"..&#x2F;versions.js\"></script>")
            || old.contains("<script src=\"../versions.js\"></script>"),
        "{old}"
    );
    assert!(
        old.contains("This version may be superseded"),
        "a static line for readers without script"
    );
    let versions = t.read("public/cork/versions.js");
    assert!(
        versions.contains("\"pages\": [") && versions.contains("\"SOP-0020.html\""),
        "{versions}"
    );
    // A preview has none of it.
    t.build();
    assert!(!t.page("cork", "SOP-0020").contains("versions.js"));
}

#[test]
fn a_publish_that_fails_part_way_leaves_the_output_and_the_next_run_succeeds() {
    if !test_hooks("a_publish_that_fails_part_way_leaves_the_output_and_the_next_run_succeeds") {
        return;
    }
    let mut t = repo_with_two_releases();
    assert_eq!(t.run(&["publish"]).code, 0);
    let before = t.tree("public");
    t.write(
        "procedures/global/SOP-0020.md",
        &approved("SOP-0020", "## Scope {#scope}\nThird.\n", "2026-06-03"),
    );
    t.commit("Revise\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t.tag("release/2026.3");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_procsite"))
        .arg("publish")
        .current_dir(t.root())
        .env("PROCSITE_TEST_FAIL_AFTER_FILES", "20")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        t.tree("public"),
        before,
        "versions.json, latest/ and the portal are unchanged"
    );
    assert_eq!(t.run(&["publish"]).code, 0);
    assert!(t
        .read("public/cork/latest/SOP-0020.html")
        .contains("Third."));
}

#[test]
fn each_published_version_lists_what_changed_since_the_previous_one() {
    let t = repo_with_two_releases();
    assert_eq!(t.run(&["publish"]).code, 0);
    let first = t.read("public/cork/2026.1/changes.html");
    assert!(first.contains("no earlier published version"), "{first}");
    let second = t.read("public/cork/2026.2/changes.html");
    assert!(
        second.contains("Since version 2026.1: 0 new, 1 revised, 0 withdrawn."),
        "{second}"
    );
    assert!(
        second.contains("<a href=\"SOP-0020.html\">SOP-0020 T SOP-0020</a>"),
        "{second}"
    );
    assert!(
        second.contains("Second") && second.contains("First") && second.contains("<mark>"),
        "{second}"
    );
    assert!(t
        .read("public/cork/2026.2/index.html")
        .contains("href=\"changes.html\""));
}

#[test]
fn versions_json_and_the_output_manifest_chain_every_page_to_one_printed_hash() {
    use sha2::Digest;
    let hash = |b: &[u8]| format!("{:x}", sha2::Sha256::digest(b));
    let t = repo_with_two_releases();
    let out = t.run(&["publish"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Each versions.json entry names its version's manifest.json by hash...
    let versions: serde_json::Value =
        serde_json::from_str(&t.read("public/cork/versions.json")).unwrap();
    for v in versions.as_array().unwrap() {
        let name = v["version"].as_str().unwrap();
        let bytes = std::fs::read(t.path(&format!("public/cork/{name}/manifest.json"))).unwrap();
        assert_eq!(v["manifest"], hash(&bytes), "{name}");
    }
    // ... the output manifest names every versions.json by hash, and publish prints
    // the output manifest's own hash last.
    let top_bytes = std::fs::read(t.path("public/manifest.json")).unwrap();
    let top: serde_json::Value = serde_json::from_slice(&top_bytes).unwrap();
    assert_eq!(
        top["files"]["cork/versions.json"],
        hash(t.read("public/cork/versions.json").as_bytes())
    );
    assert_eq!(
        out.stdout.lines().last().unwrap(),
        format!(
            "output manifest.json sha256 {}: keep it with the release record",
            hash(&top_bytes)
        )
    );
}

#[test]
fn publish_refuses_when_a_released_commit_is_gone_from_the_history() {
    let t = repo_with_two_releases();
    assert_eq!(t.run(&["publish"]).code, 0);
    let repo = git2::Repository::open(t.root()).unwrap();
    let first = repo
        .revparse_single("release/2026.1")
        .unwrap()
        .peel_to_commit()
        .unwrap();
    let second = repo.head().unwrap().peel_to_commit().unwrap();
    // History rewritten: the second release's tree on a new root commit, the first
    // release's tag deleted, the branch and the second tag moved to the new commit.
    let rewritten = repo
        .commit(
            None,
            &second.author(),
            &second.committer(),
            "Rewritten history",
            &second.tree().unwrap(),
            &[],
        )
        .unwrap();
    repo.tag_delete("release/2026.1").unwrap();
    repo.tag_delete("release/2026.2").unwrap();
    let branch = repo.head().unwrap().name().unwrap().to_string();
    repo.reference(&branch, rewritten, true, "rewrite").unwrap();
    repo.tag_lightweight(
        "release/2026.2",
        &repo.find_object(rewritten, None).unwrap(),
        false,
    )
    .unwrap();
    let before = t.tree("public");
    let err = t.expect_failure(&["publish"]);
    let first = first.id().to_string();
    assert!(
        err.contains(&format!("cork/2026.1: error[released-version-changed]: cork/2026.1 was published from commit {first}, which is no longer in the repository's history: no release tag names version 2026.1, and no branch or tag contains the commit")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "cork/2026.2: error[released-version-changed]: cork/2026.2 was built from commit {second}, but release tag release/2026.2 names commit {rewritten}, and commit {second} is no longer in the repository's history",
            second = second.id()
        )),
        "{err}"
    );
    assert_eq!(t.tree("public"), before, "nothing written");
}

//! `procsite export`: a complete copy of a site version whose documents hash to the
//! content hashes their pages show, with a manifest `verify` checks.

mod common;

use common::*;

fn released() -> SiteTest {
    let mut t = SiteTest::empty();
    t.write("book.toml", &format!("{BOOK}{APPROVERS}"));
    t.write(
        "procedures/global/SOP-0020.md",
        &approved("SOP-0020", "## Scope {#scope}\nFirst.\n", "2026-05-01"),
    );
    t.write(
        "procedures/global/SOP-0090.md",
        &approved("SOP-0090", "## Scope {#scope}\nSterile.\n", "2026-05-01"),
    );
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        "---\naddendum-to: SOP-0020\nrationale: Local archive.\nstatus: approved\napprovals:\n  - { name: Jane Roe, role: VP Quality, date: 2026-05-01 }\n---\n::: append #scope\nAlso the Cork archive.\n:::\n",
    );
    t.commit("Issue\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t.tag("release/2026.1");
    t
}

#[test]
fn an_export_holds_each_document_as_published_and_verifies() {
    let t = released();
    let out = t.run(&["export", "--site", "cork", "copy"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("exported site cork version 2026.1: 1 document(s), 4 file(s) into copy; manifest.json sha256 "),
        "{}",
        out.stdout
    );
    let names: Vec<String> = t.tree("copy").into_keys().collect();
    assert_eq!(
        names,
        [
            "changes.json",
            "documents/SOP-0020.md",
            "history.json",
            "manifest.json"
        ]
    );
    // The composed Markdown, addendum included, hashes to the content hash of the page.
    let md = t.read("copy/documents/SOP-0020.md");
    assert_eq!(md, "## Scope {#scope}\nFirst.\n\nAlso the Cork archive.\n");
    let history: serde_json::Value = serde_json::from_str(&t.read("copy/history.json")).unwrap();
    let hash = history["documents"][0]["content_hash"].as_str().unwrap();
    use sha2::Digest;
    assert_eq!(format!("{:x}", sha2::Sha256::digest(md.as_bytes())), hash);
    assert_eq!(t.run(&["publish"]).code, 0);
    assert!(t
        .read("public/cork/2026.1/SOP-0020.html")
        .contains(&hash[..12]));
    // The copy proves itself: verify passes, and an edited document fails it.
    let ok = t.run(&["verify", "copy"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    t.write("copy/documents/SOP-0020.md", "## Scope\nEdited.\n");
    let bad = t.run(&["verify", "copy"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("documents/SOP-0020.md"),
        "{}",
        bad.stderr
    );
}

#[test]
fn an_export_never_overwrites_and_names_a_missing_version() {
    let t = released();
    t.write("copy/keep.txt", "mine");
    let err = t.expect_failure(&["export", "--site", "cork", "copy"]);
    assert_eq!(
        err.lines().take(2).collect::<Vec<_>>().join("\n"),
        "copy: error[output]: copy is not empty: an export never overwrites\n  help: give a new folder"
    );
    assert_eq!(t.read("copy/keep.txt"), "mine");
    let err = t.expect_failure(&["export", "--site", "cork", "--version", "2026.2", "other"]);
    assert_eq!(
        err.lines().take(2).collect::<Vec<_>>().join("\n"),
        "--version: error[argument]: there is no release tag release/2026.2 for version 2026.2 (did you mean '2026.1'?)\n  help: give a released version (procsite publish lists them on each site's versions page), or --version preview for the work tree"
    );
    assert!(!t.exists("other"));
}

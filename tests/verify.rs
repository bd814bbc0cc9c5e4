//! manifest.json in every site version, and `procsite verify` against it.

mod common;
use common::*;

fn built() -> SiteTest {
    let mut t = SiteTest::new();
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        &addendum("SOP-0020", "r", "::: append #scope\nCork.\n:::\n"),
    );
    t.commit("Initial");
    t.build();
    t
}

#[test]
fn every_version_has_a_manifest_of_all_its_files() {
    let t = built();
    let manifest: serde_json::Value =
        serde_json::from_str(&t.read("public/cork/preview/manifest.json")).unwrap();
    assert_eq!(manifest["site"], "cork");
    assert_eq!(manifest["version"], "preview");
    assert_eq!(manifest["commit"].as_str().unwrap().len(), 40);
    assert_eq!(manifest["tool_version"], env!("CARGO_PKG_VERSION"));
    let files = manifest["files"].as_object().unwrap();
    let on_disk: Vec<String> = t
        .tree("public/cork/preview")
        .into_keys()
        .filter(|k| k != "manifest.json")
        .collect();
    assert_eq!(files.keys().cloned().collect::<Vec<_>>(), on_disk);
    let page = std::fs::read(t.path("public/cork/preview/SOP-0020.html")).unwrap();
    use sha2::Digest;
    assert_eq!(
        files["SOP-0020.html"],
        format!("{:x}", sha2::Sha256::digest(&page))
    );
}

#[test]
fn verify_passes_on_untouched_output() {
    let t = built();
    let out = t.run(&["verify", "public"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("verified 3 version(s)"),
        "{}",
        out.stdout
    );
    let one = t.run(&["verify", "public/cork/preview"]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert!(one.stdout.contains("verified 1 version(s)"));
}

#[test]
fn verify_names_a_changed_a_missing_and_an_extra_file() {
    let t = built();
    let page = t.path("public/cork/preview/SOP-0020.html");
    let mut bytes = std::fs::read(&page).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&page, bytes).unwrap();
    std::fs::remove_file(t.path("public/cork/preview/index.html")).unwrap();
    t.write("public/cork/preview/injected.html", "<p>not released</p>");
    let err = t.expect_failure(&["verify", "public"]);
    assert!(
        err.contains("public/cork/preview/SOP-0020.html: changed"),
        "{err}"
    );
    assert!(
        err.contains("public/cork/preview/index.html: missing"),
        "{err}"
    );
    assert!(
        err.contains("public/cork/preview/injected.html: extra file, not in the manifest"),
        "{err}"
    );
    assert!(
        err.contains("verification failed: 3 problem(s) in 3 version(s)"),
        "{err}"
    );
    // The other sites are untouched.
    assert_eq!(t.run(&["verify", "public/boston/preview"]).code, 0);
}

#[test]
fn verify_refuses_a_folder_without_manifests() {
    let t = built();
    let err = t.expect_failure(&["verify", "procedures"]);
    assert!(err.contains("holds no manifest.json"), "{err}");
}

/// Two releases published by `publish`.
fn published() -> SiteTest {
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
    t.commit("Issue\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t.tag("release/2026.1");
    t.write(
        "procedures/global/SOP-0020.md",
        &approved("SOP-0020", "## Scope {#scope}\nSecond.\n", "2026-06-01"),
    );
    t.commit("Revise\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t.tag("release/2026.2");
    assert_eq!(t.run(&["publish"]).code, 0);
    t
}

/// Rewrites a file and every manifest above it, as someone covering their tracks would.
fn forge(t: &SiteTest, rel: &str, text: &str) {
    use sha2::Digest;
    let hash = |b: &[u8]| format!("{:x}", sha2::Sha256::digest(b));
    t.write(&format!("public/{rel}"), text);
    let (version_dir, file) = rel.rsplit_once('/').unwrap();
    let mpath = format!("public/{version_dir}/manifest.json");
    let mut m: serde_json::Value = serde_json::from_str(&t.read(&mpath)).unwrap();
    m["files"][file] = hash(text.as_bytes()).into();
    let mtext = serde_json::to_string_pretty(&m).unwrap() + "\n";
    t.write(&mpath, &mtext);
    let mut top: serde_json::Value = serde_json::from_str(&t.read("public/manifest.json")).unwrap();
    top["versions"][version_dir] = hash(mtext.as_bytes()).into();
    t.write(
        "public/manifest.json",
        &(serde_json::to_string_pretty(&top).unwrap() + "\n"),
    );
}

#[test]
fn verify_with_the_source_rebuilds_every_release_and_catches_a_forged_copy() {
    let t = published();
    let ok = t.run(&["verify", "public", "--source", "."]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert_eq!(
        ok.stdout.lines().last().unwrap(),
        "rebuilt 9 released version folder(s) from their tags: all 96 file(s) are byte for byte what the source builds"
    );
    // An edited page with recomputed manifests passes the manifest check...
    forge(&t, "cork/2026.1/SOP-0020.html", "<p>Forged.</p>\n");
    assert_eq!(t.run(&["verify", "public"]).code, 0);
    // ... and not the rebuild, which names the file.
    let bad = t.run(&["verify", "public", "--source", "."]);
    assert_eq!(bad.code, 1);
    assert_eq!(
        bad.stderr,
        "cork/2026.1/SOP-0020.html: differs from the rebuild of release/2026.1\ncork/2026.1/manifest.json: differs from the rebuild of release/2026.1\nverification against the source failed: 2 difference(s) in 9 released version folder(s)\n"
    );
}

#[test]
fn verify_with_the_source_names_both_commits_of_a_moved_tag() {
    let mut t = published();
    let was = git2::Repository::open(t.root())
        .unwrap()
        .revparse_single("release/2026.2")
        .unwrap()
        .peel_to_commit()
        .unwrap()
        .id();
    t.write(
        "procedures/global/SOP-0020.md",
        &approved("SOP-0020", "## Scope {#scope}\nRewritten.\n", "2026-06-01"),
    );
    let now = t.commit("Rewrite\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    let repo = git2::Repository::open(t.root()).unwrap();
    repo.tag_lightweight(
        "release/2026.2",
        &repo.find_object(now, None).unwrap(),
        true,
    )
    .unwrap();
    let bad = t.run(&["verify", "public", "--source", "."]);
    assert_eq!(bad.code, 1);
    let first = bad.stderr.lines().next().unwrap().to_string();
    assert_eq!(
        first,
        format!("boston/2026.2: release tag release/2026.2 now names commit {now}, but this version was built from commit {was}")
    );
}

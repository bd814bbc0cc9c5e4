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

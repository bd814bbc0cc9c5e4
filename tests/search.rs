//! The search index of a site version: what it holds, that it holds nothing of
//! another site, and that it is the same bytes for the same commit.

mod common;
use common::*;

/// The index a built version ships, as JSON.
fn index(t: &SiteTest, site: &str) -> serde_json::Value {
    let text = t.read(&format!("public/{site}/preview/search-index.js"));
    let json = text
        .strip_prefix("window.PROCSITE_SEARCH=")
        .and_then(|s| s.strip_suffix(";\n"))
        .expect("the index is one assignment");
    serde_json::from_str(json).expect("the index is JSON")
}

fn words(index: &serde_json::Value) -> Vec<String> {
    index["w"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_index_holds_the_sites_text_and_nothing_of_other_sites() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        &addendum(
            "SOP-0020",
            "HPRA expects it.",
            "::: append #records\nCork keeps a Zertifikatsprüfung logbook.\n:::\n",
        ),
    );
    t.commit("Initial");
    t.build();
    let cork = index(&t, "cork");
    let boston = index(&t, "boston");
    let cork_words = words(&cork);
    for w in [
        "sop",
        "0020",
        "corrective",
        "responsibilities",
        "investigation",
        "zertifikatsprufung",
    ] {
        assert!(cork_words.contains(&w.to_string()), "{w} missing");
    }
    assert!(!words(&boston).contains(&"zertifikatsprufung".to_string()));
    // The addendum's text is in the records section of SOP-0020, with its heading
    // and snippet as the page shows them.
    let docs = cork["d"].as_array().unwrap();
    let capa = docs
        .iter()
        .position(|d| d[0] == "SOP-0020")
        .expect("SOP-0020 is indexed");
    assert_eq!(docs[capa][1], "Corrective and Preventive Action");
    let records = cork["s"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s[0] == capa && s[1] == "records")
        .expect("the records section");
    assert_eq!(records[2], "Records");
    assert_eq!(
        records[3],
        "Records are kept for 10 years. Cork keeps a Zertifikatsprüfung logbook."
    );
    // Excluded at cork: not indexed there; indexed at boston.
    assert!(!docs.iter().any(|d| d[0] == "SOP-0090"));
    assert!(boston["d"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d[0] == "SOP-0090"));
}

#[test]
fn the_same_commit_gives_the_same_index() {
    let mut t = SiteTest::new();
    t.commit("Initial");
    t.build();
    let first = t.read("public/cork/preview/search-index.js");
    std::fs::remove_dir_all(t.path("public")).unwrap();
    t.build();
    assert_eq!(first, t.read("public/cork/preview/search-index.js"));
    assert!(t
        .read("public/cork/preview/manifest.json")
        .contains("\"search-index.js\""));
}

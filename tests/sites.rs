//! What each site gets: market filtering, exclusions, site-only documents,
//! conditional content, links by id, and nothing of any other site.

mod common;
use common::*;

fn three_site_repo() -> SiteTest {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0035.md",
        &doc(
            "SOP-0035",
            "Vigilance",
            "",
            "## Reporting {#reporting}\nAll sites report.\n\n::: only market=FDA\nFile MDRs under 21 CFR 803.\n:::\n\n::: only market=EU\nReport serious incidents under MDR Art. 87.\n:::\n\n::: except market=FDA\nNo FDA duties here.\n:::\n\n:::: only site=cork\n::: only market=EU\nCork notifies the HPRA.\n:::\n::::\n",
        ),
    );
    t.write(
        "procedures/global/SOP-0115.md",
        &doc(
            "SOP-0115",
            "EU PRRC",
            "markets: [EU]\n",
            "## Duties\nPRRC duties.\n",
        ),
    );
    t.write(
        "procedures/global/SOP-0120.md",
        &doc(
            "SOP-0120",
            "FDA Registration",
            "markets: [FDA]\n",
            "## Listing\nFDA listing.\n",
        ),
    );
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        &addendum(
            "SOP-0020",
            "CORK-RATIONALE-MARKER",
            "::: append #scope\nCORK-ADDENDUM-MARKER\n:::\n",
        ),
    );
    t.write(
        "procedures/sites/cork/WI-COR-001.md",
        &doc(
            "WI-COR-001",
            "CORK-ONLY-TITLE",
            "",
            "## Gowning\nCORK-WI-MARKER\n",
        ),
    );
    t.write(
        "procedures/sites/boston/SOP-0020.md",
        &addendum(
            "SOP-0020",
            "BOSTON-RATIONALE-MARKER",
            "::: prepend #records\nBOSTON-ADDENDUM-MARKER\n:::\n",
        ),
    );
    t.write(
        "procedures/sites/boston/WI-BOS-001.md",
        &doc(
            "WI-BOS-001",
            "BOSTON-ONLY-TITLE",
            "",
            "## Load release\nBOSTON-WI-MARKER\n",
        ),
    );
    t
}

#[test]
fn market_conditions_pick_the_text_of_each_site_and_label_it() {
    let t = three_site_repo();
    t.build();
    let boston = body(&t.page("boston", "SOP-0035"));
    let cork = body(&t.page("cork", "SOP-0035"));
    let freiburg = body(&t.page("freiburg", "SOP-0035"));
    assert!(
        boston.contains("21 CFR 803")
            && !boston.contains("MDR Art. 87")
            && !boston.contains("No FDA duties")
    );
    assert!(
        cork.contains("21 CFR 803")
            && cork.contains("MDR Art. 87")
            && !cork.contains("No FDA duties")
    );
    assert!(
        !freiburg.contains("21 CFR 803")
            && freiburg.contains("MDR Art. 87")
            && freiburg.contains("No FDA duties")
    );
    assert!(cork.contains("Cork notifies the HPRA.") && !freiburg.contains("HPRA"));
    assert!(boston.contains("Only for market FDA"), "{boston}");
    assert!(freiburg.contains("Not for market FDA"), "{freiburg}");
    assert!(
        cork.contains("Only for site cork · Only for market EU"),
        "{cork}"
    );
}

#[test]
fn documents_follow_markets_and_exclusions() {
    let t = three_site_repo();
    t.build();
    assert!(
        t.exists("public/cork/preview/SOP-0115.html")
            && t.exists("public/freiburg/preview/SOP-0115.html")
    );
    assert!(!t.exists("public/boston/preview/SOP-0115.html"));
    assert!(
        t.exists("public/boston/preview/SOP-0120.html")
            && !t.exists("public/freiburg/preview/SOP-0120.html")
    );
    assert!(
        !t.exists("public/cork/preview/SOP-0090.html")
            && t.exists("public/boston/preview/SOP-0090.html")
    );
    let index = t.read("public/cork/preview/index.html");
    assert!(
        index.contains("Excluded: No sterilization at Cork"),
        "{index}"
    );
    let boston = t.read("public/boston/preview/index.html");
    assert!(
        boston.contains("Not for this site's markets: applies to markets EU; this site serves FDA"),
        "{boston}"
    );
}

#[test]
fn site_only_documents_are_published_at_their_site_only() {
    let t = three_site_repo();
    t.build();
    assert!(t
        .page("cork", "WI-COR-001")
        .contains("site document of Cork"));
    assert!(!t.exists("public/boston/preview/WI-COR-001.html"));
    assert!(t
        .read("public/cork/preview/index.html")
        .contains("WI-COR-001"));
}

#[test]
fn nothing_of_one_site_appears_in_another_sites_output() {
    let t = three_site_repo();
    t.build();
    let markers = [
        (
            "cork",
            [
                "CORK-RATIONALE-MARKER",
                "CORK-ADDENDUM-MARKER",
                "CORK-ONLY-TITLE",
                "CORK-WI-MARKER",
                "WI-COR-001",
                "HPRA",
            ],
        ),
        (
            "boston",
            [
                "BOSTON-RATIONALE-MARKER",
                "BOSTON-ADDENDUM-MARKER",
                "BOSTON-ONLY-TITLE",
                "BOSTON-WI-MARKER",
                "WI-BOS-001",
                "BOSTON-ONLY-TITLE",
            ],
        ),
    ];
    for site in ["boston", "cork", "freiburg"] {
        let files = t.tree(&format!("public/{site}"));
        assert!(files.len() > 3);
        for (owner, words) in &markers {
            for word in words {
                let found = files
                    .iter()
                    .any(|(_, bytes)| String::from_utf8_lossy(bytes).contains(word));
                assert_eq!(found, *owner == site, "{word} in {site}'s output: {found}");
            }
        }
    }
}

#[test]
fn links_by_id_resolve_within_the_site_and_feed_referenced_by() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &doc("SOP-0030", "Complaints", "", "## Intake\nOpen a [CAPA](SOP-0020#scope), see [records](SOP-0020#records) and [old](QP-020).\n"),
    );
    t.write(
        "procedures/global/SOP-0020.md",
        &CAPA.replace(
            "owner: Global Quality",
            "owner: Global Quality\nformer-ids: [QP-020]",
        ),
    );
    t.build();
    let page = t.page("cork", "SOP-0030");
    assert!(
        page.contains("<a href=\"SOP-0020.html#scope\">CAPA</a>"),
        "{page}"
    );
    assert!(page.contains("<a href=\"SOP-0020.html#records\">records</a>"));
    assert!(
        page.contains("<a href=\"SOP-0020.html\">old</a>"),
        "former ids link to the renumbered document"
    );
    let target = t.page("cork", "SOP-0020");
    assert!(
        target.contains("Referenced by")
            && target.contains("<a href=\"SOP-0030.html\">SOP-0030 Complaints</a>"),
        "{target}"
    );
}

#[test]
fn a_link_allowed_at_one_site_only_when_guarded_by_a_condition() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &doc(
            "SOP-0030",
            "Complaints",
            "",
            "## Intake\n\n::: except site=cork\nSee [sterilization](SOP-0090#scope).\n:::\n",
        ),
    );
    t.build();
    assert!(t.page("boston", "SOP-0030").contains("SOP-0090.html#scope"));
    assert!(!t.page("cork", "SOP-0030").contains("SOP-0090"));
}

#[test]
fn build_one_site_with_site_flag() {
    let t = three_site_repo();
    let out = t.run(&["build", "--site", "cork"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(t.exists("public/cork/preview/index.html"));
    assert!(
        !t.exists("public/boston/preview"),
        "only the site asked for is built"
    );
    let portal = t.read("public/index.html");
    assert!(
        portal.contains("cork&#x2F;preview&#x2F;index.html")
            || portal.contains("cork/preview/index.html"),
        "{portal}"
    );
    assert!(portal.contains("No released version yet"), "{portal}");
    // The report spans every site, built or not.
    let report = t.read("public/report/report.csv");
    assert!(
        report.contains("boston") && report.contains("freiburg"),
        "{report}"
    );
    let err = t.expect_failure(&["build", "--site", "corc"]);
    assert!(
        err.contains("there is no site 'corc' (did you mean 'cork'?)"),
        "{err}"
    );
}

#[test]
fn a_heading_has_the_same_anchor_at_every_site() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &doc("SOP-0030", "C", "", "## Scope\nAll.\n\n::: only market=EU\n## Notes\nEU notes.\n:::\n\n## Notes\nGeneral notes.\n"),
    );
    t.write(
        "procedures/global/SOP-0040.md",
        &doc(
            "SOP-0040",
            "L",
            "",
            "See [general notes](SOP-0030#notes-1).\n",
        ),
    );
    t.build();
    for site in ["boston", "cork", "freiburg"] {
        let page = t.page(site, "SOP-0030");
        let general = pos(&page, "General notes.");
        let anchor = page[..general]
            .rfind("id=\"notes-1\"")
            .expect("notes-1 before the general notes");
        assert!(general - anchor < 200, "{site}: {page}");
    }
    assert!(
        !t.page("boston", "SOP-0030").contains("id=\"notes\""),
        "the EU heading is not at Boston"
    );
}

#[test]
fn obsolete_documents_are_listed_not_published_and_not_linked() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0019.md",
        "---\nid: SOP-0019\ntitle: Old CAPA\nstatus: obsolete\nobsolete: { date: 2026-01-10, reason: Replaced by SOP-0020 }\napprovals:\n  - { name: Jane Roe, role: VP Quality, meaning: obsoleted, date: 2026-01-10 }\n---\n## A\nOld.\n",
    );
    t.write(
        "procedures/global/SOP-0020.md",
        &CAPA.replace(
            "owner: Global Quality",
            "owner: Global Quality\nsupersedes: [SOP-0019]",
        ),
    );
    t.build();
    assert!(!t.exists("public/cork/preview/SOP-0019.html"));
    let index = t.read("public/cork/preview/index.html");
    assert!(
        index.contains("Obsolete documents") && index.contains("Superseded by SOP-0020"),
        "{index}"
    );
    // A current document may not link to it.
    t.write(
        "procedures/global/SOP-0030.md",
        &doc("SOP-0030", "C", "", "See [the old one](SOP-0019).\n"),
    );
    let err = t.expect_failure(&["build"]);
    assert!(err.contains("SOP-0030.md:7: error[obsolete-link]: links to SOP-0019, which site cork does not publish (it is obsolete)"), "{err}");
    // supersedes must name an obsolete document.
    t.remove("procedures/global/SOP-0030.md");
    t.write("procedures/global/SOP-0019.md", "---\nid: SOP-0019\ntitle: Old CAPA\nstatus: approved\neffective: 2026-01-01\napprovals:\n  - { name: A, role: R, date: 2025-12-01 }\n---\n");
    let err = t.expect_failure(&["build"]);
    assert!(
        err.contains("SOP-0020.md:6: error[supersedes]: supersedes SOP-0019, which is approved, not obsolete"),
        "{err}"
    );
}

#[test]
fn a_commit_that_also_changed_another_site_shows_no_message_at_this_one() {
    let mut t = SiteTest::new();
    t.commit("Initial");
    t.write(
        "procedures/global/SOP-0020.md",
        &CAPA.replace("Global scope text.", "Global scope text, revised."),
    );
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        &addendum(
            "SOP-0020",
            "HPRA finding",
            "::: append #scope\nCork note.\n:::\n",
        ),
    );
    t.commit("Cork: answer the HPRA finding on supplier CAPAs\n\nChange-Reason: HPRA inspection 2026-04\n");
    t.build();
    let page = t.read("public/boston/preview/SOP-0020.html");
    assert!(!page.contains("HPRA"), "{page}");
    assert!(page.contains("this change also concerns another site: its message is not shown here"));
    // history.json keeps the commit's hash, time and author, with a null subject and
    // no trailers: a row of three places.
    let text = t.read("public/boston/preview/history.json");
    assert!(!text.contains("HPRA"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let doc = json["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "SOP-0020");
    let newest = doc.unwrap()["history"]["global"][0].as_u64().unwrap() as usize;
    assert_eq!(
        json["commits"][newest].as_array().unwrap().len(),
        3,
        "{text}"
    );
    let commit = history_commit(&json, newest);
    assert_eq!(commit.get("subject"), None);
    assert_eq!(commit.get("trailers"), None);
    let cork = t.page("cork", "SOP-0020");
    assert!(cork.contains("Cork: answer the HPRA finding on supplier CAPAs"));
    assert!(cork.contains("Change-Reason: HPRA inspection 2026-04"));
}

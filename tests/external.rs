//! The external-documents register: documents of `type: external` listed per site,
//! each with its page, and procedures' clauses checked against the editions it holds.

mod common;
use common::*;

const ISO_14971: &str = "---
id: EXT-ISO-14971
title: Medical devices — Application of risk management to medical devices
type: external
status: approved
designation: ISO 14971
publisher: ISO
edition: 2019
date: 2019-12-01
---
Held in the standards library; licensed copies for Quality and R&D.
";

const CFR_820: &str = "---
id: EXT-21CFR820
title: Quality Management System Regulation
type: external
status: approved
designation: 21 CFR 820
publisher: US FDA
edition: \"2024-02-02\"
sites: [boston]
---
The current text is on eCFR.
";

/// A repository with the two register entries and a procedure citing them.
fn register(clauses: &str) -> SiteTest {
    let mut t = SiteTest::new();
    t.write("procedures/global/ext/iso-14971.md", ISO_14971);
    t.write("procedures/global/ext/21cfr820.md", CFR_820);
    t.write(
        "procedures/global/SOP-0030.md",
        &doc(
            "SOP-0030",
            "Risk Management",
            clauses,
            "## Scope {#scope}\nRisk.\n",
        ),
    );
    t.commit("Register");
    t
}

#[test]
fn the_register_is_listed_per_site_with_a_page_per_entry() {
    let t = register("clauses:\n  - ISO 14971:2019 7.1\n  - 21 CFR 820.30\n");
    let out = t.build();
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    // Boston uses both, Cork only the standard for all sites.
    let boston = t.read("public/boston/preview/index.html");
    let section = &boston[pos(&boston, "<section class=\"doc-group\" id=\"type-external\"")..];
    let section = &section[..pos(section, "</section>") + "</section>".len()];
    let section: Vec<&str> = section
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    assert_snapshot("external-index-boston.html", &(section.join("\n") + "\n"));
    let cork = t.read("public/cork/preview/index.html");
    assert!(
        cork.contains("<a href=\"EXT-ISO-14971.html\">ISO 14971</a>"),
        "{cork}"
    );
    assert!(!cork.contains("EXT-21CFR820"), "{cork}");
    assert!(!t.exists("public/cork/preview/EXT-21CFR820.html"));
    // The entry's page: what the register says, and which procedures cite it.
    let page = t.page("boston", "EXT-ISO-14971");
    let meta = &page[pos(&page, "<div><dt>Designation</dt>")..];
    assert_eq!(
        &meta[..pos(meta, "<div><dt>Revision</dt>")].trim_end(),
        &"<div><dt>Designation</dt><dd>ISO 14971</dd></div>\n    <div><dt>Edition</dt><dd>2019 (<time>2019-12-01</time>)</dd></div>\n    <div><dt>Publisher</dt><dd>ISO</dd></div>\n    <div><dt>Used at</dt><dd>all sites</dd></div>"
    );
    assert!(
        page.contains(
            "<li><a href=\"SOP-0030.html\">SOP-0030 Risk Management</a>: ISO 14971:2019 7.1</li>"
        ),
        "{page}"
    );
    assert!(
        page.contains(
            "@top-left { content: \"EXT-ISO-14971 · Rev. 1 · ISO 14971 edition 2019\"; }"
        ),
        "{page}"
    );
    // history.json records the register fields; the harmonization report leaves the
    // register out: it is no procedure.
    let history: serde_json::Value =
        serde_json::from_str(&t.read("public/boston/preview/history.json")).unwrap();
    assert_history_schema(&history);
    let entry = history["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "EXT-21CFR820")
        .expect("the entry in history.json");
    assert_eq!(entry["external"]["edition"], "2024-02-02");
    assert_eq!(entry["external"]["sites"], serde_json::json!(["boston"]));
    assert_eq!(
        entry["external"]["cited_by"][0]["clauses"],
        serde_json::json!(["21 CFR 820.30"])
    );
    let report = t.read("public/report/report.md");
    assert!(!report.contains("EXT-"), "{report}");
}

#[test]
fn a_clause_citing_another_edition_than_the_register_holds_is_a_warning_at_its_line() {
    let t = register("clauses:\n  - ISO 13485:2016 7.1\n  - ISO 14971:2007 7.1\n");
    let out = t.run(&["check"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "procedures/global/SOP-0030.md:8: warning[external-edition]: clause 'ISO 14971:2007 7.1' cites ISO 14971 edition 2007, but the register holds edition 2019 (EXT-ISO-14971)\n  help: cite the edition in the register (ISO 14971:2019), or register edition 2007 if the procedure must follow it\n"
    );
    // Inline lists are reported at the key's line; an undated citation is fine.
    let t = register("clauses: [\"ISO 14971 7.1\", \"ISO 14971:2007 7.2\"]\n");
    let err = t.run(&["check"]).stderr;
    assert!(
        err.starts_with("procedures/global/SOP-0030.md:6: warning[external-edition]: clause 'ISO 14971:2007 7.2' cites"),
        "{err}"
    );
    assert_eq!(err.matches("warning[").count(), 1, "{err}");
}

#[test]
fn register_entries_are_checked_like_any_front_matter() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/ext/a.md",
        "---\nid: EXT-A\ntitle: A\ntype: external\nstatus: approved\ndesignation: IEC 62304\nedition: 2006\nsites: [corc]\n---\n",
    );
    t.write(
        "procedures/global/SOP-0031.md",
        &doc("SOP-0031", "T", "publisher: ISO\n", "x\n"),
    );
    t.commit("Wrong entries");
    let err = t.expect_failure(&["check"]);
    assert_eq!(
        err,
        "procedures/global/SOP-0031.md:6:1: error[unknown-field]: field 'publisher' belongs to external documents (type: external)\n  help: set `type: external` for an entry of the external-documents register, or put the value under `extra:`\n\
         procedures/global/ext/a.md:4: error[missing-field]: an external document needs 'publisher'\n  help: add `publisher: ISO` to the front-matter\n\
         procedures: warning[not-checked]: 2 file(s) could not be read; sites were not composed, so links and anchors were not checked\n  help: fix the errors reported above in those files, then run again\n\
         check failed: 2 error(s), 1 warning(s)\n"
    );
    t.write(
        "procedures/global/ext/a.md",
        "---\nid: EXT-A\ntitle: A\ntype: external\nstatus: approved\ndesignation: IEC 62304\npublisher: IEC\nedition: 2006\nsites: [corc]\n---\n",
    );
    t.remove("procedures/global/SOP-0031.md");
    t.commit("Fix one");
    let err = t.expect_failure(&["check"]);
    assert!(
        err.starts_with("procedures/global/ext/a.md:9: error[front-matter]: unknown site 'corc' in sites (did you mean 'cork'?)\n  help: sites in book.toml: boston, cork, freiburg\n"),
        "{err}"
    );
}

#[test]
fn a_link_to_an_entry_another_site_uses_is_an_error_at_this_site() {
    let mut t = register("");
    t.write(
        "procedures/global/SOP-0032.md",
        &doc(
            "SOP-0032",
            "Design",
            "",
            "## A\nSee [the QMSR](EXT-21CFR820).\n",
        ),
    );
    t.commit("Link");
    let err = t.expect_failure(&["check"]);
    assert!(
        err.contains("procedures/global/SOP-0032.md:8: error[link-target]: links to EXT-21CFR820, which site cork does not publish (the external-documents register lists it for sites boston only)"),
        "{err}"
    );
    assert!(!err.contains("site boston does not publish"), "{err}");
}

#[test]
fn a_release_publishes_the_register_without_approvals_and_leaves_drafts_out() {
    let mut t = SiteTest::empty();
    t.write("book.toml", &format!("{BOOK}{APPROVERS}"));
    t.write(
        "procedures/global/SOP-0020.md",
        &approved("SOP-0020", "## Scope {#scope}\nCAPA.\n", "2026-05-01"),
    );
    t.commit("Issue SOP-0020\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t.write(
        "procedures/global/SOP-0090.md",
        &approved("SOP-0090", "## Scope {#scope}\nSterile.\n", "2026-05-01"),
    );
    t.commit("Issue SOP-0090\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t.write("procedures/global/ext/iso-14971.md", ISO_14971);
    t.write(
        "procedures/global/ext/iec-62304.md",
        &ISO_14971
            .replace("EXT-ISO-14971", "EXT-IEC-62304")
            .replace("status: approved", "status: draft"),
    );
    t.commit("Register ISO 14971 and IEC 62304\n");
    let out = t.run(&["build", "--release", "--version", "r1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    let index = t.read("public/cork/r1/index.html");
    assert!(
        index.contains("<a href=\"EXT-ISO-14971.html\">EXT-ISO-14971</a>"),
        "{index}"
    );
    assert!(
        !index.contains("EXT-IEC-62304"),
        "a draft entry is not in the register yet"
    );
    assert!(t.exists("public/cork/r1/EXT-ISO-14971.html"));
}

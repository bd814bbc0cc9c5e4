//! `procsite diff`: a site against global, and between two versions.

mod common;
use common::*;

#[test]
fn diff_shows_a_sites_adaptations_against_global() {
    let t = SiteTest::new();
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        &addendum("SOP-0020", "r", "::: append #scope\nCork line.\n:::\n"),
    );
    let out = t.run(&["diff", "--site", "cork"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("--- global/SOP-0020") && out.stdout.contains("+++ cork/SOP-0020"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("+Cork line."), "{}", out.stdout);
    let stat = t.run(&["diff", "--site", "cork", "--stat"]).stdout;
    assert!(
        stat.starts_with("SOP-0020 Corrective and Preventive Action: "),
        "{stat}"
    );
    let boston = t.run(&["diff", "--site", "boston"]).stdout;
    assert_eq!(
        boston,
        "every document at site boston is identical to global\n"
    );
}

#[test]
fn diff_between_two_versions_lists_added_removed_and_revised_documents() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &doc("SOP-0030", "Complaints", "", "## A\nOld.\n"),
    );
    t.write(
        "procedures/global/SOP-0031.md",
        &doc("SOP-0031", "Withdrawn", "", "## A\nGone soon.\n"),
    );
    t.commit("First");
    t.tag("release/2026.1");
    t.write(
        "procedures/global/SOP-0030.md",
        &doc("SOP-0030", "Complaints", "", "## A\nNew.\n"),
    );
    t.remove("procedures/global/SOP-0031.md");
    t.write(
        "procedures/global/SOP-0040.md",
        &doc("SOP-0040", "Nonconformance", "", "## A\nAdded.\n"),
    );
    t.commit("Second");
    t.tag("release/2026.2");
    // Published version names stand for their release tags.
    let out = t.run(&[
        "diff", "--site", "cork", "--from", "2026.1", "--to", "2026.2",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("added: SOP-0040 Nonconformance"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("removed: SOP-0031 Withdrawn"));
    assert!(out.stdout.contains("-Old.") && out.stdout.contains("+New."));
    let json: serde_json::Value = serde_json::from_str(
        &t.run(&[
            "diff",
            "--site",
            "cork",
            "--from",
            "release/2026.1",
            "--to",
            "2026.2",
            "--format",
            "json",
        ])
        .stdout,
    )
    .unwrap();
    assert_eq!(json["changed"][0]["id"], "SOP-0030");
    assert_eq!(json["changed"][0]["lines_changed"], 2);
}

#[test]
fn diff_pages_show_the_site_text_as_a_redline_with_the_markdown_diff_one_click_away() {
    let t = SiteTest::new();
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        &addendum(
            "SOP-0020",
            "r",
            "::: replace #records\nRecords are kept for 15 years.\n:::\n",
        ),
    );
    t.build();
    let page = t.read("public/cork/preview/SOP-0020.diff.html");
    let redline = &page[pos(&page, "<div class=\"redline doc-body\">")
        ..pos(&page, "<details class=\"raw-diff\">")];
    assert!(
        redline.contains("<p>Records are kept for <del>10</del><ins>15</ins> years.</p>"),
        "{redline}"
    );
    let raw = &page[pos(&page, "<details class=\"raw-diff\">")..];
    assert!(
        raw.contains("<mark>10</mark>") && raw.contains("<mark>15</mark>"),
        "{raw}"
    );
}

#[test]
fn diff_as_html_and_across_a_rename() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &doc("SOP-0030", "Complaints", "", "## A\nOld.\n"),
    );
    t.commit("First");
    t.tag("release/2026.1");
    t.remove("procedures/global/SOP-0030.md");
    t.write(
        "procedures/global/complaints/complaint-handling.md",
        &doc("SOP-0030", "Complaints", "", "## A\nNew.\n"),
    );
    t.commit("Move and revise");
    t.tag("release/2026.2");
    let out = t.run(&[
        "diff", "--site", "cork", "--from", "2026.1", "--to", "2026.2",
    ]);
    assert!(
        !out.stdout.contains("added:") && !out.stdout.contains("removed:"),
        "a moved document is revised, not replaced: {}",
        out.stdout
    );
    assert!(
        out.stdout.contains("-Old.") && out.stdout.contains("+New."),
        "{}",
        out.stdout
    );
    let html = t
        .run(&[
            "diff", "--site", "cork", "--from", "2026.1", "--to", "2026.2", "--format", "html",
        ])
        .stdout;
    // Through the theme: its style inlined, a redline, the Markdown diff one click away.
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("<style>/* procsite default theme"), "{html}");
    let main = main_region(&html);
    assert!(main.contains("<h1>2026.2 against 2026.1</h1>"), "{main}");
    assert!(main.contains("<h2>SOP-0030 Complaints</h2>"), "{main}");
    assert!(
        main.contains("<p><del>Old</del><ins>New</ins>.</p>"),
        "{main}"
    );
    assert!(
        main.contains("<summary>Markdown source diff (2026.1 → 2026.2)</summary>"),
        "{main}"
    );
}

#[test]
fn a_reader_that_stops_early_ends_the_output_quietly() {
    use std::io::Read;
    let mut t = SiteTest::new();
    // More than a pipe buffer of report, so the writer meets the closed pipe.
    for i in 0..1500 {
        t.write(
            &format!("procedures/global/extra-{i:04}.md"),
            &doc(
                &format!("SOP-{:04}", 1000 + i),
                "T",
                "",
                "## A {#a}\nText.\n",
            ),
        );
    }
    t.commit("Many");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_procsite"))
        .args(["report", "--format", "md"])
        .current_dir(t.root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    let read = child.stdout.take().unwrap().read_exact(&mut first);
    if read.is_err() {
        let out = child.wait_with_output().unwrap();
        panic!("{}", String::from_utf8_lossy(&out.stderr));
    }
    // The pipe is closed here, as `| head -c 16` would.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
}

#[test]
fn an_unknown_document_is_an_error_and_a_site_document_has_no_global_text() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/sites/cork/wi.md",
        "---\nid: WI-CORK-1\ntitle: Cork line clearance\nstatus: draft\n---\nText.\n",
    );
    t.commit("Site document");
    let err = t.expect_failure(&["diff", "--site", "boston", "SOP-0021"]);
    assert_eq!(
        err,
        "DOC: error[argument]: site boston publishes no document SOP-0021 (did you mean 'SOP-0020'?)\n  help: give the id of a document the site publishes (its index lists them)\ndiff failed: 1 error(s), 0 warning(s)\n"
    );
    let out = t.run(&["diff", "--site", "cork", "WI-CORK-1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "site-only: WI-CORK-1 Cork line clearance (a document of site cork only: no global text to compare with)\n"
    );
}

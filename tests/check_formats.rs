//! `check` for CI: codes, formats, levels from `[diagnostics]`, and the codes a
//! release does not let a table lower. Also the CommonMark lesson of a real template
//! set: what GitHub renders, procsite renders, with warnings rather than errors.

mod common;
use common::*;

/// A document with an undefined reference link at line 8 and an unused market.
fn with_warnings() -> SiteTest {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &doc("SOP-0030", "Links", "", "## A\nSee [IMDRF][imdrf-1].\n"),
    );
    t.commit("Initial");
    t
}

const BROKEN: &str = "procedures/global/SOP-0030.md:8: warning[broken-reference-link]: the reference link [imdrf-1] has no definition; it is shown as written\n  help: add a line `[imdrf-1]: TARGET` to the document, or write the link inline\n";

#[test]
fn text_is_the_default_and_names_the_code() {
    let t = with_warnings();
    let out = t.run(&["check"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, BROKEN);
    assert_eq!(
        out.stdout,
        "check passed: 3 site(s), 3 document(s), 0 errors, 1 warning(s)\n"
    );
    let denied = t.run(&["check", "--deny-warnings"]);
    assert_eq!(denied.code, 1);
    assert_eq!(
        denied.stderr,
        format!("{BROKEN}check failed: 0 error(s), 1 warning(s) (--deny-warnings)\n")
    );
}

#[test]
fn json_lists_every_diagnostic_with_its_code() {
    let t = with_warnings();
    let out = t.run(&["check", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    assert_eq!(
        v,
        serde_json::json!({
            "errors": 0,
            "warnings": 1,
            "diagnostics": [{
                "code": "PS070",
                "name": "broken-reference-link",
                "severity": "warning",
                "file": "procedures/global/SOP-0030.md",
                "line": 8,
                "col": 0,
                "message": "the reference link [imdrf-1] has no definition; it is shown as written",
                "help": "add a line `[imdrf-1]: TARGET` to the document, or write the link inline"
            }]
        })
    );
    // The summary goes to stderr, so stdout stays one JSON document.
    assert_eq!(
        out.stderr,
        "check passed: 3 site(s), 3 document(s), 0 errors, 1 warning(s)\n"
    );
}

#[test]
fn github_annotations_and_gitlab_code_quality() {
    let mut t = with_warnings();
    t.write(
        "procedures/global/SOP-0031.md",
        &doc("SOP-0031", "Bad", "", "See [the plan](SOP-0999).\n"),
    );
    t.commit("Link to nothing");
    let gh = t.run(&["check", "--format", "github"]);
    assert_eq!(gh.code, 1);
    assert_eq!(
        gh.stdout,
        "::warning file=procedures/global/SOP-0030.md,line=8,title=PS070 broken-reference-link::the reference link [imdrf-1] has no definition; it is shown as written%0Ahelp: add a line `[imdrf-1]: TARGET` to the document, or write the link inline\n\
         ::error file=procedures/global/SOP-0031.md,line=7,title=PS072 link-target::links to SOP-0999 (did you mean 'SOP-0090'?), which is not a document id%0Ahelp: link to an existing document id, e.g. [CAPA](SOP-0020#scope)\n"
    );
    assert_eq!(gh.stderr, "check failed: 1 error(s), 1 warning(s)\n");
    let gl = t.run(&["check", "--format", "gitlab"]);
    assert_eq!(gl.code, 1);
    let v: serde_json::Value = serde_json::from_str(&gl.stdout).expect("stdout is JSON");
    let issues = v.as_array().unwrap();
    assert_eq!(issues.len(), 2);
    assert_eq!(issues[1]["check_name"], "link-target");
    assert_eq!(issues[1]["severity"], "major");
    assert_eq!(
        issues[1]["location"]["path"],
        "procedures/global/SOP-0031.md"
    );
    assert_eq!(issues[1]["location"]["lines"]["begin"], 7);
    assert_eq!(issues[0]["severity"], "minor");
    // The same problem keeps its fingerprint from run to run.
    assert_eq!(gl.stdout, t.run(&["check", "--format", "gitlab"]).stdout);
}

#[test]
fn the_diagnostics_table_sets_levels() {
    let mut t = with_warnings();
    let book = format!("{BOOK}\n[diagnostics]\nbroken-reference-link = \"error\"\n");
    t.write("book.toml", &book);
    t.commit("Strict links");
    let out = t.run(&["check"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        format!(
            "{}check failed: 1 error(s), 0 warning(s)\n",
            BROKEN.replace("warning[", "error[")
        )
    );
    // By number as well as by name; allow silences it.
    t.write(
        "book.toml",
        &format!("{BOOK}\n[diagnostics]\nPS070 = \"allow\"\n"),
    );
    t.commit("Quiet links");
    let out = t.run(&["check"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
}

#[test]
fn unknown_codes_and_fixed_codes_are_refused_in_the_table() {
    let mut t = with_warnings();
    t.write(
        "book.toml",
        &format!(
            "{BOOK}\n[diagnostics]\nbroken-refrence-link = \"warn\"\nunknown-field = \"allow\"\n"
        ),
    );
    t.commit("Bad table");
    let out = t.run(&["check"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "book.toml:19: error[config]: 'broken-refrence-link' is not a diagnostic code (did you mean 'broken-reference-link'?)\n  help: the codes are listed in docs/diagnostics.md\n\
         book.toml:20: error[config]: the level of unknown-field cannot be changed\n  help: it reports input procsite cannot read or understand, which would be published wrong; fix the input instead\n\
         check failed: 2 error(s), 0 warning(s)\n"
    );
}

#[test]
fn a_release_keeps_its_protected_codes_errors() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## A\nFirst.\n", "2026-05-01"),
    );
    t.commit("Approve");
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## A\nEdited after approval.\n", "2026-05-01"),
    );
    t.commit("Edit without approval");
    t.write(
        "book.toml",
        &format!("{BOOK}\n[diagnostics]\nstale-approval = \"allow\"\n"),
    );
    t.commit("Silence stale approvals");
    // Outside a release the table is obeyed...
    let preview = t.run(&["check"]);
    assert_eq!(preview.code, 0, "{}", preview.stderr);
    assert!(
        !preview.stderr.contains("stale-approval"),
        "{}",
        preview.stderr
    );
    // ...a release still refuses.
    let release = t.run(&["check", "--release"]);
    assert_eq!(release.code, 1);
    assert!(
        release.stderr.contains(
            "SOP-0030.md:7: error[stale-approval]: the approval by Jane Roe (recorded in "
        ),
        "{}",
        release.stderr
    );
}

#[test]
fn documents_in_the_style_of_a_public_template_set_build_with_warnings() {
    // GFM tables, raw <br>, <enter ...> placeholders, and reference links whose
    // definitions live in a sibling file, as GitHub shows them without complaint.
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0040.md",
        &doc(
            "SOP-0040",
            "Clinical Evaluation",
            "",
            "## Purpose\nThis SOP follows [GHTF/SG5/N6:2012][imdrf-1] and [MEDDEV 2.7/1][meddev].\n\n\
             | Role | Responsibility |\n|------|----------------|\n| <enter role> | Writes the plan<br>and the report |\n\n\
             Owner: <enter name of the owner>\n",
        ),
    );
    t.write(
        "procedures/global/references.md",
        &doc(
            "REF-0001",
            "References",
            "",
            "## List\n[imdrf-1]: https://www.imdrf.org/\n[meddev]: https://example.org/meddev\n",
        ),
    );
    t.commit("Template documents");
    let out = t.run(&["build"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(
            "procedures/global/SOP-0040.md:8: warning[broken-reference-link]: the reference link [imdrf-1] has no definition; it is shown as written\n"
        ),
        "{}",
        out.stderr
    );
    let page = t.page("cork", "SOP-0040");
    assert!(page.contains("[GHTF/SG5/N6:2012][imdrf-1]"), "{page}");
    assert!(
        page.contains("<td>Writes the plan<br>and the report</td>"),
        "{page}"
    );
}

#[test]
fn control_characters_in_input_never_reach_the_terminal_raw() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0050.md",
        "---\nid: \"SOP\\e]0;x\\a\"\ntitle: T\nstatus: draft\n---\nx\n",
    );
    t.commit("Hostile id");
    for format in ["text", "github"] {
        let out = t.run(&["check", "--format", format]);
        assert_eq!(out.code, 1);
        for text in [&out.stdout, &out.stderr] {
            assert!(
                !text.contains('\u{1b}') && !text.contains('\u{7}'),
                "{text:?}"
            );
        }
    }
}

#[test]
fn check_reports_every_problem_of_links_and_footnotes_that_a_build_does() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &doc(
            "SOP-0030",
            "Links",
            "",
            "## A\nSee [IMDRF][imdrf-1], [the CAPA](SOP-0020#nowhere), [gone](SOP-0999) and a note.[^n]\n\n\
             ## B {#b}\n[Scope](#b) and [^m].\n\n[^m]: Defined.\n",
        ),
    );
    t.commit("Links");
    let build = t.expect_failure(&["build", "--out", "out"]);
    let check = t.expect_failure(&["check"]);
    let diagnostics = |s: &str| {
        s.lines()
            .filter(|l| !l.contains(" failed: "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        build.contains("error[") && build.contains("warning["),
        "{build}"
    );
    assert_eq!(diagnostics(&check), diagnostics(&build));
    let at = |site: &str| {
        format!(
            "procedures/global/SOP-0030.md:8: error[link-target]: links to '#nowhere' in SOP-0020, which has no such section at site {site}\n  \
             help: anchors in SOP-0020: board, purpose, records, responsibilities, scope\n"
        )
    };
    assert_eq!(
        check,
        format!(
            "{}{}{}\
             procedures/global/SOP-0030.md:8: error[link-target]: links to SOP-0999 (did you mean 'SOP-0090'?), which is not a document id\n  \
             help: link to an existing document id, e.g. [CAPA](SOP-0020#scope)\n\
             procedures/global/SOP-0030.md:8: warning[broken-footnote]: footnote [^n] has no definition; it is shown as written\n  \
             help: add `[^n]: text` after the paragraph that cites it\n\
             {BROKEN}\
             check failed: 4 error(s), 2 warning(s)\n",
            at("boston"),
            at("cork"),
            at("freiburg")
        )
    );
}

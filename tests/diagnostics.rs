//! Every input error names the file and line, says how to fix it, exits 1 and
//! writes nothing.

mod common;
use common::*;

fn failing(t: &SiteTest) -> String {
    let stderr = t.expect_failure(&["build"]);
    assert!(!t.exists("public"), "a failed build wrote output");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    stderr
}

#[test]
fn unknown_front_matter_key_gets_line_and_hint() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        "---\nid: SOP-0030\ntitle: Complaints\nefective: 2026-01-01\n---\nText\n",
    );
    let err = failing(&t);
    assert!(
        err.contains("procedures/global/SOP-0030.md:4:1: error[unknown-field]: unknown field 'efective' (did you mean 'effective'?)"),
        "{err}"
    );
}

#[test]
fn yaml_syntax_error_line_counts_from_the_file_start() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        "---\nid: SOP-0030\ntitle: Complaints\napprovals: [ {name: x\n---\nText\n",
    );
    let err = failing(&t);
    assert!(err.contains("procedures/global/SOP-0030.md:"), "{err}");
    let line: usize = err
        .split("SOP-0030.md:")
        .nth(1)
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((4..=5).contains(&line), "{err}");
}

#[test]
fn wrong_value_type_and_bad_dates_are_located() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        "---\nid: SOP-0030\ntitle: Complaints\nstatus: aproved\n---\n",
    );
    t.write(
        "procedures/global/SOP-0031.md",
        "---\nid: SOP-0031\ntitle: Other\neffective: 01.03.2026\n---\n",
    );
    let err = failing(&t);
    assert!(err.contains("SOP-0030.md:4:"), "{err}");
    assert!(err.contains("did you mean 'approved'?"), "{err}");
    assert!(err.contains("SOP-0031.md:4:"), "{err}");
    assert!(err.contains("YYYY-MM-DD"), "{err}");
}

#[test]
fn missing_front_matter_id_and_title() {
    let t = SiteTest::new();
    t.write("procedures/global/a.md", "# No front-matter\n");
    t.write("procedures/global/b.md", "---\ntitle: No id\n---\n");
    let err = failing(&t);
    assert!(
        err.contains("procedures/global/a.md:1: error[front-matter]: the file does not start with front-matter"),
        "{err}"
    );
    assert!(
        err.contains("procedures/global/b.md:1: error[missing-field]: the document has no 'id'"),
        "{err}"
    );
}

#[test]
fn approved_without_effective_or_approvals() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        "---\nid: SOP-0030\ntitle: Complaints\nstatus: approved\n---\n",
    );
    let err = failing(&t);
    assert!(
        err.contains(
            "SOP-0030.md:4: error[missing-field]: an approved document needs an effective date"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "SOP-0030.md:4: error[missing-approval]: an approved document has no approvals"
        ),
        "{err}"
    );
}

#[test]
fn unknown_market_or_site_in_a_condition() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &doc(
            "SOP-0030",
            "C",
            "",
            "## A\n\n::: only market=UE\nx\n:::\n\n::: only site=corc\ny\n:::\n",
        ),
    );
    let err = failing(&t);
    assert!(
        err.contains(
            "SOP-0030.md:9: error[unknown-condition]: unknown market 'UE' (did you mean 'EU'?)"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "SOP-0030.md:13: error[unknown-condition]: unknown site 'corc' (did you mean 'cork'?)"
        ),
        "{err}"
    );
}

#[test]
fn unclosed_fence_names_the_opening_line() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &doc("SOP-0030", "C", "", "## A\n\n::: only market=EU\nx\n"),
    );
    let err = failing(&t);
    assert!(
        err.contains("SOP-0030.md:9: error[block-syntax]: this `:::` block is never closed"),
        "{err}"
    );
}

#[test]
fn fences_in_code_blocks_and_inline_code_are_text() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &doc(
            "SOP-0030",
            "C",
            "",
            "## A\n\n```\n::: only market=NOPE\n```\n\nUse `::: only market=EU` to limit text.\n",
        ),
    );
    t.build();
    let page = t.page("cork", "SOP-0030");
    assert!(page.contains("::: only market=NOPE"), "{page}");
    assert!(page.contains("<code>::: only market=EU</code>"), "{page}");
}

#[test]
fn missing_anchor_names_the_addendum_line_and_lists_anchors() {
    let t = SiteTest::new();
    t.write(
        "procedures/sites/cork/capa.md",
        &addendum("SOP-0020", "r", "\n::: append #respons\nx\n:::\n"),
    );
    let err = failing(&t);
    assert!(
        err.contains("procedures/sites/cork/capa.md:7: error[unknown-anchor]: `append` targets '#respons', which SOP-0020 does not have"),
        "{err}"
    );
    assert!(err.contains("help: anchors in SOP-0020 (did you mean 'responsibilities'?): purpose, scope, responsibilities, board, records"), "{err}");
}

#[test]
fn two_addenda_for_one_document_in_one_site() {
    let t = SiteTest::new();
    t.write(
        "procedures/sites/cork/a.md",
        &addendum("SOP-0020", "r", "::: append #scope\nx\n:::\n"),
    );
    t.write(
        "procedures/sites/cork/b.md",
        &addendum("SOP-0020", "r", "::: append #scope\ny\n:::\n"),
    );
    let err = failing(&t);
    assert!(err.contains("procedures/sites/cork/b.md:2: error[addendum-target]: site cork already has an addendum to SOP-0020: procedures/sites/cork/a.md"), "{err}");
}

#[test]
fn addendum_needs_a_rationale_and_a_real_target() {
    let t = SiteTest::new();
    t.write(
        "procedures/sites/cork/a.md",
        "---\naddendum-to: SOP-0020\n---\nx\n",
    );
    t.write(
        "procedures/sites/boston/b.md",
        "---\naddendum-to: SOP-0021\nrationale: r\n---\nx\n",
    );
    let err = failing(&t);
    assert!(
        err.contains(
            "procedures/sites/cork/a.md:2: error[missing-field]: an addendum needs a rationale"
        ),
        "{err}"
    );
    assert!(err.contains("procedures/sites/boston/b.md:2: error[addendum-target]: addendum-to names SOP-0021, which is not a global document (did you mean 'SOP-0020'?)"), "{err}");
}

#[test]
fn addendum_fields_in_the_wrong_kind_of_file() {
    let t = SiteTest::new();
    t.write(
        "procedures/sites/cork/a.md",
        "---\naddendum-to: SOP-0020\nrationale: r\ntitle: T\n---\n",
    );
    let err = failing(&t);
    assert!(
        err.contains(
            "procedures/sites/cork/a.md:4:1: error[unknown-field]: field 'title' does not belong in an addendum"
        ),
        "{err}"
    );
}

#[test]
fn conflicting_operations_are_refused() {
    let t = SiteTest::new();
    t.write(
        "procedures/sites/cork/a.md",
        &addendum(
            "SOP-0020",
            "r",
            "::: replace #responsibilities\nx\n:::\n\n::: append #board\ny\n:::\n",
        ),
    );
    let err = failing(&t);
    assert!(
        err.contains(
            "a.md:10: error[conflicting-operations]: `append #board` conflicts with `replace #responsibilities` at line 6"
        ),
        "{err}"
    );
}

#[test]
fn unknown_block_and_operations_outside_addenda() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &doc(
            "SOP-0030",
            "C",
            "",
            "::: onyl market=EU\nx\n:::\n\n::: append #a\ny\n:::\n",
        ),
    );
    let err = failing(&t);
    assert!(
        err.contains(
            "SOP-0030.md:7: error[block-syntax]: unknown block `onyl` (did you mean 'only'?)"
        ),
        "{err}"
    );
    assert!(
        err.contains("SOP-0030.md:11: error[block-syntax]: `append` blocks belong in site addenda"),
        "{err}"
    );
}

#[test]
fn unknown_config_key_is_located() {
    let t = SiteTest::new();
    t.write(
        "book.toml",
        &BOOK.replace("markets = [\"FDA\"]", "market = [\"FDA\"]"),
    );
    let err = failing(&t);
    assert!(
        err.contains("book.toml:7:1: error[config]: unknown field `market`"),
        "{err}"
    );
    assert!(err.contains("did you mean 'markets'?"), "{err}");
}

#[test]
fn exclude_of_an_unknown_document() {
    let t = SiteTest::new();
    t.write("book.toml", &BOOK.replace("SOP-0090", "SOP-0021"));
    let err = failing(&t);
    assert!(err.contains("book.toml:12: error[exclusion]: site cork excludes SOP-0021, which is not a global document (did you mean 'SOP-0020'?)"), "{err}");
}

#[test]
fn site_folder_without_a_site() {
    let t = SiteTest::new();
    t.write(
        "procedures/sites/dublin/a.md",
        &addendum("SOP-0020", "r", "x\n"),
    );
    let err = failing(&t);
    assert!(err.contains("procedures/sites/dublin/a.md: error[unknown-site-folder]: site folder 'dublin' has no [site.dublin] in book.toml"), "{err}");
}

#[test]
fn duplicate_ids_are_refused() {
    let t = SiteTest::new();
    t.write(
        "procedures/sites/cork/dup.md",
        &doc("SOP-0020", "Dup", "", "x\n"),
    );
    let err = failing(&t);
    assert!(
        err.contains("error[duplicate-id]: id SOP-0020 is already used by"),
        "{err}"
    );
}

#[test]
fn link_errors_name_the_line_and_the_site() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &doc(
            "SOP-0030",
            "C",
            "",
            "## A\n\nSee [CAPA](SOP-0020#scop).\n\nAnd [x](SOP-0999).\n\nAnd [steril](SOP-0090).\n",
        ),
    );
    let err = failing(&t);
    assert!(err.contains("SOP-0030.md:9: error[link-target]: links to '#scop' in SOP-0020, which has no such section at site boston (did you mean 'scope'?)"), "{err}");
    assert!(
        err.contains("SOP-0030.md:11: error[link-target]: links to SOP-0999"),
        "{err}"
    );
    assert!(err.contains("SOP-0030.md:13: error[link-target]: links to SOP-0090, which site cork does not publish (No sterilization at Cork)"), "{err}");
    // Only cork lacks SOP-0090.
    assert!(!err.contains("which site boston does not publish"), "{err}");
}

#[test]
fn all_problems_of_a_run_are_reported_together() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        "---\nid: SOP-0030\ntitle: C\nefective: x\n---\n",
    );
    t.write(
        "procedures/global/SOP-0040.md",
        &doc("SOP-0040", "N", "", "::: only market=XX\n:::\n"),
    );
    t.write(
        "procedures/sites/cork/a.md",
        &addendum("SOP-0020", "r", "::: apend #scope\nx\n:::\n"),
    );
    let err = failing(&t);
    assert!(err.contains("SOP-0030.md:4:1: error"), "{err}");
    assert!(err.contains("SOP-0040.md:7: error"), "{err}");
    assert!(
        err.contains(
            "cork/a.md:6: error[block-syntax]: unknown block `apend` (did you mean 'append'?)"
        ),
        "{err}"
    );
    assert!(err.contains("build failed: 3 error(s)"), "{err}");
    // check reports the same and also exits 1.
    let check = t.expect_failure(&["check"]);
    assert!(check.contains("check failed: 3 error(s)"), "{check}");
    // Once the files read, composition errors of several sites come together.
    t.write(
        "procedures/global/SOP-0030.md",
        &doc("SOP-0030", "C", "", "See [x](SOP-0020#nope).\n"),
    );
    t.write(
        "procedures/global/SOP-0040.md",
        &doc("SOP-0040", "N", "", ""),
    );
    t.write(
        "procedures/sites/cork/a.md",
        &addendum("SOP-0020", "r", "::: append #nope\nx\n:::\n"),
    );
    let err = failing(&t);
    assert!(
        err.contains("cork/a.md:6: error[unknown-anchor]: `append` targets '#nope'"),
        "{err}"
    );
    for site in ["boston", "cork", "freiburg"] {
        assert!(
            err.contains(&format!("no such section at site {site}")),
            "{err}"
        );
    }
}

#[test]
fn a_file_that_does_not_parse_causes_no_false_errors_elsewhere() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        "---\nid: SOP-0030\ntitle: C\nefective: x\n---\n## A\n",
    );
    t.write(
        "procedures/global/SOP-0040.md",
        &doc("SOP-0040", "N", "", "See [complaints](SOP-0030#a).\n"),
    );
    t.write(
        "procedures/sites/cork/SOP-0030.md",
        &addendum("SOP-0030", "r", "::: append #a\nx\n:::\n"),
    );
    let err = failing(&t);
    assert!(
        err.contains("SOP-0030.md:4:1: error[unknown-field]: unknown field 'efective'"),
        "{err}"
    );
    assert!(
        !err.contains("not a document id") && !err.contains("not a global document"),
        "{err}"
    );
    assert!(
        err.contains("1 file(s) could not be read; sites were not composed"),
        "{err}"
    );
    assert!(err.contains("build failed: 1 error(s)"), "{err}");
}

#[test]
fn approval_meanings_come_from_the_configured_vocabulary() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        "---\nid: SOP-0030\ntitle: C\napprovals:\n  - { name: A, role: R, meaning: aproved, date: 2026-01-01 }\n---\n",
    );
    let err = failing(&t);
    assert!(err.contains("SOP-0030.md:4: error[approval]: the approval by A has the meaning 'aproved' (did you mean 'approved'?)"), "{err}");
    // A configured vocabulary replaces the default one.
    t.write(
        "book.toml",
        &BOOK.replace(
            "organization = \"Test Devices\"",
            "organization = \"Test Devices\"\napproval-meanings = [\"approved\", \"aproved\"]",
        ),
    );
    assert_eq!(t.run(&["check"]).code, 0);
}

#[test]
fn review_due_beyond_the_types_interval_is_a_warning() {
    let t = SiteTest::new();
    t.write(
        "book.toml",
        &format!("{BOOK}\n[types.SOP]\nreview-interval-months = 24\n"),
    );
    t.write(
        "procedures/global/SOP-0030.md",
        &doc(
            "SOP-0030",
            "C",
            "effective: 2026-01-01\nreview-due: 2028-02-01\n",
            "",
        ),
    );
    let out = t.run(&["check"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("SOP-0030.md:7: warning[review-interval]: review-due 2028-02-01 is more than 24 months after effective 2026-01-01"), "{}", out.stderr);
    t.write(
        "procedures/global/SOP-0030.md",
        &doc(
            "SOP-0030",
            "C",
            "effective: 2026-01-01\nreview-due: 2028-01-01\n",
            "",
        ),
    );
    assert!(!t.run(&["check"]).stderr.contains("review-due"));
}

#[test]
fn a_yaml_syntax_error_says_how_to_fix_it() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        "---\nid: SOP-0030\ntitle: Document Control: Global\n---\n",
    );
    let err = failing(&t);
    assert!(err.contains("SOP-0030.md:3:"), "{err}");
    assert!(
        err.contains("help: check the YAML syntax on this line; quote a value"),
        "{err}"
    );
}

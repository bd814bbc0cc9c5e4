//! Every addendum operation, applied to a global document and marked on the page.

mod common;
use common::*;

/// The composed text only: the global text shown again for reviewers left out.
fn published(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some(i) = rest.find("<details class=\"replaced-global\">") {
        out.push_str(&rest[..i]);
        rest = rest[i..].split_once("</details>").map_or("", |(_, r)| r);
    }
    out.push_str(rest);
    out
}

fn cork_page(addendum_body: &str) -> String {
    let t = SiteTest::new();
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        &addendum("SOP-0020", "HPRA expects site approval.", addendum_body),
    );
    t.build();
    body(&t.page("cork", "SOP-0020"))
}

#[test]
fn append_goes_to_the_end_of_the_section_after_subsections() {
    let b = cork_page("::: append #responsibilities\n- Cork QH approves supplier CAPAs.\n:::\n");
    let board = pos(&b, "The CAPA board approves plans.");
    let added = pos(&b, "Cork QH approves supplier CAPAs.");
    let records = pos(&b, "id=\"records\"");
    assert!(board < added && added < records, "{b}");
    assert!(b.contains("Added at the end of “Responsibilities”"), "{b}");
}

#[test]
fn prepend_goes_right_after_the_heading() {
    let b = cork_page("::: prepend #scope\nCork first.\n:::\n");
    let heading = pos(&b, "id=\"scope\"");
    let added = pos(&b, "Cork first.");
    let global = pos(&b, "Global scope text.");
    assert!(heading < added && added < global, "{b}");
    assert!(b.contains("Added at the start of “Scope”"));
}

#[test]
fn replace_keeps_the_heading_and_drops_the_body_with_subsections() {
    let b = cork_page("::: replace #responsibilities\nOnly the Cork QH.\n:::\n");
    assert!(b.contains("id=\"responsibilities\""), "{b}");
    assert!(b.contains("Only the Cork QH."));
    assert!(!published(&b).contains("The CAPA owner leads"), "{b}");
    assert!(!published(&b).contains("The CAPA board approves"), "{b}");
    assert!(b.contains("Replaces the global text of “Responsibilities”"));
}

#[test]
fn insert_before_and_after_are_siblings_of_the_whole_section() {
    let b = cork_page(
        "::: insert-before #responsibilities\n## Local context\nBefore.\n:::\n\n::: insert-after #responsibilities\n## Local board\nAfter.\n:::\n",
    );
    let scope = pos(&b, "Global scope text.");
    let before = pos(&b, "Before.");
    let resp = pos(&b, "id=\"responsibilities\"");
    let board = pos(&b, "The CAPA board approves plans.");
    let after = pos(&b, "After.");
    let records = pos(&b, "id=\"records\"");
    assert!(
        scope < before && before < resp && board < after && after < records,
        "{b}"
    );
    assert!(
        b.contains("id=\"local-context\"") && b.contains("id=\"local-board\""),
        "{b}"
    );
}

#[test]
fn remove_keeps_the_heading_and_says_not_applicable_with_the_rationale() {
    let b = cork_page("::: remove #records\n:::\n");
    assert!(b.contains("id=\"records\""));
    assert!(!published(&b).contains("Records are kept for 10 years."));
    assert!(
        b.contains("Not applicable at Cork:</em> HPRA expects site approval."),
        "{b}"
    );
}

#[test]
fn text_outside_blocks_is_appended_under_a_site_heading() {
    let b = cork_page("Cork keeps a paper log.\n");
    let records = pos(&b, "Records are kept for 10 years.");
    let heading = pos(&b, "Site requirements: Cork</h2>");
    let text = pos(&b, "Cork keeps a paper log.");
    assert!(records < heading && heading < text, "{b}");
}

#[test]
fn operations_at_one_point_keep_a_stable_order() {
    // The end of #board is also the end of #responsibilities and the start of #records.
    let b = cork_page(
        "::: insert-before #records\nD\n:::\n\n::: insert-after #responsibilities\nC\n:::\n\n::: append #responsibilities\nB\n:::\n\n::: append #board\nA\n:::\n",
    );
    let order: Vec<usize> = ["<p>A</p>", "<p>B</p>", "<p>C</p>", "<p>D</p>"]
        .iter()
        .map(|n| pos(&b, n))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{b}");
}

#[test]
fn the_page_shows_the_rationale_and_lists_the_operations() {
    let t = SiteTest::new();
    t.write(
        "procedures/sites/cork/capa.md",
        &addendum(
            "SOP-0020",
            "HPRA expects site approval.",
            "::: append #scope\nX\n:::\n\n::: remove #records\n:::\n",
        ),
    );
    t.build();
    let page = t.page("cork", "SOP-0020");
    assert!(page.contains("id=\"site-adaptation\""));
    assert!(page.contains("<strong>Rationale:</strong> HPRA expects site approval."));
    assert!(
        page.contains("<span class=\"op op-append\">append</span> <a href=\"#scope\">Scope</a>"),
        "{page}"
    );
    assert!(page.contains("<span class=\"op op-remove\">remove</span>"));
    // The site's index marks the document as adapted; other sites do not.
    assert!(t
        .read("public/cork/preview/index.html")
        .contains("adapted at this site"));
    assert!(!t
        .read("public/boston/preview/index.html")
        .contains("adapted at this site"));
    assert!(!t.page("boston", "SOP-0020").contains("site-adaptation"));
}

#[test]
fn conditional_blocks_inside_an_addendum_follow_the_site_markets() {
    let b = cork_page("::: append #scope\n::: only market=EU\nEurope.\n:::\n\n::: except market=FDA\nNo FDA.\n:::\n:::\n");
    assert!(b.contains("Europe."), "{b}");
    assert!(!b.contains("No FDA."), "{b}");
    assert!(b.contains("Only for market EU"), "{b}");
}

#[test]
fn a_removal_inside_a_condition_keeps_the_condition_label() {
    let b = cork_page("::: only market=EU\n::: remove #records\n:::\n:::\n");
    assert!(b.contains("Not applicable at Cork:</em>"), "{b}");
    let notice = pos(&b, "Not applicable at Cork");
    let label = b[..notice]
        .rfind("Only for market EU")
        .expect("label before the notice");
    assert!(notice - label < 400, "{b}");
}

#[test]
fn reference_links_resolve_across_the_parts_of_a_page_and_are_checked() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &doc("SOP-0030", "C", "", "## A\nSee the [CAPA procedure][capa].\n\n::: only market=EU\nEU text.\n:::\n\n[capa]: SOP-0020#scope\n"),
    );
    t.build();
    let page = t.page("cork", "SOP-0030");
    assert!(
        page.contains("<a href=\"SOP-0020.html#scope\">CAPA procedure</a>"),
        "{page}"
    );
    // A bad target behind a reference link is caught like an inline one.
    t.write(
        "procedures/global/SOP-0030.md",
        &doc("SOP-0030", "C", "", "## A\nSee the [CAPA procedure][capa] and [x][nowhere].\n\n::: only market=EU\nEU.\n:::\n\n[capa]: SOP-0020#nope\n"),
    );
    let err = t.expect_failure(&["build"]);
    assert!(
        err.contains("SOP-0030.md:8: error[link-target]: links to '#nope' in SOP-0020"),
        "{err}"
    );
    assert!(
        err.contains("SOP-0030.md:8: warning[broken-reference-link]: the reference link [nowhere] has no definition; it is shown as written"),
        "{err}"
    );
}

#[test]
fn a_footnote_split_from_its_reference_is_a_warning_and_shown_as_written() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &doc(
            "SOP-0030",
            "C",
            "",
            "## A\nA claim.[^1]\n\n::: only market=EU\nEU.\n:::\n\n[^1]: The source.\n",
        ),
    );
    let out = t.run(&["build"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("SOP-0030.md:8: warning[broken-footnote]: footnote [^1] is defined in another part of the page; it is shown as written"),
        "{}", out.stderr
    );
    assert!(t.page("cork", "SOP-0030").contains("A claim.[^1]"));
    // Kept together, it renders as a footnote.
    t.write(
        "procedures/global/SOP-0030.md",
        &doc(
            "SOP-0030",
            "C",
            "",
            "## A\nA claim.[^1]\n\n[^1]: The source.\n",
        ),
    );
    t.build();
    assert!(t.page("cork", "SOP-0030").contains("footnote-definition"));
}

#[test]
fn replaced_and_removed_global_text_stays_visible_to_reviewers() {
    let b = cork_page(
        "::: replace #responsibilities\nOnly the Cork QH.\n:::\n\n::: remove #records\n:::\n",
    );
    let replaced = pos(&b, "Global text replaced at Cork");
    assert!(pos(&b, "Only the Cork QH.") < replaced);
    assert!(
        b[replaced..].contains("The CAPA owner leads the investigation."),
        "{b}"
    );
    assert!(b.contains("Global text not applied at Cork"), "{b}");
    assert!(
        b[pos(&b, "Global text not applied at Cork")..].contains("Records are kept for 10 years.")
    );
    // Shown again without anchors, so ids stay unique on the page.
    assert_eq!(
        b.matches("id=\"board\"").count(),
        0,
        "the replaced subsection is gone from the composed text"
    );
}

#[test]
fn an_empty_replace_is_an_error() {
    let t = SiteTest::new();
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        &addendum("SOP-0020", "r", "::: replace #records\n:::\n"),
    );
    let err = t.expect_failure(&["build"]);
    assert!(
        err.contains("cork/SOP-0020.md:6: error[empty-replace]: `replace #records` has no text"),
        "{err}"
    );
}

#[test]
fn the_diff_page_shows_each_operation_against_the_global_text() {
    let t = SiteTest::new();
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        &addendum("SOP-0020", "HPRA expects site approval.", "::: append #scope\nCork scope line.\n:::\n\n::: replace #records\nRecords are kept for 15 years in Cork.\n:::\n"),
    );
    t.build();
    let diff = t.read("public/cork/preview/SOP-0020.diff.html");
    assert!(diff.contains("<strong>Rationale:</strong> HPRA expects site approval."));
    assert!(
        diff.contains("<span class=\"op\">append #scope</span>"),
        "{diff}"
    );
    assert!(
        diff.contains("<span class=\"op\">replace #records</span>"),
        "{diff}"
    );
    assert!(diff.contains("class=\"diff-insert\""), "{diff}");
    assert!(diff.contains("Cork scope line."));
    // Word-level: the changed words of the replaced line are marked.
    assert!(diff.contains("<mark>"), "{diff}");
    assert!(t
        .page("cork", "SOP-0020")
        .contains("href=\"SOP-0020.diff.html\""));
    // Another site publishes the global text unchanged: its page says so, and there
    // is no diff page that would only repeat it (nothing links to one).
    assert!(!t.exists("public/boston/preview/SOP-0020.diff.html"));
    let boston = t.page("boston", "SOP-0020");
    assert!(
        boston
            .contains("<span class=\"badge badge-global\">global text, unchanged at Boston</span>"),
        "{boston}"
    );
    assert!(!boston.contains(".diff.html"), "{boston}");
}

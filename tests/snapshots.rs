//! Snapshots of the normalised `<main>` of the pages a reader sees: a composed
//! document page, a site's index and a site-vs-global diff page.

mod common;
use common::*;

fn adapted() -> SiteTest {
    let mut t = SiteTest::new();
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        &addendum(
            "SOP-0020",
            "HPRA expects the site quality head to approve supplier CAPAs.",
            "::: append #responsibilities\n- The Cork quality head approves supplier CAPAs.\n:::\n\n::: replace #records\nRecords are kept for 15 years in the Cork archive.\n:::\n",
        ),
    );
    t.commit("Cork adapts the CAPA procedure\n\nChange-Reason: HPRA inspection finding\n");
    t.build();
    t
}

#[test]
fn a_composed_document_page() {
    let t = adapted();
    assert_snapshot(
        "cork-SOP-0020.html",
        &main_region(&t.page("cork", "SOP-0020")),
    );
}

#[test]
fn a_site_index() {
    let t = adapted();
    assert_snapshot(
        "cork-index.html",
        &main_region(&t.read("public/cork/preview/index.html")),
    );
}

#[test]
fn a_diff_page() {
    let t = adapted();
    assert_snapshot(
        "cork-SOP-0020.diff.html",
        &main_region(&t.read("public/cork/preview/SOP-0020.diff.html")),
    );
}

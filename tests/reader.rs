//! What a reader uses to move between documents: the navigation of a document page
//! (the site version's documents by type, the current one marked) and the previous and
//! next document of the same type.

mod common;
use common::*;

fn wi(id: &str, title: &str) -> String {
    format!("---\nid: {id}\ntitle: {title}\ntype: WI\nstatus: draft\n---\n## Steps\nDo it.\n")
}

/// Three sites; global SOP-0010, SOP-0020 (CAPA), SOP-0030 and SOP-0090 (excluded at
/// cork); a work instruction of cork and one of boston.
fn sites() -> SiteTest {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0010.md",
        &doc("SOP-0010", "Document Control", "", "## Scope\nAll.\n"),
    );
    t.write(
        "procedures/global/SOP-0030.md",
        &doc("SOP-0030", "Complaint Handling", "", "## Scope\nAll.\n"),
    );
    t.write(
        "procedures/sites/cork/WI-COR-001.md",
        &wi("WI-COR-001", "Cork Clean Room Gowning"),
    );
    t.write(
        "procedures/sites/boston/WI-BOS-001.md",
        &wi("WI-BOS-001", "Boston Sterilizer Loading"),
    );
    t.commit("Procedures and work instructions");
    t.build();
    t
}

/// The documents navigation of a page.
fn nav(page: &str) -> &str {
    let start = page
        .find("<nav class=\"doc-nav\"")
        .expect("a documents navigation");
    let end = start + page[start..].find("</nav>").unwrap();
    &page[start..end]
}

/// The pages a piece of HTML links, in order.
fn links(html: &str) -> Vec<&str> {
    html.split("href=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect()
}

/// The link marked as the current page.
fn current(html: &str) -> Vec<&str> {
    html.split("<a ")
        .filter(|a| a.contains("aria-current=\"page\""))
        .flat_map(|a| links(a).into_iter().take(1))
        .collect()
}

/// The previous and next links of a page.
fn pager(page: &str) -> (Option<String>, Option<String>) {
    let link = |rel: &str| {
        let marker = format!("rel=\"{rel}\" href=\"");
        page.find(&marker).map(|i| {
            let rest = &page[i + marker.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
    };
    (link("prev"), link("next"))
}

#[test]
fn the_navigation_lists_the_sites_documents_by_type_and_marks_the_current_one() {
    let t = sites();
    let page = t.page("cork", "SOP-0020");
    let nav = nav(&page);
    assert_eq!(
        links(nav),
        [
            "SOP-0010.html",
            "SOP-0020.html",
            "SOP-0030.html",
            "WI-COR-001.html",
            "index.html"
        ],
        "cork's documents in the order of the index (SOP-0090 is excluded there):\n{nav}"
    );
    assert_eq!(current(nav), ["SOP-0020.html"]);
    assert!(
        nav.contains("<details class=\"nav-type\" open><summary>SOP"),
        "the current type is open:\n{nav}"
    );
    assert!(
        nav.contains("<details class=\"nav-type\"><summary>WI"),
        "another type is closed:\n{nav}"
    );
    let wi_page = t.page("cork", "WI-COR-001");
    assert_eq!(current(self::nav(&wi_page)), ["WI-COR-001.html"]);
}

#[test]
fn previous_and_next_stay_within_the_type() {
    let t = sites();
    let at = |site: &str, id: &str| pager(&t.page(site, id));
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        at("cork", "SOP-0010"),
        (None, s("SOP-0020.html")),
        "the first"
    );
    assert_eq!(
        at("cork", "SOP-0020"),
        (s("SOP-0010.html"), s("SOP-0030.html"))
    );
    assert_eq!(
        at("cork", "SOP-0030"),
        (s("SOP-0020.html"), None),
        "the last SOP at cork: SOP-0090 is excluded there, WI-COR-001 is another type"
    );
    assert_eq!(
        at("boston", "SOP-0030"),
        (s("SOP-0020.html"), s("SOP-0090.html"))
    );
    assert_eq!(at("cork", "WI-COR-001"), (None, None), "alone in its type");
    assert!(
        !t.page("cork", "WI-COR-001").contains("class=\"doc-pager\""),
        "no empty pager"
    );
}

#[test]
fn no_other_sites_document_is_in_a_sites_navigation() {
    let t = sites();
    for id in ["SOP-0010", "SOP-0020", "SOP-0030", "WI-COR-001"] {
        let page = t.page("cork", id);
        assert!(
            !page.contains("WI-BOS-001"),
            "{id} at cork names boston's document"
        );
        assert!(!page.contains("Boston Sterilizer"), "{id}");
    }
    for id in ["SOP-0010", "SOP-0020", "SOP-0030", "SOP-0090", "WI-BOS-001"] {
        let page = t.page("boston", id);
        assert!(
            !page.contains("WI-COR-001"),
            "{id} at boston names cork's document"
        );
        assert!(!page.contains("Cork Clean Room"), "{id}");
    }
    let freiburg = t.page("freiburg", "SOP-0020");
    assert!(
        !nav(&freiburg).contains("WI-"),
        "freiburg has no work instruction"
    );
}

#[test]
fn on_narrow_screens_the_header_folds_to_a_summary_line() {
    let t = sites();
    let page = t.page("cork", "SOP-0020");
    let facts = &page[page.find("<details class=\"doc-facts\"").unwrap()..];
    let summary = &facts[..facts.find("</summary>").unwrap()];
    assert!(
        summary.contains("Effective <time>2026-03-01</time>"),
        "{summary}"
    );
    assert!(summary.contains("Rev. 1"), "{summary}");
    assert!(
        pos(&page, "data-fold-below") < pos(&page, "<div class=\"doc-body\">"),
        "the folds come before the text"
    );
}

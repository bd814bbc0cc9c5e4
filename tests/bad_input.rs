//! Input a person can type that must not crash procsite, slow it to a crawl, or be
//! reported at the wrong place. Each case: exit code 1 (or success where the input is
//! fine), the exact first diagnostic, and the previous output left as it was.

mod common;
use common::*;

/// A repository built once, then given `files`: returns procsite's stderr for `check`
/// after asserting that a failing `build` leaves the previous output unchanged.
fn refused(files: &[(&str, Vec<u8>)]) -> String {
    let mut t = SiteTest::new();
    t.commit("Initial");
    t.build();
    let before = t.tree("public");
    for (path, bytes) in files {
        let p = t.path(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let build = t.run(&["build"]);
    assert_eq!(build.code, 1, "{}{}", build.stdout, build.stderr);
    assert!(!build.stderr.contains("panicked"), "{}", build.stderr);
    assert_eq!(t.tree("public"), before, "the previous output is unchanged");
    t.expect_failure(&["check"])
}

fn first_line(stderr: &str) -> String {
    stderr.lines().take(2).collect::<Vec<_>>().join("\n")
}

fn document(body: &str) -> Vec<u8> {
    format!("---\nid: SOP-0500\ntitle: Hostile\ntype: SOP\nstatus: draft\n---\n{body}").into_bytes()
}

#[test]
fn fences_nested_past_the_limit_are_an_error_at_the_line_that_crosses_it() {
    let deep = format!(
        "{}x\n{}",
        "::: only market=EU\n".repeat(20_000),
        ":::\n".repeat(20_000)
    );
    let err = refused(&[("procedures/global/deep.md", document(&deep))]);
    assert_eq!(
        first_line(&err),
        "procedures/global/deep.md:71: error[block-syntax]: `:::` blocks nest deeper than 64 levels here\n  help: close the blocks above before opening another; a procedure needs two or three levels at most"
    );
    // The same inside an addendum's operation.
    let add = format!(
        "---\naddendum-to: SOP-0020\nrationale: r\nstatus: draft\n---\n::: append #scope\n{}x\n{}",
        "::: only market=EU\n".repeat(20_000),
        ":::\n".repeat(20_001)
    );
    let err = refused(&[("procedures/sites/cork/deep.md", add.into_bytes())]);
    assert!(
        err.starts_with(
            "procedures/sites/cork/deep.md:70: error[block-syntax]: `:::` blocks nest deeper than 64 levels here"
        ),
        "{err}"
    );
}

#[test]
fn quotes_and_lists_nested_past_the_limit_are_one_error() {
    let quote = format!("{}deep\n", "> ".repeat(100_000));
    let err = refused(&[("procedures/global/q.md", document(&quote))]);
    assert_eq!(
        err,
        "procedures/global/q.md:7: error[block-syntax]: this line nests block quotes or lists deeper than 256 levels\n  help: flatten the quote or list; a procedure needs a few levels at most\ncheck failed: 1 error(s), 0 warning(s)\n"
    );
    let list: String = (0..600)
        .map(|i| format!("{}- item\n", "  ".repeat(i)))
        .collect();
    let err = refused(&[("procedures/global/l.md", document(&list))]);
    assert!(err.starts_with("procedures/global/l.md:263: error[block-syntax]: this line nests block quotes or lists deeper than 256 levels"), "{err}");
    assert!(
        err.ends_with("check failed: 1 error(s), 0 warning(s)\n"),
        "{err}"
    );
}

#[test]
fn twenty_thousand_equal_headings_get_distinct_anchors_quickly() {
    let mut t = SiteTest::new();
    let body = "## Heading same\ntext\n".repeat(20_000);
    t.write(
        "procedures/global/many.md",
        &String::from_utf8(document(&body)).unwrap(),
    );
    t.commit("Many headings");
    t.build();
    let page = t.page("cork", "SOP-0500");
    assert!(page.contains("id=\"heading-same-19999\""));
    assert!(!page.contains("id=\"heading-same-20000\""));
}

#[test]
fn text_that_is_not_utf8_is_located_by_line_and_column() {
    let mut bytes = document("Line one.\nCaf");
    bytes.extend([0xE9, b'\n']);
    let err = refused(&[("procedures/global/latin1.md", bytes)]);
    assert_eq!(
        first_line(&err),
        "procedures/global/latin1.md:8:4: error[unreadable-file]: the file is not valid UTF-8 (byte 0xE9)\n  help: save the file as UTF-8"
    );
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("---\n".encode_utf16().flat_map(|u| u.to_le_bytes()))
        .collect();
    let err = refused(&[("procedures/global/utf16.md", utf16)]);
    assert_eq!(
        first_line(&err),
        "procedures/global/utf16.md:1:1: error[unreadable-file]: the file is UTF-16\n  help: save the file as UTF-8"
    );
    let err = refused(&[("procedures/global/nul.md", document("Before\u{0}after.\n"))]);
    assert_eq!(
        first_line(&err),
        "procedures/global/nul.md:7:7: error[unreadable-file]: the file contains a NUL byte\n  help: remove it; a NUL byte is never part of a procedure's text"
    );
}

#[test]
fn links_to_an_unreadable_file_are_not_reported_again() {
    let mut bytes = b"---\nid: SOP-0040\ntitle: Latin-1\nstatus: draft\n---\nCaf".to_vec();
    bytes.extend([0xE9, b'\n']);
    let linking = document("See [the other](SOP-0040) and [again](SOP-0040#scope).\n");
    let err = refused(&[
        ("procedures/global/latin1.md", bytes),
        ("procedures/global/linking.md", linking),
    ]);
    assert!(!err.contains("links to SOP-0040"), "{err}");
    assert!(
        err.contains("check failed: 1 error(s), 1 warning(s)"),
        "{err}"
    );
}

#[test]
fn a_document_over_the_size_limit_is_refused_naming_the_limit() {
    let big = document(&"A line of a very long procedure.\n".repeat(300_000));
    let err = refused(&[("procedures/global/big.md", big)]);
    assert_eq!(
        first_line(&err),
        "procedures/global/big.md: error[unreadable-file]: the file is 9.4 MiB; a document may be at most 8 MiB\n  help: split it into several documents, and keep images and data out of procedures/"
    );
}

#[test]
fn files_that_look_like_documents_are_not_skipped_silently() {
    let t = SiteTest::new();
    t.write(
        "procedures/global/upper.MD",
        &String::from_utf8(document("x\n")).unwrap(),
    );
    std::os::unix::fs::symlink(
        t.path("procedures/global/SOP-0020.md"),
        t.path("procedures/global/link.md"),
    )
    .unwrap();
    // Named like an editor's backup, a link is still a link.
    std::os::unix::fs::symlink(
        t.path("procedures/global/SOP-0020.md"),
        t.path("procedures/global/backup.md~"),
    )
    .unwrap();
    let err = t.expect_failure(&["check"]);
    assert!(
        err.contains(
            "procedures/global/backup.md~: error[not-a-regular-file]: this is a symbolic link"
        ),
        "{err}"
    );
    assert!(
        err.contains("procedures/global/link.md: error[not-a-regular-file]: this is a symbolic link; procsite reads no links\n  help: put the file itself in procedures/ (a controlled document has one home)"),
        "{err}"
    );
    assert!(
        err.contains("procedures/global/upper.MD: warning[ignored-file]: this file is not read: documents end in .md (lowercase)\n  help: rename it to upper.md"),
        "{err}"
    );
}

#[test]
fn a_byte_order_mark_and_crlf_are_read_as_plain_text() {
    let mut t = SiteTest::new();
    let text = String::from_utf8(document("## Scope {#scope}\r\nText.\r\n"))
        .unwrap()
        .replace('\n', "\r\n")
        .replace("\r\r\n", "\r\n");
    t.write("procedures/global/bom.md", &format!("\u{FEFF}{text}"));
    t.commit("BOM");
    t.build();
    assert!(t
        .page("cork", "SOP-0500")
        .contains("<h2 id=\"scope\">Scope</h2>"));
}

#[test]
fn report_cells_cannot_run_as_formulas_or_scripts() {
    let mut t = SiteTest::new();
    t.write(
        "book.toml",
        &BOOK
            .replace(
                "exclude = { SOP-0090 = \"No sterilization at Cork\" }",
                "exclude = { SOP-0090 = \"=HYPERLINK(\\\"http://evil.example\\\",\\\"x\\\")\" }",
            )
            .replace("name = \"Boston\"", "name = \"<script>alert(1)</script>\""),
    );
    t.commit("Hostile names");
    t.build();
    let csv = t.read("public/report/report.csv");
    assert!(
        csv.contains(
            "\"SOP-0090\",\"cork\",excluded,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\""
        ),
        "{csv}"
    );
    let md = t.read("public/report/report.md");
    assert!(!md.contains("<script>"), "{md}");
    assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{md}");
}

#[test]
fn a_key_given_twice_is_reported_where_it_is_repeated() {
    let text =
        b"---\nid: SOP-0500\ntitle: First\nstatus: draft\ntitle: Second\n---\nBody.\n".to_vec();
    let err = refused(&[("procedures/global/twice.md", text)]);
    assert_eq!(
        first_line(&err),
        "procedures/global/twice.md:5:1: error[front-matter]: field 'title' is given twice (first on line 3)\n  help: keep one of the two"
    );
}

#[test]
fn a_duplicate_id_is_located_and_its_links_are_not_reported_again() {
    let twin = b"---\nid: SOP-0020\ntitle: Twin\nstatus: draft\n---\n## Other {#other}\n".to_vec();
    let linking = document("See [scope](SOP-0020#scope) and [other](SOP-0020#other).\n");
    let err = refused(&[
        ("procedures/global/twin.md", twin),
        ("procedures/global/linking.md", linking),
    ]);
    assert_eq!(
        err,
        "procedures/global/twin.md:2: error[duplicate-id]: id SOP-0020 is already used by procedures/global/SOP-0020.md\n  help: every document id must be unique across global and site documents\nprocedures: warning[not-checked]: ids clash, so sites were not composed and links and anchors were not checked\n  help: give every document its own id, then run again\ncheck failed: 1 error(s), 1 warning(s)\n"
    );
}

#[test]
fn an_empty_addendum_adapts_nothing_and_says_so() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        "---\naddendum-to: SOP-0020\nrationale: r\nstatus: draft\n---\n\n",
    );
    t.commit("Empty addendum");
    let out = t.build();
    assert!(
        out.stderr.contains("procedures/sites/cork/SOP-0020.md:2: warning[addendum-not-applied]: this addendum changes nothing, so SOP-0020 is published as the global text"),
        "{}",
        out.stderr
    );
    assert!(!t.page("cork", "SOP-0020").contains("adapted at Cork"));
}

#[test]
fn book_toml_errors_say_how_to_fix_them() {
    let cases = [
        (
            "[book]\ntitle = \"T\"\n[site.cork]\nname = \"Cork\n",
            "book.toml:4:13: error[config]: invalid basic string\n  help: check the TOML syntax on this line: a value is `key = \"text\"` on one line, a list `[\"a\", \"b\"]`, a table header `[name]`",
        ),
        (
            "[site.cork]\nname = \"Cork\"\n",
            "book.toml:1:1: error[config]: missing field `book`\n  help: start book.toml with a [book] table: [book] and, below it, title = \"…\"",
        ),
        (
            "[book]\ntitle = \"T\"\n[site.cork]\nname = \"Cork\"\nexclude = [\"SOP-0020\"]\n",
            "book.toml:5:11: error[config]: invalid type: sequence, expected a map\n  help: write exclude as a table of reasons: exclude = { SOP-0140 = \"No sterilization at this site\" }",
        ),
        (
            "[book]\ntitle = \"T\"\n[site.\"Cork\"]\nname = \"Cork\"\n",
            "book.toml:3: error[config]: site id 'Cork' is not a lowercase slug\n  help: use lowercase letters, digits and '-', e.g. [site.cork]",
        ),
    ];
    for (book, expected) in cases {
        let t = SiteTest::new();
        t.write("book.toml", book);
        let err = t.expect_failure(&["check"]);
        assert_eq!(first_line(&err), expected, "{book}");
    }
}

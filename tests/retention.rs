//! `[retention.<type>]`: each document type's retention period and the requirement it
//! follows, shown on the page and recorded in history.json; and the guarantee that
//! procsite never prunes a published version, whatever retention or status says later.

mod common;
use common::*;

const RETENTION: &str = "\n[retention.SOP]\nyears = 15\nrule = \"21 CFR 820.180: 2 years beyond the device's life; ISO 13485 4.2.5\"\n";

/// Approved SOP-0020 and SOP-0090 with recorded approvals, and `retention`.
fn repository(retention: &str) -> SiteTest {
    let mut t = SiteTest::empty();
    t.write("book.toml", &format!("{BOOK}{APPROVERS}{retention}"));
    t.write(
        "procedures/global/SOP-0020.md",
        &approved("SOP-0020", "## Scope {#scope}\nCAPA.\n", "2026-05-01"),
    );
    t.write(
        "procedures/global/SOP-0090.md",
        &approved("SOP-0090", "## Scope {#scope}\nSterile.\n", "2026-05-01"),
    );
    t.commit("Issue\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t
}

fn retention_of(t: &SiteTest, version_dir: &str, id: &str) -> serde_json::Value {
    let history: serde_json::Value =
        serde_json::from_str(&t.read(&format!("{version_dir}/history.json"))).unwrap();
    assert_history_schema(&history);
    history["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id)
        .unwrap_or_else(|| panic!("{id} in {version_dir}/history.json"))["retention"]
        .clone()
}

#[test]
fn each_document_shows_and_records_its_type_s_retention() {
    let t = repository(RETENTION);
    t.build();
    assert_eq!(
        retention_of(&t, "public/boston/preview", "SOP-0020"),
        serde_json::json!({
            "years": 15,
            "rule": "21 CFR 820.180: 2 years beyond the device's life; ISO 13485 4.2.5"
        })
    );
    assert!(t.page("boston", "SOP-0020").contains(
        "<div class=\"wide\"><dt>Retention</dt><dd>15 years · 21 CFR 820.180: 2 years beyond the device&#x27;s life; ISO 13485 4.2.5</dd></div>"
    ));
    // A type without retention records none.
    let t = repository("");
    t.build();
    assert_eq!(
        retention_of(&t, "public/boston/preview", "SOP-0020"),
        serde_json::Value::Null
    );
    assert!(!t.page("boston", "SOP-0020").contains("<dt>Retention</dt>"));
}

#[test]
fn wrong_retention_is_a_config_error_at_its_line() {
    let t = repository(
        "\n[retention.SOP]\nyears = 0\nrule = \" \"\n\n[retention.SPO]\nyears = 5\nrule = \"r\"\n",
    );
    assert_eq!(
        t.expect_failure(&["check"]),
        "book.toml:23: error[config]: the retention of type SOP is 0 years\n  help: write how many years the documents of this type are kept, e.g. years = 15\n\
         book.toml:24: error[config]: the retention of type SOP names no rule\n  help: write the requirement it follows, e.g. rule = \"21 CFR 820.180: 2 years beyond the device's life\"\n\
         check failed: 2 error(s), 0 warning(s)\n"
    );
    let t = repository("\n[retention.SPO]\nyears = 5\nrule = \"r\"\n");
    assert_eq!(
        t.expect_failure(&["check"]),
        "book.toml:22: error[config]: retention for type 'SPO', which no document has and [types] does not configure (did you mean 'SOP'?)\n  help: document types: SOP\n\
         check failed: 1 error(s), 0 warning(s)\n"
    );
    let t = repository("\n[retention.SOP]\nyaers = 5\nrule = \"r\"\n");
    let err = t.expect_failure(&["check"]);
    assert!(
        err.starts_with("book.toml:23:1: error[config]: unknown field `yaers`, expected `years` or `rule`\n  help: did you mean 'years'?\n"),
        "{err}"
    );
}

#[test]
fn a_published_version_survives_later_publishes_whatever_its_documents_become() {
    let mut t = repository(RETENTION);
    t.tag("release/2026.1");
    let out = t.run(&["publish"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let first = t.tree("public/boston/2026.1");
    assert!(first.contains_key("SOP-0090.html"));

    // SOP-0090 becomes obsolete and the type's retention shrinks: the next release
    // leaves SOP-0090 out, and the first version stays exactly as it was.
    t.write(
        "book.toml",
        &format!(
            "{BOOK}{APPROVERS}\n[retention.SOP]\nyears = 2\nrule = \"shortened after a procedure change\"\n"
        ),
    );
    t.write(
        "procedures/global/SOP-0090.md",
        &approved("SOP-0090", "## Scope {#scope}\nSterile.\n", "2026-05-01")
            .replace("status: approved", "status: obsolete\nobsolete: { date: 2026-06-02, reason: No more sterile devices }")
            .replace("---\n## Scope", "  - { name: Jane Roe, role: VP Quality, meaning: obsoleted, date: 2026-06-02 }\n---\n## Scope"),
    );
    t.commit("Withdraw SOP-0090, shorten the retention of SOPs");
    t.tag("release/2026.2");
    let out = t.run(&["publish"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!t.exists("public/boston/2026.2/SOP-0090.html"));
    assert!(t
        .read("public/boston/2026.2/index.html")
        .contains("<td class=\"doc-id\">SOP-0090</td>"));
    assert_eq!(t.tree("public/boston/2026.1"), first, "2026.1 is untouched");
    assert_eq!(
        retention_of(&t, "public/boston/2026.1", "SOP-0090")["years"],
        15
    );
    assert_eq!(
        retention_of(&t, "public/boston/2026.2", "SOP-0020")["years"],
        2
    );

    // Even with the document deleted and no retention left, a third publish keeps it.
    t.remove("procedures/global/SOP-0090.md");
    t.write(
        "book.toml",
        &format!("{BOOK}{APPROVERS}").replace(
            "exclude = { SOP-0090 = \"No sterilization at Cork\" }\n",
            "",
        ),
    );
    t.commit("Delete SOP-0090");
    t.tag("release/2026.3");
    let out = t.run(&["publish"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(t.tree("public/boston/2026.1"), first, "2026.1 is untouched");
    assert_eq!(t.version_names("boston"), ["2026.3", "2026.2", "2026.1"]);
    let verify = t.run(&["verify", "public"]);
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
}

//! changes.html and changes.json of a published version: revisions N → M, effective
//! dates, commits, change reasons and change-control records (linked), approvals,
//! redlines, withdrawn documents with their reason, and the revisions that need
//! training; `[release] require-change-control`.

mod common;

use common::*;

const BOOK_ONE: &str =
    "[book]\ntitle = \"Test QMS\"\n\n[site.cork]\nname = \"Cork\"\nmarkets = [\"EU\"]\n";

const BOOK_CC: &str = "\n[build]\nchange-control-url = \"https://qms.example/cc/{id}\"\n";

fn approved_with(
    id: &str,
    title: &str,
    extra: &str,
    body: &str,
    effective: &str,
    date: &str,
) -> String {
    format!(
        "---\nid: {id}\ntitle: {title}\ntype: SOP\nstatus: approved\neffective: {effective}\n{extra}approvals:\n  - {{ name: Jane Roe, role: VP Quality, date: {date} }}\n---\n{body}"
    )
}

const TRAINING: &str = "training: { required: true, audience: [Operators, QA], due-days: 30 }\n";

/// Release 2026.1 with SOP-0020 (training required), SOP-0030 and SOP-0040; release
/// 2026.2 revises SOP-0020 (a word, a list item, a table cell, a moved section),
/// adds SOP-0050 superseding SOP-0040, which becomes obsolete.
fn two_releases(book_extra: &str) -> SiteTest {
    let mut t = SiteTest::empty();
    t.write("book.toml", &format!("{BOOK_ONE}{APPROVERS}{book_extra}"));
    let capa_v1 = "## Scope {#scope}\nAll sites.\n\n## Responsibilities {#responsibilities}\n- The owner investigates within 30 days.\n- Quality approves.\n\n| Role | Due |\n|---|---|\n| Owner | 30 days |\n\n## Records {#records}\nKeep records.\n";
    let capa_v2 = "## Responsibilities {#responsibilities}\n- The owner investigates within 15 days.\n- Quality approves.\n\n| Role | Due |\n|---|---|\n| Owner | 15 days |\n\n## Scope {#scope}\nAll sites.\n\n## Records {#records}\nKeep records.\n";
    t.write(
        "procedures/global/SOP-0020.md",
        &approved_with(
            "SOP-0020",
            "CAPA",
            TRAINING,
            capa_v1,
            "2026-02-01",
            "2026-01-20",
        ),
    );
    t.commit(
        "Issue SOP-0020\n\nChange-Control: CC-1\nApproved-by: Jane Roe <jane.roe@acme.example>\n",
    );
    t.write(
        "procedures/global/SOP-0030.md",
        &approved_with(
            "SOP-0030",
            "Complaints",
            "",
            "## Scope {#scope}\nComplaints.\n",
            "2026-02-01",
            "2026-01-20",
        ),
    );
    t.commit(
        "Issue SOP-0030\n\nChange-Control: CC-1\nApproved-by: Jane Roe <jane.roe@acme.example>\n",
    );
    t.write(
        "procedures/global/SOP-0040.md",
        &approved_with(
            "SOP-0040",
            "Old labelling",
            "",
            "## Scope {#scope}\nLabels.\n",
            "2026-02-01",
            "2026-01-20",
        ),
    );
    t.commit(
        "Issue SOP-0040\n\nChange-Control: CC-1\nApproved-by: Jane Roe <jane.roe@acme.example>\n",
    );
    t.tag("release/2026.1");
    t.write(
        "procedures/global/SOP-0020.md",
        &approved_with(
            "SOP-0020",
            "CAPA",
            TRAINING,
            capa_v2,
            "2026-06-01",
            "2026-05-20",
        ),
    );
    t.commit("Shorten the investigation deadline\n\nChange-Reason: audit finding 12\nChange-Control: CC-7\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t.write(
        "procedures/global/SOP-0050.md",
        &approved_with(
            "SOP-0050",
            "Labelling",
            "supersedes: [SOP-0040]\n",
            "## Scope {#scope}\nLabels and UDI.\n",
            "2026-06-01",
            "2026-05-20",
        ),
    );
    t.commit("Issue SOP-0050\n\nChange-Reason: UDI rule\nChange-Control: CC-8\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t.write(
        "procedures/global/SOP-0040.md",
        "---\nid: SOP-0040\ntitle: Old labelling\ntype: SOP\nstatus: obsolete\nobsolete: { date: 2026-06-06, reason: UDI labelling moved to SOP-0050 }\napprovals:\n  - { name: Jane Roe, role: VP Quality, meaning: obsoleted, date: 2026-06-06 }\n---\n## Scope {#scope}\nLabels.\n",
    );
    t.commit("Withdraw SOP-0040\n\nChange-Control: CC-8\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t.tag("release/2026.2");
    t
}

/// changes.json with commit ids and dates replaced, so the snapshot reads well.
fn normalised(json: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if matches!(
                        k.as_str(),
                        "commit"
                            | "commit_short"
                            | "evidence_commit"
                            | "recorded_in"
                            | "tool_version"
                    ) && x.is_string()
                    {
                        *x = "<id>".into();
                    } else {
                        walk(x);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    serde_json::to_string_pretty(&v).unwrap() + "\n"
}

#[test]
fn changes_json_lists_revisions_reasons_controls_approvals_and_training() {
    let t = two_releases(BOOK_CC);
    let out = t.run(&["publish"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_snapshot(
        "cork-2026.2-changes.json",
        &normalised(&t.read("public/cork/2026.2/changes.json")),
    );
    // The first version has nothing to compare with: everything needing training is listed.
    let first: serde_json::Value =
        serde_json::from_str(&t.read("public/cork/2026.1/changes.json")).unwrap();
    assert_eq!(first["previous"], serde_json::Value::Null);
    assert_eq!(first["revised"], serde_json::json!([]));
    assert_eq!(first["training"][0]["id"], "SOP-0020");
    assert_eq!(first["training"][0]["due"], "2026-03-03");
}

#[test]
fn changes_html_shows_each_revision_with_its_redline_and_linked_change_controls() {
    let t = two_releases(BOOK_CC);
    assert_eq!(t.run(&["publish"]).code, 0);
    let html = t.read("public/cork/2026.2/changes.html");
    let main = main_region(&html);
    let revised = &main[pos(
        &main,
        "<section class=\"change change-revised\" id=\"change-SOP-0020\">",
    )..];
    let revised = &revised[..pos(revised, "</section>\n")];
    for expected in [
        "<dt>Revision</dt><dd>1 → 2</dd>",
        "<dt>Effective</dt><dd><time>2026-06-01</time></dd>",
        "<dt>Change reason</dt><dd>audit finding 12</dd>",
        "<dt>Change control</dt><dd><a href=\"https:&#x2F;&#x2F;qms.example&#x2F;cc&#x2F;CC-7\">CC-7</a></dd>",
        "Shorten the investigation deadline — Dana Controller",
        "<li>The owner investigates within <del>30</del><ins>15</ins> days.</li>",
        "<tr><td>Owner</td><td><del>30</del><ins>15</ins> days</td></tr>",
        "<p class=\"rl-note\">Section moved: it followed “Scope” in the earlier text.</p>",
        "<summary>Markdown source diff (2026.1 → 2026.2)</summary>",
    ] {
        assert!(revised.contains(expected), "{expected}\n---\n{revised}");
    }
    assert!(
        main.contains("<h2 id=\"withdrawn\">No longer published</h2>"),
        "{main}"
    );
    assert!(
        main.contains("<dt>Reason</dt><dd>Obsolete: Superseded by SOP-0050 on 2026-06-06: UDI labelling moved to SOP-0050</dd>"),
        "{main}"
    );
    assert!(main.contains("<h2 id=\"training\">Training</h2>"), "{main}");
    // The page's history links the change-control record too.
    let page = t.read("public/cork/2026.2/SOP-0020.html");
    assert!(
        page.contains("<span class=\"trailer\">Change-Control: <a href=\"https:&#x2F;&#x2F;qms.example&#x2F;cc&#x2F;CC-7\">CC-7</a></span>"),
        "{page}"
    );
}

#[test]
fn a_change_control_url_must_be_an_address_with_an_id() {
    let t = two_releases("\n[build]\nchange-control-url = \"qms.example/cc\"\n");
    let err = t.expect_failure(&["check"]);
    assert_eq!(
        err.lines().take(2).collect::<Vec<_>>().join("\n"),
        "book.toml:13: error[config]: change-control-url \"qms.example/cc\" is not an http(s) address with {id} in it\n  help: write the address of one change-control record with {id} where its id goes, e.g. change-control-url = \"https://qms.example/cc/{id}\""
    );
}

#[test]
fn a_release_can_require_a_change_control_record_for_every_new_revision() {
    let mut t = two_releases("\n[release]\nrequire-change-control = true\n");
    assert_eq!(
        t.run(&["check", "--release", "--ref", "release/2026.2"])
            .code,
        0
    );
    t.write(
        "procedures/global/SOP-0030.md",
        &approved_with(
            "SOP-0030",
            "Complaints",
            "",
            "## Scope {#scope}\nComplaints and feedback.\n",
            "2026-07-01",
            "2026-06-05",
        ),
    );
    let oid = t.commit("Widen SOP-0030\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t.tag("release/2026.3");
    let err = t.expect_failure(&["check", "--release", "--ref", "release/2026.3"]);
    assert_eq!(
        err,
        format!("procedures/global/SOP-0030.md:2: error[missing-change-control]: SOP-0030 changed since release/2026.2 in commit {} (\"Widen SOP-0030\"), and none of its commits names a change-control record\n  help: add a `Change-Control: <id>` trailer to the commit that records the approval of this revision; [release] require-change-control in book.toml asks for one\ncheck failed: 1 error(s), 0 warning(s)\n", &oid.to_string()[..10])
    );
}

#[test]
fn changes_json_follows_its_published_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/changes.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let t = two_releases(BOOK_CC);
    assert_eq!(t.run(&["publish"]).code, 0);
    for version in ["2026.1", "2026.2"] {
        let json: serde_json::Value =
            serde_json::from_str(&t.read(&format!("public/cork/{version}/changes.json"))).unwrap();
        common::validate_schema(&schema, &schema, &json, "$")
            .unwrap_or_else(|e| panic!("{version}: {e}"));
    }
    // The check is not blind: a changed record fails it.
    let mut json: serde_json::Value =
        serde_json::from_str(&t.read("public/cork/2026.2/changes.json")).unwrap();
    json["revised"][0]["to_revision"] = "two".into();
    assert_eq!(
        common::validate_schema(&schema, &schema, &json, "$"),
        Err("$.revised[0].to_revision: \"two\" is not [\"integer\", \"null\"]".into())
    );
}

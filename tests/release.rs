//! `build --release`: what a controlled release refuses, and what it publishes.

mod common;
use common::*;

/// A repository a release accepts: approved documents, approvals recorded by trailers.
fn releasable() -> SiteTest {
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
    t.write(
        "procedures/global/SOP-0130.md",
        "---\nid: SOP-0130\ntitle: Draft\nstatus: draft\n---\n## A\nNot yet.\n",
    );
    t.commit("Draft SOP-0130 for review\n");
    t
}

#[test]
fn a_release_publishes_approved_documents_without_preview_marks() {
    let t = releasable();
    let out = t.run(&["build", "--release", "--version", "r1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let page = t.read("public/cork/r1/SOP-0020.html");
    assert!(!page.contains("Uncontrolled preview"), "{page}");
    assert!(!page.contains("class=\"watermark\""));
    assert!(page.contains(">recorded</span>"));
    assert!(
        !t.exists("public/cork/r1/SOP-0130.html"),
        "drafts are not released"
    );
    assert!(!t.read("public/cork/r1/index.html").contains("SOP-0130"));
    // Building the released version again gives the same bytes, and is accepted.
    let again = t.run(&["build", "--release", "--version", "r1"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    // A release needs a version name; a release tag on the commit gives one.
    let err = t.expect_failure(&["build", "--release"]);
    assert!(err.contains("a release needs a version"), "{err}");
    assert!(!err.contains("cannot be a version name"), "{err}");
    // Checking needs none: a pull request's commit is not tagged.
    let check = t.run(&["check", "--release"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert_eq!(
        check.stdout,
        "check passed: 3 site(s), 3 document(s), 0 errors, 0 warning(s)\n"
    );
    t.tag("release/2026.1");
    let tagged = t.run(&["build", "--release"]);
    assert_eq!(tagged.code, 0, "{}", tagged.stderr);
    assert!(t.exists("public/cork/2026.1/SOP-0020.html"));
    // A preview of the same commit shows the draft, marked.
    t.build();
    assert!(t.page("cork", "SOP-0130").contains("class=\"watermark\""));
    assert!(t.page("cork", "SOP-0020").contains("Uncontrolled preview"));
}

#[test]
fn a_release_lists_every_problem_and_writes_nothing() {
    let mut t = releasable();
    t.write(
        "book.toml",
        &format!("{BOOK}{APPROVERS}\n[release]\napproval-evidence = \"recorded\"\n").replace(
            "organization = \"Test Devices\"",
            "organization = \"Test Devices\"\n\n[build]\nprocsite-version = \"=0.0.1\"",
        ),
    );
    // Stale approval: the body changed after the approval, with no new one.
    t.write(
        "procedures/global/SOP-0090.md",
        &approved(
            "SOP-0090",
            "## Scope {#scope}\nSterile, edited.\n",
            "2026-05-01",
        ),
    );
    // A stale addendum and an approval without a trailer.
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        "---\naddendum-to: SOP-0020\nrationale: r\nstatus: approved\napprovals:\n  - { name: Aoife Byrne, role: Site Quality Head, date: 2026-05-01 }\n---\n::: append #scope\nCork.\n:::\n",
    );
    t.commit("Edits without approval");
    t.write(
        "procedures/global/SOP-0020.md",
        &approved(
            "SOP-0020",
            "## Scope {#scope}\nCAPA v2, see [the draft](SOP-0130).\n",
            "2026-06-01",
        ),
    );
    t.commit("SOP-0020 revision 2\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    // An uncommitted file.
    t.write(
        "procedures/global/SOP-0200.md",
        &approved("SOP-0200", "## A\nNew.\n", "2026-05-01"),
    );
    let err = t.expect_failure(&["build", "--release", "--version", "r1"]);
    assert!(!t.exists("public"), "nothing is written");
    for needle in [
        "book.toml:6: error[tool-version]: this is procsite",
        "outside the validated procsite-version =0.0.1",
        "procedures/global/SOP-0200.md: error[dirty-tree]: uncommitted change",
        "procedures/global/SOP-0090.md:7: error[stale-approval]: the approval by Jane Roe (recorded in ",
        "procedures/sites/cork/SOP-0020.md:2: error[stale-addendum]: stale addendum",
        "procedures/sites/cork/SOP-0020.md:2: error[approval-evidence]: the approval by Aoife Byrne is declared, and a release requires recorded approvals",
        "procedures/global/SOP-0020.md:11: error[draft-link]: links to SOP-0130, which site cork does not publish (it is draft, and a release publishes approved documents only)",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    // check --release reports the same without building.
    let check = t.expect_failure(&["check", "--release"]);
    assert!(check.contains("stale addendum"), "{check}");
    // The same repository still builds as a preview.
    t.build();
}

#[test]
fn a_release_needs_git_history() {
    let t = SiteTest::no_git();
    t.write("book.toml", BOOK);
    t.write("procedures/global/SOP-0020.md", CAPA);
    t.write("procedures/global/SOP-0090.md", STERILE);
    let err = t.expect_failure(&["build", "--release", "--version", "r1"]);
    assert!(
        err.contains("a release must be built from a git repository"),
        "{err}"
    );

    let mut t = releasable();
    t.write(
        "procedures/global/SOP-0020.md",
        &approved("SOP-0020", "## Scope {#scope}\nCAPA v2.\n", "2026-06-01"),
    );
    let second = t.commit("Revision 2\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t.make_shallow(second);
    let err = t.expect_failure(&["build", "--release", "--version", "r1"]);
    assert!(
        err.contains(".git: error[shallow-clone]: a release cannot be built from a shallow clone"),
        "{err}"
    );
}

#[test]
fn a_draft_addendum_is_not_applied_in_a_release() {
    let mut t = releasable();
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        &addendum("SOP-0020", "r", "::: append #scope\nCORK DRAFT TEXT\n:::\n"),
    );
    t.commit("Cork drafts an adaptation");
    let out = t.run(&["build", "--release", "--version", "r1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("cork/SOP-0020.md:2: warning[addendum-not-applied]: this addendum is draft, so the release publishes SOP-0020 without it"), "{}", out.stderr);
    assert!(!t
        .read("public/cork/r1/SOP-0020.html")
        .contains("CORK DRAFT TEXT"));
}

#[test]
fn what_a_release_does_not_publish_does_not_block_it() {
    let mut t = releasable();
    // A document back in review, its old approval now stale: not published, no error.
    t.write(
        "procedures/global/SOP-0090.md",
        &approved(
            "SOP-0090",
            "## Scope {#scope}\nSterile, being revised.\n",
            "2026-05-01",
        )
        .replace("status: approved", "status: in-review"),
    );
    // A draft successor may name a document still in force.
    t.write(
        "procedures/global/SOP-0091.md",
        "---\nid: SOP-0091\ntitle: Successor\nstatus: draft\nsupersedes: [SOP-0020]\n---\n## A\nNext.\n",
    );
    t.commit("Revisions in preparation");
    let out = t.run(&["build", "--release", "--version", "r1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "SOP-0090.md:7: warning[stale-approval]: the approval by Jane Roe (recorded in "
        ),
        "{}",
        out.stderr
    );
    // The document being revised is published in its approved revision.
    let page = t.read("public/boston/r1/SOP-0090.html");
    assert!(
        page.contains("Sterile.") && !page.contains("being revised"),
        "{page}"
    );
    assert!(page.contains("A new revision is in-review and not yet approved."));
}

#[test]
fn every_page_of_a_release_with_declared_approvals_says_so() {
    let t = releasable();
    t.tag("release/2026.1");
    assert_eq!(t.run(&["publish"]).code, 0);
    let notice = "<p class=\"evidence-notice\" role=\"note\">Approvals in this release are <strong>declared</strong> in the documents and not corroborated";
    for page in ["cork/2026.1/SOP-0020", "boston/2026.1/SOP-0090"] {
        let html = t.read(&format!("public/{page}.html"));
        assert!(html.contains(notice), "{page}: {html}");
    }
    // With evidence required, the notice goes.
    let mut t = releasable();
    let book = t.read("book.toml") + "\n[release]\napproval-evidence = \"recorded\"\n";
    t.write("book.toml", &book);
    t.commit("Require recorded approvals\n");
    t.tag("release/2026.1");
    let out = t.run(&["publish"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!t
        .read("public/cork/2026.1/SOP-0020.html")
        .contains("evidence-notice\""));
}

/// An approved SOP, effective 2026-05-15, with one approval.
fn approved_by(id: &str, who: &str, role: &str, date: &str) -> String {
    format!(
        "---\nid: {id}\ntitle: T {id}\ntype: SOP\nstatus: approved\neffective: 2026-05-15\napprovals:\n  - {{ name: {who}, role: {role}, date: {date} }}\n---\n## Scope {{#scope}}\nText.\n"
    )
}

#[test]
fn authority_comes_from_the_registry_not_from_the_name_and_role_typed_in_yaml() {
    let registry = "\n[approvers.jroe]\nname = \"Jane Roe\"\nemails = [\"jane.roe@acme.example\"]\nroles = [\"VP Quality\"]\nvalid-from = 2026-01-01\nvalid-to = 2026-12-31\n\n[approvers.mlee]\nname = \"Mark Lee\"\nemails = [\"mark.lee@acme.example\"]\nroles = [\"Engineering\"]\n\n[approvers.ab]\nname = \"Aoife Byrne\"\nemails = [\"aoife@acme.example\"]\nroles = [\"Site Quality Head\"]\nsites = [\"cork\"]\nvalid-from = 2026-05-10\n";
    let by = approved_by;
    let site_addendum = |target: &str, date: &str| {
        format!(
            "---\naddendum-to: {target}\nrationale: Local.\nstatus: approved\napprovals:\n  - {{ name: Aoife Byrne, role: Site Quality Head, date: {date} }}\n---\n::: append #scope\nLocal text.\n:::\n"
        )
    };
    let mut t = SiteTest::empty();
    t.write(
        "book.toml",
        &format!("{}{registry}", book_without_exclusions()),
    );
    // Authority the registry gives: Jane Roe as VP Quality within her dates; Aoife
    // Byrne for Cork.
    t.write(
        "procedures/global/SOP-0010.md",
        &by("SOP-0010", "Jane Roe", "VP Quality", "2026-05-01"),
    );
    t.write(
        "procedures/sites/cork/SOP-0010.md",
        &site_addendum("SOP-0010", "2026-05-12"),
    );
    // And what it does not: a name it does not know, a role typed in YAML, a date
    // before the person's valid-from, another site.
    t.write(
        "procedures/global/SOP-0011.md",
        &by("SOP-0011", "J. Doe", "VP Quality", "2026-05-01"),
    );
    t.write(
        "procedures/global/SOP-0012.md",
        &by("SOP-0012", "Mark Lee", "VP Quality", "2026-05-01"),
    );
    t.write(
        "procedures/sites/cork/SOP-0012.md",
        &site_addendum("SOP-0012", "2026-05-02"),
    );
    t.write(
        "procedures/sites/freiburg/SOP-0010.md",
        &site_addendum("SOP-0010", "2026-05-12"),
    );
    t.commit("Issue");
    let out = t.run(&["check", "--release"]);
    assert_eq!(out.code, 1);
    let help = "  help: correct the approval, or change the registry in book.toml ([approvers]) in a change of its own that is reviewed and approved";
    let lines: Vec<&str> = out.stderr.lines().collect();
    let authority: Vec<&str> = lines
        .windows(2)
        .filter(|w| w[0].contains("[approver-authority]"))
        .flat_map(|w| [w[0], w[1]])
        .collect();
    assert_eq!(
        authority,
        [
            "procedures/global/SOP-0011.md:7: error[approver-authority]: the approval by J. Doe names no one in [approvers]",
            help,
            "procedures/global/SOP-0012.md:7: error[approver-authority]: the approval by Mark Lee claims the role 'VP Quality', but [approvers.mlee] gives Mark Lee only: Engineering",
            help,
            "procedures/sites/cork/SOP-0012.md:5: error[approver-authority]: the approval by Aoife Byrne is dated 2026-05-02, and [approvers.ab] is valid from 2026-05-10",
            help,
            "procedures/sites/freiburg/SOP-0010.md:5: error[approver-authority]: the approval by Aoife Byrne is for site freiburg, and [approvers.ab] may approve for cork only",
            help,
        ],
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches("[approver-authority]").count(),
        4,
        "{}",
        out.stderr
    );
    // Before a release, each is a warning.
    let preview = t.run(&["check"]);
    assert_eq!(
        preview
            .stderr
            .matches("warning[approver-authority]")
            .count(),
        4,
        "{}",
        preview.stderr
    );
}

#[test]
fn a_required_role_counts_in_a_release_only_when_the_registry_confirms_it() {
    let registry = "\n[types.SOP]\napproval-roles = [\"VP Quality\"]\n\n[approvers.jroe]\nname = \"Jane Roe\"\nemails = [\"jane.roe@acme.example\"]\nroles = [\"VP Quality\"]\n\n[approvers.mlee]\nname = \"Mark Lee\"\nemails = [\"mark.lee@acme.example\"]\nroles = [\"Engineering\"]\n";
    let by = |id: &str, who: &str| approved_by(id, who, "VP Quality", "2026-05-01");
    let mut t = SiteTest::empty();
    t.write(
        "book.toml",
        &format!("{}{registry}", book_without_exclusions()),
    );
    // Jane Roe holds the role in the registry: the rule is met.
    t.write("procedures/global/SOP-0010.md", &by("SOP-0010", "Jane Roe"));
    t.commit("Issue");
    let out = t.run(&["check", "--release"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Mark Lee only types the role: the registry lists him as Engineering.
    t.write("procedures/global/SOP-0011.md", &by("SOP-0011", "Mark Lee"));
    t.commit("Issue another");
    let out = t.run(&["check", "--release"]);
    assert_eq!(out.code, 1);
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0].contains("[missing-approval]"))
        .flat_map(|w| [w[0], w[1]])
        .collect();
    assert_eq!(
        lines,
        [
            "procedures/global/SOP-0011.md:7: error[missing-approval]: an approved SOP needs an approval by the role 'VP Quality' (the approval by Mark Lee claims it, but [approvers] does not confirm it)",
            "  help: add an approval with `role: VP Quality` by a person the registry gives that role (required by [types.SOP] approval-roles)",
        ],
        "{}",
        out.stderr
    );
    // Before a release the claim is reported as approver-authority only.
    let preview = t.run(&["check"]);
    assert!(
        !preview.stderr.contains("[missing-approval]"),
        "{}",
        preview.stderr
    );
    assert!(
        preview.stderr.contains("procedures/global/SOP-0011.md:7: warning[approver-authority]: the approval by Mark Lee claims the role 'VP Quality', but [approvers.mlee] gives Mark Lee only: Engineering"),
        "{}",
        preview.stderr
    );
}

#[test]
fn once_types_exist_a_release_needs_every_document_of_a_declared_type() {
    let mut t = SiteTest::empty();
    t.write(
        "book.toml",
        &format!(
            "{}\n[types.SOP]\nid-pattern = \"^SOP-[0-9]{{4}}$\"\n",
            book_without_exclusions()
        ),
    );
    t.write(
        "procedures/global/SOP-0010.md",
        &approved("SOP-0010", "## A\nText.\n", "2026-05-01"),
    );
    t.write(
        "procedures/global/WI-0001.md",
        &approved("WI-0001", "## A\nText.\n", "2026-05-01").replace("type: SOP", "type: SPO"),
    );
    t.commit("Issue");
    let line = "procedures/global/WI-0001.md:4: {}[unknown-type]: type 'SPO' has no [types.SPO] in book.toml (did you mean 'SOP'?)";
    let release = t.run(&["check", "--release"]);
    assert_eq!(release.code, 1);
    assert!(
        release.stderr.contains(&line.replace("{}", "error")),
        "{}",
        release.stderr
    );
    let preview = t.run(&["check"]);
    assert_eq!(preview.code, 0, "{}", preview.stderr);
    assert!(
        preview.stderr.contains(&line.replace("{}", "warning")),
        "{}",
        preview.stderr
    );
}

/// The test book without Cork's exclusion of SOP-0090, for repositories without it.
fn book_without_exclusions() -> String {
    BOOK.replace(
        "exclude = { SOP-0090 = \"No sterilization at Cork\" }\n",
        "",
    )
}

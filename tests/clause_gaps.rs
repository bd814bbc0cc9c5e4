//! `[market.X] required-clauses` in a release: each clause a site serving the market
//! does not cover is a `clause-gap` at the market's line, a warning by default and an
//! error under `[release] clause-gaps = "error"`. Outside release mode, the report only.

mod common;
use common::*;

/// book.toml with two markets that require clauses, and `release` appended.
fn book(release: &str) -> String {
    format!(
        "{BOOK}{APPROVERS}\n[market.EU]\nrequired-clauses = [\"MDR Art. 87\", \"ISO 13485:2016 8.2.3\"]\n\n[market.FDA]\nrequired-clauses = [\"21 CFR 820.198\"]\n{release}"
    )
}

/// Approved documents with recorded approvals; SOP-0020 cites the FDA clause and one
/// EU clause, nothing cites "MDR Art. 87".
fn repository(release: &str) -> SiteTest {
    let mut t = SiteTest::empty();
    t.write("book.toml", &book(release));
    t.write(
        "procedures/global/SOP-0020.md",
        &approved("SOP-0020", "## Scope {#scope}\nComplaints.\n", "2026-05-01").replace(
            "effective: 2026-05-15\n",
            "effective: 2026-05-15\nclauses: [\"21 CFR 820.198\", \"ISO 13485:2016 8.2.3\"]\n",
        ),
    );
    t.commit("Issue SOP-0020\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t.write(
        "procedures/global/SOP-0090.md",
        &approved("SOP-0090", "## Scope {#scope}\nSterile.\n", "2026-05-01"),
    );
    t.commit("Issue SOP-0090\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    t
}

const GAPS: &str = "\
book.toml:23: SEVERITY[clause-gap]: site cork serves market EU, which requires clause 'MDR Art. 87', and no document published at cork cites it
  help: cite it in the `clauses` of a document published at cork (clauses: [\"MDR Art. 87\"]), or remove it from [market.EU] required-clauses if the market does not require it
book.toml:23: SEVERITY[clause-gap]: site freiburg serves market EU, which requires clause 'MDR Art. 87', and no document published at freiburg cites it
  help: cite it in the `clauses` of a document published at freiburg (clauses: [\"MDR Art. 87\"]), or remove it from [market.EU] required-clauses if the market does not require it
";

#[test]
fn a_release_warns_of_each_gap_by_default_and_publishes() {
    let t = repository("");
    let out = t.run(&["build", "--release", "--version", "r1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, GAPS.replace("SEVERITY", "warning"));
    assert!(t.exists("public/cork/r1/SOP-0020.html"));
    // The same gaps from check --release; none outside release mode.
    t.tag("release/2026.1");
    let check = t.run(&["check", "--release"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(
        check
            .stderr
            .starts_with(&GAPS.replace("SEVERITY", "warning")),
        "{}",
        check.stderr
    );
    let preview = t.run(&["check"]);
    assert_eq!(preview.code, 0);
    assert!(!preview.stderr.contains("clause-gap"), "{}", preview.stderr);
    // A build for one site reports that site's gaps only.
    let boston = t.run(&["build", "--release", "--version", "r2", "--site", "boston"]);
    assert_eq!(boston.code, 0, "{}", boston.stderr);
    assert!(!boston.stderr.contains("clause-gap"), "{}", boston.stderr);
}

#[test]
fn clause_gaps_error_refuses_the_release_until_every_gap_is_covered() {
    let mut t = repository("\n[release]\nclause-gaps = \"error\"\n");
    let err = t.expect_failure(&["build", "--release", "--version", "r1"]);
    assert_eq!(
        err,
        GAPS.replace("SEVERITY", "error")
            + "build failed: 2 error(s), 0 warning(s); nothing was written, the output is as it was\n"
    );
    assert!(!t.exists("public"), "nothing is written");
    t.tag("release/2026.1");
    t.expect_failure(&["check", "--release"]);
    // A preview still builds, and the report still shows the gap.
    t.build();
    let report = t.read("public/report/report.md");
    assert!(
        report.contains("| Cork | 1 / 1 | 100% | MDR Art. 87 |"),
        "{report}"
    );
    // A document that cites the clause for the EU closes the gaps.
    t.write(
        "procedures/global/SOP-0100.md",
        &approved(
            "SOP-0100",
            "## Vigilance {#vigilance}\nReports.\n",
            "2026-05-01",
        )
        .replace(
            "effective: 2026-05-15\n",
            "effective: 2026-05-15\nmarkets: [EU]\nclauses: [\"MDR Art. 87\"]\n",
        ),
    );
    t.commit("Vigilance\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    let out = t.run(&["build", "--release", "--version", "r1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "", "no gap is left");
}

#[test]
fn a_wrong_clause_gaps_value_is_a_config_error_at_its_line() {
    let t = repository("\n[release]\nclause-gaps = \"eror\"\n");
    let err = t.expect_failure(&["check"]);
    assert_eq!(
        err,
        "book.toml:29:15: error[config]: unknown variant `eror`, expected `warn` or `error`\n  help: did you mean 'error'?\ncheck failed: 1 error(s), 0 warning(s)\n",
        "{err}"
    );
    // The level is set in [release], not in [diagnostics].
    let t = repository("\n[diagnostics]\nclause-gap = \"allow\"\n");
    let err = t.expect_failure(&["check"]);
    assert!(
        err.starts_with("book.toml:29: error[config]: the level of clause-gap is set in [release], not here\n  help: remove this line and write [release] clause-gaps = \"warn\" or \"error\"\n"),
        "{err}"
    );
}

//! The harmonization report: every cell state, scores, clause gaps, and site isolation
//! of the per-site page.

mod common;
use common::*;

fn repo() -> SiteTest {
    let mut t = SiteTest::new();
    t.write(
        "book.toml",
        &format!("{BOOK}\n[market.EU]\nrequired-clauses = [\"MDR Art. 87\"]\n\n[market.FDA]\nrequired-clauses = [\"21 CFR 803\"]\n"),
    );
    t.write(
        "procedures/global/SOP-0035.md",
        &doc(
            "SOP-0035",
            "Vigilance",
            "clauses: [\"MDR Art. 87\"]\nmarkets: [EU]\n",
            "## A\nEU vigilance.\n",
        ),
    );
    t.write(
        "procedures/global/SOP-0036.md",
        &doc(
            "SOP-0036",
            "MDR reporting",
            "clauses: [\"21 CFR 803\"]\n",
            "## A\nFDA MDRs.\n",
        ),
    );
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        &addendum("SOP-0020", "HPRA.", "::: append #scope\nCork only.\n:::\n"),
    );
    t.write(
        "procedures/sites/cork/WI-COR-001.md",
        &doc("WI-COR-001", "Gowning", "", "## A\nGown.\n"),
    );
    t.commit("Initial");
    // The global text changes after Cork's adaptation: stale.
    t.write(
        "procedures/global/SOP-0020.md",
        &CAPA.replace("Global scope text.", "Global scope text, revised."),
    );
    t.commit("Revise SOP-0020");
    t
}

#[test]
fn the_report_shows_every_cell_state_and_the_scores() {
    let t = repo();
    let out = t.run(&["report", "--format", "csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let csv = out.stdout;
    let row = |doc: &str, site: &str| {
        csv.lines()
            .find(|l| l.starts_with(&format!("\"{doc}\",\"{site}\"")))
            .unwrap_or_else(|| panic!("no row {doc} {site} in\n{csv}"))
            .to_string()
    };
    assert!(row("SOP-0020", "boston").contains(",identical,"));
    let cork = row("SOP-0020", "cork");
    assert!(
        cork.contains(",adapted,\"append #scope\",") && cork.ends_with(",true"),
        "{cork}"
    );
    assert!(row("WI-COR-001", "cork").contains(",site-only,"));
    assert!(row("SOP-0090", "cork").contains(",excluded,\"No sterilization at Cork\""));
    assert!(row("SOP-0035", "boston").contains(",not-for-markets,"));
    let md = t.run(&["report"]).stdout;
    assert!(md.contains("| Cork | 2 / 3 | 66% | none |"), "{md}");
    assert!(md.contains("| Boston | 3 / 3 | 100% | none |"), "{md}");
    // Boston (FDA) cites 21 CFR 803 through SOP-0036; Freiburg (EU) has MDR Art. 87.
    let json: serde_json::Value =
        serde_json::from_str(&t.run(&["report", "--format", "json"]).stdout).unwrap();
    for site in json["sites"].as_array().unwrap() {
        assert!(site["gaps"].as_array().unwrap().is_empty(), "{site}");
    }
}

#[test]
fn a_missing_required_clause_is_a_gap() {
    let t = repo();
    t.remove("procedures/global/SOP-0036.md");
    let json: serde_json::Value =
        serde_json::from_str(&t.run(&["report", "--format", "json"]).stdout).unwrap();
    let gaps = |id: &str| {
        json["sites"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()["gaps"]
            .clone()
    };
    assert_eq!(gaps("boston"), serde_json::json!(["21 CFR 803"]));
    assert_eq!(gaps("cork"), serde_json::json!(["21 CFR 803"]));
    assert_eq!(gaps("freiburg"), serde_json::json!([]));
}

#[test]
fn each_site_page_shows_its_own_row_and_the_root_report_all_sites() {
    let t = repo();
    t.build();
    let cork = t.read("public/cork/preview/harmonization.html");
    assert!(cork.contains("Harmonization at Cork"));
    assert!(cork.contains("stale addendum") && cork.contains("href=\"SOP-0020.diff.html\""));
    let boston = t.read("public/boston/preview/harmonization.html");
    assert!(
        !boston.contains("Cork") && !boston.contains("WI-COR-001"),
        "site isolation"
    );
    let all = t.read("public/report/index.html");
    assert!(
        all.contains("Harmonization across sites")
            && all.contains("Cork")
            && all.contains("Boston")
    );
    assert!(t.exists("public/report/report.csv") && t.exists("public/report/static/style.css"));
}

#[test]
fn the_json_report_keeps_its_shape() {
    let t = SiteTest::new();
    t.write(
        "book.toml",
        &format!("{BOOK}\n[market.EU]\nrequired-clauses = [\"MDR Art. 87\"]\n"),
    );
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        &addendum("SOP-0020", "r", "::: append #scope\nCork.\n:::\n"),
    );
    let json: serde_json::Value =
        serde_json::from_str(&t.run(&["report", "--format", "json"]).stdout).unwrap();
    let expected = serde_json::json!({
        "sites": [
            {"id": "boston", "name": "Boston", "applicable": 2, "identical": 2, "score": 100, "gaps": []},
            {"id": "cork", "name": "Cork", "applicable": 1, "identical": 0, "score": 0, "gaps": ["MDR Art. 87"]},
            {"id": "freiburg", "name": "Freiburg", "applicable": 2, "identical": 2, "score": 100, "gaps": ["MDR Art. 87"]}
        ],
        "documents": [
            {"id": "SOP-0020", "title": "Corrective and Preventive Action", "cells": [
                {"doc": "SOP-0020", "site": "boston", "state": "identical", "detail": "", "lines_changed": 0, "similarity": 100, "stale": false},
                {"doc": "SOP-0020", "site": "cork", "state": "adapted", "detail": "append #scope", "lines_changed": 1, "similarity": 95, "stale": false},
                {"doc": "SOP-0020", "site": "freiburg", "state": "identical", "detail": "", "lines_changed": 0, "similarity": 100, "stale": false}
            ]},
            {"id": "SOP-0090", "title": "Sterilization", "cells": [
                {"doc": "SOP-0090", "site": "boston", "state": "identical", "detail": "", "lines_changed": 0, "similarity": 100, "stale": false},
                {"doc": "SOP-0090", "site": "cork", "state": "excluded", "detail": "No sterilization at Cork", "lines_changed": 0, "similarity": 0, "stale": false},
                {"doc": "SOP-0090", "site": "freiburg", "state": "identical", "detail": "", "lines_changed": 0, "similarity": 100, "stale": false}
            ]}
        ],
        "clauses": [],
        "candidates": [],
        "trend": {"releases": [{
            "tag": null, "version": "preview", "date": null, "median_score": 100, "median_rereview_days": null,
            "sites": [
                {"site": "boston", "score": 100, "identical": 2, "applicable": 2, "adapted": 0, "stale": 0, "site_only": 0, "rereviews": 0, "rereview_median_days": null, "open_rereviews": 0},
                {"site": "cork", "score": 0, "identical": 0, "applicable": 1, "adapted": 1, "stale": 0, "site_only": 0, "rereviews": 0, "rereview_median_days": null, "open_rereviews": 0},
                {"site": "freiburg", "score": 100, "identical": 2, "applicable": 2, "adapted": 0, "stale": 0, "site_only": 0, "rereviews": 0, "rereview_median_days": null, "open_rereviews": 0}
            ]
        }]}
    });
    assert_eq!(
        json,
        expected,
        "{}",
        serde_json::to_string_pretty(&json).unwrap()
    );
}

//! The network view: candidates for harmonization and the trend over releases, on a
//! fixture of three sites and three releases where two sites adapt one document alike.
//!
//! The fixture's dates (one commit a day from 2026-06-01):
//!
//! | commit | date | what |
//! |---|---|---|
//! | 1 | 06-01 | SOP-0020 r1, SOP-0030 r1; addenda: boston and cork append alike to SOP-0020 #responsibilities, freiburg appends something else there and replaces SOP-0030 #scope; tag release/2026.1 |
//! | 2 | 06-02 | SOP-0020 r2, approved and effective 06-02 |
//! | 3 | 06-03 | boston re-approves its addendum (06-03: 1 day) |
//! | 4 | 06-04 | cork re-approves (06-04: 2 days) |
//! | 5 | 06-05 | freiburg re-approves (06-05: 3 days) |
//! | 6 | 06-06 | freiburg withdraws its SOP-0030 addendum; tag release/2026.2 |
//! | 7 | 06-07 | cork's site-only WI-COR-001 |
//! | 8 | 06-08 | SOP-0040 r1, published unchanged everywhere; tag release/2026.3 |
//! | 9 | 06-09 | SOP-0020 r3: every addendum stale, re-review open |

mod common;
use common::*;

const BOSTON: &str = "- The Boston site quality head approves every CAPA that involves a supplier.";
const CORK: &str = "- The Cork site quality head approves every CAPA that involves a supplier.";
const FREIBURG: &str =
    "- Freiburg escalates safety-related CAPAs to the plant manager within one day.";

fn capa(revision: &str, date: &str) -> String {
    CAPA.replace("effective: 2026-03-01", &format!("effective: {date}"))
        .replace("date: 2026-02-20", &format!("date: {date}"))
        .replace(
            "Global scope text.",
            &format!("Global scope text, {revision}."),
        )
}

fn site_addendum(target: &str, rationale: &str, body: &str, date: &str) -> String {
    format!(
        "---\naddendum-to: {target}\nrationale: {rationale}\nstatus: approved\napprovals:\n  - {{ name: Site Head, role: Site Quality Head, date: {date} }}\n---\n{body}"
    )
}

/// (site, score, adapted, stale, site-only, re-reviews, median days, open re-reviews).
type Row = (String, u64, u64, u64, u64, u64, Option<i64>, u64);

fn append(text: &str) -> String {
    format!("::: append #responsibilities\n{text}\n:::\n")
}

/// Writes `site`'s approved addendum to SOP-0020, approved on `date`.
fn adapt(t: &SiteTest, site: &str, date: &str) {
    let (rationale, text) = match site {
        "boston" => ("Supplier CAPAs need the site head.", BOSTON),
        "cork" => (
            "HPRA expects the site head to approve supplier CAPAs.",
            CORK,
        ),
        _ => ("Plant escalation.", FREIBURG),
    };
    t.write(
        &format!("procedures/sites/{site}/SOP-0020.md"),
        &site_addendum("SOP-0020", rationale, &append(text), date),
    );
}

/// Commit `n` of the fixture (see the table above).
fn step(t: &SiteTest, n: usize) {
    let global = |id: &str, body: &str, date: &str| {
        t.write(
            &format!("procedures/global/{id}.md"),
            &approved(id, body, date),
        );
    };
    match n {
        1 => {
            t.write(
                "book.toml",
                &BOOK.replace(
                    "exclude = { SOP-0090 = \"No sterilization at Cork\" }\n",
                    "",
                ),
            );
            t.write(
                "procedures/global/SOP-0020.md",
                &capa("first", "2026-06-01"),
            );
            global(
                "SOP-0030",
                "## Scope {#scope}\nAll complaints.\n",
                "2026-06-01",
            );
            for site in ["boston", "cork", "freiburg"] {
                adapt(t, site, "2026-06-01");
            }
            t.write(
                "procedures/sites/freiburg/SOP-0030.md",
                &site_addendum(
                    "SOP-0030",
                    "Local complaints.",
                    "::: replace #scope\nComplaints of German customers.\n:::\n",
                    "2026-06-01",
                ),
            );
        }
        2 => {
            t.write(
                "procedures/global/SOP-0020.md",
                &capa("second", "2026-06-02"),
            );
        }
        3 => adapt(t, "boston", "2026-06-03"),
        4 => adapt(t, "cork", "2026-06-04"),
        5 => adapt(t, "freiburg", "2026-06-05"),
        6 => {
            t.remove("procedures/sites/freiburg/SOP-0030.md");
        }
        7 => {
            t.write(
                "procedures/sites/cork/WI-COR-001.md",
                &approved("WI-COR-001", "## Gowning {#gowning}\nGown.\n", "2026-06-07"),
            );
        }
        8 => global(
            "SOP-0040",
            "## Training {#training}\nTrain.\n",
            "2026-06-08",
        ),
        _ => {
            t.write(
                "procedures/global/SOP-0020.md",
                &capa("third", "2026-06-09"),
            );
        }
    }
}

/// The fixture, up to and including commit `upto`.
fn network(upto: usize) -> SiteTest {
    let mut t = SiteTest::empty();
    let tags = [
        (1, "release/2026.1"),
        (6, "release/2026.2"),
        (8, "release/2026.3"),
    ];
    for n in 1..=upto {
        step(&t, n);
        t.commit(&format!("Step {n}"));
        if let Some((_, tag)) = tags.iter().find(|(k, _)| *k == n) {
            t.tag(tag);
        }
    }
    t
}

#[test]
fn every_release_of_the_fixture_passes_the_release_checks() {
    let t = network(9);
    for tag in ["release/2026.1", "release/2026.2", "release/2026.3"] {
        let out = t.run(&["check", "--release", "--ref", tag]);
        assert_eq!(out.code, 0, "{tag}: {}", out.stderr);
    }
}

#[test]
fn two_sites_adapting_alike_are_a_candidate_and_a_dissimilar_one_is_not() {
    let t = network(9);
    let out = t.run(&["report", "--candidates", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Boston and Cork: 12 words each, 11 in common: 2·11/24 = 91.6 %, rounded down.
    // Freiburg shares one word ("the") with either: 2·1/24 = 8 %. Boston and Cork tie
    // as the most similar to the others (91 + 8 each): the lower id is promoted.
    assert_snapshot("network_candidates.json", &out.stdout);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json[0]["kind"], "alike");
    assert_eq!(json[0]["sites"], serde_json::json!(["boston", "cork"]));
    assert_eq!(
        json[0]["anchors"],
        serde_json::json!(["append #responsibilities"])
    );
    assert_eq!(json[0]["similarity"], 91);
    assert_eq!(
        json[0]["command"],
        "procsite promote --site boston SOP-0020"
    );
    assert_eq!(json[1]["kind"], "widely-adapted");
    assert_eq!(json[1]["similarity"], 8);
    assert_eq!(
        json.as_array().unwrap().len(),
        2,
        "freiburg joins no alike group"
    );
    let csv = t.run(&["report", "--candidates", "--format", "csv"]).stdout;
    assert_snapshot("network_candidates.csv", &csv);
    let md = t.run(&["report", "--candidates"]).stdout;
    assert_snapshot("network_candidates.md", &md);
}

/// Cork's candidate (or none) when it words its addendum as `text`.
fn alike_with(text: &str) -> Vec<serde_json::Value> {
    let mut t = network(1);
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        &site_addendum("SOP-0020", "r", &append(text), "2026-06-02"),
    );
    t.commit("Cork words it differently");
    let out = t.run(&["report", "--candidates", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stderr);
    json.as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "alike")
        .cloned()
        .collect()
}

#[test]
fn eighty_percent_is_alike_and_below_is_not() {
    // Against Boston's 12 words: two words changed leave 10 in common, 2·10/24 = 83 %.
    let alike = alike_with(
        "- The Cork site quality director approves every CAPA that involves a supplier.",
    );
    assert_eq!(alike.len(), 1);
    assert_eq!(alike[0]["sites"], serde_json::json!(["boston", "cork"]));
    assert_eq!(alike[0]["similarity"], 83);
    // Three changed leave 9: 2·9/24 = 75 %, not alike.
    let unlike = alike_with(
        "- The Cork plant quality director approves every CAPA that involves a supplier.",
    );
    assert_eq!(unlike, Vec::<serde_json::Value>::new());
}

#[test]
fn the_trend_has_the_figures_computed_by_hand() {
    let t = network(9);
    let out = t.run(&["report", "--trend", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let releases = json["releases"].as_array().unwrap();
    let versions: Vec<&str> = releases
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["2026.1", "2026.2", "2026.3", "preview"]);
    // (site, score, adapted, stale, site-only, re-reviews, median days, open) per release.
    let rows = |i: usize| -> Vec<Row> {
        releases[i]["sites"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["site"].as_str().unwrap().to_string(),
                    s["score"].as_u64().unwrap(),
                    s["adapted"].as_u64().unwrap(),
                    s["stale"].as_u64().unwrap(),
                    s["site_only"].as_u64().unwrap(),
                    s["rereviews"].as_u64().unwrap(),
                    s["rereview_median_days"].as_i64(),
                    s["open_rereviews"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let r = |s: &str, score, adapted, stale, only, n, days, open| {
        (s.to_string(), score, adapted, stale, only, n, days, open)
    };
    // 2026.1: two global documents; boston and cork adapt one (1 of 2 unchanged: 50 %),
    // freiburg both (0 %).
    assert_eq!(
        rows(0),
        [
            r("boston", 50, 1, 0, 0, 0, None, 0),
            r("cork", 50, 1, 0, 0, 0, None, 0),
            r("freiburg", 0, 2, 0, 0, 0, None, 0)
        ]
    );
    assert_eq!(releases[0]["median_score"], 50);
    // 2026.2: SOP-0020 r2 effective 06-02, re-approved 06-03, 06-04, 06-05; freiburg
    // publishes SOP-0030 unchanged again (1 of 2: 50 %).
    assert_eq!(
        rows(1),
        [
            r("boston", 50, 1, 0, 0, 1, Some(1), 0),
            r("cork", 50, 1, 0, 0, 1, Some(2), 0),
            r("freiburg", 50, 1, 0, 0, 1, Some(3), 0)
        ]
    );
    assert_eq!(releases[1]["median_rereview_days"], 2);
    // 2026.3: SOP-0040 is published unchanged everywhere (2 of 3: 66 %); cork's
    // site-only document; no re-review completed since 2026.2.
    assert_eq!(
        rows(2),
        [
            r("boston", 66, 1, 0, 0, 0, None, 0),
            r("cork", 66, 1, 0, 1, 0, None, 0),
            r("freiburg", 66, 1, 0, 0, 0, None, 0)
        ]
    );
    assert_eq!(releases[2]["median_score"], 66);
    assert_eq!(releases[2]["median_rereview_days"], serde_json::Value::Null);
    // The work tree: SOP-0020 r3 makes every addendum stale, its re-review open.
    assert_eq!(
        rows(3),
        [
            r("boston", 66, 1, 1, 0, 0, None, 1),
            r("cork", 66, 1, 1, 1, 0, None, 1),
            r("freiburg", 66, 1, 1, 0, 0, None, 1)
        ]
    );
    assert_snapshot("network_trend.json", &out.stdout);
    assert_snapshot(
        "network_trend.csv",
        &t.run(&["report", "--trend", "--format", "csv"]).stdout,
    );
}

#[test]
fn the_report_shows_candidates_and_charts_the_same_way_every_time() {
    let t = network(9);
    let out = t.run(&["build"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let page = t.read("public/report/index.html");
    assert!(page.contains("Candidates for harmonization"));
    assert!(page.contains("<code>procsite promote --site boston SOP-0020</code>"));
    let charts = page.matches("<svg class=\"trend-chart\"").count();
    assert_eq!(charts, 3, "one chart per site");
    assert!(page.contains("<title>Harmonization score of Boston by release (2026.1: 50% vs 50%; 2026.2: 50% vs 50%; 2026.3: 66% vs 66%; preview: 66% vs 66%)"));
    assert!(!page.contains("<script"), "charts need no script");
    let svg = |p: &str| {
        let start = p.find("<svg class=\"trend-chart\"").unwrap();
        p[start..start + p[start..].find("</svg>").unwrap() + 6].to_string()
    };
    assert_snapshot("network_chart.svg", &svg(&page));
    // The same commit builds the same bytes.
    let again = t.run(&["build"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(t.read("public/report/index.html"), page);
    assert!(t
        .read("public/report/report.md")
        .contains("## Harmonization over time"));
    assert!(t.exists("public/report/trend.csv") && t.exists("public/report/candidates.csv"));
}

#[test]
fn a_site_page_shows_its_own_trend_and_the_median_and_nothing_of_other_sites() {
    let t = network(9);
    let out = t.run(&["build"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let cork = t.read("public/cork/preview/harmonization.html");
    assert!(
        cork.contains("<title>Harmonization score of Cork by release"),
        "{cork}"
    );
    let main = main_region(&cork);
    assert!(
        main.contains(
            "<td>2026.2</td><td>2026-06-06</td><td><strong>50%</strong></td><td>50%</td>"
        ),
        "{main}"
    );
    for other in [
        "boston", "Boston", "freiburg", "Freiburg", BOSTON, FREIBURG, "promote",
    ] {
        assert!(!cork.contains(other), "cork's page names {other}");
    }
    // Nowhere in a site's output, previews and every release alike.
    assert_eq!(t.run(&["publish"]).code, 0);
    for (site, others) in [
        (
            "cork",
            [
                "Boston",
                "boston",
                "Freiburg",
                "freiburg",
                "Plant escalation",
            ],
        ),
        ("boston", ["Cork", "cork", "WI-COR-001", "Freiburg", "HPRA"]),
    ] {
        for (path, bytes) in t.tree(&format!("public/{site}")) {
            let text = String::from_utf8_lossy(&bytes);
            for other in others {
                assert!(!text.contains(other), "{site}/{path} names {other}");
            }
        }
    }
}

#[test]
fn a_released_site_page_shows_the_releases_up_to_its_own() {
    let t = network(9);
    let out = t.run(&["publish"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let first = t.read("public/cork/2026.1/harmonization.html");
    assert!(first.contains("<td>2026.1</td>") && !first.contains("<td>2026.2</td>"));
    let third = t.read("public/cork/2026.3/harmonization.html");
    assert!(third.contains("<td>2026.2</td>") && !third.contains("preview"));
    let verify = t.run(&["verify", "public", "--source", "."]);
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
}

#[test]
fn candidates_and_trend_print_as_text_json_or_csv_only() {
    let t = network(1);
    let out = t.run(&["report", "--candidates", "--format", "html"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "error: --candidates prints md, json or csv; the HTML report holds it as a section (procsite report --format html)\n"
    );
    let out = t.run(&["report", "--candidates", "--trend"]);
    assert_eq!(out.code, 2, "one or the other");
    let html = t.run(&["report", "--format", "html"]);
    assert_eq!(html.code, 0, "{}", html.stderr);
    assert!(
        html.stdout.contains("<h2 id=\"candidates\">") && html.stdout.contains("<h2 id=\"trend\">")
    );
}

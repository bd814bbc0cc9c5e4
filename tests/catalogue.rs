//! The bad-input catalogue: `tests/catalogue/cases.toml`, one case per bad input a
//! person can type, and the few that look bad but must work.

mod common;
use common::*;

#[derive(serde::Deserialize)]
struct Catalogue {
    case: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    file: String,
    text: String,
    extra_file: Option<String>,
    extra_text: Option<String>,
    #[serde(default)]
    ok: bool,
    first: Option<String>,
}

#[test]
fn every_case_of_the_catalogue() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/catalogue/cases.toml"
    ))
    .unwrap();
    let catalogue: Catalogue = toml::from_str(&text).unwrap();
    let mut failures = Vec::new();
    let mut seen = Vec::new();
    for case in &catalogue.case {
        let mut t = SiteTest::new();
        t.commit("Initial");
        t.build();
        let before = t.tree("public");
        t.write(&case.file, &case.text);
        if let (Some(f), Some(x)) = (&case.extra_file, &case.extra_text) {
            t.write(f, x);
        }
        let build = t.run(&["build"]);
        let check = t.run(&["check"]);
        for out in [&build, &check] {
            if out.stderr.contains("panicked") || out.code > 1 || out.code < 0 {
                failures.push(format!(
                    "{}: crashed ({}): {}",
                    case.name, out.code, out.stderr
                ));
            }
        }
        if case.ok {
            if build.code != 0 {
                failures.push(format!("{}: should build:\n{}", case.name, build.stderr));
            }
            if case.name.starts_with("hostile") {
                let page = t.page("cork", "SOP-0500");
                if page.contains("<script>alert") || page.contains("onerror") {
                    failures.push(format!("{}: script survived", case.name));
                }
            }
            continue;
        }
        if build.code != 1 || check.code != 1 {
            failures.push(format!(
                "{}: build {} check {}, expected 1 and 1",
                case.name, build.code, check.code
            ));
            continue;
        }
        if t.tree("public") != before {
            failures.push(format!("{}: the output changed", case.name));
        }
        let first: Vec<&str> = check.stderr.lines().take(2).collect();
        let got = first.first().copied().unwrap_or("");
        if first.get(1).is_none_or(|h| !h.starts_with("  help: ")) {
            failures.push(format!("{}: no help line:\n{}", case.name, check.stderr));
        }
        seen.push(format!("{}\t{}", case.name, got));
        match &case.first {
            Some(want) if want != got => failures.push(format!(
                "{}:\n  expected {want}\n  got      {got}",
                case.name
            )),
            None => failures.push(format!("{}: no expectation; got {got}", case.name)),
            _ => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(catalogue.case.len() >= 40, "{} cases", catalogue.case.len());
}

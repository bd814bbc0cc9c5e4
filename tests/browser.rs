//! The published output in a real browser: headless Chromium driven by
//! `tests/browser/e2e.mjs` (Playwright), from `file://` as a reader on a file share
//! would open it. `.ci/run` installs Chromium and the driver; without them this test
//! says loudly that it did not run.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

fn driver() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let ready = Path::new(&chromium).exists()
        && dir.join("node_modules/playwright-core").exists()
        && Command::new("node").arg("--version").output().is_ok();
    if !ready {
        eprintln!(
            "\n*** BROWSER TESTS SKIPPED: Chromium, node or tests/browser/node_modules is missing.\n\
             *** Install them: apt-get install -y chromium nodejs npm && (cd tests/browser && npm ci)\n"
        );
        return None;
    }
    Some(dir.join("e2e.mjs"))
}

/// Runs the named checks against `out`; every check must pass.
fn run_checks(out: &Path, checks: &[&str]) {
    run_checks_env(out, checks, &[]);
}

fn run_checks_env(out: &Path, checks: &[&str], env: &[(&str, &str)]) {
    let Some(script) = driver() else { return };
    let result = Command::new("node")
        .arg(script)
        .envs(env.iter().copied())
        .arg(out)
        .args(checks)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&result.stdout);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        result.status.success(),
        "browser checks failed:\n{stdout}\n{stderr}"
    );
    for check in checks {
        assert!(stdout.contains(&format!("ok {check}\n")), "{stdout}");
    }
}

/// Two releases of a site with an approved addendum: r1, then r2 after a revision.
fn two_releases() -> SiteTest {
    let mut t = SiteTest::empty();
    t.write("book.toml", &format!("{BOOK}{APPROVERS}"));
    t.write("procedures/global/SOP-0020.md", CAPA);
    t.write(
        "procedures/global/SOP-0090.md",
        "---\nid: SOP-0090\ntitle: Sterilization\ntype: SOP\nstatus: approved\neffective: 2026-03-01\napprovals:\n  - { name: Jane Roe, role: VP Quality, date: 2026-02-20 }\n---\n## Scope {#scope}\nSterile devices; a failed cycle opens a corrective action.\n",
    );
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        "---\naddendum-to: SOP-0020\nrationale: HPRA expects it.\nstatus: approved\napprovals:\n  - { name: Jane Roe, role: VP Quality, date: 2026-02-21 }\n---\n::: append #responsibilities\n- The Cork site quality head approves supplier CAPAs.\n:::\n",
    );
    t.commit("Issue\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    let out = t.run(&["build", "--release", "--version", "r1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    t.write(
        "procedures/global/SOP-0020.md",
        &CAPA
            .replace("kept for 10 years", "kept in the Ärchiv for 12 years")
            .replace("2026-02-20", "2026-02-22"),
    );
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        &t.read("procedures/sites/cork/SOP-0020.md")
            .replace("2026-02-21", "2026-02-23"),
    );
    t.commit("Keep records 12 years\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    let out = t.run(&["build", "--release", "--version", "r2"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    t
}

#[test]
fn a_reader_navigates_sees_versions_site_content_and_the_print_mark() {
    let t = two_releases();
    run_checks(
        &t.path("public"),
        &[
            "navigation",
            "site-content-marked",
            "versions",
            "versions-fallback",
            "print",
            "search",
            "search-isolation",
        ],
    );
}

#[test]
fn serve_reloads_an_open_page_and_shows_a_broken_file_over_it() {
    let mut t = SiteTest::new();
    t.commit("Initial");
    let server = procsite::serve::Server::start(procsite::serve::ServeOptions {
        root: t.root().to_path_buf(),
        port: 0,
        ..Default::default()
    })
    .expect("the server starts");
    let url = server.url();
    let root = t.root().to_string_lossy().into_owned();
    run_checks_env(
        &t.path("public"),
        &["serve"],
        &[("SERVE_URL", url.as_str()), ("SERVE_ROOT", root.as_str())],
    );
    server.stop();
}

#[test]
fn the_demo_shows_a_redline_and_a_change_record() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let run = |args: &[&str], cwd: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_procsite"))
            .args(args)
            .current_dir(cwd)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["init", "--demo", "demo"], dir.path());
    run(&["publish"], &demo);
    let shots = std::env::var("SCREENSHOTS").unwrap_or_default();
    run_checks_env(
        &demo.join("public"),
        &["demo-redline", "demo-changes"],
        &[("SCREENSHOTS", shots.as_str())],
    );
}

/// A confidential procedure long enough to print on several pages, adapted at Cork,
/// released as r1.
fn long_release() -> SiteTest {
    let mut t = SiteTest::empty();
    t.write("book.toml", &format!("{BOOK}{APPROVERS}"));
    let sections: String = (1..=30)
        .map(|n| {
            format!(
                "## Step {n} {{#step-{n}}}\nThe operator checks the line clearance record, the batch number and the \
                 equipment status before step {n}, and signs the batch record. Any deviation is reported \
                 to the shift supervisor at once.\n\n- Record the time.\n- Record the result.\n\n"
            )
        })
        .collect();
    t.write(
        "procedures/global/SOP-0100.md",
        &format!(
            "---\nid: SOP-0100\ntitle: Line Clearance\ntype: SOP\nstatus: approved\neffective: 2026-03-01\nclassification: confidential\napprovals:\n  - {{ name: Jane Roe, role: VP Quality, date: 2026-02-20 }}\n---\n{sections}"
        ),
    );
    t.write("procedures/global/SOP-0090.md", STERILE);
    t.write(
        "procedures/sites/cork/SOP-0100.md",
        "---\naddendum-to: SOP-0100\nrationale: HPRA inspection finding.\nstatus: approved\napprovals:\n  - { name: Jane Roe, role: VP Quality, date: 2026-02-21 }\n---\n::: append #step-3\nAt Cork, the second operator countersigns.\n:::\n",
    );
    t.commit("Issue\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n");
    let out = t.run(&["build", "--release", "--version", "r1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    t
}

#[test]
fn every_printed_page_carries_the_control_stamp() {
    if Command::new("pdftotext").arg("-v").output().is_err() {
        eprintln!(
            "\n*** PRINT TEST SKIPPED: pdftotext is missing (apt-get install -y poppler-utils)\n"
        );
        return;
    }
    let t = long_release();
    let text = t.path("print.json");
    run_checks_env(
        &t.path("public"),
        &["print-pdf"],
        &[
            ("PRINT_PAGE", "cork/r1/SOP-0100.html"),
            ("PRINT_OUT", text.to_str().unwrap()),
        ],
    );
    if driver().is_none() {
        return;
    }
    let printed: serde_json::Value = serde_json::from_str(&t.read("print.json")).unwrap();
    // The temporary folder's path needs no percent-encoding in a file:// URL.
    let address = format!(
        "file://{}",
        t.path("public/cork/r1/SOP-0100.html").display()
    );
    let printed_at = regex::Regex::new(
        r"^UNCONTROLLED WHEN PRINTED · Printed \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC[+-]\d{2}:\d{2}$",
    )
    .unwrap();
    for (mode, footer) in [
        ("script", format!("Controlled copy: {address}")),
        (
            "noscript",
            "Controlled copy: cork/r1/SOP-0100.html".to_string(),
        ),
    ] {
        let pages = printed[mode].as_array().unwrap();
        assert!(pages.len() >= 3, "{mode}: {} page(s)", pages.len());
        for (n, page) in pages.iter().enumerate() {
            let lines: Vec<&str> = page.as_str().unwrap().lines().map(str::trim).collect();
            let expected = [
                "SOP-0100 · Rev. 1 + site 1 · Effective 2026-03-01",
                "CONFIDENTIAL",
                "Cork · Version r1",
                footer.as_str(),
                &format!("Page {} of {}", n + 1, pages.len()),
            ];
            for line in expected {
                assert!(
                    lines.contains(&line),
                    "{mode}, page {}: no line {line:?} in\n{}",
                    n + 1,
                    lines.join("\n")
                );
            }
            let when = if mode == "script" {
                lines.iter().any(|l| printed_at.is_match(l))
            } else {
                lines.contains(&"UNCONTROLLED WHEN PRINTED · Printed on ____________")
            };
            assert!(
                when,
                "{mode}, page {}: no print date line in\n{}",
                n + 1,
                lines.join("\n")
            );
        }
        // Nothing of the text is lost under the stamp.
        let all: String = pages.iter().map(|p| p.as_str().unwrap()).collect();
        for n in 1..=30 {
            assert!(all.contains(&format!("Step {n}\n")), "{mode}: no Step {n}");
        }
        assert!(all.contains("At Cork, the second operator countersigns."));
    }
}

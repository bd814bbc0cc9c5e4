//! The published tree has one owner: previews never replace releases, the report is
//! rebuilt and linked, a release is one code path, refused tags do not block later
//! ones, a kill or a second writer leaves a complete tree, and `verify` checks it all.

mod common;
use common::*;

const APPROVED_BY: &str = "\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n";

/// Two releases, the second tagged (annotated) a day after its commit.
fn released() -> SiteTest {
    let mut t = SiteTest::empty();
    t.write("book.toml", &format!("{BOOK}{APPROVERS}"));
    t.write(
        "procedures/global/SOP-0020.md",
        &approved("SOP-0020", "## Scope {#scope}\nFirst text.\n", "2026-05-01"),
    );
    t.write(
        "procedures/global/SOP-0090.md",
        &approved("SOP-0090", "## Scope {#scope}\nSterile.\n", "2026-05-01"),
    );
    t.commit(&format!("Issue{APPROVED_BY}"));
    t.tag("release/2026.1");
    t.write(
        "procedures/global/SOP-0020.md",
        &approved(
            "SOP-0020",
            "## Scope {#scope}\nSecond text.\n",
            "2026-06-01",
        ),
    );
    t.commit(&format!("Revise SOP-0020{APPROVED_BY}"));
    t.tag_annotated("release/2026.2");
    t
}

fn published() -> SiteTest {
    let t = released();
    let out = t.run(&["publish"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    t
}

/// The href of a site's card on the portal.
fn card_href(portal: &str, site_name: &str) -> String {
    let at = pos(
        portal,
        &format!("<span class=\"site-name\">{site_name}</span>"),
    );
    let start = portal[..at].rfind("<li class=\"site-card\">").unwrap();
    let card = &portal[start..at];
    let href = card
        .split("<a href=\"")
        .nth(1)
        .map_or("", |r| r.split('"').next().unwrap());
    unescape(href)
}

#[test]
fn a_preview_after_publish_never_replaces_a_release_on_the_portal() {
    let t = published();
    t.build();
    let portal = t.read("public/index.html");
    assert_eq!(card_href(&portal, "Cork"), "cork/latest/index.html");
    assert_eq!(card_href(&portal, "Boston"), "boston/latest/index.html");
    let previews = &portal[pos(&portal, "Uncontrolled previews — not approved for use")..];
    assert!(
        unescape(previews).contains("<a href=\"cork/preview/index.html\">Cork — preview</a>"),
        "{previews}"
    );
    assert!(t
        .read("public/cork/latest/SOP-0020.html")
        .contains("Second text."));
    assert!(!t
        .read("public/cork/latest/SOP-0020.html")
        .contains("Uncontrolled preview"));
    assert_eq!(
        t.version_names("cork"),
        ["2026.2", "2026.1"],
        "a preview is not a version"
    );
}

#[test]
fn publish_rebuilds_the_report_from_the_newest_release_and_links_it() {
    let t = released();
    t.build();
    assert!(t
        .read("public/report/index.html")
        .contains("Uncontrolled preview"));
    assert_eq!(t.run(&["publish"]).code, 0);
    let report = t.read("public/report/index.html");
    assert!(!report.contains("Uncontrolled preview"), "{report}");
    assert!(report.contains("(release&#x2F;2026.2)") || report.contains("(release/2026.2)"));
    let portal = t.read("public/index.html");
    assert!(
        unescape(&portal)
            .contains("<a href=\"report/index.html\">Harmonization report</a> — release 2026.2"),
        "{portal}"
    );
    assert!(!portal.contains("outside version control"), "{portal}");
    // The preview built before is still there, and says what it is.
    assert!(portal.contains("Uncontrolled previews — not approved for use"));
}

#[test]
fn build_release_at_a_published_tag_gives_the_same_bytes_as_publish() {
    let t = published();
    let out = t.run(&["build", "--release"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("version 2026.2 of site cork is already published with the same bytes"),
        "{}",
        out.stdout
    );
    // The other way round: build --release first, into another folder.
    let other = t.run(&["build", "--release", "--out", "elsewhere"]);
    assert_eq!(other.code, 0, "{}", other.stderr);
    for site in ["boston", "cork", "freiburg"] {
        assert_eq!(
            t.tree(&format!("elsewhere/{site}/2026.2")),
            t.tree(&format!("public/{site}/2026.2")),
            "{site}"
        );
    }
    // The annotated tag's date is the as-of date of both.
    let manifest = t.read("elsewhere/cork/2026.2/manifest.json");
    assert!(manifest.contains("\"date\": \"2026-06-03\""), "{manifest}");
    let index = t.read("elsewhere/cork/2026.2/index.html");
    assert!(index.contains("(release&#x2F;2026.2)") || index.contains("(release/2026.2)"));
    // And publish accepts what build --release wrote.
    let again = t.run(&["publish", "--out", "elsewhere"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again
        .stdout
        .contains("published release/2026.1 as version 2026.1"));
    assert!(!again.stdout.contains("as version 2026.2"));
}

#[test]
fn a_refused_tag_is_reported_and_later_tags_still_publish_until_it_is_withdrawn() {
    let mut t = released();
    t.write(
        "procedures/global/SOP-0020.md",
        &approved(
            "SOP-0020",
            "## Scope {#scope}\nEdited without approval.\n",
            "2026-06-01",
        ),
    );
    t.commit("Quiet edit");
    t.tag("release/2026.3");
    t.write(
        "procedures/global/SOP-0020.md",
        &approved(
            "SOP-0020",
            "## Scope {#scope}\nFourth text.\n",
            "2026-06-05",
        ),
    );
    t.commit(&format!("Approve the edit{APPROVED_BY}"));
    t.tag("release/2026.4");
    let out = t.run(&["publish"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("[release/2026.3]"), "{}", out.stderr);
    assert!(
        out.stderr.contains(
            ".git: error[release-refused]: release tag release/2026.3 was not published: it fails the release checks marked [release/2026.3]\n  help: fix the problems and tag the fixed commit with a new release tag; if release/2026.3 must never be published, record why in book.toml: [release] withdrawn = { \"release/2026.3\" = \"<reason>\" }"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains("published release/2026.4 as version 2026.4"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stderr.contains("not published: release/2026.3"),
        "{}",
        out.stderr
    );
    assert!(!t.exists("public/cork/2026.3"));
    assert!(t
        .read("public/cork/latest/SOP-0020.html")
        .contains("Fourth text."));
    // changes.html of 2026.4 compares with 2026.2, the version published before it.
    assert!(t
        .read("public/cork/2026.4/changes.html")
        .contains("Since version 2026.2"));

    t.write(
        "book.toml",
        &format!(
            "{BOOK}{APPROVERS}\n[release]\nwithdrawn = {{ \"release/2026.3\" = \"edited after approval\" }}\n"
        ),
    );
    let out = t.run(&["publish"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("2026.3"), "{}", out.stderr);
    let versions_page = unescape(&t.read("public/cork/index.html"));
    assert!(
        versions_page.contains("<li><code>release/2026.3</code>: edited after approval</li>"),
        "{versions_page}"
    );
}

/// Builds the preview once with `text` for every site, then changes it to `next`
/// and builds again with the process killed at `point`.
fn killed_at(point: &str, env: &[(&str, &str)]) -> SiteTest {
    let mut t = SiteTest::new();
    t.commit("Initial");
    t.build();
    t.write(
        "procedures/global/SOP-0020.md",
        &CAPA.replace("Global scope text.", "Scope text, second edition."),
    );
    t.commit("Edit");
    let mut all = vec![("PROCSITE_TEST_KILL_AT", point)];
    all.extend_from_slice(env);
    let out = t.run_env(&["build"], &all);
    assert_ne!(out.code, 0, "killed at {point}: {}", out.stderr);
    t
}

/// Every site shows the same edition: never some sites new and others old.
fn edition(t: &SiteTest) -> &'static str {
    let editions: Vec<&str> = ["boston", "cork", "freiburg"]
        .iter()
        .map(|s| {
            let page = t.page(s, "SOP-0020");
            if page.contains("second edition") {
                "new"
            } else {
                assert!(page.contains("Global scope text."));
                "old"
            }
        })
        .collect();
    assert!(editions.iter().all(|e| *e == editions[0]), "{editions:?}");
    editions[0]
}

#[test]
fn a_kill_at_any_point_of_the_write_leaves_a_complete_tree() {
    if !test_hooks("a_kill_at_any_point_of_the_write_leaves_a_complete_tree") {
        return;
    }
    for (point, env, expect) in [
        ("staging", vec![], "old"),
        ("staged", vec![], "old"),
        ("swapped", vec![], "new"),
        (
            "between-renames",
            vec![("PROCSITE_TEST_NO_EXCHANGE", "1")],
            "missing",
        ),
        ("swapped", vec![("PROCSITE_TEST_NO_EXCHANGE", "1")], "new"),
    ] {
        let t = killed_at(point, &env);
        if expect == "missing" {
            // Between the two renames the output folder is briefly absent; the
            // next run finishes the write.
            assert!(!t.exists("public"), "{point}");
            let v = t.run(&["verify", "public"]);
            assert_eq!(v.code, 1, "{point}");
        } else {
            assert_eq!(edition(&t), expect, "{point}");
            let v = t.run(&["verify", "public"]);
            assert_eq!(v.code, 1, "{point}: the leftover is reported\n{}", v.stdout);
            assert!(
                v.stderr.contains("left by an interrupted write"),
                "{point}: {}",
                v.stderr
            );
        }
        let next = t.run(&["build"]);
        assert_eq!(next.code, 0, "{point}: {}", next.stderr);
        assert!(
            next.stderr
                .contains("warning[output-note]: took over the lock"),
            "{point}: {}",
            next.stderr
        );
        assert_eq!(edition(&t), "new", "{point}");
        let v = t.run(&["verify", "public"]);
        assert_eq!(v.code, 0, "{point}: {}", v.stderr);
    }
}

#[test]
fn a_second_writer_is_refused_at_once_naming_the_first() {
    let mut t = SiteTest::new();
    t.commit("Initial");
    let lock = t.path(".public.procsite-lock");
    let file = std::fs::File::create(&lock).unwrap();
    file.lock().unwrap();
    std::fs::write(&lock, "pid 4242\nstarted 2026-06-01T10:00:00Z\n").unwrap();
    let err = t.expect_failure(&["build"]);
    assert_eq!(
        err,
        "public: error[output]: public is being written by another procsite run (pid 4242, started 2026-06-01T10:00:00Z)\n  help: wait for the other run to finish; only one build or publish may write an output at a time\nbuild failed: 1 error(s), 0 warning(s); nothing was written, the output is as it was\n"
    );
    assert!(!t.exists("public"));
    drop(file);
    // A lock whose holder died is taken over, with a warning.
    let out = t.build();
    assert!(
        out.stderr.contains("warning[output-note]: took over the lock of an earlier procsite run that ended without releasing it (pid 4242, started 2026-06-01T10:00:00Z)"),
        "{}",
        out.stderr
    );
    assert!(!lock.exists(), "released at the end");
}

#[test]
fn two_builds_at_once_leave_one_complete_output() {
    let mut t = SiteTest::new();
    t.commit("Initial");
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_procsite"))
            .arg("build")
            .current_dir(t.root())
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(spawn);
        let b = s.spawn(spawn);
        (a.join().unwrap(), b.join().unwrap())
    });
    for out in [&a, &b] {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || err.contains("is being written by another procsite run"),
            "{err}"
        );
    }
    assert!(a.status.success() || b.status.success());
    let v = t.run(&["verify", "public"]);
    assert_eq!(v.code, 0, "{}", v.stderr);
}

#[test]
fn a_failed_cleanup_says_the_new_output_is_in_place() {
    if !test_hooks("a_failed_cleanup_says_the_new_output_is_in_place") {
        return;
    }
    let mut t = SiteTest::new();
    t.commit("Initial");
    t.build();
    t.write(
        "procedures/global/SOP-0020.md",
        &CAPA.replace("Global scope text.", "New scope."),
    );
    t.commit("Edit");
    let out = t.run_env(&["build"], &[("PROCSITE_TEST_FAIL_CLEANUP", "1")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        !out.stderr.contains("nothing was written"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "warning: the new output is in place, but the previous one could not be removed from"
        ),
        "{}",
        out.stderr
    );
    assert!(t.page("cork", "SOP-0020").contains("New scope."));
    assert_eq!(
        t.run(&["verify", "public"]).code,
        1,
        "the leftover is reported"
    );
    let next = t.build();
    assert!(
        next.stderr.contains("left by an interrupted write"),
        "{}",
        next.stderr
    );
    assert_eq!(t.run(&["verify", "public"]).code, 0);
}

#[test]
fn verify_checks_the_portal_the_report_and_every_folder_of_an_output() {
    let t = published();
    t.build();
    assert_eq!(t.run(&["verify", "public"]).code, 0);
    type Tamper = fn(&SiteTest);
    let cases: [(&str, Tamper); 6] = [
        ("public/index.html: changed", |t| {
            t.write("public/index.html", "<p>Follow the preview</p>");
        }),
        ("public/report/report.json: changed", |t| {
            t.write("public/report/report.json", "{}");
        }),
        (
            "public/manifest.json: the output's manifest cannot be read",
            |t| {
                t.remove("public/manifest.json");
            },
        ),
        ("public/boston/2026.1: missing", |t| {
            std::fs::remove_dir_all(t.path("public/boston")).unwrap()
        }),
        (
            "public/.procsite-old/0/index.html: not in the output's manifest",
            |t| {
                t.write("public/.procsite-old/0/index.html", "old");
                t.write("public/.procsite-old/0/manifest.json", "{}");
            },
        ),
        ("public/cork/versions.json: changed", |t| {
            t.write("public/cork/versions.json", "[]");
        }),
    ];
    for (expected, tamper) in cases {
        let t = published();
        t.build();
        tamper(&t);
        let out = t.run(&["verify", "public"]);
        assert_eq!(out.code, 1, "{expected}");
        assert!(out.stderr.contains(expected), "{expected}:\n{}", out.stderr);
    }
    // Leftovers are not counted as versions.
    let t = published();
    let ok = t.run(&["verify", "public"]);
    assert!(ok.stdout.contains("verified 6 version(s)"), "{}", ok.stdout);
}

#[test]
fn ids_and_sites_may_not_take_generated_names() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/index.md",
        &doc("index", "Index", "", "Body.\n"),
    );
    t.write(
        "procedures/global/diff.md",
        &doc("SOP-0020.diff", "Diff", "", "Body.\n"),
    );
    t.write(
        "procedures/global/lower.md",
        &doc("sop-0020", "Lower", "", "Body.\n"),
    );
    t.commit("Names");
    let err = t.expect_failure(&["check"]);
    assert_eq!(
        err,
        "procedures/global/diff.md:2: error[invalid-id]: id SOP-0020.diff cannot be published: sop-0020.diff.html is the name of a diff page\n  help: choose another id, e.g. SOP-0100\n\
procedures/global/index.md:2: error[invalid-id]: id index cannot be published: index.html is a page procsite generates\n  help: choose another id, e.g. SOP-0100\n\
procedures/global/lower.md:2: error[invalid-id]: id sop-0020 differs only by case from SOP-0020 in procedures/global/SOP-0020.md\n  help: their pages would be one file on Windows and macOS; renumber one of them\n\
check failed: 3 error(s), 0 warning(s)\n"
    );
    let t = SiteTest::new();
    t.write(
        "book.toml",
        &BOOK.replace("[site.freiburg]", "[site.report]"),
    );
    let err = t.expect_failure(&["check"]);
    assert!(
        err.starts_with("book.toml:14: error[config]: site id 'report' cannot be used: 'report' is a name procsite uses at the output root\n  help: rename the site, e.g. [site.reporting]\n"),
        "{err}"
    );
}

#[test]
fn a_withdrawn_tag_is_skipped_alike_by_publish_and_build_release() {
    let mut t = released();
    // The withdrawal is recorded in the next release's commit, so that commit's
    // changes.html compares with the last version actually published.
    t.write(
        "procedures/global/SOP-0020.md",
        &approved("SOP-0020", "## Scope {#scope}\nThird text.\n", "2026-06-04"),
    );
    t.write(
        "book.toml",
        &format!(
            "{BOOK}{APPROVERS}\n[release]\nwithdrawn = {{ \"release/2026.2\" = \"issued with the wrong scope\" }}\n"
        ),
    );
    t.commit(&format!("Revise again, withdraw 2026.2{APPROVED_BY}"));
    t.tag("release/2026.3");
    let out = t.run(&["publish"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!t.exists("public/cork/2026.2"));
    assert!(t
        .read("public/cork/2026.3/changes.html")
        .contains("Since version 2026.1"));
    let again = t.run(&["build", "--release", "--out", "elsewhere"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        t.tree("elsewhere/cork/2026.3"),
        t.tree("public/cork/2026.3")
    );
    // Withdrawing a version already published is refused: it cannot be unpublished.
    t.write(
        "book.toml",
        &format!(
            "{BOOK}{APPROVERS}\n[release]\nwithdrawn = {{ \"release/2026.2\" = \"wrong scope\", \"release/2026.1\" = \"late\" }}\n"
        ),
    );
    let err = t.expect_failure(&["publish"]);
    assert!(
        err.contains("book.toml: error[config]: release tag release/2026.1 is withdrawn in book.toml, but version 2026.1 is already published (at boston)"),
        "{err}"
    );
}

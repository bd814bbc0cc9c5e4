//! Output safety and portability: relative links, staged writes, byte-identical rebuilds.

mod common;
use common::*;

/// Sets `[build] theme = "acme"`: templates under themes/acme/ replace the default ones.
fn use_theme_acme(t: &SiteTest) {
    t.write(
        "book.toml",
        &BOOK.replace(
            "[site.boston]",
            "[build]\ntheme = \"acme\"\n\n[site.boston]",
        ),
    );
}

fn sample() -> SiteTest {
    let t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &doc(
            "SOP-0030",
            "Complaints",
            "",
            "## Intake {#intake}\nSee [CAPA](SOP-0020#scope).\n",
        ),
    );
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        &addendum("SOP-0020", "r", "::: append #scope\nCork.\n:::\n"),
    );
    t
}

#[test]
fn every_link_is_relative_so_sites_work_from_file_urls() {
    let t = sample();
    t.build();
    let files = t.tree("public");
    let mut checked = 0;
    for (path, bytes) in &files {
        if !path.ends_with(".html") {
            continue;
        }
        let html = unescape(&String::from_utf8_lossy(bytes));
        for attr in ["href=\"", "src=\""] {
            for part in html.split(attr).skip(1) {
                let url = part.split('"').next().unwrap();
                checked += 1;
                assert!(!url.starts_with('/'), "{path}: absolute link {url}");
                assert!(!url.contains("://"), "{path}: external link {url}");
                if url.starts_with('#') {
                    continue;
                }
                // Every relative target exists on disk.
                let file = url.split('#').next().unwrap();
                let dir = std::path::Path::new(path).parent().unwrap();
                let target = t.path("public").join(dir).join(file);
                assert!(target.exists(), "{path}: broken link {url}");
            }
        }
    }
    assert!(checked > 50, "only {checked} links checked");
}

#[test]
fn a_failed_build_leaves_the_previous_output_untouched() {
    let t = sample();
    t.build();
    let before = t.tree("public");
    t.write(
        "procedures/global/SOP-0030.md",
        "---\nid: SOP-0030\ntitle: Complaints\nefective: 2026-01-01\n---\n",
    );
    t.expect_failure(&["build"]);
    assert_eq!(t.tree("public"), before);
}

#[test]
fn a_successful_rebuild_replaces_pages_and_drops_removed_ones() {
    let t = sample();
    t.build();
    t.remove("procedures/global/SOP-0030.md");
    t.build();
    assert!(!t.exists("public/cork/preview/SOP-0030.html"));
    assert!(t.exists("public/cork/preview/SOP-0020.html"));
    let leftovers: Vec<String> = t
        .tree("public")
        .into_keys()
        .filter(|k| k.contains("procsite-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn the_same_input_builds_byte_identical_output_anywhere() {
    let a = sample();
    let b = sample();
    a.build();
    b.build();
    let (ta, tb) = (a.tree("public"), b.tree("public"));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (k, v) in &ta {
        assert!(tb[k] == *v, "{k} differs between two builds");
    }
    // And again in the same place.
    a.build();
    assert_eq!(a.tree("public"), ta);
}

#[test]
fn crlf_sources_publish_the_same_pages() {
    let a = sample();
    let b = sample();
    let crlf = a
        .read("procedures/global/SOP-0020.md")
        .replace('\n', "\r\n");
    b.write("procedures/global/SOP-0020.md", &crlf);
    a.build();
    b.build();
    assert_eq!(a.page("cork", "SOP-0020"), b.page("cork", "SOP-0020"));
}

#[test]
fn refuses_to_write_into_a_folder_it_did_not_create() {
    let t = sample();
    t.write("public/notes.txt", "not procsite's");
    let err = t.expect_failure(&["build"]);
    assert!(err.contains("was not created by procsite"), "{err}");
    assert_eq!(t.read("public/notes.txt"), "not procsite's");
    // --out chooses another folder.
    let out = t.run(&["build", "--out", "site-out"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(t.exists("site-out/cork/preview/SOP-0020.html"));
}

#[test]
fn pages_carry_the_header_block_and_the_preview_marking() {
    let t = sample();
    t.build();
    let page = t.page("cork", "SOP-0020");
    for needle in [
        "<h1>Corrective and Preventive Action</h1>",
        "<dd>Cork</dd>",
        "<dd>Global Quality</dd>",
        "<time>2026-03-01</time>",
        "<td>Jane Roe</td><td>VP Quality</td><td>approved</td><td><time>2026-02-20</time></td>",
        "Uncontrolled preview",
        "Uncontrolled when printed",
    ] {
        assert!(page.contains(needle), "missing {needle}");
    }
    // A draft document, and a page composed with a draft addendum, carry the DRAFT
    // watermark; an approved document without a draft adaptation does not.
    assert!(t.page("boston", "SOP-0090").contains("class=\"watermark\""));
    assert!(page.contains("class=\"watermark\""));
    assert!(page.contains("<strong>Draft adaptation:</strong>"));
    assert!(t
        .read("public/cork/preview/index.html")
        .contains("draft adaptation"));
    assert!(!t.page("boston", "SOP-0020").contains("class=\"watermark\""));
}

#[test]
fn a_user_theme_overrides_one_block_and_adds_static_files() {
    let t = sample();
    use_theme_acme(&t);
    t.write(
        "themes/acme/templates/page.html",
        "{% extends \"default/page.html\" %}{% block footer %}ACME FOOTER {{ doc.id }}{% endblock footer %}",
    );
    t.write("themes/acme/static/logo.svg", "<svg/>");
    t.build();
    let page = t.page("cork", "SOP-0020");
    assert!(page.contains("ACME FOOTER SOP-0020"), "{page}");
    assert!(
        page.contains("Corrective and Preventive Action"),
        "the rest of the default page stays"
    );
    assert!(t.exists("public/cork/preview/static/logo.svg"));
    assert!(t.exists("public/cork/preview/static/style.css"));
}

#[test]
fn a_missing_theme_is_an_error() {
    let t = sample();
    t.write(
        "book.toml",
        &BOOK.replace(
            "[site.boston]",
            "[build]\ntheme = \"nope\"\n\n[site.boston]",
        ),
    );
    let err = t.expect_failure(&["build"]);
    assert!(
        err.contains("book.toml:6: error[theme]: theme 'nope' not found"),
        "{err}"
    );
}

#[test]
fn a_write_that_fails_part_way_leaves_the_previous_output_and_the_next_run_succeeds() {
    if !test_hooks(
        "a_write_that_fails_part_way_leaves_the_previous_output_and_the_next_run_succeeds",
    ) {
        return;
    }
    let t = sample();
    t.build();
    let before = t.tree("public");
    t.write(
        "procedures/global/SOP-0030.md",
        &doc(
            "SOP-0030",
            "Complaints",
            "",
            "## Intake {#intake}\nNew text.\n",
        ),
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_procsite"))
        .arg("build")
        .current_dir(t.root())
        .env("PROCSITE_TEST_FAIL_AFTER_FILES", "7")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("failure injected"));
    assert_eq!(
        t.tree("public"),
        before,
        "the previous output is untouched, staging removed"
    );
    t.build();
    assert!(t.page("cork", "SOP-0030").contains("New text."));
}

#[test]
fn check_renders_bodies_but_tries_each_template_and_reports_a_broken_one() {
    let t = sample();
    use_theme_acme(&t);
    // A template that fails only when it renders, not when it compiles.
    t.write(
        "themes/acme/templates/diff.html",
        "{% extends \"default/diff.html\" %}{% block footer %}{{ no_such_value }}{% endblock footer %}",
    );
    let out = t.run(&["check"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.contains("error[theme]"))
            .collect::<Vec<_>>(),
        ["templates/diff.html: error[theme]: cannot render: Failed to render 'diff.html': Variable `no_such_value` not found in context while rendering 'diff.html'"],
        "{}",
        out.stderr
    );
    assert!(!t.exists("public"), "check writes nothing");
}

/// A repository whose theme `acme` has `templates/NAME` = `template`, and whose
/// SOP-0030 has `commits` commits.
fn themed_with_history(name: &str, template: &str, commits: usize) -> SiteTest {
    let mut t = SiteTest::new();
    use_theme_acme(&t);
    t.write(&format!("themes/acme/templates/{name}"), template);
    for n in 1..=commits {
        t.write(
            "procedures/global/SOP-0030.md",
            &doc(
                "SOP-0030",
                "Complaints",
                "",
                &format!("## Intake\nText {n}.\n"),
            ),
        );
        t.commit(&format!("Change {n}"));
    }
    t
}

#[test]
fn check_tries_the_history_page_and_the_page_link_to_it_before_any_history_is_long() {
    for (name, template) in [
        (
            "page.html",
            "{% extends \"default/page.html\" %}{% block footer %}{% if full_history %}{{ full_history.hreff }}{% endif %}{% endblock footer %}",
        ),
        (
            "history.html",
            "{% extends \"default/history.html\" %}{% block footer %}{{ no_such_value }}{% endblock footer %}",
        ),
    ] {
        let t = themed_with_history(name, template, 3);
        let out = t.run(&["check"]);
        assert_eq!(out.code, 1, "{name}: {}", out.stderr);
        let errors: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.contains("error[theme]"))
            .collect();
        assert_eq!(errors.len(), 1, "{name}: {}", out.stderr);
        assert!(
            errors[0].starts_with(&format!("templates/{name}: error[theme]: cannot render")),
            "{}",
            errors[0]
        );
    }
}

#[test]
fn a_theme_page_that_lists_the_history_itself_gets_every_change() {
    let t = themed_with_history(
        "page.html",
        "{% extends \"default/page.html\" %}{% block content %}{% for h in doc.history %}<li class=\"h\">{{ h.subject }}</li>{% endfor %}{% endblock content %}",
        12,
    );
    t.build();
    let page = t.page("cork", "SOP-0030");
    let subjects: Vec<&str> = page
        .split("<li class=\"h\">")
        .skip(1)
        .map(|s| s.split("</li>").next().unwrap())
        .collect();
    let all: Vec<String> = (1..=12).rev().map(|n| format!("Change {n}")).collect();
    assert_eq!(subjects, all);
    assert!(t.exists("public/cork/preview/SOP-0030.history.html"));
}

#[test]
fn a_theme_cannot_read_the_environment() {
    let t = themed_with_history(
        "base.html",
        "{% extends \"default/base.html\" %}\n{% block footer %}{{ get_env(name=\"HOME\", default=\"\") }}{% endblock footer %}",
        1,
    );
    let err = t.expect_failure(&["-q", "check"]);
    assert_eq!(
        err,
        "themes/acme/templates/base.html:2: error[theme]: get_env is not available: a page is made of the repository's content only, so that one commit builds the same bytes on any machine\n  help: take the value from book.toml or a document instead\ncheck failed: 1 error(s), 0 warning(s)\n"
    );
}

#[test]
fn a_theme_whose_document_pages_would_say_they_were_built_from_uncommitted_files_is_refused_in_a_release(
) {
    // A footer written before document pages stopped naming the build's commit, in a
    // part of the theme's own.
    let t = themed_with_history(
        "base.html",
        "{% extends \"default/base.html\" %}{% block footer %}{% include \"stamp.html\" %}{% endblock footer %}",
        1,
    );
    let old = "<p>\n{% if build.commit %}built from commit {{ build.commit_short }}{% elif build.git %}built from uncommitted files{% endif %}</p>\n";
    t.write("themes/acme/templates/stamp.html", old);
    let said = "themes/acme/templates/stamp.html:2: LEVEL[theme-stamp]: the template says what the build was made from without testing build.document_page: a document's pages (its page, history and comparison) are not given the build's commit, and a branch taken when build.commit is empty would say they were built from uncommitted files\n  help: test build.document_page first, as the built-in base.html does: a document's page names its own source commit, and the version's index the build's\n";
    let check = t.run(&["-q", "check"]);
    assert_eq!(
        (check.code, check.stderr),
        (0, said.replace("LEVEL", "warning"))
    );
    // A release would publish it on controlled pages: an error there.
    let release = t.run(&["-q", "check", "--release"]);
    assert_eq!(release.code, 1);
    assert!(
        release.stderr.contains(&said.replace("LEVEL", "error")),
        "{}",
        release.stderr
    );
    // Tested first, it is fine; and an index template may say it without the test.
    t.write(
        "themes/acme/templates/stamp.html",
        &old.replace(
            "{% if build.commit %}",
            "{% if build.document_page %}see the index{% elif build.commit %}",
        ),
    );
    t.write(
        "themes/acme/templates/index.html",
        "{% extends \"default/index.html\" %}{% block footer %}built from {{ build.commit }}{% endblock footer %}",
    );
    let check = t.run(&["-q", "check"]);
    assert_eq!((check.code, check.stderr.as_str()), (0, ""));
    t.build();
    assert!(t.page("cork", "SOP-0030").contains("see the index"));
    assert!(!t.page("cork", "SOP-0030").contains("uncommitted"));
}

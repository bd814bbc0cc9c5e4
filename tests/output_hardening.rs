//! What a careless or hostile user can do to an output, and what procsite says.

mod common;
use common::*;

const APPROVED_BY: &str = "\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n";

fn releasable() -> SiteTest {
    let mut t = SiteTest::empty();
    t.write("book.toml", &format!("{BOOK}{APPROVERS}"));
    t.write(
        "procedures/global/SOP-0090.md",
        &approved("SOP-0090", "## Scope {#scope}\nSterile.\n", "2026-05-01"),
    );
    t.revise("First text.", "2026-05-01");
    t
}

trait Revise {
    fn revise(&mut self, text: &str, approved_on: &str) -> git2::Oid;
}

impl Revise for SiteTest {
    fn revise(&mut self, text: &str, approved_on: &str) -> git2::Oid {
        self.write(
            "procedures/global/SOP-0020.md",
            &approved(
                "SOP-0020",
                &format!("## Scope {{#scope}}\n{text}\n"),
                approved_on,
            ),
        );
        self.commit(&format!("Revise{APPROVED_BY}"))
    }
}

#[test]
fn a_version_name_belongs_to_the_commit_of_its_tag() {
    let mut t = releasable();
    let out = t.run(&["build", "--release", "--version", "2026.5"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    t.revise("Sixth text.", "2026-06-02");
    t.tag("release/2026.5");
    let err = t.expect_failure(&["publish"]);
    assert!(
        err.contains("public/cork/2026.5: error[released-version-changed]: cork/2026.5 was built from commit")
            && err.contains("but release tag release/2026.5 names commit"),
        "{err}"
    );
    // The other way round: --version may not take the version of a tag elsewhere.
    let mut t = releasable();
    t.tag("release/2026.1");
    t.revise("Second text.", "2026-06-02");
    let err = t.expect_failure(&["build", "--release", "--version", "2026.1"]);
    assert!(
        err.contains("--version: error[argument]: version 2026.1 is the version of release tag release/2026.1, which names commit"),
        "{err}"
    );
}

#[test]
fn the_newest_version_is_current_even_when_its_name_sorts_first_as_text() {
    // Two tags of one day (here of one commit): the dates tie, the names decide.
    let t = releasable();
    t.tag("release/2026.9");
    t.tag("release/2026.10");
    let out = t.run(&["publish"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(t.version_names("cork"), ["2026.10", "2026.9"]);
    let manifest = t.read("public/cork/latest/manifest.json");
    assert!(manifest.contains("\"version\": \"2026.10\""), "{manifest}");
}

#[test]
fn withdrawing_the_newest_tag_still_publishes_and_refreshes_the_pages() {
    let mut t = releasable();
    t.tag("release/2026.1");
    assert_eq!(t.run(&["publish"]).code, 0);
    t.write(
        "procedures/global/SOP-0020.md",
        "---\nid: SOP-0020\ntitle: Broken\nstatus: approved\n---\nNo approvals.\n",
    );
    t.commit("Broken");
    t.tag("release/2026.2");
    assert_eq!(t.run(&["publish"]).code, 1);
    t.write(
        "book.toml",
        &format!("{BOOK}{APPROVERS}\n[release]\nwithdrawn = {{ \"release/2026.2\" = \"no approvals\", \"relase/2026.3\" = \"typo\" }}\n"),
    );
    let out = t.run(&["publish"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("book.toml:23: warning[withdrawn-tag]: [release] withdrawn names relase/2026.3, which is not a release tag (did you mean 'release/2026.1'?)"),
        "{}",
        out.stderr
    );
    assert!(unescape(&t.read("public/cork/index.html"))
        .contains("<code>release/2026.2</code>: no approvals"));
}

#[test]
fn verify_sees_links_and_version_folders_moved_or_copied() {
    let t = releasable();
    t.tag("release/2026.1");
    assert_eq!(t.run(&["publish"]).code, 0);
    std::fs::write(t.path("evil.html"), "<p>not released</p>").unwrap();
    std::os::unix::fs::symlink(
        t.path("evil.html"),
        t.path("public/cork/2026.1/SOP-9999.html"),
    )
    .unwrap();
    let err = t.expect_failure(&["verify", "public/cork/2026.1"]);
    assert!(
        err.contains("public/cork/2026.1/SOP-9999.html: not a regular file (a symbolic link?); procsite writes none"),
        "{err}"
    );
    std::fs::remove_file(t.path("public/cork/2026.1/SOP-9999.html")).unwrap();
    std::fs::rename(t.path("public/cork/2026.1"), t.path("public/cork/2026.7")).unwrap();
    let err = t.expect_failure(&["verify", "public/cork/2026.7"]);
    assert!(
        err.contains("public/cork/2026.7: its manifest is that of cork/2026.1; a version folder was copied or renamed"),
        "{err}"
    );
}

#[test]
fn a_deleted_release_stops_a_build_and_publish_restores_it() {
    let t = releasable();
    t.tag("release/2026.1");
    assert_eq!(t.run(&["publish"]).code, 0);
    std::fs::remove_dir_all(t.path("public/cork/2026.1")).unwrap();
    let err = t.expect_failure(&["build"]);
    assert!(
        err.contains("public: error[output]: released version(s) cork/2026.1 are listed in the output's manifest but missing from the output"),
        "{err}"
    );
    let out = t.run(&["publish"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(t.run(&["verify", "public"]).code, 0);
}

#[test]
fn a_half_removed_leftover_is_removed_by_the_next_run() {
    let mut t = SiteTest::new();
    t.commit("Initial");
    t.build();
    // A removal killed after it took the marker leaves a folder without it.
    t.write(".public.procsite-next/cork/preview/index.html", "old");
    let out = t.build();
    assert!(
        out.stderr.contains("left by an interrupted write"),
        "{}",
        out.stderr
    );
    assert!(!t.exists(".public.procsite-next"));
}

#[test]
fn an_output_among_the_sources_or_inside_another_output_is_refused() {
    let mut t = SiteTest::new();
    t.commit("Initial");
    let err = t.expect_failure(&["build", "--out", "procedures/site-output"]);
    assert!(
        err.contains("--out: error[argument]: the output folder procedures/site-output is inside procedures/, which holds sources"),
        "{err}"
    );
    t.build();
    let err = t.expect_failure(&["build", "--out", "public/inner"]);
    assert!(err.contains("is inside another procsite output"), "{err}");
    // A file of the user's in the output is named, never deleted.
    t.write("public/CNAME", "procedures.example.com");
    let err = t.expect_failure(&["build"]);
    assert!(
        err.contains("public/CNAME is not part of procsite's output: procsite writes no such file"),
        "{err}"
    );
    assert_eq!(t.read("public/CNAME"), "procedures.example.com");
}

#[test]
fn a_build_refused_after_its_sites_were_written_leaves_no_trace() {
    let mut t = releasable();
    let out = t.run(&["build", "--release", "--version", "r1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = t.run(&["build"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (released, preview) = (t.tree("public/cork/r1"), t.tree("public/cork/preview"));
    t.revise("Second text.", "2026-06-02");
    // A run killed while it wrote left its staging tree; the next run removes it and
    // says so, even when that run is refused.
    t.write(".public.procsite-next/cork/preview/index.html", "old");
    // Every site is written into the staging tree as soon as it is rendered; a site
    // whose released version would change is refused as it arrives, and what was
    // staged goes with the refusal.
    let err = t.expect_failure(&["build", "--release", "--version", "r1"]);
    let changed = |site: &str| {
        format!(
            "public/{site}/r1: error[released-version-changed]: version r1 of site {site} is released and would change\n  \
             help: released versions are immutable: build under a new version name\n"
        )
    };
    assert_eq!(
        err.replace(&t.root().display().to_string(), "ROOT"),
        format!(
            "procedures/global/SOP-0090.md:7: warning[declared-approval]: the approval by Jane Roe is only declared: no Approved-by trailer records it\n  \
             help: record it with an `Approved-by: Jane Roe <email>` trailer of an approver in [approvers], in a commit that changes this document only; in a commit that changes several, the trailer names it: `Approves: SOP-0090 sha256:f2918080393bd56deb6330a6261c4a3736f9163ae560727aa47a3267d31a0a01 Jane Roe <jane.roe@acme.example>`\n\
             public: warning[output-note]: removed ROOT/.public.procsite-next, left by an interrupted write\n\
             {}{}{}\
             build failed: 3 error(s), 2 warning(s); nothing was written, the output is as it was\n",
            changed("boston"),
            changed("cork"),
            changed("freiburg")
        )
    );
    assert!(!t.exists(".public.procsite-next"));
    assert!(!t.exists(".public.procsite-lock"));
    assert_eq!(t.tree("public/cork/r1"), released);
    assert_eq!(t.tree("public/cork/preview"), preview);
    let verified = t.run(&["verify", "public"]);
    assert_eq!(verified.code, 0, "{}", verified.stderr);
}

#[test]
fn a_release_without_a_version_is_refused_before_the_output_is_opened() {
    let mut t = releasable();
    t.build();
    let listing = t.run(&["verify", "public"]);
    assert_eq!(listing.code, 0, "{}", listing.stderr);
    // A leftover stays where it is: the refused run never opened the output.
    t.write(".public.procsite-next/cork/preview/index.html", "old");
    let err = t.expect_failure(&["build", "--release"]);
    assert_eq!(
        err,
        "--release: error[argument]: a release needs a version\n  \
         help: tag the commit with a release tag ([build] release-tags) or pass --version V\n\
         procedures/global/SOP-0020.md:7: warning[declared-approval]: the approval by Jane Roe is only declared: no Approved-by trailer records it\n  \
         help: record it with an `Approved-by: Jane Roe <email>` trailer of an approver in [approvers], in a commit that changes this document only; in a commit that changes several, the trailer names it: `Approves: SOP-0020 sha256:d6b1212e36d5ea3201550fd9ee8dec7bfa67f9123fef69b25dca83d4f15c84a6 Jane Roe <jane.roe@acme.example>`\n\
         procedures/global/SOP-0090.md:7: warning[declared-approval]: the approval by Jane Roe is only declared: no Approved-by trailer records it\n  \
         help: record it with an `Approved-by: Jane Roe <email>` trailer of an approver in [approvers], in a commit that changes this document only; in a commit that changes several, the trailer names it: `Approves: SOP-0090 sha256:f2918080393bd56deb6330a6261c4a3736f9163ae560727aa47a3267d31a0a01 Jane Roe <jane.roe@acme.example>`\n\
         build failed: 1 error(s), 2 warning(s); nothing was written, the output is as it was\n"
    );
    assert!(t.exists(".public.procsite-next/cork/preview/index.html"));
    assert!(!t.exists(".public.procsite-lock"));
    assert!(!t.exists("public/cork/release"));
    // So is a version named by a release tag on another commit.
    t.tag("release/2026.1");
    t.revise("Second text.", "2026-06-02");
    let err = t.expect_failure(&["build", "--release", "--version", "2026.1"]);
    assert!(
        err.starts_with("--version: error[argument]: version 2026.1 is the version of release tag release/2026.1, which names commit "),
        "{err}"
    );
    assert!(t.exists(".public.procsite-next/cork/preview/index.html"));
    assert!(!t.exists("public/cork/2026.1"));
}

#[cfg(unix)]
#[test]
fn a_preview_built_again_links_its_unchanged_files_and_writes_the_rest() {
    use std::os::unix::fs::MetadataExt;
    let mut t = releasable();
    let out = t.run(&["build"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let ino = |t: &SiteTest, rel: &str| std::fs::metadata(t.path(rel)).unwrap().ino();
    let page = "public/cork/preview/SOP-0020.html";
    let style = "public/cork/preview/static/style.css";
    let (page_ino, style_ino) = (ino(&t, page), ino(&t, style));
    let text = t.read(page);
    t.run(&["build"]);
    assert_eq!((ino(&t, page), ino(&t, style)), (page_ino, style_ino));
    // A page altered in the published output is written afresh, never kept.
    t.write(page, &text.replace("First text.", "Altered text."));
    t.run(&["build"]);
    assert_ne!(ino(&t, page), page_ino);
    assert_eq!(t.read(page), text);
    // A new commit: the page of the document it changed is written, and the index,
    // which names the commit; the page of a document it did not change names no build
    // commit and is linked, as is the style sheet.
    let other = "public/boston/preview/SOP-0090.html";
    let index = "public/cork/preview/index.html";
    let (page_ino, other_ino, index_ino) = (ino(&t, page), ino(&t, other), ino(&t, index));
    let commit = t.revise("Second text.", "2026-06-02").to_string();
    t.run(&["build"]);
    assert_ne!(ino(&t, page), page_ino);
    assert!(t.read(page).contains("Second text."));
    assert_eq!((ino(&t, other), ino(&t, style)), (other_ino, style_ino));
    assert_ne!(ino(&t, index), index_ino);
    assert!(t.read(index).contains(&format!("title=\"{commit}\"")));
    assert!(!t.read(other).contains(&commit[..7]));
    assert!(t.read(other).contains("Boston, version preview: <a href=\"index.html\">its index</a> names the commit it was built from"));
    let verified = t.run(&["verify", "public"]);
    assert_eq!(verified.code, 0, "{}", verified.stderr);
}

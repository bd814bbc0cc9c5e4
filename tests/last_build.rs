//! The same build again, over an output nobody touched since, is answered from the
//! record of the last build: what it said is said again and nothing is written. Any
//! change to what a build reads, or to the output, builds again.

mod common;
use common::*;

use std::collections::BTreeMap;
use std::path::Path;

const NOTHING: &str = "nothing to build:";

/// A committed repository whose build warns (a reference link without definition).
fn repo() -> SiteTest {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &approved(
            "SOP-0030",
            "## Scope {#scope}\nSee [IMDRF][imdrf-1].\n",
            "2026-05-01",
        ),
    );
    t.commit("Global procedures\n\nApproved-by: Jane Roe <jane.roe@acme.example>");
    t
}

/// Every file of the output: its bytes, and its inode and modification time (which
/// a rewrite of the same bytes changes).
fn files_with_identity(dir: &Path) -> BTreeMap<String, (Vec<u8>, u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt;
    tree_of(dir)
        .into_iter()
        .map(|(rel, bytes)| {
            let meta = std::fs::metadata(dir.join(&rel)).unwrap();
            let id = (bytes, meta.ino(), meta.modified().unwrap());
            (rel, id)
        })
        .collect()
}

/// The summary line with the seconds it took replaced by `S`.
fn normalised(stdout: &str) -> String {
    let re = regex::Regex::new(r"in \d+\.\d\d s").unwrap();
    re.replace_all(stdout, "in S s").into_owned()
}

fn build_ok(t: &SiteTest, args: &[&str]) -> Output {
    let run = t.run(args);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    run
}

#[test]
fn the_same_build_again_writes_nothing_and_says_what_the_build_said() {
    let t = repo();
    let first = build_ok(&t, &["-q", "build"]);
    assert!(
        first.stdout.starts_with("built 3 site(s)"),
        "{}",
        first.stdout
    );
    assert!(first.stderr.contains("warning"), "{}", first.stderr);
    let before = files_with_identity(&t.path("public"));

    let again = build_ok(&t, &["-q", "build"]);
    assert_eq!(again.stderr, first.stderr, "the diagnostics are said again");
    let commit = git2::Repository::open(t.root())
        .unwrap()
        .head()
        .unwrap()
        .target()
        .unwrap()
        .to_string();
    let built = regex::Regex::new(
        r"^built 3 site\(s\): (.*), version preview into public in \d+\.\d\d s \(1 warning\(s\)\)\nopen public/index.html\n$",
    )
    .unwrap();
    let what = &built.captures(&first.stdout).expect(&first.stdout)[1];
    assert_eq!(
        normalised(&again.stdout),
        format!(
            "nothing to build: public already holds this build of commit {} (3 site(s): {what}, version preview), untouched since; checked in S s (1 warning(s))\nopen public/index.html\n",
            &commit[..10],
        )
    );
    assert_eq!(
        files_with_identity(&t.path("public")),
        before,
        "not one file was written again"
    );

    // With --verbose, every diagnostic, as a verbose build prints them.
    let verbose = build_ok(&t, &["-v", "build"]);
    assert!(verbose.stdout.starts_with(NOTHING), "{}", verbose.stdout);
    assert!(
        verbose.stderr.ends_with("s  compare with the last build\n"),
        "{}",
        verbose.stderr
    );
}

/// Builds, and says whether the build was answered from the record.
fn answered(t: &SiteTest, args: &[&str], env: &[(&str, &str)]) -> bool {
    let run = t.run_env(args, env);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    run.stdout.starts_with(NOTHING)
}

/// The same build again is answered (the control), then, after `change`, is not.
fn builds_again_after(t: &mut SiteTest, why: &str, change: impl FnOnce(&mut SiteTest)) {
    answered(t, &["-q", "build"], &[]);
    assert!(
        answered(t, &["-q", "build"], &[]),
        "before {why}: not answered"
    );
    change(t);
    assert!(!answered(t, &["-q", "build"], &[]), "after {why}: answered");
}

#[test]
fn an_output_touched_since_is_built_again_and_repaired() {
    let mut t = repo();
    build_ok(&t, &["-q", "build"]);
    let clean = tree_of(&t.path("public"));
    let page = t.path("public/cork/preview/SOP-0030.html");
    let bytes = std::fs::read(&page).unwrap();

    builds_again_after(&mut t, "an edit in place", |_| {
        std::fs::write(&page, [bytes.as_slice(), b"<p>edited</p>"].concat()).unwrap();
    });
    assert_eq!(tree_of(&t.path("public")), clean, "repaired");

    // The change time still tells.
    builds_again_after(&mut t, "the same bytes, the time set back", |_| {
        let modified = std::fs::metadata(&page).unwrap().modified().unwrap();
        std::fs::write(&page, &bytes).unwrap();
        let file = std::fs::File::options().write(true).open(&page).unwrap();
        file.set_modified(modified).unwrap();
    });
    builds_again_after(&mut t, "a page removed", |_| {
        std::fs::remove_file(&page).unwrap();
    });
    builds_again_after(&mut t, "a file added", |t| {
        std::fs::write(t.path("public/cork/preview/stray.html"), "stray").unwrap();
    });
    assert_eq!(tree_of(&t.path("public")), clean, "repaired");
    builds_again_after(&mut t, "a write left half-done beside it", |t| {
        std::fs::create_dir(t.path(".public.procsite-next")).unwrap();
    });
    assert!(!t.exists(".public.procsite-next"), "cleared");

    // A modification time ahead of the clock: built at once, and then answered.
    builds_again_after(&mut t, "a time in the future", |_| {
        let year_3000 = std::time::UNIX_EPOCH + std::time::Duration::from_secs(32_503_680_000);
        let file = std::fs::File::options().write(true).open(&page).unwrap();
        file.set_modified(year_3000).unwrap();
    });
    assert!(answered(&t, &["-q", "build"], &[]));
}

#[test]
fn any_change_to_what_a_build_reads_builds_again() {
    let mut t = repo();
    let committed = t.read("procedures/global/SOP-0030.md");
    let other = approved("SOP-0030", "## Scope {#scope}\nOther text.\n", "2026-05-01");
    builds_again_after(&mut t, "an uncommitted change", |t| {
        t.write("procedures/global/SOP-0030.md", &other);
    });
    assert!(
        !answered(&t, &["-q", "build"], &[]),
        "a dirty tree is never answered"
    );
    t.write("procedures/global/SOP-0030.md", &committed);
    builds_again_after(&mut t, "a new commit", |t| {
        t.write("procedures/global/SOP-0030.md", &other);
        t.commit("SOP-0030 reworded\n\nApproved-by: Jane Roe <jane.roe@acme.example>");
    });
    builds_again_after(&mut t, "a new tag, anywhere", |t| t.tag("unrelated"));
    // A graft (git and libgit2 read `info/grafts`) and a shallow cut change the
    // history a build reads: each is taken away again after its step.
    let head = git2::Repository::open(t.root())
        .unwrap()
        .head()
        .unwrap()
        .target()
        .unwrap();
    let parent = git2::Repository::open(t.root())
        .unwrap()
        .find_commit(head)
        .unwrap()
        .parent_id(0)
        .unwrap();
    builds_again_after(&mut t, "a graft", |t| {
        std::fs::create_dir_all(t.path(".git/info")).unwrap();
        std::fs::write(t.path(".git/info/grafts"), format!("{head}\n")).unwrap();
    });
    std::fs::remove_file(t.path(".git/info/grafts")).unwrap();
    builds_again_after(&mut t, "a shallow cut", |t| t.make_shallow(parent));
    std::fs::remove_file(t.path(".git/shallow")).unwrap();

    // Other options, environment or folder: a record each, and each still answers
    // while the output is untouched by another build.
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: [Case; 4] = [
        (&["-q", "build", "--site", "cork"], &[]),
        (&["-q", "build", "--as-of", "2027-01-01"], &[]),
        (&["-q", "build", "--ref", "HEAD~1"], &[]),
        (&["-q", "build"], &[("PROCSITE_SOMETHING", "1")]),
    ];
    for (args, env) in cases {
        answered(&t, &["-q", "build"], &[]);
        assert!(
            answered(&t, &["-q", "build"], &[]),
            "control for {args:?} {env:?}"
        );
        assert!(!answered(&t, args, env), "{args:?} {env:?}");
        assert!(answered(&t, args, env), "{args:?} {env:?} again");
    }
    // From another folder, paths are shown otherwise.
    answered(&t, &["-q", "build"], &[]);
    let inside = t.path("procedures");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_procsite"))
        .args(["-q", "--root", "..", "build"])
        .current_dir(&inside)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.starts_with("built"), "{stdout}");

    // The history cache off: no record is used.
    let off = [("PROCSITE_HISTORY_CACHE", "off")];
    assert!(!answered(&t, &["-q", "build"], &off));
    assert!(!answered(&t, &["-q", "build"], &off));
}

#[test]
fn an_output_whose_path_now_leads_elsewhere_is_built() {
    let t = repo();
    let scratch = tempfile::tempdir().unwrap();
    let (a, b, link) = (
        scratch.path().join("a"),
        scratch.path().join("b"),
        scratch.path().join("link"),
    );
    let link_arg = link.to_str().unwrap();
    build_ok(
        &t,
        &["-q", "build", "--ref", "HEAD", "--out", b.to_str().unwrap()],
    );
    std::fs::create_dir(&a).unwrap();
    std::os::unix::fs::symlink(&a, &link).unwrap();
    build_ok(&t, &["-q", "build", "--out", link_arg]);
    assert!(answered(&t, &["-q", "build", "--out", link_arg], &[]));
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&b, &link).unwrap();
    assert!(!answered(&t, &["-q", "build", "--out", link_arg], &[]));
}

#[test]
fn what_opening_the_output_found_is_said_once() {
    let t = repo();
    build_ok(&t, &["-q", "build"]);
    std::fs::write(
        t.path(".public.procsite-lock"),
        "pid 99999999\nstarted 2026-01-01T00:00:00Z\n",
    )
    .unwrap();
    let took_over = build_ok(&t, &["-q", "build"]);
    assert!(
        took_over.stdout.starts_with("built"),
        "{}",
        took_over.stdout
    );
    assert!(
        took_over.stderr.contains("warning[output-note]"),
        "{}",
        took_over.stderr
    );
    let again = build_ok(&t, &["-q", "build"]);
    assert!(again.stdout.starts_with(NOTHING), "{}", again.stdout);
    assert!(!again.stderr.contains("output-note"), "{}", again.stderr);
    assert_eq!(
        again.stderr,
        build_ok(&t, &["-q", "build", "--out", "public"]).stderr,
        "the build's own diagnostics"
    );
}

#[test]
fn a_release_is_always_built() {
    let t = repo();
    for _ in 0..2 {
        let run = t.run(&["-q", "build", "--release", "--version", "1.0"]);
        assert!(
            !run.stdout.starts_with(NOTHING),
            "{}{}",
            run.stdout,
            run.stderr
        );
    }
}

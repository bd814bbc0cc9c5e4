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

#[test]
fn an_output_touched_since_is_built_again_and_repaired() {
    let t = repo();
    build_ok(&t, &["-q", "build"]);
    let clean = tree_of(&t.path("public"));
    let page = t.path("public/cork/preview/SOP-0030.html");

    // Edited in place.
    let bytes = std::fs::read(&page).unwrap();
    std::fs::write(&page, [bytes.as_slice(), b"<p>edited</p>"].concat()).unwrap();
    let run = build_ok(&t, &["-q", "build"]);
    assert!(run.stdout.starts_with("built"), "{}", run.stdout);
    assert_eq!(tree_of(&t.path("public")), clean);

    // The same bytes written again, its modification time set back: the change time
    // still tells.
    let modified = std::fs::metadata(&page).unwrap().modified().unwrap();
    std::fs::write(&page, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&page)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    let run = build_ok(&t, &["-q", "build"]);
    assert!(run.stdout.starts_with("built"), "{}", run.stdout);

    // Removed, and a file added.
    std::fs::remove_file(&page).unwrap();
    std::fs::write(t.path("public/cork/preview/stray.html"), "stray").unwrap();
    let run = build_ok(&t, &["-q", "build"]);
    assert!(run.stdout.starts_with("built"), "{}", run.stdout);
    assert_eq!(tree_of(&t.path("public")), clean);

    // A write left half-done beside it: the build runs, and clears it.
    build_ok(&t, &["-q", "build"]);
    std::fs::create_dir(t.path(".public.procsite-next")).unwrap();
    let run = build_ok(&t, &["-q", "build"]);
    assert!(run.stdout.starts_with("built"), "{}", run.stdout);
    assert!(!t.exists(".public.procsite-next"));
    let run = build_ok(&t, &["-q", "build"]);
    assert!(run.stdout.starts_with(NOTHING), "{}", run.stdout);
}

#[test]
fn any_change_to_what_a_build_reads_builds_again() {
    let mut t = repo();
    let expect = |t: &SiteTest, args: &[&str], env: &[(&str, &str)], answered: bool, why: &str| {
        let run = t.run_env(args, env);
        assert_eq!(run.code, 0, "{why}: {}{}", run.stdout, run.stderr);
        assert_eq!(
            run.stdout.starts_with(NOTHING),
            answered,
            "{why}: {}",
            run.stdout
        );
    };
    expect(&t, &["-q", "build"], &[], false, "a first build");
    expect(&t, &["-q", "build"], &[], true, "the same again");

    // A new commit.
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## Scope {#scope}\nOther text.\n", "2026-05-01"),
    );
    expect(&t, &["-q", "build"], &[], false, "uncommitted changes");
    expect(
        &t,
        &["-q", "build"],
        &[],
        false,
        "uncommitted changes, again",
    );
    t.commit("SOP-0030 reworded\n\nApproved-by: Jane Roe <jane.roe@acme.example>");
    expect(&t, &["-q", "build"], &[], false, "a new commit");
    expect(&t, &["-q", "build"], &[], true, "the new commit again");

    // A tag, anywhere.
    t.tag("unrelated");
    expect(&t, &["-q", "build"], &[], false, "a new tag");
    expect(&t, &["-q", "build"], &[], true, "the new tag again");

    // Other options: a record each, and each still answers while the output is
    // untouched.
    expect(
        &t,
        &["-q", "build", "--site", "cork"],
        &[],
        false,
        "one site",
    );
    expect(
        &t,
        &["-q", "build", "--site", "cork"],
        &[],
        true,
        "one site again",
    );
    expect(
        &t,
        &["-q", "build"],
        &[],
        false,
        "all sites over one site's build",
    );
    expect(
        &t,
        &["-q", "build", "--as-of", "2027-01-01"],
        &[],
        false,
        "another date",
    );
    expect(
        &t,
        &["-q", "build", "--ref", "HEAD~1"],
        &[],
        false,
        "another commit by --ref",
    );
    expect(
        &t,
        &["-q", "build", "--ref", "HEAD~1"],
        &[],
        true,
        "the same --ref again",
    );

    // The history cache off: no record is used.
    let off = [("PROCSITE_HISTORY_CACHE", "off")];
    expect(&t, &["-q", "build"], &off, false, "cache off");
    expect(&t, &["-q", "build"], &off, false, "cache off, again");

    // A shallow cut.
    expect(&t, &["-q", "build"], &[], false, "back to the plain build");
    let first = git2::Repository::open(t.root())
        .unwrap()
        .head()
        .unwrap()
        .peel_to_commit()
        .unwrap()
        .parent_id(0)
        .unwrap();
    t.make_shallow(first);
    expect(&t, &["-q", "build"], &[], false, "a shallow clone");
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

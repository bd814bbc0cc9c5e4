//! `procsite init`: a repository that checks and builds at once, and never an
//! overwritten file.

mod common;
use common::*;

use std::path::Path;
use std::process::Command;

/// Runs procsite in `cwd` with a home folder of its own, so the git identity is only
/// what `home` configures.
fn procsite(cwd: &Path, home: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_procsite"))
        .args(args)
        .current_dir(cwd)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("run procsite");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const SCAFFOLD: [&str; 5] = [
    ".gitignore",
    "book.toml",
    "procedures/global/sop/SOP-0010.md",
    "procedures/sites/austin/WI-AUS-001.md",
    "procedures/sites/galway/SOP-0010-galway.md",
];

/// Files under `dir`, outside `.git`.
fn files(dir: &Path) -> Vec<String> {
    tree_of(dir)
        .into_keys()
        .filter(|p| !p.starts_with(".git/"))
        .collect()
}

#[test]
fn a_new_repository_checks_and_builds_both_sites_with_one_commit() {
    let home = tempfile::tempdir().unwrap();
    let parent = tempfile::tempdir().unwrap();
    let out = procsite(parent.path(), home.path(), &["init", "qms"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("created qms/book.toml\n"),
        "{}",
        out.stdout
    );
    let dir = parent.path().join("qms");
    assert_eq!(files(&dir), SCAFFOLD);
    assert_eq!(
        std::fs::read_to_string(dir.join(".gitignore")).unwrap(),
        "public/\n"
    );

    let repo = git2::Repository::open(&dir).expect("a git repository");
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    assert_eq!(head.parent_count(), 0, "one commit");
    assert_eq!(
        head.author().to_string(),
        "procsite init <init@procsite.invalid>",
        "no identity is configured in this home"
    );
    assert!(
        repo.statuses(None).unwrap().is_empty(),
        "everything is committed"
    );
    let mut committed = Vec::new();
    head.tree()
        .unwrap()
        .walk(git2::TreeWalkMode::PreOrder, |root, e| {
            if e.kind() == Some(git2::ObjectType::Blob) {
                committed.push(format!("{root}{}", e.name().unwrap()));
            }
            git2::TreeWalkResult::Ok
        })
        .unwrap();
    committed.sort();
    assert_eq!(committed, SCAFFOLD);
    assert!(
        out.stdout.contains("git has no user.name"),
        "{}",
        out.stdout
    );

    let check = procsite(&dir, home.path(), &["check"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
    assert_eq!(
        check.stdout,
        "check passed: 2 site(s), 2 document(s), 0 errors, 0 warning(s)\n"
    );
    assert_eq!(check.stderr, "");

    let build = procsite(&dir, home.path(), &["build"]);
    assert_eq!(build.code, 0, "{}{}", build.stdout, build.stderr);
    let pages = |site: &str| {
        let mut p: Vec<String> = files(&dir.join(format!("public/{site}/preview")))
            .into_iter()
            .filter(|p| p.ends_with(".html") && !p.ends_with(".diff.html"))
            .collect();
        p.sort();
        p
    };
    assert_eq!(
        pages("austin"),
        [
            "SOP-0010.html",
            "WI-AUS-001.html",
            "changes.html",
            "harmonization.html",
            "index.html"
        ]
    );
    assert_eq!(
        pages("galway"),
        [
            "SOP-0010.html",
            "changes.html",
            "harmonization.html",
            "index.html"
        ]
    );
    let galway = std::fs::read_to_string(dir.join("public/galway/preview/SOP-0010.html")).unwrap();
    assert!(
        galway.contains("The clean-room lead"),
        "the append is applied"
    );
    assert!(
        galway.contains("Galway archive for 15 years"),
        "the replace is applied"
    );
    let austin = std::fs::read_to_string(dir.join("public/austin/preview/SOP-0010.html")).unwrap();
    assert!(
        !austin.contains("Galway archive"),
        "no other site's content"
    );
}

#[test]
fn the_configured_git_identity_makes_the_first_commit() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join(".gitconfig"),
        "[user]\n\tname = Dana Controller\n\temail = dana@example.com\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = procsite(dir.path(), home.path(), &["init"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let repo = git2::Repository::open(dir.path()).unwrap();
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    assert_eq!(
        head.author().to_string(),
        "Dana Controller <dana@example.com>"
    );
    assert!(
        !out.stdout.contains("git has no user.name"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("created book.toml\n"), "{}", out.stdout);
}

#[test]
fn an_existing_file_is_named_and_nothing_is_written() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("book.toml"), "[book]\ntitle = \"Mine\"\n").unwrap();
    let out = procsite(dir.path(), home.path(), &["init"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.stderr,
        "error: procsite init does not overwrite files, and these exist already:\n  book.toml\nhelp: run it in a new or empty folder (`procsite init my-procedures`), or move these away; nothing was written\n"
    );
    assert_eq!(out.stdout, "");
    assert_eq!(files(dir.path()), ["book.toml"]);
    assert!(!dir.path().join(".git").exists(), "no repository either");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("book.toml")).unwrap(),
        "[book]\ntitle = \"Mine\"\n"
    );
}

#[test]
fn every_file_in_the_way_is_named() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".gitignore"), "target/\n").unwrap();
    // A file where the scaffold needs a folder.
    std::fs::create_dir_all(dir.path().join("procedures")).unwrap();
    std::fs::write(dir.path().join("procedures/sites"), "").unwrap();
    let out = procsite(dir.path(), home.path(), &["init", "."]);
    assert_eq!(out.code, 1);
    let named: Vec<&str> = out
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .collect();
    assert_eq!(named, ["procedures/sites", ".gitignore"], "{}", out.stderr);
    assert_eq!(files(dir.path()), [".gitignore", "procedures/sites"]);
}

#[test]
fn inside_a_git_repository_nothing_is_committed() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = git2::Repository::init(dir.path()).unwrap();
    let out = procsite(dir.path(), home.path(), &["init", "docs/qms"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("inside a git repository already"),
        "{}",
        out.stdout
    );
    assert!(repo.head().is_err(), "still no commit");
    assert!(
        !dir.path().join("docs/qms/.git").exists(),
        "no repository inside"
    );
    assert_eq!(files(&dir.path().join("docs/qms")), SCAFFOLD);
    let check = procsite(&dir.path().join("docs/qms"), home.path(), &["check"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
}

#[test]
fn help_says_what_init_creates() {
    let home = tempfile::tempdir().unwrap();
    let out = procsite(Path::new("."), home.path(), &["init", "--help"]);
    assert_eq!(out.code, 0);
    for what in SCAFFOLD.iter().copied().chain([
        "git init",
        "never overwrites",
        "austin: FDA",
        "galway: EU and FDA",
        "procsite init <init@procsite.invalid>",
    ]) {
        assert!(out.stdout.contains(what), "{what}:\n{}", out.stdout);
    }
}

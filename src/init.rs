//! `procsite init`: a new repository of controlled procedures that checks and builds
//! at once. The scaffold's files are templates under `src/init/`.

use std::path::{Path, PathBuf};

use crate::diag::display_path;

pub mod demo;

/// The scaffold: each file's path in the new repository and its template.
const FILES: &[(&str, &str)] = &[
    ("book.toml", include_str!("init/book.toml")),
    (
        "procedures/global/sop/SOP-0010.md",
        include_str!("init/SOP-0010.md"),
    ),
    (
        "procedures/sites/galway/SOP-0010-galway.md",
        include_str!("init/SOP-0010-galway.md"),
    ),
    (
        "procedures/sites/austin/WI-AUS-001.md",
        include_str!("init/WI-AUS-001.md"),
    ),
    (".gitignore", include_str!("init/gitignore")),
];

/// The paths `init` writes, relative to its folder.
pub fn paths() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(p, _)| *p)
}

/// What `init` did.
#[derive(Debug)]
pub struct Created {
    pub dir: PathBuf,
    pub files: Vec<String>,
    /// The new repository's first commit and who made it; None when `dir` was already
    /// inside a git repository (nothing is committed there).
    pub commit: Option<crate::repo::create::FirstCommit>,
}

/// Why `init` did not write anything.
#[derive(Debug)]
pub enum Refused {
    /// Files (or folders in the way of files) that exist already, as the user wrote them.
    Exists(Vec<String>),
    Failed(String),
}

/// The dates of the scaffold: the documents were approved in the last days and are in
/// force when the first commit is made, with a review due in two years.
struct Dates {
    approved: time::Date,
    site_approved: time::Date,
    effective: time::Date,
    review_due: time::Date,
}

impl Dates {
    fn around(today: time::Date) -> Dates {
        // A day back from today in UTC is never after the local date of the commit,
        // whatever the time zone: the documents are in force at once.
        let day = time::Duration::days(1);
        let effective = today - day;
        let review_due = effective
            .replace_year(effective.year() + 2)
            .unwrap_or_else(|_| effective + time::Duration::days(730));
        Dates {
            approved: effective - day * 6,
            site_approved: effective - day * 2,
            effective,
            review_due,
        }
    }

    fn fill(&self, template: &str) -> String {
        let iso =
            |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
        template
            .replace("{{effective}}", &iso(self.effective))
            .replace("{{review_due}}", &iso(self.review_due))
            .replace("{{approved}}", &iso(self.approved))
            .replace("{{site_approved}}", &iso(self.site_approved))
    }
}

/// How a path is shown to the user: as they would type it from where they are.
fn shown(dir: &Path, rel: &str) -> String {
    let p = dir.join(rel);
    let p = p.strip_prefix(".").unwrap_or(&p);
    display_path(p)
}

/// How a folder is shown to the user: as they would type it, `.` for where they are.
fn shown_dir(dir: &Path) -> String {
    let s = shown(dir, "");
    match s.trim_end_matches('/') {
        "" => ".".to_string(),
        s => s.to_string(),
    }
}

/// The scaffold's files (or folders on their way) that exist already under `dir`.
fn existing(dir: &Path) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for rel in paths() {
        let target = dir.join(rel);
        if target.symlink_metadata().is_ok() {
            found.push(shown(dir, rel));
            continue;
        }
        // A file where a folder of the scaffold must go is in the way too.
        let mut prefix = PathBuf::new();
        for part in Path::new(rel)
            .parent()
            .into_iter()
            .flat_map(Path::components)
        {
            prefix.push(part);
            let meta = dir.join(&prefix).symlink_metadata();
            if meta.is_ok_and(|m| !m.is_dir()) {
                let name = shown(dir, &prefix.to_string_lossy());
                if !found.contains(&name) {
                    found.push(name);
                }
                break;
            }
        }
    }
    found
}

/// Writes the scaffold into `dir` (created if missing), then, when `dir` is not inside a
/// git repository, makes one with a first commit of exactly these files. Checks every
/// path before it writes any: an existing file is refused, and nothing is written.
pub fn init(dir: &Path) -> Result<Created, Refused> {
    if dir.symlink_metadata().is_ok_and(|m| !m.is_dir()) {
        return Err(Refused::Exists(vec![display_path(dir)]));
    }
    let in_the_way = existing(dir);
    if !in_the_way.is_empty() {
        return Err(Refused::Exists(in_the_way));
    }
    let dates = Dates::around(time::OffsetDateTime::now_utc().date());
    let in_git = crate::repo::create::inside_repository(dir);
    let mut files = Vec::new();
    for (rel, template) in FILES {
        crate::fs::write(&dir.join(rel), dates.fill(template).as_bytes())
            .map_err(|e| Refused::Failed(e.to_string()))?;
        files.push(shown(dir, rel));
    }
    let commit = if in_git {
        None
    } else {
        let paths: Vec<&str> = paths().collect();
        Some(
            crate::repo::create::init_with_commit(
                dir,
                &paths,
                "Start the controlled procedures with procsite init",
            )
            .map_err(Refused::Failed)?,
        )
    };
    Ok(Created {
        dir: dir.to_path_buf(),
        files,
        commit,
    })
}

/// `procsite init DIR`: writes the scaffold and says what it did, or why it did nothing.
pub fn run(dir: &Path) -> std::process::ExitCode {
    match init(dir) {
        Err(Refused::Exists(found)) => {
            eprintln!("error: procsite init does not overwrite files, and these exist already:");
            for f in &found {
                eprintln!("  {f}");
            }
            eprintln!(
                "help: run it in a new or empty folder (`procsite init my-procedures`), or move these away; nothing was written"
            );
            std::process::ExitCode::from(1)
        }
        Err(Refused::Failed(why)) => {
            eprintln!("error: {why}");
            std::process::ExitCode::from(1)
        }
        Ok(created) => {
            for f in &created.files {
                println!("created {f}");
            }
            match &created.commit {
                Some(c) => {
                    println!(
                        "initialized a git repository and committed these files as {} ({})",
                        c.identity,
                        crate::repo::git::short_id(&c.id)
                    );
                    if c.fallback_identity {
                        println!(
                            "note: git has no user.name or user.email configured, so the first commit is by {}; set yours with `git config --global user.name \"Your Name\"` and `git config --global user.email you@example.com` before you commit procedures",
                            c.identity
                        );
                    }
                }
                None => println!(
                    "the folder is inside a git repository already: review the new files and commit them"
                ),
            }
            let cd = shown(&created.dir, "");
            let cd = cd.trim_end_matches('/');
            let prefix = if cd.is_empty() || cd == "." {
                String::new()
            } else {
                format!("cd {cd} && ")
            };
            println!("next: {prefix}procsite check && procsite build, then open public/index.html");
            std::process::ExitCode::SUCCESS
        }
    }
}

/// What `init --demo` made.
#[derive(Debug)]
pub struct DemoCreated {
    pub dir: PathBuf,
    pub files: Vec<String>,
    /// The commit ids, oldest first.
    pub commits: Vec<String>,
}

/// The entries of `dir`, sorted, as the user would name them; empty when `dir` does not
/// exist or holds nothing.
fn entries(dir: &Path) -> Result<Vec<String>, Refused> {
    if dir.symlink_metadata().is_ok_and(|m| !m.is_dir()) {
        return Err(Refused::Exists(vec![display_path(dir)]));
    }
    let Ok(read) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut names: Vec<String> = read
        .filter_map(Result::ok)
        .map(|e| shown(dir, &e.file_name().to_string_lossy()))
        .collect();
    names.sort();
    Ok(names)
}

/// Writes the demo repository into `dir` (created if missing), which must be empty:
/// `git init`, then the whole scripted history with its release tags, and the files of
/// its last commit checked out.
pub fn init_demo(dir: &Path) -> Result<DemoCreated, Refused> {
    let found = entries(dir)?;
    if !found.is_empty() {
        return Err(Refused::Exists(found));
    }
    crate::fs::create_dir_all(dir).map_err(|e| Refused::Failed(e.to_string()))?;
    let (commits, tags) = demo::history();
    let ids = crate::repo::create::init_with_history(dir, "main", &commits, &tags)
        .map_err(Refused::Failed)?;
    Ok(DemoCreated {
        dir: dir.to_path_buf(),
        files: demo::paths().into_iter().map(|p| shown(dir, p)).collect(),
        commits: ids,
    })
}

/// `procsite init --demo DIR`: writes the demo and says what it holds and what to run.
pub fn run_demo(dir: &Path) -> std::process::ExitCode {
    match init_demo(dir) {
        Err(Refused::Exists(found)) => {
            eprintln!(
                "error: procsite init --demo writes a whole repository into a new or empty folder, and {} holds:",
                shown_dir(dir)
            );
            const SHOWN: usize = 10;
            for f in found.iter().take(SHOWN) {
                eprintln!("  {f}");
            }
            if found.len() > SHOWN {
                eprintln!("  ... and {} more", found.len() - SHOWN);
            }
            eprintln!("help: name a new folder (`procsite init --demo demo`); nothing was written");
            std::process::ExitCode::from(1)
        }
        Err(Refused::Failed(why)) => {
            eprintln!("error: {why}");
            std::process::ExitCode::from(1)
        }
        Ok(created) => {
            for f in &created.files {
                println!("created {f}");
            }
            println!(
                "committed the quality system of Brightwater Medical Devices (3 sites) as a history of {} commits with {} release tags:",
                created.commits.len(),
                demo::releases().len()
            );
            for (tag, date, what) in demo::releases() {
                println!("  {tag}  {date}  {what}");
            }
            for subject in demo::since_last_release() {
                println!("  since then: {subject}");
            }
            let cd = shown_dir(&created.dir);
            let prefix = if cd == "." {
                String::new()
            } else {
                format!("cd {cd} && ")
            };
            println!("next: {prefix}procsite publish && procsite verify public");
            println!(
                "then: open public/index.html, or run `procsite serve` for a live preview of the work tree"
            );
            std::process::ExitCode::SUCCESS
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documents_are_in_force_at_once_and_due_for_review_in_two_years() {
        let d = Dates::around(time::macros::date!(2026 - 03 - 01));
        let text = d.fill("{{approved}} {{site_approved}} {{effective}} {{review_due}}");
        assert_eq!(text, "2026-02-22 2026-02-26 2026-02-28 2028-02-28");
        let leap = Dates::around(time::macros::date!(2028 - 03 - 01));
        assert_eq!(leap.fill("{{review_due}}"), "2030-02-28");
    }

    #[test]
    fn every_template_placeholder_is_filled() {
        let d = Dates::around(time::macros::date!(2026 - 03 - 01));
        for (rel, template) in FILES {
            assert!(!d.fill(template).contains("{{"), "{rel}");
        }
    }
}

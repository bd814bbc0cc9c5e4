//! What a command asks for, and the plan it settles into.
//!
//! The command line gives a [`Request`] (low-level: flags as typed). Once book.toml and
//! the commit are read, [`Plan::settle`] decides everything later stages act on, each
//! once and with its diagnostics: the sites, the version name, release or preview, the
//! release tag, the as-of date and the output folder.

use std::path::PathBuf;

use serde::Serialize;

use crate::config::Config;
use crate::diag::{did_you_mean, Code, Diagnostic, Diagnostics};
use crate::layout::PREVIEW;
use crate::model::Date;
use crate::repo::{git, BuildInfo};

/// Each site's published texts, by document id.
pub type SiteTexts =
    std::collections::BTreeMap<String, std::collections::BTreeMap<String, crate::report::DocText>>;

/// A command's request, before anything is read.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The repository root (where book.toml is).
    pub root: PathBuf,
    /// Overrides `[build] output`; relative paths are taken from the current directory.
    pub out: Option<PathBuf>,
    /// Sites to render; empty means every site.
    pub sites: Vec<String>,
    pub version: Option<String>,
    /// Build this commit or tag from git objects instead of the work tree.
    pub refname: Option<String>,
    /// A controlled release: refuse anything a release must not contain.
    pub release: bool,
    /// The as-of date asked for.
    pub as_of: Option<Date>,
    /// Stop after composing: texts and report cells, no HTML.
    pub no_html: bool,
    /// Check only: render the document bodies (their links and footnotes) and try
    /// each template once per site, instead of every page.
    pub check: bool,
    /// The previous version's name and texts, when the caller has them already.
    pub previous: Option<(String, SiteTexts)>,
    /// Skip the harmonization trend over the earlier release tags (`check`, and the
    /// builds of those tags themselves).
    pub no_trend: bool,
    /// Use the history cache (`repo::cache`); `None`: unless this is a release, which
    /// reads every text from git objects, whose ids are their hashes.
    pub history_cache: Option<bool>,
    /// Keep the history cache in memory once the build has read what it needs of it,
    /// for the next build of this process (`serve`); otherwise it is let go.
    pub keep_cache_loaded: bool,
    /// Take the output's identity once written, for the record of the build
    /// (`last_build`).
    pub output_identity: bool,
    /// Render the report across sites beside the sites' pages, for a caller that
    /// writes or serves it ([`crate::build::report_files`] takes it).
    pub with_report: bool,
    /// Where long work shows how far it got (hidden by default).
    pub progress: crate::progress::Progress,
}

/// A build, settled.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The sites to render, in id order. Every site is composed for the report.
    pub sites: Vec<String>,
    pub release: bool,
    /// The version folder: the release tag's version, `--version`, or `preview`.
    pub version: String,
    /// The release tag this build publishes, when it releases a tagged commit.
    pub tag: Option<String>,
    /// The build's one date: `--as-of`, else the release tag's date, else the built
    /// commit's date; never the clock.
    pub as_of: Option<Date>,
    pub output: PathBuf,
    /// Render HTML, or stop at the composed texts.
    pub html: bool,
    /// Check only: document bodies, and each template once per site.
    pub check: bool,
}

impl Default for Plan {
    fn default() -> Plan {
        Plan {
            sites: Vec::new(),
            release: false,
            version: PREVIEW.to_string(),
            tag: None,
            as_of: None,
            output: PathBuf::new(),
            html: true,
            check: false,
        }
    }
}

/// The release tag at the built commit that names this release: the one of the
/// version asked for, else the highest. (tag, version, date)
fn release_tag(
    tags: &[(String, i64)],
    glob: &str,
    version: Option<&str>,
) -> Option<(String, String, i64)> {
    let re = git::glob_regex(glob).ok()?;
    tags.iter()
        .filter(|(t, _)| re.is_match(t))
        .map(|(t, when)| (t.clone(), git::version_of_tag(t, glob), *when))
        .filter(|(_, v, _)| version.is_none_or(|want| want == v))
        .max_by(|a, b| crate::layout::version_order(&a.1, &b.1))
}

impl Plan {
    /// Settles `req` against the configuration and the commit being read.
    pub fn settle(
        req: &Request,
        config: &Config,
        info: &BuildInfo,
        diags: &mut Diagnostics,
    ) -> Plan {
        // A release of a commit carrying a release tag is that release: its version, its
        // date and its name in the footer, whether built by `build --release` or
        // `publish`. Previews stay `preview`, so they never collide with a release.
        let tag = (req.release && !info.dirty)
            .then(|| {
                release_tag(
                    &info.tags,
                    &config.build.release_tags,
                    req.version.as_deref(),
                )
            })
            .flatten();
        let version = match (&tag, &req.version) {
            (Some((_, v, _)), _) => v.clone(),
            (None, Some(v)) => v.clone(),
            (None, None) => PREVIEW.to_string(),
        };
        // Only a name given by a tag or --version is judged: `check --release` of an
        // untagged commit (a pull request) names no version, and `build --release`
        // reports that it needs one.
        if tag.is_some() || req.version.is_some() {
            check_version_name(&version, req.release, diags);
        }
        for s in &req.sites {
            if !config.site.contains_key(s) {
                diags.push(
                    Diagnostic::error(
                        Code::Argument,
                        "--site",
                        0,
                        format!(
                            "there is no site '{s}'{}",
                            did_you_mean(s, config.site.keys().map(String::as_str))
                        ),
                    )
                    .help(format!(
                        "sites in book.toml: {}",
                        config.site.keys().cloned().collect::<Vec<_>>().join(", ")
                    )),
                );
            }
        }
        let as_of = req
            .as_of
            .or_else(|| {
                tag.as_ref()
                    .map(|(_, _, when)| crate::stamp::commit_date(*when, 0))
            })
            .or_else(|| {
                info.commit
                    .as_deref()
                    .map(|c| crate::stamp::commit_date(c.commit_time, c.commit_offset))
            });
        let output = req
            .out
            .clone()
            .unwrap_or_else(|| config.output_under(&req.root));
        check_output_place(&req.root, &output, diags);
        Plan {
            sites: config
                .site
                .keys()
                .filter(|s| req.sites.is_empty() || req.sites.contains(s))
                .cloned()
                .collect(),
            release: req.release,
            version,
            tag: tag.map(|(t, _, _)| t),
            as_of,
            output,
            html: !req.no_html,
            check: req.check,
        }
    }

    /// Whether the build renders `site`.
    pub fn renders(&self, site: &str) -> bool {
        self.html && self.sites.iter().any(|s| s == site)
    }
}

/// The output may not sit among the sources: its pages would be read as documents
/// or themes by the next build, and make a release's work tree dirty.
fn check_output_place(root: &std::path::Path, output: &std::path::Path, diags: &mut Diagnostics) {
    let (Ok(root), Ok(out)) = (std::path::absolute(root), std::path::absolute(output)) else {
        return;
    };
    for dir in [crate::layout::PROCEDURES_DIR, crate::layout::THEMES_DIR] {
        if out.starts_with(root.join(dir)) {
            diags.push(
                Diagnostic::error(
                    Code::Argument,
                    "--out",
                    0,
                    format!(
                        "the output folder {} is inside {dir}/, which holds sources",
                        crate::diag::display_path(output)
                    ),
                )
                .help("write the output outside procedures/ and themes/, e.g. public/"),
            );
        }
    }
}

fn check_version_name(v: &str, release: bool, diags: &mut Diagnostics) {
    let why = crate::layout::reserved_version(v).or_else(|| {
        (release && v.eq_ignore_ascii_case(PREVIEW))
            .then(|| "'preview' is the folder of uncontrolled previews".to_string())
    });
    if let Some(why) = why {
        diags.push(
            Diagnostic::error(
                Code::Argument,
                "--version",
                0,
                format!("'{v}' cannot be a version name"),
            )
            .help(why),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::git::CommitInfo;
    use std::sync::Arc;

    fn config(extra: &str) -> Config {
        Config::parse(
            std::path::Path::new("book.toml"),
            &format!(
                "[book]\ntitle = \"T\"\n[site.cork]\nname = \"Cork\"\n[site.boston]\nname = \"Boston\"\n{extra}"
            ),
        )
        .unwrap()
    }

    fn info(tags: &[(&str, i64)], dirty: bool) -> BuildInfo {
        BuildInfo {
            commit: Some(Arc::new(CommitInfo {
                committer: String::new(),
                id: "a".repeat(40),
                author: "A".into(),
                author_email: "a@x".into(),
                author_time: 1_780_272_000,
                author_offset: 0,
                commit_time: 1_780_272_000,
                commit_offset: 0,
                subject: "s".into(),
                trailers: Vec::new(),
                signature: crate::signature::Signature::None,
                merge: false,
            })),
            tags: tags.iter().map(|(t, w)| (t.to_string(), *w)).collect(),
            dirty,
            git: true,
            ..BuildInfo::default()
        }
    }

    fn settle(req: Request, info: &BuildInfo) -> (Plan, Diagnostics) {
        let mut d = Diagnostics::new();
        let plan = Plan::settle(&req, &config(""), info, &mut d);
        (plan, d)
    }

    #[test]
    fn a_release_of_a_tagged_commit_takes_the_tag_its_version_and_its_date() {
        let tagged = info(&[("release/2026.1", 1_780_272_000 + 2 * 86_400)], false);
        let (plan, d) = settle(
            Request {
                release: true,
                ..Request::default()
            },
            &tagged,
        );
        assert!(!d.has_errors());
        assert_eq!(plan.version, "2026.1");
        assert_eq!(plan.tag.as_deref(), Some("release/2026.1"));
        assert_eq!(plan.as_of.unwrap().to_string(), "2026-06-03");
        assert_eq!(plan.sites, ["boston", "cork"]);
        assert_eq!(plan.output, PathBuf::from("public"));
        // A preview of the same commit stays a preview, dated by the commit.
        let (preview, _) = settle(Request::default(), &tagged);
        assert_eq!(preview.version, "preview");
        assert_eq!(preview.tag, None);
        assert_eq!(preview.as_of.unwrap().to_string(), "2026-06-01");
        // Uncommitted changes are never a tagged release.
        let (dirty, _) = settle(
            Request {
                release: true,
                ..Request::default()
            },
            &info(&[("release/2026.1", 0)], true),
        );
        assert_eq!(dirty.tag, None);
    }

    #[test]
    fn a_release_check_of_an_untagged_commit_needs_no_version_name() {
        let (plan, d) = settle(
            Request {
                release: true,
                ..Request::default()
            },
            &info(&[], false),
        );
        assert!(!d.has_errors(), "{:?}", d.into_sorted());
        assert_eq!(plan.version, "preview");
        assert_eq!(plan.tag, None);
        // Asking for the name of the previews is refused.
        let (_, d) = settle(
            Request {
                release: true,
                version: Some("preview".into()),
                ..Request::default()
            },
            &info(&[], false),
        );
        assert!(d.has_errors());
    }

    #[test]
    fn unknown_sites_and_reserved_versions_are_refused_once() {
        let (plan, d) = settle(
            Request {
                sites: vec!["corc".into()],
                version: Some("latest".into()),
                ..Request::default()
            },
            &info(&[], false),
        );
        let text: Vec<String> = d.into_sorted().iter().map(|d| d.to_string()).collect();
        assert_eq!(
            text,
            [
                "--site: error[argument]: there is no site 'corc' (did you mean 'cork'?)\n  help: sites in book.toml: boston, cork",
                "--version: error[argument]: 'latest' cannot be a version name\n  help: 'latest' is a name procsite uses in a site folder",
            ]
        );
        assert!(plan.sites.is_empty());
        assert!(!plan.renders("cork"));
    }
}

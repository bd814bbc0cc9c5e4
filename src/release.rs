//! Release mode: what a controlled release refuses. Every problem is listed with its
//! file and line, and nothing is written while any remains.

use crate::config::{ClauseGaps, Config, Evidence, CONFIG_FILE};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::{Approval, Status};
use crate::parse::Corpus;
use crate::repo::BuildInfo;
use crate::stamp::{ApprovalStamp, FileStamp, SignatureStatus, Stamps};

/// The tool version against `[build] procsite-version`. An invalid requirement is an
/// error in any build; a tool outside it refuses releases only.
pub fn check_tool_version(config: &Config, release: bool, diags: &mut Diagnostics) {
    let Some(req) = &config.build.procsite_version else {
        return;
    };
    let line = config.line_of_in_table("[build]", "procsite-version");
    let req = match semver::VersionReq::parse(req) {
        Ok(r) => r,
        Err(e) => {
            diags.push(
                Diagnostic::error(
                    Code::ToolVersion,
                    CONFIG_FILE,
                    line,
                    format!("procsite-version '{req}' is not a version requirement: {e}"),
                )
                .help("write e.g. procsite-version = \"=1.2.3\" for the validated version"),
            );
            return;
        }
    };
    let tool = env!("CARGO_PKG_VERSION");
    let version = semver::Version::parse(tool).expect("the crate version is semver");
    if release && !req.matches(&version) {
        diags.push(
            Diagnostic::error(Code::ToolVersion, CONFIG_FILE, line, format!("this is procsite {tool}, outside the validated procsite-version {req}"))
                .help("release with the validated tool version, or validate this one and update procsite-version"),
        );
    }
}

/// Everything about the source a release refuses: no git, a shallow clone,
/// uncommitted changes.
pub fn check_source(info: &BuildInfo, diags: &mut Diagnostics) {
    if !info.git {
        diags.push(
            Diagnostic::error(
                Code::NotReleasable,
                ".",
                0,
                "a release must be built from a git repository",
            )
            .help("commit the procedures to git; without history nothing is controlled"),
        );
        return;
    }
    if info.commit.is_none() {
        diags.push(
            Diagnostic::error(
                Code::NotReleasable,
                ".git",
                0,
                "the repository has no commit to release",
            )
            .help("commit the procedures first"),
        );
    }
    if info.shallow {
        diags.push(
            Diagnostic::error(
                Code::ShallowClone,
                ".git",
                0,
                "a release cannot be built from a shallow clone: its history is incomplete",
            )
            .help("fetch the whole history (git fetch --unshallow; in CI, fetch-depth 0)"),
        );
    }
    for path in &info.dirty_paths {
        diags.push(
            Diagnostic::error(
                Code::DirtyTree,
                path.as_str(),
                0,
                "uncommitted change: a release is built from a commit only",
            )
            .help("commit or stash the change, or build a preview without --release"),
        );
    }
}

fn rank(e: Evidence) -> &'static str {
    match e {
        Evidence::Declared => "declared",
        Evidence::Recorded => "recorded",
        Evidence::Signed => "signed",
    }
}

/// Why an approval recorded by `commit` is not signed, from its signature status.
fn not_signed_because(status: &SignatureStatus, name: &str, commit: &str) -> String {
    match status {
        SignatureStatus::None => format!("commit {commit} that records it is not signed"),
        SignatureStatus::Unregistered { .. } => format!(
            "commit {commit} that records it has an {}",
            status.text(name).unwrap_or_default()
        ),
        SignatureStatus::Invalid { reason } => {
            format!(
                "the SSH signature of commit {commit} that records it does not verify: {reason}"
            )
        }
        SignatureStatus::Gpg => format!(
            "commit {commit} that records it has a GPG signature, which procsite does not verify"
        ),
        SignatureStatus::Other => format!(
            "commit {commit} that records it has a signature of a format procsite does not verify"
        ),
        SignatureStatus::Verified { .. } => String::new(),
    }
}

/// How to get an approval signed: SSH signing in git and the key in the registry.
fn how_to_sign(name: &str, approver: &str) -> String {
    format!(
        "{name} signs the commit that records the approval with an SSH key registered for them: \
         `git config gpg.format ssh`, `git config user.signingkey ~/.ssh/id_ed25519.pub`, \
         `git commit -S`; register the public key under [approvers.{approver}] ssh-keys in book.toml \
         (a release tag they sign with `git tag -s` counts too)"
    )
}

/// The `Approves:` trailer that records `a` for document `id` as its file is now.
fn approves_line(config: &Config, id: &str, a: &Approval, stamp: Option<&FileStamp>) -> String {
    let email = config
        .approvers
        .values()
        .find(|p| p.name.eq_ignore_ascii_case(&a.name))
        .and_then(|p| p.emails.first())
        .map_or("email", String::as_str);
    format!(
        "Approves: {id} sha256:{} {} <{email}>",
        stamp.map_or("<sha256 of the file>", |s| s.file_sha256.as_str()),
        a.name
    )
}

/// Approvals of approved documents and addenda against `[release] approval-evidence`:
/// below it is an error in a release; with the default `declared`, each approval
/// without evidence is a warning.
pub fn check_evidence(
    corpus: &Corpus,
    stamps: &Stamps,
    config: &Config,
    release: bool,
    diags: &mut Diagnostics,
) {
    let required = config.release.approval_evidence;
    // The registry entry of a person, for the help: the entry that gave the evidence,
    // else the one with the approval's name.
    let approver_of = |a: &Approval, stamp: Option<&ApprovalStamp>| -> String {
        stamp
            .and_then(|s| s.approver.clone())
            .or_else(|| {
                config
                    .approvers
                    .iter()
                    .find(|(_, p)| p.name.eq_ignore_ascii_case(&a.name))
                    .map(|(id, _)| id.clone())
            })
            .unwrap_or_else(|| "<key>".into())
    };
    let mut check = |path: &std::path::Path,
                     line: usize,
                     id: &str,
                     status: Status,
                     approvals: &[Approval],
                     stamp: Option<&FileStamp>| {
        if status != Status::Approved {
            return;
        }
        for (i, a) in approvals.iter().enumerate() {
            let s = stamp.and_then(|s| s.approvals.get(i));
            let have = s.map_or(Evidence::Declared, |s| s.evidence);
            if have < required && release {
                let mut message = format!(
                    "the approval by {} is {}, and a release requires {} approvals",
                    a.name,
                    rank(have),
                    rank(required)
                );
                let help = match (have, required) {
                    (Evidence::Recorded, _) => {
                        if let Some(s) = s {
                            let commit = s.evidence_commit.as_ref().map_or("", |c| c.short());
                            message.push_str(": ");
                            message.push_str(&not_signed_because(&s.signature, &a.name, commit));
                        }
                        how_to_sign(&a.name, &approver_of(a, s))
                    }
                    (_, Evidence::Signed) => format!(
                        "record it with an `Approved-by: {} <email>` trailer in the commit that approves the text; then {}",
                        a.name,
                        how_to_sign(&a.name, &approver_of(a, s))
                    ),
                    _ => format!(
                        "record it with an `Approved-by: {} <email>` trailer of an approver in [approvers], in a commit that changes this document only; in a commit that changes several, the trailer names it: `{}`; [release] approval-evidence in book.toml sets what a release requires",
                        a.name,
                        approves_line(config, id, a, stamp)
                    ),
                };
                diags.push(
                    Diagnostic::error(Code::ApprovalEvidence, path, line, message).help(help),
                );
            } else if have == Evidence::Declared && required == Evidence::Declared && release {
                diags.push(
                    Diagnostic::warning(Code::DeclaredApproval, path, line, format!("the approval by {} is only declared: no Approved-by trailer records it", a.name))
                        .help(format!("record it with an `Approved-by: {} <email>` trailer of an approver in [approvers], in a commit that changes this document only; in a commit that changes several, the trailer names it: `{}`", a.name, approves_line(config, id, a, stamp))),
                );
            }
        }
    };
    for d in &corpus.documents {
        check(
            &d.path,
            d.line("approvals"),
            &d.meta.id,
            d.meta.status,
            &d.meta.approvals,
            stamps.get(&d.path),
        );
    }
    for a in &corpus.addenda {
        check(
            &a.path,
            a.target_line,
            &a.meta.addendum_to,
            a.meta.status,
            &a.meta.approvals,
            stamps.get(&a.path),
        );
    }
}

/// An id is never reused: a document whose id an earlier, removed document had under
/// another title is an error (its history starts after the removal, so it inherits
/// neither the revisions nor the approvals of the other).
pub fn check_reused_ids(
    corpus: &Corpus,
    history: &crate::repo::history::HistoryIndex,
    diags: &mut Diagnostics,
) {
    for d in &corpus.documents {
        let Some(r) = history.reused.get(d.path.as_path()) else {
            continue;
        };
        let c = &history.commits[r.removed_in];
        diags.push(
            Diagnostic::error(
                Code::ReusedId,
                &*d.path,
                d.line("id"),
                format!(
                    "{} was the id of “{}” ({}), removed in commit {} ({}); an id is never given to another document",
                    d.meta.id,
                    r.title,
                    crate::diag::display_path(&r.path),
                    c.short(),
                    crate::stamp::commit_date(c.commit_time, c.commit_offset)
                ),
            )
            .help(format!("give this document a new id (the next free number of its type); if it succeeds the removed document, say so in the new one with `supersedes: [{}]`. Records that cite the old id keep meaning the old document", d.meta.id)),
        );
    }
}

/// What the `[approvers]` registry says of one approval, when it does not give the
/// authority the approval claims: the registry is the source of authority, the YAML
/// name and role only a claim. `None` when a registered person holds the role, on the
/// approval's date, for the site.
pub(crate) fn authority_problem(
    config: &Config,
    a: &Approval,
    site: Option<&str>,
) -> Option<String> {
    let people: Vec<(&String, &crate::config::ApproverConfig)> = config
        .approvers
        .iter()
        .filter(|(_, p)| p.name.eq_ignore_ascii_case(&a.name))
        .collect();
    let Some((key, first)) = people.first() else {
        return Some(format!(
            "the approval by {} names no one in [approvers]",
            a.name
        ));
    };
    let holds = |p: &crate::config::ApproverConfig| p.roles.is_empty() || p.roles.contains(&a.role);
    let Some((key, person)) = people.iter().find(|(_, p)| holds(p)) else {
        return Some(format!(
            "the approval by {} claims the role '{}', but [approvers.{key}] gives {} only: {}",
            a.name,
            a.role,
            a.name,
            first.roles.join(", ")
        ));
    };
    if !person.valid_on(a.date.date.0) {
        let bound = |d: &Option<toml::value::Datetime>| d.as_ref().map(|d| d.to_string());
        let window = match (bound(&person.valid_from), bound(&person.valid_to)) {
            (Some(f), Some(t)) => format!("valid from {f} to {t}"),
            (Some(f), None) => format!("valid from {f}"),
            (None, Some(t)) => format!("valid to {t}"),
            (None, None) => String::new(),
        };
        return Some(format!(
            "the approval by {} is dated {}, and [approvers.{key}] is {window}",
            a.name, a.date.text
        ));
    }
    if let Some(site) = site {
        if !person.sites.is_empty() && !person.sites.iter().any(|s| s == site) {
            return Some(format!(
                "the approval by {} is for site {site}, and [approvers.{key}] may approve for {} only",
                a.name,
                person.sites.join(", ")
            ));
        }
    }
    None
}

/// Once book.toml has an `[approvers]` registry, every approval of an approved or
/// obsolete document and of an approved addendum names a registered person who holds
/// the role it claims, on its date, for the site: an error in a release, a warning
/// before.
pub fn check_authority(corpus: &Corpus, config: &Config, release: bool, diags: &mut Diagnostics) {
    if config.approvers.is_empty() {
        return;
    }
    let help = "correct the approval, or change the registry in book.toml ([approvers]) in a change of its own that is reviewed and approved";
    let mut check =
        |path: &std::path::Path, line: usize, approvals: &[Approval], site: Option<&str>| {
            for a in approvals {
                if let Some(problem) = authority_problem(config, a, site) {
                    diags.push(
                        Diagnostic::release_error(
                            release,
                            Code::ApproverAuthority,
                            path,
                            line,
                            problem,
                        )
                        .help(help),
                    );
                }
            }
        };
    for d in &corpus.documents {
        if matches!(d.meta.status, Status::Approved | Status::Obsolete) {
            check(
                &d.path,
                d.line("approvals"),
                &d.meta.approvals,
                d.site.as_deref(),
            );
        }
    }
    for a in &corpus.addenda {
        if a.meta.status == Status::Approved {
            let line = a
                .key_lines
                .get("approvals")
                .copied()
                .unwrap_or(a.target_line);
            check(&a.path, line, &a.meta.approvals, Some(&a.site));
        }
    }
}

/// Documents a release leaves out because they are being revised and no earlier
/// approved revision is in force (see `inforce`), although one was approved: say so.
pub fn check_unreleased(
    corpus: &Corpus,
    in_force: &crate::inforce::InForceMap,
    stamps: &Stamps,
    diags: &mut Diagnostics,
) {
    for d in in_force.documents(corpus) {
        if !matches!(d.meta.status, Status::Draft | Status::InReview) {
            continue;
        }
        let approved_before = stamps.get(&d.path).map_or(0, |s| s.revision);
        if approved_before > 0 {
            diags.push(
                Diagnostic::warning(Code::NotInForce, &*d.path, d.line("status"), format!(
                    "{} is {}: this release leaves it out; revision {approved_before} was approved but none is in force at the as-of date",
                    d.meta.id, d.meta.status.as_str()
                ))
                .help("check the effective dates of its approved revisions, or approve the revision in progress"),
            );
        }
    }
}

/// `[release] require-change-control`: each approved document or addendum changed
/// since the previous release tag (every one, for a first release) needs a
/// `Change-Control:` trailer in one of the commits that changed it since.
pub fn check_change_control(
    corpus: &Corpus,
    stamps: &Stamps,
    source: &crate::repo::Source,
    config: &Config,
    diags: &mut Diagnostics,
) {
    if !config.release.require_change_control {
        return;
    }
    let history = &source.history;
    let index: std::collections::HashMap<&str, usize> = history
        .commits
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    let glob = crate::repo::git::glob_regex(&config.build.release_tags).ok();
    // The newest release tag below the built commit, not withdrawn.
    let previous = source
        .info
        .all_tags
        .iter()
        .filter(|(name, _, _)| glob.as_ref().is_some_and(|g| g.is_match(name)))
        .filter(|(name, _, _)| !config.release.withdrawn.contains_key(name))
        .filter_map(|(name, commit, _)| Some((*index.get(commit.as_str())?, name)))
        .filter(|(i, _)| *i > 0)
        .min();
    let mut check = |path: &std::path::Path, line: usize, id: &str, status: Status| {
        if status != Status::Approved {
            return;
        }
        let Some(stamp) = stamps.get(path) else {
            return;
        };
        let since: Vec<&crate::repo::git::CommitInfo> = stamp
            .commits
            .iter()
            .filter(|c| match (previous, index.get(c.id.as_str())) {
                (Some((p, _)), Some(&i)) => !history.is_ancestor(i, p),
                _ => true,
            })
            .map(|c| c.as_ref())
            .collect();
        if since.is_empty()
            || since.iter().any(|c| {
                c.trailers
                    .iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case("Change-Control") && !v.trim().is_empty())
            })
        {
            return;
        }
        let commits = since
            .iter()
            .take(3)
            .map(|c| format!("{} (\"{}\")", c.short(), c.subject))
            .collect::<Vec<_>>()
            .join(", ");
        let more = if since.len() > 3 {
            format!(" and {} more", since.len() - 3)
        } else {
            String::new()
        };
        let when = match previous {
            Some((_, tag)) => format!("since {tag}"),
            None => "before this first release".to_string(),
        };
        diags.push(
            Diagnostic::error(
                Code::MissingChangeControl,
                path,
                line,
                format!(
                    "{id} changed {when} in commit{} {commits}{more}, and none of its commits names a change-control record",
                    if since.len() == 1 { "" } else { "s" }
                ),
            )
            .help("add a `Change-Control: <id>` trailer to the commit that records the approval of this revision; [release] require-change-control in book.toml asks for one"),
        );
    };
    for d in &corpus.documents {
        check(&d.path, d.line("id"), &d.meta.id, d.meta.status);
    }
    for a in &corpus.addenda {
        check(
            &a.path,
            a.target_line,
            &format!("the addendum to {}", a.meta.addendum_to),
            a.meta.status,
        );
    }
}

/// Every required clause of a market that a site serving it does not cover, located
/// at the market's `required-clauses` line: a warning, or with `[release] clause-gaps
/// = "error"` an error that refuses the release. Only for the sites this build renders.
pub fn check_clause_gaps(
    config: &Config,
    cells: &std::collections::BTreeMap<String, crate::report::SiteCells>,
    sites: &[String],
    diags: &mut Diagnostics,
) {
    for site in sites {
        let Some(sc) = cells.get(site) else {
            continue;
        };
        for gap in crate::report::clause_gaps(config, site, &sc.clauses) {
            let header = format!("[market.{}]", gap.market);
            let line = match config.line_of(&header) {
                0 => config
                    .line_of_in_table(&format!("[market.\"{}\"]", gap.market), "required-clauses"),
                _ => config.line_of_in_table(&header, "required-clauses"),
            };
            let message = format!(
                "site {} serves market {}, which requires clause '{}', and no document published at {} cites it",
                gap.site, gap.market, gap.clause, gap.site
            );
            let d = match config.release.clause_gaps {
                ClauseGaps::Warn => {
                    Diagnostic::warning(Code::ClauseGap, CONFIG_FILE, line, message)
                }
                ClauseGaps::Error => Diagnostic::error(Code::ClauseGap, CONFIG_FILE, line, message),
            };
            diags.push(d.help(format!(
                "cite it in the `clauses` of a document published at {} (clauses: [\"{}\"]), or remove it from [market.{}] required-clauses if the market does not require it",
                gap.site, gap.clause, gap.market
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(registry: &str) -> Config {
        let text = format!("[book]\ntitle = \"T\"\n[site.cork]\nname = \"Cork\"\nmarkets = [\"EU\"]\n[site.boston]\nname = \"Boston\"\nmarkets = [\"US\"]\n{registry}");
        Config::parse(std::path::Path::new("book.toml"), &text).unwrap()
    }

    fn approval(name: &str, role: &str, date: &str) -> Approval {
        serde_yaml::from_str(&format!("{{ name: {name}, role: {role}, date: '{date}' }}")).unwrap()
    }

    #[test]
    fn the_registry_window_includes_both_days_and_names_the_bound_passed() {
        let c = config("[approvers.jroe]\nname = \"Jane Roe\"\nroles = [\"VP Quality\"]\nvalid-from = 2026-01-01\nvalid-to = 2027-12-31\n");
        for date in ["2026-01-01", "2027-12-31"] {
            assert_eq!(
                authority_problem(&c, &approval("jane roe", "VP Quality", date), None),
                None,
                "{date}"
            );
        }
        assert_eq!(
            authority_problem(&c, &approval("Jane Roe", "VP Quality", "2028-02-01"), None).as_deref(),
            Some("the approval by Jane Roe is dated 2028-02-01, and [approvers.jroe] is valid from 2026-01-01 to 2027-12-31")
        );
        assert_eq!(
            authority_problem(&c, &approval("Jane Roe", "VP Quality", "2025-12-31"), None).as_deref(),
            Some("the approval by Jane Roe is dated 2025-12-31, and [approvers.jroe] is valid from 2026-01-01 to 2027-12-31")
        );
    }

    #[test]
    fn a_person_without_sites_approves_for_any_site_and_one_with_sites_only_for_those() {
        let c = config("[approvers.x]\nname = \"Ann X\"\nroles = [\"QA\"]\nsites = [\"boston\"]\n\n[approvers.y]\nname = \"Bo Y\"\nroles = [\"QA\"]\n");
        assert_eq!(
            authority_problem(&c, &approval("Bo Y", "QA", "2026-05-01"), Some("cork")),
            None
        );
        assert_eq!(
            authority_problem(&c, &approval("Ann X", "QA", "2026-05-01"), Some("boston")),
            None
        );
        assert_eq!(
            authority_problem(&c, &approval("Ann X", "QA", "2026-05-01"), Some("cork")).as_deref(),
            Some("the approval by Ann X is for site cork, and [approvers.x] may approve for boston only")
        );
    }
}

//! Diagnostics for people and for CI: grouped text on a terminal, JSON, GitHub
//! workflow annotations and a GitLab code-quality report.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::diag::{display_path, printable, Code, Diagnostic, Severity};

/// How `check` prints its diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Github,
    Gitlab,
}

/// Above this many warnings, the warnings of a frequent code are shortened.
const GROUP_ABOVE: usize = 20;
/// How many warnings of one code are shown when they are shortened.
const SHOWN_PER_CODE: usize = 3;

/// The counts of a run's diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
}

impl Counts {
    pub fn of(diags: &[Diagnostic]) -> Counts {
        let errors = diags.iter().filter(|d| d.is_error()).count();
        Counts {
            errors,
            warnings: diags.len() - errors,
        }
    }
}

/// The text form: every error; every warning, unless there are many, when each
/// frequent code shows its first few and then a line saying how many more there are.
/// The shown lines and the "more" lines always add up to the counts.
pub fn to_text(diags: &[Diagnostic], verbose: bool) -> String {
    let warnings = diags.iter().filter(|d| !d.is_error()).count();
    let shorten = !verbose && warnings > GROUP_ABOVE;
    let mut seen: BTreeMap<Code, usize> = BTreeMap::new();
    let mut out = String::new();
    for d in diags {
        if shorten && !d.is_error() {
            let n = seen.entry(d.code).or_default();
            *n += 1;
            if *n > SHOWN_PER_CODE {
                continue;
            }
        }
        let _ = writeln!(out, "{d}");
    }
    for (code, n) in seen {
        if n > SHOWN_PER_CODE {
            let _ = writeln!(
                out,
                "warning[{}]: and {} more like these (--verbose shows all)",
                code.name(),
                n - SHOWN_PER_CODE
            );
        }
    }
    out
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'static str,
    name: &'static str,
    severity: Severity,
    file: String,
    line: usize,
    col: usize,
    message: &'a str,
    help: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    errors: usize,
    warnings: usize,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

/// One JSON object: the counts and every diagnostic (line and col 0 when unknown).
pub fn to_json(diags: &[Diagnostic]) -> String {
    let counts = Counts::of(diags);
    let report = JsonReport {
        errors: counts.errors,
        warnings: counts.warnings,
        diagnostics: diags
            .iter()
            .map(|d| JsonDiagnostic {
                code: d.code.number(),
                name: d.code.name(),
                severity: d.severity,
                file: display_path(&d.file),
                line: d.line,
                col: d.col,
                message: &d.message,
                help: d.help.as_deref(),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&report).expect("diagnostics serialize");
    text.push('\n');
    text
}

/// GitHub Actions workflow commands: each diagnostic becomes an annotation on the
/// file and line of a pull request.
pub fn to_github(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let kind = if d.is_error() { "error" } else { "warning" };
        let mut props = format!("file={}", github_property(&display_path(&d.file)));
        if d.line > 0 {
            let _ = write!(props, ",line={}", d.line);
            if d.col > 0 {
                let _ = write!(props, ",col={}", d.col);
            }
        }
        let title = format!("{} {}", d.code.number(), d.code.name());
        let _ = write!(props, ",title={}", github_property(&title));
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let _ = writeln!(out, "::{kind} {props}::{}", github_data(&message));
    }
    out
}

/// Escapes a workflow command's message.
fn github_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn github_property(text: &str) -> String {
    github_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[derive(Serialize)]
struct GitlabLines {
    begin: usize,
}

#[derive(Serialize)]
struct GitlabLocation {
    path: String,
    lines: GitlabLines,
}

#[derive(Serialize)]
struct GitlabIssue {
    description: String,
    check_name: &'static str,
    fingerprint: String,
    severity: &'static str,
    location: GitlabLocation,
}

/// A GitLab code-quality report (a JSON array of issues), for the merge request
/// widget. The fingerprint is stable for the same problem at the same place.
pub fn to_gitlab(diags: &[Diagnostic]) -> String {
    let issues: Vec<GitlabIssue> = diags
        .iter()
        .map(|d| {
            let path = display_path(&d.file);
            let mut hash = Sha256::new();
            for part in [d.code.name(), &path, &d.line.to_string(), &d.message] {
                hash.update(part.as_bytes());
                hash.update([0]);
            }
            let fingerprint = format!("{:x}", hash.finalize());
            let mut description = format!("{}: {}", d.code.name(), d.message);
            if let Some(help) = &d.help {
                let _ = write!(description, " (help: {help})");
            }
            GitlabIssue {
                description,
                check_name: d.code.name(),
                fingerprint,
                severity: if d.is_error() { "major" } else { "minor" },
                location: GitlabLocation {
                    path,
                    lines: GitlabLines {
                        begin: d.line.max(1),
                    },
                },
            }
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&issues).expect("issues serialize");
    text.push('\n');
    text
}

/// The diagnostics in `format`. Text is made safe for a terminal; the machine
/// formats carry the text as it is, escaped by their own rules.
pub fn render(format: Format, diags: &[Diagnostic], verbose: bool) -> String {
    match format {
        Format::Text => to_text(diags, verbose),
        Format::Json => to_json(diags),
        Format::Github => printable_lines(&to_github(diags)),
        Format::Gitlab => to_gitlab(diags),
    }
}

/// Annotations are read by the runner from the log: control characters from the
/// input must not reach it raw.
fn printable_lines(text: &str) -> String {
    text.lines()
        .map(|l| format!("{}\n", printable(l)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Diagnostic> {
        vec![
            Diagnostic::error(
                Code::UnknownField,
                "procedures/global/a.md",
                5,
                "unknown field 'efective', did you mean: effective",
            )
            .col(1)
            .help("rename it"),
            Diagnostic::warning(
                Code::BrokenReferenceLink,
                "procedures/global/b.md",
                0,
                "100% broken",
            ),
        ]
    }

    #[test]
    fn github_annotations_escape_their_rules() {
        assert_eq!(
            to_github(&sample()),
            "::error file=procedures/global/a.md,line=5,col=1,title=PS021 unknown-field::unknown field 'efective', did you mean: effective%0Ahelp: rename it\n\
             ::warning file=procedures/global/b.md,title=PS070 broken-reference-link::100%25 broken\n"
        );
    }

    #[test]
    fn gitlab_report_has_stable_fingerprints() {
        let a = to_gitlab(&sample());
        let v: serde_json::Value = serde_json::from_str(&a).unwrap();
        assert_eq!(v[0]["check_name"], "unknown-field");
        assert_eq!(v[0]["severity"], "major");
        assert_eq!(v[0]["location"]["lines"]["begin"], 5);
        assert_eq!(v[1]["location"]["lines"]["begin"], 1);
        assert_eq!(v[0]["fingerprint"].as_str().unwrap().len(), 64);
        assert_ne!(v[0]["fingerprint"], v[1]["fingerprint"]);
        assert_eq!(a, to_gitlab(&sample()));
    }

    #[test]
    fn many_warnings_are_grouped_and_still_add_up() {
        let mut diags: Vec<Diagnostic> = (1..=30)
            .map(|i| Diagnostic::warning(Code::ReviewOverdue, "a.md", i, "overdue"))
            .collect();
        diags.push(Diagnostic::warning(
            Code::UnusedMarket,
            "book.toml",
            3,
            "unused",
        ));
        let text = to_text(&diags, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert_eq!(
            lines[4],
            "warning[review-overdue]: and 27 more like these (--verbose shows all)"
        );
        assert!(lines.contains(&"book.toml:3: warning[unused-market]: unused"));
        assert_eq!(to_text(&diags, true).lines().count(), 31);
    }
}

//! Splits a file into front-matter and body, and types the front-matter.

use std::collections::BTreeMap;
use std::path::Path;

use crate::diag::{did_you_mean, Code, Diagnostic, Diagnostics};
use crate::model::{
    AddendumMeta, DocMeta, ExternalMeta, FrontMatter, Status, ADDENDUM_KEYS, DOCUMENT_KEYS,
    EXTERNAL_KEYS, EXTERNAL_TYPE,
};

pub enum Kind {
    Document(Box<DocMeta>),
    /// The addendum's typed front-matter and the line of its `addendum-to:`.
    Addendum(AddendumMeta, usize),
}

pub struct Parsed<'a> {
    pub kind: Kind,
    /// 1-based line in the file of each front-matter key.
    pub key_lines: BTreeMap<String, usize>,
    pub body: &'a str,
    /// 1-based line number of the body's first line in the file.
    pub body_line: usize,
    /// 1-based line in the file of each entry of `clauses`, in order.
    pub clause_lines: Vec<usize>,
}

pub struct Split<'a> {
    pub yaml: &'a str,
    /// 1-based line of the first YAML line.
    pub yaml_line: usize,
    pub body: &'a str,
    pub body_line: usize,
}

/// Finds the `---` fenced YAML block at the start of the file.
pub fn split(text: &str) -> Result<Split<'_>, (usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first_end = text.find('\n').unwrap_or(text.len());
    if text[..first_end].trim_end() != "---" {
        return Err((
            1,
            "the file does not start with front-matter (a `---` line)".into(),
        ));
    }
    let yaml_start = (first_end + 1).min(text.len());
    let mut offset = yaml_start;
    for (line, l) in (2..).zip(text[yaml_start..].split_inclusive('\n')) {
        let t = l.trim_end();
        if t == "---" || t == "..." {
            let body_start = offset + l.len();
            return Ok(Split {
                yaml: &text[yaml_start..offset],
                yaml_line: 2,
                body: &text[body_start..],
                body_line: line + 1,
            });
        }
        offset += l.len();
    }
    Err((
        1,
        "the front-matter opened here is never closed by a `---` line".into(),
    ))
}

fn key_line(keys: &[(String, usize)], key: &str, yaml_line: usize) -> usize {
    keys.iter()
        .find(|(k, _)| k == key)
        .map_or(yaml_line.saturating_sub(1), |(_, l)| l + yaml_line - 1)
}

pub fn parse_file<'a>(path: &Path, text: &'a str, diags: &mut Diagnostics) -> Option<Parsed<'a>> {
    let split = match split(text) {
        Ok(s) => s,
        Err((line, msg)) => {
            diags.push(Diagnostic::error(Code::FrontMatter, path, line, msg).help(
                "begin the file with a `---` block holding `id:` and `title:` (a document) \
                 or `addendum-to:` and `rationale:` (a site addendum), closed by `---`",
            ));
            return None;
        }
    };
    let base = split.yaml_line - 1;
    let yaml_err = |e: crate::yaml::YamlError| {
        let mut d =
            Diagnostic::error(Code::FrontMatter, path, e.line + base, e.message.clone()).col(e.col);
        if let Some(h) = crate::diag::serde_hint(&e.message) {
            d = d.help(h);
        } else if e.message.contains("YYYY-MM-DD") {
            d = d.help("a date is year-month-day with a real month and day, e.g. 2026-03-01");
        } else if e.message.contains("invalid type") {
            d = d.help(
                "check the value's form against docs/format.md, e.g. a list is written [A, B]",
            );
        } else {
            d = d.help(
                "check the YAML syntax on this line; quote a value that contains ': ' or ' #', \
                 e.g. title: \"Document Control: Global\"",
            );
        }
        d
    };
    // A key written twice: reported at the second one, where the mistake is (the
    // YAML parser points at the mapping's first key).
    let mut seen: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for (i, line) in split.yaml.lines().enumerate() {
        let Some((key, _)) = line.split_once(':') else {
            continue;
        };
        if line.starts_with([' ', '\t', '#', '-']) || key.contains([' ', '"', '\'']) {
            continue;
        }
        if let Some(first) = seen.insert(key, i + 1) {
            diags.push(
                Diagnostic::error(
                    Code::FrontMatter,
                    path,
                    i + 1 + base,
                    format!(
                        "field '{key}' is given twice (first on line {})",
                        first + base
                    ),
                )
                .col(1)
                .help("keep one of the two"),
            );
            return None;
        }
    }
    let keys = match crate::yaml::top_level_keys(split.yaml) {
        Ok(k) => k,
        Err(e) => {
            diags.push(yaml_err(e));
            return None;
        }
    };
    let is_addendum = keys.iter().any(|(k, _)| k == "addendum-to");
    let (allowed, what) = if is_addendum {
        (ADDENDUM_KEYS, "an addendum")
    } else {
        (DOCUMENT_KEYS, "a document")
    };
    let mut bad = false;
    for (key, line) in &keys {
        if allowed.contains(&key.as_str()) {
            continue;
        }
        bad = true;
        let line = line + base;
        let other = if is_addendum {
            DOCUMENT_KEYS
        } else {
            ADDENDUM_KEYS
        };
        let d = if other.contains(&key.as_str()) {
            Diagnostic::error(Code::UnknownField, path, line, format!("field '{key}' does not belong in {what}"))
                .col(1)
                .help(if is_addendum {
                    "an addendum takes addendum-to, rationale, base-revision, status, approvals and extra; the document's own fields stay in the global document"
                } else {
                    "addendum fields need `addendum-to: <ID>` and a site folder"
                })
        } else {
            Diagnostic::error(
                Code::UnknownField,
                path,
                line,
                format!(
                    "unknown field '{key}'{}",
                    did_you_mean(key, allowed.iter().copied())
                ),
            )
            .col(1)
            .help("free-form data goes under `extra:`")
        };
        diags.push(d);
    }
    if bad {
        return None;
    }
    let fm: FrontMatter = match crate::yaml::from_str(split.yaml) {
        Ok(fm) => fm,
        Err(e) => {
            diags.push(yaml_err(e));
            return None;
        }
    };
    let kline = |key: &str| key_line(&keys, key, split.yaml_line);
    let clause_lines = clause_lines(split.yaml, kline("clauses") - base, &fm.clauses)
        .into_iter()
        .map(|l| l + base)
        .collect();
    let kind = if is_addendum {
        let target = fm.addendum_to.clone().unwrap_or_default();
        let rationale = fm.rationale.clone().unwrap_or_default();
        if target.trim().is_empty() {
            diags.push(
                Diagnostic::error(
                    Code::MissingField,
                    path,
                    kline("addendum-to"),
                    "addendum-to is empty",
                )
                .help("name the global document's id, e.g. addendum-to: SOP-0020"),
            );
            return None;
        }
        if rationale.trim().is_empty() {
            diags.push(
                Diagnostic::error(
                    Code::MissingField,
                    path,
                    kline("rationale").max(kline("addendum-to")),
                    "an addendum needs a rationale",
                )
                .help("add `rationale:` saying why this site differs from the global procedure"),
            );
        }
        let status = fm.status.unwrap_or(Status::Draft);
        check_approved(path, status, true, &fm, &kline, diags);
        Kind::Addendum(
            AddendumMeta {
                addendum_to: target,
                rationale: rationale.trim().to_string(),
                base_revision: fm.base_revision,
                status,
                approvals: fm.approvals,
                extra: fm.extra,
            },
            kline("addendum-to"),
        )
    } else {
        let mut missing = false;
        for (key, value) in [("id", &fm.id), ("title", &fm.title)] {
            if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                missing = true;
                diags.push(
                    Diagnostic::error(
                        Code::MissingField,
                        path,
                        kline(key).max(split.yaml_line - 1),
                        format!("the document has no '{key}'"),
                    )
                    .help(format!("add `{key}:` to the front-matter")),
                );
            }
        }
        if missing {
            return None;
        }
        let id = fm.id.clone().unwrap_or_default();
        if !is_valid_id(&id) {
            diags.push(
                Diagnostic::error(
                    Code::InvalidId,
                    path,
                    kline("id"),
                    format!("id '{id}' cannot be used as a page name"),
                )
                .help("use letters, digits, '.', '_' and '-', e.g. SOP-0020"),
            );
            return None;
        }
        let status = fm.status.unwrap_or(Status::Draft);
        let doc_type = fm
            .doc_type
            .clone()
            .unwrap_or_else(|| id.split(['-', '_']).next().unwrap_or(&id).to_string());
        let external = if doc_type == EXTERNAL_TYPE {
            Some(Box::new(external_meta(path, &fm, &kline, diags)?))
        } else {
            let mut stray = false;
            for (key, line) in keys
                .iter()
                .filter(|(k, _)| EXTERNAL_KEYS.contains(&k.as_str()))
            {
                stray = true;
                diags.push(
                    Diagnostic::error(
                        Code::UnknownField,
                        path,
                        line + base,
                        format!("field '{key}' belongs to external documents (type: external)"),
                    )
                    .col(1)
                    .help("set `type: external` for an entry of the external-documents register, or put the value under `extra:`"),
                );
            }
            if stray {
                return None;
            }
            // A register entry needs no approvals: it is controlled by the repository's
            // change control and its history.
            check_approved(path, status, false, &fm, &kline, diags);
            None
        };
        Kind::Document(Box::new(DocMeta {
            id,
            title: fm.title.unwrap_or_default().trim().to_string(),
            doc_type,
            owner: fm.owner,
            status,
            effective: fm.effective,
            review_due: fm.review_due,
            approvals: fm.approvals,
            markets: fm.markets,
            clauses: fm.clauses,
            supersedes: fm.supersedes,
            former_ids: fm.former_ids,
            classification: fm.classification,
            training: fm.training,
            obsolete: fm.obsolete,
            external,
            extra: fm.extra,
        }))
    };
    Some(Parsed {
        kind,
        key_lines: keys.iter().map(|(k, l)| (k.clone(), l + base)).collect(),
        body: split.body,
        body_line: split.body_line,
        clause_lines,
    })
}

/// The line (1-based in `yaml`) of each clause, searched in order from the line of the
/// `clauses` key, so an entry of a block list gets its own line and an inline list
/// the key's.
fn clause_lines(yaml: &str, key_line: usize, clauses: &[String]) -> Vec<usize> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut at = key_line.saturating_sub(1);
    clauses
        .iter()
        .map(
            |c| match (at..lines.len()).find(|&i| lines[i].contains(c.as_str())) {
                Some(i) => {
                    at = i;
                    i + 1
                }
                None => key_line,
            },
        )
        .collect()
}

/// The register fields of an external document, each required one reported at the
/// `type:` line when missing. An external document cites no clauses: procedures cite it.
fn external_meta(
    path: &Path,
    fm: &FrontMatter,
    kline: &dyn Fn(&str) -> usize,
    diags: &mut Diagnostics,
) -> Option<ExternalMeta> {
    let mut ok = true;
    for (key, value, example) in [
        ("designation", &fm.designation, "designation: ISO 14971"),
        ("publisher", &fm.publisher, "publisher: ISO"),
        ("edition", &fm.edition, "edition: \"2019\""),
    ] {
        if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
            ok = false;
            diags.push(
                Diagnostic::error(
                    Code::MissingField,
                    path,
                    kline("type"),
                    format!("an external document needs '{key}'"),
                )
                .help(format!("add `{example}` to the front-matter")),
            );
        }
    }
    if !fm.clauses.is_empty() {
        ok = false;
        diags.push(
            Diagnostic::error(
                Code::FrontMatter,
                path,
                kline("clauses"),
                "an external document cites no clauses: procedures cite it",
            )
            .help("remove `clauses:`; a procedure names it in its own clauses, e.g. \"ISO 14971:2019 7.1\""),
        );
    }
    let trimmed = |v: &Option<String>| v.as_deref().unwrap_or_default().trim().to_string();
    ok.then(|| ExternalMeta {
        designation: trimmed(&fm.designation),
        publisher: trimmed(&fm.publisher),
        edition: trimmed(&fm.edition),
        date: fm.date,
        sites: fm.sites.clone().unwrap_or_default(),
    })
}

/// The `id:` or `addendum-to:` a file seems to have, read line by line, for a file
/// whose front-matter does not parse.
pub fn guess_id(text: &str) -> Option<String> {
    let split = split(text).ok()?;
    split.yaml.lines().find_map(|l| {
        let v = l
            .strip_prefix("id:")
            .or_else(|| l.strip_prefix("addendum-to:"))?;
        let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
        (!v.is_empty()).then(|| v.to_string())
    })
}

pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A withdrawal is controlled like an issue: when and why, and who approved it.
fn check_obsolete(
    path: &Path,
    fm: &FrontMatter,
    kline: &dyn Fn(&str) -> usize,
    diags: &mut Diagnostics,
) {
    let Some(o) = &fm.obsolete else {
        diags.push(
            Diagnostic::error(
                Code::ObsoleteRecord,
                path,
                kline("status"),
                "an obsolete document needs the record of its withdrawal",
            )
            .help("add `obsolete: { date: YYYY-MM-DD, reason: <why it is withdrawn> }` and an approval with `meaning: obsoleted`"),
        );
        return;
    };
    if o.reason.trim().is_empty() {
        diags.push(
            Diagnostic::error(
                Code::ObsoleteRecord,
                path,
                kline("obsolete"),
                "the withdrawal has no reason",
            )
            .help("say why it is withdrawn, e.g. `reason: Superseded by SOP-0070`"),
        );
    }
    match fm.approvals.iter().filter(|a| a.meaning == "obsoleted").map(|a| a.date.date).max() {
        None => diags.push(
            Diagnostic::error(
                Code::ObsoleteRecord,
                path,
                kline("approvals").max(kline("obsolete")),
                "the withdrawal is not approved: no approval has `meaning: obsoleted`",
            )
            .help("add the approval of the withdrawal: `- { name: ..., role: ..., meaning: obsoleted, date: YYYY-MM-DD }`"),
        ),
        Some(approved) if o.date < approved => diags.push(
            Diagnostic::error(
                Code::ObsoleteRecord,
                path,
                kline("obsolete"),
                format!("the withdrawal is dated {}, before its approval ({approved})", o.date),
            )
            .help("a document is withdrawn on or after the approval of its withdrawal: correct the date"),
        ),
        Some(_) => {}
    }
}

fn check_approved(
    path: &Path,
    status: Status,
    is_addendum: bool,
    fm: &FrontMatter,
    kline: &dyn Fn(&str) -> usize,
    diags: &mut Diagnostics,
) {
    if status == Status::Obsolete && !is_addendum {
        check_obsolete(path, fm, kline, diags);
    } else if fm.obsolete.is_some() {
        diags.push(
            Diagnostic::error(
                Code::ObsoleteRecord,
                path,
                kline("obsolete"),
                format!(
                    "`obsolete:` records a withdrawal, but the status is {}",
                    status.as_str()
                ),
            )
            .help("set `status: obsolete` to withdraw the document, or remove `obsolete:`"),
        );
    }
    if status != Status::Approved {
        return;
    }
    if !is_addendum && fm.effective.is_none() {
        diags.push(
            Diagnostic::error(
                Code::MissingField,
                path,
                kline("status"),
                "an approved document needs an effective date",
            )
            .help("add `effective: YYYY-MM-DD`, or set `status: draft` until it is released"),
        );
    }
    if fm.approvals.is_empty() {
        diags.push(
            Diagnostic::error(
                Code::MissingApproval,
                path,
                kline("status"),
                format!(
                    "an approved {} has no approvals",
                    if is_addendum { "addendum" } else { "document" }
                ),
            )
            .help("add `approvals:` with name, role and date of each approver"),
        );
    }
    // A revision takes effect once approved, never before.
    let latest = fm.approvals.iter().map(|a| a.date.date).max();
    if let (Some(effective), Some(approved)) = (fm.effective, latest) {
        if effective < approved {
            diags.push(
                Diagnostic::error(
                    Code::EffectiveBeforeApproval,
                    path,
                    kline("effective"),
                    format!(
                        "effective {effective} is before the latest approval of this revision ({approved})"
                    ),
                )
                .help("a revision takes effect on or after its last approval: move `effective` to that date or later"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_counts_lines() {
        let s = split("---\nid: A\ntitle: B\n---\n# Body\n").unwrap();
        assert_eq!(s.yaml, "id: A\ntitle: B\n");
        assert_eq!(s.body, "# Body\n");
        assert_eq!(s.body_line, 5);
    }

    #[test]
    fn unknown_key_line_includes_front_matter_offset() {
        let mut d = Diagnostics::new();
        let text = "---\nid: SOP-1\ntitle: T\nefective: 2026-01-01\n---\n";
        assert!(parse_file(Path::new("a.md"), text, &mut d).is_none());
        let out = d.into_sorted();
        assert_eq!(out[0].line, 4);
        assert!(
            out[0].message.contains("did you mean 'effective'"),
            "{}",
            out[0].message
        );
    }

    #[test]
    fn typed_error_line_is_offset() {
        let mut d = Diagnostics::new();
        let text = "---\nid: SOP-1\ntitle: T\nstatus: aproved\n---\n";
        assert!(parse_file(Path::new("a.md"), text, &mut d).is_none());
        let out = d.into_sorted();
        assert_eq!(out[0].line, 4, "{:?}", out);
        assert_eq!(out[0].help.as_deref(), Some("did you mean 'approved'?"));
    }

    #[test]
    fn approved_needs_effective_and_approvals() {
        let mut d = Diagnostics::new();
        let text = "---\nid: SOP-1\ntitle: T\nstatus: approved\n---\n";
        parse_file(Path::new("a.md"), text, &mut d);
        let out = d.into_sorted();
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|x| x.line == 4));
    }
}

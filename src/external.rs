//! The external-documents register: standards and regulations the quality system
//! cites, each a document of `type: external` with its designation, publisher and
//! edition. Procedures' `clauses` are checked against it: citing an edition the
//! register does not hold is a warning at the clause's line.

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::{ExternalMeta, Status};
use crate::parse::{Corpus, Document};

/// The entry a clause cites, and the edition it names (the text after `:` up to the
/// first space, as in "ISO 13485:2016 8.5.2"), when it names one. A clause cites an
/// entry when it starts with the entry's designation, followed by its end or by a
/// character that is not a letter or digit; the longest designation wins, so "EN ISO
/// 14971:2019" is not taken for "ISO 14971".
pub fn cited<'a, 'c>(
    clause: &'c str,
    register: &[&'a Document],
) -> Option<(&'a Document, Option<&'c str>)> {
    let entry = register
        .iter()
        .filter(|d| {
            let designation = designation(d);
            clause.starts_with(designation)
                && clause[designation.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric())
        })
        .max_by_key(|d| designation(d).len())?;
    let rest = &clause[designation(entry).len()..];
    let edition = rest
        .strip_prefix(':')
        .map(|r| r.split_whitespace().next().unwrap_or_default())
        .filter(|e| !e.is_empty());
    Some((entry, edition))
}

fn designation(d: &Document) -> &str {
    d.meta
        .external
        .as_ref()
        .map_or("", |e| e.designation.as_str())
}

fn meta(d: &Document) -> &ExternalMeta {
    d.meta.external.as_ref().expect("a register entry")
}

/// The entries in the register: external documents approved (not drafts, not obsolete).
pub fn register(corpus: &Corpus) -> Vec<&Document> {
    corpus
        .documents
        .iter()
        .filter(|d| d.meta.is_external() && d.meta.status == Status::Approved)
        .map(|d| &**d)
        .collect()
}

/// Every clause of every document that names an edition of a registered standard or
/// regulation other than the editions the register holds.
pub fn check_editions(corpus: &Corpus, diags: &mut Diagnostics) {
    let register = register(corpus);
    if register.is_empty() {
        return;
    }
    for doc in corpus.documents.iter().filter(|d| !d.meta.is_external()) {
        for (i, clause) in doc.meta.clauses.iter().enumerate() {
            let Some((entry, Some(edition))) = cited(clause, &register) else {
                continue;
            };
            let name = designation(entry);
            let held: Vec<&Document> = register
                .iter()
                .copied()
                .filter(|d| designation(d) == name)
                .collect();
            if held.iter().any(|d| meta(d).edition == edition) {
                continue;
            }
            let editions: Vec<String> = held
                .iter()
                .map(|d| format!("{} ({})", meta(d).edition, d.meta.id))
                .collect();
            let line = doc
                .clause_lines
                .get(i)
                .copied()
                .unwrap_or_else(|| doc.line("clauses"));
            diags.push(
                Diagnostic::warning(
                    Code::ExternalEdition,
                    &*doc.path,
                    line,
                    format!(
                        "clause '{clause}' cites {name} edition {edition}, but the register holds edition{} {}",
                        if editions.len() > 1 { "s" } else { "" },
                        editions.join(", ")
                    ),
                )
                .help(format!(
                    "cite the edition in the register ({name}:{}), or register edition {edition} if the procedure must follow it",
                    meta(held[0]).edition
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{corpus, BOOK};

    fn entry(id: &str, designation: &str, edition: &str) -> String {
        format!("---\nid: {id}\ntitle: T\ntype: external\nstatus: approved\ndesignation: {designation}\npublisher: ISO\nedition: {edition}\n---\n")
    }

    #[test]
    fn a_clause_cites_the_longest_designation_it_starts_with_and_its_edition() {
        let (_, c) = corpus(
            BOOK,
            &[
                (
                    "procedures/global/a.md",
                    &entry("EXT-1", "ISO 14971", "2019"),
                ),
                (
                    "procedures/global/b.md",
                    &entry("EXT-2", "EN ISO 14971", "2019+A11:2021"),
                ),
                (
                    "procedures/global/c.md",
                    &entry("EXT-3", "21 CFR 820", "\"2024-02-02\""),
                ),
            ],
        );
        let reg = register(&c);
        let ids = |clause: &str| {
            cited(clause, &reg).map(|(d, e)| (d.meta.id.clone(), e.map(str::to_string)))
        };
        assert_eq!(
            ids("ISO 14971:2007 7.1"),
            Some(("EXT-1".into(), Some("2007".into())))
        );
        assert_eq!(
            ids("EN ISO 14971:2019+A11:2021 4"),
            Some(("EXT-2".into(), Some("2019+A11:2021".into())))
        );
        assert_eq!(ids("ISO 14971 7.1"), Some(("EXT-1".into(), None)));
        assert_eq!(ids("21 CFR 820.100"), Some(("EXT-3".into(), None)));
        assert_eq!(ids("ISO 149712:2020"), None);
        assert_eq!(ids("ISO 13485:2016 8.5.2"), None);
    }
}

//! `history.json`: the record of one site version that outlives the repository —
//! every document's stamps, approvals and history.
//!
//! A commit that changed many documents is written once, in a list of commits (newest
//! first), and each document's history names its commits by their place in that list,
//! under the file they changed: the file grows with the number of commits and
//! documents, not with their product. A commit is a row of the fields the list's head
//! names, the way a table has a header, so its 10,000 lines do not repeat the names.
//! A field that is null, false or an empty list is left out (`markets` excepted, where
//! an empty list and none differ), and so are the fields a reader can derive. One
//! document per line keeps the file readable and its differences between versions
//! small. The format is `docs/history.schema.json`.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::context::{BuildView, DocRecord, HistoryRow, SiteView};

/// The name and version of the format, for readers to check.
pub const FORMAT: &str = "procsite-history/3";

/// What each place of a commit's row holds, written at the head of the list.
pub const COMMIT_FIELDS: [&str; 7] = [
    "id",
    "time",
    "author",
    "subject",
    "trailers",
    "committer",
    "committed",
];

/// One commit of the list, as this site may see it, written as a row of
/// [`COMMIT_FIELDS`]: its hash, its author time (RFC 3339 with the author's UTC
/// offset), its author, its subject (null when withheld: a commit that also changed
/// another site's files keeps its times, people and hash, and its message is
/// withheld), its trailers, who committed it and when (null where that is the author
/// at the author time). The nulls and the empty list at the end of a row are left out,
/// so a row has 3 to 7 places.
struct CommitRow<'a>(&'a HistoryRow);

impl Serialize for CommitRow<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let r = self.0;
        let withheld = r.subject == super::WITHHELD;
        let subject = (!withheld).then_some(r.subject.as_str());
        let committer = (r.committer != r.author).then_some(r.committer.as_str());
        let committed = (r.committed != r.time).then_some(r.committed.as_str());
        let len = if committed.is_some() {
            7
        } else if committer.is_some() {
            6
        } else if !r.trailers.is_empty() {
            5
        } else if subject.is_some() {
            4
        } else {
            3
        };
        let mut seq = s.serialize_seq(Some(len))?;
        seq.serialize_element(&r.commit)?;
        seq.serialize_element(&r.time)?;
        seq.serialize_element(&r.author)?;
        if len > 3 {
            seq.serialize_element(&subject)?;
        }
        if len > 4 {
            seq.serialize_element(&r.trailers)?;
        }
        if len > 5 {
            seq.serialize_element(&committer)?;
        }
        if len > 6 {
            seq.serialize_element(&committed)?;
        }
        seq.end()
    }
}

/// Fields of a page's view that the record leaves out: shortened hashes, a duplicate
/// of `evidence`, and what the history gives (its newest commit and date; whether it
/// is complete is the build's `git` and `shallow`).
const LEFT_OUT: [&str; 6] = [
    "content_hash_short",
    "source_commit_short",
    "source_commit",
    "last_changed",
    "history_incomplete",
    "evidence_level",
];

/// One document's line: its record, with its history as the places of its commits
/// (the record's own list of them taken out, and so left out).
#[derive(Serialize)]
struct RecordLine<'a> {
    #[serde(flatten)]
    record: &'a DocRecord,
    history: Option<Value>,
}

/// The bytes of `history.json` for one site version. Each document's history is
/// taken out of its record, which is written with the places of its commits instead.
pub fn history_json(
    site: &SiteView,
    build: &BuildView,
    mut documents: Vec<DocRecord>,
) -> serde_json::Result<Vec<u8>> {
    // Every commit once, newest first (by commit time, then id).
    let mut rows: HashMap<&str, &HistoryRow> = HashMap::new();
    for d in &documents {
        for row in &d.doc.history {
            rows.entry(row.commit.as_str()).or_insert(row);
        }
    }
    let mut commits: Vec<&HistoryRow> = rows.into_values().collect();
    commits.sort_unstable_by(|a, b| (b.committed_at, &b.commit).cmp(&(a.committed_at, &a.commit)));
    let mut commit_lines = Vec::with_capacity(commits.len());
    for c in &commits {
        commit_lines.push(serde_json::to_string(&CommitRow(c))?);
    }
    let place: HashMap<&str, usize> = commits
        .iter()
        .enumerate()
        .map(|(i, r)| (r.commit.as_str(), i))
        .collect();
    let places: Vec<Vec<usize>> = documents
        .iter()
        .map(|d| {
            d.doc
                .history
                .iter()
                .map(|r| place[r.commit.as_str()])
                .collect()
        })
        .collect();
    let mut lines = Vec::with_capacity(documents.len());
    for (d, places) in documents.iter_mut().zip(places) {
        let rows = std::mem::take(&mut d.doc.history);
        let line = RecordLine {
            record: d,
            history: by_file(&places, &rows),
        };
        lines.push(super::pruned::to_vec(&line, &LEFT_OUT)?);
    }
    let mut out = String::new();
    out.push_str("{\"format\":");
    out.push_str(&serde_json::to_string(FORMAT)?);
    out.push_str(",\n\"site\":");
    out.push_str(&serde_json::to_string(site)?);
    out.push_str(",\n\"build\":");
    out.push_str(&serde_json::to_string(build)?);
    out.push_str(",\n\"commit_fields\":");
    out.push_str(&serde_json::to_string(&COMMIT_FIELDS)?);
    out.push_str(",\n\"commits\":[");
    for (i, c) in commit_lines.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        out.push_str(c);
    }
    out.push_str("\n],\n\"documents\":[");
    let mut out = out.into_bytes();
    for (i, line) in lines.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
        out.extend_from_slice(line);
    }
    out.extend_from_slice(b"\n]}\n");
    Ok(out)
}

/// A document's history as the places of its commits, newest first, under each file
/// they changed ("global", "addendum" or "document"): a commit that changed the global
/// text and the addendum is under both. None without history.
fn by_file(places: &[usize], rows: &[HistoryRow]) -> Option<Value> {
    let mut files: serde_json::Map<String, Value> = serde_json::Map::new();
    for (at, row) in places.iter().zip(rows) {
        for file in row.file.split(", ") {
            match files.entry(file) {
                serde_json::map::Entry::Occupied(mut e) => {
                    if let Value::Array(list) = e.get_mut() {
                        list.push((*at).into());
                    }
                }
                serde_json::map::Entry::Vacant(e) => {
                    e.insert(Value::Array(vec![(*at).into()]));
                }
            }
        }
    }
    (!files.is_empty()).then_some(Value::Object(files))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::WITHHELD;

    fn row(subject: &str, trailers: &[&str], committer: &str, committed: &str) -> HistoryRow {
        HistoryRow {
            date: "2026-06-01".into(),
            time: "2026-06-01T09:30:00+01:00".into(),
            author: "Ann Author".into(),
            committer: committer.into(),
            committed: committed.into(),
            commit: "c".repeat(40),
            commit_short: "c".repeat(10),
            subject: subject.into(),
            trailers: trailers.iter().map(|t| t.to_string()).collect(),
            change_controls: Vec::new(),
            file: "global".into(),
            committed_at: 0,
        }
    }

    fn written(r: &HistoryRow) -> String {
        serde_json::to_string(&CommitRow(r)).unwrap()
    }

    #[test]
    fn a_commit_row_leaves_out_only_the_nulls_and_the_empty_list_at_its_end() {
        let id = "c".repeat(40);
        let head = format!("\"{id}\",\"2026-06-01T09:30:00+01:00\",\"Ann Author\"");
        let at = "2026-06-01T09:30:00+01:00";
        assert_eq!(
            written(&row("Issue", &[], "Ann Author", at)),
            format!("[{head},\"Issue\"]")
        );
        assert_eq!(
            written(&row("Issue", &["Change-Control: CC-1"], "Ann Author", at)),
            format!("[{head},\"Issue\",[\"Change-Control: CC-1\"]]")
        );
        assert_eq!(
            written(&row(WITHHELD, &[], "Ann Author", at)),
            format!("[{head}]")
        );
        // Withheld, and committed by another: the nulls and the empty list before the
        // committer stay, so every field keeps its place.
        assert_eq!(
            written(&row(WITHHELD, &[], "Ben Rebaser", at)),
            format!("[{head},null,[],\"Ben Rebaser\"]")
        );
        assert_eq!(
            written(&row(
                "Issue",
                &[],
                "Ann Author",
                "2026-06-02T04:00:00-05:00"
            )),
            format!("[{head},\"Issue\",[],null,\"2026-06-02T04:00:00-05:00\"]")
        );
    }

    #[test]
    fn a_history_is_listed_under_each_file_its_commits_changed() {
        let mut both = row("B", &[], "Ann Author", "t");
        both.file = "global, addendum".into();
        let mut addendum = row("A", &[], "Ann Author", "t");
        addendum.file = "addendum".into();
        let global = row("G", &[], "Ann Author", "t");
        assert_eq!(
            by_file(&[0, 3, 7], &[both, addendum, global]),
            Some(serde_json::json!({"global": [0, 7], "addendum": [0, 3]}))
        );
        assert_eq!(by_file(&[], &[]), None);
    }
}

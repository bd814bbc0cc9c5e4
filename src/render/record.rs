//! `history.json`: the record of one site version that outlives the repository —
//! every document's stamps, approvals and history.
//!
//! A commit that changed many documents is written once, in a table of commits keyed by
//! its full hash, and each document's history names its commits: the file grows with
//! the number of commits and documents, not with their product. One document per line
//! keeps the file readable and its differences between versions small. The format is
//! `docs/history.schema.json`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::context::{BuildView, DocRecord, HistoryRow, SiteView};

/// The name and version of the format, for readers to check.
pub const FORMAT: &str = "procsite-history/2";

/// One commit of the table, as this site may see it (a commit that also concerns
/// another site keeps its date, people and hash, not its message).
#[derive(Serialize)]
struct CommitRecord<'a> {
    /// Author time, RFC 3339 with the author's UTC offset.
    time: &'a str,
    author: &'a str,
    committer: &'a str,
    /// Commit time, RFC 3339 with the committer's UTC offset.
    committed: &'a str,
    subject: &'a str,
    trailers: &'a [String],
    /// The ids named by its `Change-Control:` trailers.
    change_controls: Vec<&'a str>,
}

impl<'a> From<&'a HistoryRow> for CommitRecord<'a> {
    fn from(r: &'a HistoryRow) -> Self {
        CommitRecord {
            time: &r.time,
            author: &r.author,
            committer: &r.committer,
            committed: &r.committed,
            subject: &r.subject,
            trailers: &r.trailers,
            change_controls: r.change_controls.iter().map(|c| c.id.as_str()).collect(),
        }
    }
}

/// A document's history entry: the commit, and which of its files it changed.
#[derive(Serialize)]
struct Change<'a> {
    commit: &'a str,
    file: &'a str,
}

/// Fields of a page's view that only serve the page (shortened hashes).
const PAGE_ONLY: [&str; 2] = ["content_hash_short", "source_commit_short"];

/// The bytes of `history.json` for one site version.
pub fn history_json(
    site: &SiteView,
    build: &BuildView,
    documents: &[DocRecord],
) -> serde_json::Result<Vec<u8>> {
    let mut commits: BTreeMap<&str, CommitRecord> = BTreeMap::new();
    let mut lines = Vec::with_capacity(documents.len());
    for d in documents {
        for row in &d.doc.history {
            commits
                .entry(row.commit.as_str())
                .or_insert_with(|| CommitRecord::from(row));
        }
        let mut value = serde_json::to_value(d)?;
        if let Value::Object(map) = &mut value {
            for key in PAGE_ONLY {
                map.remove(key);
            }
            let changes: Vec<Change> = d
                .doc
                .history
                .iter()
                .map(|r| Change {
                    commit: &r.commit,
                    file: &r.file,
                })
                .collect();
            map.insert("history".into(), serde_json::to_value(changes)?);
        }
        lines.push(serde_json::to_string(&value)?);
    }
    let mut out = String::new();
    out.push_str("{\"format\":");
    out.push_str(&serde_json::to_string(FORMAT)?);
    out.push_str(",\n\"site\":");
    out.push_str(&serde_json::to_string(site)?);
    out.push_str(",\n\"build\":");
    out.push_str(&serde_json::to_string(build)?);
    out.push_str(",\n\"commits\":{");
    for (i, (hash, c)) in commits.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        out.push_str(&serde_json::to_string(hash)?);
        out.push(':');
        out.push_str(&serde_json::to_string(c)?);
    }
    out.push_str("\n},\n\"documents\":[");
    for (i, line) in lines.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        out.push_str(line);
    }
    out.push_str("\n]}\n");
    Ok(out.into_bytes())
}

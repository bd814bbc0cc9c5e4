//! `history.json`: the record of one site version that outlives the repository —
//! every document's stamps, approvals and history.
//!
//! A commit that changed many documents is written once, in a list of commits (newest
//! first), and each document's history names its commits by their place in that list:
//! the file grows with the number of commits and documents, not with their product.
//! A field that is null, false or an empty list is left out (`markets` excepted, where
//! an empty list and none differ), and so are the fields a reader can derive. One
//! document per line keeps the file readable and its differences between versions
//! small. The format is `docs/history.schema.json`.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::context::{BuildView, DocRecord, HistoryRow, SiteView};

/// The name and version of the format, for readers to check.
pub const FORMAT: &str = "procsite-history/2";

/// One commit of the list, as this site may see it: a commit that also changed another
/// site's files keeps its times, people and hash, and its message is withheld.
#[derive(Serialize)]
struct CommitRecord<'a> {
    id: &'a str,
    /// Author time, RFC 3339 with the author's UTC offset.
    time: &'a str,
    author: &'a str,
    /// Who committed, when not the author.
    #[serde(skip_serializing_if = "Option::is_none")]
    committer: Option<&'a str>,
    /// Commit time, RFC 3339 with the committer's UTC offset, when not the author time.
    #[serde(skip_serializing_if = "Option::is_none")]
    committed: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    withheld: bool,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    trailers: &'a [String],
}

impl<'a> From<&'a HistoryRow> for CommitRecord<'a> {
    fn from(r: &'a HistoryRow) -> Self {
        let withheld = r.subject == super::WITHHELD;
        CommitRecord {
            id: &r.commit,
            time: &r.time,
            author: &r.author,
            committer: (r.committer != r.author).then_some(r.committer.as_str()),
            committed: (r.committed != r.time).then_some(r.committed.as_str()),
            subject: (!withheld).then_some(r.subject.as_str()),
            withheld,
            trailers: &r.trailers,
        }
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

/// Leaves out nulls, falses, empty lists (but `markets`) and the fields of `LEFT_OUT`.
fn prune(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|k, x| {
                !(LEFT_OUT.contains(&k.as_str())
                    || x.is_null()
                    || *x == Value::Bool(false)
                    || (k != "markets" && x.as_array().is_some_and(Vec::is_empty)))
            });
            map.values_mut().for_each(prune);
        }
        Value::Array(items) => items.iter_mut().for_each(prune),
        _ => {}
    }
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
        commit_lines.push(serde_json::to_string(&CommitRecord::from(*c))?);
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
        let mut value = serde_json::to_value(&*d)?;
        prune(&mut value);
        if let Value::Object(map) = &mut value {
            let history: Vec<(usize, &str)> = places
                .into_iter()
                .zip(&rows)
                .map(|(at, r)| (at, r.file.as_str()))
                .collect();
            if !history.is_empty() {
                map.insert("history".into(), serde_json::to_value(history)?);
            }
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
    out.push_str(",\n\"commits\":[");
    for (i, c) in commit_lines.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        out.push_str(c);
    }
    out.push_str("\n],\n\"documents\":[");
    for (i, line) in lines.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        out.push_str(line);
    }
    out.push_str("\n]}\n");
    Ok(out.into_bytes())
}

//! Site versus global: the Markdown a site publishes against the global document as
//! published at that site without its addendum, by line, with word-level changes.

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use crate::compose::{Origin, SiteDoc};

#[derive(Debug, Clone, Serialize)]
pub struct DiffLine {
    /// "equal", "delete" or "insert".
    pub tag: &'static str,
    pub old_no: Option<usize>,
    pub new_no: Option<usize>,
    /// The line as HTML, changed words inside `<mark>`.
    pub html: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hunk {
    /// The addendum operations behind the hunk, e.g. "append #responsibilities".
    pub labels: Vec<String>,
    pub lines: Vec<DiffLine>,
}

/// Text as HTML: the characters markup gives meaning to, escaped.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// Which operation put each line of site text there, and which took global text out.
pub fn labels_of(sd: &SiteDoc) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in sd.pieces.iter() {
        if let Origin::Addendum { op, anchor, .. } = &p.origin {
            let label = format!("{} #{anchor}", op.as_str());
            for l in p.lines.iter().chain(&p.replaced) {
                let t = l.text.trim_end();
                if !t.is_empty() {
                    out.push((t.to_string(), label.clone()));
                }
            }
        } else if p.origin == Origin::SiteAppendix {
            for l in &p.lines {
                if !l.text.trim().is_empty() {
                    out.push((
                        l.text.trim_end().to_string(),
                        "site requirements".to_string(),
                    ));
                }
            }
        }
    }
    out
}

/// The text without blank lines: where blank lines fall (a site block is always set
/// apart by them) says nothing a reviewer needs, so diffs leave them out.
pub fn without_blank_lines(s: &str) -> String {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .flat_map(|l| [l, "\n"])
        .collect()
}

/// The hunks between two texts, each labelled with the origins of its changed lines.
pub fn labelled_hunks(old: &str, new: &str, origins: &[(String, String)]) -> Vec<Hunk> {
    let (old, new) = (without_blank_lines(old), without_blank_lines(new));
    let diff = TextDiff::from_lines(old.as_str(), new.as_str());
    diff.grouped_ops(3)
        .iter()
        .map(|group| {
            let mut labels: Vec<String> = Vec::new();
            let mut lines = Vec::new();
            for op in group {
                for change in diff.iter_inline_changes(op) {
                    let tag = match change.tag() {
                        ChangeTag::Equal => "equal",
                        ChangeTag::Delete => "delete",
                        ChangeTag::Insert => "insert",
                    };
                    let mut html = String::new();
                    let mut plain = String::new();
                    for (emphasized, value) in change.iter_strings_lossy() {
                        plain.push_str(&value);
                        let v = escape(value.trim_end_matches('\n'));
                        if emphasized && tag != "equal" {
                            html.push_str(&format!("<mark>{v}</mark>"));
                        } else {
                            html.push_str(&v);
                        }
                    }
                    if tag != "equal" {
                        let key = plain.trim_end();
                        if let Some((_, label)) = origins.iter().find(|(t, _)| t == key) {
                            if !labels.contains(label) {
                                labels.push(label.clone());
                            }
                        }
                    }
                    lines.push(DiffLine {
                        tag,
                        old_no: change.old_index().map(|i| i + 1),
                        new_no: change.new_index().map(|i| i + 1),
                        html,
                    });
                }
            }
            Hunk { labels, lines }
        })
        .collect()
}

/// A unified diff, for the terminal.
pub fn unified(global: &str, site: &str, old_name: &str, new_name: &str) -> String {
    let (global, site) = (without_blank_lines(global), without_blank_lines(site));
    TextDiff::from_lines(global.as_str(), site.as_str())
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
}

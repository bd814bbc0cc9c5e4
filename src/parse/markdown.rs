//! Headings, sections and anchors of Markdown text given as lines.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// The Markdown dialect of procedures: CommonMark plus tables, footnotes,
/// strikethrough, task lists and `{#id}` heading attributes.
pub fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    pub level: u8,
    pub text: String,
    pub explicit_id: Option<String>,
    /// Index of the heading's first line.
    pub start: usize,
    /// Index one past the heading's last line.
    pub end: usize,
}

/// Joins lines into text, returning the byte offset at which each line starts.
pub fn join_lines<'a>(lines: impl Iterator<Item = &'a str>) -> (String, Vec<usize>) {
    let mut text = String::new();
    let mut starts = Vec::new();
    for l in lines {
        starts.push(text.len());
        text.push_str(l);
        text.push('\n');
    }
    (text, starts)
}

/// Index of the line containing byte `offset`.
pub fn line_index(starts: &[usize], offset: usize) -> usize {
    match starts.binary_search(&offset) {
        Ok(i) => i,
        Err(i) => i.saturating_sub(1),
    }
}

pub fn headings<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<Heading> {
    let (text, starts) = join_lines(lines);
    let mut out = Vec::new();
    let mut current: Option<Heading> = None;
    for (event, range) in Parser::new_ext(&text, options()).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, id, .. }) => {
                let last = text[..range.end].trim_end_matches('\n');
                current = Some(Heading {
                    level: level as u8,
                    text: String::new(),
                    explicit_id: id.map(|s| s.to_string()),
                    start: line_index(&starts, range.start),
                    end: line_index(&starts, last.len().saturating_sub(1).max(range.start)) + 1,
                });
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = current.as_mut() {
                    h.text.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some(mut h) = current.take() {
                    h.text = h.text.trim().to_string();
                    out.push(h);
                }
            }
            _ => {}
        }
    }
    out
}

/// GitHub-style slug: lowercase, punctuation dropped, spaces to '-'.
pub fn slugify(text: &str) -> String {
    let mut s = String::new();
    for c in text.trim().chars() {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            s.extend(c.to_lowercase());
        } else if c.is_whitespace() {
            s.push('-');
        }
    }
    if s.is_empty() {
        s.push_str("section");
    }
    s
}

/// Gives each heading a unique anchor: explicit ids first, then slugs with
/// `-1`, `-2` suffixes for repeats, skipping every name in `taken`.
pub fn assign_anchors(headings: &[Heading], taken: &mut Slugs) -> Vec<String> {
    for h in headings {
        if let Some(id) = &h.explicit_id {
            taken.insert(id.clone());
        }
    }
    headings
        .iter()
        .map(|h| match &h.explicit_id {
            Some(id) => id.clone(),
            None => taken.unique(&slugify(&h.text)),
        })
        .collect()
}

/// The anchors taken in one document, handing out free ones as GitHub numbers
/// repeated headings: `base`, then `base-1`, `base-2` ... A repeated base resumes from
/// the suffix it reached last time, so n equal headings cost n steps, not n².
#[derive(Debug, Default)]
pub struct Slugs {
    taken: std::collections::HashSet<String>,
    next: std::collections::HashMap<String, usize>,
}

impl Slugs {
    pub fn new(taken: impl IntoIterator<Item = String>) -> Slugs {
        Slugs {
            taken: taken.into_iter().collect(),
            next: Default::default(),
        }
    }

    pub fn contains(&self, anchor: &str) -> bool {
        self.taken.contains(anchor)
    }

    pub fn insert(&mut self, anchor: String) {
        self.taken.insert(anchor);
    }

    /// `base` if it is free, else the first free `base-N`; taken from then on.
    pub fn unique(&mut self, base: &str) -> String {
        let mut n = self.next.get(base).copied().unwrap_or(0);
        let mut candidate = if n == 0 {
            base.to_string()
        } else {
            format!("{base}-{n}")
        };
        while self.taken.contains(&candidate) {
            n += 1;
            candidate = format!("{base}-{n}");
        }
        self.next.insert(base.to_string(), n);
        self.taken.insert(candidate.clone());
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_like_github() {
        assert_eq!(
            slugify("5.2 Investigation & Root Cause"),
            "52-investigation--root-cause"
        );
        assert_eq!(slugify("Purpose"), "purpose");
        assert_eq!(slugify("Über Änderungen"), "über-änderungen");
    }

    #[test]
    fn finds_headings_with_lines_and_ids() {
        let lines = [
            "intro",
            "## Scope {#scope}",
            "",
            "Setext",
            "------",
            "### Sub",
        ];
        let hs = headings(lines.iter().copied());
        assert_eq!(hs.len(), 3);
        assert_eq!(hs[0].explicit_id.as_deref(), Some("scope"));
        assert_eq!((hs[0].start, hs[0].end), (1, 2));
        assert_eq!((hs[1].start, hs[1].end, hs[1].level), (3, 5, 2));
        assert_eq!(hs[1].text, "Setext");
        assert_eq!(hs[2].text, "Sub");
    }

    #[test]
    fn duplicate_slugs_get_suffixes_and_explicit_ids_win() {
        let lines = ["# Notes", "# Notes", "# Other {#notes-1}", "# Notes"];
        let hs = headings(lines.iter().copied());
        let a = assign_anchors(&hs, &mut Slugs::default());
        assert_eq!(a, ["notes", "notes-2", "notes-1", "notes-3"]);
    }

    #[test]
    fn headings_in_code_are_not_headings() {
        let lines = ["```", "# not", "```", "# yes"];
        assert_eq!(headings(lines.iter().copied()).len(), 1);
    }
}

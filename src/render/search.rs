//! The full-text search index of a site version, shipped as `search-index.js` (a
//! script, so that search works from `file://`, offline, on a file share).
//!
//! It is made from the HTML of the document bodies exactly as the site's pages show
//! them, so it holds the site's own content and nothing of another site's. The
//! index is compact: one sorted list of folded words, and per section the ids of its
//! words (sorted, gaps in base 36) with the first words of its text as a snippet.
//! The script `procsite.js` loads it when a reader first searches.

use std::collections::HashMap;

use serde::Serialize;
use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};

/// The name of the index in a version folder.
pub const SEARCH_INDEX: &str = "search-index.js";

/// Tags whose start or end separates words.
const BLOCKS: &[&str] = &[
    "p",
    "br",
    "li",
    "ul",
    "ol",
    "div",
    "td",
    "th",
    "tr",
    "table",
    "blockquote",
    "pre",
    "dt",
    "dd",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "section",
    "details",
    "summary",
];

/// Characters of a section's text kept as its snippet.
const SNIPPET_CHARS: usize = 120;

/// A word as the index and the search box compare it: lowercase, without
/// diacritics (`Prüfung` → `prufung`). The script folds a query the same way.
pub fn fold(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    text.to_lowercase()
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .collect()
}

/// The folded words of a text.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    folded(text).map(std::borrow::Cow::into_owned)
}

/// The folded words of a text, borrowed where folding changes nothing (most words
/// of most texts), so that a document's many repeated words cost no copies.
fn folded(text: &str) -> impl Iterator<Item = std::borrow::Cow<'_, str>> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            if w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            {
                std::borrow::Cow::Borrowed(w)
            } else {
                std::borrow::Cow::Owned(fold(w))
            }
        })
}

/// A section of a document as the page shows it: its anchor, heading and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub anchor: String,
    pub heading: String,
    pub text: String,
}

/// Splits rendered HTML into sections at each heading that has an id; text before
/// the first heading is a section without anchor. Tags are dropped, entities read.
pub fn sections(html: &str) -> Vec<Section> {
    let mut out = vec![Section {
        anchor: String::new(),
        heading: String::new(),
        text: String::new(),
    }];
    let mut in_heading = false;
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        push_text(&mut out, in_heading, &rest[..lt]);
        let Some(gt) = rest[lt..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[lt + 1..lt + gt];
        rest = &rest[lt + gt + 1..];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let heading = matches!(name.as_str(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6");
        if heading && !tag.starts_with('/') {
            if let Some(id) = attribute(tag, "id") {
                out.push(Section {
                    anchor: id,
                    heading: String::new(),
                    text: String::new(),
                });
                in_heading = true;
                continue;
            }
        }
        if heading && tag.starts_with('/') {
            in_heading = false;
        }
        if !BLOCKS.contains(&name.as_str()) {
            continue;
        }
        // Block boundaries separate words; inline tags (em, a, code) do not.
        let last = out.last_mut().expect("one section at least");
        let target = if in_heading {
            &mut last.heading
        } else {
            &mut last.text
        };
        if !target.ends_with(' ') && !target.is_empty() {
            target.push(' ');
        }
    }
    push_text(&mut out, in_heading, rest);
    for s in &mut out {
        s.heading = crate::one_line(&s.heading);
        s.text = crate::one_line(&s.text);
    }
    out.retain(|s| !s.anchor.is_empty() || !s.text.is_empty());
    out
}

fn push_text(out: &mut [Section], in_heading: bool, text: &str) {
    if text.is_empty() {
        return;
    }
    let last = out.last_mut().expect("one section at least");
    let target = if in_heading {
        &mut last.heading
    } else {
        &mut last.text
    };
    target.push_str(&unescape(text));
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[at..].find('"')?;
    Some(unescape(&tag[at..at + end]))
}

fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// The first characters of a text, cut at a word.
fn snippet(text: &str) -> String {
    if text.chars().count() <= SNIPPET_CHARS {
        return text.to_string();
    }
    let cut: String = text.chars().take(SNIPPET_CHARS).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a);
    format!("{cut} …")
}

/// One document of the index: its id, title and body HTML (every piece, in order).
pub struct IndexedDoc<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub html: String,
}

/// A document cut into sections, each with its sorted, distinct folded words: what the
/// index needs of one document. Sites that publish the same text share it, and a
/// build keeps it for every document, so it is kept compact: a section's snippet
/// rather than its text, and all of it in one string.
#[derive(Debug, PartialEq, Eq)]
pub struct DocWords {
    /// Each section's anchor, heading, snippet and words (each word ended by a
    /// newline, which no word holds), one after the other.
    text: Box<str>,
    /// Where each section's four parts end in `text`.
    ends: Vec<[u32; 4]>,
}

impl DocWords {
    /// A document's words from its text and where each section's parts end; `None`
    /// unless the ends follow each other within the text, each between characters.
    pub(crate) fn from_parts(text: Box<str>, ends: Vec<[u32; 4]>) -> Option<DocWords> {
        let mut at = 0;
        for &end in ends.iter().flatten() {
            let end = end as usize;
            if end < at || !text.is_char_boundary(end) {
                return None;
            }
            at = end;
        }
        Some(DocWords { text, ends })
    }

    /// The text and the ends of its parts, as [`DocWords::from_parts`] takes them.
    pub(crate) fn parts(&self) -> (&str, &[[u32; 4]]) {
        (&self.text, &self.ends)
    }

    /// Each section's anchor, heading, snippet and words, in order.
    fn sections(&self) -> impl Iterator<Item = [&str; 4]> {
        let mut start = 0;
        self.ends.iter().map(move |ends| {
            ends.map(|end| {
                let part = &self.text[start..end as usize];
                start = end as usize;
                part
            })
        })
    }
}

impl IndexedDoc<'_> {
    /// The key under which sites share this document's words: SHA-256 of id, title
    /// and HTML.
    pub fn key(&self) -> [u8; 32] {
        let mut h = crate::manifest::FieldHash::default();
        for part in [self.id, self.title, &self.html] {
            h.field(part.as_bytes());
        }
        h.finish()
    }

    pub fn words(&self) -> DocWords {
        let mut text = String::new();
        let mut ends = Vec::new();
        let end = |text: &String| u32::try_from(text.len()).expect("a document under 4 GB");
        for (i, s) in sections(&self.html).into_iter().enumerate() {
            let mut set: Vec<std::borrow::Cow<str>> =
                folded(&s.heading).chain(folded(&s.text)).collect();
            if i == 0 {
                set.extend(folded(self.id).chain(folded(self.title)));
            }
            set.sort_unstable();
            set.dedup();
            text.push_str(&s.anchor);
            let anchor = end(&text);
            text.push_str(&s.heading);
            let heading = end(&text);
            text.push_str(&snippet(&s.text));
            let snippet = end(&text);
            for w in set {
                text.push_str(&w);
                text.push('\n');
            }
            ends.push([anchor, heading, snippet, end(&text)]);
        }
        DocWords {
            text: text.into_boxed_str(),
            ends,
        }
    }
}

#[derive(Serialize)]
struct Index<'a> {
    /// [id, title] of each document.
    d: Vec<[&'a str; 2]>,
    /// Every folded word, sorted.
    w: Vec<&'a str>,
    /// [document, anchor, heading, snippet, word ids as base-32 gaps].
    s: Vec<(usize, &'a str, &'a str, &'a str, String)>,
}

/// The bytes of `search-index.js` for the documents of a site version.
pub fn index_script(docs: &[IndexedDoc]) -> Vec<u8> {
    let words: Vec<DocWords> = docs.iter().map(IndexedDoc::words).collect();
    let docs: Vec<([&str; 2], &DocWords)> =
        docs.iter().map(|d| [d.id, d.title]).zip(&words).collect();
    index_of(&docs)
}

/// The bytes of `search-index.js` from each document's id and title, and its words.
pub fn index_of(docs: &[([&str; 2], &DocWords)]) -> Vec<u8> {
    // Each word occurrence is looked up once, for a number in the order words are
    // first seen; the distinct words are then sorted, and each number mapped to its
    // word's place in the sorted list.
    let mut seen: HashMap<&str, u32> = HashMap::new();
    let mut firsts: Vec<&str> = Vec::new();
    let mut numbers: Vec<u32> = Vec::new();
    let mut sections = Vec::new();
    for (n, (_, w)) in docs.iter().enumerate() {
        for [anchor, heading, snippet, set] in w.sections() {
            let start = numbers.len();
            for word in set.split_terminator('\n') {
                let next = u32::try_from(firsts.len()).expect("under 4 billion words");
                let number = *seen.entry(word).or_insert_with(|| {
                    firsts.push(word);
                    next
                });
                numbers.push(number);
            }
            sections.push((n, anchor, heading, snippet, start..numbers.len()));
        }
    }
    drop(seen);
    let mut order: Vec<u32> = (0..u32::try_from(firsts.len()).expect("counted")).collect();
    order.sort_unstable_by_key(|&i| firsts[i as usize]);
    let mut place = vec![0usize; firsts.len()];
    for (at, &i) in order.iter().enumerate() {
        place[i as usize] = at;
    }
    let vocabulary: Vec<&str> = order.iter().map(|&i| firsts[i as usize]).collect();
    let mut index = Index {
        d: docs.iter().map(|(d, _)| *d).collect(),
        w: Vec::new(),
        s: Vec::with_capacity(sections.len()),
    };
    for (n, anchor, heading, snippet, range) in sections {
        // A section's words are sorted, so their places rise.
        let mut previous = 0;
        let mut gaps = String::new();
        for &number in &numbers[range] {
            let id = place[number as usize];
            push_number(&mut gaps, id - previous);
            previous = id;
        }
        index.s.push((n, anchor, heading, snippet, gaps));
    }
    index.w = vocabulary;
    let json = serde_json::to_string(&index).expect("the index serializes");
    // U+2028 and U+2029 end a line in older JavaScript engines.
    let json = json
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    format!("window.PROCSITE_SEARCH={json};\n").into_bytes()
}

/// Base-32 digits that end a number.
const LAST: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
/// Base-32 digits that another digit follows.
const MORE: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz6789-_";

/// Appends `n` in base 32, most significant digit first, its last digit taken from
/// another alphabet: numbers follow each other without separators (most gaps
/// between word ids take one character).
fn push_number(out: &mut String, mut n: usize) {
    // 13 base-32 digits hold any 64-bit number.
    let mut digits = [0u8; 13];
    let mut at = digits.len() - 1;
    digits[at] = LAST[n % 32];
    n /= 32;
    while n > 0 {
        at -= 1;
        digits[at] = MORE[n % 32];
        n /= 32;
    }
    out.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII digits"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_and_diacritics_as_the_search_box_does() {
        assert_eq!(fold("Prüfung"), "prufung");
        assert_eq!(fold("ÉTALONNAGE"), "etalonnage");
        assert_eq!(fold("Ørsted"), "ørsted");
        let w: Vec<String> = words("Calibração, re-test (SOP-0020)").collect();
        assert_eq!(w, ["calibracao", "re", "test", "sop", "0020"]);
    }

    #[test]
    fn splits_rendered_html_into_sections_by_heading_anchor() {
        let html = "<p>Intro &amp; more</p>\n<h2 id=\"scope\">Scope</h2>\n<p>All <em>sites</em>.</p><ul><li>one</li><li>two</li></ul><h3 id=\"x\">X &lt;y&gt;</h3>";
        assert_eq!(
            sections(html),
            [
                Section {
                    anchor: "".into(),
                    heading: "".into(),
                    text: "Intro & more".into()
                },
                Section {
                    anchor: "scope".into(),
                    heading: "Scope".into(),
                    text: "All sites. one two".into()
                },
                Section {
                    anchor: "x".into(),
                    heading: "X <y>".into(),
                    text: "".into()
                },
            ]
        );
    }

    #[test]
    fn word_ids_are_sorted_gaps() {
        let code = |n| {
            let mut s = String::new();
            push_number(&mut s, n);
            s
        };
        assert_eq!(code(0), "A");
        assert_eq!(code(31), "5");
        assert_eq!(code(32), "bA");
        assert_eq!(code(32 * 32 + 1), "baB");
        assert_eq!(code(usize::MAX), "p___________5");
        let script = String::from_utf8(index_script(&[IndexedDoc {
            id: "SOP-1",
            title: "Alpha",
            html: "<h2 id=\"a\">Beta</h2><p>gamma alpha</p>".into(),
        }]))
        .unwrap();
        assert_eq!(
            script,
            "window.PROCSITE_SEARCH={\"d\":[[\"SOP-1\",\"Alpha\"]],\"w\":[\"1\",\"alpha\",\"beta\",\"gamma\",\"sop\"],\"s\":[[0,\"a\",\"Beta\",\"gamma alpha\",\"ABBBB\"]]};\n"
        );
        // Words first seen late in the documents sort first: the ids are places in
        // the sorted list, whatever order the documents name them in.
        let docs = [
            IndexedDoc {
                id: "Z",
                title: "Zulu",
                html: "<p>zulu yankee</p>".into(),
            },
            IndexedDoc {
                id: "A",
                title: "Alpha",
                html: "<p>alpha zulu</p>".into(),
            },
        ];
        let script = String::from_utf8(index_script(&docs)).unwrap();
        assert_eq!(
            script,
            "window.PROCSITE_SEARCH={\"d\":[[\"Z\",\"Zulu\"],[\"A\",\"Alpha\"]],\"w\":[\"a\",\"alpha\",\"yankee\",\"z\",\"zulu\"],\"s\":[[0,\"\",\"\",\"zulu yankee\",\"CBB\"],[1,\"\",\"\",\"alpha zulu\",\"ABD\"]]};\n"
        );
    }
}

//! Redlines: the newer text as it reads, with what changed since the older one marked
//! on it — `<ins>` and `<del>` at word level inside paragraphs, headings, list items
//! and table cells, whole blocks and sections added, removed or moved shown as such.
//!
//! Both texts are parsed once with the same Markdown options as pages. Each side is
//! cut into sections at its headings; sections are matched by anchor (a renamed
//! heading keeps its section when the body is still alike), sections out of their
//! old order are marked as moved, and within a section the blocks are matched by
//! their source. A matched pair of blocks of one kind gets a word diff of its
//! rendered HTML: tags pass through from the newer side, text is wrapped, and the
//! result is re-balanced so it is always well-formed. Links are shown as text (the
//! older text's targets need not exist any more) and headings carry no ids.
//!
//! Every step is deterministic: no time limits in the diffs, no hashing order.

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
use serde::Serialize;
use similar::{capture_diff_slices, Algorithm, DiffOp};

use crate::diff::escape;
use crate::parse::markdown::{options, slugify};

/// A redline and what it counted.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Redline {
    /// Well-formed, sanitized HTML of the newer text with the changes marked.
    #[serde(skip)]
    pub html: String,
    pub stats: Stats,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Stats {
    pub words_inserted: usize,
    pub words_deleted: usize,
    pub sections_added: usize,
    pub sections_removed: usize,
    pub sections_moved: usize,
}

impl Stats {
    pub fn is_empty(&self) -> bool {
        *self == Stats::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Heading(u8),
    Paragraph,
    List { ordered: bool },
    Table,
    Code,
    Other,
}

#[derive(Debug, Clone)]
struct Block {
    kind: Kind,
    /// The source of the block with its whitespace folded: what matching compares.
    key: String,
    /// The opening tag for lists (`<ol start="3">`), headings and paragraphs.
    open: String,
    /// The sanitized HTML inside the block's own tag (all of it for `Other`).
    inner: String,
    /// List items or table rows (the head first), each with its key and cells.
    parts: Vec<Part>,
    /// Lines of a code block.
    lines: Vec<String>,
    /// A heading's anchor and plain text.
    anchor: String,
    text: String,
}

#[derive(Debug, Clone)]
struct Part {
    key: String,
    /// One entry for a list item; one per cell for a table row.
    cells: Vec<String>,
    head: bool,
}

#[derive(Debug, Clone)]
struct Section {
    key: String,
    /// The heading (None for the text before the first heading).
    heading: Option<Block>,
    blocks: Vec<Block>,
}

impl Section {
    fn key_text(&self) -> String {
        self.blocks
            .iter()
            .map(|b| b.key.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn title(&self) -> String {
        self.heading
            .as_ref()
            .map_or_else(|| "the start of the document".into(), |h| h.text.clone())
    }
}

fn sanitize(html: &str) -> String {
    crate::render::markdown::sanitizer_without_ids()
        .clean(html)
        .to_string()
}

/// The HTML of some events, links shown as their text. pulldown-cmark escapes text,
/// so only raw HTML, images and footnotes need the sanitizer (which costs far more
/// than rendering).
fn render(events: &[Event<'_>]) -> String {
    let mut raw = false;
    let kept = events.iter().filter(|e| {
        raw |= matches!(
            e,
            Event::Html(_)
                | Event::InlineHtml(_)
                | Event::FootnoteReference(_)
                | Event::Start(Tag::Image { .. } | Tag::FootnoteDefinition(_))
        );
        !matches!(e, Event::Start(Tag::Link { .. }) | Event::End(TagEnd::Link))
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, kept.cloned());
    if raw {
        sanitize(&html)
    } else {
        html
    }
}

fn align_attr(a: pulldown_cmark::Alignment) -> &'static str {
    match a {
        pulldown_cmark::Alignment::Left => " style=\"text-align: left\"",
        pulldown_cmark::Alignment::Center => " style=\"text-align: center\"",
        pulldown_cmark::Alignment::Right => " style=\"text-align: right\"",
        pulldown_cmark::Alignment::None => "",
    }
}

/// The top-level blocks of a Markdown text.
fn blocks(markdown: &str) -> Vec<Block> {
    let events: Vec<(Event, std::ops::Range<usize>)> = Parser::new_ext(markdown, options())
        .into_offset_iter()
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < events.len() {
        // The extent of this top-level event: to its matching end.
        let start = i;
        let mut depth = 0usize;
        loop {
            match &events[i].0 {
                Event::Start(_) => depth += 1,
                Event::End(_) => depth = depth.saturating_sub(1),
                _ => {}
            }
            i += 1;
            if depth == 0 || i >= events.len() {
                break;
            }
        }
        let span = &events[start..i];
        let range = span[0].1.clone();
        let source = &markdown[range.start.min(markdown.len())..range.end.min(markdown.len())];
        let evs: Vec<Event> = span.iter().map(|(e, _)| e.clone()).collect();
        out.push(block_of(&evs, span, source, markdown));
    }
    out
}

fn block_of(
    evs: &[Event<'_>],
    span: &[(Event<'_>, std::ops::Range<usize>)],
    source: &str,
    markdown: &str,
) -> Block {
    let mut b = Block {
        kind: Kind::Other,
        key: crate::one_line(source),
        open: String::new(),
        inner: String::new(),
        parts: Vec::new(),
        lines: Vec::new(),
        anchor: String::new(),
        text: String::new(),
    };
    let inside = |evs: &[Event<'_>]| render(&evs[1..evs.len().saturating_sub(1)]);
    match &evs[0] {
        Event::Start(Tag::Heading { level, id, .. }) => {
            let n = *level as u8;
            b.kind = Kind::Heading(n);
            b.open = format!("<h{n}>");
            b.inner = inside(evs);
            for e in evs {
                if let Event::Text(t) | Event::Code(t) = e {
                    b.text.push_str(t);
                }
            }
            b.text = b.text.trim().to_string();
            b.anchor = id
                .as_ref()
                .map_or_else(|| slugify(&b.text), |i| i.to_string());
        }
        Event::Start(Tag::Paragraph) => {
            b.kind = Kind::Paragraph;
            b.open = "<p>".into();
            b.inner = inside(evs);
        }
        Event::Start(Tag::List(first)) => {
            b.kind = Kind::List {
                ordered: first.is_some(),
            };
            b.open = match first {
                Some(1) => "<ol>".into(),
                Some(n) => format!("<ol start=\"{n}\">"),
                None => "<ul>".into(),
            };
            // Top-level items: depth 1 inside the list.
            let mut depth = 0usize;
            let mut item_start = None;
            for (k, (e, r)) in span.iter().enumerate() {
                match e {
                    Event::Start(Tag::Item) if depth == 1 => item_start = Some((k, r.clone())),
                    Event::End(TagEnd::Item) if depth == 2 => {
                        if let Some((s, range)) = item_start.take() {
                            let evs: Vec<Event> =
                                span[s + 1..k].iter().map(|(e, _)| e.clone()).collect();
                            b.parts.push(Part {
                                key: crate::one_line(&markdown[range]),
                                cells: vec![render(&evs)],
                                head: false,
                            });
                        }
                    }
                    _ => {}
                }
                match e {
                    Event::Start(_) => depth += 1,
                    Event::End(_) => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
        }
        Event::Start(Tag::Table(aligns)) => {
            b.kind = Kind::Table;
            b.open = aligns
                .iter()
                .map(|a| align_attr(*a))
                .collect::<Vec<_>>()
                .join("\u{1}");
            let mut row: Option<(Vec<String>, bool)> = None;
            let mut cell_start = None;
            for (k, (e, _)) in span.iter().enumerate() {
                match e {
                    Event::Start(Tag::TableHead) => row = Some((Vec::new(), true)),
                    Event::Start(Tag::TableRow) => row = Some((Vec::new(), false)),
                    Event::Start(Tag::TableCell) => cell_start = Some(k),
                    Event::End(TagEnd::TableCell) => {
                        if let (Some(s), Some((cells, _))) = (cell_start.take(), row.as_mut()) {
                            let evs: Vec<Event> =
                                span[s + 1..k].iter().map(|(e, _)| e.clone()).collect();
                            cells.push(render(&evs));
                        }
                    }
                    Event::End(TagEnd::TableHead) | Event::End(TagEnd::TableRow) => {
                        if let Some((cells, head)) = row.take() {
                            b.parts.push(Part {
                                key: crate::one_line(&cells.join("\u{1}")),
                                cells,
                                head,
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
        Event::Start(Tag::CodeBlock(kind)) => {
            b.kind = Kind::Code;
            b.open = match kind {
                CodeBlockKind::Fenced(lang) if !lang.is_empty() => {
                    format!(
                        " class=\"language-{}\"",
                        escape(lang.split_whitespace().next().unwrap_or(""))
                    )
                }
                _ => String::new(),
            };
            let mut text = String::new();
            for e in evs {
                if let Event::Text(t) = e {
                    text.push_str(t);
                }
            }
            b.lines = text.lines().map(str::to_string).collect();
            b.key = text;
        }
        _ => {
            b.inner = render(evs);
        }
    }
    b
}

fn sections(markdown: &str) -> Vec<Section> {
    let mut out = vec![Section {
        key: String::new(),
        heading: None,
        blocks: Vec::new(),
    }];
    let mut seen: std::collections::BTreeMap<String, usize> = Default::default();
    for b in blocks(markdown) {
        if let Kind::Heading(_) = b.kind {
            let n = seen.entry(b.anchor.clone()).or_insert(0);
            let key = if *n == 0 {
                format!("#{}", b.anchor)
            } else {
                format!("#{}\u{1}{n}", b.anchor)
            };
            *n += 1;
            out.push(Section {
                key,
                heading: Some(b),
                blocks: Vec::new(),
            });
        } else if let Some(last) = out.last_mut() {
            last.blocks.push(b);
        }
    }
    out
}

/// The redline of `new` against `old`.
pub fn redline(old: &str, new: &str) -> Redline {
    let (old, new) = (sections(old), sections(new));
    let mut w = Writer::default();
    // Pairs (old index, new index): by key, then renamed headings between them.
    let mut pair_of_new: Vec<Option<usize>> = vec![None; new.len()];
    let mut paired_old = vec![false; old.len()];
    // Keys are unique within a side (repeats are numbered), so one map finds them.
    let by_key: std::collections::HashMap<&str, usize> = old
        .iter()
        .enumerate()
        .map(|(i, o)| (o.key.as_str(), i))
        .collect();
    for (j, s) in new.iter().enumerate() {
        if let Some(&i) = by_key.get(s.key.as_str()) {
            pair_of_new[j] = Some(i);
            paired_old[i] = true;
        }
    }
    // The next paired old section after each new one, from the right.
    let mut next_paired = vec![None; new.len() + 1];
    for j in (0..new.len()).rev() {
        next_paired[j] = pair_of_new[j].or(next_paired[j + 1]);
    }
    let mut last_paired: Option<usize> = None;
    for j in 0..new.len() {
        if let Some(i) = pair_of_new[j] {
            last_paired = Some(i);
            continue;
        }
        let lo = last_paired.map_or(0, |l| l + 1);
        let hi = next_paired[j + 1].unwrap_or(old.len()).max(lo);
        // A renamed heading: an unpaired old section of the same level between the
        // same neighbours, with a body still alike. Only the first few are tried, so
        // a document of thousands of new sections stays linear.
        let candidate = (lo..hi)
            .filter(|&i| !paired_old[i] && level(&old[i]) == level(&new[j]))
            .take(4)
            .find(|&i| {
                similar::TextDiff::from_words(
                    old[i].key_text().as_str(),
                    new[j].key_text().as_str(),
                )
                .ratio()
                    >= 0.5
            });
        if let Some(i) = candidate {
            pair_of_new[j] = Some(i);
            paired_old[i] = true;
            last_paired = Some(i);
        }
    }
    // Pairs out of their old order: those off the longest run kept in order.
    let order: Vec<usize> = pair_of_new.iter().flatten().copied().collect();
    let kept = longest_increasing(&order);
    // Removed sections follow the nearest section before them that is still there.
    let mut removed_after: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    // (The text before the first heading always pairs, so every removed section has one.)
    let mut anchor = 0;
    for (i, &paired) in paired_old.iter().enumerate() {
        if paired {
            anchor = i;
            continue;
        }
        removed_after.entry(anchor).or_default().push(i);
    }
    for (j, s) in new.iter().enumerate() {
        match pair_of_new[j] {
            Some(i) => {
                let moved = !kept.contains(&i);
                if moved {
                    w.stats.sections_moved += 1;
                    let before = i.checked_sub(1).map(|k| old[k].title());
                    w.open_section("rl-moved");
                    w.note(&format!(
                        "Section moved: it followed “{}” in the earlier text.",
                        before.unwrap_or_else(|| "the start of the document".into())
                    ));
                }
                section_pair(&mut w, &old[i], s);
                if moved {
                    w.close_section();
                }
                for &r in removed_after.get(&i).into_iter().flatten() {
                    removed_section(&mut w, &old[r]);
                }
            }
            None => {
                w.stats.sections_added += 1;
                w.open_section("rl-added");
                w.note("Section added.");
                w.push("<ins class=\"rl-block\">");
                whole_section(&mut w, s, true);
                w.push("</ins>");
                w.close_section();
            }
        }
    }
    Redline {
        html: balance(&w.out),
        stats: w.stats,
    }
}

fn level(s: &Section) -> u8 {
    match s.heading.as_ref().map(|h| h.kind) {
        Some(Kind::Heading(n)) => n,
        _ => 0,
    }
}

/// Indexes (values) of `seq` on one longest strictly increasing subsequence.
fn longest_increasing(seq: &[usize]) -> std::collections::BTreeSet<usize> {
    // O(n log n) patience method with back links; ties broken by first occurrence.
    let mut tails: Vec<usize> = Vec::new(); // positions in seq
    let mut prev: Vec<Option<usize>> = vec![None; seq.len()];
    for (k, &v) in seq.iter().enumerate() {
        let at = tails.partition_point(|&t| seq[t] < v);
        if at > 0 {
            prev[k] = Some(tails[at - 1]);
        }
        if at == tails.len() {
            tails.push(k);
        } else {
            tails[at] = k;
        }
    }
    let mut out = std::collections::BTreeSet::new();
    let mut cur = tails.last().copied();
    while let Some(k) = cur {
        out.insert(seq[k]);
        cur = prev[k];
    }
    out
}

#[derive(Default)]
struct Writer {
    out: String,
    stats: Stats,
}

impl Writer {
    fn push(&mut self, s: &str) {
        self.out.push_str(s);
    }
    fn open_section(&mut self, class: &str) {
        self.out
            .push_str(&format!("<div class=\"rl-section {class}\">\n"));
    }
    fn close_section(&mut self) {
        self.out.push_str("</div>\n");
    }
    fn note(&mut self, text: &str) {
        self.out
            .push_str(&format!("<p class=\"rl-note\">{}</p>\n", escape(text)));
    }
}

fn removed_section(w: &mut Writer, s: &Section) {
    w.stats.sections_removed += 1;
    w.open_section("rl-removed");
    w.note("Section removed.");
    w.push("<del class=\"rl-block\">");
    whole_section(w, s, false);
    w.push("</del>");
    w.close_section();
}

/// A section as it reads, its words counted as inserted or deleted.
fn whole_section(w: &mut Writer, s: &Section, added: bool) {
    for b in s.heading.iter().chain(&s.blocks) {
        let html = whole_block(b);
        let n = count_words(&html);
        if added {
            w.stats.words_inserted += n;
        } else {
            w.stats.words_deleted += n;
        }
        w.push(&html);
    }
}

/// A block as it reads, unmarked.
fn whole_block(b: &Block) -> String {
    match b.kind {
        Kind::Heading(n) => format!("{}{}</h{n}>\n", b.open, b.inner),
        Kind::Paragraph => format!("<p>{}</p>\n", b.inner),
        Kind::List { ordered } => {
            let mut s = b.open.clone();
            s.push('\n');
            for p in &b.parts {
                s.push_str(&format!("<li>{}</li>\n", p.cells[0]));
            }
            s.push_str(if ordered { "</ol>\n" } else { "</ul>\n" });
            s
        }
        Kind::Table => {
            let rows: Vec<RowMark> = b.parts.iter().map(RowMark::Same).collect();
            table(b, &rows, &mut Stats::default())
        }
        Kind::Code => {
            let mut s = format!("<pre><code{}>", b.open);
            for l in &b.lines {
                s.push_str(&escape(l));
                s.push('\n');
            }
            s.push_str("</code></pre>\n");
            s
        }
        Kind::Other => format!("{}\n", b.inner),
    }
}

fn count_words(html: &str) -> usize {
    tokens(html).iter().filter(|t| t.is_word()).count()
}

/// A block marked whole as added or removed.
fn marked_block(w: &mut Writer, b: &Block, added: bool) {
    let (tag, class) = if added {
        ("ins", "rl-added")
    } else {
        ("del", "rl-removed")
    };
    let whole = whole_block(b);
    let n = count_words(&whole);
    if added {
        w.stats.words_inserted += n;
    } else {
        w.stats.words_deleted += n;
    }
    w.push(&format!(
        "<{tag} class=\"rl-block {class}\">{}</{tag}>\n",
        whole.trim_end()
    ));
}

fn section_pair(w: &mut Writer, old: &Section, new: &Section) {
    match (&old.heading, &new.heading) {
        (Some(o), Some(n)) if o.key == n.key => w.push(&whole_block(n)),
        (Some(o), Some(n)) => block_pair(w, o, n),
        _ => {}
    }
    blocks_diff(w, &old.blocks, &new.blocks);
}

fn blocks_diff(w: &mut Writer, old: &[Block], new: &[Block]) {
    let (ok, nk): (Vec<&str>, Vec<&str>) = (
        old.iter().map(|b| b.key.as_str()).collect(),
        new.iter().map(|b| b.key.as_str()).collect(),
    );
    for op in capture_diff_slices(Algorithm::Patience, &ok, &nk) {
        match op {
            DiffOp::Equal { new_index, len, .. } => {
                for b in &new[new_index..new_index + len] {
                    w.push(&whole_block(b));
                }
            }
            DiffOp::Delete {
                old_index, old_len, ..
            } => {
                for b in &old[old_index..old_index + old_len] {
                    marked_block(w, b, false);
                }
            }
            DiffOp::Insert {
                new_index, new_len, ..
            } => {
                for b in &new[new_index..new_index + new_len] {
                    marked_block(w, b, true);
                }
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                let (o, n) = (
                    &old[old_index..old_index + old_len],
                    &new[new_index..new_index + new_len],
                );
                replace_run(w, o, n);
            }
        }
    }
}

fn same_kind(a: Kind, b: Kind) -> bool {
    match (a, b) {
        (Kind::Heading(_), Kind::Heading(_)) => true,
        (Kind::List { .. }, Kind::List { .. }) => true,
        _ => a == b,
    }
}

/// Blocks replaced by others: pairs of one kind are diffed word by word (each old
/// block pairs with the first unpaired new block of its kind, in order); the rest
/// are removed or added where they stand.
fn replace_run(w: &mut Writer, old: &[Block], new: &[Block]) {
    let mut next_new = 0;
    for o in old {
        match new[next_new..]
            .iter()
            .position(|n| same_kind(o.kind, n.kind))
        {
            Some(k) => {
                for n in &new[next_new..next_new + k] {
                    marked_block(w, n, true);
                }
                block_pair(w, o, &new[next_new + k]);
                next_new += k + 1;
            }
            None => marked_block(w, o, false),
        }
    }
    for n in &new[next_new..] {
        marked_block(w, n, true);
    }
}

/// Two blocks of one kind, the changes between them marked.
fn block_pair(w: &mut Writer, o: &Block, n: &Block) {
    match n.kind {
        Kind::Heading(l) => {
            let inner = words(&o.inner, &n.inner, &mut w.stats);
            w.push(&format!("<h{l}>{inner}</h{l}>\n"));
        }
        Kind::Paragraph => {
            let inner = words(&o.inner, &n.inner, &mut w.stats);
            w.push(&format!("<p>{inner}</p>\n"));
        }
        Kind::List { ordered } => {
            w.push(&n.open);
            w.push("\n");
            let (ok, nk): (Vec<&str>, Vec<&str>) = (
                o.parts.iter().map(|p| p.key.as_str()).collect(),
                n.parts.iter().map(|p| p.key.as_str()).collect(),
            );
            for op in capture_diff_slices(Algorithm::Patience, &ok, &nk) {
                let (old_r, new_r) = (op.old_range(), op.new_range());
                let (olds, news) = (&o.parts[old_r], &n.parts[new_r]);
                if matches!(op, DiffOp::Equal { .. }) {
                    for p in news {
                        w.push(&format!("<li>{}</li>\n", p.cells[0]));
                    }
                    continue;
                }
                let paired = olds.len().min(news.len());
                for k in 0..paired {
                    let inner = words(&olds[k].cells[0], &news[k].cells[0], &mut w.stats);
                    w.push(&format!("<li>{inner}</li>\n"));
                }
                for p in &olds[paired..] {
                    w.stats.words_deleted += count_words(&p.cells[0]);
                    w.push(&format!(
                        "<li class=\"rl-removed\"><del>{}</del></li>\n",
                        p.cells[0]
                    ));
                }
                for p in &news[paired..] {
                    w.stats.words_inserted += count_words(&p.cells[0]);
                    w.push(&format!(
                        "<li class=\"rl-added\"><ins>{}</ins></li>\n",
                        p.cells[0]
                    ));
                }
            }
            w.push(if ordered { "</ol>\n" } else { "</ul>\n" });
        }
        Kind::Table => {
            let (ok, nk): (Vec<&str>, Vec<&str>) = (
                o.parts.iter().map(|p| p.key.as_str()).collect(),
                n.parts.iter().map(|p| p.key.as_str()).collect(),
            );
            let mut rows = Vec::new();
            for op in capture_diff_slices(Algorithm::Patience, &ok, &nk) {
                let (olds, news) = (&o.parts[op.old_range()], &n.parts[op.new_range()]);
                if matches!(op, DiffOp::Equal { .. }) {
                    rows.extend(news.iter().map(RowMark::Same));
                    continue;
                }
                let paired = olds.len().min(news.len());
                for k in 0..paired {
                    rows.push(RowMark::Changed(&olds[k], &news[k]));
                }
                rows.extend(olds[paired..].iter().map(RowMark::Removed));
                rows.extend(news[paired..].iter().map(RowMark::Added));
            }
            let html = table(n, &rows, &mut w.stats);
            w.push(&html);
        }
        Kind::Code => {
            let (ol, nl): (Vec<&str>, Vec<&str>) = (
                o.lines.iter().map(String::as_str).collect(),
                n.lines.iter().map(String::as_str).collect(),
            );
            let mut s = format!("<pre><code{}>", n.open);
            for op in capture_diff_slices(Algorithm::Myers, &ol, &nl) {
                for l in &ol[op.old_range()] {
                    if !matches!(op, DiffOp::Equal { .. }) {
                        w.stats.words_deleted += l.split_whitespace().count();
                        s.push_str(&format!("<del>{}</del>\n", escape(l)));
                    }
                }
                for l in &nl[op.new_range()] {
                    if matches!(op, DiffOp::Equal { .. }) {
                        s.push_str(&format!("{}\n", escape(l)));
                    } else {
                        w.stats.words_inserted += l.split_whitespace().count();
                        s.push_str(&format!("<ins>{}</ins>\n", escape(l)));
                    }
                }
            }
            s.push_str("</code></pre>\n");
            w.push(&s);
        }
        Kind::Other => {
            let inner = words(&o.inner, &n.inner, &mut w.stats);
            w.push(&format!("{inner}\n"));
        }
    }
}

enum RowMark<'a> {
    Same(&'a Part),
    Changed(&'a Part, &'a Part),
    Added(&'a Part),
    Removed(&'a Part),
}

fn table(b: &Block, rows: &[RowMark], stats: &mut Stats) -> String {
    let aligns: Vec<&str> = b.open.split('\u{1}').collect();
    let mut s = String::from("<table>\n");
    let mut body_open = false;
    for r in rows {
        let (part, class) = match r {
            RowMark::Same(p) | RowMark::Changed(_, p) => (*p, ""),
            RowMark::Added(p) => (*p, " class=\"rl-added\""),
            RowMark::Removed(p) => (*p, " class=\"rl-removed\""),
        };
        if part.head {
            s.push_str("<thead>");
        } else if !body_open {
            s.push_str("<tbody>\n");
            body_open = true;
        }
        s.push_str(&format!("<tr{class}>"));
        let cell = if part.head { "th" } else { "td" };
        let width = match r {
            RowMark::Changed(o, n) => o.cells.len().max(n.cells.len()),
            _ => part.cells.len(),
        };
        for k in 0..width {
            let align = aligns.get(k).copied().unwrap_or("");
            let content = match r {
                RowMark::Same(p) => p.cells.get(k).cloned().unwrap_or_default(),
                RowMark::Changed(o, n) => words(
                    o.cells.get(k).map_or("", String::as_str),
                    n.cells.get(k).map_or("", String::as_str),
                    stats,
                ),
                RowMark::Added(p) => {
                    let c = p.cells.get(k).map_or("", String::as_str);
                    stats.words_inserted += count_words(c);
                    if c.is_empty() {
                        String::new()
                    } else {
                        format!("<ins>{c}</ins>")
                    }
                }
                RowMark::Removed(p) => {
                    let c = p.cells.get(k).map_or("", String::as_str);
                    stats.words_deleted += count_words(c);
                    if c.is_empty() {
                        String::new()
                    } else {
                        format!("<del>{c}</del>")
                    }
                }
            };
            s.push_str(&format!("<{cell}{align}>{content}</{cell}>"));
        }
        s.push_str("</tr>");
        if part.head {
            s.push_str("</thead>");
        }
        s.push('\n');
    }
    if body_open {
        s.push_str("</tbody>\n");
    }
    s.push_str("</table>\n");
    s
}

/// One token of HTML: a tag, a run of whitespace, a word, or one other character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    Tag(&'a str),
    Space(&'a str),
    Word(&'a str),
    Mark(&'a str),
}

impl<'a> Tok<'a> {
    fn text(&self) -> &'a str {
        match self {
            Tok::Tag(s) | Tok::Space(s) | Tok::Word(s) | Tok::Mark(s) => s,
        }
    }
    fn is_word(&self) -> bool {
        matches!(self, Tok::Word(_))
    }
    /// What comparison sees: all whitespace is alike.
    fn key(&self) -> &'a str {
        match self {
            Tok::Space(_) => " ",
            other => other.text(),
        }
    }
}

fn tokens(html: &str) -> Vec<Tok<'_>> {
    let mut out = Vec::new();
    let bytes = html.as_bytes();
    let mut i = 0;
    while i < html.len() {
        let c = html[i..].chars().next().unwrap_or(' ');
        let end = if c == '<' {
            html[i..].find('>').map_or(html.len(), |k| i + k + 1)
        } else if c == '&' {
            // An entity is one character of text.
            match html[i..].find(';') {
                Some(k)
                    if k <= 10
                        && html[i + 1..i + k]
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '#') =>
                {
                    i + k + 1
                }
                _ => i + 1,
            }
        } else if c.is_whitespace() {
            i + html[i..]
                .find(|c: char| !c.is_whitespace())
                .unwrap_or(html.len() - i)
        } else if c.is_alphanumeric() {
            i + html[i..]
                .find(|c: char| !c.is_alphanumeric())
                .unwrap_or(html.len() - i)
        } else {
            i + c.len_utf8()
        };
        let s = &html[i..end];
        out.push(match bytes[i] {
            b'<' => Tok::Tag(s),
            _ if c.is_whitespace() => Tok::Space(s),
            _ if c.is_alphanumeric() => Tok::Word(s),
            _ => Tok::Mark(s),
        });
        i = end;
    }
    out
}

enum Seg<'a> {
    Same(Vec<Tok<'a>>),
    Change(Vec<Tok<'a>>, Vec<Tok<'a>>),
}

/// Above this many token pairs a block is shown replaced whole instead of word by
/// word (a paragraph of some 6,000 words on each side): the word diff's time grows
/// with the product of the lengths when they differ much.
const WORD_DIFF_LIMIT: usize = 40_000_000;

/// The word diff of two HTML fragments, as the newer one with `<del>` and `<ins>`.
fn words(old: &str, new: &str, stats: &mut Stats) -> String {
    if old == new {
        return new.to_string();
    }
    let (o, n) = (tokens(old), tokens(new));
    if o.len().saturating_mul(n.len()) > WORD_DIFF_LIMIT {
        // Too long to compare word by word in bounded time: the whole text replaced.
        stats.words_deleted += o.iter().filter(|t| t.is_word()).count();
        stats.words_inserted += n.iter().filter(|t| t.is_word()).count();
        let mut out = String::new();
        wrap(&mut out, &o, "del", false);
        wrap(&mut out, &n, "ins", true);
        return out;
    }
    let (ok, nk): (Vec<&str>, Vec<&str>) = (
        o.iter().map(Tok::key).collect(),
        n.iter().map(Tok::key).collect(),
    );
    let mut segs: Vec<Seg> = Vec::new();
    for op in capture_diff_slices(Algorithm::Myers, &ok, &nk) {
        let (olds, news) = (&o[op.old_range()], &n[op.new_range()]);
        match op {
            DiffOp::Equal { .. } => segs.push(Seg::Same(news.to_vec())),
            _ => match segs.last_mut() {
                Some(Seg::Change(d, i)) => {
                    d.extend_from_slice(olds);
                    i.extend_from_slice(news);
                }
                _ => segs.push(Seg::Change(olds.to_vec(), news.to_vec())),
            },
        }
    }
    // A change, a lone space or mark, and a change read as one change.
    let mut merged: Vec<Seg> = Vec::new();
    for seg in segs {
        if let Seg::Change(d, i) = &seg {
            if merged.len() >= 2 {
                let bridge = matches!(&merged[merged.len() - 1], Seg::Same(t)
                    if t.len() == 1 && !matches!(t[0], Tok::Tag(_) | Tok::Word(_)));
                if bridge && matches!(merged[merged.len() - 2], Seg::Change(..)) {
                    let Some(Seg::Same(t)) = merged.pop() else {
                        unreachable!()
                    };
                    if let Some(Seg::Change(pd, pi)) = merged.last_mut() {
                        pd.extend(t.iter().copied().chain(d.iter().copied()));
                        pi.extend(t.iter().copied().chain(i.iter().copied()));
                    }
                    continue;
                }
            }
        }
        merged.push(seg);
    }
    let mut out = String::with_capacity(new.len() + 64);
    for seg in &merged {
        match seg {
            Seg::Same(t) => t.iter().for_each(|t| out.push_str(t.text())),
            Seg::Change(d, i) => {
                stats.words_deleted += d.iter().filter(|t| t.is_word()).count();
                stats.words_inserted += i.iter().filter(|t| t.is_word()).count();
                wrap(&mut out, d, "del", false);
                wrap(&mut out, i, "ins", true);
            }
        }
    }
    out
}

/// Text of `toks` inside `<tag>` runs; tags kept only from the newer side.
fn wrap(out: &mut String, toks: &[Tok], tag: &str, keep_tags: bool) {
    let mut open = false;
    // Whitespace at the edges stays outside the mark.
    let first = toks
        .iter()
        .position(|t| !matches!(t, Tok::Space(_) | Tok::Tag(_)));
    let last = toks
        .iter()
        .rposition(|t| !matches!(t, Tok::Space(_) | Tok::Tag(_)));
    for (k, t) in toks.iter().enumerate() {
        let inside = first.is_some_and(|f| k >= f) && last.is_some_and(|l| k <= l);
        match t {
            Tok::Tag(s) => {
                if open {
                    out.push_str(&format!("</{tag}>"));
                    open = false;
                }
                if keep_tags {
                    out.push_str(s);
                }
            }
            Tok::Space(s) if !inside => {
                if keep_tags {
                    out.push_str(s);
                }
            }
            other => {
                if !open {
                    out.push_str(&format!("<{tag}>"));
                    open = true;
                }
                out.push_str(other.text());
            }
        }
    }
    if open {
        out.push_str(&format!("</{tag}>"));
    }
}

const VOID: &[&str] = &["br", "hr", "img", "input", "wbr", "col"];

/// Drops end tags without a matching start and closes what is left open, so the
/// redline is well-formed whatever the word diff kept.
fn balance(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut stack: Vec<String> = Vec::new();
    for t in tokens(html) {
        let Tok::Tag(s) = t else {
            out.push_str(t.text());
            continue;
        };
        let inner = s.trim_start_matches('<').trim_end_matches('>');
        if let Some(name) = inner.strip_prefix('/') {
            let name = name.trim().to_ascii_lowercase();
            if let Some(at) = stack.iter().rposition(|n| *n == name) {
                while stack.len() > at {
                    let n = stack.pop().unwrap_or_default();
                    out.push_str(&format!("</{n}>"));
                }
            }
            continue;
        }
        let name: String = inner
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        out.push_str(s);
        if !name.is_empty() && !VOID.contains(&name.as_str()) && !inner.ends_with('/') {
            stack.push(name);
        }
    }
    while let Some(n) = stack.pop() {
        out.push_str(&format!("</{n}>"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(old: &str, new: &str) -> String {
        redline(old, new).html
    }

    #[test]
    fn a_changed_word_in_a_paragraph_is_deleted_and_inserted() {
        assert_eq!(
            body("Report within 30 days.\n", "Report within 15 days.\n"),
            "<p>Report within <del>30</del><ins>15</ins> days.</p>\n"
        );
    }

    #[test]
    fn identical_texts_have_no_marks() {
        let t = "# A\n\nText.\n\n- one\n- two\n";
        let r = redline(t, t);
        assert!(r.stats.is_empty());
        assert_eq!(
            r.html,
            "<h1>A</h1>\n<p>Text.</p>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
        );
    }

    #[test]
    fn balances_stray_and_open_tags() {
        assert_eq!(balance("a</em> <strong>b"), "a <strong>b</strong>");
    }

    #[test]
    fn longest_increasing_keeps_the_order() {
        let kept = longest_increasing(&[0, 2, 3, 1, 4]);
        assert_eq!(kept.into_iter().collect::<Vec<_>>(), vec![0, 2, 3, 4]);
    }
}

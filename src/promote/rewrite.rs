//! The texts of a promotion: the global document with a site's adaptation applied to
//! its source, and what is left of the addendum. Texts in, texts out; nothing here
//! reads git or the disk.
//!
//! The global source keeps every conditional block: an operation is applied to the
//! lines of the file, at the places `compose` would put it for the site, so the site
//! reads the same text before and after, and every other site gets it too.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use crate::parse::blocks::{fence_lines, flatten_all, OpKind};
use crate::parse::markdown::headings;
use crate::parse::Document;

/// What a free piece (Markdown of the addendum outside any operation block) is called
/// on the command line, e.g. `--keep-local site-requirements`.
pub const FREE_PIECE: &str = "site-requirements";

/// One piece of an addendum: an operation block, or its Markdown outside any block.
#[derive(Debug, Clone)]
pub struct Piece {
    /// None for the Markdown outside any operation block.
    pub op: Option<OpKind>,
    /// The section the operation works on; [`FREE_PIECE`] for the free Markdown.
    pub anchor: String,
    /// 1-based line in the addendum: the operation's opening fence, or the first line
    /// of the free Markdown.
    pub line: usize,
    /// The text inside the block, as written (blank lines at either end left out).
    pub content: Vec<String>,
    /// The opening fences of the condition blocks around the operation, outermost first.
    pub conds: Vec<String>,
    /// 0-based lines of the addendum's body the piece takes up, its fences included.
    body_lines: BTreeSet<usize>,
}

impl Piece {
    /// "append #responsibilities", or "site requirements" for the free Markdown.
    pub fn label(&self) -> String {
        match self.op {
            Some(op) => format!("{} #{}", op.as_str(), self.anchor),
            None => "site requirements (Markdown outside any block)".to_string(),
        }
    }
}

/// A file split into its front-matter lines and its body lines.
pub struct Source<'a> {
    /// Every line of the file, without line ends.
    pub lines: Vec<&'a str>,
    /// 1-based line of the body's first line.
    pub body_line: usize,
}

impl<'a> Source<'a> {
    pub fn new(text: &'a str, body_line: usize) -> Source<'a> {
        Source {
            lines: text.lines().collect(),
            body_line,
        }
    }

    fn front(&self) -> &[&'a str] {
        &self.lines[..(self.body_line - 1).min(self.lines.len())]
    }

    fn body(&self) -> &[&'a str] {
        &self.lines[(self.body_line - 1).min(self.lines.len())..]
    }
}

/// Where each block of a body opens and closes (0-based body lines).
struct BlockSpan {
    open: usize,
    close: usize,
    op: Option<(OpKind, String)>,
    /// Indices (into the span list) of the blocks around it, outermost first.
    outer: Vec<usize>,
}

fn spans(body: &[&str]) -> Vec<BlockSpan> {
    let text: String = body.iter().flat_map(|l| [*l, "\n"]).collect();
    let mut out: Vec<BlockSpan> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    for (i, fence) in fence_lines(&text).into_iter().enumerate() {
        let Some((_, rest)) = fence else { continue };
        if rest.is_empty() {
            if let Some(k) = stack.pop() {
                out[k].close = i;
            }
            continue;
        }
        let (name, args) = rest.split_once(char::is_whitespace).unwrap_or((&rest, ""));
        let op = OpKind::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| (*k, args.trim().trim_start_matches('#').to_string()));
        out.push(BlockSpan {
            open: i,
            close: body.len(),
            op,
            outer: stack.clone(),
        });
        stack.push(out.len() - 1);
    }
    out
}

fn trim_blank<S: AsRef<str>>(lines: &[S]) -> Vec<String> {
    let first = lines.iter().position(|l| !l.as_ref().trim().is_empty());
    let last = lines.iter().rposition(|l| !l.as_ref().trim().is_empty());
    match (first, last) {
        (Some(a), Some(b)) => lines[a..=b]
            .iter()
            .map(|l| l.as_ref().to_string())
            .collect(),
        _ => Vec::new(),
    }
}

/// The pieces of an addendum, in the order they are written.
pub fn pieces(addendum: &Source) -> Vec<Piece> {
    let body = addendum.body();
    let spans = spans(body);
    let mut out = Vec::new();
    let mut in_op: BTreeSet<usize> = BTreeSet::new();
    for s in &spans {
        let Some((op, anchor)) = &s.op else { continue };
        in_op.extend(s.open..=s.close.min(body.len().saturating_sub(1)));
        out.push(Piece {
            op: Some(*op),
            anchor: anchor.clone(),
            line: addendum.body_line + s.open,
            content: trim_blank(&body[(s.open + 1).min(s.close)..s.close]),
            conds: s
                .outer
                .iter()
                .map(|k| body[spans[*k].open].trim().to_string())
                .collect(),
            body_lines: (s.open..=s.close).collect(),
        });
    }
    // The free Markdown: every line outside the operation blocks, with the condition
    // blocks that still hold some of it.
    let free: Vec<usize> = (0..body.len()).filter(|i| !in_op.contains(i)).collect();
    let free_text = without_empty_blocks(free.iter().map(|i| body[*i]).collect());
    let content = trim_blank(&free_text.iter().map(String::as_str).collect::<Vec<_>>());
    if !content.is_empty() {
        let fences: BTreeSet<usize> = spans.iter().flat_map(|s| [s.open, s.close]).collect();
        let first = free
            .iter()
            .find(|i| !fences.contains(i) && !body[**i].trim().is_empty())
            .copied()
            .unwrap_or(0);
        out.push(Piece {
            op: None,
            anchor: FREE_PIECE.to_string(),
            line: addendum.body_line + first,
            content,
            conds: Vec::new(),
            body_lines: free.into_iter().filter(|i| !fences.contains(i)).collect(),
        });
    }
    out
}

/// Lines with every condition block that holds only blank lines taken out, and runs
/// of blank lines made one.
fn without_empty_blocks(mut lines: Vec<&str>) -> Vec<String> {
    loop {
        let empty = spans(&lines).into_iter().find(|s| {
            s.op.is_none()
                && s.close < lines.len()
                && lines[s.open + 1..s.close]
                    .iter()
                    .all(|l| l.trim().is_empty())
        });
        match empty {
            Some(s) => {
                lines.drain(s.open..=s.close);
            }
            None => break,
        }
    }
    let mut out: Vec<String> = Vec::new();
    for l in lines {
        if l.trim().is_empty() && out.last().is_none_or(|p| p.trim().is_empty()) {
            continue;
        }
        out.push(l.to_string());
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    out
}

/// A section of the global source, in 1-based file lines.
struct Section {
    start: usize,
    head_end: usize,
    end: usize,
    level: u8,
}

/// Why a piece cannot be applied to the global source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The global document has no section with the piece's anchor.
    NoAnchor(String),
    /// A `replace` or `remove` inside a condition block of the addendum: the global
    /// text would have to keep the old text for the sites the condition leaves out.
    Conditional,
}

/// The sections of the global document by anchor, on its source text (every
/// conditional block included), each ending before a fence that closes a block
/// around its heading or opens one its end falls inside, so a section's lines are
/// always whole blocks.
fn sections(doc: &Document, global: &Source) -> Vec<(String, Section)> {
    let mut all = Vec::new();
    flatten_all(&doc.body, &mut all);
    let heads = headings(all.iter().map(|l| &*l.text));
    let body = global.body();
    let body_end = global.body_line + body.len();
    let fences: Vec<Option<(usize, String)>> =
        fence_lines(&body.iter().flat_map(|l| [*l, "\n"]).collect::<String>());
    let mut out = Vec::new();
    for (k, h) in heads.iter().enumerate() {
        let start = all[h.start].no;
        let head_end = all[h.end - 1].no + 1;
        let mut end = heads[k + 1..]
            .iter()
            .find(|o| o.level <= h.level)
            .map_or(body_end, |o| all[o.start].no);
        let mut open: Vec<usize> = Vec::new();
        for no in head_end..end {
            match fences.get(no - global.body_line) {
                // A fence closing a block around the heading ends the section.
                Some(Some((_, rest))) if rest.is_empty() && open.is_empty() => {
                    end = no;
                    break;
                }
                Some(Some((_, rest))) if rest.is_empty() => {
                    open.pop();
                }
                Some(Some(_)) => open.push(no),
                _ => {}
            }
        }
        if let Some(first) = open.first() {
            end = *first;
        }
        let Some(anchor) = doc.anchors.get(&start) else {
            continue;
        };
        out.push((
            anchor.clone(),
            Section {
                start,
                head_end,
                end,
                level: h.level,
            },
        ));
    }
    out
}

struct Insert {
    at: usize,
    key: (u8, Reverse<u8>, u8, usize),
    lines: Vec<String>,
}

/// The site a piece kept in the global text is scoped to.
pub struct SiteScope<'a> {
    pub id: &'a str,
    pub name: &'a str,
    /// The addendum's rationale, for the notice of a kept `remove`.
    pub rationale: &'a str,
}

/// The global body with `pieces` applied (and only those), as lines: each made global,
/// or, when its flag is set, kept for the site alone inside `::: only site=<id>` (with
/// the global text a `replace` or `remove` takes out kept inside `::: except site=<id>`).
/// An error names the index of the piece refused.
pub fn apply(
    doc: &Document,
    global: &Source,
    pieces: &[(&Piece, bool)],
    scope: &SiteScope,
) -> Result<Vec<String>, (usize, Refusal)> {
    let sections = sections(doc, global);
    let body = global.body();
    let first = global.body_line;
    let body_end = first + body.len();
    let only = vec![format!("::: only site={}", scope.id)];
    let except = vec![format!("::: except site={}", scope.id)];
    let mut deleted: BTreeSet<usize> = BTreeSet::new();
    let mut inserts: Vec<Insert> = Vec::new();
    for (seq, (p, site_only)) in pieces.iter().enumerate() {
        let conds: Vec<String> = if *site_only {
            only.iter().chain(&p.conds).cloned().collect()
        } else {
            p.conds.clone()
        };
        let Some(op) = p.op else {
            // Kept for the site, it keeps the heading composing gives it there.
            let mut content = p.content.clone();
            if *site_only {
                let level = sections.iter().map(|(_, s)| s.level).min().unwrap_or(2);
                let heading = format!(
                    "{} Site requirements: {}",
                    "#".repeat(level.into()),
                    scope.name
                );
                content.splice(0..0, [heading, String::new()]);
            }
            inserts.push(Insert {
                at: body_end,
                key: (3, Reverse(0), 0, seq),
                lines: wrap(&conds, &content),
            });
            continue;
        };
        let Some((_, sec)) = sections.iter().find(|(a, _)| *a == p.anchor) else {
            return Err((seq, Refusal::NoAnchor(p.anchor.clone())));
        };
        if matches!(op, OpKind::Replace | OpKind::Remove) && !p.conds.is_empty() {
            return Err((seq, Refusal::Conditional));
        }
        let mut lines = wrap(&conds, &p.content);
        let (at, key) = match op {
            OpKind::Prepend => (sec.head_end, (0, Reverse(0), 0, seq)),
            OpKind::Replace | OpKind::Remove if *site_only => {
                deleted.extend(sec.head_end..sec.end);
                let old = trim_blank(&body[sec.head_end - first..sec.end - first]);
                if op == OpKind::Remove {
                    let notice = format!(
                        "*Not applicable at {}:* {}",
                        scope.name,
                        scope
                            .rationale
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ")
                    );
                    lines = wrap(&only, &[notice]);
                }
                if !old.is_empty() {
                    let mut both = wrap(&except, &old);
                    both.push(String::new());
                    both.extend(lines);
                    lines = both;
                }
                (sec.head_end, (0, Reverse(0), 0, seq))
            }
            OpKind::Replace => {
                deleted.extend(sec.head_end..sec.end);
                (sec.head_end, (0, Reverse(0), 0, seq))
            }
            // A section no site needs: it leaves the global text, heading and all.
            OpKind::Remove => {
                deleted.extend(sec.start..sec.end);
                continue;
            }
            OpKind::Append => (sec.end, (1, Reverse(sec.level), 0, seq)),
            OpKind::InsertAfter => (sec.end, (1, Reverse(sec.level), 1, seq)),
            OpKind::InsertBefore => (sec.start, (2, Reverse(0), 0, seq)),
        };
        inserts.push(Insert { at, key, lines });
    }
    inserts.sort_by_key(|i| (i.at, i.key));
    let mut out: Vec<String> = Vec::new();
    let mut blank_next = false;
    let mut next = inserts.iter().peekable();
    for no in first..=body_end {
        while let Some(ins) = next.next_if(|i| i.at == no) {
            // Set apart from the text before, as composing does, but not from the
            // heading of the section it opens.
            if out
                .last()
                .is_some_and(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            {
                out.push(String::new());
            }
            out.extend(ins.lines.iter().cloned());
            blank_next = true;
        }
        if no == body_end || deleted.contains(&no) {
            continue;
        }
        let line = body[no - first];
        let closing = !line.trim().is_empty() && line.trim().chars().all(|c| c == ':');
        if blank_next && !line.trim().is_empty() && !closing {
            out.push(String::new());
        }
        blank_next = false;
        if line.trim().is_empty() && out.last().is_some_and(|l| l.trim().is_empty()) {
            continue;
        }
        out.push(line.to_string());
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    Ok(out)
}

/// `content` inside the condition blocks opened by `conds`, outermost first.
fn wrap(conds: &[String], content: &[String]) -> Vec<String> {
    let mut lines: Vec<String> = conds.to_vec();
    lines.extend(content.iter().cloned());
    for open in conds.iter().rev() {
        let colons = open.len() - open.trim_start_matches(':').len();
        lines.push(":".repeat(colons));
    }
    lines
}

/// The addendum's body without the `promoted` pieces (condition blocks left empty
/// are taken out too), as lines.
pub fn shrink(addendum: &Source, promoted: &[&Piece]) -> Vec<String> {
    let gone: BTreeSet<usize> = promoted
        .iter()
        .flat_map(|p| p.body_lines.iter().copied())
        .collect();
    let body = addendum.body();
    without_empty_blocks(
        (0..body.len())
            .filter(|i| !gone.contains(i))
            .map(|i| body[i])
            .collect(),
    )
}

/// The front-matter lines with `status:` set (added before the closing `---` when
/// missing) and the keys of `drop` taken out with their continuation lines.
pub fn front_matter(source: &Source, status: Option<&str>, drop: &[&str]) -> Vec<String> {
    let front = source.front();
    let mut out: Vec<String> = Vec::new();
    let mut dropping = false;
    let mut has_status = false;
    for (i, line) in front.iter().enumerate() {
        let top = i > 0
            && i + 1 < front.len()
            && !line.starts_with([' ', '\t', '#', '-'])
            && line.contains(':');
        if top {
            let key = line.split(':').next().unwrap_or("").trim();
            dropping = drop.contains(&key);
            if key == "status" {
                has_status = true;
                if let (Some(s), false) = (status, dropping) {
                    out.push(format!("status: {s}"));
                    continue;
                }
            }
        } else if dropping && i + 1 < front.len() && line.starts_with([' ', '\t', '-']) {
            continue;
        } else {
            dropping = false;
        }
        if dropping {
            continue;
        }
        if i + 1 == front.len() && !has_status {
            if let Some(s) = status {
                out.push(format!("status: {s}"));
            }
        }
        out.push(line.to_string());
    }
    out
}

/// Front-matter and body lines as a file's text.
pub fn file_text(front: &[String], body: &[String]) -> String {
    let mut s = String::new();
    for l in front.iter().chain(body) {
        s.push_str(l);
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{corpus, BOOK};

    const GLOBAL: &str = "---\nid: SOP-1\ntitle: T\nstatus: approved\neffective: 2026-01-01\napprovals:\n  - { name: A, role: R, date: 2026-01-01 }\n---\n## Scope {#scope}\nAll.\n\n::: only market=EU\n## EU {#eu}\nEU text.\n:::\n\n## Records {#records}\n### Old {#old}\nTen years.\n\n## End {#end}\nLast.\n";

    fn global_doc() -> Document {
        let (_, c) = corpus(BOOK, &[("procedures/global/a.md", GLOBAL)]);
        Document::clone(&c.documents[0])
    }

    fn promote_all(addendum: &str) -> String {
        let doc = global_doc();
        let split = crate::parse::frontmatter::split(addendum).unwrap();
        let add = Source::new(addendum, split.body_line);
        let ps = pieces(&add);
        let all: Vec<(&Piece, bool)> = ps.iter().map(|p| (p, false)).collect();
        let global = Source::new(GLOBAL, 9);
        apply(&doc, &global, &all, &SCOPE).unwrap().join("\n")
    }

    const ADD: &str = "---\naddendum-to: SOP-1\nrationale: r\n---\n";

    const SCOPE: SiteScope = SiteScope {
        id: "cork",
        name: "Cork",
        rationale: "Local\nreasons.",
    };

    #[test]
    fn pieces_kept_in_the_global_text_are_scoped_to_the_site() {
        let a = format!(
            "{ADD}::: append #scope\nMore scope.\n:::\n\n::: replace #records\nFifteen years.\n:::\n\n::: remove #end\n:::\n\nLocal note.\n"
        );
        let split = crate::parse::frontmatter::split(&a).unwrap();
        let add = Source::new(&a, split.body_line);
        let ps = pieces(&add);
        let kept: Vec<(&Piece, bool)> = ps.iter().map(|p| (p, true)).collect();
        let global = Source::new(GLOBAL, 9);
        assert_eq!(
            apply(&global_doc(), &global, &kept, &SCOPE).unwrap().join("\n"),
            "## Scope {#scope}\nAll.\n\n::: only site=cork\nMore scope.\n:::\n\n::: only market=EU\n## EU {#eu}\nEU text.\n:::\n\n## Records {#records}\n::: except site=cork\n### Old {#old}\nTen years.\n:::\n\n::: only site=cork\nFifteen years.\n:::\n\n## End {#end}\n::: except site=cork\nLast.\n:::\n\n::: only site=cork\n*Not applicable at Cork:* Local reasons.\n:::\n\n::: only site=cork\n## Site requirements: Cork\n\nLocal note.\n:::"
        );
    }

    #[test]
    fn operations_land_where_compose_puts_them() {
        let a = format!(
            "{ADD}::: append #scope\nMore scope.\n:::\n\n::: replace #records\nFifteen years.\n:::\n\n::: insert-before #end\n## New {{#new}}\nNew.\n:::\n"
        );
        assert_eq!(
            promote_all(&a),
            "## Scope {#scope}\nAll.\n\nMore scope.\n\n::: only market=EU\n## EU {#eu}\nEU text.\n:::\n\n## Records {#records}\nFifteen years.\n\n## New {#new}\nNew.\n\n## End {#end}\nLast."
        );
    }

    #[test]
    fn a_section_inside_a_condition_ends_at_its_closing_fence() {
        let a = format!("{ADD}::: only market=EU\n::: append #eu\nMore EU.\n:::\n:::\n");
        assert_eq!(
            promote_all(&a),
            "## Scope {#scope}\nAll.\n\n::: only market=EU\n## EU {#eu}\nEU text.\n\n::: only market=EU\nMore EU.\n:::\n:::\n\n## Records {#records}\n### Old {#old}\nTen years.\n\n## End {#end}\nLast."
        );
    }

    #[test]
    fn free_markdown_is_one_piece_and_shrinking_keeps_the_rest() {
        let a = format!("{ADD}Local note.\n\n::: only market=EU\n::: append #scope\nX.\n:::\n:::\n\n::: remove #end\n:::\n");
        let split = crate::parse::frontmatter::split(&a).unwrap();
        let add = Source::new(&a, split.body_line);
        let ps = pieces(&add);
        let labels: Vec<String> = ps.iter().map(Piece::label).collect();
        assert_eq!(
            labels,
            [
                "append #scope",
                "remove #end",
                "site requirements (Markdown outside any block)"
            ]
        );
        assert_eq!(ps[0].conds, ["::: only market=EU"]);
        assert_eq!(ps[2].content, ["Local note."]);
        assert_eq!(
            shrink(&add, &[&ps[0], &ps[2]]).join("\n"),
            "::: remove #end\n:::"
        );
        assert_eq!(
            shrink(&add, &[&ps[1]]).join("\n"),
            "Local note.\n\n::: only market=EU\n::: append #scope\nX.\n:::\n:::"
        );
    }

    #[test]
    fn a_conditional_replace_and_an_unknown_anchor_are_refused() {
        let doc = global_doc();
        let global = Source::new(GLOBAL, 9);
        for (body, refusal) in [
            (
                "::: only market=EU\n::: replace #scope\nX.\n:::\n:::\n",
                Refusal::Conditional,
            ),
            (
                "::: append #nowhere\nX.\n:::\n",
                Refusal::NoAnchor("nowhere".into()),
            ),
        ] {
            let a = format!("{ADD}{body}");
            let add = Source::new(&a, 5);
            let ps = pieces(&add);
            let all: Vec<(&Piece, bool)> = ps.iter().map(|p| (p, false)).collect();
            assert_eq!(
                apply(&doc, &global, &all, &SCOPE).unwrap_err(),
                (0, refusal)
            );
        }
    }

    #[test]
    fn front_matter_edits_keep_the_other_lines() {
        let global = Source::new(GLOBAL, 9);
        assert_eq!(
            front_matter(&global, Some("in-review"), &["effective", "approvals"]).join("\n"),
            "---\nid: SOP-1\ntitle: T\nstatus: in-review\n---"
        );
        let a = format!("{ADD}x\n");
        assert_eq!(
            front_matter(&Source::new(&a, 5), Some("in-review"), &["approvals"]).join("\n"),
            "---\naddendum-to: SOP-1\nrationale: r\nstatus: in-review\n---"
        );
    }
}

//! Markdown of one composed piece to sanitized HTML: heading anchors set, links by
//! document id resolved to pages of the same site, bad links reported.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use pulldown_cmark::{CowStr, Event, Parser, Tag};

use crate::compose::{Piece, SiteDoc};
use crate::diag::{did_you_mean, Code, Diagnostic, Diagnostics};
use crate::parse::markdown::{join_lines, line_index, options};

/// What links of one site can point at.
pub struct LinkTargets<'a> {
    /// Document id → anchors, for documents published at this site.
    pub pages: BTreeMap<&'a str, &'a BTreeSet<String>>,
    /// Former id → current id.
    pub former: BTreeMap<&'a str, &'a str>,
    /// Ids known in the repository but not published at this site, with why.
    /// Documents the site does not publish: the code of a link to one, and why.
    pub absent: BTreeMap<&'a str, (Code, String)>,
    pub site_id: &'a str,
}

fn looks_like_id(s: &str) -> bool {
    let mut parts = s.splitn(2, '-');
    let head = parts.next().unwrap_or("");
    let tail = parts.next().unwrap_or("");
    !head.is_empty()
        && head
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && head.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && !tail.is_empty()
        && tail.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The sanitizer for rendered bodies: the HTML a procedure may carry, nothing that
/// could run script or restyle the site's own markings.
/// The sanitizer for text shown a second time on a page (the global text a site
/// replaced): as `sanitizer`, without ids, so anchors stay unique, and without links,
/// whose targets the site need not publish.
pub fn sanitizer_without_ids() -> ammonia::Builder<'static> {
    let mut b = sanitizer();
    for h in ["h1", "h2", "h3", "h4", "h5", "h6", "div"] {
        b.rm_tag_attributes(h, ["id"]);
    }
    b.rm_tags(["a"]);
    b
}

pub fn sanitizer() -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::default();
    b.link_rel(None)
        .add_tags(["input"])
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .add_tag_attributes("th", ["style"])
        .add_tag_attributes("td", ["style"])
        // Table cells keep their alignment and nothing else: no CSS that could
        // cover the page's own markings (watermark, preview notice).
        .filter_style_properties(std::collections::HashSet::from(["text-align"]))
        .add_tag_attributes("div", ["id"])
        .add_allowed_classes("sup", ["footnote-reference", "footnote-definition-label"])
        .add_allowed_classes("div", ["footnote-definition"]);
    for h in ["h1", "h2", "h3", "h4", "h5", "h6"] {
        b.add_tag_attributes(h, ["id"]);
    }
    b
}

/// Ids a link may name anywhere in the repository, and former ids to their
/// current id. Hrefs depend only on these, so a piece renders the same at every site.
pub struct KnownIds<'a> {
    pub ids: BTreeSet<&'a str>,
    pub former: BTreeMap<&'a str, &'a str>,
}

/// A link of a rendered piece, kept for the per-site check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRef {
    pub dest: String,
    /// Line in the piece's source file.
    pub line: usize,
    /// Where the piece's HTML links to instead of `dest`: the page of the document
    /// `dest` names, when it names one. The only part of a piece that depends on
    /// the other documents of the repository.
    pub href: Option<String>,
}

/// A piece rendered to sanitized HTML, with the links to check per site.
#[derive(Debug, Clone)]
pub struct PieceHtml {
    /// Shared by every page that shows the piece.
    pub html: Arc<str>,
    pub links: Vec<LinkRef>,
    /// Problems found while rendering: (line, message, help).
    pub problems: Vec<(usize, Code, String, String)>,
    /// SHA-256 of `html`, taken once for all the pages that show it.
    pub digest: std::sync::OnceLock<[u8; 32]>,
}

/// A piece's HTML in a page's view: the HTML itself for the template, its SHA-256 for
/// the page's key ([`crate::page_cache::keying`]), so that sites sharing a piece hash
/// its bytes once rather than once per page.
pub fn html_or_digest<S: serde::Serializer>(p: &Arc<PieceHtml>, s: S) -> Result<S::Ok, S::Error> {
    if crate::page_cache::keying() {
        let digest = p
            .digest
            .get_or_init(|| <sha2::Sha256 as sha2::Digest>::digest(p.html.as_bytes()).into());
        s.serialize_bytes(digest)
    } else {
        s.serialize_str(&p.html)
    }
}

impl PieceHtml {
    /// Whether the piece, rendered when the repository held other documents, renders
    /// the same with the ids `known`: every link leads where it led.
    pub fn same_with(&self, known: &KnownIds) -> bool {
        self.links.iter().all(|l| href_of(&l.dest, known) == l.href)
    }
}

/// What a piece may refer to elsewhere in its document: link reference definitions
/// (`[label]: target`) and footnote definitions (`[^label]: ...`). Pieces render
/// separately, so these are gathered from the whole composed Markdown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DocRefs {
    /// Lowercased label → (destination, title).
    pub links: BTreeMap<String, (String, String)>,
    pub footnotes: BTreeSet<String>,
}

impl DocRefs {
    pub fn of(markdown: &str) -> DocRefs {
        // Both need a parse of the whole text: skip it where they cannot occur.
        if !markdown.contains("]:") {
            return DocRefs::default();
        }
        let parser = Parser::new_ext(markdown, options());
        let links = parser
            .reference_definitions()
            .iter()
            .map(|(label, def)| {
                (
                    label.to_lowercase(),
                    (
                        def.dest.to_string(),
                        def.title.as_deref().unwrap_or("").to_string(),
                    ),
                )
            })
            .collect();
        if !markdown.contains("[^") {
            return DocRefs {
                links,
                footnotes: BTreeSet::new(),
            };
        }
        let footnotes = Parser::new_ext(markdown, options())
            .filter_map(|e| match e {
                Event::Start(Tag::FootnoteDefinition(label)) => Some(label.to_string()),
                _ => None,
            })
            .collect();
        DocRefs { links, footnotes }
    }
}

/// Footnote labels referenced (`[^label]`, not a definition) in a line, outside code spans.
fn footnote_refs(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut in_code = false;
    let mut rest = line;
    let mut offset = 0;
    while let Some(i) = rest.find(['`', '[']) {
        let c = rest.as_bytes()[i];
        if c == b'`' {
            in_code = !in_code;
        } else if !in_code && rest[i..].starts_with("[^") {
            if let Some(end) = rest[i + 2..].find(']') {
                let label = &rest[i + 2..i + 2 + end];
                let is_definition = offset + i == line.len() - line.trim_start().len()
                    && rest[i + 2 + end + 1..].starts_with(':');
                if !label.is_empty() && !label.contains(char::is_whitespace) && !is_definition {
                    out.push(label);
                }
            }
        }
        offset += i + 1;
        rest = &rest[i + 1..];
    }
    out
}

/// The href of a link by document id (`SOP-0020#scope` → `SOP-0020.html#scope`).
fn href_of(dest: &str, known: &KnownIds) -> Option<String> {
    let (base, anchor) = dest
        .split_once('#')
        .map_or((dest, None), |(b, a)| (b, Some(a)));
    let id = known
        .former
        .get(base)
        .copied()
        .or_else(|| known.ids.get(base).copied())?;
    Some(match anchor {
        Some(a) if !a.is_empty() => format!("{id}.html#{a}"),
        _ => format!("{id}.html"),
    })
}

/// Renders one piece. The result depends only on the piece, its document's
/// reference definitions, and, through the `href` of its links, on the repository's
/// ids; so it can be shared by every site that publishes the same text. Without a
/// `sanitizer` (a check), only its links and problems are gathered: no HTML is made.
pub fn render_piece(
    piece: &Piece,
    refs: &DocRefs,
    known: &KnownIds,
    sanitizer: Option<&ammonia::Builder>,
) -> PieceHtml {
    let (text, starts) = join_lines(piece.lines.iter().map(|l| &*l.text));
    let mut heading = 0;
    let mut events = Vec::new();
    let mut links = Vec::new();
    let mut problems = Vec::new();
    let mut broken = Vec::new();
    let callback = |link: pulldown_cmark::BrokenLink<'_>| {
        let found = refs.links.get(&link.reference.to_lowercase());
        if found.is_none() && matches!(link.link_type, pulldown_cmark::LinkType::Reference) {
            broken.push((link.span.start, link.reference.to_string()));
        }
        found.map(|(d, t)| (CowStr::from(d.clone()), CowStr::from(t.clone())))
    };
    let parser = Parser::new_with_broken_link_callback(&text, options(), Some(callback));
    for (event, range) in parser.into_offset_iter() {
        if let Event::Start(Tag::Link { dest_url, .. }) = &event {
            links.push(LinkRef {
                dest: dest_url.to_string(),
                line: piece.lines[line_index(&starts, range.start)].no,
                href: href_of(dest_url, known),
            });
        }
        // A check needs the links only.
        if sanitizer.is_none() {
            continue;
        }
        let event = match event {
            Event::Start(Tag::Heading {
                level,
                id,
                classes,
                attrs,
            }) => {
                let id = piece
                    .anchors
                    .get(heading)
                    .map(|a| CowStr::from(a.clone()))
                    .or(id);
                heading += 1;
                Event::Start(Tag::Heading {
                    level,
                    id,
                    classes,
                    attrs,
                })
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                // Where the link was recorded, just above, to lead.
                let href = links.last().and_then(|l| l.href.clone());
                let dest_url = href.map_or(dest_url, CowStr::from);
                Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                })
            }
            other => other,
        };
        events.push(event);
    }
    let html = sanitizer.map_or_else(String::new, |sanitizer| {
        let mut html = String::new();
        pulldown_cmark::html::push_html(&mut html, events.into_iter());
        sanitizer.clean(&html).to_string()
    });
    for (offset, label) in broken {
        problems.push((
            piece.lines[line_index(&starts, offset)].no,
            Code::BrokenReferenceLink,
            format!("the reference link [{label}] has no definition; it is shown as written"),
            format!("add a line `[{label}]: TARGET` to the document, or write the link inline"),
        ));
    }
    // Footnotes defined in another piece of the page would print as plain text.
    let local = DocRefs::of(&text).footnotes;
    let mut code = false;
    for l in &piece.lines {
        let t = l.text.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            code = !code;
        }
        if code {
            continue;
        }
        for label in footnote_refs(&l.text) {
            if local.contains(label) {
                continue;
            }
            let (code, msg, help) = if refs.footnotes.contains(label) {
                (
                    Code::BrokenFootnote,
                    format!("footnote [^{label}] is defined in another part of the page; it is shown as written"),
                    "define the footnote in the same section as its reference (site content and conditional blocks are separate parts)".to_string(),
                )
            } else {
                (
                    Code::BrokenFootnote,
                    format!("footnote [^{label}] has no definition; it is shown as written"),
                    format!("add `[^{label}]: text` after the paragraph that cites it"),
                )
            };
            problems.push((l.no, code, msg, help));
        }
    }
    PieceHtml {
        html: Arc::from(html),
        links,
        problems,
        digest: Default::default(),
    }
}

/// Checks the links of a rendered piece against what the site publishes. Document
/// ids linked are added to `linked`.
pub fn check_links(
    piece: &Piece,
    rendered: &PieceHtml,
    current: &SiteDoc,
    targets: &LinkTargets,
    linked: &mut BTreeSet<String>,
    diags: &mut Diagnostics,
) {
    for (line, code, msg, help) in &rendered.problems {
        diags.push(Diagnostic::warning(*code, &*piece.file, *line, msg.clone()).help(help.clone()));
    }
    for link in &rendered.links {
        match resolve(&link.dest, current, targets) {
            Ok(Some(target)) => {
                linked.insert(target);
            }
            Ok(None) => {}
            Err((code, msg, help)) => {
                diags.push(Diagnostic::error(code, &*piece.file, link.line, msg).help(help))
            }
        }
    }
}

type LinkError = (Code, String, String);

/// Checks a link destination against the site; returns the document id it links
/// to. `Ok(None)`: not a document link, left as written.
fn resolve(
    dest: &str,
    current: &SiteDoc,
    targets: &LinkTargets,
) -> Result<Option<String>, LinkError> {
    let (base, anchor) = match dest.split_once('#') {
        Some((b, a)) => (b, Some(a)),
        None => (dest, None),
    };
    if base.is_empty() {
        let anchor = anchor.unwrap_or("");
        if !anchor.is_empty() && !current.anchors.contains(anchor) {
            return Err(missing_anchor(
                &current.doc.meta.id,
                anchor,
                &current.anchors,
                targets.site_id,
            ));
        }
        return Ok(None);
    }
    let id = targets.former.get(base).copied().unwrap_or(base);
    if let Some(anchors) = targets.pages.get(id) {
        if let Some(a) = anchor.filter(|a| !a.is_empty()) {
            if !anchors.contains(a) {
                return Err(missing_anchor(id, a, anchors, targets.site_id));
            }
        }
        return Ok(Some(id.to_string()));
    }
    if let Some((code, why)) = targets.absent.get(id) {
        return Err((
            *code,
            format!(
                "links to {id}, which site {} does not publish ({why})",
                targets.site_id
            ),
            format!(
                "put the link inside `::: except site={}` or `::: only market=...`, or remove it",
                targets.site_id
            ),
        ));
    }
    if looks_like_id(base) && !base.contains('.') {
        let known: Vec<&str> = targets
            .pages
            .keys()
            .copied()
            .chain(targets.absent.keys().copied())
            .collect();
        return Err((
            Code::LinkTarget,
            format!(
                "links to {base}{}, which is not a document id",
                did_you_mean(base, known.iter().copied())
            ),
            "link to an existing document id, e.g. [CAPA](SOP-0020#scope)".into(),
        ));
    }
    Ok(None)
}

fn missing_anchor(id: &str, anchor: &str, anchors: &BTreeSet<String>, site: &str) -> LinkError {
    let list: Vec<&str> = anchors.iter().map(String::as_str).collect();
    (
        Code::LinkTarget,
        format!(
            "links to '#{anchor}' in {id}, which has no such section at site {site}{}",
            did_you_mean(anchor, list.iter().copied())
        ),
        format!(
            "anchors in {id}: {}",
            if list.is_empty() {
                "(none)".into()
            } else {
                list.join(", ")
            }
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_footnote_references_but_not_definitions_or_code() {
        assert_eq!(footnote_refs("a[^1] b[^note] `[^x]`"), ["1", "note"]);
        assert!(footnote_refs("[^1]: The note.").is_empty());
    }

    #[test]
    fn a_piece_records_where_its_links_lead_and_knows_when_another_set_of_ids_changes_that() {
        let piece = Piece {
            origin: crate::compose::Origin::Global,
            cond: None,
            file: Arc::new("procedures/global/a.md".into()),
            lines: vec![crate::parse::blocks::CondLine {
                no: 4,
                text: "See [the gowning](SOP-0002#gowning), [old](OLD-7) and [web](https://example.com).".into(),
                cond: None,
            }],
            anchors: Vec::new(),
            notice: false,
            replaced: Vec::new(),
        };
        let known = |ids: &[&'static str], former: &[(&'static str, &'static str)]| KnownIds {
            ids: ids.iter().copied().collect(),
            former: former.iter().copied().collect(),
        };
        let before = known(&["SOP-0002"], &[]);
        let html = render_piece(&piece, &DocRefs::default(), &before, Some(&sanitizer()));
        let hrefs: Vec<Option<&str>> = html.links.iter().map(|l| l.href.as_deref()).collect();
        assert_eq!(hrefs, [Some("SOP-0002.html#gowning"), None, None]);
        assert!(
            html.html.contains("href=\"SOP-0002.html#gowning\""),
            "{}",
            html.html
        );
        assert!(html.html.contains("href=\"OLD-7\""), "{}", html.html);
        assert!(html.same_with(&before));
        // Another document added changes nothing here; a former id now known does.
        assert!(html.same_with(&known(&["SOP-0002", "SOP-0003"], &[])));
        assert!(!html.same_with(&known(&["SOP-0002", "SOP-0009"], &[("OLD-7", "SOP-0009")])));
        assert!(!html.same_with(&known(&[], &[])));
    }

    #[test]
    fn recognises_document_ids() {
        assert!(looks_like_id("SOP-0020"));
        assert!(looks_like_id("WI-COR-001"));
        assert!(!looks_like_id("guide.html"));
        assert!(!looks_like_id("https://x"));
        assert!(!looks_like_id("Sop-1"));
    }

    #[test]
    fn sanitizer_keeps_only_cell_alignment() {
        let s = sanitizer();
        let out = s
            .clean("<table><tr><td style=\"text-align: center; position: fixed; z-index: 9999\">x</td></tr></table>")
            .to_string();
        assert!(
            out.contains("style=\"text-align:center\"")
                || out.contains("style=\"text-align: center\""),
            "{out}"
        );
        assert!(
            !out.contains("position") && !out.contains("z-index"),
            "{out}"
        );
    }

    #[test]
    fn sanitizer_drops_script_keeps_anchors() {
        let s = sanitizer();
        let out = s
            .clean("<h2 id=\"scope\">S</h2><script>x()</script><p onclick=\"x\">p</p>")
            .to_string();
        assert_eq!(out, "<h2 id=\"scope\">S</h2><p>p</p>");
    }
}

//! Composition: a global document, resolved for one site, with that site's addendum
//! applied. Every piece of the result remembers where it came from.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::parse::blocks::{evaluate, flatten, CondLine, SiteCtx};
use crate::parse::markdown::{headings, slugify, Heading, Slugs};
use crate::parse::{Addendum, Directive, Document, Node, OpKind};

/// Where a piece of a composed page comes from.
#[derive(serde::Serialize, Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The global document.
    Global,
    /// A document that exists only at this site.
    SiteDocument,
    /// An operation block of the site's addendum.
    Addendum {
        op: OpKind,
        anchor: String,
        line: usize,
    },
    /// Markdown of the addendum outside any block, appended under a site heading.
    SiteAppendix,
}

impl Origin {
    pub fn is_site_content(&self) -> bool {
        matches!(self, Origin::Addendum { .. } | Origin::SiteAppendix)
    }
}

/// A run of lines with one origin and one condition.
#[derive(serde::Serialize, Debug, Clone)]
pub struct Piece {
    pub origin: Origin,
    /// Label of the condition that kept these lines, e.g. "Only for market EU".
    pub cond: Option<Arc<str>>,
    /// The source file the lines come from.
    pub file: Arc<PathBuf>,
    pub lines: Vec<CondLine>,
    /// Anchors of the headings in this piece, in order.
    pub anchors: Vec<String>,
    /// The "not applicable at this site" notice of a `remove`.
    pub notice: bool,
    /// For the first piece of a `replace` or `remove`: the global text it took out,
    /// so the page can show exactly what the site does differently.
    pub replaced: Vec<CondLine>,
}

#[derive(serde::Serialize, Debug, Clone, PartialEq, Eq)]
pub struct TocEntry {
    pub level: u8,
    pub text: String,
    pub anchor: String,
}

/// One document as one site publishes it.
#[derive(serde::Serialize, Debug, Clone)]
pub struct SiteDoc<'a> {
    pub doc: &'a Document,
    pub addendum: Option<&'a Addendum>,
    /// Shared by the sites that compose the document alike (see [`TextPool`]).
    pub pieces: Arc<Vec<Piece>>,
    /// Shared, like the pieces, by the sites given the same composition.
    pub toc: Arc<Vec<TocEntry>>,
    pub anchors: Arc<BTreeSet<String>>,
    /// The composed Markdown exactly as published at this site (shared: most
    /// documents compose to the same text at many sites, see [`TextPool`]).
    pub markdown: Arc<str>,
    /// SHA-256 of `markdown`, hex.
    pub content_hash: Arc<str>,
}

impl SiteDoc<'_> {
    /// Heading text by anchor, for naming the sections site content works on.
    pub fn section_titles(&self) -> BTreeMap<&str, &str> {
        self.toc
            .iter()
            .map(|t| (t.anchor.as_str(), &*t.text))
            .collect()
    }
}

struct OpSpec {
    kind: OpKind,
    anchor: String,
    line: usize,
    /// The condition around the operation block, if any.
    cond: Option<Arc<str>>,
    content: Vec<CondLine>,
}

/// Splits an addendum into its operations and the Markdown outside any block.
fn collect_ops(
    add: &Addendum,
    nodes: &[Node],
    site: &SiteCtx,
    cond: &Option<Arc<str>>,
    ops: &mut Vec<OpSpec>,
    outside: &mut Vec<CondLine>,
    diags: &mut Diagnostics,
) {
    for node in nodes {
        match node {
            Node::Line(l) => outside.push(CondLine {
                no: l.no,
                text: l.text.clone(),
                cond: cond.clone(),
            }),
            Node::Block(b) => match &b.directive {
                Directive::Op(kind, anchor) => {
                    if let Some(inner) = first_op(&b.children) {
                        diags.push(
                            Diagnostic::error(
                                Code::BlockSyntax,
                                &*add.path,
                                inner,
                                "operation blocks cannot be nested",
                            )
                            .help(format!(
                                "close the `{}` block opened at line {} first",
                                kind.as_str(),
                                b.line
                            )),
                        );
                    }
                    let mut content = Vec::new();
                    flatten(&b.children, site, cond, &mut content);
                    ops.push(OpSpec {
                        kind: *kind,
                        anchor: anchor.clone(),
                        line: b.line,
                        cond: cond.clone(),
                        content,
                    });
                }
                other => {
                    if let Some((true, label)) = evaluate(other, site) {
                        let label = crate::parse::blocks::nested_label(cond, &label);
                        collect_ops(add, &b.children, site, &label, ops, outside, diags);
                    }
                }
            },
        }
    }
}

fn first_op(nodes: &[Node]) -> Option<usize> {
    nodes.iter().find_map(|n| match n {
        Node::Block(b) if matches!(b.directive, Directive::Op(..)) => Some(b.line),
        Node::Block(b) => first_op(&b.children),
        Node::Line(_) => None,
    })
}

struct Section {
    start: usize,
    head_end: usize,
    end: usize,
    level: u8,
}

fn section(hs: &[Heading], k: usize, len: usize) -> Section {
    let h = &hs[k];
    let end = hs[k + 1..]
        .iter()
        .find(|o| o.level <= h.level)
        .map_or(len, |o| o.start);
    Section {
        start: h.start,
        head_end: h.end,
        end,
        level: h.level,
    }
}

struct Insert {
    key: (usize, u8, Reverse<u8>, u8, usize),
    origin: usize,
    lines: Vec<CondLine>,
}

/// Composes `doc` for `site`, applying `addendum` when there is one.
pub fn compose<'a>(
    doc: &'a Document,
    addendum: Option<&'a Addendum>,
    site: &SiteCtx,
    diags: &mut Diagnostics,
) -> SiteDoc<'a> {
    let mut global = Vec::new();
    flatten(&doc.body, site, &None, &mut global);
    let g_heads = doc.headings.of(&global);
    // Anchors come from the text of all sites at once (see `Document::anchors`), so a
    // link to `#notes` reaches the same section wherever it resolves; site headings
    // must avoid all of them.
    let mut taken = Slugs::new(doc.anchors.values().cloned());
    let g_anchors: Vec<String> = g_heads
        .iter()
        .map(|h| match doc.anchors.get(&global[h.start].no) {
            Some(a) => a.clone(),
            None => taken.unique(&slugify(&h.text)),
        })
        .collect();
    report_duplicate_ids(doc, &global, &g_heads, diags);

    let base_origin = if doc.site.is_some() {
        Origin::SiteDocument
    } else {
        Origin::Global
    };
    let mut origins: Vec<(Origin, Arc<PathBuf>)> = vec![(base_origin, doc.path.clone())];
    let mut inserts: Vec<Insert> = Vec::new();
    let mut deleted = vec![false; global.len()];
    let mut notices: BTreeSet<usize> = BTreeSet::new();
    let mut replaced: BTreeMap<usize, Vec<CondLine>> = BTreeMap::new();

    if let Some(add) = addendum {
        let mut ops = Vec::new();
        let mut outside = Vec::new();
        collect_ops(add, &add.body, site, &None, &mut ops, &mut outside, diags);
        let mut resolved: Vec<(usize, Section)> = Vec::new();
        for (seq, op) in ops.iter().enumerate() {
            let Some(k) = g_anchors.iter().position(|a| *a == op.anchor) else {
                diags.push(
                    Diagnostic::error(
                        Code::UnknownAnchor,
                        &*add.path,
                        op.line,
                        format!(
                            "`{}` targets '#{}', which {} does not have (as composed for site {})",
                            op.kind.as_str(),
                            op.anchor,
                            doc.meta.id,
                            site.id
                        ),
                    )
                    .help(format!(
                        "anchors in {}{}: {}",
                        doc.meta.id,
                        crate::diag::did_you_mean(&op.anchor, g_anchors.iter().map(String::as_str)),
                        if g_anchors.is_empty() {
                            "(none)".to_string()
                        } else {
                            g_anchors.join(", ")
                        }
                    )),
                );
                continue;
            };
            resolved.push((seq, section(&g_heads, k, global.len())));
        }
        check_conflicts(add, &ops, &resolved, diags);
        for (seq, sec) in &resolved {
            let op = &ops[*seq];
            origins.push((
                Origin::Addendum {
                    op: op.kind,
                    anchor: op.anchor.clone(),
                    line: op.line,
                },
                add.path.clone(),
            ));
            let origin = origins.len() - 1;
            let mut lines = op.content.clone();
            if op.kind == OpKind::Replace && lines.iter().all(|l| l.text.trim().is_empty()) {
                diags.push(
                    Diagnostic::error(Code::EmptyReplace, &*add.path, op.line, format!("`replace #{}` has no text", op.anchor))
                        .help("write the site's text inside the block, or use `remove` to mark the section not applicable"),
                );
            }
            let key = match op.kind {
                OpKind::Prepend => (sec.head_end, 0, Reverse(0), 0, *seq),
                OpKind::Replace | OpKind::Remove => {
                    deleted[sec.head_end..sec.end]
                        .iter_mut()
                        .for_each(|d| *d = true);
                    replaced.insert(origin, global[sec.head_end..sec.end].to_vec());
                    if op.kind == OpKind::Remove {
                        notices.insert(origin);
                        lines = vec![CondLine {
                            no: op.line,
                            text: format!(
                                "*Not applicable at {}:* {}",
                                site.name,
                                crate::one_line(&add.meta.rationale)
                            )
                            .into(),
                            cond: op.cond.clone(),
                        }];
                    }
                    (sec.head_end, 0, Reverse(0), 0, *seq)
                }
                OpKind::Append => (sec.end, 1, Reverse(sec.level), 0, *seq),
                OpKind::InsertAfter => (sec.end, 1, Reverse(sec.level), 1, *seq),
                OpKind::InsertBefore => (sec.start, 2, Reverse(0), 0, *seq),
            };
            inserts.push(Insert {
                key,
                origin,
                lines: pad(lines),
            });
        }
        if outside.iter().any(|l| !l.text.trim().is_empty()) {
            let level = g_heads.iter().map(|h| h.level).min().unwrap_or(2);
            let mut lines = vec![CondLine {
                no: outside
                    .iter()
                    .find(|l| !l.text.trim().is_empty())
                    .map_or(0, |l| l.no),
                text: format!(
                    "{} Site requirements: {}",
                    "#".repeat(level as usize),
                    site.name
                )
                .into(),
                cond: None,
            }];
            lines.extend(outside);
            origins.push((Origin::SiteAppendix, add.path.clone()));
            inserts.push(Insert {
                key: (global.len(), 3, Reverse(0), 0, usize::MAX),
                origin: origins.len() - 1,
                lines: pad(lines),
            });
        }
    }
    inserts.sort_by_key(|i| i.key);

    // Lay out the composed lines, each tagged with its origin.
    let mut composed: Vec<(usize, CondLine)> = Vec::with_capacity(global.len());
    let mut next = inserts.iter().peekable();
    for pos in 0..=global.len() {
        while let Some(ins) = next.next_if(|i| i.key.0 == pos) {
            composed.extend(ins.lines.iter().map(|l| (ins.origin, l.clone())));
        }
        if pos < global.len() && !deleted[pos] {
            composed.push((0, global[pos].clone()));
        }
    }

    // Anchors: global headings keep theirs, site headings get fresh ones.
    let by_line: BTreeMap<usize, &String> = g_heads
        .iter()
        .zip(&g_anchors)
        .map(|(h, a)| (global[h.start].no, a))
        .collect();
    // Nothing inserted or taken out: the composed lines are the global ones.
    let c_heads = if inserts.is_empty() && !deleted.contains(&true) {
        Arc::clone(&g_heads)
    } else {
        Arc::new(headings(composed.iter().map(|(_, l)| &*l.text)))
    };
    let mut heading_anchor: BTreeMap<usize, String> = BTreeMap::new();
    let mut toc = Vec::new();
    for h in c_heads.iter() {
        let (origin, line) = &composed[h.start];
        let anchor = match (origin, by_line.get(&line.no)) {
            (0, Some(a)) => (*a).clone(),
            _ => match &h.explicit_id {
                Some(id) if taken.contains(id) => {
                    diags.push(
                        Diagnostic::error(
                            Code::DuplicateAnchor,
                            &*origins[*origin].1,
                            line.no,
                            format!("anchor '#{id}' is already used in {}", doc.meta.id),
                        )
                        .help("choose another {#id} for this heading"),
                    );
                    taken.unique(id)
                }
                Some(id) => {
                    taken.insert(id.clone());
                    id.clone()
                }
                None => taken.unique(&slugify(&h.text)),
            },
        };
        heading_anchor.insert(h.start, anchor.clone());
        toc.push(TocEntry {
            level: h.level,
            text: h.text.clone(),
            anchor,
        });
    }

    // Group into pieces.
    let mut pieces: Vec<Piece> = Vec::new();
    for (i, (origin, line)) in composed.iter().enumerate() {
        let same = pieces.last().is_some_and(|p| {
            p.origin == origins[*origin].0
                && p.cond == line.cond
                && Arc::ptr_eq(&p.file, &origins[*origin].1)
        });
        if !same {
            pieces.push(Piece {
                origin: origins[*origin].0.clone(),
                cond: line.cond.clone(),
                file: origins[*origin].1.clone(),
                lines: Vec::new(),
                anchors: Vec::new(),
                notice: notices.contains(origin),
                replaced: replaced.remove(origin).unwrap_or_default(),
            });
        }
        let piece = pieces.last_mut().expect("a piece was just pushed");
        piece.lines.push(line.clone());
        if let Some(a) = heading_anchor.get(&i) {
            piece.anchors.push(a.clone());
        }
    }
    pieces.retain(|p| p.lines.iter().any(|l| !l.text.trim().is_empty()));
    // Pieces are kept for the whole build: without the room they grew into.
    for p in &mut pieces {
        p.lines.shrink_to_fit();
        p.anchors.shrink_to_fit();
    }
    pieces.shrink_to_fit();

    let markdown = markdown_of(&composed);
    let content_hash = Arc::from(format!("{:x}", Sha256::digest(markdown.as_bytes())));
    SiteDoc {
        doc,
        addendum,
        pieces: Arc::new(pieces),
        anchors: Arc::new(toc.iter().map(|t| t.anchor.clone()).collect()),
        toc: Arc::new(toc),
        markdown: Arc::from(markdown),
        content_hash,
    }
}

/// A document composed without an addendum where its conditions come out alike
/// at several sites: what each of them is given, and what it reports.
type Alike<'a> = Arc<(SiteDoc<'a>, Vec<Diagnostic>)>;

/// Composed texts by content hash, and the pieces of documents composed without an
/// addendum by what they are made of, so that what several sites compose alike is
/// held once for all of them; and those compositions themselves, made once.
#[derive(Default)]
pub struct TextPool<'a> {
    texts: std::sync::Mutex<std::collections::HashMap<Arc<str>, Arc<str>>>,
    pieces: std::sync::Mutex<std::collections::HashMap<[u8; 32], Arc<Vec<Piece>>>>,
    /// By the document's address and whether each of its conditions holds.
    alike: std::sync::Mutex<std::collections::HashMap<(usize, Vec<bool>), Alike<'a>>>,
    /// When compositions are kept between builds ([`TextPool::new`]): this
    /// build's generation.
    kept: Option<u64>,
}

/// A composition as kept between builds: all of a [`SiteDoc`] but the document and
/// addendum it borrows, and what composing it reported.
struct Made {
    pieces: Arc<Vec<Piece>>,
    toc: Arc<Vec<TocEntry>>,
    anchors: Arc<BTreeSet<String>>,
    markdown: Arc<str>,
    content_hash: Arc<str>,
    /// What its pieces are made of ([`made_of`]), without an addendum.
    pieces_of: Option<[u8; 32]>,
    diags: Vec<Diagnostic>,
}

/// The compositions kept between builds, by what they are made of, each with the
/// generation of the last build that used it.
#[derive(Default)]
struct Kept {
    generation: u64,
    made: crate::KeptByBuild<[u8; 32], Arc<Made>>,
    /// The [`crate::report::line_changes`] of a global text and a site's, by their
    /// addresses: kept compositions keep their texts, and each entry holds the two
    /// it is keyed by, so that no other text can take their addresses meanwhile.
    changes: crate::KeptByBuild<[usize; 2], KeptChanges>,
}

/// The two texts, and their line changes.
type KeptChanges = ([Arc<str>; 2], (usize, u32));

fn kept() -> &'static std::sync::Mutex<Kept> {
    static KEPT: std::sync::OnceLock<std::sync::Mutex<Kept>> = std::sync::OnceLock::new();
    KEPT.get_or_init(Default::default)
}

impl<'a> TextPool<'a> {
    /// A pool that takes compositions kept by earlier builds of this process, when it
    /// keeps what it made between builds ([`crate::keep_between_builds`]: `serve`,
    /// which composes every site again at each rebuild while one file changed). A
    /// composition is a function of its document and addendum, as parsed, and of the
    /// site's id, name and markets, which key it; without an addendum, of the document
    /// and whether each of its conditions holds.
    pub fn new() -> TextPool<'a> {
        if !crate::keeps_between_builds() {
            return TextPool::default();
        }
        let mut kept = kept().lock().unwrap_or_else(|e| e.into_inner());
        kept.generation += 1;
        let generation = kept.generation;
        kept.made.start(generation);
        kept.changes.start(generation);
        TextPool {
            kept: Some(generation),
            ..TextPool::default()
        }
    }

    /// The [`crate::report::line_changes`] of `global` and `site`: kept between
    /// builds, with the compositions, by the texts' addresses.
    pub fn line_changes(&self, global: &Arc<str>, site: &Arc<str>) -> (usize, u32) {
        let Some(generation) = &self.kept else {
            return crate::report::line_changes(global, site);
        };
        let at = [
            Arc::as_ptr(global) as *const u8 as usize,
            Arc::as_ptr(site) as *const u8 as usize,
        ];
        let lock = || kept().lock().unwrap_or_else(|e| e.into_inner());
        let found = lock()
            .changes
            .get(&at, *generation)
            .and_then(|(texts, changes)| {
                (Arc::ptr_eq(&texts[0], global) && Arc::ptr_eq(&texts[1], site)).then_some(*changes)
            });
        if let Some(changes) = found {
            return changes;
        }
        let changes = crate::report::line_changes(global, site);
        lock().changes.insert(
            at,
            *generation,
            ([Arc::clone(global), Arc::clone(site)], changes),
        );
        changes
    }

    /// What `doc` with `addendum` at `site` is made of, when compositions are kept.
    fn made_key(
        &self,
        doc: &Document,
        addendum: Option<&Addendum>,
        site: &SiteCtx,
        holds: &[bool],
    ) -> Option<[u8; 32]> {
        self.kept?;
        let mut h = crate::manifest::FieldHash::default();
        h.field(&doc.digest.of(doc)?);
        match addendum {
            // Without one, only whether each condition holds is read of the site.
            None => {
                let holds: Vec<u8> = holds.iter().map(|&b| u8::from(b)).collect();
                h.field(b"").field(&holds);
            }
            Some(add) => {
                h.field(&add.digest.of(add)?)
                    .field(site.id.as_bytes())
                    .field(site.name.as_bytes())
                    .field(&site.markets.len().to_le_bytes());
                for m in site.markets {
                    h.field(m.as_bytes());
                }
            }
        }
        Some(h.finish())
    }

    /// [`compose`], or the composition an earlier build of this process made of the
    /// same, with what it reported; the pool's copy of its text and pieces either way.
    fn compose_kept(
        &self,
        doc: &'a Document,
        addendum: Option<&'a Addendum>,
        site: &SiteCtx,
        holds: &[bool],
        diags: &mut Diagnostics,
    ) -> SiteDoc<'a> {
        let key = self.made_key(doc, addendum, site, holds);
        let generation = self.kept.unwrap_or(0);
        let found = key.and_then(|k| {
            let mut kept = kept().lock().unwrap_or_else(|e| e.into_inner());
            kept.made.get(&k, generation).map(Arc::clone)
        });
        if let Some(made) = found {
            diags.extend(made.diags.iter().cloned());
            let mut sd = SiteDoc {
                doc,
                addendum,
                pieces: Arc::clone(&made.pieces),
                toc: Arc::clone(&made.toc),
                anchors: Arc::clone(&made.anchors),
                markdown: Arc::clone(&made.markdown),
                content_hash: Arc::clone(&made.content_hash),
            };
            self.share(&mut sd, made.pieces_of);
            return sd;
        }
        let mut d = Diagnostics::new();
        let mut sd = compose(doc, addendum, site, &mut d);
        let pieces_of = self.share(&mut sd, None);
        let d: Vec<Diagnostic> = d.into_iter().collect();
        if let Some(k) = key {
            let made = Made {
                pieces: Arc::clone(&sd.pieces),
                toc: Arc::clone(&sd.toc),
                anchors: Arc::clone(&sd.anchors),
                markdown: Arc::clone(&sd.markdown),
                content_hash: Arc::clone(&sd.content_hash),
                pieces_of,
                diags: d.clone(),
            };
            let mut kept = kept().lock().unwrap_or_else(|e| e.into_inner());
            kept.made.insert(k, generation, Arc::new(made));
        }
        diags.extend(d);
        sd
    }

    /// [`compose`] of `doc` with `addendum` at `site`, its text and pieces shared
    /// through the pool. Without an addendum, a composition reads nothing of the site
    /// but whether each of the document's conditions holds there: it is made once
    /// for all sites where they come out alike, each of which gets a copy of it and
    /// of what it reports.
    pub fn compose(
        &self,
        doc: &'a Document,
        addendum: Option<&'a Addendum>,
        site: &SiteCtx,
        diags: &mut Diagnostics,
    ) -> SiteDoc<'a> {
        if addendum.is_some() {
            return self.compose_kept(doc, addendum, site, &[], diags);
        }
        let mut holds = Vec::new();
        outcomes(&doc.body, site, &mut holds);
        let key = (std::ptr::from_ref(doc) as usize, holds);
        let alike = crate::made_once(&self.alike, key, |(_, holds)| {
            let mut d = Diagnostics::new();
            let sd = self.compose_kept(doc, None, site, holds, &mut d);
            Arc::new((sd, d.into_iter().collect()))
        });
        diags.extend(alike.1.iter().cloned());
        alike.0.clone()
    }

    /// The pool's copy of `sd`'s text (and of its pieces, when it has no addendum),
    /// which `sd` then shares; what its pieces are made of ([`made_of`], unless
    /// given), when it has no addendum.
    fn share(&self, sd: &mut SiteDoc, pieces_of: Option<[u8; 32]>) -> Option<[u8; 32]> {
        let mut texts = self.texts.lock().unwrap_or_else(|e| e.into_inner());
        let shared = texts
            .entry(Arc::clone(&sd.content_hash))
            .or_insert_with(|| sd.markdown.clone());
        sd.markdown = shared.clone();
        drop(texts);
        if sd.addendum.is_some() {
            return None;
        }
        let key = pieces_of.unwrap_or_else(|| made_of(sd));
        let mut pieces = self.pieces.lock().unwrap_or_else(|e| e.into_inner());
        let shared = pieces.entry(key).or_insert_with(|| Arc::clone(&sd.pieces));
        sd.pieces = Arc::clone(shared);
        Some(key)
    }
}

/// Whether each condition block of `nodes` (nested ones too, in order) holds at
/// `site`.
fn outcomes(nodes: &[Node], site: &SiteCtx, out: &mut Vec<bool>) {
    for node in nodes {
        if let Node::Block(b) = node {
            out.extend(evaluate(&b.directive, site).map(|(holds, _)| holds));
            outcomes(&b.children, site, out);
        }
    }
}

/// What the pieces of a document composed without an addendum are made of: the
/// document, and each piece's condition, anchors and lines (by number, with their
/// condition), which fix everything else of it. Every field has its length and
/// every list its count, so two different makings never write the same bytes.
fn made_of(sd: &SiteDoc) -> [u8; 32] {
    fn cond(c: &Option<Arc<str>>) -> &[u8] {
        c.as_deref().map_or(b"\xff", str::as_bytes)
    }
    let mut h = crate::manifest::FieldHash::default();
    h.field(sd.doc.path.as_os_str().as_encoded_bytes())
        .field(&sd.pieces.len().to_le_bytes());
    for p in sd.pieces.iter() {
        h.field(format!("{:?} {}", p.origin, p.notice).as_bytes())
            .field(p.file.as_os_str().as_encoded_bytes())
            .field(cond(&p.cond))
            .field(&p.anchors.len().to_le_bytes());
        for a in &p.anchors {
            h.field(a.as_bytes());
        }
        for lines in [&p.lines, &p.replaced] {
            h.field(&lines.len().to_le_bytes());
            for l in lines {
                h.field(&l.no.to_le_bytes()).field(cond(&l.cond));
            }
        }
    }
    h.finish()
}

/// The composed Markdown: the lines, with runs of blank lines collapsed and no
/// blank lines at either end, so formatting noise does not change the hash.
fn markdown_of(composed: &[(usize, CondLine)]) -> String {
    let mut out = String::new();
    let mut blank = false;
    for (_, l) in composed {
        let t = l.text.trim_end();
        if t.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if blank {
            out.push('\n');
            blank = false;
        }
        out.push_str(t);
        out.push('\n');
    }
    out
}

/// Surrounds inserted content with blank lines so it never merges with its neighbours.
fn pad(mut lines: Vec<CondLine>) -> Vec<CondLine> {
    let no = lines.first().map_or(0, |l| l.no);
    let cond = lines.first().and_then(|l| l.cond.clone());
    lines.insert(
        0,
        CondLine {
            no,
            text: Arc::from(""),
            cond: cond.clone(),
        },
    );
    lines.push(CondLine {
        no,
        text: Arc::from(""),
        cond,
    });
    lines
}

fn check_conflicts(
    add: &Addendum,
    ops: &[OpSpec],
    resolved: &[(usize, Section)],
    diags: &mut Diagnostics,
) {
    for (dseq, dsec) in resolved {
        let d = &ops[*dseq];
        if !matches!(d.kind, OpKind::Replace | OpKind::Remove) {
            continue;
        }
        for (oseq, osec) in resolved {
            if oseq == dseq {
                continue;
            }
            let o = &ops[*oseq];
            // Two rewrites of the same section: report the later one only.
            if matches!(o.kind, OpKind::Replace | OpKind::Remove)
                && osec.start == dsec.start
                && oseq < dseq
            {
                continue;
            }
            let inside = dsec.start <= osec.start && osec.start < dsec.end;
            let sibling_op = osec.start == dsec.start
                && matches!(o.kind, OpKind::InsertBefore | OpKind::InsertAfter);
            if inside && !sibling_op {
                diags.push(
                    Diagnostic::error(Code::ConflictingOperations,
                        &*add.path,
                        o.line,
                        format!(
                            "`{} #{}` conflicts with `{} #{}` at line {}, which already rewrites that section",
                            o.kind.as_str(), o.anchor, d.kind.as_str(), d.anchor, d.line
                        ),
                    )
                    .help("put the whole new text of the section into the one replace block"),
                );
            }
        }
    }
}

fn report_duplicate_ids(
    doc: &Document,
    lines: &[CondLine],
    heads: &[Heading],
    diags: &mut Diagnostics,
) {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for h in heads {
        if let Some(id) = &h.explicit_id {
            let no = lines[h.start].no;
            if let Some(first) = seen.insert(id, no) {
                diags.push(
                    Diagnostic::error(
                        Code::DuplicateAnchor,
                        &*doc.path,
                        no,
                        format!("anchor '#{id}' is also used at line {first}"),
                    )
                    .help("explicit heading ids must be unique within a document"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{corpus, doc, BOOK};

    #[test]
    fn sites_that_read_the_same_lines_share_their_headings_and_others_do_not() {
        let text = doc(
            "SOP-1",
            "",
            "## Scope {#scope}\nAll.\n\n::: only market=EU\nEU text\n---\n:::\n\n## Records\nTen years.\n",
        );
        let (config, corpus) = corpus(BOOK, &[("procedures/global/a.md", &text)]);
        let d = &corpus.documents[0];
        let lines_at = |site: &str| {
            let s = &config.site[site];
            let ctx = SiteCtx {
                id: site,
                name: &s.name,
                markets: &s.markets,
            };
            let mut lines = Vec::new();
            flatten(&d.body, &ctx, &None, &mut lines);
            lines
        };
        let (cork, boston) = (lines_at("cork"), lines_at("boston"));
        // At Cork (EU) the conditional text above `---` makes a setext heading.
        for lines in [&cork, &boston, &cork] {
            let direct = headings(lines.iter().map(|l| &*l.text));
            assert_eq!(*d.headings.of(lines), direct);
        }
        assert_eq!(d.headings.of(&cork).len(), 3);
        assert_eq!(d.headings.of(&boston).len(), 2);
        assert!(Arc::ptr_eq(&d.headings.of(&cork), &d.headings.of(&cork)));
    }

    #[test]
    fn a_composition_made_once_for_sites_alike_is_each_one_s_own_and_each_hears_its_problems() {
        let book = format!("{BOOK}\n[site.dublin]\nname = \"Dublin\"\nmarkets = [\"EU\"]\n");
        let text = doc(
            "SOP-1",
            "",
            "## A {#a}\nAll.\n\n::: only market=EU\n## EU {#eu}\nEU only.\n:::\n\n## B {#a}\nTwice.\n",
        );
        let (config, corpus) = corpus(&book, &[("procedures/global/a.md", &text)]);
        let d = &corpus.documents[0];
        let pool = TextPool::default();
        let mut made = BTreeMap::new();
        // Boston first and last: what the pool holds for Cork must never reach it.
        for site in ["boston", "cork", "dublin", "boston"] {
            let s = &config.site[site];
            let ctx = SiteCtx {
                id: site,
                name: &s.name,
                markets: &s.markets,
            };
            let (mut pooled, mut direct) = (Diagnostics::new(), Diagnostics::new());
            let sd = pool.compose(d, None, &ctx, &mut pooled);
            let alone = compose(d, None, &ctx, &mut direct);
            assert_eq!(
                serde_json::to_value(&sd).unwrap(),
                serde_json::to_value(&alone).unwrap(),
                "{site}"
            );
            let said = pooled.into_sorted();
            assert_eq!(said, direct.into_sorted(), "{site}");
            assert_eq!(said.len(), 1, "{site}: {said:?}");
            made.insert(site, sd.markdown);
        }
        assert!(made["cork"].contains("EU only.") && !made["boston"].contains("EU only."));
        assert_eq!(made["cork"], made["dublin"]);
    }

    fn composed(global: &str, addendum: Option<&str>, site: &str) -> String {
        let mut files = vec![("procedures/global/a.md", global.to_string())];
        if let Some(a) = addendum {
            files.push(("procedures/sites/cork/a.md", a.to_string()));
        }
        let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
        let (config, corpus) = corpus(BOOK, &files);
        let s = &config.site[site];
        let ctx = SiteCtx {
            id: site,
            name: &s.name,
            markets: &s.markets,
        };
        let add = corpus.addenda.iter().find(|a| a.site == site);
        let mut d = Diagnostics::new();
        let sd = compose(&corpus.documents[0], add.map(|a| &**a), &ctx, &mut d);
        assert!(!d.has_errors(), "{:?}", d.into_sorted());
        assert_eq!(
            *sd.content_hash,
            format!(
                "{:x}",
                <sha2::Sha256 as sha2::Digest>::digest(sd.markdown.as_bytes())
            )
        );
        sd.markdown.to_string()
    }

    #[test]
    fn conditions_keep_only_the_site_s_markets() {
        let g = doc(
            "SOP-1",
            "",
            "## A {#a}\nAll.\n\n::: only market=EU\nEU only.\n:::\n\n::: except market=EU\nNot EU.\n:::\n",
        );
        let cork = composed(&g, None, "cork");
        assert!(
            cork.contains("EU only.") && !cork.contains("Not EU."),
            "{cork}"
        );
        let boston = composed(&g, None, "boston");
        assert!(
            !boston.contains("EU only.") && boston.contains("Not EU."),
            "{boston}"
        );
    }

    #[test]
    fn operations_land_where_they_say_and_only_at_their_site() {
        let g = doc(
            "SOP-1",
            "",
            "## A {#a}\nGlobal A.\n\n## B {#b}\nGlobal B.\n",
        );
        let a = "---\naddendum-to: SOP-1\nrationale: r\nstatus: draft\n---\n::: prepend #a\nCork first.\n:::\n\n::: replace #b\nCork B.\n:::\n";
        let cork = composed(&g, Some(a), "cork");
        assert_eq!(
            cork.lines().filter(|l| !l.is_empty()).collect::<Vec<_>>(),
            [
                "## A {#a}",
                "Cork first.",
                "Global A.",
                "## B {#b}",
                "Cork B."
            ]
        );
        let boston = composed(&g, Some(a), "boston");
        assert!(
            boston.contains("Global B.") && !boston.contains("Cork"),
            "{boston}"
        );
    }
}

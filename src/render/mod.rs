//! Rendering: composed site documents and a theme to files in memory.

pub mod changes;
pub mod context;
pub mod markdown;
pub mod memo;
pub mod nav;
mod pruned;
pub mod record;
pub mod search;
pub mod theme;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use rayon::prelude::*;

use crate::compose::{Origin, SiteDoc};
use crate::config::Config;
use crate::config::Evidence;
use crate::diag::{display_path, Code, Diagnostic, Diagnostics};
use crate::model::{Approval, Status};
use crate::parse::{Corpus, OpKind};
use crate::site::SitePlan;
use crate::stamp::{self, FileStamp, Stamps};

use context::*;
use theme::Theme;

pub use crate::layout::{KeptFile, OutFile, Page};

pub use crate::layout::{HISTORY_FILE, STATIC_DIR};

pub fn book_view(config: &Config) -> BookView {
    BookView {
        title: config.book.title.clone(),
        organization: config.book.organization.clone(),
        approval_evidence: match config.release.approval_evidence {
            Evidence::Declared => "declared",
            Evidence::Recorded => "recorded",
            Evidence::Signed => "signed",
        }
        .to_string(),
    }
}

fn approvals(list: &[Approval], stamp: Option<&FileStamp>) -> Vec<ApprovalView> {
    list.iter()
        .enumerate()
        .map(|(i, a)| {
            let s = stamp.and_then(|s| s.approvals.get(i));
            let level = s.map_or(Evidence::Declared, |s| s.evidence);
            let signature = s.map(|s| &s.signature);
            ApprovalView {
                name: a.name.clone(),
                role: a.role.clone(),
                meaning: a.meaning.clone(),
                date: a.date.text.clone(),
                evidence: match level {
                    Evidence::Signed => "signed",
                    Evidence::Recorded => "recorded",
                    Evidence::Declared => "declared",
                }
                .into(),
                evidence_level: format!("{level:?}").to_lowercase(),
                evidence_commit: s
                    .and_then(|s| s.evidence_commit.as_ref())
                    .map(|c| c.short().to_string()),
                signature: signature.and_then(|g| g.text(&a.name)),
                signature_status: signature.map_or("none", |g| g.word()).into(),
                signature_problem: match signature {
                    Some(stamp::SignatureStatus::Invalid { reason }) => Some(reason.clone()),
                    _ => None,
                },
                recorded_in: s
                    .and_then(|s| s.recorded_in.as_ref())
                    .map(|c| c.short().to_string()),
                stale: s.is_some_and(|s| s.stale),
            }
        })
        .collect()
}

/// The commits of a document and its addendum together, newest first.
/// The revision history of a page: the commits of the document and of the site's
/// addendum. A commit that also changed another site's files is shown by date, author
/// and hash only: its message may speak of that site, whose content stays its own.
/// The subject shown for a commit that also changed another site's files.
pub const WITHHELD: &str =
    "(this change also concerns another site: its message is not shown here)";

fn history_rows(
    doc: Option<&FileStamp>,
    add: Option<&FileStamp>,
    config: &Config,
    doc_label: &str,
    other_site: impl Fn(&str) -> bool,
) -> Vec<HistoryRow> {
    let mut rows: Vec<(i64, String, HistoryRow)> = Vec::new();
    for (stamp, file) in [(doc, doc_label), (add, "addendum")] {
        for c in stamp.map(|s| s.commits.as_slice()).unwrap_or_default() {
            if let Some(existing) = rows.iter_mut().find(|r| r.1 == c.id) {
                existing.2.file = format!("{}, {file}", existing.2.file);
                continue;
            }
            rows.push((
                c.commit_time,
                c.id.clone(),
                HistoryRow {
                    date: stamp::commit_date(c.author_time, c.author_offset).to_string(),
                    time: stamp::commit_time(c.author_time, c.author_offset),
                    author: c.author.clone(),
                    committer: c.committer.clone(),
                    committed: stamp::commit_time(c.commit_time, c.commit_offset),
                    commit: c.id.clone(),
                    commit_short: c.short().to_string(),
                    subject: if other_site(&c.id) {
                        WITHHELD.to_string()
                    } else {
                        c.subject.clone()
                    },
                    trailers: if other_site(&c.id) {
                        Vec::new()
                    } else {
                        c.trailers
                            .iter()
                            .map(|(k, v)| format!("{k}: {v}"))
                            .collect()
                    },
                    change_controls: if other_site(&c.id) {
                        Vec::new()
                    } else {
                        changes::change_controls(&c.trailers, config)
                    },
                    file: file.to_string(),
                    committed_at: c.commit_time,
                },
            ));
        }
    }
    // Newest first; the walk order breaks ties between commits of the same second.
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    rows.into_iter().map(|r| r.2).collect()
}

/// What a site version publishes of a document, from its history.
pub struct PublishedFacts {
    pub revision: Option<u32>,
    pub site_revision: Option<u32>,
    /// The newest commit of the published text: the commit of the revision in force
    /// for a pending document, else the newest of its file and addendum.
    pub last_commit: Option<String>,
}

pub fn published_facts(
    sd: &SiteDoc,
    stamps: &Stamps,
    in_force: &crate::inforce::InForceMap,
) -> PublishedFacts {
    let doc_stamp = stamps.get(&sd.doc.path);
    let add_stamp = sd.addendum.and_then(|a| stamps.get(&a.path));
    let earlier = in_force.info(&sd.doc.path);
    let newest = [doc_stamp, add_stamp]
        .into_iter()
        .flatten()
        .filter_map(|s| s.last_commit())
        .fold(
            None::<&Arc<crate::repo::git::CommitInfo>>,
            |best, c| match best {
                Some(b) if b.commit_time >= c.commit_time => Some(b),
                _ => Some(c),
            },
        );
    PublishedFacts {
        revision: stamps.git.then(|| match earlier {
            Some(f) => f.revision,
            None => doc_stamp.map_or(0, |s| s.revision),
        }),
        site_revision: sd
            .addendum
            .and(stamps.git.then(|| add_stamp.map_or(0, |s| s.revision))),
        last_commit: match earlier {
            Some(f) => Some(f.commit.id.clone()),
            None => newest.map(|c| c.id.clone()),
        },
    }
}

/// Whether the site's addendum lags behind the global text.
pub fn stale_addendum(sd: &SiteDoc, stamps: &Stamps) -> bool {
    sd.addendum
        .is_some_and(|a| stamps.stale_addenda.contains(&*a.path))
}

/// An approved document whose review-due date is before the build's as-of date.
fn review_overdue(m: &crate::model::DocMeta, build: &BuildView) -> bool {
    let as_of = build
        .as_of
        .as_deref()
        .and_then(|d| crate::model::Date::parse(d).ok());
    m.status == Status::Approved && matches!((m.review_due, as_of), (Some(due), Some(t)) if due < t)
}

fn is_draft(status: Status) -> bool {
    matches!(status, Status::Draft | Status::InReview)
}

fn op_label(op: OpKind, section: &str) -> String {
    match op {
        OpKind::Append => format!("Added at the end of “{section}”"),
        OpKind::Prepend => format!("Added at the start of “{section}”"),
        OpKind::Replace => format!("Replaces the global text of “{section}”"),
        OpKind::InsertBefore => format!("Inserted before “{section}”"),
        OpKind::InsertAfter => format!("Inserted after “{section}”"),
        OpKind::Remove => format!("“{section}” does not apply at this site"),
    }
}

pub(crate) fn render_template(
    theme: &Theme,
    name: &str,
    view: &impl serde::Serialize,
    diags: &mut Diagnostics,
) -> Option<Vec<u8>> {
    let ctx = match tera::Context::from_serialize(view) {
        Ok(c) => c,
        Err(e) => {
            diags.push(Diagnostic::error(
                Code::Theme,
                format!("themes/{name}"),
                0,
                theme::error_chain(&e),
            ));
            return None;
        }
    };
    match theme.tera.render(name, &ctx) {
        // The page is kept until its site is written: not the spare capacity of
        // the buffer it was rendered into.
        Ok(s) => Some(s.into_bytes().into_boxed_slice().into_vec()),
        Err(e) => {
            diags.push(
                Diagnostic::error(
                    Code::Theme,
                    format!("templates/{name}"),
                    0,
                    format!("cannot render: {}", theme::error_chain(&e)),
                )
                .help("fix the theme template"),
            );
            None
        }
    }
}

/// What every site's render shares: the repository's ids, the sanitizer, and the
/// HTML of pieces already rendered, keyed by their text, so a body published
/// unchanged at many sites is rendered once.
pub struct Shared<'a> {
    corpus: &'a Corpus,
    config: &'a Config,
    theme: &'a Theme,
    build: &'a BuildView,
    stamps: &'a Stamps,
    known: markdown::KnownIds<'a>,
    /// Which documents publish an earlier revision in force, or none yet.
    in_force: &'a crate::inforce::InForceMap,
    /// The sites whose files each commit changed, by commit id.
    sites_of_commit: HashMap<String, BTreeSet<String>>,
    sanitizer: ammonia::Builder<'static>,
    sanitizer_without_ids: ammonia::Builder<'static>,
    /// The HTML of each piece and the search words of each document text, shared by
    /// the sites that publish them, and kept between runs.
    pub memo: Arc<memo::Memo>,
    /// Check only: render every document body (links, footnotes) but each template
    /// once per site; what is rendered is not written.
    pub check: bool,
    /// A build into an output it will record: a document's pages whose view is the
    /// one the output's page was rendered from are taken from the output. In `serve`,
    /// those whose view is one an earlier build rendered are taken from memory.
    pub pages: Option<crate::page_cache::Pages>,
    /// The rendered body of each composed text, for every site that composes it
    /// alike (they share its document, pieces and text: [`crate::compose::TextPool`]).
    bodies: std::sync::Mutex<HashMap<[usize; 3], Arc<Body>>>,
}

/// A composed text rendered: the HTML of each of its pieces, and its search words
/// once read. It holds what it is keyed by, the addresses of its pieces and its
/// text, so that no other can take them while the build runs; its document lives as
/// long as the build.
struct Body {
    _pieces: Arc<Vec<crate::compose::Piece>>,
    _text: Arc<str>,
    refs: markdown::DocRefs,
    html: Vec<Arc<markdown::PieceHtml>>,
    words: std::sync::OnceLock<Arc<search::DocWords>>,
}

/// A piece's identity for the memo: SHA-256 of everything its rendering reads but
/// the other documents' ids (which its links' `href` record, checked on use): its
/// file, anchors, lines and their numbers, the document's reference definitions it
/// may use, and whether it is rendered for a check (without HTML). A digest rather
/// than the parts: the memo holds a key for every piece of every site. Every field
/// has its length and every list its count, so two pieces never write the same
/// bytes.
fn piece_key(p: &crate::compose::Piece, refs: &markdown::DocRefs, check: bool) -> [u8; 32] {
    let mut h = crate::manifest::FieldHash::default();
    h.field(&[u8::from(check)]);
    h.field(p.file.as_os_str().as_encoded_bytes());
    h.field(&p.anchors.len().to_le_bytes());
    for a in &p.anchors {
        h.field(a.as_bytes());
    }
    h.field(&p.lines.len().to_le_bytes());
    for l in &p.lines {
        h.field(&l.no.to_le_bytes()).field(l.text.as_bytes());
    }
    h.field(&refs.links.len().to_le_bytes());
    for (label, (to, title)) in &refs.links {
        for part in [label, to, title] {
            h.field(part.as_bytes());
        }
    }
    h.field(&refs.footnotes.len().to_le_bytes());
    for f in &refs.footnotes {
        h.field(f.as_bytes());
    }
    h.finish()
}

impl<'a> Shared<'a> {
    pub fn new(
        corpus: &'a Corpus,
        in_force: &'a crate::inforce::InForceMap,
        config: &'a Config,
        theme: &'a Theme,
        build: &'a BuildView,
        stamps: &'a Stamps,
    ) -> Shared<'a> {
        let mut known = markdown::KnownIds {
            ids: BTreeSet::new(),
            former: BTreeMap::new(),
        };
        for d in &corpus.documents {
            known.ids.insert(&d.meta.id);
            for f in &d.meta.former_ids {
                known.former.insert(f, &d.meta.id);
            }
        }
        let mut sites_of_commit: HashMap<String, BTreeSet<String>> = HashMap::new();
        for (path, file) in &stamps.files {
            if let Some(site) = crate::layout::site_folder(path) {
                for c in &file.commits {
                    sites_of_commit
                        .entry(c.id.clone())
                        .or_default()
                        .insert(site.to_string());
                }
            }
        }
        Shared {
            memo: Arc::new(memo::Memo::default()),
            sites_of_commit,
            corpus,
            config,
            theme,
            build,
            stamps,
            known,
            in_force,
            sanitizer: markdown::sanitizer(),
            sanitizer_without_ids: markdown::sanitizer_without_ids(),
            check: false,
            pages: None,
            bodies: Default::default(),
        }
    }

    /// The rendered body of `sd`, the HTML of each piece from the memo: rendered once
    /// for every site that composes its document alike. A site's adaptation is its
    /// own: its body is not held for others.
    fn body(&self, sd: &SiteDoc) -> Arc<Body> {
        let render = || {
            let refs = markdown::DocRefs::of(&sd.markdown);
            let html = sd
                .pieces
                .iter()
                .map(|p| self.piece_html(p, &refs))
                .collect();
            Arc::new(Body {
                _pieces: Arc::clone(&sd.pieces),
                _text: Arc::clone(&sd.markdown),
                refs,
                html,
                words: Default::default(),
            })
        };
        if sd.addendum.is_some() {
            return render();
        }
        let key = [
            std::ptr::from_ref(sd.doc) as usize,
            Arc::as_ptr(&sd.pieces) as usize,
            Arc::as_ptr(&sd.markdown).cast::<u8>() as usize,
        ];
        crate::made_once(&self.bodies, key, |_| render())
    }

    /// The search words of `sd`, whose body is `body`: read once for every site
    /// that publishes its text.
    fn body_words(&self, sd: &SiteDoc, body: &Body) -> Arc<search::DocWords> {
        let words = body.words.get_or_init(|| {
            self.doc_words(&search::IndexedDoc {
                id: &sd.doc.meta.id,
                title: &sd.doc.meta.title,
                html: body.html.iter().map(|p| &*p.html).collect(),
            })
        });
        Arc::clone(words)
    }

    /// A document's search words, read once for every site that publishes its text.
    fn doc_words(&self, doc: &search::IndexedDoc) -> Arc<search::DocWords> {
        self.memo.words(doc.key(), || doc.words())
    }

    /// The global text a `replace` or `remove` took out, rendered without anchors.
    fn replaced_html(&self, p: &crate::compose::Piece, refs: &markdown::DocRefs) -> Option<String> {
        if self.check || p.replaced.iter().all(|l| l.text.trim().is_empty()) {
            return None;
        }
        let global = crate::compose::Piece {
            lines: p.replaced.clone(),
            anchors: Vec::new(),
            replaced: Vec::new(),
            ..p.clone()
        };
        Some(
            markdown::render_piece(
                &global,
                refs,
                &self.known,
                Some(&self.sanitizer_without_ids),
            )
            .html
            .to_string(),
        )
    }

    /// A document's page (`name`, at `path`) of `site`: its template applied to the
    /// view `view` makes of `made_of` (all that the view is made of), or the output's
    /// page made of the same.
    fn document_page<V: serde::Serialize>(
        &self,
        site: &str,
        name: &str,
        path: String,
        made_of: &impl serde::Serialize,
        view: impl FnOnce() -> V,
        diags: &mut Diagnostics,
    ) -> Option<Page> {
        let render = || render_template(self.theme, name, &view(), diags);
        match &self.pages {
            Some(pages) => pages.page(site, &self.build.version, name, path, made_of, render),
            None => render().map(|bytes| Page::Made(OutFile { path, bytes })),
        }
    }

    /// A page of the site (not a document's): its template applied to `view`, or, in
    /// `serve`, the same page an earlier build rendered.
    fn site_page(
        &self,
        name: &str,
        view: &impl serde::Serialize,
        diags: &mut Diagnostics,
    ) -> Option<Vec<u8>> {
        let mut render = || render_template(self.theme, name, view, diags);
        match &self.pages {
            Some(pages) => pages.made(name, view, render),
            None => render(),
        }
    }

    fn piece_html(
        &self,
        p: &crate::compose::Piece,
        refs: &markdown::DocRefs,
    ) -> Arc<markdown::PieceHtml> {
        let key = piece_key(p, refs, self.check);
        let same = |html: &markdown::PieceHtml| html.same_with(&self.known);
        self.memo.piece(key, same, || {
            // A check needs a piece's links and problems, not its HTML.
            markdown::render_piece(
                p,
                refs,
                &self.known,
                (!self.check).then_some(&self.sanitizer),
            )
        })
    }
}

/// Renders one site's version directory from its composed documents: index, one
/// page and one diff page per document, history.json, harmonization.html and static
/// files. Documents render in parallel; their files go to `out` a few documents at
/// a time, in no particular order of paths, with the pages kept as the output holds
/// them.
#[allow(clippy::too_many_arguments)]
pub fn render_site(
    shared: &Shared,
    plan: &SitePlan,
    site_docs: &[SiteDoc],
    cells: &crate::report::SiteCells,
    previous: Option<(&str, &BTreeMap<String, crate::report::DocText>)>,
    network: Option<&[crate::network::SiteTrendRow]>,
    out: &mut dyn FnMut(Vec<OutFile>, Vec<KeptFile>),
    diags: &mut Diagnostics,
) {
    let (corpus, config, theme, build, stamps) = (
        shared.corpus,
        shared.config,
        shared.theme,
        shared.build,
        shared.stamps,
    );
    let mut targets = markdown::LinkTargets {
        pages: BTreeMap::new(),
        former: BTreeMap::new(),
        absent: BTreeMap::new(),
        site_id: plan.id,
    };
    for sd in site_docs {
        targets.pages.insert(&sd.doc.meta.id, &sd.anchors);
        for f in &sd.doc.meta.former_ids {
            targets.former.insert(f, &sd.doc.meta.id);
        }
    }
    for o in &plan.omitted {
        targets
            .absent
            .insert(&o.doc.meta.id, (Code::LinkTarget, o.reason.clone()));
    }
    for d in &plan.obsolete {
        targets.absent.insert(
            &d.meta.id,
            (Code::ObsoleteLink, "it is obsolete".to_string()),
        );
    }
    for d in &plan.unreleased {
        let why = match d.meta.effective {
            Some(e) if shared.in_force.not_yet(&d.path) => format!("it is not in force until {e}"),
            _ => format!(
                "it is {}, and a release publishes approved documents only",
                d.meta.status.as_str()
            ),
        };
        targets.absent.insert(&d.meta.id, (Code::DraftLink, why));
    }
    for d in &plan.other_sites {
        let sites = d
            .meta
            .external
            .as_ref()
            .map_or_else(String::new, |e| e.sites.join(", "));
        targets.absent.insert(
            &d.meta.id,
            (
                Code::LinkTarget,
                format!("the external-documents register lists it for sites {sites} only"),
            ),
        );
    }
    for doc in &corpus.documents {
        if let Some(s) = doc.site.as_deref().filter(|s| *s != plan.id) {
            targets.absent.insert(
                &doc.meta.id,
                (Code::LinkTarget, format!("a document of site {s}")),
            );
        }
    }

    let site_view = SiteView {
        id: plan.id.to_string(),
        name: plan.config.name.clone(),
        markets: plan.config.markets.clone(),
    };
    type Viewed = (
        Vec<PieceView>,
        Option<Arc<search::DocWords>>,
        BTreeSet<String>,
        Diagnostics,
    );
    let rendered: Vec<Viewed> = site_docs
        .par_iter()
        .map(|sd| {
            let mut d = Diagnostics::new();
            let mut links = BTreeSet::new();
            let body = shared.body(sd);
            let view = body_view(sd, &body, plan, shared, &targets, &mut links, &mut d);
            // Each document's words, from its HTML put together only while they are read.
            let words = (!shared.check).then(|| shared.body_words(sd, &body));
            (view, words, links, d)
        })
        .collect();
    let mut bodies = Vec::with_capacity(rendered.len());
    let mut words: Vec<Arc<search::DocWords>> = Vec::with_capacity(rendered.len());
    let mut referenced_by: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (sd, (body, doc_words, links, d)) in site_docs.iter().zip(rendered) {
        diags.extend(d.into_sorted());
        for target in &links {
            if let Some((id, _)) = targets.pages.get_key_value(target.as_str()) {
                if *id != sd.doc.meta.id {
                    referenced_by.entry(id).or_default().insert(&sd.doc.meta.id);
                }
            }
        }
        bodies.push(body);
        words.extend(doc_words);
    }
    let titles: BTreeMap<&str, &str> = site_docs
        .iter()
        .map(|sd| (sd.doc.meta.id.as_str(), sd.doc.meta.title.as_str()))
        .collect();
    let site_nav = nav::SiteNav::new(site_docs, config);
    let citations = citations(site_docs);
    // A check tries the page template on the first document and the comparison
    // template on the first adapted one; a build renders every page.
    let first_adapted = site_docs.iter().position(|sd| sd.addendum.is_some());
    // It tries the history page, and the page's link to it, on the document with the
    // most changes, so a template that fails only there fails the check.
    let history_sample = if shared.check {
        site_docs
            .iter()
            .enumerate()
            .max_by_key(|(i, sd)| {
                let changes = [Some(&sd.doc.path), sd.addendum.map(|a| &a.path)]
                    .into_iter()
                    .flatten()
                    .filter_map(|p| stamps.get(p))
                    .map(|s| s.changes)
                    .sum::<usize>();
                (changes, std::cmp::Reverse(*i))
            })
            .map(|(i, _)| i)
    } else {
        None
    };
    let sampled =
        |i: usize| !shared.check || i == 0 || Some(i) == first_adapted || Some(i) == history_sample;
    // Pages go to `out` a few at a time, so only those in flight are held.
    let mut records = Vec::with_capacity(site_docs.len());
    for (c, chunk) in site_docs.chunks(PAGES_AT_ONCE).enumerate() {
        let first = c * PAGES_AT_ONCE;
        let pages: Vec<(Vec<Page>, DocRecord, Diagnostics)> = chunk
            .par_iter()
            .zip(bodies.drain(..chunk.len()).collect::<Vec<_>>())
            .enumerate()
            .filter(|(i, _)| sampled(first + *i))
            .map(|(i, (sd, body))| {
                let mut d = Diagnostics::new();
                let mut view = page_view(
                    sd,
                    body,
                    &referenced_by,
                    &titles,
                    config,
                    &site_view,
                    build,
                    stamps,
                    shared,
                    site_nav.view(&sd.doc.meta.id),
                    &citations,
                );
                // A long history is on a page of its own; the page shows the newest.
                let id = &sd.doc.meta.id;
                let total = view.doc.history.len();
                let whole_page = total > HISTORY_ON_PAGE || history_sample == Some(first + i);
                if whole_page {
                    view.full_history = Some(FullHistoryLink {
                        href: crate::layout::history_page(id),
                        shown: HISTORY_ON_PAGE.min(total),
                        total,
                    });
                }
                let mut file: Vec<Page> = shared
                    .document_page(
                        plan.id,
                        "page.html",
                        format!("{id}.html"),
                        &view,
                        || &view,
                        &mut d,
                    )
                    .into_iter()
                    .collect();
                if whole_page {
                    let history = HistoryPageView {
                        book: view.book.clone(),
                        site: &site_view,
                        build: &view.build,
                        id,
                        title: &sd.doc.meta.title,
                        adapted: view.doc.adapted,
                        history: &view.doc.history,
                        portal_href: PORTAL_HREF,
                    };
                    file.extend(shared.document_page(
                        plan.id,
                        "history.html",
                        crate::layout::history_page(id),
                        &history,
                        || &history,
                        &mut d,
                    ));
                }
                let global = cells.texts.get(&sd.doc.meta.id).and_then(|t| {
                    t.global.as_deref().map(|text| Text {
                        text,
                        hash: t.global_hash.as_deref(),
                    })
                });
                // Only an adapted document has a comparison to show; the page of one
                // published unchanged says so instead of linking to a page that would.
                if sd.addendum.is_some() {
                    let inputs = diff_inputs(sd, global, config, &site_view, build);
                    file.extend(shared.document_page(
                        plan.id,
                        "diff.html",
                        format!("{id}.diff.html"),
                        &inputs,
                        || diff_view(&inputs),
                        &mut d,
                    ));
                }
                let record = DocRecord {
                    doc: view.doc,
                    adaptation: view.adaptation,
                };
                (file, record, d)
            })
            .collect();
        let mut files = Vec::with_capacity(pages.len() * 2);
        let mut kept = Vec::new();
        for (file, record, d) in pages {
            diags.extend(d.into_sorted());
            for page in file {
                match page {
                    Page::Made(f) => files.push(f),
                    Page::Kept(k) => kept.push(k),
                }
            }
            records.push(record);
        }
        out(files, kept);
    }
    let mut files = Vec::with_capacity(8);
    // What changed since the previous version, when the build has one to compare with.
    let history_of = |id: &str| {
        corpus
            .documents
            .iter()
            .find(|d| d.meta.id == id && d.site.as_deref().is_none_or(|s| s == plan.id))
            .map(|d| {
                history_rows(stamps.get(&d.path), None, config, "document", |commit| {
                    shared
                        .sites_of_commit
                        .get(commit)
                        .is_some_and(|sites| sites.iter().any(|s| s != plan.id))
                })
            })
            .unwrap_or_default()
    };
    let changes = changes::view(
        &changes::Input {
            previous,
            cells,
            records: &records,
            plan,
            site_docs,
            history_of: &history_of,
        },
        config,
        &site_view,
        build,
    );
    if let Some(bytes) = shared.site_page("changes.html", &changes, diags) {
        files.push(OutFile {
            path: "changes.html".into(),
            bytes,
        });
    }
    files.push(OutFile {
        path: "changes.json".into(),
        bytes: changes::json(&changes),
    });
    // The rest is four files made from what is above, each on its own: made side by
    // side, they are not the tail of the site, on one core.
    let search_index = || {
        let indexed: Vec<([&str; 2], &search::DocWords)> = site_docs
            .iter()
            .map(|sd| [sd.doc.meta.id.as_str(), sd.doc.meta.title.as_str()])
            .zip(words.iter().map(|w| &**w))
            .collect();
        search::index_of(&indexed)
    };
    let history = || record::history_json(&site_view, build, records);
    let index = || {
        let mut d = Diagnostics::new();
        let index = index_view(
            plan,
            site_docs,
            config,
            &site_view,
            build,
            stamps,
            shared.in_force,
        );
        (shared.site_page("index.html", &index, &mut d), d)
    };
    let harmonization = || {
        let mut d = Diagnostics::new();
        let view = harmonization_view(plan, site_docs, cells, config, &site_view, build, network);
        (shared.site_page("harmonization.html", &view, &mut d), d)
    };
    let ((search_index, history), ((index, index_d), (harmonization, harmonization_d))) =
        rayon::join(
            || rayon::join(search_index, history),
            || rayon::join(index, harmonization),
        );
    files.push(OutFile {
        path: search::SEARCH_INDEX.into(),
        bytes: search_index,
    });
    match history {
        Ok(bytes) => {
            files.push(OutFile {
                path: HISTORY_FILE.into(),
                bytes,
            });
        }
        Err(e) => diags.push(Diagnostic::error(
            Code::Theme,
            HISTORY_FILE,
            0,
            e.to_string(),
        )),
    }
    diags.extend(index_d.into_sorted());
    if let Some(bytes) = index {
        files.push(OutFile {
            path: "index.html".into(),
            bytes,
        });
    }
    for (name, bytes) in &theme.statics {
        files.push(OutFile {
            path: format!("{STATIC_DIR}/{name}"),
            bytes: bytes.clone(),
        });
    }
    diags.extend(harmonization_d.into_sorted());
    if let Some(bytes) = harmonization {
        files.push(OutFile {
            path: "harmonization.html".into(),
            bytes,
        });
    }
    out(files, Vec::new());
}

/// A site's harmonization page: its own rows of the report, and its trend (its own
/// figures and the network's medians, numbers only).
fn harmonization_view(
    plan: &SitePlan,
    site_docs: &[SiteDoc],
    cells: &crate::report::SiteCells,
    config: &Config,
    site_view: &SiteView,
    build: &BuildView,
    network: Option<&[crate::network::SiteTrendRow]>,
) -> ReportView {
    let mut own = BTreeMap::new();
    own.insert(plan.id.to_string(), cells.clone());
    let titles: BTreeMap<String, String> = site_docs
        .iter()
        .map(|sd| (sd.doc.meta.id.clone(), sd.doc.meta.title.clone()))
        .chain(
            plan.omitted
                .iter()
                .map(|o| (o.doc.meta.id.clone(), o.doc.meta.title.clone())),
        )
        .collect();
    let site_trend = network.map(<[_]>::to_vec).unwrap_or_default();
    let charts = if site_trend.is_empty() {
        Vec::new()
    } else {
        vec![ChartView {
            name: site_view.name.clone(),
            svg: crate::network::chart_of_rows(&site_view.name, &site_trend),
        }]
    };
    ReportView {
        book: book_view(config),
        site: Some(site_view.clone()),
        build: build.clone(),
        report: crate::report::assemble(config, &own, &titles),
        portal_href: PORTAL_HREF.into(),
        charts,
        site_trend,
    }
}

/// Documents whose pages are rendered before they are handed over: enough to keep
/// every thread busy, few enough that a site's pages are never all in memory.
const PAGES_AT_ONCE: usize = 64;
/// Changes a document page shows, newest first; a longer history is on a page of its
/// own, so a page does not grow with its history.
pub const HISTORY_ON_PAGE: usize = 10;
/// The portal, from a page of a version folder.
const PORTAL_HREF: &str = "../../index.html";

/// The harmonization report of every site, for the quality system owner.
pub fn render_report(
    config: &Config,
    theme: &Theme,
    build: &BuildView,
    report: crate::report::Report,
    pages: Option<&crate::page_cache::Pages>,
    diags: &mut Diagnostics,
) -> Option<Vec<OutFile>> {
    let names: Vec<(String, String)> = report
        .sites
        .iter()
        .map(|s| (s.id.clone(), s.name.clone()))
        .collect();
    let charts = report
        .trend
        .as_ref()
        .map(|t| crate::network::site_charts(t, &names))
        .unwrap_or_default()
        .into_iter()
        .map(|(name, svg)| ChartView { name, svg })
        .collect();
    let view = ReportView {
        book: book_view(config),
        site: None,
        build: build.clone(),
        report,
        portal_href: "../index.html".into(),
        charts,
        site_trend: Vec::new(),
    };
    let mut render = || render_template(theme, "harmonization.html", &view, diags);
    let page = match pages {
        Some(pages) => pages.made("harmonization.html", &view, render),
        None => render(),
    }?;
    let mut files = vec![OutFile {
        path: "report/index.html".into(),
        bytes: page,
    }];
    for (name, bytes) in &theme.statics {
        files.push(OutFile {
            path: format!("report/{STATIC_DIR}/{name}"),
            bytes: bytes.clone(),
        });
    }
    files.push(OutFile {
        path: "report/report.json".into(),
        bytes: crate::report::to_json(&view.report).into_bytes(),
    });
    files.push(OutFile {
        path: "report/report.csv".into(),
        bytes: crate::report::to_csv(&view.report).into_bytes(),
    });
    files.push(OutFile {
        path: "report/candidates.csv".into(),
        bytes: crate::network::candidates_csv(&view.report.candidates).into_bytes(),
    });
    if let Some(t) = &view.report.trend {
        files.push(OutFile {
            path: "report/trend.csv".into(),
            bytes: crate::network::trend_csv(t).into_bytes(),
        });
    }
    files.push(OutFile {
        path: "report/report.md".into(),
        bytes: crate::report::to_markdown(&view.report).into_bytes(),
    });
    Some(files)
}

/// All that a comparison page is made of: the key of the page in the record of the
/// output's pages, so that an unchanged comparison is neither diffed nor rendered
/// again. [`diff_view`] reads nothing else.
#[derive(serde::Serialize)]
struct DiffInputs<'a> {
    book: BookView,
    site: &'a SiteView,
    build: BuildView,
    id: &'a str,
    title: &'a str,
    site_only: bool,
    rationale: Option<&'a str>,
    /// The global text as the site would publish it without its addendum, and the
    /// site's text.
    global: Option<Text<'a>>,
    markdown: Text<'a>,
    /// Which addendum operation each changed line comes from.
    labels: Vec<(String, String)>,
}

/// A text of a comparison, in its key by its SHA-256 (its content hash, when it is
/// known): sites that compare the same texts hash them once, not once per page.
struct Text<'a> {
    text: &'a str,
    hash: Option<&'a str>,
}

impl serde::Serialize for Text<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.hash {
            Some(hash) => s.serialize_str(hash),
            None => {
                use sha2::Digest;
                s.serialize_str(&format!("{:x}", sha2::Sha256::digest(self.text.as_bytes())))
            }
        }
    }
}

fn diff_inputs<'a>(
    sd: &'a SiteDoc,
    global: Option<Text<'a>>,
    config: &Config,
    site: &'a SiteView,
    build: &BuildView,
) -> DiffInputs<'a> {
    DiffInputs {
        book: book_view(config),
        site,
        build: build.of_document(false),
        id: &sd.doc.meta.id,
        title: &sd.doc.meta.title,
        site_only: sd.doc.site.is_some(),
        rationale: sd.addendum.map(|a| a.meta.rationale.as_str()),
        global,
        markdown: Text {
            text: &sd.markdown,
            hash: Some(&sd.content_hash),
        },
        labels: crate::diff::labels_of(sd),
    }
}

/// A document at this site against the global text as the site would publish it
/// without its addendum (conditions resolved the same way on both sides).
fn diff_view(i: &DiffInputs) -> DiffView {
    let markdown = i.markdown.text;
    let hunks = match &i.global {
        Some(global) => crate::diff::labelled_hunks(global.text, markdown, &i.labels),
        None => Vec::new(),
    };
    let redline = match &i.global {
        Some(global) if !hunks.is_empty() => crate::redline::redline(global.text, markdown),
        _ => crate::redline::Redline::default(),
    };
    DiffView {
        book: i.book.clone(),
        site: i.site.clone(),
        build: i.build.clone(),
        id: i.id.to_string(),
        title: i.title.to_string(),
        identical: hunks.is_empty() && !i.site_only,
        site_only: i.site_only,
        rationale: i.rationale.map(str::to_string),
        redline: redline.html,
        redline_stats: redline.stats,
        hunks,
        portal_href: PORTAL_HREF.into(),
    }
}

/// The composed body of one document as piece views, its links checked.
fn body_view(
    sd: &SiteDoc,
    body: &Body,
    plan: &SitePlan,
    shared: &Shared,
    targets: &markdown::LinkTargets,
    links: &mut BTreeSet<String>,
    diags: &mut Diagnostics,
) -> Vec<PieceView> {
    let refs = &body.refs;
    let sections = sd.section_titles();
    sd.pieces
        .iter()
        .zip(&body.html)
        .map(|(p, rendered)| {
            markdown::check_links(p, rendered, sd, targets, links, diags);
            let (origin, op, label, anchor) = match &p.origin {
                Origin::Global => ("global", None, None, None),
                Origin::SiteDocument => ("site-only", None, None, None),
                Origin::Addendum { op, anchor, .. } => {
                    let section = sections.get(anchor.as_str()).copied().unwrap_or(anchor);
                    (
                        "site",
                        Some(op.as_str().to_string()),
                        Some(op_label(*op, section)),
                        Some(anchor.clone()),
                    )
                }
                Origin::SiteAppendix => (
                    "site-appendix",
                    None,
                    Some(format!("Site requirements of {}", plan.config.name)),
                    None,
                ),
            };
            PieceView {
                origin: origin.into(),
                op,
                label,
                anchor,
                condition: p.cond.as_deref().map(str::to_string),
                notice: p.notice,
                html: Arc::clone(rendered),
                replaced_html: shared.replaced_html(p, refs),
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn page_view(
    sd: &SiteDoc,
    body: Vec<PieceView>,
    referenced_by: &BTreeMap<&str, BTreeSet<&str>>,
    titles: &BTreeMap<&str, &str>,
    config: &Config,
    site: &SiteView,
    build: &BuildView,
    stamps: &Stamps,
    shared: &Shared,
    nav: NavView,
    citations: &BTreeMap<String, Vec<CitationView>>,
) -> PageView {
    let in_force = shared.in_force;
    let m = &sd.doc.meta;
    let doc_stamp = stamps.get(&sd.doc.path);
    let add_stamp = sd.addendum.and_then(|a| stamps.get(&a.path));
    let history = history_rows(
        doc_stamp,
        add_stamp,
        config,
        if sd.doc.site.is_some() {
            "document"
        } else {
            "global"
        },
        |commit| {
            shared
                .sites_of_commit
                .get(commit)
                .is_some_and(|sites| sites.iter().any(|s| s != &site.id))
        },
    );
    let newest = history.first();
    let sections = sd.section_titles();
    let adaptation = sd.addendum.map(|a| AdaptationView {
        source: display_path(&a.path),
        rationale: a.meta.rationale.clone(),
        status: a.meta.status.as_str().into(),
        draft: is_draft(a.meta.status),
        base_revision: a.meta.base_revision,
        reviewed_against: match (doc_stamp, add_stamp) {
            (Some(g), Some(s)) if stamps.git => stamp::reviewed_against(g, s, a.meta.base_revision),
            _ => a.meta.base_revision,
        },
        approvals: approvals(&a.meta.approvals, add_stamp),
        operations: sd
            .pieces
            .iter()
            .filter_map(|p| match &p.origin {
                Origin::Addendum { op, anchor, line } => Some(OperationView {
                    op: op.as_str().into(),
                    anchor: anchor.clone(),
                    section: sections
                        .get(anchor.as_str())
                        .map_or_else(|| anchor.clone(), |s| s.to_string()),
                    line: *line,
                }),
                _ => None,
            })
            .fold(Vec::<OperationView>::new(), |mut acc, o| {
                if !acc.iter().any(|x| x.line == o.line) {
                    acc.push(o);
                }
                acc
            }),
    });
    let PublishedFacts {
        revision,
        site_revision,
        ..
    } = published_facts(sd, stamps, in_force);
    let upcoming = in_force.info(&sd.doc.path).map(|f| UpcomingView {
        status: f.upcoming_status.as_str().into(),
        effective: f.upcoming_effective.map(|d| d.to_string()),
        revision: doc_stamp.map_or(0, |s| s.revision),
        since: stamp::commit_date(f.commit.commit_time, f.commit.commit_offset).to_string(),
    });
    let overdue = review_overdue(m, build);
    PageView {
        book: book_view(config),
        site: site.clone(),
        build: build.of_document(upcoming.is_some() || overdue),
        doc: DocView {
            id: m.id.clone(),
            title: m.title.clone(),
            doc_type: m.doc_type.clone(),
            owner: m.owner.clone(),
            status: m.status.as_str().into(),
            effective: m.effective.map(|d| d.to_string()),
            review_due: m.review_due.map(|d| d.to_string()),
            approvals: approvals(&m.approvals, doc_stamp),
            markets: m.markets.clone(),
            clauses: m.clauses.clone(),
            supersedes: m.supersedes.clone(),
            former_ids: m.former_ids.clone(),
            classification: m.classification.map(|c| c.as_str().to_string()),
            training: m.training.clone(),
            content_hash: sd.content_hash.to_string(),
            content_hash_short: sd.content_hash[..12].to_string(),
            source: display_path(&sd.doc.path),
            site_only: sd.doc.site.is_some(),
            adapted: sd.addendum.is_some(),
            draft: is_draft(m.status) || sd.addendum.is_some_and(|a| is_draft(a.meta.status)),
            revision,
            upcoming,
            site_revision,
            changes: history.len(),
            last_changed: newest.map(|r| r.date.clone()),
            source_commit: match in_force.info(&sd.doc.path) {
                Some(f) => Some(f.commit.id.clone()),
                None => newest.map(|r| r.commit.clone()),
            },
            source_commit_short: match in_force.info(&sd.doc.path) {
                Some(f) => Some(f.commit.short().to_string()),
                None => newest.map(|r| r.commit_short.clone()),
            },
            history_incomplete: stamps.incomplete,
            uncommitted: doc_stamp.is_some_and(|s| s.uncommitted)
                || add_stamp.is_some_and(|s| s.uncommitted),
            stale_addendum: stale_addendum(sd, stamps),
            review_overdue: overdue,
            history,
            external: external_view(m, citations),
            retention: config.retention.get(&m.doc_type).map(|r| RetentionView {
                years: r.years,
                rule: r.rule.clone(),
            }),
        },
        adaptation,
        toc: sd
            .toc
            .iter()
            .map(|t| TocView {
                level: t.level,
                text: t.text.clone(),
                anchor: t.anchor.clone(),
            })
            .collect(),
        body,
        referenced_by: referenced_by
            .get(m.id.as_str())
            .into_iter()
            .flatten()
            .map(|id| LinkView {
                id: id.to_string(),
                title: titles.get(id).copied().unwrap_or_default().to_string(),
                href: format!("{id}.html"),
            })
            .collect(),
        portal_href: PORTAL_HREF.into(),
        nav,
        print: print_stamp(sd, site, build, revision, site_revision),
        full_history: None,
    }
}

/// The documents of a site version that cite each of its external documents in their
/// `clauses`, by the external document's id.
fn citations(site_docs: &[SiteDoc]) -> BTreeMap<String, Vec<CitationView>> {
    let register: Vec<&crate::parse::Document> = site_docs
        .iter()
        .map(|sd| sd.doc)
        .filter(|d| d.meta.is_external())
        .collect();
    let mut out: BTreeMap<String, Vec<CitationView>> = BTreeMap::new();
    if register.is_empty() {
        return out;
    }
    for sd in site_docs.iter().filter(|sd| !sd.doc.meta.is_external()) {
        let mut by_entry: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for c in &sd.doc.meta.clauses {
            if let Some((entry, _)) = crate::external::cited(c, &register) {
                by_entry.entry(&entry.meta.id).or_default().push(c.clone());
            }
        }
        for (entry, clauses) in by_entry {
            out.entry(entry.to_string())
                .or_default()
                .push(CitationView {
                    id: sd.doc.meta.id.clone(),
                    title: sd.doc.meta.title.clone(),
                    href: format!("{}.html", sd.doc.meta.id),
                    clauses,
                });
        }
    }
    out
}

/// The register's view of an external document, with the documents citing it.
fn external_view(
    m: &crate::model::DocMeta,
    citations: &BTreeMap<String, Vec<CitationView>>,
) -> Option<ExternalView> {
    let e = m.external.as_ref()?;
    Some(ExternalView {
        designation: e.designation.clone(),
        publisher: e.publisher.clone(),
        edition: e.edition.clone(),
        date: e.date.map(|d| d.to_string()),
        sites: e.sites.clone(),
        cited_by: citations.get(&m.id).cloned().unwrap_or_default(),
    })
}

/// The control stamp of every printed page of a document.
fn print_stamp(
    sd: &SiteDoc,
    site: &SiteView,
    build: &BuildView,
    revision: Option<u32>,
    site_revision: Option<u32>,
) -> PrintStampView {
    let m = &sd.doc.meta;
    let revision = match (revision, site_revision) {
        (Some(r), Some(s)) if s > 0 => format!("Rev. {r} + site {s}"),
        (Some(r), _) => format!("Rev. {r}"),
        (None, _) => "Rev. not recorded".to_string(),
    };
    let effective = match (m.effective, &m.external) {
        (Some(d), _) => format!("Effective {d}"),
        (None, Some(e)) => format!("{} edition {}", e.designation, e.edition),
        (None, None) => "Not yet effective".to_string(),
    };
    let mut marks: Vec<String> = m
        .classification
        .map(|c| c.as_str().to_uppercase())
        .into_iter()
        .collect();
    if is_draft(m.status) || sd.addendum.is_some_and(|a| is_draft(a.meta.status)) {
        marks.push("DRAFT".into());
    }
    PrintStampView {
        document: format!("{} · {revision} · {effective}", m.id),
        marks: marks.join(" · "),
        site: if build.preview {
            format!("{} · Uncontrolled preview", site.name)
        } else {
            format!("{} · Version {}", site.name, build.version)
        },
        uncontrolled: "Uncontrolled when printed".into(),
        address: format!("{}/{}/{}.html", site.id, build.version, m.id),
    }
}

/// "Superseded by SOP-0021, SOP-0022", or "Withdrawn" when nothing supersedes it.
pub(crate) fn superseded_by(old: &crate::parse::Document, site_docs: &[SiteDoc]) -> String {
    let by: Vec<&str> = site_docs
        .iter()
        .filter(|sd| sd.doc.meta.supersedes.contains(&old.meta.id))
        .map(|sd| sd.doc.meta.id.as_str())
        .collect();
    if by.is_empty() {
        "Withdrawn".into()
    } else {
        format!("Superseded by {}", by.join(", "))
    }
}

fn index_view(
    plan: &SitePlan,
    site_docs: &[SiteDoc],
    config: &Config,
    site: &SiteView,
    build: &BuildView,
    stamps: &Stamps,
    in_force: &crate::inforce::InForceMap,
) -> IndexView {
    let summary = |sd: &SiteDoc| {
        let m = &sd.doc.meta;
        DocSummary {
            id: m.id.clone(),
            title: m.title.clone(),
            doc_type: m.doc_type.clone(),
            href: format!("{}.html", m.id),
            status: m.status.as_str().into(),
            effective: m.effective.map(|d| d.to_string()),
            review_due: m.review_due.map(|d| d.to_string()),
            adapted: sd.addendum.is_some(),
            site_only: sd.doc.site.is_some(),
            // The revision published, as on the page: an earlier one in force while a
            // newer one is pending or in progress.
            revision: published_facts(sd, stamps, in_force).revision,
            stale_addendum: stale_addendum(sd, stamps),
            adaptation_draft: sd.addendum.is_some_and(|a| is_draft(a.meta.status)),
            review_overdue: review_overdue(m, build),
            upcoming: in_force.info(&sd.doc.path).map(|f| {
                f.upcoming_effective
                    .map_or_else(|| f.upcoming_status.as_str().to_string(), |d| d.to_string())
            }),
            external: external_view(m, &BTreeMap::new()),
        }
    };
    let groups: Vec<GroupView> = nav::type_groups(site_docs, config)
        .into_iter()
        .map(|g| GroupView {
            docs: g.docs.into_iter().map(summary).collect(),
            title: g.title,
            code: g.code,
        })
        .collect();
    IndexView {
        book: book_view(config),
        site: site.clone(),
        build: build.clone(),
        labels: IndexLabels::of(
            groups
                .iter()
                .filter(|g| g.code != "external")
                .flat_map(|g| &g.docs),
        ),
        groups,
        omitted: plan
            .omitted
            .iter()
            .map(|o| OmittedView {
                id: o.doc.meta.id.clone(),
                title: o.doc.meta.title.clone(),
                reason: o.reason.clone(),
                kind: if o.excluded { "excluded" } else { "markets" }.into(),
            })
            .collect(),
        obsolete: plan
            .obsolete
            .iter()
            .map(|d| OmittedView {
                id: d.meta.id.clone(),
                title: d.meta.title.clone(),
                reason: superseded_by(d, site_docs),
                kind: "obsolete".into(),
            })
            .collect(),
        adapted_count: site_docs.iter().filter(|d| d.addendum.is_some()).count(),
        doc_count: site_docs.len(),
        portal_href: PORTAL_HREF.into(),
    }
}

/// The theme's style sheet, inlined into pages that sit outside every version folder.
pub fn inline_css(theme: &Theme) -> String {
    theme
        .statics
        .get("style.css")
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

/// The portal at the output root: every site with its current released version,
/// previews apart, and the report across sites.
pub fn render_portal(theme: &Theme, view: &PortalView, diags: &mut Diagnostics) -> Option<OutFile> {
    render_template(theme, "portal.html", view, diags).map(|bytes| OutFile {
        path: crate::layout::INDEX.into(),
        bytes,
    })
}

/// A site's versions page, `<site>/index.html`.
pub fn render_versions(
    theme: &Theme,
    view: &VersionsView,
    diags: &mut Diagnostics,
) -> Option<OutFile> {
    render_template(theme, "versions.html", view, diags).map(|bytes| OutFile {
        path: format!("{}/{}", view.site.id, crate::layout::INDEX),
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_whose_references_differ_have_different_keys() {
        let piece = crate::compose::Piece {
            origin: crate::compose::Origin::Global,
            cond: None,
            file: Arc::new("procedures/global/a.md".into()),
            lines: vec![crate::parse::blocks::CondLine {
                no: 9,
                text: "See [footnotes] and the note[^a].".into(),
                cond: None,
            }],
            anchors: vec!["text".into()],
            notice: false,
            replaced: Vec::new(),
        };
        let key = |p: &crate::compose::Piece, r| piece_key(p, r, false);
        // The same strings, once as a link definition and once as footnotes.
        let mut link = markdown::DocRefs::default();
        link.links
            .insert("footnotes".into(), ("#notes".into(), "b".into()));
        let notes = markdown::DocRefs {
            footnotes: ["#notes", "b", "footnotes"].map(String::from).into(),
            ..Default::default()
        };
        assert_ne!(key(&piece, &link), key(&piece, &notes));
        // An anchor's name and a line's text do not run into each other either.
        let mut moved = piece.clone();
        moved.anchors = Vec::new();
        moved.lines.insert(
            0,
            crate::parse::blocks::CondLine {
                no: 9,
                text: "text".into(),
                cond: None,
            },
        );
        assert_ne!(key(&piece, &link), key(&moved, &link));
        assert_eq!(key(&piece, &link), key(&piece.clone(), &link));
        // A line further down, and a check, each give another key.
        let mut lower = piece.clone();
        lower.lines[0].no += 1;
        assert_ne!(key(&piece, &link), key(&lower, &link));
        assert_ne!(key(&piece, &link), piece_key(&piece, &link, true));
    }

    #[test]
    fn the_portal_links_releases_and_lists_previews_apart() {
        let mut d = Diagnostics::new();
        let theme = theme::load(
            &crate::repo::scan::SourceSet::default(),
            "default",
            0,
            &mut d,
        )
        .expect("the default theme");
        let link = |v: &str, href: &str| VersionLink {
            version: v.into(),
            date: Some("2026-06-01".into()),
            commit_short: Some("abcdef0123".into()),
            dirty: v == "preview",
            href: href.into(),
        };
        let view = PortalView {
            book: BookView {
                title: "T".into(),
                organization: None,
                approval_evidence: "declared".into(),
            },
            css: String::new(),
            sites: vec![PortalSite {
                id: "cork".into(),
                name: "Cork".into(),
                markets: vec!["EU".into()],
                current: Some(link("2026.1", "cork/latest/index.html")),
                versions_href: "cork/index.html".into(),
                unreleased: vec![link("preview", "cork/preview/index.html")],
            }],
            previews: 1,
            report: None,
            build: BuildView::of_output(),
        };
        let page = render_portal(&theme, &view, &mut d).expect("renders");
        let html = String::from_utf8(page.bytes)
            .unwrap()
            .replace("&#x2F;", "/");
        assert!(!d.has_errors());
        let card =
            &html[html.find("site-card").unwrap()..html.find("Uncontrolled previews").unwrap()];
        assert!(
            card.contains("<a href=\"cork/latest/index.html\">"),
            "{card}"
        );
        assert!(!card.contains("preview/index.html"), "{card}");
        assert!(html.contains("<a href=\"cork/preview/index.html\">Cork — preview</a>: uncontrolled preview of commit <code>abcdef0123</code> with uncommitted changes"), "{html}");
        assert!(
            !html.contains("versions.js"),
            "the portal is no version page"
        );
    }
}

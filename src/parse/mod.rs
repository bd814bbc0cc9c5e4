//! Parsing: front-matter, conditional and operation blocks, headings and anchors.

pub mod blocks;
pub mod frontmatter;
pub mod markdown;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Config;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::{AddendumMeta, DocMeta};
use crate::repo::scan::SourceSet;

pub use blocks::{Block, Directive, Node, OpKind};

/// A controlled document: global, or site-only when `site` is set.
#[derive(serde::Serialize, Debug, Clone)]
pub struct Document {
    pub path: Arc<PathBuf>,
    /// Anchor of each heading by its line, given on the text of all sites at once
    /// (every conditional block included), so they are the same at every site.
    pub anchors: BTreeMap<usize, String>,
    /// 1-based line of each front-matter key, for diagnostics.
    pub key_lines: BTreeMap<String, usize>,
    /// 1-based line of each entry of `clauses`, in order.
    pub clause_lines: Vec<usize>,
    pub site: Option<String>,
    pub meta: DocMeta,
    pub body: Vec<Node>,
    /// The body's headings as each site reads it, found once for each set of lines.
    #[serde(skip)]
    pub headings: HeadingsMemo,
}

/// The headings of a body as sites read it, found once for each distinct set of
/// lines its conditional blocks leave: sites with the same markets read the same.
#[derive(Debug, Default)]
pub struct HeadingsMemo(std::sync::Mutex<Vec<(LineRuns, Arc<Vec<markdown::Heading>>)>>);

/// Which lines of a body a flattening keeps: runs of consecutive line numbers.
type LineRuns = Vec<(usize, usize)>;

impl Clone for HeadingsMemo {
    /// A copy finds its headings anew: a memo is only ever a shortcut.
    fn clone(&self) -> Self {
        HeadingsMemo::default()
    }
}

impl HeadingsMemo {
    /// The headings of `lines`, a flattening of the body this memo belongs to: the
    /// runs of line numbers it keeps tell one flattening from another.
    pub fn of(&self, lines: &[blocks::CondLine]) -> Arc<Vec<markdown::Heading>> {
        let mut key = LineRuns::new();
        for l in lines {
            match key.last_mut() {
                Some((_, end)) if *end + 1 == l.no => *end = l.no,
                _ => key.push((l.no, l.no)),
            }
        }
        let found = |memo: &Self| {
            let seen = memo.0.lock().unwrap_or_else(|e| e.into_inner());
            seen.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, h)| Arc::clone(h))
        };
        if let Some(h) = found(self) {
            return h;
        }
        let heads = Arc::new(markdown::headings(lines.iter().map(|l| &*l.text)));
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !seen.iter().any(|(k, _)| *k == key) {
            seen.push((key, Arc::clone(&heads)));
        }
        heads
    }
}

/// The anchors of a body's headings by line, on the text of every site together.
pub fn stable_anchors(body: &[Node]) -> BTreeMap<usize, String> {
    let mut all = Vec::new();
    blocks::flatten_all(body, &mut all);
    let heads = markdown::headings(all.iter().map(|l| &*l.text));
    let anchors = markdown::assign_anchors(&heads, &mut markdown::Slugs::default());
    heads
        .iter()
        .zip(anchors)
        .map(|(h, a)| (all[h.start].no, a))
        .collect()
}

impl Document {
    /// The line of a front-matter key, or of the front-matter's first line.
    pub fn line(&self, key: &str) -> usize {
        self.key_lines.get(key).copied().unwrap_or(2)
    }
}

/// A site's adaptation of one global document.
#[derive(serde::Serialize, Debug, Clone)]
pub struct Addendum {
    pub path: Arc<PathBuf>,
    pub site: String,
    pub meta: AddendumMeta,
    /// Line of `addendum-to:` in the file, for diagnostics about the target.
    pub target_line: usize,
    /// 1-based line of each front-matter key, for diagnostics.
    pub key_lines: BTreeMap<String, usize>,
    pub body: Vec<Node>,
}

impl Addendum {
    pub fn line_of_base_revision(&self) -> usize {
        self.key_lines
            .get("base-revision")
            .copied()
            .unwrap_or(self.target_line)
    }
}

/// Every document and addendum of the repository.
#[derive(serde::Serialize, Debug, Clone, Default)]
pub struct Corpus {
    pub documents: Vec<Document>,
    pub addenda: Vec<Addendum>,
    /// Files left out because their front-matter has errors. Anything composed
    /// without them would be wrong, so a build stops after reporting them.
    pub unreadable: Vec<Arc<PathBuf>>,
    /// The ids (or `addendum-to` targets) those files seem to name, so other files'
    /// references to them are not reported as unknown ids.
    pub unreadable_ids: Vec<String>,
}

pub use crate::layout::{site_folder, GLOBAL_DIR, PROCEDURES_DIR, SITES_DIR};

/// Where a source file sits in `procedures/`.
enum Place {
    Global,
    Site(String),
}

fn place_of(path: &std::path::Path) -> Option<Place> {
    let mut parts = path.iter();
    if parts.next()? != PROCEDURES_DIR {
        return None;
    }
    match parts.next()?.to_str()? {
        GLOBAL_DIR => Some(Place::Global),
        SITES_DIR => site_folder(path).map(|s| Place::Site(s.to_string())),
        _ => None,
    }
}

/// What one file of the source set parses into. Held only until it is moved into the
/// corpus, so a document is not boxed to be moved again.
#[allow(clippy::large_enum_variant)]
enum Parsed {
    /// Not a controlled document (reported, or not Markdown).
    Skipped,
    /// Its front-matter has errors: left out, with the id it seems to have.
    Unreadable(Arc<PathBuf>, Option<String>),
    Document(Document),
    Addendum(Addendum),
}

/// Parses every Markdown file of the source set. Problems go to `diags`; files with
/// errors in their front-matter are left out so later stages see only typed data.
/// Files parse in parallel; the corpus and the problems are in the files' order.
pub fn parse_corpus(sources: &SourceSet, config: &Config, diags: &mut Diagnostics) -> Corpus {
    use rayon::prelude::*;
    let mut corpus = Corpus::default();
    // Files that are not text were reported when read; stop after them too.
    corpus
        .unreadable
        .extend(sources.unreadable.iter().cloned().map(Arc::new));
    let parsed: Vec<(Parsed, Diagnostics)> = sources
        .files
        .par_iter()
        .map(|file| {
            let mut d = Diagnostics::new();
            let parsed = parse_source(&file.path, &file.text, config, &mut d);
            (parsed, d)
        })
        .collect();
    for (parsed, d) in parsed {
        diags.extend(d);
        match parsed {
            Parsed::Skipped => {}
            Parsed::Unreadable(path, id) => {
                corpus.unreadable.push(path);
                corpus.unreadable_ids.extend(id);
            }
            Parsed::Document(doc) => corpus.documents.push(doc),
            Parsed::Addendum(add) => corpus.addenda.push(add),
        }
    }
    corpus
}

/// Parses one file of the source set.
fn parse_source(file: &Path, text: &str, config: &Config, diags: &mut Diagnostics) -> Parsed {
    if file.extension().and_then(|e| e.to_str()) != Some("md") {
        return Parsed::Skipped;
    }
    let path = Arc::new(file.to_path_buf());
    let place = match place_of(file) {
        Some(p) => p,
        None => {
            diags.push(
                Diagnostic::warning(Code::IgnoredFile, &*path, 0, "file is outside procedures/global and procedures/sites/<site>; it is not published")
                    .help("move it into procedures/global/ or procedures/sites/<site>/"),
            );
            return Parsed::Skipped;
        }
    };
    if let Place::Site(site) = &place {
        if !config.site.contains_key(site) {
            let hint = crate::diag::did_you_mean(site, config.site.keys().map(String::as_str));
            diags.push(
                Diagnostic::error(
                    Code::UnknownSiteFolder,
                    &*path,
                    0,
                    format!("site folder '{site}' has no [site.{site}] in book.toml{hint}"),
                )
                .help("add the site to book.toml or move the file to a configured site's folder"),
            );
            return Parsed::Skipped;
        }
    }
    let Some(parsed) = frontmatter::parse_file(&path, text, diags) else {
        return Parsed::Unreadable(path, frontmatter::guess_id(text));
    };
    let (body_text, body_line, key_lines, clause_lines) = (
        parsed.body,
        parsed.body_line,
        parsed.key_lines,
        parsed.clause_lines,
    );
    let is_addendum = matches!(parsed.kind, frontmatter::Kind::Addendum(..));
    let body = blocks::parse_body(&path, body_text, body_line, is_addendum, config, diags);
    match (parsed.kind, place) {
        (frontmatter::Kind::Document(meta), place) => Parsed::Document(Document {
            anchors: stable_anchors(&body),
            headings: Default::default(),
            path,
            key_lines,
            clause_lines,
            site: match place {
                Place::Global => None,
                Place::Site(s) => Some(s),
            },
            meta: *meta,
            body,
        }),
        (frontmatter::Kind::Addendum(meta, target_line), Place::Site(site)) => {
            Parsed::Addendum(Addendum {
                path,
                site,
                meta,
                target_line,
                key_lines,
                body,
            })
        }
        (frontmatter::Kind::Addendum(_, line), Place::Global) => {
            diags.push(
                Diagnostic::error(
                    Code::AddendumTarget,
                    &*path,
                    line,
                    "an addendum must live in a site folder",
                )
                .help("move it to procedures/sites/<site>/"),
            );
            Parsed::Skipped
        }
    }
}

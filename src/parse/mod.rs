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
    /// SHA-256 of the document as JSON, taken once ([`JsonDigest`]).
    #[serde(skip)]
    pub digest: JsonDigest,
}

/// The SHA-256 of a parsed document or addendum as JSON (all of it but what it
/// derives from its own fields), taken once: what a composition kept between builds
/// is keyed by ([`crate::compose::TextPool::new`]). A parsed value is never changed,
/// and `serve` keeps it while its file's text stays the same ([`parse_corpus`]), so
/// the digest is taken once for as long as the file does not change.
#[derive(Debug, Default)]
pub struct JsonDigest(std::sync::OnceLock<Option<[u8; 32]>>);

impl Clone for JsonDigest {
    /// A copy takes its digest anew, like [`HeadingsMemo`].
    fn clone(&self) -> Self {
        JsonDigest::default()
    }
}

impl JsonDigest {
    /// The digest of `value`, which owns this memo; `None` if it cannot be written
    /// as JSON.
    pub fn of(&self, value: &impl serde::Serialize) -> Option<[u8; 32]> {
        *self.0.get_or_init(|| {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            crate::manifest::hash_json(&mut h, value)?;
            Some(h.finalize().into())
        })
    }
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
    /// SHA-256 of the addendum as JSON, taken once ([`JsonDigest`]).
    #[serde(skip)]
    pub digest: JsonDigest,
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
    pub documents: Vec<Arc<Document>>,
    pub addenda: Vec<Arc<Addendum>>,
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

/// What one file of the source set parses into.
#[derive(Clone)]
enum Parsed {
    /// Not a controlled document (reported, or not Markdown).
    Skipped,
    /// Its front-matter has errors: left out, with the id it seems to have.
    Unreadable(Arc<PathBuf>, Option<String>),
    Document(Arc<Document>),
    Addendum(Arc<Addendum>),
}

/// A file as the last build parsed it, kept for the next ([`parse_corpus`]).
struct KeptSource {
    text: String,
    parsed: Parsed,
    diags: Vec<Diagnostic>,
}

/// The files the last build of this process parsed, by path, and the configuration
/// (as JSON) it parsed them with.
#[derive(Default)]
struct KeptSources {
    config: Vec<u8>,
    files: std::collections::HashMap<PathBuf, KeptSource>,
}

fn kept_sources() -> &'static std::sync::Mutex<KeptSources> {
    static KEPT: std::sync::OnceLock<std::sync::Mutex<KeptSources>> = std::sync::OnceLock::new();
    KEPT.get_or_init(Default::default)
}

/// Parses every Markdown file of the source set. Problems go to `diags`; files with
/// errors in their front-matter are left out so later stages see only typed data.
/// Files parse in parallel; the corpus and the problems are in the files' order.
///
/// A file's parse is a function of its path, its text and the configuration. When
/// this process keeps what a build made for the next ([`crate::keep_between_builds`]:
/// `serve`), a file whose text and configuration are those of the last build is
/// taken as that build parsed it, with what parsing it reported, and not parsed again.
pub fn parse_corpus(sources: &SourceSet, config: &Config, diags: &mut Diagnostics) -> Corpus {
    let keep = crate::keeps_between_builds().then(kept_sources);
    parse_kept_in(sources, config, diags, keep)
}

/// [`parse_corpus`], taking files parsed by the last build from `keep`, if given,
/// and leaving this build's there.
fn parse_kept_in(
    sources: &SourceSet,
    config: &Config,
    diags: &mut Diagnostics,
    keep: Option<&std::sync::Mutex<KeptSources>>,
) -> Corpus {
    use rayon::prelude::*;
    let mut corpus = Corpus::default();
    // Files that are not text were reported when read; stop after them too.
    corpus
        .unreadable
        .extend(sources.unreadable.iter().cloned().map(Arc::new));
    // A configuration that cannot be written as JSON cannot key what is kept.
    let config_json = keep.and_then(|_| serde_json::to_vec(config).ok());
    let keep = keep.filter(|_| config_json.is_some());
    let lock = || keep.map(|k| k.lock().unwrap_or_else(|e| e.into_inner()));
    let mut kept = KeptSources::default();
    if let (Some(mut last), Some(config)) = (lock(), config_json) {
        kept = std::mem::take(&mut *last);
        if kept.config != config {
            kept = KeptSources {
                config,
                ..Default::default()
            };
        }
    }
    let parsed: Vec<(Parsed, Vec<Diagnostic>)> = sources
        .files
        .par_iter()
        .map(|file| match kept.files.get(&file.path) {
            Some(k) if k.text == file.text => (k.parsed.clone(), k.diags.clone()),
            _ => {
                let mut d = Diagnostics::new();
                let parsed = parse_source(&file.path, &file.text, config, &mut d);
                (parsed, d.into_iter().collect())
            }
        })
        .collect();
    if let Some(mut last) = lock() {
        let files = sources
            .files
            .iter()
            .zip(&parsed)
            .map(|(file, (parsed, d))| {
                // The kept copy of an unchanged text is kept, not copied again.
                let text = match kept.files.remove(&file.path) {
                    Some(k) if k.text == file.text => k.text,
                    _ => file.text.clone(),
                };
                let source = KeptSource {
                    text,
                    parsed: parsed.clone(),
                    diags: d.clone(),
                };
                (file.path.clone(), source)
            })
            .collect();
        *last = KeptSources {
            config: kept.config,
            files,
        };
    }
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
        (frontmatter::Kind::Document(meta), place) => Parsed::Document(Arc::new(Document {
            anchors: stable_anchors(&body),
            headings: Default::default(),
            digest: Default::default(),
            path,
            key_lines,
            clause_lines,
            site: match place {
                Place::Global => None,
                Place::Site(s) => Some(s),
            },
            meta: *meta,
            body,
        })),
        (frontmatter::Kind::Addendum(meta, target_line), Place::Site(site)) => {
            Parsed::Addendum(Arc::new(Addendum {
                path,
                site,
                meta,
                target_line,
                key_lines,
                body,
                digest: Default::default(),
            }))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{doc, BOOK};
    use std::sync::Mutex;

    /// Parses `files` with `book`, keeping what it parsed in `keep`; the corpus and
    /// the problems reported.
    fn parse(book: &str, files: &[(&str, String)], keep: &Mutex<KeptSources>) -> (Corpus, String) {
        let config = Config::parse(Path::new("book.toml"), book).expect("book.toml");
        let mut diags = Diagnostics::new();
        let sources = crate::testkit::sources(files, &mut diags);
        let corpus = parse_kept_in(&sources, &config, &mut diags, Some(keep));
        let said: Vec<String> = diags.into_sorted().iter().map(|d| d.to_string()).collect();
        (corpus, said.join(""))
    }

    fn same<T>(a: &[Arc<T>], b: &[Arc<T>]) -> Vec<bool> {
        a.iter().zip(b).map(|(a, b)| Arc::ptr_eq(a, b)).collect()
    }

    #[test]
    fn a_file_kept_is_parsed_again_only_when_its_text_or_the_configuration_changes() {
        let keep = Mutex::default();
        let addendum = "---\naddendum-to: SOP-1\nrationale: r\nstatus: draft\n---\n::: append #a\nCork.\n:::\n";
        let mut files = vec![
            (
                "procedures/global/a.md",
                doc("SOP-1", "", "## A {#a}\nText.\n"),
            ),
            (
                "procedures/global/b.md",
                doc("SOP-2", "", "## B {#b}\nText.\n"),
            ),
            ("procedures/sites/cork/a.md", addendum.to_string()),
            ("procedures/stray.md", "A stray file.\n".to_string()),
        ];
        let (first, said) = parse(BOOK, &files, &keep);
        assert_eq!(
            said,
            "procedures/stray.md: warning[ignored-file]: file is outside procedures/global and procedures/sites/<site>; it is not published\n  help: move it into procedures/global/ or procedures/sites/<site>/"
        );
        // The same texts: every value is the one parsed before, with its problems.
        let (second, said_again) = parse(BOOK, &files, &keep);
        assert_eq!(same(&first.documents, &second.documents), [true, true]);
        assert_eq!(same(&first.addenda, &second.addenda), [true]);
        assert_eq!(said_again, said);
        // One text changes: only its file is parsed again.
        files[0].1 = doc("SOP-1", "", "## A {#a}\nOther text.\n");
        let (third, _) = parse(BOOK, &files, &keep);
        assert_eq!(same(&second.documents, &third.documents), [false, true]);
        assert_eq!(same(&second.addenda, &third.addenda), [true]);
        let Node::Line(l) = &third.documents[0].body[1] else {
            panic!("{:?}", third.documents[0].body)
        };
        assert_eq!(&*l.text, "Other text.");
        // Another configuration: every file is parsed again, and says what it finds.
        let without_cork = BOOK.replace("[site.cork]\nname = \"Cork\"\nmarkets = [\"EU\"]\n", "");
        let (fourth, said) = parse(&without_cork, &files, &keep);
        assert_eq!(same(&third.documents, &fourth.documents), [false, false]);
        assert!(fourth.addenda.is_empty());
        assert!(
            said.contains("site folder 'cork' has no [site.cork] in book.toml"),
            "{said}"
        );
        // A file gone is let go.
        files.truncate(1);
        parse(&without_cork, &files, &keep);
        let kept = keep.lock().unwrap();
        assert_eq!(
            kept.files.keys().collect::<Vec<_>>(),
            [Path::new("procedures/global/a.md")]
        );
    }
}

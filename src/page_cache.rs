//! The views the last build into an output rendered its document pages from, so the
//! next build into the same output renders only the pages whose view changed.
//!
//! A page is its template applied to its view: the same templates, the same procsite
//! and the same view give the same bytes. After a build, procsite records, for every
//! document page, history page and comparison it wrote, a SHA-256 of the template's
//! name and the view as JSON; with it, what renders them (procsite's executable and
//! the theme's templates) and the output's [identity](crate::output::identity) as the
//! build left it, in `$GIT_DIR/procsite/pages/`. The next build computes each page's
//! view as always; where its key is the recorded one, it keeps the page as the output
//! holds it instead of rendering it: the writer links the file into the new tree
//! with the hash the output's manifest lists for it, reading none of its bytes.
//!
//! A record holds only while nothing but procsite has touched the output: any change
//! to it since (a file edited, added, removed or replaced, a write interrupted, a
//! build that records nothing) changes its identity, and every page is rendered. The
//! identity is compared once the build holds the output's lock, so no other writer
//! can change the output between the comparison and the pages taken from it.
//! Recorded by the builds that take the output's identity for the record of the last
//! build ([`crate::last_build`]): a committed preview, never a release, nor with
//! `PROCSITE_HISTORY_CACHE=off`; also when that record is not written because the
//! repository changed during the build, since the keys describe what was written.
//! On Unix only, where the identity holds inodes and change times, which no copy or
//! edit keeps.
//!
//! `serve`, which builds in memory again and again, keeps the pages themselves by
//! their key and renderer instead ([`Pages::in_memory`]), on any system.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use crate::layout::{KeptFile, OutFile, Page};

/// Bumped when what a record holds, or how a key is made, changes.
const FORMAT: u32 = 2;

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    format: u32,
    renderer: String,
    output: PathBuf,
    identity: String,
    /// `<site>/<version folder>/<path>` → the key of the view it was rendered from.
    pages: BTreeMap<String, String>,
}

/// The pages of one build: what the record of the last build lets it take from the
/// output, and the key of every page it renders or takes, for the next record; or,
/// in `serve`, what the last builds of the process rendered ([`Kept`]).
#[derive(Debug)]
pub struct Pages {
    from: Source,
    keys: Mutex<BTreeMap<String, String>>,
    /// Pages taken from the output, or from memory.
    taken: AtomicUsize,
}

#[derive(Debug)]
enum Source {
    Output {
        /// The output folder, resolved.
        output: PathBuf,
        record: PathBuf,
        renderer: String,
        /// The recorded keys, when the record holds for this output as it is: read at
        /// the first page, when the build holds the output's lock.
        prior: OnceLock<HashMap<String, String>>,
    },
    Memory {
        kept: &'static Mutex<Kept>,
        /// SHA-256 of the renderer, which a page's key in memory begins with.
        renderer: String,
        generation: u64,
    },
}

/// The pages `serve` rendered in its last builds, by renderer and key: each is its
/// template applied to its view by its renderer, so a page of the same key is the
/// same bytes. A page none of the last [`crate::KEPT_BUILDS`] builds used is let go,
/// and no more are kept than [`KEPT_BYTES`] hold.
#[derive(Default)]
pub struct Kept {
    generation: u64,
    pages: crate::KeptByBuild<String, Arc<[u8]>>,
    bytes: usize,
}

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kept({} bytes of pages)", self.bytes)
    }
}
/// The bytes of the pages kept in memory, at most: the pages of a few sites of 2,000
/// documents.
const KEPT_BYTES: usize = 256 << 20;

/// The pages this process keeps between builds ([`crate::keep_between_builds`]).
fn kept() -> &'static Mutex<Kept> {
    static KEPT: OnceLock<Mutex<Kept>> = OnceLock::new();
    KEPT.get_or_init(Default::default)
}

/// Where the record of the pages of `output` is kept.
fn record_path(git_dir: &Path, output: &Path) -> PathBuf {
    let key = crate::manifest::sha256_hex(output.as_os_str().as_encoded_bytes());
    git_dir
        .join("procsite")
        .join("pages")
        .join(format!("{}.json", &key[..32]))
}

impl Pages {
    /// The pages of a build of the repository at `root` into `out`, rendered by
    /// `renderer` (procsite and the theme: [`renderer`]). The record of the last
    /// build is read when it holds: the same renderer, and the output as that build
    /// left it.
    pub fn open(root: &Path, out: &Path, renderer: String) -> Option<Pages> {
        if !cfg!(unix) {
            return None;
        }
        let git = crate::repo::git::GitRepo::open(root)?;
        let output = std::path::absolute(out).ok()?;
        let record = record_path(git.git_dir(), &output);
        Some(Pages::with(Source::Output {
            output,
            record,
            renderer,
            prior: OnceLock::new(),
        }))
    }

    /// The pages of a build that keeps what it renders in memory for the next build of
    /// the process (`serve`), rendered by `renderer`.
    pub fn in_memory(renderer: &str) -> Pages {
        Pages::kept_in(kept(), renderer)
    }

    fn kept_in(kept: &'static Mutex<Kept>, renderer: &str) -> Pages {
        let mut k = kept.lock().unwrap_or_else(|e| e.into_inner());
        k.generation += 1;
        let generation = k.generation;
        k.pages.start(generation);
        k.bytes = k.pages.values().map(|page| page.len()).sum();
        Pages::with(Source::Memory {
            kept,
            renderer: crate::manifest::sha256_hex(renderer.as_bytes()),
            generation,
        })
    }

    fn with(from: Source) -> Pages {
        Pages {
            from,
            keys: Mutex::new(BTreeMap::new()),
            taken: AtomicUsize::new(0),
        }
    }

    /// The keys of the record, if it holds: the same renderer, the same output, and
    /// the output as the recorded build left it. Called with the output's lock held.
    fn prior<'a>(
        prior: &'a OnceLock<HashMap<String, String>>,
        record: &Path,
        output: &Path,
        renderer: &str,
    ) -> &'a HashMap<String, String> {
        prior.get_or_init(|| {
            std::fs::read(record)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Record>(&bytes).ok())
                .filter(|r| {
                    r.format == FORMAT
                        && r.renderer == renderer
                        && output.canonicalize().ok().as_ref() == Some(&r.output)
                        && crate::output::identity_under_lock(&r.output).as_deref()
                            == Some(r.identity.as_str())
                })
                .map(|r| r.pages.into_iter().collect())
                .unwrap_or_default()
        })
    }

    /// The page `path` of `site`'s version folder `folder`: `name` applied to `view`,
    /// kept as the output (or memory) holds it when the view is the one it was
    /// rendered from, else rendered by `render`.
    pub fn page(
        &self,
        site: &str,
        folder: &str,
        name: &str,
        path: String,
        view: &impl Serialize,
        render: impl FnOnce() -> Option<Vec<u8>>,
    ) -> Option<Page> {
        let at = format!("{site}/{folder}/{path}");
        let Some(key) = key_of(name, view) else {
            return render().map(|bytes| Page::Made(OutFile { path, bytes }));
        };
        let page = match &self.from {
            Source::Output {
                output,
                record,
                renderer,
                prior,
            } => {
                let kept = match Pages::prior(prior, record, output, renderer).get(&at) {
                    Some(k) if *k == key => {
                        let file = output.join(&at);
                        std::fs::symlink_metadata(&file)
                            .ok()
                            .filter(std::fs::Metadata::is_file)
                            .map(|m| KeptFile {
                                path: path.clone(),
                                at: file,
                                len: m.len(),
                            })
                    }
                    _ => None,
                };
                match kept {
                    Some(kept) => {
                        self.taken.fetch_add(1, Ordering::Relaxed);
                        Page::Kept(kept)
                    }
                    None => Page::Made(OutFile {
                        path,
                        bytes: render()?,
                    }),
                }
            }
            Source::Memory { .. } => Page::Made(OutFile {
                path,
                bytes: self.kept_or_rendered(&key, render)?,
            }),
        };
        self.keys.lock().expect("keys lock").insert(at, key);
        Some(page)
    }

    /// A page of a site or of the report (not a document's): `name` applied to `view`,
    /// taken from memory in `serve` when an earlier build rendered the same, else
    /// rendered by `render`. A build into an output renders it.
    pub fn made(
        &self,
        name: &str,
        view: &impl Serialize,
        render: impl FnOnce() -> Option<Vec<u8>>,
    ) -> Option<Vec<u8>> {
        match &self.from {
            Source::Output { .. } => render(),
            Source::Memory { .. } => match key_of(name, view) {
                Some(key) => self.kept_or_rendered(&key, render),
                None => render(),
            },
        }
    }

    /// The page of key `key` as memory holds it, or rendered by `render` and kept.
    fn kept_or_rendered(
        &self,
        key: &str,
        render: impl FnOnce() -> Option<Vec<u8>>,
    ) -> Option<Vec<u8>> {
        let Source::Memory {
            kept,
            renderer,
            generation,
        } = &self.from
        else {
            return render();
        };
        let lock = || kept.lock().unwrap_or_else(|e| e.into_inner());
        let id = format!("{renderer}{key}");
        let found = lock().pages.get(&id, *generation).map(Arc::clone);
        if let Some(page) = found {
            self.taken.fetch_add(1, Ordering::Relaxed);
            return Some(page.to_vec());
        }
        let bytes = render()?;
        let mut k = lock();
        if k.bytes + bytes.len() <= KEPT_BYTES && !k.pages.contains_key(&id) {
            k.bytes += bytes.len();
            k.pages.insert(id, *generation, Arc::from(&bytes[..]));
        }
        Some(bytes)
    }

    /// How many pages were taken from the output, of how many document pages.
    pub fn counts(&self) -> (usize, usize) {
        let pages = self.keys.lock().expect("keys lock").len();
        (self.taken.load(Ordering::Relaxed), pages)
    }

    /// Records the keys of this build's pages for an output left with `identity`; the
    /// recorded pages of the sites it did not render stay, since their folders did.
    /// A record that cannot be written only means the next build renders every page.
    pub fn record(self, identity: &str, rendered_sites: &[String]) {
        let Source::Output {
            output,
            record: path,
            renderer,
            prior,
        } = self.from
        else {
            return;
        };
        let Ok(output) = output.canonicalize() else {
            return;
        };
        let mut pages: BTreeMap<String, String> = prior
            .into_inner()
            .unwrap_or_default()
            .into_iter()
            .filter(|(path, _)| {
                let site = path.split('/').next().unwrap_or_default();
                !rendered_sites.iter().any(|s| s == site)
            })
            .collect();
        pages.extend(self.keys.into_inner().unwrap_or_else(|e| e.into_inner()));
        let record = Record {
            format: FORMAT,
            renderer,
            output,
            identity: identity.to_string(),
            pages,
        };
        let Ok(bytes) = serde_json::to_vec(&record) else {
            return;
        };
        if crate::fs::write_aside(&path, &bytes) {
            prune(&path);
        }
    }
}

/// Records kept beside the newest: one per output a repository builds into, of a few
/// megabytes each at 2,000 documents.
const RECORDS_KEPT: usize = 8;

/// Removes all but the [`RECORDS_KEPT`] newest records of the folder of `record`.
fn prune(record: &Path) {
    let Some(dir) = record.parent() else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut records: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    // The record just written is kept whatever its time.
    records.retain(|(_, p)| p != record);
    records.sort_by(|a, b| b.cmp(a));
    for (_, old) in records.into_iter().skip(RECORDS_KEPT - 1) {
        let _ = std::fs::remove_file(old);
    }
}

/// What renders pages: this procsite executable and the theme's templates.
pub fn renderer(exe: &str, theme: &crate::render::theme::Theme) -> String {
    format!("{exe}\n{}", theme.fingerprint)
}

thread_local! {
    static KEYING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is serializing a view for its key: a part of a view shared by
/// many pages may then write a digest of itself instead of itself, which the key
/// covers as well (the piece HTML: [`crate::render::markdown::html_or_digest`]).
pub fn keying() -> bool {
    KEYING.with(std::cell::Cell::get)
}

/// SHA-256 of the template's name and the view as JSON (its shared parts as their
/// digests: [`keying`]), hex.
fn key_of(name: &str, view: &impl Serialize) -> Option<String> {
    use sha2::Digest;
    struct Keying;
    impl Drop for Keying {
        fn drop(&mut self) {
            KEYING.with(|k| k.set(false));
        }
    }
    let mut h = sha2::Sha256::new();
    h.update(name.as_bytes());
    h.update([0]);
    KEYING.with(|k| k.set(true));
    let keying = Keying;
    crate::manifest::hash_json(&mut h, view)?;
    drop(keying);
    Some(format!("{:x}", h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of `page` at `path`, made by `render` unless kept.
    fn bytes_of(pages: &Pages, view: &str, render: impl FnOnce() -> Option<Vec<u8>>) -> Vec<u8> {
        let page = pages.page("s", "preview", "page.html", "P.html".into(), &view, render);
        match page {
            Some(Page::Made(f)) => f.bytes,
            other => panic!("a page in memory is made: {other:?}"),
        }
    }

    #[test]
    fn a_page_kept_in_memory_is_taken_for_the_same_view_and_renderer_only() {
        let kept: &'static Mutex<Kept> = Box::leak(Box::default());
        let first = Pages::kept_in(kept, "procsite 1\ntheme a");
        let rendered = |text: &'static str| move || Some(text.as_bytes().to_vec());
        let never = || -> Option<Vec<u8>> { panic!("rendered a page kept in memory") };
        assert_eq!(bytes_of(&first, "view a", rendered("A")), b"A");
        assert_eq!(bytes_of(&first, "view b", rendered("B")), b"B");
        assert_eq!(first.counts(), (0, 1));
        let made = |pages: &Pages, view: &str, render: fn() -> Option<Vec<u8>>| {
            pages.made("index.html", &view, render).unwrap()
        };
        assert_eq!(made(&first, "site view", || Some(b"I".to_vec())), b"I");

        let second = Pages::kept_in(kept, "procsite 1\ntheme a");
        assert_eq!(bytes_of(&second, "view a", never), b"A");
        assert_eq!(bytes_of(&second, "view c", rendered("C")), b"C");
        assert_eq!(second.counts(), (1, 1));
        assert_eq!(
            made(&second, "site view", || panic!("rendered again")),
            b"I"
        );
        assert_eq!(made(&second, "other view", || Some(b"J".to_vec())), b"J");
        // Another theme or procsite renders the same view anew.
        let other = Pages::kept_in(kept, "procsite 1\ntheme b");
        assert_eq!(bytes_of(&other, "view a", rendered("A2")), b"A2");

        // A page none of the last KEPT_BUILDS builds used is let go; one used stays.
        for _ in 1..crate::KEPT_BUILDS {
            let later = Pages::kept_in(kept, "procsite 1\ntheme a");
            assert_eq!(bytes_of(&later, "view a", never), b"A");
        }
        let last = Pages::kept_in(kept, "procsite 1\ntheme a");
        assert_eq!(bytes_of(&last, "view b", rendered("B again")), b"B again");
        assert_eq!(bytes_of(&last, "view a", never), b"A");
        let held = kept.lock().unwrap();
        assert_eq!(
            held.bytes,
            held.pages.values().map(|p| p.len()).sum::<usize>()
        );
    }

    #[test]
    fn only_the_newest_records_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let start = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        for n in 0..RECORDS_KEPT + 3 {
            let path = dir.path().join(format!("{n:02}.json"));
            std::fs::write(&path, "{}").unwrap();
            let file = std::fs::File::options().write(true).open(&path).unwrap();
            file.set_modified(start + std::time::Duration::from_secs(n as u64))
                .unwrap();
        }
        std::fs::write(dir.path().join("other.part-1"), "").unwrap();
        prune(&dir.path().join("10.json"));
        let left = crate::fs::names_in(dir.path());
        let mut kept: Vec<String> = (3..RECORDS_KEPT + 3)
            .map(|n| format!("{n:02}.json"))
            .collect();
        kept.push("other.part-1".into());
        assert_eq!(left, kept);
    }
}

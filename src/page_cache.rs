//! The views the last build into an output rendered its document pages from, so the
//! next build into the same output renders only the pages whose view changed.
//!
//! A page is its template applied to its view: the same templates, the same procsite
//! and the same view give the same bytes. After a build, procsite records, for every
//! document page, history page and comparison it wrote, a SHA-256 of the template's
//! name and the view as JSON; with it, what renders them (procsite's executable and
//! the theme's templates) and the output's [identity](crate::output::identity) as the
//! build left it, in `$GIT_DIR/procsite/pages/`. The next build computes each page's
//! view as always; where its key is the recorded one, it takes the page's bytes from
//! the output instead of rendering them.
//!
//! A record holds only while nothing but procsite has touched the output: any change
//! to it since (a file edited, added, removed or replaced, a write interrupted, a
//! build that records nothing) changes its identity, and every page is rendered.
//! Recorded with the record of the last build ([`crate::last_build`]): a committed
//! preview, never a release, nor with `PROCSITE_HISTORY_CACHE=off`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::layout::OutFile;

/// Bumped when what a record holds, or how a key is made, changes.
const FORMAT: u32 = 1;

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
/// output, and the key of every page it renders or takes, for the next record.
#[derive(Debug)]
pub struct Pages {
    /// The output folder, resolved.
    output: PathBuf,
    record: PathBuf,
    renderer: String,
    /// The recorded keys, when the record holds for this output as it is now.
    prior: HashMap<String, String>,
    keys: Mutex<BTreeMap<String, String>>,
    /// Pages taken from the output.
    taken: AtomicUsize,
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
        let git = crate::repo::git::GitRepo::open(root)?;
        let output = std::path::absolute(out).ok()?;
        let record = record_path(git.git_dir(), &output);
        let prior = std::fs::read(&record)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Record>(&bytes).ok())
            .filter(|r| {
                r.format == FORMAT
                    && r.renderer == renderer
                    && output.canonicalize().ok().as_ref() == Some(&r.output)
                    && crate::output::identity(&r.output).as_deref() == Some(r.identity.as_str())
            })
            .map(|r| r.pages.into_iter().collect())
            .unwrap_or_default();
        Some(Pages {
            output,
            record,
            renderer,
            prior,
            keys: Mutex::new(BTreeMap::new()),
            taken: AtomicUsize::new(0),
        })
    }

    /// The page `path` of `site`'s version folder `folder`: `name` applied to `view`,
    /// taken from the output when the view is the one it was rendered from, else
    /// rendered by `render`.
    pub fn page(
        &self,
        site: &str,
        folder: &str,
        name: &str,
        path: String,
        view: &impl Serialize,
        render: impl FnOnce() -> Option<Vec<u8>>,
    ) -> Option<OutFile> {
        let at = format!("{site}/{folder}/{path}");
        let Some(key) = key_of(name, view) else {
            return render().map(|bytes| OutFile { path, bytes });
        };
        let bytes = match self.prior.get(&at) {
            Some(k) if *k == key => std::fs::read(self.output.join(&at)).ok(),
            _ => None,
        };
        let bytes = match bytes {
            Some(b) => {
                self.taken.fetch_add(1, Ordering::Relaxed);
                b
            }
            None => render()?,
        };
        self.keys.lock().expect("keys lock").insert(at, key);
        Some(OutFile { path, bytes })
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
        let Ok(output) = self.output.canonicalize() else {
            return;
        };
        let mut pages: BTreeMap<String, String> = self
            .prior
            .into_iter()
            .filter(|(path, _)| {
                let site = path.split('/').next().unwrap_or_default();
                !rendered_sites.iter().any(|s| s == site)
            })
            .collect();
        pages.extend(self.keys.into_inner().unwrap_or_else(|e| e.into_inner()));
        let record = Record {
            format: FORMAT,
            renderer: self.renderer,
            output,
            identity: identity.to_string(),
            pages,
        };
        let Ok(bytes) = serde_json::to_vec(&record) else {
            return;
        };
        crate::fs::write_aside(&self.record, &bytes);
    }
}

/// What renders pages: this procsite executable and the theme's templates.
pub fn renderer(exe: &str, theme: &crate::render::theme::Theme) -> String {
    format!("{exe}\n{}", theme.fingerprint)
}

/// SHA-256 of the template's name and the view as JSON, hex.
fn key_of(name: &str, view: &impl Serialize) -> Option<String> {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(name.as_bytes());
    h.update([0]);
    serde_json::to_writer(&mut h, view).ok()?;
    Some(format!("{:x}", h.finalize()))
}

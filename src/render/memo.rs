//! The HTML of every piece of text and the search words of every document text, kept
//! between runs beside the history cache, so that a build after a commit renders
//! only the pieces that changed.
//!
//! Both are pure functions of their key, a SHA-256 of everything they are made of
//! (see `piece_key` and [`super::search::IndexedDoc::key`]) and of the procsite that
//! makes them: a segment records the build of procsite that wrote it (`MAKER`), and
//! is read only by the same build, wherever it runs. A piece also records where each of its links led, and
//! is made again where one now leads elsewhere. An entry can then be unused, never
//! wrong.
//!
//! On disk, segments in the `render/` folder of the history cache (so
//! `PROCSITE_HISTORY_CACHE` moves it or turns it off with the history, and a release
//! never reads it), written whole under a temporary name and renamed. A segment ends
//! with an index of its entries, each with its place and its SHA-256, and the SHA-256
//! of the index: a build reads the index, and an entry only when it needs it, so what
//! it holds grows as it renders, and an entry cut short or altered is made again.
//! A build that made new entries writes them as a new segment; past
//! [`MAX_SEGMENTS`], one segment replaces the others, of what the build used when
//! more than half of what was known went unused. Segments another procsite wrote are
//! removed by any write. Checks, which render no HTML, keep theirs in the `check/`
//! folder. Within a process a memo is opened once, so `serve` keeps what it read in
//! memory between rebuilds.

use std::collections::hash_map::Entry as Slot;
use std::collections::HashMap;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use sha2::{Digest, Sha256};

use super::markdown::{LinkRef, PieceHtml};
use super::search::DocWords;
use crate::diag::Code;
use crate::repo::cache::{segments, write_segment};

/// The first line of a segment: its format and procsite's version.
const MAGIC: &[u8] = concat!(
    "procsite-render-memo 2 procsite ",
    env!("CARGO_PKG_VERSION"),
    "\n"
)
.as_bytes();
const MAX_SEGMENTS: usize = 8;

/// The procsite that makes the entries: its version and the name of its build, made
/// of everything it is built from (see `src/build_id.rs`), so that every copy of one
/// procsite, on any machine, uses what another made, and no other procsite does.
const MAKER: &str = concat!(
    "procsite ",
    env!("CARGO_PKG_VERSION"),
    " build ",
    env!("PROCSITE_BUILD_ID")
);

pub type Key = [u8; 32];

/// What the memo keeps: a value that writes itself to bytes and reads itself back.
trait Kept: Sized {
    /// The letter of its kind in a segment's index.
    const KIND: u8;
    fn put(&self, out: &mut Vec<u8>);
    fn take(r: &mut Reader) -> Option<Self>;
}

impl Kept for PieceHtml {
    const KIND: u8 = b'p';

    fn put(&self, out: &mut Vec<u8>) {
        put_s(out, &self.html);
        put_n(out, self.links.len());
        for l in &self.links {
            put_s(out, &l.dest);
            put_n(out, l.line);
            match &l.href {
                None => out.push(0),
                Some(href) => {
                    out.push(1);
                    put_s(out, href);
                }
            }
        }
        put_n(out, self.problems.len());
        for (line, code, msg, help) in &self.problems {
            put_n(out, *line);
            put_s(out, code.name());
            put_s(out, msg);
            put_s(out, help);
        }
    }

    fn take(r: &mut Reader) -> Option<Self> {
        let html = Arc::from(r.s()?);
        let links = r.list(|r| {
            Some(LinkRef {
                dest: r.s()?,
                line: r.n()?,
                href: match r.array()? {
                    [0] => None,
                    [1] => Some(r.s()?),
                    _ => return None,
                },
            })
        })?;
        let problems = r.list(|r| Some((r.n()?, Code::parse(&r.s()?)?, r.s()?, r.s()?)))?;
        Some(PieceHtml {
            html,
            links,
            problems,
            digest: Default::default(),
        })
    }
}

impl Kept for DocWords {
    const KIND: u8 = b'w';

    fn put(&self, out: &mut Vec<u8>) {
        let (text, ends) = self.parts();
        put_s(out, text);
        put_n(out, ends.len());
        for &end in ends.iter().flatten() {
            out.extend_from_slice(&end.to_le_bytes());
        }
    }

    fn take(r: &mut Reader) -> Option<Self> {
        let text = r.s()?.into_boxed_str();
        let ends = r.list(|r| {
            let [a, b, c, d]: [[u8; 4]; 4] = [r.array()?, r.array()?, r.array()?, r.array()?];
            Some([a, b, c, d].map(u32::from_le_bytes))
        })?;
        DocWords::from_parts(text, ends)
    }
}

struct Entry<T> {
    value: Arc<T>,
    /// Used by the build that is running (or ran last).
    used: AtomicBool,
    /// Held by a segment on disk.
    stored: AtomicBool,
}

impl<T> Entry<T> {
    fn new(value: Arc<T>, stored: bool) -> Entry<T> {
        Entry {
            value,
            used: AtomicBool::new(false),
            stored: AtomicBool::new(stored),
        }
    }

    fn used(&self) -> bool {
        self.used.load(Ordering::Relaxed)
    }

    /// Made by this process, held by no segment yet.
    fn fresh(&self) -> bool {
        !self.stored.load(Ordering::Relaxed)
    }
}

/// Where an entry is on disk: its segment, place and length, and its SHA-256.
#[derive(Clone, Copy)]
struct Place {
    segment: usize,
    at: u64,
    len: u64,
    sum: [u8; 32],
}

/// Entries of one kind, and what the running build did with them.
struct Table<T> {
    /// The entries read or made in this process.
    map: Mutex<HashMap<Key, Entry<T>>>,
    /// The entries the segments hold that are not read yet.
    unread: Mutex<HashMap<Key, Place>>,
    /// Entries the running build made.
    made: AtomicUsize,
    /// Entries the running build used, made or not.
    used: AtomicUsize,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            map: Mutex::default(),
            unread: Mutex::default(),
            made: AtomicUsize::new(0),
            used: AtomicUsize::new(0),
        }
    }
}

impl<T: Kept> Table<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry<T>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_unread(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Place>> {
        self.unread.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new build starts: nothing used or made yet.
    fn restart(&self) {
        for e in self.lock().values() {
            e.used.store(false, Ordering::Relaxed);
        }
        self.made.store(0, Ordering::Relaxed);
        self.used.store(0, Ordering::Relaxed);
    }

    fn take(&self, entry: &Entry<T>) -> Arc<T> {
        if !entry.used.swap(true, Ordering::Relaxed) {
            self.used.fetch_add(1, Ordering::Relaxed);
        }
        Arc::clone(&entry.value)
    }

    /// The entry `key` if it is known (read from `files` if need be) and `valid`,
    /// else (in its place) what `make` makes.
    fn get(
        &self,
        files: &[Mutex<std::fs::File>],
        key: Key,
        valid: impl Fn(&T) -> bool,
        make: impl FnOnce() -> T,
    ) -> Arc<T> {
        if let Some(hit) = self.lock().get(&key).filter(|e| valid(&e.value)) {
            return self.take(hit);
        }
        let place = self.lock_unread().remove(&key);
        if let Some(value) = place.and_then(|p| read_entry::<T>(files, p)) {
            let mut map = self.lock();
            let entry = map.entry(key).or_insert(Entry::new(Arc::new(value), true));
            if valid(&entry.value) {
                return self.take(entry);
            }
        }
        let value = Arc::new(make());
        let mut map = self.lock();
        let entry = match map.entry(key) {
            Slot::Occupied(e) if valid(&e.get().value) => e.into_mut(),
            e => {
                self.made.fetch_add(1, Ordering::Relaxed);
                let fresh = Entry::new(value, false);
                match e {
                    Slot::Occupied(mut e) => {
                        e.insert(fresh);
                        e.into_mut()
                    }
                    Slot::Vacant(e) => e.insert(fresh),
                }
            }
        };
        self.take(entry)
    }

    /// How many entries the build made, of how many it used.
    fn counts(&self) -> (usize, usize) {
        (
            self.made.load(Ordering::Relaxed),
            self.used.load(Ordering::Relaxed),
        )
    }

    fn any_fresh(&self) -> bool {
        self.lock().values().any(Entry::fresh)
    }

    /// Entries: (kept in memory, of them used, unread on disk).
    fn sizes(&self) -> (usize, usize, usize) {
        let map = self.lock();
        let used = map.values().filter(|e| e.used()).count();
        (map.len(), used, self.lock_unread().len())
    }
}

/// Reads the entry at `place`, if it is whole and unaltered.
fn read_entry<T: Kept>(files: &[Mutex<std::fs::File>], place: Place) -> Option<T> {
    let bytes = read_bytes(files, place)?;
    let mut r = Reader {
        bytes: &bytes,
        at: 0,
    };
    let value = T::take(&mut r)?;
    (r.at == bytes.len()).then_some(value)
}

/// The bytes of the entry at `place`, if they are whole and unaltered.
fn read_bytes(files: &[Mutex<std::fs::File>], place: Place) -> Option<Vec<u8>> {
    let mut bytes = vec![0; usize::try_from(place.len).ok()?];
    {
        let mut file = files.get(place.segment)?.lock().ok()?;
        file.seek(std::io::SeekFrom::Start(place.at)).ok()?;
        file.read_exact(&mut bytes).ok()?;
    }
    (Sha256::digest(&bytes).as_slice() == place.sum).then_some(bytes)
}

/// The rendered pieces and search words known to this process.
#[derive(Default)]
pub struct Memo {
    /// Where it is kept between runs; `None`: for one build only.
    folder: Option<PathBuf>,
    /// The segments read, open, which the places of unread entries point into.
    files: RwLock<Vec<Mutex<std::fs::File>>>,
    pieces: Table<PieceHtml>,
    words: Table<DocWords>,
    /// Writes of this memo, one at a time.
    saving: Mutex<()>,
}

/// The memos opened in this process, by folder.
fn loaded() -> &'static Mutex<HashMap<PathBuf, Arc<Memo>>> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, Arc<Memo>>>> = OnceLock::new();
    LOADED.get_or_init(Default::default)
}

/// The segments of `folder`, oldest first: (those this build of procsite wrote, the
/// others). The name of a segment begins with a digest of the build that wrote it.
fn segments_by_maker(folder: &Path) -> (String, Vec<PathBuf>, Vec<PathBuf>) {
    let mine = format!("{}-", &crate::manifest::sha256_hex(MAKER.as_bytes())[..16]);
    let (own, others) = segments(folder).into_iter().partition(|s| {
        s.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(&mine))
    });
    (mine, own, others)
}

impl Memo {
    /// The memo kept in `folder` (its segments' indexes read once per process), or
    /// one for this build only without a folder. Every entry starts the build unused.
    pub fn open(folder: Option<&Path>) -> Arc<Memo> {
        let Some(folder) = folder else {
            return Arc::new(Memo::default());
        };
        let mut map = loaded().lock().unwrap_or_else(|e| e.into_inner());
        let memo = map
            .entry(folder.to_path_buf())
            .or_insert_with(|| {
                let memo = Memo {
                    folder: Some(folder.to_path_buf()),
                    ..Memo::default()
                };
                memo.read_indexes();
                Arc::new(memo)
            })
            .clone();
        drop(map);
        memo.pieces.restart();
        memo.words.restart();
        memo
    }

    /// Opens this build's segments and reads their indexes.
    fn read_indexes(&self) {
        let Some(folder) = &self.folder else {
            return;
        };
        let (_, own, _) = segments_by_maker(folder);
        let mut files = self.files.write().unwrap_or_else(|e| e.into_inner());
        files.clear();
        self.pieces.lock_unread().clear();
        self.words.lock_unread().clear();
        for seg in own {
            let Ok(mut file) = std::fs::File::open(&seg) else {
                continue;
            };
            // A segment's index is taken whole or not at all.
            let Some(index) = read_index(&mut file, MAKER) else {
                continue;
            };
            let segment = files.len();
            files.push(Mutex::new(file));
            let mut pieces = self.pieces.lock_unread();
            let mut words = self.words.lock_unread();
            for (kind, key, at, len, sum) in index {
                let place = Place {
                    segment,
                    at,
                    len,
                    sum,
                };
                match kind {
                    PieceHtml::KIND => pieces.insert(key, place),
                    _ => words.insert(key, place),
                };
            }
        }
    }

    /// The HTML of the piece `key`, made by `make` unless known and `valid`.
    pub fn piece(
        &self,
        key: Key,
        valid: impl Fn(&PieceHtml) -> bool,
        make: impl FnOnce() -> PieceHtml,
    ) -> Arc<PieceHtml> {
        let files = self.files.read().unwrap_or_else(|e| e.into_inner());
        self.pieces.get(&files, key, valid, make)
    }

    /// The search words of the document text `key`, made by `make` unless known.
    pub fn words(&self, key: Key, make: impl FnOnce() -> DocWords) -> Arc<DocWords> {
        let files = self.files.read().unwrap_or_else(|e| e.into_inner());
        self.words.get(&files, key, |_| true, make)
    }

    /// What the running build did: pieces rendered, of how many it showed; documents
    /// whose search words it read, of how many it indexed.
    pub fn counts(&self) -> [(usize, usize); 2] {
        [self.pieces.counts(), self.words.counts()]
    }

    /// Writes what this build made as a new segment; or, past [`MAX_SEGMENTS`], one
    /// segment in place of the others: of what is known, or of what this build used
    /// when more than half of what is known went unused. A memo that cannot be
    /// written only costs time.
    pub fn save(&self) -> Result<(), String> {
        let Some(folder) = &self.folder else {
            return Ok(());
        };
        let _saving = self.saving.lock().unwrap_or_else(|e| e.into_inner());
        if !self.pieces.any_fresh() && !self.words.any_fresh() {
            return Ok(());
        }
        let (mine, own, others) = segments_by_maker(folder);
        let compact = own.len() >= MAX_SEGMENTS;
        let (p, w) = (self.pieces.sizes(), self.words.sizes());
        let known = p.0 + p.2 + w.0 + w.2;
        // What a build of some sites did not use, another build uses: dropped only
        // when it is most of what is known.
        let all = compact && (known - p.1 - w.1) * 2 <= known;
        // A compacted segment takes what is not read yet (or, `all` false, drops it)
        // as it is on disk, an entry at a time.
        let unread: Vec<(u8, Key, Place)> = if compact {
            let pieces = self
                .pieces
                .take_unread()
                .map(|(k, p)| (PieceHtml::KIND, k, p));
            let words = self
                .words
                .take_unread()
                .map(|(k, p)| (DocWords::KIND, k, p));
            pieces.chain(words).filter(|_| all).collect()
        } else {
            Vec::new()
        };
        {
            let files = self.files.read().unwrap_or_else(|e| e.into_inner());
            let (mut pieces, mut words) = (self.pieces.lock(), self.words.lock());
            if compact && !all {
                pieces.retain(|_, e| e.used());
                words.retain(|_, e| e.used());
            }
            let mut as_on_disk = unread
                .into_iter()
                .filter_map(|(kind, key, place)| Some((kind, key, read_bytes(&files, place)?)));
            write_segment(folder, &mine, |f| {
                encode(
                    f,
                    MAKER,
                    pieces.iter().filter(|(_, e)| compact || e.fresh()),
                    words.iter().filter(|(_, e)| compact || e.fresh()),
                    &mut as_on_disk,
                )
            })?;
            for e in pieces.values() {
                e.stored.store(true, Ordering::Relaxed);
            }
            for e in words.values() {
                e.stored.store(true, Ordering::Relaxed);
            }
        }
        let stale = if compact { own } else { Vec::new() };
        for s in stale.into_iter().chain(others) {
            let _ = std::fs::remove_file(s);
        }
        if compact {
            // What is unread is now in the new segment only.
            self.read_indexes();
        }
        Ok(())
    }
}

impl<T: Kept> Table<T> {
    /// The entries not read yet, which the table then forgets.
    fn take_unread(&self) -> impl Iterator<Item = (Key, Place)> {
        std::mem::take(&mut *self.lock_unread()).into_iter()
    }
}

/// Writes a number.
fn put_n(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u64).to_le_bytes());
}

/// Writes a string, its length first.
fn put_s(out: &mut Vec<u8>, s: &str) {
    put_n(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

/// The length of one entry of a segment's index: kind, key, place, length, SHA-256.
const INDEX_ENTRY: usize = 1 + 32 + 8 + 8 + 32;

/// A segment: the magic line and the build of procsite that made it; each entry's
/// bytes (of `pieces`, `words`, then entries of another segment as they are there);
/// the index of the entries (each one's kind, key, place, length and SHA-256); the
/// number of entries; the SHA-256 of the index and that number.
fn encode<'a>(
    out: &mut dyn Write,
    maker: &str,
    pieces: impl Iterator<Item = (&'a Key, &'a Entry<PieceHtml>)>,
    words: impl Iterator<Item = (&'a Key, &'a Entry<DocWords>)>,
    as_on_disk: &mut dyn Iterator<Item = (u8, Key, Vec<u8>)>,
) -> std::io::Result<()> {
    let mut head = MAGIC.to_vec();
    put_s(&mut head, maker);
    out.write_all(&head)?;
    let mut at = head.len() as u64;
    let mut index = Vec::new();
    let mut bytes = Vec::new();
    let mut entry = |kind: u8, key: &Key, bytes: &[u8]| {
        out.write_all(bytes)?;
        index.push(kind);
        index.extend_from_slice(key);
        index.extend_from_slice(&at.to_le_bytes());
        index.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        index.extend_from_slice(&Sha256::digest(bytes));
        at += bytes.len() as u64;
        Ok::<(), std::io::Error>(())
    };
    for (key, e) in pieces {
        bytes.clear();
        e.value.put(&mut bytes);
        entry(PieceHtml::KIND, key, &bytes)?;
    }
    for (key, e) in words {
        bytes.clear();
        e.value.put(&mut bytes);
        entry(DocWords::KIND, key, &bytes)?;
    }
    for (kind, key, bytes) in as_on_disk {
        entry(kind, &key, &bytes)?;
    }
    let n = index.len() / INDEX_ENTRY;
    put_n(&mut index, n);
    let sum = Sha256::digest(&index);
    out.write_all(&index)?;
    out.write_all(&sum)
}

/// One entry of an index: kind, key, place, length, SHA-256.
type IndexEntry = (u8, Key, u64, u64, [u8; 32]);

/// The index of a segment made by `maker`, if the segment is this procsite's and its
/// index is whole and unaltered.
fn read_index(file: &mut std::fs::File, maker: &str) -> Option<Vec<IndexEntry>> {
    let len = file.metadata().ok()?.len();
    let mut head = MAGIC.to_vec();
    put_s(&mut head, maker);
    let mut found = vec![0; head.len()];
    file.read_exact(&mut found).ok()?;
    if found != head {
        return None;
    }
    // The end: the number of entries, then the SHA-256.
    let mut end = [0; 40];
    file.seek(std::io::SeekFrom::End(-40)).ok()?;
    file.read_exact(&mut end).ok()?;
    let n = usize::try_from(u64::from_le_bytes(end[..8].try_into().ok()?)).ok()?;
    let size = n.checked_mul(INDEX_ENTRY)?;
    let start = len.checked_sub(40)?.checked_sub(size as u64)?;
    if start < head.len() as u64 {
        return None;
    }
    let mut index = vec![0; size + 8];
    file.seek(std::io::SeekFrom::Start(start)).ok()?;
    file.read_exact(&mut index).ok()?;
    if Sha256::digest(&index).as_slice() != &end[8..] {
        return None;
    }
    let mut r = Reader {
        bytes: &index[..size],
        at: 0,
    };
    let entries: Vec<IndexEntry> = (0..n)
        .map(|_| {
            let [kind] = r.array()?;
            let key = r.array()?;
            let (at, len) = (r.u64()?, r.u64()?);
            let sum = r.array()?;
            let inside = at >= head.len() as u64 && at.checked_add(len)? <= start;
            let known = kind == PieceHtml::KIND || kind == DocWords::KIND;
            (inside && known).then_some((kind, key, at, len, sum))
        })
        .collect::<Option<_>>()?;
    Some(entries)
}

/// Reads what [`Kept::put`] wrote.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn bytes(&mut self, len: usize) -> Option<&[u8]> {
        let part = self.bytes.get(self.at..self.at.checked_add(len)?)?;
        self.at += len;
        Some(part)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.bytes(N)?.try_into().ok()
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.array()?))
    }

    fn n(&mut self) -> Option<usize> {
        usize::try_from(self.u64()?).ok()
    }

    fn s(&mut self) -> Option<String> {
        let len = self.n()?;
        String::from_utf8(self.bytes(len)?.to_vec()).ok()
    }

    /// `count` items read by `item`.
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let count = self.n()?;
        if count > self.bytes.len() - self.at {
            return None;
        }
        (0..count).map(|_| item(self)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece() -> PieceHtml {
        PieceHtml {
            html: Arc::from("<p>Wear <a href=\"SOP-0002.html\">gloves</a> é</p>"),
            links: vec![
                LinkRef {
                    dest: "SOP-0002".into(),
                    line: 12,
                    href: Some("SOP-0002.html".into()),
                },
                LinkRef {
                    dest: "https://example.com".into(),
                    line: 13,
                    href: None,
                },
            ],
            problems: vec![(
                14,
                Code::BrokenFootnote,
                "footnote [^a] has no definition".into(),
                "add `[^a]: text`".into(),
            )],
            digest: Default::default(),
        }
    }

    fn words() -> DocWords {
        DocWords::from_parts(
            Box::from("scopeScopeWear glovesgloves\nscope\nwear\n"),
            vec![[5, 10, 21, 39]],
        )
        .unwrap()
    }

    fn segment(maker: &str) -> Vec<u8> {
        let p = [([1; 32], Entry::new(Arc::new(piece()), false))];
        let w = [([2; 32], Entry::new(Arc::new(words()), false))];
        let mut bytes = Vec::new();
        encode(
            &mut bytes,
            maker,
            p.iter().map(|(k, e)| (k, e)),
            w.iter().map(|(k, e)| (k, e)),
            &mut std::iter::empty(),
        )
        .unwrap();
        bytes
    }

    /// The entries a segment of `bytes` gives `maker`: its index, then each entry
    /// read (`None` where it cannot be).
    fn read(bytes: &[u8], maker: &str) -> Option<(Option<PieceHtml>, Option<DocWords>)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.seg");
        std::fs::write(&path, bytes).unwrap();
        let index = read_index(&mut std::fs::File::open(&path).unwrap(), maker)?;
        let files = [Mutex::new(std::fs::File::open(&path).unwrap())];
        let (mut p, mut w) = (None, None);
        for (kind, key, at, len, sum) in index {
            let place = Place {
                segment: 0,
                at,
                len,
                sum,
            };
            match (kind, key) {
                (b'p', [1, ..]) => p = read_entry::<PieceHtml>(&files, place),
                (b'w', [2, ..]) => w = read_entry::<DocWords>(&files, place),
                other => panic!("no such entry: {other:?}"),
            }
        }
        Some((p, w))
    }

    #[test]
    fn a_segment_reads_back_what_was_written_by_the_same_procsite_only() {
        let bytes = segment("procsite 1");
        let (p, w) = read(&bytes, "procsite 1").unwrap();
        let (p, expected) = (p.unwrap(), piece());
        assert_eq!(
            (&p.html, &p.links, &p.problems),
            (&expected.html, &expected.links, &expected.problems)
        );
        assert_eq!(w, Some(words()));
        assert!(read(&bytes, "procsite 2").is_none());
    }

    #[test]
    fn a_segment_cut_short_or_altered_never_gives_another_entry() {
        let bytes = segment("m");
        for cut in 0..bytes.len() {
            assert!(read(&bytes[..cut], "m").is_none(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(read(&longer, "m").is_none());
        let expected = piece();
        for at in 0..bytes.len() {
            let mut other = bytes.clone();
            other[at] ^= 1;
            // The index refuses the segment, or the entry the byte is in cannot be
            // read: nothing reads back changed.
            if let Some((p, w)) = read(&other, "m") {
                assert!(p.is_none() || w.is_none(), "byte {at} altered, both read");
                assert!(p.is_none_or(|p| p.html == expected.html), "byte {at}");
                assert!(w.is_none_or(|w| w == words()), "byte {at}");
            }
        }
    }

    #[test]
    fn an_entry_copied_as_it_is_on_disk_reads_back_the_same() {
        let mut bytes = Vec::new();
        piece().put(&mut bytes);
        let mut copied = Vec::new();
        encode(
            &mut copied,
            "m",
            std::iter::empty(),
            std::iter::empty(),
            &mut [(b'p', [1; 32], bytes)].into_iter(),
        )
        .unwrap();
        let (p, w) = read(&copied, "m").unwrap();
        assert_eq!(p.map(|p| p.html), Some(piece().html));
        assert!(w.is_none());
    }

    #[test]
    fn a_document_s_words_are_refused_unless_their_parts_end_in_order_between_characters() {
        assert!(DocWords::from_parts(Box::from("ab"), vec![[1, 1, 2, 2]]).is_some());
        assert!(DocWords::from_parts(Box::from("ab"), vec![[1, 0, 2, 2]]).is_none());
        assert!(DocWords::from_parts(Box::from("ab"), vec![[1, 1, 2, 3]]).is_none());
        assert!(DocWords::from_parts(Box::from("é"), vec![[1, 2, 2, 2]]).is_none());
    }
}

//! The HTML of every piece of text and the search words of every document text, kept
//! between runs beside the history cache, so that a build after a commit renders
//! only the pieces that changed.
//!
//! Both are pure functions of their key, a SHA-256 of everything they are made of
//! (see `piece_key` and [`super::search::IndexedDoc::key`]) and of the procsite that
//! makes them: a segment records the identity of the executable that wrote it, and is
//! read only by the same one. An entry can then be unused, never wrong.
//!
//! On disk, segments in the `render/` folder of the history cache (so
//! `PROCSITE_HISTORY_CACHE` moves it or turns it off with the history, and a release
//! never reads it), each with its SHA-256, written whole under a temporary name and
//! renamed: a segment cut short or altered is ignored. A build that made new entries
//! writes them as a new segment; past [`MAX_SEGMENTS`], one segment replaces the
//! others, of what the build used when more than half of what was known went unused.
//! Segments another procsite wrote are removed by any write. Checks, which render no
//! HTML, keep theirs in the `check/` folder. Within a process a memo is read once, so
//! `serve` keeps it in memory between rebuilds.

use std::collections::hash_map::Entry as Entry_;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::markdown::{LinkRef, PieceHtml};
use super::search::DocWords;
use crate::diag::Code;
use crate::repo::cache::{segments, write_segment, Summed};
use sha2::{Digest, Sha256};

/// The first line of a segment: its format and procsite's version.
const MAGIC: &[u8] = concat!(
    "procsite-render-memo 1 procsite ",
    env!("CARGO_PKG_VERSION"),
    "\n"
)
.as_bytes();
const MAX_SEGMENTS: usize = 8;

pub type Key = [u8; 32];

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

/// Entries of one kind, and what the running build did with them.
struct Table<T> {
    map: Mutex<HashMap<Key, Entry<T>>>,
    /// Entries the running build made.
    made: AtomicUsize,
    /// Entries the running build used, made or not.
    used: AtomicUsize,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            map: Mutex::default(),
            made: AtomicUsize::new(0),
            used: AtomicUsize::new(0),
        }
    }
}

impl<T> Table<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry<T>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
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

    /// The entry `key` if it is known and `valid`, else (in its place) what `make`
    /// makes.
    fn get(&self, key: Key, valid: impl Fn(&T) -> bool, make: impl FnOnce() -> T) -> Arc<T> {
        if let Some(hit) = self.lock().get(&key).filter(|e| valid(&e.value)) {
            return self.take(hit);
        }
        let value = Arc::new(make());
        let mut map = self.lock();
        let entry = match map.entry(key) {
            Entry_::Occupied(e) if valid(&e.get().value) => e.into_mut(),
            e => {
                self.made.fetch_add(1, Ordering::Relaxed);
                let fresh = Entry::new(value, false);
                match e {
                    Entry_::Occupied(mut e) => {
                        e.insert(fresh);
                        e.into_mut()
                    }
                    Entry_::Vacant(e) => e.insert(fresh),
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
}

/// The rendered pieces and search words known to this process.
#[derive(Default)]
pub struct Memo {
    /// Where it is kept between runs; `None`: for one build only.
    folder: Option<PathBuf>,
    /// The procsite executable that made the entries.
    maker: String,
    pieces: Table<PieceHtml>,
    words: Table<DocWords>,
    /// Writes of this memo, one at a time.
    saving: Mutex<()>,
}

/// The memos read in this process, by folder.
fn loaded() -> &'static Mutex<HashMap<PathBuf, Arc<Memo>>> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, Arc<Memo>>>> = OnceLock::new();
    LOADED.get_or_init(Default::default)
}

/// The name of a segment begins with a digest of the executable that wrote it.
fn prefix(maker: &str) -> String {
    format!("{}-", &crate::manifest::sha256_hex(maker.as_bytes())[..16])
}

impl Memo {
    /// The memo kept in `folder` (read from disk once per process), or one for this
    /// build only without a folder or when procsite's executable cannot be
    /// identified. Every entry starts the build unused.
    pub fn open(folder: Option<&Path>) -> Arc<Memo> {
        let (Some(folder), Some(maker)) = (folder, crate::last_build::exe_identity()) else {
            return Arc::new(Memo::default());
        };
        let mut map = loaded().lock().unwrap_or_else(|e| e.into_inner());
        let memo = map
            .entry(folder.to_path_buf())
            .or_insert_with(|| Arc::new(Memo::read(folder, maker)))
            .clone();
        drop(map);
        memo.pieces.restart();
        memo.words.restart();
        memo
    }

    fn read(folder: &Path, maker: String) -> Memo {
        let memo = Memo {
            folder: Some(folder.to_path_buf()),
            ..Memo::default()
        };
        let mine = prefix(&maker);
        for seg in segments(folder) {
            let is_mine = seg
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&mine));
            let file = std::fs::File::open(&seg).and_then(|f| Ok((f.metadata()?.len(), f)));
            if let (true, Ok((len, file))) = (is_mine, file) {
                // A segment is taken whole or not at all.
                let input = std::io::BufReader::with_capacity(1 << 16, file);
                if let Some((pieces, words)) = decode(input, len, &maker) {
                    let entries = pieces.into_iter().map(|(k, v)| (k, Entry::new(v, true)));
                    memo.pieces.lock().extend(entries);
                    let entries = words.into_iter().map(|(k, v)| (k, Entry::new(v, true)));
                    memo.words.lock().extend(entries);
                }
            }
        }
        Memo { maker, ..memo }
    }

    /// The HTML of the piece `key`, made by `make` unless known and `valid`.
    pub fn piece(
        &self,
        key: Key,
        valid: impl Fn(&PieceHtml) -> bool,
        make: impl FnOnce() -> PieceHtml,
    ) -> Arc<PieceHtml> {
        self.pieces.get(key, valid, make)
    }

    /// The search words of the document text `key`, made by `make` unless known.
    pub fn words(&self, key: Key, make: impl FnOnce() -> DocWords) -> Arc<DocWords> {
        self.words.get(key, |_| true, make)
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
        let mut pieces = self.pieces.lock();
        let mut words = self.words.lock();
        if !pieces.values().any(Entry::fresh) && !words.values().any(Entry::fresh) {
            return Ok(());
        }
        let unused = pieces.values().filter(|e| !e.used()).count()
            + words.values().filter(|e| !e.used()).count();
        let mine = prefix(&self.maker);
        let (own, others): (Vec<PathBuf>, Vec<PathBuf>) =
            segments(folder).into_iter().partition(|s| {
                s.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&mine))
            });
        let compact = own.len() >= MAX_SEGMENTS;
        // What a build of some sites did not use, another build uses: dropped only
        // when it is most of what is known.
        if compact && unused * 2 > pieces.len() + words.len() {
            pieces.retain(|_, e| e.used());
            words.retain(|_, e| e.used());
        }
        write_segment(folder, &mine, |f| {
            encode(
                f,
                &self.maker,
                pieces.iter().filter(|(_, e)| compact || e.fresh()),
                words.iter().filter(|(_, e)| compact || e.fresh()),
            )
        })?;
        for e in pieces.values() {
            e.stored.store(true, Ordering::Relaxed);
        }
        for e in words.values() {
            e.stored.store(true, Ordering::Relaxed);
        }
        let stale = if compact { own } else { Vec::new() };
        for s in stale.into_iter().chain(others) {
            let _ = std::fs::remove_file(s);
        }
        Ok(())
    }
}

/// Writes a number.
fn put_n(out: &mut dyn Write, n: usize) -> std::io::Result<()> {
    out.write_all(&(n as u64).to_le_bytes())
}

/// Writes a string, its length first.
fn put_s(out: &mut dyn Write, s: &str) -> std::io::Result<()> {
    put_n(out, s.len())?;
    out.write_all(s.as_bytes())
}

/// A segment: the magic line, the executable that made it, each piece (its key, its
/// HTML, its links, its problems), each document's words (its key, its sections,
/// each section's words), the number of entries, then the SHA-256 of all that.
fn encode<'a>(
    out: &mut dyn Write,
    maker: &str,
    pieces: impl Iterator<Item = (&'a Key, &'a Entry<PieceHtml>)>,
    words: impl Iterator<Item = (&'a Key, &'a Entry<DocWords>)>,
) -> std::io::Result<()> {
    let mut out = Summed::new(out);
    out.write_all(MAGIC)?;
    put_s(&mut out, maker)?;
    let mut n = 0;
    for (key, e) in pieces {
        let p = &e.value;
        out.write_all(b"p")?;
        out.write_all(key)?;
        put_s(&mut out, &p.html)?;
        put_n(&mut out, p.links.len())?;
        for l in &p.links {
            put_s(&mut out, &l.dest)?;
            put_n(&mut out, l.line)?;
            match &l.href {
                None => out.write_all(&[0])?,
                Some(href) => {
                    out.write_all(&[1])?;
                    put_s(&mut out, href)?;
                }
            }
        }
        put_n(&mut out, p.problems.len())?;
        for (line, code, msg, help) in &p.problems {
            put_n(&mut out, *line)?;
            put_s(&mut out, code.name())?;
            put_s(&mut out, msg)?;
            put_s(&mut out, help)?;
        }
        n += 1;
    }
    for (key, e) in words {
        let w = &e.value;
        out.write_all(b"w")?;
        out.write_all(key)?;
        let (text, ends) = w.parts();
        put_s(&mut out, text)?;
        put_n(&mut out, ends.len())?;
        for &end in ends.iter().flatten() {
            out.write_all(&end.to_le_bytes())?;
        }
        n += 1;
    }
    out.write_all(b"e")?;
    put_n(&mut out, n)?;
    out.finish()
}

/// Reads a segment written by [`encode`] as it comes, keeping the SHA-256 of what it
/// read: the file is never held whole beside what it decodes to.
struct Reader<R: Read> {
    input: R,
    sum: Sha256,
    /// Bytes read so far.
    at: u64,
    /// The file's length: no count or length may exceed what is left.
    len: u64,
}

impl<R: Read> Reader<R> {
    fn bytes(&mut self, len: usize) -> Option<Vec<u8>> {
        if len as u64 > self.len - self.at {
            return None;
        }
        let mut part = vec![0; len];
        self.input.read_exact(&mut part).ok()?;
        self.sum.update(&part);
        self.at += len as u64;
        Some(part)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.bytes(N)?.try_into().ok()
    }

    fn n(&mut self) -> Option<usize> {
        usize::try_from(u64::from_le_bytes(self.array()?)).ok()
    }

    fn s(&mut self) -> Option<String> {
        let len = self.n()?;
        String::from_utf8(self.bytes(len)?).ok()
    }

    /// `count` items read by `item`.
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let count = self.n()?;
        if count as u64 > self.len - self.at {
            return None;
        }
        (0..count).map(|_| item(self)).collect()
    }
}

type Decoded = (Vec<(Key, Arc<PieceHtml>)>, Vec<(Key, Arc<DocWords>)>);

/// The entries of a segment of `len` bytes made by `maker`, if it is whole and
/// unaltered.
fn decode(input: impl Read, len: u64, maker: &str) -> Option<Decoded> {
    let mut r = Reader {
        input,
        sum: Sha256::new(),
        at: 0,
        len,
    };
    if r.bytes(MAGIC.len())? != MAGIC || r.s()? != maker {
        return None;
    }
    let (mut pieces, mut words) = (Vec::new(), Vec::new());
    loop {
        match r.array()? {
            [b'p'] => {
                let key = r.array()?;
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
                let piece = PieceHtml {
                    html,
                    links,
                    problems,
                };
                pieces.push((key, Arc::new(piece)));
            }
            [b'w'] => {
                let key = r.array()?;
                let text = r.s()?.into_boxed_str();
                let ends = r.list(|r| {
                    let [a, b, c, d]: [[u8; 4]; 4] =
                        [r.array()?, r.array()?, r.array()?, r.array()?];
                    Some([a, b, c, d].map(u32::from_le_bytes))
                })?;
                words.push((key, Arc::new(DocWords::from_parts(text, ends)?)));
            }
            [b'e'] => break,
            _ => return None,
        }
    }
    let n = r.n()?;
    let sum = r.sum.clone().finalize();
    let written: [u8; 32] = r.array()?;
    (r.at == len && sum.as_slice() == written && n == pieces.len() + words.len())
        .then_some((pieces, words))
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
        )
        .unwrap();
        bytes
    }

    #[test]
    fn a_segment_reads_back_what_was_written_by_the_same_procsite_only() {
        let bytes = segment("procsite 1");
        let read = |bytes: &[u8], maker| decode(bytes, bytes.len() as u64, maker);
        let (pieces, words) = read(&bytes, "procsite 1").unwrap();
        let expected = piece();
        assert_eq!(pieces.len(), 1);
        assert_eq!(pieces[0].0, [1; 32]);
        assert_eq!(pieces[0].1.html, expected.html);
        assert_eq!(pieces[0].1.links, expected.links);
        assert_eq!(pieces[0].1.problems, expected.problems);
        assert_eq!(words.len(), 1);
        assert_eq!(words[0].0, [2; 32]);
        assert_eq!(*words[0].1, self::words());
        assert!(read(&bytes, "procsite 2").is_none());
    }

    #[test]
    fn a_segment_cut_short_or_altered_is_not_read() {
        let read = |bytes: &[u8]| decode(bytes, bytes.len() as u64, "m");
        let bytes = segment("m");
        assert!(read(&bytes).is_some());
        for cut in 0..bytes.len() {
            assert!(read(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(read(&longer).is_none());
        for at in 0..bytes.len() {
            let mut other = bytes.clone();
            other[at] ^= 1;
            assert!(read(&other).is_none(), "byte {at} altered");
        }
    }
}

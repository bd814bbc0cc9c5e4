//! The history cache: what the walk learnt of each commit (its description, parents
//! and changes under `procedures/`) and the text of each document blob, kept on disk
//! between runs so a build reads from git only the commits it has not seen.
//!
//! Everything is keyed by git object id, and an object id names its content: a
//! rewritten commit (rebase, amend) has a new id and is walked again, and an entry
//! nothing reaches any more is only unused. The commits whose parents git is told
//! rather than reads (a shallow clone's cut, `info/grafts`) are never kept. So the
//! cache can be stale but never wrong about an id it holds, and a build with it
//! writes what a build without it writes, byte for byte.
//!
//! On disk, a folder of segments (`$GIT_DIR/procsite/history/` unless
//! `PROCSITE_HISTORY_CACHE` names another folder, or `off`). A run that learns
//! something writes one new segment (to a temporary name, then renamed), so runs in
//! parallel never see half a file. A segment that cannot be read whole, whose
//! SHA-256 does not match, or that another version of procsite wrote, is ignored
//! (one of another version is passed over on its first line).
//! Past [`MAX_SEGMENTS`], the run writes one segment of what it used and removes the
//! others, which also drops what rewritten history left behind.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use git2::Oid;
use sha2::Digest;

use super::git::CommitInfo;

/// The environment variable that moves the cache, or turns it `off`.
pub const ENV: &str = "PROCSITE_HISTORY_CACHE";
/// The first line of a segment: the format and the procsite that wrote it, since
/// what the walk records may change between versions.
const MAGIC: &[u8] = concat!(
    "procsite-history-cache 2 procsite ",
    env!("CARGO_PKG_VERSION"),
    "\n"
)
.as_bytes();
const MAX_SEGMENTS: usize = 8;

/// What the walk learnt of one commit.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct CommitRecord {
    pub info: CommitInfo,
    /// Parent ids, in order.
    pub parents: Vec<String>,
    /// The files it changed (relative to the procsite root) and the blob each was
    /// left with (`None`: deleted).
    pub changes: Vec<(PathBuf, Option<String>)>,
}

/// Everything known, by object id.
#[derive(Default)]
pub struct Store {
    pub commits: HashMap<Oid, Arc<CommitRecord>>,
    pub texts: HashMap<Oid, Arc<str>>,
}

/// The cache folder of a repository, or `None` when the cache is off.
pub fn folder(git_dir: &Path, prefix: &Path) -> Option<PathBuf> {
    folder_for(std::env::var_os(ENV), git_dir, prefix)
}

/// The cache folder, given the value of [`ENV`].
fn folder_for(env: Option<std::ffi::OsString>, git_dir: &Path, prefix: &Path) -> Option<PathBuf> {
    let base = match env {
        Some(v) if v == "off" => return None,
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => git_dir.join("procsite").join("history"),
    };
    // Changes are recorded relative to the procsite root: another root, another cache.
    Some(if prefix.as_os_str().is_empty() {
        base
    } else {
        let key = crate::manifest::sha256_hex(prefix.to_string_lossy().as_bytes());
        base.join(format!("root-{}", &key[..16]))
    })
}

/// The folders loaded in this process, so the builds of several tags in one run
/// (the trend, the previous release) read the disk once.
fn loaded() -> &'static Mutex<HashMap<PathBuf, Arc<Store>>> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, Arc<Store>>>> = OnceLock::new();
    LOADED.get_or_init(Default::default)
}

/// What the folder holds (read once per process).
pub fn load(folder: &Path) -> Arc<Store> {
    let mut map = loaded().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = map.get(folder) {
        return Arc::clone(s);
    }
    let mut store = Store::default();
    for seg in segments(folder)
        .into_iter()
        .filter(|s| ours(s) == Some(true))
    {
        // A segment is taken whole or not at all.
        if let Some((commits, texts)) = read_segment(&seg) {
            store.commits.extend(commits);
            store.texts.extend(texts);
        }
    }
    let store = Arc::new(store);
    map.insert(folder.to_path_buf(), Arc::clone(&store));
    store
}

/// Lets go of every folder loaded in this process: the texts they hold are read
/// again from disk by a later build of the same process, if one comes.
pub fn unload_all() {
    loaded().lock().unwrap_or_else(|e| e.into_inner()).clear();
    crate::lenient::forget_versions();
    super::history::forget_walks();
}

/// The segments of a folder of segments, oldest first (their names begin with the time
/// they were written).
pub(crate) fn segments(folder: &Path) -> Vec<PathBuf> {
    let mut list: Vec<PathBuf> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    list.sort();
    list
}

/// Adds what a walk learnt, and writes it as a new segment; past [`MAX_SEGMENTS`],
/// writes instead one segment of what the walk `used` and removes the others.
/// A cache that cannot be written only costs time: the error is returned for `-v`.
pub fn save(
    folder: &Path,
    new_commits: Vec<(Oid, CommitRecord)>,
    new_texts: Vec<(Oid, Arc<str>)>,
    used_commits: &[Oid],
    used_texts: &HashMap<Oid, Arc<str>>,
) -> Result<(), String> {
    if new_commits.is_empty() && new_texts.is_empty() {
        return Ok(());
    }
    let (old, others): (Vec<PathBuf>, Vec<PathBuf>) = segments(folder)
        .into_iter()
        .filter(|s| ours(s).is_some())
        .partition(|s| ours(s) == Some(true));
    let mut map = loaded().lock().unwrap_or_else(|e| e.into_inner());
    let store = map.entry(folder.to_path_buf()).or_default();
    let mut next = Store {
        commits: store.commits.clone(),
        texts: store.texts.clone(),
    };
    let new_commits: Vec<(Oid, Arc<CommitRecord>)> = new_commits
        .into_iter()
        .map(|(o, r)| (o, Arc::new(r)))
        .collect();
    next.commits.extend(new_commits.iter().cloned());
    next.texts.extend(new_texts.iter().cloned());
    let compact = old.len() >= MAX_SEGMENTS;
    let next = Arc::new(next);
    *store = Arc::clone(&next);
    drop(map);
    write_segment(folder, "", |f| {
        if compact {
            encode(
                f,
                used_commits
                    .iter()
                    .filter_map(|o| Some((*o, next.commits.get(o)?.as_ref()))),
                used_texts.iter().map(|(o, t)| (*o, t)),
            )
        } else {
            encode(
                f,
                new_commits.iter().map(|(o, r)| (*o, r.as_ref())),
                new_texts.iter().map(|(o, t)| (*o, t)),
            )
        }
    })?;
    if compact {
        for s in old.into_iter().chain(others) {
            let _ = std::fs::remove_file(s);
        }
    }
    Ok(())
}

/// Whether the segment at `path` begins as this procsite writes them (`None`: it
/// cannot be read now). One another version wrote is not read, nor its SHA-256 taken,
/// and the next compaction removes it: two versions sharing a cache do not remove
/// each other's at every write.
fn ours(path: &Path) -> Option<bool> {
    use std::io::Read;
    let mut head = [0; MAGIC.len()];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head));
    match read {
        Ok(()) => Some(head == MAGIC),
        // Shorter than the first line: no segment at all.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Some(false),
        Err(_) => None,
    }
}

/// A segment: the magic line, the commit records as JSON (length first), then each
/// text as its 20-byte id, its length and its UTF-8 bytes, then the number of texts,
/// then the SHA-256 of all that: a bit flipped on disk never becomes a text.
fn encode<'a>(
    out: &mut dyn Write,
    commits: impl Iterator<Item = (Oid, &'a CommitRecord)>,
    texts: impl Iterator<Item = (Oid, &'a Arc<str>)>,
) -> std::io::Result<()> {
    let records: Vec<(String, &CommitRecord)> = commits.map(|(o, r)| (o.to_string(), r)).collect();
    let json = serde_json::to_vec(&records).expect("commit records serialize");
    let mut out = Summed::new(out);
    out.write_all(MAGIC)?;
    out.write_all(&(json.len() as u64).to_le_bytes())?;
    out.write_all(&json)?;
    let mut n: u64 = 0;
    for (oid, text) in texts {
        out.write_all(oid.as_bytes())?;
        out.write_all(&(text.len() as u64).to_le_bytes())?;
        out.write_all(text.as_bytes())?;
        n += 1;
    }
    out.write_all(&n.to_le_bytes())?;
    out.finish()
}

/// Writes a new segment into `folder`, its name beginning with `prefix` and the time:
/// what `encode` writes, to a temporary name, synced, then renamed, so that a reader
/// never sees half a segment.
pub(crate) fn write_segment(
    folder: &Path,
    prefix: &str,
    encode: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = format!("{prefix}{nanos:039}-{}", std::process::id());
    let tmp = folder.join(format!("{name}.tmp"));
    let seg = folder.join(format!("{name}.seg"));
    let written = (|| -> std::io::Result<()> {
        // Written as it is encoded, so what it holds is not held twice.
        let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
        encode(&mut f)?;
        let f = f
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &seg)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", seg.display())
    })?;
    remove_abandoned(folder);
    Ok(seg)
}

/// A temporary segment older than this was left by a run that was killed while
/// writing it (a run writes its segment in seconds).
const ABANDONED: std::time::Duration = std::time::Duration::from_secs(3600);

/// Removes the temporary segments of `folder` that runs killed while writing them
/// left behind.
fn remove_abandoned(folder: &Path) {
    let now = std::time::SystemTime::now();
    for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
        let path = entry.path();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > ABANDONED));
        if old && path.extension().is_some_and(|x| x == "tmp") {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A writer that keeps the SHA-256 of what it writes, and ends with it: a bit flipped
/// on disk is found by [`read_segment`].
pub(crate) struct Summed<W: Write> {
    out: W,
    sum: sha2::Sha256,
}

impl<W: Write> Summed<W> {
    pub(crate) fn new(out: W) -> Summed<W> {
        Summed {
            out,
            sum: sha2::Sha256::new(),
        }
    }

    /// Writes the SHA-256 of everything written before.
    pub(crate) fn finish(mut self) -> std::io::Result<()> {
        let sum = self.sum.finalize();
        self.out.write_all(&sum)
    }
}

impl<W: Write> Write for Summed<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(bytes)?;
        self.sum.update(&bytes[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The length of a segment's SHA-256.
const SUM: usize = 32;

type Decoded = (Vec<(Oid, Arc<CommitRecord>)>, Vec<(Oid, Arc<str>)>);

/// What the segment at `path` holds, if it is whole and its SHA-256 matches.
fn read_segment(path: &Path) -> Option<Decoded> {
    let file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    decode_from(file, len)
}

/// A segment of `len` bytes, read from `from` as [`encode`] wrote it. Each text is read
/// into its own allocation as it comes, while another thread sums what was read: a
/// cache of a few hundred megabytes is on the path of every build that uses it, and
/// is read in the time of the slower of the two, with no copy of the whole held.
fn decode_from(from: impl std::io::Read, len: u64) -> Option<Decoded> {
    use std::io::Read;
    let body = len.checked_sub(SUM as u64)?;
    let mut from = std::io::BufReader::with_capacity(1 << 16, from);
    std::thread::scope(|s| {
        let (to_sum, read) = std::sync::mpsc::sync_channel::<Summand>(1024);
        let summing = s.spawn(move || {
            let mut h = sha2::Sha256::new();
            for r in read {
                h.update(match &r {
                    Summand::Bytes(b) => b.as_slice(),
                    Summand::Text(t) => t.as_bytes(),
                });
            }
            h.finalize()
        });
        let mut body = Body {
            from: &mut from,
            at: 0,
            len: body,
            to_sum,
        };
        let decoded = body.decode();
        drop(body);
        let summed = summing.join().ok()?;
        let decoded = decoded?;
        let mut sum = [0; SUM];
        from.read_exact(&mut sum).ok()?;
        // Longer than it was when its length was taken: not a segment as written.
        let mut more = [0];
        (summed.as_slice() == sum && from.read(&mut more).ok()? == 0).then_some(decoded)
    })
}

/// What was read of a segment, in order, for the thread that sums it.
enum Summand {
    Bytes(Vec<u8>),
    Text(Arc<str>),
}

/// The part of a segment before its SHA-256, being read.
struct Body<'a, R: std::io::Read> {
    from: &'a mut R,
    /// Bytes read so far, and in all.
    at: u64,
    len: u64,
    to_sum: std::sync::mpsc::SyncSender<Summand>,
}

impl<R: std::io::Read> Body<'_, R> {
    /// Takes `n` more bytes, if the body has them: a length read wrong is neither
    /// read past the end nor allocated.
    fn take(&mut self, n: u64) -> Option<usize> {
        self.at = self.at.checked_add(n).filter(|&a| a <= self.len)?;
        usize::try_from(n).ok()
    }

    /// The next `n` bytes, summed.
    fn bytes(&mut self, n: u64) -> Option<Vec<u8>> {
        let mut b = vec![0; self.take(n)?];
        self.from.read_exact(&mut b).ok()?;
        Some(b)
    }

    fn sum(&self, s: Summand) -> Option<()> {
        self.to_sum.send(s).ok()
    }

    fn u64(&mut self) -> Option<u64> {
        let b = self.bytes(8)?;
        let v = u64::from_le_bytes(b.as_slice().try_into().ok()?);
        self.sum(Summand::Bytes(b))?;
        Some(v)
    }

    fn decode(&mut self) -> Option<Decoded> {
        let magic = self.bytes(MAGIC.len() as u64)?;
        if magic != MAGIC {
            return None;
        }
        self.sum(Summand::Bytes(magic))?;
        let json_len = self.u64()?;
        let json = self.bytes(json_len)?;
        let records: Vec<(String, CommitRecord)> = serde_json::from_slice(&json).ok()?;
        self.sum(Summand::Bytes(json))?;
        let commits = records
            .into_iter()
            .map(|(o, r)| Some((Oid::from_str(&o).ok()?, Arc::new(r))))
            .collect::<Option<Vec<_>>>()?;
        let mut texts = Vec::new();
        let end = self.len.checked_sub(8)?;
        let mut text = Vec::new();
        while self.at < end {
            let oid = self.bytes(20)?;
            let id = Oid::from_bytes(&oid).ok()?;
            self.sum(Summand::Bytes(oid))?;
            let len = self.u64()?;
            text.resize(self.take(len)?, 0);
            self.from.read_exact(&mut text).ok()?;
            let t: Arc<str> = Arc::from(std::str::from_utf8(&text).ok()?);
            self.sum(Summand::Text(Arc::clone(&t)))?;
            texts.push((id, t));
        }
        let n = self.u64()?;
        (self.at == self.len && n == texts.len() as u64).then_some((commits, texts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> CommitRecord {
        CommitRecord {
            info: CommitInfo {
                id: "1".repeat(40),
                author: "Dana".into(),
                author_email: "dana@example.com".into(),
                author_time: 1_780_272_000,
                author_offset: 60,
                commit_time: 1_780_272_001,
                commit_offset: -300,
                committer: "Lee".into(),
                subject: "Approve SOP-0001".into(),
                trailers: vec![("Approved-by".into(), "Dana <dana@example.com>".into())],
                signature: crate::signature::Signature::SshInvalid {
                    reason: "no".into(),
                },
                merge: false,
            },
            parents: vec!["2".repeat(40)],
            changes: vec![
                ("procedures/a.md".into(), Some("3".repeat(40))),
                ("procedures/b.md".into(), None),
            ],
        }
    }

    /// A segment of one commit record and one text.
    fn segment(r: &CommitRecord, oid: Oid, text: &Arc<str>) -> Vec<u8> {
        let mut bytes = Vec::new();
        encode(
            &mut bytes,
            [(oid, r)].into_iter(),
            [(oid, text)].into_iter(),
        )
        .unwrap();
        bytes
    }

    fn decode(bytes: &[u8]) -> Option<Decoded> {
        decode_from(bytes, bytes.len() as u64)
    }

    #[test]
    fn a_segment_reads_back_what_was_written() {
        let r = record();
        let oid = Oid::from_str(&"1".repeat(40)).unwrap();
        let text: Arc<str> = Arc::from("# Title\n\nbody é\n");
        let bytes = segment(&r, oid, &text);
        let (commits, texts) = decode(&bytes).unwrap();
        assert_eq!(commits.len(), 1);
        assert_eq!(*commits[0].1, r);
        assert_eq!(texts, vec![(oid, text)]);
    }

    #[test]
    fn a_segment_cut_short_or_altered_is_not_read() {
        let r = record();
        let oid = Oid::from_str(&"1".repeat(40)).unwrap();
        let text: Arc<str> = Arc::from("text");
        let bytes = segment(&r, oid, &text);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_none());
        for at in [0, MAGIC.len() + 10, bytes.len() - 40, bytes.len() - 1] {
            let mut other = bytes.clone();
            other[at] ^= 1;
            assert!(decode(&other).is_none(), "byte {at} altered");
        }
    }

    #[test]
    fn a_segment_file_is_read_whole_and_summed_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let r = record();
        let oid = Oid::from_str(&"1".repeat(40)).unwrap();
        // Longer than two blocks, so that the sum runs over several.
        let text: Arc<str> = "é line\n".repeat(1_100_000).into();
        let bytes = segment(&r, oid, &text);
        assert!(bytes.len() > 8 << 20);
        let path = dir.path().join("a.seg");
        std::fs::write(&path, &bytes).unwrap();
        let (commits, texts) = read_segment(&path).unwrap();
        assert_eq!(*commits[0].1, r);
        assert_eq!(texts, vec![(oid, text)]);
        for at in [0, 5 << 20, bytes.len() - 40, bytes.len() - 1] {
            let mut other = bytes.clone();
            other[at] ^= 1;
            std::fs::write(&path, &other).unwrap();
            assert!(read_segment(&path).is_none(), "byte {at} altered");
        }
        for len in [0, 10, SUM, bytes.len() - 1] {
            std::fs::write(&path, &bytes[..len]).unwrap();
            assert!(read_segment(&path).is_none(), "cut at {len}");
        }
        assert!(read_segment(&dir.path().join("gone.seg")).is_none());
    }

    #[test]
    fn a_write_removes_what_killed_writes_left_behind_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let aged = |name: &str, hours: u64| {
            let path = dir.path().join(name);
            std::fs::write(&path, "x").unwrap();
            let then = std::time::SystemTime::now() - std::time::Duration::from_secs(hours * 3600);
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(then)
                .unwrap();
        };
        aged("1-killed.tmp", 2);
        aged("2-writing.tmp", 0);
        aged("3-old.seg", 2);
        let seg = write_segment(dir.path(), "", |f| f.write_all(b"segment")).unwrap();
        let new = seg.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            crate::fs::names_in(dir.path()),
            [new.as_str(), "2-writing.tmp", "3-old.seg"]
        );
    }

    #[test]
    fn a_segment_of_another_version_is_not_read_and_a_compaction_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let r = record();
        let oid = Oid::from_str(&"2".repeat(40)).unwrap();
        let text: Arc<str> = Arc::from("text");
        // A segment of another version, whole and summed as that version wrote it.
        let mut other = segment(&r, oid, &text);
        let body = other.len() - SUM;
        other[..MAGIC.len()].copy_from_slice(&MAGIC.to_ascii_uppercase());
        let sum = sha2::Sha256::digest(&other[..body]);
        other[body..].copy_from_slice(&sum);
        std::fs::write(dir.path().join("1-other.seg"), &other).unwrap();
        std::fs::write(dir.path().join("2-ours.seg"), segment(&r, oid, &text)).unwrap();
        std::fs::write(dir.path().join("3-short.seg"), &MAGIC[..5]).unwrap();
        assert_eq!(ours(&dir.path().join("1-other.seg")), Some(false));
        assert_eq!(ours(&dir.path().join("2-ours.seg")), Some(true));
        assert_eq!(ours(&dir.path().join("3-short.seg")), Some(false));
        assert_eq!(ours(&dir.path().join("gone.seg")), None);
        assert_eq!(load(dir.path()).texts.get(&oid), Some(&text));

        // Writes leave it (another version may be using it) until one compacts.
        let write = |oid: Oid| {
            let texts = vec![(oid, Arc::from("new"))];
            save(dir.path(), Vec::new(), texts, &[], &HashMap::new()).unwrap();
        };
        for n in 1..MAX_SEGMENTS {
            write(Oid::from_str(&format!("{n:040}")).unwrap());
            let left = crate::fs::names_in(dir.path());
            assert!(left.iter().any(|n| n == "1-other.seg"), "{left:?}");
            assert_eq!(left.len(), 3 + n, "{left:?}");
        }
        write(Oid::from_str(&"9".repeat(40)).unwrap());
        assert_eq!(crate::fs::names_in(dir.path()).len(), 1);
        loaded().lock().unwrap().remove(dir.path());
    }

    #[test]
    fn the_cache_moves_or_turns_off_with_the_environment_and_follows_the_root() {
        let git = Path::new("/repo/.git");
        let top = Path::new("");
        assert_eq!(
            folder_for(None, git, top),
            Some(PathBuf::from("/repo/.git/procsite/history"))
        );
        let nested = folder_for(None, git, Path::new("qms")).unwrap();
        assert_eq!(
            nested.parent(),
            Some(Path::new("/repo/.git/procsite/history"))
        );
        let name = nested.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("root-") && name.len() == 21, "{name}");
        assert_ne!(nested, folder_for(None, git, Path::new("other")).unwrap());
        assert_eq!(
            folder_for(Some("/ci/cache".into()), git, top),
            Some(PathBuf::from("/ci/cache"))
        );
        assert_eq!(folder_for(Some("off".into()), git, top), None);
    }
}

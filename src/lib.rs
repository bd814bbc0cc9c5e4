//! procsite: publishes a git repository of controlled procedures as one static
//! website per manufacturing site.
//!
//! A run is a pipeline of stages, each a function from one value to the next:
//!
//! | stage | function | in → out |
//! |---|---|---|
//! | command line | [`cli`] | argv → [`plan::Request`] |
//! | load | [`build::load`] | `Request` → [`build::Loaded`]: every source file from the commit tree (or the work tree of a preview), book.toml, and one walk of the history ([`repo`], the only module that uses git) |
//! | plan | [`plan::Plan::settle`] | `Request` + book.toml + the commit → [`plan::Plan`]: sites, version, release tag, as-of date and output folder, each decided once |
//! | check | [`build::check`] | `Loaded` + `Plan` → [`build::Checked`]: typed documents ([`parse`]), stamps from history ([`stamp`]), the text in force at the as-of date ([`inforce`], its own map), every diagnostic |
//! | compose | [`build::compose_site`] | `Checked` + a site ([`site::plan`]) → the site's composed documents ([`compose::SiteDoc`], each piece knowing its origin) and its report cells with each text |
//! | render | [`render::render_site`] | composed site + theme → files in memory, each distinct piece rendered once for every site |
//! | write | [`publish`] → [`output`] | version folders → one locked, atomic transaction on the output, with `versions.json`, `latest/`, the portal, the report and the output's manifest |
//!
//! [`promote`] applies a site's addendum to the global document's source and commits the
//! result on a new branch, from git objects ([`repo::create`] is the only module that
//! writes to git); it compares each site's composed texts before and after.
//!
//! [`init`] writes a new repository from the templates under `src/init/`; with `--demo`,
//! a whole scripted history with three releases ([`init::demo`]).
//!
//! [`build::render`] runs load to render in memory. `diff` and `report` stop after
//! compose and render no HTML they do not print; a release's `changes.html` compares
//! with the previous release's composed texts. Only [`output`] writes the published
//! tree; [`layout`] names every path in it.

pub mod build;
pub mod cli;
pub mod compose;
pub mod config;
pub mod diag;
pub mod diagfmt;
pub mod diff;
pub mod diffcmd;
pub mod export;
pub mod external;
pub mod fs;
pub mod inforce;
pub mod init;
pub mod last_build;
pub mod layout;
pub mod lenient;
pub mod manifest;
pub mod model;
pub mod network;
pub mod output;
pub mod page_cache;
pub mod parse;
pub mod plan;
pub mod progress;
pub mod promote;
pub mod publish;
pub mod rebuild;
pub mod redline;
pub mod release;
pub mod render;
pub mod repo;
pub mod report;
pub mod serve;
pub mod signature;
pub mod site;
pub mod stamp;
#[cfg(test)]
mod testkit;
pub mod yaml;

/// `s` on one line: each run of whitespace one space, and none at either end.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

static KEEP_BETWEEN_BUILDS: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// From now on, this process keeps what one build read and made for the next:
/// `serve`, which builds again and again from the same history while one file
/// changes. It keeps the history walked from each commit ([`repo::history::walk`]),
/// the files parsed ([`parse::parse_corpus`]) and stamped ([`stamp::stamp_kept`]),
/// the earlier revisions in force ([`inforce::select`]), the theme's templates compiled ([`render::theme::load`]), the compositions
/// ([`compose::TextPool::new`]) and the pages rendered
/// ([`page_cache::Pages::in_memory`]). A single build keeps none of them:
/// they would be held beside every text of the history, when its memory peaks. (The
/// versions of history read leniently, [`lenient::version`], go with the history's
/// texts, which `serve` keeps loaded.)
pub fn keep_between_builds() {
    KEEP_BETWEEN_BUILDS.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether this process keeps what one build read and made for the next
/// ([`keep_between_builds`]).
pub fn keeps_between_builds() -> bool {
    KEEP_BETWEEN_BUILDS.load(std::sync::atomic::Ordering::Relaxed)
}

static ENDS_AFTER_BUILD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Marks this process as one that ends after its one build (`check`, `build`): what
/// the build held is then left at its end for the operating system, which takes a
/// process's memory back at once, instead of being freed piece by piece (a tenth of a
/// second at 2,000 documents and 10 sites). Only plain data is left so
/// ([`let_go`]); what removes a file or a lock when dropped is always dropped.
pub fn ends_after_build() {
    ENDS_AFTER_BUILD.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Lets go of `value`, plain data a build no longer needs: frees it now, or leaves it
/// to the end of a process that ends after its one build ([`ends_after_build`]).
pub fn let_go<T>(value: T) {
    if ENDS_AFTER_BUILD.load(std::sync::atomic::Ordering::Relaxed) && !keeps_between_builds() {
        std::mem::forget(value);
    } else {
        drop(value);
    }
}

/// Builds in a row a value kept between builds may go unused before it is let go.
pub const KEPT_BUILDS: u64 = 4;

/// Values a process keeps from one build for the next ([`keep_between_builds`]), each
/// with the number of the last build that used it: one that none of the last
/// [`KEPT_BUILDS`] builds used is let go when the next starts.
pub struct KeptByBuild<K, V> {
    entries: std::collections::HashMap<K, (u64, V)>,
}

impl<K, V> Default for KeptByBuild<K, V> {
    fn default() -> Self {
        KeptByBuild {
            entries: std::collections::HashMap::new(),
        }
    }
}

impl<K: Eq + std::hash::Hash, V> KeptByBuild<K, V> {
    /// Starts build number `build`: lets go of what the builds before it left unused.
    pub fn start(&mut self, build: u64) {
        self.entries
            .retain(|_, (used, _)| *used + KEPT_BUILDS >= build);
    }

    /// The value of `key`, used by build `build`.
    pub fn get(&mut self, key: &K, build: u64) -> Option<&V> {
        let (used, value) = self.entries.get_mut(key)?;
        *used = build;
        Some(value)
    }

    /// Keeps `value` for `key`, made by build `build`.
    pub fn insert(&mut self, key: K, build: u64, value: V) {
        self.entries.insert(key, (build, value));
    }

    pub fn contains_key(&self, key: &K) -> bool {
        self.entries.contains_key(key)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.values().map(|(_, v)| v)
    }
}

/// A map looked up by path: hashing a path reads its bytes once, where each step of
/// an ordered map compares two paths component by component, and stamps are looked
/// up tens of thousands of times per build. It serializes in path order
/// ([`sorted`]), so what a build dumps stays the same from run to run.
pub type PathMap<V> = std::collections::HashMap<std::path::PathBuf, V>;

/// Serializes a hash map (or set, as a map to `()`) in the order of its keys.
pub fn sorted<S: serde::Serializer, K: Ord + serde::Serialize, V: serde::Serialize>(
    map: &std::collections::HashMap<K, V>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    map.iter()
        .collect::<std::collections::BTreeMap<_, _>>()
        .serialize(s)
}

/// Serializes a hash set in the order of its items.
pub fn sorted_set<S: serde::Serializer, K: Ord + serde::Serialize>(
    set: &std::collections::HashSet<K>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    set.iter()
        .collect::<std::collections::BTreeSet<_>>()
        .serialize(s)
}

/// The value of `key` in `map`, made by `make` the first time. It is made outside the
/// lock, so other keys are served meanwhile; when two threads make one key at once,
/// both get the value kept first.
pub fn made_once<K: Eq + std::hash::Hash, V: Clone>(
    map: &std::sync::Mutex<std::collections::HashMap<K, V>>,
    key: K,
    make: impl FnOnce(&K) -> V,
) -> V {
    let lock = || map.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(v) = lock().get(&key) {
        return v.clone();
    }
    let made = make(&key);
    lock().entry(key).or_insert(made).clone()
}

/// glibc gives each thread a malloc arena of its own (up to eight per core), and
/// memory freed in one arena serves no other: the history texts let go before
/// rendering stayed resident beside the pages rendered on other threads. One arena
/// per core keeps the peak of a 10-site build about 17% lower, at the same speed.
/// glibc also raises its threshold for mapping a block of its own each time such a
/// block is freed, after which big buffers (a serialised history, a search index)
/// come from the arenas and leave them fragmented: the threshold is held at its
/// initial 128 KiB. A setting the user made (`MALLOC_ARENA_MAX` or
/// `MALLOC_MMAP_THRESHOLD_`, or the same in `GLIBC_TUNABLES`) stands. Then the
/// worker threads start (see below). Call it first, before any thread starts.
pub fn set_up_threads_and_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        let set = |var: &str, tunable: &str| {
            std::env::var_os(var).is_some() || tunables.contains(tunable)
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        // SAFETY: mallopt only sets limits of the allocator; called before any
        // other thread runs.
        unsafe {
            if !set("MALLOC_ARENA_MAX", "arena_max") {
                libc::mallopt(libc::M_ARENA_MAX, cores.max(2) as libc::c_int);
            }
            if !set("MALLOC_MMAP_THRESHOLD_", "mmap_threshold") {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
            }
        }
        // A thread takes its arena at its first allocation: one that finds every
        // arena in use at that moment shares one with a thread that is, and the two
        // then wait on each other for every allocation (a build took twice as long,
        // now and then, when two workers shared one). So the worker threads start
        // now (rayon allocates for each as it starts) while this thread waits and
        // allocates nothing: with one worker per core, the last to start shares this
        // thread's arena, which is idle while the workers work.
        let started = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = std::sync::Arc::clone(&started);
        let built = rayon::ThreadPoolBuilder::new()
            .start_handler(move |_| {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            })
            .build_global();
        if built.is_ok() {
            let workers = rayon::current_num_threads();
            while started.load(std::sync::atomic::Ordering::SeqCst) < workers {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    }
}

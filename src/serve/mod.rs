//! `procsite serve`: a preview build of the work tree, held in memory and served over
//! HTTP, rebuilt when a source changes, with open pages reloading after each build.
//!
//! - The served tree is [`publish::tree_in_memory`]: the files a preview build writes
//!   into an empty output, made by the same functions. Nothing is written to disk, and
//!   only keys of that tree are ever served, so no other file can be read.
//! - A watcher on `book.toml`, `procedures/`, `themes/` and the repository's references
//!   (`HEAD`, branches, tags: a commit changes every page's stamp) triggers a rebuild,
//!   after a short quiet period so that one save is one build. A change to a file the build
//!   does not read is ignored. A change under `procedures/sites/<site>/` renders only
//!   that site's pages again (every site is still parsed and composed, for the checks
//!   and the report) and keeps the other sites' version folders from the last build,
//!   unless it moves the network's medians their harmonization pages show; anything
//!   else rebuilds every served site.
//! - A build with errors keeps the last good tree and shows its diagnostics in an
//!   overlay on every page, until a build succeeds, which also rebuilds what the
//!   failed builds were to rebuild.
//! - Pages reload through a long-poll at [`http::RELOAD_PATH`], whose script is added
//!   to HTML responses only.

pub mod http;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::build::{self, BuildOptions};
use crate::output::VersionFolder;
use crate::publish;
use crate::repo::scan;

/// What to serve, and where.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The repository root, where book.toml is.
    pub root: PathBuf,
    /// Sites to serve; empty means every site.
    pub sites: Vec<String>,
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    /// Print how long each stage of every build took.
    pub verbose: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            root: PathBuf::from("."),
            sites: Vec::new(),
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 3000,
            verbose: false,
        }
    }
}

/// The served tree: output-relative path → bytes.
type Tree = BTreeMap<String, Vec<u8>>;

/// What the server shows now.
#[derive(Default, Clone)]
struct Shown {
    /// Counts finished builds that changed what is shown; pages reload when it grows.
    generation: u64,
    /// The last good build.
    tree: Option<Arc<Tree>>,
    /// The diagnostics of the latest build, when it failed.
    failed: Option<Arc<Vec<String>>>,
}

#[derive(Default)]
struct Shared {
    shown: Mutex<Shown>,
    /// Signalled when `shown` changes or the server stops.
    changed: Condvar,
    stopping: AtomicBool,
    /// Long-polls waiting now, each on its own thread.
    polls: AtomicUsize,
    /// What the latest build rebuilt, as it says (`rebuilt cork`).
    rebuilt: Mutex<String>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shown> {
        self.shown.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn snapshot(&self) -> Shown {
        self.lock().clone()
    }

    /// Shows a build's result; a result equal to what is shown changes nothing.
    fn show(&self, result: Result<Tree, Vec<String>>) {
        let mut s = self.lock();
        match result {
            Ok(tree) => {
                if s.failed.is_none() && s.tree.as_deref() == Some(&tree) {
                    return;
                }
                s.tree = Some(Arc::new(tree));
                s.failed = None;
            }
            Err(diags) => {
                if s.failed.as_deref() == Some(&diags) {
                    return;
                }
                s.failed = Some(Arc::new(diags));
            }
        }
        s.generation += 1;
        drop(s);
        self.changed.notify_all();
    }
}

/// A running server. Dropping it stops it too.
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

/// Threads answering requests; long-polls get a thread of their own.
const WORKERS: usize = 4;
/// Long-polls waiting at once, beyond which a poll is answered at once.
const MAX_POLLS: usize = 64;
/// How long a long-poll waits before answering with the same generation.
const POLL_WAIT: Duration = Duration::from_secs(25);
/// A change is built once no other change came for this long: an editor saves a
/// file in a burst of events a few milliseconds apart.
const QUIET: Duration = Duration::from_millis(50);

impl Server {
    /// Listens, builds once, and starts watching and serving. Build errors do not stop
    /// it (they are shown in the browser); a port it cannot listen on does.
    pub fn start(opts: ServeOptions) -> Result<Server, String> {
        let listen = SocketAddr::new(opts.bind, opts.port);
        let http = tiny_http::Server::http(listen)
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let addr = http
            .server_addr()
            .to_ip()
            .ok_or_else(|| format!("cannot listen on {listen}: not an IP address"))?;
        let http = Arc::new(http);
        // Every rebuild reads the same history, kept loaded, and composes the same
        // documents but one.
        crate::keep_between_builds();
        let shared = Arc::new(Shared::default());
        // Watching starts before the first build, so an edit during it is not missed.
        let (tx, rx) = mpsc::channel();
        let root = watch_root(&opts.root);
        let git = crate::repo::git::ref_folders(&root);
        let watcher = match start_watcher(&root, git.as_ref(), tx) {
            Ok(w) => Some(w),
            Err(e) => {
                eprintln!("warning: cannot watch the sources ({e}); pages are not rebuilt on a change: restart to rebuild");
                None
            }
        };
        let mut builder = Builder {
            root: opts.root.clone(),
            sites: opts.sites.clone(),
            verbose: opts.verbose,
            timings: Vec::new(),
            good: None,
            behind: None,
        };
        shared.show(builder.build(None).1);
        let mut threads = Vec::new();
        let s = shared.clone();
        threads.push(std::thread::spawn(move || {
            rebuild_loop(&root, git.as_ref(), rx, watcher, builder, &s)
        }));
        for _ in 0..WORKERS {
            let (s, h) = (shared.clone(), http.clone());
            threads.push(std::thread::spawn(move || serve_loop(&h, &s)));
        }
        Ok(Server {
            addr,
            shared,
            threads,
        })
    }

    /// The address it listens on (the port is the one picked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The number of finished builds that changed what is served.
    pub fn generation(&self) -> u64 {
        self.shared.lock().generation
    }

    /// What the latest rebuild rebuilt, as it printed it (`rebuilt cork`, `rebuilt`);
    /// empty before the first.
    pub fn rebuilt(&self) -> String {
        self.shared
            .rebuilt
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Serves until the process ends (Ctrl-C).
    pub fn wait(mut self) {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }

    /// Stops watching and serving, after the build under way, if any, finishes.
    pub fn stop(self) {}

    fn shut_down(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// `procsite serve`: starts the server, prints its address, and serves until Ctrl-C.
pub fn run(
    root: PathBuf,
    sites: Vec<String>,
    port: u16,
    bind: Option<IpAddr>,
    verbose: bool,
) -> std::process::ExitCode {
    let defaults = ServeOptions::default();
    let bind = bind.unwrap_or(defaults.bind);
    if !bind.is_loopback() {
        eprintln!(
            "warning: serving on {bind}: this uncontrolled preview is visible to the network"
        );
    }
    match Server::start(ServeOptions {
        root,
        sites,
        bind,
        port,
        verbose,
    }) {
        Ok(server) => {
            println!("serving the preview at {} (Ctrl-C stops)", server.url());
            server.wait();
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

/// The root as the watcher reports paths under it.
fn watch_root(root: &Path) -> PathBuf {
    std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf())
}

/// Watches the sources under `root` (as [`watch_root`] gives it) and the references
/// in `git`.
fn start_watcher(
    root: &Path,
    git: Option<&crate::repo::git::RefFolders>,
    tx: mpsc::Sender<notify::Result<notify::Event>>,
) -> notify::Result<notify::RecommendedWatcher> {
    use notify::{RecursiveMode, Watcher};
    let mut w = notify::recommended_watcher(move |e| {
        let _ = tx.send(e);
    })?;
    // The root itself, not recursively: book.toml (also when an editor replaces it),
    // and procedures/ or themes/ appearing.
    w.watch(root, RecursiveMode::NonRecursive)?;
    for dir in [crate::layout::PROCEDURES_DIR, crate::layout::THEMES_DIR] {
        if root.join(dir).is_dir() {
            w.watch(&root.join(dir), RecursiveMode::Recursive)?;
        }
    }
    // A commit, a switch of branch, a tag: pages show the commit they were built from.
    // Watched as far as the system lets: without them, a commit shows at the next save.
    if let Some(git) = git {
        let mut folders = vec![(git.own.clone(), RecursiveMode::NonRecursive)];
        // The same folder but in a linked work tree.
        if git.common != git.own {
            folders.push((git.common.clone(), RecursiveMode::NonRecursive));
        }
        for f in crate::repo::git::REF_FOLDERS {
            folders.push((git.common.join(f), RecursiveMode::Recursive));
        }
        // Where `info/grafts` is written.
        if let Some(info) = git.common.join(crate::repo::git::GRAFTS).parent() {
            folders.push((info.to_path_buf(), RecursiveMode::NonRecursive));
        }
        for (folder, mode) in folders {
            if folder.is_dir() {
                if let Err(e) = w.watch(&folder, mode) {
                    eprintln!("warning: cannot watch {} ({e}); a commit shows at the next change to the sources", folder.display());
                }
            }
        }
    }
    Ok(w)
}

/// What a batch of changes makes rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every served site: book.toml, themes or global documents changed.
    All,
    /// Only these sites' own folders changed.
    Sites(BTreeSet<String>),
}

impl Scope {
    /// What this and `other` rebuild together.
    fn and(self, other: Scope) -> Scope {
        match (self, other) {
            (Scope::Sites(mut a), Scope::Sites(b)) => {
                a.extend(b);
                Scope::Sites(a)
            }
            _ => Scope::All,
        }
    }
}

/// The scope of changes to these repository-relative paths; `None` when the build
/// reads none of them.
pub fn scope_of<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Option<Scope> {
    let mut sites = BTreeSet::new();
    let mut any = false;
    for p in paths {
        if !scan::is_source(p) {
            continue;
        }
        any = true;
        match crate::layout::site_folder(p) {
            Some(site) => {
                sites.insert(site.to_string());
            }
            None => return Some(Scope::All),
        }
    }
    any.then_some(Scope::Sites(sites))
}

/// Waits for changes, and builds what they reach; the watcher ends with it.
fn rebuild_loop(
    root: &Path,
    git: Option<&crate::repo::git::RefFolders>,
    rx: Receiver<notify::Result<notify::Event>>,
    mut watcher: Option<notify::RecommendedWatcher>,
    mut builder: Builder,
    shared: &Shared,
) {
    loop {
        let first = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(e) => e,
            Err(RecvTimeoutError::Timeout) if !shared.stopping.load(Ordering::SeqCst) => continue,
            Err(_) => return,
        };
        let mut events = vec![first];
        let until = Instant::now() + Duration::from_secs(2);
        while let Ok(e) = rx.recv_timeout(QUIET) {
            events.push(e);
            if Instant::now() > until {
                break;
            }
        }
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let mut paths = Vec::new();
        let mut everything = false;
        let mut moved = false;
        for e in events {
            match e {
                // A commit changes the stamps of every page.
                Ok(e)
                    if is_content_change(&e.kind)
                        && e.paths.iter().any(|p| git.is_some_and(|g| g.moved(p))) =>
                {
                    everything = true;
                    moved = true;
                }
                Ok(e) if is_content_change(&e.kind) => {
                    crate::repo::scan::forget_reads(e.paths.iter().map(PathBuf::as_path));
                    paths.extend(
                        e.paths
                            .iter()
                            .filter_map(|p| p.strip_prefix(root).ok())
                            .map(Path::to_path_buf),
                    );
                }
                Ok(_) => {}
                // Events were lost (an overflowing queue): read and rebuild everything.
                Err(_) => {
                    crate::repo::scan::forget_all_reads();
                    everything = true;
                }
            }
        }
        // procedures/ or themes/ made (again) after the start: watch inside them too.
        for dir in [crate::layout::PROCEDURES_DIR, crate::layout::THEMES_DIR] {
            if let Some(w) = &mut watcher {
                if paths.iter().any(|p| p == Path::new(dir)) && root.join(dir).is_dir() {
                    use notify::Watcher;
                    let _ = w.watch(&root.join(dir), notify::RecursiveMode::Recursive);
                }
            }
        }
        if let Some(git) = git.filter(|_| moved) {
            wait_for_index(&git.index_lock(), shared);
        }
        let scope = if everything {
            Some(Scope::All)
        } else {
            scope_of(paths.iter().map(PathBuf::as_path))
        };
        if let Some(scope) = scope {
            let (what, built) = builder.build(Some(scope));
            *shared.rebuilt.lock().unwrap_or_else(|e| e.into_inner()) = what;
            shared.show(built);
        }
    }
}

/// How long a rebuild after a reference moved waits for git to put the index in place.
const INDEX_WAIT: Duration = Duration::from_secs(5);

/// Waits while `lock` (the index's lock) is there, up to [`INDEX_WAIT`]: git's
/// `reference-transaction` hook runs after a commit has moved the branch and before
/// the new index is in place, and the index's own change triggers no build. A lock
/// that stays (left by a git that died, or held through a long `git add -p`) is
/// waited for at each reference move up to the limit, and said each time.
fn wait_for_index(lock: &Path, shared: &Shared) {
    let until = Instant::now() + INDEX_WAIT;
    while lock.exists() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        if Instant::now() > until {
            println!(
                "{} is still there after {} s: building without waiting for git",
                crate::diag::display_path(lock),
                INDEX_WAIT.as_secs()
            );
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reading a file (the build itself does) or touching its metadata changes no source.
fn is_content_change(kind: &notify::EventKind) -> bool {
    use notify::event::{EventKind, ModifyKind};
    !matches!(
        kind,
        EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_))
    )
}

/// The last good build's version folders, which a site-scoped rebuild keeps.
struct Good {
    folders: Vec<VersionFolder>,
    /// The commit and dirtiness the folders were built from: their pages show them.
    stamp: (Option<String>, bool),
    /// The trend the folders were built with: each site's harmonization page shows
    /// the network's medians, which a change at another site can move.
    trend: Option<crate::network::Trend>,
}

/// Runs builds and keeps what a site-scoped rebuild reuses.
struct Builder {
    root: PathBuf,
    sites: Vec<String>,
    verbose: bool,
    /// How long each stage of the latest attempt took.
    timings: Vec<(&'static str, Duration)>,
    good: Option<Good>,
    /// What the builds that failed since the last good one were to rebuild: the
    /// folders kept are behind by that much.
    behind: Option<Scope>,
}

impl Builder {
    /// Builds `scope` (`None`: the first build), prints how long it took and what it
    /// found, and returns what it rebuilt, as it says (`rebuilt cork`), with the tree
    /// or the diagnostics of a failed build.
    fn build(&mut self, scope: Option<Scope>) -> (String, Result<Tree, Vec<String>>) {
        let started = Instant::now();
        // What the builds that failed since the last good one were to rebuild is
        // still to be rebuilt.
        let scope = match (scope, self.behind.take()) {
            (Some(scope), Some(behind)) => Some(scope.and(behind)),
            (scope, _) => scope,
        };
        let only = match (&scope, &self.good) {
            (Some(Scope::Sites(s)), Some(good)) => Some(
                s.iter()
                    .filter(|s| good.folders.iter().any(|f| &f.site == *s))
                    .cloned()
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        };
        let (attempt, only) = match self.attempt(only.as_deref()) {
            Attempt::Stale(why) => {
                let stale = started.elapsed();
                let again = self.attempt(None);
                self.timings.insert(0, (why, stale));
                (again, None)
            }
            a => (a, only),
        };
        if matches!(attempt, Attempt::Failed { .. }) {
            self.behind = Some(scope.clone().unwrap_or(Scope::All));
        }
        let secs = started.elapsed().as_secs_f64();
        if self.verbose {
            crate::cli::print_timings(&self.timings);
        }
        let what = match (&scope, &only) {
            (None, _) => "built".to_string(),
            (_, Some(sites)) if sites.is_empty() => {
                "checked; no served site's pages changed, the report was rebuilt".into()
            }
            (_, Some(sites)) => format!("rebuilt {}", sites.join(", ")),
            (_, None) => "rebuilt".into(),
        };
        let built = match attempt {
            Attempt::Built {
                tree,
                errors,
                warnings,
            } => {
                println!("{what} in {secs:.2} s ({errors} error(s), {warnings} warning(s))");
                Ok(tree)
            }
            Attempt::Failed {
                diags,
                errors,
                warnings,
            } => {
                for d in &diags {
                    eprintln!("{d}");
                }
                println!(
                    "build failed in {secs:.2} s: {errors} error(s), {warnings} warning(s); {}",
                    if self.good.is_some() {
                        "serving the last good build with the errors over it"
                    } else {
                        "serving the errors"
                    }
                );
                Err(diags)
            }
            Attempt::Stale(_) => unreachable!("a full build is never stale"),
        };
        (what, built)
    }

    /// One build: of every served site (`only` is `None`), or rendering only `only`
    /// and keeping the other sites' folders of the last good build.
    fn attempt(&mut self, only: Option<&[String]>) -> Attempt {
        let (sites, no_html) = match only {
            None => (self.sites.clone(), false),
            // No served site's pages change, but the checks and the report still run.
            Some([]) => (self.sites.clone(), true),
            Some(s) => (s.to_vec(), false),
        };
        let mut rendered = build::render(&BuildOptions {
            root: self.root.clone(),
            sites,
            no_html,
            // The next rebuild reads the history again: from memory, not from disk.
            keep_cache_loaded: true,
            with_report: true,
            ..Default::default()
        });
        let mut clock = Instant::now();
        self.timings = std::mem::take(&mut rendered.timings);
        let mut diags =
            std::mem::replace(&mut rendered.diags, crate::diag::Diagnostics::new()).into_sorted();
        if diags.iter().any(|d| d.is_error()) {
            return failed(diags);
        }
        let stamp = (
            rendered.info.commit.as_ref().map(|c| c.id.clone()),
            rendered.info.dirty,
        );
        // A commit, or the first edit of a clean tree, shows on every page.
        if let (Some(only), Some(good)) = (only, &self.good) {
            if good.stamp != stamp {
                return Attempt::Stale(
                    "the changed sites, with another commit or dirtiness in their stamp: built again",
                );
            }
            let rows = |trend: &Option<crate::network::Trend>, site: &str| {
                trend.as_ref().map(|t| crate::network::site_rows(t, site))
            };
            let moved = good
                .folders
                .iter()
                .filter(|f| !only.contains(&f.site))
                .any(|f| rows(&good.trend, &f.site) != rows(&rendered.trend, &f.site));
            if moved {
                return Attempt::Stale(
                    "the changed sites, moving the network's medians: built again",
                );
            }
        }
        let sites = std::mem::take(&mut rendered.sites);
        // A file as the last good build served it keeps the SHA-256 its manifest lists.
        let before = |site: &str| {
            self.good
                .as_ref()
                .and_then(|g| g.folders.iter().find(|f| f.site == site))
        };
        let fresh: Vec<VersionFolder> = sites
            .into_iter()
            .map(|(site, files)| publish::folder_of(&rendered, &site, files, before(&site)))
            .collect();
        let mut folders: Vec<VersionFolder> = match (only, self.good.take()) {
            (Some(only), Some(good)) => good
                .folders
                .into_iter()
                .filter(|f| !only.contains(&f.site))
                .chain(fresh)
                .collect(),
            _ => fresh,
        };
        folders.sort_by(|a, b| a.site.cmp(&b.site));
        let mut d = crate::diag::Diagnostics::new();
        self.timings.push(("manifests", clock.elapsed()));
        clock = Instant::now();
        let tree = publish::tree_in_memory(&rendered, &folders, &mut d);
        self.timings.push(("the tree in memory", clock.elapsed()));
        // The folders are this build's either way: only the pages across sites failed.
        self.good = Some(Good {
            folders,
            stamp,
            trend: rendered.trend.clone(),
        });
        match tree {
            Ok(files) => {
                diags.extend(d.into_sorted());
                let (errors, warnings) = counts(&diags);
                Attempt::Built {
                    tree: files.into_iter().map(|f| (f.path, f.bytes)).collect(),
                    errors,
                    warnings,
                }
            }
            Err(d) => {
                diags.extend(d.into_sorted());
                failed(diags)
            }
        }
    }
}

fn failed(diags: Vec<crate::diag::Diagnostic>) -> Attempt {
    let (errors, warnings) = counts(&diags);
    Attempt::Failed {
        diags: diags.iter().map(|d| d.to_string()).collect(),
        errors,
        warnings,
    }
}

enum Attempt {
    Built {
        tree: Tree,
        errors: usize,
        warnings: usize,
    },
    Failed {
        diags: Vec<String>,
        errors: usize,
        warnings: usize,
    },
    /// The build is of another commit or dirtiness than the folders it would keep, or
    /// it moves what their pages show of the network; says which, for `-v`.
    Stale(&'static str),
}

fn counts(diags: &[crate::diag::Diagnostic]) -> (usize, usize) {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    (errors, diags.len() - errors)
}

fn serve_loop(http: &tiny_http::Server, shared: &Arc<Shared>) {
    while !shared.stopping.load(Ordering::SeqCst) {
        match http.recv_timeout(Duration::from_millis(200)) {
            Ok(Some(req)) => answer(req, shared),
            Ok(None) => {}
            Err(_) => return,
        }
    }
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("header names and values are ASCII")
}

fn respond(req: tiny_http::Request, status: u16, content_type: &str, body: Vec<u8>) {
    // The body is in memory: send its length rather than chunks, whatever its size.
    let response = tiny_http::Response::from_data(body)
        .with_chunked_threshold(usize::MAX)
        .with_status_code(status)
        .with_header(header("Content-Type", content_type))
        .with_header(header("Cache-Control", "no-store"))
        .with_header(header("X-Content-Type-Options", "nosniff"));
    // The browser went away: nothing to do.
    let _ = req.respond(response);
}

fn answer(req: tiny_http::Request, shared: &Arc<Shared>) {
    use tiny_http::Method;
    if !matches!(req.method(), Method::Get | Method::Head) {
        let response = tiny_http::Response::from_string("only GET and HEAD\n")
            .with_status_code(405)
            .with_header(header("Allow", "GET, HEAD"));
        let _ = req.respond(response);
        return;
    }
    let target = req.url().to_string();
    let path = target.split(['?', '#']).next().unwrap_or_default();
    if path == http::RELOAD_PATH {
        return long_poll(req, http::since(&target), shared);
    }
    let Shown {
        generation,
        tree,
        failed,
    } = shared.snapshot();
    let key = match http::tree_key(&target) {
        Ok(k) => k,
        Err(http::Refused::BadRequest) => {
            return respond(
                req,
                400,
                "text/plain; charset=utf-8",
                b"bad request\n".to_vec(),
            )
        }
        Err(http::Refused::NotFound) => {
            return respond(
                req,
                404,
                "text/plain; charset=utf-8",
                b"not found\n".to_vec(),
            )
        }
    };
    let Some(tree) = tree else {
        let page = http::error_page(failed.as_deref().map_or(&[], |d| d), generation);
        return respond(req, 500, "text/html; charset=utf-8", page.into_bytes());
    };
    if let Some(bytes) = tree.get(&key) {
        let ct = http::content_type(&key);
        let body = if ct.starts_with("text/html") {
            http::inject(bytes, generation, failed.as_deref().map(Vec::as_slice))
        } else {
            bytes.clone()
        };
        return respond(req, 200, ct, body);
    }
    // A folder named without its slash: relative links need the slash.
    if tree.contains_key(&format!("{key}/{}", crate::layout::INDEX)) {
        let response =
            tiny_http::Response::empty(301).with_header(header("Location", &format!("{path}/")));
        let _ = req.respond(response);
        return;
    }
    let page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Not found</title></head><body><p>{} is not in this preview. <a href=\"/\">The portal</a></p></body></html>\n",
        http::escape(path)
    );
    let page = http::inject(
        page.as_bytes(),
        generation,
        failed.as_deref().map(Vec::as_slice),
    );
    respond(req, 404, "text/html; charset=utf-8", page);
}

/// Answers once the generation passes `since` (at once without `since`), or after
/// [`POLL_WAIT`] with the same generation, on a thread of its own.
fn long_poll(req: tiny_http::Request, since: Option<u64>, shared: &Arc<Shared>) {
    let waiting = shared.polls.fetch_add(1, Ordering::SeqCst);
    // Past the limit, a poll is answered at once: the page polls again.
    let since = since.filter(|_| waiting < MAX_POLLS);
    let shared = shared.clone();
    let run = move || {
        let deadline = Instant::now() + POLL_WAIT;
        let mut shown = shared.lock();
        while let Some(since) = since {
            let now = Instant::now();
            if shown.generation > since || now >= deadline || shared.stopping.load(Ordering::SeqCst)
            {
                break;
            }
            let wait = (deadline - now).min(Duration::from_millis(500));
            shown = shared
                .changed
                .wait_timeout(shown, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let body = format!(
            "{{\"generation\":{},\"ok\":{}}}\n",
            shown.generation,
            shown.failed.is_none() && shown.tree.is_some()
        );
        drop(shown);
        shared.polls.fetch_sub(1, Ordering::SeqCst);
        respond(req, 200, "application/json", body.into_bytes());
    };
    if since.is_some() {
        std::thread::spawn(run);
    } else {
        run();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(paths: &[&str]) -> Option<Scope> {
        scope_of(paths.iter().map(Path::new))
    }

    #[test]
    fn a_change_rebuilds_the_sites_it_can_reach() {
        assert_eq!(
            scope(&["public/index.html", ".git/index", "README.md"]),
            None
        );
        assert_eq!(scope(&["procedures/sites/cork/.a.md.swp"]), None);
        assert_eq!(
            scope(&["procedures/sites/cork/a.md", "procedures/sites/boston/b.md"]),
            Some(Scope::Sites(
                ["boston".to_string(), "cork".to_string()].into()
            ))
        );
        assert_eq!(
            scope(&["procedures/sites/cork/a.md", "procedures/global/x.md"]),
            Some(Scope::All)
        );
        assert_eq!(scope(&["book.toml"]), Some(Scope::All));
        assert_eq!(scope(&["themes/t/templates/page.html"]), Some(Scope::All));
        // The sites folder itself, or a file directly in it, belongs to no site.
        assert_eq!(scope(&["procedures/sites"]), Some(Scope::All));
    }
}

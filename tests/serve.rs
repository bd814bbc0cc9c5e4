//! `procsite serve`: the preview tree served from memory, rebuilt on a change, with
//! the reload generation, the error overlay, and nothing outside the tree readable.

mod common;
use common::*;

use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use procsite::serve::{ServeOptions, Server};

/// How long a change may take to show: generous, for a loaded machine.
const WAIT: Duration = Duration::from_secs(10);

struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request, written by hand so that the target goes out exactly as given.
fn request(addr: SocketAddr, method: &str, target: &str) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read the reply");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a reply with headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    Reply {
        status,
        head,
        body: raw[split + 4..].to_vec(),
    }
}

fn get(addr: SocketAddr, target: &str) -> Reply {
    request(addr, "GET", target)
}

/// The reload generation, as pages see it.
fn generation(addr: SocketAddr) -> u64 {
    let r = get(addr, "/__procsite/reload");
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("reload answers JSON");
    v["generation"].as_u64().expect("a generation")
}

/// Polls until `ok` holds; panics with `what` after [`WAIT`].
fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Replaces a file in one step, as editors that save atomically do, so that no
/// build reads it half-written.
fn replace(t: &SiteTest, rel: &str, text: &str) {
    let scratch = t.path("scratch.tmp");
    std::fs::write(&scratch, text).unwrap();
    std::fs::create_dir_all(t.path(rel).parent().unwrap()).unwrap();
    std::fs::rename(&scratch, t.path(rel)).unwrap();
}

fn start(t: &SiteTest) -> Server {
    start_at(t.root())
}

fn start_at(root: &Path) -> Server {
    Server::start(ServeOptions {
        root: root.to_path_buf(),
        port: 0,
        ..Default::default()
    })
    .expect("the server starts")
}

const PAGE: &str = "/cork/preview/SOP-0020.html";

#[test]
fn serves_the_preview_rebuilds_on_a_change_and_shows_a_failed_build_over_the_last_good_page() {
    let mut t = SiteTest::new();
    t.commit("Initial");
    let server = start(&t);
    let addr = server.addr();
    assert!(addr.ip().is_loopback());
    assert_eq!(server.url(), format!("http://127.0.0.1:{}/", addr.port()));

    let portal = get(addr, "/");
    assert_eq!(portal.status, 200);
    assert!(portal
        .head
        .contains("Content-Type: text/html; charset=utf-8"));
    assert!(
        portal.text().contains("cork&#x2F;preview&#x2F;index.html"),
        "{}",
        portal.text()
    );
    let page = get(addr, PAGE);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Global scope text."));
    assert!(page.text().contains("Uncontrolled preview"));
    assert!(page.text().contains("/__procsite/reload?since="));

    // An edit shows, and the generation advances.
    let g0 = generation(addr);
    replace(
        &t,
        "procedures/global/SOP-0020.md",
        &CAPA.replace("Global scope text.", "Scope text edited while serving."),
    );
    wait_for("the edit to be served", || {
        get(addr, PAGE)
            .text()
            .contains("Scope text edited while serving.")
    });
    let g1 = generation(addr);
    assert!(g1 > g0, "generation {g0} → {g1}");

    // A broken front-matter: the overlay with file:line and the message, over the
    // last good page.
    replace(
        &t,
        "procedures/global/SOP-0020.md",
        &CAPA.replace("effective: 2026-03-01", "efective: 2026-03-01"),
    );
    wait_for("the error overlay", || {
        get(addr, PAGE).text().contains("efective")
    });
    let broken = get(addr, PAGE).text();
    assert!(
        broken.contains("procedures/global/SOP-0020.md:7"),
        "{broken}"
    );
    assert!(
        broken.contains("unknown field &#39;efective&#39;"),
        "{broken}"
    );
    assert!(broken.contains("Scope text edited while serving."));
    let reload: serde_json::Value =
        serde_json::from_slice(&get(addr, "/__procsite/reload").body).unwrap();
    assert_eq!(reload["ok"], false);
    assert!(generation(addr) > g1);

    // Fixed: the overlay goes.
    replace(&t, "procedures/global/SOP-0020.md", CAPA);
    wait_for("the overlay to go", || {
        let text = get(addr, PAGE).text();
        !text.contains("procsite-serve-errors") && text.contains("Global scope text.")
    });
    server.stop();
}

#[test]
fn a_site_edit_rebuilds_that_site_and_an_irrelevant_file_rebuilds_nothing() {
    let mut t = SiteTest::new();
    t.commit("Initial");
    let cork = |text: &str| {
        addendum(
            "SOP-0020",
            "Cork asks for it.",
            &format!("::: append #scope\n{text}\n:::\n"),
        )
    };
    // Uncommitted already, as while editing: every page says so from the start.
    t.write(
        "procedures/sites/cork/SOP-0020.md",
        &cork("Also the Cork line."),
    );
    let server = start(&t);
    let addr = server.addr();
    assert!(get(addr, PAGE).text().contains("Also the Cork line."));
    let boston = get(addr, "/boston/preview/SOP-0020.html").body;

    replace(
        &t,
        "procedures/sites/cork/SOP-0020.md",
        &cork("Also the edited Cork line."),
    );
    wait_for("the edited addendum at cork", || {
        get(addr, PAGE)
            .text()
            .contains("Also the edited Cork line.")
    });
    // Boston's page is the same bytes: only cork's pages were rendered again.
    let boston_now = get(addr, "/boston/preview/SOP-0020.html").body;
    assert_eq!(strip_script(&boston), strip_script(&boston_now));
    assert_eq!(server.rebuilt(), "rebuilt cork");

    // Files the build does not read make no build that pages would reload for.
    let g = generation(addr);
    t.write("notes.txt", "not a source\n");
    t.write("procedures/sites/cork/.SOP-0020.md.swp", "editor scratch");
    // So the next real edit is the next generation.
    replace(
        &t,
        "procedures/sites/cork/SOP-0020.md",
        &cork("Also the second Cork line."),
    );
    wait_for("the second addendum text", || {
        get(addr, PAGE)
            .text()
            .contains("Also the second Cork line.")
    });
    assert_eq!(generation(addr), g + 1);
    server.stop();
}

/// An addendum to SOP-0020 at `site` that replaces its scope with `text`.
fn scope_replaced(t: &SiteTest, site: &str, text: &str) {
    replace(
        t,
        &format!("procedures/sites/{site}/SOP-0020.md"),
        &addendum(
            "SOP-0020",
            "Local practice.",
            &format!("::: replace #scope\n{text}\n:::\n"),
        ),
    );
}

/// An addendum to SOP-0020 at `site` that adds a line to its scope.
fn appended_scope(t: &SiteTest, site: &str) {
    replace(
        t,
        &format!("procedures/sites/{site}/SOP-0020.md"),
        &addendum(
            "SOP-0020",
            "Local practice.",
            "::: append #scope\nAlso here.\n:::\n",
        ),
    );
}

/// Each site's harmonization page shows the network's median: an edit at one site
/// that moves it renders the other sites again too.
#[test]
fn a_site_edit_that_moves_the_network_median_rebuilds_every_site() {
    let mut t = SiteTest::new();
    scope_replaced(
        &t,
        "boston",
        "Boston scope, written anew for its own devices and markets.",
    );
    t.commit("Initial");
    // Uncommitted already, so that an edit at one site changes no other page's stamp.
    // Of 3 documents Boston adapts 1, the others none: the median score is 100%.
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## Scope {#scope}\nText.\n", "2026-05-01"),
    );
    // The folder there before: its making would be a change outside any one site.
    std::fs::create_dir_all(t.path("procedures/sites/cork")).unwrap();
    let server = start(&t);
    let addr = server.addr();
    // The caption's figures: "(preview: 66% vs 100%)", the site's then the network's.
    let median = |site: &str| {
        let page = get(addr, &format!("/{site}/preview/harmonization.html")).text();
        let caption = regex::Regex::new(r"\(preview: (\d+)% vs (\d+)%\)").unwrap();
        let c = caption.captures(&page).expect("the trend's caption");
        (c[1].parse::<u32>().unwrap(), c[2].parse::<u32>().unwrap())
    };
    let before = median("boston");
    // Cork writes its own scope too: its score falls to 50%, and the median to
    // Boston's 66%.
    scope_replaced(
        &t,
        "cork",
        "Cork scope, rewritten from the first word to the last one here.",
    );
    wait_for("the adapted page at cork", || {
        get(addr, PAGE).text().contains("Cork scope, rewritten")
    });
    assert_eq!((before, median("boston")), ((66, 100), (66, 66)));
    assert_eq!(server.rebuilt(), "rebuilt");
    assert_served_as_built(&t, &server);
    server.stop();
}

/// A build that fails keeps the last good folders; what changed meanwhile is built
/// with the next build, whatever that one's own change reaches.
#[test]
fn what_changed_while_builds_failed_is_built_by_the_next_good_one() {
    let mut t = SiteTest::new();
    scope_replaced(&t, "cork", "Cork scope.");
    t.commit("Initial");
    appended_scope(&t, "freiburg");
    let server = start(&t);
    let addr = server.addr();
    // Cork's addendum broken, then a global document edited, then cork's addendum
    // broken otherwise (which the overlay shows once the edits before it are built):
    // every build fails.
    let broken = |field: &str| {
        format!("---\naddendum-to: SOP-0020\nrationale: Local practice.\n{field}: draft\n---\n")
    };
    replace(&t, "procedures/sites/cork/SOP-0020.md", &broken("statuss"));
    wait_for("the error overlay", || {
        get(addr, PAGE).text().contains("statuss")
    });
    replace(
        &t,
        "procedures/global/SOP-0020.md",
        &CAPA.replace(
            "title: Corrective and Preventive Action",
            "title: CAPA, retitled",
        ),
    );
    replace(&t, "procedures/sites/cork/SOP-0020.md", &broken("statusss"));
    wait_for("the second error in the overlay", || {
        get(addr, PAGE).text().contains("statusss")
    });
    // Cork's addendum mended: a change at cork alone, after a change everywhere.
    scope_replaced(&t, "cork", "Cork scope.");
    wait_for("the overlay to go", || {
        !get(addr, PAGE).text().contains("procsite-serve-errors")
    });
    assert!(get(addr, "/boston/preview/SOP-0020.html")
        .text()
        .contains("CAPA, retitled"));
    assert_served_as_built(&t, &server);
    server.stop();
}

/// The page as built, without the reload script (it names the generation).
fn strip_script(html: &[u8]) -> String {
    let text = String::from_utf8_lossy(html);
    match text.find("<script>(function(){var g=") {
        Some(at) => {
            let end = text[at..].find("</script>").unwrap() + at + "</script>".len();
            format!("{}{}", &text[..at], &text[end..])
        }
        None => text.into_owned(),
    }
}

/// Every file a preview build of `t` writes is served with the same bytes.
fn assert_served_as_built(t: &SiteTest, server: &Server) {
    let out = tempfile::tempdir().unwrap();
    let built = t.run(&["build", "--out", out.path().to_str().unwrap()]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    let disk = tree_of(out.path());
    assert!(disk.len() > 10);
    for (path, bytes) in &disk {
        if path == ".procsite" {
            continue; // the marker of procsite's own output folder
        }
        let r = get(server.addr(), &format!("/{path}"));
        assert_eq!(r.status, 200, "{path}");
        let served = if path.ends_with(".html") {
            strip_script(&r.body).into_bytes()
        } else {
            r.body
        };
        assert!(served == *bytes, "{path} differs from the built file");
    }
    // The reload script is only ever added to responses.
    assert!(!disk
        .values()
        .any(|b| String::from_utf8_lossy(b).contains("__procsite")));
}

#[test]
fn the_served_tree_is_what_a_preview_build_writes() {
    let mut t = SiteTest::new();
    let cork = |line: &str| {
        addendum(
            "SOP-0020",
            "Cork asks for it.",
            &format!("::: append #scope\n{line}\n:::\n"),
        )
    };
    replace(
        &t,
        "procedures/sites/cork/SOP-0020.md",
        &cork("Also the Cork line."),
    );
    t.commit("Initial");
    let server = start(&t);
    assert_served_as_built(&t, &server);

    // A commit, then an edit: the rebuild walks the new commit's history, which the
    // history pages and history.json show as a build does.
    replace(
        &t,
        "procedures/global/SOP-0020.md",
        &CAPA.replace("Global scope text.", "Scope text committed while serving."),
    );
    t.commit("Edit the scope while serving");
    replace(
        &t,
        "procedures/sites/cork/SOP-0020.md",
        &cork("Another Cork line."),
    );
    wait_for("the edit after the commit to be served", || {
        let text = get(server.addr(), PAGE).text();
        text.contains("Another Cork line.") && text.contains("Edit the scope while serving")
    });
    assert_served_as_built(&t, &server);

    // An edit of the site's text alone: the report counts its changed lines anew.
    replace(
        &t,
        "procedures/sites/cork/SOP-0020.md",
        &cork("A first Cork line.\n\nA second Cork line.\n\nA third Cork line."),
    );
    wait_for("the longer addendum to be served", || {
        get(server.addr(), PAGE)
            .text()
            .contains("A third Cork line.")
    });
    assert_served_as_built(&t, &server);
    server.stop();
}

#[test]
fn nothing_outside_the_tree_can_be_read() {
    let mut t = SiteTest::new();
    t.commit("Initial");
    let server = start(&t);
    let addr = server.addr();
    for target in [
        "/../book.toml",
        "/%2e%2e/book.toml",
        "/%2E%2E%2Fbook.toml",
        "//etc/passwd",
        "/..%5cbook.toml",
        "/..\\book.toml",
        "/cork/preview/../../../book.toml",
        "/cork/preview/%2e%2e%2f%2e%2e%2f%2e%2e%2fbook.toml",
        "/%00/etc/passwd",
        "/book.toml",
        "/procedures/global/SOP-0020.md",
        "/.git/config",
        "/etc/passwd",
    ] {
        let r = get(addr, target);
        assert!(r.status == 404 || r.status == 400, "{target}: {}", r.status);
        let text = r.text();
        assert!(
            !text.contains("[book]") && !text.contains("root:") && !text.contains("id: SOP-0020"),
            "{target} returned file content: {text}"
        );
    }
    // Folders serve their index.html; without the slash they redirect to it.
    let folder = get(addr, "/cork/preview");
    assert_eq!(folder.status, 301);
    assert!(folder.head.contains("Location: /cork/preview/"));
    assert_eq!(get(addr, "/cork/preview/").status, 200);
    // Types by extension; only GET and HEAD.
    let versions = get(addr, "/cork/versions.json");
    assert_eq!(versions.status, 200);
    assert!(versions.head.contains("Content-Type: application/json"));
    assert_eq!(request(addr, "POST", "/").status, 405);
    assert_eq!(request(addr, "DELETE", PAGE).status, 405);
    let head = request(addr, "HEAD", PAGE);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    server.stop();
}

#[cfg(unix)]
#[test]
fn a_symlink_in_procedures_does_not_make_its_target_readable() {
    let mut t = SiteTest::new();
    t.commit("Initial");
    let secret = tempfile::tempdir().unwrap();
    let target = secret.path().join("secret.md");
    std::fs::write(
        &target,
        "---\nid: SOP-0666\ntitle: Secret\ntype: SOP\n---\nTOP-SECRET-CONTENT\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(&target, t.path("procedures/global/leak.md")).unwrap();
    std::os::unix::fs::symlink(secret.path(), t.path("procedures/global/leakdir")).unwrap();
    let server = start(&t);
    let addr = server.addr();
    for target in [
        "/",
        PAGE,
        "/cork/preview/",
        "/cork/preview/SOP-0666.html",
        "/procedures/global/leak.md",
        "/procedures/global/leakdir/secret.md",
        "/leak.md",
        "/cork/preview/search-index.js",
    ] {
        let r = get(addr, target);
        assert!(
            !r.text().contains("TOP-SECRET-CONTENT"),
            "{target} leaked the symlink's target"
        );
    }
    server.stop();
}

#[test]
fn the_command_prints_its_address_and_serves_from_it() {
    let mut t = SiteTest::new();
    t.commit("Initial");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_procsite"))
        .args(["-v", "serve", "--port", "0", "--site", "cork"])
        .current_dir(t.root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run procsite serve");
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("serve printed its address")
            .expect("stdout");
        if let Some(at) = line.find("http://") {
            break line[at..].split_whitespace().next().unwrap().to_string();
        }
    };
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with('/'),
        "{url}"
    );
    let addr: SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    assert_eq!(get(addr, PAGE).status, 200);
    // Only the site asked for.
    assert_eq!(get(addr, "/boston/preview/SOP-0020.html").status, 404);
    child.kill().unwrap();
    child.wait().unwrap();
    // With -v, how long each stage of the build took, on stderr.
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let stages: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.trim_start().split_once(" s  "))
        .filter(|(took, _)| took.parse::<f64>().is_ok())
        .map(|(_, stage)| stage)
        .collect();
    assert_eq!(
        stages,
        [
            "read sources and walk history",
            "parse, validate and stamp",
            "theme, site plans, re-reviews, earlier releases",
            "compose every site",
            "render sites and the report",
            "manifests",
            "the tree in memory"
        ],
        "{stderr}"
    );
}

/// What the served report's trend counts for Cork in the preview: its re-reviews, the
/// median days they took, and those still open.
fn rereviews_at_cork(server: &Server) -> (u64, Option<i64>, u64) {
    let report = get(server.addr(), "/report/report.json");
    assert_eq!(report.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&report.body).unwrap();
    let preview = v["trend"]["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["version"] == "preview")
        .expect("the preview in the trend");
    let cork = preview["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["site"] == "cork")
        .expect("Cork in the preview");
    (
        cork["rereviews"].as_u64().unwrap(),
        cork["rereview_median_days"].as_i64(),
        cork["open_rereviews"].as_u64().unwrap(),
    )
}

/// A commit while serving gives the report the re-reviews a build of it finds: what a
/// rebuild keeps of the history's revisions is the last walk's only.
#[test]
fn re_reviews_follow_the_commits_made_while_serving() {
    let mut t = SiteTest::new();
    let capa = |revision: &str, date: &str| {
        CAPA.replace("effective: 2026-03-01", &format!("effective: {date}"))
            .replace("date: 2026-02-20", &format!("date: {date}"))
            .replace(
                "Global scope text.",
                &format!("Global scope text, {revision}."),
            )
    };
    let cork = |date: &str| {
        format!("---\naddendum-to: SOP-0020\nrationale: Cork asks for it.\nstatus: approved\napprovals:\n  - {{ name: Site Head, role: Site Quality Head, date: {date} }}\n---\n::: append #scope\nAlso Cork.\n:::\n")
    };
    replace(
        &t,
        "procedures/global/SOP-0020.md",
        &capa("first", "2026-06-01"),
    );
    replace(&t, "procedures/sites/cork/SOP-0020.md", &cork("2026-06-01"));
    t.commit("First revision, adapted at Cork");
    t.tag("release/2026.1");
    replace(
        &t,
        "procedures/global/SOP-0020.md",
        &capa("second", "2026-06-02"),
    );
    t.commit("Second revision");
    let server = start(&t);
    assert_served_as_built(&t, &server);
    assert_eq!(rereviews_at_cork(&server), (0, None, 1));

    // An edit that is not committed changes no re-review.
    replace(&t, "procedures/sites/cork/SOP-0020.md", &cork("2026-06-03"));
    wait_for("the uncommitted re-approval to be served", || {
        get(server.addr(), PAGE).text().contains("2026-06-03")
    });
    assert_eq!(rereviews_at_cork(&server), (0, None, 1));
    assert_served_as_built(&t, &server);

    // Committed, Cork's re-approval closes the re-review, a day after the revision:
    // the commit alone rebuilds.
    t.commit("Cork re-approves its adaptation");
    wait_for("the committed re-approval to be served", || {
        rereviews_at_cork(&server) == (1, Some(1), 0)
    });
    assert_served_as_built(&t, &server);
    server.stop();
}

/// `git commit` moves the branch before it puts the new index in place, and a slow
/// `reference-transaction` hook runs between the two: a build meanwhile finds the tree
/// dirty against the new commit, and the index's own change builds nothing. The
/// rebuild waits for the index's lock.
#[test]
fn a_commit_is_built_once_git_has_put_the_new_index_in_place() {
    let mut t = SiteTest::new();
    t.commit("Initial");
    let server = start(&t);
    replace(
        &t,
        "procedures/global/SOP-0020.md",
        &CAPA.replace("Global scope text.", "Committed scope text."),
    );
    wait_for("the edit to be served", || {
        get(server.addr(), "/")
            .text()
            .contains("with uncommitted changes")
    });
    // As git does: the new index written as the index's lock, the branch moved, the
    // hook, then the lock renamed into the index.
    let repo = git2::Repository::open(t.root()).unwrap();
    let mut staged = repo.index().unwrap();
    staged
        .add_all(["*"].iter(), git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    let tree = repo.find_tree(staged.write_tree().unwrap()).unwrap();
    let next = t.path(".git/next-index");
    let mut index = git2::Index::open(&next).unwrap();
    index.read_tree(&tree).unwrap();
    index.write().unwrap();
    std::fs::rename(&next, t.path(".git/index.lock")).unwrap();
    let sig = t.next_signature();
    let parent = repo.head().unwrap().peel_to_commit().unwrap();
    let commit = repo
        .commit(Some("HEAD"), &sig, &sig, "Edit", &tree, &[&parent])
        .unwrap()
        .to_string();
    std::thread::sleep(Duration::from_millis(500));
    std::fs::rename(t.path(".git/index.lock"), t.path(".git/index")).unwrap();
    wait_for("the commit to be served", || {
        get(server.addr(), "/").text().contains(&commit[..10])
    });
    let portal = get(server.addr(), "/").text();
    assert!(!portal.contains("with uncommitted changes"), "{portal}");
    server.stop();
}

/// `info/grafts` gives commits other parents, and the history another shape: written
/// or removed, it rebuilds every site as a commit does.
#[test]
fn grafts_written_and_removed_rebuild_with_the_history_they_give() {
    let mut t = SiteTest::new();
    t.commit("Initial");
    replace(
        &t,
        "procedures/global/SOP-0020.md",
        &CAPA.replace("Global scope text.", "Second scope text."),
    );
    let second = t.commit("Second").to_string();
    let server = start(&t);
    let changes = || dd(&get(server.addr(), PAGE).text(), "Changes");
    assert_eq!(changes(), "2");
    // The newest commit made a root: the document's history is that one commit.
    std::fs::write(t.path(".git/info/grafts"), format!("{second}\n")).unwrap();
    wait_for("the grafted history", || changes() == "1");
    assert_served_as_built(&t, &server);
    std::fs::remove_file(t.path(".git/info/grafts")).unwrap();
    wait_for("the whole history again", || changes() == "2");
    assert_served_as_built(&t, &server);
    server.stop();
}

#[test]
fn a_commit_in_a_linked_work_tree_rebuilds_with_its_commit() {
    let mut t = SiteTest::new();
    t.commit("Initial");
    let linked = tempfile::tempdir().unwrap();
    let path = linked.path().join("review");
    let main = git2::Repository::open(t.root()).unwrap();
    main.worktree("review", &path, None).unwrap();
    let server = start_at(&path);
    let first = main.head().unwrap().target().unwrap().to_string();
    assert!(get(server.addr(), "/").text().contains(&first[..10]));

    // Edited and committed in the linked work tree: its HEAD names a branch whose
    // reference lives in the main repository's folder.
    std::fs::write(
        path.join("procedures/global/SOP-0020.md"),
        CAPA.replace("Global scope text.", "Scope text of the review branch."),
    )
    .unwrap();
    wait_for("the edit to be served", || {
        get(server.addr(), PAGE)
            .text()
            .contains("Scope text of the review branch.")
    });
    let g = server.generation();
    let second = t.commit_in(&path, "Review edit").to_string();
    wait_for("the commit to be served", || {
        get(server.addr(), "/").text().contains(&second[..10])
    });
    assert!(server.generation() > g);
    server.stop();
}

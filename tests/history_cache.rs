//! The history cache: a build that reads it writes what a build without it writes,
//! byte for byte, however the history was rewritten in between.

mod common;
use common::*;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const ENV: &str = "PROCSITE_HISTORY_CACHE";

struct Cached {
    t: SiteTest,
    scratch: tempfile::TempDir,
    builds: usize,
    /// What the last build into the kept output took from it: (pages taken, of how
    /// many document pages), or `None` when the record of the last build answered.
    taken: Option<(usize, usize)>,
    /// The kept output as the build before the last left it.
    kept_before: BTreeMap<String, Vec<u8>>,
    /// What the last build with or without the cache rendered: (pieces of text
    /// rendered, of how many shown).
    pieces: (usize, usize),
}

impl Cached {
    fn new() -> Cached {
        let mut t = SiteTest::new();
        t.write(
            "procedures/global/SOP-0030.md",
            &approved("SOP-0030", "## Scope {#scope}\nFirst text.\n", "2026-05-01"),
        );
        t.commit("Global procedures\n\nApproved-by: Jane Roe <jane.roe@acme.example>");
        t.write(
            "procedures/sites/cork/SOP-0020-cork.md",
            &addendum(
                "SOP-0020",
                "Cork keeps records longer",
                "::: replace #records\nCork keeps records for 15 years.\n:::\n",
            ),
        );
        t.commit("Cork adapts SOP-0020");
        t.write(
            "procedures/global/SOP-0030.md",
            &approved(
                "SOP-0030",
                "## Scope {#scope}\nSecond text.\n",
                "2026-06-03",
            ),
        );
        t.commit("SOP-0030 revision 2\n\nApproved-by: Jane Roe <jane.roe@acme.example>");
        Cached {
            t,
            scratch: tempfile::tempdir().unwrap(),
            builds: 0,
            taken: None,
            kept_before: BTreeMap::new(),
            pieces: (0, 0),
        }
    }

    fn cache(&self) -> PathBuf {
        self.scratch.path().join("cache")
    }

    fn segments(&self) -> usize {
        std::fs::read_dir(self.cache())
            .map(|d| {
                d.flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "seg"))
                    .count()
            })
            .unwrap_or(0)
    }

    fn build_with(&mut self, cache: &str) -> BTreeMap<String, Vec<u8>> {
        self.builds += 1;
        let out = self.scratch.path().join(format!("out{}", self.builds));
        let out_arg = out.to_str().unwrap();
        let run = self
            .t
            .run_env(&["-v", "build", "--out", out_arg], &[(ENV, cache)]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        let re = regex::Regex::new(r"(\d+) of (\d+) pieces of text rendered").unwrap();
        let c = re.captures(&run.stderr).expect("-v says what was rendered");
        self.pieces = (c[1].parse().unwrap(), c[2].parse().unwrap());
        tree_of(&out)
    }

    /// Builds again into the output kept from build to build, which takes the pages
    /// whose view is unchanged from it.
    fn build_kept(&mut self) -> BTreeMap<String, Vec<u8>> {
        let out = self.scratch.path().join("kept");
        self.kept_before = if out.exists() {
            tree_of(&out)
        } else {
            BTreeMap::new()
        };
        let cache = self.cache();
        let run = self.t.run_env(
            &["-v", "build", "--out", out.to_str().unwrap()],
            &[(ENV, cache.to_str().unwrap())],
        );
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        let re = regex::Regex::new(r"(\d+) of (\d+) document pages unchanged").unwrap();
        self.taken = re
            .captures(&run.stderr)
            .map(|c| (c[1].parse().unwrap(), c[2].parse().unwrap()));
        tree_of(&out)
    }

    /// Builds with the cache and without it, and into the kept output; the outputs
    /// must be the same bytes. Returns how many segments the cached build added.
    fn same_with_and_without(&mut self, step: &str) -> usize {
        let before = self.segments();
        let cache = self.cache();
        let cached = self.build_with(cache.to_str().unwrap());
        let added = self.segments() - before;
        let pieces = self.pieces;
        let clean = self.build_with("off");
        // Without the cache, every piece is rendered.
        assert_eq!(self.pieces.0, self.pieces.1, "{step}");
        self.pieces = pieces;
        let kept = self.build_kept();
        assert!(!clean.is_empty());
        for (what, tree) in [("cached", &cached), ("kept", &kept)] {
            assert_eq!(
                tree.keys().collect::<Vec<_>>(),
                clean.keys().collect::<Vec<_>>(),
                "{step}: other files in the {what} build"
            );
            for (path, bytes) in &clean {
                assert!(
                    tree[path] == *bytes,
                    "{step}: {path} differs in the {what} build"
                );
            }
        }
        added
    }

    /// The document pages (page, history, comparison) of the kept output whose bytes
    /// the last build changed.
    fn document_pages_changed(&self) -> usize {
        let kept = tree_of(&self.scratch.path().join("kept"));
        let generated = ["index.html", "changes.html", "harmonization.html"];
        kept.iter()
            .filter(|(path, _)| {
                let parts: Vec<&str> = path.split('/').collect();
                parts.len() == 3
                    && parts[1] == "preview"
                    && parts[2].ends_with(".html")
                    && !generated.contains(&parts[2])
            })
            .filter(|(path, bytes)| self.kept_before.get(*path) != Some(*bytes))
            .count()
    }

    fn repo(&self) -> git2::Repository {
        git2::Repository::open(self.t.root()).unwrap()
    }
}

/// Replaces HEAD's commit `back` commits down with one of another message, and
/// replays the commits above it, as `git rebase -i` (reword) does: every commit from
/// there up gets a new id.
fn reword(repo: &git2::Repository, back: usize, message: &str) {
    let mut chain = vec![repo.head().unwrap().peel_to_commit().unwrap()];
    for _ in 0..back {
        let parent = chain.last().unwrap().parent(0).unwrap();
        chain.push(parent);
    }
    let target = chain.pop().unwrap();
    let parents: Vec<git2::Commit> = target.parents().collect();
    let parent_refs: Vec<&git2::Commit> = parents.iter().collect();
    let sig = target.author();
    let mut base = repo
        .commit(
            None,
            &sig,
            &sig,
            message,
            &target.tree().unwrap(),
            &parent_refs,
        )
        .unwrap();
    for c in chain.into_iter().rev() {
        let parent = repo.find_commit(base).unwrap();
        base = repo
            .commit(
                None,
                &c.author(),
                &c.committer(),
                c.message().unwrap(),
                &c.tree().unwrap(),
                &[&parent],
            )
            .unwrap();
    }
    let head = repo.head().unwrap().name().unwrap().to_string();
    repo.reference(&head, base, true, "rebase").unwrap();
}

#[test]
fn a_cached_build_is_byte_identical_to_a_clean_one_through_rewrites_tags_and_branches() {
    let mut c = Cached::new();
    // A cold cache learns every commit; a warm one learns nothing and reads no commit.
    assert_eq!(c.same_with_and_without("cold cache"), 1);
    let (taken, pages) = c.taken.expect("the first build into the kept output ran");
    assert_eq!((taken, c.document_pages_changed()), (0, pages));
    let (rendered, pieces) = c.pieces;
    assert!(pieces > 0 && rendered == pieces, "{rendered} of {pieces}");
    assert_eq!(c.same_with_and_without("warm cache"), 0);
    // The pieces the cold build rendered are kept with the history.
    assert_eq!(c.pieces, (0, pieces));
    // The same commit again into the kept output: answered from the record.
    assert_eq!(c.taken, None);

    // A new commit: only it is learnt.
    c.t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## Scope {#scope}\nThird text.\n", "2026-06-04"),
    );
    c.t.commit("SOP-0030 revision 3\n\nApproved-by: Jane Roe <jane.roe@acme.example>");
    assert_eq!(c.same_with_and_without("new commit"), 1);
    // The kept output: the pages of SOP-0030 are rendered again, every other document
    // page is taken from it as it was.
    let (taken, pages) = c.taken.expect("a build ran");
    let changed = c.document_pages_changed();
    assert!(changed > 0 && taken > 0, "{changed} changed, {taken} taken");
    assert_eq!(taken + changed, pages);
    // Only the changed text is rendered again.
    let (rendered, pieces) = c.pieces;
    assert!(rendered > 0 && rendered < pieces, "{rendered} of {pieces}");

    // Amended: the commit gets a new id, message and text; the old one is unused.
    {
        let repo = c.repo();
        let head = repo.head().unwrap().peel_to_commit().unwrap();
        c.t.write(
            "procedures/global/SOP-0030.md",
            &approved(
                "SOP-0030",
                "## Scope {#scope}\nThird text, amended.\n",
                "2026-06-04",
            ),
        );
        let tree = repo.find_tree(c.t.stage_all(&repo)).unwrap();
        head.amend(
            Some("HEAD"),
            None,
            None,
            None,
            Some("SOP-0030 revision 3, amended\n\nApproved-by: Jane Roe <jane.roe@acme.example>"),
            Some(&tree),
        )
        .unwrap();
    }
    assert_eq!(c.same_with_and_without("amended commit"), 1);

    // Rebased: the second commit reworded, the ones above it replayed.
    reword(&c.repo(), 2, "Cork adapts SOP-0020, reworded");
    assert_eq!(c.same_with_and_without("rebase"), 1);

    // A new tag, then a branch merged and deleted.
    c.t.tag_annotated("release/2026.1");
    assert_eq!(c.same_with_and_without("new tag"), 0);
    c.t.on_branch_then_merge("topic", "Merge topic", |t| {
        t.write(
            "procedures/sites/freiburg/SOP-0030-freiburg.md",
            &addendum(
                "SOP-0030",
                "Freiburg",
                "::: append #scope\nAlso Freiburg.\n:::\n",
            ),
        );
        t.commit("Freiburg adapts SOP-0030");
    });
    c.repo()
        .find_branch("topic", git2::BranchType::Local)
        .unwrap()
        .delete()
        .unwrap();
    assert_eq!(c.same_with_and_without("merged and deleted branch"), 1);

    // A page of the kept output altered: the output is not as the last build left it,
    // so no page is taken from it, and the page is repaired.
    let page = c.scratch.path().join("kept/cork/preview/SOP-0020.html");
    let text = std::fs::read_to_string(&page).unwrap();
    std::fs::write(&page, text.replace("15 years", "1 year")).unwrap();
    c.t.write(
        "procedures/global/SOP-0030.md",
        &approved(
            "SOP-0030",
            "## Scope {#scope}\nFourth text.\n",
            "2026-06-05",
        ),
    );
    c.t.commit("SOP-0030 revision 4\n\nApproved-by: Jane Roe <jane.roe@acme.example>");
    assert_eq!(c.same_with_and_without("an output page altered"), 1);
    assert_eq!(c.taken.map(|(taken, _)| taken), Some(0));
    assert_eq!(std::fs::read_to_string(&page).unwrap(), text);
}

#[test]
fn a_damaged_segment_is_ignored_and_the_build_still_reads_git() {
    let mut c = Cached::new();
    c.same_with_and_without("cold cache");
    let seg: Vec<PathBuf> = std::fs::read_dir(c.cache())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    assert_eq!(seg.len(), 1);
    let bytes = std::fs::read(&seg[0]).unwrap();
    std::fs::write(&seg[0], &bytes[..bytes.len() / 2]).unwrap();
    // Nothing can be read from the cut segment: everything is learnt again.
    assert_eq!(c.same_with_and_without("segment cut in half"), 1);
}

#[test]
fn a_release_reads_git_and_leaves_the_cache_alone() {
    let mut c = Cached::new();
    c.t.tag_annotated("release/2026.1");
    let cache = c.cache();
    let run = c.t.run_env(
        &["-q", "check", "--release"],
        &[(ENV, cache.to_str().unwrap())],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(!Path::new(&cache).exists());
    c.same_with_and_without("after a release check");
    assert_eq!(c.segments(), 1);
}

#[test]
fn past_eight_segments_the_cache_folds_into_one_of_what_the_build_used() {
    let mut c = Cached::new();
    let cache = c.cache();
    for n in 0..9 {
        c.t.write(
            "procedures/global/SOP-0090.md",
            &format!(
                "---\nid: SOP-0090\ntitle: Sterilization\ntype: SOP\nstatus: draft\n---\n## Scope {{#scope}}\nDraft {n}.\n"
            ),
        );
        c.t.commit(&format!("Draft {n}"));
        c.build_with(cache.to_str().unwrap());
        assert_eq!(
            c.segments(),
            if n < 8 { n + 1 } else { 1 },
            "after build {n}"
        );
        // So do the rendered pieces, each build having rendered the new draft.
        let render = std::fs::read_dir(cache.join("render")).unwrap().count();
        assert_eq!(render, if n < 8 { n + 1 } else { 1 }, "after build {n}");
    }
    // The folded segments serve a warm build, identical to a clean one.
    assert_eq!(c.same_with_and_without("folded"), 0);
    assert_eq!(c.pieces.0, 0);
}

#[test]
fn a_segment_altered_in_place_is_ignored() {
    let mut c = Cached::new();
    c.same_with_and_without("cold cache");
    let seg = std::fs::read_dir(c.cache())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "seg"))
        .unwrap();
    // One letter of a document's text, the segment still well-formed.
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = bytes
        .windows(b"Second text".len())
        .position(|w| w == b"Second text")
        .unwrap();
    bytes[at + 3] = b'u';
    std::fs::write(&seg, &bytes).unwrap();
    assert_eq!(c.same_with_and_without("a text altered in the cache"), 1);
}

#[test]
fn a_rendered_piece_altered_in_the_cache_is_not_published() {
    let mut c = Cached::new();
    c.same_with_and_without("cold cache");
    let render = c.cache().join("render");
    let segs: Vec<PathBuf> = std::fs::read_dir(&render)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(segs.len(), 1, "{segs:?}");
    // One letter of a piece's HTML, the segment still well-formed.
    let mut bytes = std::fs::read(&segs[0]).unwrap();
    let at = bytes
        .windows(b"<p>Second text".len())
        .position(|w| w == b"<p>Second text")
        .unwrap();
    bytes[at + 6] = b'u';
    std::fs::write(&segs[0], &bytes).unwrap();
    c.same_with_and_without("a piece altered in the cache");
    // The altered piece was not read: it alone was rendered again, and kept.
    assert_eq!(c.pieces.0, 1, "{:?}", c.pieces);
    c.same_with_and_without("after the altered piece");
    assert_eq!(c.pieces.0, 0);
}

#[test]
fn a_kept_piece_whose_link_now_leads_elsewhere_is_rendered_again() {
    let mut c = Cached::new();
    c.t.write(
        "procedures/global/SOP-0040.md",
        &approved(
            "SOP-0040",
            "## Scope {#scope}\nFollow [the third procedure](SOP-0030#scope).\n",
            "2026-06-03",
        ),
    );
    c.t.commit("SOP-0040\n\nApproved-by: Jane Roe <jane.roe@acme.example>");
    c.same_with_and_without("a link to SOP-0030");
    // SOP-0030 renumbered: the text of SOP-0040 is the same, but its link now leads
    // to SOP-0031's page.
    let renumbered = approved(
        "SOP-0031",
        "## Scope {#scope}\nSecond text.\n",
        "2026-06-03",
    )
    .replace("type: SOP\n", "type: SOP\nformer-ids: [SOP-0030]\n");
    c.t.write("procedures/global/SOP-0030.md", &renumbered);
    c.t.commit("SOP-0030 renumbered SOP-0031\n\nApproved-by: Jane Roe <jane.roe@acme.example>");
    c.same_with_and_without("the link's target renumbered");
    let page = std::fs::read_to_string(c.scratch.path().join("kept/boston/preview/SOP-0040.html"))
        .unwrap();
    assert!(page.contains("href=\"SOP-0031.html#scope\""), "{page}");
}

/// `info/grafts` gives a commit other parents for as long as it names it: a build
/// sees the history git sees, whatever the cache learnt before or during.
#[test]
fn grafts_given_and_taken_away_build_as_git_sees_the_history() {
    let mut c = Cached::new();
    assert_eq!(c.same_with_and_without("cold cache"), 1);
    let repo = c.repo();
    let (first, newest) = (
        repo.revparse_single("HEAD~2").unwrap().id(),
        repo.revparse_single("HEAD").unwrap().id(),
    );
    let grafts = c.t.path(".git/info/grafts");
    std::fs::create_dir_all(grafts.parent().unwrap()).unwrap();
    // The newest commit grafted onto the first: Cork's adaptation leaves the history,
    // and the newest commit seems to add it.
    std::fs::write(&grafts, format!("{newest} {first}\n")).unwrap();
    assert_eq!(c.same_with_and_without("grafted"), 0);
    // A commit made while a graft names it, then the grafts taken away.
    c.t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## Scope {#scope}\nThird text.\n", "2026-06-04"),
    );
    let made =
        c.t.commit("SOP-0030 revision 3\n\nApproved-by: Jane Roe <jane.roe@acme.example>");
    std::fs::write(&grafts, format!("{made} {first}\n")).unwrap();
    assert_eq!(c.same_with_and_without("the new commit grafted"), 0);
    std::fs::remove_file(&grafts).unwrap();
    assert_eq!(c.same_with_and_without("grafts taken away"), 1);
}

#[test]
fn a_shallow_clone_deepened_later_builds_as_a_full_one() {
    let mut c = Cached::new();
    // Cut below the second commit, as `git clone --depth 2` does: that commit seems
    // to have no parent and to add every file it holds.
    let second = c.repo().revparse_single("HEAD~1").unwrap().id();
    c.t.make_shallow(second);
    assert_eq!(c.same_with_and_without("shallow"), 1);
    // `git fetch --unshallow`: the commit has its parent again, and its changes are
    // those against it.
    std::fs::remove_file(c.t.path(".git/shallow")).unwrap();
    assert_eq!(c.same_with_and_without("deepened"), 1);
    assert_eq!(c.same_with_and_without("deepened, warm"), 0);
}

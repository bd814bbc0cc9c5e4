//! The network view: where sites adapt a global document alike (candidates for
//! harmonization), and how each site's harmonization moves from release to release
//! (the trend), with the time sites take to re-review their adaptations after a global
//! revision.
//!
//! Definitions (docs/publishing.md, "The harmonization report", says the same):
//!
//! - **Word similarity** of two texts: each text is lowercased and split into words,
//!   a word being a maximal run of letters and digits (Markdown markers and
//!   punctuation are not words). With `M` the number of words in the runs the Myers
//!   diff of the two word sequences finds in common, and `A`, `B` the numbers of words,
//!   the similarity is `2·M / (A + B)`, shown as a whole percentage rounded down; two
//!   texts without words are 100% alike.
//! - **Alike**: two sites' operations on the same document, of the same kind, on the
//!   same anchor, whose texts are at least 80% alike. Sites are grouped by complete
//!   linkage (every pair in a group is alike); a group's similarity is its lowest pair.
//! - **Re-review time**: for a global revision approved after a site's addendum was
//!   first approved (in a commit descending from that approval's), the days from that revision's `effective` date (its commit's date when
//!   it has none) to the date of the first approval recorded in the addendum in a
//!   commit that descends from the revision's commit; 0 when the site re-approved
//!   before the revision took effect; open while no such approval exists.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;

use crate::config::Config;
use crate::model::Date;
use crate::repo::history::HistoryIndex;
use crate::report::{Cell, SiteCells};

/// Operations at least this alike (in percent) make a candidate.
pub const ALIKE_PERCENT: u32 = 80;

/// One operation of a site's addendum, as the site publishes it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Adaptation {
    pub doc: String,
    /// The operation: append, prepend, replace, insert-before, insert-after, remove.
    pub op: String,
    pub anchor: String,
    /// The operation's text after the site's conditions (empty for `remove`).
    pub text: String,
}

/// The words of a text, for [`similarity`].
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Word similarity of two texts in percent, rounded down (see the module's definition).
pub fn similarity(a: &str, b: &str) -> u32 {
    let (a, b) = (words(a), words(b));
    if a.is_empty() && b.is_empty() {
        return 100;
    }
    let common: usize = similar::capture_diff_slices(similar::Algorithm::Myers, &a, &b)
        .iter()
        .filter_map(|op| match op {
            similar::DiffOp::Equal { len, .. } => Some(*len),
            _ => None,
        })
        .sum();
    (200 * common / (a.len() + b.len())) as u32
}

/// A place to start harmonizing.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Candidate {
    /// `alike`: the sites make the same operations with similar text;
    /// `widely-adapted`: more than half of the sites that publish the document adapt it.
    pub kind: String,
    pub doc: String,
    pub title: String,
    /// The sites, in id order.
    pub sites: Vec<String>,
    /// The operations concerned, `op #anchor`, in document order of the first site.
    pub anchors: Vec<String>,
    /// The lowest word similarity between two of the sites' texts, in percent.
    pub similarity: u32,
    /// How many sites publish the document (unchanged or adapted).
    pub receiving: usize,
    /// The site whose adaptation is the most similar to the others' (ties: lowest id).
    pub promote_site: String,
    pub command: String,
}

/// An operation's kind and anchor, and its text.
type KeyedOp = ((String, String), String);

/// The operations of one site on one document, merged by (op, anchor) in order.
fn ops_by_key(adaptations: &[&Adaptation]) -> Vec<KeyedOp> {
    let mut out: Vec<KeyedOp> = Vec::new();
    for a in adaptations {
        let key = (a.op.clone(), a.anchor.clone());
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, text)) => {
                text.push('\n');
                text.push_str(&a.text);
            }
            None => out.push((key, a.text.clone())),
        }
    }
    out
}

/// Complete-linkage groups of `sites` (sorted ids) with pairwise similarity `sim`:
/// the two groups whose least alike pair is the most alike merge while that pair is
/// at least [`ALIKE_PERCENT`]; ties go to the groups whose sites sort first.
fn alike_groups(n: usize, sim: &dyn Fn(usize, usize) -> u32) -> Vec<(Vec<usize>, u32)> {
    let mut groups: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    let link = |a: &[usize], b: &[usize]| {
        a.iter()
            .flat_map(|&i| b.iter().map(move |&j| (i, j)))
            .map(|(i, j)| sim(i, j))
            .min()
            .unwrap_or(0)
    };
    loop {
        let mut best: Option<(u32, usize, usize)> = None;
        for x in 0..groups.len() {
            for y in x + 1..groups.len() {
                let l = link(&groups[x], &groups[y]);
                if l >= ALIKE_PERCENT && best.is_none_or(|(b, _, _)| l > b) {
                    best = Some((l, x, y));
                }
            }
        }
        let Some((_, x, y)) = best else { break };
        let merged = groups.remove(y);
        groups[x].extend(merged);
        groups[x].sort_unstable();
    }
    groups
        .into_iter()
        .filter(|g| g.len() >= 2)
        .map(|g| {
            let min = g
                .iter()
                .flat_map(|&i| g.iter().filter(move |&&j| j > i).map(move |&j| (i, j)))
                .map(|(i, j)| sim(i, j))
                .min()
                .unwrap_or(100);
            (g, min)
        })
        .collect()
}

/// The site of `sites` whose texts are the most similar to the others' (the highest
/// sum of similarities), ties to the lowest id. `table[i][j]` is the similarity of
/// `sites[i]` and `sites[j]` ([`pair_table`]).
fn most_central(sites: &[String], table: &[Vec<u32>]) -> String {
    let mut best: Option<(u32, &String)> = None;
    for (i, s) in sites.iter().enumerate() {
        let total: u32 = (0..sites.len())
            .filter(|&j| j != i)
            .map(|j| table[i][j])
            .sum();
        if best.is_none_or(|(b, _)| total > b) {
            best = Some((total, s));
        }
    }
    best.map(|(_, s)| s.clone()).unwrap_or_default()
}

/// `sim` of every two of `0..n`, each pair worked out once: grouping sites asks for
/// the same pairs again and again. `sim` is symmetric ([`similarity`] counts the
/// words of a longest common subsequence), so the table is too; its diagonal is 0.
fn pair_table(n: usize, sim: impl Fn(usize, usize) -> u32) -> Vec<Vec<u32>> {
    let mut table = vec![vec![0; n]; n];
    for (i, j) in pairs(n) {
        let v = sim(i, j);
        table[i][j] = v;
        table[j][i] = v;
    }
    table
}

/// Every two of `0..n`, the smaller first.
fn pairs(n: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n).flat_map(move |i| (i + 1..n).map(move |j| (i, j)))
}

fn promote_command(site: &str, doc: &str) -> String {
    format!("procsite promote --site {site} {doc}")
}

/// The candidates for harmonization across `per_site` (every site's cells).
pub fn candidates(
    per_site: &BTreeMap<String, SiteCells>,
    titles: &BTreeMap<String, String>,
) -> Vec<Candidate> {
    // doc → site → its operations on the doc.
    let mut by_doc: BTreeMap<&str, BTreeMap<&str, Vec<&Adaptation>>> = BTreeMap::new();
    for (site, sc) in per_site {
        for a in &sc.adaptations {
            by_doc
                .entry(a.doc.as_str())
                .or_default()
                .entry(site.as_str())
                .or_default()
                .push(a);
        }
    }
    let title = |doc: &str| titles.get(doc).cloned().unwrap_or_default();
    // Documents most sites that publish them adapt.
    let mut cells: BTreeMap<&str, Vec<&Cell>> = BTreeMap::new();
    for sc in per_site.values() {
        for c in &sc.cells {
            cells.entry(c.doc.as_str()).or_default().push(c);
        }
    }
    let receiving = |doc: &str| {
        cells.get(doc).map_or(0, |cs| {
            cs.iter()
                .filter(|c| c.state == "identical" || c.state == "adapted")
                .count()
        })
    };
    let mut alike: Vec<Candidate> = Vec::new();
    for (doc, sites) in &by_doc {
        let ops: BTreeMap<&str, Vec<KeyedOp>> = sites
            .iter()
            .map(|(s, adaptations)| (*s, ops_by_key(adaptations)))
            .collect();
        // (op, anchor) in the order the first site that makes it lists it.
        let mut keys: Vec<(String, String)> = Vec::new();
        for list in ops.values() {
            for (k, _) in list {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
        }
        // The site set of each alike group → (its operations, lowest similarity).
        let mut groups: BTreeMap<Vec<String>, (Vec<String>, u32)> = BTreeMap::new();
        for key in &keys {
            let texts: Vec<(&str, &str)> = ops
                .iter()
                .filter_map(|(s, list)| {
                    list.iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, t)| (*s, t.as_str()))
                })
                .collect();
            let table = pair_table(texts.len(), |i, j| similarity(texts[i].1, texts[j].1));
            let sim = |i: usize, j: usize| table[i][j];
            for (members, min) in alike_groups(texts.len(), &sim) {
                let ids: Vec<String> = members.iter().map(|&i| texts[i].0.to_string()).collect();
                let entry = groups.entry(ids).or_insert((Vec::new(), 100));
                entry.0.push(format!("{} #{}", key.0, key.1));
                entry.1 = entry.1.min(min);
            }
        }
        for (ids, (anchors, min)) in groups {
            // Summed over the operations the group shares.
            let shared: Vec<&(String, String)> = keys
                .iter()
                .filter(|k| anchors.contains(&format!("{} #{}", k.0, k.1)))
                .collect();
            let summed = pair_table(ids.len(), |a, b| {
                shared
                    .iter()
                    .map(|k| {
                        let text = |s: &str| {
                            ops.get(s)
                                .and_then(|l| l.iter().find(|(kk, _)| kk == *k))
                                .map_or("", |(_, t)| t.as_str())
                        };
                        similarity(text(&ids[a]), text(&ids[b]))
                    })
                    .sum()
            });
            let promote_site = most_central(&ids, &summed);
            alike.push(Candidate {
                kind: "alike".into(),
                doc: doc.to_string(),
                title: title(doc),
                command: promote_command(&promote_site, doc),
                promote_site,
                sites: ids,
                anchors,
                similarity: min,
                receiving: receiving(doc),
            });
        }
    }
    alike.sort_by(|a, b| {
        b.sites
            .len()
            .cmp(&a.sites.len())
            .then(b.similarity.cmp(&a.similarity))
            .then_with(|| a.doc.cmp(&b.doc))
            .then_with(|| a.sites.cmp(&b.sites))
            .then_with(|| a.anchors.cmp(&b.anchors))
    });

    let mut widely: Vec<Candidate> = Vec::new();
    for (doc, cs) in &cells {
        let doc = *doc;
        let receiving = receiving(doc);
        let adapted: Vec<String> = cs
            .iter()
            .filter(|c| c.state == "adapted")
            .map(|c| c.site.clone())
            .collect();
        if adapted.len() < 2 || adapted.len() * 2 <= receiving {
            continue;
        }
        let wholes: Vec<String> = adapted
            .iter()
            .map(|s| {
                by_doc
                    .get(doc)
                    .and_then(|m| m.get(s.as_str()))
                    .map(|l| l.iter().map(|a| &*a.text).collect::<Vec<_>>().join("\n"))
                    .unwrap_or_default()
            })
            .collect();
        let table = pair_table(adapted.len(), |a, b| similarity(&wholes[a], &wholes[b]));
        let lowest = pairs(adapted.len())
            .map(|(i, j)| table[i][j])
            .min()
            .unwrap_or(100);
        let mut anchors: Vec<String> = Vec::new();
        for s in &adapted {
            for a in by_doc
                .get(doc)
                .and_then(|m| m.get(s.as_str()))
                .into_iter()
                .flatten()
            {
                let k = format!("{} #{}", a.op, a.anchor);
                if !anchors.contains(&k) {
                    anchors.push(k);
                }
            }
        }
        let promote_site = most_central(&adapted, &table);
        widely.push(Candidate {
            kind: "widely-adapted".into(),
            doc: doc.to_string(),
            title: title(doc),
            command: promote_command(&promote_site, doc),
            promote_site,
            sites: adapted,
            anchors,
            similarity: lowest,
            receiving,
        });
    }
    widely.sort_by(|a, b| {
        (b.sites.len() * a.receiving)
            .cmp(&(a.sites.len() * b.receiving))
            .then_with(|| a.doc.cmp(&b.doc))
    });
    alike.extend(widely);
    alike
}

/// One site's re-review of its addendum after one global revision.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Rereview {
    pub doc: String,
    pub global_revision: u32,
    /// When the global revision took effect (or was committed, without `effective`).
    pub effective: String,
    /// The date of the first approval recorded in the addendum after the revision.
    pub reapproved: Option<String>,
    /// Days from `effective` to `reapproved`, 0 when re-approved before it took effect.
    pub days: Option<i64>,
}

/// The date part of a date or an RFC 3339 date-time.
fn date_of(text: &str) -> Option<Date> {
    Date::parse(text.get(..10).unwrap_or(text)).ok()
}

fn yaml_text(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// A global document's revisions as re-reviews count them: each approved version whose
/// controlled content differs from the last approved one, oldest first, as (revision,
/// commit index, effective date).
pub type GlobalRevisions = Vec<(u32, usize, String)>;

/// The revisions of the global document at `global_path`.
pub fn global_revisions(history: &HistoryIndex, global_path: &Path) -> GlobalRevisions {
    let mut revisions: GlobalRevisions = Vec::new();
    let mut last: Option<Arc<crate::lenient::Version>> = None;
    for v in history.versions(global_path).iter().rev() {
        let read = crate::lenient::version(&v.text);
        let l = &read.front;
        if read.approved()
            && last
                .as_ref()
                .is_none_or(|last| last.covered() != read.covered())
        {
            last = Some(Arc::clone(&read));
            let c = &history.commits[v.commit];
            let effective = l
                .controlled
                .effective_value()
                .and_then(yaml_text)
                .and_then(|e| date_of(&e))
                .unwrap_or_else(|| crate::stamp::commit_date(c.commit_time, c.commit_offset));
            revisions.push((revisions.len() as u32 + 1, v.commit, effective.to_string()));
        }
    }
    revisions
}

/// Each global document's revisions, worked out once for all the sites that adapt it,
/// and each addendum's re-reviews.
#[derive(Default)]
pub struct RevisionMemo {
    map: Mutex<HashMap<std::path::PathBuf, Arc<OnceLock<GlobalRevisions>>>>,
    /// By document id, global path and addendum path.
    rereviews: Mutex<HashMap<RereviewKey, Arc<Vec<Rereview>>>>,
    /// The walk of the history it was worked out from (0: none kept).
    walk: u64,
}

type RereviewKey = (String, std::path::PathBuf, std::path::PathBuf);

impl RevisionMemo {
    /// The memo for `history`: in a process that keeps what one build made for the
    /// next ([`crate::keeps_between_builds`]), the one the last build of the same walk
    /// made, whose revisions and re-reviews, functions of the history alone, hold.
    pub fn for_history(history: &HistoryIndex) -> Arc<RevisionMemo> {
        static KEPT: Mutex<Option<Arc<RevisionMemo>>> = Mutex::new(None);
        if history.walk == 0 || !crate::keeps_between_builds() {
            return Arc::default();
        }
        let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
        match &*kept {
            Some(memo) if memo.walk == history.walk => Arc::clone(memo),
            _ => {
                let memo = Arc::new(RevisionMemo {
                    walk: history.walk,
                    ..Default::default()
                });
                *kept = Some(Arc::clone(&memo));
                memo
            }
        }
    }

    /// [`rereviews`] of the addendum at `addendum_path`, worked out once.
    pub fn rereviews(
        &self,
        history: &HistoryIndex,
        doc: &str,
        global_path: &Path,
        addendum_path: &Path,
    ) -> Arc<Vec<Rereview>> {
        let key = (
            doc.to_string(),
            global_path.to_path_buf(),
            addendum_path.to_path_buf(),
        );
        crate::made_once(&self.rereviews, key, |(doc, global, addendum)| {
            Arc::new(rereviews(history, doc, (self, global), addendum))
        })
    }

    pub fn of(&self, history: &HistoryIndex, global_path: &Path) -> Arc<OnceLock<GlobalRevisions>> {
        let cell = {
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(map.entry(global_path.to_path_buf()).or_default())
        };
        // Computed outside the lock: other documents go on in parallel.
        cell.get_or_init(|| global_revisions(history, global_path));
        cell
    }
}

/// The re-reviews of the addendum at `addendum_path` (of document `doc`, whose
/// revisions `memo` keeps) that `history` shows, oldest global revision first.
pub fn rereviews(
    history: &HistoryIndex,
    doc: &str,
    (memo, global_path): (&RevisionMemo, &Path),
    addendum_path: &Path,
) -> Vec<Rereview> {
    let addendum = history.versions(addendum_path);
    if history.versions(global_path).is_empty() || addendum.is_empty() {
        return Vec::new();
    }
    let cell = memo.of(history, global_path);
    let revisions = cell.get().expect("initialised");
    // The addendum's versions, oldest first, with the approvals each records anew.
    let mut recorded: Vec<(usize, Option<Date>)> = Vec::new();
    let mut before: Option<Arc<crate::lenient::Version>> = None;
    for v in addendum.iter().rev() {
        let read = crate::lenient::version(&v.text);
        let before_approvals = before.as_ref().map_or(&[][..], |b| &b.front.approvals);
        let new: Vec<Date> = read
            .front
            .approvals
            .iter()
            .filter(|a| !before_approvals.contains(a))
            .filter_map(|a| a.date.as_deref().and_then(date_of))
            .collect();
        if read.approved() && !new.is_empty() {
            recorded.push((v.commit, new.into_iter().max()));
        }
        before = Some(read);
    }
    let first_approved = recorded.first().map(|(c, _)| *c);
    revisions
        .iter()
        .filter(|(_, g, _)| {
            // Only a revision approved after the addendum was first approved asks the
            // site to review its adaptation again.
            first_approved.is_some_and(|a| a != *g && history.is_ancestor(a, *g))
        })
        .map(|(n, g, effective)| {
            let (n, g, effective) = (*n, *g, effective.clone());
            let after = recorded
                .iter()
                .find(|(c, _)| history.is_ancestor(g, *c))
                .and_then(|(_, d)| *d);
            let days = after.zip(date_of(&effective)).map(|(r, e)| {
                let d = (r.0 - e.0).whole_days();
                d.max(0)
            });
            Rereview {
                doc: doc.to_string(),
                global_revision: n,
                effective,
                reapproved: after.map(|d| d.to_string()),
                days,
            }
        })
        .collect()
}

/// One site at one release, before the trend is put together.
#[derive(Debug, Clone)]
pub struct RawSite {
    pub site: String,
    pub identical: usize,
    pub applicable: usize,
    pub score: u32,
    pub adapted: usize,
    pub stale: usize,
    pub site_only: usize,
    pub rereviews: Vec<Rereview>,
}

/// Every site at one release (or at the build itself).
#[derive(Debug, Clone)]
pub struct RawPoint {
    pub tag: Option<String>,
    pub version: String,
    pub date: Option<String>,
    pub sites: Vec<RawSite>,
}

/// The point of a build from its sites' cells.
pub fn raw_point(
    config: &Config,
    cells: &[(&str, &SiteCells)],
    tag: Option<String>,
    version: String,
    date: Option<String>,
) -> RawPoint {
    let sites = cells
        .iter()
        .filter(|(s, _)| config.site.contains_key(*s))
        .map(|&(s, sc)| {
            let count = |state: &str| sc.cells.iter().filter(|c| c.state == state).count();
            let (identical, applicable, score) = crate::report::score(&sc.cells);
            RawSite {
                site: s.to_string(),
                identical,
                applicable,
                score,
                adapted: count("adapted"),
                stale: sc.cells.iter().filter(|c| c.stale).count(),
                site_only: count("site-only"),
                rereviews: sc.rereviews.clone(),
            }
        })
        .collect();
    RawPoint {
        tag,
        version,
        date,
        sites,
    }
}

/// One site at one release.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SitePoint {
    pub site: String,
    pub score: u32,
    pub identical: usize,
    pub applicable: usize,
    pub adapted: usize,
    pub stale: usize,
    pub site_only: usize,
    /// Re-reviews completed since the previous point.
    pub rereviews: usize,
    /// Their median in days (for an even count, the lower middle value).
    pub rereview_median_days: Option<i64>,
    /// Global revisions the site has not re-reviewed its addendum after yet.
    pub open_rereviews: usize,
}

/// Every site at one release.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReleasePoint {
    /// The release tag; none for the build itself when it is not a release.
    pub tag: Option<String>,
    pub version: String,
    pub date: Option<String>,
    /// The median of the sites' scores (for an even count, the lower middle value).
    pub median_score: u32,
    /// The median of the sites' re-review medians, over the sites that have one.
    pub median_rereview_days: Option<i64>,
    pub sites: Vec<SitePoint>,
}

/// The harmonization of every site, release by release, oldest first.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Trend {
    pub releases: Vec<ReleasePoint>,
}

/// The median of `values`: the middle one, or for an even count the lower middle one.
pub fn median<T: Ord + Copy>(mut values: Vec<T>) -> Option<T> {
    values.sort_unstable();
    let n = values.len();
    (n > 0).then(|| values[(n - 1) / 2])
}

/// The trend of the points, oldest first.
pub fn trend(points: &[RawPoint]) -> Trend {
    let mut releases = Vec::new();
    // (site, doc, global revision) of re-reviews already completed at an earlier point.
    let mut done: BTreeSet<(String, String, u32)> = BTreeSet::new();
    for p in points {
        let mut now_done = BTreeSet::new();
        let sites: Vec<SitePoint> = p
            .sites
            .iter()
            .map(|s| {
                let mut days = Vec::new();
                let mut open = 0;
                for r in &s.rereviews {
                    let key = (s.site.clone(), r.doc.clone(), r.global_revision);
                    match r.days {
                        Some(d) => {
                            if !done.contains(&key) {
                                days.push(d);
                            }
                            now_done.insert(key);
                        }
                        None => open += 1,
                    }
                }
                SitePoint {
                    site: s.site.clone(),
                    score: s.score,
                    identical: s.identical,
                    applicable: s.applicable,
                    adapted: s.adapted,
                    stale: s.stale,
                    site_only: s.site_only,
                    rereviews: days.len(),
                    rereview_median_days: median(days),
                    open_rereviews: open,
                }
            })
            .collect();
        done.extend(now_done);
        releases.push(ReleasePoint {
            tag: p.tag.clone(),
            version: p.version.clone(),
            date: p.date.clone(),
            median_score: median(sites.iter().map(|s| s.score).collect()).unwrap_or(100),
            median_rereview_days: median(
                sites
                    .iter()
                    .filter_map(|s| s.rereview_median_days)
                    .collect(),
            ),
            sites,
        });
    }
    Trend { releases }
}

/// Points of release tags already composed in this process, by repository, tag, commit
/// and tag date: a tag's point depends on nothing else.
type PointKey = (PathBuf, String, String, i64);

fn cache() -> &'static Mutex<HashMap<PointKey, RawPoint>> {
    static CACHE: OnceLock<Mutex<HashMap<PointKey, RawPoint>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The point of a release tag composed before, if any.
pub fn cached(key: &PointKey) -> Option<RawPoint> {
    cache().lock().ok()?.get(key).cloned()
}

/// Keeps the point of a release tag for the rest of the process.
pub fn remember(key: PointKey, point: RawPoint) {
    if let Ok(mut c) = cache().lock() {
        c.insert(key, point);
    }
}

/// One site's view of the network: its own figures and the network's medians,
/// numbers only.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SiteTrendRow {
    pub version: String,
    pub date: Option<String>,
    pub score: u32,
    pub median_score: u32,
    pub adapted: usize,
    pub stale: usize,
    pub rereview_median_days: Option<i64>,
    pub median_rereview_days: Option<i64>,
    pub open_rereviews: usize,
}

/// `site`'s rows of the trend: the releases it was part of.
pub fn site_rows(trend: &Trend, site: &str) -> Vec<SiteTrendRow> {
    trend
        .releases
        .iter()
        .filter_map(|r| {
            let s = r.sites.iter().find(|s| s.site == site)?;
            Some(SiteTrendRow {
                version: r.version.clone(),
                date: r.date.clone(),
                score: s.score,
                median_score: r.median_score,
                adapted: s.adapted,
                stale: s.stale,
                rereview_median_days: s.rereview_median_days,
                median_rereview_days: r.median_rereview_days,
                open_rereviews: s.open_rereviews,
            })
        })
        .collect()
}

/// A small line chart of scores (0–100%) over releases, as inline SVG: one solid line
/// (`values`), one dashed line (`reference`, the network median), a dot per release.
/// No script and no colour that a printer would lose: lines are `currentColor`.
pub fn score_chart(title: &str, labels: &[String], values: &[u32], reference: &[u32]) -> String {
    const W: usize = 240;
    const H: usize = 90;
    const LEFT: usize = 28;
    const TOP: usize = 8;
    const PLOT_H: usize = 60;
    let n = labels.len().max(1);
    // Room at both ends for half a label.
    let step = if n > 1 { (W - LEFT - 32) / (n - 1) } else { 0 };
    let x = |i: usize| LEFT + 14 + i * step;
    let y = |v: u32| TOP + PLOT_H - (v.min(100) as usize * PLOT_H) / 100;
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let line = |vals: &[u32]| {
        vals.iter()
            .enumerate()
            .map(|(i, v)| format!("{},{}", x(i), y(*v)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut s = format!(
        "<svg class=\"trend-chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>",
        t = esc(title)
    );
    for v in [0u32, 50, 100] {
        s.push_str(&format!(
            "<line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{W}\" y2=\"{y}\" stroke=\"currentColor\" stroke-opacity=\"0.25\" stroke-width=\"0.5\"/><text x=\"{tx}\" y=\"{ty}\" font-size=\"8\" text-anchor=\"end\" fill=\"currentColor\">{v}%</text>",
            y = y(v),
            tx = LEFT - 3,
            ty = y(v) + 3
        ));
    }
    if !reference.is_empty() {
        s.push_str(&format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"1\" stroke-dasharray=\"3 2\"/>",
            line(reference)
        ));
    }
    s.push_str(&format!(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"2\"/>",
        line(values)
    ));
    for (i, v) in values.iter().enumerate() {
        s.push_str(&format!(
            "<circle cx=\"{}\" cy=\"{}\" r=\"2.5\" fill=\"currentColor\"/>",
            x(i),
            y(*v)
        ));
    }
    for (i, l) in labels.iter().enumerate() {
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"8\" text-anchor=\"middle\" fill=\"currentColor\">{}</text>",
            x(i),
            H - 6,
            esc(l)
        ));
    }
    s.push_str("</svg>");
    s
}

/// A chart per site for the report across sites: its score and the network median.
pub fn site_charts(trend: &Trend, sites: &[(String, String)]) -> Vec<(String, String)> {
    sites
        .iter()
        .filter_map(|(id, name)| {
            let rows = site_rows(trend, id);
            if rows.is_empty() {
                return None;
            }
            Some((name.clone(), chart_of_rows(name, &rows)))
        })
        .collect()
}

/// The chart of one site's rows.
pub fn chart_of_rows(name: &str, rows: &[SiteTrendRow]) -> String {
    let labels: Vec<String> = rows.iter().map(|r| r.version.clone()).collect();
    let values: Vec<u32> = rows.iter().map(|r| r.score).collect();
    let median: Vec<u32> = rows.iter().map(|r| r.median_score).collect();
    let title = format!(
        "Harmonization score of {name} by release ({}), solid, against the network median, dashed",
        rows.iter()
            .map(|r| format!("{}: {}% vs {}%", r.version, r.score, r.median_score))
            .collect::<Vec<_>>()
            .join("; ")
    );
    score_chart(&title, &labels, &values, &median)
}

fn opt(v: Option<i64>) -> String {
    v.map_or(String::new(), |d| d.to_string())
}

/// The trend as CSV: one row per release and site.
pub fn trend_csv(t: &Trend) -> String {
    let mut s = String::from("release,version,date,site,score,identical,applicable,adapted,stale,site_only,rereviews,rereview_median_days,open_rereviews,network_median_score\n");
    for r in &t.releases {
        for p in &r.sites {
            s.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                crate::report::csv(r.tag.as_deref().unwrap_or("")),
                crate::report::csv(&r.version),
                r.date.as_deref().unwrap_or(""),
                crate::report::csv(&p.site),
                p.score,
                p.identical,
                p.applicable,
                p.adapted,
                p.stale,
                p.site_only,
                p.rereviews,
                opt(p.rereview_median_days),
                p.open_rereviews,
                r.median_score
            ));
        }
    }
    s
}

/// The trend as Markdown tables.
pub fn trend_markdown(t: &Trend) -> String {
    let mut s = String::from("## Harmonization over time\n\n");
    if t.releases.is_empty() {
        s.push_str("No release yet.\n");
        return s;
    }
    s.push_str("| release | site | score | adapted | stale | site-only | re-reviews | median re-review days | open re-reviews | network median score |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for r in &t.releases {
        for p in &r.sites {
            s.push_str(&format!(
                "| {} | {} | {}% | {} | {} | {} | {} | {} | {} | {}% |\n",
                crate::report::md(&r.version),
                crate::report::md(&p.site),
                p.score,
                p.adapted,
                p.stale,
                p.site_only,
                p.rereviews,
                p.rereview_median_days
                    .map_or("—".to_string(), |d| d.to_string()),
                p.open_rereviews,
                r.median_score
            ));
        }
    }
    s
}

/// The trend as JSON.
pub fn trend_json(t: &Trend) -> String {
    let mut s = serde_json::to_string_pretty(t).expect("the trend serializes");
    s.push('\n');
    s
}

/// The candidates as JSON.
pub fn candidates_json(c: &[Candidate]) -> String {
    let mut s = serde_json::to_string_pretty(c).expect("the candidates serialize");
    s.push('\n');
    s
}

/// The candidates as CSV.
pub fn candidates_csv(c: &[Candidate]) -> String {
    let mut s =
        String::from("kind,document,sites,anchors,similarity,receiving,promote_site,command\n");
    for x in c {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            x.kind,
            crate::report::csv(&x.doc),
            crate::report::csv(&x.sites.join(" ")),
            crate::report::csv(&x.anchors.join("; ")),
            x.similarity,
            x.receiving,
            crate::report::csv(&x.promote_site),
            crate::report::csv(&x.command)
        ));
    }
    s
}

/// What a candidate is, in one phrase.
pub fn candidate_kind_text(c: &Candidate) -> String {
    match c.kind.as_str() {
        "alike" => format!("adapted alike at {} sites", c.sites.len()),
        _ => format!(
            "adapted at {} of the {} sites that publish it",
            c.sites.len(),
            c.receiving
        ),
    }
}

/// The candidates as Markdown.
pub fn candidates_markdown(c: &[Candidate]) -> String {
    let mut s = String::from("## Candidates for harmonization\n\n");
    if c.is_empty() {
        s.push_str("None: no two sites adapt a document alike, and no global document is adapted at more than half of the sites that publish it.\n");
        return s;
    }
    s.push_str("| document | why | sites | operations | similarity | promote |\n|---|---|---|---|---|---|\n");
    for x in c {
        s.push_str(&format!(
            "| {} {} | {} | {} | {} | {}% | `{}` |\n",
            crate::report::md(&x.doc),
            crate::report::md(&x.title),
            candidate_kind_text(x),
            crate::report::md(&x.sites.join(", ")),
            crate::report::md(&x.anchors.join(", ")),
            x.similarity,
            crate::report::md(&x.command)
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_similarity_is_the_same_both_ways() {
        // What `pair_table` relies on: texts whose shortest edit has several equal
        // solutions, of different lengths, repeated words, one empty.
        let texts = [
            "",
            "a b c d",
            "b a d c",
            "a a b b a a",
            "b a b a b",
            "the site adds a second check of the label before release",
            "a second check of the label is added before the release at the site",
            "x y z a b c x y z",
        ];
        for a in texts {
            for b in texts {
                assert_eq!(similarity(a, b), similarity(b, a), "{a:?} / {b:?}");
            }
        }
    }

    #[test]
    fn word_similarity_is_two_matches_over_the_words_of_both() {
        assert_eq!(similarity("", ""), 100);
        assert_eq!(similarity("a b c d", ""), 0);
        // 4 common words of 5 + 5: 80%.
        assert_eq!(
            similarity(
                "The site head approves CAPAs",
                "The site director approves CAPAs"
            ),
            80
        );
        // Case, punctuation and Markdown markers are not words.
        assert_eq!(similarity("- **Approve** it.", "approve IT"), 100);
        // 3 of 4 + 5: 2·3/9 = 66.6…, rounded down.
        assert_eq!(similarity("a b c d", "a b x c y"), 66);
    }

    #[test]
    fn groups_are_complete_linkage_at_eighty_percent() {
        // 0~1 90, 1~2 85, 0~2 70: 0 and 1 join, 2 cannot join them.
        let sim = |i: usize, j: usize| match (i.min(j), i.max(j)) {
            (0, 1) => 90,
            (1, 2) => 85,
            _ => 70,
        };
        assert_eq!(alike_groups(3, &sim), vec![(vec![0, 1], 90)]);
        assert_eq!(alike_groups(2, &|_, _| 79), vec![]);
    }

    #[test]
    fn the_median_takes_the_lower_middle_value() {
        assert_eq!(median(vec![5, 1, 3]), Some(3));
        assert_eq!(median(vec![4, 1, 3, 9]), Some(3));
        assert_eq!(median::<i64>(vec![]), None);
    }

    #[test]
    fn the_chart_is_an_image_with_its_numbers_in_its_title() {
        let svg = score_chart(
            "Score <x>",
            &["2026.1".into(), "2026.2".into()],
            &[50, 100],
            &[75, 75],
        );
        assert!(svg.starts_with("<svg class=\"trend-chart\""));
        assert!(svg.contains("<title>Score &lt;x&gt;</title>"));
        assert!(svg.contains("points=\"42,38 222,8\""), "{svg}");
        assert!(!svg.contains("<script"));
    }
}

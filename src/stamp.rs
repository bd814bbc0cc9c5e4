//! What git says about each document: revision, changes, history, approval
//! evidence, stale approvals and stale addenda. Pure: history in, stamps out.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use crate::config::{Config, Evidence};
use crate::lenient::LenientApproval;
use crate::model::{Approval, Date};
use crate::repo::git::CommitInfo;
use crate::repo::history::{FileVersion, HistoryIndex};
use crate::signature::Signature;

/// The calendar date of a commit, in the time zone it was recorded in.
pub fn commit_date(seconds: i64, offset_minutes: i32) -> Date {
    let t = time::OffsetDateTime::from_unix_timestamp(seconds + i64::from(offset_minutes) * 60)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    Date(t.date())
}

/// A commit's time as recorded, its UTC offset kept: `2026-06-04T10:15:00+01:00`.
pub fn commit_time(seconds: i64, offset_minutes: i32) -> String {
    let offset =
        time::UtcOffset::from_whole_seconds(offset_minutes * 60).unwrap_or(time::UtcOffset::UTC);
    let t = time::OffsetDateTime::from_unix_timestamp(seconds)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset);
    t.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
    ))
    .unwrap_or_default()
}

struct Parsed<'a> {
    approved: bool,
    approvals: &'a [LenientApproval],
    /// What an approval covers: the controlled front-matter and the body.
    body: (&'a str, &'a str),
}

impl<'a> Parsed<'a> {
    fn of(v: &'a crate::lenient::Version) -> Parsed<'a> {
        Parsed {
            approved: v.approved(),
            approvals: &v.front.approvals,
            body: v.covered(),
        }
    }
}

fn same_approval(a: &Approval, l: &LenientApproval) -> bool {
    l.name.as_deref() == Some(a.name.as_str())
        && l.role.as_deref() == Some(a.role.as_str())
        && l.date.as_deref() == Some(&*a.date.text)
}

/// What the signature on an approval's evidence says of the approver.
#[derive(serde::Serialize, Debug, Clone, PartialEq, Eq, Default)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum SignatureStatus {
    /// No evidence commit, or an unsigned one.
    #[default]
    None,
    /// An SSH signature that verifies with a key registered for the approver: of the
    /// evidence commit, or of the release tag `tag`.
    Verified {
        fingerprint: String,
        tag: Option<String>,
    },
    /// An SSH signature that verifies, with a key not registered for the approver
    /// (registered for `owner`, when it is someone else's).
    Unregistered {
        fingerprint: String,
        owner: Option<String>,
    },
    /// An SSH signature that does not verify, and why.
    Invalid { reason: String },
    /// A GPG signature: present, never verified.
    Gpg,
    /// A signature of another format: present, never verified.
    Other,
}

impl SignatureStatus {
    /// The status as the page shows it beside an approval by `name`.
    pub fn text(&self, name: &str) -> Option<String> {
        Some(match self {
            SignatureStatus::None => return None,
            SignatureStatus::Verified {
                fingerprint,
                tag: None,
            } => format!("SSH signature verified (key {fingerprint})"),
            SignatureStatus::Verified {
                fingerprint,
                tag: Some(tag),
            } => format!("SSH signature of release tag {tag} verified (key {fingerprint})"),
            SignatureStatus::Unregistered { fingerprint, owner } => format!(
                "SSH signature by a key not registered for {name} (key {fingerprint}{})",
                owner
                    .as_ref()
                    .map_or(String::new(), |o| format!(", registered for {o}"))
            ),
            SignatureStatus::Invalid { .. } => "SSH signature does not verify".into(),
            SignatureStatus::Gpg => "GPG signature present, not verified".into(),
            SignatureStatus::Other => "signature of an unknown format present, not verified".into(),
        })
    }

    /// A short word for the status, for styling and for history.json.
    pub fn word(&self) -> &'static str {
        match self {
            SignatureStatus::None => "none",
            SignatureStatus::Verified { .. } => "verified",
            SignatureStatus::Unregistered { .. } => "unregistered",
            SignatureStatus::Invalid { .. } => "invalid",
            SignatureStatus::Gpg => "gpg",
            SignatureStatus::Other => "other",
        }
    }
}

/// How an approval is evidenced.
#[derive(serde::Serialize, Debug, Clone)]
pub struct ApprovalStamp {
    pub evidence: Evidence,
    /// The commit whose trailer records the approval.
    pub evidence_commit: Option<Arc<CommitInfo>>,
    /// The `[approvers.<key>]` entry whose trailer is the evidence.
    pub approver: Option<String>,
    /// The signature on the evidence, as it concerns that approver.
    pub signature: SignatureStatus,
    /// The commit that recorded the approval in the front-matter.
    pub recorded_in: Option<Arc<CommitInfo>>,
    /// Walk index of that commit (smaller is newer).
    pub recorded_index: Option<usize>,
    /// The approved text changed after the approval was recorded.
    pub stale: bool,
    /// The approval is dated after the commit that recorded it.
    pub post_dated: bool,
}

/// What history says about one file (a document or an addendum).
#[derive(serde::Serialize, Debug, Clone, Default)]
pub struct FileStamp {
    /// Approved issues of the text.
    pub revision: u32,
    /// Commits that changed the file.
    pub changes: usize,
    /// The file's commits, newest first.
    pub commits: Vec<Arc<CommitInfo>>,
    /// Walk index of the commit that made the current body (smaller is newer).
    pub body_since: Option<usize>,
    /// Walk index of the newest commit of the file.
    pub last_index: Option<usize>,
    /// For each version, newest first: its walk index and the revision it left.
    pub revision_at: Vec<(usize, u32)>,
    /// The work tree differs from the newest commit of the file.
    pub uncommitted: bool,
    /// One entry per approval of the current front-matter.
    pub approvals: Vec<ApprovalStamp>,
    /// SHA-256 of the file as it is now: what an `Approves:` trailer names.
    pub file_sha256: String,
}

impl FileStamp {
    pub fn last_commit(&self) -> Option<&Arc<CommitInfo>> {
        self.commits.first()
    }
}

/// What evidence is looked up in: Approved-by trailers by e-mail address (the walk
/// indexes of the commits carrying them), the registered SSH keys by fingerprint,
/// and the signatures of the release tags that count for this build.
pub struct Trailers {
    by_email: HashMap<String, Vec<usize>>,
    /// `Approves: <ID> sha256:<hash> Name <email>` trailers by e-mail address: the
    /// commit, the document id and the SHA-256 of the file as that commit left it.
    approves: HashMap<String, Vec<(usize, String, String)>>,
    /// How many controlled documents each commit changed (a document and its addenda
    /// count as one): a bare `Approved-by:` names no document, so it counts only in a
    /// commit that changed one.
    documents_changed: Vec<usize>,
    /// Fingerprint → the `[approvers]` entries the key is registered for.
    key_owners: HashMap<String, Vec<String>>,
    release_tags: Vec<(String, Signature)>,
}

/// `SOP-0020 sha256:<hex> Jane Roe <jane@acme.example>` → (email, id, hash).
fn parse_approves(value: &str) -> Option<(String, String, String)> {
    let mut words = value.split_whitespace();
    let id = words.next()?.to_string();
    let hash = words.next()?.strip_prefix("sha256:")?.to_ascii_lowercase();
    let email = value
        .split('<')
        .nth(1)?
        .split('>')
        .next()?
        .trim()
        .to_ascii_lowercase();
    Some((email, id, hash))
}

impl Trailers {
    pub fn new(
        history: &HistoryIndex,
        config: &Config,
        release_tags: &[(String, Signature)],
    ) -> Trailers {
        let mut by_email: HashMap<String, Vec<usize>> = HashMap::new();
        let mut approves: HashMap<String, Vec<(usize, String, String)>> = HashMap::new();
        for (i, c) in history.commits.iter().enumerate() {
            for (k, v) in &c.trailers {
                if k.eq_ignore_ascii_case("Approves") {
                    if let Some((email, id, hash)) = parse_approves(v) {
                        approves.entry(email).or_default().push((i, id, hash));
                    }
                    continue;
                }
                if !k.eq_ignore_ascii_case("Approved-by") {
                    continue;
                }
                if let Some(email) = v.split('<').nth(1).and_then(|r| r.split('>').next()) {
                    by_email
                        .entry(email.trim().to_ascii_lowercase())
                        .or_default()
                        .push(i);
                }
            }
        }
        let mut key_owners: HashMap<String, Vec<String>> = HashMap::new();
        for (id, approver) in &config.approvers {
            for key in &approver.ssh_keys {
                // Keys were validated when book.toml was loaded.
                if let Ok(k) = crate::signature::parse_public_key(key) {
                    key_owners
                        .entry(crate::signature::fingerprint(&k))
                        .or_default()
                        .push(id.clone());
                }
            }
        }
        let mut keys: Vec<std::collections::BTreeSet<String>> =
            vec![Default::default(); history.commits.len()];
        for (path, versions) in &history.files {
            let key = versions
                .first()
                .and_then(|v| crate::parse::frontmatter::guess_id(&v.text))
                .unwrap_or_else(|| path.to_string_lossy().into_owned());
            for v in versions {
                if let Some(set) = keys.get_mut(v.commit) {
                    set.insert(key.clone());
                }
            }
        }
        Trailers {
            by_email,
            approves,
            documents_changed: keys.iter().map(|k| k.len()).collect(),
            key_owners,
            release_tags: release_tags.to_vec(),
        }
    }

    fn registered_for(&self, fingerprint: &str, approver: &str) -> bool {
        self.key_owners
            .get(fingerprint)
            .is_some_and(|ids| ids.iter().any(|i| i == approver))
    }

    /// What a commit's signature (or, failing it, a release tag's) says of the
    /// approver `id` of the registry.
    fn status(&self, config: &Config, signature: &Signature, id: &str) -> SignatureStatus {
        let own = match signature {
            Signature::None => SignatureStatus::None,
            Signature::Ssh { fingerprint } if self.registered_for(fingerprint, id) => {
                return SignatureStatus::Verified {
                    fingerprint: fingerprint.clone(),
                    tag: None,
                }
            }
            Signature::Ssh { fingerprint } => SignatureStatus::Unregistered {
                fingerprint: fingerprint.clone(),
                owner: self.key_owners.get(fingerprint).map(|ids| {
                    ids.iter()
                        .map(|i| {
                            config
                                .approvers
                                .get(i)
                                .map_or(i.as_str(), |a| a.name.as_str())
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                }),
            },
            Signature::SshInvalid { reason } => SignatureStatus::Invalid {
                reason: reason.clone(),
            },
            Signature::SshUnchecked => SignatureStatus::Invalid {
                reason: "it was not checked".into(),
            },
            Signature::Gpg => SignatureStatus::Gpg,
            Signature::Other => SignatureStatus::Other,
        };
        for (tag, sig) in &self.release_tags {
            if let Signature::Ssh { fingerprint } = sig {
                if self.registered_for(fingerprint, id) {
                    return SignatureStatus::Verified {
                        fingerprint: fingerprint.clone(),
                        tag: Some(tag.clone()),
                    };
                }
            }
        }
        own
    }
}

/// Whether an approval is dated after the commit that recorded it. A date-time is
/// compared as an instant; a plain date against the commit's date in the latest time
/// zone on Earth (UTC+14), so an approver ahead of the committer is never accused.
fn post_dated(date: &crate::model::ApprovalDate, commit: &CommitInfo) -> bool {
    match date.instant {
        Some(t) => t > commit.commit_time,
        None => date.date > commit_date(commit.commit_time, 14 * 60),
    }
}

/// Stamps one file from its versions (newest first) and its text as built.
pub fn stamp_file(
    history: &HistoryIndex,
    trailers: &Trailers,
    config: &Config,
    versions: &[FileVersion],
    current_text: &str,
    approvals: &[Approval],
) -> FileStamp {
    let read: Vec<_> = versions
        .iter()
        .map(|v| crate::lenient::version(&v.text))
        .collect();
    let parsed: Vec<Parsed> = read.iter().map(|v| Parsed::of(v)).collect();
    let (front, body) = crate::lenient::read(current_text);
    let controlled = front.controlled.key();
    let current = Parsed {
        approved: front.approved(),
        approvals: &front.approvals,
        body: (&controlled, body),
    };
    let uncommitted = versions.first().is_none_or(|v| *v.text != *current_text);

    // Revision: a new one each time approved content differs from the last approved.
    let mut revision = 0;
    let mut last_approved: Option<(&str, &str)> = None;
    let committed = parsed.iter().rev();
    let all: Vec<&Parsed> = if uncommitted {
        committed.chain(std::iter::once(&current)).collect()
    } else {
        committed.collect()
    };
    let mut revision_at = Vec::with_capacity(versions.len());
    for (i, p) in all.into_iter().enumerate() {
        if p.approved && last_approved != Some(p.body) {
            revision += 1;
            last_approved = Some(p.body);
        }
        if let Some(v) = versions
            .len()
            .checked_sub(i + 1)
            .and_then(|k| versions.get(k))
        {
            revision_at.push((v.commit, revision));
        }
    }
    revision_at.reverse();

    // The commit that made the current body: oldest of the newest run with this body.
    let body_since = if uncommitted && parsed.first().is_none_or(|p| p.body != current.body) {
        None
    } else {
        let run = parsed.iter().take_while(|p| p.body == current.body).count();
        run.checked_sub(1).map(|i| versions[i].commit)
    };

    // The document an `Approves:` trailer must name: its id, or an addendum's target.
    let doc_key = crate::parse::frontmatter::guess_id(current_text).unwrap_or_default();
    let approvals = approvals
        .iter()
        .map(|a| {
            // Recorded in: the oldest version of the newest run that holds the approval.
            let present_now = parsed
                .first()
                .is_some_and(|p| p.approvals.iter().any(|l| same_approval(a, l)));
            let recorded = if present_now {
                let run = parsed
                    .iter()
                    .take_while(|p| p.approvals.iter().any(|l| same_approval(a, l)))
                    .count();
                Some(run - 1)
            } else {
                None
            };
            let recorded_in = recorded.map(|i| history.commits[versions[i].commit].clone());
            let stale = match recorded {
                Some(i) => parsed[i].body != current.body,
                None => false,
            };
            let post_dated = recorded_in.as_ref().is_some_and(|c| post_dated(&a.date, c));
            let site = versions
                .first()
                .map(|v| v.path.as_path())
                .and_then(crate::parse::site_folder);
            let own: Vec<usize> = versions.iter().map(|v| v.commit).collect();
            let found = evidence(
                history,
                trailers,
                config,
                a,
                body_since,
                &own,
                site,
                (doc_key.as_str(), versions),
            );
            ApprovalStamp {
                evidence: found.evidence,
                evidence_commit: found.commit,
                approver: found.approver,
                signature: found.signature,
                recorded_in,
                recorded_index: recorded.map(|i| versions[i].commit),
                stale,
                post_dated,
            }
        })
        .collect();

    FileStamp {
        revision,
        changes: versions.len(),
        commits: versions
            .iter()
            .map(|v| history.commits[v.commit].clone())
            .collect(),
        body_since,
        last_index: versions.first().map(|v| v.commit),
        revision_at,
        uncommitted,
        approvals,
        file_sha256: crate::manifest::sha256_hex(current_text.as_bytes()),
    }
}

impl FileStamp {
    /// The revision the file had at walk index `at` (its newest version no newer than it).
    pub fn revision_as_of(&self, at: usize) -> u32 {
        self.revision_at
            .iter()
            .find(|(idx, _)| *idx >= at)
            .map_or(0, |(_, r)| *r)
    }

    /// When a site last reviewed its adaptation: the newest commit that recorded one
    /// of its approvals, or, for an unapproved addendum, its last change.
    pub fn reviewed_at(&self) -> Option<usize> {
        self.approvals
            .iter()
            .filter_map(|a| a.recorded_index)
            .min()
            .or(self.last_index)
    }
}

/// The evidence found for one approval.
#[derive(Default)]
struct Found {
    evidence: Evidence,
    commit: Option<Arc<CommitInfo>>,
    approver: Option<String>,
    signature: SignatureStatus,
}

/// The best evidence for an approval: an `Approved-by:` trailer of a registered
/// approver with the approval's name, role and site, valid on the approval's date,
/// at or after the last change of the approved text, in a commit that changed the
/// file (a squash-merged pull request, say); signed when that commit, or the release's
/// tag, carries an SSH signature that verifies with a key registered for that approver. A trailer in a commit about other documents, merge
/// commits included, is no evidence for this one.
#[allow(clippy::too_many_arguments)]
fn evidence(
    history: &HistoryIndex,
    trailers: &Trailers,
    config: &Config,
    a: &Approval,
    body_since: Option<usize>,
    own: &[usize],
    site: Option<&str>,
    doc: (&str, &[FileVersion]),
) -> Found {
    let Some(bound) = body_since else {
        return Found::default();
    };
    let mut best = Found::default();
    for (id, approver) in config
        .approvers
        .iter()
        .filter(|(_, p)| p.name.eq_ignore_ascii_case(&a.name))
    {
        if !approver.roles.is_empty() && !approver.roles.contains(&a.role) {
            continue;
        }
        if !approver.sites.is_empty()
            && !site.is_some_and(|s| approver.sites.iter().any(|x| x == s))
        {
            continue;
        }
        if !approver.valid_on(a.date.date.0) {
            continue;
        }
        for email in &approver.emails {
            let email = email.to_ascii_lowercase();
            // A bare trailer in a commit that changed only this document, or one
            // that names this document and the file it approves.
            let bare = trailers
                .by_email
                .get(&email)
                .into_iter()
                .flatten()
                .copied()
                .filter(|&i| trailers.documents_changed.get(i).is_some_and(|&n| n <= 1));
            let named = trailers
                .approves
                .get(&email)
                .into_iter()
                .flatten()
                .filter(|(i, id, hash)| {
                    id == doc.0
                        && doc.1.iter().any(|v| {
                            v.commit == *i
                                && crate::manifest::sha256_hex(v.text.as_bytes()) == *hash
                        })
                })
                .map(|(i, _, _)| *i);
            for i in bare.chain(named) {
                let c = &history.commits[i];
                if i > bound || !own.contains(&i) {
                    continue;
                }
                let signature = trailers.status(config, &c.signature, id);
                let ev = if matches!(signature, SignatureStatus::Verified { .. }) {
                    Evidence::Signed
                } else {
                    Evidence::Recorded
                };
                if best.commit.is_none() || ev > best.evidence {
                    best = Found {
                        evidence: ev,
                        commit: Some(c.clone()),
                        approver: Some(id.clone()),
                        signature,
                    };
                }
            }
        }
    }
    best
}

/// Stamps of every source file by path, for the files of a build.
/// `release_tags`: the signatures of the release tags that count for this build (a
/// release's own tag; in a preview, every release tag at the built commit).
pub fn stamp_all<'a>(
    history: &HistoryIndex,
    config: &Config,
    release_tags: &[(String, Signature)],
    files: impl Iterator<Item = (&'a Path, &'a str, &'a [Approval])>,
) -> crate::PathMap<Arc<FileStamp>> {
    let trailers = Trailers::new(history, config, release_tags);
    stamp_with(history, &trailers, config, files)
}

/// [`stamp_all`], with the trailers of the history already indexed.
fn stamp_with<'a>(
    history: &HistoryIndex,
    trailers: &Trailers,
    config: &Config,
    files: impl Iterator<Item = (&'a Path, &'a str, &'a [Approval])>,
) -> crate::PathMap<Arc<FileStamp>> {
    use rayon::prelude::*;
    // Each file reads its own versions: in parallel.
    let files: Vec<_> = files.collect();
    files
        .into_par_iter()
        .map(|(path, text, approvals)| {
            let s = stamp_file(
                history,
                trailers,
                config,
                history.versions(path),
                text,
                approvals,
            );
            (path.to_path_buf(), Arc::new(s))
        })
        .collect()
}

/// A parsed file, held by a kept stamp so that no other value takes its address
/// while the stamp is kept.
pub type Held = Arc<dyn std::any::Any + Send + Sync>;

/// The walk, the configuration (as JSON) and the release tags stamps were made with.
type MadeWith = (u64, Vec<u8>, Vec<(String, Signature)>);

/// Stamps kept from one build for the next ([`stamp_kept`]).
#[derive(Default)]
pub struct KeptStamps {
    made_with: Option<MadeWith>,
    /// By path: the parsed file, and its stamp.
    files: HashMap<std::path::PathBuf, (Held, Arc<FileStamp>)>,
    /// The trailers of the walk, indexed for the configuration and tags.
    trailers: Option<Arc<Trailers>>,
}

/// The stamps this process keeps between builds ([`crate::keep_between_builds`]).
pub fn kept_stamps() -> Option<&'static std::sync::Mutex<KeptStamps>> {
    static KEPT: std::sync::OnceLock<std::sync::Mutex<KeptStamps>> = std::sync::OnceLock::new();
    crate::keeps_between_builds().then(|| KEPT.get_or_init(Default::default))
}

/// [`stamp_all`] of `files`, each given with the parsed value its text and approvals
/// come from. A stamp is a function of the history, the configuration, the release
/// tags and the file's text. With `keep` (`serve`), a file's stamp from the last
/// build is taken when that build had the same walk of history
/// ([`HistoryIndex::walk`]), configuration and release tags, and the same parsed
/// value of the file: the build keeps the parse of a file whose text is unchanged
/// ([`crate::parse::parse_corpus`]), and the stamp holds it, so no other value can
/// take its address meanwhile.
/// The trailers of the walk, indexed for the configuration and the tags
/// ([`Trailers`]), are kept with the stamps, on the same terms.
pub fn stamp_kept<'a>(
    history: &HistoryIndex,
    config: &Config,
    release_tags: &[(String, Signature)],
    files: Vec<(&'a Path, &'a str, &'a [Approval], Held)>,
    keep: Option<&std::sync::Mutex<KeptStamps>>,
) -> crate::PathMap<Arc<FileStamp>> {
    // A configuration that cannot be written as JSON cannot key what is kept.
    let config_json = keep.and_then(|_| serde_json::to_vec(config).ok());
    let (Some(keep), Some(config_json)) = (keep.filter(|_| history.walk != 0), config_json) else {
        let files = files.into_iter().map(|(p, t, a, _)| (p, t, a));
        return stamp_all(history, config, release_tags, files);
    };
    let made_with = Some((history.walk, config_json, release_tags.to_vec()));
    let mut kept = std::mem::take(&mut *keep.lock().unwrap_or_else(|e| e.into_inner()));
    if kept.made_with != made_with {
        kept = KeptStamps::default();
    }
    let same = |held: &Held, parsed: &Held| {
        std::ptr::eq(
            Arc::as_ptr(held) as *const u8,
            Arc::as_ptr(parsed) as *const u8,
        )
    };
    let (taken, new): (Vec<_>, Vec<_>) = files.into_iter().partition(|(path, _, _, parsed)| {
        kept.files
            .get(*path)
            .is_some_and(|(held, _)| same(held, parsed))
    });
    let trailers = kept.trailers.take();
    let mut stamps = crate::PathMap::default();
    let trailers = if new.is_empty() {
        trailers
    } else {
        let trailers =
            trailers.unwrap_or_else(|| Arc::new(Trailers::new(history, config, release_tags)));
        let new = new.iter().map(|(p, t, a, _)| (*p, *t, *a));
        stamps = stamp_with(history, &trailers, config, new);
        Some(trailers)
    };
    let mut files = HashMap::with_capacity(taken.len() + new.len());
    for (path, _, _, parsed) in taken {
        let Some((_, stamp)) = kept.files.remove(path) else {
            continue;
        };
        stamps.insert(path.to_path_buf(), Arc::clone(&stamp));
        files.insert(path.to_path_buf(), (parsed, stamp));
    }
    for (path, _, _, parsed) in new {
        if let Some(stamp) = stamps.get(path) {
            files.insert(path.to_path_buf(), (parsed, Arc::clone(stamp)));
        }
    }
    *keep.lock().unwrap_or_else(|e| e.into_inner()) = KeptStamps {
        made_with,
        files,
        trailers,
    };
    stamps
}

/// The global revision a site's adaptation was reviewed against: the pinned
/// `base-revision`, else the global revision when the adaptation was last reviewed.
pub fn reviewed_against(
    global: &FileStamp,
    addendum: &FileStamp,
    base_revision: Option<u32>,
) -> Option<u32> {
    base_revision.or_else(|| addendum.reviewed_at().map(|at| global.revision_as_of(at)))
}

/// Whether a site's addendum is based on an older global text than the current one.
pub fn addendum_is_stale(
    history: &HistoryIndex,
    global: &FileStamp,
    addendum: &FileStamp,
    base_revision: Option<u32>,
) -> bool {
    if let Some(base) = base_revision {
        return global.revision > base;
    }
    match (global.body_since, addendum.reviewed_at()) {
        // The commit that made the global text is not behind the site's last review
        // (the recording of the addendum's approval, or its last change): the review
        // did not see it, on this branch or any other.
        (Some(g), Some(a)) => !history.is_ancestor(g, a),
        // The global text has uncommitted changes: newer than any commit.
        (None, _) => !global.commits.is_empty() && !addendum.uncommitted,
        (Some(_), None) => false,
    }
}

/// The stamps of one build: every document and addendum file by path.
#[derive(serde::Serialize, Debug, Clone, Default)]
pub struct Stamps {
    #[serde(serialize_with = "crate::sorted")]
    pub files: crate::PathMap<Arc<FileStamp>>,
    /// History is missing (no git, or a shallow clone): history fields are incomplete.
    pub incomplete: bool,
    /// The build reads a git repository at all.
    pub git: bool,
    /// Addenda whose global document changed after the site last reviewed them.
    #[serde(serialize_with = "crate::sorted_set")]
    pub stale_addenda: std::collections::HashSet<std::path::PathBuf>,
}

impl Stamps {
    pub fn get(&self, path: &Path) -> Option<&FileStamp> {
        self.files.get(path).map(|s| &**s)
    }
}

/// Reports what the stamps reveal: post-dated approvals (errors), stale approvals
/// and stale addenda (warnings in previews, errors in a release).
pub fn report(
    corpus: &crate::parse::Corpus,
    stamps: &Stamps,
    release: bool,
    diags: &mut crate::diag::Diagnostics,
) {
    use crate::diag::{Code, Diagnostic};
    if !stamps.git {
        return;
    }
    // In a release, stale approvals and addenda of what it publishes are errors;
    // drafts are not published, so theirs stay warnings.
    let stale = |code, path: &Path, line: usize, approved: bool, msg: String| {
        Diagnostic::release_error(release && approved, code, path, line, msg)
    };
    let check_approvals = |path: &Path,
                           line: usize,
                           approved: bool,
                           obsolete: bool,
                           list: &[Approval],
                           stamp: &FileStamp,
                           diags: &mut crate::diag::Diagnostics| {
        let short = |c: &Option<Arc<CommitInfo>>| {
            c.as_ref().map_or(String::new(), |c| c.short().to_string())
        };
        for (a, s) in list.iter().zip(&stamp.approvals) {
            if s.post_dated {
                let c = s
                    .recorded_in
                    .as_ref()
                    .expect("post-dated approvals have a commit");
                diags.push(
                    Diagnostic::error(
                        Code::Approval,
                        path,
                        line,
                        format!(
                            "the approval by {} is dated {}, after commit {} ({}) that recorded it",
                            a.name,
                            a.date.text,
                            c.short(),
                            commit_date(c.commit_time, c.commit_offset)
                        ),
                    )
                    .help("an approval cannot be recorded before it is given; correct the date"),
                );
            }
            if let SignatureStatus::Invalid { reason } = &s.signature {
                diags.push(
                    Diagnostic::warning(
                        Code::BadSignature,
                        path,
                        line,
                        format!(
                            "the SSH signature of commit {} that records the approval by {} does not verify: {reason}",
                            short(&s.evidence_commit),
                            a.name
                        ),
                    )
                    .help(format!(
                        "the commit is not what was signed: find out how the signature got there, then have {} sign the approval again (git commit -S)",
                        a.name
                    )),
                );
            }
            // An obsolete document's earlier approvals are its history: only the
            // approval of the withdrawal speaks for it now.
            if s.stale && !(obsolete && a.meaning != "obsoleted") {
                diags.push(
                    stale(Code::StaleApproval, path, line, approved, format!(
                        "the approval by {} (recorded in {}) no longer covers the text, which changed afterwards",
                        a.name, short(&s.recorded_in)
                    ))
                    .help("have the document re-approved, recording the new approval in the same commit as the change"),
                );
            }
        }
    };
    for doc in &corpus.documents {
        if let Some(s) = stamps.get(&doc.path) {
            check_approvals(
                &doc.path,
                doc.line("approvals"),
                doc.meta.status == crate::model::Status::Approved,
                doc.meta.status == crate::model::Status::Obsolete,
                &doc.meta.approvals,
                s,
                diags,
            );
        }
    }
    let by_id: BTreeMap<&str, &crate::parse::Document> = corpus
        .documents
        .iter()
        .map(|d| (d.meta.id.as_str(), &**d))
        .collect();
    for add in &corpus.addenda {
        let Some(s) = stamps.get(&add.path) else {
            continue;
        };
        check_approvals(
            &add.path,
            add.target_line,
            add.meta.status == crate::model::Status::Approved,
            false,
            &add.meta.approvals,
            s,
            diags,
        );
        let Some(global) = by_id
            .get(add.meta.addendum_to.as_str())
            .and_then(|d| stamps.get(&d.path))
        else {
            continue;
        };
        if let Some(base) = add.meta.base_revision.filter(|b| *b > global.revision) {
            diags.push(
                Diagnostic::error(Code::BaseRevision,
                    &*add.path,
                    add.line_of_base_revision(),
                    format!("base-revision {base} is higher than {}'s revision {}", add.meta.addendum_to, global.revision),
                )
                .help("pin the global revision the adaptation was reviewed against, as shown on its page"),
            );
        }
        if stamps.stale_addenda.contains(&*add.path) {
            let why = match add.meta.base_revision {
                Some(b) => format!(
                    "it is based on revision {b}, and {} is now at revision {}",
                    add.meta.addendum_to, global.revision
                ),
                None => format!(
                    "{} changed after the site last reviewed this adaptation (its last recorded approval, or its last change)",
                    add.meta.addendum_to
                ),
            };
            diags.push(
                stale(Code::StaleAddendum, &add.path, add.target_line, add.meta.status == crate::model::Status::Approved, format!("stale addendum: {why}"))
                    .help("review the adaptation against the new global text, then update and re-approve the addendum"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ApprovalDate;

    fn commit_at(seconds: i64, offset: i32) -> CommitInfo {
        CommitInfo {
            committer: String::new(),
            id: "0".repeat(40),
            author: String::new(),
            author_email: String::new(),
            author_time: seconds,
            author_offset: offset,
            commit_time: seconds,
            commit_offset: offset,
            subject: String::new(),
            trailers: Vec::new(),
            signature: crate::signature::Signature::None,
            merge: false,
        }
    }

    fn date(text: &str) -> ApprovalDate {
        crate::yaml::from_str(&format!("\"{text}\"")).unwrap()
    }

    #[test]
    fn a_kept_stamp_is_taken_only_for_the_same_parse_walk_configuration_and_tags() {
        let (config, corpus) = crate::testkit::corpus(
            crate::testkit::BOOK,
            &[(
                "procedures/global/a.md",
                &crate::testkit::doc("SOP-1", "", "Text.\n"),
            )],
        );
        let text = crate::testkit::doc("SOP-1", "", "Text.\n");
        let doc = &corpus.documents[0];
        let path = doc.path.as_path();
        let history = HistoryIndex {
            walk: 7,
            ..HistoryIndex::default()
        };
        let keep = std::sync::Mutex::default();
        let stamp = |history: &HistoryIndex, config: &Config, tags: &[_], parsed: Held| {
            let files = vec![(path, text.as_str(), doc.meta.approvals.as_slice(), parsed)];
            stamp_kept(history, config, tags, files, Some(&keep))[path].clone()
        };
        let made = stamp(&history, &config, &[], doc.clone());
        assert!(!made.file_sha256.is_empty() && made.revision != 99);
        let anew = made.revision;
        // Mark the kept stamp, to tell it from one made anew.
        let mark = |keep: &std::sync::Mutex<KeptStamps>| {
            let mut kept = keep.lock().unwrap();
            Arc::make_mut(&mut kept.files.get_mut(path).expect("kept").1).revision = 99;
        };
        mark(&keep);
        assert_eq!(stamp(&history, &config, &[], doc.clone()).revision, 99);
        // Another parse of the file (its text changed), another walk, another
        // configuration or other release tags: made anew.
        let again = Arc::new(crate::parse::Document::clone(doc));
        assert_eq!(stamp(&history, &config, &[], again).revision, anew);
        mark(&keep);
        let other_walk = HistoryIndex {
            walk: 8,
            ..HistoryIndex::default()
        };
        assert_eq!(stamp(&other_walk, &config, &[], doc.clone()).revision, anew);
        mark(&keep);
        let mut other_config = config.clone();
        other_config.book.title = "Other".into();
        assert_eq!(
            stamp(&other_walk, &other_config, &[], doc.clone()).revision,
            anew
        );
        mark(&keep);
        let tags = [("v1".to_string(), Signature::Gpg)];
        assert_eq!(
            stamp(&other_walk, &other_config, &tags, doc.clone()).revision,
            anew
        );
        // Without a walk (no git), nothing is kept.
        mark(&keep);
        let no_walk = HistoryIndex::default();
        assert_eq!(
            stamp(&no_walk, &other_config, &tags, doc.clone()).revision,
            anew
        );
        assert_eq!(
            stamp(&other_walk, &other_config, &tags, doc.clone()).revision,
            99
        );
    }

    #[test]
    fn post_dating_is_judged_across_time_zones() {
        // 2026-01-03T20:00:00-05:00 = 2026-01-04T01:00:00Z.
        let c = commit_at(1_767_488_400, -300);
        assert!(
            !post_dated(&date("2026-01-04T01:00:00+09:00"), &c),
            "ten hours before the commit"
        );
        assert!(post_dated(&date("2026-01-04T02:00:00Z"), &c));
        assert!(
            !post_dated(&date("2026-01-04"), &c),
            "already the 4th in Tokyo"
        );
        assert!(post_dated(&date("2026-01-05"), &c));
    }
}

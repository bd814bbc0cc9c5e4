//! The read-only views templates receive. Templates never see internal types, so
//! the model can change without breaking user themes.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct BookView {
    pub title: String,
    pub organization: Option<String>,
    /// What a release requires of approvals: declared, recorded or signed.
    pub approval_evidence: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SiteView {
    pub id: String,
    pub name: String,
    pub markets: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BuildView {
    pub version: String,
    /// A build that is not a controlled release: every page says so.
    pub preview: bool,
    pub tool_version: String,
    /// The commit built (full hash), when the sources are in git.
    pub commit: Option<String>,
    pub commit_short: Option<String>,
    /// The build's as-of date: the built commit's date, never the clock.
    pub as_of: Option<String>,
    /// Built from a work tree with uncommitted changes.
    pub dirty: bool,
    /// The sources are in a git repository.
    pub git: bool,
    /// A shallow clone: history-derived fields are incomplete.
    pub shallow: bool,
    /// The ref asked for with --ref.
    pub refname: Option<String>,
    /// A page about one document (its page, history or comparison): the stamp of the
    /// build is left to the version's index, so the page changes only when what it
    /// shows changes. Absent elsewhere (`history.json` records the build's stamp).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub document_page: bool,
}

impl BuildView {
    /// The stamp of pages about the whole output (the portal, a site's versions page),
    /// which no single build made: no commit, no preview mark, no version script.
    pub fn of_output() -> BuildView {
        BuildView {
            version: String::new(),
            preview: false,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            commit: None,
            commit_short: None,
            as_of: None,
            dirty: false,
            git: true,
            shallow: false,
            refname: None,
            document_page: false,
        }
    }

    /// The stamp of a page about one document. It names no commit the version was
    /// built from, nor whether the tree was dirty (its index and manifest do, and the
    /// page marks the document's own uncommitted changes); the as-of date only where
    /// the page shows it (`as_of_shown`: an upcoming change, an overdue review). A
    /// commit that changes nothing a page shows leaves the page's bytes as they were,
    /// so a rebuild rewrites only the pages that changed.
    pub fn of_document(&self, as_of_shown: bool) -> BuildView {
        BuildView {
            commit: None,
            commit_short: None,
            refname: None,
            dirty: false,
            as_of: self.as_of.clone().filter(|_| as_of_shown),
            document_page: true,
            ..self.clone()
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ApprovalView {
    pub name: String,
    pub role: String,
    pub meaning: String,
    pub date: String,
    /// "declared", "recorded" or "signed".
    pub evidence: String,
    /// "declared", "recorded" or "signed", for styling.
    pub evidence_level: String,
    /// The commit whose Approved-by trailer is the evidence.
    pub evidence_commit: Option<String>,
    /// The signature on the evidence, as it concerns the approver, e.g. "SSH signature
    /// verified (key SHA256:…)"; none when there is no signature.
    pub signature: Option<String>,
    /// "none", "verified", "unregistered", "invalid", "gpg" or "other", for styling.
    pub signature_status: String,
    /// Why a signature does not verify.
    pub signature_problem: Option<String>,
    /// The commit that recorded the approval in the front-matter.
    pub recorded_in: Option<String>,
    /// The text changed after the approval was recorded.
    pub stale: bool,
}

/// One commit in a document's revision history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryRow {
    /// The author date, and the author time with its UTC offset (RFC 3339).
    pub date: String,
    pub time: String,
    pub author: String,
    /// Who committed it, and when, when that is not the author at the same time
    /// (a rebase, a cherry-pick, a merge button): both are part of the record.
    pub committer: String,
    pub committed: String,
    pub commit: String,
    pub commit_short: String,
    pub subject: String,
    /// "Key: value" trailers of the commit message.
    pub trailers: Vec<String>,
    /// The ids of its `Change-Control:` trailers, linked when the book says how.
    pub change_controls: Vec<ChangeControlView>,
    /// Which file the commit changed: "global", "addendum" or "document".
    pub file: String,
    /// The commit time, in seconds since the epoch, for ordering.
    #[serde(skip)]
    pub committed_at: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DocSummary {
    pub id: String,
    pub title: String,
    pub doc_type: String,
    pub href: String,
    pub status: String,
    pub effective: Option<String>,
    pub review_due: Option<String>,
    /// The site adapted this global document with an addendum.
    pub adapted: bool,
    pub site_only: bool,
    pub revision: Option<u32>,
    pub stale_addendum: bool,
    /// The site's addendum to this document is not approved.
    pub adaptation_draft: bool,
    pub review_overdue: bool,
    /// A newer revision is upcoming: its effective date, or its status.
    pub upcoming: Option<String>,
    /// An entry of the external-documents register.
    pub external: Option<ExternalView>,
}

/// What the register says of an external document (a standard or a regulation).
#[derive(Debug, Clone, Serialize)]
pub struct ExternalView {
    /// How procedures cite it, e.g. "ISO 14971".
    pub designation: String,
    pub publisher: String,
    pub edition: String,
    /// The date of the edition.
    pub date: Option<String>,
    /// The ids of the sites that use it; empty for every site.
    pub sites: Vec<String>,
    /// The documents of this site version whose `clauses` cite it.
    pub cited_by: Vec<CitationView>,
}

/// A document that cites an external document, with the clauses that do.
#[derive(Debug, Clone, Serialize)]
pub struct CitationView {
    pub id: String,
    pub title: String,
    pub href: String,
    pub clauses: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupView {
    pub code: String,
    pub title: String,
    pub docs: Vec<DocSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OmittedView {
    pub id: String,
    pub title: String,
    pub reason: String,
    /// "excluded" (book.toml) or "markets" (not for this site's markets).
    pub kind: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct IndexView {
    pub book: BookView,
    pub site: SiteView,
    pub build: BuildView,
    pub groups: Vec<GroupView>,
    pub omitted: Vec<OmittedView>,
    /// Obsolete documents: listed, not published as current.
    pub obsolete: Vec<OmittedView>,
    pub adapted_count: usize,
    pub doc_count: usize,
    /// Relative link to the portal.
    pub portal_href: String,
    /// The labels some document row carries, explained once above the lists.
    pub labels: IndexLabels,
}

/// Which labels the rows of a site's index carry.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IndexLabels {
    pub any: bool,
    pub adapted: bool,
    pub stale_addendum: bool,
    pub upcoming: bool,
    pub review_overdue: bool,
    pub adaptation_draft: bool,
    pub site_only: bool,
}

impl IndexLabels {
    pub fn of<'a>(docs: impl Iterator<Item = &'a DocSummary>) -> IndexLabels {
        let mut l = IndexLabels::default();
        for d in docs {
            l.adapted |= d.adapted;
            l.stale_addendum |= d.stale_addendum;
            l.upcoming |= d.upcoming.is_some();
            l.review_overdue |= d.review_overdue;
            l.adaptation_draft |= d.adaptation_draft;
            l.site_only |= d.site_only;
        }
        l.any = l.adapted
            || l.stale_addendum
            || l.upcoming
            || l.review_overdue
            || l.adaptation_draft
            || l.site_only;
        l
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DocView {
    pub id: String,
    pub title: String,
    pub doc_type: String,
    pub owner: Option<String>,
    pub status: String,
    pub effective: Option<String>,
    pub review_due: Option<String>,
    pub approvals: Vec<ApprovalView>,
    pub markets: Option<Vec<String>>,
    pub clauses: Vec<String>,
    pub supersedes: Vec<String>,
    pub former_ids: Vec<String>,
    /// "internal" or "confidential".
    pub classification: Option<String>,
    pub training: Option<crate::model::Training>,
    pub content_hash: String,
    pub content_hash_short: String,
    pub source: String,
    pub site_only: bool,
    pub adapted: bool,
    /// Draft or in review: shown with a DRAFT watermark.
    pub draft: bool,
    /// Approved issues of the global (or site-only) text; None without git.
    pub revision: Option<u32>,
    /// Approved issues of the site addendum.
    pub site_revision: Option<u32>,
    /// Commits that changed the document (and its addendum).
    pub changes: usize,
    pub last_changed: Option<String>,
    /// The newest commit that changed the document or its addendum.
    pub source_commit: Option<String>,
    pub source_commit_short: Option<String>,
    /// Newest first.
    pub history: Vec<HistoryRow>,
    /// History is missing or cut short (no git, or a shallow clone).
    pub history_incomplete: bool,
    /// The text differs from its last commit (a work-tree preview).
    pub uncommitted: bool,
    /// The global text changed after the site's addendum was last changed.
    pub stale_addendum: bool,
    /// Approved, and its review-due date is before the build's as-of date.
    pub review_overdue: bool,
    /// A newer revision than the one published: pending its effective date, or (in a
    /// release) still being drafted.
    pub upcoming: Option<UpcomingView>,
    /// An entry of the external-documents register.
    pub external: Option<ExternalView>,
    /// How long documents of this type are kept (`[retention.<type>]`), and why.
    pub retention: Option<RetentionView>,
}

/// How long the documents of a type are kept, and the requirement that says so.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionView {
    pub years: u32,
    pub rule: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct UpcomingView {
    /// The newer revision's status: "approved" when pending, or "draft"/"in-review".
    pub status: String,
    pub effective: Option<String>,
    /// The newer revision's number (of approved issues so far).
    pub revision: u32,
    /// Date of the commit that made the published revision.
    pub since: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct OperationView {
    pub op: String,
    pub anchor: String,
    pub section: String,
    pub line: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct AdaptationView {
    pub source: String,
    pub rationale: String,
    pub status: String,
    /// The addendum is not approved: its text is a draft.
    pub draft: bool,
    /// The global revision the addendum pins with `base-revision`.
    pub base_revision: Option<u32>,
    /// The global revision the adaptation was last reviewed against (pinned, or the
    /// revision current when its approval was recorded); None without history.
    pub reviewed_against: Option<u32>,
    pub approvals: Vec<ApprovalView>,
    pub operations: Vec<OperationView>,
}

/// One piece of the composed body, already rendered to HTML.
#[derive(Debug, Clone, Serialize)]
pub struct PieceView {
    /// "global", "site-only", "site" (an addendum operation) or "site-appendix".
    pub origin: String,
    /// The operation of site content, e.g. "append".
    pub op: Option<String>,
    /// What the site content does, e.g. "Added at the end of “Responsibilities”".
    pub label: Option<String>,
    /// The anchor of the section an operation works on.
    pub anchor: Option<String>,
    /// The condition that kept this content, e.g. "Only for market EU".
    pub condition: Option<String>,
    /// The "not applicable at this site" notice of a removed section.
    pub notice: bool,
    #[serde(serialize_with = "super::markdown::html_or_digest")]
    pub html: std::sync::Arc<super::markdown::PieceHtml>,
    /// For a `replace` or `remove`: the global text the site took out, as HTML.
    pub replaced_html: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TocView {
    pub level: u8,
    pub text: String,
    pub anchor: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LinkView {
    pub id: String,
    pub title: String,
    pub href: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PageView {
    pub book: BookView,
    pub site: SiteView,
    pub build: BuildView,
    pub doc: DocView,
    pub adaptation: Option<AdaptationView>,
    pub toc: Vec<TocView>,
    pub body: Vec<PieceView>,
    pub referenced_by: Vec<LinkView>,
    pub portal_href: String,
    /// Navigation between the documents of this site version.
    pub nav: NavView,
    /// What every printed page of the document carries in its margins.
    pub print: PrintStampView,
    /// The page shows the newest changes only; the others are on this page.
    pub full_history: Option<FullHistoryLink>,
}

/// Where a document's whole revision history is, when its page shows part of it.
#[derive(Debug, Clone, Serialize)]
pub struct FullHistoryLink {
    /// `<ID>.history.html`.
    pub href: String,
    /// Changes the page shows, newest first, and changes in all.
    pub shown: usize,
    pub total: usize,
}

/// `<ID>.history.html`: every change of a document whose page shows the newest only.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryPageView<'a> {
    pub book: BookView,
    pub site: &'a SiteView,
    pub build: &'a BuildView,
    pub id: &'a str,
    pub title: &'a str,
    /// The document folds in a site addendum: each change names the file it changed.
    pub adapted: bool,
    /// Newest first.
    pub history: &'a [HistoryRow],
    pub portal_href: &'static str,
}

/// The control stamp of a printed document page, as plain text (templates write it into
/// CSS strings with the `css_string` filter). The print date and time, and the address
/// the page was opened from, are only known when it is printed: the page's script adds
/// them, and without script the stamp keeps a blank for the date and `address`.
#[derive(Debug, Clone, Serialize)]
pub struct PrintStampView {
    /// "SOP-0020 · Rev. 3 + site 1 · Effective 2026-03-01".
    pub document: String,
    /// "CONFIDENTIAL", "DRAFT", both joined by " · ", or empty.
    pub marks: String,
    /// "Cork (IE) · Version 2026.1", or "… · Uncontrolled preview".
    pub site: String,
    /// "Uncontrolled when printed".
    pub uncontrolled: String,
    /// Where the controlled copy is published, relative to the output root:
    /// "cork/2026.1/SOP-0020.html".
    pub address: String,
}

/// A version as the portal and a site's versions page link it.
#[derive(Debug, Clone, Serialize)]
pub struct VersionLink {
    pub version: String,
    /// The version's as-of date.
    pub date: Option<String>,
    pub commit_short: Option<String>,
    pub dirty: bool,
    pub href: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PortalSite {
    pub id: String,
    pub name: String,
    pub markets: Vec<String>,
    /// The newest released version, linked through `latest/`.
    pub current: Option<VersionLink>,
    /// The site's versions page.
    pub versions_href: String,
    /// Previews and other unreleased builds, listed apart as uncontrolled.
    pub unreleased: Vec<VersionLink>,
}

/// What the report across sites was built from.
#[derive(Debug, Clone, Serialize)]
pub struct ReportLink {
    pub href: String,
    pub preview: bool,
    pub version: String,
    pub commit_short: Option<String>,
    pub dirty: bool,
    pub as_of: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PortalView {
    pub book: BookView,
    /// The theme's style.css, inlined: the portal sits outside every version folder.
    pub css: String,
    pub sites: Vec<PortalSite>,
    /// How many unreleased builds the sites list, shown apart.
    pub previews: usize,
    pub report: Option<ReportLink>,
    pub build: BuildView,
}

/// A release tag recorded in book.toml as never to be published.
#[derive(Debug, Clone, Serialize)]
pub struct WithdrawnView {
    pub tag: String,
    pub reason: String,
}

/// `<site>/index.html`: every version of one site.
#[derive(Debug, Clone, Serialize)]
pub struct VersionsView {
    pub book: BookView,
    pub css: String,
    pub site: SiteView,
    /// Newest first; the first is current.
    pub releases: Vec<VersionLink>,
    pub unreleased: Vec<VersionLink>,
    pub withdrawn: Vec<WithdrawnView>,
    pub build: BuildView,
    pub portal_href: String,
}

/// One document in `history.json` (see `record`).
#[derive(Debug, Clone, Serialize)]
pub struct DocRecord {
    #[serde(flatten)]
    pub doc: DocView,
    pub adaptation: Option<AdaptationView>,
}

/// `<ID>.diff.html`: a document at this site against the global text.
#[derive(Debug, Clone, Serialize)]
pub struct DiffView {
    pub book: BookView,
    pub site: SiteView,
    pub build: BuildView,
    pub id: String,
    pub title: String,
    /// The site publishes the global text unchanged.
    pub identical: bool,
    /// A document of this site only: there is no global text.
    pub site_only: bool,
    pub rationale: Option<String>,
    /// The site's text as it reads, what differs from global marked.
    pub redline: String,
    pub redline_stats: crate::redline::Stats,
    /// The Markdown source diff, one click away from the redline.
    pub hunks: Vec<crate::diff::Hunk>,
    pub portal_href: String,
}

/// `harmonization.html`: one site's row data, or (at the output root) every site's.
#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    pub book: BookView,
    /// The site of a per-site page; None for the report across sites.
    pub site: Option<SiteView>,
    pub build: BuildView,
    pub report: crate::report::Report,
    pub portal_href: String,
    /// Small inline SVG charts of scores over releases (their title says the numbers).
    pub charts: Vec<ChartView>,
    /// On a site's page: the site's own trend against the network's medians.
    pub site_trend: Vec<crate::network::SiteTrendRow>,
}

/// One inline SVG chart and whom it is about.
#[derive(Debug, Clone, Serialize)]
pub struct ChartView {
    pub name: String,
    pub svg: String,
}

/// A change-control record named by a `Change-Control:` trailer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangeControlView {
    pub id: String,
    /// Its address, from `[build] change-control-url`.
    pub href: Option<String>,
}

/// A revision people must be trained on, for a training system to import.
#[derive(Debug, Clone, Serialize)]
pub struct TrainingNeed {
    pub id: String,
    pub title: String,
    pub revision: Option<u32>,
    pub effective: Option<String>,
    pub audience: Vec<String>,
    pub due_days: Option<u32>,
    /// The effective date plus `due-days`.
    pub due: Option<String>,
    pub href: String,
}

/// A document added, revised or withdrawn since the previous published version,
/// with its redline for the page.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeEntry {
    #[serde(flatten)]
    pub facts: ChangeFacts,
    pub redline_html: String,
    pub hunks: Vec<crate::diff::Hunk>,
}

/// What `changes.json` says of a document added, revised or withdrawn.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeFacts {
    pub id: String,
    pub title: String,
    #[serde(rename = "type")]
    pub doc_type: String,
    /// Its page in this version (None when withdrawn).
    pub href: Option<String>,
    pub from_revision: Option<u32>,
    pub to_revision: Option<u32>,
    /// The site addendum's revisions, for an adapted document.
    pub from_site_revision: Option<u32>,
    pub to_site_revision: Option<u32>,
    pub effective: Option<String>,
    /// Why a document is no longer published.
    pub reason: Option<String>,
    /// The commits since the previous version, newest first.
    pub commits: Vec<HistoryRow>,
    /// Their `Change-Reason:` trailers, in commit order, without repeats.
    pub change_reasons: Vec<String>,
    pub change_controls: Vec<ChangeControlView>,
    /// The approvals of the revision published.
    pub approvals: Vec<ApprovalView>,
    pub redline: Option<crate::redline::Stats>,
}

/// `changes.html`: what changed at this site since the previous published version.
#[derive(Debug, Clone, Serialize)]
pub struct ChangesView {
    pub book: BookView,
    pub site: SiteView,
    pub build: BuildView,
    /// The previous published version, when there is one.
    pub previous: Option<String>,
    pub added: Vec<ChangeEntry>,
    pub revised: Vec<ChangeEntry>,
    pub withdrawn: Vec<ChangeEntry>,
    /// Adapted documents whose addendum lags behind a newer global revision.
    pub stale_adaptations: Vec<LinkView>,
    pub training: Vec<TrainingNeed>,
    pub portal_href: String,
}

/// `changes.json`: the same facts as `changes.html`, for other systems to import
/// (its schema is in docs/changes.schema.json).
#[derive(Debug, Clone, Serialize)]
pub struct ChangesRecord<'a> {
    pub format: &'static str,
    pub site: &'a SiteView,
    pub version: &'a str,
    pub previous: Option<&'a str>,
    pub commit: Option<&'a str>,
    pub as_of: Option<&'a str>,
    pub added: Vec<&'a ChangeFacts>,
    pub revised: Vec<&'a ChangeFacts>,
    pub withdrawn: Vec<&'a ChangeFacts>,
    pub stale_adaptations: &'a [LinkView],
    pub training: &'a [TrainingNeed],
}

/// A document in the navigation of a document page.
#[derive(Debug, Clone, Serialize)]
pub struct NavItem {
    pub id: String,
    /// The title, shortened for the sidebar.
    pub title: String,
    pub href: String,
    /// The page this navigation is on.
    pub current: bool,
}

/// A type of document in the navigation: listed, or a link to its group of the index.
#[derive(Debug, Clone, Serialize)]
pub struct NavGroup {
    pub code: String,
    pub title: String,
    /// Documents of this type at this site.
    pub count: usize,
    /// The type's group on the site's index.
    pub href: String,
    /// The type of the current document: listed and open.
    pub current: bool,
    /// The documents listed: all of a small type, a window around the current document
    /// in a large one, none for another type when the site is large (then `href` only).
    pub items: Vec<NavItem>,
    /// Documents of the type before and after the listed window.
    pub more_before: usize,
    pub more_after: usize,
}

/// The navigation of a document page between the site version's documents.
#[derive(Debug, Clone, Serialize)]
pub struct NavView {
    pub groups: Vec<NavGroup>,
    /// The documents before and after this one within its type.
    pub prev: Option<NavItem>,
    pub next: Option<NavItem>,
    /// This document's place in its type, from 1, and the type's title.
    pub position: usize,
    pub type_title: String,
    pub type_count: usize,
}

//! Which documents a site gets, and the checks that span the whole repository.

use std::collections::BTreeMap;

use crate::config::{Config, SiteConfig};
use crate::diag::{did_you_mean, Code, Diagnostic, Diagnostics};
use crate::model::Status;
use crate::parse::{Addendum, Corpus, Document};

/// A document left out of a site, and why.
#[derive(Debug, Clone)]
pub struct Omitted<'a> {
    pub doc: &'a Document,
    pub reason: String,
    /// True for `exclude` in book.toml, false for documents outside the site's markets.
    pub excluded: bool,
}

/// What one site publishes.
#[derive(Debug, Clone)]
pub struct SitePlan<'a> {
    pub id: &'a str,
    pub config: &'a SiteConfig,
    /// Documents in id order, each with the site's addendum if it has one.
    pub docs: Vec<(&'a Document, Option<&'a Addendum>)>,
    pub omitted: Vec<Omitted<'a>>,
    /// Drafts and documents in review, which a release does not publish.
    pub unreleased: Vec<&'a Document>,
    /// Obsolete documents of this site: listed, never published as current.
    pub obsolete: Vec<&'a Document>,
    /// External documents the register lists for other sites only.
    pub other_sites: Vec<&'a Document>,
}

/// Repository-wide rules: unique ids, addenda naming real documents, one addendum
/// per document and site, excludes naming real documents, type rules. Returns false
/// when ids clash: links would then reach the wrong document, so the build stops
/// before composing rather than report their follow-on errors.
pub fn validate(corpus: &Corpus, config: &Config, release: bool, diags: &mut Diagnostics) -> bool {
    let mut ids_unique = true;
    let mut ids: BTreeMap<&str, &Document> = BTreeMap::new();
    for doc in &corpus.documents {
        if let Some(first) = ids.insert(&doc.meta.id, doc) {
            ids_unique = false;
            diags.push(
                Diagnostic::error(
                    Code::DuplicateId,
                    &*doc.path,
                    doc.line("id"),
                    format!(
                        "id {} is already used by {}",
                        doc.meta.id,
                        crate::diag::display_path(&first.path)
                    ),
                )
                .help("every document id must be unique across global and site documents"),
            );
        }
    }
    check_page_names(corpus, diags);
    for doc in &corpus.documents {
        for former in &doc.meta.former_ids {
            if ids.contains_key(former.as_str()) {
                ids_unique = false;
                diags.push(
                    Diagnostic::error(
                        Code::FormerId,
                        &*doc.path,
                        doc.line("former-ids"),
                        format!("former id {former} is the id of a current document"),
                    )
                    .help("an id in use cannot also be a former id: remove it from former-ids"),
                );
            }
        }
        for s in &doc.meta.supersedes {
            match ids.get(s.as_str()) {
                None => diags.push(Diagnostic::warning(
                    Code::SupersedesUnknown,
                    &*doc.path,
                    doc.line("supersedes"),
                    format!("supersedes {s}, which is not in the repository"),
                )),
                // A successor in preparation may name a document still in force;
                // once the successor is approved, the old one must be obsolete.
                Some(old)
                    if doc.meta.status == Status::Approved
                        && old.meta.status != Status::Obsolete =>
                {
                    diags.push(
                        Diagnostic::error(
                            Code::Supersedes,
                            &*doc.path,
                            doc.line("supersedes"),
                            format!(
                                "supersedes {s}, which is {}, not obsolete",
                                old.meta.status.as_str()
                            ),
                        )
                        .help(format!(
                            "set `status: obsolete` in {}",
                            crate::diag::display_path(&old.path)
                        )),
                    )
                }
                Some(_) => {}
            }
        }
        if let Some(m) = &doc.meta.markets {
            let known = config.known_markets();
            for market in m {
                if !known.contains(&market.as_str()) {
                    diags.push(
                        Diagnostic::error(
                            Code::UnknownMarket,
                            &*doc.path,
                            doc.line("markets"),
                            format!(
                                "unknown market '{market}'{}",
                                did_you_mean(market, known.iter().copied())
                            ),
                        )
                        .help(format!(
                            "markets served by the sites in book.toml: {}",
                            known.join(", ")
                        )),
                    );
                }
            }
        }
        check_type_rules(doc, config, release, diags);
        check_external_sites(doc, config, diags);
        check_meanings(
            &doc.path,
            doc.line("approvals"),
            &doc.meta.approvals,
            config,
            diags,
        );
    }
    let mut seen: BTreeMap<(&str, &str), &Addendum> = BTreeMap::new();
    for add in &corpus.addenda {
        check_meanings(
            &add.path,
            add.target_line,
            &add.meta.approvals,
            config,
            diags,
        );
        let target = add.meta.addendum_to.as_str();
        match ids.get(target) {
            None if corpus.unreadable_ids.iter().any(|u| u == target) => {}
            None => diags.push(
                Diagnostic::error(
                    Code::AddendumTarget,
                    &*add.path,
                    add.target_line,
                    format!(
                        "addendum-to names {target}, which is not a global document{}",
                        did_you_mean(target, ids.keys().copied())
                    ),
                )
                .help("name the id of a document in procedures/global/"),
            ),
            Some(doc) if doc.site.is_some() => diags.push(
                Diagnostic::error(
                    Code::AddendumTarget,
                    &*add.path,
                    add.target_line,
                    format!("{target} is a site-only document; addenda adapt global documents"),
                )
                .help(format!(
                    "edit {} directly",
                    crate::diag::display_path(&doc.path)
                )),
            ),
            Some(_) => {}
        }
        if let Some(first) = seen.insert((&add.site, target), add) {
            diags.push(
                Diagnostic::error(
                    Code::AddendumTarget,
                    &*add.path,
                    add.target_line,
                    format!(
                        "site {} already has an addendum to {target}: {}",
                        add.site,
                        crate::diag::display_path(&first.path)
                    ),
                )
                .help("merge the two addenda into one file"),
            );
        }
    }
    check_retention_types(corpus, config, diags);
    for (site_id, site) in &config.site {
        for doc_id in site.exclude.keys() {
            let global = ids.get(doc_id.as_str()).filter(|d| d.site.is_none());
            if global.is_none() && !corpus.unreadable_ids.contains(doc_id) {
                diags.push(
                    Diagnostic::error(
                        Code::Exclusion,
                        crate::config::CONFIG_FILE,
                        config.line_of_in_table(&format!("[site.{site_id}]"), doc_id),
                        format!(
                            "site {site_id} excludes {doc_id}, which is not a global document{}",
                            did_you_mean(doc_id, ids.keys().copied())
                        ),
                    )
                    .help("name the id of a document in procedures/global/"),
                );
            }
        }
    }
    ids_unique
}

/// A `[retention.<type>]` names a type `[types]` configures or a document has, so a
/// misspelt type cannot leave the documents of the real one without their period.
fn check_retention_types(corpus: &Corpus, config: &Config, diags: &mut Diagnostics) {
    let mut known: Vec<&str> = corpus
        .documents
        .iter()
        .map(|d| d.meta.doc_type.as_str())
        .chain(config.types.keys().map(String::as_str))
        .collect();
    known.sort();
    known.dedup();
    for ty in config.retention.keys() {
        if known.contains(&ty.as_str()) {
            continue;
        }
        let line = match config.line_of(&format!("[retention.{ty}]")) {
            0 => config.line_of_in_table("[retention]", ty),
            n => n,
        };
        diags.push(
            Diagnostic::error(
                Code::Config,
                crate::config::CONFIG_FILE,
                line,
                format!(
                    "retention for type '{ty}', which no document has and [types] does not configure{}",
                    did_you_mean(ty, known.iter().copied())
                ),
            )
            .help(format!("document types: {}", known.join(", "))),
        );
    }
}

/// The `sites` of an external document name configured sites, and only a global
/// entry has them (a site's own entry is that site's).
fn check_external_sites(doc: &Document, config: &Config, diags: &mut Diagnostics) {
    let Some(ext) = &doc.meta.external else {
        return;
    };
    if let (Some(site), false) = (&doc.site, ext.sites.is_empty()) {
        diags.push(
            Diagnostic::error(
                Code::FrontMatter,
                &*doc.path,
                doc.line("sites"),
                format!("an external document of site {site} cannot list sites"),
            )
            .help("remove `sites:`, or move the entry to procedures/global/ to share it between sites"),
        );
    }
    for s in &ext.sites {
        if !config.site.contains_key(s) {
            diags.push(
                Diagnostic::error(
                    Code::FrontMatter,
                    &*doc.path,
                    doc.line("sites"),
                    format!(
                        "unknown site '{s}' in sites{}",
                        did_you_mean(s, config.site.keys().map(String::as_str))
                    ),
                )
                .help(format!(
                    "sites in book.toml: {}",
                    config.site.keys().cloned().collect::<Vec<_>>().join(", ")
                )),
            );
        }
    }
}

/// Every document becomes `<id>.html`: an id may not take a generated page's name,
/// and two ids may not differ only by case (they collide on Windows and macOS shares).
fn check_page_names(corpus: &Corpus, diags: &mut Diagnostics) {
    let mut by_folded: BTreeMap<String, &Document> = BTreeMap::new();
    for doc in &corpus.documents {
        let id = doc.meta.id.as_str();
        if let Some(why) = crate::layout::reserved_doc_id(id) {
            diags.push(
                Diagnostic::error(
                    Code::InvalidId,
                    &*doc.path,
                    doc.line("id"),
                    format!("id {id} cannot be published: {why}"),
                )
                .help("choose another id, e.g. SOP-0100"),
            );
        }
        if let Some(other) = by_folded.insert(id.to_lowercase(), doc) {
            if other.meta.id != doc.meta.id {
                diags.push(
                    Diagnostic::error(
                        Code::InvalidId,
                        &*doc.path,
                        doc.line("id"),
                        format!(
                            "id {id} differs only by case from {} in {}",
                            other.meta.id,
                            crate::diag::display_path(&other.path)
                        ),
                    )
                    .help(
                        "their pages would be one file on Windows and macOS; renumber one of them",
                    ),
                );
            }
        }
    }
}

fn check_meanings(
    path: &std::path::Path,
    line: usize,
    approvals: &[crate::model::Approval],
    config: &Config,
    diags: &mut Diagnostics,
) {
    let known = &config.book.approval_meanings;
    for a in approvals {
        if !known.contains(&a.meaning) {
            diags.push(
                Diagnostic::error(
                    Code::Approval,
                    path,
                    line,
                    format!(
                        "the approval by {} has the meaning '{}'{}",
                        a.name,
                        a.meaning,
                        did_you_mean(&a.meaning, known.iter().map(String::as_str))
                    ),
                )
                .help(format!(
                    "meanings are: {} ([book] approval-meanings in book.toml)",
                    known.join(", ")
                )),
            );
        }
    }
}

/// Months from `a` to `b`, counting a started month as whole.
fn months_between(a: crate::model::Date, b: crate::model::Date) -> i64 {
    let (a, b) = (a.0, b.0);
    let months = (i64::from(b.year()) - i64::from(a.year())) * 12 + i64::from(b.month() as u8)
        - i64::from(a.month() as u8);
    if b.day() > a.day() {
        months + 1
    } else {
        months
    }
}

fn check_type_rules(doc: &Document, config: &Config, release: bool, diags: &mut Diagnostics) {
    let Some(ty) = config.types.get(&doc.meta.doc_type) else {
        if !config.types.is_empty() && !doc.meta.is_external() {
            diags.push(
                Diagnostic::release_error(
                    release,
                    Code::UnknownType,
                    &*doc.path,
                    doc.line("type"),
                    format!(
                        "type '{}' has no [types.{}] in book.toml{}",
                        doc.meta.doc_type,
                        doc.meta.doc_type,
                        did_you_mean(&doc.meta.doc_type, config.types.keys().map(String::as_str))
                    ),
                )
                .help("set `type:` to a configured type, or add the type to book.toml"),
            );
        }
        return;
    };
    if let Some(pattern) = &ty.id_pattern {
        if let Ok(re) = regex::Regex::new(pattern) {
            if !re.is_match(&doc.meta.id) {
                diags.push(
                    Diagnostic::error(
                        Code::TypeRules,
                        &*doc.path,
                        doc.line("id"),
                        format!(
                            "id {} does not match the id-pattern of type {}: {pattern}",
                            doc.meta.id, doc.meta.doc_type
                        ),
                    )
                    .help("renumber the document, or fix [types] in book.toml"),
                );
            }
        }
    }
    if let (Some(interval), Some(eff), Some(due)) = (
        ty.review_interval_months,
        doc.meta.effective,
        doc.meta.review_due,
    ) {
        if months_between(eff, due) > i64::from(interval) {
            diags.push(
                Diagnostic::warning(Code::ReviewInterval,
                    &*doc.path,
                    doc.line("review-due"),
                    format!(
                        "review-due {due} is more than {interval} months after effective {eff}"
                    ),
                )
                .help(format!(
                    "[types.{}] review-interval-months is {interval}; bring the review date forward",
                    doc.meta.doc_type
                )),
            );
        }
    }
    if doc.meta.status == Status::Approved {
        // In a release with a registry, a role typed in YAML counts only when the
        // registry gives that person the role (on the date, for the site).
        let confirmed = |a: &crate::model::Approval| {
            !release
                || config.approvers.is_empty()
                || crate::release::authority_problem(config, a, doc.site.as_deref()).is_none()
        };
        for role in &ty.approval_roles {
            let claims: Vec<&crate::model::Approval> = doc
                .meta
                .approvals
                .iter()
                .filter(|a| &a.role == role && a.meaning == "approved")
                .collect();
            if !claims.iter().any(|a| confirmed(a)) {
                let unconfirmed = match claims.first() {
                    Some(a) => format!(
                        " (the approval by {} claims it, but [approvers] does not confirm it)",
                        a.name
                    ),
                    None => String::new(),
                };
                diags.push(
                    Diagnostic::error(Code::MissingApproval, &*doc.path, doc.line("approvals").max(doc.line("status")), format!("an approved {} needs an approval by the role '{role}'{unconfirmed}", doc.meta.doc_type))
                        .help(format!("add an approval with `role: {role}` by a person the registry gives that role (required by [types.{}] approval-roles)", doc.meta.doc_type)),
                );
            }
        }
    }
}

/// Approved documents whose periodic review was due before the as-of date.
pub fn check_reviews(corpus: &Corpus, as_of: crate::model::Date, diags: &mut Diagnostics) {
    for d in &corpus.documents {
        if let (Status::Approved, Some(due)) = (d.meta.status, d.meta.review_due) {
            if due < as_of {
                diags.push(
                    Diagnostic::warning(
                        Code::ReviewOverdue,
                        &*d.path,
                        d.line("review-due"),
                        format!("periodic review overdue: due {due}, as of {as_of}"),
                    )
                    .help("review the document and record the new review-due date"),
                );
            }
        }
    }
}

/// The documents a site publishes, and those it leaves out with the reason.
pub fn plan<'a>(
    corpus: &'a Corpus,
    in_force: &'a crate::inforce::InForceMap,
    config: &'a Config,
    site_id: &'a str,
    release: bool,
    diags: &mut Diagnostics,
) -> SitePlan<'a> {
    let site = &config.site[site_id];
    let mut addenda: BTreeMap<&str, &Addendum> = BTreeMap::new();
    for add in corpus.addenda.iter().filter(|a| a.site == site_id) {
        let empty = add
            .body
            .iter()
            .all(|n| matches!(n, crate::parse::blocks::Node::Line(l) if l.text.trim().is_empty()));
        if empty {
            // Nothing to adapt: the page must not be badged "adapted at this site".
            diags.push(
                Diagnostic::warning(
                    Code::AddendumNotApplied,
                    &*add.path,
                    add.target_line,
                    format!(
                        "this addendum changes nothing, so {} is published as the global text",
                        add.meta.addendum_to
                    ),
                )
                .help("add an operation such as `::: append #<anchor>`, or delete the file"),
            );
            continue;
        }
        if release && add.meta.status != Status::Approved {
            // Not in force: the site follows the global text until it is approved.
            diags.push(
                Diagnostic::warning(
                    Code::AddendumNotApplied,
                    &*add.path,
                    add.target_line,
                    format!(
                        "this addendum is {}, so the release publishes {} without it",
                        add.meta.status.as_str(),
                        add.meta.addendum_to
                    ),
                )
                .help("approve the addendum to publish the site's adaptation"),
            );
            continue;
        }
        addenda.entry(&add.meta.addendum_to).or_insert(add);
    }
    let mut docs = Vec::new();
    let mut omitted = Vec::new();
    let mut unreleased = Vec::new();
    let mut obsolete = Vec::new();
    let mut other_sites = Vec::new();
    let mut sorted: Vec<&Document> = in_force.documents(corpus).collect();
    sorted.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));
    for doc in sorted {
        if in_force.not_yet(&doc.path)
            || release && matches!(doc.meta.status, Status::Draft | Status::InReview)
        {
            unreleased.push(doc);
            continue;
        }
        match &doc.site {
            Some(s) if s != site_id => continue,
            Some(_) if doc.meta.status == Status::Obsolete => {
                obsolete.push(doc);
                continue;
            }
            Some(_) => {
                docs.push((doc, None));
                continue;
            }
            None => {}
        }
        if doc
            .meta
            .external
            .as_ref()
            .is_some_and(|e| !e.sites.is_empty() && !e.sites.iter().any(|s| s == site_id))
        {
            other_sites.push(doc);
            continue;
        }
        let addendum = addenda.get(doc.meta.id.as_str()).copied();
        let reason = if let Some(reason) = site.exclude.get(&doc.meta.id) {
            Some((reason.clone(), true))
        } else {
            doc.meta
                .markets
                .as_ref()
                .filter(|m| !m.iter().any(|x| site.markets.contains(x)))
                .map(|m| {
                    (
                        format!(
                            "applies to markets {}; this site serves {}",
                            m.join(", "),
                            if site.markets.is_empty() {
                                "none".into()
                            } else {
                                site.markets.join(", ")
                            }
                        ),
                        false,
                    )
                })
        };
        match reason {
            Some((reason, excluded)) => {
                if let Some(add) = addendum {
                    diags.push(
                        Diagnostic::error(Code::AddendumTarget, &*add.path, add.target_line, format!("{} is not published at site {site_id} ({reason}), so it cannot be adapted", doc.meta.id))
                            .help("delete the addendum, or stop excluding the document for this site"),
                    );
                }
                omitted.push(Omitted {
                    doc,
                    reason,
                    excluded,
                });
            }
            None if doc.meta.status == Status::Obsolete => {
                if let Some(add) = addendum {
                    diags.push(
                        Diagnostic::warning(
                            Code::AddendumNotApplied,
                            &*add.path,
                            add.target_line,
                            format!(
                                "{} is obsolete, so this addendum is not applied",
                                doc.meta.id
                            ),
                        )
                        .help("delete the addendum, or adapt the document that supersedes it"),
                    );
                }
                obsolete.push(doc);
            }
            None => docs.push((doc, addendum)),
        }
    }
    SitePlan {
        id: site_id,
        config: site,
        docs,
        omitted,
        unreleased,
        obsolete,
        other_sites,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inforce::InForceMap;
    use crate::testkit::{corpus, doc, BOOK};

    #[test]
    fn a_site_gets_its_markets_documents_and_leaves_out_the_rest_with_reasons() {
        let book = format!("{BOOK}exclude = {{ SOP-3 = \"Not done at Boston\" }}\n");
        let (config, corpus) = corpus(
            &book,
            &[
                ("procedures/global/1.md", &doc("SOP-1", "", "Body.\n")),
                (
                    "procedures/global/2.md",
                    &doc("SOP-2", "markets: [EU]\n", "Body.\n"),
                ),
                ("procedures/global/3.md", &doc("SOP-3", "", "Body.\n")),
                (
                    "procedures/global/4.md",
                    "---\nid: SOP-4\ntitle: Draft\nstatus: draft\n---\nBody.\n",
                ),
                (
                    "procedures/sites/cork/wi.md",
                    "---\nid: WI-CORK-1\ntitle: Cork only\nstatus: draft\n---\nBody.\n",
                ),
            ],
        );
        let none = InForceMap::default();
        let mut d = Diagnostics::new();
        let ids = |p: &SitePlan| {
            p.docs
                .iter()
                .map(|(d, _)| d.meta.id.clone())
                .collect::<Vec<_>>()
        };
        let boston = plan(&corpus, &none, &config, "boston", false, &mut d);
        assert_eq!(ids(&boston), ["SOP-1", "SOP-4"]);
        let omitted: Vec<(&str, &str, bool)> = boston
            .omitted
            .iter()
            .map(|o| (o.doc.meta.id.as_str(), o.reason.as_str(), o.excluded))
            .collect();
        assert_eq!(
            omitted,
            [
                (
                    "SOP-2",
                    "applies to markets EU; this site serves FDA",
                    false
                ),
                ("SOP-3", "Not done at Boston", true)
            ]
        );
        let cork = plan(&corpus, &none, &config, "cork", false, &mut d);
        assert_eq!(
            ids(&cork),
            ["SOP-1", "SOP-2", "SOP-3", "SOP-4", "WI-CORK-1"]
        );
        // A release leaves drafts out.
        let released = plan(&corpus, &none, &config, "cork", true, &mut d);
        assert_eq!(ids(&released), ["SOP-1", "SOP-2", "SOP-3"]);
        assert_eq!(released.unreleased.len(), 2);
        assert!(!d.has_errors());
    }
}

//! What changed at a site since its previous published version: the documents
//! added, revised and withdrawn, with revisions, commits, reasons, change-control
//! records, approvals and redlines, and the revisions that need training. One view
//! feeds both `changes.html` and `changes.json`.

use std::collections::BTreeMap;

use super::context::*;
use crate::compose::SiteDoc;
use crate::config::Config;
use crate::report::{DocText, SiteCells};
use crate::site::SitePlan;

/// The `Change-Control:` ids of a commit's trailers (a trailer may list several,
/// separated by commas or spaces), linked when the book gives an address.
pub fn change_controls(trailers: &[(String, String)], config: &Config) -> Vec<ChangeControlView> {
    let mut out: Vec<ChangeControlView> = Vec::new();
    for (k, v) in trailers {
        if !k.eq_ignore_ascii_case("Change-Control") {
            continue;
        }
        for id in v.split([',', ' ', '\t']).filter(|s| !s.is_empty()) {
            let view = ChangeControlView {
                id: id.to_string(),
                href: config.change_control_href(id),
            };
            if !out.contains(&view) {
                out.push(view);
            }
        }
    }
    out
}

/// The rows of `history` (newest first) from the commit `to` down to the commit
/// `from`, which is left out: the commits that made the change between two versions.
/// A bound that is not in the history (or None) does not limit.
fn commits_between(
    history: &[HistoryRow],
    from: Option<&str>,
    to: Option<&str>,
) -> Vec<HistoryRow> {
    let start = to
        .and_then(|c| history.iter().position(|r| r.commit == c))
        .unwrap_or(0);
    history[start..]
        .iter()
        .take_while(|r| from.is_none_or(|f| r.commit != f))
        .cloned()
        .collect()
}

fn reasons_and_controls(commits: &[HistoryRow]) -> (Vec<String>, Vec<ChangeControlView>) {
    let mut reasons: Vec<String> = Vec::new();
    let mut controls: Vec<ChangeControlView> = Vec::new();
    for r in commits.iter().rev() {
        for t in &r.trailers {
            if let Some((k, v)) = t.split_once(": ") {
                if k.eq_ignore_ascii_case("Change-Reason") && !reasons.iter().any(|x| x == v) {
                    reasons.push(v.to_string());
                }
            }
        }
        for c in &r.change_controls {
            if !controls.contains(c) {
                controls.push(c.clone());
            }
        }
    }
    (reasons, controls)
}

fn training_need(sd: &SiteDoc, doc: &DocView) -> Option<TrainingNeed> {
    let t = sd.doc.meta.training.as_ref().filter(|t| t.required)?;
    let due = match (sd.doc.meta.effective, t.due_days) {
        (Some(e), Some(days)) => {
            e.0.checked_add(time::Duration::days(i64::from(days)))
                .map(|d| crate::model::Date(d).to_string())
        }
        _ => None,
    };
    Some(TrainingNeed {
        id: doc.id.clone(),
        title: doc.title.clone(),
        revision: doc.revision,
        effective: doc.effective.clone(),
        audience: t.audience.clone(),
        due_days: t.due_days,
        due,
        href: format!("{}.html", doc.id),
    })
}

/// Why a document of the previous version is not in this one.
fn withdrawn_reason(id: &str, plan: &SitePlan, site_docs: &[SiteDoc]) -> String {
    if let Some(d) = plan.obsolete.iter().find(|d| d.meta.id == id) {
        let by = super::superseded_by(d, site_docs);
        return match &d.meta.obsolete {
            Some(o) => format!("Obsolete: {by} on {}: {}", o.date, o.reason.trim()),
            None => format!("Obsolete: {by}"),
        };
    }
    if let Some(o) = plan.omitted.iter().find(|o| o.doc.meta.id == id) {
        return format!("Not published at this site: {}", o.reason);
    }
    if let Some(d) = plan.unreleased.iter().find(|d| d.meta.id == id) {
        return format!("Not in force: {}", d.meta.status.as_str());
    }
    "No longer in the repository".into()
}

pub struct Input<'a> {
    pub previous: Option<(&'a str, &'a BTreeMap<String, DocText>)>,
    pub cells: &'a SiteCells,
    pub records: &'a [DocRecord],
    pub plan: &'a SitePlan<'a>,
    pub site_docs: &'a [SiteDoc<'a>],
    /// The history of a document the site no longer publishes, by id.
    pub history_of: &'a dyn Fn(&str) -> Vec<HistoryRow>,
}

/// The changes of a site version: empty lists but the training needs of every
/// document when there is no previous version (everything is new to its readers).
pub fn view(input: &Input, config: &Config, site: &SiteView, build: &BuildView) -> ChangesView {
    let mut view = ChangesView {
        book: super::book_view(config),
        site: site.clone(),
        build: build.clone(),
        previous: input.previous.map(|(v, _)| v.to_string()),
        added: Vec::new(),
        revised: Vec::new(),
        withdrawn: Vec::new(),
        stale_adaptations: input
            .cells
            .cells
            .iter()
            .filter(|c| c.stale)
            .map(|c| LinkView {
                id: c.doc.clone(),
                title: input
                    .cells
                    .texts
                    .get(&c.doc)
                    .map(|t| t.title.clone())
                    .unwrap_or_default(),
                href: format!("{}.html", c.doc),
            })
            .collect(),
        training: Vec::new(),
        portal_href: "../../index.html".into(),
    };
    let by_id: BTreeMap<&str, (&SiteDoc, &DocRecord)> = input
        .site_docs
        .iter()
        .zip(input.records)
        .map(|(sd, r)| (sd.doc.meta.id.as_str(), (sd, r)))
        .collect();
    for (id, (sd, record)) in &by_id {
        let doc = &record.doc;
        let Some(now) = input.cells.texts.get(*id) else {
            continue;
        };
        let Some((_, before)) = input.previous else {
            view.training.extend(training_need(sd, doc));
            continue;
        };
        let old = before.get(*id);
        if let Some(o) = old {
            if o.markdown == now.markdown
                && o.revision == now.revision
                && o.site_revision == now.site_revision
            {
                continue;
            }
        }
        let commits = commits_between(
            &doc.history,
            old.and_then(|o| o.last_commit.as_deref()),
            now.last_commit.as_deref(),
        );
        let (change_reasons, change_controls) = reasons_and_controls(&commits);
        let redline = old
            .filter(|o| o.markdown != now.markdown)
            .map(|o| crate::redline::redline(&o.markdown, &now.markdown));
        let mut approvals = doc.approvals.clone();
        if let Some(a) = &record.adaptation {
            approvals.extend(a.approvals.iter().cloned());
        }
        let facts = ChangeFacts {
            id: id.to_string(),
            title: doc.title.clone(),
            doc_type: doc.doc_type.clone(),
            href: Some(format!("{id}.html")),
            from_revision: old.and_then(|o| o.revision),
            to_revision: doc.revision,
            from_site_revision: old.and_then(|o| o.site_revision),
            to_site_revision: doc.site_revision,
            effective: doc.effective.clone(),
            reason: None,
            commits,
            change_reasons,
            change_controls,
            approvals,
            redline: redline.as_ref().map(|r| r.stats),
        };
        let entry = ChangeEntry {
            facts,
            redline_html: redline.map(|r| r.html).unwrap_or_default(),
            hunks: old
                .filter(|o| o.markdown != now.markdown)
                .map(|o| crate::diff::labelled_hunks(&o.markdown, &now.markdown, &[]))
                .unwrap_or_default(),
        };
        view.training.extend(training_need(sd, doc));
        if old.is_some() {
            view.revised.push(entry);
        } else {
            view.added.push(entry);
        }
    }
    if let Some((_, before)) = input.previous {
        for (id, o) in before
            .iter()
            .filter(|(id, _)| !by_id.contains_key(id.as_str()))
        {
            let commits = commits_between(&(input.history_of)(id), o.last_commit.as_deref(), None);
            let (change_reasons, change_controls) = reasons_and_controls(&commits);
            view.withdrawn.push(ChangeEntry {
                facts: ChangeFacts {
                    id: id.clone(),
                    title: o.title.clone(),
                    doc_type: String::new(),
                    href: None,
                    from_revision: o.revision,
                    to_revision: None,
                    from_site_revision: o.site_revision,
                    to_site_revision: None,
                    effective: None,
                    reason: Some(withdrawn_reason(id, input.plan, input.site_docs)),
                    commits,
                    change_reasons,
                    change_controls,
                    approvals: Vec::new(),
                    redline: None,
                },
                redline_html: String::new(),
                hunks: Vec::new(),
            });
        }
    }
    view
}

/// `changes.json` of a view.
pub fn json(view: &ChangesView) -> Vec<u8> {
    let record = ChangesRecord {
        format: "procsite-changes/1",
        site: &view.site,
        version: &view.build.version,
        previous: view.previous.as_deref(),
        commit: view.build.commit.as_deref(),
        as_of: view.build.as_of.as_deref(),
        added: view.added.iter().map(|e| &e.facts).collect(),
        revised: view.revised.iter().map(|e| &e.facts).collect(),
        withdrawn: view.withdrawn.iter().map(|e| &e.facts).collect(),
        stale_adaptations: &view.stale_adaptations,
        training: &view.training,
    };
    let mut bytes = serde_json::to_vec_pretty(&record).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(commit: &str, trailers: &[&str]) -> HistoryRow {
        HistoryRow {
            date: String::new(),
            time: String::new(),
            author: String::new(),
            committer: String::new(),
            committed: String::new(),
            commit: commit.into(),
            commit_short: commit.into(),
            subject: String::new(),
            trailers: trailers.iter().map(|t| t.to_string()).collect(),
            change_controls: Vec::new(),
            file: String::new(),
            committed_at: 0,
        }
    }

    #[test]
    fn commits_between_two_versions_leave_out_the_older_one() {
        let h = [row("d", &[]), row("c", &[]), row("b", &[]), row("a", &[])];
        let ids = |v: Vec<HistoryRow>| v.into_iter().map(|r| r.commit).collect::<Vec<_>>();
        assert_eq!(ids(commits_between(&h, Some("b"), Some("c"))), ["c"]);
        assert_eq!(ids(commits_between(&h, Some("a"), None)), ["d", "c", "b"]);
        assert_eq!(ids(commits_between(&h, None, Some("b"))), ["b", "a"]);
    }

    #[test]
    fn change_control_trailers_may_list_several_ids() {
        let book = format!(
            "{}\n[build]\nchange-control-url = \"https://qms.example/cc/{{id}}\"\n",
            crate::testkit::BOOK
        );
        let (config, _) = crate::testkit::corpus(&book, &[]);
        let got = change_controls(
            &[
                ("Change-Control".into(), "CC-1, CC-2".into()),
                ("change-control".into(), "CC-1".into()),
                ("Change-Reason".into(), "CC-9".into()),
            ],
            &config,
        );
        assert_eq!(
            got,
            [
                ChangeControlView {
                    id: "CC-1".into(),
                    href: Some("https://qms.example/cc/CC-1".into())
                },
                ChangeControlView {
                    id: "CC-2".into(),
                    href: Some("https://qms.example/cc/CC-2".into())
                }
            ]
        );
    }
}

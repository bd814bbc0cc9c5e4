//! The harmonization report: documents × sites, each cell saying how the site
//! publishes the global document; a harmonization score per site; clause coverage and
//! the gaps against each market's required clauses.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::compose::{Origin, SiteDoc};
use crate::config::Config;
use crate::site::SitePlan;

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub doc: String,
    pub site: String,
    /// "identical", "adapted", "site-only", "excluded" or "not-for-markets".
    pub state: String,
    /// The reason of an exclusion, or the operations of an adaptation.
    pub detail: String,
    pub lines_changed: usize,
    /// Share of lines the site text has in common with the global text, in percent.
    pub similarity: u32,
    /// The global text changed after the site last reviewed its adaptation.
    pub stale: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SiteScore {
    pub id: String,
    pub name: String,
    pub applicable: usize,
    pub identical: usize,
    /// Share of applicable global documents published unchanged, in percent.
    pub score: u32,
    /// Required clauses of the site's markets that no document of the site cites.
    pub gaps: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DocRow {
    pub id: String,
    pub title: String,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClauseRow {
    pub clause: String,
    /// Site → documents citing the clause there.
    pub sites: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub sites: Vec<SiteScore>,
    pub documents: Vec<DocRow>,
    pub clauses: Vec<ClauseRow>,
    /// Adaptations several sites make alike, and documents most sites adapt.
    pub candidates: Vec<crate::network::Candidate>,
    /// Every site's harmonization release by release, when the build has releases.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trend: Option<crate::network::Trend>,
}

/// One site's cells, and the clauses its published documents cite.
#[derive(Debug, Clone, Default)]
pub struct SiteCells {
    pub cells: Vec<Cell>,
    pub clauses: BTreeMap<String, Vec<String>>,
    /// Each published document's composed Markdown, with the global text it adapts
    /// (None when it publishes the global text unchanged or is a site document).
    pub texts: BTreeMap<String, DocText>,
    /// The operations of the site's addenda, as the site publishes them.
    pub adaptations: Vec<crate::network::Adaptation>,
    /// The site's re-reviews of its addenda after global revisions.
    pub rereviews: Vec<crate::network::Rereview>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DocText {
    pub title: String,
    pub markdown: std::sync::Arc<str>,
    pub global: Option<std::sync::Arc<str>>,
    /// The SHA-256 of `global`, as a content hash is written.
    #[serde(skip)]
    pub global_hash: Option<std::sync::Arc<str>>,
    /// The revision published, and the site addendum's, when history is known.
    pub revision: Option<u32>,
    pub site_revision: Option<u32>,
    pub effective: Option<String>,
    /// The newest commit of the text published (global file and addendum): what a
    /// later version's changes are counted from.
    pub last_commit: Option<String>,
}

/// The lines a site's text changes of the global text, blank lines aside, and how
/// alike the two are, in percent.
pub fn line_changes(global: &str, site: &str) -> (usize, u32) {
    let (old, new) = (
        crate::diff::without_blank_lines(global),
        crate::diff::without_blank_lines(site),
    );
    let diff = similar::TextDiff::from_lines(old.as_str(), new.as_str());
    let changed = diff
        .iter_all_changes()
        .filter(|c| c.tag() != similar::ChangeTag::Equal)
        .count();
    (changed, (diff.ratio() * 100.0).round() as u32)
}

/// The [`line_changes`] of a global text and a site's, as a build finds them.
pub type LineChangesOf<'f> =
    dyn Fn(&std::sync::Arc<str>, &std::sync::Arc<str>) -> (usize, u32) + 'f;

/// The global text a site document adapts, and its content hash, as a build finds it.
pub type GlobalOf<'a, 'f> = dyn Fn(&SiteDoc<'a>) -> (std::sync::Arc<str>, std::sync::Arc<str>) + 'f;

/// The cells of one site. `global_of` gives the global text a site document
/// adapts (composed for the site without its addendum) and its content hash; `changes`, the
/// [`line_changes`] of a global text and a site's.
pub fn site_cells<'a>(
    plan: &SitePlan,
    site_docs: &[SiteDoc<'a>],
    global_of: &GlobalOf<'a, '_>,
    changes: &LineChangesOf<'_>,
    stale: &dyn Fn(&SiteDoc) -> bool,
) -> SiteCells {
    let mut out = SiteCells::default();
    for sd in site_docs {
        if sd.doc.meta.is_external() {
            // The register's standards are not procedures: no cell, no score; their
            // text is kept for what changed between versions.
            out.texts.insert(
                sd.doc.meta.id.clone(),
                DocText {
                    title: sd.doc.meta.title.clone(),
                    markdown: sd.markdown.clone(),
                    global: None,
                    ..Default::default()
                },
            );
            continue;
        }
        let mut global_text = None;
        let mut global_hash = None;
        let (state, detail, lines_changed, similarity) = if sd.doc.site.is_some() {
            ("site-only", String::new(), 0, 0)
        } else if sd.addendum.is_some() {
            let (global, hash) = global_of(sd);
            let (changed, similarity) = changes(&global, &sd.markdown);
            global_text = Some(global);
            global_hash = Some(hash);
            let mut ops: Vec<String> = sd
                .pieces
                .iter()
                .filter_map(|p| match &p.origin {
                    Origin::Addendum { op, anchor, .. } => {
                        Some(format!("{} #{anchor}", op.as_str()))
                    }
                    Origin::SiteAppendix => Some("site requirements".into()),
                    _ => None,
                })
                .collect();
            ops.dedup();
            out.adaptations.extend(adaptations(sd));
            ("adapted", ops.join(", "), changed, similarity)
        } else {
            ("identical", String::new(), 0, 100)
        };
        out.cells.push(Cell {
            doc: sd.doc.meta.id.clone(),
            site: plan.id.to_string(),
            state: state.into(),
            detail,
            lines_changed,
            similarity,
            stale: stale(sd),
        });
        for c in &sd.doc.meta.clauses {
            out.clauses
                .entry(c.clone())
                .or_default()
                .push(sd.doc.meta.id.clone());
        }
        out.texts.insert(
            sd.doc.meta.id.clone(),
            DocText {
                title: sd.doc.meta.title.clone(),
                markdown: sd.markdown.clone(),
                global: global_text,
                global_hash,
                ..Default::default()
            },
        );
    }
    for o in plan.omitted.iter().filter(|o| !o.doc.meta.is_external()) {
        out.cells.push(Cell {
            doc: o.doc.meta.id.clone(),
            site: plan.id.to_string(),
            state: if o.excluded {
                "excluded"
            } else {
                "not-for-markets"
            }
            .into(),
            detail: o.reason.clone(),
            lines_changed: 0,
            similarity: 0,
            stale: false,
        });
    }
    out
}

/// The operations of a site document's addendum: each operation's text as the site
/// publishes it (conditions resolved), none for a `remove`.
fn adaptations(sd: &SiteDoc) -> Vec<crate::network::Adaptation> {
    let mut out: Vec<(usize, crate::network::Adaptation)> = Vec::new();
    for p in sd.pieces.iter() {
        let Origin::Addendum { op, anchor, line } = &p.origin else {
            continue;
        };
        let text: Vec<&str> = if p.notice {
            Vec::new()
        } else {
            p.lines.iter().map(|l| &*l.text).collect()
        };
        match out.iter_mut().find(|(l, _)| l == line) {
            Some((_, a)) => {
                if !text.is_empty() {
                    a.text.push('\n');
                    a.text.push_str(&text.join("\n"));
                }
            }
            None => out.push((
                *line,
                crate::network::Adaptation {
                    doc: sd.doc.meta.id.clone(),
                    op: op.as_str().to_string(),
                    anchor: anchor.clone(),
                    text: text.join("\n"),
                },
            )),
        }
    }
    out.into_iter().map(|(_, a)| a).collect()
}

/// (identical, applicable, score) of a site's cells: the score is the share of
/// applicable global documents (identical or adapted) published unchanged, in percent
/// rounded down; 100 when none applies.
pub fn score(cells: &[Cell]) -> (usize, usize, u32) {
    let applicable = cells
        .iter()
        .filter(|c| c.state == "identical" || c.state == "adapted")
        .count();
    let identical = cells.iter().filter(|c| c.state == "identical").count();
    let score = (identical * 100)
        .checked_div(applicable)
        .map_or(100, |s| s as u32);
    (identical, applicable, score)
}

/// A clause a market requires that no document a site serving it publishes cites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClauseGap {
    pub site: String,
    pub market: String,
    pub clause: String,
}

/// The gaps of one site: for each market it serves (in the order book.toml lists
/// them), each required clause that none of `cited` (clause → citing documents) has.
pub fn clause_gaps(
    config: &Config,
    site: &str,
    cited: &BTreeMap<String, Vec<String>>,
) -> Vec<ClauseGap> {
    let Some(cfg) = config.site.get(site) else {
        return Vec::new();
    };
    let mut gaps: Vec<ClauseGap> = Vec::new();
    for market in &cfg.markets {
        let Some(m) = config.market.get(market) else {
            continue;
        };
        for clause in &m.required_clauses {
            let gap = ClauseGap {
                site: site.to_string(),
                market: market.clone(),
                clause: clause.clone(),
            };
            if !cited.contains_key(clause) && !gaps.contains(&gap) {
                gaps.push(gap);
            }
        }
    }
    gaps
}

/// Puts the cells of the given sites together.
pub fn assemble(
    config: &Config,
    per_site: &BTreeMap<String, SiteCells>,
    titles: &BTreeMap<String, String>,
) -> Report {
    let mut documents: BTreeMap<String, Vec<Cell>> = BTreeMap::new();
    let mut sites = Vec::new();
    let mut all_clauses: BTreeSet<String> = BTreeSet::new();
    for (site, sc) in per_site {
        let Some(cfg) = config.site.get(site) else {
            continue;
        };
        let (identical, applicable, score) = score(&sc.cells);
        let gaps: BTreeSet<String> = clause_gaps(config, site, &sc.clauses)
            .into_iter()
            .map(|g| g.clause)
            .collect();
        sites.push(SiteScore {
            id: site.clone(),
            name: cfg.name.clone(),
            applicable,
            identical,
            score,
            gaps: gaps.into_iter().collect(),
        });
        for c in &sc.cells {
            documents.entry(c.doc.clone()).or_default().push(c.clone());
        }
        all_clauses.extend(sc.clauses.keys().cloned());
    }
    Report {
        sites,
        documents: documents
            .into_iter()
            .map(|(id, cells)| DocRow {
                title: titles.get(&id).cloned().unwrap_or_default(),
                id,
                cells,
            })
            .collect(),
        clauses: all_clauses
            .into_iter()
            .map(|clause| ClauseRow {
                sites: per_site
                    .iter()
                    .map(|(s, sc)| {
                        (
                            s.clone(),
                            sc.clauses.get(&clause).cloned().unwrap_or_default(),
                        )
                    })
                    .collect(),
                clause,
            })
            .collect(),
        candidates: crate::network::candidates(per_site, titles),
        trend: None,
    }
}

fn cell_text(c: &Cell) -> String {
    let mut s = match c.state.as_str() {
        "adapted" => format!(
            "adapted: {} ({} lines changed, {}% similar)",
            c.detail, c.lines_changed, c.similarity
        ),
        "excluded" => format!("excluded: {}", c.detail),
        "not-for-markets" => "not for this site's markets".to_string(),
        other => other.to_string(),
    };
    if c.stale {
        s.push_str(" — stale addendum");
    }
    s
}

/// A Markdown table cell: `|` escaped, HTML made inert, one line.
pub fn md(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// A CSV field, quoted; a field a spreadsheet would run as a formula (starting with
/// `=`, `+`, `-`, `@`, tab or carriage return) gets a leading `'`, as OWASP advises.
pub fn csv(text: &str) -> String {
    let inert = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    format!("\"{}\"", inert.replace('"', "\"\""))
}

pub fn to_markdown(r: &Report) -> String {
    let mut s = String::from("# Harmonization report\n\n## Scores\n\n| site | identical / applicable | score | clause gaps |\n|---|---|---|---|\n");
    for site in &r.sites {
        s.push_str(&format!(
            "| {} | {} / {} | {}% | {} |\n",
            md(&site.name),
            site.identical,
            site.applicable,
            site.score,
            if site.gaps.is_empty() {
                "none".into()
            } else {
                md(&site.gaps.join(", "))
            }
        ));
    }
    s.push_str("\n## Documents × sites\n\n| document |");
    for site in &r.sites {
        s.push_str(&format!(" {} |", md(&site.id)));
    }
    s.push_str("\n|---|");
    s.push_str(&"---|".repeat(r.sites.len()));
    s.push('\n');
    for d in &r.documents {
        s.push_str(&format!("| {} {} |", md(&d.id), md(&d.title)));
        for site in &r.sites {
            let cell = d
                .cells
                .iter()
                .find(|c| c.site == site.id)
                .map_or("—".to_string(), cell_text);
            s.push_str(&format!(" {} |", md(&cell)));
        }
        s.push('\n');
    }
    s.push_str("\n## Clause coverage\n\n| clause |");
    for site in &r.sites {
        s.push_str(&format!(" {} |", md(&site.id)));
    }
    s.push_str("\n|---|");
    s.push_str(&"---|".repeat(r.sites.len()));
    s.push('\n');
    for c in &r.clauses {
        s.push_str(&format!("| {} |", md(&c.clause)));
        for site in &r.sites {
            let docs = c
                .sites
                .get(&site.id)
                .filter(|d| !d.is_empty())
                .map_or("**none**".to_string(), |d| md(&d.join(", ")));
            s.push_str(&format!(" {docs} |"));
        }
        s.push('\n');
    }
    s.push('\n');
    s.push_str(&crate::network::candidates_markdown(&r.candidates));
    if let Some(t) = &r.trend {
        s.push('\n');
        s.push_str(&crate::network::trend_markdown(t));
    }
    s
}

pub fn to_csv(r: &Report) -> String {
    let q = csv;
    let mut s = String::from("document,site,state,detail,lines_changed,similarity,stale\n");
    for d in &r.documents {
        for c in &d.cells {
            s.push_str(&format!(
                "{},{},{},{},{},{},{}\n",
                q(&c.doc),
                q(&c.site),
                c.state,
                q(&c.detail),
                c.lines_changed,
                c.similarity,
                c.stale
            ));
        }
    }
    s
}

pub fn to_json(r: &Report) -> String {
    let mut s = serde_json::to_string_pretty(r).expect("the report serializes");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_run_as_formulas_or_break_tables() {
        assert_eq!(
            csv("=HYPERLINK(\"http://evil.example\",\"x\")"),
            "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\""
        );
        assert_eq!(csv("-1"), "\"'-1\"");
        assert_eq!(csv("No sterilization"), "\"No sterilization\"");
        assert_eq!(
            md("<script>a|b</script>"),
            "&lt;script&gt;a\\|b&lt;/script&gt;"
        );
    }
}

//! Navigation between the documents of a site version, for document pages: the
//! site's documents by type, as the index groups them, and the previous and next
//! document of the same type.
//!
//! Every page carries its navigation, so its size is bounded whatever the number of
//! documents: a small type is listed whole, a large one as a window around the current
//! document, and the other types are listed only while the page stays within a budget
//! (else each is a link to its group of the index).

use std::collections::{BTreeMap, HashMap};

use crate::compose::SiteDoc;
use crate::config::Config;

use super::context::{NavGroup, NavItem, NavView};

/// A type with at most this many documents is listed whole.
const FULL_TYPE: usize = 40;
/// In a larger type, the documents listed on each side of the current one.
const WINDOW: usize = 12;
/// The documents of other types a page lists, at most.
const OTHER_BUDGET: usize = 80;
/// Titles longer than this many characters are shortened in the sidebar.
const SHORT_TITLE: usize = 48;

/// One type of document and its documents at a site, in the order of the index.
pub struct TypeGroup<'a> {
    pub code: String,
    pub title: String,
    pub docs: Vec<&'a SiteDoc<'a>>,
}

/// The site's documents grouped by type: by the type's `order`, then its code; within a
/// type, in the site's document order. The index and the navigation share this order.
pub fn type_groups<'a>(site_docs: &'a [SiteDoc<'a>], config: &Config) -> Vec<TypeGroup<'a>> {
    // The external documents come after the procedures, unless `order` says otherwise.
    let mut groups: BTreeMap<(i64, bool, &str), Vec<&SiteDoc>> = BTreeMap::new();
    for sd in site_docs {
        let code = sd.doc.meta.doc_type.as_str();
        let order = config
            .types
            .get(code)
            .and_then(|t| t.order)
            .unwrap_or(i64::MAX);
        let external = code == crate::model::EXTERNAL_TYPE;
        groups.entry((order, external, code)).or_default().push(sd);
    }
    groups
        .into_iter()
        .map(|((_, external, code), docs)| TypeGroup {
            title: config
                .types
                .get(code)
                .and_then(|t| t.title.clone())
                .unwrap_or_else(|| {
                    if external {
                        "External documents".to_string()
                    } else {
                        code.to_string()
                    }
                }),
            code: code.to_string(),
            docs,
        })
        .collect()
}

fn short_title(title: &str) -> String {
    match title.char_indices().nth(SHORT_TITLE) {
        None => title.to_string(),
        Some((cut, _)) => format!("{}…", title[..cut].trim_end()),
    }
}

struct Entry {
    id: String,
    title: String,
}

/// The navigation data of one site version, made once and viewed from each page.
pub struct SiteNav {
    groups: Vec<(String, String, Vec<Entry>)>,
    /// Where each document is: its group and its place in it.
    at: HashMap<String, (usize, usize)>,
}

impl SiteNav {
    pub fn new(site_docs: &[SiteDoc], config: &Config) -> SiteNav {
        let mut at = HashMap::new();
        let groups = type_groups(site_docs, config)
            .into_iter()
            .enumerate()
            .map(|(g, group)| {
                let entries = group
                    .docs
                    .iter()
                    .enumerate()
                    .map(|(i, sd)| {
                        at.insert(sd.doc.meta.id.clone(), (g, i));
                        Entry {
                            id: sd.doc.meta.id.clone(),
                            title: short_title(&sd.doc.meta.title),
                        }
                    })
                    .collect();
                (group.code, group.title, entries)
            })
            .collect();
        SiteNav { groups, at }
    }

    fn item(entry: &Entry, current: &str) -> NavItem {
        NavItem {
            id: entry.id.clone(),
            title: entry.title.clone(),
            href: format!("{}.html", entry.id),
            current: entry.id == current,
        }
    }

    /// The navigation of the page of document `id`.
    pub fn view(&self, id: &str) -> NavView {
        let Some(&(here_group, here)) = self.at.get(id) else {
            return NavView {
                groups: Vec::new(),
                prev: None,
                next: None,
                position: 0,
                type_title: String::new(),
                type_count: 0,
            };
        };
        let mut budget = OTHER_BUDGET;
        let groups = self
            .groups
            .iter()
            .enumerate()
            .map(|(g, (code, title, entries))| {
                let current = g == here_group;
                let range = if current {
                    if entries.len() <= FULL_TYPE {
                        0..entries.len()
                    } else {
                        // A window of the same size wherever the document is.
                        let width = 2 * WINDOW + 1;
                        let start = here.saturating_sub(WINDOW).min(entries.len() - width);
                        start..start + width
                    }
                } else if entries.len() <= FULL_TYPE && entries.len() <= budget {
                    budget -= entries.len();
                    0..entries.len()
                } else {
                    0..0
                };
                NavGroup {
                    code: code.clone(),
                    title: title.clone(),
                    count: entries.len(),
                    href: format!("index.html#type-{code}"),
                    current,
                    more_before: if range.is_empty() { 0 } else { range.start },
                    more_after: if range.is_empty() {
                        0
                    } else {
                        entries.len() - range.end
                    },
                    items: entries[range].iter().map(|e| Self::item(e, id)).collect(),
                }
            })
            .collect();
        let (type_title, entries) = {
            let (_, title, entries) = &self.groups[here_group];
            (title.clone(), entries)
        };
        NavView {
            groups,
            prev: here.checked_sub(1).map(|i| Self::item(&entries[i], id)),
            next: entries.get(here + 1).map(|e| Self::item(e, id)),
            position: here + 1,
            type_title,
            type_count: entries.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nav(sizes: &[(&str, usize)]) -> SiteNav {
        let mut at = HashMap::new();
        let groups = sizes
            .iter()
            .enumerate()
            .map(|(g, (code, n))| {
                let entries = (0..*n)
                    .map(|i| {
                        let id = format!("{code}-{i:04}");
                        at.insert(id.clone(), (g, i));
                        Entry {
                            id,
                            title: format!("Title {i}"),
                        }
                    })
                    .collect();
                (code.to_string(), code.to_string(), entries)
            })
            .collect();
        SiteNav { groups, at }
    }

    fn listed(g: &NavGroup) -> Vec<&str> {
        g.items.iter().map(|i| i.id.as_str()).collect()
    }

    #[test]
    fn a_small_site_lists_every_document_and_marks_the_current_one() {
        let n = nav(&[("QM", 1), ("SOP", 3), ("WI", 2)]);
        let v = n.view("SOP-0001");
        assert_eq!(v.groups.len(), 3);
        assert!(v.groups[1].current && !v.groups[0].current);
        assert_eq!(listed(&v.groups[0]), ["QM-0000"]);
        assert_eq!(listed(&v.groups[2]), ["WI-0000", "WI-0001"]);
        let current: Vec<&str> = v
            .groups
            .iter()
            .flat_map(|g| &g.items)
            .filter(|i| i.current)
            .map(|i| i.id.as_str())
            .collect();
        assert_eq!(current, ["SOP-0001"]);
        assert_eq!(v.prev.unwrap().id, "SOP-0000");
        assert_eq!(v.next.unwrap().id, "SOP-0002");
        assert_eq!((v.position, v.type_count), (2, 3));
    }

    #[test]
    fn the_first_and_last_of_a_type_have_no_neighbour_across_types() {
        let n = nav(&[("QM", 1), ("SOP", 3)]);
        let first = n.view("SOP-0000");
        assert!(first.prev.is_none(), "QM-0000 is of another type");
        let last = n.view("SOP-0002");
        assert!(last.next.is_none());
        let only = n.view("QM-0000");
        assert!(only.prev.is_none() && only.next.is_none());
    }

    #[test]
    fn a_large_site_lists_a_window_of_the_current_type_and_links_the_others() {
        let n = nav(&[("SOP", 2000), ("WI", 30), ("FORM", 500)]);
        let v = n.view("SOP-1000");
        let sop = &v.groups[0];
        assert_eq!(sop.items.len(), 2 * WINDOW + 1);
        assert_eq!(sop.items[WINDOW].id, "SOP-1000");
        assert_eq!(sop.more_before, 1000 - WINDOW);
        assert_eq!(sop.more_after, 2000 - 1000 - WINDOW - 1);
        assert_eq!(
            v.groups[1].items.len(),
            30,
            "a small type within the budget"
        );
        assert!(v.groups[2].items.is_empty(), "a large other type is a link");
        assert_eq!(v.groups[2].href, "index.html#type-FORM");

        let edge = n.view("SOP-0001");
        assert_eq!(edge.groups[0].items.len(), 2 * WINDOW + 1);
        assert_eq!(edge.groups[0].more_before, 0);
        let end = n.view("SOP-1999");
        assert_eq!(end.groups[0].more_after, 0);
        assert_eq!(end.groups[0].items.last().unwrap().id, "SOP-1999");
    }

    #[test]
    fn long_titles_are_shortened_on_a_character_boundary() {
        assert_eq!(short_title("Short"), "Short");
        let long = "Ä".repeat(60);
        assert_eq!(short_title(&long), format!("{}…", "Ä".repeat(SHORT_TITLE)));
    }
}

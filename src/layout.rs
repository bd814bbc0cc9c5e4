//! The names of the published tree, in one place: what procsite writes where, and
//! which names documents, sites and versions may therefore not take.

/// The repository's configuration file.
pub const BOOK: &str = "book.toml";
/// The controlled documents: `procedures/global/**` and `procedures/sites/<site>/**`.
pub const PROCEDURES_DIR: &str = "procedures";
pub const GLOBAL_DIR: &str = "global";
pub const SITES_DIR: &str = "sites";
/// User themes, `themes/<name>/`.
pub const THEMES_DIR: &str = "themes";

/// The site a file belongs to by its folder, `procedures/sites/<site>/...`. A file
/// directly in `procedures/sites/` belongs to no site.
pub fn site_folder(path: &std::path::Path) -> Option<&str> {
    let mut parts = path.iter();
    if parts.next()? != PROCEDURES_DIR || parts.next()? != SITES_DIR {
        return None;
    }
    let site = parts.next()?.to_str()?;
    parts.next()?;
    Some(site)
}

/// A file in memory, its path relative to the folder it is written under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// A file the output already holds with exactly the bytes a build would write at its
/// path: a page whose view is the one it was rendered from ([`crate::page_cache`]),
/// taken as it is, without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptFile {
    /// Relative to its version folder, as [`OutFile::path`].
    pub path: String,
    /// Where the output holds it.
    pub at: std::path::PathBuf,
    /// Its size in bytes.
    pub len: u64,
}

impl KeptFile {
    /// The file's bytes, for a writer that cannot take it as it is.
    pub fn read(&self) -> std::io::Result<OutFile> {
        Ok(OutFile {
            path: self.path.clone(),
            bytes: std::fs::read(&self.at)?,
        })
    }
}

/// A page of a site: rendered, or kept as the output holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    Made(OutFile),
    Kept(KeptFile),
}

/// Marks an output root as procsite's own.
pub const MARKER: &str = ".procsite";
/// SHA-256 of every file of a version folder, or (at the output root) of the
/// portal, the report, every `versions.json` and every version's manifest.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The portal at the output root, a site's versions page, a version's index.
pub const INDEX: &str = "index.html";
/// The cross-site harmonization report, a folder at the output root.
pub const REPORT_DIR: &str = "report";
/// The folder of a site's uncontrolled preview, rewritten by each preview build.
pub const PREVIEW: &str = "preview";
/// The copy of a site's newest released version.
pub const LATEST: &str = "latest";
pub const VERSIONS_JSON: &str = "versions.json";
pub const VERSIONS_JS: &str = "versions.js";
/// The theme's static files inside a version folder.
pub const STATIC_DIR: &str = "static";
/// Every document's stamps, history and approvals, for tools and for the audit
/// trail to survive the repository.
pub const HISTORY_FILE: &str = "history.json";

/// A document's whole revision history, when its page shows the newest changes only.
pub fn history_page(id: &str) -> String {
    format!("{id}.history.html")
}

/// Page names a version folder generates besides one per document.
const GENERATED_PAGES: &[&str] = &["index", "changes", "harmonization", "manifest", "history"];

/// Folder names at the output root or in a site folder that procsite generates.
const RESERVED_FOLDERS: &[&str] = &[REPORT_DIR, PREVIEW, LATEST, STATIC_DIR];

/// Why a document id cannot be published under its own name, if it cannot.
pub fn reserved_doc_id(id: &str) -> Option<String> {
    let lower = id.to_ascii_lowercase();
    if GENERATED_PAGES.contains(&lower.as_str()) {
        return Some(format!("{lower}.html is a page procsite generates"));
    }
    if lower.starts_with("search") {
        return Some("search* is kept for the search index".into());
    }
    if lower.ends_with(".diff") {
        return Some(format!("{lower}.html is the name of a diff page"));
    }
    if lower.ends_with(".history") {
        return Some(format!("{lower}.html is the name of a history page"));
    }
    if ["versions", "latest", "static", "report", "preview"].contains(&lower.as_str()) {
        return Some(format!("'{lower}' is a file or folder procsite generates"));
    }
    None
}

/// Why a site id cannot be a folder of the output root, if it cannot.
pub fn reserved_site_id(id: &str) -> Option<String> {
    let lower = id.to_ascii_lowercase();
    (RESERVED_FOLDERS.contains(&lower.as_str()) || lower == "index" || lower == "manifest")
        .then(|| format!("'{lower}' is a name procsite uses at the output root"))
}

/// Orders version names as people read them: runs of digits by their value, so
/// `2026.10` comes after `2026.9`.
pub fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for ((da, xa), (db, xb)) in ca.iter().zip(cb.iter()) {
        let o = if *da && *db {
            let (ta, tb) = (xa.trim_start_matches('0'), xb.trim_start_matches('0'));
            ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb))
        } else {
            xa.cmp(xb)
        };
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    ca.len().cmp(&cb.len()).then_with(|| a.cmp(b))
}

/// Why a name cannot be a version folder, if it cannot.
pub fn reserved_version(v: &str) -> Option<String> {
    let lower = v.to_ascii_lowercase();
    let ok = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && !v.starts_with('.');
    if !ok {
        return Some("use letters, digits, '.', '-' and '_', e.g. 2026.1".into());
    }
    if lower == LATEST
        || (lower == PREVIEW && v != PREVIEW)
        || lower == STATIC_DIR
        || [".html", ".json", ".js"].iter().any(|e| lower.ends_with(e))
    {
        return Some(format!("'{v}' is a name procsite uses in a site folder"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_are_reserved_for_documents() {
        for id in [
            "index",
            "Changes",
            "harmonization",
            "SOP-0020.diff",
            "SOP-0020.History",
            "search-index",
            "latest",
        ] {
            assert!(reserved_doc_id(id).is_some(), "{id}");
        }
        for id in ["SOP-0020", "WI-INDEX-1", "research"] {
            assert!(reserved_doc_id(id).is_none(), "{id}");
        }
    }

    #[test]
    fn versions_order_as_people_read_them() {
        let mut v = vec![
            "2026.10",
            "2026.9",
            "2026.1",
            "2027.0",
            "2026.9-rc",
            "2026.09.1",
        ];
        v.sort_by(|a, b| version_order(a, b));
        assert_eq!(
            v,
            [
                "2026.1",
                "2026.9",
                "2026.9-rc",
                "2026.09.1",
                "2026.10",
                "2027.0"
            ]
        );
    }

    #[test]
    fn output_folders_are_reserved_for_sites_and_versions() {
        assert!(reserved_site_id("report").is_some());
        assert!(reserved_site_id("preview").is_some());
        assert!(reserved_site_id("cork").is_none());
        assert!(reserved_version("latest").is_some());
        assert!(reserved_version("index.html").is_some());
        assert!(reserved_version("../x").is_some());
        assert!(reserved_version("2026.1").is_none());
        assert!(reserved_version(PREVIEW).is_none());
    }
}

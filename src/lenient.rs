//! The one lenient reader of front-matter, for texts from history: earlier versions
//! of a file may predate today's rules, so unknown keys and odd values are ignored
//! rather than reported. Today's files go through the strict parser in `parse`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use serde::Deserialize;

use crate::repo::history::Identity;

/// The front-matter fields history needs.
#[derive(Debug, Default, Deserialize)]
pub struct Lenient {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub approvals: Vec<LenientApproval>,
    #[serde(default, rename = "former-ids")]
    pub former_ids: Vec<String>,
    /// The controlled front-matter an approval covers besides the body, as written.
    #[serde(flatten)]
    pub controlled: Controlled,
}

/// The front-matter fields an approval covers (everything but the approvals list and
/// the status): changing one after the approval makes it stale, like the body.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Controlled {
    title: Option<serde_yaml::Value>,
    #[serde(rename = "type")]
    doc_type: Option<serde_yaml::Value>,
    effective: Option<serde_yaml::Value>,
    review_due: Option<serde_yaml::Value>,
    markets: Option<serde_yaml::Value>,
    clauses: Option<serde_yaml::Value>,
    supersedes: Option<serde_yaml::Value>,
    obsolete: Option<serde_yaml::Value>,
    rationale: Option<serde_yaml::Value>,
    base_revision: Option<serde_yaml::Value>,
}

impl Lenient {
    pub fn approved(&self) -> bool {
        self.status.as_deref() == Some("approved")
    }
}

impl Controlled {
    /// One canonical text of the fields, to compare versions by.
    pub fn key(&self) -> String {
        format!("{self:?}")
    }

    /// `effective` as written.
    pub fn effective_value(&self) -> Option<&serde_yaml::Value> {
        self.effective.as_ref()
    }
}

#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
pub struct LenientApproval {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
}

/// A text's front-matter, read leniently, and its body (the whole text when it has no
/// front-matter).
pub fn read(text: &str) -> (Lenient, &str) {
    match crate::parse::frontmatter::split(text) {
        Ok(s) => (crate::yaml::from_str(s.yaml).unwrap_or_default(), s.body),
        Err(_) => (Lenient::default(), text),
    }
}

/// A version's text from history, read leniently.
#[derive(Debug)]
pub struct Version {
    pub text: Arc<str>,
    pub front: Lenient,
    /// Where the body begins in `text`.
    body_start: usize,
    /// `front.controlled.key()`.
    controlled: String,
}

impl Version {
    fn of(text: &Arc<str>) -> Version {
        let (front, body) = read(text);
        let body_start = text.len() - body.len();
        Version {
            text: Arc::clone(text),
            controlled: front.controlled.key(),
            front,
            body_start,
        }
    }

    pub fn body(&self) -> &str {
        &self.text[self.body_start..]
    }

    /// What an approval covers: the controlled front-matter and the body.
    pub fn covered(&self) -> (&str, &str) {
        (&self.controlled, self.body())
    }

    pub fn approved(&self) -> bool {
        self.front.approved()
    }
}

/// The versions read in this process, by the address of their text, which each holds
/// (so no other text can take that address while it is here).
fn versions() -> &'static Mutex<HashMap<usize, Arc<Version>>> {
    static READ: OnceLock<Mutex<HashMap<usize, Arc<Version>>>> = OnceLock::new();
    READ.get_or_init(Default::default)
}

/// A text of history read leniently, once until [`forget_versions`]: the stamps, the
/// global revisions and the re-reviews of a build read the same versions, and `serve`
/// reads them again at every rebuild. A build lets them go with the history's texts
/// ([`crate::repo::cache::unload_all`]), once it has read them all.
pub fn version(text: &Arc<str>) -> Arc<Version> {
    let at = Arc::as_ptr(text) as *const u8 as usize;
    let found = |map: &HashMap<usize, Arc<Version>>| {
        map.get(&at)
            .filter(|v| Arc::ptr_eq(&v.text, text))
            .map(Arc::clone)
    };
    if let Some(v) = found(&versions().lock().unwrap_or_else(|e| e.into_inner())) {
        return v;
    }
    let v = Arc::new(Version::of(text));
    let mut map = versions().lock().unwrap_or_else(|e| e.into_inner());
    Arc::clone(map.entry(at).or_insert(v))
}

/// Lets go of every version read: with the texts of the history cache, so that they
/// are not held.
pub fn forget_versions() {
    versions().lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// Lets go of the versions whose text nothing else holds any more (a history read
/// without the cache, by an earlier build of this process).
pub fn forget_unheld_versions() {
    versions()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|_, v| Arc::strong_count(&v.text) > 1);
}

/// What a document file is, whatever its path: its `id` (and the ids it had before a
/// renumbering), or the site and target of an addendum. The history walk uses it to
/// follow a file across moves, renames and merges. Read line by line, as it runs on
/// every version of every file.
pub fn identity(path: &Path, text: &str) -> Identity {
    let mut key = None;
    let mut title = None;
    if let Some(body) = text.strip_prefix("---") {
        for line in body.lines().skip(1) {
            if line.trim_end() == "---" || (key.is_some() && title.is_some()) {
                break;
            }
            if let Some(v) = line.strip_prefix("title:") {
                title = Some(v.trim().to_string());
            } else if key.is_some() {
                continue;
            } else if let Some(v) = line.strip_prefix("id:") {
                key = Some(format!("id:{}", v.trim()));
            } else if let Some(v) = line.strip_prefix("addendum-to:") {
                let site = crate::layout::site_folder(path).unwrap_or_default();
                key = Some(format!("addendum:{site}:{}", v.trim()));
            }
        }
    }
    // Looked for in the front-matter only: this runs on the whole text of every
    // version, and the body is most of it.
    let former = match crate::parse::frontmatter::split(text) {
        Ok(s) if s.yaml.contains("former-ids") => read(text).0.former_ids,
        _ => Vec::new(),
    };
    Identity { key, former, title }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_of_documents_addenda_and_renumbered_documents() {
        let doc = "---\nid: SOP-1\ntitle: T\nformer-ids: [QP-1]\n---\nx";
        let i = identity(Path::new("procedures/global/a.md"), doc);
        assert_eq!(i.key.as_deref(), Some("id:SOP-1"));
        assert_eq!(i.former, ["QP-1"]);
        let add = "---\naddendum-to: SOP-1\n---\n";
        assert_eq!(
            identity(Path::new("procedures/sites/cork/x/a.md"), add)
                .key
                .as_deref(),
            Some("addendum:cork:SOP-1")
        );
        assert_eq!(identity(Path::new("a.md"), "no front-matter").key, None);
        // Former ids are read from the front-matter only, never from the body.
        let in_body = "---\nid: SOP-2\n---\nformer-ids: [QP-9]\n";
        assert!(identity(Path::new("a.md"), in_body).former.is_empty());
        let unclosed = "---\nid: SOP-2\nformer-ids: [QP-9]\n";
        assert!(identity(Path::new("a.md"), unclosed).former.is_empty());
    }

    #[test]
    fn odd_old_front_matter_is_read_as_far_as_it_goes() {
        let (l, body) = read("---\nstatus: approved\nefective: x\napprovals: 3\n---\nBody\n");
        assert_eq!(
            l.status, None,
            "a value of the wrong shape drops the whole block"
        );
        assert_eq!(body, "Body\n");
        let (l, _) = read("---\nstatus: approved\nunknown: 1\n---\n");
        assert_eq!(l.status.as_deref(), Some("approved"));
    }
}

//! The typed front-matter of documents and addenda, and the dates they carry.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A calendar date written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub time::Date);

const DATE_FORMAT: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

impl Date {
    pub fn parse(s: &str) -> Result<Date, String> {
        time::Date::parse(s.trim(), DATE_FORMAT)
            .map(Date)
            .map_err(|_| format!("'{s}' is not a date; write it as YYYY-MM-DD, e.g. 2026-03-01"))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.format(DATE_FORMAT).map_err(|_| fmt::Error)?;
        f.write_str(&s)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// When an approval was given: a date, or an RFC 3339 date-time. The text is kept
/// as written so pages show exactly what was declared.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApprovalDate {
    pub text: String,
    pub date: Date,
    /// Seconds since the epoch, when a date-time with its offset was given.
    pub instant: Option<i64>,
}

impl<'de> Deserialize<'de> for ApprovalDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text.trim().len() > 10 {
            let dt = time::OffsetDateTime::parse(
                text.trim(),
                &time::format_description::well_known::Rfc3339,
            )
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "'{text}' is neither a date (YYYY-MM-DD) nor an RFC 3339 date-time \
                     (e.g. 2026-02-20T14:30:00Z)"
                ))
            })?;
            Ok(ApprovalDate {
                date: Date(dt.date()),
                instant: Some(dt.unix_timestamp()),
                text,
            })
        } else {
            let date = Date::parse(&text).map_err(serde::de::Error::custom)?;
            Ok(ApprovalDate {
                text,
                date,
                instant: None,
            })
        }
    }
}

impl Serialize for ApprovalDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    #[default]
    Draft,
    InReview,
    Approved,
    Obsolete,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::InReview => "in-review",
            Status::Approved => "approved",
            Status::Obsolete => "obsolete",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    pub name: String,
    pub role: String,
    #[serde(default = "default_meaning")]
    pub meaning: String,
    pub date: ApprovalDate,
}

fn default_meaning() -> String {
    "approved".into()
}

/// Every key front-matter may hold, documents and addenda alike; which of them a
/// file may use is decided by whether it has `addendum-to`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FrontMatter {
    pub id: Option<String>,
    pub title: Option<String>,
    #[serde(rename = "type")]
    pub doc_type: Option<String>,
    pub owner: Option<String>,
    pub status: Option<Status>,
    pub effective: Option<Date>,
    pub review_due: Option<Date>,
    #[serde(default)]
    pub approvals: Vec<Approval>,
    pub markets: Option<Vec<String>>,
    #[serde(default)]
    pub clauses: Vec<String>,
    #[serde(default)]
    pub supersedes: Vec<String>,
    #[serde(default)]
    pub former_ids: Vec<String>,
    pub classification: Option<Classification>,
    pub training: Option<Training>,
    pub obsolete: Option<Obsoletion>,
    pub addendum_to: Option<String>,
    pub rationale: Option<String>,
    pub base_revision: Option<u32>,
    /// External documents (`type: external`): how procedures cite it in `clauses`.
    pub designation: Option<String>,
    pub publisher: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub edition: Option<String>,
    /// The date of the edition.
    pub date: Option<Date>,
    /// The sites that use an external document; none means every site.
    pub sites: Option<Vec<String>>,
    #[serde(default)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A value written as text or as a number (`edition: 2019`), kept as text.
fn text_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum TextOrNumber {
        Text(String),
        Integer(i64),
        Float(f64),
    }
    Ok(match Option::<TextOrNumber>::deserialize(d)? {
        None => None,
        Some(TextOrNumber::Text(s)) => Some(s),
        Some(TextOrNumber::Integer(n)) => Some(n.to_string()),
        Some(TextOrNumber::Float(f)) => Some(f.to_string()),
    })
}

/// The document type of the external-documents register.
pub const EXTERNAL_TYPE: &str = "external";

/// The keys only an external document (`type: external`) takes.
pub const EXTERNAL_KEYS: &[&str] = &["designation", "publisher", "edition", "date", "sites"];

pub const DOCUMENT_KEYS: &[&str] = &[
    "id",
    "title",
    "type",
    "owner",
    "status",
    "effective",
    "review-due",
    "approvals",
    "markets",
    "clauses",
    "supersedes",
    "former-ids",
    "classification",
    "training",
    "obsolete",
    "designation",
    "publisher",
    "edition",
    "date",
    "sites",
    "extra",
];

pub const ADDENDUM_KEYS: &[&str] = &[
    "addendum-to",
    "rationale",
    "base-revision",
    "status",
    "approvals",
    "extra",
];

/// The front-matter of a controlled document (global or site-only).
#[derive(Debug, Clone, Serialize)]
pub struct DocMeta {
    pub id: String,
    pub title: String,
    pub doc_type: String,
    pub owner: Option<String>,
    pub status: Status,
    pub effective: Option<Date>,
    pub review_due: Option<Date>,
    pub approvals: Vec<Approval>,
    pub markets: Option<Vec<String>>,
    pub clauses: Vec<String>,
    pub supersedes: Vec<String>,
    pub former_ids: Vec<String>,
    pub classification: Option<Classification>,
    pub training: Option<Training>,
    /// When and why an obsolete document was withdrawn.
    pub obsolete: Option<Obsoletion>,
    /// Set for an entry of the external-documents register (`type: external`).
    pub external: Option<Box<ExternalMeta>>,
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl DocMeta {
    pub fn is_external(&self) -> bool {
        self.external.is_some()
    }
}

/// `obsolete: { date: 2026-04-06, reason: ... }`: the record of a withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Obsoletion {
    pub date: Date,
    pub reason: String,
}

/// A standard or regulation the quality system cites: an entry of the
/// external-documents register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExternalMeta {
    /// How procedures cite it in `clauses`, e.g. "ISO 14971".
    pub designation: String,
    pub publisher: String,
    /// e.g. "2019", or "2019+A11:2021".
    pub edition: String,
    /// The date of the edition.
    pub date: Option<Date>,
    /// The sites that use it; empty means every site.
    pub sites: Vec<String>,
}

/// Who may read a document, shown in its header and print footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Classification {
    Internal,
    Confidential,
}

impl Classification {
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Internal => "internal",
            Classification::Confidential => "confidential",
        }
    }
}

/// Who must be trained on a revision, and within how many days of its effective date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Training {
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub audience: Vec<String>,
    pub due_days: Option<u32>,
}

/// The front-matter of a site addendum.
#[derive(Debug, Clone, Serialize)]
pub struct AddendumMeta {
    pub addendum_to: String,
    pub rationale: String,
    pub base_revision: Option<u32>,
    pub status: Status,
    pub approvals: Vec<Approval>,
    pub extra: BTreeMap<String, serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_reject_nonsense() {
        assert_eq!(Date::parse("2026-03-01").unwrap().to_string(), "2026-03-01");
        assert!(Date::parse("2026-02-30").is_err());
        assert!(Date::parse("01.03.2026").is_err());
    }
}

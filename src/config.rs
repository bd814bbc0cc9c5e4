//! `book.toml`: the typed configuration. Unknown keys are errors with line and column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::diag::{Code, Diagnostic, Diagnostics};

pub const CONFIG_FILE: &str = crate::layout::BOOK;

#[derive(serde::Serialize, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    pub book: BookConfig,
    #[serde(default)]
    pub build: BuildConfig,
    #[serde(default)]
    pub site: BTreeMap<String, SiteConfig>,
    #[serde(default)]
    pub types: BTreeMap<String, TypeConfig>,
    #[serde(default)]
    pub approvers: BTreeMap<String, ApproverConfig>,
    #[serde(default)]
    pub market: BTreeMap<String, MarketConfig>,
    #[serde(default)]
    pub release: ReleaseConfig,
    /// How long the documents of each type are kept, and the requirement that says so.
    #[serde(default)]
    pub retention: BTreeMap<String, RetentionConfig>,
    /// A diagnostic's level by its name (or number): error, warn or allow.
    #[serde(default)]
    pub diagnostics: BTreeMap<String, crate::diag::Level>,
    /// The text of book.toml, kept to locate keys in later diagnostics.
    #[serde(skip)]
    pub source: String,
}

#[derive(serde::Serialize, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BookConfig {
    pub title: String,
    pub organization: Option<String>,
    /// Words an approval's `meaning` may take.
    #[serde(default = "default_meanings")]
    pub approval_meanings: Vec<String>,
}

fn default_meanings() -> Vec<String> {
    ["approved", "reviewed", "authored", "obsoleted"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[derive(serde::Serialize, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BuildConfig {
    #[serde(default = "default_output")]
    pub output: PathBuf,
    #[serde(default = "default_theme")]
    pub theme: String,
    #[serde(default = "default_release_tags")]
    pub release_tags: String,
    /// A semver requirement on the tool version a quality system validated.
    pub procsite_version: Option<String>,
    /// The address of a change-control record, `{id}` standing for its id: turns
    /// `Change-Control:` trailers into links.
    pub change_control_url: Option<String>,
}

impl Default for BuildConfig {
    fn default() -> Self {
        BuildConfig {
            output: default_output(),
            theme: default_theme(),
            release_tags: default_release_tags(),
            procsite_version: None,
            change_control_url: None,
        }
    }
}

fn default_output() -> PathBuf {
    PathBuf::from("public")
}
fn default_theme() -> String {
    "default".into()
}
fn default_release_tags() -> String {
    "release/*".into()
}

#[derive(serde::Serialize, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SiteConfig {
    pub name: String,
    #[serde(default)]
    pub markets: Vec<String>,
    /// Global documents that do not apply at this site, each with the reason.
    #[serde(default)]
    pub exclude: BTreeMap<String, String>,
}

#[derive(serde::Serialize, Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TypeConfig {
    /// Heading of the group on a site's index, e.g. "Standard Operating Procedures".
    pub title: Option<String>,
    /// Position of the group on a site's index (lower first; then by type code).
    pub order: Option<i64>,
    pub id_pattern: Option<String>,
    #[serde(default)]
    pub approval_roles: Vec<String>,
    pub review_interval_months: Option<u32>,
}

#[derive(serde::Serialize, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ApproverConfig {
    pub name: String,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Sites this person may approve for; empty means any site.
    #[serde(default)]
    pub sites: Vec<String>,
    /// The first day this person's approvals count.
    pub valid_from: Option<toml::value::Datetime>,
    /// The last day this person's approvals count.
    pub valid_to: Option<toml::value::Datetime>,
    /// Public keys (OpenSSH format) whose signatures count as this person's.
    #[serde(default)]
    pub ssh_keys: Vec<String>,
}

impl ApproverConfig {
    /// Whether an approval dated `date` falls within valid-from and valid-to.
    pub fn valid_on(&self, date: time::Date) -> bool {
        let from = self.valid_from.as_ref().and_then(toml_date);
        let to = self.valid_to.as_ref().and_then(toml_date);
        from.is_none_or(|f| date >= f) && to.is_none_or(|t| date <= t)
    }
}

/// The calendar date of a TOML date (a date-time's date part).
fn toml_date(d: &toml::value::Datetime) -> Option<time::Date> {
    let d = d.date?;
    time::Date::from_calendar_date(
        i32::from(d.year),
        time::Month::try_from(d.month).ok()?,
        d.day,
    )
    .ok()
}

#[derive(serde::Serialize, Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MarketConfig {
    #[serde(default)]
    pub required_clauses: Vec<String>,
}

#[derive(
    serde::Serialize, Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    #[default]
    Declared,
    Recorded,
    Signed,
}

#[derive(serde::Serialize, Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReleaseConfig {
    #[serde(default)]
    pub approval_evidence: Evidence,
    /// Release tags that will never be published, each with the reason.
    #[serde(default)]
    pub withdrawn: BTreeMap<String, String>,
    /// Every document revised or added since the previous release needs a
    /// `Change-Control:` trailer in one of the commits that changed it.
    #[serde(default)]
    pub require_change_control: bool,
    /// What a release makes of a required clause a site does not cover.
    #[serde(default)]
    pub clause_gaps: ClauseGaps,
}

/// `[retention.<type>]`: the retention period of a document type and its source.
#[derive(serde::Serialize, Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RetentionConfig {
    pub years: u32,
    /// The requirement the period follows, e.g. "21 CFR 820.180: 2 years beyond the
    /// device's life".
    pub rule: String,
}

/// `[release] clause-gaps`: a required clause without a citing document is a warning
/// in a release, or an error that refuses it.
#[derive(serde::Serialize, Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ClauseGaps {
    #[default]
    Warn,
    Error,
}

impl Config {
    /// The link of a change-control id, when `[build] change-control-url` is set.
    pub fn change_control_href(&self, id: &str) -> Option<String> {
        let url = self.build.change_control_url.as_deref()?;
        let mut enc = String::new();
        for b in id.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                enc.push(b as char);
            } else {
                enc.push_str(&format!("%{b:02X}"));
            }
        }
        Some(url.replace("{id}", &enc))
    }

    /// Parses book.toml text. Syntax and schema errors come back as diagnostics
    /// located in `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Config, Diagnostics> {
        let mut diags = Diagnostics::new();
        let mut config: Config = match toml::from_str(text) {
            Ok(c) => c,
            Err(e) => {
                let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
                let message = e.message().trim().to_string();
                let mut d = Diagnostic::error(Code::Config, path, line, message.clone()).col(col);
                let this_line = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
                if let Some(h) =
                    crate::diag::serde_hint(&message).or_else(|| toml_hint(&message, this_line))
                {
                    d = d.help(h);
                }
                diags.push(d);
                return Err(diags);
            }
        };
        config.source = text.to_string();
        config.validate(path, &mut diags);
        if diags.has_errors() {
            Err(diags)
        } else {
            Ok(config)
        }
    }

    /// The levels `[diagnostics]` sets, by code (names that are not codes, or codes
    /// whose level is fixed, are reported by `validate` and left out here).
    pub fn levels(&self) -> BTreeMap<Code, crate::diag::Level> {
        self.diagnostics
            .iter()
            .filter_map(|(name, level)| Some((Code::parse(name)?, *level)))
            .filter(|(code, _)| code.class() != crate::diag::Class::Fixed)
            .collect()
    }

    fn validate(&self, path: &Path, diags: &mut Diagnostics) {
        for name in self.diagnostics.keys() {
            let line = self.line_of_in_table("[diagnostics]", name);
            match Code::parse(name) {
                None => diags.push(
                    Diagnostic::error(
                        Code::Config,
                        path,
                        line,
                        format!(
                            "'{name}' is not a diagnostic code{}",
                            crate::diag::did_you_mean(name, Code::ALL.iter().map(|c| c.name()))
                        ),
                    )
                    .help("the codes are listed in docs/diagnostics.md"),
                ),
                Some(code) if code.class() == crate::diag::Class::Fixed => diags.push(
                    Diagnostic::error(
                        Code::Config,
                        path,
                        line,
                        format!("the level of {} cannot be changed", code.name()),
                    )
                    .help(
                        "it reports input procsite cannot read or understand, which would be \
                         published wrong; fix the input instead",
                    ),
                ),
                Some(Code::ClauseGap) => diags.push(
                    Diagnostic::error(
                        Code::Config,
                        path,
                        line,
                        "the level of clause-gap is set in [release], not here",
                    )
                    .help(
                        "remove this line and write [release] clause-gaps = \"warn\" or \"error\"",
                    ),
                ),
                Some(_) => {}
            }
        }
        if let Some(url) = &self.build.change_control_url {
            let ok =
                (url.starts_with("https://") || url.starts_with("http://")) && url.contains("{id}");
            if !ok {
                diags.push(
                    Diagnostic::error(
                        Code::Config,
                        path,
                        self.line_of_in_table("[build]", "change-control-url"),
                        format!("change-control-url \"{url}\" is not an http(s) address with {{id}} in it"),
                    )
                    .help("write the address of one change-control record with {id} where its id goes, e.g. change-control-url = \"https://qms.example/cc/{id}\""),
                );
            }
        }
        if self.site.is_empty() {
            diags.push(
                Diagnostic::error(Code::Config, path, 0, "no sites are configured")
                    .help("add a [site.<id>] table with a name and markets"),
            );
        }
        for (id, site) in &self.site {
            if !is_slug(id) {
                let line = match self.line_of(&format!("[site.{id}]")) {
                    0 => self.line_of(&format!("[site.\"{id}\"]")),
                    n => n,
                };
                diags.push(
                    Diagnostic::error(
                        Code::Config,
                        path,
                        line,
                        format!("site id '{id}' is not a lowercase slug"),
                    )
                    .help("use lowercase letters, digits and '-', e.g. [site.cork]"),
                );
            }
            if let Some(why) = crate::layout::reserved_site_id(id) {
                diags.push(
                    Diagnostic::error(
                        Code::Config,
                        path,
                        self.line_of(&format!("[site.{id}]")),
                        format!("site id '{id}' cannot be used: {why}"),
                    )
                    .help("rename the site, e.g. [site.reporting]"),
                );
            }
            if site.name.trim().is_empty() {
                diags.push(Diagnostic::error(
                    Code::Config,
                    path,
                    self.line_of(&format!("[site.{id}]")),
                    format!("site '{id}' has an empty name"),
                ));
            }
            for (doc, reason) in &site.exclude {
                if reason.trim().is_empty() {
                    diags.push(
                        Diagnostic::error(
                            Code::Config,
                            path,
                            self.line_of_in_table(&format!("[site.{id}]"), doc),
                            format!("site '{id}' excludes {doc} without a reason"),
                        )
                        .help("write why the document does not apply at this site"),
                    );
                }
            }
        }
        for (tag, reason) in &self.release.withdrawn {
            if reason.trim().is_empty() {
                diags.push(
                    Diagnostic::error(Code::Config,
                        path,
                        self.line_of_in_table("[release]", tag),
                        format!("release tag {tag} is withdrawn without a reason"),
                    )
                    .help("write why the tag is never published, e.g. \"stale addendum found after tagging\""),
                );
            }
        }
        for (ty, r) in &self.retention {
            let header = format!("[retention.{ty}]");
            let line = match self.line_of(&header) {
                0 => self.line_of_in_table("[retention]", ty),
                _ => self.line_of(&header),
            };
            if r.years == 0 {
                diags.push(
                    Diagnostic::error(
                        Code::Config,
                        path,
                        self.line_of_in_table(&header, "years").max(line),
                        format!("the retention of type {ty} is 0 years"),
                    )
                    .help(
                        "write how many years the documents of this type are kept, e.g. years = 15",
                    ),
                );
            }
            if r.rule.trim().is_empty() {
                diags.push(
                    Diagnostic::error(
                        Code::Config,
                        path,
                        self.line_of_in_table(&header, "rule").max(line),
                        format!("the retention of type {ty} names no rule"),
                    )
                    .help("write the requirement it follows, e.g. rule = \"21 CFR 820.180: 2 years beyond the device's life\""),
                );
            }
        }
        for (code, ty) in &self.types {
            if let Some(p) = &ty.id_pattern {
                if let Err(e) = regex::Regex::new(p) {
                    let why = e.to_string();
                    let why = why
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim_start_matches("error: ");
                    diags.push(
                        Diagnostic::error(Code::Config,
                            path,
                            self.line_of_in_table(&format!("[types.{code}]"), "id-pattern"),
                            format!("id-pattern of type {code} is not a valid regular expression: {why}"),
                        )
                        .help("write a regular expression, e.g. id-pattern = \"^SOP-[0-9]{4}$\""),
                    );
                }
            }
        }
        self.validate_approvers(path, diags);
        for market in self.market.keys() {
            if !self.site.values().any(|s| s.markets.contains(market)) {
                diags.push(Diagnostic::warning(
                    Code::UnusedMarket,
                    path,
                    self.line_of(&format!("[market.{market}]")),
                    format!("market '{market}' is configured but no site serves it"),
                ));
            }
        }
    }

    /// The approver registry: dates that are dates, in order, and SSH public keys that
    /// procsite can verify signatures with, each registered for one person.
    fn validate_approvers(&self, path: &Path, diags: &mut Diagnostics) {
        let mut owners: BTreeMap<String, (&str, &str)> = BTreeMap::new();
        for (id, approver) in &self.approvers {
            let header = format!("[approvers.{id}]");
            for (field, value) in [
                ("valid-from", &approver.valid_from),
                ("valid-to", &approver.valid_to),
            ] {
                if let Some(v) = value
                    .as_ref()
                    .filter(|v| v.time.is_some() || v.date.is_none())
                {
                    diags.push(
                        Diagnostic::error(
                            Code::Config,
                            path,
                            self.line_of_in_table(&header, field),
                            format!("{field} of approver '{id}' is {v}, not a date"),
                        )
                        .help(format!(
                            "write a date without a time, e.g. {field} = 2026-01-01"
                        )),
                    );
                }
            }
            let from = approver.valid_from.as_ref().and_then(toml_date);
            let to = approver.valid_to.as_ref().and_then(toml_date);
            if let (Some(f), Some(t)) = (from, to) {
                if t < f {
                    diags.push(
                        Diagnostic::error(
                            Code::Config,
                            path,
                            self.line_of_in_table(&header, "valid-to"),
                            format!("valid-to of approver '{id}' ({t}) is before valid-from ({f})"),
                        )
                        .help("valid-to is the last day this person's approvals count; correct one of the dates"),
                    );
                }
            }
            for (n, key) in approver.ssh_keys.iter().enumerate() {
                let line = match key.split_whitespace().nth(1) {
                    Some(blob) if !blob.is_empty() => self.line_of_in_table(&header, blob),
                    _ => 0,
                };
                let line = match line {
                    0 => self.line_of_in_table(&header, "ssh-keys"),
                    l => l,
                };
                match crate::signature::parse_public_key(key) {
                    Ok(k) => {
                        let fp = crate::signature::fingerprint(&k);
                        match owners.get(&fp) {
                            Some((other, name)) if *name != approver.name => diags.push(
                                Diagnostic::error(
                                    Code::Config,
                                    path,
                                    line,
                                    format!(
                                        "the SSH key {fp} is registered for both '{other}' ({name}) and '{id}' ({}): a signature must name one person",
                                        approver.name
                                    ),
                                )
                                .help("each person signs with a key of their own; remove the key from the approver it does not belong to"),
                            ),
                            _ => {
                                owners.insert(fp, (id.as_str(), approver.name.as_str()));
                            }
                        }
                    }
                    Err(why) => {
                        let help = if why.starts_with("this is a private key") {
                            "remove it from book.toml now and replace the key pair, since the repository has exposed it; register only the public key: the one line of the .pub file".to_string()
                        } else {
                            format!(
                                "paste the one line of the public key file, e.g. ssh-keys = [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA… {}\"] from `cat ~/.ssh/id_ed25519.pub`; make one with `ssh-keygen -t ed25519`",
                                approver.emails.first().map_or("name", String::as_str)
                            )
                        };
                        diags.push(
                            Diagnostic::error(
                                Code::Config,
                                path,
                                line,
                                format!("ssh-keys of approver '{id}', key {}: {why}", n + 1),
                            )
                            .help(help),
                        );
                    }
                }
            }
        }
    }

    /// `[build] output` for the repository at `root`, as a user would write it.
    pub fn output_under(&self, root: &Path) -> PathBuf {
        if root == Path::new(".") {
            self.build.output.clone()
        } else {
            root.join(&self.build.output)
        }
    }

    /// Every market name a condition may use: those of the sites and of `[market.X]`.
    pub fn known_markets(&self) -> Vec<&str> {
        let mut m: Vec<&str> = self
            .site
            .values()
            .flat_map(|s| s.markets.iter().map(String::as_str))
            .chain(self.market.keys().map(String::as_str))
            .collect();
        m.sort();
        m.dedup();
        m
    }

    /// 1-based line of the first line of book.toml containing `needle`, or 0.
    /// A table header (`[site.cork]`) is matched only where a line starts with it, so
    /// a comment or a value that mentions it is not taken for it.
    pub fn line_of(&self, needle: &str) -> usize {
        self.source
            .lines()
            .position(|l| {
                if needle.starts_with('[') {
                    l.trim_start().starts_with(needle)
                } else {
                    l.contains(needle)
                }
            })
            .map_or(0, |i| i + 1)
    }

    /// 1-based line of `key` inside the table that starts with `header`, or of
    /// the header itself when the key is not found on its own line.
    pub fn line_of_in_table(&self, header: &str, key: &str) -> usize {
        let start = self.line_of(header);
        if start == 0 {
            return 0;
        }
        for (i, l) in self.source.lines().enumerate().skip(start) {
            if l.trim_start().starts_with('[') && !l.contains('{') {
                break;
            }
            if l.contains(key) {
                return i + 1;
            }
        }
        start
    }
}

/// How to fix a book.toml error the TOML parser describes in its own terms.
fn toml_hint(message: &str, line: &str) -> Option<String> {
    let key = line.split('=').next().unwrap_or("").trim();
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next())
    {
        return Some(if field == "book" {
            "start book.toml with a [book] table: [book] and, below it, title = \"…\"".into()
        } else {
            format!("add {field} = … to this table")
        });
    }
    if message.contains("expected a map") {
        return Some(if key == "exclude" {
            "write exclude as a table of reasons: exclude = { SOP-0140 = \"No sterilization at this site\" }".into()
        } else {
            format!("write {key} as a table: {key} = {{ name = value }}")
        });
    }
    if message.contains("expected a sequence") {
        return Some(format!("write {key} as a list: {key} = [\"a\", \"b\"]"));
    }
    if message.contains("TOML datetime") {
        return Some(format!("write the date without quotes: {key} = 2026-01-01"));
    }
    if message.contains("expected a string") {
        return Some(format!("quote the value: {key} = \"…\""));
    }
    Some("check the TOML syntax on this line: a value is `key = \"text\"` on one line, a list `[\"a\", \"b\"]`, a table header `[name]`".into())
}

pub fn is_slug(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Parses book.toml from the sources of a build.
pub fn load(sources: &crate::repo::scan::SourceSet) -> Result<Config, Diagnostics> {
    let rel = PathBuf::from(CONFIG_FILE);
    match sources.text(CONFIG_FILE) {
        Some(text) => Config::parse(&rel, &text),
        None => {
            let mut d = Diagnostics::new();
            d.push(
                Diagnostic::error(Code::Config, &rel, 0, "there is no book.toml")
                    .help("run procsite from the repository root, or pass --root DIR"),
            );
            Err(d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str =
        "[book]\ntitle = \"T\"\n[site.cork]\nname = \"Cork\"\nmarkets = [\"EU\"]\n";

    #[test]
    fn parses_minimal_config_with_defaults() {
        let c = Config::parse(Path::new("book.toml"), MINIMAL).unwrap();
        assert_eq!(c.build.output, PathBuf::from("public"));
        assert_eq!(c.site["cork"].markets, vec!["EU"]);
        assert_eq!(c.release.approval_evidence, Evidence::Declared);
    }

    #[test]
    fn unknown_key_is_located_and_hinted() {
        let text = format!("{MINIMAL}exclud = {{}}\n");
        let err = Config::parse(Path::new("book.toml"), &text)
            .unwrap_err()
            .into_sorted();
        let msg = err[0].to_string();
        assert!(
            msg.starts_with("book.toml:6:1: error[config]: unknown field `exclud`"),
            "{msg}"
        );
        assert!(msg.contains("did you mean 'exclude'"), "{msg}");
    }

    #[test]
    fn an_approver_is_valid_from_and_to_both_days_included() {
        let text = format!(
            "{MINIMAL}[approvers.j]\nname = \"J\"\nvalid-from = 2026-01-01\nvalid-to = 2026-12-31\n"
        );
        let c = Config::parse(Path::new("book.toml"), &text).unwrap();
        let j = &c.approvers["j"];
        let day = |y, m, d| {
            time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap()
        };
        assert!(!j.valid_on(day(2025, 12, 31)));
        assert!(j.valid_on(day(2026, 1, 1)));
        assert!(j.valid_on(day(2026, 12, 31)));
        assert!(!j.valid_on(day(2027, 1, 1)));
    }

    #[test]
    fn rejects_non_slug_site_ids() {
        let text = "[book]\ntitle = \"T\"\n[site.Cork]\nname = \"Cork\"\n";
        let err = Config::parse(Path::new("book.toml"), text)
            .unwrap_err()
            .into_sorted();
        assert_eq!(err[0].line, 3);
        assert!(err[0].message.contains("lowercase slug"));
    }
}

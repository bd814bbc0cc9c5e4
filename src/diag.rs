//! Diagnostics: every problem of a run is collected, sorted and printed together,
//! in the `file:line:col: severity: message` form editors and CI annotations read.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// Whether `[diagnostics]` in book.toml may change a code's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// The input could not be read or understood: the level cannot be changed, as
    /// what follows would be published wrong.
    Fixed,
    /// The level can be set to error, warn or allow.
    Adjustable,
    /// The level can be set outside release mode; a release build keeps it an error.
    Protected,
}

macro_rules! codes {
    ($( $variant:ident = $number:literal $name:literal $class:ident; )*) => {
        /// A diagnostic's stable code: its number (`PS0xx`) and its name, both listed
        /// in docs/diagnostics.md, and the name used in `[diagnostics]`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant),* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            pub fn number(self) -> &'static str {
                match self { $(Code::$variant => $number),* }
            }

            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name),* }
            }

            pub fn class(self) -> Class {
                match self { $(Code::$variant => Class::$class),* }
            }
        }
    };
}

codes! {
    Config = "PS001" "config" Fixed;
    UnreadableFile = "PS002" "unreadable-file" Fixed;
    NotARegularFile = "PS003" "not-a-regular-file" Fixed;
    IgnoredFile = "PS004" "ignored-file" Adjustable;
    UnknownSiteFolder = "PS005" "unknown-site-folder" Fixed;
    NoDocuments = "PS006" "no-documents" Fixed;
    Git = "PS007" "git" Fixed;
    ShallowClone = "PS008" "shallow-clone" Protected;
    DirtyTree = "PS009" "dirty-tree" Protected;
    NotChecked = "PS010" "not-checked" Fixed;
    FrontMatter = "PS020" "front-matter" Fixed;
    UnknownField = "PS021" "unknown-field" Fixed;
    MissingField = "PS022" "missing-field" Fixed;
    InvalidId = "PS023" "invalid-id" Fixed;
    DuplicateId = "PS024" "duplicate-id" Fixed;
    ReusedId = "PS025" "reused-id" Fixed;
    BlockSyntax = "PS030" "block-syntax" Fixed;
    UnknownCondition = "PS031" "unknown-condition" Fixed;
    UnknownAnchor = "PS032" "unknown-anchor" Fixed;
    EmptyReplace = "PS033" "empty-replace" Fixed;
    DuplicateAnchor = "PS034" "duplicate-anchor" Fixed;
    AddendumTarget = "PS035" "addendum-target" Fixed;
    ConflictingOperations = "PS036" "conflicting-operations" Fixed;
    AddendumNotApplied = "PS037" "addendum-not-applied" Adjustable;
    UnknownMarket = "PS040" "unknown-market" Fixed;
    UnusedMarket = "PS041" "unused-market" Adjustable;
    Exclusion = "PS042" "exclusion" Fixed;
    Supersedes = "PS043" "supersedes" Fixed;
    SupersedesUnknown = "PS044" "supersedes-unknown" Adjustable;
    FormerId = "PS045" "former-id" Fixed;
    NotInForce = "PS046" "not-in-force" Adjustable;
    ReviewOverdue = "PS047" "review-overdue" Adjustable;
    TypeRules = "PS048" "type-rules" Fixed;
    UnknownType = "PS049" "unknown-type" Protected;
    MissingApproval = "PS050" "missing-approval" Protected;
    StaleApproval = "PS051" "stale-approval" Protected;
    Approval = "PS052" "approval" Fixed;
    StaleAddendum = "PS053" "stale-addendum" Protected;
    ApprovalEvidence = "PS054" "approval-evidence" Protected;
    DeclaredApproval = "PS055" "declared-approval" Adjustable;
    BaseRevision = "PS056" "base-revision" Fixed;
    ToolVersion = "PS057" "tool-version" Fixed;
    NotReleasable = "PS058" "not-releasable" Fixed;
    ReleaseRefused = "PS059" "release-refused" Fixed;
    WithdrawnTag = "PS060" "withdrawn-tag" Adjustable;
    ReleasedVersionChanged = "PS061" "released-version-changed" Fixed;
    ReviewInterval = "PS062" "review-interval" Adjustable;
    ClauseGap = "PS063" "clause-gap" Protected;
    ExternalEdition = "PS064" "external-edition" Adjustable;
    BadSignature = "PS065" "bad-signature" Adjustable;
    ObsoleteRecord = "PS066" "obsolete-record" Protected;
    EffectiveBeforeApproval = "PS067" "effective-before-approval" Protected;
    MissingChangeControl = "PS068" "missing-change-control" Protected;
    ApproverAuthority = "PS069" "approver-authority" Protected;
    BrokenReferenceLink = "PS070" "broken-reference-link" Adjustable;
    BrokenFootnote = "PS071" "broken-footnote" Adjustable;
    LinkTarget = "PS072" "link-target" Fixed;
    DraftLink = "PS073" "draft-link" Protected;
    ObsoleteLink = "PS074" "obsolete-link" Protected;
    Output = "PS080" "output" Fixed;
    OutputNote = "PS081" "output-note" Fixed;
    Argument = "PS082" "argument" Fixed;
    Theme = "PS083" "theme" Fixed;
    Promote = "PS084" "promote" Fixed;
    ThemeStamp = "PS085" "theme-stamp" Protected;
}

impl Code {
    /// The code of a name or a number as written in `[diagnostics]`.
    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.name() == text || c.number().eq_ignore_ascii_case(text))
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// A level set in `[diagnostics]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warn,
    Allow,
}

/// One problem, located in a file of the repository.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// A note about the diagnostics before it (first field: it sorts them last).
    pub trailing: bool,
    pub file: PathBuf,
    /// 1-based; 0 when the problem concerns the whole file.
    pub line: usize,
    /// 1-based; 0 when unknown.
    pub col: usize,
    pub severity: Severity,
    pub message: String,
    /// How to fix it, shown on its own line.
    pub help: Option<String>,
    pub code: Code,
}

impl Diagnostic {
    pub fn error(
        code: Code,
        file: impl Into<PathBuf>,
        line: usize,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            trailing: false,
            file: file.into(),
            line,
            col: 0,
            severity: Severity::Error,
            message: message.into(),
            help: None,
            code,
        }
    }

    pub fn warning(
        code: Code,
        file: impl Into<PathBuf>,
        line: usize,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, file, line, message)
        }
    }

    /// An error in a release, a warning otherwise.
    pub fn release_error(
        release: bool,
        code: Code,
        file: impl Into<PathBuf>,
        line: usize,
        message: impl Into<String>,
    ) -> Self {
        if release {
            Diagnostic::error(code, file, line, message)
        } else {
            Diagnostic::warning(code, file, line, message)
        }
    }

    pub fn col(mut self, col: usize) -> Self {
        self.col = col;
        self
    }

    /// Printed after every other diagnostic, as it speaks of them.
    pub fn trailing(mut self) -> Self {
        self.trailing = true;
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Text from input made safe for a terminal: control characters (escape sequences,
/// a carriage return that would overwrite the line) are shown escaped.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(char::is_control) {
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", display_path(&self.file))?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.col > 0 {
                write!(f, ":{}", self.col)?;
            }
        }
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            ": {sev}[{}]: {}",
            self.code.name(),
            printable(&self.message)
        )?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {}", printable(help))?;
        }
        Ok(())
    }
}

/// Paths are printed with forward slashes so messages are the same on every platform.
pub fn display_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// A diagnostic's severity under the levels of `[diagnostics]`; `None` when allowed.
fn leveled(
    d: &Diagnostic,
    levels: &std::collections::BTreeMap<Code, Level>,
    release: bool,
) -> Option<Severity> {
    let Some(level) = levels.get(&d.code) else {
        return Some(d.severity);
    };
    match (d.code.class(), level) {
        (Class::Fixed, _) => Some(d.severity),
        (Class::Protected, _) if release => Some(d.severity),
        (_, Level::Allow) => None,
        (_, Level::Warn) => Some(Severity::Warning),
        (_, Level::Error) => Some(Severity::Error),
    }
}

/// The diagnostics of a run. Stages push into it and carry on, so one run reports
/// every problem at once.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

/// The diagnostics in the order they were pushed.
impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(other);
    }

    /// Whether any diagnostic's message starts with `prefix`.
    pub fn any_starts_with(&self, prefix: &str) -> bool {
        self.items.iter().any(|d| d.message.starts_with(prefix))
    }

    /// Applies the levels of `[diagnostics]`: `allow` drops a diagnostic, `warn` and
    /// `error` set its severity. In a release, protected codes keep their severity.
    pub fn apply_levels(
        &mut self,
        levels: &std::collections::BTreeMap<Code, Level>,
        release: bool,
    ) {
        if levels.is_empty() {
            return;
        }
        self.items
            .retain_mut(|d| match leveled(d, levels, release) {
                Some(severity) => {
                    d.severity = severity;
                    true
                }
                None => false,
            });
    }

    /// Whether any diagnostic is an error once the levels of `[diagnostics]` apply.
    pub fn has_errors_leveled(
        &self,
        levels: &std::collections::BTreeMap<Code, Level>,
        release: bool,
    ) -> bool {
        self.items
            .iter()
            .any(|d| leveled(d, levels, release) == Some(Severity::Error))
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Sorted by file, line and column, duplicates removed.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort();
        self.items.dedup();
        self.items
    }
}

/// "did you mean" for a misspelt name among the known ones.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| {
            // A prefix of a long name ("respons") is as good as a typo.
            let d = if word.len() >= 4 && c.starts_with(word) {
                1
            } else {
                strsim::damerau_levenshtein(word, c)
            };
            (d, c)
        })
        .filter(|(d, c)| *d <= 1.max(c.len() / 3) && *d < c.len().max(word.len()))
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// "did you mean 'x'?" or an empty string, for appending to messages.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match suggest(word, candidates) {
        Some(s) => format!(" (did you mean '{s}'?)"),
        None => String::new(),
    }
}

/// Turns serde's "unknown field `x`, expected one of `a`, `b`" into a
/// "did you mean" hint, so TOML and YAML errors read alike.
pub fn serde_hint(message: &str) -> Option<String> {
    let start = ["unknown field `", "unknown variant `"]
        .iter()
        .find_map(|p| message.find(p).map(|i| i + p.len()))?;
    let rest = &message[start..];
    let (field, rest) = rest.split_once('`')?;
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    match suggest(field, expected.iter().copied()) {
        Some(s) => Some(format!("did you mean '{s}'?")),
        None if !expected.is_empty() => Some(format!("allowed: {}", expected.join(", "))),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_compilers() {
        let d = Diagnostic::error(
            Code::UnknownField,
            "procedures/a.md",
            14,
            "unknown field 'efective'",
        )
        .col(3)
        .help("rename it");
        assert_eq!(
            d.to_string(),
            "procedures/a.md:14:3: error[unknown-field]: unknown field 'efective'\n  help: rename it"
        );
    }

    #[test]
    fn control_characters_from_input_are_escaped() {
        let d = Diagnostic::error(
            Code::UnknownMarket,
            "a.md",
            1,
            "unknown market '\u{1b}[31mEU\r'",
        );
        assert_eq!(
            d.to_string(),
            "a.md:1: error[unknown-market]: unknown market '\\u{1b}[31mEU\\r'"
        );
    }

    #[test]
    fn suggests_close_names_only() {
        let known = ["effective", "review-due", "title"];
        assert_eq!(suggest("efective", known), Some("effective"));
        assert_eq!(suggest("titel", known), Some("title"));
        assert_eq!(suggest("zzz", known), None);
    }
}

#[cfg(test)]
mod documented {
    use super::*;

    /// docs/diagnostics.md has one heading per code, with its number, name and class,
    /// and no heading for a code that does not exist.
    #[test]
    fn every_code_is_documented_and_every_documented_code_exists() {
        let docs = include_str!("../docs/diagnostics.md");
        let headings: Vec<&str> = docs
            .lines()
            .filter_map(|l| l.strip_prefix("### "))
            .collect();
        let expected: Vec<String> = Code::ALL
            .iter()
            .map(|c| format!("{} {}", c.number(), c.name()))
            .collect();
        assert_eq!(headings, expected);
        for c in Code::ALL {
            let heading = format!("### {} {}\n\n*{:?}.*", c.number(), c.name(), c.class());
            assert!(docs.contains(&heading), "{heading}");
        }
        let mut numbers: Vec<&str> = Code::ALL.iter().map(|c| c.number()).collect();
        numbers.dedup();
        assert_eq!(numbers.len(), Code::ALL.len());
    }
}

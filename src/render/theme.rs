//! Themes: the embedded default theme, and user themes under `themes/<name>/`
//! that replace single templates or extend the default and override blocks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diag::{display_path, Code, Diagnostic, Diagnostics};
use crate::repo::scan::{normalize_newlines, SourceSet, THEMES_DIR};

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../themes/default/", $name)))),*]
    };
}

/// The default theme, compiled into the binary.
const DEFAULT_FILES: &[(&str, &str)] = embedded![
    "templates/base.html",
    "templates/portal.html",
    "templates/versions.html",
    "templates/index.html",
    "templates/page.html",
    "templates/diff.html",
    "templates/history.html",
    "templates/history-table.html",
    "templates/harmonization.html",
    "templates/changes.html",
    "templates/diffreport.html",
    "templates/macros.html",
    "templates/search.html",
    "templates/site-header.html",
    "static/style.css",
    "static/procsite.js",
];

pub const DEFAULT_THEME: &str = "default";

pub struct Theme {
    /// Shared with the next build of a process that keeps it ([`compiled`]).
    pub tera: std::sync::Arc<tera::Tera>,
    /// Static files, path relative to the static folder → bytes.
    pub statics: BTreeMap<String, Vec<u8>>,
    /// SHA-256 of every template's name and text: two themes that render alike.
    pub fingerprint: String,
    /// The lines of the theme's own templates that say what the build was made from
    /// where a document's pages would not know it ([`unaware_of_document_pages`]).
    pub unaware: Vec<(PathBuf, usize)>,
}

/// Loads the theme named in book.toml. `default` is the embedded theme; any other
/// name is a folder `themes/<name>/` of the sources whose files take precedence.
/// `line` is where book.toml names the theme, for the diagnostic when it is missing.
pub fn load(
    sources: &SourceSet,
    name: &str,
    line: usize,
    diags: &mut Diagnostics,
) -> Option<Theme> {
    let mut templates: BTreeMap<String, String> = BTreeMap::new();
    let mut statics: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut unaware = Vec::new();
    let mut refused = false;
    for (path, text) in DEFAULT_FILES {
        if let Some(t) = path.strip_prefix("templates/") {
            templates.insert(format!("default/{t}"), text.to_string());
            templates.insert(t.to_string(), text.to_string());
        } else if let Some(s) = path.strip_prefix("static/") {
            statics.insert(s.to_string(), text.as_bytes().to_vec());
        }
    }
    if name != DEFAULT_THEME {
        let dir = PathBuf::from(THEMES_DIR).join(name);
        let mut found = false;
        for (path, bytes) in sources.raw.range(dir.clone()..) {
            let Ok(inner) = path.strip_prefix(&dir) else {
                break;
            };
            found = true;
            let inner = inner.to_string_lossy().replace('\\', "/");
            if let Some(t) = inner.strip_prefix("templates/") {
                match String::from_utf8(bytes.clone()) {
                    Ok(text) => {
                        refused |= !read_template(path, t, &text, &mut unaware, diags);
                        templates.insert(t.to_string(), normalize_newlines(text));
                    }
                    Err(_) => diags.push(Diagnostic::error(
                        Code::Theme,
                        path,
                        0,
                        "template is not valid UTF-8",
                    )),
                }
            } else if let Some(s) = inner.strip_prefix("static/") {
                statics.insert(s.to_string(), bytes.clone());
            }
        }
        if !found {
            diags.push(
                Diagnostic::error(
                    Code::Theme,
                    crate::config::CONFIG_FILE,
                    line,
                    format!(
                        "theme '{name}' not found: there is no folder {}",
                        display_path(&dir)
                    ),
                )
                .help("create the folder with templates/ and static/, or set theme = \"default\""),
            );
            return None;
        }
    }
    if refused {
        return None;
    }
    let tera = match compiled(&templates) {
        Ok(tera) => tera,
        Err(e) => {
            diags.push(
                Diagnostic::error(
                    Code::Theme,
                    PathBuf::from("themes").join(name),
                    0,
                    format!("theme templates do not compile: {}", error_chain(&e)),
                )
                .help("fix the template named in the message"),
            );
            return None;
        }
    };
    let mut fingerprint = crate::manifest::FieldHash::default();
    fingerprint.field(&templates.len().to_le_bytes());
    for (name, text) in &templates {
        fingerprint.field(name.as_bytes()).field(text.as_bytes());
    }
    let fingerprint = fingerprint.finish_hex();
    Some(Theme {
        tera,
        statics,
        fingerprint,
        unaware,
    })
}

/// `templates` (name → text) compiled, with procsite's filter and function. A
/// process that keeps what a build made for the next ([`crate::keep_between_builds`]:
/// `serve`) keeps the last templates compiled, and takes them again while every
/// template's name and text are the same.
fn compiled(
    templates: &BTreeMap<String, String>,
) -> Result<std::sync::Arc<tera::Tera>, tera::Error> {
    static KEPT: std::sync::Mutex<KeptTemplates> = std::sync::Mutex::new(None);
    compiled_kept(templates, crate::keeps_between_builds().then_some(&KEPT))
}

/// The last templates compiled, by name and text.
type KeptTemplates = Option<(BTreeMap<String, String>, std::sync::Arc<tera::Tera>)>;

/// [`compiled`], taken from `keep` while every template's name and text are those it
/// holds.
fn compiled_kept(
    templates: &BTreeMap<String, String>,
    keep: Option<&std::sync::Mutex<KeptTemplates>>,
) -> Result<std::sync::Arc<tera::Tera>, tera::Error> {
    if let Some(keep) = keep {
        let kept = keep.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, tera)) = kept.as_ref().filter(|(t, _)| t == templates) {
            return Ok(std::sync::Arc::clone(tera));
        }
    }
    let mut tera = tera::Tera::default();
    tera.add_raw_templates(templates.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    tera.register_filter("css_string", css_string_filter);
    // A page is made of the repository's content only: the same commit builds the
    // same bytes on any machine, and a page made of the same view is the same page.
    tera.register_function(
        "get_env",
        |_: &std::collections::HashMap<String, tera::Value>| {
            tera::Result::<tera::Value>::Err(tera::Error::msg(GET_ENV))
        },
    );
    let tera = std::sync::Arc::new(tera);
    if let Some(keep) = keep {
        *keep.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((templates.clone(), std::sync::Arc::clone(&tera)));
    }
    Ok(tera)
}

/// Text as a quoted CSS string, for `content:` in a `<style>` element: quotes and
/// backslashes escaped, line breaks as `\A`, and `<` as `\3C` so no text can close the
/// element. Templates mark the result `| safe`.
pub fn css_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\A "),
            '<' | '>' | '&' => out.push_str(&format!("\\{:X} ", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\{:X} ", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The templates that make only the pages of a whole version or output (which get
/// the build's whole stamp); every other template can be part of a document's pages
/// (its page, history and comparison): the built-in `base.html` and its parts, and
/// any part a theme adds.
const VERSION_PAGE_TEMPLATES: &[&str] = &[
    "index.html",
    "changes.html",
    "harmonization.html",
    "portal.html",
    "versions.html",
    "diffreport.html",
];

/// A theme template's problems found as it is read: `get_env` (refused), and where
/// it says what the build was made from (its commit, whether the tree was dirty, the
/// ref) in a template that can be part of a document's pages without testing
/// `build.document_page`. Those pages are not given the build's commit, so a branch
/// taken when `build.commit` is empty would say they were built from uncommitted
/// files: the line is kept in [`Theme::unaware`]. `false` when the template is
/// refused.
fn read_template(
    path: &Path,
    name: &str,
    text: &str,
    unaware: &mut Vec<(PathBuf, usize)>,
    diags: &mut Diagnostics,
) -> bool {
    let line_of = |needles: &[&str]| {
        text.lines()
            .position(|l| needles.iter().any(|n| l.contains(n)))
            .map(|i| i + 1)
    };
    if !VERSION_PAGE_TEMPLATES.contains(&name) && !text.contains("document_page") {
        if let Some(line) = line_of(&["build.commit", "build.dirty", "build.refname"]) {
            unaware.push((path.to_path_buf(), line));
        }
    }
    if let Some(line) = line_of(&["get_env"]) {
        diags.push(
            Diagnostic::error(Code::Theme, path, line, GET_ENV)
                .help("take the value from book.toml or a document instead"),
        );
        return false;
    }
    true
}

/// Why `get_env` is refused.
const GET_ENV: &str = "get_env is not available: a page is made of the repository's content only, so that one commit builds the same bytes on any machine";

/// The diagnostics of [`Theme::unaware`]: an error in a release, whose document pages
/// would say they were built from uncommitted files; a warning otherwise.
pub fn unaware_of_document_pages(theme: &Theme, release: bool, diags: &mut Diagnostics) {
    for (path, line) in &theme.unaware {
        diags.push(
            Diagnostic::release_error(
                release,
                Code::ThemeStamp,
                path,
                *line,
                "the template says what the build was made from without testing build.document_page: a document's pages (its page, history and comparison) are not given the build's commit, and a branch taken when build.commit is empty would say they were built from uncommitted files",
            )
            .help("test build.document_page first, as the built-in base.html does: a document's page names its own source commit, and the version's index the build's"),
        );
    }
}

fn css_string_filter(
    value: &tera::Value,
    _: &std::collections::HashMap<String, tera::Value>,
) -> tera::Result<tera::Value> {
    match value.as_str() {
        Some(s) => Ok(tera::Value::String(css_string(s))),
        None => Err(tera::Error::msg("css_string takes a string")),
    }
}

/// Tera's errors nest their cause; show the whole chain on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_templates_are_taken_only_while_every_name_and_text_is_the_same() {
        let keep = std::sync::Mutex::new(None);
        let templates = |list: &[(&str, &str)]| -> BTreeMap<String, String> {
            list.iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect()
        };
        let page = templates(&[("page.html", "{{ a }}"), ("index.html", "i")]);
        let first = compiled_kept(&page, Some(&keep)).unwrap();
        let again = compiled_kept(&page, Some(&keep)).unwrap();
        assert!(std::sync::Arc::ptr_eq(&first, &again));
        let mut last = again;
        for other in [
            templates(&[("page.html", "{{ b }}"), ("index.html", "i")]),
            templates(&[
                ("page.html", "{{ b }}"),
                ("index.html", "i"),
                ("x.html", ""),
            ]),
            templates(&[("page.html", "{{ b }}")]),
            templates(&[("page2.html", "{{ b }}")]),
        ] {
            let made = compiled_kept(&other, Some(&keep)).unwrap();
            assert!(!std::sync::Arc::ptr_eq(&last, &made), "{other:?}");
            assert_eq!(
                made.get_template_names()
                    .collect::<std::collections::BTreeSet<_>>(),
                other.keys().map(String::as_str).collect()
            );
            last = made;
        }
        // Without a keep, nothing is kept.
        let a = compiled_kept(&page, None).unwrap();
        assert!(!std::sync::Arc::ptr_eq(
            &a,
            &compiled_kept(&page, None).unwrap()
        ));
    }

    #[test]
    fn css_strings_cannot_end_the_string_or_the_style_element() {
        assert_eq!(css_string("Cork (IE)"), "\"Cork (IE)\"");
        assert_eq!(
            css_string("a \"b\" \\ c\nd</style><script>"),
            "\"a \\\"b\\\" \\\\ c\\A d\\3C /style\\3E \\3C script\\3E \""
        );
        assert_eq!(css_string("tab\there"), "\"tab\\9 here\"");
    }
}

//! Themes: the embedded default theme, and user themes under `themes/<name>/`
//! that replace single templates or extend the default and override blocks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Diagnostics};

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../themes/default/", $name)))),*]
    };
}

/// The default theme, compiled into the binary.
const DEFAULT_FILES: &[(&str, &str)] = embedded![
    "templates/base.html",
    "templates/portal.html",
    "templates/index.html",
    "templates/page.html",
    "templates/macros.html",
    "static/style.css",
    "static/procsite.js",
];

pub const DEFAULT_THEME: &str = "default";

pub struct Theme {
    pub tera: tera::Tera,
    /// Static files, path relative to the static folder → bytes.
    pub statics: BTreeMap<String, Vec<u8>>,
}

/// Loads the theme named in book.toml. `default` is the embedded theme; any other
/// name is a folder under `<root>/themes/` whose files take precedence.
pub fn load(root: &Path, name: &str, diags: &mut Diagnostics) -> Option<Theme> {
    let mut templates: BTreeMap<String, String> = BTreeMap::new();
    let mut statics: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (path, text) in DEFAULT_FILES {
        if let Some(t) = path.strip_prefix("templates/") {
            templates.insert(format!("default/{t}"), text.to_string());
            templates.insert(t.to_string(), text.to_string());
        } else if let Some(s) = path.strip_prefix("static/") {
            statics.insert(s.to_string(), text.as_bytes().to_vec());
        }
    }
    if name != DEFAULT_THEME {
        let dir = root.join("themes").join(name);
        let rel = PathBuf::from("themes").join(name);
        if !dir.is_dir() {
            diags.push(
                Diagnostic::error(
                    crate::config::CONFIG_FILE,
                    0,
                    format!(
                        "theme '{name}' not found: there is no folder {}",
                        crate::diag::display_path(&rel)
                    ),
                )
                .help("create the folder with templates/ and static/, or set theme = \"default\""),
            );
            return None;
        }
        for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    diags.push(Diagnostic::error(
                        &rel,
                        0,
                        format!("cannot read theme: {e}"),
                    ));
                    continue;
                }
            };
            if !entry.file_type().is_file() {
                continue;
            }
            let inner = entry.path().strip_prefix(&dir).unwrap_or(entry.path());
            let inner_s = inner.to_string_lossy().replace('\\', "/");
            if let Some(t) = inner_s.strip_prefix("templates/") {
                match crate::fs::read_to_string(entry.path()) {
                    Ok(text) => {
                        templates.insert(t.to_string(), text);
                    }
                    Err(e) => diags.push(Diagnostic::error(rel.join(inner), 0, e.to_string())),
                }
            } else if let Some(s) = inner_s.strip_prefix("static/") {
                match crate::fs::read(entry.path()) {
                    Ok(bytes) => {
                        statics.insert(s.to_string(), bytes);
                    }
                    Err(e) => diags.push(Diagnostic::error(rel.join(inner), 0, e.to_string())),
                }
            }
        }
    }
    let mut tera = tera::Tera::default();
    if let Err(e) = tera.add_raw_templates(templates.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    {
        diags.push(
            Diagnostic::error(
                PathBuf::from("themes").join(name),
                0,
                format!("theme templates do not compile: {}", error_chain(&e)),
            )
            .help("fix the template named in the message"),
        );
        return None;
    }
    Some(Theme { tera, statics })
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

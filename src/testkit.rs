//! Fixtures for unit tests: a configuration and a parsed corpus from texts in memory.

use std::path::PathBuf;

use crate::config::Config;
use crate::diag::Diagnostics;
use crate::parse::Corpus;
use crate::repo::scan::SourceSet;

pub const BOOK: &str = "[book]\ntitle = \"T\"\n\n[site.cork]\nname = \"Cork\"\nmarkets = [\"EU\"]\n\n[site.boston]\nname = \"Boston\"\nmarkets = [\"FDA\"]\n";

/// The source set of `files` (path, text).
pub fn sources<T: AsRef<str>>(files: &[(&str, T)], diags: &mut Diagnostics) -> SourceSet {
    let items = files
        .iter()
        .map(|(p, t)| (PathBuf::from(p), t.as_ref().as_bytes().to_vec()))
        .collect();
    SourceSet::from_bytes(items, diags)
}

/// Parses `files` (path, text) with `book` as book.toml; panics on any error.
pub fn corpus(book: &str, files: &[(&str, &str)]) -> (Config, Corpus) {
    let config = Config::parse(std::path::Path::new("book.toml"), book).expect("book.toml");
    let mut diags = Diagnostics::new();
    let sources = sources(files, &mut diags);
    let corpus = crate::parse::parse_corpus(&sources, &config, &mut diags);
    assert!(!diags.has_errors(), "{:?}", diags.into_sorted());
    (config, corpus)
}

/// A global document with the given front-matter extras and body.
pub fn doc(id: &str, extra: &str, body: &str) -> String {
    format!("---\nid: {id}\ntitle: T {id}\ntype: SOP\nstatus: approved\neffective: 2026-01-01\napprovals:\n  - {{ name: J, role: R, date: 2025-12-01 }}\n{extra}---\n{body}")
}

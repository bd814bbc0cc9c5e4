//! Any global document and addendum (the input split at its first NUL byte): parsing
//! and composing them for a site never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};

const BOOK: &str = "[book]\ntitle = \"T\"\n[site.cork]\nname = \"Cork\"\nmarkets = [\"EU\"]\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (global, addendum) = text.split_once('\0').unwrap_or((text, ""));
    let config = procsite::config::Config::parse(Path::new("book.toml"), BOOK).unwrap();
    let mut d = procsite::diag::Diagnostics::new();
    let files = vec![
        (
            PathBuf::from("procedures/global/a.md"),
            format!("---\nid: SOP-1\ntitle: T\nstatus: draft\n---\n{global}").into_bytes(),
        ),
        (
            PathBuf::from("procedures/sites/cork/a.md"),
            format!("---\naddendum-to: SOP-1\nrationale: r\nstatus: draft\n---\n{addendum}")
                .into_bytes(),
        ),
    ];
    let sources = procsite::repo::scan::SourceSet::from_bytes(files, &mut d);
    let corpus = procsite::parse::parse_corpus(&sources, &config, &mut d);
    let markets = vec!["EU".to_string()];
    let ctx = procsite::parse::blocks::SiteCtx {
        id: "cork",
        name: "Cork",
        markets: &markets,
    };
    if let Some(doc) = corpus.documents.first() {
        let _ = procsite::compose::compose(doc, corpus.addenda.first(), &ctx, &mut d);
    }
});

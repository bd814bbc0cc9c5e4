//! Any body: the `:::` block parser never panics, and keeps its lines in order.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

const BOOK: &str = "[book]\ntitle = \"T\"\n[site.cork]\nname = \"Cork\"\nmarkets = [\"EU\"]\n";

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let config = procsite::config::Config::parse(Path::new("book.toml"), BOOK).unwrap();
    let mut d = procsite::diag::Diagnostics::new();
    for is_addendum in [false, true] {
        let nodes = procsite::parse::blocks::parse_body(
            Path::new("a.md"),
            body,
            7,
            is_addendum,
            &config,
            &mut d,
        );
        let mut lines = Vec::new();
        procsite::parse::blocks::flatten_all(&nodes, &mut lines);
        assert!(lines.windows(2).all(|w| w[0].no < w[1].no));
    }
});

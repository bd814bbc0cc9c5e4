//! Any text given as a document: splitting and parsing its front-matter never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = procsite::parse::frontmatter::split(text);
        let mut d = procsite::diag::Diagnostics::new();
        let _ =
            procsite::parse::frontmatter::parse_file(std::path::Path::new("a.md"), text, &mut d);
    }
});

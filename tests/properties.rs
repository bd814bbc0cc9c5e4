//! Properties that hold for any input, checked on generated cases (a bounded number
//! per run, so the suite stays fast): no panic, unique anchors, and composition that
//! never loses or duplicates a line of the global text.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use procsite::compose::compose;
use procsite::config::Config;
use procsite::diag::Diagnostics;
use procsite::parse::blocks::{parse_body, SiteCtx};
use procsite::parse::markdown::{assign_anchors, headings, Slugs};
use procsite::parse::{frontmatter, parse_corpus};
use procsite::repo::scan::SourceSet;

const BOOK: &str = "[book]\ntitle = \"T\"\n[site.cork]\nname = \"Cork\"\nmarkets = [\"EU\"]\n";

fn config() -> Config {
    Config::parse(Path::new("book.toml"), BOOK).unwrap()
}

/// Lines built from the tokens that matter to the parsers.
fn tricky_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("::: only market=EU".to_string()),
        Just("::: except market=EU".to_string()),
        Just("::: append #a0".to_string()),
        Just(":::".to_string()),
        Just("::::".to_string()),
        Just("```".to_string()),
        Just("---".to_string()),
        Just("## Same".to_string()),
        Just("> quote".to_string()),
        Just("- item".to_string()),
        "[a-z #{}:>|-]{0,12}",
    ]
}

fn cases() -> ProptestConfig {
    ProptestConfig {
        cases: 200,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn front_matter_splitting_never_panics(text in "(---\n)?[ -~\n]{0,200}") {
        if let Ok(split) = frontmatter::split(&text) {
            prop_assert!(text.contains(split.yaml));
            prop_assert!(text.ends_with(split.body));
        }
    }

    #[test]
    fn the_block_parser_never_panics_and_keeps_line_order(lines in prop::collection::vec(tricky_line(), 0..60)) {
        let body = lines.join("\n");
        let mut d = Diagnostics::new();
        let nodes = parse_body(Path::new("a.md"), &body, 7, true, &config(), &mut d);
        let mut all = Vec::new();
        procsite::parse::blocks::flatten_all(&nodes, &mut all);
        prop_assert!(all.windows(2).all(|w| w[0].no < w[1].no));
    }

    #[test]
    fn anchors_are_unique_whatever_the_headings(titles in prop::collection::vec("(Same|Other|same-1|[A-Za-z ]{1,6})", 0..80)) {
        let lines: Vec<String> = titles.iter().map(|t| format!("## {t}")).collect();
        let hs = headings(lines.iter().map(String::as_str));
        let anchors = assign_anchors(&hs, &mut Slugs::default());
        let unique: std::collections::BTreeSet<&String> = anchors.iter().collect();
        prop_assert_eq!(unique.len(), anchors.len());
    }

    #[test]
    fn composition_keeps_every_global_line_once_and_in_order(
        sections in prop::collection::vec(prop::collection::vec("[a-z]{1,8}( [a-z]{1,8}){0,3}", 1..4), 1..6),
        target in 0usize..6,
        op in prop_oneof![Just("append"), Just("prepend"), Just("insert-before"), Just("insert-after")],
    ) {
        let mut body = String::new();
        for (i, lines) in sections.iter().enumerate() {
            body.push_str(&format!("## Section {i} {{#a{i}}}\n"));
            for l in lines {
                body.push_str(&format!("{l}\n\n"));
            }
        }
        let target = target % sections.len();
        let addendum = format!(
            "---\naddendum-to: SOP-1\nrationale: r\nstatus: draft\n---\n::: {op} #a{target}\nSITE LINE\n:::\n"
        );
        let files = vec![
            (PathBuf::from("procedures/global/a.md"), format!("---\nid: SOP-1\ntitle: T\nstatus: draft\n---\n{body}").into_bytes()),
            (PathBuf::from("procedures/sites/cork/a.md"), addendum.into_bytes()),
        ];
        let mut d = Diagnostics::new();
        let config = config();
        let sources = SourceSet::from_bytes(files, &mut d);
        let corpus = parse_corpus(&sources, &config, &mut d);
        prop_assert!(!d.has_errors(), "{:?}", d.into_sorted());
        let markets = vec!["EU".to_string()];
        let ctx = SiteCtx { id: "cork", name: "Cork", markets: &markets };
        let doc = &corpus.documents[0];
        // Without an addendum, the site publishes the global text as it is.
        let plain = compose(doc, None, &ctx, &mut Diagnostics::new());
        prop_assert_eq!(plain.markdown.trim_end(), body.trim_end());
        // With one, every global line is still there once, in order, and the site line once.
        let adapted = compose(doc, corpus.addenda.first().map(|a| &**a), &ctx, &mut Diagnostics::new());
        let global: Vec<&str> = body.lines().filter(|l| !l.is_empty()).collect();
        let published: Vec<&str> = adapted.markdown.lines().filter(|l| !l.is_empty()).collect();
        let without_site: Vec<&str> = published.iter().copied().filter(|l| *l != "SITE LINE").collect();
        prop_assert_eq!(without_site, global);
        prop_assert_eq!(published.iter().filter(|l| **l == "SITE LINE").count(), 1);
    }
}

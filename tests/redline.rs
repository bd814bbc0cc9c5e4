//! Redlines: the newer text as it reads with the changes marked, snapshotted for a
//! changed paragraph, list item and table cell, a moved, an added and a removed
//! section, and a code block.

mod common;

use common::assert_snapshot;

const OLD: &str = "\
# Purpose

This procedure defines how **corrective and preventive actions** are raised.

## Scope {#scope}

Applies to all sites.

## Responsibilities {#responsibilities}

- The CAPA owner investigates within 30 days.
- Quality approves the plan.
- The site head is informed.

| Role | Task | Due |
|---|---|---|
| Owner | Investigate | 30 days |
| QA | Approve | 5 days |

## Records {#records}

Keep records for 5 years.

```text
CAPA-YYYY-NNN
owner: name
```

## Training {#training}

All staff read this SOP.
";

const NEW: &str = "\
# Purpose

This procedure defines how **corrective and preventive actions** are raised and closed.

## Responsibilities {#responsibilities}

- The CAPA owner investigates within 15 days.
- Quality approves the plan.
- Regulatory assesses reportability.

| Role | Task | Due |
|---|---|---|
| Owner | Investigate | 15 days |
| QA | Approve | 5 days |
| RA | Assess | 2 days |

## Scope {#scope}

Applies to all sites.

## Training {#training}

All staff read this SOP.

## Effectiveness checks {#effectiveness}

Verify effectiveness after 90 days.
";

#[test]
fn a_redline_marks_words_blocks_and_sections() {
    let r = procsite::redline::redline(OLD, NEW);
    assert_snapshot("redline.html", &r.html);
    assert_eq!(
        serde_json::to_value(r.stats).unwrap(),
        serde_json::json!({
            "words_inserted": 18,
            "words_deleted": 18,
            "sections_added": 1,
            "sections_removed": 1,
            "sections_moved": 1,
        })
    );
}

#[test]
fn a_renamed_heading_keeps_its_section_and_a_code_block_changes_by_line() {
    let old = "## Records\n\nKeep records.\n\n```\nline one\nline two\n```\n";
    let new = "## Records and archives\n\nKeep records.\n\n```\nline one\nline 2\n```\n";
    let r = procsite::redline::redline(old, new);
    assert_eq!(
        r.html,
        "<h2>Records <ins>and archives</ins></h2>\n<p>Keep records.</p>\n<pre><code>line one\n<del>line two</del>\n<ins>line 2</ins>\n</code></pre>\n"
    );
    assert_eq!(r.stats.sections_added + r.stats.sections_removed, 0);
}

#[test]
fn links_and_raw_html_stay_harmless() {
    let old = "See [SOP-0001](SOP-0001) now.\n";
    let new = "See [SOP-0002](SOP-0002) now. <script>alert(1)</script>\n";
    let r = procsite::redline::redline(old, new);
    assert_eq!(
        r.html,
        "<p>See SOP-<del>0001</del><ins>0002</ins> now. </p>\n"
    );
}

#[test]
fn a_redline_is_the_same_every_time() {
    let a = procsite::redline::redline(OLD, NEW);
    for _ in 0..3 {
        assert_eq!(procsite::redline::redline(OLD, NEW), a);
    }
}

#[test]
fn huge_inputs_stay_bounded() {
    // Thousands of identical headings pair by their numbered anchors.
    let old: String = (0..20_000)
        .map(|i| format!("## Step\n\nText {i}.\n\n"))
        .collect();
    let new = old.replacen("Text 7.", "Text seven.", 1);
    let r = procsite::redline::redline(&old, &new);
    assert_eq!(r.stats.words_inserted, 1);
    assert_eq!(r.stats.sections_moved + r.stats.sections_added, 0);
    // A paragraph too long to compare word by word is shown replaced whole.
    let a = "word ".repeat(8_000);
    let b = "other ".repeat(8_000);
    let r = procsite::redline::redline(&a, &b);
    assert_eq!(
        (r.stats.words_deleted, r.stats.words_inserted),
        (8_000, 8_000)
    );
    assert!(r.html.starts_with("<p><del>word word"), "{}", &r.html[..40]);
}

//! `classification` and `training` in a document's front-matter: shown in the header
//! and the print footer; wrong values are errors at their line.

mod common;
use common::*;

#[test]
fn classification_and_training_are_shown_in_the_header_and_print_footer() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &doc(
            "SOP-0030",
            "Batch Release",
            "classification: confidential\ntraining: { required: true, audience: [Operators, QA], due-days: 30 }\n",
            "## A\nText.\n",
        ),
    );
    t.commit("Classified");
    t.build();
    let page = t.page("cork", "SOP-0030");
    assert!(
        page.contains("<div><dt>Classification</dt><dd><span class=\"badge badge-class badge-class-confidential\">confidential</span></dd></div>"),
        "{page}"
    );
    assert!(
        page.contains("<div><dt>Training</dt><dd>required for Operators, QA, within 30 days of the effective date</dd></div>"),
        "{page}"
    );
    // Every printed page carries the classification in its stamp, and so does the end
    // of the document.
    assert!(
        page.contains(
            "@page {\n  @top-left { content: \"SOP-0030 · Rev. 0 · Not yet effective\"; }\n  @top-center { content: \"CONFIDENTIAL · DRAFT\"; }\n  @top-right { content: \"Cork · Uncontrolled preview\"; }\n"
        ),
        "{page}"
    );
    assert!(
        page.contains(
            "<div class=\"print-footer\"><strong>End of document.</strong> <strong>CONFIDENTIAL · DRAFT.</strong> SOP-0030 · Rev. 0 · Not yet effective · Cork · Uncontrolled preview. Uncontrolled when printed, printed on <span class=\"print-when\">____________</span>."
        ),
        "{page}"
    );
    // Without them, neither row nor mark.
    let plain = t.page("cork", "SOP-0020");
    assert!(!plain.contains("<dt>Classification</dt>") && !plain.contains("<dt>Training</dt>"));
}

#[test]
fn wrong_classification_or_training_keys_are_errors_at_their_line() {
    let mut t = SiteTest::new();
    t.write(
        "procedures/global/SOP-0030.md",
        &doc("SOP-0030", "T", "classification: secret\n", "x\n"),
    );
    t.write(
        "procedures/global/SOP-0031.md",
        &doc(
            "SOP-0031",
            "T",
            "training: { required: true, due: 30 }\n",
            "x\n",
        ),
    );
    t.commit("Wrong");
    let err = t.expect_failure(&["check"]);
    assert!(
        err.contains("procedures/global/SOP-0030.md:6:17: error[front-matter]: classification: unknown variant `secret`, expected `internal` or `confidential`"),
        "{err}"
    );
    assert!(err.contains("procedures/global/SOP-0031.md:6:"), "{err}");
    assert!(err.contains("unknown field `due`"), "{err}");
}

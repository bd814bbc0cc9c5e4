//! Signed approvals: SSH signatures of commits and release tags, verified by procsite
//! against the approver's registered `ssh-keys`; what each other signature is shown
//! as, and what a release that requires `signed` approvals says of it.

mod common;
use common::*;

use ssh_key::{Algorithm, HashAlg, LineEnding, PrivateKey};

/// A throwaway key pair, made for this test run only.
fn new_key(alg: Algorithm) -> PrivateKey {
    PrivateKey::random(&mut ssh_key::rand_core::OsRng, alg).expect("generate a key")
}

/// The public key as a line of a `.pub` file.
fn public(key: &PrivateKey, comment: &str) -> String {
    format!("{} {comment}", key.public_key().to_openssh().unwrap())
}

/// `SHA256:…`, as `ssh-keygen -l` prints it.
fn fingerprint(key: &PrivateKey) -> String {
    key.public_key().fingerprint(HashAlg::Sha256).to_string()
}

/// The armored SSHSIG signature git makes of `data` (`ssh-keygen -Y sign -n git`).
fn sshsig(key: &PrivateKey, data: &str) -> String {
    key.sign("git", HashAlg::Sha512, data.as_bytes())
        .unwrap()
        .to_pem(LineEnding::LF)
        .unwrap()
        .trim_end()
        .to_string()
}

struct Keys {
    jane: PrivateKey,
    alex: PrivateKey,
    stranger: PrivateKey,
}

fn keys() -> Keys {
    Keys {
        jane: new_key(Algorithm::Ed25519),
        alex: new_key(Algorithm::Ed25519),
        stranger: new_key(Algorithm::Ed25519),
    }
}

const APPROVAL: &str = "Issue SOP-0030\n\nApproved-by: Jane Roe <jane.roe@acme.example>\n";

/// Jane Roe and Alex Smith in the registry, each with a key; releases need signed
/// approvals. One commit with the configuration, nothing approved yet.
fn repo(keys: &Keys) -> SiteTest {
    let mut t = SiteTest::empty();
    t.write(
        "book.toml",
        &format!(
            "{BOOK}\n[approvers.jroe]\nname = \"Jane Roe\"\nemails = [\"jane.roe@acme.example\"]\nroles = [\"VP Quality\"]\nssh-keys = [\"{}\"]\n\n[approvers.asmith]\nname = \"Alex Smith\"\nemails = [\"alex@acme.example\"]\nroles = [\"VP Quality\"]\nssh-keys = [\n  \"{}\",\n]\n\n[release]\napproval-evidence = \"signed\"\n",
            public(&keys.jane, "jane@laptop"),
            public(&keys.alex, "alex@laptop"),
        ),
    );
    t.write("procedures/global/SOP-0090.md", STERILE);
    t.commit("Configuration");
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## A\nV1.\n", "2026-05-01"),
    );
    t
}

/// The evidence cell of the (only) approval on a page, as HTML.
fn evidence_cell(page: &str) -> String {
    let start = pos(page, "<span class=\"evidence ");
    let end = start + page[start..].find("</td>").expect("end of the cell");
    unescape(&page[start..end])
}

fn short(oid: git2::Oid) -> String {
    oid.to_string()[..10].to_string()
}

/// The approval-evidence error of a release, with its help line.
fn evidence_error(stderr: &str) -> String {
    let start = pos(
        stderr,
        "procedures/global/SOP-0030.md:7: error[approval-evidence]",
    );
    stderr[start..]
        .lines()
        .take(2)
        .collect::<Vec<_>>()
        .join("\n")
}

const HOW_TO_SIGN: &str = "  help: Jane Roe signs the commit that records the approval with an SSH key registered for them: `git config gpg.format ssh`, `git config user.signingkey ~/.ssh/id_ed25519.pub`, `git commit -S`; register the public key under [approvers.jroe] ssh-keys in book.toml (a release tag they sign with `git tag -s` counts too)";

#[test]
fn a_commit_signed_with_the_approvers_registered_key_is_signed_evidence() {
    let k = keys();
    let mut t = repo(&k);
    let oid = t.commit_signed_with(APPROVAL, |buf| sshsig(&k.jane, buf));
    t.build();
    assert_eq!(
        evidence_cell(&t.page("cork", "SOP-0030")),
        format!(
            "<span class=\"evidence evidence-signed\" title=\"Approved-by trailer in commit {}\">signed</span> <span class=\"signature signature-verified\">SSH signature verified (key {})</span>",
            short(oid),
            fingerprint(&k.jane)
        )
    );
    // history.json keeps the same, so the audit trail survives the repository.
    let history: serde_json::Value =
        serde_json::from_str(&t.read("public/cork/preview/history.json")).unwrap();
    assert_history_schema(&history);
    let doc = history["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "SOP-0030")
        .unwrap();
    let approval = &doc["approvals"][0];
    assert_eq!(approval["evidence"], "signed");
    assert_eq!(approval["signature_status"], "verified");
    assert_eq!(
        approval["signature"],
        format!("SSH signature verified (key {})", fingerprint(&k.jane))
    );
    // A release that requires signed approvals accepts it.
    let out = t.run(&["build", "--release", "--version", "r1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(evidence_cell(&t.read("public/cork/r1/SOP-0030.html")).contains(">signed</span>"));
}

#[test]
fn an_ecdsa_p256_key_is_verified_too() {
    let mut k = keys();
    k.jane = new_key(Algorithm::Ecdsa {
        curve: ssh_key::EcdsaCurve::NistP256,
    });
    let mut t = repo(&k);
    t.commit_signed_with(APPROVAL, |buf| sshsig(&k.jane, buf));
    t.build();
    assert!(evidence_cell(&t.page("cork", "SOP-0030")).ends_with(&format!(
        ">signed</span> <span class=\"signature signature-verified\">SSH signature verified (key {})</span>",
        fingerprint(&k.jane)
    )));
}

/// What procsite says of an approval signed by `sign`.
struct Rejected {
    oid: git2::Oid,
    /// The evidence cell of the preview page.
    cell: String,
    /// The release's approval-evidence error, with its help.
    release: String,
    /// The warning `check` gives, if any, with its help.
    warning: Option<String>,
}

/// Builds a preview and a release of the approval signed by `sign`.
fn rejected(k: &Keys, sign: impl FnOnce(&str) -> String) -> Rejected {
    let mut t = repo(k);
    let oid = t.commit_signed_with(APPROVAL, sign);
    t.build();
    let cell = evidence_cell(&t.page("cork", "SOP-0030"));
    let check = t.run(&["check"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    let warning = check.stderr.find(": warning[").map(|_| {
        let start = pos(&check.stderr, "procedures/global/SOP-0030.md:7: warning[");
        check.stderr[start..]
            .lines()
            .take(2)
            .collect::<Vec<_>>()
            .join("\n")
    });
    let err = t.expect_failure(&["build", "--release", "--version", "r1"]);
    assert!(!t.exists("public/cork/r1"), "nothing is released");
    Rejected {
        oid,
        cell,
        release: evidence_error(&err),
        warning,
    }
}

#[test]
fn a_key_registered_for_nobody_is_not_the_approvers_signature() {
    let k = keys();
    let Rejected {
        oid,
        cell,
        release: err,
        warning,
    } = rejected(&k, |buf| sshsig(&k.stranger, buf));
    assert_eq!(
        warning, None,
        "a valid signature by another key is no warning"
    );
    let fp = fingerprint(&k.stranger);
    assert_eq!(
        cell,
        format!(
            "<span class=\"evidence evidence-recorded\" title=\"Approved-by trailer in commit {}\">recorded</span> <span class=\"signature signature-unregistered\">SSH signature by a key not registered for Jane Roe (key {fp})</span>",
            short(oid)
        )
    );
    assert_eq!(
        err,
        format!(
            "procedures/global/SOP-0030.md:7: error[approval-evidence]: the approval by Jane Roe is recorded, and a release requires signed approvals: commit {} that records it has an SSH signature by a key not registered for Jane Roe (key {fp})\n{HOW_TO_SIGN}",
            short(oid)
        )
    );
}

#[test]
fn another_approvers_key_is_not_the_approvers_signature() {
    let k = keys();
    let Rejected {
        oid,
        cell,
        release: err,
        ..
    } = rejected(&k, |buf| sshsig(&k.alex, buf));
    let fp = fingerprint(&k.alex);
    assert!(
        cell.ends_with(&format!(
            ">recorded</span> <span class=\"signature signature-unregistered\">SSH signature by a key not registered for Jane Roe (key {fp}, registered for Alex Smith)</span>"
        )),
        "{cell}"
    );
    assert_eq!(
        err,
        format!(
            "procedures/global/SOP-0030.md:7: error[approval-evidence]: the approval by Jane Roe is recorded, and a release requires signed approvals: commit {} that records it has an SSH signature by a key not registered for Jane Roe (key {fp}, registered for Alex Smith)\n{HOW_TO_SIGN}",
            short(oid)
        )
    );
}

#[test]
fn a_signature_copied_from_another_commit_does_not_verify() {
    let k = keys();
    // Jane's genuine signature, but of a commit with another message.
    let Rejected {
        oid,
        cell,
        release: err,
        warning,
    } = rejected(&k, |buf| {
        sshsig(&k.jane, &buf.replace("Issue SOP-0030", "Fix a typo"))
    });
    assert_eq!(
        warning.unwrap(),
        format!(
            "procedures/global/SOP-0030.md:7: warning[bad-signature]: the SSH signature of commit {} that records the approval by Jane Roe does not verify: it does not match the signed content: the commit or tag was changed after it was signed, or the signature belongs to another one\n  help: the commit is not what was signed: find out how the signature got there, then have Jane Roe sign the approval again (git commit -S)",
            short(oid)
        )
    );
    assert!(
        cell.ends_with(">recorded</span> <span class=\"signature signature-invalid\" title=\"it does not match the signed content: the commit or tag was changed after it was signed, or the signature belongs to another one\">SSH signature does not verify</span>"),
        "{cell}"
    );
    assert_eq!(
        err,
        format!(
            "procedures/global/SOP-0030.md:7: error[approval-evidence]: the approval by Jane Roe is recorded, and a release requires signed approvals: the SSH signature of commit {} that records it does not verify: it does not match the signed content: the commit or tag was changed after it was signed, or the signature belongs to another one\n{HOW_TO_SIGN}",
            short(oid)
        )
    );
}

#[test]
fn a_garbage_ssh_signature_does_not_verify() {
    let k = keys();
    let Rejected {
        oid,
        cell,
        release: err,
        warning,
    } = rejected(&k, |_| {
        "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==garbage\n-----END SSH SIGNATURE-----".into()
    });
    assert!(
        cell.ends_with(">recorded</span> <span class=\"signature signature-invalid\" title=\"the signature is damaged: it cannot be read\">SSH signature does not verify</span>"),
        "{cell}"
    );
    assert!(warning
        .unwrap()
        .contains("warning[bad-signature]: the SSH signature of commit "));
    assert_eq!(
        err,
        format!(
            "procedures/global/SOP-0030.md:7: error[approval-evidence]: the approval by Jane Roe is recorded, and a release requires signed approvals: the SSH signature of commit {} that records it does not verify: the signature is damaged: it cannot be read\n{HOW_TO_SIGN}",
            short(oid)
        )
    );
}

#[test]
fn a_gpg_signature_is_shown_present_and_never_counts_as_signed() {
    let k = keys();
    let Rejected {
        oid,
        cell,
        release: err,
        warning,
    } = rejected(&k, |_| {
        "-----BEGIN PGP SIGNATURE-----\n\niQEzBAABCAAdFiEEexample\n-----END PGP SIGNATURE-----"
            .into()
    });
    assert_eq!(
        cell,
        format!(
            "<span class=\"evidence evidence-recorded\" title=\"Approved-by trailer in commit {}\">recorded</span> <span class=\"signature signature-gpg\">GPG signature present, not verified</span>",
            short(oid)
        )
    );
    assert_eq!(warning, None);
    assert_eq!(
        err,
        format!(
            "procedures/global/SOP-0030.md:7: error[approval-evidence]: the approval by Jane Roe is recorded, and a release requires signed approvals: commit {} that records it has a GPG signature, which procsite does not verify\n{HOW_TO_SIGN}",
            short(oid)
        )
    );
}

#[test]
fn an_unsigned_commit_and_an_unrecorded_approval_say_what_a_signed_release_needs() {
    let k = keys();
    let mut t = repo(&k);
    let oid = t.commit(APPROVAL);
    t.build();
    assert_eq!(
        evidence_cell(&t.page("cork", "SOP-0030")),
        format!(
            "<span class=\"evidence evidence-recorded\" title=\"Approved-by trailer in commit {}\">recorded</span>",
            short(oid)
        )
    );
    let err = t.expect_failure(&["build", "--release", "--version", "r1"]);
    assert_eq!(
        evidence_error(&err),
        format!(
            "procedures/global/SOP-0030.md:7: error[approval-evidence]: the approval by Jane Roe is recorded, and a release requires signed approvals: commit {} that records it is not signed\n{HOW_TO_SIGN}",
            short(oid)
        )
    );
    // A signed commit without an Approved-by trailer records nothing.
    t.write(
        "procedures/global/SOP-0030.md",
        &approved("SOP-0030", "## A\nV2.\n", "2026-06-01"),
    );
    t.commit_signed_with("Revise SOP-0030\n", |buf| sshsig(&k.jane, buf));
    let err = t.expect_failure(&["build", "--release", "--version", "r1"]);
    assert_eq!(
        evidence_error(&err),
        "procedures/global/SOP-0030.md:7: error[approval-evidence]: the approval by Jane Roe is declared, and a release requires signed approvals\n  help: record it with an `Approved-by: Jane Roe <email>` trailer in the commit that approves the text; then Jane Roe signs the commit that records the approval with an SSH key registered for them: `git config gpg.format ssh`, `git config user.signingkey ~/.ssh/id_ed25519.pub`, `git commit -S`; register the public key under [approvers.jroe] ssh-keys in book.toml (a release tag they sign with `git tag -s` counts too)"
    );
}

#[test]
fn a_release_tag_signed_by_the_approver_signs_the_recorded_approvals() {
    let k = keys();
    let mut t = repo(&k);
    t.commit(APPROVAL);
    // A tag signed by someone else is no signature of Jane's.
    t.tag_signed_with("release/2026.1", |buf| sshsig(&k.alex, buf));
    let err = t.expect_failure(&["build", "--release"]);
    assert!(
        evidence_error(&err).contains("that records it is not signed"),
        "{err}"
    );
    t.tag_signed_with("release/2026.2", |buf| sshsig(&k.jane, buf));
    // publish releases 2026.2, whose tag Jane signed; 2026.1 stays refused: a release
    // counts the signature of its own tag only, whatever else is tagged later.
    let out = t.run(&["publish"]);
    assert!(
        out.stderr.contains("that records it is not signed"),
        "{}",
        out.stderr
    );
    assert_eq!(t.version_names("cork"), ["2026.2"]);
    assert!(
        evidence_cell(&t.read("public/cork/2026.2/SOP-0030.html")).ends_with(&format!(
            ">signed</span> <span class=\"signature signature-verified\">SSH signature of release tag release/2026.2 verified (key {})</span>",
            fingerprint(&k.jane)
        ))
    );
    let err = t.expect_failure(&[
        "build",
        "--release",
        "--version",
        "2026.1",
        "--out",
        "other",
    ]);
    assert!(
        evidence_error(&err).contains("that records it is not signed"),
        "{err}"
    );
    // A preview shows what the tags at its commit say.
    t.build();
    assert!(evidence_cell(&t.page("cork", "SOP-0030")).contains(">signed</span>"));
    // A tag whose object was changed after signing (here: its message) does not count.
    let mut t = repo(&k);
    t.commit(APPROVAL);
    t.tag_signed_with("release/2026.1", |buf| {
        sshsig(&k.jane, &buf.replace("Release", "Release candidate"))
    });
    let err = t.expect_failure(&["build", "--release"]);
    assert!(
        evidence_error(&err).contains("that records it is not signed"),
        "{err}"
    );
}

#[test]
fn an_approval_dated_after_valid_to_is_not_that_persons_evidence() {
    let k = keys();
    let mut t = repo(&k);
    t.write(
        "book.toml",
        &t.read("book.toml").replace(
            "roles = [\"VP Quality\"]\nssh-keys = [\"ssh-ed25519",
            "roles = [\"VP Quality\"]\nvalid-to = 2026-04-30\nssh-keys = [\"ssh-ed25519",
        ),
    );
    t.commit_signed_with(APPROVAL, |buf| sshsig(&k.jane, buf));
    t.build();
    assert_eq!(
        evidence_cell(&t.page("cork", "SOP-0030")),
        "<span class=\"evidence evidence-declared\">declared</span>"
    );
}

/// `procsite check` on a registry whose jroe entry has `entry` in place of its keys.
fn check_registry(entry: &str) -> String {
    let t = SiteTest::empty();
    t.write(
        "book.toml",
        &format!("{BOOK}\n[approvers.jroe]\nname = \"Jane Roe\"\nemails = [\"jane.roe@acme.example\"]\n{entry}\n"),
    );
    t.write("procedures/global/SOP-0090.md", STERILE);
    t.expect_failure(&["check"])
}

#[test]
fn a_bad_key_in_the_registry_is_a_config_error_at_its_line() {
    let err = check_registry(
        "ssh-keys = [\n  \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIcut jane@laptop\",\n]",
    );
    assert!(
        err.starts_with("book.toml:22: error[config]: ssh-keys of approver 'jroe', key 1: it is not a valid OpenSSH public key: the text after the key type is damaged or cut short\n  help: paste the one line of the public key file, e.g. ssh-keys = [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA… jane.roe@acme.example\"] from `cat ~/.ssh/id_ed25519.pub`; make one with `ssh-keygen -t ed25519`\n"),
        "{err}"
    );
    let err = check_registry("ssh-keys = [\"-----BEGIN OPENSSH PRIVATE KEY-----\"]");
    assert!(
        err.starts_with("book.toml:21: error[config]: ssh-keys of approver 'jroe', key 1: this is a private key, which must never be shared\n  help: remove it from book.toml now and replace the key pair, since the repository has exposed it; register only the public key: the one line of the .pub file\n"),
        "{err}"
    );
    let err = check_registry("ssh-keys = [\"ssh-dss AAAAB3NzaC1kc3MAAACBAP jane\"]");
    assert!(
        err.starts_with("book.toml:21: error[config]: ssh-keys of approver 'jroe', key 1: "),
        "{err}"
    );
}

#[test]
fn a_key_registered_for_two_people_and_dates_out_of_order_are_config_errors() {
    let k = keys();
    let jane = public(&k.jane, "jane");
    let err = check_registry(&format!(
        "ssh-keys = [\"{jane}\"]\nvalid-from = 2026-01-01\nvalid-to = 2025-12-31\n\n[approvers.asmith]\nname = \"Alex Smith\"\nssh-keys = [\"{jane}\"]"
    ));
    assert_eq!(
        err.lines().filter(|l| l.contains(": error")).collect::<Vec<_>>(),
        [
            format!("book.toml:21: error[config]: the SSH key {} is registered for both 'asmith' (Alex Smith) and 'jroe' (Jane Roe): a signature must name one person", fingerprint(&k.jane)),
            "book.toml:23: error[config]: valid-to of approver 'jroe' (2025-12-31) is before valid-from (2026-01-01)".to_string(),
        ],
        "{err}"
    );
}

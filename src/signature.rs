//! Signatures of commits and release tags, as evidence of an approval. git signs
//! with SSH keys (`gpg.format = ssh`) in the SSHSIG format under the namespace "git";
//! procsite verifies those itself, in process (no ssh-keygen, no gpg), and only
//! says of any other signature that it is there.
//!
//! Verifying a signature with the key it carries, then comparing that key with the
//! keys registered for a person, is the same as verifying with the registered key:
//! the fingerprint is a SHA-256 of the whole public key.

use ssh_key::{Algorithm, EcdsaCurve, HashAlg, PublicKey, SshSig};

/// The namespace git signs commits and tags under (`ssh-keygen -Y sign -n git`).
pub const NAMESPACE: &str = "git";

const SSH_BEGIN: &str = "-----BEGIN SSH SIGNATURE-----";
const PGP_BEGIN: &str = "-----BEGIN PGP SIGNATURE-----";

/// What the signature on a commit or tag is.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Signature {
    /// Not signed.
    #[default]
    None,
    /// An SSH signature that verifies with its key, whose fingerprint this is
    /// (`SHA256:…`). Whose key it is, the approver registry says.
    Ssh { fingerprint: String },
    /// An SSH signature that does not verify, and why.
    SshInvalid { reason: String },
    /// An SSH signature on a commit that records no approval: nothing depends on it,
    /// so it is not checked.
    SshUnchecked,
    /// An OpenPGP signature: never verified by procsite.
    Gpg,
    /// A signature of another format (X.509, say): never verified by procsite.
    Other,
}

impl Signature {
    /// The kind of an armored signature, without verifying it.
    pub fn kind_of(armored: &[u8]) -> Signature {
        let text = String::from_utf8_lossy(armored);
        let text = text.trim_start();
        if text.starts_with(SSH_BEGIN) {
            Signature::SshUnchecked
        } else if text.starts_with(PGP_BEGIN) {
            Signature::Gpg
        } else {
            Signature::Other
        }
    }

    /// Reads an armored signature over `signed` and, if it is an SSH signature,
    /// verifies it.
    pub fn verify(armored: &[u8], signed: &[u8]) -> Signature {
        match Signature::kind_of(armored) {
            Signature::SshUnchecked => verify_ssh(armored, signed),
            other => other,
        }
    }
}

fn invalid(reason: impl Into<String>) -> Signature {
    Signature::SshInvalid {
        reason: reason.into(),
    }
}

fn verify_ssh(armored: &[u8], signed: &[u8]) -> Signature {
    // git keeps the armor with "\n" line ends; a CR left by a tool is not part of it.
    let text = String::from_utf8_lossy(armored).replace('\r', "");
    let Ok(sig) = SshSig::from_pem(text.trim()) else {
        return invalid("the signature is damaged: it cannot be read");
    };
    if sig.namespace() != NAMESPACE {
        return invalid(format!(
            "it was made for '{}', not for git",
            sig.namespace()
        ));
    }
    let key = PublicKey::from(sig.public_key().clone());
    if let Err(why) = supported(&key.algorithm()) {
        return invalid(why);
    }
    match key.verify(NAMESPACE, signed, &sig) {
        Ok(()) => Signature::Ssh {
            fingerprint: fingerprint(&key),
        },
        Err(_) => invalid(
            "it does not match the signed content: the commit or tag was changed after it was signed, or the signature belongs to another one",
        ),
    }
}

/// A key's SHA-256 fingerprint as `ssh-keygen -l` prints it: `SHA256:…`.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Whether procsite verifies signatures of this kind of key; if not, why, in words
/// a user can act on.
pub fn supported(alg: &Algorithm) -> Result<(), String> {
    match alg {
        Algorithm::Ed25519 | Algorithm::SkEd25519 | Algorithm::SkEcdsaSha2NistP256 => Ok(()),
        Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP256 | EcdsaCurve::NistP384,
        } => Ok(()),
        other => Err(format!(
            "procsite does not verify {} keys (it verifies ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384 and the security-key forms sk-ssh-ed25519 and sk-ecdsa-sha2-nistp256)",
            other.as_str()
        )),
    }
}

/// A public key as written in `ssh-keys`: one line of an OpenSSH `.pub` file.
/// The error says what is wrong with it.
pub fn parse_public_key(text: &str) -> Result<PublicKey, String> {
    let text = text.trim();
    if text.contains("PRIVATE KEY") {
        return Err("this is a private key, which must never be shared".into());
    }
    let key = PublicKey::from_openssh(text).map_err(|_| {
        let kind = text.split_whitespace().next().unwrap_or("");
        if Algorithm::new(kind).is_err() {
            format!("'{kind}' is not an SSH key type")
        } else {
            "it is not a valid OpenSSH public key: the text after the key type is damaged or cut short".to_string()
        }
    })?;
    supported(&key.algorithm())?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssh_key::{LineEnding, PrivateKey};

    fn key() -> PrivateKey {
        PrivateKey::random(&mut ssh_key::rand_core::OsRng, Algorithm::Ed25519).unwrap()
    }

    fn sign(key: &PrivateKey, namespace: &str, data: &[u8]) -> String {
        key.sign(namespace, HashAlg::Sha512, data)
            .unwrap()
            .to_pem(LineEnding::LF)
            .unwrap()
    }

    #[test]
    fn an_ssh_signature_verifies_with_its_key_and_names_its_fingerprint() {
        let k = key();
        let sig = sign(&k, "git", b"tree 1\n\nmessage\n");
        assert_eq!(
            Signature::verify(sig.as_bytes(), b"tree 1\n\nmessage\n"),
            Signature::Ssh {
                fingerprint: fingerprint(k.public_key())
            }
        );
        assert!(fingerprint(k.public_key()).starts_with("SHA256:"));
    }

    #[test]
    fn changed_content_another_namespace_and_damage_do_not_verify() {
        let k = key();
        let sig = sign(&k, "git", b"original");
        let reason = |s: Signature| match s {
            Signature::SshInvalid { reason } => reason,
            other => panic!("{other:?}"),
        };
        assert!(
            reason(Signature::verify(sig.as_bytes(), b"changed")).starts_with("it does not match")
        );
        let file = sign(&k, "file", b"original");
        assert_eq!(
            reason(Signature::verify(file.as_bytes(), b"original")),
            "it was made for 'file', not for git"
        );
        let damaged = sig.replace("-----\n", "-----\nAAAA");
        assert_eq!(
            reason(Signature::verify(damaged.as_bytes(), b"original")),
            "the signature is damaged: it cannot be read"
        );
    }

    #[test]
    fn other_formats_are_told_apart_but_not_verified() {
        let pgp = b"-----BEGIN PGP SIGNATURE-----\n\niQEz\n-----END PGP SIGNATURE-----\n";
        assert_eq!(Signature::verify(pgp, b"x"), Signature::Gpg);
        let x509 = b"-----BEGIN SIGNED MESSAGE-----\nMII\n-----END SIGNED MESSAGE-----\n";
        assert_eq!(Signature::verify(x509, b"x"), Signature::Other);
    }

    #[test]
    fn registry_keys_are_parsed_and_unsupported_ones_explained() {
        let k = key();
        let line = k.public_key().to_openssh().unwrap();
        assert_eq!(
            fingerprint(&parse_public_key(&format!("{line} jane@laptop")).unwrap()),
            fingerprint(k.public_key())
        );
        assert_eq!(
            parse_public_key("ssh-ed25519 AAAA-not-base64").unwrap_err(),
            "it is not a valid OpenSSH public key: the text after the key type is damaged or cut short"
        );
        assert_eq!(
            parse_public_key("ed25519 AAAAC3NzaC1lZDI1NTE5").unwrap_err(),
            "'ed25519' is not an SSH key type"
        );
        let rsa = PublicKey::new(
            ssh_key::public::KeyData::Rsa(ssh_key::public::RsaPublicKey {
                e: ssh_key::Mpint::from_positive_bytes(&[1, 0, 1]).unwrap(),
                n: ssh_key::Mpint::from_positive_bytes(&[0xC5; 256]).unwrap(),
            }),
            "",
        );
        assert!(parse_public_key(&rsa.to_openssh().unwrap())
            .unwrap_err()
            .starts_with("procsite does not verify ssh-rsa keys (it verifies ssh-ed25519,"));
        assert!(parse_public_key("-----BEGIN OPENSSH PRIVATE KEY-----")
            .unwrap_err()
            .starts_with("this is a private key"));
    }
}

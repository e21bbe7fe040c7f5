//! Embargoed disclosures off the ledger: `age` encryption of a [`DisclosureEnvelope`] to a
//! protocol's X25519 recipients, the checks a node makes before keeping a ciphertext (size,
//! content id, an `age` header addressed to recipients rather than a passphrase), decryption
//! with an identity file, and disclosure identity files (0600).
//!
//! The node never sees a plaintext: it stores and serves ciphertext only. Decryption happens
//! in the CLI, on the protocol's machine, with its identity file.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use age::secrecy::ExposeSecret;
use vigil_core::disclosure::{MAX_CIPHERTEXT_BYTES, MAX_REPORT_BYTES};
use vigil_core::{ContentId, DisclosureEnvelope, DisclosureKey};
use zeroize::Zeroizing;

/// Why a disclosure could not be encrypted, accepted or decrypted.
#[derive(Debug, thiserror::Error)]
pub enum DisclosureError {
    /// The report is larger than a reveal could carry.
    #[error("the report is {size} bytes; at most {MAX_REPORT_BYTES} can be disclosed")]
    ReportTooLarge {
        /// Its size.
        size: usize,
    },
    /// The encrypted report is larger than a node keeps.
    #[error("the encrypted report is {size} bytes; at most {MAX_CIPHERTEXT_BYTES} are accepted")]
    CiphertextTooLarge {
        /// Its size.
        size: usize,
    },
    /// The ciphertext is not what the transaction names.
    #[error("the ciphertext's content id is {got}, but the transaction names {expected}")]
    CiphertextMismatch {
        /// Named by the transaction (or the ledger).
        expected: ContentId,
        /// Of the bytes given.
        got: ContentId,
    },
    /// Not an `age` file for recipients.
    #[error("not an age-encrypted report for the protocol's keys: {0}")]
    NotAge(String),
    /// The identity cannot open it, or it was tampered with.
    #[error("cannot decrypt the disclosure: {0}")]
    Decrypt(String),
    /// It decrypted, but is not a disclosure envelope.
    #[error("the decrypted disclosure is not a Vigil disclosure envelope: {0}")]
    Envelope(String),
    /// A protocol key that `age` does not accept.
    #[error("disclosure key {key}: {reason}")]
    Key {
        /// The key.
        key: String,
        /// Why.
        reason: String,
    },
    /// An identity file problem.
    #[error("{path}: {reason}")]
    Identity {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Encryption failed.
    #[error("encryption failed: {0}")]
    Encrypt(String),
}

/// Encrypts `envelope` (as JSON) to every key, ASCII-armored.
pub fn encrypt(
    keys: &[DisclosureKey],
    envelope: &DisclosureEnvelope,
) -> Result<String, DisclosureError> {
    if envelope.report.len() > MAX_REPORT_BYTES {
        return Err(DisclosureError::ReportTooLarge { size: envelope.report.len() });
    }
    let recipients =
        keys.iter()
            .map(|k| {
                k.as_str().parse::<age::x25519::Recipient>().map_err(|reason| {
                    DisclosureError::Key { key: k.to_string(), reason: reason.to_string() }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
    let plaintext = Zeroizing::new(
        serde_json::to_vec(envelope).map_err(|e| DisclosureError::Encrypt(e.to_string()))?,
    );
    let encrypt_err = |e: std::io::Error| DisclosureError::Encrypt(e.to_string());
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| DisclosureError::Encrypt(e.to_string()))?;
    let mut out = Vec::new();
    let armored = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor).map_err(encrypt_err)?;
    let mut writer = encryptor.wrap_output(armored).map_err(encrypt_err)?;
    writer.write_all(&plaintext).map_err(encrypt_err)?;
    writer.finish().and_then(|armor| armor.finish()).map_err(encrypt_err)?;
    String::from_utf8(out).map_err(|e| DisclosureError::Encrypt(e.to_string()))
}

/// The checks a node makes before keeping `ciphertext` for a transaction naming `expected`:
/// its size, its content id, and an `age` header addressed to recipients.
pub fn check_ciphertext(ciphertext: &str, expected: &ContentId) -> Result<(), DisclosureError> {
    if ciphertext.len() > MAX_CIPHERTEXT_BYTES {
        return Err(DisclosureError::CiphertextTooLarge { size: ciphertext.len() });
    }
    let got = ContentId::of_bytes(ciphertext.as_bytes());
    if got != *expected {
        return Err(DisclosureError::CiphertextMismatch { expected: *expected, got });
    }
    let decryptor = age::Decryptor::new(ArmoredReader::new(ciphertext.as_bytes()))
        .map_err(|e| DisclosureError::NotAge(e.to_string()))?;
    if decryptor.is_scrypt() {
        return Err(DisclosureError::NotAge(
            "it is encrypted with a passphrase, not to the protocol's keys".into(),
        ));
    }
    Ok(())
}

/// Decrypts `ciphertext` with the identities of an `age` identity file's text, after checking
/// it is the ciphertext the ledger names.
pub fn decrypt(
    identity_file: &str,
    ciphertext: &str,
    expected: &ContentId,
) -> Result<DisclosureEnvelope, DisclosureError> {
    let got = ContentId::of_bytes(ciphertext.as_bytes());
    if got != *expected {
        return Err(DisclosureError::CiphertextMismatch { expected: *expected, got });
    }
    let identities = identity_file
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.parse::<age::x25519::Identity>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| DisclosureError::Decrypt(format!("the identity file: {e}")))?;
    if identities.is_empty() {
        return Err(DisclosureError::Decrypt("the identity file holds no age identity".into()));
    }
    let decryptor = age::Decryptor::new(ArmoredReader::new(ciphertext.as_bytes()))
        .map_err(|e| DisclosureError::Decrypt(e.to_string()))?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| DisclosureError::Decrypt(e.to_string()))?;
    let mut plaintext = Zeroizing::new(Vec::new());
    reader
        .read_to_end(&mut plaintext)
        .map_err(|e| DisclosureError::Decrypt(format!("the ciphertext was altered: {e}")))?;
    serde_json::from_slice(&plaintext).map_err(|e| DisclosureError::Envelope(e.to_string()))
}

/// Creates a disclosure identity file (mode 0600, never overwritten) and returns its public
/// key, the recipient a protocol lists in its bounty program.
pub fn create_identity(path: &Path) -> Result<DisclosureKey, DisclosureError> {
    let fail =
        |reason: String| DisclosureError::Identity { path: path.display().to_string(), reason };
    let identity = age::x25519::Identity::generate();
    let public = identity.to_public().to_string();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| fail(e.to_string()))?;
    let text = Zeroizing::new(format!(
        "# Vigil disclosure identity (age X25519). Keep it secret.\n# public key: {public}\n{}\n",
        identity.to_string().expose_secret()
    ));
    file.write_all(text.as_bytes()).map_err(|e| fail(e.to_string()))?;
    public.parse().map_err(|e: vigil_core::disclosure::DisclosureKeyError| fail(e.to_string()))
}

/// Reads a disclosure identity file, refusing one others can read.
pub fn read_identity(path: &Path) -> Result<Zeroizing<String>, DisclosureError> {
    let fail =
        |reason: String| DisclosureError::Identity { path: path.display().to_string(), reason };
    let mode = fs::metadata(path).map_err(|e| fail(e.to_string()))?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(fail(format!(
            "mode {mode:o} lets others read the identity; chmod 600 it (it decrypts disclosures)"
        )));
    }
    Ok(Zeroizing::new(fs::read_to_string(path).map_err(|e| fail(e.to_string()))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> (String, DisclosureKey) {
        let id = age::x25519::Identity::generate();
        (id.to_string().expose_secret().to_owned(), id.to_public().to_string().parse().unwrap())
    }

    #[test]
    fn only_a_recipient_decrypts_and_a_tampered_ciphertext_fails() {
        let (secret, key) = identity();
        let (guardian_secret, guardian) = identity();
        let (stranger, _) = identity();
        let envelope = DisclosureEnvelope::seal("oracle can be moved in one block".into()).unwrap();
        let ciphertext = encrypt(&[key, guardian], &envelope).unwrap();
        let id = ContentId::of_bytes(ciphertext.as_bytes());
        check_ciphertext(&ciphertext, &id).unwrap();
        assert_eq!(decrypt(&secret, &ciphertext, &id).unwrap(), envelope);
        assert_eq!(decrypt(&guardian_secret, &ciphertext, &id).unwrap(), envelope);
        let e = decrypt(&stranger, &ciphertext, &id).unwrap_err();
        assert!(matches!(e, DisclosureError::Decrypt(_)), "{e}");

        // One character changed in the body: the id no longer matches, and age refuses it.
        let mut lines: Vec<String> = ciphertext.lines().map(str::to_owned).collect();
        let mid = lines.len() / 2;
        let flipped = if lines[mid].starts_with('A') { 'B' } else { 'A' };
        lines[mid].replace_range(0..1, &flipped.to_string());
        let tampered = lines.join("\n") + "\n";
        let e = check_ciphertext(&tampered, &id).unwrap_err();
        assert!(matches!(e, DisclosureError::CiphertextMismatch { .. }), "{e}");
        let tampered_id = ContentId::of_bytes(tampered.as_bytes());
        assert!(decrypt(&secret, &tampered, &tampered_id).is_err());
    }

    #[test]
    fn a_passphrase_file_or_garbage_is_not_a_disclosure() {
        let garbage = "hello";
        let e = check_ciphertext(garbage, &ContentId::of_bytes(garbage.as_bytes())).unwrap_err();
        assert!(matches!(e, DisclosureError::NotAge(_)), "{e}");
        let pass = age::scrypt::Recipient::new("pw".to_owned().into());
        let file = age::encrypt_and_armor(&pass, b"x").unwrap();
        let e = check_ciphertext(&file, &ContentId::of_bytes(file.as_bytes())).unwrap_err();
        assert!(e.to_string().contains("passphrase"), "{e}");
    }
}

//! Key files: an account's Ed25519 secret on disk.
//!
//! A plain key file is JSON readable only by its owner (mode 0600); an encrypted one is the same
//! JSON inside an ASCII-armoured age file protected by a passphrase (scrypt). Reading refuses a
//! plain key file that group or others can read, as ssh does. Nothing here prints a secret.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use serde::{Deserialize, Serialize};
use vigil_core::{AccountId, Keypair};
use zeroize::Zeroizing;

const ARMOR_HEADER: &str = "-----BEGIN AGE ENCRYPTED FILE-----";
const KEY_TYPE: &str = "vigil-ed25519";

/// Why a key file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file exists and overwriting was not asked for.
    #[error("{0} already exists; refusing to overwrite a key (remove it first)")]
    Exists(PathBuf),
    /// Any I/O failure.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A plain key file that others can read.
    #[error(
        "{path} has permissions {mode:04o}; a key file must not be readable by group or others (chmod 600 {path})"
    )]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
    /// An encrypted key file and no passphrase.
    #[error("{0} is encrypted; give its passphrase with --passphrase-file or VIGIL_KEY_PASSPHRASE")]
    NeedPassphrase(PathBuf),
    /// Wrong passphrase or damaged encrypted file.
    #[error("{path}: cannot decrypt ({reason})")]
    Decrypt {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Not a Vigil key file.
    #[error("{path} is not a Vigil key file: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The OS random source failed.
    #[error("cannot generate a key: {0}")]
    Random(String),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileBody {
    #[serde(rename = "type")]
    kind: String,
    account: AccountId,
    secret_seed: String,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io { path: path.to_owned(), source }
}

/// Generates a new key and writes it to `path` with mode 0600, encrypted when a passphrase is
/// given. Never overwrites an existing file.
pub fn create(path: &Path, passphrase: Option<SecretString>) -> Result<Keypair, KeyFileError> {
    let key = Keypair::generate().map_err(|e| KeyFileError::Random(e.to_string()))?;
    write(path, &key, passphrase)?;
    Ok(key)
}

/// Writes `key` to a new file at `path` (mode 0600), encrypted when a passphrase is given.
pub fn write(
    path: &Path,
    key: &Keypair,
    passphrase: Option<SecretString>,
) -> Result<(), KeyFileError> {
    if path.exists() {
        return Err(KeyFileError::Exists(path.to_owned()));
    }
    let body = KeyFileBody {
        kind: KEY_TYPE.into(),
        account: key.account_id(),
        secret_seed: hex::encode(*key.seed()),
    };
    let json = Zeroizing::new(serde_json::to_string_pretty(&body).expect("key body serialises"));
    drop(body);
    let contents: Zeroizing<String> = match passphrase {
        None => Zeroizing::new(format!("{}\n", *json)),
        Some(pass) => {
            let recipient = age::scrypt::Recipient::new(pass);
            Zeroizing::new(age::encrypt_and_armor(&recipient, json.as_bytes()).map_err(|e| {
                KeyFileError::Decrypt { path: path.to_owned(), reason: e.to_string() }
            })?)
        }
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(
        |e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => KeyFileError::Exists(path.to_owned()),
            _ => KeyFileError::Io { path: path.to_owned(), source: e },
        },
    )?;
    file.write_all(contents.as_bytes()).map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))?;
    Ok(())
}

/// Whether the file at `path` is passphrase-encrypted.
pub fn is_encrypted(path: &Path) -> Result<bool, KeyFileError> {
    let text = fs::read_to_string(path).map_err(io_err(path))?;
    Ok(text.trim_start().starts_with(ARMOR_HEADER))
}

/// Reads a key file, decrypting it with `passphrase` when it is encrypted.
pub fn read(path: &Path, passphrase: Option<SecretString>) -> Result<Keypair, KeyFileError> {
    let text = Zeroizing::new(fs::read_to_string(path).map_err(io_err(path))?);
    let json: Zeroizing<Vec<u8>> =
        if text.trim_start().starts_with(ARMOR_HEADER) {
            let pass = passphrase.ok_or_else(|| KeyFileError::NeedPassphrase(path.to_owned()))?;
            let identity = age::scrypt::Identity::new(pass);
            Zeroizing::new(age::decrypt(&identity, text.as_bytes()).map_err(|e| {
                KeyFileError::Decrypt { path: path.to_owned(), reason: e.to_string() }
            })?)
        } else {
            let mode = fs::metadata(path).map_err(io_err(path))?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyFileError::TooOpen { path: path.to_owned(), mode });
            }
            Zeroizing::new(text.as_bytes().to_vec())
        };
    let malformed = |reason: String| KeyFileError::Malformed { path: path.to_owned(), reason };
    let body: KeyFileBody = serde_json::from_slice(&json).map_err(|e| malformed(e.to_string()))?;
    if body.kind != KEY_TYPE {
        return Err(malformed(format!("type is {:?}, expected {KEY_TYPE:?}", body.kind)));
    }
    let seed = Zeroizing::new(body.secret_seed);
    let mut bytes = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(seed.as_bytes(), bytes.as_mut())
        .map_err(|_| malformed("secret_seed is not 64 hex digits".into()))?;
    let key = Keypair::from_seed(&bytes);
    if key.account_id() != body.account {
        return Err(malformed("the account does not match the secret".into()));
    }
    Ok(key)
}

/// Reads an EVM (secp256k1) private key file: one line of 64 hex digits, with or without `0x`,
/// readable only by its owner (like the account key files). The caller keeps it secret.
pub fn read_evm_key(path: &Path) -> Result<Zeroizing<String>, KeyFileError> {
    let mode = fs::metadata(path).map_err(io_err(path))?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::TooOpen { path: path.to_owned(), mode });
    }
    let text = Zeroizing::new(fs::read_to_string(path).map_err(io_err(path))?);
    let key = text.lines().next().unwrap_or("").trim();
    let digits = key.strip_prefix("0x").unwrap_or(key);
    if digits.len() != 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(KeyFileError::Malformed {
            path: path.to_owned(),
            reason: "an EVM key file holds one line of 64 hex digits".into(),
        });
    }
    Ok(Zeroizing::new(digits.to_owned()))
}

/// Writes an EVM private key (hex) to a new file with mode 0600.
pub fn write_evm_key(path: &Path, hex_key: &str) -> Result<(), KeyFileError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(
        |e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => KeyFileError::Exists(path.to_owned()),
            _ => KeyFileError::Io { path: path.to_owned(), source: e },
        },
    )?;
    file.write_all(format!("{hex_key}\n").as_bytes()).map_err(io_err(path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_key_round_trip_with_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let key = create(&path, None).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read(&path, None).unwrap().account_id(), key.account_id());
        assert!(matches!(create(&path, None), Err(KeyFileError::Exists(_))));
    }

    #[test]
    fn a_readable_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        create(&path, None).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = read(&path, None).unwrap_err();
        assert!(matches!(err, KeyFileError::TooOpen { mode: 0o644, .. }), "{err}");
    }

    #[test]
    fn encrypted_key_needs_the_right_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.age");
        let pass = || Some(SecretString::from("correct horse".to_owned()));
        let key = create(&path, pass()).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(ARMOR_HEADER));
        assert!(!text.contains(&hex::encode(*key.seed())));
        assert!(is_encrypted(&path).unwrap());
        assert_eq!(read(&path, pass()).unwrap().account_id(), key.account_id());
        assert!(matches!(read(&path, None), Err(KeyFileError::NeedPassphrase(_))));
        let wrong = Some(SecretString::from("wrong".to_owned()));
        assert!(matches!(read(&path, wrong), Err(KeyFileError::Decrypt { .. })));
    }

    #[test]
    fn evm_keys_need_0600_and_64_hex_digits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("guardian.evm");
        write_evm_key(&path, &"ab".repeat(32)).unwrap();
        assert_eq!(*read_evm_key(&path).unwrap(), "ab".repeat(32));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(read_evm_key(&path), Err(KeyFileError::TooOpen { .. })));
        let short = dir.path().join("short.evm");
        write_evm_key(&short, "0x1234").unwrap();
        assert!(matches!(read_evm_key(&short), Err(KeyFileError::Malformed { .. })));
    }

    #[test]
    fn tampered_account_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        create(&path, None).unwrap();
        let other = Keypair::from_seed(&[3; 32]).account_id();
        let text = fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let tampered = text.replace(v["account"].as_str().unwrap(), &other.to_string());
        fs::write(&path, tampered).unwrap();
        assert!(matches!(read(&path, None), Err(KeyFileError::Malformed { .. })));
    }
}

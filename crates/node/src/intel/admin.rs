//! The admin token: a random secret the node keeps in a file only its user can read (as
//! Bitcoin Core's cookie file), which the CLI on the same machine sends as
//! `Authorization: Bearer <token>` to write endpoints. The node keeps only its digest and
//! compares in constant time; the token is never logged.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use subtle::ConstantTimeEq as _;

use super::IntelError;

/// Shortest token accepted from a file written by hand.
const MIN_TOKEN_LEN: usize = 32;

/// The digest of the node's admin token.
#[derive(Clone)]
pub struct AdminToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

fn digest(token: &str) -> [u8; 32] {
    *blake3::Hasher::new_derive_key("vigil admin token v1")
        .update(token.as_bytes())
        .finalize()
        .as_bytes()
}

impl AdminToken {
    /// Reads the token from `path`, or creates it there (mode 0600, 32 random bytes in hex).
    pub fn load_or_create(path: &Path) -> Result<Self, IntelError> {
        let err = |reason: String| IntelError::AdminToken { path: path.to_owned(), reason };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let token = text.trim();
                if token.len() < MIN_TOKEN_LEN {
                    return Err(err(format!(
                        "the token is shorter than {MIN_TOKEN_LEN} characters; delete the file \
                         to have a new one created"
                    )));
                }
                if let Ok(meta) = std::fs::metadata(path)
                    && meta.permissions().mode() & 0o077 != 0
                {
                    tracing::warn!(
                        file = %path.display(),
                        "the admin token file is readable by other users; chmod 600 it"
                    );
                }
                Ok(Self { digest: digest(token) })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes).map_err(|e| err(format!("no randomness: {e}")))?;
                let token = hex::encode(bytes);
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
                }
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(|e| err(e.to_string()))?;
                file.write_all(format!("{token}\n").as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| err(e.to_string()))?;
                Ok(Self { digest: digest(&token) })
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Whether the request carries this token as `Authorization: Bearer <token>`.
    pub fn verify(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let Some((scheme, token)) = value.trim().split_once(' ') else { return false };
        scheme.eq_ignore_ascii_case("bearer")
            && bool::from(digest(token.trim()).ct_eq(&self.digest))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn created_private_reused_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin.token");
        let a = AdminToken::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let token = std::fs::read_to_string(&path).unwrap().trim().to_owned();
        assert_eq!(token.len(), 64);
        let b = AdminToken::load_or_create(&path).unwrap();
        assert_eq!(a.digest, b.digest);
        assert!(!format!("{a:?}").contains(&token));
        let mut h = HeaderMap::new();
        assert!(!a.verify(&h));
        h.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
        assert!(a.verify(&h));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer nope"));
        assert!(!a.verify(&h));
        std::fs::write(&path, "short\n").unwrap();
        assert!(AdminToken::load_or_create(&path).unwrap_err().to_string().contains("shorter"));
    }
}

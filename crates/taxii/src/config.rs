//! Server configuration: the API root, its collections, users and who may read or write what.
//! Every field has a default; unknown fields are errors (the node embeds this as `[taxii]`).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The TAXII server's configuration.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TaxiiConfig {
    /// Path the server is mounted at (its discovery endpoint is `{base_path}/`).
    pub base_path: String,
    /// Public URL prefix for the API root URLs in discovery (e.g. `https://node.example`).
    /// When unset, discovery names `http://` + the request's `Host` if it is one of
    /// `allowed_hosts`, else the address the request's connection reached (the node's listen
    /// address). A `Host` header is never echoed otherwise: it is the client's to forge.
    pub public_url: Option<String>,
    /// `Host` values (`name` or `name:port`, compared without case) that discovery may name
    /// when `public_url` is unset.
    pub allowed_hosts: Vec<String>,
    /// Discovery title.
    pub title: String,
    /// Discovery description.
    pub description: String,
    /// Contact for people.
    pub contact: Option<String>,
    /// The API root's path segment.
    pub api_root: String,
    /// Page size when a client gives no `limit`.
    pub default_page_size: usize,
    /// Largest page served, whatever the client asks.
    pub max_page_size: usize,
    /// Largest request body accepted, in bytes (advertised as `max_content_length`).
    pub max_content_length: usize,
    /// Users and their credentials.
    pub users: Vec<UserConfig>,
    /// The collections.
    pub collections: Vec<CollectionConfig>,
}

/// A user: HTTP Basic credentials, a bearer token, or both. Each secret may be given in the
/// file (`password`, `token`), read from an environment variable at start (`password_env`,
/// `token_env`), or given as a digest (`password_hash`, `token_hash`, from
/// [`hash_password`] / [`hash_token`], e.g. `vigil taxii hash`), so that no secret need be
/// written in the configuration. Secrets never appear in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// User name (Basic auth; also names the user in logs and status resources).
    pub name: String,
    /// Password for HTTP Basic auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Name of an environment variable holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// Digest of the password ([`hash_password`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    /// Token for `Authorization: Bearer <token>` (or `Token <token>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Name of an environment variable holding the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// Digest of the token ([`hash_token`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_hash: Option<String>,
    /// May post objects to writable collections.
    #[serde(default)]
    pub can_write: bool,
}

impl UserConfig {
    /// A user with no credentials yet (set one of the secret fields).
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            password: None,
            password_env: None,
            password_hash: None,
            token: None,
            token_env: None,
            token_hash: None,
            can_write: false,
        }
    }
}

/// Prefix of credential digests.
const DIGEST_PREFIX: &str = "blake3:";

/// The digest of a secret as stored: BLAKE3 in key-derivation mode over its kind and value.
pub(crate) fn digest(kind: &str, secret: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key("vigil taxii credential v1");
    h.update(kind.as_bytes());
    h.update(&[0]);
    h.update(secret);
    *h.finalize().as_bytes()
}

/// The `password_hash` of a user's password, `blake3:<hex>`. BLAKE3 is fast: use long random
/// passwords (as for tokens), not memorable ones.
pub fn hash_password(user: &str, password: &str) -> String {
    format!("{DIGEST_PREFIX}{}", hex_of(&digest("basic", format!("{user}:{password}").as_bytes())))
}

/// The `token_hash` of a bearer token, `blake3:<hex>`.
pub fn hash_token(token: &str) -> String {
    format!("{DIGEST_PREFIX}{}", hex_of(&digest("token", token.as_bytes())))
}

fn hex_of(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a `blake3:<hex>` digest.
pub(crate) fn parse_digest(text: &str) -> Option<[u8; 32]> {
    let hex = text.strip_prefix(DIGEST_PREFIX)?;
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Where one secret of a user comes from.
pub(crate) enum SecretSource<'a> {
    /// None given.
    Absent,
    /// The value itself.
    Plain(&'a str),
    /// An environment variable's name.
    Env(&'a str),
    /// A digest.
    Digest(&'a str),
}

impl UserConfig {
    fn source<'a>(
        &self,
        what: &str,
        plain: &'a Option<String>,
        env: &'a Option<String>,
        hash: &'a Option<String>,
    ) -> Result<SecretSource<'a>, ConfigError> {
        match (plain, env, hash) {
            (None, None, None) => Ok(SecretSource::Absent),
            (Some(p), None, None) => Ok(SecretSource::Plain(p)),
            (None, Some(e), None) => Ok(SecretSource::Env(e)),
            (None, None, Some(h)) => Ok(SecretSource::Digest(h)),
            _ => Err(ConfigError(format!(
                "user {:?}: give at most one of {what}, {what}_env and {what}_hash",
                self.name
            ))),
        }
    }

    /// Where the password comes from.
    pub(crate) fn password_source(&self) -> Result<SecretSource<'_>, ConfigError> {
        self.source("password", &self.password, &self.password_env, &self.password_hash)
    }

    /// Where the token comes from.
    pub(crate) fn token_source(&self) -> Result<SecretSource<'_>, ConfigError> {
        self.source("token", &self.token, &self.token_env, &self.token_hash)
    }
}

/// One collection.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionConfig {
    /// Its id (a UUID; also the store's key).
    pub id: String,
    /// A short name usable in URLs instead of the id.
    #[serde(default)]
    pub alias: Option<String>,
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Readable without credentials.
    #[serde(default)]
    pub anonymous_read: bool,
    /// Readable by authenticated users.
    #[serde(default = "yes")]
    pub readable: bool,
    /// Writable by users with `can_write` (posted objects are queued for review). Such a
    /// collection is an inbox: each poster reads and deletes only their own submissions, no
    /// one else reads it, and it cannot be `anonymous_read`.
    #[serde(default)]
    pub writable: bool,
}

fn yes() -> bool {
    true
}

/// Well-known collection aliases of a Vigil node.
pub mod aliases {
    /// Indicators of confirmed reports.
    pub const INDICATORS: &str = "indicators";
    /// Every report, with its indicators, opinions and verdict.
    pub const REPORTS: &str = "reports";
    /// Detector alerts (sightings).
    pub const ALERTS: &str = "alerts";
    /// The writable inbox: posted objects wait for review.
    pub const INBOX: &str = "inbox";
}

/// The fixed id of a default collection (UUIDv5 of its alias), the same on every node.
pub fn default_collection_id(alias: &str) -> String {
    let ns = Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://github.com/vigil-network/vigil/taxii");
    Uuid::new_v5(&ns, alias.as_bytes()).to_string()
}

impl Default for TaxiiConfig {
    fn default() -> Self {
        let c = |alias: &str, title: &str, description: &str, writable: bool| CollectionConfig {
            id: default_collection_id(alias),
            alias: Some(alias.to_owned()),
            title: title.to_owned(),
            description: Some(description.to_owned()),
            anonymous_read: false,
            readable: true,
            writable,
        };
        Self {
            base_path: "/taxii2".into(),
            public_url: None,
            allowed_hosts: Vec::new(),
            title: "Vigil TAXII server".into(),
            description: "Threat intelligence of the Vigil network: confirmed indicators, reports, detector alerts.".into(),
            contact: None,
            api_root: "vigil".into(),
            default_page_size: 1_000,
            max_page_size: 10_000,
            max_content_length: 10 * 1024 * 1024,
            users: Vec::new(),
            collections: vec![
                c(aliases::INDICATORS, "Confirmed indicators", "Indicators of reports the network confirmed.", false),
                c(aliases::REPORTS, "Reports", "Every report on the ledger with its indicators, opinions (attestations) and vulnerabilities.", false),
                c(aliases::ALERTS, "Alerts", "Detector alerts as sightings.", false),
                c(aliases::INBOX, "Inbox", "Write objects here; they are queued for review before anything is shared.", true),
            ],
        }
    }
}

/// Why a configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("taxii config: {0}")]
pub struct ConfigError(pub String);

impl TaxiiConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |s: String| Err(ConfigError(s));
        if !self.base_path.starts_with('/')
            || self.base_path.ends_with('/') && self.base_path.len() > 1
        {
            return err(format!(
                "base_path {:?} must start with '/' and not end with one",
                self.base_path
            ));
        }
        if self.api_root.is_empty() || self.api_root.contains('/') {
            return err(format!("api_root {:?} must be one non-empty path segment", self.api_root));
        }
        if self.default_page_size == 0 || self.max_page_size < self.default_page_size {
            return err("need 0 < default_page_size <= max_page_size".into());
        }
        if let Some(url) = &self.public_url {
            let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
            let bad = |c: char| c.is_whitespace() || c.is_control() || "?#\\".contains(c);
            if rest.is_none_or(|r| r.is_empty() || r.starts_with('/') || r.contains(bad)) {
                return err(format!(
                    "public_url {url:?} must be http:// or https://, a host, and at most a path"
                ));
            }
        }
        for host in &self.allowed_hosts {
            let ok = !host.is_empty()
                && host.len() <= 255
                && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b));
            if !ok {
                return err(format!(
                    "allowed_hosts entry {host:?} must be a host name or address, with an optional :port"
                ));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for c in &self.collections {
            if c.writable && c.anonymous_read {
                return err(format!(
                    "collection {:?} is writable, so its objects wait for review: it cannot be \
                     anonymous_read",
                    c.alias.as_deref().unwrap_or(&c.id)
                ));
            }
            if Uuid::parse_str(&c.id).is_err() {
                return err(format!("collection id {:?} is not a UUID", c.id));
            }
            for key in std::iter::once(&c.id).chain(&c.alias) {
                if !seen.insert(key.clone()) {
                    return err(format!("collection id or alias {key:?} is used twice"));
                }
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for u in &self.users {
            if u.name.is_empty() || u.name.contains(':') || !names.insert(&u.name) {
                return err(format!("user name {:?} is empty, has ':' or is used twice", u.name));
            }
            let password = u.password_source()?;
            let token = u.token_source()?;
            if matches!(password, SecretSource::Plain("")) {
                return err(format!("user {:?}: empty password", u.name));
            }
            if let SecretSource::Plain(t) = token
                && t.len() < 16
            {
                return err(format!("user {:?}: token shorter than 16 characters", u.name));
            }
            for (what, source) in [("password_hash", &password), ("token_hash", &token)] {
                if let SecretSource::Digest(d) = source
                    && parse_digest(d).is_none()
                {
                    return err(format!(
                        "user {:?}: {what} must be blake3:<64 hex digits> (see `vigil taxii hash`)",
                        u.name
                    ));
                }
            }
            if matches!((&password, &token), (SecretSource::Absent, SecretSource::Absent)) {
                return err(format!("user {:?} has neither a password nor a token", u.name));
            }
        }
        Ok(())
    }

    /// A collection by id or alias.
    pub fn collection(&self, id_or_alias: &str) -> Option<&CollectionConfig> {
        self.collections
            .iter()
            .find(|c| c.id == id_or_alias || c.alias.as_deref() == Some(id_or_alias))
    }
}

impl fmt::Debug for UserConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("UserConfig")
            .field("name", &self.name)
            .field("password", &redacted(&self.password))
            .field("password_env", &self.password_env)
            .field("password_hash", &redacted(&self.password_hash))
            .field("token", &redacted(&self.token))
            .field("token_env", &self.token_env)
            .field("token_hash", &redacted(&self.token_hash))
            .field("can_write", &self.can_write)
            .finish()
    }
}

impl fmt::Debug for TaxiiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaxiiConfig")
            .field("base_path", &self.base_path)
            .field("public_url", &self.public_url)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("api_root", &self.api_root)
            .field("users", &self.users)
            .field("collections", &self.collections)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_secrets_never_print() {
        let mut c = TaxiiConfig::default();
        c.validate().unwrap();
        assert_eq!(c.collections.len(), 4);
        c.users.push(UserConfig {
            password: Some("hunter2hunter2".into()),
            can_write: true,
            ..UserConfig::named("alice")
        });
        c.validate().unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        let mut bob = UserConfig { token: Some("short".into()), ..UserConfig::named("bob") };
        c.users.push(bob.clone());
        assert!(c.validate().unwrap_err().0.contains("shorter than 16"));
        bob.token = None;
        bob.token_hash = Some("md5:abc".into());
        c.users[1] = bob.clone();
        assert!(c.validate().unwrap_err().0.contains("blake3:"));
        bob.token_hash = Some(hash_token("0123456789abcdef0123"));
        c.users[1] = bob.clone();
        c.validate().unwrap();
        assert!(!format!("{c:?}").contains(&hash_token("0123456789abcdef0123")));
        bob.token_env = Some("BOB_TOKEN".into());
        c.users[1] = bob;
        assert!(c.validate().unwrap_err().0.contains("at most one of token"));
    }

    #[test]
    fn inboxes_stay_private_and_urls_and_hosts_are_checked() {
        let mut c = TaxiiConfig::default();
        let inbox = c.collections.iter_mut().find(|c| c.writable).unwrap();
        inbox.anonymous_read = true;
        assert!(c.validate().unwrap_err().0.contains("cannot be anonymous_read"));
        let mut c = TaxiiConfig { public_url: Some("ftp://x".into()), ..TaxiiConfig::default() };
        assert!(c.validate().unwrap_err().0.contains("public_url"));
        c.public_url = Some("https://node.example/intel".into());
        c.validate().unwrap();
        c.allowed_hosts = vec!["node.example:7070".into(), "[::1]:7070".into()];
        c.validate().unwrap();
        c.allowed_hosts.push("evil.example/x".into());
        assert!(c.validate().unwrap_err().0.contains("allowed_hosts"));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let r: Result<TaxiiConfig, _> = serde_json::from_str(r#"{"api_rot": "x"}"#);
        assert!(r.unwrap_err().to_string().contains("unknown field"));
        let c: TaxiiConfig = serde_json::from_str(r#"{"api_root": "x"}"#).unwrap();
        assert_eq!(c.collections.len(), 4);
    }
}

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
    /// Public URL prefix for the API root URLs in discovery (e.g. `https://node.example`);
    /// when unset, `http://` + the request's `Host` header.
    pub public_url: Option<String>,
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

/// A user: HTTP Basic credentials, a bearer token, or both.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// User name (Basic auth; also names the user in logs and status resources).
    pub name: String,
    /// Password for HTTP Basic auth.
    #[serde(default)]
    pub password: Option<String>,
    /// Token for `Authorization: Bearer <token>` (or `Token <token>`).
    #[serde(default)]
    pub token: Option<String>,
    /// May post objects to writable collections.
    #[serde(default)]
    pub can_write: bool,
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
    /// Writable by users with `can_write` (posted objects are queued for review).
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
        let mut seen = std::collections::BTreeSet::new();
        for c in &self.collections {
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
            if u.password.as_deref().is_some_and(str::is_empty)
                || u.token.as_deref().is_some_and(|t| t.len() < 16)
            {
                return err(format!(
                    "user {:?}: empty password or token shorter than 16 characters",
                    u.name
                ));
            }
            if u.password.is_none() && u.token.is_none() {
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
        f.debug_struct("UserConfig")
            .field("name", &self.name)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("can_write", &self.can_write)
            .finish()
    }
}

impl fmt::Debug for TaxiiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaxiiConfig")
            .field("base_path", &self.base_path)
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
            name: "alice".into(),
            password: Some("hunter2hunter2".into()),
            token: None,
            can_write: true,
        });
        c.validate().unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        c.users.push(UserConfig {
            name: "bob".into(),
            password: None,
            token: Some("short".into()),
            can_write: false,
        });
        assert!(c.validate().is_err());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let r: Result<TaxiiConfig, _> = serde_json::from_str(r#"{"api_rot": "x"}"#);
        assert!(r.unwrap_err().to_string().contains("unknown field"));
        let c: TaxiiConfig = serde_json::from_str(r#"{"api_root": "x"}"#).unwrap();
        assert_eq!(c.collections.len(), 4);
    }
}

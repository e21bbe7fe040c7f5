//! Webhook executors: a JSON POST signed with HMAC-SHA256 (the receiver checks
//! `X-Vigil-Signature: sha256=<hex HMAC(secret, "<timestamp>.<body>")>` and the timestamp in
//! `X-Vigil-Timestamp`, refusing stale ones), or a Slack / Discord incoming-webhook message.
//! Failed deliveries are retried with exponential backoff.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{ExecError, Executor, Incident, with_retries};

/// The message format a receiver expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// The incident as JSON, HMAC-signed.
    Json,
    /// A Slack incoming webhook (`{"text": …}`).
    Slack,
    /// A Discord webhook (`{"content": …}`).
    Discord,
}

/// A webhook's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The receiver's URL.
    pub url: String,
    /// Message format.
    #[serde(default = "json_format")]
    pub format: WebhookFormat,
    /// Name of the environment variable holding the HMAC secret (never put secrets in the
    /// config file). Required for the `json` format.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Incident families to send: `breaker`, `verdict`, `alert` (default: `breaker` and
    /// `verdict`; alerts go only where asked, here or through `[[respond.routes]]`).
    #[serde(default)]
    pub events: Vec<String>,
    /// Attempts per incident (default 5).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// First retry delay in milliseconds, doubling each time (default 250).
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
    /// Per-attempt timeout in milliseconds (default 5000).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

fn json_format() -> WebhookFormat {
    WebhookFormat::Json
}
/// Attempts per delivery when not configured (webhooks and channels).
pub(super) fn default_attempts() -> u32 {
    5
}
/// First retry delay in milliseconds when not configured.
pub(super) fn default_backoff() -> u64 {
    250
}
/// Per-attempt timeout in milliseconds when not configured.
pub(super) fn default_timeout() -> u64 {
    5_000
}

/// Header carrying the Unix timestamp the signature covers.
pub const TIMESTAMP_HEADER: &str = "x-vigil-timestamp";
/// Header carrying `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "x-vigil-signature";

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a signature in constant time.
pub fn verify(secret: &[u8], timestamp: u64, body: &[u8], signature: &str) -> bool {
    let Some(hex_sig) = signature.strip_prefix("sha256=") else { return false };
    let Ok(given) = hex::decode(hex_sig) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// A webhook executor.
pub struct Webhook {
    config: WebhookConfig,
    secret: Option<Zeroizing<Vec<u8>>>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.config.url)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Webhook {
    /// A webhook from its settings, reading its secret from the environment.
    pub fn new(config: WebhookConfig) -> Result<Self, ExecError> {
        let secret = match &config.secret_env {
            Some(var) => Some(Zeroizing::new(
                std::env::var(var)
                    .map_err(|_| ExecError {
                        executor: format!("webhook {}", config.url),
                        message: format!("environment variable {var} (the HMAC secret) is not set"),
                    })?
                    .into_bytes(),
            )),
            None => None,
        };
        Self::with_secret(config, secret.map(|s| s.to_vec()))
    }

    /// A webhook with the secret given directly (tests, embedding).
    pub fn with_secret(config: WebhookConfig, secret: Option<Vec<u8>>) -> Result<Self, ExecError> {
        if config.format == WebhookFormat::Json && secret.is_none() {
            return Err(ExecError {
                executor: format!("webhook {}", config.url),
                message: "the json format needs an HMAC secret (secret_env)".into(),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .build()
            .map_err(|e| ExecError {
                executor: format!("webhook {}", config.url),
                message: e.to_string(),
            })?;
        Ok(Self { config, secret: secret.map(Zeroizing::new), http })
    }

    fn body(&self, incident: &Incident) -> Vec<u8> {
        let value = match self.config.format {
            WebhookFormat::Json => {
                serde_json::json!({ "incident": incident, "id": incident.key() })
            }
            WebhookFormat::Slack => serde_json::json!({ "text": incident.summary() }),
            WebhookFormat::Discord => serde_json::json!({ "content": incident.summary() }),
        };
        serde_json::to_vec(&value).unwrap_or_default()
    }

    async fn attempt(&self, body: &[u8]) -> Result<(), String> {
        let mut req = self.http.post(&self.config.url).header("content-type", "application/json");
        if let Some(secret) = &self.secret {
            let ts = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
            req = req
                .header(TIMESTAMP_HEADER, ts.to_string())
                .header(SIGNATURE_HEADER, sign(secret, ts, body));
        }
        let resp = req.body(body.to_vec()).send().await.map_err(|e| e.without_url().to_string())?;
        if resp.status().is_success() { Ok(()) } else { Err(format!("HTTP {}", resp.status())) }
    }
}

impl Executor for Webhook {
    fn name(&self) -> String {
        format!("webhook {}", self.config.url)
    }

    fn wants(&self, incident: &Incident) -> bool {
        if self.config.events.is_empty() {
            return incident.family() != "alert";
        }
        self.config.events.iter().any(|f| f == incident.family())
    }

    fn execute<'a>(&'a self, incident: &'a Incident) -> BoxFuture<'a, Result<String, ExecError>> {
        Box::pin(async move {
            let body = self.body(incident);
            match with_retries(self.config.attempts, self.config.backoff_ms, || self.attempt(&body))
                .await
            {
                Ok(attempt) => Ok(format!("delivered on attempt {attempt}")),
                Err(last) => Err(ExecError {
                    executor: self.name(),
                    message: format!("gave up after {} attempts: {last}", self.config.attempts),
                }),
            }
        })
    }
}

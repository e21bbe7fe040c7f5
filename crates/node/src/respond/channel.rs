//! Alert channels (`[[respond.channels]]`): where routed incidents reach people. Each channel
//! sends the shape its service documents:
//!
//! | type | request |
//! |---|---|
//! | `webhook` | `POST url`, JSON `{id, title, text, incident}`, HMAC-signed like the incident webhooks when `secret_env` is set |
//! | `slack` | `POST url`, `{"text": …}` (an incoming webhook) |
//! | `discord` | `POST url`, `{"content": …}` (at most 2000 characters) |
//! | `telegram` | Bot API `POST <url or https://api.telegram.org>/bot<token>/sendMessage`, `{chat_id, text}` |
//! | `email` | SMTP (STARTTLS by default, implicit TLS, or none for a local relay), a plain-text message |
//! | `pagerduty` | Events API v2 `POST <url or https://events.pagerduty.com/v2/enqueue>`, a `trigger` event deduplicated by the incident's key |
//! | `opsgenie` | Alert API `POST <url or https://api.opsgenie.com/v2/alerts>` with `Authorization: GenieKey <key>` |
//!
//! Secrets (tokens, keys, passwords) come from environment variables named in the config and
//! never reach a log or an error message (a Telegram token is part of its URL, so request
//! errors are reported without it). Messages come from the channel's `title` and `body`
//! templates ([`super::template`]), or defaults that carry the transaction, chain, stage,
//! description and link. A channel drops incidents below its `min_severity`. Deliveries are
//! retried with exponential backoff in their own task, off the detection path, and counted in
//! the metrics by channel and outcome.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vigil_core::Severity;
use zeroize::Zeroizing;

use super::template::Template;
use super::webhook::{
    SIGNATURE_HEADER, TIMESTAMP_HEADER, default_attempts, default_backoff, default_timeout, sign,
};
use super::{ExecError, Executor, Incident, with_retries};
use crate::metrics::{ChannelLabels, DeliveryMetrics};

/// What a channel talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// A JSON POST, optionally HMAC-signed.
    Webhook,
    /// A Slack incoming webhook.
    Slack,
    /// A Discord webhook.
    Discord,
    /// A Telegram bot.
    Telegram,
    /// Email over SMTP.
    Email,
    /// PagerDuty Events API v2.
    Pagerduty,
    /// Opsgenie Alert API.
    Opsgenie,
}

impl ChannelKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Slack => "slack",
            Self::Discord => "discord",
            Self::Telegram => "telegram",
            Self::Email => "email",
            Self::Pagerduty => "pagerduty",
            Self::Opsgenie => "opsgenie",
        }
    }
}

/// How an email channel secures its SMTP connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only for a relay on the same host or network.
    None,
}

/// A channel's settings. Which fields apply depends on `type`; one that does not apply, or a
/// required one that is missing, is an error naming the channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// Unique name; routes refer to it.
    pub name: String,
    /// What it talks to.
    #[serde(rename = "type")]
    pub kind: ChannelKind,
    /// The receiver (webhook, slack, discord), or the API base of telegram, pagerduty and
    /// opsgenie (default: the service's public API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// webhook: environment variable holding the HMAC secret that signs each request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    /// telegram: the bot token; pagerduty: the integration (routing) key; opsgenie: the API
    /// key — the name of the environment variable holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// telegram: the chat (`-100…` for a group or channel, or `@channelname`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    /// email: the SMTP server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_host: Option<String>,
    /// email: its port (default 587 for STARTTLS, 465 for TLS, 25 without).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_port: Option<u16>,
    /// email: `starttls` (default), `tls` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<SmtpTls>,
    /// email: a PEM file of a certificate authority to trust besides the public ones (a
    /// private relay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// email: the SMTP user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// email: environment variable holding the SMTP password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// email: the sender, `Name <address>` or `address`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// email: the recipients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    /// Incidents less severe than this are not sent (default `info`: all).
    #[serde(default = "info")]
    pub min_severity: Severity,
    /// The title template (email subject, PagerDuty summary, Opsgenie message, first line
    /// elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Template>,
    /// The body template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Template>,
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

fn info() -> Severity {
    Severity::Info
}

use ChannelKind as K;

impl ChannelConfig {
    /// A channel of `kind` named `name` with every optional field unset.
    pub fn new(name: &str, kind: ChannelKind) -> Self {
        Self {
            name: name.into(),
            kind,
            url: None,
            secret_env: None,
            token_env: None,
            chat_id: None,
            smtp_host: None,
            smtp_port: None,
            tls: None,
            ca_file: None,
            username: None,
            password_env: None,
            from: None,
            to: Vec::new(),
            min_severity: Severity::Info,
            title: None,
            body: None,
            attempts: default_attempts(),
            backoff_ms: default_backoff(),
            timeout_ms: default_timeout(),
        }
    }

    /// Checks that the fields `type` needs are there and no other type's are.
    pub fn check(&self) -> Result<(), String> {
        let fail = |why: String| {
            Err(format!("respond.channels {} ({}): {why}", self.name, self.kind.as_str()))
        };
        if self.name.trim().is_empty() {
            return Err("respond.channels: a channel without a name".into());
        }
        let set: [(&str, bool, &[ChannelKind]); 12] = [
            (
                "url",
                self.url.is_some(),
                &[K::Webhook, K::Slack, K::Discord, K::Telegram, K::Pagerduty, K::Opsgenie],
            ),
            ("secret_env", self.secret_env.is_some(), &[K::Webhook]),
            ("token_env", self.token_env.is_some(), &[K::Telegram, K::Pagerduty, K::Opsgenie]),
            ("chat_id", self.chat_id.is_some(), &[K::Telegram]),
            ("smtp_host", self.smtp_host.is_some(), &[K::Email]),
            ("smtp_port", self.smtp_port.is_some(), &[K::Email]),
            ("tls", self.tls.is_some(), &[K::Email]),
            ("ca_file", self.ca_file.is_some(), &[K::Email]),
            ("username", self.username.is_some(), &[K::Email]),
            ("password_env", self.password_env.is_some(), &[K::Email]),
            ("from", self.from.is_some(), &[K::Email]),
            ("to", !self.to.is_empty(), &[K::Email]),
        ];
        for (field, present, kinds) in set {
            if present && !kinds.contains(&self.kind) {
                return fail(format!("{field} does not apply to this type"));
            }
        }
        let required: &[(&str, bool)] = match self.kind {
            K::Webhook | K::Slack | K::Discord => &[("url", self.url.is_some())],
            K::Telegram => {
                &[("token_env", self.token_env.is_some()), ("chat_id", self.chat_id.is_some())]
            }
            K::Pagerduty | K::Opsgenie => &[("token_env", self.token_env.is_some())],
            K::Email => &[
                ("smtp_host", self.smtp_host.is_some()),
                ("from", self.from.is_some()),
                ("to", !self.to.is_empty()),
            ],
        };
        if let Some((field, _)) = required.iter().find(|(_, present)| !present) {
            return fail(format!("{field} is required"));
        }
        if let Some(url) = &self.url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return fail(format!("url {url:?} is not http(s)"));
        }
        if self.username.is_some() != self.password_env.is_some() {
            return fail("username and password_env go together".into());
        }
        for address in self.from.iter().chain(&self.to) {
            if let Err(e) = address.parse::<Mailbox>() {
                return fail(format!("{address:?} is not an email address: {e}"));
            }
        }
        if self.attempts == 0 || self.timeout_ms == 0 {
            return fail("attempts and timeout_ms must be at least 1".into());
        }
        Ok(())
    }
}

/// What one delivery sends.
enum Outgoing {
    Http { url: String, headers: Vec<(&'static str, String)>, body: Vec<u8> },
    Email(Box<Message>),
}

/// A channel executor.
pub struct Channel {
    config: ChannelConfig,
    secret: Option<Zeroizing<String>>,
    http: reqwest::Client,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    metrics: DeliveryMetrics,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("name", &self.config.name)
            .field("type", &self.config.kind)
            .field("secret", &"<redacted>")
            .finish()
    }
}

fn env_secret(channel: &str, var: &str, what: &str) -> Result<Zeroizing<String>, ExecError> {
    std::env::var(var).map(Zeroizing::new).map_err(|_| ExecError {
        executor: format!("channel {channel}"),
        message: format!("environment variable {var} ({what}) is not set"),
    })
}

impl Channel {
    /// The channel of `config`, reading its secret from the environment.
    pub fn new(config: ChannelConfig, metrics: DeliveryMetrics) -> Result<Self, ExecError> {
        let (var, what) = match config.kind {
            K::Webhook => (config.secret_env.clone(), "the HMAC secret"),
            K::Telegram => (config.token_env.clone(), "the bot token"),
            K::Pagerduty => (config.token_env.clone(), "the integration key"),
            K::Opsgenie => (config.token_env.clone(), "the API key"),
            K::Email => (config.password_env.clone(), "the SMTP password"),
            K::Slack | K::Discord => (None, ""),
        };
        let secret = var.map(|v| env_secret(&config.name, &v, what)).transpose()?;
        Self::with_secret(config, secret.map(|s| s.to_string()), metrics)
    }

    /// The channel with its secret given directly (tests, embedding).
    pub fn with_secret(
        config: ChannelConfig,
        secret: Option<String>,
        metrics: DeliveryMetrics,
    ) -> Result<Self, ExecError> {
        let error =
            |message: String| ExecError { executor: format!("channel {}", config.name), message };
        config.check().map_err(error)?;
        let timeout = Duration::from_millis(config.timeout_ms);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| error(e.to_string()))?;
        let smtp = match config.kind {
            K::Email => Some(smtp_transport(&config, secret.as_deref(), timeout).map_err(error)?),
            _ => None,
        };
        Ok(Self { config, secret: secret.map(Zeroizing::new), http, smtp, metrics })
    }

    /// The channel's name.
    pub fn channel_name(&self) -> &str {
        &self.config.name
    }

    fn title(&self, incident: &Incident) -> String {
        match &self.config.title {
            Some(t) => t.render(|v| incident.var(v)),
            None => incident.default_title(),
        }
    }

    fn body(&self, incident: &Incident) -> String {
        match &self.config.body {
            Some(t) => t.render(|v| incident.var(v)),
            None => incident.default_body(),
        }
    }

    fn outgoing(&self, incident: &Incident) -> Result<Outgoing, String> {
        let (title, body) = (self.title(incident), self.body(incident));
        let secret = || self.secret.as_ref().map(|s| s.as_str()).unwrap_or_default();
        let url = |default: &str| self.config.url.clone().unwrap_or_else(|| default.to_owned());
        let json = |value: Value| serde_json::to_vec(&value).unwrap_or_default();
        let headers = Vec::new();
        let out = match self.config.kind {
            K::Webhook => {
                let body = json(json!({
                    "id": incident.key(), "title": title, "text": body, "incident": incident,
                }));
                let mut headers = headers;
                if let Some(secret) = &self.secret {
                    let ts = unix_now();
                    headers.push((TIMESTAMP_HEADER, ts.to_string()));
                    headers.push((SIGNATURE_HEADER, sign(secret.as_bytes(), ts, &body)));
                }
                Outgoing::Http { url: url(""), headers, body }
            }
            K::Slack => Outgoing::Http {
                url: url(""),
                headers,
                body: json(json!({ "text": format!("*{title}*\n{body}") })),
            },
            K::Discord => Outgoing::Http {
                url: url(""),
                headers,
                body: json(json!({ "content": truncate(&format!("**{title}**\n{body}"), 2_000) })),
            },
            K::Telegram => Outgoing::Http {
                url: format!(
                    "{}/bot{}/sendMessage",
                    url("https://api.telegram.org").trim_end_matches('/'),
                    secret()
                ),
                headers,
                body: json(json!({
                    "chat_id": self.config.chat_id,
                    "text": truncate(&format!("{title}\n{body}"), 4_096),
                    "disable_web_page_preview": true,
                })),
            },
            K::Pagerduty => {
                let mut event = json!({
                    "routing_key": secret(),
                    "event_action": "trigger",
                    "dedup_key": incident.key(),
                    "client": "Vigil",
                    "payload": {
                        "summary": truncate(&title, 1_024),
                        "source": incident.source(),
                        "severity": pagerduty_severity(incident.severity()),
                        "component": incident.var(&super::template::Var::Detector),
                        "class": incident.family(),
                        "custom_details": { "text": body, "incident": incident },
                    },
                });
                if let Some(link) = incident.link() {
                    event["links"] = json!([{ "href": link, "text": "Vigil" }]);
                    event["client_url"] = link.into();
                }
                Outgoing::Http {
                    url: url("https://events.pagerduty.com/v2/enqueue"),
                    headers,
                    body: json(event),
                }
            }
            K::Opsgenie => {
                let mut headers = headers;
                headers.push(("authorization", format!("GenieKey {}", secret())));
                let body = json(json!({
                    "message": truncate(&title, 130),
                    "alias": truncate(&incident.key(), 512),
                    "description": truncate(&body, 15_000),
                    "priority": opsgenie_priority(incident.severity()),
                    "source": "Vigil",
                    "tags": incident.tags(),
                    "details": incident.details(),
                }));
                Outgoing::Http { url: url("https://api.opsgenie.com/v2/alerts"), headers, body }
            }
            K::Email => {
                let mut message = Message::builder();
                if let Some(from) = &self.config.from {
                    message = message.from(from.parse().map_err(|e| format!("from: {e}"))?);
                }
                for to in &self.config.to {
                    message = message.to(to.parse().map_err(|e| format!("to {to}: {e}"))?);
                }
                let message = message
                    .subject(title)
                    .header(ContentType::TEXT_PLAIN)
                    .body(body)
                    .map_err(|e| format!("email: {e}"))?;
                Outgoing::Email(Box::new(message))
            }
        };
        Ok(out)
    }

    async fn send(&self, out: &Outgoing) -> Result<(), String> {
        match out {
            Outgoing::Http { url, headers, body } => {
                let mut req = self.http.post(url).header("content-type", "application/json");
                for (name, value) in headers {
                    req = req.header(*name, value);
                }
                let resp =
                    req.body(body.clone()).send().await.map_err(|e| e.without_url().to_string())?;
                let status = resp.status();
                if !status.is_success() {
                    return Err(format!("HTTP {status}"));
                }
                if self.config.kind == K::Telegram {
                    let answer: Value =
                        resp.json().await.map_err(|e| e.without_url().to_string())?;
                    if answer["ok"] != Value::Bool(true) {
                        return Err(format!("Telegram refused: {}", answer["description"]));
                    }
                }
                Ok(())
            }
            Outgoing::Email(message) => {
                let smtp = self.smtp.as_ref().ok_or("no SMTP transport")?;
                // The transport's timeout covers each command; this one the whole exchange.
                let timeout = Duration::from_millis(self.config.timeout_ms);
                match tokio::time::timeout(timeout, smtp.send((**message).clone())).await {
                    Ok(sent) => sent.map(drop).map_err(|e| e.to_string()),
                    Err(_) => Err(format!("SMTP exchange took longer than {timeout:?}")),
                }
            }
        }
    }
}

fn smtp_transport(
    config: &ChannelConfig,
    password: Option<&str>,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let host = config.smtp_host.as_deref().unwrap_or_default();
    let tls = config.tls.unwrap_or_default();
    let port = config.smtp_port.unwrap_or(match tls {
        SmtpTls::Starttls => 587,
        SmtpTls::Tls => 465,
        SmtpTls::None => 25,
    });
    let parameters = || -> Result<TlsParameters, String> {
        let mut builder = TlsParameters::builder(host.to_owned());
        if let Some(path) = &config.ca_file {
            let pem =
                std::fs::read(path).map_err(|e| format!("ca_file {}: {e}", path.display()))?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
            builder = builder.add_root_certificate(cert);
        }
        builder.build().map_err(|e| format!("TLS for {host}: {e}"))
    };
    let tls = match tls {
        SmtpTls::Starttls => Tls::Required(parameters()?),
        SmtpTls::Tls => Tls::Wrapper(parameters()?),
        SmtpTls::None => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .tls(tls)
        .timeout(Some(timeout));
    if let (Some(user), Some(password)) = (&config.username, password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.to_owned()));
    }
    Ok(builder.build())
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `text` cut to at most `max` characters, with an ellipsis when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn pagerduty_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "info",
    }
}

fn opsgenie_priority(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "P1",
        Severity::High => "P2",
        Severity::Medium => "P3",
        Severity::Low => "P4",
        Severity::Info => "P5",
    }
}

impl Executor for Channel {
    fn name(&self) -> String {
        format!("channel {}", self.config.name)
    }

    fn wants(&self, incident: &Incident) -> bool {
        incident.severity() >= self.config.min_severity
    }

    fn execute<'a>(&'a self, incident: &'a Incident) -> BoxFuture<'a, Result<String, ExecError>> {
        Box::pin(async move {
            let labels = |outcome| ChannelLabels { channel: self.config.name.clone(), outcome };
            let out = self
                .outgoing(incident)
                .map_err(|message| ExecError { executor: self.name(), message })?;
            let result =
                with_retries(self.config.attempts, self.config.backoff_ms, || self.send(&out))
                    .await;
            match result {
                Ok(attempt) => {
                    self.metrics.notifications.get_or_create(&labels("delivered")).inc();
                    if let Some(seen) = incident.seen_at() {
                        self.metrics
                            .notification_seconds
                            .get_or_create(&labels("delivered"))
                            .observe(Instant::now().saturating_duration_since(seen).as_secs_f64());
                    }
                    Ok(format!("delivered on attempt {attempt}"))
                }
                Err(message) => {
                    self.metrics.notifications.get_or_create(&labels("failed")).inc();
                    Err(ExecError {
                        executor: self.name(),
                        message: format!(
                            "gave up after {} attempts: {message}",
                            self.config.attempts
                        ),
                    })
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_names_what_it_lacks_and_what_does_not_apply() {
        let mut c = ChannelConfig::new("tg", K::Telegram);
        c.token_env = Some("TG".into());
        assert!(c.check().unwrap_err().contains("chat_id is required"));
        c.chat_id = Some("-100".into());
        assert_eq!(c.check(), Ok(()));
        c.to = vec!["a@b.example".into()];
        assert!(c.check().unwrap_err().contains("to does not apply"));

        let mut e = ChannelConfig::new("mail", K::Email);
        e.smtp_host = Some("localhost".into());
        e.from = Some("Vigil <vigil@example.com>".into());
        assert!(e.check().unwrap_err().contains("to is required"));
        e.to = vec!["not an address".into()];
        assert!(e.check().unwrap_err().contains("not an email address"));
        e.to = vec!["oncall@example.com".into()];
        assert_eq!(e.check(), Ok(()));
        e.username = Some("u".into());
        assert!(e.check().unwrap_err().contains("go together"));

        let mut s = ChannelConfig::new("slack", K::Slack);
        s.url = Some("ftp://x".into());
        assert!(s.check().unwrap_err().contains("not http(s)"));
    }

    #[test]
    fn long_text_is_cut_on_a_character() {
        assert_eq!(truncate("héllo", 10), "héllo");
        assert_eq!(truncate("héllo", 3), "hé…");
    }
}

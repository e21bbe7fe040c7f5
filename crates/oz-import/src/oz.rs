//! OpenZeppelin Monitor's configuration files, read field by field so an error names the file
//! and the field (`monitors/usdc.json: addresses[0].address: missing`).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::ImportError;

/// A secret as OZ configures one (`{"type": "Plain" | "Environment" | "HashicorpCloudVault",
/// "value": …}`); the type is case-insensitive.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Secret {
    /// The value itself.
    Plain(String),
    /// The name of an environment variable holding it.
    Environment(String),
    /// The name of a secret in HashiCorp Cloud Vault.
    Vault(String),
}

/// One RPC endpoint.
#[derive(Clone, Debug)]
pub struct RpcUrl {
    /// `rpc` (or another transport OZ knows).
    pub kind: String,
    /// The URL.
    pub url: Secret,
    /// Load-balancing weight.
    pub weight: u64,
}

/// A `networks/*.json` file.
#[derive(Clone, Debug)]
pub struct Network {
    /// The file.
    pub file: String,
    /// `EVM`, `Stellar`, `Solana`, `Midnight`.
    pub network_type: String,
    /// Its unique slug, which monitors name.
    pub slug: String,
    /// Its name.
    pub name: String,
    /// Endpoints.
    pub rpc_urls: Vec<RpcUrl>,
    /// EVM chain id.
    pub chain_id: Option<u64>,
    /// Average block time, ms.
    pub block_time_ms: u64,
    /// Blocks OZ waits before matching.
    pub confirmation_blocks: u64,
    /// OZ's polling schedule.
    pub cron_schedule: String,
    /// Other fields present (`max_past_blocks`, `store_blocks`, `recovery_config`, …).
    pub other: Vec<String>,
}

/// A monitored address.
#[derive(Clone, Debug)]
pub struct Address {
    /// As written.
    pub address: String,
    /// Its ABI (EVM `contract_spec`), as JSON text.
    pub abi: Option<String>,
}

/// A function or event condition.
#[derive(Clone, Debug)]
pub struct SignatureCondition {
    /// `transfer(address,uint256)`.
    pub signature: String,
    /// Over the arguments; `None` matches any call or event of that signature.
    pub expression: Option<String>,
}

/// A transaction condition.
#[derive(Clone, Debug)]
pub struct TxCondition {
    /// `Any`, `Success` or `Failure`.
    pub status: TxStatus,
    /// Over the transaction's fields.
    pub expression: Option<String>,
}

/// The status a transaction condition requires.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TxStatus {
    /// Either.
    Any,
    /// The receipt's status is 1.
    Success,
    /// It reverted.
    Failure,
}

/// A script filter (`trigger_conditions`).
#[derive(Clone, Debug)]
pub struct ScriptFilter {
    /// The script.
    pub script_path: String,
    /// Its language.
    pub language: String,
}

/// A `monitors/*.json` file.
#[derive(Clone, Debug)]
pub struct Monitor {
    /// The file.
    pub file: String,
    /// Its unique name.
    pub name: String,
    /// Network slugs.
    pub networks: Vec<String>,
    /// Paused monitors do not run.
    pub paused: bool,
    /// Addresses watched.
    pub addresses: Vec<Address>,
    /// Function conditions.
    pub functions: Vec<SignatureCondition>,
    /// Event conditions.
    pub events: Vec<SignatureCondition>,
    /// Transaction conditions.
    pub transactions: Vec<TxCondition>,
    /// Script filters.
    pub trigger_conditions: Vec<ScriptFilter>,
    /// Trigger ids.
    pub triggers: Vec<String>,
}

/// A message template.
#[derive(Clone, Debug, Default)]
pub struct Message {
    /// Title / subject.
    pub title: String,
    /// Body.
    pub body: String,
}

/// What a trigger does.
#[derive(Clone, Debug)]
pub enum TriggerKind {
    /// A Slack incoming webhook.
    Slack {
        /// Its URL.
        url: Secret,
    },
    /// A Discord webhook.
    Discord {
        /// Its URL.
        url: Secret,
    },
    /// Telegram's Bot API.
    Telegram {
        /// The bot token.
        token: Secret,
        /// The chat.
        chat_id: String,
        /// `disable_web_preview`.
        disable_web_preview: bool,
    },
    /// SMTP.
    Email {
        /// Server.
        host: String,
        /// Port (OZ's default 465).
        port: u16,
        /// Login.
        username: Secret,
        /// Password.
        password: Secret,
        /// From.
        sender: String,
        /// To.
        recipients: Vec<String>,
    },
    /// An HTTP request.
    Webhook {
        /// The URL.
        url: Secret,
        /// HTTP method (default POST).
        method: String,
        /// HMAC secret.
        secret: Option<Secret>,
        /// Extra headers (names only).
        headers: Vec<String>,
        /// `template` or `raw`.
        payload_mode: String,
    },
    /// A script.
    Script {
        /// The script.
        script_path: String,
    },
}

/// One entry of a `triggers/*.json` file.
#[derive(Clone, Debug)]
pub struct Trigger {
    /// The file.
    pub file: String,
    /// Its id (the key monitors name).
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it does.
    pub kind: TriggerKind,
    /// Its message (empty for scripts and raw webhooks).
    pub message: Message,
    /// `retry_policy.max_retries`, `initial_backoff` (ms), when set.
    pub retry: Option<(Option<u64>, Option<u64>)>,
}

/// A JSON object being read, with the file and the path to it for errors.
struct Obj<'a> {
    file: &'a str,
    path: String,
    map: &'a serde_json::Map<String, Value>,
}

fn field_error(file: &str, field: &str, message: impl Into<String>) -> ImportError {
    ImportError::Field { file: file.into(), field: field.into(), message: message.into() }
}

impl<'a> Obj<'a> {
    fn new(file: &'a str, path: String, v: &'a Value) -> Result<Self, ImportError> {
        match v {
            Value::Object(map) => Ok(Self { file, path, map }),
            other => Err(field_error(
                file,
                if path.is_empty() { "(top level)" } else { &path },
                format!("expected an object, found {}", kind(other)),
            )),
        }
    }

    fn name(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_owned() } else { format!("{}.{key}", self.path) }
    }

    fn err(&self, key: &str, message: impl Into<String>) -> ImportError {
        field_error(self.file, &self.name(key), message)
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn req(&self, key: &str) -> Result<&'a Value, ImportError> {
        self.get(key).ok_or_else(|| self.err(key, "missing"))
    }

    fn str(&self, key: &str) -> Result<String, ImportError> {
        match self.req(key)? {
            Value::String(s) => Ok(s.clone()),
            other => Err(self.err(key, format!("expected a string, found {}", kind(other)))),
        }
    }

    fn opt_str(&self, key: &str) -> Result<Option<String>, ImportError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.err(key, format!("expected a string, found {}", kind(other)))),
        }
    }

    fn u64(&self, key: &str) -> Result<u64, ImportError> {
        self.req(key)?.as_u64().ok_or_else(|| self.err(key, "expected a non-negative integer"))
    }

    fn opt_u64(&self, key: &str) -> Result<Option<u64>, ImportError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => {
                v.as_u64().map(Some).ok_or_else(|| self.err(key, "expected a non-negative integer"))
            }
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, ImportError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.err(key, format!("expected a boolean, found {}", kind(other)))),
        }
    }

    fn array(&self, key: &str) -> Result<&'a [Value], ImportError> {
        match self.get(key) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(other) => Err(self.err(key, format!("expected an array, found {}", kind(other)))),
        }
    }

    fn objects(&self, key: &str) -> Result<Vec<Obj<'a>>, ImportError> {
        self.array(key)?
            .iter()
            .enumerate()
            .map(|(i, v)| Obj::new(self.file, format!("{}[{i}]", self.name(key)), v))
            .collect()
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, ImportError> {
        self.array(key)?
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(field_error(
                    self.file,
                    &format!("{}[{i}]", self.name(key)),
                    format!("expected a string, found {}", kind(other)),
                )),
            })
            .collect()
    }

    fn child(&self, key: &str) -> Result<Obj<'a>, ImportError> {
        Obj::new(self.file, self.name(key), self.req(key)?)
    }

    fn secret(&self, key: &str) -> Result<Secret, ImportError> {
        let o = self.child(key)?;
        let t = o.str("type")?;
        let value = o.str("value")?;
        match t.to_ascii_lowercase().as_str() {
            "plain" => Ok(Secret::Plain(value)),
            "environment" => Ok(Secret::Environment(value)),
            "hashicorpcloudvault" => Ok(Secret::Vault(value)),
            _ => Err(o.err(
                "type",
                format!("{t:?} is not a secret type (Plain, Environment, HashicorpCloudVault)"),
            )),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Deepest JSON nesting accepted (ABIs with nested tuples stay far below it).
const MAX_DEPTH: usize = 128;

fn parse_json(file: &str, text: &str) -> Result<Value, ImportError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let v: Value = serde::Deserialize::deserialize(&mut de)
        .map_err(|e| ImportError::Json { file: file.into(), message: e.to_string() })?;
    de.end().map_err(|e| ImportError::Json { file: file.into(), message: e.to_string() })?;
    if depth(&v) > MAX_DEPTH {
        return Err(ImportError::Json {
            file: file.into(),
            message: format!("nested deeper than {MAX_DEPTH} levels"),
        });
    }
    Ok(v)
}

fn depth(v: &Value) -> usize {
    // Iterative, so a deep document cannot exhaust the stack here.
    let mut max = 0;
    let mut stack = vec![(v, 1usize)];
    while let Some((v, d)) = stack.pop() {
        max = max.max(d);
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
            Value::Object(o) => stack.extend(o.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    max
}

/// Reads a network file.
pub fn network(file: &str, text: &str) -> Result<Network, ImportError> {
    let v = parse_json(file, text)?;
    let o = Obj::new(file, String::new(), &v)?;
    let rpc_urls = o
        .objects("rpc_urls")?
        .iter()
        .map(|r| {
            Ok(RpcUrl {
                kind: r.opt_str("type_")?.unwrap_or_else(|| "rpc".into()),
                url: r.secret("url")?,
                weight: r.opt_u64("weight")?.unwrap_or(100),
            })
        })
        .collect::<Result<Vec<_>, ImportError>>()?;
    let known = [
        "network_type",
        "slug",
        "name",
        "rpc_urls",
        "chain_id",
        "network_passphrase",
        "block_time_ms",
        "confirmation_blocks",
        "cron_schedule",
    ];
    Ok(Network {
        file: file.into(),
        network_type: o.str("network_type")?,
        slug: o.str("slug")?,
        name: o.str("name")?,
        rpc_urls,
        chain_id: o.opt_u64("chain_id")?,
        block_time_ms: o.u64("block_time_ms")?,
        confirmation_blocks: o.u64("confirmation_blocks")?,
        cron_schedule: o.opt_str("cron_schedule")?.unwrap_or_default(),
        other: o.map.keys().filter(|k| !known.contains(&k.as_str())).cloned().collect(),
    })
}

fn signature_conditions(o: &Obj<'_>, key: &str) -> Result<Vec<SignatureCondition>, ImportError> {
    o.objects(key)?
        .iter()
        .map(|c| {
            Ok(SignatureCondition {
                signature: c.str("signature")?,
                expression: c.opt_str("expression")?,
            })
        })
        .collect()
}

/// Reads a monitor file.
pub fn monitor(file: &str, text: &str) -> Result<Monitor, ImportError> {
    let v = parse_json(file, text)?;
    let o = Obj::new(file, String::new(), &v)?;
    let addresses = o
        .objects("addresses")?
        .iter()
        .map(|a| {
            Ok(Address {
                address: a.str("address")?,
                abi: a
                    .get("contract_spec")
                    .map(|v| serde_json::to_string_pretty(v).unwrap_or_default()),
            })
        })
        .collect::<Result<Vec<_>, ImportError>>()?;
    let (functions, events, transactions) = match o.get("match_conditions") {
        None => (Vec::new(), Vec::new(), Vec::new()),
        Some(_) => {
            let m = o.child("match_conditions")?;
            let transactions = m
                .objects("transactions")?
                .iter()
                .map(|c| {
                    let status = match c.opt_str("status")?.as_deref() {
                        None | Some("Any") => TxStatus::Any,
                        Some("Success") => TxStatus::Success,
                        Some("Failure") => TxStatus::Failure,
                        Some(other) => {
                            return Err(c.err(
                                "status",
                                format!("{other:?} is not Any, Success or Failure"),
                            ));
                        }
                    };
                    Ok(TxCondition { status, expression: c.opt_str("expression")? })
                })
                .collect::<Result<Vec<_>, ImportError>>()?;
            (
                signature_conditions(&m, "functions")?,
                signature_conditions(&m, "events")?,
                transactions,
            )
        }
    };
    let trigger_conditions = o
        .objects("trigger_conditions")?
        .iter()
        .map(|t| {
            Ok(ScriptFilter {
                script_path: t.str("script_path")?,
                language: t.opt_str("language")?.unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>, ImportError>>()?;
    Ok(Monitor {
        file: file.into(),
        name: o.str("name")?,
        networks: o.strings("networks")?,
        paused: o.bool("paused")?.unwrap_or(false),
        addresses,
        functions,
        events,
        transactions,
        trigger_conditions,
        triggers: o.strings("triggers")?,
    })
}

fn message(c: &Obj<'_>, required: bool) -> Result<Message, ImportError> {
    if c.get("message").is_none() && !required {
        return Ok(Message::default());
    }
    let m = c.child("message")?;
    Ok(Message { title: m.str("title")?, body: m.str("body")? })
}

/// Reads a triggers file: an object of trigger id → trigger.
pub fn triggers(file: &str, text: &str) -> Result<Vec<Trigger>, ImportError> {
    let v = parse_json(file, text)?;
    let top = Obj::new(file, String::new(), &v)?;
    let mut out = Vec::new();
    let entries: BTreeMap<&String, &Value> = top.map.iter().collect();
    for (id, value) in entries {
        let t = Obj::new(file, id.clone(), value)?;
        let c = t.child("config")?;
        let trigger_type = t.str("trigger_type")?;
        let kind = match trigger_type.to_ascii_lowercase().as_str() {
            "slack" => TriggerKind::Slack { url: c.secret("slack_url")? },
            "discord" => TriggerKind::Discord { url: c.secret("discord_url")? },
            "telegram" => TriggerKind::Telegram {
                token: c.secret("token")?,
                chat_id: c.str("chat_id")?,
                disable_web_preview: c.bool("disable_web_preview")?.unwrap_or(false),
            },
            "email" => TriggerKind::Email {
                host: c.str("host")?,
                port: match c.opt_u64("port")? {
                    None => 465,
                    Some(p) => u16::try_from(p).map_err(|_| c.err("port", "not a port"))?,
                },
                username: c.secret("username")?,
                password: c.secret("password")?,
                sender: c.str("sender")?,
                recipients: c.strings("recipients")?,
            },
            "webhook" => TriggerKind::Webhook {
                url: c.secret("url")?,
                method: c.opt_str("method")?.unwrap_or_else(|| "POST".into()),
                secret: match c.get("secret") {
                    Some(_) => Some(c.secret("secret")?),
                    None => None,
                },
                headers: match c.get("headers") {
                    Some(_) => c.child("headers")?.map.keys().cloned().collect(),
                    None => Vec::new(),
                },
                payload_mode: c.opt_str("payload_mode")?.unwrap_or_else(|| "template".into()),
            },
            "script" => TriggerKind::Script { script_path: c.str("script_path")? },
            other => {
                return Err(t.err(
                    "trigger_type",
                    format!("{other:?} is not slack, discord, telegram, email, webhook or script"),
                ));
            }
        };
        let needs_message = match &kind {
            TriggerKind::Script { .. } => false,
            TriggerKind::Webhook { payload_mode, .. } => payload_mode != "raw",
            _ => true,
        };
        let retry = match c.get("retry_policy") {
            Some(_) => {
                let r = c.child("retry_policy")?;
                Some((r.opt_u64("max_retries")?, r.opt_u64("initial_backoff")?))
            }
            None => None,
        };
        out.push(Trigger {
            file: file.into(),
            id: id.clone(),
            name: t.str("name")?,
            message: message(&c, needs_message)?,
            kind,
            retry,
        });
    }
    Ok(out)
}

//! `vigil-oz-import`: translates an OpenZeppelin Monitor configuration directory
//! (`networks/`, `monitors/`, `triggers/`, `filters/`, as documented for its 1.x releases)
//! into Vigil's configuration, for `vigil import oz-monitor`.
//!
//! For each EVM network that monitors use it writes a node configuration fragment
//! (`<slug>.toml`: `[watch]` with the RPC URL, and `[respond]` with the monitors' triggers as
//! alert channels and one route per monitor) and a rules directory (`rules/<slug>/`: one rule
//! file per monitor, its contracts declared with their ABI). A Vigil node watches one chain,
//! so several EVM networks make several configurations.
//!
//! The rule of each monitor follows OZ's documented matching: the transaction must involve one
//! of the monitor's addresses (sender, recipient, or a log's emitter); with conditions, a
//! transaction condition must hold when there are any, and a function or an event condition
//! when there are any of those (function conditions on calls to a monitored contract, decoded
//! by its `contract_spec`; event conditions on its logs); only mined transactions.
//!
//! Whatever has no Vigil equivalent is listed in the [`Report`] (file, monitor or trigger,
//! field, why) and left out, never approximated: non-EVM networks, script filters and script
//! triggers, expression constructs with no CEL equivalent, HashiCorp Cloud Vault secrets.
//! Secrets given in plain text are never written out: the channel names an environment
//! variable, and the report says which to set. Pure: the caller reads and writes the files.

pub mod cel;
pub mod expr;
pub mod oz;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use alloy_json_abi::JsonAbi;
use vigil_core::EvmAddress;

use crate::cel::{Lookup, Param, Translator};
use crate::oz::{Monitor, Network, Secret, Trigger, TriggerKind, TxStatus};

/// Why a configuration directory could not be translated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// A file is not JSON.
    #[error("{file}: not valid JSON: {message}")]
    Json {
        /// The file.
        file: String,
        /// The parser's message.
        message: String,
    },
    /// A field is missing, of the wrong type, or refers to something that does not exist.
    #[error("{file}: {field}: {message}")]
    Field {
        /// The file.
        file: String,
        /// The field, as a path (`addresses[0].address`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// Two files define the same network, monitor or trigger.
    #[error("{what} {name:?} is defined in {first} and again in {second}")]
    Duplicate {
        /// `network`, `monitor` or `trigger`.
        what: &'static str,
        /// Its slug, name or id.
        name: String,
        /// The first file.
        first: String,
        /// The second.
        second: String,
    },
    /// The directory has no monitors to translate.
    #[error("no monitors/*.json files: is this an OpenZeppelin Monitor config directory?")]
    NoMonitors,
    /// A translated rule file does not load (a bug of this translator).
    #[error("the rules translated for network {network} do not load: {message}")]
    Rules {
        /// The network.
        network: String,
        /// The rule loader's error.
        message: String,
    },
}

/// How serious a report entry is.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Level {
    /// Left out: Vigil will not do this part.
    Skipped,
    /// Translated with a difference worth knowing.
    Note,
    /// An environment variable to set before starting the node.
    Env,
}

/// One entry of the report.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Entry {
    /// How serious.
    pub level: Level,
    /// The OZ file.
    pub file: String,
    /// What in it (`monitor "Large USDC Transfers"`, `trigger large_transfer_slack`).
    pub subject: String,
    /// The field (`match_conditions.events[0].expression`), or empty.
    pub field: String,
    /// What happened, and why.
    pub message: String,
}

/// What the translation did and did not do.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Report {
    /// The entries, skips first.
    pub entries: Vec<Entry>,
    /// Monitors translated, per network slug.
    pub translated: BTreeMap<String, Vec<String>>,
}

impl Report {
    fn push(&mut self, level: Level, file: &str, subject: String, field: &str, message: String) {
        self.entries.push(Entry {
            level,
            file: file.into(),
            subject,
            field: field.into(),
            message,
        });
    }

    /// The entries of one level.
    pub fn of(&self, level: Level) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.level == level)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (network, monitors) in &self.translated {
            writeln!(
                f,
                "network {network}: {} monitor(s): {}",
                monitors.len(),
                monitors.join(", ")
            )?;
        }
        for (level, title) in [
            (Level::Skipped, "Not translated"),
            (Level::Note, "Notes"),
            (Level::Env, "Set these environment variables"),
        ] {
            let entries: Vec<&Entry> = self.of(level).collect();
            if entries.is_empty() {
                continue;
            }
            writeln!(f, "\n{title}:")?;
            for e in entries {
                let field =
                    if e.field.is_empty() { String::new() } else { format!(", {}", e.field) };
                writeln!(f, "  - {} ({}{field}): {}", e.file, e.subject, e.message)?;
            }
        }
        Ok(())
    }
}

/// The translation: files to write (paths relative to the output directory) and the report.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Translation {
    /// `(path, contents)`, in a stable order.
    pub files: Vec<(String, String)>,
    /// What was and was not translated.
    pub report: Report,
}

/// Translates the files of an OZ config directory, given as `(path relative to it, text)`
/// (`networks/ethereum_mainnet.json`, `monitors/usdc.json`, `triggers/slack.json`,
/// `filters/x.sh`; filters' contents are not read).
pub fn translate(files: &[(String, String)]) -> Result<Translation, ImportError> {
    let mut report = Report::default();
    let mut networks: BTreeMap<String, Network> = BTreeMap::new();
    let mut monitors: Vec<Monitor> = Vec::new();
    let mut triggers: BTreeMap<String, Trigger> = BTreeMap::new();
    let mut sorted: Vec<&(String, String)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, text) in sorted {
        let json = path.ends_with(".json");
        match path.split_once('/').map(|(dir, _)| dir) {
            Some("networks") if json => {
                let n = oz::network(path, text)?;
                if let Some(first) = networks.get(&n.slug) {
                    return Err(ImportError::Duplicate {
                        what: "network",
                        name: n.slug.clone(),
                        first: first.file.clone(),
                        second: path.clone(),
                    });
                }
                networks.insert(n.slug.clone(), n);
            }
            Some("monitors") if json => {
                let m = oz::monitor(path, text)?;
                if let Some(first) = monitors.iter().find(|x| x.name == m.name) {
                    return Err(ImportError::Duplicate {
                        what: "monitor",
                        name: m.name.clone(),
                        first: first.file.clone(),
                        second: path.clone(),
                    });
                }
                monitors.push(m);
            }
            Some("triggers") if json => {
                for t in oz::triggers(path, text)? {
                    if let Some(first) = triggers.get(&t.id) {
                        return Err(ImportError::Duplicate {
                            what: "trigger",
                            name: t.id.clone(),
                            first: first.file.clone(),
                            second: path.clone(),
                        });
                    }
                    triggers.insert(t.id.clone(), t);
                }
            }
            Some("filters") => {}
            _ => report.push(
                Level::Note,
                path,
                "file".into(),
                "",
                "not a networks/, monitors/ or triggers/ JSON file; ignored".into(),
            ),
        }
    }
    if monitors.is_empty() {
        return Err(ImportError::NoMonitors);
    }

    // References first: a monitor naming an unknown network or trigger is an error.
    for m in &monitors {
        for (i, slug) in m.networks.iter().enumerate() {
            if !networks.contains_key(slug) {
                return Err(ImportError::Field {
                    file: m.file.clone(),
                    field: format!("networks[{i}]"),
                    message: format!(
                        "unknown network {slug:?} (networks/*.json define: {})",
                        networks.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        }
        for (i, id) in m.triggers.iter().enumerate() {
            if !triggers.contains_key(id) {
                return Err(ImportError::Field {
                    file: m.file.clone(),
                    field: format!("triggers[{i}]"),
                    message: format!(
                        "unknown trigger {id:?} (triggers/*.json define: {})",
                        triggers.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        }
    }

    let watches = watch_sections(&networks, &monitors, &mut report);
    let channels = channels(&triggers, &monitors, &mut report);
    let mut rule_names = BTreeSet::new();
    let mut out = Vec::new();
    let mut per_network: BTreeMap<String, Vec<(String, Vec<String>)>> = BTreeMap::new();
    for m in &monitors {
        let evm: Vec<&String> = m.networks.iter().filter(|s| watches.contains_key(*s)).collect();
        for slug in m.networks.iter().filter(|s| !watches.contains_key(*s)) {
            if let Some(n) = networks.get(slug) {
                let why = if is_evm(n) {
                    "its network could not be translated (see above)".to_owned()
                } else {
                    format!("{} networks have no Vigil equivalent", n.network_type)
                };
                report.push(
                    Level::Skipped,
                    &m.file,
                    monitor_subject(m),
                    "networks",
                    format!("{slug}: {why}"),
                );
            }
        }
        if evm.is_empty() {
            continue;
        }
        let name = unique_name(&slug(&m.name), &mut rule_names);
        let needed = template_variables(m, &triggers);
        let rule = match rule_file(m, &name, &needed, &mut report) {
            Ok(r) => r,
            Err(why) => {
                report.push(Level::Skipped, &m.file, monitor_subject(m), &why.0, why.1);
                continue;
            }
        };
        let routed: Vec<String> =
            m.triggers.iter().filter(|t| channels.contains_key(*t)).cloned().collect();
        if routed.is_empty() && !m.triggers.is_empty() {
            report.push(
                Level::Note,
                &m.file,
                monitor_subject(m),
                "triggers",
                "none of its triggers could be translated: its alerts reach no channel".into(),
            );
        }
        for slug in evm {
            for (path, text) in &rule.abis {
                out.push((format!("rules/{slug}/{path}"), text.clone()));
            }
            out.push((format!("rules/{slug}/{name}.toml"), rule.text.clone()));
            per_network.entry(slug.clone()).or_default().push((name.clone(), routed.clone()));
            report.translated.entry(slug.clone()).or_default().push(m.name.clone());
        }
    }

    for (slug, rules) in &per_network {
        let Some(watch) = watches.get(slug) else { continue };
        let mut text = watch.clone();
        let used: BTreeSet<&String> = rules.iter().flat_map(|(_, c)| c).collect();
        if !used.is_empty() {
            text.push_str("\n[respond]\n");
            for id in &used {
                if let Some(c) = channels.get(*id) {
                    text.push('\n');
                    text.push_str(c);
                }
            }
            for (rule, chans) in rules.iter().filter(|(_, c)| !c.is_empty()) {
                text.push_str(&format!(
                    "\n[[respond.routes]]\nname = {}\nchannels = [{}]\nrules = [{}]\nstages = [\"mined\"]\n",
                    toml_str(rule),
                    chans.iter().map(|c| toml_str(c)).collect::<Vec<_>>().join(", "),
                    toml_str(rule),
                ));
            }
        }
        out.push((format!("{slug}.toml"), text));
        check_rules(slug, &out)?;
    }
    for (slug, n) in &networks {
        if watches.contains_key(slug) && !per_network.contains_key(slug) {
            report.push(
                Level::Note,
                &n.file,
                format!("network {slug}"),
                "",
                "no monitor uses it; no configuration written".into(),
            );
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    report.entries.sort_by(|a, b| (a.level, &a.file).cmp(&(b.level, &b.file)));
    Ok(Translation { files: out, report })
}

/// Loads the rules written for `slug`, as the node will.
fn check_rules(slug: &str, out: &[(String, String)]) -> Result<(), ImportError> {
    let dir = format!("rules/{slug}/");
    let texts: Vec<(&str, &str)> = out
        .iter()
        .filter_map(|(p, t)| p.strip_prefix(&dir).map(|n| (n, t.as_str())))
        .filter(|(n, _)| n.ends_with(".toml") && !n.contains('/'))
        .collect();
    vigil_detect::RuleSet::load_with(texts, |_, abi| {
        out.iter()
            .find(|(p, _)| *p == format!("{dir}{abi}"))
            .map(|(_, t)| t.clone())
            .ok_or_else(|| format!("{abi} was not written"))
    })
    .map(|_| ())
    .map_err(|e| ImportError::Rules { network: slug.into(), message: e.to_string() })
}

fn is_evm(n: &Network) -> bool {
    n.network_type.eq_ignore_ascii_case("evm")
}

fn monitor_subject(m: &Monitor) -> String {
    format!("monitor {:?}", m.name)
}

/// A TOML string: a literal string when it can be one, else an escaped basic string.
pub fn toml_str(s: &str) -> String {
    if !s.contains(['\'', '\n', '\r']) && !s.chars().any(char::is_control) {
        return format!("'{s}'");
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `Large USDC Transfers` → `large-usdc-transfers`.
fn slug(name: &str) -> String {
    let mut s = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    let s: String = s.trim_end_matches('-').chars().take(56).collect();
    if s.is_empty() { "monitor".into() } else { s.trim_end_matches('-').to_owned() }
}

fn unique_name(base: &str, taken: &mut BTreeSet<String>) -> String {
    let mut name = base.to_owned();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

/// The `[watch]` section of each EVM network that can be watched, by slug.
fn watch_sections(
    networks: &BTreeMap<String, Network>,
    monitors: &[Monitor],
    report: &mut Report,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (slug, n) in networks {
        let subject = format!("network {slug}");
        if !is_evm(n) {
            if monitors.iter().any(|m| m.networks.contains(slug)) {
                report.push(
                    Level::Skipped,
                    &n.file,
                    subject,
                    "network_type",
                    format!("{}: Vigil watches EVM chains only", n.network_type),
                );
            }
            continue;
        }
        let mut rpcs: Vec<&oz::RpcUrl> = n.rpc_urls.iter().filter(|r| r.kind == "rpc").collect();
        rpcs.sort_by_key(|r| std::cmp::Reverse(r.weight));
        let Some(best) = rpcs.first() else {
            report.push(
                Level::Skipped,
                &n.file,
                subject,
                "rpc_urls",
                "no endpoint of type rpc".into(),
            );
            continue;
        };
        let url = match &best.url {
            Secret::Plain(u) => u.clone(),
            Secret::Environment(var) => {
                report.push(
                    Level::Skipped,
                    &n.file,
                    subject,
                    "rpc_urls[].url",
                    format!(
                        "the URL is in environment variable {var}; Vigil's [watch] rpc is a URL \
                         in the file: write it there by hand"
                    ),
                );
                continue;
            }
            Secret::Vault(name) => {
                report.push(
                    Level::Skipped,
                    &n.file,
                    subject,
                    "rpc_urls[].url",
                    format!(
                        "the URL is HashiCorp Cloud Vault secret {name:?}, which Vigil cannot read"
                    ),
                );
                continue;
            }
        };
        if rpcs.len() > 1 {
            report.push(
                Level::Note,
                &n.file,
                subject.clone(),
                "rpc_urls",
                format!(
                    "Vigil uses one RPC endpoint: the highest-weighted, {url}; {} other(s) left out",
                    rpcs.len() - 1
                ),
            );
        }
        report.push(
            Level::Note,
            &n.file,
            subject.clone(),
            "confirmation_blocks",
            format!(
                "OZ matches blocks {} deep; Vigil alerts when a transaction is mined and follows \
                 reorgs (watch.reorg_depth), so alerts come sooner and may concern a block later \
                 replaced",
                n.confirmation_blocks
            ),
        );
        if !n.cron_schedule.is_empty() {
            report.push(
                Level::Note,
                &n.file,
                subject.clone(),
                "cron_schedule",
                format!(
                    "{:?} not used: Vigil polls every block_time_ms ({} ms) instead",
                    n.cron_schedule, n.block_time_ms
                ),
            );
        }
        for f in &n.other {
            report.push(
                Level::Note,
                &n.file,
                subject.clone(),
                f,
                "no Vigil equivalent; ignored".into(),
            );
        }
        let chain = n.chain_id.map_or_else(|| "unknown".to_owned(), |c| c.to_string());
        out.insert(
            slug.clone(),
            format!(
                "# Vigil node configuration for {} ({slug}, chain id {chain}), translated by\n\
                 # `vigil import oz-monitor` from {}. Merge it into a node's config.toml (paths\n\
                 # are relative to the configuration file).\n\n\
                 [watch]\nrpc = {}\nrules_dir = {}\n\
                 # OZ Monitor matches mined transactions only.\npending = false\n\
                 poll_interval = {}\n",
                n.name,
                n.file,
                toml_str(&url),
                toml_str(&format!("rules/{slug}")),
                n.block_time_ms.clamp(100, 60_000),
            ),
        );
    }
    out
}

/// A template variable of OZ's messages and what it becomes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Var {
    /// `${events.N.args.P}`, `${events.N.signature}`.
    Event(usize, Option<String>),
    /// `${functions.N.args.P}`, `${functions.N.signature}`.
    Function(usize, Option<String>),
    /// `${transaction.value}`.
    TxValue,
}

impl Var {
    fn key(&self) -> String {
        let part = |p: &Option<String>| {
            p.as_ref().map_or_else(
                || "signature".to_owned(),
                |s| s.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect(),
            )
        };
        match self {
            Var::Event(n, p) => format!("events_{n}_{}", part(p)),
            Var::Function(n, p) => format!("functions_{n}_{}", part(p)),
            Var::TxValue => "transaction_value".into(),
        }
    }
}

enum Translated {
    Text(String),
    Metadata(Var),
    Unknown,
}

fn variable(name: &str) -> Translated {
    let plain = |s: &str| Translated::Text(format!("${{{s}}}"));
    match name {
        "monitor.name" => return plain("alert.rule"),
        "transaction.hash" => return plain("tx.hash"),
        "transaction.from" => return plain("tx.from"),
        "transaction.to" => return plain("tx.to"),
        "transaction.value" => return Translated::Metadata(Var::TxValue),
        _ => {}
    }
    let parts: Vec<&str> = name.split('.').collect();
    let which = match parts.first() {
        Some(&"events") => Var::Event as fn(usize, Option<String>) -> Var,
        Some(&"functions") => Var::Function,
        _ => return Translated::Unknown,
    };
    let Some(Ok(n)) = parts.get(1).map(|i| i.parse::<usize>()) else {
        return Translated::Unknown;
    };
    match parts.get(2..) {
        Some(["signature"]) => Translated::Metadata(which(n, None)),
        Some(["args", p]) if !p.is_empty() => Translated::Metadata(which(n, Some((*p).to_owned()))),
        _ => Translated::Unknown,
    }
}

/// The `${…}` variables of a template, with their byte ranges.
fn placeholders(t: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = t.get(from..).and_then(|r| r.find("${")).map(|i| i + from) {
        let Some(end) = t[start + 2..].find('}').map(|i| i + start + 2) else { break };
        out.push((start, end + 1, &t[start + 2..end]));
        from = end + 1;
    }
    out
}

/// The metadata variables the triggers of `m` use.
fn template_variables(m: &Monitor, triggers: &BTreeMap<String, Trigger>) -> BTreeSet<Var> {
    let mut vars = BTreeSet::new();
    for t in m.triggers.iter().filter_map(|id| triggers.get(id)) {
        for text in [&t.message.title, &t.message.body] {
            for (_, _, name) in placeholders(text) {
                if let Translated::Metadata(v) = variable(name) {
                    vars.insert(v);
                }
            }
        }
    }
    vars
}

/// A template in Vigil's variables; OZ variables without an equivalent are dropped (OZ
/// itself renders variables of another context empty).
fn template(t: &Trigger, field: &str, text: &str, report: &mut Report) -> String {
    let mut out = String::new();
    let mut last = 0;
    for (start, end, name) in placeholders(text) {
        // Vigil's templates read `$$` as `$`.
        out.push_str(&text[last..start].replace('$', "$$"));
        match variable(name) {
            Translated::Text(s) => out.push_str(&s),
            Translated::Metadata(v) => out.push_str(&format!("${{metadata.{}}}", v.key())),
            Translated::Unknown => report.push(
                Level::Skipped,
                &t.file,
                format!("trigger {}", t.id),
                field,
                format!(
                    "${{{name}}} has no Vigil equivalent and is left out of the message{}",
                    if name == "events" || name == "functions" {
                        " (OZ's list of every matched item)"
                    } else {
                        ""
                    }
                ),
            ),
        }
        last = end;
    }
    out.push_str(&text[last..].replace('$', "$$"));
    out
}

/// The channel TOML of each trigger that translates, by trigger id.
fn channels(
    triggers: &BTreeMap<String, Trigger>,
    monitors: &[Monitor],
    report: &mut Report,
) -> BTreeMap<String, String> {
    let used: BTreeSet<&String> = monitors.iter().flat_map(|m| &m.triggers).collect();
    let mut out = BTreeMap::new();
    for (id, t) in triggers.iter().filter(|(id, _)| used.contains(id)) {
        match channel(t, report) {
            Ok(text) => {
                out.insert(id.clone(), text);
            }
            Err((field, why)) => {
                report.push(Level::Skipped, &t.file, format!("trigger {id}"), &field, why);
            }
        }
    }
    out
}

fn env_name(id: &str, what: &str) -> String {
    let id: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' })
        .collect();
    format!("VIGIL_{id}_{what}")
}

/// The `*_env` variable for a secret, reporting what to set; `Err` for a vault secret.
fn secret_env(
    t: &Trigger,
    field: &str,
    what: &str,
    secret: &Secret,
    report: &mut Report,
) -> Result<String, (String, String)> {
    match secret {
        Secret::Plain(_) => {
            let var = env_name(&t.id, what);
            report.push(
                Level::Env,
                &t.file,
                format!("trigger {}", t.id),
                field,
                format!(
                    "set {var} to the value written there in plain text (not copied into \
                     Vigil's configuration)"
                ),
            );
            Ok(var)
        }
        Secret::Environment(var) => {
            report.push(
                Level::Env,
                &t.file,
                format!("trigger {}", t.id),
                field,
                format!("set {var}, as for OpenZeppelin Monitor"),
            );
            Ok(var.clone())
        }
        Secret::Vault(name) => Err((
            field.to_owned(),
            format!(
                "HashiCorp Cloud Vault secret {name:?}: Vigil reads secrets from environment \
                 variables only (export it to one and give it as type Environment)"
            ),
        )),
    }
}

/// A URL the channel needs in its configuration.
fn plain_url(field: &str, secret: &Secret) -> Result<String, (String, String)> {
    match secret {
        Secret::Plain(u) => Ok(u.clone()),
        Secret::Environment(var) => Err((
            field.to_owned(),
            format!(
                "the URL is in environment variable {var}; Vigil's channel url is written in the configuration"
            ),
        )),
        Secret::Vault(name) => Err((
            field.to_owned(),
            format!("the URL is HashiCorp Cloud Vault secret {name:?}, which Vigil cannot read"),
        )),
    }
}

fn channel(t: &Trigger, report: &mut Report) -> Result<String, (String, String)> {
    let subject = format!("trigger {}", t.id);
    let mut lines = vec![format!("[[respond.channels]]\nname = {}", toml_str(&t.id))];
    match &t.kind {
        TriggerKind::Slack { url } => {
            lines.push("type = 'slack'".into());
            lines.push(format!("url = {}", toml_str(&plain_url("config.slack_url", url)?)));
        }
        TriggerKind::Discord { url } => {
            lines.push("type = 'discord'".into());
            lines.push(format!("url = {}", toml_str(&plain_url("config.discord_url", url)?)));
        }
        TriggerKind::Telegram { token, chat_id, disable_web_preview } => {
            let var = secret_env(t, "config.token", "TOKEN", token, report)?;
            lines.push("type = 'telegram'".into());
            lines.push(format!("token_env = {}", toml_str(&var)));
            lines.push(format!("chat_id = {}", toml_str(chat_id)));
            if *disable_web_preview {
                report.push(
                    Level::Note,
                    &t.file,
                    subject.clone(),
                    "config.disable_web_preview",
                    "not configurable in Vigil; ignored".into(),
                );
            }
        }
        TriggerKind::Email { host, port, username, password, sender, recipients } => {
            let user = match username {
                Secret::Plain(u) => u.clone(),
                other => {
                    return Err((
                        "config.username".into(),
                        format!(
                            "the SMTP username is a secret ({}); Vigil's channel takes it in \
                             the configuration",
                            match other {
                                Secret::Environment(v) => format!("environment variable {v}"),
                                Secret::Vault(n) => format!("vault secret {n:?}"),
                                Secret::Plain(_) => String::new(),
                            }
                        ),
                    ));
                }
            };
            let var = secret_env(t, "config.password", "PASSWORD", password, report)?;
            lines.push("type = 'email'".into());
            lines.push(format!("smtp_host = {}", toml_str(host)));
            lines.push(format!("smtp_port = {port}"));
            // Port 465 is SMTP over TLS from the first byte; the others upgrade with STARTTLS.
            lines.push(format!("tls = '{}'", if *port == 465 { "tls" } else { "starttls" }));
            lines.push(format!("username = {}", toml_str(&user)));
            lines.push(format!("password_env = {}", toml_str(&var)));
            lines.push(format!("from = {}", toml_str(sender)));
            lines.push(format!(
                "to = [{}]",
                recipients.iter().map(|r| toml_str(r)).collect::<Vec<_>>().join(", ")
            ));
        }
        TriggerKind::Webhook { url, method, secret, headers, payload_mode } => {
            if payload_mode == "raw" {
                return Err((
                    "config.payload_mode".into(),
                    "raw mode posts OZ's MonitorMatch object, which Vigil does not produce".into(),
                ));
            }
            if !method.eq_ignore_ascii_case("post") {
                return Err(("config.method".into(), format!("{method}: Vigil's webhooks POST")));
            }
            lines.push("type = 'webhook'".into());
            lines.push(format!("url = {}", toml_str(&plain_url("config.url", url)?)));
            if let Some(s) = secret {
                let var = secret_env(t, "config.secret", "SECRET", s, report)?;
                lines.push(format!("secret_env = {}", toml_str(&var)));
                report.push(
                    Level::Note,
                    &t.file,
                    subject.clone(),
                    "config.secret",
                    "Vigil signs the JSON it posts with HMAC-SHA256 in its own headers (as its \
                     incident webhooks, see README); a receiver checking OZ's X-Signature must \
                     check Vigil's instead"
                        .into(),
                );
            }
            if !headers.is_empty() {
                report.push(
                    Level::Skipped,
                    &t.file,
                    subject.clone(),
                    "config.headers",
                    format!(
                        "custom headers ({}) are not sent by Vigil's webhooks",
                        headers.join(", ")
                    ),
                );
            }
        }
        TriggerKind::Script { script_path } => {
            return Err((
                "trigger_type".into(),
                format!("script {script_path:?}: Vigil does not run notification scripts"),
            ));
        }
    }
    if let Some((retries, backoff)) = t.retry {
        if let Some(r) = retries {
            lines.push(format!("attempts = {}", r.saturating_add(1)));
        }
        if let Some(ms) = backoff {
            lines.push(format!("backoff_ms = {ms}"));
        }
    }
    lines.push(format!(
        "title = {}",
        toml_str(&template(t, "config.message.title", &t.message.title, report))
    ));
    lines.push(format!(
        "body = {}",
        toml_str(&template(t, "config.message.body", &t.message.body, report))
    ));
    Ok(lines.join("\n") + "\n")
}

/// A translated monitor: its rule file and ABI files (relative to its rules directory).
struct RuleFile {
    text: String,
    abis: Vec<(String, String)>,
}

/// The ABI of each address of a monitor that has one.
struct Abis {
    items: Vec<(String, JsonAbi)>,
}

/// A function's or event's signature with its parameters' names and types.
type Declared = (String, Vec<(String, String)>);

impl Abis {
    fn functions(&self, signature: &str) -> Vec<Declared> {
        let declared = self.items.iter().flat_map(|(_, abi)| {
            abi.functions().map(|f| {
                (f.signature(), f.inputs.iter().map(|p| (p.name.clone(), p.ty.clone())).collect())
            })
        });
        first_of_each(signature, declared)
    }

    fn events(&self, signature: &str) -> Vec<Declared> {
        let declared = self.items.iter().flat_map(|(_, abi)| {
            abi.events().map(|e| {
                (e.signature(), e.inputs.iter().map(|p| (p.name.clone(), p.ty.clone())).collect())
            })
        });
        first_of_each(signature, declared)
    }
}

/// The declarations whose signature is `signature` as OZ compares them, each signature once.
fn first_of_each(signature: &str, declared: impl Iterator<Item = Declared>) -> Vec<Declared> {
    let want = normalise_signature(signature);
    let mut out: Vec<Declared> = Vec::new();
    for (sig, params) in declared {
        if normalise_signature(&sig) == want && !out.iter().any(|(s, _)| *s == sig) {
            out.push((sig, params));
        }
    }
    out
}

/// OZ compares signatures without whitespace, case-insensitively.
fn normalise_signature(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase()
}

/// The scope of a function or event condition: its candidates' parameters.
fn args_lookup<'a>(
    candidates: &'a [(String, Vec<(String, String)>)],
    base: &'a str,
) -> impl Fn(&str) -> Lookup + 'a {
    move |name: &str| {
        let kinds: Vec<Option<&String>> = candidates
            .iter()
            .map(|(_, params)| params.iter().find(|(n, _)| n == name).map(|(_, k)| k))
            .collect();
        match kinds.first() {
            None | Some(None) if kinds.iter().all(Option::is_none) => Lookup::Missing,
            Some(Some(k)) if kinds.iter().all(|x| x == &Some(*k)) => Lookup::Found(Param {
                cel: format!("{base}.args[{}]", cel::string(name)),
                kind: (*k).clone(),
            }),
            _ => Lookup::Ambiguous(format!(
                "the ABIs' {} signatures disagree on parameter `{name}`",
                candidates.len()
            )),
        }
    }
}

fn tx_lookup(name: &str) -> Lookup {
    let (cel, kind) = match name {
        "value" => ("tx.value", "uint256"),
        "from" => ("tx.from", "address"),
        "to" => ("tx.to", "address"),
        "hash" => ("tx.hash", "string"),
        "gas_price" => ("tx.gas_price", "uint256"),
        "max_fee_per_gas" => ("tx.max_fee_per_gas", "uint256"),
        "max_priority_fee_per_gas" => ("tx.max_priority_fee_per_gas", "uint256"),
        "gas_limit" => ("double(tx.gas_limit)", "uint256"),
        "nonce" => ("double(tx.nonce)", "uint256"),
        "input" => ("tx.input_hex", "string"),
        "gas_used" => ("double(tx.gas_used)", "uint256"),
        "transaction_index" => ("double(tx.index)", "uint64"),
        _ => return Lookup::Missing,
    };
    Lookup::Found(Param { cel: cel.into(), kind: kind.into() })
}

/// `(field, why)` of what stops a monitor from translating.
type Refusal = (String, String);

/// Translates one OZ expression in a scope; `None` expression → `true`.
fn condition(
    m: &Monitor,
    field: &str,
    expression: Option<&str>,
    lookup: &dyn Fn(&str) -> Lookup,
    report: &mut Report,
) -> Result<String, Refusal> {
    let Some(src) = expression.filter(|s| !s.trim().is_empty()) else {
        return Ok("true".into());
    };
    let parsed = expr::parse(src).map_err(|e| (field.to_owned(), format!("{src:?}: {e}")))?;
    let mut t = Translator { lookup, warnings: Vec::new() };
    let out = t.translate(&parsed).map_err(|e| (field.to_owned(), e))?;
    for w in t.warnings {
        report.push(Level::Note, &m.file, monitor_subject(m), field, w);
    }
    Ok(out)
}

fn join_or(parts: &[String]) -> String {
    match parts {
        [] => "false".into(),
        [one] => one.clone(),
        many => format!("({})", many.join(" || ")),
    }
}

fn both(a: &str, b: &str) -> String {
    match (a, b) {
        ("true", x) | (x, "true") => x.to_owned(),
        _ => format!("{a} && {b}"),
    }
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| cel::string(s)).collect::<Vec<_>>().join(", "))
}

fn rule_file(
    m: &Monitor,
    name: &str,
    needed: &BTreeSet<Var>,
    report: &mut Report,
) -> Result<RuleFile, Refusal> {
    let subject = monitor_subject(m);
    let list_name = format!("oz_{}", name.replace(['-', '.'], "_"));
    let mut all = Vec::new();
    let mut with_abi = Vec::new();
    let mut abis = Abis { items: Vec::new() };
    let mut contracts = String::new();
    let mut abi_files = Vec::new();
    for (i, a) in m.addresses.iter().enumerate() {
        let lower = cel::address(&a.address);
        let field = format!("addresses[{i}].address");
        lower
            .parse::<EvmAddress>()
            .map_err(|e| (field.clone(), format!("{:?} is not an EVM address: {e}", a.address)))?;
        if !all.contains(&lower) {
            all.push(lower.clone());
        }
        let Some(json) = &a.abi else { continue };
        let abi = vigil_detect::abi::parse_abi(json)
            .map_err(|e| (format!("addresses[{i}].contract_spec"), e))?;
        let path = format!("abi/{name}-{lower}.json");
        contracts.push_str(&format!(
            "\n[[contract]]\naddress = {}\nabi = {}\n",
            toml_str(&lower),
            toml_str(&path)
        ));
        abi_files.push((path, json.clone()));
        if !with_abi.contains(&lower) {
            with_abi.push(lower.clone());
        }
        abis.items.push((lower, abi));
    }
    if all.is_empty() {
        report.push(
            Level::Note,
            &m.file,
            subject.clone(),
            "addresses",
            "no addresses: OZ never matches such a monitor, nor will the rule".into(),
        );
    }
    let abi_list = format!("{list_name}_abi");

    let mut fn_parts = Vec::new();
    for (i, c) in m.functions.iter().enumerate() {
        let field = format!("match_conditions.functions[{i}]");
        let candidates = abis.functions(&c.signature);
        if candidates.is_empty() {
            report.push(
                Level::Note,
                &m.file,
                subject.clone(),
                &format!("{field}.signature"),
                format!("{} is in none of the monitor's ABIs: it never matches", c.signature),
            );
            continue;
        }
        let lookup = args_lookup(&candidates, "tx.function");
        let cond =
            condition(m, &format!("{field}.expression"), c.expression.as_deref(), &lookup, report)?;
        let sigs: Vec<String> = candidates.iter().map(|(s, _)| s.clone()).collect();
        fn_parts.push(both(&format!("tx.function.signature in {}", list(&sigs)), &cond));
    }
    let function_match = (!m.functions.is_empty()).then(|| {
        format!(
            "(tx.to != null && tx.to in {abi_list} && tx.function != null && {})",
            join_or(&fn_parts)
        )
    });

    let mut ev_parts = Vec::new();
    // The parameter names of every event the conditions can match.
    let mut event_params: Vec<Vec<String>> = Vec::new();
    for (i, c) in m.events.iter().enumerate() {
        let field = format!("match_conditions.events[{i}]");
        let candidates = abis.events(&c.signature);
        if candidates.is_empty() {
            report.push(
                Level::Note,
                &m.file,
                subject.clone(),
                &format!("{field}.signature"),
                format!("{} is in none of the monitor's ABIs: it never matches", c.signature),
            );
            continue;
        }
        event_params
            .extend(candidates.iter().map(|(_, ps)| ps.iter().map(|(n, _)| n.clone()).collect()));
        let lookup = args_lookup(&candidates, "e");
        let cond =
            condition(m, &format!("{field}.expression"), c.expression.as_deref(), &lookup, report)?;
        let sigs: Vec<String> = candidates.iter().map(|(s, _)| s.clone()).collect();
        ev_parts.push(both(&format!("e.signature in {}", list(&sigs)), &cond));
    }
    let event_pred = format!("e.address in {abi_list} && {}", join_or(&ev_parts));
    let event_match =
        (!m.events.is_empty()).then(|| format!("tx.abi_events.exists(e, {event_pred})"));

    let mut tx_parts = Vec::new();
    for (i, c) in m.transactions.iter().enumerate() {
        let field = format!("match_conditions.transactions[{i}].expression");
        let status = match c.status {
            TxStatus::Any => "true",
            TxStatus::Success => "tx.success",
            TxStatus::Failure => "!tx.success",
        };
        let cond = condition(m, &field, c.expression.as_deref(), &tx_lookup, report)?;
        tx_parts.push(both(status, &cond));
    }
    let tx_match = (!m.transactions.is_empty()).then(|| join_or(&tx_parts));

    // OZ: (function OR event) AND transaction, each group only when it has conditions; the
    // transaction must involve a monitored address (implied by a function or event match).
    let any_of = match (&function_match, &event_match) {
        (Some(f), Some(e)) => Some(format!("({f} || {e})")),
        (Some(x), None) | (None, Some(x)) => Some(x.clone()),
        (None, None) => None,
    };
    let involved = format!(
        "(tx.from in {list_name} || (tx.to != null && tx.to in {list_name}) || \
         tx.emitters.exists(a, a in {list_name}))"
    );
    let body = match (any_of, tx_match) {
        (Some(a), Some(t)) => format!("{a} && {t}"),
        (Some(a), None) => a,
        (None, Some(t)) => both(&involved, &t),
        (None, None) => involved,
    };
    let expression = format!("!tx.pending && {body}");

    for f in &m.trigger_conditions {
        report.push(
            Level::Skipped,
            &m.file,
            subject.clone(),
            "trigger_conditions",
            format!(
                "script filter {:?} ({}): Vigil does not run filter scripts, so the rule fires on \
                 every match the script would have judged",
                f.script_path, f.language
            ),
        );
    }
    if m.paused {
        report.push(
            Level::Note,
            &m.file,
            subject.clone(),
            "paused",
            "paused: the rule is written disabled (enabled = false)".into(),
        );
    }

    let mut metadata = Vec::new();
    for v in needed {
        let cel_expr = match v {
            Var::TxValue => "tx.value".to_owned(),
            Var::Event(n, p) => {
                if m.events.is_empty() {
                    "\"\"".to_owned()
                } else {
                    // The n-th matched event's value, or "" (padding the list).
                    let pad = vec!["\"\""; n.saturating_add(1)].join(", ");
                    let value = match p {
                        None => "e.signature".to_owned(),
                        Some(p) if event_params.iter().all(|ps| ps.contains(p)) => {
                            format!("e.texts[{}]", cel::string(p))
                        }
                        Some(p) => format!(
                            "{key} in e.texts ? e.texts[{key}] : \"\"",
                            key = cel::string(p)
                        ),
                    };
                    format!(
                        "(tx.abi_events.filter(e, {event_pred}).map(e, {value}) + [{pad}])[{n}]"
                    )
                }
            }
            Var::Function(n, p) => match &function_match {
                Some(f) if *n == 0 => match p {
                    None => format!("{f} ? tx.function.signature : \"\""),
                    Some(p) => format!(
                        "{f} && {key} in tx.function.texts ? tx.function.texts[{key}] : \"\"",
                        key = cel::string(p)
                    ),
                },
                _ => "\"\"".to_owned(),
            },
        };
        metadata.push(format!("{} = {}", v.key(), toml_str(&cel_expr)));
    }

    let mut text = format!(
        "# Translated by `vigil import oz-monitor` from {} (monitor {:?}).\n\n[lists]\n{list_name} = [{}]\n{abi_list} = [{}]\n",
        m.file,
        m.name,
        all.iter().map(|a| toml_str(a)).collect::<Vec<_>>().join(", "),
        with_abi.iter().map(|a| toml_str(a)).collect::<Vec<_>>().join(", "),
    );
    text.push_str(&contracts);
    text.push_str(&format!(
        "\n[[rule]]\nname = {}\nexpression = {}\nseverity = 'medium'\nkind = 'suspicious'\ndescription = {}\n",
        toml_str(name),
        toml_str(&expression),
        toml_str(&format!("OpenZeppelin Monitor {:?} matched transaction {{{{tx.hash}}}}", m.name)),
    ));
    if m.paused {
        text.push_str("enabled = false\n");
    }
    if !metadata.is_empty() {
        text.push_str("\n[rule.metadata]\n");
        text.push_str(&metadata.join("\n"));
        text.push('\n');
    }
    Ok(RuleFile { text, abis: abi_files })
}

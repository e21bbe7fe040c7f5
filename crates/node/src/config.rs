//! Node configuration: one TOML file; every field has a default; unknown fields are errors.
//! Relative paths are resolved against the directory of the configuration file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The whole configuration of a node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// The genesis file.
    pub genesis: PathBuf,
    /// This node's key file (the validator/proposer key).
    pub key: PathBuf,
    /// The database file.
    pub db: PathBuf,
    /// HTTP API.
    pub api: ApiConfig,
    /// Consensus.
    pub consensus: ConsensusConfig,
    /// Mempool limits.
    pub mempool: MempoolConfig,
    /// How the node responds to incidents (webhooks, on-chain actions).
    pub respond: RespondConfig,
    /// Gossip of transactions, alerts and intel (off by default).
    pub gossip: crate::gossip::GossipSettings,
    /// EVM monitoring (`[watch]`: the same fields as `vigil monitor`'s configuration); absent,
    /// the node watches no chain.
    pub watch: Option<vigil_chain::MonitorConfig>,
    /// Threat intelligence: admin token, import limits, TLP of what the node shares, TAXII
    /// collections pulled on a schedule (`[[intel.pull]]`).
    pub intel: crate::intel::IntelConfig,
    /// The TAXII 2.1 server under `/taxii2/`: users, collections, anonymous read.
    pub taxii: vigil_taxii::TaxiiConfig,
}

pub use crate::respond::onchain::OnChainConfig;

/// Executors of the local policy engine.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RespondConfig {
    /// The base URL people reach this node's API at (e.g. `https://vigil.example.org`);
    /// alert messages link to `<link_base>/v1/alerts/<id>`. Default: `http://<api.listen>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_base: Option<String>,
    /// Webhooks to notify of breaker and verdict incidents (JSON with HMAC, Slack, Discord);
    /// alerts too when their `events` name `alert`.
    pub webhooks: Vec<crate::respond::webhook::WebhookConfig>,
    /// Alert channels (`[[respond.channels]]`): webhook, Slack, Discord, Telegram, email,
    /// PagerDuty, Opsgenie.
    pub channels: Vec<crate::respond::channel::ChannelConfig>,
    /// Routes of incidents to channels (`[[respond.routes]]`).
    pub routes: Vec<crate::respond::route::RouteConfig>,
    /// The on-chain pause executor.
    pub onchain: Option<OnChainConfig>,
}

impl RespondConfig {
    /// Checks channels (their fields, unique names) and routes (the channels they name).
    pub fn check(&self) -> Result<(), String> {
        let mut names = Vec::new();
        for channel in &self.channels {
            channel.check()?;
            if names.contains(&channel.name.as_str()) {
                return Err(format!("respond.channels: two channels are named {:?}", channel.name));
            }
            names.push(channel.name.as_str());
        }
        crate::respond::route::check(&self.routes, &names)
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            genesis: "genesis.toml".into(),
            key: "keys/node.key".into(),
            db: "vigil.redb".into(),
            api: ApiConfig::default(),
            consensus: ConsensusConfig::default(),
            mempool: MempoolConfig::default(),
            respond: RespondConfig::default(),
            gossip: crate::gossip::GossipSettings::default(),
            watch: None,
            intel: crate::intel::IntelConfig::default(),
            taxii: vigil_taxii::TaxiiConfig::default(),
        }
    }
}

pub use crate::api::ApiConfig;
pub use crate::consensus::{ConsensusConfig, DriverKind};
pub use crate::mempool::MempoolConfig;

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// TOML syntax, an unknown field or a wrong value (the message names it and its line).
    #[error("config {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        source: toml::de::Error,
    },
    /// The respond section does not hold together (a channel lacks a field, a route names a
    /// channel that does not exist).
    #[error("config {path}: {message}")]
    Respond {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the channel or route.
        message: String,
    },
    /// A value outside its range.
    #[error("config {path}: {field} {why}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The field.
        field: &'static str,
        /// What is wrong.
        why: &'static str,
    },
}

impl NodeConfig {
    /// Loads `path` and resolves relative paths against its directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        let config: NodeConfig = toml::from_str(&text)
            .map_err(|source| ConfigError::Parse { path: path.to_owned(), source })?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.validate(path)?;
        Ok(config.resolved(base))
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |field, why| Err(ConfigError::Invalid { path: path.to_owned(), field, why });
        if self.consensus.block_interval_ms == 0 {
            return invalid("consensus.block_interval_ms", "must be at least 1");
        }
        if self.mempool.max_txs == 0 || self.mempool.max_bytes == 0 {
            return invalid("mempool", "limits must be more than zero");
        }
        if let Err((field, why)) = self
            .api
            .check()
            .and(self.consensus.bft.check())
            .and(self.gossip.check())
            .and(self.intel.check())
        {
            return invalid(field, why);
        }
        self.respond
            .check()
            .map_err(|message| ConfigError::Respond { path: path.to_owned(), message })?;
        Ok(())
    }

    /// The same configuration with relative paths made relative to `base`.
    pub fn resolved(mut self, base: &Path) -> Self {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        for p in [&mut self.genesis, &mut self.key, &mut self.db] {
            resolve(p);
        }
        if let Some(onchain) = &mut self.respond.onchain {
            resolve(&mut onchain.key);
        }
        for channel in &mut self.respond.channels {
            if let Some(ca) = &mut channel.ca_file {
                resolve(ca);
            }
        }
        if let Some(watch) = &mut self.watch {
            if let Some(dir) = &mut watch.rules_dir {
                resolve(dir);
            }
            // The cursor lives beside the database unless placed elsewhere.
            let cursor = watch.cursor_file.get_or_insert_with(|| "monitor.cursor".into());
            resolve(cursor);
        }
        self.consensus.bft.resolve(base);
        self.intel = self.intel.resolved(base);
        self
    }

    /// The configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_a_default_and_unknown_fields_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "").unwrap();
        let c = NodeConfig::load(&path).unwrap();
        assert_eq!(c.api.listen.port(), 7070);
        assert_eq!(c.db, dir.path().join("vigil.redb"));
        std::fs::write(&path, "[api]\nlisten = \"127.0.0.1:9\"\nlisen = 1\n").unwrap();
        let err = NodeConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("lisen"), "{err}");
        std::fs::write(&path, "[consensus]\nblock_interval_ms = 0\n").unwrap();
        let err = NodeConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("block_interval_ms"), "{err}");
        std::fs::write(&path, "[api]\nlisten = \"nowhere\"\n").unwrap();
        assert!(NodeConfig::load(&path).is_err());
    }

    #[test]
    fn channels_and_routes_are_checked_when_the_config_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let channels = r#"
            [respond]
            link_base = "https://vigil.example.org"
            [[respond.channels]]
            name = "oncall"
            type = "telegram"
            token_env = "TG_TOKEN"
            chat_id = "-1001234"
            body = "${alert.description} ${link}"
            [[respond.channels]]
            name = "mail"
            type = "email"
            smtp_host = "smtp.example.org"
            from = "vigil@example.org"
            to = ["sec@example.org"]
            ca_file = "relay-ca.pem"
        "#;
        let route = "[[respond.routes]]\nchannels = [\"oncall\", \"mail\"]\nstages = [\"mined\"]\n";
        std::fs::write(&path, format!("{channels}{route}")).unwrap();
        let c = NodeConfig::load(&path).unwrap();
        assert_eq!(c.respond.channels.len(), 2);
        assert_eq!(c.respond.channels[1].ca_file, Some(dir.path().join("relay-ca.pem")));
        assert_eq!(c.respond.routes[0].stages, vec![crate::respond::Stage::Mined]);
        let load = |text: String| {
            std::fs::write(&path, text).unwrap();
            NodeConfig::load(&path).unwrap_err().to_string()
        };
        let e = load(format!("{channels}[[respond.routes]]\nchannels = [\"pager\"]\n"));
        assert!(e.contains("no channel named \"pager\"") && e.contains("oncall, mail"), "{e}");
        let e = load(channels.replace("chat_id = \"-1001234\"", ""));
        assert!(e.contains("oncall (telegram): chat_id is required"), "{e}");
        let e = load(channels.replace("${link}", "${transaction.hash}"));
        assert!(e.contains("unknown variable ${transaction.hash}"), "{e}");
        let e = load(format!("{channels}{}", route.replace("mined", "confirmed")));
        assert!(e.contains("confirmed"), "{e}");
    }

    #[test]
    fn intel_pull_entries_load_write_back_and_bad_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let entry = "[[intel.pull]]\ntaxii = \"https://taxii.example/api1/\"\ncollection = \"c1\"\n\
                     user = \"vigil\"\npassword_env = \"TAXII_PW\"\ncategory = \"scam\"\n";
        std::fs::write(&path, entry).unwrap();
        let c = NodeConfig::load(&path).unwrap();
        let pull = &c.intel.pull[0];
        assert_eq!((pull.collection.as_str(), pull.interval_secs), ("c1", 3_600));
        assert_eq!(pull.category, Some(vigil_core::Category::Scam));
        std::fs::write(&path, c.to_toml()).unwrap();
        assert_eq!(NodeConfig::load(&path).unwrap(), c);
        for (bad, names) in [
            (entry.replace("https://taxii.example/api1/", "ftp://x/"), "intel.pull.taxii"),
            (entry.replace("user = \"vigil\"\n", ""), "intel.pull.password_env"),
            (format!("{entry}interval_secs = 0\n"), "intel.pull.interval_secs"),
            (format!("{entry}pasword = \"x\"\n"), "pasword"),
        ] {
            std::fs::write(&path, bad).unwrap();
            let e = NodeConfig::load(&path).unwrap_err().to_string();
            assert!(e.contains(names), "{e}");
        }
    }

    #[test]
    fn written_config_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let c = NodeConfig::default();
        std::fs::write(&path, c.to_toml()).unwrap();
        assert_eq!(NodeConfig::load(&path).unwrap(), c.resolved(dir.path()));
    }
}

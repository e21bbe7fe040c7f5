//! `vigil testnet`: the files of a local multi-validator network — one directory per validator
//! with its key (mode 0600) and configuration, a shared genesis in which every validator is
//! bonded, and funded user keys — on distinct loopback ports.
//!
//! ```text
//! DIR/genesis.toml            shared by every node
//! DIR/keys/user-J.key         funded accounts for clients
//! DIR/node-I/config.toml      run with `vigil node --config DIR/node-I/config.toml`
//! DIR/node-I/keys/node.key    validator I's key
//! ```
//!
//! Validator `I` uses ports `base + 3·I` (API), `base + 3·I + 1` (consensus) and
//! `base + 3·I + 2` (gossip). Every node keeps a consensus connection and a gossip connection
//! to every other.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};

use vigil_core::{AccountId, Amount, ChainId, Keypair};
use vigil_ledger::{Genesis, GenesisAccount, Params};
use vigil_net::gossip::peer_id_of;

use crate::config::{DriverKind, NodeConfig};
use crate::gossip::{GossipPeer, tcp_multiaddr};
use crate::keyfile;

/// What to create.
#[derive(Clone, Debug)]
pub struct TestnetSpec {
    /// Number of validators (at least 1).
    pub validators: usize,
    /// Number of funded user accounts whose keys are written to `DIR/keys`.
    pub users: usize,
    /// First port; each validator takes three consecutive ones.
    pub base_port: u16,
    /// The network's id.
    pub chain_id: ChainId,
    /// Least time per height, in milliseconds.
    pub block_interval_ms: u64,
    /// Wait for a proposal, in milliseconds (a dead proposer costs this much per height).
    pub timeout_propose_ms: u64,
    /// Ledger parameters.
    pub params: Params,
    /// More genesis accounts (e.g. load generators' accounts, without key files).
    pub extra_accounts: Vec<GenesisAccount>,
}

impl TestnetSpec {
    /// `validators` validators and four users on ports from `base_port`, one block a second,
    /// the development parameters (short challenge windows).
    pub fn new(validators: usize, base_port: u16) -> Self {
        Self {
            validators,
            users: 4,
            base_port,
            chain_id: "vigil-testnet".parse().expect("a valid chain id"),
            block_interval_ms: 1_000,
            timeout_propose_ms: 3_000,
            params: crate::devnet::dev_params(),
            extra_accounts: Vec::new(),
        }
    }
}

/// One validator's files and addresses.
#[derive(Clone, Debug)]
pub struct TestnetNode {
    /// Its directory.
    pub dir: PathBuf,
    /// Its configuration file.
    pub config_path: PathBuf,
    /// Its account (validator key).
    pub account: AccountId,
    /// HTTP API address.
    pub api: SocketAddr,
    /// Consensus p2p address.
    pub consensus: SocketAddr,
    /// Gossip address.
    pub gossip: SocketAddr,
}

/// A created testnet.
#[derive(Clone, Debug)]
pub struct Testnet {
    /// Its directory.
    pub dir: PathBuf,
    /// The shared genesis file.
    pub genesis_path: PathBuf,
    /// The validators.
    pub nodes: Vec<TestnetNode>,
    /// Key files of the funded user accounts.
    pub user_keys: Vec<PathBuf>,
}

/// Why a testnet could not be created.
#[derive(Debug, thiserror::Error)]
pub enum TestnetError {
    /// Bad numbers.
    #[error("{0}")]
    Invalid(String),
    /// The directory already holds a testnet.
    #[error("{0} already exists; choose an empty directory")]
    Exists(PathBuf),
    /// A port is taken.
    #[error("port {port} ({what} of node-{node}) is in use; choose another --base-port")]
    PortInUse {
        /// The port.
        port: u16,
        /// API, consensus or gossip.
        what: &'static str,
        /// The validator.
        node: usize,
    },
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A key file.
    #[error(transparent)]
    Key(#[from] keyfile::KeyFileError),
}

fn write(path: &Path, text: &str) -> Result<(), TestnetError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|source| TestnetError::Io { path: parent.to_owned(), source })?;
    }
    std::fs::write(path, text).map_err(|source| TestnetError::Io { path: path.to_owned(), source })
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Creates the testnet `spec` describes in `dir` (which must not hold one yet), checking that
/// its ports are free now.
pub fn create(dir: &Path, spec: &TestnetSpec) -> Result<Testnet, TestnetError> {
    if spec.validators == 0 {
        return Err(TestnetError::Invalid("--validators must be at least 1".into()));
    }
    let ports = spec.validators.checked_mul(3).and_then(|n| u16::try_from(n).ok());
    if ports.and_then(|n| spec.base_port.checked_add(n)).is_none() || spec.base_port == 0 {
        return Err(TestnetError::Invalid(format!(
            "{} validators need {} ports from {}: past 65535 (or base port 0)",
            spec.validators,
            spec.validators.saturating_mul(3),
            spec.base_port
        )));
    }
    let genesis_path = dir.join("genesis.toml");
    if genesis_path.exists() {
        return Err(TestnetError::Exists(genesis_path));
    }
    let port = |i: usize, k: usize| spec.base_port + u16::try_from(3 * i + k).unwrap_or(0);
    for i in 0..spec.validators {
        for (k, what) in ["API", "consensus", "gossip"].into_iter().enumerate() {
            let p = port(i, k);
            if TcpListener::bind(loopback(p)).is_err() {
                return Err(TestnetError::PortInUse { port: p, what, node: i });
            }
        }
    }

    let mut keys = Vec::new();
    for i in 0..spec.validators {
        let path = dir.join(format!("node-{i}")).join("keys").join("node.key");
        keys.push(keyfile::create(&path, None)?);
    }
    let mut user_keys = Vec::new();
    let mut accounts: Vec<GenesisAccount> = keys
        .iter()
        .map(|k| GenesisAccount {
            account: k.account_id(),
            balance: Amount::vgl(10_000),
            bonded: Amount::vgl(1_000),
            validator: true,
        })
        .collect();
    for j in 0..spec.users {
        let path = dir.join("keys").join(format!("user-{j}.key"));
        let key = keyfile::create(&path, None)?;
        accounts.push(GenesisAccount {
            account: key.account_id(),
            balance: Amount::vgl(10_000),
            bonded: Amount::vgl(100),
            validator: false,
        });
        user_keys.push(path);
    }
    accounts.extend(spec.extra_accounts.iter().cloned());
    let genesis = Genesis {
        chain_id: spec.chain_id.clone(),
        genesis_time: 0,
        params: spec.params.clone(),
        treasury: Amount::vgl(100_000),
        reward_pool: Amount::vgl(10_000),
        accounts,
    };
    let header = format!(
        "# Genesis of a {}-validator local testnet written by `vigil testnet`.\n",
        spec.validators
    );
    write(&genesis_path, &format!("{header}{}", genesis.to_toml()))?;

    let nodes: Vec<TestnetNode> = (0..spec.validators)
        .map(|i| {
            let node_dir = dir.join(format!("node-{i}"));
            TestnetNode {
                config_path: node_dir.join("config.toml"),
                dir: node_dir,
                account: keys[i].account_id(),
                api: loopback(port(i, 0)),
                consensus: loopback(port(i, 1)),
                gossip: loopback(port(i, 2)),
            }
        })
        .collect();
    for (i, node) in nodes.iter().enumerate() {
        let config = node_config(spec, &nodes, &keys, i);
        let header = format!(
            "# Validator {i} of a local testnet; run it with `vigil node --config {}`.\n",
            node.config_path.display()
        );
        write(&node.config_path, &format!("{header}{}", config.to_toml()))?;
    }
    Ok(Testnet { dir: dir.to_owned(), genesis_path, nodes, user_keys })
}

fn node_config(
    spec: &TestnetSpec,
    nodes: &[TestnetNode],
    keys: &[Keypair],
    i: usize,
) -> NodeConfig {
    let mut config = NodeConfig {
        genesis: "../genesis.toml".into(),
        key: "keys/node.key".into(),
        db: "vigil.redb".into(),
        ..NodeConfig::default()
    };
    config.api.listen = nodes[i].api;
    // Every client of a local testnet is on loopback, one address: no per-client rate limit.
    config.api.rate_limit.per_second = 0;
    config.consensus.driver = DriverKind::Bft;
    config.consensus.block_interval_ms = spec.block_interval_ms;
    config.consensus.bft.listen = nodes[i].consensus;
    config.consensus.bft.peers =
        nodes.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, n)| n.consensus).collect();
    config.consensus.bft.timeout_propose_ms = spec.timeout_propose_ms;
    config.gossip.enabled = true;
    config.gossip.listen = nodes[i].gossip;
    config.gossip.bootstrap = nodes
        .iter()
        .zip(keys)
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, (n, key))| {
            let text = format!("{}/p2p/{}", tcp_multiaddr(n.gossip), peer_id_of(key));
            GossipPeer(text.parse().expect("a TCP multiaddr with a peer id is valid"))
        })
        .collect();
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free_base() -> u16 {
        // Nine consecutive free ports below the ephemeral range.
        (0..200)
            .map(|k| 21_000 + k * 37)
            .find(|base| (0..9).all(|i| TcpListener::bind(loopback(base + i)).is_ok()))
            .unwrap()
    }

    #[test]
    fn writes_keys_genesis_and_configs_that_load() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let base = free_base();
        let net = create(dir.path(), &TestnetSpec::new(3, base)).unwrap();
        assert_eq!(net.nodes.len(), 3);
        let genesis = crate::node::load_genesis(&net.genesis_path).unwrap();
        let validators: Vec<_> = genesis.accounts.iter().filter(|a| a.validator).collect();
        assert_eq!(validators.len(), 3);
        assert!(validators.iter().all(|a| a.bonded > Amount::ZERO));
        let mut ports = std::collections::BTreeSet::new();
        for (i, node) in net.nodes.iter().enumerate() {
            let config = NodeConfig::load(&node.config_path).unwrap();
            assert_eq!(config.genesis, node.dir.join("../genesis.toml"));
            assert_eq!(config.consensus.driver, DriverKind::Bft);
            assert_eq!(config.consensus.bft.peers.len(), 2);
            assert_eq!(config.gossip.bootstrap.len(), 2);
            assert_eq!(config.consensus.bft.wal_dir, node.dir.join("consensus-wal"));
            let key = keyfile::read(&config.key, None).unwrap();
            assert_eq!(key.account_id(), node.account);
            assert_eq!(validators[i].account, node.account);
            let mode = std::fs::metadata(&config.key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            for p in [node.api, node.consensus, node.gossip] {
                assert!(ports.insert(p.port()), "port {p} used twice");
            }
        }
        assert_eq!(net.user_keys.len(), 4);
        // A second run refuses to overwrite.
        let again = create(dir.path(), &TestnetSpec::new(3, base)).unwrap_err();
        assert!(matches!(again, TestnetError::Exists(_)), "{again}");
    }

    #[test]
    fn refuses_bad_counts_and_taken_ports() {
        let dir = tempfile::tempdir().unwrap();
        let err = create(dir.path(), &TestnetSpec::new(0, 20_000)).unwrap_err();
        assert!(err.to_string().contains("at least 1"), "{err}");
        let err = create(dir.path(), &TestnetSpec::new(4, 65_530)).unwrap_err();
        assert!(err.to_string().contains("65535"), "{err}");
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = create(dir.path(), &TestnetSpec::new(1, port)).unwrap_err();
        assert!(matches!(err, TestnetError::PortInUse { what: "API", .. }), "{err}");
    }
}

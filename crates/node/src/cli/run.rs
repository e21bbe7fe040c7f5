//! Commands that run a node: `up` (the embedded default) and `node --config`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use age::secrecy::SecretString;
use anyhow::{Context, Result};
use tokio_util::sync::CancellationToken;
use vigil_core::Keypair;
use vigil_node::config::NodeConfig;
use vigil_node::node::Node;
use vigil_node::{devnet, keyfile};

/// Logs to stderr, filtered by RUST_LOG or `default`.
pub fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Cancels `token` on Ctrl-C or SIGTERM.
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
        tracing::info!("shutting down");
        token.cancel();
    });
}

/// The node's key, decrypted with VIGIL_KEY_PASSPHRASE when it is encrypted.
fn node_key(config: &NodeConfig) -> Result<Keypair> {
    let pass = std::env::var("VIGIL_KEY_PASSPHRASE")
        .ok()
        .filter(|p| !p.is_empty())
        .map(SecretString::from);
    keyfile::read(&config.key, pass).with_context(|| format!("node key {}", config.key.display()))
}

/// Runs `vigil node --config FILE`.
pub async fn node(config: &Path) -> Result<()> {
    // Malachite logs every vote at info level; its warnings and errors still show.
    init_logging("info,arc_malachitebft=warn");
    let config = NodeConfig::load(config)?;
    let key = node_key(&config)?;
    let node = Node::open(config, key).await?;
    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone());
    node.run(shutdown).await?;
    Ok(())
}

/// Runs `vigil up`.
/// The API address of a new `vigil up` data directory.
const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 7070);

pub async fn up(data: &Path, listen: Option<SocketAddr>, no_demo: bool) -> Result<()> {
    init_logging("info,vigil_node=info");
    let net = devnet::init(data, listen.unwrap_or(DEFAULT_LISTEN))?;
    let mut config = NodeConfig::load(&net.config_path)?;
    // An existing directory keeps its config.toml; --listen overrides it for this run.
    let overridden = match listen {
        Some(addr) if !net.created && addr != config.api.listen => {
            let was = config.api.listen;
            config.api.listen = addr;
            Some(was)
        }
        _ => None,
    };
    let key = node_key(&config)?;
    let node = Node::open(config, key).await?;
    let fresh = node.state.ledger.read().height() == 0;
    let dir = std::fs::canonicalize(data).unwrap_or_else(|_| data.to_owned());
    let api = format!("http://{}", node.api_addr);
    println!();
    println!(
        "Vigil is up — chain {}, height {}",
        node.state.chain_id,
        node.state.ledger.read().height()
    );
    println!(
        "  API        {api}   (status /v1/status · events /v1/events · metrics /metrics · OpenAPI /v1/openapi.json)"
    );
    println!("  Dashboard  {api}/");
    println!("  TAXII 2.1  {api}/taxii2/   (STIX feeds: vigil feed import … · vigil stix export)");
    println!(
        "  Data       {}   (config.toml, genesis.toml, vigil.redb, admin.token)",
        dir.display()
    );
    println!("  Demo keys  {}/keys/{{alice,bob,carol,dave,mallory}}.key", dir.display());
    println!(
        "  Try        vigil report list · vigil account --key {}/keys/alice.key",
        dir.display()
    );
    if api != "http://127.0.0.1:7070" {
        println!("             (add --node {api} to talk to this node)");
    }
    if let Some(was) = overridden {
        println!(
            "             (--listen overrides {}'s {was} for this run; edit [api] listen there \
             to keep it)",
            net.config_path.display()
        );
    }
    println!("Press Ctrl-C to stop.");
    println!();
    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone());
    if fresh && !no_demo {
        let state = std::sync::Arc::clone(&node.state);
        let dir = dir.clone();
        let shared = std::env::current_dir().unwrap_or_default().join("../shared/data");
        tokio::spawn(async move {
            devnet::run_demo(state, &dir, &shared, Duration::from_secs(120)).await
        });
    }
    node.run(shutdown).await?;
    Ok(())
}

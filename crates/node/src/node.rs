//! Running a node: open the database and ledger, serve the API, run the consensus driver, and
//! shut down cleanly when asked.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;

/// How long a stopping node waits for the API's requests in flight.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(2);
use tokio_util::sync::CancellationToken;
use vigil_core::Keypair;
use vigil_ledger::{Genesis, Ledger};

use crate::app::NodeState;
use crate::config::NodeConfig;
use crate::mempool::Mempool;
use crate::store::RedbStore;

/// Why a node could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The genesis file.
    #[error("genesis {path}: {reason}")]
    Genesis {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The key file.
    #[error(transparent)]
    Key(#[from] crate::keyfile::KeyFileError),
    /// The database or the ledger on it.
    #[error("ledger: {0}")]
    Ledger(#[from] vigil_ledger::LedgerError),
    /// The database.
    #[error("database: {0}")]
    Store(#[from] vigil_ledger::StoreError),
    /// The API socket.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The HTTP server failed.
    #[error("HTTP server: {0}")]
    Serve(std::io::Error),
    /// An executor could not be set up.
    #[error("respond: {0}")]
    Respond(crate::respond::ExecError),
    /// The consensus driver failed.
    #[error("consensus: {0}")]
    Driver(#[from] vigil_net::DriverError),
    /// The gossip service could not start.
    #[error("gossip: {0}")]
    Gossip(#[from] vigil_net::gossip::GossipError),
    /// Threat intelligence (indicator book, admin token, TAXII) could not be set up.
    #[error(transparent)]
    Intel(#[from] crate::intel::IntelError),
}

/// Reads and validates a genesis file.
pub fn load_genesis(path: &std::path::Path) -> Result<Genesis, NodeError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| NodeError::Genesis { path: path.to_owned(), reason: e.to_string() })?;
    Genesis::from_toml(&text)
        .map_err(|e| NodeError::Genesis { path: path.to_owned(), reason: e.to_string() })
}

/// A node whose database and ledger are open and whose API socket is bound, ready to run.
pub struct Node {
    /// The shared state (for in-process users such as the demo).
    pub state: Arc<NodeState>,
    /// The address the API listens on (useful with port 0).
    pub api_addr: SocketAddr,
    listener: TcpListener,
    config: NodeConfig,
    key: Keypair,
}

impl Node {
    /// Opens everything `config` names and binds the API socket.
    pub async fn open(config: NodeConfig, key: Keypair) -> Result<Self, NodeError> {
        let genesis = load_genesis(&config.genesis)?;
        let store = RedbStore::open(&config.db)?;
        let ledger = Ledger::open(store, &genesis)?;
        tracing::info!(
            chain = %genesis.chain_id,
            height = ledger.height(),
            app_hash = %ledger.last_commit().app_hash,
            "ledger open"
        );
        let mempool = Mempool::with_limits(config.mempool.clone());
        let state = NodeState::new(ledger, mempool, key.account_id());
        let (readmitted, refused) = state.readmit_journal()?;
        if readmitted > 0 || refused > 0 {
            tracing::info!(readmitted, refused, "mempool journal replayed");
        }
        crate::intel::service::open(&state, &config.intel, &config.taxii)?;
        let addr = config.api.listen;
        let listener =
            TcpListener::bind(addr).await.map_err(|source| NodeError::Listen { addr, source })?;
        let api_addr =
            listener.local_addr().map_err(|source| NodeError::Listen { addr, source })?;
        Ok(Self { state, api_addr, listener, config, key })
    }

    /// Serves the API and runs consensus until `shutdown` is cancelled (or the driver fails),
    /// then stops both and returns.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), NodeError> {
        let Node { state, api_addr, listener, config, key } = self;
        crate::gossip::start(&config.gossip, &key, &state, shutdown.clone()).await?;
        if let Some(bridge) = state.net.gossip.get() {
            // Transactions re-admitted from the journal may never have reached the other nodes.
            let pending: Vec<vigil_core::SignedTx> = state.mempool.lock().iter().cloned().collect();
            for tx in pending {
                bridge.relay_tx(tx);
            }
        }
        let server = tokio::spawn(crate::api::serve(
            listener,
            Arc::clone(&state),
            config.api.clone(),
            shutdown.clone(),
        ));
        tracing::info!(%api_addr, "API listening");
        crate::intel::taxii_feed::spawn(&state, shutdown.clone());
        crate::intel::pull::spawn_schedule(&state, shutdown.clone());
        let mut executors: Vec<Arc<dyn crate::respond::Executor>> = Vec::new();
        for hook in &config.respond.webhooks {
            executors.push(Arc::new(
                crate::respond::webhook::Webhook::new(hook.clone()).map_err(NodeError::Respond)?,
            ));
        }
        if let Some(onchain) = &config.respond.onchain {
            let executor = crate::respond::onchain::OnChainExecutor::connect(
                onchain,
                state.metrics.detection_to_pause_sent_seconds.clone(),
                state.metrics.onchain_actions.clone(),
            )
            .await
            .map_err(NodeError::Respond)?;
            executors.push(Arc::new(executor));
        }
        let mut channels: Vec<crate::respond::NamedChannel> = Vec::new();
        for channel in &config.respond.channels {
            let c = crate::respond::channel::Channel::new(
                channel.clone(),
                state.metrics.delivery.clone(),
            )
            .map_err(NodeError::Respond)?;
            channels.push((channel.name.clone(), Arc::new(c)));
        }
        let link_base =
            config.respond.link_base.clone().unwrap_or_else(|| format!("http://{api_addr}"));
        let engine = crate::respond::PolicyEngine::with_routes(
            executors,
            config.respond.routes.clone(),
            channels,
            Some(link_base),
            state.metrics.delivery.clone(),
        )
        .map_err(NodeError::Respond)?;
        let events = state.events.subscribe();
        tokio::spawn(Arc::clone(&engine).run(Arc::clone(&state), events, shutdown.clone()));
        if let Some(watch) = config.watch.clone() {
            let (state, key, engine, stop) =
                (Arc::clone(&state), key.clone(), Arc::clone(&engine), shutdown.clone());
            tokio::spawn(async move {
                if let Err(e) = crate::watch::run(state, watch, key, engine, stop.clone()).await {
                    // A node that was told to watch a chain and cannot is not doing its job.
                    tracing::error!("watch stopped: {e}; shutting the node down");
                    stop.cancel();
                }
            });
        }
        let genesis = load_genesis(&config.genesis)?;
        let driver_result = crate::consensus::run_driver(
            &config.consensus,
            &genesis,
            key,
            Arc::clone(&state),
            shutdown.clone(),
        )
        .await;
        // Whatever ended the driver ends the node.
        shutdown.cancel();
        // Requests in flight get a moment to finish; event streams (a dashboard left open)
        // never finish by themselves, so past it the server stops with them still open.
        let served = match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
            Ok(joined) => joined.map_err(|e| NodeError::Serve(std::io::Error::other(e)))?,
            Err(_) => {
                tracing::info!("closing the API's remaining connections (open event streams)");
                Ok(())
            }
        };
        driver_result?;
        served.map_err(NodeError::Serve)?;
        let last = state.ledger.read().last_commit();
        tracing::info!(height = last.height, app_hash = %last.app_hash, "node stopped cleanly");
        Ok(())
    }
}

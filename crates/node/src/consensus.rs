//! Which consensus driver runs the node and how its configuration maps onto `vigil-net`:
//! `[consensus] driver = "solo"` (the embedded default) or `"bft"` (Malachite, with the
//! `[consensus.bft]` settings), the validator set per height, and consensus metrics.
//!
//! Validator set per height (the rule of `vigil-net`'s README, which the ledger implements):
//! with an epoch length of `E` blocks, heights `k·E + 1 … (k+1)·E` form epoch `k`; its set is
//! the bonded stake of the validator candidates as committed after block `k·E`; epoch 0 uses the
//! genesis set. The ledger recomputes the set at the end of every block whose height is a
//! multiple of `E` and records the height it applies from (`validators_since`) and a
//! `ValidatorSetChanged` event, so the set of any height is known: the current one from
//! `validators_since` on, an older one from the newest change event before it, else genesis.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use vigil_core::{AccountId, Keypair};
use vigil_ledger::{Event, Genesis, Ledger, MemoryStore};
use vigil_net::bft::{BftConfig, BftDriver, BftTimeouts};
use vigil_net::{ConsensusDriver, DriverError, SoloConfig, SoloDriver};

use std::time::Instant;

use vigil_core::{Block, SignedTx, TxId};
use vigil_ledger::{CommitInfo, LedgerError};
use vigil_net::{AppError, ConsensusApp};

use crate::app::NodeState;

/// `[consensus.bft]`: the multi-validator driver's settings. Used when `driver = "bft"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BftSettings {
    /// Consensus p2p address (TCP) this validator listens on.
    pub listen: SocketAddr,
    /// The other validators' consensus addresses, kept connected.
    pub peers: Vec<SocketAddr>,
    /// The engine's write-ahead log of votes in flight (relative to the config file's
    /// directory). Blocks are in the database, not here.
    pub wal_dir: PathBuf,
    /// Wait for a proposal, in milliseconds.
    pub timeout_propose_ms: u64,
    /// Wait for the rest of the prevotes once 2/3 of any arrived, in milliseconds.
    pub timeout_prevote_ms: u64,
    /// Wait for the rest of the precommits once 2/3 of any arrived, in milliseconds.
    pub timeout_precommit_ms: u64,
    /// Added to each timeout per failed round, in milliseconds.
    pub timeout_delta_ms: u64,
    /// How often this node tells peers its height (what triggers catch-up), in milliseconds.
    pub sync_status_interval_ms: u64,
}

impl Default for BftSettings {
    fn default() -> Self {
        let timeouts = BftTimeouts::default();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 7071)),
            peers: Vec::new(),
            wal_dir: "consensus-wal".into(),
            timeout_propose_ms: millis(timeouts.propose),
            timeout_prevote_ms: millis(timeouts.prevote),
            timeout_precommit_ms: millis(timeouts.precommit),
            timeout_delta_ms: millis(timeouts.delta),
            sync_status_interval_ms: 1_000,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl BftSettings {
    /// Checks ranges; on error, the field and what is wrong with it.
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        let positive = [
            ("consensus.bft.timeout_propose_ms", self.timeout_propose_ms),
            ("consensus.bft.timeout_prevote_ms", self.timeout_prevote_ms),
            ("consensus.bft.timeout_precommit_ms", self.timeout_precommit_ms),
            ("consensus.bft.sync_status_interval_ms", self.sync_status_interval_ms),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err((field, "must be at least 1"));
            }
        }
        if self.peers.contains(&self.listen) {
            return Err(("consensus.bft.peers", "must not contain this node's own listen address"));
        }
        Ok(())
    }

    /// Makes the WAL directory relative to `base` (the config file's directory).
    pub fn resolve(&mut self, base: &Path) {
        if self.wal_dir.is_relative() {
            self.wal_dir = base.join(&self.wal_dir);
        }
    }

    /// The driver configuration for `chain`, with the block settings of `[consensus]`.
    pub fn to_bft_config(&self, config: &ConsensusConfig, chain: vigil_core::ChainId) -> BftConfig {
        let mut bft = BftConfig::new(chain, self.listen, self.wal_dir.clone());
        bft.peers = self.peers.clone();
        bft.timeouts = BftTimeouts {
            propose: Duration::from_millis(self.timeout_propose_ms),
            prevote: Duration::from_millis(self.timeout_prevote_ms),
            precommit: Duration::from_millis(self.timeout_precommit_ms),
            delta: Duration::from_millis(self.timeout_delta_ms),
        };
        bft.target_block_time = Some(config.block_interval());
        bft.max_block_bytes = config.max_block_bytes;
        bft.sync_status_interval = Duration::from_millis(self.sync_status_interval_ms);
        bft.moniker = format!("vigil-{}", self.listen);
        bft
    }
}

/// The genesis validator set, as the ledger computes it (bonded stake of genesis validator
/// candidates), sorted by account.
pub fn genesis_validators(genesis: &Genesis) -> Result<Vec<(AccountId, u64)>, DriverError> {
    let ledger = Ledger::open(MemoryStore::default(), genesis)
        .map_err(|e| DriverError::Config(format!("genesis: {e}")))?;
    let mut set = ledger.validator_set().to_vec();
    set.sort_by_key(|(id, _)| *id);
    Ok(set)
}

/// The validator set (sorted by account) that decides `height`, per the epoch rule in the
/// module docs. Heights after the current epoch get the current set: theirs is not decided
/// yet, and drivers only ask for the next height.
///
/// Older heights are found from the `ValidatorSetChanged` events stored at epoch boundaries
/// (multiples of the current epoch length; a governance change of `epoch_length` would make
/// this lookup skip boundaries of the old length).
pub fn validator_set_at(state: &NodeState, height: u64) -> Vec<(AccountId, u64)> {
    let ledger = state.ledger.read();
    let globals = ledger.state().globals();
    let sorted = |set: &[(AccountId, u64)]| {
        let mut set = set.to_vec();
        set.sort_by_key(|(id, _)| *id);
        set
    };
    if height >= globals.validators_since {
        return sorted(&globals.validators);
    }
    let epoch = ledger.params().epoch_length;
    drop(ledger);
    // Boundaries b = k·E with b < height, newest first.
    if let Some(epochs_before) = height.saturating_sub(1).checked_div(epoch) {
        let mut boundary = epochs_before.saturating_mul(epoch);
        while boundary > 0 {
            let events = state.store.events(boundary).ok().flatten().unwrap_or_default();
            for event in events {
                if let Event::ValidatorSetChanged { validators, from_height } = event
                    && from_height <= height
                {
                    return sorted(&validators);
                }
            }
            boundary = boundary.saturating_sub(epoch);
        }
    }
    match state.net.genesis_validators.get() {
        Some(set) => set.clone(),
        None => {
            tracing::warn!(height, "genesis validator set unknown; answering the current set");
            sorted(state.ledger.read().validator_set())
        }
    }
}

/// Whether a proposed block may be voted for: it follows the last committed block and every
/// transaction passes the ledger's stateless checks (size, chain, signature, shape).
///
/// A transaction byte-for-byte equal to one in the mempool passed those same checks on
/// admission, and they do not depend on state, so it is not checked again: with gossip, most
/// of a proposal's transactions are already here, and the verdict is the one a full check
/// gives, so every honest validator still reaches the same answer.
pub fn check_proposal(state: &NodeState, block: &Block) -> bool {
    let ledger = state.ledger.read();
    let last = ledger.last_commit();
    if block.height != last.height.saturating_add(1) || block.parent != last.block_hash {
        return false;
    }
    let unseen: Vec<&SignedTx> = {
        let mempool = state.mempool.lock();
        block.txs.iter().filter(|tx| mempool.get(&tx.id()) != Some(*tx)).collect()
    };
    unseen.into_iter().all(|tx| ledger.check_tx_stateless(tx).is_ok())
}

/// Which consensus driver orders blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriverKind {
    /// One node orders its own mempool on a timer.
    Solo,
    /// Multi-validator BFT consensus (Malachite) with the `[consensus.bft]` settings.
    Bft,
}

/// Consensus settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsensusConfig {
    /// The driver.
    pub driver: DriverKind,
    /// Milliseconds between blocks (solo); least time per height (bft).
    pub block_interval_ms: u64,
    /// Commit blocks with no transactions, so that challenge windows (counted in heights)
    /// advance on an idle network (solo; bft always commits every height).
    pub empty_blocks: bool,
    /// Most encoded transaction bytes per block.
    pub max_block_bytes: usize,
    /// The multi-validator driver's settings.
    pub bft: BftSettings,
}

impl Default for ConsensusConfig {
    fn default() -> Self {
        Self {
            driver: DriverKind::Solo,
            block_interval_ms: 1_000,
            empty_blocks: true,
            max_block_bytes: 4 << 20,
            bft: BftSettings::default(),
        }
    }
}

impl ConsensusConfig {
    /// The block interval.
    pub fn block_interval(&self) -> Duration {
        Duration::from_millis(self.block_interval_ms)
    }
}

/// Runs the configured driver over the node's state until `shutdown` (or a driver error).
pub async fn run_driver(
    config: &ConsensusConfig,
    genesis: &Genesis,
    key: Keypair,
    state: Arc<NodeState>,
    shutdown: CancellationToken,
) -> Result<(), DriverError> {
    let _ = state.net.genesis_validators.set(genesis_validators(genesis)?);
    let (evidence, proofs) = tokio::sync::mpsc::unbounded_channel();
    if state.net.evidence.set(evidence).is_ok() {
        tokio::spawn(submit_evidence(Arc::clone(&state), key.clone(), proofs, shutdown.clone()));
    }
    let app = NodeApp(Arc::clone(&state));
    match config.driver {
        DriverKind::Solo => {
            let mut solo = SoloConfig::new(state.chain_id.clone());
            solo.block_interval = config.block_interval();
            solo.empty_blocks = config.empty_blocks;
            solo.max_block_bytes = config.max_block_bytes;
            SoloDriver::new(solo, key).run(app, shutdown).await.map(drop)
        }
        DriverKind::Bft => {
            let settings = &config.bft;
            if state.net.gossip.get().is_none() {
                tracing::warn!(
                    "BFT without [gossip]: transactions reach a block only when this node proposes"
                );
            }
            let bft = settings.to_bft_config(config, state.chain_id.clone());
            tracing::info!(listen = %bft.listen, peers = bft.peers.len(), "starting BFT consensus");
            BftDriver::new(bft, key)
                .with_observer(Arc::new(state.metrics.consensus.clone()))
                .run(app, shutdown)
                .await
                .map(drop)
        }
    }
}

/// Signs each piece of equivocation evidence the driver reports into a `SubmitEvidence`
/// transaction from this node's account, and submits and relays it. Every node that saw the
/// misbehaviour does so; the ledger acts on the first and refuses the rest (the validator is
/// no longer a candidate), and those refusals are expected.
async fn submit_evidence(
    state: Arc<NodeState>,
    key: Keypair,
    mut proofs: tokio::sync::mpsc::UnboundedReceiver<vigil_core::Equivocation>,
    shutdown: CancellationToken,
) {
    loop {
        let proof = tokio::select! {
            () = shutdown.cancelled() => return,
            proof = proofs.recv() => match proof {
                Some(proof) => proof,
                None => return,
            },
        };
        let offender = proof.offender();
        let (height, round) = proof.slot();
        let tx = vigil_core::Tx {
            chain_id: state.chain_id.clone(),
            signer: key.account_id(),
            nonce: state.next_nonce(&key.account_id()),
            body: vigil_core::TxBody::SubmitEvidence { evidence: Box::new(proof) },
        }
        .sign(&key);
        match state.submit_and_relay(tx) {
            Ok(id) => tracing::warn!(
                validator = %offender, height, round, tx = %id.short(),
                "validator equivocated; evidence submitted"
            ),
            Err(e) => tracing::info!(
                validator = %offender, height, round, error = %e,
                "validator equivocated; this node's evidence was not admitted"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use vigil_core::{Amount, Block, Tx, TxBody};
    use vigil_ledger::GenesisAccount;
    use vigil_net::ConsensusApp;

    use super::*;
    use crate::mempool::Mempool;
    use crate::store::RedbStore;

    fn sorted(mut set: Vec<(AccountId, u64)>) -> Vec<(AccountId, u64)> {
        set.sort();
        set
    }

    /// Bonds at heights 1 and 7 with epochs of 3 blocks: the sets change from heights 4 and
    /// 10, and every height's set is the one the epoch rule names, old heights included.
    #[test]
    fn validator_sets_follow_the_epoch_rule_for_every_height() {
        let dir = tempfile::tempdir().unwrap();
        let (v1, v2) = (Keypair::from_seed(&[1; 32]), Keypair::from_seed(&[2; 32]));
        let genesis = Genesis {
            chain_id: "vigil-epochs".parse().unwrap(),
            genesis_time: 0,
            params: vigil_ledger::Params { epoch_length: 3, ..Default::default() },
            treasury: Amount::ZERO,
            reward_pool: Amount::ZERO,
            accounts: [&v1, &v2]
                .iter()
                .map(|k| GenesisAccount {
                    account: k.account_id(),
                    balance: Amount::vgl(1_000),
                    bonded: Amount::vgl(1_000),
                    validator: true,
                })
                .collect(),
        };
        let store = RedbStore::open(&dir.path().join("db.redb")).unwrap();
        let ledger = Ledger::open(store, &genesis).unwrap();
        let state = NodeState::new(ledger, Mempool::new(10, 1 << 20), v1.account_id());
        state.net.genesis_validators.set(genesis_validators(&genesis).unwrap()).unwrap();
        let mut app = NodeApp(Arc::clone(&state));
        let power = |vgl: u64| Amount::vgl(vgl).0;
        let genesis_set =
            sorted(vec![(v1.account_id(), power(1_000)), (v2.account_id(), power(1_000))]);
        let second = sorted(vec![(v1.account_id(), power(1_500)), (v2.account_id(), power(1_000))]);
        let third = sorted(vec![(v1.account_id(), power(1_500)), (v2.account_id(), power(1_200))]);
        assert_eq!(app.validator_set(1), genesis_set);

        let bond = |key: &Keypair, vgl: u64| {
            Tx {
                chain_id: genesis.chain_id.clone(),
                signer: key.account_id(),
                nonce: 0,
                body: TxBody::Bond { amount: Amount::vgl(vgl) },
            }
            .sign(key)
        };
        for height in 1..=10 {
            let txs = match height {
                1 => vec![bond(&v1, 500)],
                7 => vec![bond(&v2, 200)],
                _ => vec![],
            };
            let block = Block {
                height,
                time: height,
                proposer: v1.account_id(),
                parent: app.last_commit().block_hash,
                txs,
            };
            assert!(app.process_proposal(&block));
            app.commit_block(&block, &[]).unwrap();
            // The next height's set is known as soon as the previous block is committed.
            let expected = match height + 1 {
                1..=3 => &genesis_set,
                4..=9 => &second,
                _ => &third,
            };
            assert_eq!(&app.validator_set(height + 1), expected, "height {}", height + 1);
        }
        for (height, expected) in [(1, &genesis_set), (3, &genesis_set), (4, &second)]
            .into_iter()
            .chain([(8, &second), (9, &second), (10, &third), (11, &third)])
        {
            assert_eq!(&app.validator_set(height), expected, "height {height}");
        }
    }

    #[test]
    fn bft_settings_map_onto_the_driver_config() {
        let config = ConsensusConfig {
            block_interval_ms: 250,
            bft: BftSettings {
                peers: vec!["127.0.0.1:9001".parse().unwrap()],
                timeout_propose_ms: 700,
                ..BftSettings::default()
            },
            ..ConsensusConfig::default()
        };
        let bft = config.bft.to_bft_config(&config, "vigil-x".parse().unwrap());
        assert_eq!(bft.peers, config.bft.peers);
        assert_eq!(bft.timeouts.propose, Duration::from_millis(700));
        assert_eq!(bft.target_block_time, Some(Duration::from_millis(250)));
        assert_eq!(bft.max_block_bytes, config.max_block_bytes);
        let mut bad = BftSettings { timeout_prevote_ms: 0, ..BftSettings::default() };
        assert_eq!(bad.check().unwrap_err().0, "consensus.bft.timeout_prevote_ms");
        bad = BftSettings { peers: vec![bad.listen], ..BftSettings::default() };
        assert_eq!(bad.check().unwrap_err().0, "consensus.bft.peers");
    }
}

/// The node as a consensus driver sees it.
#[derive(Clone)]
pub struct NodeApp(pub Arc<NodeState>);

fn net_commit_info(info: CommitInfo) -> vigil_net::CommitInfo {
    vigil_net::CommitInfo {
        height: info.height,
        app_hash: info.app_hash.0,
        block_hash: info.block_hash,
    }
}

fn app_error(height: u64, e: LedgerError) -> AppError {
    match e {
        LedgerError::WrongHeight { expected, got } => {
            AppError::OutOfOrder { got, last: expected.saturating_sub(1) }
        }
        LedgerError::Store(reason) => AppError::Storage { height, reason },
        other => AppError::Execution { height, reason: other.to_string() },
    }
}

impl ConsensusApp for NodeApp {
    fn last_commit(&self) -> vigil_net::CommitInfo {
        net_commit_info(self.0.ledger.read().last_commit())
    }

    fn prepare_proposal(&mut self, _height: u64, max_bytes: usize) -> Vec<SignedTx> {
        let ledger = self.0.ledger.read();
        let mempool = self.0.mempool.lock();
        mempool.reap(max_bytes, |id| ledger.next_nonce(id))
    }

    fn process_proposal(&self, block: &Block) -> bool {
        check_proposal(&self.0, block)
    }

    fn commit_block(&mut self, block: &Block, certificate: &[u8]) -> Result<[u8; 32], AppError> {
        let started = Instant::now();
        let state = &self.0;
        let mut ledger = state.ledger.write();
        let finalized = ledger.finalize_block(block).map_err(|e| app_error(block.height, e))?;
        state.store.stage_certificate(block.height, certificate.to_vec());
        let info = ledger.commit().map_err(|e| app_error(block.height, e))?;
        {
            let mut mempool = state.mempool.lock();
            let pruned = mempool.prune(|id| crate::app::sender_of(&ledger, id));
            state.metrics.mempool_size.set(i64::try_from(mempool.len()).unwrap_or(i64::MAX));
            drop(mempool);
            // The block's own transactions left the journal with the block; the rest were made
            // stale by it (another transaction took their nonce).
            let in_block: std::collections::HashSet<TxId> =
                block.txs.iter().map(SignedTx::id).collect();
            let stale: Vec<TxId> = pruned.into_iter().filter(|id| !in_block.contains(id)).collect();
            if !stale.is_empty() {
                state.dropped_from_mempool(
                    &stale,
                    "another transaction with the same nonce committed first",
                );
            }
        }
        drop(ledger);
        state.metrics.height.set(i64::try_from(info.height).unwrap_or(i64::MAX));
        state.metrics.tx_committed.inc_by(u64::try_from(block.txs.len()).unwrap_or(0));
        state.metrics.block_commit_seconds.observe(started.elapsed().as_secs_f64());
        state.publish(block, &finalized);
        tracing::debug!(height = info.height, txs = block.txs.len(), app_hash = %info.app_hash, "committed block");
        Ok(info.app_hash.0)
    }

    fn decided_block(&self, height: u64) -> Option<(Block, Vec<u8>)> {
        let block = self.0.store.block(height).ok()??;
        let certificate = self.0.store.certificate(height).ok()??;
        Some((block, certificate))
    }

    fn validator_set(&self, height: u64) -> Vec<(AccountId, u64)> {
        validator_set_at(&self.0, height)
    }

    fn equivocation(&mut self, evidence: vigil_core::Equivocation) {
        match self.0.net.evidence.get() {
            Some(submitter) => {
                // Fails only when the node is shutting down.
                let _ = submitter.send(evidence);
            }
            None => tracing::warn!(
                validator = %evidence.offender(),
                "equivocation seen, but no evidence submitter runs; evidence dropped"
            ),
        }
    }
}

//! The BFT driver: starts the Malachite engine for one validator and answers its messages with
//! the [`ConsensusApp`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use malachitebft_app_channel::app::config::{
    ConsensusConfig, DiscoveryConfig, NodeConfig, P2pConfig, ValueSyncConfig,
};
use malachitebft_app_channel::app::engine::host::{HeightParams, Next, SyncedValueOutcome};
use malachitebft_app_channel::app::net::Multiaddr;
use malachitebft_app_channel::app::types::MisbehaviorEvidence;
use malachitebft_app_channel::app::types::codec::Codec;
use malachitebft_app_channel::app::types::core::{
    CommitCertificate as EngineCertificate, ExtendedCommitCertificate, ExtendedCommitSignature,
    LinearTimeouts, NilOrVal, Round, SignedMessage, Validity, VoteType,
};
use malachitebft_app_channel::app::types::sync::RawDecidedValue;
use malachitebft_app_channel::app::types::{
    Keypair as NetworkKeypair, LocallyProposedValue, ProposedValue,
};
use malachitebft_app_channel::{
    AppMsg, Channels, ConsensusContext, EngineBuilder, NetworkContext, NetworkIdentity, NetworkMsg,
    NetworkRequest, RequestContext, Signer, SyncContext, WalContext,
};
use tokio_util::sync::CancellationToken;
use vigil_core::consensus::VoteStatement;
use vigil_core::encoding::encode;
use vigil_core::{AccountId, Block, BlockHash, ChainId, Equivocation, Keypair, SignedStatement};

use super::codec::VigilCodec;
use super::context::{
    Address, BlockValue, Height, Proposal, ProposalPart, ValidatorSet, VigilContext, Vote,
    proposal_statement,
};
use super::parts::{self, PartStreams, ProposalParts};
use super::signing::{VigilSigner, VigilVerifier};
use crate::app::ConsensusApp;
use crate::certificate::{CommitCertificate, ValidatorSignature};
use crate::driver::{
    Clock, ConsensusDriver, ConsensusObserver, DriverError, NoObserver, SharedApp, SystemClock,
};

/// Most distinct values kept for one (height, round); more can only come from an equivocating
/// proposer.
const MAX_VALUES_PER_ROUND: usize = 4;

/// Most heights served in one sync response.
const MAX_SYNC_BATCH: u64 = 50;

/// How often the number of connected consensus peers is reported to the observer.
const PEER_REPORT_INTERVAL: Duration = Duration::from_secs(2);

/// Consensus round timeouts. Each later round waits `delta` longer per step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BftTimeouts {
    /// Wait for a proposal (default 3 s).
    pub propose: Duration,
    /// Wait for prevotes after seeing 2/3 of any (default 1 s).
    pub prevote: Duration,
    /// Wait for precommits after seeing 2/3 of any (default 1 s).
    pub precommit: Duration,
    /// Added per round to each of the above (default 500 ms).
    pub delta: Duration,
}

impl Default for BftTimeouts {
    fn default() -> Self {
        Self {
            propose: Duration::from_secs(3),
            prevote: Duration::from_secs(1),
            precommit: Duration::from_secs(1),
            delta: Duration::from_millis(500),
        }
    }
}

impl BftTimeouts {
    fn linear(&self) -> LinearTimeouts {
        LinearTimeouts {
            propose: self.propose,
            propose_delta: self.delta,
            prevote: self.prevote,
            prevote_delta: self.delta,
            precommit: self.precommit,
            precommit_delta: self.delta,
            rebroadcast: self.propose + self.prevote + self.precommit,
            ..LinearTimeouts::default()
        }
    }
}

/// Settings of the BFT driver.
#[derive(Clone, Debug)]
pub struct BftConfig {
    /// The network; every consensus signature covers it.
    pub chain_id: ChainId,
    /// A name for logs and metrics.
    pub moniker: String,
    /// The consensus p2p address (TCP).
    pub listen: SocketAddr,
    /// The other validators' consensus addresses, kept connected.
    pub peers: Vec<SocketAddr>,
    /// Directory of the engine's write-ahead log (its votes in flight; blocks are the app's).
    pub wal_dir: PathBuf,
    /// Round timeouts.
    pub timeouts: BftTimeouts,
    /// Least time per height (the engine waits before moving on); `None` runs as fast as the
    /// network allows.
    pub target_block_time: Option<Duration>,
    /// Most encoded transaction bytes per block (default 1 MiB).
    pub max_block_bytes: usize,
    /// How often a node tells peers its height, which is what triggers catch-up (default 1 s).
    pub sync_status_interval: Duration,
}

impl BftConfig {
    /// Defaults: no peers, default timeouts, one height a second at most, 1 MiB blocks.
    pub fn new(chain_id: ChainId, listen: SocketAddr, wal_dir: PathBuf) -> Self {
        Self {
            chain_id,
            moniker: format!("vigil-{listen}"),
            listen,
            peers: Vec::new(),
            wal_dir,
            timeouts: BftTimeouts::default(),
            target_block_time: Some(Duration::from_secs(1)),
            max_block_bytes: 1 << 20,
            sync_status_interval: Duration::from_secs(1),
        }
    }
}

/// Multi-validator consensus on the Malachite BFT engine (Tendermint): the validator with
/// `key` proposes, votes and commits blocks through the app, and serves and fetches decided
/// blocks so lagging validators catch up.
pub struct BftDriver {
    config: BftConfig,
    key: Keypair,
    clock: Arc<dyn Clock>,
    observer: Arc<dyn ConsensusObserver>,
}

impl BftDriver {
    /// A driver for the validator holding `key`.
    pub fn new(config: BftConfig, key: Keypair) -> Self {
        Self { config, key, clock: Arc::new(SystemClock), observer: Arc::new(NoObserver) }
    }

    /// Uses `clock` for block times instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Reports rounds, commits and peers to `observer` (for metrics).
    pub fn with_observer(mut self, observer: Arc<dyn ConsensusObserver>) -> Self {
        self.observer = observer;
        self
    }
}

/// The engine's view of the node configuration.
#[derive(Clone, Debug)]
struct EngineConfig {
    moniker: String,
    consensus: ConsensusConfig,
    value_sync: ValueSyncConfig,
}

impl NodeConfig for EngineConfig {
    fn moniker(&self) -> &str {
        &self.moniker
    }

    fn consensus(&self) -> &ConsensusConfig {
        &self.consensus
    }

    fn consensus_mut(&mut self) -> &mut ConsensusConfig {
        &mut self.consensus
    }

    fn value_sync(&self) -> &ValueSyncConfig {
        &self.value_sync
    }

    fn value_sync_mut(&mut self) -> &mut ValueSyncConfig {
        &mut self.value_sync
    }
}

fn tcp_multiaddr(addr: &SocketAddr) -> Result<Multiaddr, DriverError> {
    let ip = match addr.ip() {
        std::net::IpAddr::V4(ip) => format!("/ip4/{ip}"),
        std::net::IpAddr::V6(ip) => format!("/ip6/{ip}"),
    };
    format!("{ip}/tcp/{}", addr.port())
        .parse()
        .map_err(|e| DriverError::Config(format!("address {addr}: {e}")))
}

fn engine_config(config: &BftConfig) -> Result<EngineConfig, DriverError> {
    let p2p = P2pConfig {
        listen_addr: tcp_multiaddr(&config.listen)?,
        persistent_peers: config.peers.iter().map(tcp_multiaddr).collect::<Result<_, _>>()?,
        discovery: DiscoveryConfig {
            enabled: false,
            max_connections_per_ip: 256,
            ip_throttle_duration: Duration::from_millis(200),
            ..DiscoveryConfig::default()
        },
        ..P2pConfig::default()
    };
    let consensus = ConsensusConfig { p2p, ..ConsensusConfig::default() };
    let value_sync = ValueSyncConfig {
        enabled: true,
        status_update_interval: config.sync_status_interval,
        request_timeout: Duration::from_secs(5),
        ..ValueSyncConfig::default()
    };
    Ok(EngineConfig { moniker: config.moniker.clone(), consensus, value_sync })
}

impl ConsensusDriver for BftDriver {
    async fn run<A: ConsensusApp>(
        self,
        app: A,
        shutdown: CancellationToken,
    ) -> Result<A, DriverError> {
        let app = SharedApp::new(app);
        let chain_id = self.config.chain_id.clone();
        let ctx = VigilContext { chain_id: chain_id.clone() };
        let me = Address(self.key.account_id());
        let signer = VigilSigner::new(self.key.clone(), chain_id.clone());

        std::fs::create_dir_all(&self.config.wal_dir).map_err(|e| {
            DriverError::Config(format!("cannot create {}: {e}", self.config.wal_dir.display()))
        })?;
        let mut seed = *self.key.seed();
        let network_key = NetworkKeypair::ed25519_from_bytes(&mut seed)
            .map_err(|e| DriverError::Config(format!("network key: {e}")))?;
        let peer_id = network_key.public().to_peer_id().to_bytes();
        let proof = signer
            .sign_validator_proof(self.key.account_id().0.to_vec(), peer_id)
            .await
            .map_err(|e| DriverError::Engine(format!("validator proof: {e}")))?;
        let proof_bytes = Codec::encode(&VigilCodec, &proof)
            .map_err(|e| DriverError::Engine(format!("validator proof: {e}")))?;
        let identity = NetworkIdentity::new_validator(
            self.config.moniker.clone(),
            network_key,
            me.to_string(),
            proof_bytes,
        );

        let (mut channels, engine) = EngineBuilder::new(ctx.clone(), engine_config(&self.config)?)
            .with_default_wal(WalContext::new(
                self.config.wal_dir.join("consensus.wal"),
                VigilCodec,
            ))
            .with_default_network(NetworkContext::new(identity, VigilCodec))
            .with_default_sync(SyncContext::new(VigilCodec))
            .with_default_consensus(ConsensusContext::new_validator(
                me,
                Box::new(VigilVerifier::new(chain_id.clone())),
                Box::new(signer.clone()),
            ))
            .with_default_request(RequestContext::new(100))
            .build()
            .await
            .map_err(|e| DriverError::Engine(format!("starting the engine: {e}")))?;
        tracing::info!(validator = %me.0.short(), listen = %self.config.listen, "BFT driver started");

        let peer_reporter = tokio::spawn(report_peers(
            channels.net_requests.clone(),
            Arc::clone(&self.observer),
            shutdown.clone(),
        ));
        let mut host = Host {
            app,
            observer: Arc::clone(&self.observer),
            chain_id,
            me,
            signer,
            clock: self.clock,
            timeouts: self.config.timeouts.linear(),
            target_time: self.config.target_block_time,
            max_block_bytes: self.config.max_block_bytes,
            height: 0,
            streams: PartStreams::new(self.config.max_block_bytes.saturating_add(64 * 1024)),
            stream_counter: 0,
            blocks: BTreeMap::new(),
            proposals: BTreeMap::new(),
            built: BTreeMap::new(),
            parts_by_value: BTreeMap::new(),
            pending: BTreeMap::new(),
            reported: BTreeSet::new(),
        };
        let result = loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break Ok(()),
                message = channels.consensus.recv() => match message {
                    Some(message) => {
                        if let Err(e) = host.handle(message, &mut channels).await {
                            break Err(e);
                        }
                    }
                    None => break Err(DriverError::Engine("the consensus engine stopped".into())),
                },
            }
        };
        if let Err(e) = engine.actor.kill_and_wait(Some(Duration::from_secs(5))).await {
            tracing::warn!(error = %e, "engine did not stop cleanly");
        }
        engine.handle.abort();
        peer_reporter.abort();
        drop(channels);
        tracing::info!(validator = %me.0.short(), "BFT driver stopped");
        result?;
        let Host { app, .. } = host;
        app.into_inner()
    }
}

/// The app side of the engine's channel: undecided proposals, parts, and the app.
struct Host<A> {
    app: SharedApp<A>,
    observer: Arc<dyn ConsensusObserver>,
    chain_id: ChainId,
    me: Address,
    signer: VigilSigner,
    clock: Arc<dyn Clock>,
    timeouts: LinearTimeouts,
    target_time: Option<Duration>,
    max_block_bytes: usize,
    /// The height consensus is working on.
    height: u64,
    streams: PartStreams,
    stream_counter: u64,
    /// Full blocks seen for undecided heights, by (height, hash).
    blocks: BTreeMap<(u64, BlockHash), Block>,
    /// Proposed values seen, by (height, round).
    proposals: BTreeMap<(u64, u32), Vec<ProposedValue<VigilContext>>>,
    /// Values this node built, by (height, round): asked again, it answers the same.
    built: BTreeMap<(u64, u32), BlockValue>,
    /// Signed parts of each value, for restreaming.
    parts_by_value: BTreeMap<(u64, BlockHash), ProposalParts>,
    /// Parts for heights not started yet.
    pending: BTreeMap<u64, Vec<ProposalParts>>,
    /// Equivocations already handed to the app, by (offender, (height, round)).
    reported: BTreeSet<(AccountId, (u64, u32))>,
}

fn send<T>(reply: tokio::sync::oneshot::Sender<T>, value: T, what: &str) {
    if reply.send(value).is_err() {
        tracing::warn!("the engine dropped its {what} reply channel");
    }
}

impl<A: ConsensusApp> Host<A> {
    async fn validator_set(&self, height: u64) -> Result<ValidatorSet, DriverError> {
        let members = self.app.call(move |app| app.validator_set(height)).await?;
        ValidatorSet::new(&members).ok_or_else(|| {
            DriverError::Config(format!("the validator set for height {height} is empty"))
        })
    }

    async fn height_params(&self, height: u64) -> Result<HeightParams<VigilContext>, DriverError> {
        let members = self.app.call(move |app| app.validator_set(height)).await?;
        let total = members.iter().fold(0u64, |sum, (_, power)| sum.saturating_add(*power));
        self.observer.validator_set(members.len(), total);
        let set = ValidatorSet::new(&members).ok_or_else(|| {
            DriverError::Config(format!("the validator set for height {height} is empty"))
        })?;
        Ok(HeightParams::new(set, self.timeouts, self.target_time))
    }

    /// Forgets everything about heights up to `height`.
    fn prune(&mut self, height: u64) {
        self.blocks.retain(|(h, _), _| *h > height);
        self.proposals.retain(|(h, _), _| *h > height);
        self.built.retain(|(h, _), _| *h > height);
        self.parts_by_value.retain(|(h, _), _| *h > height);
        self.pending.retain(|h, _| *h > height);
    }

    async fn handle(
        &mut self,
        message: AppMsg<VigilContext>,
        channels: &mut Channels<VigilContext>,
    ) -> Result<(), DriverError> {
        match message {
            AppMsg::ConsensusReady { reply } => {
                let next = self.app.call(|app| app.last_commit().height).await?.saturating_add(1);
                self.height = next;
                tracing::info!(height = next, "consensus ready");
                send(reply, (Height(next), self.height_params(next).await?), "ConsensusReady");
            }
            AppMsg::StartedRound { height, round, proposer, role: _, reply_value } => {
                tracing::debug!(%height, %round, %proposer, "round started");
                self.observer.round_started(height.0, round.as_u32().unwrap_or(0));
                self.height = height.0;
                if let Some(waiting) = self.pending.remove(&height.0) {
                    for parts in waiting {
                        self.accept_parts(parts).await?;
                    }
                }
                let r = round.as_u32().unwrap_or(0);
                let known = self.proposals.get(&(height.0, r)).cloned().unwrap_or_default();
                send(reply_value, known, "StartedRound");
            }
            AppMsg::GetValue { height, round, timeout: _, reply } => {
                let value = self.get_value(height, round, channels).await?;
                send(reply, value, "GetValue");
            }
            AppMsg::ExtendVote { reply, .. } => send(reply, None, "ExtendVote"),
            AppMsg::VerifyVoteExtensions { extensions, reply, .. } => {
                let verdicts = extensions.into_iter().map(|(a, _)| (a, Ok(()))).collect();
                send(reply, verdicts, "VerifyVoteExtensions");
            }
            AppMsg::RestreamProposal { height, round, value_id, .. } => {
                if let Some(parts) = self.parts_by_value.get(&(height.0, value_id)).cloned() {
                    self.publish(&parts, height, round, channels).await?;
                }
            }
            AppMsg::GetHistoryMinHeight { reply } => {
                let min = self.app.call(|app| app.earliest_decided_height()).await?;
                send(reply, Height(min), "GetHistoryMinHeight");
            }
            AppMsg::ReceivedProposalPart { from, published_by, part, reply } => {
                let publisher = published_by.unwrap_or(from).to_bytes();
                let value = match self.streams.insert(publisher, part) {
                    Some(parts) => self.received_parts(parts).await?,
                    None => None,
                };
                send(reply, value, "ReceivedProposalPart");
            }
            AppMsg::Decided { certificate, extensions: _, reply } => {
                self.decided(&certificate).await?;
                send(reply, (), "Decided");
            }
            AppMsg::Finalized { certificate, extensions: _, evidence, reply } => {
                for proof in engine_evidence(&evidence) {
                    self.report_equivocation(proof).await?;
                }
                let h = certificate.height.0;
                let last = self.app.call(|app| app.last_commit().height).await?;
                let next = if last >= h {
                    self.prune(h);
                    self.height = h + 1;
                    Next::Start(Height(h + 1), self.height_params(h + 1).await?)
                } else {
                    tracing::error!(
                        height = h,
                        "decided block was not committed; restarting the height"
                    );
                    Next::Restart(Height(h), self.height_params(h).await?)
                };
                send(reply, next, "Finalized");
            }
            AppMsg::GetDecidedValues { range, reply } => {
                let (start, end) = (range.start().0, range.end().0);
                let end = end.min(start.saturating_add(MAX_SYNC_BATCH - 1));
                let values = self
                    .app
                    .call(move |app| {
                        (start..=end)
                            .map_while(|h| app.decided_block(h).map(|d| (h, d)))
                            .filter_map(|(h, (block, cert))| raw_decided(h, &block, &cert))
                            .collect::<Vec<_>>()
                    })
                    .await?;
                send(reply, values, "GetDecidedValues");
            }
            AppMsg::ProcessSyncedValue { height, round, proposer, value_bytes, reply } => {
                let outcome = match decode_block(&value_bytes, self.max_block_bytes) {
                    Some(block) if block.height == height.0 => {
                        let hash = block.hash();
                        self.blocks.insert((height.0, hash), block);
                        SyncedValueOutcome::Verdict(ProposedValue {
                            height,
                            round,
                            valid_round: Round::Nil,
                            proposer,
                            value: BlockValue(hash),
                            validity: Validity::Valid,
                        })
                    }
                    _ => {
                        tracing::warn!(%height, "a peer sent an undecodable synced block");
                        SyncedValueOutcome::PeerFault
                    }
                };
                send(reply, outcome, "ProcessSyncedValue");
            }
        }
        Ok(())
    }

    async fn get_value(
        &mut self,
        height: Height,
        round: Round,
        channels: &mut Channels<VigilContext>,
    ) -> Result<LocallyProposedValue<VigilContext>, DriverError> {
        let r = round.as_u32().unwrap_or(0);
        if let Some(value) = self.built.get(&(height.0, r)) {
            return Ok(LocallyProposedValue::new(height, round, *value));
        }
        let max_bytes = self.max_block_bytes;
        let h = height.0;
        let (last, txs) = self
            .app
            .call(move |app| {
                let last = app.last_commit();
                (last, app.prepare_proposal(h, max_bytes))
            })
            .await?;
        let block = Block {
            height: h,
            time: self.clock.unix_seconds(),
            proposer: self.me.0,
            parent: last.block_hash,
            txs,
        };
        let hash = block.hash();
        let parts = parts::build(&self.signer, &self.chain_id, round, Round::Nil, self.me, &block);
        let value = BlockValue(hash);
        self.built.insert((h, r), value);
        self.blocks.insert((h, hash), block);
        self.parts_by_value.insert((h, hash), parts.clone());
        self.proposals.entry((h, r)).or_default().push(ProposedValue {
            height,
            round,
            valid_round: Round::Nil,
            proposer: self.me,
            value,
            validity: Validity::Valid,
        });
        self.publish(&parts, height, round, channels).await?;
        Ok(LocallyProposedValue::new(height, round, value))
    }

    async fn publish(
        &mut self,
        parts: &ProposalParts,
        height: Height,
        round: Round,
        channels: &mut Channels<VigilContext>,
    ) -> Result<(), DriverError> {
        self.stream_counter += 1;
        let id = parts::stream_id(height, round, self.stream_counter);
        for message in parts::stream(parts, &id) {
            channels
                .network
                .send(NetworkMsg::PublishProposalPart(message))
                .await
                .map_err(|_| DriverError::Engine("the consensus network stopped".into()))?;
        }
        Ok(())
    }

    /// Handles a complete stream of parts: now, later (future height) or never (past height).
    async fn received_parts(
        &mut self,
        parts: ProposalParts,
    ) -> Result<Option<ProposedValue<VigilContext>>, DriverError> {
        let h = parts.height.0;
        if h < self.height {
            return Ok(None);
        }
        if h > self.height {
            if h <= self.height + 2 {
                let waiting = self.pending.entry(h).or_default();
                if waiting.len() < 16 {
                    waiting.push(parts);
                }
            }
            return Ok(None);
        }
        self.accept_parts(parts).await
    }

    /// Validates parts for the current height and records the proposed value.
    async fn accept_parts(
        &mut self,
        parts: ProposalParts,
    ) -> Result<Option<ProposedValue<VigilContext>>, DriverError> {
        let h = parts.height.0;
        let validators = self.validator_set(h).await?;
        let block = match parts::assemble(&parts, &self.chain_id, &validators, self.max_block_bytes)
        {
            Ok(block) => block,
            Err(e) => {
                tracing::warn!(height = h, error = %e, "refused a proposal");
                return Ok(None);
            }
        };
        let hash = block.hash();
        let checked = block.clone();
        let valid = self.app.call(move |app| app.process_proposal(&checked)).await?;
        let value = ProposedValue {
            height: parts.height,
            round: parts.round,
            valid_round: parts.pol_round,
            proposer: parts.proposer,
            value: BlockValue(hash),
            validity: if valid { Validity::Valid } else { Validity::Invalid },
        };
        let r = parts.round.as_u32().unwrap_or(0);
        let conflicting = self
            .proposals
            .get(&(h, r))
            .into_iter()
            .flatten()
            .find(|v| v.proposer == parts.proposer && v.value != value.value)
            .and_then(|v| {
                let first = self.parts_by_value.get(&(h, v.value.0))?;
                parts_equivocation(&self.chain_id, (first, &v.value.0), (&parts, &hash))
            });
        if let Some(proof) = conflicting {
            tracing::warn!(height = h, round = r, proposer = %parts.proposer, "the proposer signed two blocks for one round: equivocation");
            self.report_equivocation(proof).await?;
        }
        let seen = self.proposals.entry((h, r)).or_default();
        if seen.len() >= MAX_VALUES_PER_ROUND && !seen.contains(&value) {
            // Only the designated proposer can get here: it is equivocating. Keep what we have.
            tracing::warn!(height = h, round = r, proposer = %parts.proposer, "too many proposals for one round; ignored");
            return Ok(None);
        }
        if !seen.contains(&value) {
            seen.push(value.clone());
        }
        self.blocks.insert((h, hash), block);
        self.parts_by_value.insert((h, hash), parts);
        Ok(Some(value))
    }

    /// Hands verified equivocation evidence to the app, once per offender and slot.
    async fn report_equivocation(&mut self, proof: Equivocation) -> Result<(), DriverError> {
        let key = (proof.offender(), proof.slot());
        if proof.verify(&self.chain_id).is_err() || !self.reported.insert(key) {
            return Ok(());
        }
        self.app.call(move |app| app.equivocation(proof)).await
    }

    /// Commits a decided block through the app with its quorum certificate.
    async fn decided(
        &mut self,
        certificate: &EngineCertificate<VigilContext>,
    ) -> Result<(), DriverError> {
        let h = certificate.height.0;
        let last = self.app.call(|app| app.last_commit().height).await?;
        if last >= h {
            return Ok(());
        }
        let Some(block) = self.blocks.get(&(h, certificate.value_id)).cloned() else {
            tracing::error!(height = h, value = %certificate.value_id.short(), "decided a block this node does not have");
            return Ok(());
        };
        let mut signatures: Vec<ValidatorSignature> = certificate
            .commit_signatures
            .iter()
            .map(|s| ValidatorSignature { validator: s.address.0, signature: s.signature })
            .collect();
        signatures.sort_by_key(|s| s.validator);
        let round = certificate
            .round
            .as_u32()
            .ok_or_else(|| DriverError::Engine("decided in a nil round".into()))?;
        let bytes = CommitCertificate::Quorum { round, signatures }.to_bytes();
        let txs = block.txs.len();
        let app_hash = self.app.call(move |app| app.commit_block(&block, &bytes)).await??;
        tracing::debug!(height = h, round, txs, app_hash = %short_hex(&app_hash), "committed");
        self.observer.committed(h, round, txs);
        Ok(())
    }
}

/// The `Fin`-signed statement of `parts`, whose block is `block`.
fn signed_parts(parts: &ProposalParts, block_hash: &BlockHash) -> Option<SignedStatement> {
    let Some(ProposalPart::Fin(signature)) = parts.parts.last() else { return None };
    let proposal =
        proposal_statement(parts.height, parts.round, parts.pol_round, block_hash, parts.proposer);
    Some(SignedStatement::Proposal { proposal, signature: *signature })
}

/// Evidence from two streams of parts one proposer signed for one slot, each with the hash of
/// its block.
fn parts_equivocation(
    chain_id: &ChainId,
    first: (&ProposalParts, &BlockHash),
    second: (&ProposalParts, &BlockHash),
) -> Option<Equivocation> {
    let proof = Equivocation {
        first: signed_parts(first.0, first.1)?,
        second: signed_parts(second.0, second.1)?,
    };
    proof.verify(chain_id).is_ok().then_some(proof)
}

/// The engine's signed vote as the ledger's statement.
fn vote_statement(vote: &SignedMessage<VigilContext, Vote>) -> SignedStatement {
    let m = &vote.message;
    let statement = VoteStatement {
        kind: match m.vote_type {
            VoteType::Prevote => VoteStatement::PREVOTE,
            VoteType::Precommit => VoteStatement::PRECOMMIT,
        },
        height: m.height.0,
        round: m.round.as_u32().unwrap_or(u32::MAX),
        value: match m.value {
            NilOrVal::Nil => None,
            NilOrVal::Val(hash) => Some(hash),
        },
        validator: m.validator.0,
    };
    SignedStatement::Vote { vote: statement, signature: vote.signature }
}

/// The engine's signed proposal as the ledger's statement.
fn proposal_signed(proposal: &SignedMessage<VigilContext, Proposal>) -> SignedStatement {
    let m = &proposal.message;
    SignedStatement::Proposal {
        proposal: proposal_statement(m.height, m.round, m.pol_round, &m.value.0, m.proposer),
        signature: proposal.signature,
    }
}

/// The double votes and double proposals the engine observed, as ledger evidence.
fn engine_evidence(evidence: &MisbehaviorEvidence<VigilContext>) -> Vec<Equivocation> {
    let votes = evidence
        .votes
        .iter()
        .flat_map(|(_, pairs)| pairs)
        .map(|(a, b)| Equivocation { first: vote_statement(a), second: vote_statement(b) });
    let proposals = evidence
        .proposals
        .iter()
        .flat_map(|(_, pairs)| pairs)
        .map(|(a, b)| Equivocation { first: proposal_signed(a), second: proposal_signed(b) });
    votes.chain(proposals).collect()
}

/// Asks the engine's network how many peers are connected, every few seconds.
async fn report_peers(
    requests: tokio::sync::mpsc::Sender<NetworkRequest>,
    observer: Arc<dyn ConsensusObserver>,
    shutdown: CancellationToken,
) {
    let mut every = tokio::time::interval(PEER_REPORT_INTERVAL);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        match NetworkRequest::dump_state(&requests).await {
            Ok(Some(dump)) => observer.peers(dump.peers.len()),
            Ok(None) => {}
            Err(_) => return,
        }
    }
}

fn short_hex(bytes: &[u8; 32]) -> String {
    bytes[..6].iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_block(bytes: &Bytes, max_block_bytes: usize) -> Option<Block> {
    if bytes.len() > max_block_bytes.saturating_add(64 * 1024) {
        return None;
    }
    let block: Block = borsh::from_slice(bytes).ok()?;
    (encode(&block) == bytes.as_ref()).then_some(block)
}

/// A stored block and its Vigil certificate as the engine's sync value; `None` for blocks
/// committed without a quorum certificate (e.g. by a solo node before the network grew).
fn raw_decided(
    height: u64,
    block: &Block,
    certificate: &[u8],
) -> Option<RawDecidedValue<VigilContext>> {
    let CommitCertificate::Quorum { round, signatures } =
        CommitCertificate::from_bytes(certificate).ok()?
    else {
        return None;
    };
    Some(RawDecidedValue {
        value_bytes: Bytes::from(encode(block)),
        certificate: ExtendedCommitCertificate {
            height: Height(height),
            round: Round::new(round),
            value_id: block.hash(),
            commit_signatures: signatures
                .into_iter()
                .map(|s| ExtendedCommitSignature::new(Address(s.validator), s.signature, None))
                .collect(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(height: u64, proposer: &Keypair, time: u64) -> Block {
        Block {
            height,
            time,
            proposer: proposer.account_id(),
            parent: BlockHash::default(),
            txs: Vec::new(),
        }
    }

    /// Two streams one proposer signed for one (height, round) with different blocks are
    /// evidence the ledger's own check accepts; the same block twice, or another slot, is not.
    #[test]
    fn two_signed_streams_for_one_slot_become_verifiable_evidence() {
        let chain: ChainId = "vigil-test".parse().unwrap();
        let key = Keypair::from_seed(&[5; 32]);
        let signer = VigilSigner::new(key.clone(), chain.clone());
        let me = Address(key.account_id());
        let (a, b) = (block(3, &key, 1), block(3, &key, 2));
        let build = |round: u32, block: &Block| {
            parts::build(&signer, &chain, Round::new(round), Round::Nil, me, block)
        };
        let (pa, pb) = (build(0, &a), build(0, &b));
        let proof = parts_equivocation(&chain, (&pa, &a.hash()), (&pb, &b.hash())).unwrap();
        assert_eq!(proof.offender(), key.account_id());
        assert_eq!(proof.slot(), (3, 0));
        assert_eq!(proof.verify(&chain), Ok(()));
        assert!(parts_equivocation(&chain, (&pa, &a.hash()), (&pa, &a.hash())).is_none());
        let later = build(1, &b);
        assert!(parts_equivocation(&chain, (&pa, &a.hash()), (&later, &b.hash())).is_none());
        let elsewhere: ChainId = "vigil-other".parse().unwrap();
        assert!(parts_equivocation(&elsewhere, (&pa, &a.hash()), (&pb, &b.hash())).is_none());
    }
}

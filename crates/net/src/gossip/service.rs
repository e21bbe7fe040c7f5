//! The gossip service: a libp2p swarm running gossipsub over TCP (noise + yamux), owned by one
//! task, driven through a cloneable [`Gossip`] handle.
//!
//! Every received message is held back by gossipsub until this service has judged it
//! ([`super::validate`]); only accepted messages are forwarded to other peers and delivered to
//! the node, rejected ones lower the forwarder's peer score. Message ids are content hashes,
//! and accepted content ids are remembered so a message is delivered to the node at most once.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::gossipsub::{
    self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId, PeerScoreParams,
    PeerScoreThresholds, PublishError, TopicHash, TopicScoreParams, ValidationMode,
};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm, noise, tcp, yamux};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use vigil_core::{ChainId, ContentId, Keypair};

use super::message::{GossipKind, GossipMessage, validate};

/// How many accepted content ids are remembered for deduplication.
const SEEN_CAPACITY: usize = 65_536;

/// Settings of the gossip service.
#[derive(Clone, Debug)]
pub struct GossipConfig {
    /// The network; part of topic names and checked in every signature.
    pub chain_id: ChainId,
    /// Where to listen, e.g. `/ip4/127.0.0.1/tcp/0` (port 0 picks a free port).
    pub listen: Multiaddr,
    /// Peers to dial at start. Those given with a `/p2p/<peer id>` suffix are also redialled
    /// whenever the connection to that peer is lost.
    pub bootstrap: Vec<Multiaddr>,
    /// Gossipsub heartbeat (mesh maintenance; default 500 ms). Forwarding does not wait for it.
    pub heartbeat: Duration,
    /// Capacity of the channel of received messages; when the node falls behind, further
    /// messages are still forwarded but not delivered to it (and counted).
    pub inbound_capacity: usize,
    /// How often disconnected bootstrap peers are redialled (default 2 s).
    pub redial_interval: Duration,
    /// Protocols whose disclosures this node receives (it subscribes to their topics only).
    pub disclosures: Vec<vigil_core::ProtocolId>,
}

impl GossipConfig {
    /// Defaults for `chain_id`, listening on a free loopback port with no bootstrap peers.
    pub fn new(chain_id: ChainId) -> Self {
        Self {
            chain_id,
            listen: "/ip4/127.0.0.1/tcp/0".parse().expect("a valid multiaddr"),
            bootstrap: Vec::new(),
            heartbeat: Duration::from_millis(500),
            inbound_capacity: 4096,
            redial_interval: Duration::from_secs(2),
            disclosures: Vec::new(),
        }
    }
}

/// Why the gossip service failed or refused a request.
#[derive(Debug, thiserror::Error)]
pub enum GossipError {
    /// The transport or behaviour could not be built.
    #[error("gossip setup failed: {0}")]
    Setup(String),
    /// Could not listen on the configured address.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
    /// The message fails the same checks peers apply; it was not sent.
    #[error("message refused before publishing: {0}")]
    Invalid(#[from] super::message::RejectReason),
    /// No connected peer subscribes to the topic yet.
    #[error("no peer subscribes to the {0} topic yet")]
    NoPeers(GossipKind),
    /// The same content was published already.
    #[error("message {0} was already published")]
    Duplicate(ContentId),
    /// Gossipsub refused to publish.
    #[error("publish failed: {0}")]
    Publish(String),
    /// The service has stopped.
    #[error("the gossip service has stopped")]
    Stopped,
}

/// A validated message delivered to the node.
#[derive(Clone, Debug)]
pub struct Received {
    /// The message.
    pub message: GossipMessage,
    /// Its content id (the gossip message id).
    pub id: ContentId,
    /// The peer that forwarded it to this node.
    pub source: PeerId,
    /// When this node received it.
    pub received_at: Instant,
}

/// Counters of what the service has done since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GossipStats {
    /// Messages accepted, forwarded and delivered.
    pub accepted: u64,
    /// Messages rejected (not forwarded; the forwarder is penalised).
    pub rejected: u64,
    /// Valid messages ignored because their content was already delivered.
    pub duplicates: u64,
    /// Valid messages not delivered because the node's channel was full.
    pub dropped: u64,
}

enum Command {
    Publish {
        kind: GossipKind,
        topic: String,
        bytes: Vec<u8>,
        reply: oneshot::Sender<Result<ContentId, GossipError>>,
    },
    MeshPeers {
        kind: GossipKind,
        reply: oneshot::Sender<Vec<PeerId>>,
    },
    ConnectedPeers {
        reply: oneshot::Sender<Vec<PeerId>>,
    },
    PeerScore {
        peer: PeerId,
        reply: oneshot::Sender<Option<f64>>,
    },
    Stats {
        reply: oneshot::Sender<GossipStats>,
    },
}

/// A handle on a running gossip service. Cloning it is cheap; the service stops when its
/// cancellation token fires.
#[derive(Clone, Debug)]
pub struct Gossip {
    commands: mpsc::Sender<Command>,
    peer_id: PeerId,
    listen_addrs: Vec<Multiaddr>,
    chain_id: ChainId,
}

/// The libp2p identity of a Vigil key: the same Ed25519 key, so a node's peer id and account
/// id name one key.
pub fn peer_identity(key: &Keypair) -> libp2p::identity::Keypair {
    let mut seed = *key.seed();
    libp2p::identity::Keypair::ed25519_from_bytes(&mut seed)
        .expect("a 32-byte seed is always a valid ed25519 secret key")
}

/// The gossip peer id of the node holding `key`, for bootstrap addresses (`…/p2p/<peer id>`).
pub fn peer_id_of(key: &Keypair) -> PeerId {
    peer_identity(key).public().to_peer_id()
}

fn topic_scores() -> TopicScoreParams {
    // Alerts and intel are sparse: do not penalise quiet mesh peers (P3/P3b off); reward first
    // deliveries (P2) and punish invalid messages (P4) hard.
    TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 100.0,
        first_message_deliveries_weight: 1.0,
        first_message_deliveries_decay: 0.9,
        first_message_deliveries_cap: 100.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: -50.0,
        invalid_message_deliveries_decay: 0.9,
        ..TopicScoreParams::default()
    }
}

fn build_behaviour(config: &GossipConfig) -> Result<gossipsub::Behaviour, GossipError> {
    let max_transmit = GossipKind::ALL
        .iter()
        .chain([&GossipKind::Disclosure])
        .map(|k| k.max_bytes())
        .max()
        .unwrap_or(0)
        + 4096;
    let gs_config = gossipsub::ConfigBuilder::default()
        .heartbeat_interval(config.heartbeat)
        // Every payload carries its author's signature and the message id is its content
        // hash, so gossipsub's own per-message signature (and its sequence numbers) would
        // only cost a signing and a verification per hop.
        .validation_mode(ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| {
            MessageId::from(ContentId::of_bytes(&m.data).as_bytes().to_vec())
        })
        .max_transmit_size(max_transmit)
        .duplicate_cache_time(Duration::from_secs(300))
        .flood_publish(true)
        .build()
        .map_err(|e| GossipError::Setup(e.to_string()))?;
    let mut behaviour = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, gs_config)
        .map_err(|e| GossipError::Setup(e.to_string()))?;
    let mut params = PeerScoreParams::default();
    for (topic, _) in subscriptions(config) {
        params.topics.insert(IdentTopic::new(topic).hash(), topic_scores());
    }
    behaviour
        .with_peer_score(params, PeerScoreThresholds::default())
        .map_err(GossipError::Setup)?;
    for (topic, _) in subscriptions(config) {
        behaviour
            .subscribe(&IdentTopic::new(topic))
            .map_err(|e| GossipError::Setup(e.to_string()))?;
    }
    Ok(behaviour)
}

/// The topics a node subscribes to, with their kinds: every broadcast kind, and the
/// disclosure topics of the protocols it serves.
fn subscriptions(config: &GossipConfig) -> Vec<(String, GossipKind)> {
    let mut topics: Vec<(String, GossipKind)> =
        GossipKind::ALL.iter().map(|k| (k.topic(&config.chain_id), *k)).collect();
    topics.extend(
        config.disclosures.iter().map(|p| {
            (super::message::disclosure_topic(&config.chain_id, p), GossipKind::Disclosure)
        }),
    );
    topics
}

impl Gossip {
    /// Starts the service with the node's key: listens, dials the bootstrap peers, and returns
    /// a handle plus the channel of validated messages. Returns once it is listening.
    pub async fn start(
        config: GossipConfig,
        key: &Keypair,
        shutdown: CancellationToken,
    ) -> Result<(Gossip, mpsc::Receiver<Received>), GossipError> {
        let identity = peer_identity(key);
        let behaviour = build_behaviour(&config)?;
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(identity)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| GossipError::Setup(e.to_string()))?
            .with_behaviour(|_| behaviour)
            .map_err(|e| GossipError::Setup(e.to_string()))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
            .build();
        let peer_id = *swarm.local_peer_id();
        swarm.listen_on(config.listen.clone()).map_err(|e| GossipError::Listen {
            addr: config.listen.clone(),
            reason: e.to_string(),
        })?;
        let listen_addrs = wait_for_listen_addrs(&mut swarm, &config.listen).await?;
        for addr in &config.bootstrap {
            if let Err(e) = swarm.dial(addr.clone()) {
                tracing::debug!(%addr, error = %e, "bootstrap dial failed; will retry");
            }
        }
        let (commands, command_rx) = mpsc::channel(256);
        let (inbound, inbound_rx) = mpsc::channel(config.inbound_capacity.max(1));
        let handle = Gossip {
            commands,
            peer_id,
            listen_addrs: listen_addrs
                .iter()
                .map(|a| a.clone().with(Protocol::P2p(peer_id)))
                .collect(),
            chain_id: config.chain_id.clone(),
        };
        tracing::info!(%peer_id, addrs = ?handle.listen_addrs, "gossip listening");
        let topics = subscriptions(&config)
            .into_iter()
            .map(|(topic, kind)| (IdentTopic::new(topic).hash(), kind))
            .collect();
        let service = Service {
            swarm,
            config,
            topics,
            inbound,
            seen: SeenCache::default(),
            stats: GossipStats::default(),
        };
        tokio::spawn(service.run(command_rx, shutdown));
        Ok((handle, inbound_rx))
    }

    /// This node's peer id (derived from its key).
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The addresses it listens on, each ending in `/p2p/<peer id>`, ready to be given to
    /// other nodes as bootstrap peers.
    pub fn listen_addrs(&self) -> &[Multiaddr] {
        &self.listen_addrs
    }

    /// Checks a message as peers will and publishes it. Returns its content id.
    pub async fn publish(&self, message: &GossipMessage) -> Result<ContentId, GossipError> {
        let bytes = message.to_bytes();
        validate(message.kind(), &bytes, &self.chain_id)?;
        let (reply, rx) = oneshot::channel();
        let topic = message.topic(&self.chain_id);
        self.request(Command::Publish { kind: message.kind(), topic, bytes, reply }, rx).await?
    }

    /// Publishes bytes as they are, without the checks peers apply: for tests that show peers
    /// refuse and do not forward bad messages. Honest nodes use [`Gossip::publish`].
    pub async fn publish_unchecked(
        &self,
        kind: GossipKind,
        bytes: Vec<u8>,
    ) -> Result<ContentId, GossipError> {
        self.publish_bytes(kind, bytes).await
    }

    async fn publish_bytes(
        &self,
        kind: GossipKind,
        bytes: Vec<u8>,
    ) -> Result<ContentId, GossipError> {
        let (reply, rx) = oneshot::channel();
        let topic = kind.topic(&self.chain_id);
        self.request(Command::Publish { kind, topic, bytes, reply }, rx).await?
    }

    /// Peers in this node's mesh for `kind`'s topic.
    pub async fn mesh_peers(&self, kind: GossipKind) -> Result<Vec<PeerId>, GossipError> {
        let (reply, rx) = oneshot::channel();
        self.request(Command::MeshPeers { kind, reply }, rx).await
    }

    /// Peers this node is connected to.
    pub async fn connected_peers(&self) -> Result<Vec<PeerId>, GossipError> {
        let (reply, rx) = oneshot::channel();
        self.request(Command::ConnectedPeers { reply }, rx).await
    }

    /// Gossipsub's score of `peer` (negative after it forwarded invalid messages).
    pub async fn peer_score(&self, peer: PeerId) -> Result<Option<f64>, GossipError> {
        let (reply, rx) = oneshot::channel();
        self.request(Command::PeerScore { peer, reply }, rx).await
    }

    /// Counters since start.
    pub async fn stats(&self) -> Result<GossipStats, GossipError> {
        let (reply, rx) = oneshot::channel();
        self.request(Command::Stats { reply }, rx).await
    }

    async fn request<T>(
        &self,
        command: Command,
        rx: oneshot::Receiver<T>,
    ) -> Result<T, GossipError> {
        self.commands.send(command).await.map_err(|_| GossipError::Stopped)?;
        rx.await.map_err(|_| GossipError::Stopped)
    }
}

async fn wait_for_listen_addrs(
    swarm: &mut Swarm<gossipsub::Behaviour>,
    listen: &Multiaddr,
) -> Result<Vec<Multiaddr>, GossipError> {
    let deadline = tokio::time::sleep(Duration::from_secs(5));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut deadline => {
                return Err(GossipError::Listen { addr: listen.clone(), reason: "no listen address after 5 s".into() });
            }
            event = swarm.select_next_some() => match event {
                SwarmEvent::NewListenAddr { address, .. } => return Ok(vec![address]),
                SwarmEvent::ListenerError { error, .. } | SwarmEvent::ListenerClosed { reason: Err(error), .. } => {
                    return Err(GossipError::Listen { addr: listen.clone(), reason: error.to_string() });
                }
                _ => {}
            }
        }
    }
}

/// Content ids already delivered, oldest forgotten first.
#[derive(Default)]
struct SeenCache {
    order: VecDeque<ContentId>,
    set: BTreeSet<ContentId>,
}

impl SeenCache {
    /// Records `id`; false if it was already there.
    fn insert(&mut self, id: ContentId) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > SEEN_CAPACITY
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

struct Service {
    swarm: Swarm<gossipsub::Behaviour>,
    config: GossipConfig,
    topics: BTreeMap<TopicHash, GossipKind>,
    inbound: mpsc::Sender<Received>,
    seen: SeenCache,
    stats: GossipStats,
}

impl Service {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>, shutdown: CancellationToken) {
        let mut redial = tokio::time::interval(self.config.redial_interval);
        redial.tick().await;
        let mut commands_open = true;
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                command = commands.recv(), if commands_open => match command {
                    Some(command) => self.on_command(command),
                    None => commands_open = false,
                },
                event = self.swarm.select_next_some() => self.on_event(event),
                _ = redial.tick() => self.redial(),
            }
        }
        tracing::info!(peer_id = %self.swarm.local_peer_id(), "gossip stopped");
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { kind, topic, bytes, reply } => {
                let id = ContentId::of_bytes(&bytes);
                let topic = IdentTopic::new(topic);
                let result = match self.swarm.behaviour_mut().publish(topic, bytes) {
                    Ok(_) => {
                        self.seen.insert(id);
                        Ok(id)
                    }
                    Err(PublishError::NoPeersSubscribedToTopic) => Err(GossipError::NoPeers(kind)),
                    Err(PublishError::Duplicate) => Err(GossipError::Duplicate(id)),
                    Err(e) => Err(GossipError::Publish(e.to_string())),
                };
                let _ = reply.send(result);
            }
            Command::MeshPeers { kind, reply } => {
                let topic = IdentTopic::new(kind.topic(&self.config.chain_id)).hash();
                let _ = reply.send(self.swarm.behaviour().mesh_peers(&topic).copied().collect());
            }
            Command::ConnectedPeers { reply } => {
                let _ = reply.send(self.swarm.connected_peers().copied().collect());
            }
            Command::PeerScore { peer, reply } => {
                let _ = reply.send(self.swarm.behaviour().peer_score(&peer));
            }
            Command::Stats { reply } => {
                let _ = reply.send(self.stats);
            }
        }
    }

    fn on_event(&mut self, event: SwarmEvent<gossipsub::Event>) {
        match event {
            SwarmEvent::Behaviour(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => self.on_message(propagation_source, message_id, message),
            SwarmEvent::ConnectionEstablished { peer_id, num_established, .. }
                if num_established.get() == 1 =>
            {
                tracing::debug!(peer = %peer_id, "gossip peer connected");
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                tracing::debug!(peer = %peer_id, "gossip peer disconnected");
            }
            _ => {}
        }
    }

    fn on_message(&mut self, source: PeerId, message_id: MessageId, message: gossipsub::Message) {
        let received_at = Instant::now();
        let Some(kind) = self.topics.get(&message.topic).copied() else {
            // Gossipsub only delivers subscribed topics; anything else is ignored.
            self.report(&message_id, &source, MessageAcceptance::Ignore);
            return;
        };
        match validate(kind, &message.data, &self.config.chain_id).and_then(|valid| {
            // A disclosure travels on its own protocol's topic only.
            let topic = valid.topic(&self.config.chain_id);
            if IdentTopic::new(topic.clone()).hash() == message.topic {
                Ok(valid)
            } else {
                Err(super::message::RejectReason::Malformed {
                    kind,
                    reason: format!("it belongs on {topic}"),
                })
            }
        }) {
            Ok(valid) => {
                let id = ContentId::of_bytes(&message.data);
                if !self.seen.insert(id) {
                    self.stats.duplicates += 1;
                    self.report(&message_id, &source, MessageAcceptance::Ignore);
                    return;
                }
                self.stats.accepted += 1;
                self.report(&message_id, &source, MessageAcceptance::Accept);
                let delivered = Received { message: valid, id, source, received_at };
                match self.inbound.try_send(delivered) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        self.stats.dropped += 1;
                        tracing::warn!(%kind, id = %id.short(), "node is behind on gossip; message not delivered");
                    }
                    // Nobody reads deliveries any more; the node still relays for its peers.
                    Err(mpsc::error::TrySendError::Closed(_)) => self.stats.dropped += 1,
                }
            }
            Err(reason) => {
                self.stats.rejected += 1;
                tracing::info!(peer = %source, %reason, "gossip message rejected");
                self.report(&message_id, &source, MessageAcceptance::Reject);
            }
        }
    }

    fn report(&mut self, id: &MessageId, source: &PeerId, acceptance: MessageAcceptance) {
        self.swarm.behaviour_mut().report_message_validation_result(id, source, acceptance);
    }

    fn redial(&mut self) {
        for addr in self.config.bootstrap.clone() {
            let peer = addr.iter().find_map(|p| match p {
                Protocol::P2p(peer) => Some(peer),
                _ => None,
            });
            let Some(peer) = peer else { continue };
            if !self.swarm.is_connected(&peer)
                && let Err(e) = self.swarm.dial(addr.clone())
            {
                tracing::debug!(%addr, error = %e, "redial failed");
            }
        }
    }
}

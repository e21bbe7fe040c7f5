//! The node's state shared by the consensus driver, the HTTP API and the event stream: data
//! and handles, never services (the consensus adapter, `NodeApp`, lives in `consensus`).
//!
//! Locks are always taken in the order ledger → mempool, so the proposer path and the commit
//! path cannot deadlock.

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use vigil_core::{AccountId, Alert, Block, ChainId, ContentId, Report, Signed, SignedTx, TxId};
use vigil_ledger::{Event, Ledger, TxError, TxResult};

use crate::journal::Journal;
use crate::mempool::{Mempool, MempoolError, Sender};
use crate::metrics::{Metrics, RejectLabels};
use crate::store::RedbStore;

/// Something the node announces on its event stream.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeEvent {
    /// A block was committed.
    Block {
        /// Height.
        height: u64,
        /// Block hash.
        block_hash: String,
        /// App hash after it.
        app_hash: String,
        /// Proposer's time.
        time: u64,
        /// Transactions in it.
        txs: usize,
        /// Of which executed successfully.
        succeeded: usize,
    },
    /// Something the ledger did in a block.
    Ledger {
        /// Height.
        height: u64,
        /// What happened.
        event: Event,
    },
    /// A signed alert: raised by this node's detectors (`peer` is `local`) or received by gossip.
    Alert {
        /// Its content id.
        id: ContentId,
        /// Where it came from: `local`, or the peer that forwarded it.
        peer: String,
        /// The alert with its author's signature.
        alert: Box<Signed<Alert>>,
    },
    /// Signed intel (a threat report) that arrived by gossip (checked like an alert).
    Intel {
        /// Its content id.
        id: ContentId,
        /// The peer that forwarded it.
        peer: String,
        /// The report with its author's signature.
        report: Box<Signed<Report>>,
    },
}

impl NodeEvent {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            NodeEvent::Block { .. } => "block",
            NodeEvent::Ledger { event, .. } => match event {
                Event::ReportSubmitted { .. } => "report",
                Event::Attested { .. } => "attestation",
                Event::Verdict { .. } => "verdict",
                Event::Slashed { .. } | Event::Rewarded { .. } => "settlement",
                _ => "ledger",
            },
            NodeEvent::Alert { .. } => "alert",
            NodeEvent::Intel { .. } => "intel",
        }
    }
}

/// Why a submitted transaction was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The ledger refused it.
    #[error("{0}")]
    Tx(#[from] TxError),
    /// The mempool refused it.
    #[error("{0}")]
    Mempool(#[from] MempoolError),
    /// It was admitted, but could not be made durable.
    #[error("{0}; the transaction may not survive a restart, submit it again later")]
    Journal(#[from] crate::journal::JournalError),
    /// A report's rule file does not compile, costs too much or is oversized.
    #[error("detection content refused: {0}")]
    Detection(#[from] vigil_detect::ContentError),
}

/// What the mempool needs to know about a sender from the committed state.
pub(crate) fn sender_of(ledger: &Ledger<RedbStore>, account: &AccountId) -> Sender {
    ledger
        .state()
        .account(account)
        .map(|a| Sender { nonce: a.nonce, balance: a.balance, bonded: a.bonded })
        .unwrap_or_default()
}

impl SubmitError {
    /// A short machine-readable code.
    pub fn code(&self) -> String {
        match self {
            SubmitError::Tx(e) => serde_json::to_value(e)
                .ok()
                .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_owned))
                .unwrap_or_else(|| "invalid_tx".into()),
            SubmitError::Mempool(MempoolError::Duplicate(_)) => "duplicate".into(),
            SubmitError::Mempool(MempoolError::NonceTaken { .. }) => "nonce_taken".into(),
            SubmitError::Mempool(MempoolError::Full { .. }) => "mempool_full".into(),
            SubmitError::Mempool(MempoolError::NonceTooFar { .. }) => "nonce_too_far".into(),
            SubmitError::Mempool(MempoolError::AccountFull { .. }) => "account_full".into(),
            SubmitError::Mempool(MempoolError::Unaffordable { .. }) => "unaffordable".into(),
            SubmitError::Mempool(MempoolError::Unfunded { .. }) => "unfunded".into(),
            SubmitError::Journal(_) => "journal_unavailable".into(),
            SubmitError::Detection(_) => "invalid_detection".into(),
        }
    }
}

/// Where a transaction stands.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TxStatus {
    /// Waiting in the mempool.
    Pending,
    /// In a committed block.
    Committed {
        /// Block height.
        height: u64,
        /// Position in the block.
        index: u32,
        /// Its result.
        result: TxResult,
    },
    /// Accepted, then dropped before it committed (evicted for a sender with more stake, or
    /// refused when re-admitted after a restart); it will not commit unless submitted again.
    Dropped {
        /// Why.
        reason: String,
    },
    /// Never seen (or dropped so long ago that the node has forgotten).
    Unknown,
}

/// Most dropped transactions remembered for [`NodeState::tx_status`].
const DROPPED_MEMORY: usize = 100_000;

/// Transactions dropped from the mempool lately, with why, oldest first out.
#[derive(Default)]
pub struct Dropped {
    reasons: std::collections::HashMap<TxId, String>,
    order: std::collections::VecDeque<TxId>,
}

impl Dropped {
    /// Records that `id` was dropped for `reason`.
    pub fn record(&mut self, id: TxId, reason: &str) {
        if self.reasons.insert(id, reason.to_owned()).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > DROPPED_MEMORY {
            if let Some(old) = self.order.pop_front() {
                self.reasons.remove(&old);
            }
        }
    }

    /// Forgets `id` (it was accepted again).
    pub fn forget(&mut self, id: &TxId) {
        self.reasons.remove(id);
    }

    /// Why `id` was dropped, if it was.
    pub fn reason(&self, id: &TxId) -> Option<&str> {
        self.reasons.get(id).map(String::as_str)
    }
}

/// What the chain watch (`[watch]`) reports about itself, for `/v1/status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchStatus {
    /// The call-trace source of mined blocks; `None` until the watch has probed its node (on
    /// the first block it fetches).
    pub trace_source: Option<vigil_chain::TraceSource>,
}

/// Everything the node's parts share.
pub struct NodeState {
    /// The ledger (queries take the read lock; block execution the write lock).
    pub ledger: RwLock<Ledger<RedbStore>>,
    /// Pending transactions.
    pub mempool: Mutex<Mempool>,
    /// The durable record of accepted transactions (see [`crate::journal`]).
    pub journal: Journal,
    /// Transactions accepted and then dropped, for status queries.
    pub dropped: Mutex<Dropped>,
    /// The database, for block and transaction queries without the ledger lock.
    pub store: RedbStore,
    /// The event stream.
    pub events: broadcast::Sender<NodeEvent>,
    /// Metrics.
    pub metrics: Metrics,
    /// This network.
    pub chain_id: ChainId,
    /// This node's account (its proposer key).
    pub node_account: AccountId,
    /// Gossip and consensus hooks (see [`crate::handles::NetState`]).
    pub net: crate::handles::NetState,
    /// Threat intelligence: the indicator book, imports, TAXII (see [`crate::intel`]).
    pub intel: crate::intel::Intel,
    /// The chain watch's report while it runs; `None` when the node watches no chain.
    pub watch: RwLock<Option<WatchStatus>>,
    /// The most recent alerts this node raised or received (`GET /v1/alerts`).
    pub alerts: Mutex<RecentAlerts>,
    /// Shared fingerprints and rule files, and why each is (or is not) in force.
    pub immunity: Mutex<crate::immunity::DetectionBook>,
}

/// An alert as the node keeps it: who sent it and when it arrived.
#[derive(Clone, Debug, Serialize)]
pub struct AlertRecord {
    /// Its content id.
    pub id: ContentId,
    /// `local`, or the peer that forwarded it.
    pub peer: String,
    /// When it reached this node, in seconds since the Unix epoch (node-local time).
    pub received: u64,
    /// The alert with its author's signature.
    pub alert: Signed<Alert>,
}

/// The last [`RecentAlerts::CAPACITY`] alerts, oldest first; the oldest go first when full.
#[derive(Debug, Default)]
pub struct RecentAlerts {
    records: std::collections::VecDeque<Arc<AlertRecord>>,
}

impl RecentAlerts {
    /// How many alerts are kept.
    pub const CAPACITY: usize = 10_000;

    /// Keeps `record` (an alert already kept is kept once).
    pub fn push(&mut self, record: AlertRecord) {
        if self.records.iter().rev().take(64).any(|r| r.id == record.id) {
            return;
        }
        if self.records.len() >= Self::CAPACITY {
            self.records.pop_front();
        }
        self.records.push_back(Arc::new(record));
    }

    /// The alert with id `id`, if kept.
    pub fn get(&self, id: &ContentId) -> Option<Arc<AlertRecord>> {
        self.records.iter().rev().find(|r| r.id == *id).cloned()
    }

    /// The newest `limit` alerts, newest first.
    pub fn newest(&self, limit: usize) -> Vec<Arc<AlertRecord>> {
        self.records.iter().rev().take(limit).cloned().collect()
    }
}

impl NodeState {
    /// Shared state over an opened ledger.
    pub fn new(ledger: Ledger<RedbStore>, mempool: Mempool, node_account: AccountId) -> Arc<Self> {
        let store = ledger.store().clone();
        let chain_id = ledger.chain_id().clone();
        let metrics = Metrics::new();
        metrics.height.set(i64::try_from(ledger.height()).unwrap_or(i64::MAX));
        let (events, _) = broadcast::channel(4096);
        let immunity = crate::immunity::DetectionBook::from_ledger(
            ledger.state(),
            ledger.height(),
            &node_account,
        );
        metrics.set_detection_items(&immunity.counts());
        Arc::new(Self {
            immunity: Mutex::new(immunity),
            ledger: RwLock::new(ledger),
            mempool: Mutex::new(mempool),
            journal: Journal::start(store.clone()),
            dropped: Mutex::new(Dropped::default()),
            store: store.clone(),
            events,
            metrics,
            chain_id,
            node_account,
            net: crate::handles::NetState::default(),
            alerts: Mutex::new(RecentAlerts::default()),
            intel: crate::intel::Intel::new(store.database()),
            watch: RwLock::new(None),
        })
    }

    /// Keeps a signed alert among the recent ones and announces it on the event stream (where
    /// the policy engine routes it to channels).
    pub fn announce_alert(&self, id: ContentId, peer: String, alert: Signed<Alert>) {
        let received = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.alerts.lock().push(AlertRecord {
            id,
            peer: peer.clone(),
            received,
            alert: alert.clone(),
        });
        // An exploit's fingerprint from a monitor a protocol trusts is watched for at once.
        if !alert.payload.detection.is_empty() {
            let trusted = crate::immunity::trusted_monitor(
                self.ledger.read().state(),
                &self.node_account,
                &alert.signer,
            );
            if trusted {
                let mut book = self.immunity.lock();
                book.provisional(id, alert.signer, &alert.payload);
                self.metrics.set_detection_items(&book.counts());
            }
        }
        let _ = self.events.send(NodeEvent::Alert { id, peer, alert: Box::new(alert) });
    }

    /// Admits a transaction to the mempool after the ledger's checks and queues it for the
    /// journal (the HTTP API waits for the journal before it answers `202`).
    pub fn submit(&self, tx: SignedTx) -> Result<TxId, SubmitError> {
        let result = (|| -> Result<TxId, SubmitError> {
            // Signature checks, the expensive part, run in parallel under the shared read lock;
            // only the insert takes the mempool lock.
            let ledger = self.ledger.read();
            if self.mempool.lock().contains(&tx.id()) {
                return Err(MempoolError::Duplicate(tx.id()).into());
            }
            ledger.check_tx_stateless(&tx)?;
            crate::immunity::check_tx(&tx)?;
            ledger.check_tx_stateful(&tx)?;
            let spend = ledger.max_spend(&tx)?;
            let sender = sender_of(&ledger, &tx.tx.signer);
            let mut mempool = self.mempool.lock();
            let (id, evicted) = mempool.insert(tx, sender, spend)?;
            if let Some(admitted) = mempool.get(&id) {
                self.journal.append(admitted);
            }
            self.metrics.mempool_size.set(i64::try_from(mempool.len()).unwrap_or(i64::MAX));
            drop(mempool);
            if !evicted.is_empty() {
                self.dropped_from_mempool(
                    &evicted,
                    "evicted from a full mempool for a sender with more stake; submit it again",
                );
            }
            self.dropped.lock().forget(&id);
            Ok(id)
        })();
        match &result {
            Ok(_) => {
                self.metrics.tx_accepted.inc();
            }
            Err(e) => {
                self.metrics.tx_rejected.get_or_create(&RejectLabels { reason: e.code() }).inc();
            }
        }
        result
    }

    /// Records transactions the mempool dropped without committing them, and takes them out of
    /// the journal.
    pub(crate) fn dropped_from_mempool(&self, ids: &[TxId], reason: &str) {
        let mut dropped = self.dropped.lock();
        for id in ids {
            dropped.record(*id, reason);
        }
        drop(dropped);
        self.journal.remove(ids.iter().copied());
    }

    /// Re-admits the journal's transactions after a restart, in nonce order per sender.
    /// Those refused (committed elsewhere meanwhile, or no longer valid) leave the journal and
    /// are reported as dropped. Returns (re-admitted, dropped).
    pub fn readmit_journal(&self) -> Result<(usize, usize), vigil_ledger::StoreError> {
        let (mut txs, corrupt) = self.store.journal_entries()?;
        self.journal.remove(corrupt.iter().copied());
        txs.sort_by_key(|t| (t.tx.signer, t.tx.nonce));
        let (mut admitted, mut refused) = (0, corrupt.len());
        for tx in txs {
            let id = tx.id();
            match self.submit(tx) {
                Ok(_) | Err(SubmitError::Mempool(MempoolError::Duplicate(_))) => admitted += 1,
                Err(e) => {
                    refused += 1;
                    let reason = format!("refused when re-admitted after a restart: {e}");
                    self.dropped_from_mempool(&[id], &reason);
                }
            }
        }
        Ok((admitted, refused))
    }

    /// The next nonce an account should sign with, counting its pending transactions.
    pub fn next_nonce(&self, account: &AccountId) -> u64 {
        let ledger = self.ledger.read();
        let committed = ledger.next_nonce(account);
        self.mempool.lock().next_nonce(account, committed)
    }

    /// Where a transaction stands.
    pub fn tx_status(&self, id: &TxId) -> Result<TxStatus, vigil_ledger::StoreError> {
        if let Some(loc) = self.store.tx_location(id)? {
            let result = self
                .store
                .results(loc.height)?
                .and_then(|r| r.into_iter().nth(usize::try_from(loc.index).unwrap_or(usize::MAX)));
            if let Some(result) = result {
                return Ok(TxStatus::Committed { height: loc.height, index: loc.index, result });
            }
        }
        if self.mempool.lock().contains(id) {
            return Ok(TxStatus::Pending);
        }
        if let Some(reason) = self.dropped.lock().reason(id) {
            return Ok(TxStatus::Dropped { reason: reason.to_owned() });
        }
        Ok(TxStatus::Unknown)
    }

    /// Announces a committed block and its ledger events on the event stream.
    pub(crate) fn publish(&self, block: &Block, finalized: &vigil_ledger::FinalizedBlock) {
        let succeeded = finalized.tx_results.iter().filter(|r| r.outcome.is_ok()).count();
        // Sending fails only when nobody listens, which is fine.
        let _ = self.events.send(NodeEvent::Block {
            height: block.height,
            block_hash: finalized.block_hash.to_string(),
            app_hash: finalized.app_hash.to_string(),
            time: block.time,
            txs: block.txs.len(),
            succeeded,
        });
        self.follow_detection(block.height, &finalized.events);
        for event in &finalized.events {
            let _ =
                self.events.send(NodeEvent::Ledger { height: block.height, event: event.clone() });
        }
    }

    /// Loads and unloads shared detection content as verdicts and revocations come in, before
    /// the block's events are announced.
    fn follow_detection(&self, height: u64, events: &[Event]) {
        let relevant =
            |e: &Event| matches!(e, Event::Verdict { .. } | Event::DetectionRevoked { .. });
        if !events.iter().any(relevant) {
            return;
        }
        let ledger = self.ledger.read();
        let mut book = self.immunity.lock();
        for event in events {
            match event {
                Event::Verdict { report, status, .. } => {
                    let Some(record) = ledger.state().report(report) else { continue };
                    match status {
                        vigil_ledger::ReportStatus::Confirmed => {
                            let confidence = crate::immunity::reporter_confidence(
                                ledger.state(),
                                height,
                                &record.reporter,
                            );
                            book.confirm(*report, record, confidence);
                        }
                        vigil_ledger::ReportStatus::Rejected => book.reject(record),
                        _ => {}
                    }
                }
                Event::DetectionRevoked { detection, proposal } => {
                    book.revoked_by_proposal(*detection, *proposal);
                }
                _ => {}
            }
        }
        self.metrics.set_detection_items(&book.counts());
    }
}

impl NodeState {
    /// Admits a client's transaction ([`NodeState::submit`]) and, once admitted, relays it to
    /// the other nodes by gossip (when gossip runs).
    pub fn submit_and_relay(&self, tx: SignedTx) -> Result<TxId, SubmitError> {
        match self.net.gossip.get() {
            None => self.submit(tx),
            Some(bridge) => {
                let copy = tx.clone();
                let id = self.submit(tx)?;
                bridge.relay_tx(copy);
                Ok(id)
            }
        }
    }
}

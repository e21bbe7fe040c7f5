//! Collective immunity: the shared fingerprints and rule files this node's detectors match, and
//! why each is in force.
//!
//! - A **confirmed report**'s detection content is in force from the block of its verdict, at
//!   the confidence of its reporter's reputation; the items the report `revokes` stop.
//! - A **fast-path alert** that carries detection content (an exploit's fingerprint), signed by
//!   a monitor that a registered protocol's policy authorises (or by this node), is loaded at
//!   once, *provisionally*, at three quarters of the alert's confidence: the attack is watched
//!   for on every node within a gossip hop, before any block. If the report the alert opens is
//!   rejected, its provisional items are unloaded.
//! - An executed `revoke_detection` proposal, or a confirmed report that revokes an item,
//!   withdraws it for good.
//!
//! Everything in force is derived from the ledger ([`DetectionBook::from_ledger`]), so a node
//! that restarts loads exactly the confirmed, unrevoked items again — and, provisionally, those
//! of fast-path reports by trusted monitors still waiting for their verdict (the ledger keeps
//! the alert's content in the report it opened). Changes go to the running detectors as [`DetectionUpdate`]s on a broadcast
//! channel ([`DetectionBook::subscribe`]), in the order they happen.
//!
//! [`check_tx`] refuses a report whose rule file does not compile, is oversized, or costs too
//! much to evaluate, before it reaches the mempool.

use std::collections::BTreeMap;

use serde::Serialize;
use tokio::sync::broadcast;
use vigil_core::{
    AccountId, Alert, AlertId, Detection, DetectionId, ProposalAction, ReportId, Severity,
    SignedTx, TxBody,
};
use vigil_detect::{ContentError, DetectionUpdate, Provenance};
use vigil_ledger::{ProposalStatus, ReportOrigin, ReportRecord, ReportStatus, State};

/// Refuses a transaction whose report carries a rule file the detectors could not load.
pub fn check_tx(tx: &SignedTx) -> Result<(), ContentError> {
    if let TxBody::SubmitReport { report, .. } = &tx.tx.body {
        for d in &report.detection {
            vigil_detect::shared::check(d)?;
        }
    }
    Ok(())
}

/// Share of a trusted alert's confidence that its provisional items get, in percent.
pub const PROVISIONAL_CONFIDENCE_PCT: u32 = 75;

/// Where an item came from.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Origin {
    /// A report on the ledger.
    Report {
        /// The report.
        report: ReportId,
    },
    /// A monitor's signed alert, ahead of the ledger.
    Alert {
        /// The alert.
        alert: AlertId,
        /// The monitor that signed it.
        monitor: AccountId,
    },
}

impl Origin {
    fn label(&self) -> String {
        match self {
            Self::Report { report } => format!("report:{report}"),
            Self::Alert { alert, .. } => format!("alert:{alert}"),
        }
    }
}

/// Whether an item is matched.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// Loaded from a trusted alert, waiting for the verdict.
    Provisional,
    /// Loaded from a confirmed report.
    InForce,
    /// Withdrawn by a proposal or a later report: not matched.
    Revoked,
    /// The report of its alert was rejected: not matched.
    Rejected,
}

impl ItemState {
    /// Its name, as the API shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisional => "provisional",
            Self::InForce => "in_force",
            Self::Revoked => "revoked",
            Self::Rejected => "rejected",
        }
    }

    /// Whether the detectors match it.
    pub fn is_loaded(self) -> bool {
        matches!(self, Self::Provisional | Self::InForce)
    }
}

/// One item and its standing.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct Item {
    /// Its id.
    pub id: DetectionId,
    /// `fingerprint` or `rules`.
    pub kind: &'static str,
    /// The content.
    pub detection: Detection,
    /// Where it came from (the latest source that put it in its state).
    pub origin: Origin,
    /// Its state.
    pub state: ItemState,
    /// Confidence of its alerts.
    pub confidence: u8,
    /// Severity of its alerts.
    pub severity: Severity,
    /// Alerts it raised on this node since the node started.
    pub hits: u64,
    /// What revoked it, when it is revoked (`proposal:<n>` or `report:<id>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
}

impl Item {
    fn update(&self) -> DetectionUpdate {
        if self.state.is_loaded() {
            DetectionUpdate::Load {
                detection: self.detection.clone(),
                provenance: Provenance {
                    origin: self.origin.label(),
                    confidence: self.confidence,
                    severity: self.severity,
                    provisional: self.state == ItemState::Provisional,
                },
            }
        } else {
            DetectionUpdate::Unload { id: self.id }
        }
    }
}

/// The items this node knows, by id. See the module docs.
#[derive(Debug)]
pub struct DetectionBook {
    items: BTreeMap<DetectionId, Item>,
    revoked: BTreeMap<DetectionId, String>,
    updates: broadcast::Sender<DetectionUpdate>,
}

/// The confidence the ledger gives a reporter's claims at `height`: its reputation, 50 for an
/// account it does not know.
pub fn reporter_confidence(state: &State, height: u64, reporter: &AccountId) -> u8 {
    state.account(reporter).map(|a| a.reputation.confidence(height, state.params())).unwrap_or(50)
}

impl DetectionBook {
    /// The items in force on `state` at `height`: every confirmed report's, less those revoked
    /// by a confirmed report or an executed proposal; and provisionally those of undecided
    /// fast-path reports whose monitor `node` trusts.
    pub fn from_ledger(state: &State, height: u64, node: &AccountId) -> Self {
        let mut revoked: BTreeMap<DetectionId, String> = BTreeMap::new();
        for (id, r) in state.reports().filter(|(_, r)| r.status == ReportStatus::Confirmed) {
            for d in &r.report.revokes {
                revoked.entry(*d).or_insert_with(|| format!("report:{id}"));
            }
        }
        for (n, p) in state.proposals() {
            if let (ProposalAction::RevokeDetection { detection }, ProposalStatus::Executed) =
                (&p.action, p.status)
            {
                revoked.entry(*detection).or_insert_with(|| format!("proposal:{n}"));
            }
        }
        let (updates, _) = broadcast::channel(4_096);
        let mut book = Self { items: BTreeMap::new(), revoked, updates };
        for (id, r) in state.reports().filter(|(_, r)| r.status == ReportStatus::Confirmed) {
            let confidence = reporter_confidence(state, height, &r.reporter);
            book.confirm(*id, r, confidence);
        }
        let undecided =
            |r: &ReportRecord| matches!(r.status, ReportStatus::Open | ReportStatus::Escalated);
        for (_, r) in state.reports().filter(|(_, r)| undecided(r)) {
            let ReportOrigin::FastPath { alert, .. } = &r.origin else { continue };
            if trusted_monitor(state, node, &r.reporter) {
                // The alert's own confidence is not on the ledger: its monitor's reputation.
                let confidence = reporter_confidence(state, height, &r.reporter);
                let origin = Origin::Alert { alert: *alert, monitor: r.reporter };
                book.load_provisional(&origin, &r.report.detection, confidence, r.report.severity);
            }
        }
        book
    }

    /// Updates on every later change.
    pub fn subscribe(&self) -> broadcast::Receiver<DetectionUpdate> {
        self.updates.subscribe()
    }

    /// What to load into a fresh engine: every item matched now.
    pub fn loaded(&self) -> Vec<DetectionUpdate> {
        self.items.values().filter(|i| i.state.is_loaded()).map(Item::update).collect()
    }

    /// Every item, by id.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.items.values()
    }

    /// One item.
    pub fn get(&self, id: &DetectionId) -> Option<&Item> {
        self.items.get(id)
    }

    /// How many items are in each state, by the state's name.
    pub fn counts(&self) -> [(&'static str, usize); 4] {
        let n = |s| self.items.values().filter(|i| i.state == s).count();
        [ItemState::InForce, ItemState::Provisional, ItemState::Revoked, ItemState::Rejected]
            .map(|s| (s.as_str(), n(s)))
    }

    /// Counts an alert the item raised.
    pub fn hit(&mut self, id: &DetectionId) {
        if let Some(i) = self.items.get_mut(id) {
            i.hits = i.hits.saturating_add(1);
        }
    }

    fn set(&mut self, item: Item) {
        let changed = self.items.get(&item.id).is_none_or(|old| {
            old.state != item.state
                || old.confidence != item.confidence
                || old.origin != item.origin
        });
        let hits = self.items.get(&item.id).map_or(0, |old| old.hits);
        let update = item.update();
        self.items.insert(item.id, Item { hits, ..item });
        if changed {
            // Nobody listens when no chain is watched.
            let _ = self.updates.send(update);
        }
    }

    fn revoke(&mut self, id: DetectionId, by: String) {
        self.revoked.entry(id).or_insert_with(|| by.clone());
        if let Some(item) = self.items.get(&id).cloned()
            && item.state != ItemState::Revoked
        {
            self.set(Item { state: ItemState::Revoked, revoked_by: Some(by), ..item });
        }
    }

    /// A report was confirmed: its items are in force, the items it revokes are withdrawn.
    pub fn confirm(&mut self, id: ReportId, record: &ReportRecord, confidence: u8) {
        for d in &record.report.revokes {
            self.revoke(*d, format!("report:{id}"));
        }
        for detection in &record.report.detection {
            let did = detection.id();
            if let Some(by) = self.revoked.get(&did).cloned() {
                // Listed, so `vigil rules list` shows why it does not fire.
                self.items.entry(did).or_insert_with(|| {
                    item(
                        detection,
                        Origin::Report { report: id },
                        ItemState::Revoked,
                        confidence,
                        record.report.severity,
                        Some(by),
                    )
                });
                continue;
            }
            if vigil_detect::shared::check(detection).is_err() {
                continue;
            }
            self.set(item(
                detection,
                Origin::Report { report: id },
                ItemState::InForce,
                confidence,
                record.report.severity,
                None,
            ));
        }
    }

    /// A report was rejected: the provisional items it carries are unloaded.
    pub fn reject(&mut self, record: &ReportRecord) {
        for detection in &record.report.detection {
            if let Some(i) = self.items.get(&detection.id()).cloned()
                && i.state == ItemState::Provisional
            {
                self.set(Item { state: ItemState::Rejected, ..i });
            }
        }
    }

    /// An executed proposal revoked `id`.
    pub fn revoked_by_proposal(&mut self, id: DetectionId, proposal: u64) {
        self.revoke(id, format!("proposal:{proposal}"));
    }

    /// A trusted monitor's alert: its items are loaded provisionally (an item already in force
    /// stays so; a revoked one stays revoked).
    pub fn provisional(&mut self, alert_id: AlertId, monitor: AccountId, alert: &Alert) {
        let origin = Origin::Alert { alert: alert_id, monitor };
        self.load_provisional(&origin, &alert.detection, alert.confidence, alert.severity);
    }

    /// Loads `items` provisionally at [`PROVISIONAL_CONFIDENCE_PCT`] of `confidence`.
    fn load_provisional(
        &mut self,
        origin: &Origin,
        items: &[Detection],
        confidence: u8,
        severity: Severity,
    ) {
        let pct = u32::from(confidence) * PROVISIONAL_CONFIDENCE_PCT / 100;
        let confidence = u8::try_from(pct).unwrap_or(100);
        for detection in items {
            let did = detection.id();
            let settled = self.items.get(&did).is_some_and(|i| i.state != ItemState::Provisional);
            if settled || self.revoked.contains_key(&did) {
                continue;
            }
            if let Err(e) = vigil_detect::shared::check(detection) {
                tracing::debug!(origin = %origin.label(), "detection content refused: {e}");
                continue;
            }
            let state = ItemState::Provisional;
            self.set(item(detection, origin.clone(), state, confidence, severity, None));
        }
    }
}

fn item(
    detection: &Detection,
    origin: Origin,
    state: ItemState,
    confidence: u8,
    severity: Severity,
    revoked_by: Option<String>,
) -> Item {
    Item {
        id: detection.id(),
        kind: detection.kind(),
        detection: detection.clone(),
        origin,
        state,
        confidence,
        severity,
        hits: 0,
        revoked_by,
    }
}

/// Whether `monitor`'s alerts may load content provisionally: it is this node, or a monitor
/// that some registered protocol's breaker policy authorises (it is slashed if the report its
/// fast-path alert opens is rejected).
pub fn trusted_monitor(state: &State, node: &AccountId, monitor: &AccountId) -> bool {
    monitor == node || state.protocols().any(|(_, p)| p.spec.policy.monitors.contains(monitor))
}

#[cfg(test)]
mod tests {
    use vigil_core::detection::{Flow, Step, Target};
    use vigil_core::{
        Amount, CallKind, Category, EvmAddress, EvmChainId, Fingerprint, Keypair, Report, TxRef,
    };
    use vigil_ledger::{ReportOrigin, Tally};

    use super::*;

    fn fingerprint(n: u8) -> Detection {
        let step = |depth| Step {
            kind: CallKind::Call,
            selector: Some(vigil_core::Selector([n, 1, 2, 3])),
            depth,
            target: Target::Other,
            ok: true,
            value: 0,
            flow: Flow::None,
        };
        Detection::Fingerprint(Fingerprint::new(vec![step(0), step(1), step(2), step(3)]))
    }

    fn record(
        detection: Vec<Detection>,
        revokes: Vec<DetectionId>,
        status: ReportStatus,
    ) -> ReportRecord {
        ReportRecord {
            report: Report {
                indicators: vec![],
                severity: Severity::Critical,
                category: Category::Exploit,
                summary: "drain".into(),
                evidence: vec![],
                affected_protocols: vec![],
                detection,
                revokes,
            },
            reporter: Keypair::from_seed(&[1; 32]).account_id(),
            bond: Amount::vgl(10),
            submitted_at: 1,
            deadline: 10,
            status,
            tally: Tally::default(),
            settlement: None,
            origin: ReportOrigin::Submitted,
        }
    }

    fn alert(detection: Vec<Detection>) -> Alert {
        Alert {
            detector: "pre-execution-drain".into(),
            severity: Severity::Critical,
            kind: vigil_core::AlertKind::Exploit,
            confidence: 80,
            tx: TxRef {
                chain: EvmChainId(1),
                hash: vigil_core::B256([7; 32]),
                from: EvmAddress([1; 20]),
                to: Some(EvmAddress([2; 20])),
                block: None,
            },
            addresses: vec![],
            indicators: vec![],
            labels: vec![],
            description: "drain".into(),
            time: 0,
            metadata: Default::default(),
            detection,
        }
    }

    fn book() -> DetectionBook {
        let (updates, _) = broadcast::channel(16);
        DetectionBook { items: BTreeMap::new(), revoked: BTreeMap::new(), updates }
    }

    #[test]
    fn a_trusted_alert_loads_provisionally_and_a_rejection_unloads_it() {
        let mut b = book();
        let mut changes = b.subscribe();
        let a = alert(vec![fingerprint(1)]);
        let monitor = Keypair::from_seed(&[2; 32]).account_id();
        b.provisional(a.id(), monitor, &a);
        let item = b.get(&fingerprint(1).id()).unwrap();
        assert_eq!((item.state, item.confidence), (ItemState::Provisional, 60));
        assert!(matches!(
            changes.try_recv().unwrap(),
            DetectionUpdate::Load { provenance: Provenance { provisional: true, .. }, .. }
        ));
        // The fast-path report of the alert carries the same item; it is rejected.
        b.reject(&record(vec![fingerprint(1)], vec![], ReportStatus::Rejected));
        assert_eq!(b.get(&fingerprint(1).id()).unwrap().state, ItemState::Rejected);
        assert_eq!(
            changes.try_recv().unwrap(),
            DetectionUpdate::Unload { id: fingerprint(1).id() }
        );
        assert!(b.loaded().is_empty());
    }

    #[test]
    fn a_confirmation_puts_items_in_force_and_withdraws_those_it_revokes() {
        let mut b = book();
        let r1 = record(vec![fingerprint(1), fingerprint(2)], vec![], ReportStatus::Confirmed);
        b.confirm(ContentIdOf::of(1), &r1, 70);
        assert_eq!(b.loaded().len(), 2);
        // A later report revokes one: it stops, and a rejection leaves in-force items alone.
        let r2 = record(vec![], vec![fingerprint(2).id()], ReportStatus::Confirmed);
        b.confirm(ContentIdOf::of(2), &r2, 70);
        assert_eq!(b.get(&fingerprint(2).id()).unwrap().state, ItemState::Revoked);
        b.reject(&record(vec![fingerprint(1)], vec![], ReportStatus::Rejected));
        assert_eq!(b.get(&fingerprint(1).id()).unwrap().state, ItemState::InForce);
        // A revoked item is not loaded again by a trusted alert.
        let a = alert(vec![fingerprint(2)]);
        b.provisional(a.id(), Keypair::from_seed(&[2; 32]).account_id(), &a);
        assert_eq!(b.get(&fingerprint(2).id()).unwrap().state, ItemState::Revoked);
        b.revoked_by_proposal(fingerprint(1).id(), 3);
        assert!(b.loaded().is_empty());
        assert_eq!(b.get(&fingerprint(1).id()).unwrap().revoked_by.as_deref(), Some("proposal:3"));
    }

    #[test]
    fn a_restart_loads_confirmed_items_and_those_of_undecided_fast_path_reports() {
        let node = Keypair::from_seed(&[1; 32]).account_id();
        let globals = vigil_ledger::Globals {
            chain_id: "vigil-itest".parse().unwrap(),
            treasury: Amount::ZERO,
            reward_pool: Amount::ZERO,
            total_bonded: Amount::ZERO,
            total_supply: Amount::ZERO,
            validator_candidates: Default::default(),
            validators: vec![],
            validators_since: 0,
            next_proposal: 1,
        };
        let mut state = State::new(vigil_ledger::Params::default(), globals);
        state.put_report(
            ContentIdOf::of(1),
            record(vec![fingerprint(1)], vec![], ReportStatus::Confirmed),
        );
        let pending = |n| ReportRecord {
            origin: ReportOrigin::FastPath {
                protocol: "vault".parse().unwrap(),
                alert: ContentIdOf::of(9),
            },
            ..record(vec![fingerprint(n)], vec![], ReportStatus::Open)
        };
        state.put_report(ContentIdOf::of(2), pending(2));
        state.put_report(
            ContentIdOf::of(3),
            ReportRecord { status: ReportStatus::Rejected, ..pending(3) },
        );
        // The reporter of the fast-path reports is this node: trusted.
        let b = DetectionBook::from_ledger(&state, 5, &node);
        let state_of = |n| b.get(&fingerprint(n).id()).map(|i| i.state);
        assert_eq!(state_of(1), Some(ItemState::InForce));
        assert_eq!(state_of(2), Some(ItemState::Provisional));
        assert_eq!(state_of(3), None, "a rejected fast-path report loads nothing");
        // Another node, which trusts no one, loads only the confirmed item.
        let other = Keypair::from_seed(&[5; 32]).account_id();
        let b = DetectionBook::from_ledger(&state, 5, &other);
        assert_eq!(b.loaded().len(), 1);
    }

    #[test]
    fn a_report_with_a_rule_file_that_does_not_compile_is_refused_before_the_mempool() {
        let key = Keypair::from_seed(&[3; 32]);
        let mut r = record(vec![], vec![], ReportStatus::Open).report;
        r.detection = vec![Detection::Rules {
            source: "[[rule]]\nname = \"x\"\nexpression = \"tx.value >\"\n".into(),
        }];
        let body = TxBody::SubmitReport { report: r, bond: Amount::vgl(10) };
        let tx = vigil_core::Tx {
            chain_id: "vigil-itest".parse().unwrap(),
            signer: key.account_id(),
            nonce: 0,
            body,
        };
        let signed = tx.sign(&key);
        let why = check_tx(&signed).unwrap_err().to_string();
        assert!(why.contains("rule \"x\""), "{why}");
    }

    /// Distinct report ids for the tests.
    struct ContentIdOf;

    impl ContentIdOf {
        fn of(n: u8) -> ReportId {
            vigil_core::ContentId([n; 32])
        }
    }
}

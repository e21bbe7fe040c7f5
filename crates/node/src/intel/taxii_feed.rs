//! Appends the ledger's intelligence to the TAXII collections as blocks commit, off the
//! consensus path: a task woken by the node's event stream reads each newly committed height's
//! events from the database and adds
//! - reports (each status change a new version) and opinions (attestations) to `reports`,
//! - the indicators of Confirmed reports, with their authors, to `indicators`,
//! - detector alerts (sightings) to `alerts`, through [`add_alert`].
//!
//! Invariants: every committed height is fed exactly once in effect — the task remembers the
//! last height it fed (table `intel_taxii_fed`) and catches up from there after a restart or
//! when it fell behind the event stream; adding an object already stored with the same id and
//! version changes nothing, so feeding a height twice is harmless. Objects carry block times,
//! so every node serves the same objects.

use std::sync::Arc;

use redb::{ReadableDatabase, TableDefinition};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use vigil_core::{AccountId, Alert};
use vigil_intel::Timestamp;
use vigil_intel::stix::extension::project_identity;
use vigil_intel::stix::{AlertMeta, StixObject, Tlp, alert_objects, extension_definition};
use vigil_ledger::{Event, ReportStatus};
use vigil_taxii::{TaxiiState, aliases, now_micros};

use super::IntelError;
use super::export::{BlockTimes, opinion_stix, report_stix, reputation};
use crate::app::{NodeEvent, NodeState};

const FED: TableDefinition<&str, u64> = TableDefinition::new("intel_taxii_fed");
const FED_KEY: &str = "height";
/// Heights fed without adding anything before the position is written anyway.
const SAVE_EVERY: u64 = 1_000;

fn db_err(e: impl std::fmt::Display) -> IntelError {
    IntelError::Db(e.to_string())
}

/// The collections the feed writes to (those of the configuration with the well-known
/// aliases; a collection left out of the configuration is not fed).
struct Targets {
    reports: Option<String>,
    indicators: Option<String>,
    alerts: Option<String>,
}

impl Targets {
    fn of(taxii: &TaxiiState) -> Self {
        let id = |alias: &str| taxii.config().collection(alias).map(|c| c.id.clone());
        Self {
            reports: id(aliases::REPORTS),
            indicators: id(aliases::INDICATORS),
            alerts: id(aliases::ALERTS),
        }
    }
}

fn add(
    taxii: &TaxiiState,
    collection: Option<&String>,
    objects: &[StixObject],
) -> Result<usize, IntelError> {
    match collection {
        Some(c) if !objects.is_empty() => Ok(taxii.store().add(c, objects, now_micros())?.new),
        _ => Ok(0),
    }
}

/// The objects every fed collection starts with: the TLP marking, Vigil's extension
/// definition and the project identity that defines it.
fn seed(taxii: &TaxiiState, tlp: Tlp) -> Result<(), IntelError> {
    let base = [tlp.marking_definition(), project_identity(), extension_definition()];
    let t = Targets::of(taxii);
    for c in [&t.reports, &t.indicators, &t.alerts] {
        add(taxii, c.as_ref(), &base)?;
    }
    Ok(())
}

fn fed_height(state: &NodeState) -> Result<u64, IntelError> {
    let txn = state.store.database().begin_read().map_err(db_err)?;
    match txn.open_table(FED) {
        Ok(t) => Ok(t.get(FED_KEY).map_err(db_err)?.map_or(0, |v| v.value())),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
        Err(e) => Err(db_err(e)),
    }
}

fn save_fed_height(state: &NodeState, height: u64) -> Result<(), IntelError> {
    let txn = state.store.database().begin_write().map_err(db_err)?;
    txn.open_table(FED).map_err(db_err)?.insert(FED_KEY, height).map_err(db_err)?;
    txn.commit().map_err(db_err)
}

/// Feeds one committed height's events; returns how many new objects were stored.
fn feed_height(
    state: &NodeState,
    taxii: &TaxiiState,
    targets: &Targets,
    tlp: Tlp,
    height: u64,
    times: &mut BlockTimes,
) -> Result<usize, IntelError> {
    let events = state.store.events(height).map_err(db_err)?.unwrap_or_default();
    let mut reports = Vec::new();
    let mut indicators = Vec::new();
    for event in &events {
        match event {
            Event::ReportSubmitted { report, reporter, .. } => {
                let Some(record) = state.ledger.read().report(report).cloned() else { continue };
                let t = times.at(&state.store, height);
                let confidence = reputation(state, reporter);
                reports.extend(report_stix(
                    report,
                    &record,
                    ReportStatus::Open,
                    t,
                    t,
                    confidence,
                    tlp,
                ));
            }
            Event::Attested { report, attester, stance, stake, .. } => {
                let t = times.at(&state.store, height);
                let confidence = reputation(state, attester);
                reports
                    .extend(opinion_stix(*report, *attester, *stance, *stake, t, confidence, tlp));
            }
            Event::Verdict { report, status, .. } => {
                let Some(record) = state.ledger.read().report(report).cloned() else { continue };
                let published = times.at(&state.store, record.submitted_at);
                let t = times.at(&state.store, height);
                let confidence = reputation(state, &record.reporter);
                let objects = report_stix(report, &record, *status, published, t, confidence, tlp);
                if *status == ReportStatus::Confirmed {
                    indicators.extend(
                        objects
                            .iter()
                            .filter(|o| matches!(o.object_type(), "indicator" | "identity"))
                            .cloned(),
                    );
                }
                reports.extend(objects);
            }
            _ => {}
        }
    }
    Ok(add(taxii, targets.reports.as_ref(), &reports)?
        + add(taxii, targets.indicators.as_ref(), &indicators)?)
}

/// Feeds every committed height after the last one fed; returns the height reached.
pub fn catch_up(state: &NodeState) -> Result<u64, IntelError> {
    let Some(taxii) = state.intel.taxii() else { return Ok(0) };
    let tlp = state.intel.config().tlp;
    let targets = Targets::of(taxii);
    let mut fed = fed_height(state)?;
    let mut saved = fed;
    let committed = state.ledger.read().height();
    let mut times = BlockTimes::default();
    while fed < committed {
        let height = fed + 1;
        let new = feed_height(state, taxii, &targets, tlp, height, &mut times)?;
        fed = height;
        if new > 0 || fed - saved >= SAVE_EVERY {
            save_fed_height(state, fed)?;
            saved = fed;
        }
    }
    Ok(fed)
}

/// Adds a detector alert to the `alerts` collection as STIX sightings (with the indicators it
/// matched and the raising node's identity), seen at the alert's `time`. `raised_by` is the
/// alert's signer. Returns how many objects were new.
///
/// This is the hook for the alert pipeline: call it (off the hot path, e.g. from the task that
/// receives `NodeEvent` alerts, in `spawn_blocking`) for each signed alert the node raises or
/// receives.
pub fn add_alert(
    state: &NodeState,
    alert: &Alert,
    raised_by: AccountId,
) -> Result<usize, IntelError> {
    let seen = Timestamp(alert.time);
    let Some(taxii) = state.intel.taxii() else { return Ok(0) };
    let tlp = state.intel.config().tlp;
    let objects =
        alert_objects(alert, &AlertMeta { raised_by, seen, tlp, wallet_convention: true });
    add(taxii, Targets::of(taxii).alerts.as_ref(), &objects)
}

async fn blocking<T: Send + 'static>(
    state: &Arc<NodeState>,
    f: impl FnOnce(&NodeState) -> Result<T, IntelError> + Send + 'static,
) -> Result<T, IntelError> {
    let s = Arc::clone(state);
    tokio::task::spawn_blocking(move || f(&s))
        .await
        .unwrap_or_else(|e| Err(IntelError::Db(format!("feed task failed: {e}"))))
}

/// Runs the feed until `shutdown`: seeds the collections, catches up, then feeds each new
/// height when the event stream announces a block (or says it dropped events).
pub async fn run(state: Arc<NodeState>, shutdown: CancellationToken) {
    let mut events = state.events.subscribe();
    let tlp = state.intel.config().tlp;
    let seeded = blocking(&state, move |s| match s.intel.taxii() {
        Some(t) => seed(t, tlp),
        None => Ok(()),
    })
    .await;
    if let Err(e) = seeded {
        tracing::warn!(error = %e, "TAXII feed: cannot seed the collections");
    }
    loop {
        match blocking(&state, catch_up).await {
            Ok(height) => tracing::debug!(height, "TAXII feed caught up"),
            Err(e) => tracing::warn!(error = %e, "TAXII feed: will retry at the next block"),
        }
        // Wait for the next block (any block: the catch-up reads what it needs from the
        // database, so nothing is lost if the stream drops events).
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                event = events.recv() => match event {
                    Ok(NodeEvent::Block { .. }) | Err(RecvError::Lagged(_)) => break,
                    // Alerts, this node's and those gossiped to it, become sightings.
                    Ok(NodeEvent::Alert { alert, .. }) => {
                        let state = Arc::clone(&state);
                        let added = tokio::task::spawn_blocking(move || add_alert(&state, &alert.payload, alert.signer)).await;
                        if let Ok(Err(e)) = added {
                            tracing::warn!("TAXII alerts collection: {e}");
                        }
                    }
                    Ok(_) => {}
                    Err(RecvError::Closed) => return,
                },
            }
        }
    }
}

/// Starts the background work of the node's intelligence (the TAXII feed from the ledger).
pub fn spawn(state: &Arc<NodeState>, shutdown: CancellationToken) {
    if state.intel.taxii().is_some() {
        tokio::spawn(run(Arc::clone(state), shutdown));
    }
}

#[cfg(test)]
mod tests {
    use vigil_core::{AlertKind, Amount, Keypair, Severity, TxRef};
    use vigil_ledger::{Genesis, GenesisAccount, Ledger};
    use vigil_taxii::Query;

    use super::*;
    use crate::intel::IntelConfig;
    use crate::mempool::Mempool;
    use crate::store::RedbStore;

    fn node(dir: &std::path::Path) -> Arc<NodeState> {
        let key = Keypair::from_seed(&[7; 32]);
        let genesis = Genesis {
            chain_id: "vigil-feed".parse().unwrap(),
            genesis_time: 0,
            params: Default::default(),
            treasury: Amount::vgl(1),
            reward_pool: Amount::ZERO,
            accounts: vec![GenesisAccount {
                account: key.account_id(),
                balance: Amount::vgl(100),
                bonded: Amount::vgl(1),
                validator: true,
            }],
        };
        let ledger =
            Ledger::open(RedbStore::open(&dir.join("db.redb")).unwrap(), &genesis).unwrap();
        let state = NodeState::new(ledger, Mempool::new(10, 1 << 20), key.account_id());
        let intel = IntelConfig::default().resolved(dir);
        let taxii = vigil_taxii::TaxiiConfig::default();
        crate::intel::service::open(&state, &intel, &taxii).unwrap();
        state
    }

    #[test]
    fn alerts_become_sightings_once_and_reports_are_fed_from_committed_heights() {
        let dir = tempfile::tempdir().unwrap();
        let state = node(dir.path());
        let taxii = state.intel.taxii().unwrap();
        seed(taxii, Tlp::Clear).unwrap();
        let alert = Alert {
            detector: "flash-loan-exploit".into(),
            severity: Severity::Critical,
            kind: AlertKind::Exploit,
            confidence: 90,
            tx: TxRef {
                chain: vigil_core::EvmChainId::MAINNET,
                hash: vigil_core::B256([3; 32]),
                from: vigil_core::EvmAddress([4; 20]),
                to: None,
                block: Some(1),
            },
            addresses: vec![vigil_core::EvmAddress([4; 20])],
            indicators: vec![vigil_core::Indicator::address(vigil_core::EvmAddress([4; 20]))],
            labels: vec!["attacker".into()],
            description: "flash loan drained the pool".into(),
            time: 1_767_225_600,
            metadata: Default::default(),
            detection: Vec::new(),
        };
        let signer = Keypair::from_seed(&[8; 32]).account_id();
        let new = add_alert(&state, &alert, signer).unwrap();
        assert_eq!(new, 3, "identity, indicator, sighting");
        assert_eq!(add_alert(&state, &alert, signer).unwrap(), 0);
        let alerts = vigil_taxii::default_collection_id(aliases::ALERTS);
        let page = taxii.store().query(&alerts, &Query::latest(100), true).unwrap();
        let types: Vec<String> = page
            .records
            .iter()
            .map(|r| {
                let v: serde_json::Value =
                    serde_json::from_str(r.object.as_ref().unwrap().get()).unwrap();
                v["type"].as_str().unwrap().to_owned()
            })
            .collect();
        assert!(types.contains(&"sighting".to_owned()), "{types:?}");
        assert!(types.contains(&"marking-definition".to_owned()), "{types:?}");

        // A committed report reaches the `reports` collection; the position is kept, so the
        // next catch-up starts after it and adds nothing twice.
        assert_eq!(catch_up(&state).unwrap(), 0);
        let reporter = Keypair::from_seed(&[7; 32]);
        let report = vigil_core::Report {
            indicators: vec![vigil_core::Indicator::address(vigil_core::EvmAddress([9; 20]))],
            severity: Severity::High,
            category: vigil_core::Category::Exploit,
            summary: "drainer".into(),
            evidence: vec![],
            affected_protocols: vec![],
            detection: Vec::new(),
            revokes: Vec::new(),
        };
        let tx = vigil_core::Tx {
            chain_id: state.chain_id.clone(),
            signer: reporter.account_id(),
            nonce: 0,
            body: vigil_core::TxBody::SubmitReport {
                report: report.clone(),
                bond: Amount::vgl(10),
            },
        }
        .sign(&reporter);
        let mut app = crate::consensus::NodeApp(Arc::clone(&state));
        let last = state.ledger.read().last_commit();
        let block = vigil_core::Block {
            height: 1,
            time: 1_767_225_700,
            proposer: reporter.account_id(),
            parent: last.block_hash,
            txs: vec![tx],
        };
        vigil_net::ConsensusApp::commit_block(&mut app, &block, &[]).unwrap();
        let ok = state.store.results(1).unwrap().unwrap();
        assert!(ok[0].outcome.is_ok(), "{ok:?}");
        assert_eq!(catch_up(&state).unwrap(), 1);
        assert_eq!(fed_height(&state).unwrap(), 1);
        let reports = vigil_taxii::default_collection_id(aliases::REPORTS);
        let report_stix = vigil_intel::stix::report_id(&report.id());
        let mut q = Query::latest(100);
        q.ids = vec![report_stix];
        let page = taxii.store().query(&reports, &q, true).unwrap();
        assert_eq!(page.records.len(), 1);
        let obj: serde_json::Value =
            serde_json::from_str(page.records[0].object.as_ref().unwrap().get()).unwrap();
        assert_eq!(obj["published"], "2026-01-01T00:01:40.000Z");
        save_fed_height(&state, 0).unwrap();
        assert_eq!(catch_up(&state).unwrap(), 1, "feeding a height again is harmless");
        let all = taxii.store().query(&reports, &Query::latest(100), false).unwrap();
        assert_eq!(all.records.iter().filter(|r| r.id.starts_with("report--")).count(), 1);
    }
}

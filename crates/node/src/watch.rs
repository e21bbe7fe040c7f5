//! The node's eyes: an EVM monitor (`[watch]`) whose detection index is fed from the ledger's
//! confirmed reports, and whose alerts the node signs, announces on its event stream, and — for
//! protocols that name this node an authorised monitor — acts on at once: the pause goes to the
//! on-chain executor and a fast-path trip goes to the ledger, without waiting for a block. What
//! the monitor reports about itself (its call-trace source) goes to the node's status and
//! metrics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vigil_chain::{CursorStore, FileCursorStore, Monitor, MonitorConfig, MonitorError};
use vigil_core::{Alert, Keypair, ProtocolId, Signed, Tx, TxBody};
use vigil_detect::{EngineUpdate, IndicatorIndex, IndicatorMeta, IndicatorUpdate};
use vigil_ledger::{Event, ReportRecord, ReportStatus};

use crate::app::{NodeEvent, NodeState, WatchStatus};
use crate::immunity::reporter_confidence;
use crate::intel::{FeedEntries, Intel, feed_updates};
use crate::respond::{Incident, Outbid, PolicyEngine};

/// The detection-index entries a confirmed report stands for.
fn report_entries(
    id: &vigil_core::ReportId,
    r: &ReportRecord,
    confidence: u8,
) -> Vec<IndicatorUpdate> {
    let meta = IndicatorMeta {
        confidence,
        source: format!("ledger:{id}"),
        label: Some(r.report.summary.chars().take(80).collect()),
        category: Some(r.report.category),
    };
    r.report
        .indicators
        .iter()
        .map(|i| IndicatorUpdate::Upsert { indicator: i.clone(), meta: meta.clone() })
        .collect()
}

/// A fresh index: the imported feeds' active indicators (`feed`, what the book holds now) and
/// every confirmed report's.
fn initial_index(state: &NodeState, feed: &FeedEntries) -> IndicatorIndex {
    let mut index = Intel::detection_index(feed);
    let ledger = state.ledger.read();
    let height = ledger.height();
    for (id, r) in ledger.state().reports().filter(|(_, r)| r.status == ReportStatus::Confirmed) {
        let confidence = reporter_confidence(ledger.state(), height, &r.reporter);
        for update in report_entries(id, r, confidence) {
            if let IndicatorUpdate::Upsert { indicator, meta } = update {
                // An indicator the detectors cannot use (a domain) is skipped, not an error.
                let _ = index.insert(&indicator, &meta);
            }
        }
    }
    index
}

/// How often the feed entries of the running index are re-scored: confidences decay and
/// entries expire with time, not only when a feed is imported.
const FEED_REFRESH: Duration = Duration::from_secs(60);

/// Runs the monitor until `shutdown`. `key` signs alerts and fast-path transactions.
pub async fn run(
    state: Arc<NodeState>,
    config: MonitorConfig,
    key: Keypair,
    engine: Arc<PolicyEngine>,
    shutdown: CancellationToken,
) -> Result<(), MonitorError> {
    let cursor = config
        .cursor_file
        .as_ref()
        .map(|p| Arc::new(FileCursorStore::new(p)) as Arc<dyn CursorStore>);
    let (updates_tx, updates_rx) = mpsc::channel::<EngineUpdate>(4_096);
    let updates_tx_feed = updates_tx.clone();
    let updates_tx_shared = updates_tx.clone();
    let mut feed_sent = state.intel.detection_entries(crate::intel::now());
    let monitor = Monitor::connect_with(&config, cursor)
        .await?
        .with_indicators(initial_index(&state, &feed_sent))
        .with_updates(updates_rx);

    // Shared fingerprints and rules: those in force now, then every change, in order (the
    // snapshot and the subscription are taken under one lock, so none is missed or doubled).
    let shared = {
        let (loaded, mut changes) = {
            let book = state.immunity.lock();
            (book.loaded(), book.subscribe())
        };
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            for u in loaded {
                if updates_tx_shared.send(u.into()).await.is_err() {
                    return;
                }
            }
            loop {
                let u = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    u = changes.recv() => u,
                };
                match u {
                    Ok(u) => {
                        if updates_tx_shared.send(u.into()).await.is_err() {
                            return;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "shared detection updates lagged");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        })
    };

    // Pre-execution's counters, in the metrics.
    let simulations = monitor.pre_execution_stats().map(|stats| {
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let mut last = [0u64; 6];
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let now = [
                    stats.simulated.load(std::sync::atomic::Ordering::Relaxed),
                    stats.reverted.load(std::sync::atomic::Ordering::Relaxed),
                    stats.failed_state.load(std::sync::atomic::Ordering::Relaxed),
                    stats.failed_invalid.load(std::sync::atomic::Ordering::Relaxed),
                    stats.failed_timeout.load(std::sync::atomic::Ordering::Relaxed),
                    stats.overloaded.load(std::sync::atomic::Ordering::Relaxed),
                ];
                let names = [
                    "simulated",
                    "reverted",
                    "failed_state",
                    "failed_invalid",
                    "failed_timeout",
                    "overloaded",
                ];
                for ((name, now), last) in names.iter().zip(now).zip(last.iter_mut()) {
                    let labels = crate::metrics::RejectLabels { reason: (*name).into() };
                    state
                        .metrics
                        .watch_simulations
                        .get_or_create(&labels)
                        .inc_by(now.saturating_sub(*last));
                    *last = now;
                }
            }
        })
    });

    // The call-trace source, in the status and metrics once the block collector has probed.
    *state.watch.write() = Some(WatchStatus::default());
    let report = {
        let state = Arc::clone(&state);
        let mut source = monitor.trace_source();
        tokio::spawn(async move {
            loop {
                if let Some(s) = *source.borrow_and_update() {
                    state.metrics.set_trace_source(s);
                    *state.watch.write() = Some(WatchStatus { trace_source: Some(s) });
                }
                if source.changed().await.is_err() {
                    return;
                }
            }
        })
    };

    // New verdicts reach the running detectors between transactions.
    let feed = {
        let state = Arc::clone(&state);
        let mut events = state.events.subscribe();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    e = events.recv() => e,
                };
                let Ok(NodeEvent::Ledger {
                    event: Event::Verdict { report, status: ReportStatus::Confirmed, .. },
                    ..
                }) = event
                else {
                    continue;
                };
                let updates = {
                    let ledger = state.ledger.read();
                    let Some(r) = ledger.report(&report) else { continue };
                    let confidence =
                        reporter_confidence(ledger.state(), ledger.height(), &r.reporter);
                    report_entries(&report, r, confidence)
                };
                for u in updates {
                    if updates_tx.send(u.into()).await.is_err() {
                        return;
                    }
                }
            }
        })
    };

    // A feed import reaches the running detectors too, and so does time: decayed confidences
    // are updated and expired entries removed.
    let imports = {
        let state = Arc::clone(&state);
        let updates = updates_tx_feed;
        let mut changes = state.intel.changes();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let mut refresh = tokio::time::interval(FEED_REFRESH);
            refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            refresh.reset();
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    changed = changes.changed() => if changed.is_err() { return },
                    _ = refresh.tick() => {}
                }
                // Re-scoring a large book takes milliseconds: off the async workers.
                let old = std::mem::take(&mut feed_sent);
                let intel = Arc::clone(&state);
                let Ok((now, sent)) = tokio::task::spawn_blocking(move || {
                    let now = intel.intel.detection_entries(crate::intel::now());
                    let sent = feed_updates(&old, &now);
                    (now, sent)
                })
                .await
                else {
                    return;
                };
                if !sent.is_empty() {
                    tracing::debug!(updates = sent.len(), "feed entries of the detection index");
                }
                for u in sent {
                    if updates.send(u.into()).await.is_err() {
                        return;
                    }
                }
                feed_sent = now;
            }
        })
    };

    let (alerts_tx, mut alerts_rx) = mpsc::channel::<Alert>(1_024);
    let handler = {
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            while let Some(alert) = alerts_rx.recv().await {
                let signed = on_alert(&state, &key, &engine, alert, Instant::now());
                // Other nodes hear of it within milliseconds (their policies may act on it).
                if let Some(gossip) = state.net.gossip.get()
                    && let Err(e) = gossip.publish_alert(signed).await
                {
                    tracing::debug!("alert not gossiped: {e}");
                }
            }
        })
    };
    let stop = shutdown.clone();
    let stats = monitor.run(alerts_tx, async move { stop.cancelled().await }).await;
    feed.abort();
    imports.abort();
    shared.abort();
    report.abort();
    if let Some(s) = simulations {
        s.abort();
    }
    *state.watch.write() = None;
    let _ = handler.await;
    let stats = stats?;
    tracing::info!(
        blocks = stats.blocks,
        pending = stats.pending,
        alerts = stats.alerts,
        "monitor stopped"
    );
    Ok(())
}

/// Why this node trips a breaker on the fast path, for its executors and people: the alert,
/// and for a pre-executed pending transaction the evidence (the pending transaction, the hash
/// of its simulated trace, the predicted loss per asset).
fn trip_reason(alert: &Alert) -> serde_json::Value {
    let mut reason = serde_json::json!({
        "type": "fast_path",
        "alert": alert.id(),
        "detector": alert.detector,
    });
    if alert.metadata.get("pre_execution").map(String::as_str) == Some("true") {
        let losses: serde_json::Map<String, serde_json::Value> = alert
            .metadata
            .iter()
            .filter_map(|(k, v)| {
                Some((k.strip_prefix("predicted_loss.")?.to_owned(), v.clone().into()))
            })
            .collect();
        reason["pre_execution"] = true.into();
        reason["pending_tx"] = alert.tx.hash.to_string().into();
        reason["simulated_trace"] = alert.metadata.get("simulated_trace").cloned().into();
        reason["predicted_loss"] = losses.into();
    }
    reason
}

/// Signs and announces an alert, and acts on the fast path where this node is a monitor.
/// Returns the signed alert.
fn on_alert(
    state: &NodeState,
    key: &Keypair,
    engine: &PolicyEngine,
    alert: Alert,
    detected_at: Instant,
) -> Signed<Alert> {
    state.metrics.alerts.inc();
    if let Some(id) = alert.metadata.get("detection").and_then(|d| d.parse().ok()) {
        state.immunity.lock().hit(&id);
        state.metrics.detection_hits.inc();
    }
    let signed = Signed::sign(alert, state.chain_id.clone(), key);
    let me = key.account_id();
    // Protocols that authorise this node and whose policy the alert meets.
    let targets: Vec<(ProtocolId, vigil_ledger::ProtocolRecord)> = {
        let ledger = state.ledger.read();
        ledger
            .state()
            .protocols()
            .filter(|(_, p)| p.spec.policy.monitors.contains(&me) && !p.breaker.is_tripped())
            .filter(|(_, p)| vigil_ledger::alert_meets_policy(&p.spec, &signed.payload).is_ok())
            .map(|(id, p)| (id.clone(), p.clone()))
            .collect()
    };
    let height = state.ledger.read().height().saturating_add(1);
    for (protocol, record) in targets {
        // 1. Pause on chain now; the ledger's trip event a block later is the same incident,
        // and so is a second alert about the same attack (pending, then mined).
        let first = engine.dispatch(Incident::BreakerTripped {
            protocol: protocol.clone(),
            trip: record.trips.saturating_add(1),
            reason: trip_reason(&signed.payload),
            action: record.spec.policy.action.clone(),
            chain: record.spec.chain,
            height,
            detected_at: Some(detected_at),
            outbid: Outbid::of(&signed.payload),
        });
        if first.is_none() {
            continue;
        }
        // 2. Record the trip on the ledger: the alert stakes this node's reputation and bond.
        let tx = Tx {
            chain_id: state.chain_id.clone(),
            signer: me,
            nonce: state.next_nonce(&me),
            body: TxBody::FastPathTrip {
                protocol: protocol.clone(),
                alert: Box::new(signed.clone()),
            },
        }
        .sign(key);
        match state.submit(tx) {
            Ok(id) => {
                tracing::warn!(%protocol, tx = %id, detector = %signed.payload.detector, "fast-path trip submitted")
            }
            Err(e) => tracing::warn!(%protocol, "fast-path trip refused: {e}"),
        }
    }
    state.announce_alert(signed.payload.id(), crate::respond::LOCAL.into(), signed.clone());
    signed
}

//! Gossip propagation across 10 in-process nodes on loopback: the time from `publish` at one
//! node until each other node has validated and received the alert. Criterion times a whole
//! propagation (until the last node has it); the per-node latencies of every message are also
//! collected and their p50/p99 printed at the end.
//!
//! `cargo bench -p vigil-net --bench gossip`

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vigil_core::{
    Alert, AlertKind, B256, ChainId, EvmAddress, EvmChainId, Keypair, Severity, Signed, TxRef,
};
use vigil_net::gossip::{Gossip, GossipConfig, GossipKind, GossipMessage, Received};

const NODES: usize = 10;

fn chain() -> ChainId {
    "vigil-bench".parse().unwrap()
}

fn alert(n: u64) -> Alert {
    Alert {
        detector: "flash-loan-exploit".into(),
        severity: Severity::Critical,
        kind: AlertKind::Exploit,
        confidence: 95,
        tx: TxRef {
            chain: EvmChainId::MAINNET,
            hash: B256(*blake3::hash(&n.to_le_bytes()).as_bytes()),
            from: EvmAddress([1; 20]),
            to: Some(EvmAddress([2; 20])),
            block: None,
        },
        addresses: vec![EvmAddress([3; 20]), EvmAddress([4; 20])],
        indicators: vec![],
        labels: vec!["pending".into()],
        description: "price manipulation through a flash loan in the pending transaction".into(),
        time: 0,
        metadata: Default::default(),
        detection: Vec::new(),
    }
}

/// Ten nodes; node i dials node i−1 and node i/2, so messages take several hops.
async fn network(shutdown: &CancellationToken) -> (Vec<Gossip>, Vec<mpsc::Receiver<Received>>) {
    let mut handles: Vec<Gossip> = Vec::new();
    let mut inboxes = Vec::new();
    for i in 0..NODES {
        let mut bootstrap = Vec::new();
        if i > 0 {
            bootstrap.extend(handles[i - 1].listen_addrs().iter().cloned());
            if i / 2 != i - 1 {
                bootstrap.extend(handles[i / 2].listen_addrs().iter().cloned());
            }
        }
        let config = GossipConfig {
            bootstrap,
            heartbeat: Duration::from_millis(200),
            ..GossipConfig::new(chain())
        };
        let key = Keypair::from_seed(&[i as u8 + 1; 32]);
        let (g, inbox) = Gossip::start(config, &key, shutdown.clone()).await.unwrap();
        handles.push(g);
        inboxes.push(inbox);
    }
    // Meshes form on heartbeats; wait until every node has mesh peers.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut ready = true;
        for g in &handles {
            ready &= !g.mesh_peers(GossipKind::Alert).await.unwrap().is_empty();
        }
        if ready {
            break;
        }
        assert!(Instant::now() < deadline, "gossip meshes did not form");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    (handles, inboxes)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn propagation(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let shutdown = CancellationToken::new();
    let (handles, inboxes) = rt.block_on(network(&shutdown));
    let inboxes = Arc::new(tokio::sync::Mutex::new(inboxes));
    let author = Keypair::from_seed(&[200; 32]);
    let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let mut n = 0u64;
    c.bench_function("gossip/alert_to_all_10_nodes", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                let mut inboxes = inboxes.lock().await;
                for _ in 0..iters {
                    n += 1;
                    let message = GossipMessage::Alert(Signed::sign(alert(n), chain(), &author));
                    let publisher = (n as usize) % NODES;
                    let start = Instant::now();
                    let id = handles[publisher].publish(&message).await.unwrap();
                    let mut last = Duration::ZERO;
                    for (i, inbox) in inboxes.iter_mut().enumerate() {
                        if i == publisher {
                            continue;
                        }
                        let got = tokio::time::timeout(Duration::from_secs(5), inbox.recv())
                            .await
                            .expect("propagated within 5 s")
                            .unwrap();
                        assert_eq!(got.id, id);
                        let latency = got.received_at.saturating_duration_since(start);
                        latencies.lock().unwrap().push(latency);
                        last = last.max(latency);
                    }
                    total += last;
                }
                total
            })
        })
    });
    let mut all = latencies.lock().unwrap().clone();
    all.sort();
    if !all.is_empty() {
        eprintln!(
            "gossip per-node latency over {} deliveries: p50 {:?}, p99 {:?}, max {:?}",
            all.len(),
            percentile(&all, 0.50),
            percentile(&all, 0.99),
            all[all.len() - 1]
        );
    }
    shutdown.cancel();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(10));
    targets = propagation
}
criterion_main!(benches);

//! Pending transaction → alert latency, inside the process: from the moment a transaction
//! object arrives from the node's subscription (the step `collector::pump` performs) through
//! the event channel, conversion, every detector (1M indicators, the attack's fresh contract
//! known), to the alert sink.
//!
//! The engine is warmed with the recorded attack (testdata/attack.json); the measured
//! transaction is the recorded pending `attack()` call, which the fresh-attacker-contract
//! detector flags (cooldown off, so every one alerts). `quiet` measures one at a time;
//! `behind-burst` sends 100 ordinary pending transactions just before each measured one.
//!
//! `cargo bench -p vigil-chain --bench latency`

use std::time::{Duration, Instant};

use alloy::rpc::types::Transaction as RpcTransaction;
use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use vigil_chain::collector::{ChainEvent, Collector, pump};
use vigil_chain::{Monitor, Recorded, Recording};
use vigil_core::{Alert, EvmAddress, EvmChainId, Indicator};
use vigil_detect::config::ProtectedContract;
use vigil_detect::{DetectConfig, Engine, IndicatorIndex, IndicatorMeta, RuleSet};

/// Pending transactions pushed in by the benchmark, pumped like a subscription's.
struct Feed(mpsc::UnboundedReceiver<RpcTransaction>);

impl Collector for Feed {
    fn name(&self) -> &'static str {
        "bench-feed"
    }

    fn run(
        self: Box<Self>,
        out: mpsc::Sender<ChainEvent>,
    ) -> BoxFuture<'static, vigil_chain::Result<()>> {
        async move {
            let stream = futures_util::stream::unfold(self.0, |mut rx| async move {
                rx.recv().await.map(|t| (t, rx))
            });
            pump(Box::pin(stream), &out).await
        }
        .boxed()
    }
}

/// Replays the recorded blocks into the engine so the attacker's contract is known.
struct Blocks(Vec<Recorded>);

impl Collector for Blocks {
    fn name(&self) -> &'static str {
        "bench-blocks"
    }

    fn run(
        self: Box<Self>,
        out: mpsc::Sender<ChainEvent>,
    ) -> BoxFuture<'static, vigil_chain::Result<()>> {
        async move {
            for r in self.0 {
                if let Recorded::Block(raw) = r {
                    out.send(ChainEvent::Block { raw, cursor: None })
                        .await
                        .map_err(|_| vigil_chain::ChainError::Closed)?;
                }
            }
            // Stay alive so the monitor keeps running.
            std::future::pending::<()>().await;
            Ok(())
        }
        .boxed()
    }
}

fn index() -> IndicatorIndex {
    let mut idx = IndicatorIndex::with_capacity(1_000_000);
    let mut s = 0x1234_5678_u64;
    while idx.len() < 1_000_000 {
        let mut a = [0u8; 20];
        for b in a.iter_mut() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            *b = s as u8;
        }
        idx.insert(
            &Indicator::address(EvmAddress(a)),
            &IndicatorMeta::new(70, "feed:bench").with_label("bench"),
        )
        .unwrap();
    }
    idx
}

struct Pipeline {
    feed: mpsc::UnboundedSender<RpcTransaction>,
    alerts: mpsc::UnboundedReceiver<Alert>,
    attack: RpcTransaction,
    ordinary: RpcTransaction,
}

async fn pipeline() -> Pipeline {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/attack.json");
    let recording = Recording::read(&path).expect("fixture");
    let pending: Vec<RpcTransaction> = recording
        .events
        .iter()
        .filter_map(|e| match e {
            Recorded::Pending { tx, .. } => Some((**tx).clone()),
            Recorded::Block(_) => None,
        })
        .collect();
    // Recorded order: the Attacker deployment (a creation: nothing to flag), the proposal, the attack.
    let ordinary = pending[0].clone();
    let attack = pending[2].clone();
    let config = DetectConfig {
        protected: vec![ProtectedContract {
            name: "LendingVault".into(),
            address: "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9".parse().unwrap(),
            max_loss_bps: None,
        }],
        cooldown_secs: Some(0),
        ..DetectConfig::default()
    };
    let engine = Engine::new(&config, RuleSet::empty()).with_indicators(index());
    let (feed, rx) = mpsc::unbounded_channel();
    let blocks = Blocks(recording.events);
    let monitor = Monitor::new(
        EvmChainId(recording.chain_id),
        engine,
        vec![Box::new(blocks), Box::new(Feed(rx))],
    );
    let (sink, mut alerts) = mpsc::unbounded_channel();
    tokio::spawn(monitor.run(sink, std::future::pending::<()>()));
    // Warm-up: wait until the recorded blocks are in (the creation alert arrives), then drain.
    let first = alerts.recv().await.expect("creation alert");
    assert_eq!(first.detector, "fresh-attacker-contract");
    tokio::time::sleep(Duration::from_millis(200)).await;
    while alerts.try_recv().is_ok() {}
    Pipeline { feed, alerts, attack, ordinary }
}

impl Pipeline {
    /// Sends `burst` ordinary transactions then the attack; returns the attack's latency.
    async fn one(&mut self, burst: usize) -> Duration {
        for _ in 0..burst {
            self.feed.send(self.ordinary.clone()).unwrap();
        }
        let tx = self.attack.clone();
        let start = Instant::now();
        self.feed.send(tx).unwrap();
        loop {
            let alert = self.alerts.recv().await.expect("alert");
            if alert.detector == "fresh-attacker-contract" && alert.tx.block.is_none() {
                return start.elapsed();
            }
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut p = rt.block_on(pipeline());
    let mut group = c.benchmark_group("pending-to-alert");
    for (name, burst) in [("quiet", 0usize), ("behind-burst-100", 100)] {
        // Percentiles over 10,000 samples (criterion reports mean and median).
        let mut samples: Vec<Duration> = rt.block_on(async {
            let mut v = Vec::with_capacity(10_000);
            for _ in 0..10_000 {
                v.push(p.one(burst).await);
            }
            v
        });
        samples.sort();
        eprintln!(
            "pending-to-alert/{name}: p50 {:?}  p90 {:?}  p99 {:?}  p99.9 {:?}  max {:?}  (10,000 samples)",
            percentile(&samples, 0.50),
            percentile(&samples, 0.90),
            percentile(&samples, 0.99),
            percentile(&samples, 0.999),
            samples[samples.len() - 1]
        );
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += p.one(burst).await;
                    }
                    total
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

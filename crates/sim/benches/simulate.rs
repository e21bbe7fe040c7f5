//! Simulated blocks per second: one run of each shipped scenario (1,000 blocks, sharing on,
//! sampling on), on one core. Every block is signed, finalized and committed by the real ledger.
//!
//!     cargo bench -p vigil-sim --bench simulate

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vigil_sim::{RunSettings, Scenario, run_once};

const BLOCKS: u64 = 1_000;

fn scenarios(c: &mut Criterion) {
    let mut group = c.benchmark_group("simulate");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BLOCKS));
    for (name, text) in vigil_sim::SHIPPED {
        let mut scenario = Scenario::from_toml(text).expect("shipped scenario");
        scenario.blocks = BLOCKS;
        let settings = RunSettings { sharing: Some(scenario.sharing.latency), sample: true };
        // Transactions per block, for BENCHMARKS.md.
        let (m, _) = run_once(&scenario, scenario.seed, settings, |_| {}).expect("run");
        eprintln!("{name}: {} transactions in {BLOCKS} blocks", m.txs);
        group.bench_function(name, |b| {
            b.iter(|| run_once(&scenario, scenario.seed, settings, |_| {}).expect("run"))
        });
    }
    group.finish();
}

criterion_group!(benches, scenarios);
criterion_main!(benches);

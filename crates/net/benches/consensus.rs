//! Blocks per second of 4 Malachite validators in one process on loopback, each with an
//! in-memory app, proposing empty blocks as fast as the network allows (no target block time).
//! Criterion times `iters` consecutive heights on the slowest validator.
//!
//! `cargo bench -p vigil-net --bench consensus`

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tokio_util::sync::CancellationToken;
use vigil_core::{AccountId, ChainId, Keypair};
use vigil_net::bft::{BftConfig, BftDriver};
use vigil_net::memory::MemoryApp;
use vigil_net::{ConsensusApp, ConsensusDriver};

fn chain() -> ChainId {
    "vigil-bench".parse().unwrap()
}

fn min_height(apps: &[MemoryApp]) -> u64 {
    apps.iter().map(|a| a.last_commit().height).min().unwrap_or(0)
}

fn blocks(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<Keypair> = (1..=4).map(|i| Keypair::from_seed(&[i; 32])).collect();
    let set: Vec<(AccountId, u64)> = keys.iter().map(|k| (k.account_id(), 100)).collect();
    let addrs: Vec<SocketAddr> = keys
        .iter()
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap())
        .collect();
    let apps: Vec<MemoryApp> = keys.iter().map(|_| MemoryApp::new(chain(), set.clone())).collect();
    let shutdown = CancellationToken::new();
    let _guard = rt.enter();
    for (i, key) in keys.iter().enumerate() {
        let config = BftConfig {
            peers: addrs.iter().copied().filter(|a| *a != addrs[i]).collect(),
            target_block_time: None,
            ..BftConfig::new(chain(), addrs[i], dir.path().join(format!("wal-{i}")))
        };
        let driver = BftDriver::new(config, key.clone());
        rt.spawn(driver.run(apps[i].clone(), shutdown.clone()));
    }
    // The first heights are slow while peers connect.
    rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(60);
        while min_height(&apps) < 5 {
            assert!(Instant::now() < deadline, "validators did not start deciding");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    c.bench_function("bft/4_validators_one_height", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let from = min_height(&apps);
                let start = Instant::now();
                while min_height(&apps) < from + iters {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                start.elapsed()
            })
        })
    });
    let hashes: Vec<_> = apps.iter().map(MemoryApp::block_hashes).collect();
    let n = hashes.iter().map(Vec::len).min().unwrap_or(0);
    assert!(hashes.iter().all(|h| h[..n] == hashes[0][..n]), "validators disagree");
    eprintln!("decided {n} heights in agreement");
    shutdown.cancel();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(15));
    targets = blocks
}
criterion_main!(benches);

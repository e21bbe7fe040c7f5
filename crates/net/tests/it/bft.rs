//! Four Malachite validators in one process on 127.0.0.1, each with its own in-memory app:
//! they agree on every block, survive one crash, halt (without forking) on two, and the
//! restarted ones catch up.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use vigil_core::{AccountId, Amount, ChainId, Keypair, Tx, TxBody};
use vigil_net::bft::{BftConfig, BftDriver, BftTimeouts};
use vigil_net::memory::MemoryApp;
use vigil_net::{ConsensusApp, ConsensusDriver, DriverError};

fn chain() -> ChainId {
    "vigil-bft-test".parse().unwrap()
}

/// A free loopback port from 10000–19999: below the kernel's ephemeral range, so no outgoing
/// connection holds it as its source port and no connection to it can meet itself while it is
/// free. Spread by process id and call, so the tests of one run ask for different ports.
fn free_port() -> SocketAddr {
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    for _ in 0..1_000 {
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let offset = std::process::id().wrapping_mul(131).wrapping_add(call.wrapping_mul(7919));
        let port = 10_000 + u16::try_from(offset % 10_000).unwrap();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return SocketAddr::from(([127, 0, 0, 1], port));
        }
    }
    panic!("no free loopback port in 10000-19999");
}

struct Validator {
    key: Keypair,
    addr: SocketAddr,
    app: MemoryApp,
    running: Option<(CancellationToken, JoinHandle<Result<MemoryApp, DriverError>>)>,
}

fn config(addr: SocketAddr, peers: Vec<SocketAddr>, wal: &Path) -> BftConfig {
    BftConfig {
        peers,
        timeouts: BftTimeouts {
            propose: Duration::from_millis(1500),
            prevote: Duration::from_millis(500),
            precommit: Duration::from_millis(500),
            delta: Duration::from_millis(250),
        },
        target_block_time: None,
        sync_status_interval: Duration::from_millis(500),
        ..BftConfig::new(chain(), addr, wal.to_path_buf())
    }
}

impl Validator {
    fn start(&mut self, all: &[SocketAddr], dir: &Path) {
        let peers = all.iter().copied().filter(|a| *a != self.addr).collect();
        let wal = dir.join(self.key.account_id().short());
        let driver = BftDriver::new(config(self.addr, peers, &wal), self.key.clone());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(driver.run(self.app.clone(), shutdown.clone()));
        self.running = Some((shutdown, task));
    }

    async fn stop(&mut self) {
        let (shutdown, task) = self.running.take().expect("running");
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(15), task)
            .await
            .expect("driver stops within 15 s")
            .unwrap()
            .unwrap();
    }

    fn height(&self) -> u64 {
        self.app.last_commit().height
    }
}

async fn eventually<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn heights(validators: &[Validator]) -> Vec<u64> {
    validators.iter().map(Validator::height).collect()
}

/// Every pair of apps agrees on every block and app hash both have.
fn assert_no_fork(validators: &[Validator]) {
    let chains: Vec<_> =
        validators.iter().map(|v| (v.app.block_hashes(), v.app.app_hashes())).collect();
    for (i, (blocks_i, hashes_i)) in chains.iter().enumerate() {
        for (blocks_j, hashes_j) in &chains[i + 1..] {
            let n = blocks_i.len().min(blocks_j.len());
            assert_eq!(blocks_i[..n], blocks_j[..n], "block hashes differ");
            assert_eq!(hashes_i[..n], hashes_j[..n], "app hashes differ");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_validators_agree_survive_one_crash_halt_on_two_and_catch_up() {
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<Keypair> = (1..=4).map(|i| Keypair::from_seed(&[i; 32])).collect();
    let set: Vec<(AccountId, u64)> = keys.iter().map(|k| (k.account_id(), 100)).collect();
    let addrs: Vec<SocketAddr> = keys.iter().map(|_| free_port()).collect();
    let mut validators: Vec<Validator> = keys
        .iter()
        .zip(&addrs)
        .map(|(key, addr)| Validator {
            key: key.clone(),
            addr: *addr,
            app: MemoryApp::new(chain(), set.clone()),
            running: None,
        })
        .collect();
    // Transactions wait in two validators' mempools; each gets in when its holder proposes.
    let user = Keypair::from_seed(&[77; 32]);
    for nonce in 0..6 {
        let tx = Tx {
            chain_id: chain(),
            signer: user.account_id(),
            nonce,
            body: TxBody::Transfer { to: AccountId([1; 32]), amount: Amount(1) },
        }
        .sign(&user);
        validators[0].app.submit(tx.clone()).unwrap();
        validators[2].app.submit(tx).unwrap();
    }
    for v in &mut validators {
        v.start(&addrs, dir.path());
    }

    // All four decide 20 heights with identical blocks and app hashes.
    eventually(120, "20 heights on all four validators", || {
        let h = heights(&validators);
        async move { h.iter().all(|h| *h >= 20) }
    })
    .await;
    assert_no_fork(&validators);
    eprintln!("all four running: heights {:?}", heights(&validators));
    assert_eq!(validators[1].app.nonce(&user.account_id()), 6, "the transactions were committed");
    assert!(validators.iter().all(|v| v.app.failed_txs() == 0));

    // One validator down: three of four still hold more than 2/3 and go on.
    validators[3].stop().await;
    let h = validators[0].height();
    eventually(90, "5 more heights without validator 3", || {
        let h0 = heights(&validators[..3]);
        async move { h0.iter().all(|x| *x >= h + 5) }
    })
    .await;
    assert_no_fork(&validators);

    // A second one down: two of four cannot decide; the chain halts and does not fork.
    validators[2].stop().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let halted = validators[0].height().max(validators[1].height());
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        validators[0].height().max(validators[1].height()),
        halted,
        "no progress with half the power"
    );
    eprintln!("halted with two down: heights {:?}", heights(&validators));
    assert_no_fork(&validators);

    // Both come back: they catch up and the network moves on, everyone on one chain.
    validators[2].start(&addrs, dir.path());
    validators[3].start(&addrs, dir.path());
    eventually(120, "all four past the halt height", || {
        let h = heights(&validators);
        async move { h.iter().all(|x| *x >= halted + 3) }
    })
    .await;
    assert_no_fork(&validators);
    eprintln!("after restart: heights {:?}", heights(&validators));
    let at = validators.iter().map(Validator::height).min().unwrap() as usize;
    let first = validators[0].app.app_hashes()[at - 1];
    assert!(validators.iter().all(|v| v.app.app_hashes()[at - 1] == first));

    for v in &mut validators {
        v.stop().await;
    }
}

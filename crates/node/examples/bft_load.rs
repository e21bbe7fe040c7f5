//! Blocks per second and committed transactions per second of a local BFT testnet: real
//! `vigil node` processes (release build) written by the same code as `vigil testnet`.
//!
//! 1. Idle: counts the heights all validators commit in `--idle-secs` (empty blocks).
//! 2. Load: pre-signs `--per-account` transfers for each of `--accounts` funded accounts,
//!    posts each account's transactions to one node (accounts spread over all validators, so
//!    gossip must carry them to the proposer) over `--connections` HTTP connections, and
//!    measures until every validator reports every transaction committed.
//!
//! ```sh
//! cargo build --release -p vigil-node --bin vigil --example bft_load
//! target/release/examples/bft_load --vigil target/release/vigil --validators 4
//! ```

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use vigil_core::{Amount, Keypair, SignedTx, Tx, TxBody};
use vigil_ledger::GenesisAccount;
use vigil_node::client::Client;
use vigil_node::testnet::{TestnetSpec, create};

#[derive(Parser)]
struct Args {
    /// The vigil binary to run.
    #[arg(long, default_value = "target/release/vigil")]
    vigil: String,
    /// Validators (one process each).
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Funded accounts sending transactions.
    #[arg(long, default_value_t = 2_000)]
    accounts: usize,
    /// Transactions per account.
    #[arg(long, default_value_t = 10)]
    per_account: u64,
    /// Concurrent HTTP connections (spread over the validators).
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Least time per height, in milliseconds (1 = as fast as consensus goes).
    #[arg(long, default_value_t = 1)]
    block_time_ms: u64,
    /// Seconds of the idle (empty blocks) measurement.
    #[arg(long, default_value_t = 10)]
    idle_secs: u64,
    /// First port of the testnet.
    #[arg(long, default_value_t = 24_100)]
    base_port: u16,
}

fn key(i: usize) -> Keypair {
    let mut seed = [9u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
    Keypair::from_seed(&seed)
}

async fn metric(client: &Client, name: &str) -> u64 {
    let Ok(response) = reqwest::get(format!("{}/metrics", client.base())).await else { return 0 };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

async fn min_height(clients: &[Client]) -> u64 {
    let mut min = u64::MAX;
    for c in clients {
        min = min.min(c.status().await.map(|s| s.height).unwrap_or(0));
    }
    min
}

struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<Keypair> = (0..args.accounts).map(key).collect();
    let mut spec = TestnetSpec::new(args.validators, args.base_port);
    spec.users = 0;
    spec.block_interval_ms = args.block_time_ms;
    spec.timeout_propose_ms = 1_000;
    spec.params = vigil_ledger::Params::default();
    spec.extra_accounts = keys
        .iter()
        .map(|k| GenesisAccount {
            account: k.account_id(),
            balance: Amount::vgl(1_000),
            bonded: Amount::ZERO,
            validator: false,
        })
        .collect();
    let net = create(dir.path(), &spec).expect("create the testnet (is --base-port free?)");
    for node in &net.nodes {
        // Room for the whole load in every mempool.
        let mut text = std::fs::read_to_string(&node.config_path).unwrap();
        text = text.replace("max_txs = 200000", "max_txs = 1000000");
        std::fs::write(&node.config_path, text).unwrap();
    }
    let mut processes = Processes(Vec::new());
    for node in &net.nodes {
        let child = Command::new(&args.vigil)
            .args(["node", "--config"])
            .arg(&node.config_path)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("run the vigil binary (build it with cargo build --release)");
        processes.0.push(child);
    }
    let clients: Vec<Client> =
        net.nodes.iter().map(|n| Client::new(&format!("http://{}", n.api))).collect();
    while min_height(&clients).await < 2 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // 1. Idle blocks per second, on the slowest validator.
    let h0 = min_height(&clients).await;
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.idle_secs)).await;
    let h1 = min_height(&clients).await;
    let idle = started.elapsed().as_secs_f64();
    let blocks_per_s = (h1 - h0) as f64 / idle;

    // 2. Committed transactions per second.
    eprintln!("signing {} transactions…", args.accounts as u64 * args.per_account);
    let chain = spec.chain_id.clone();
    let to = net.nodes[0].account;
    let mut per_node: Vec<Vec<Vec<u8>>> = vec![Vec::new(); clients.len()];
    for nonce in 0..args.per_account {
        for (i, k) in keys.iter().enumerate() {
            let body = TxBody::Transfer { to, amount: Amount(1 + nonce) };
            let tx: SignedTx =
                Tx { chain_id: chain.clone(), signer: k.account_id(), nonce, body }.sign(k);
            per_node[i % clients.len()].push(serde_json::to_vec(&tx).unwrap());
        }
    }
    let total: usize = per_node.iter().map(Vec::len).sum();
    let refused = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::new();
    let committed_before = metric(&clients[0], "vigil_tx_committed_total").await;
    let height_before = min_height(&clients).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (node, bodies) in per_node.into_iter().enumerate() {
        let bodies = Arc::new(bodies);
        let next = Arc::new(AtomicUsize::new(0));
        let url = format!("{}/v1/tx", clients[node].base());
        for _ in 0..(args.connections / clients.len()).max(1) {
            let (bodies, next, refused, http, url) = (
                Arc::clone(&bodies),
                Arc::clone(&next),
                Arc::clone(&refused),
                http.clone(),
                url.clone(),
            );
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { return };
                    let resp = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    if resp.status().as_u16() != 202 {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let submitted_in = started.elapsed();
    let refused = refused.load(Ordering::Relaxed);
    let expected = committed_before + (total - refused) as u64;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let mut done = true;
        for c in &clients {
            done &= metric(c, "vigil_tx_committed_total").await >= expected;
        }
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "not all transactions were committed in 300 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let committed_in = started.elapsed();
    let height_after = min_height(&clients).await;
    let mut hashes = Vec::new();
    for c in &clients {
        let block: serde_json::Value =
            c.get(&format!("/v1/blocks/{}", height_after)).await.unwrap();
        hashes.push(block["app_hash"].as_str().unwrap_or_default().to_owned());
    }
    assert!(hashes.windows(2).all(|w| w[0] == w[1]), "validators disagree: {hashes:?}");
    drop(processes);

    println!("validators          {}", clients.len());
    println!("idle                {} heights in {idle:.1} s → {blocks_per_s:.1} blocks/s", h1 - h0);
    println!("transactions        {total} ({refused} refused)");
    println!(
        "admitted in         {:.2} s → {:.0} tx/s",
        submitted_in.as_secs_f64(),
        total as f64 / submitted_in.as_secs_f64()
    );
    println!(
        "committed on all in {:.2} s → {:.0} tx/s ({} heights)",
        committed_in.as_secs_f64(),
        (total - refused) as f64 / committed_in.as_secs_f64(),
        height_after - height_before
    );
    println!("same app hash at height {height_after} on every validator");
}

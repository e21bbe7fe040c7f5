//! Sustained committed transactions per second through `POST /v1/tx`.
//!
//! Starts a real `vigil node` process (release build) on a temporary data directory whose
//! genesis funds `--accounts` accounts, pre-signs `--per-account` transfers for each, posts
//! them over `--connections` concurrent HTTP connections, and measures until the node reports
//! every one committed.
//!
//! ```sh
//! cargo build --release -p vigil-node --bin vigil --example tx_load
//! target/release/examples/tx_load --vigil target/release/vigil --accounts 5000 --per-account 10
//! ```

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use vigil_core::{Amount, Keypair, SignedTx, Tx, TxBody};
use vigil_ledger::{Genesis, GenesisAccount, Params};
use vigil_node::client::Client;

#[derive(Parser)]
struct Args {
    /// The vigil binary to run.
    #[arg(long, default_value = "target/release/vigil")]
    vigil: String,
    /// Funded accounts sending transactions.
    #[arg(long, default_value_t = 5_000)]
    accounts: usize,
    /// Transactions per account.
    #[arg(long, default_value_t = 10)]
    per_account: u64,
    /// Concurrent HTTP connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Block interval of the node, in milliseconds.
    #[arg(long, default_value_t = 1_000)]
    block_interval_ms: u64,
}

fn key(i: usize) -> Keypair {
    let mut seed = [3u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
    Keypair::from_seed(&seed)
}

async fn committed(client: &Client) -> u64 {
    let text: String = reqwest::get(format!("{}/metrics", client.base()))
        .await
        .and_then(|r| r.error_for_status())
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("vigil_tx_committed_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<Keypair> = (0..args.accounts + 1).map(key).collect();
    let genesis = Genesis {
        chain_id: "vigil-load".parse().unwrap(),
        genesis_time: 0,
        params: Params::default(),
        treasury: Amount::ZERO,
        reward_pool: Amount::ZERO,
        accounts: keys
            .iter()
            .enumerate()
            .map(|(i, k)| GenesisAccount {
                account: k.account_id(),
                balance: Amount::vgl(1_000),
                bonded: Amount::vgl(if i == 0 { 1_000 } else { 0 }),
                validator: i == 0,
            })
            .collect(),
    };
    std::fs::write(dir.path().join("genesis.toml"), genesis.to_toml()).unwrap();
    std::fs::create_dir_all(dir.path().join("keys")).unwrap();
    vigil_node::keyfile::write(&dir.path().join("keys/node.key"), &keys[0], None).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "[api]\nlisten = \"127.0.0.1:{port}\"\nrate_limit = {{ per_second = 0 }}\n[consensus]\nblock_interval_ms = {}\n[mempool]\nmax_txs = 1000000\n",
            args.block_interval_ms
        ),
    )
    .unwrap();
    let mut node = Command::new(&args.vigil)
        .args(["node", "--config"])
        .arg(dir.path().join("config.toml"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("run the vigil binary (build it with cargo build --release)");
    let client = Client::new(&format!("http://127.0.0.1:{port}"));
    while client.status().await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    eprintln!("signing {} transactions…", args.accounts as u64 * args.per_account);
    let chain = genesis.chain_id.clone();
    let to = keys[0].account_id();
    let mut txs: Vec<SignedTx> = Vec::new();
    for nonce in 0..args.per_account {
        for k in &keys[1..] {
            let body = TxBody::Transfer { to, amount: Amount(1 + nonce) };
            txs.push(Tx { chain_id: chain.clone(), signer: k.account_id(), nonce, body }.sign(k));
        }
    }
    let bodies: Arc<Vec<Vec<u8>>> =
        Arc::new(txs.iter().map(|t| serde_json::to_vec(t).unwrap()).collect());
    let total = bodies.len();
    let next = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::new();
    let url = format!("{}/v1/tx", client.base());

    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
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
    for t in tasks {
        t.await.unwrap();
    }
    let submitted_in = started.elapsed();
    let refused = refused.load(Ordering::Relaxed);
    let expected = (total - refused) as u64;
    while committed(&client).await < expected {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_committed_in = started.elapsed();
    let status = client.status().await.unwrap();
    node.kill().unwrap();
    let _ = node.wait();
    println!("transactions      {total} ({refused} refused)");
    println!(
        "submitted in      {:.2} s  → {:.0} tx/s admitted",
        submitted_in.as_secs_f64(),
        total as f64 / submitted_in.as_secs_f64()
    );
    println!(
        "all committed in  {:.2} s  → {:.0} tx/s committed",
        all_committed_in.as_secs_f64(),
        expected as f64 / all_committed_in.as_secs_f64()
    );
    println!("final height      {}", status.height);
}

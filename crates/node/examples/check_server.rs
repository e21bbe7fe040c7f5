//! Serves a node's HTTP API over a ledger holding 100,000 flagged indicators, for measuring
//! `GET /v1/check` with a load tool.
//!
//! The indicators are real addresses from `../shared/data` (Forta labels, OFAC) when present,
//! topped up with derived addresses to 100,000, in confirmed reports. Writes the indicator
//! list for the load tool's script to `--paths` (80% flagged, 20% not).
//!
//! ```sh
//! cargo run --release -p vigil-node --example check_server -- --port 7171 --paths /tmp/check-paths.txt
//! wrk -t2 -c64 -d20s --latency -s crates/node/examples/check.lua http://127.0.0.1:7171
//! ```

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;

use clap::Parser;
use vigil_core::{
    Amount, Block, Category, EvmAddress, Indicator, Keypair, Report, Severity, Stance, Tx, TxBody,
    keccak256,
};
use vigil_ledger::{Genesis, GenesisAccount, Ledger, Params};
use vigil_node::app::NodeState;
use vigil_node::mempool::Mempool;
use vigil_node::store::RedbStore;

#[derive(Parser)]
struct Args {
    /// Port to serve on (127.0.0.1).
    #[arg(long, default_value_t = 7171)]
    port: u16,
    /// Flagged indicators to load.
    #[arg(long, default_value_t = 100_000)]
    indicators: usize,
    /// Where to write the request paths for the load tool.
    #[arg(long, default_value = "/tmp/check-paths.txt")]
    paths: String,
}

fn real_addresses() -> Vec<EvmAddress> {
    let data = std::path::Path::new("../shared/data");
    let mut out = BTreeSet::new();
    for file in [
        "forta-labelled-datasets/labels/1/etherscan_malicious_labels.csv",
        "forta-labelled-datasets/labels/1/phishing_scams.csv",
        "forta-labelled-datasets/labels/1/malicious_smart_contracts.csv",
        "ofac-sanctioned-addresses/sanctioned_addresses_ETH.txt",
    ] {
        let Ok(text) = std::fs::read_to_string(data.join(file)) else { continue };
        for line in text.lines() {
            if let Some(a) =
                line.split(',').next().and_then(|f| f.trim().to_lowercase().parse().ok())
            {
                out.insert(a);
            }
        }
    }
    out.into_iter().collect()
}

fn block(ledger: &Ledger<RedbStore>, txs: Vec<vigil_core::SignedTx>, proposer: &Keypair) -> Block {
    let last = ledger.last_commit();
    Block {
        height: last.height + 1,
        time: 0,
        proposer: proposer.account_id(),
        parent: last.block_hash,
        txs,
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let mut addresses = real_addresses();
    let real = addresses.len();
    let mut i = 0u64;
    while addresses.len() < args.indicators {
        let h = keccak256(i.to_le_bytes());
        let mut a = [0u8; 20];
        a.copy_from_slice(&h[12..]);
        addresses.push(EvmAddress(a));
        i += 1;
    }
    addresses.truncate(args.indicators);
    eprintln!("{} indicators ({real} real addresses from ../shared/data)", addresses.len());

    let reporter = Keypair::from_seed(&[1; 32]);
    let confirmer = Keypair::from_seed(&[2; 32]);
    let genesis = Genesis {
        chain_id: "vigil-bench".parse().unwrap(),
        genesis_time: 0,
        params: Params { challenge_window: 2, attestation_quorum_bps: 0, ..Params::default() },
        treasury: Amount::ZERO,
        reward_pool: Amount::vgl(1_000),
        accounts: [&reporter, &confirmer]
            .iter()
            .map(|k| GenesisAccount {
                account: k.account_id(),
                balance: Amount::vgl(100_000),
                bonded: Amount::vgl(100_000),
                validator: true,
            })
            .collect(),
    };
    let dir = tempfile::tempdir().unwrap();
    let mut ledger =
        Ledger::open(RedbStore::open(&dir.path().join("db.redb")).unwrap(), &genesis).unwrap();
    let chain = genesis.chain_id.clone();
    let reports: Vec<Report> = addresses
        .chunks(4_000)
        .enumerate()
        .map(|(n, chunk)| Report {
            indicators: chunk.iter().map(|a| Indicator::address(*a)).collect(),
            severity: Severity::High,
            category: Category::Phishing,
            summary: format!("bench batch {n}"),
            evidence: vec![],
            affected_protocols: vec![],
        })
        .collect();
    let sign = |k: &Keypair, nonce: u64, body: TxBody| {
        Tx { chain_id: chain.clone(), signer: k.account_id(), nonce, body }.sign(k)
    };
    let submits = reports
        .iter()
        .enumerate()
        .map(|(n, r)| {
            sign(
                &reporter,
                n as u64,
                TxBody::SubmitReport { report: r.clone(), bond: Amount::vgl(10) },
            )
        })
        .collect();
    let b = block(&ledger, submits, &reporter);
    ledger.finalize_block(&b).unwrap();
    ledger.commit().unwrap();
    let attests = reports
        .iter()
        .enumerate()
        .map(|(n, r)| {
            sign(
                &confirmer,
                n as u64,
                TxBody::Attest {
                    report: r.id(),
                    stance: Stance::Confirm,
                    stake: Amount::vgl(2_000),
                },
            )
        })
        .collect();
    let b = block(&ledger, attests, &reporter);
    ledger.finalize_block(&b).unwrap();
    ledger.commit().unwrap();
    for _ in 0..3 {
        let b = block(&ledger, vec![], &reporter);
        ledger.finalize_block(&b).unwrap();
        ledger.commit().unwrap();
    }
    let flagged = ledger.check(&Indicator::address(addresses[0]));
    assert_eq!(flagged.first().map(|m| m.status), Some(vigil_ledger::ReportStatus::Confirmed));

    let mut paths = std::fs::File::create(&args.paths).unwrap();
    for (n, a) in addresses.iter().enumerate().take(40_000) {
        writeln!(paths, "/v1/check/{a}").unwrap();
        if n % 4 == 0 {
            // Not flagged: a neighbour address.
            let mut b = a.0;
            b[0] ^= 0x5a;
            writeln!(paths, "/v1/check/{}", EvmAddress(b)).unwrap();
        }
    }
    let state = NodeState::new(ledger, Mempool::new(10, 1 << 20), reporter.account_id());
    let app = vigil_node::api::router(Arc::clone(&state), 1 << 20);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await.unwrap();
    eprintln!("serving on http://127.0.0.1:{} ; request paths in {}", args.port, args.paths);
    axum::serve(listener, app).await.unwrap();
}

//! Serves a node's HTTP API over a ledger holding 100,000 flagged indicators and an indicator
//! book of imported feeds, for measuring `GET /v1/check` with a load tool.
//!
//! The ledger's indicators are real addresses from `../shared/data` (Forta labels, OFAC) when
//! present, topped up with derived addresses to 100,000, in confirmed reports. The book holds
//! the real feeds (Forta, OFAC, MetaMask's phishing config with its allow and fuzzy lists)
//! imported through the node's import path, plus `--book` derived addresses. Writes the request
//! paths for the load tool's script to `--paths`: ledger and book addresses, phishing domains,
//! their subdomains, allow-listed and unknown domains (which go through the look-alike rule),
//! and unflagged addresses, shuffled.
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
    /// Derived addresses added to the indicator book besides the real feeds (0: no book).
    #[arg(long, default_value_t = 100_000)]
    book: usize,
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
            detection: Vec::new(),
            revokes: Vec::new(),
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

    let state = NodeState::new(ledger, Mempool::new(10, 1 << 20), reporter.account_id());
    let mut lines = Vec::new();
    for (n, a) in addresses.iter().enumerate().take(25_000) {
        lines.push(format!("/v1/check/{a}"));
        if n % 4 == 0 {
            // Not flagged: a neighbour address.
            let mut b = a.0;
            b[0] ^= 0x5a;
            lines.push(format!("/v1/check/{}", EvmAddress(b)));
        }
    }
    if args.book > 0 {
        lines.extend(load_book(&state, args.book));
    }
    // A fixed shuffle (xorshift), so runs are comparable.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in (1..lines.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        lines.swap(i, (x % (i as u64 + 1)) as usize);
    }
    let mut paths = std::fs::File::create(&args.paths).unwrap();
    for line in &lines {
        writeln!(paths, "{line}").unwrap();
    }
    eprintln!("{} request paths", lines.len());
    // A benchmark drives one client as hard as it can: no rate limit.
    let config = vigil_node::api::ApiConfig {
        rate_limit: vigil_node::api::RateLimitConfig { per_second: 0, burst: 0 },
        ..Default::default()
    };
    let app = vigil_node::api::router(Arc::clone(&state), &config);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await.unwrap();
    eprintln!("serving on http://127.0.0.1:{} ; request paths in {}", args.port, args.paths);
    axum::serve(listener, app).await.unwrap();
}

/// Imports the real feeds and `derived` derived addresses into the node's book through its
/// import path; returns request paths for them.
fn load_book(state: &NodeState, derived: usize) -> Vec<String> {
    use vigil_intel::{FeedKind, ImportOptions, IndicatorBook};
    use vigil_node::intel::ImportRequest;

    let now = vigil_node::intel::now();
    let import = |kind: FeedKind, source: &str, input: &[u8]| {
        let mut book = IndicatorBook::new();
        let opts = ImportOptions { source: Some(source.into()), ..ImportOptions::seen_at(now) };
        let parsed = vigil_intel::import(&mut book, kind, input, &opts, &mut |_| {}).unwrap();
        let book = vigil_intel::BookBytes::from(&book);
        let outcome = state.intel.import(ImportRequest { parsed, file: None, book }).unwrap();
        eprintln!("{}", outcome.report.summary());
    };
    let data = std::path::Path::new("../shared/data");
    for (kind, source, file) in [
        (
            FeedKind::Forta,
            "forta-etherscan",
            "forta-labelled-datasets/labels/1/etherscan_malicious_labels.csv",
        ),
        (FeedKind::Forta, "forta-phishing", "forta-labelled-datasets/labels/1/phishing_scams.csv"),
        (
            FeedKind::Forta,
            "forta-contracts",
            "forta-labelled-datasets/labels/1/malicious_smart_contracts.csv",
        ),
        (FeedKind::Ofac, "ofac", "ofac-sanctioned-addresses/sanctioned_addresses_ETH.txt"),
        (FeedKind::Ofac, "ofac", "ofac-sanctioned-addresses/sanctioned_addresses_USDT.txt"),
        (FeedKind::MetaMask, "metamask", "metamask-eth-phishing-detect/config.json"),
    ] {
        if let Ok(input) = std::fs::read(data.join(file)) {
            import(kind, source, &input);
        }
    }
    let mut csv = String::from("address,label\n");
    let mut derived_addresses = Vec::new();
    for i in 0..derived as u64 {
        let h = keccak256([b"book".as_slice(), &i.to_le_bytes()].concat());
        let mut a = [0u8; 20];
        a.copy_from_slice(&h[12..]);
        derived_addresses.push(EvmAddress(a));
        csv.push_str(&format!("{},derived\n", EvmAddress(a)));
    }
    import(FeedKind::Csv, "bench-list", csv.as_bytes());
    let book = state.intel.book();
    eprintln!("book: {} indicators", book.len());
    let mut lines: Vec<String> =
        derived_addresses.iter().take(15_000).map(|a| format!("/v1/check/{a}")).collect();
    let domains: Vec<String> = book
        .entries()
        .filter_map(|(i, _)| match i {
            // A name such as 0xproject.org reads as malformed hex in bare form.
            Indicator::Domain(d) if d.as_str().starts_with("0x") => Some(format!("domain:{d}")),
            Indicator::Domain(d) => Some(d.to_string()),
            _ => None,
        })
        .take(5_000)
        .collect();
    for (n, d) in domains.iter().enumerate() {
        lines.push(format!("/v1/check/{d}"));
        if n % 5 == 0 {
            lines.push(format!("/v1/check/login.{}", d.trim_start_matches("domain:")));
        }
        if n % 3 == 0 {
            // Unknown names: they go through the allow list, parents and look-alike rule.
            lines.push(format!("/v1/check/unlisted-{n}.example"));
        }
    }
    for (n, d) in book.domain_rules().allow.keys().enumerate().take(500) {
        lines.push(format!("/v1/check/{d}"));
        if n < 15 {
            lines.push(format!("/v1/check/{}", d.as_str().replacen('e', "3", 1)));
        }
    }
    lines
}

//! The dashboard in Debian's Chromium, driven by playwright-core (`tests/browser/dashboard.mjs`):
//! `vigil up`, the demo's verdict arriving live, a CLI breaker trip on the board within a
//! second, markup injected through a summary and a trip reason shown as text, a node restart
//! the page reconnects across, and no request to any host but the node. Screenshots go to
//! `$VIGIL_ARTIFACTS` (default: the test's temp dir, printed). Bounded to 3 minutes.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::free_port;

/// Chromium and playwright-core, or `None` (the test skips, saying so) unless tools are
/// required (`scripts/test.sh` installs both).
fn browser() -> Option<(String, String)> {
    match (std::env::var("VIGIL_CHROMIUM"), std::env::var("VIGIL_PLAYWRIGHT")) {
        (Ok(c), Ok(p)) => Some((c, p)),
        _ => {
            assert!(
                std::env::var("VIGIL_REQUIRE_TOOLS").as_deref() != Ok("1"),
                "VIGIL_REQUIRE_TOOLS=1 but VIGIL_CHROMIUM / VIGIL_PLAYWRIGHT are not set (run scripts/test.sh)"
            );
            eprintln!(
                "SKIPPED: VIGIL_CHROMIUM and VIGIL_PLAYWRIGHT are not set (scripts/test.sh installs Chromium and playwright-core)"
            );
            None
        }
    }
}

#[test]
fn the_dashboard_updates_live_in_chromium_and_shows_untrusted_text_as_text() {
    let _one = crate::ONE_AT_A_TIME.blocking_lock();
    let Some((chromium, playwright)) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = std::env::var_os("VIGIL_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.path().join("artifacts"));
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/dashboard.mjs");
    let mut child = Command::new("node")
        .arg(&script)
        .env("VIGIL_BIN", env!("CARGO_BIN_EXE_vigil"))
        .env("VIGIL_DATA", dir.path().join("data"))
        .env("VIGIL_PORT", free_port().to_string())
        .env("VIGIL_CHROMIUM", chromium)
        .env("VIGIL_PLAYWRIGHT", playwright)
        .env("VIGIL_ARTIFACTS", &artifacts)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node (Node.js) runs the browser test");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(180) {
            child.kill().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = child.wait_with_output().unwrap();
    let log = std::fs::read_to_string(artifacts.join("node.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "the browser test failed after {:?}:\n{}\n{}\nnode log (last lines):\n{}",
        started.elapsed(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        log.lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    let measured: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("dashboard: {measured}; screenshots in {}", artifacts.display());
    for name in ["board", "reports", "reputation", "governance", "plots"] {
        assert!(artifacts.join(format!("{name}.png")).exists(), "{name}.png");
    }
}

/// The console's first views against a node holding 10,000 reports and having received
/// 100,000 alerts (it keeps the newest 10,000): built in-process by finalizing blocks directly,
/// served on loopback, timed in Chromium. Prints the figures for BENCHMARKS.md.
#[test]
fn the_first_views_render_quickly_with_10k_reports_and_100k_alerts() {
    use vigil_core::{
        Alert, AlertKind, Amount, Block, Category, EvmAddress, EvmChainId, Indicator, Keypair,
        Report, Severity, Signed, Tx, TxBody, TxRef,
    };
    use vigil_ledger::{Genesis, GenesisAccount};

    let _one = crate::ONE_AT_A_TIME.blocking_lock();
    let Some((chromium, playwright)) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    const REPORTERS: usize = 100;
    const PER_BLOCK: usize = 500;
    const REPORTS: usize = 10_000;
    const ALERTS: usize = 100_000;
    let chain: vigil_core::ChainId = "vigil-perf".parse().unwrap();
    let keys: Vec<Keypair> =
        (0..REPORTERS).map(|i| Keypair::from_seed(&[i as u8 + 1; 32])).collect();
    let genesis = Genesis {
        chain_id: chain.clone(),
        genesis_time: 0,
        params: Default::default(),
        treasury: Amount::vgl(1),
        reward_pool: Amount::ZERO,
        accounts: keys
            .iter()
            .map(|k| GenesisAccount {
                account: k.account_id(),
                balance: Amount::vgl(10_000),
                bonded: Amount::vgl(100),
                validator: k.account_id() == keys[0].account_id(),
            })
            .collect(),
    };
    let store = vigil_node::store::RedbStore::open(&dir.path().join("db.redb")).unwrap();
    let ledger = vigil_ledger::Ledger::open(store, &genesis).unwrap();
    let mempool = vigil_node::mempool::Mempool::new(10, 1 << 20);
    let state = vigil_node::app::NodeState::new(ledger, mempool, keys[0].account_id());
    let built = Instant::now();
    let mut nonces = vec![0u64; REPORTERS];
    for start in (0..REPORTS).step_by(PER_BLOCK) {
        let txs = (start..start + PER_BLOCK)
            .map(|n| {
                let who = n % REPORTERS;
                let mut address = [0u8; 20];
                address[..8].copy_from_slice(&(n as u64).to_be_bytes());
                let report = Report {
                    indicators: vec![Indicator::Address {
                        chain: None,
                        address: EvmAddress(address),
                    }],
                    severity: Severity::ALL[n % 5],
                    category: Category::Exploit,
                    summary: format!("drainer wallet {n}"),
                    evidence: vec![],
                    affected_protocols: vec![],
                    detection: vec![],
                    revokes: vec![],
                };
                let body = TxBody::SubmitReport { report, bond: Amount::vgl(10) };
                let tx = Tx {
                    chain_id: chain.clone(),
                    signer: keys[who].account_id(),
                    nonce: nonces[who],
                    body,
                };
                nonces[who] += 1;
                tx.sign(&keys[who])
            })
            .collect();
        let mut ledger = state.ledger.write();
        let last = ledger.last_commit();
        let block = Block {
            height: last.height + 1,
            time: last.height + 1,
            proposer: keys[0].account_id(),
            parent: last.block_hash,
            txs,
        };
        let out = ledger.finalize_block(&block).unwrap();
        assert!(
            out.tx_results.iter().all(|r| r.outcome.is_ok()),
            "{:?}",
            out.tx_results.iter().find(|r| r.outcome.is_err())
        );
        ledger.commit().unwrap();
    }
    let monitor = Keypair::from_seed(&[200; 32]);
    for n in 0..ALERTS {
        let alert = Alert {
            detector: ["flash-loan", "drain", "watched-address"][n % 3].into(),
            severity: Severity::ALL[n % 5],
            kind: AlertKind::Suspicious,
            confidence: 80,
            tx: TxRef {
                chain: EvmChainId(1),
                hash: vigil_core::B256(*vigil_core::ContentId::of(&(n as u64)).as_bytes()),
                from: EvmAddress([1; 20]),
                to: Some(EvmAddress([2; 20])),
                block: Some(n as u64),
            },
            addresses: vec![],
            indicators: vec![],
            labels: vec![],
            description: format!("alert {n}"),
            time: 1_700_000_000 + n as u64,
            metadata: Default::default(),
            detection: Vec::new(),
        };
        let signed = Signed::sign(alert, chain.clone(), &monitor);
        let id = signed.payload.id();
        state.alerts.lock().push(vigil_node::app::AlertRecord {
            id,
            peer: "perf".into(),
            received: 1_700_000_000,
            alert: signed,
        });
    }
    let seeded = built.elapsed();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let stop = tokio_util::sync::CancellationToken::new();
    let server =
        rt.spawn(vigil_node::api::serve(listener, state, Default::default(), stop.clone()));
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/first_views.mjs");
    let out = Command::new("node")
        .arg(&script)
        .env("VIGIL_URL", &url)
        .env("VIGIL_CHROMIUM", chromium)
        .env("VIGIL_PLAYWRIGHT", playwright)
        .output()
        .expect("node (Node.js) runs the browser test");
    stop.cancel();
    let _ = rt.block_on(server);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let measured: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    println!(
        "first views with {REPORTS} reports and {ALERTS} alerts (seeded in {seeded:?}): {measured}"
    );
    for view in ["board_ms", "reports_ms", "alerts_ms", "reputation_ms"] {
        assert!(measured[view].as_f64().is_some(), "{view}: {measured}");
    }
}

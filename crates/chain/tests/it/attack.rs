//! The acceptance scenario on a real chain: deploy, attack, and check the right detectors fire
//! on the pending transaction and again on the mined one.

use std::time::Duration;

use alloy::primitives::U256;
use vigil_chain::MonitorConfig;
use vigil_core::{AlertKind, Severity};

use crate::anvil::Anvil;
use crate::contracts::*;
use crate::harness::Running;

const WAIT: Duration = Duration::from_secs(15);

fn config(url: String, d: &Deployment) -> MonitorConfig {
    MonitorConfig {
        rpc: url,
        detect: vigil_detect::DetectConfig { protected: d.protected(), ..Default::default() },
        poll_interval: Duration::from_millis(100),
        ..MonitorConfig::default()
    }
}

/// Runs the attack with a monitor on `url_of(anvil)`, asserting every stage; returns the
/// monitor's alerts.
pub async fn scenario(
    anvil: &Anvil,
    ws: bool,
    record: Option<std::path::PathBuf>,
) -> Vec<vigil_core::Alert> {
    let d = setup(anvil).await;
    fund_attacker(anvil).await;
    let mut config = config(if ws { anvil.ws() } else { anvil.http() }, &d);
    config.start_block = Some(anvil.head().await + 1);
    config.record = record;
    let mut m = Running::start(config).await;

    // The attacker deploys its contract: its code calls flash loans and embeds the vault.
    let attacker = deploy_attacker(anvil, &d).await;
    let created = m
        .wait_for("creation alert", WAIT, |a| {
            a.detector == "fresh-attacker-contract"
                && a.metadata.get("stage").is_some_and(|s| s == "created")
        })
        .await;
    assert!(created.addresses.contains(&ev(attacker)));
    // Quiet blocks, so the volume statistics warm up.
    anvil.mine_n(12).await;

    // A hostile governance proposal, pending then mined.
    let proposal =
        anvil.send(DEPLOYER, Some(d.governor), U256::ZERO, hostile_proposal(&d), 3_000_000).await;
    let gov = vigil_core::B256(proposal.0);
    let p = m
        .wait_for("pending proposal alert", WAIT, |a| {
            a.detector == "suspicious-governance-proposal"
                && a.tx.hash == gov
                && a.tx.block.is_none()
        })
        .await;
    assert!(p.description.contains("transferOwnership(address)"), "{}", p.description);
    anvil.mine().await;
    m.wait_for("mined proposal alert", WAIT, |a| {
        a.detector == "suspicious-governance-proposal" && a.tx.hash == gov && a.tx.block.is_some()
    })
    .await;

    // The attack: seen in the mempool first.
    let hash = anvil.send(ATTACKER, Some(attacker), U256::ZERO, attack_calldata(), 3_000_000).await;
    let h = vigil_core::B256(hash.0);
    let pending = m
        .wait_for("pending attack alert", WAIT, |a| {
            a.tx.hash == h && a.tx.block.is_none() && a.detector == "fresh-attacker-contract"
        })
        .await;
    assert_eq!(pending.kind, AlertKind::Exploit);
    assert_eq!(pending.severity, Severity::Critical);
    assert!(pending.addresses.contains(&ev(d.vault)), "{:?}", pending.addresses);

    // Then mined: every detector that sees the exploit fires again.
    anvil.mine().await;
    let receipt = anvil.provider.get_transaction_receipt(hash).await.unwrap().unwrap();
    assert!(receipt.status(), "the attack succeeds on an unpaused vault");
    for detector in
        ["flash-loan-exploit", "outflow-rate-limit", "fresh-attacker-contract", "volume-anomaly"]
    {
        let a = m
            .wait_for(detector, WAIT, |a| {
                a.tx.hash == h && a.tx.block.is_some() && a.detector == detector
            })
            .await;
        assert!(a.severity >= Severity::Medium, "{detector}: {}", a.severity);
    }
    let flash = m.seen.iter().find(|a| a.detector == "flash-loan-exploit").unwrap();
    assert_eq!(flash.severity, Severity::Critical);
    assert!(
        flash.description.contains("649825000000000000000000"),
        "profit: {}",
        flash.description
    );
    let outflow = m.seen.iter().find(|a| a.detector == "outflow-rate-limit").unwrap();
    assert_eq!(outflow.metadata["outflow_bps"], "10000", "the vault was drained");

    let (stats, alerts) = m.stop().await;
    assert!(stats.blocks == 15 && stats.pending >= 2 && stats.conversion_errors == 0, "{stats:?}");
    alerts
}

use alloy::providers::Provider as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_is_detected_pending_and_mined_over_websocket() {
    let Some(anvil) = Anvil::start(0).await else { return };
    let alerts = scenario(&anvil, true, None).await;
    // The pending attack was pre-executed (on by default): its predicted drain was seen
    // before it was mined.
    assert!(
        alerts.iter().any(|a| a.detector == "pre-execution-drain"
            && a.tx.block.is_none()
            && a.metadata.get("pre_execution").map(String::as_str) == Some("true")),
        "no pre-execution alert on the pending attack"
    );
    // Nothing but the attack, its contract and the proposal raised alerts (anvil traces mined
    // blocks, so the tree's detectors see the attack too).
    for a in &alerts {
        assert!(
            [
                "fresh-attacker-contract",
                "flash-loan-exploit",
                "outflow-rate-limit",
                "volume-anomaly",
                "price-manipulation",
                "pre-execution-drain",
                "suspicious-governance-proposal"
            ]
            .contains(&a.detector.as_str()),
            "unexpected {}: {}",
            a.detector,
            a.description
        );
    }
    anvil.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_is_detected_over_http_polling() {
    let Some(anvil) = Anvil::start(0).await else { return };
    scenario(&anvil, false, None).await;
    anvil.stop().await;
}

/// Regenerates `testdata/attack.json`: `VIGIL_RECORD=1 cargo test -p vigil-chain --test it record -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes the replay fixture; run with VIGIL_RECORD=1"]
async fn record_attack_fixture() {
    if std::env::var("VIGIL_RECORD").as_deref() != Ok("1") {
        eprintln!("SKIP: set VIGIL_RECORD=1 to rewrite testdata/attack.json");
        return;
    }
    let Some(anvil) = Anvil::start(0).await else { return };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/attack.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    scenario(&anvil, true, Some(path)).await;
    anvil.stop().await;
}

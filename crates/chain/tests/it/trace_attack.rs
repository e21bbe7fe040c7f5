//! The test contracts' flash-loan oracle attack, traced by anvil with both tracers (geth
//! `callTracer` with logs, parity `trace_transaction`), run through the detectors with no
//! protected contract configured: flagged high or above from the tree alone (logs stripped) as
//! well as with logs, as a held-out real exploit trace would be.

use alloy::primitives::U256;
use alloy::providers::Provider as _;
use vigil_core::{EvmChainId, Severity};
use vigil_detect::{DetectConfig, Effects, Engine, RuleSet, Transaction};

use crate::anvil::Anvil;
use crate::contracts::*;

fn alerts(tx: &Transaction) -> Vec<vigil_core::Alert> {
    let config = DetectConfig { cooldown_secs: Some(0), ..Default::default() };
    Engine::new(&config, RuleSet::default()).process_tx(tx)
}

fn assert_flagged(tx: &Transaction, what: &str) {
    let fx = Effects::of(tx);
    assert!(fx.traced, "{what}");
    assert_eq!(fx.flash_loans.len(), 1, "{what}: {:?}", fx.flash_loans);
    let found = alerts(tx);
    let top = found.iter().map(|a| a.severity).max();
    assert!(
        top >= Some(Severity::High),
        "{what}: {:?}",
        found.iter().map(|a| (&a.detector, a.severity, &a.description)).collect::<Vec<_>>()
    );
    println!(
        "{what}: {}",
        found
            .iter()
            .map(|a| format!("{} {}", a.detector, a.severity))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_is_flagged_from_its_trace_alone_with_both_tracers() {
    let Some(anvil) = Anvil::start(0).await else { return };
    let d = setup(&anvil).await;
    fund_attacker(&anvil).await;
    let attacker = deploy_attacker(&anvil, &d).await;
    let hash = anvil.send(ATTACKER, Some(attacker), U256::ZERO, attack_calldata(), 3_000_000).await;
    anvil.mine().await;
    let receipt = anvil.provider.get_transaction_receipt(hash).await.unwrap().unwrap();
    assert!(receipt.status());

    let geth: serde_json::Value = anvil
        .provider
        .raw_request(
            "debug_traceTransaction".into(),
            (hash, serde_json::json!({"tracer": "callTracer", "tracerConfig": {"withLog": true}})),
        )
        .await
        .expect("debug_traceTransaction");
    let text = serde_json::to_string(&geth).unwrap();
    let trace = vigil_detect::trace::geth::parse_tree(&text).expect("callTracer tree");
    assert!(trace.with_logs);
    let h = Some(vigil_core::B256(hash.0));
    let chain = EvmChainId(31337);
    let with_logs = vigil_detect::replay::transaction(chain, h, Some(1), Some(0), trace.clone());
    assert_flagged(&with_logs, "callTracer with logs");
    let bare = vigil_detect::replay::transaction(chain, h, Some(1), Some(0), trace.without_logs());
    assert!(bare.logs.is_empty());
    assert_flagged(&bare, "callTracer, logs stripped");

    let rows: serde_json::Value = anvil
        .provider
        .raw_request("trace_transaction".into(), (hash,))
        .await
        .expect("trace_transaction");
    let parity = vigil_detect::trace::parity::parse_rows_value(rows).expect("parity rows");
    assert_eq!(parity.len(), 1);
    let tx = vigil_detect::replay::transaction(chain, h, Some(1), Some(0), parity[0].trace.clone());
    assert_flagged(&tx, "parity trace_transaction");

    // The same recording, as `vigil replay` reads a file.
    let replayed = vigil_detect::replay::read(&text, chain).unwrap();
    assert_eq!(replayed.len(), 1);
    assert_flagged(&replayed[0].tx, "callTracer file");
    anvil.stop().await;
}

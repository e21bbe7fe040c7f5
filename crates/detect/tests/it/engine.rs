//! The engine: all detectors together, the cooldown, blocks, reorgs.

use alloy_primitives::U256;
use vigil_detect::config::ProtectedContract;
use vigil_detect::{DetectConfig, Engine, RuleSet, TokenBalance};

use crate::support::*;

fn engine_config() -> DetectConfig {
    DetectConfig {
        protected: vec![ProtectedContract {
            name: "Vault".into(),
            address: a(0x5a),
            max_loss_bps: None,
        }],
        cooldown_secs: Some(600),
        ..DetectConfig::default()
    }
}

fn engine() -> Engine {
    Engine::new(&engine_config(), RuleSet::empty())
}

fn drain(n: u64, amount: u64) -> vigil_detect::Transaction {
    TxB::new(n)
        .from(a(0xee))
        .mined(n, vec![transfer(a(0x70), a(0x5a), a(0xee), U256::from(amount))])
}

#[test]
fn one_ongoing_incident_is_one_alert() {
    let mut e = engine();
    let mut b1 = block(1, vec![drain(1, 300)]);
    b1.balances.push(TokenBalance { holder: a(0x5a), token: a(0x70), amount: U256::from(1_000) });
    let alerts = e.process_block(&b1);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].detector, "outflow-rate-limit");
    assert_eq!(alerts[0].tx.block, Some(1));
    assert_eq!(alerts[0].time, block_ref(1).timestamp);
    // The drain goes on, block after block: folded into the first alert.
    for n in 2..=5 {
        assert!(e.process_block(&block(n, vec![drain(n, 100)])).is_empty(), "block {n}");
    }
    assert_eq!(e.stats().suppressed, 4);
    assert_eq!(e.stats().alerts, 1);
    assert_eq!(e.stats().blocks, 5);
    assert_eq!(e.head(), Some(5));
}

#[test]
fn pending_then_mined_alerts_twice_and_ids_differ() {
    let mut e = engine();
    e.indicators_mut()
        .insert(
            &vigil_core::Indicator::address(a(0x66)),
            &vigil_detect::IndicatorMeta::new(90, "t").with_label("bad"),
        )
        .unwrap();
    let pending = TxB::new(1).to(Some(a(0x66))).pending(1_700_000_000);
    let first = e.process_tx(&pending);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].tx.block, None);
    // Seen again in the mempool: the same incident.
    assert!(e.process_tx(&pending).is_empty());
    let mined = e.process_block(&block(7, vec![TxB::new(1).to(Some(a(0x66))).mined(7, vec![])]));
    assert_eq!(mined.len(), 1);
    assert_eq!(mined[0].tx.block, Some(7));
    assert_ne!(first[0].id(), mined[0].id());
}

#[test]
fn rewind_forgets_the_replaced_blocks() {
    let mut e = engine();
    let mut b1 = block(1, vec![]);
    b1.balances.push(TokenBalance { holder: a(0x5a), token: a(0x70), amount: U256::from(1_000) });
    e.process_block(&b1);
    // 15 % out in block 2: fine.
    assert!(e.process_block(&block(2, vec![drain(2, 150)])).is_empty());
    // Block 2 is replaced by a block without that outflow; block 3 takes 15 % more.
    e.rewind(1);
    assert_eq!(e.head(), Some(1));
    let mut b2 = block(2, vec![]);
    b2.balances.push(TokenBalance { holder: a(0x5a), token: a(0x70), amount: U256::from(1_000) });
    e.process_block(&b2);
    // Without the rewind the window would hold 300 of 1000 (30 %) and trip.
    assert!(e.process_block(&block(3, vec![drain(3, 150)])).is_empty());
}

#[test]
fn all_detectors_are_registered() {
    let e = engine();
    assert_eq!(
        e.detector_names(),
        vec![
            "indicator-match",
            "outflow-rate-limit",
            "flash-loan-exploit",
            "volume-anomaly",
            "suspicious-governance-proposal",
            "fresh-attacker-contract",
            "reentrancy",
            "price-manipulation",
            "pre-execution-drain",
            "rules"
        ]
    );
}

/// A pending call from 0xee to its contract 0xcc in which the vault (0x5a) pays `amount` of
/// token 0x70 to 0xee, pre-executed on a state where the vault held 1,000.
fn simulated_drain(amount: u64) -> vigil_detect::Transaction {
    use vigil_detect::effects::Asset;
    use vigil_detect::model::{AssetBalance, Simulated};
    use vigil_detect::trace::{CallFrame, CallKind, CallTrace};
    let mut pay = CallFrame::new(CallKind::Call, a(0x5a), Some(a(0x70)), Default::default());
    pay.logs.push(transfer(a(0x70), a(0x5a), a(0xee), U256::from(amount)));
    let mut vault = CallFrame::new(CallKind::Call, a(0xcc), Some(a(0x5a)), Default::default());
    vault.calls.push(pay);
    let mut root = CallFrame::new(CallKind::Call, a(0xee), Some(a(0xcc)), Default::default());
    root.calls.push(vault);
    let simulated = Simulated {
        success: true,
        error: None,
        gas_used: 90_000,
        state_block: 7,
        balances: vec![AssetBalance {
            holder: a(0x5a),
            asset: Asset::Token(a(0x70)),
            amount: U256::from(1_000),
        }],
        max_fee_per_gas: 50_000_000_000,
        max_priority_fee_per_gas: Some(2_000_000_000),
    };
    TxB::new(amount).from(a(0xee)).to(Some(a(0xcc))).pending(0).with_simulation(
        CallTrace::new(root, true),
        Vec::new(),
        simulated,
    )
}

#[test]
fn a_predicted_drain_above_the_limit_is_a_pre_execution_alert_with_its_evidence() {
    let mut e = engine();
    let alerts = e.process_tx(&simulated_drain(300));
    let drain = alerts
        .iter()
        .find(|a| a.detector == "pre-execution-drain")
        .unwrap_or_else(|| panic!("{alerts:?}"));
    assert_eq!(drain.tx.block, None);
    assert_eq!(drain.severity, vigil_core::Severity::High, "30 % is high, not critical");
    assert_eq!(drain.metadata["loss_bps"], "3000");
    assert!(drain.addresses.contains(&a(0x5a)) && drain.addresses.contains(&a(0xee)));
    // Every alert on a simulated transaction carries the evidence.
    for alert in &alerts {
        let m = &alert.metadata;
        assert_eq!(m["pre_execution"], "true");
        assert_eq!(m[&format!("predicted_loss.{}", a(0x70).to_string().to_lowercase())], "300");
        assert_eq!(m["pending_max_priority_fee_per_gas"], "2000000000");
        assert_eq!(m["simulated_state_block"], "7");
        assert!(m["simulated_trace"].starts_with("0x"));
        assert!(alert.description.contains("[pre-execution on the state of block 7"));
    }
    // 5 % is within the 10 % default limit; a protected contract's own limit wins.
    assert!(e.process_tx(&simulated_drain(50)).iter().all(|a| a.detector != "pre-execution-drain"));
    let strict = DetectConfig {
        protected: vec![ProtectedContract {
            name: "Vault".into(),
            address: a(0x5a),
            max_loss_bps: Some(100),
        }],
        cooldown_secs: Some(0),
        ..DetectConfig::default()
    };
    let mut e = Engine::new(&strict, RuleSet::empty());
    assert!(e.process_tx(&simulated_drain(50)).iter().any(|a| a.detector == "pre-execution-drain"));
}

#[test]
fn a_rule_can_judge_the_predicted_loss_of_a_simulated_transaction() {
    let token = a(0x70).to_string().to_lowercase();
    let rule = format!(
        r#"
        [[rule]]
        name = "predicted-vault-loss"
        expression = 'tx.pre_execution && tx.predicted_loss["{token}"] >= 200.0'
        severity = "critical"
        kind = "exploit"
        confidence = 90
        description = "{{{{tx.from}}}} would take from the vault"
        "#
    );
    let rules = RuleSet::load([("policy.toml", rule.as_str())]).unwrap();
    let config = DetectConfig { cooldown_secs: Some(0), ..engine_config() };
    let mut e = Engine::new(&config, rules);
    let fired = |e: &mut Engine, amount| {
        e.process_tx(&simulated_drain(amount))
            .iter()
            .any(|a| a.detector == "rule:predicted-vault-loss")
    };
    assert!(fired(&mut e, 300));
    assert!(!fired(&mut e, 100));
    // The same flows, mined: not a pre-execution.
    let mined = drain(1, 300);
    assert!(e.process_tx(&mined).iter().all(|a| a.detector != "rule:predicted-vault-loss"));
}

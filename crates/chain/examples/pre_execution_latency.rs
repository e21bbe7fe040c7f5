//! Pending exploit seen → pause sent, on a real anvil with the demo vault: the path a node
//! takes when pre-execution catches an attack in the mempool. Each round starts the clock
//! with the pending transaction object in hand (as the mempool subscription delivers it) and
//! runs what the monitor and the on-chain executor do: conversion, selection, simulation on
//! the warm cache (a blocking-pool thread, as in the node), the protected balances it would
//! move, every detector, the fee that outbids the exploit, and the guardian's signed
//! `pause()` until anvil accepts it (`eth_sendRawTransaction` answered). anvil does not mine
//! (`--no-mining`), so the exploit stays pending and every round is the same.
//!
//! ```sh
//! VIGIL_ANVIL=… cargo run --release -p vigil-chain --example pre_execution_latency -- 300
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::U256;
use alloy::providers::Provider as _;
use vigil_chain::convert;
use vigil_chain::executor::{ContractCaller, Fees};
use vigil_chain::presim::PreExec;
use vigil_chain::scenario::{self, ATTACKER, DevChain, GUARDIAN_DEV_KEY, ev};
use vigil_core::{EvmChainId, Selector};
use vigil_detect::{DetectConfig, Engine, RuleSet};
use vigil_fork::SimulateConfig;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(300);
    let anvil = scenario::anvil_binary().expect("set VIGIL_ANVIL or put anvil on PATH");
    let chain = DevChain::start(&anvil, 0).await.expect("start anvil");
    let d = scenario::deploy(&chain).await.expect("deploy");
    scenario::fund_attacker(&chain).await.expect("fund");
    let attacker = scenario::deploy_attacker(&chain, &d).await.expect("attacker");
    let guardian =
        ContractCaller::connect(&chain.http(), GUARDIAN_DEV_KEY).await.expect("guardian");

    // The exploit, pending, as the node's subscription would deliver it.
    let hash = chain
        .send(ATTACKER, Some(attacker), U256::ZERO, scenario::attack_calldata(), 3_000_000)
        .await
        .expect("send the exploit");
    let pending =
        chain.provider.get_transaction_by_hash(hash).await.expect("get it").expect("it is pending");

    let protected: std::collections::BTreeSet<_> = [ev(d.vault)].into();
    // (Every pending transaction: this example shows the monitor no blocks, so it could not
    // know the attacker's contract is fresh.)
    let config =
        SimulateConfig { select: [vigil_fork::Reason::All].into(), ..SimulateConfig::default() };
    let (pre, mut done) =
        PreExec::connect(&chain.http(), 31337, config, protected).await.expect("pre-execution");
    let detect =
        DetectConfig { protected: d.protected(), cooldown_secs: Some(0), ..Default::default() };
    let mut engine = Engine::new(&detect, RuleSet::empty());
    let pause = Selector::of_signature("pause()").0;

    let mut seen_to_sent = Vec::with_capacity(rounds);
    let mut seen_to_alert = Vec::with_capacity(rounds);
    // One warm-up round fills the state cache from anvil.
    for round in 0..=rounds {
        let seen = Instant::now();
        let tx = convert::pending_tx(EvmChainId(31337), &pending, 0);
        let reason = pre.reason(&tx, |_| false).expect("the exploit is selected");
        assert!(pre.spawn(tx, &pending, reason, seen));
        let simulated = done.recv().await.expect("a simulation ends");
        assert!(simulated.error.is_none(), "{:?}", simulated.error);
        let alerts = engine.process_tx(&simulated.tx);
        let alert = alerts
            .iter()
            .find(|a| {
                a.metadata.contains_key("pre_execution") && a.detector == "pre-execution-drain"
            })
            .expect("the drain alert");
        let alerted = seen.elapsed();
        let max_fee: u128 = alert.metadata["pending_max_fee_per_gas"].parse().unwrap();
        let tip =
            alert.metadata.get("pending_max_priority_fee_per_gas").and_then(|t| t.parse().ok());
        let (fees, _) = Fees::outbid(max_fee, tip, 25, 1_000_000_000_000, 300_000);
        guardian.send_with(ev(d.vault), &pause, Some(fees)).await.expect("pause sent");
        if round > 0 {
            seen_to_sent.push(seen.elapsed());
            seen_to_alert.push(alerted);
        }
    }
    let stats = Arc::clone(pre.simulator()).cache().stats();
    seen_to_sent.sort();
    seen_to_alert.sort();
    println!(
        "{rounds} rounds; state cache: {} hits, {} misses (warm-up)",
        stats.hits, stats.misses
    );
    for (name, s) in [
        ("pending seen → drain alert", &seen_to_alert),
        ("pending seen → pause sent", &seen_to_sent),
    ] {
        println!(
            "{name}: p50 {:?}  p90 {:?}  p99 {:?}  max {:?}",
            pct(s, 0.50),
            pct(s, 0.90),
            pct(s, 0.99),
            pct(s, 1.0)
        );
    }
}

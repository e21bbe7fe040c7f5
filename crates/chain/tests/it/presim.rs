//! Pre-execution on a real chain: a pending transaction simulated with revm on anvil's latest
//! state yields the call tree, logs and gas of the same transaction once anvil mines it; bad
//! pending transactions (reverting, out of gas, looping to the gas limit, touching state the
//! node cannot serve) end in bounded time as counted outcomes or failures; and a monitor with
//! pre-execution on raises the drain alert on the pending attack, before it is mined.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider as _;
use vigil_chain::MonitorConfig;
use vigil_chain::presim::head_of;
use vigil_core::EvmChainId;
use vigil_detect::trace::{CallFrame, CallTrace};
use vigil_detect::{Effects, Transaction};
use vigil_fork::{
    ForkError, PendingCall, RpcSource, SimError, SimulateConfig, Simulator, StateCache,
};

use crate::anvil::Anvil;
use crate::contracts::*;
use crate::harness::Running;

const GWEI: u128 = 1_000_000_000;

async fn simulator(url: &str, timeout: Duration, read_timeout: Duration) -> Arc<Simulator> {
    let source = RpcSource::connect(url, read_timeout).await.expect("connect");
    let latest = source
        .provider()
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap();
    let head = head_of(&latest);
    let cache = Arc::new(StateCache::new(head.number, 1_000_000));
    let sim = Simulator::new(
        31337,
        vigil_fork::SpecId::PRAGUE,
        cache,
        Some(Arc::new(source)),
        30_000_000,
        timeout,
    );
    sim.set_head(head);
    Arc::new(sim)
}

fn call(from: Address, to: Address, input: Vec<u8>, gas: u64) -> PendingCall {
    PendingCall {
        from,
        to: Some(to),
        input: input.into(),
        gas_limit: gas,
        max_fee_per_gas: 100 * GWEI,
        max_priority_fee_per_gas: Some(GWEI),
        ..PendingCall::default()
    }
}

async fn run(sim: &Arc<Simulator>, c: PendingCall) -> Result<vigil_fork::Outcome, SimError> {
    let sim = Arc::clone(sim);
    tokio::task::spawn_blocking(move || sim.simulate(&c)).await.unwrap()
}

/// (kind, from, to, value, input, failed) of every frame, depth first.
fn shape(trace: &CallTrace) -> Vec<String> {
    fn walk(f: &CallFrame, out: &mut Vec<String>) {
        out.push(format!(
            "{:?} {} -> {:?} value {} input {} failed {} logs {}",
            f.kind,
            f.from,
            f.to,
            f.value,
            alloy::hex::encode(&f.input),
            f.error.is_some(),
            f.logs.len()
        ));
        for c in &f.calls {
            walk(c, out);
        }
    }
    let mut out = Vec::new();
    walk(&trace.root, &mut out);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_execution_simulation_equals_the_mined_attack() {
    let Some(anvil) = Anvil::start(0).await else { return };
    let d = setup(&anvil).await;
    fund_attacker(&anvil).await;
    let attacker = deploy_attacker(&anvil, &d).await;
    let sim = simulator(&anvil.http(), Duration::from_secs(5), Duration::from_secs(2)).await;

    let attack = call(ATTACKER, attacker, attack_calldata(), 3_000_000);
    let cold = run(&sim, attack.clone()).await.expect("the attack simulates");
    assert!(cold.success, "{:?}", cold.error);
    let misses = sim.cache().stats().misses;
    assert!(misses > 0, "a cold cache reads from the node");
    let warm = run(&sim, attack.clone()).await.expect("again, warm");
    assert_eq!(sim.cache().stats().misses, misses, "a warm simulation reads nothing from the node");
    assert_eq!(warm.trace.hash(), cold.trace.hash(), "deterministic");
    eprintln!("attack simulation: cold {:?}, warm {:?}", cold.elapsed, warm.elapsed);

    // Mine it and compare with what anvil's own tracer and receipt say.
    let hash = anvil.send(ATTACKER, Some(attacker), U256::ZERO, attack_calldata(), 3_000_000).await;
    anvil.mine().await;
    let receipt = anvil.provider.get_transaction_receipt(hash).await.unwrap().unwrap();
    assert!(receipt.status());
    assert_eq!(cold.gas_used, receipt.gas_used, "same gas as mined");
    let mined_logs: Vec<(Address, Vec<B256>, Bytes)> = receipt
        .inner
        .logs()
        .iter()
        .map(|l| (l.address(), l.topics().to_vec(), l.data().data.clone()))
        .collect();
    let simulated_logs: Vec<(Address, Vec<B256>, Bytes)> = cold
        .logs
        .iter()
        .map(|l| {
            (
                Address::from(l.address.0),
                l.topics.iter().map(|t| B256::from(t.0)).collect(),
                l.data.clone(),
            )
        })
        .collect();
    assert_eq!(simulated_logs, mined_logs, "same logs as mined");
    let params = serde_json::value::to_raw_value(&serde_json::json!([
        hash,
        {"tracer": "callTracer", "tracerConfig": {"withLog": true}}
    ]))
    .unwrap();
    let geth = anvil
        .provider
        .raw_request_dyn("debug_traceTransaction".into(), &params)
        .await
        .unwrap()
        .get()
        .to_owned();
    let mined = vigil_detect::trace::geth::parse_tree(&geth).unwrap();
    assert_eq!(shape(&cold.trace), shape(&mined), "same call tree as anvil's callTracer");

    // The same effects: the vault would lose its 1,000,000 USDX.
    let tx = Transaction::pending(
        EvmChainId(31337),
        vigil_core::B256(hash.0),
        ev(ATTACKER),
        Some(ev(attacker)),
        U256::ZERO,
        0,
        attack_calldata().into(),
        0,
    )
    .with_trace(cold.trace.clone());
    let fx = Effects::of(&tx);
    let usdx = vigil_detect::effects::Asset::Token(ev(d.usdx));
    assert_eq!(fx.delta(&ev(d.vault), usdx).loss(), e18(1_000_000));
    assert!(sim.stats().succeeded >= 2);
}

/// Creation code whose runtime is `JUMPDEST PUSH0 JUMP`: it loops until the gas runs out.
/// (`PUSH1 3, DUP1, PUSH1 9, PUSH0, CODECOPY, PUSH0, RETURN`, then the 3 runtime bytes.)
fn deploy_loop() -> Vec<u8> {
    vec![0x60, 0x03, 0x80, 0x60, 0x09, 0x5f, 0x39, 0x5f, 0xf3, 0x5b, 0x5f, 0x56]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_execution_of_bad_transactions_is_bounded_and_counted() {
    let Some(anvil) = Anvil::start(0).await else { return };
    let d = setup(&anvil).await;
    let looper = anvil
        .chain
        .exec(DEPLOYER, None, U256::ZERO, deploy_loop())
        .await
        .unwrap()
        .expect("the loop contract is created");
    let sim = simulator(&anvil.http(), Duration::from_secs(10), Duration::from_secs(2)).await;

    // A revert: a stranger borrows without collateral.
    let borrow = alloy::hex::decode("c5ebeaec").unwrap().into_iter().chain([0u8; 31]).chain([1]);
    let reverted =
        run(&sim, call(GUARDIAN, d.vault, borrow.collect(), 500_000)).await.expect("an outcome");
    assert!(!reverted.success);
    assert_eq!(reverted.error.as_deref(), Some("execution reverted"));
    assert!(reverted.trace.root.revert_reason.is_some() || reverted.output.len() >= 4);

    // Out of gas: the attack with far too little gas.
    fund_attacker(&anvil).await;
    let attacker = deploy_attacker(&anvil, &d).await;
    let sim = simulator(&anvil.http(), Duration::from_secs(10), Duration::from_secs(2)).await;
    let oog = run(&sim, call(ATTACKER, attacker, attack_calldata(), 60_000)).await.unwrap();
    assert!(!oog.success, "60,000 gas is not enough for the attack");

    // A loop to the gas limit: 30M gas of JUMPs ends as an out-of-gas halt.
    let started = Instant::now();
    let looped = run(&sim, call(DEPLOYER, looper, vec![], 30_000_000)).await.unwrap();
    assert!(!looped.success);
    assert_eq!(looped.error.as_deref(), Some("out of gas"));
    assert_eq!(looped.gas_used, 30_000_000);
    eprintln!("a 30M-gas loop took {:?}", started.elapsed());
    // With a deadline shorter than the loop, it is cut off and counted as a timeout.
    let tight = simulator(&anvil.http(), Duration::from_millis(5), Duration::from_secs(2)).await;
    // Warm its cache first (on a loaded machine 5 ms may not cover the reads from anvil:
    // each attempt keeps what it read).
    for _ in 0..100 {
        if run(&tight, call(DEPLOYER, looper, vec![], 100_000)).await.is_ok() {
            break;
        }
    }
    let failed = tight.stats().failed;
    let cut = run(&tight, call(DEPLOYER, looper, vec![], 30_000_000)).await;
    assert!(matches!(cut, Err(SimError::Timeout(_))), "{cut:?}");
    assert_eq!(tight.stats().failed, failed + 1);

    // State the node cannot serve: a node that accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let source = RpcSource::connect(&silent_url, Duration::from_millis(200)).await.unwrap();
    let stuck = Simulator::new(
        31337,
        vigil_fork::SpecId::PRAGUE,
        Arc::new(StateCache::new(1, 1_000)),
        Some(Arc::new(source)),
        30_000_000,
        Duration::from_secs(1),
    );
    let stuck = Arc::new(stuck);
    let started = Instant::now();
    let err = run(&stuck, call(ATTACKER, attacker, attack_calldata(), 3_000_000)).await;
    assert!(
        matches!(err, Err(SimError::State(ForkError::Timeout { .. }))),
        "a silent node is a read timeout: {err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "bounded: {:?}", started.elapsed());
    // And no node at all: an error naming the read.
    let nothing = Simulator::new(
        31337,
        vigil_fork::SpecId::PRAGUE,
        Arc::new(StateCache::new(1, 1_000)),
        None,
        30_000_000,
        Duration::from_secs(1),
    );
    let err = nothing.simulate(&call(ATTACKER, attacker, attack_calldata(), 3_000_000));
    let Err(SimError::State(ForkError::Missing { what })) = err else { panic!("{err:?}") };
    assert!(what.contains("account"), "{what}");
    assert_eq!(stuck.stats().failed + nothing.stats().failed, 2);
    hold.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_execution_monitor_raises_the_drain_alert_before_the_attack_is_mined() {
    let Some(anvil) = Anvil::start(0).await else { return };
    let d = setup(&anvil).await;
    fund_attacker(&anvil).await;
    let attacker = deploy_attacker(&anvil, &d).await;
    let config = MonitorConfig {
        rpc: anvil.ws(),
        detect: vigil_detect::DetectConfig {
            protected: d.protected(),
            cooldown_secs: Some(0),
            ..Default::default()
        },
        poll_interval: Duration::from_millis(50),
        simulate: SimulateConfig::default(),
        ..MonitorConfig::default()
    };
    let mut monitor = Running::start(config).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let hash = anvil.send(ATTACKER, Some(attacker), U256::ZERO, attack_calldata(), 3_000_000).await;
    let alert = monitor
        .wait_for("the pre-execution drain alert", Duration::from_secs(15), |a| {
            a.detector == "pre-execution-drain"
        })
        .await;
    assert_eq!(alert.tx.block, None, "raised while the attack is pending");
    assert_eq!(alert.tx.hash, vigil_core::B256(hash.0));
    assert_eq!(alert.metadata["pre_execution"], "true");
    let usdx = format!("predicted_loss.{}", vigil_detect::effects::Asset::Token(ev(d.usdx)).key());
    assert_eq!(alert.metadata[&usdx], e18(1_000_000).to_string(), "{:?}", alert.metadata);
    assert!(alert.metadata.contains_key("simulated_trace"));
    assert_eq!(anvil.provider.get_transaction_receipt(hash).await.unwrap(), None, "not mined");
    let (stats, _) = monitor.stop().await;
    assert!(stats.simulated >= 1, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_execution_sees_the_reentrancy_and_takeover_drains() {
    let Some(anvil) = Anvil::start(0).await else { return };
    let d = setup(&anvil).await;
    let t = vigil_chain::scenario::deploy_targets(&anvil.chain, &d).await.unwrap();
    fund_attacker(&anvil).await;
    let reentrant =
        vigil_chain::scenario::deploy_reentrancy_attacker(&anvil.chain, &t).await.unwrap();
    let takeover = vigil_chain::scenario::deploy_takeover_attacker(&anvil.chain, &t).await.unwrap();
    // Other depositors: the vault holds a balance that is not a multiple of the bait.
    let extra = e18(69) / U256::from(10);
    let deposit = vigil_chain::scenario::ether_deposit_calldata();
    anvil.chain.exec(DEPLOYER, Some(t.ether_vault), extra, deposit).await.unwrap();
    let sim = simulator(&anvil.http(), Duration::from_secs(10), Duration::from_secs(2)).await;
    let mut reentry = call(
        ATTACKER,
        reentrant,
        vigil_chain::scenario::reentrancy_attack_calldata(),
        vigil_chain::scenario::REENTRANCY_ATTACK_GAS,
    );
    reentry.value = vigil_chain::scenario::REENTRANCY_BAIT;
    let take =
        call(ATTACKER, takeover, vigil_chain::scenario::takeover_attack_calldata(), 1_000_000);
    for (name, c, vault, asset, loss) in [
        ("reentrancy", reentry, t.ether_vault, vigil_detect::effects::Asset::Native, e18(106)),
        (
            "takeover",
            take,
            t.takeover_vault,
            vigil_detect::effects::Asset::Token(ev(d.usdx)),
            e18(500_000),
        ),
    ] {
        let input = c.input.clone();
        let value = c.value;
        let to = c.to.unwrap();
        let outcome = run(&sim, c).await.unwrap();
        if !outcome.success {
            let mut f = &outcome.trace.root;
            let mut depth = 0;
            while let Some(next) = f.calls.iter().find(|c| c.error.is_some()) {
                f = next;
                depth += 1;
            }
            panic!(
                "{name}: {:?}; deepest failed frame at depth {depth}: {:?} gas {:?}/{:?} {:?}",
                outcome.error, f.error, f.gas_used, f.gas, f.revert_reason
            );
        }
        let tx = Transaction::pending(
            EvmChainId(31337),
            vigil_core::B256([1; 32]),
            ev(ATTACKER),
            Some(ev(to)),
            value,
            0,
            input,
            0,
        )
        .with_trace(outcome.trace.clone());
        let fx = Effects::of(&tx);
        assert_eq!(
            fx.delta(&ev(vault), asset).loss(),
            loss,
            "{name}: {:?}",
            fx.deltas_of(&ev(vault)).collect::<Vec<_>>()
        );
        eprintln!(
            "{name}: simulated in {:?}, {} frames",
            outcome.elapsed,
            shape(&outcome.trace).len()
        );
    }
}

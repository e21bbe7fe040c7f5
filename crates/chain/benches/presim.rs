//! Pre-execution speed: simulations per second with revm on a warm state cache
//! (`vigil-fork`), against the same transactions traced by anvil's own `debug_traceCall`
//! (geth `callTracer` with logs) over HTTP, the baseline a user would otherwise reach for. Both
//! sides end with a `CallTrace` in hand.
//!
//! Three transactions on the demo chain: an ERC-20 `transfer`, a Uniswap-V2-style swap
//! (`SimplePair.swapExactIn`) and the flash-loan exploit (`Attacker.attack`, 30 calls).
//! The simulator's cache is warmed by one run of each; every measured run is answered from
//! it (no RPC). One thread.
//!
//! `VIGIL_ANVIL=… cargo bench -p vigil-chain --bench presim`

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::providers::Provider as _;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vigil_chain::presim::head_of;
use vigil_chain::scenario::{self, ATTACKER, DEPLOYER, DevChain, GUARDIAN, e18};
use vigil_fork::{PendingCall, RpcSource, Simulator, SpecId, StateCache};

struct Setup {
    rt: tokio::runtime::Runtime,
    chain: DevChain,
    sim: Arc<Simulator>,
    calls: Vec<(&'static str, PendingCall)>,
}

fn setup() -> Option<Setup> {
    let Some(anvil) = scenario::anvil_binary() else {
        eprintln!("SKIP: anvil not found (set VIGIL_ANVIL)");
        return None;
    };
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().ok()?;
    let (chain, sim, calls) = rt.block_on(async {
        let chain = DevChain::start(&anvil, 0).await.expect("anvil");
        let d = scenario::deploy(&chain).await.expect("deploy");
        let mint = scenario::mint_calldata(DEPLOYER, e18(1_000_000));
        chain.exec(DEPLOYER, Some(d.usdx), U256::ZERO, mint).await.expect("mint");
        let approve = scenario::approve_calldata(d.pair, U256::MAX);
        chain.exec(DEPLOYER, Some(d.usdx), U256::ZERO, approve).await.expect("approve");
        scenario::fund_attacker(&chain).await.expect("fund");
        let attacker = scenario::deploy_attacker(&chain, &d).await.expect("attacker");
        let source = RpcSource::connect(&chain.http(), Duration::from_secs(5)).await.expect("rpc");
        let latest = source
            .provider()
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .expect("head")
            .expect("head");
        let head = head_of(&latest);
        let cache = Arc::new(StateCache::new(head.number, 1_000_000));
        let sim = Simulator::new(
            31337,
            SpecId::PRAGUE,
            cache,
            Some(Arc::new(source)),
            30_000_000,
            Duration::from_secs(5),
        );
        sim.set_head(head);
        let call = |from: Address, to: Address, input: Vec<u8>| PendingCall {
            from,
            to: Some(to),
            input: input.into(),
            gas_limit: 3_000_000,
            max_fee_per_gas: 100_000_000_000,
            max_priority_fee_per_gas: Some(1_000_000_000),
            ..PendingCall::default()
        };
        let calls = vec![
            (
                "transfer",
                call(DEPLOYER, d.usdx, scenario::token_transfer_calldata(GUARDIAN, e18(1))),
            ),
            (
                "v2-swap",
                call(
                    DEPLOYER,
                    d.pair,
                    scenario::swap_exact_in_calldata(d.usdx, e18(1_000), U256::ZERO, DEPLOYER),
                ),
            ),
            ("exploit", call(ATTACKER, attacker, scenario::attack_calldata())),
        ];
        (chain, Arc::new(sim), calls)
    });
    // Warm the cache: one run of each, off the async workers.
    for (name, c) in &calls {
        let (sim, c) = (Arc::clone(&sim), c.clone());
        let outcome =
            rt.block_on(async { tokio::task::spawn_blocking(move || sim.simulate(&c)).await });
        let outcome = outcome.expect("join").expect("simulates");
        assert!(outcome.success, "{name}: {:?}", outcome.error);
    }
    Some(Setup { rt, chain, sim, calls })
}

fn bench(c: &mut Criterion) {
    let Some(s) = setup() else { return };
    let misses = s.sim.cache().stats().misses;
    let mut group = c.benchmark_group("simulate");
    group.throughput(Throughput::Elements(1));
    for (name, call) in &s.calls {
        group.bench_function(format!("revm-warm/{name}"), |b| {
            b.iter(|| s.sim.simulate(call).expect("simulates"))
        });
    }
    assert_eq!(
        s.sim.cache().stats().misses,
        misses,
        "every measured run was answered by the cache"
    );
    for (name, call) in &s.calls {
        let params = serde_json::json!([
            {
                "from": call.from,
                "to": call.to,
                "data": call.input,
                "gas": format!("{:#x}", call.gas_limit),
            },
            "latest",
            {"tracer": "callTracer", "tracerConfig": {"withLog": true}}
        ]);
        let params = serde_json::value::to_raw_value(&params).expect("params");
        group.bench_function(format!("anvil-debug_traceCall/{name}"), |b| {
            b.iter(|| {
                let raw = s
                    .rt
                    .block_on(s.chain.provider.raw_request_dyn("debug_traceCall".into(), &params))
                    .expect("debug_traceCall");
                vigil_detect::trace::geth::parse_tree(raw.get()).expect("a call tree")
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1)).sample_size(30);
    targets = bench
}
criterion_main!(benches);

//! Detection throughput: normalised transactions through every detector, with 1M indicators
//! and 50 CEL rules, on one core.
//!
//! The workload is mainnet-shaped: mined blocks of ERC-20 transfers, plain ETH transfers,
//! Uniswap V2 swaps, approvals and flash-loan arbitrages, plus pending transactions; about 1 %
//! touch a flagged address and a few match rules. The 50 rules are the kind a protocol writes
//! (watch its contracts, functions, events, large values); `naive` wraps each rule so the
//! prefilter cannot index it, which is the cost of evaluating every rule on every transaction.
//!
//! `cargo bench -p vigil-detect --bench detect`

use std::hint::black_box;

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::{SolCall, SolEvent};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vigil_core::{B256, Category, EvmAddress, EvmChainId, Indicator};
use vigil_detect::config::ProtectedContract;
use vigil_detect::{
    Block, BlockRef, DetectConfig, Engine, IndicatorIndex, IndicatorMeta, Log, RuleSet, Transaction,
};

mod abi {
    alloy_sol_types::sol! {
        event Transfer(address indexed from, address indexed to, uint256 value);
        event Approval(address indexed owner, address indexed spender, uint256 value);
        event Swap(address indexed sender, uint256 amount0In, uint256 amount1In, uint256 amount0Out, uint256 amount1Out, address indexed to);
        event Sync(uint112 reserve0, uint112 reserve1);
        event FlashLoan(address indexed target, address initiator, address indexed asset, uint256 amount, uint8 interestRateMode, uint256 premium, uint16 indexed referralCode);
        function transfer(address to, uint256 amount);
        function approve(address spender, uint256 amount);
        function swapExactTokensForTokens(uint256 amountIn, uint256 amountOutMin, address[] path, address to, uint256 deadline);
    }
}

const CHAIN: EvmChainId = EvmChainId(1);
const INDICATORS: usize = 1_000_000;
const BLOCKS: u64 = 50;
const MINED_PER_BLOCK: usize = 180;
const PENDING_PER_BLOCK: usize = 20;

/// SplitMix64: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn address(&mut self) -> EvmAddress {
        let mut a = [0u8; 20];
        for chunk in a.chunks_mut(8) {
            let r = self.next().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
        EvmAddress(a)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn al(a: EvmAddress) -> Address {
    Address::from(a.0)
}

fn log(address: EvmAddress, data: alloy_primitives::LogData) -> Log {
    Log::new(address, data.topics().iter().map(|t| B256(t.0)).collect(), data.data)
}

fn transfer_log(token: EvmAddress, from: EvmAddress, to: EvmAddress, value: u64) -> Log {
    log(
        token,
        abi::Transfer { from: al(from), to: al(to), value: U256::from(value) }.encode_log_data(),
    )
}

struct Universe {
    users: Vec<EvmAddress>,
    tokens: Vec<EvmAddress>,
    pairs: Vec<EvmAddress>,
    routers: Vec<EvmAddress>,
    flagged: Vec<EvmAddress>,
    protected: Vec<EvmAddress>,
    pool: EvmAddress,
}

fn universe(rng: &mut Rng) -> Universe {
    Universe {
        users: (0..5_000).map(|_| rng.address()).collect(),
        tokens: (0..200).map(|_| rng.address()).collect(),
        pairs: (0..300).map(|_| rng.address()).collect(),
        routers: (0..5).map(|_| rng.address()).collect(),
        flagged: (0..1_000).map(|_| rng.address()).collect(),
        protected: (0..3).map(|_| rng.address()).collect(),
        pool: rng.address(),
    }
}

fn tx(rng: &mut Rng, u: &Universe, n: u64, block: Option<BlockRef>, index: u64) -> Transaction {
    let mut hash = [0u8; 32];
    hash[..8].copy_from_slice(&rng.next().to_le_bytes());
    hash[24..].copy_from_slice(&n.to_be_bytes());
    let mut from = *rng.pick(&u.users);
    if rng.chance(1) {
        from = *rng.pick(&u.flagged);
    }
    let kind = rng.next() % 100;
    let (to, value, input, logs): (EvmAddress, U256, Vec<u8>, Vec<Log>) = match kind {
        // ERC-20 transfer.
        0..=39 => {
            let token = *rng.pick(&u.tokens);
            let mut dest = *rng.pick(&u.users);
            if rng.chance(1) {
                dest = *rng.pick(&u.flagged);
            }
            if rng.chance(2) {
                dest = *rng.pick(&u.protected);
            }
            let amount = rng.next() % 1_000_000_000;
            let input = abi::transferCall { to: al(dest), amount: U256::from(amount) }.abi_encode();
            (token, U256::ZERO, input, vec![transfer_log(token, from, dest, amount)])
        }
        // Plain ETH transfer.
        40..=59 => {
            let wei = U256::from(rng.next() % 5_000) * U256::from(10u64.pow(16));
            (*rng.pick(&u.users), wei, Vec::new(), Vec::new())
        }
        // Uniswap V2 swap through a router.
        60..=84 => {
            let (t0, t1, pair) = (*rng.pick(&u.tokens), *rng.pick(&u.tokens), *rng.pick(&u.pairs));
            let (x, y) = (rng.next() % 1_000_000, rng.next() % 1_000_000);
            let input = abi::swapExactTokensForTokensCall {
                amountIn: U256::from(x),
                amountOutMin: U256::from(y),
                path: vec![al(t0), al(t1)],
                to: al(from),
                deadline: U256::from(2_000_000_000u64),
            }
            .abi_encode();
            let logs = vec![
                transfer_log(t0, from, pair, x),
                transfer_log(t1, pair, from, y),
                log(
                    pair,
                    abi::Sync {
                        reserve0: alloy_primitives::Uint::from(x * 100),
                        reserve1: alloy_primitives::Uint::from(y * 100),
                    }
                    .encode_log_data(),
                ),
                log(
                    pair,
                    abi::Swap {
                        sender: al(from),
                        amount0In: U256::from(x),
                        amount1In: U256::ZERO,
                        amount0Out: U256::ZERO,
                        amount1Out: U256::from(y),
                        to: al(from),
                    }
                    .encode_log_data(),
                ),
            ];
            (*rng.pick(&u.routers), U256::ZERO, input, logs)
        }
        // Approval.
        85..=94 => {
            let token = *rng.pick(&u.tokens);
            let spender = *rng.pick(&u.routers);
            let input = abi::approveCall { spender: al(spender), amount: U256::MAX }.abi_encode();
            let l = log(
                token,
                abi::Approval { owner: al(from), spender: al(spender), value: U256::MAX }
                    .encode_log_data(),
            );
            (token, U256::ZERO, input, vec![l])
        }
        // Flash-loan arbitrage: borrow, swap round trip, repay, keep 0.1 %.
        _ => {
            let (token, pair, bot) = (*rng.pick(&u.tokens), *rng.pick(&u.pairs), rng.address());
            let amount = 1_000_000_000u64;
            let logs = vec![
                transfer_log(token, u.pool, bot, amount),
                transfer_log(token, bot, pair, amount),
                transfer_log(token, pair, bot, amount + amount / 500),
                transfer_log(token, bot, u.pool, amount + amount / 2_000),
                log(
                    u.pool,
                    abi::FlashLoan {
                        target: al(bot),
                        initiator: al(bot),
                        asset: al(token),
                        amount: U256::from(amount),
                        interestRateMode: 0,
                        premium: U256::from(amount / 2_000),
                        referralCode: 0,
                    }
                    .encode_log_data(),
                ),
            ];
            (bot, U256::ZERO, vec![0x12, 0x34, 0x56, 0x78], logs)
        }
    };
    let pending = Transaction::pending(
        CHAIN,
        B256(hash),
        from,
        Some(to),
        value,
        n,
        Bytes::from(input),
        1_700_000_000 + n,
    );
    match block {
        Some(b) => pending.into_mined(b, index, true, 50_000, logs, None),
        None => pending,
    }
}

fn rules_toml(u: &Universe, naive: bool) -> String {
    let list =
        |v: &[EvmAddress]| v.iter().map(|a| format!("\"{a}\"")).collect::<Vec<_>>().join(", ");
    let mut s = format!(
        "[lists]\nwatchlist = [{}]\nrouters = [{}]\n\n",
        list(&u.flagged[..100]),
        list(&u.routers)
    );
    let mut exprs: Vec<String> = Vec::new();
    // 20 rules watching one protocol contract each (a token here) for large or odd calls.
    for (i, token) in u.tokens.iter().take(20).enumerate() {
        exprs.push(match i % 4 {
            0 => format!("tx.to == \"{token}\" && tx.value > 0.0"),
            1 => format!("tx.to == \"{token}\" && tx.call == \"approve\" && !(tx.from in routers)"),
            2 => format!("tx.to == \"{token}\" && tx.transfers.exists(t, t.amount > 999999000.0)"),
            _ => format!("tx.to == \"{token}\" && tx.input_size > 1000"),
        });
    }
    // 10 rules on function selectors.
    for sel in [
        "0xa9059cbb",
        "0x095ea7b3",
        "0x38ed1739",
        "0x42b0b77c",
        "0xab9c4b5d",
        "0x5c38449e",
        "0x490e6cbc",
        "0x7d5e81e2",
        "0x3659cfe6",
        "0xf2fde38b",
    ] {
        exprs.push(format!("tx.selector == \"{sel}\" && tx.to in watchlist"));
    }
    // 10 rules on events: 6 on one contract's events, 4 on rare events from anyone.
    for (i, token) in u.tokens[20..26].iter().enumerate() {
        let name = ["Transfer", "Approval", "Transfer", "Approval", "Transfer", "Transfer"][i];
        exprs.push(format!(
            "tx.events.exists(e, e.address == \"{token}\" && e.name == \"{name}\" && e.value > 5e8)"
        ));
    }
    exprs.push("tx.events.exists(e, e.name == \"FlashLoan\" && e.amount > 1e24)".into());
    exprs.push(
        "tx.events.exists(e, e.name == \"LiquidationCall\" && e.debt_to_cover > 1e24)".into(),
    );
    exprs.push("\"ProposalCreated\" in tx.event_names".into());
    exprs.push("tx.events.exists(e, e.name == \"ApprovalForAll\" && e.approved)".into());
    // 10 rules on large values and senders.
    for i in 0..5 {
        exprs.push(format!("tx.value > {}e18 && !tx.pending", 1_000 * (i + 1)));
    }
    for i in 0..5 {
        exprs.push(format!("tx.from in watchlist && tx.nonce >= {i}"));
    }
    assert_eq!(exprs.len(), 50);
    for (i, e) in exprs.iter().enumerate() {
        // `naive`: `(…) == true` hides every condition from the prefilter.
        let e = if naive { format!("({e}) == true") } else { e.clone() };
        s.push_str(&format!("[[rule]]\nname = \"r{i}\"\nexpression = '{e}'\n\n"));
    }
    s
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<f64>().ok()))
        .map_or(0.0, |pages| pages * 4096.0 / (1024.0 * 1024.0))
}

fn index(u: &Universe, rng: &mut Rng) -> IndicatorIndex {
    let before = rss_mib();
    let mut idx = IndicatorIndex::with_capacity(INDICATORS);
    let labels = ["Fake_Phishing", "Exploiter", "Sanctioned", "Drainer"];
    for (i, a) in u.flagged.iter().enumerate() {
        let meta = IndicatorMeta::new(80, "feed:bench")
            .with_label(labels[i % 4])
            .with_category(Category::Phishing);
        idx.insert(&Indicator::address(*a), &meta).unwrap();
    }
    while idx.len() < INDICATORS {
        let meta = IndicatorMeta::new(70, "feed:bulk").with_label(*rng.pick(&labels));
        idx.insert(&Indicator::address(rng.address()), &meta).unwrap();
    }
    eprintln!("indicator index: {} entries, ~{:.0} MiB resident", idx.len(), rss_mib() - before);
    idx
}

fn workload(u: &Universe, rng: &mut Rng) -> (Vec<Block>, Vec<Vec<Transaction>>) {
    let mut n = 0;
    let mut blocks = Vec::new();
    let mut pendings = Vec::new();
    for b in 0..BLOCKS {
        let header = BlockRef {
            number: 20_000_000 + b,
            hash: B256([b as u8; 32]),
            timestamp: 1_700_000_000 + 12 * b,
        };
        let txs = (0..MINED_PER_BLOCK)
            .map(|i| {
                n += 1;
                tx(rng, u, n, Some(header), i as u64)
            })
            .collect();
        blocks.push(Block {
            chain: CHAIN,
            header,
            parent_hash: B256::ZERO,
            transactions: txs,
            balances: Vec::new(),
        });
        pendings.push(
            (0..PENDING_PER_BLOCK)
                .map(|_| {
                    n += 1;
                    tx(rng, u, n, None, 0)
                })
                .collect(),
        );
    }
    (blocks, pendings)
}

/// Ten token contracts declared with an ERC-20 ABI, each watched by the two rules
/// `vigil import oz-monitor` writes for a function and an event condition with arguments.
fn abi_rules_toml(u: &Universe) -> String {
    const ERC20: &str = r#"[{"type":"function","name":"transfer","stateMutability":"nonpayable","inputs":[{"name":"to","type":"address"},{"name":"amount","type":"uint256"}],"outputs":[]},{"type":"event","name":"Transfer","anonymous":false,"inputs":[{"name":"from","type":"address","indexed":true},{"name":"to","type":"address","indexed":true},{"name":"value","type":"uint256","indexed":false}]}]"#;
    let mut s = String::new();
    for (i, token) in u.tokens.iter().skip(100).take(10).enumerate() {
        let t = token.to_string().to_lowercase();
        s.push_str(&format!(
            "\n[[contract]]\naddress = \"{t}\"\nabi_json = '{ERC20}'\n\n[[rule]]\nname = \"abi-call-{i}\"\n\
             expression = '!tx.pending && (tx.to != null && tx.to in [\"{t}\"] && tx.function != null && \
             tx.function.signature in [\"transfer(address,uint256)\"] && tx.function.args[\"amount\"] > 1e24)'\n\
             \n[[rule]]\nname = \"abi-event-{i}\"\n\
             expression = '!tx.pending && tx.abi_events.exists(e, e.address in [\"{t}\"] && \
             e.signature in [\"Transfer(address,address,uint256)\"] && e.args[\"value\"] > 1e24)'\n\
             [rule.metadata]\nvalue = '(tx.abi_events.filter(e, e.address in [\"{t}\"]).map(e, e.texts[\"value\"]) + [\"\"])[0]'\n"
        ));
    }
    s
}

fn engine(u: &Universe, rules: &str, index: IndicatorIndex) -> Engine {
    let config = DetectConfig {
        protected: u
            .protected
            .iter()
            .enumerate()
            .map(|(i, a)| ProtectedContract {
                name: format!("P{i}"),
                address: *a,
                max_loss_bps: None,
            })
            .collect(),
        ..DetectConfig::default()
    };
    let rules = RuleSet::load([("bench.toml", rules)]).expect("bench rules load");
    Engine::new(&config, rules).with_indicators(index)
}

fn bench(c: &mut Criterion) {
    let mut rng = Rng(7);
    let u = universe(&mut rng);
    let (blocks, pendings) = workload(&u, &mut rng);
    let total = blocks.iter().map(|b| b.transactions.len()).sum::<usize>()
        + pendings.iter().map(Vec::len).sum::<usize>();

    let mut group = c.benchmark_group("detect");
    group.throughput(Throughput::Elements(total as u64));
    group.sample_size(20);
    let variants = [
        ("1M-indicators-50-rules", rules_toml(&u, false)),
        ("1M-indicators-no-rules", String::new()),
        ("1M-indicators-50-rules-naive", rules_toml(&u, true)),
        ("1M-indicators-50-rules-20-abi-rules", rules_toml(&u, false) + &abi_rules_toml(&u)),
    ];
    let mut first_pass_alerts = std::collections::HashMap::new();
    for (name, rules) in variants {
        let mut engine = engine(&u, &rules, index(&u, &mut Rng(11)));
        let plan = RuleSet::load([("bench.toml", rules.as_str())]).unwrap();
        let always = plan.plan().iter().filter(|(_, p)| p == "every transaction").count();
        eprintln!("{name}: {} rules, {always} run on every transaction", plan.len());
        let mut alerts = Vec::new();
        // One pass first: the alerts a fresh engine raises on this workload.
        for (block, pending) in blocks.iter().zip(&pendings) {
            for tx in pending {
                engine.process_tx_into(tx, &mut alerts);
            }
            alerts.extend(engine.process_block(block));
        }
        let first_pass = alerts.len();
        eprintln!("{name}: {first_pass} alerts on {total} transactions");
        if let Some(expected) = first_pass_alerts.get(name.trim_end_matches("-naive")) {
            assert_eq!(first_pass, *expected, "the prefilter must not change what fires");
        }
        first_pass_alerts.insert(name.to_owned(), first_pass);
        alerts.clear();
        group.bench_function(name, |b| {
            b.iter(|| {
                for (block, pending) in blocks.iter().zip(&pendings) {
                    for tx in pending {
                        engine.process_tx_into(tx, &mut alerts);
                    }
                    alerts.extend(engine.process_block(block));
                }
                black_box(alerts.len());
                alerts.clear();
            })
        });
        drop(engine);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

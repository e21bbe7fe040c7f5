//! Issue 13 end to end on a real chain with a 1 s block time: a node watches anvil's mempool,
//! pre-executes pending transactions with revm, and when one would drain a protected
//! contract it sends the guardian's pause at once, outbidding the exploit, so anvil (which
//! orders a block by fee) mines the pause first and the exploit reverts in the same block.
//! Three attack shapes against three protected contracts: the flash-loan oracle manipulation
//! (LendingVault), a reentrancy drain (EtherVault) and an access-control takeover
//! (TakeoverVault: a stranger calls its unprotected `initialize`, then sweeps it). Before them,
//! 1,000 benign pending transactions (transfers, swaps, deposits, withdrawals, flash-loan
//! arbitrage), all simulated, pause nothing. With automining instead (no mempool wait) the
//! same attacks are caught on the mined block and paused in the next.
//!
//! Run them alone with `scripts/test.sh pre_execution`.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, Bytes, U256, address};
use alloy::providers::Provider as _;
use alloy::rpc::types::TransactionRequest;
use vigil_chain::scenario::{
    self, ATTACKER, DEPLOYER, Deployment, DevChain, GUARDIAN, GUARDIAN_DEV_KEY, Targets, e18,
};

use crate::harness::{TestNode, anvil, eventually};

const GWEI: u128 = 1_000_000_000;

/// Anvil's development accounts #4–#9: the benign users.
const USERS: [Address; 6] = [
    address!("15d34AAf54267DB7D7c367839AAf71A00a2C6A65"),
    address!("9965507D1a55bcC2695C58ba16FB37d819B0A4dc"),
    address!("976EA74026E726554dB657fA54763abd0C3a0aa9"),
    address!("14dC79964da2C08b23698B3D3cc7Ca32193d9955"),
    address!("23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f"),
    address!("a0Ee7A142d267C1f36714E4a8F75612F20a79720"),
];

/// One attack: who sends what to whom, and the protected balance it must not move.
struct Attack {
    name: &'static str,
    protocol: &'static str,
    vault: Address,
    to: Address,
    value: U256,
    input: Vec<u8>,
    gas: u64,
}

struct World {
    rt: tokio::runtime::Runtime,
    chain: DevChain,
    d: Deployment,
    t: Targets,
    node: TestNode,
    attacks: Vec<Attack>,
    arbitrageur: Address,
}

fn protocol_toml(node: &TestNode, id: &str, contract: Address) -> String {
    let acct = |n: &str| node.key(n).account_id().to_string();
    format!(
        "id = \"{id}\"\nname = \"{id}\"\nchain = 31337\ncontracts = [\"{contract}\"]\n\
         guardians = [\"{}\", \"{}\", \"{}\"]\nthreshold = 2\nprotected_value = \"1000000\"\n\
         [policy]\nmin_severity = \"high\"\nmin_confidence = 60\nmonitors = [\"{}\"]\n\
         [policy.action]\ntarget = \"{contract}\"\ncalldata = \"0x8456cb59\"\n\
         reset_calldata = \"0x3f4ba83a\"\n",
        acct("bob"),
        acct("carol"),
        acct("dave"),
        acct("node"),
    )
}

/// A chain with the three protected contracts funded, the attackers deployed, the benign
/// users funded, and a node watching it that protects all three.
fn world() -> Option<World> {
    let anvil = anvil()?;
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let chain = rt.block_on(DevChain::start(&anvil, 0)).unwrap();
    let (d, t, attacks, arbitrageur) = rt.block_on(async {
        let d = scenario::deploy(&chain).await.unwrap();
        let t = scenario::deploy_targets(&chain, &d).await.unwrap();
        scenario::fund_attacker(&chain).await.unwrap();
        let flash = scenario::deploy_attacker(&chain, &d).await.unwrap();
        let reentrant = scenario::deploy_reentrancy_attacker(&chain, &t).await.unwrap();
        let takeover = scenario::deploy_takeover_attacker(&chain, &t).await.unwrap();
        // The benign users: tokens, approvals, and their own deposits to withdraw later.
        for user in USERS {
            chain.impersonate(user).await.unwrap();
            for (token, amount) in [(d.usdx, e18(20_000)), (d.wethx, e18(10))] {
                let mint = scenario::mint_calldata(user, amount);
                chain.exec(DEPLOYER, Some(token), U256::ZERO, mint).await.unwrap();
            }
            for (token, spender) in
                [(d.usdx, d.pair), (d.wethx, d.pair), (d.usdx, d.vault), (d.usdx, t.takeover_vault)]
            {
                let approve = scenario::approve_calldata(spender, U256::MAX);
                chain.exec(user, Some(token), U256::ZERO, approve).await.unwrap();
            }
            let deposit = scenario::deposit_calldata(e18(1_000));
            chain.exec(user, Some(d.vault), U256::ZERO, deposit.clone()).await.unwrap();
            chain.exec(user, Some(t.takeover_vault), U256::ZERO, deposit).await.unwrap();
            let eth = scenario::ether_deposit_calldata();
            chain.exec(user, Some(t.ether_vault), e18(1), eth).await.unwrap();
        }
        let arbitrageur = scenario::deploy_arbitrageur(&chain, &d, &t, USERS[0]).await.unwrap();
        let attacks = vec![
            Attack {
                name: "flash-loan oracle manipulation",
                protocol: "lendingvault",
                vault: d.vault,
                to: flash,
                value: U256::ZERO,
                input: scenario::attack_calldata(),
                gas: 3_000_000,
            },
            Attack {
                name: "reentrancy drain",
                protocol: "ethervault",
                vault: t.ether_vault,
                to: reentrant,
                value: scenario::REENTRANCY_BAIT,
                input: scenario::reentrancy_attack_calldata(),
                gas: scenario::REENTRANCY_ATTACK_GAS,
            },
            Attack {
                name: "access-control takeover",
                protocol: "takeovervault",
                vault: t.takeover_vault,
                to: takeover,
                value: U256::ZERO,
                input: scenario::takeover_attack_calldata(),
                gas: 1_000_000,
            },
        ];
        (d, t, attacks, arbitrageur)
    });

    // The node: protects the three contracts, simulates every pending transaction.
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(
        rules.path().join("detect.toml"),
        format!(
            "cooldown_secs = 0\n\
             [[protected]]\nname = \"LendingVault\"\naddress = \"{}\"\n\
             [[protected]]\nname = \"EtherVault\"\naddress = \"{}\"\n\
             [[protected]]\nname = \"TakeoverVault\"\naddress = \"{}\"\n\
             [outflow]\nwindow_secs = 3600\nmax_outflow_bps = 2000\n",
            d.vault, t.ether_vault, t.takeover_vault
        ),
    )
    .unwrap();
    let extra = format!(
        "[watch]\nrpc = \"{}\"\nrules_dir = \"{}\"\npoll_interval = 100\n\
         [watch.simulate]\nselect = [\"all\"]\n\
         [respond.onchain]\nrpc = \"{}\"\nkey = \"keys/guardian.evm\"\n",
        chain.ws(),
        rules.path().display(),
        chain.http()
    );
    let node = TestNode::start_with_files(150, true, &extra, &[], |dir| {
        vigil_node::keyfile::write_evm_key(&dir.join("keys/guardian.evm"), GUARDIAN_DEV_KEY)
            .unwrap();
    });
    // The rules directory must outlive the node's start only (it is read once).
    let key = node.key_path("alice").to_string_lossy().into_owned();
    for (id, contract) in [
        ("lendingvault", d.vault),
        ("ethervault", t.ether_vault),
        ("takeovervault", t.takeover_vault),
    ] {
        let file = node.dir.path().join(format!("{id}.toml"));
        std::fs::write(&file, protocol_toml(&node, id, contract)).unwrap();
        node.cli_json(&["protocol", "register", "--file", file.to_str().unwrap(), "--key", &key]);
    }
    drop(rules);
    Some(World { rt, chain, d, t, node, attacks, arbitrageur })
}

impl World {
    /// The protected balance an attack would take: ETH for the EtherVault, USDX otherwise.
    fn protected_balance(&self, vault: Address) -> U256 {
        self.rt.block_on(async {
            if vault == self.t.ether_vault {
                self.chain.provider.get_balance(vault).await.unwrap()
            } else {
                self.chain.token_balance(self.d.usdx, vault).await.unwrap()
            }
        })
    }

    /// Waits for the next block, so a transaction sent now waits in the mempool for most of
    /// a block time.
    fn next_block(&self) -> u64 {
        let start = self.rt.block_on(self.chain.head()).unwrap();
        let mut head = start;
        assert!(eventually(Duration::from_secs(10), || {
            head = self.rt.block_on(self.chain.head()).unwrap();
            head > start
        }));
        head
    }

    fn receipt(&self, hash: B256, within: Duration) -> alloy::rpc::types::TransactionReceipt {
        let mut receipt = None;
        eventually(within, || {
            receipt = self.rt.block_on(self.chain.provider.get_transaction_receipt(hash)).unwrap();
            receipt.is_some()
        });
        receipt.unwrap_or_else(|| {
            let pool: serde_json::Value = self
                .rt
                .block_on(self.chain.provider.raw_request("txpool_inspect".into(), ()))
                .unwrap_or_default();
            let head = self.rt.block_on(self.chain.head()).unwrap_or(0);
            let pool = pool.to_string();
            panic!(
                "{hash} was not mined (head {head}); txpool: {}; node log:\n{}",
                &pool[..pool.len().min(3000)],
                self.node.log()
            )
        })
    }

    /// The guardian's transactions in blocks `from..=to`, as (block, index, hash).
    fn guardian_txs(&self, from: u64, to: u64) -> Vec<(u64, u64, B256)> {
        self.rt.block_on(async {
            let mut out = Vec::new();
            for n in from..=to {
                let Some(block) =
                    self.chain.provider.get_block_by_number(n.into()).full().await.unwrap()
                else {
                    break; // not mined yet
                };
                for (i, tx) in block.transactions.txns().enumerate() {
                    if tx.inner.signer() == GUARDIAN {
                        out.push((n, i as u64, *tx.inner.tx_hash()));
                    }
                }
            }
            out
        })
    }

    fn send(&self, from: Address, to: Address, value: U256, input: Vec<u8>, gas: u64) -> B256 {
        let req = TransactionRequest::default()
            .from(from)
            .to(to)
            .value(value)
            .input(Bytes::from(input).into())
            .gas_limit(gas)
            .max_fee_per_gas(50 * GWEI)
            .max_priority_fee_per_gas(2 * GWEI);
        let pending = self.rt.block_on(self.chain.provider.send_transaction(req)).unwrap();
        *pending.tx_hash()
    }

    fn trip_reason(&self, protocol: &str) -> serde_json::Value {
        let shown = self.node.cli_json(&["protocol", "show", protocol]);
        shown["breaker"]["reason"].clone()
    }

    /// The summary of the report the protocol's fast-path trip filed.
    fn trip_summary(&self, protocol: &str) -> String {
        let reason = self.trip_reason(protocol);
        let id = reason["report"].as_str().unwrap_or_else(|| panic!("no report in {reason}"));
        let shown = self.node.cli_json(&["report", "show", id]);
        shown["report"]["summary"].as_str().unwrap_or_default().to_owned()
    }

    fn is_tripped(&self, protocol: &str) -> bool {
        self.node.cli_json(&["breaker", "show", protocol])[0]["tripped"] == true
    }
}

/// 1,000 benign pending transactions across eight blocks, every one simulated: nothing trips,
/// nothing is paused.
fn benign_traffic(w: &World) {
    w.next_block();
    let first = w.rt.block_on(w.chain.head()).unwrap();
    let started = Instant::now();
    let mut last = B256::ZERO;
    for i in 0..1_000usize {
        let user = USERS[i % USERS.len()];
        let other = USERS[(i + 1) % USERS.len()];
        let (to, value, input, gas) = match i % 10 {
            0 => (w.d.usdx, U256::ZERO, scenario::token_transfer_calldata(other, e18(1)), 100_000),
            1 => (
                w.d.pair,
                U256::ZERO,
                scenario::swap_exact_in_calldata(w.d.usdx, e18(10), U256::ZERO, user),
                200_000,
            ),
            2 => (
                w.d.pair,
                U256::ZERO,
                scenario::swap_exact_in_calldata(
                    w.d.wethx,
                    e18(1) / U256::from(100),
                    U256::ZERO,
                    user,
                ),
                200_000,
            ),
            3 => (
                w.t.ether_vault,
                e18(1) / U256::from(100),
                scenario::ether_deposit_calldata(),
                100_000,
            ),
            4 => (
                w.t.ether_vault,
                U256::ZERO,
                scenario::ether_withdraw_calldata(e18(1) / U256::from(1_000)),
                100_000,
            ),
            5 => (w.d.vault, U256::ZERO, scenario::deposit_calldata(e18(1)), 200_000),
            6 => (w.d.vault, U256::ZERO, scenario::withdraw_calldata(e18(1)), 200_000),
            7 => (w.t.takeover_vault, U256::ZERO, scenario::deposit_calldata(e18(1)), 200_000),
            8 => (w.t.takeover_vault, U256::ZERO, scenario::withdraw_calldata(e18(1)), 200_000),
            // A flash-loan arbitrage between the two pairs, by its owner.
            _ if i % 50 == 9 => {
                (w.arbitrageur, U256::ZERO, scenario::arbitrage_calldata(e18(200)), 1_000_000)
            }
            _ => (w.d.usdx, U256::ZERO, scenario::approve_calldata(w.d.vault, U256::MAX), 100_000),
        };
        let from = if i % 50 == 9 { USERS[0] } else { user };
        last = w.send(from, to, value, input, gas);
        // 125 per block: anvil 1.7.1 drops what does not fit in a full block instead of
        // keeping it for the next one.
        if i % 125 == 124 {
            w.next_block();
        }
    }
    let sent = started.elapsed();
    let receipt = w.receipt(last, Duration::from_secs(60));
    // Give the node a moment past the last block.
    w.next_block();
    let end = w.rt.block_on(w.chain.head()).unwrap();
    eprintln!(
        "benign: 1,000 pending transactions sent in {sent:?}, mined in blocks {}..={} (last in {:?})",
        first + 1,
        end,
        receipt.block_number
    );
    assert!(w.guardian_txs(first, end).is_empty(), "benign traffic made the guardian send a pause");
    for a in &w.attacks {
        assert!(!w.is_tripped(a.protocol), "benign traffic tripped {}", a.protocol);
        assert!(!w.rt.block_on(w.chain.is_paused(a.vault)).unwrap(), "{} paused", a.protocol);
    }
    // Every one was simulated (`select = ["all"]`), and the node counts them.
    std::thread::sleep(Duration::from_millis(1_200));
    let metrics =
        reqwest::blocking::get(format!("{}/metrics", w.node.url)).unwrap().text().unwrap();
    let count = |outcome: &str| -> u64 {
        metrics
            .lines()
            .find(|l| {
                l.starts_with(&format!("vigil_watch_simulations_total{{reason=\"{outcome}\"}}"))
            })
            .and_then(|l| l.split_whitespace().last()?.parse().ok())
            .unwrap_or(0)
    };
    let failed: u64 = ["failed_state", "failed_invalid", "failed_timeout", "overloaded"]
        .iter()
        .map(|o| count(o))
        .sum();
    eprintln!(
        "benign: {} simulated ({} would revert), {failed} failed",
        count("simulated"),
        count("reverted")
    );
    assert!(count("simulated") >= 1_000, "{metrics}");
    assert_eq!(failed, 0, "{metrics}");
}

#[test]
fn pre_execution_stops_three_attack_shapes_in_the_same_block_and_benign_traffic_pauses_nothing() {
    let _timed = crate::harness::one_timed_at_a_time();
    let Some(w) = world() else { return };
    w.rt.block_on(w.chain.set_block_time(1)).unwrap();
    benign_traffic(&w);

    for a in &w.attacks {
        let before = w.protected_balance(a.vault);
        assert!(!before.is_zero());
        // Right after a block: the exploit waits in the mempool for up to a second.
        w.next_block();
        let sent = Instant::now();
        let exploit = w.send(ATTACKER, a.to, a.value, a.input.clone(), a.gas);
        let receipt = w.receipt(exploit, Duration::from_secs(15));
        let block = receipt.block_number.unwrap();
        let index = receipt.transaction_index.unwrap();
        let pauses = w.guardian_txs(block, block);
        let Some(&(_, pause_index, pause)) = pauses.first() else {
            panic!(
                "{}: no pause in the exploit's block {block}; trip reason {}; node log:\n{}",
                a.name,
                w.trip_reason(a.protocol),
                w.node.log()
            );
        };
        assert!(
            pause_index < index,
            "{}: the pause (#{pause_index}) is after the exploit (#{index})",
            a.name
        );
        assert!(!receipt.status(), "{}: the exploit succeeded in block {block}", a.name);
        assert!(
            w.receipt(pause, Duration::from_secs(1)).status(),
            "{}: the pause reverted",
            a.name
        );
        assert_eq!(w.protected_balance(a.vault), before, "{}: the protected balance moved", a.name);
        assert!(w.rt.block_on(w.chain.is_paused(a.vault)).unwrap());
        // The fast-path trip on the ledger carries the evidence.
        assert!(eventually(Duration::from_secs(10), || w.is_tripped(a.protocol)));
        let reason = w.trip_reason(a.protocol);
        assert_eq!(reason["type"], "fast_path", "{reason}");
        let summary = w.trip_summary(a.protocol);
        assert!(
            summary.contains(&format!("{exploit}")),
            "the report names the pending exploit: {summary}"
        );
        assert!(summary.contains("pre-execution"), "{summary}");
        assert!(summary.contains("simulated trace 0x"), "{summary}");
        eprintln!(
            "{}: caught by pre-execution; pause #{pause_index} and exploit #{index} (reverted) in block {block}, \
             {:?} after the exploit was sent; balance unchanged at {before}",
            a.name,
            sent.elapsed()
        );
    }
}

#[test]
fn pre_execution_with_automining_falls_back_to_the_mined_block_and_pauses_in_the_next() {
    let _timed = crate::harness::one_timed_at_a_time();
    let Some(w) = world() else { return };
    w.rt.block_on(w.chain.set_automine(true)).unwrap();
    for a in &w.attacks {
        let exploit = w.send(ATTACKER, a.to, a.value, a.input.clone(), a.gas);
        let receipt = w.receipt(exploit, Duration::from_secs(10));
        let block = receipt.block_number.unwrap();
        assert!(receipt.status(), "{}: with automining the exploit is mined at once", a.name);
        assert!(
            eventually(Duration::from_secs(20), || !w.guardian_txs(block, block + 1).is_empty()),
            "{}: no pause after the mined exploit; node log:\n{}",
            a.name,
            w.node.log()
        );
        let (pause_block, _, _) = w.guardian_txs(block, block + 1)[0];
        assert_eq!(pause_block, block + 1, "{}: paused in the block after the exploit", a.name);
        assert!(w.rt.block_on(w.chain.is_paused(a.vault)).unwrap());
        assert!(eventually(Duration::from_secs(10), || w.is_tripped(a.protocol)));
        let summary = w.trip_summary(a.protocol);
        let path = if summary.contains("[pre-execution on the state") {
            "pre-execution (too late: automining had already mined it)"
        } else {
            "the mined block"
        };
        let detector = summary.split(']').next().unwrap_or_default().trim_start_matches('[');
        eprintln!(
            "{}: exploit mined in block {block}, caught by {path} (detector {detector}), paused in block {pause_block}",
            a.name
        );
    }
}

//! Issue 6 end to end on a real chain: a Pausable vault holding funds is registered with 2-of-3
//! guardians and a policy naming this node as monitor; an exploit is sent; the node detects it,
//! trips the breaker on the fast path and sends the pause transaction; a second exploit reverts
//! on chain; one guardian cannot reset; two can; the unpause lands and the vault works again.

use std::time::Duration;

use alloy::primitives::U256;
use vigil_chain::scenario::{
    self, ATTACKER, DEPLOYER, DevChain, GUARDIAN_DEV_KEY, attack_calldata, e18, withdraw_calldata,
};

use crate::harness::{TestNode, anvil, eventually};

/// Revert data of OpenZeppelin Pausable's `EnforcedPause()`.
const ENFORCED_PAUSE: &str = "d93c0665";

#[test]
fn an_exploit_is_detected_paused_on_chain_and_reset_only_by_two_guardians() {
    let _timed = crate::harness::one_timed_at_a_time();
    let Some(anvil) = anvil() else { return };
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let chain = rt.block_on(DevChain::start(&anvil, 0)).unwrap();
    let d = rt.block_on(scenario::deploy(&chain)).unwrap();
    // Blocks every 250 ms: pending transactions wait up to one block.
    let miner = {
        let provider = chain.provider.clone();
        rt.spawn(async move {
            use alloy::providers::Provider as _;
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let _: Result<String, _> = provider.raw_request("evm_mine".into(), ()).await;
            }
        })
    };

    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/../chain/testdata/rules");
    let extra = format!(
        "[watch]\nrpc = \"{}\"\nrules_dir = \"{rules}\"\npoll_interval = 100\n\
         [respond.onchain]\nrpc = \"{}\"\nkey = \"keys/guardian.evm\"\nprotocols = [\"lendingvault\"]\n",
        chain.ws(),
        chain.http()
    );
    // The guardian key must exist before the node starts.
    let node = TestNode::start_with_files(150, true, &extra, &[], |dir| {
        vigil_node::keyfile::write_evm_key(&dir.join("keys/guardian.evm"), GUARDIAN_DEV_KEY)
            .unwrap();
    });
    let key = |n: &str| node.key_path(n).to_string_lossy().into_owned();
    let id = |n: &str| node.key(n).account_id().to_string();

    // Register the vault: guardians bob, carol, dave (2 of 3); this node is the monitor.
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/examples/protocol.toml"
    ))
    .unwrap();
    let spec = template
        .replace("<guardian account 1>", &id("bob"))
        .replace("<guardian account 2>", &id("carol"))
        .replace("<guardian account 3>", &id("dave"))
        .replace("<monitor account>", &id("node"))
        .replace("min_confidence = 60", "min_confidence = 50");
    let file = node.dir.path().join("protocol.toml");
    std::fs::write(&file, spec).unwrap();
    node.cli_json(&[
        "protocol",
        "register",
        "--file",
        file.to_str().unwrap(),
        "--key",
        &key("alice"),
    ]);

    // The attack: a fresh attacker contract drains the vault with a flash loan.
    rt.block_on(scenario::fund_attacker(&chain)).unwrap();
    let attacker = rt.block_on(scenario::deploy_attacker(&chain, &d)).unwrap();
    let exploit = rt
        .block_on(chain.send(ATTACKER, Some(attacker), U256::ZERO, attack_calldata(), 3_000_000))
        .unwrap();

    // Vigil pauses the vault on chain and records the trip on the ledger.
    let paused =
        eventually(Duration::from_secs(30), || rt.block_on(chain.is_paused(d.vault)).unwrap());
    assert!(paused, "the vault was not paused; node log:\n{}", node.log());
    assert!(eventually(Duration::from_secs(10), || node.cli_json(&[
        "breaker",
        "show",
        "lendingvault"
    ])[0]["tripped"]
        == true));
    // The pause landed within one block of the exploit (anvil answers `paused()` from its
    // pending state, so wait for the guardian's transaction to be mined).
    let (exploit_block, pause_block) = rt.block_on(async {
        use alloy::providers::Provider as _;
        let receipt = chain
            .provider
            .get_transaction_receipt(alloy::primitives::B256::from(exploit.0))
            .await
            .unwrap()
            .unwrap();
        let exploit_block = receipt.block_number.unwrap();
        for _ in 0..40 {
            let head = chain.head().await.unwrap();
            for n in exploit_block.saturating_sub(1)..=head {
                let block =
                    chain.provider.get_block_by_number(n.into()).full().await.unwrap().unwrap();
                if block.transactions.txns().any(|t| t.inner.signer() == scenario::GUARDIAN) {
                    return (exploit_block, n);
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no pause transaction from the guardian was mined");
    });
    eprintln!("exploit mined in block {exploit_block}, pause in block {pause_block}");
    assert!(pause_block <= exploit_block + 1, "pause in {pause_block}, exploit in {exploit_block}");
    let breaker = node.cli_json(&["protocol", "show", "lendingvault"]);
    assert_eq!(breaker["breaker"]["reason"]["type"], "fast_path", "{breaker}");
    assert_eq!(breaker["breaker"]["by"], id("node"));

    // A second exploit now reverts with EnforcedPause, although the vault has funds again.
    rt.block_on(scenario::refill_vault(&chain, &d, e18(500_000))).unwrap();
    let simulated = rt.block_on(chain.simulate(ATTACKER, attacker, attack_calldata()));
    let err = simulated.expect_err("the second exploit must revert").to_string();
    assert!(err.contains(ENFORCED_PAUSE) || err.to_lowercase().contains("enforcedpause"), "{err}");
    let second = rt
        .block_on(chain.send(ATTACKER, Some(attacker), U256::ZERO, attack_calldata(), 3_000_000))
        .unwrap();
    let receipt = {
        use alloy::providers::Provider as _;
        let mut r = None;
        eventually(Duration::from_secs(10), || {
            r = rt
                .block_on(
                    chain.provider.get_transaction_receipt(alloy::primitives::B256::from(second.0)),
                )
                .unwrap();
            r.is_some()
        });
        r.expect("the second exploit was mined")
    };
    assert!(!receipt.status(), "the second exploit succeeded on a paused vault");

    // One guardian cannot reset; two can, and the node unpauses the vault.
    node.cli_json(&["breaker", "approve-reset", "lendingvault", "--key", &key("bob")]);
    std::thread::sleep(Duration::from_millis(600));
    assert!(rt.block_on(chain.is_paused(d.vault)).unwrap(), "one guardian must not unpause");
    assert_eq!(node.cli_json(&["breaker", "show", "lendingvault"])[0]["tripped"], true);
    node.cli_json(&["breaker", "approve-reset", "lendingvault", "--key", &key("carol")]);
    let unpaused =
        eventually(Duration::from_secs(15), || !rt.block_on(chain.is_paused(d.vault)).unwrap());
    assert!(unpaused, "the vault was not unpaused; node log:\n{}", node.log());

    // The vault works again: the lender withdraws.
    rt.block_on(chain.exec(DEPLOYER, Some(d.vault), U256::ZERO, withdraw_calldata(e18(1_000))))
        .unwrap();

    // Latency from detection to the pause transaction being accepted, as the node measured it.
    let metrics = reqwest::blocking::get(format!("{}/metrics", node.url)).unwrap().text().unwrap();
    let line = |name: &str| {
        metrics.lines().find(|l| l.starts_with(name)).map(str::to_owned).unwrap_or_default()
    };
    let count = line("vigil_detection_to_pause_sent_seconds_count");
    let sum = line("vigil_detection_to_pause_sent_seconds_sum");
    assert!(count.ends_with(" 1"), "one pause was sent: {count}");
    eprintln!("detection → pause sent: {sum} ({count}); exploit tx {exploit}");
    assert!(
        line("vigil_alerts_total").split_whitespace().last().unwrap_or("0").parse::<u64>().unwrap()
            >= 1
    );
    // The watch traces blocks with anvil's call tracer, and says so.
    assert_eq!(
        line("vigil_watch_trace_source{source=\"call_tracer\"}"),
        "vigil_watch_trace_source{source=\"call_tracer\"} 1",
        "{metrics}"
    );
    assert!(line("vigil_watch_trace_source{source=\"parity\"}").ends_with(" 0"));
    assert_eq!(node.cli_json(&["status"])["watch"]["trace_source"], "call_tracer");
    let status = String::from_utf8_lossy(&node.cli(&["status"]).stdout).into_owned();
    assert!(status.contains("watch      traces from call_tracer"), "{status}");
    miner.abort();
}

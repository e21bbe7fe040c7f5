//! Issue 18 end to end: collective immunity between two protocols that share nothing but the
//! Vigil network.
//!
//! Two `vigil node` processes form a 2-validator testnet (BFT and gossip on 127.0.0.1). Each
//! protects its own protocol on its own anvil chain: A and B run the same lending-vault code at
//! different addresses, with different ledger guardians and different on-chain guardians, and
//! each node watches only its own chain. An attacker drains A through the flash-loan oracle
//! manipulation; A's node catches it (pre-executing the pending exploit), pauses A, and its
//! alert carries the fingerprint of the attack's call tree. B's node, which never sees chain A,
//! loads that fingerprint provisionally from the gossiped alert (A's node is a monitor a
//! registered protocol authorises). Then a second attacker, from a new EOA, attacks B with a
//! copycat contract of its own (other code, other entry point, other address): B's node runs
//! none of the heuristic detectors, only the shared fingerprint, and still pauses B in the
//! exploit's block, ahead of it. Finally the report A's fast-path trip opened is confirmed on
//! the ledger and B holds the fingerprint as in force.
//!
//! Measured and printed: A's alert → B armed (gossip path), and verdict → in force (ledger
//! path). Run it alone with `scripts/test.sh immunity`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, Bytes, U256, address};
use alloy::providers::Provider as _;
use alloy::rpc::types::TransactionRequest;
use serde_json::Value;
use vigil_chain::scenario::{self, ATTACKER, DEPLOYER, DevChain, GUARDIAN, GUARDIAN_DEV_KEY, e18};

use crate::harness::{anvil, eventually, vigil};
use crate::testnet::{Validator, tail, watch_alerts};

const GWEI: u128 = 1_000_000_000;
/// Protocol A's chain.
const CHAIN_A: u64 = 31_337;
/// Protocol B's chain: another chain id, so neither node's executor acts on the other's.
const CHAIN_B: u64 = 31_338;
/// Anvil's development account #3: protocol B's on-chain guardian.
const GUARDIAN_B: Address = address!("90F79bf6EB2c4f870365E785982E1f101E93b906");
const GUARDIAN_B_KEY: &str = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";
/// The second attacker: a fresh EOA.
const COPYCAT: Address = address!("c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0");

/// Runs the CLI against `node` and parses its `--json` output.
pub(crate) fn cli_json(node: &Validator, args: &[&str]) -> Value {
    let out = vigil().args(["--json", "--node", &node.url]).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "vigil {args:?} failed: {}\nnode log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        tail(&node.log(), 60)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub(crate) fn get(node: &Validator, path: &str) -> Value {
    let url = format!("{}{path}", node.url);
    let out = std::process::Command::new("curl").args(["-sf", "--max-time", "5", &url]).output();
    match out {
        Ok(o) if o.status.success() => serde_json::from_slice(&o.stdout).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// `vigil testnet --validators 2` on free ports; returns its directory listing.
pub(crate) fn testnet(dir: &Path) -> Value {
    (0..50)
        .find_map(|attempt| {
            let base = 30_000 + ((std::process::id() as usize * 11 + attempt * 419) % 9_000);
            let out = vigil()
                .args(["--json", "testnet", "--validators", "2", "--dir"])
                .arg(dir)
                .args(["--base-port", &base.to_string()])
                .args(["--block-time-ms", "500", "--timeout-propose-ms", "1000"])
                .output()
                .unwrap();
            if out.status.success() {
                return Some(serde_json::from_slice::<Value>(&out.stdout).unwrap());
            }
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("in use"), "vigil testnet failed: {stderr}");
            None
        })
        .expect("found free ports for the testnet")
}

/// The validators of a `vigil testnet` listing, not started.
pub(crate) fn validators(listing: &Value) -> Vec<Validator> {
    listing["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let config = Path::new(n["config"].as_str().unwrap());
            Validator::new(config.parent().unwrap().to_owned(), n["api"].as_str().unwrap().into())
        })
        .collect()
}

pub(crate) fn account_of(key: &Path) -> String {
    let out = vigil().args(["key", "show", "--key"]).arg(key).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// One protocol's chain: the scenario deployed, its guardian added, the attacker funded.
struct Side {
    chain: DevChain,
    d: scenario::Deployment,
}

async fn side(anvil: &str, chain_id: u64, nonce_bump: u64, guardian: Address) -> Side {
    let chain = DevChain::start_on(anvil, 0, chain_id).await.unwrap();
    // Other deployer nonces: the same code lands at other addresses.
    for _ in 0..nonce_bump {
        chain.exec(DEPLOYER, Some(GUARDIAN_B), U256::from(1), vec![]).await.unwrap();
    }
    let d = scenario::deploy(&chain).await.unwrap();
    if guardian != GUARDIAN {
        let add = scenario::add_guardian_calldata(guardian);
        chain.exec(DEPLOYER, Some(d.vault), U256::ZERO, add).await.unwrap();
    }
    Side { chain, d }
}

/// The node's `[watch]` (its own chain only) and its on-chain executor; `disable` turns the
/// heuristic detectors off.
fn configure(node: &Validator, rules: &Path, s: &Side, guardian_key: &str, heuristics: bool) {
    let mut detect = format!(
        "cooldown_secs = 0\n[[protected]]\nname = \"LendingVault\"\naddress = \"{}\"\n",
        s.d.vault
    );
    if !heuristics {
        for section in [
            "flash_loan",
            "drain",
            "outflow",
            "volume",
            "fresh_contract",
            "reentrancy",
            "price_manipulation",
        ] {
            detect.push_str(&format!("[{section}]\nenabled = false\n"));
        }
    }
    std::fs::create_dir_all(rules).unwrap();
    std::fs::write(rules.join("detect.toml"), detect).unwrap();
    vigil_node::keyfile::write_evm_key(&node.dir.join("keys/guardian.evm"), guardian_key).unwrap();
    let extra = format!(
        "\n[watch]\nrpc = \"{}\"\nrules_dir = \"{}\"\npoll_interval = 100\n\
         [watch.simulate]\nselect = [\"all\"]\n\
         [respond.onchain]\nrpc = \"{}\"\nkey = \"keys/guardian.evm\"\n",
        s.chain.ws(),
        rules.display(),
        s.chain.http()
    );
    let config = node.dir.join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&extra);
    std::fs::write(&config, text).unwrap();
}

fn protocol_file(
    dir: &Path,
    id: &str,
    chain: u64,
    vault: Address,
    guardians: &[String],
    monitor: &str,
) -> PathBuf {
    let list = guardians.iter().map(|g| format!("\"{g}\"")).collect::<Vec<_>>().join(", ");
    let text = format!(
        "id = \"{id}\"\nname = \"{id}\"\nchain = {chain}\ncontracts = [\"{vault}\"]\n\
         guardians = [{list}]\nthreshold = 2\nprotected_value = \"1000000\"\n\
         [policy]\nmin_severity = \"high\"\nmin_confidence = 50\nmonitors = [\"{monitor}\"]\n\
         [policy.action]\ntarget = \"{vault}\"\ncalldata = \"0x8456cb59\"\n\
         reset_calldata = \"0x3f4ba83a\"\n"
    );
    let path = dir.join(format!("{id}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn send(
    rt: &tokio::runtime::Runtime,
    chain: &DevChain,
    from: Address,
    to: Address,
    input: Vec<u8>,
) -> B256 {
    let req = TransactionRequest::default()
        .from(from)
        .to(to)
        .input(Bytes::from(input).into())
        .gas_limit(3_000_000)
        .max_fee_per_gas(50 * GWEI)
        .max_priority_fee_per_gas(2 * GWEI);
    *rt.block_on(chain.provider.send_transaction(req)).unwrap().tx_hash()
}

fn receipt(
    rt: &tokio::runtime::Runtime,
    chain: &DevChain,
    hash: B256,
) -> alloy::rpc::types::TransactionReceipt {
    let mut found = None;
    eventually(Duration::from_secs(20), || {
        found = rt.block_on(chain.provider.get_transaction_receipt(hash)).unwrap();
        found.is_some()
    });
    found.unwrap_or_else(|| panic!("{hash} was not mined"))
}

/// Transactions of `from` in block `n`, as (index, hash).
fn txs_of(
    rt: &tokio::runtime::Runtime,
    chain: &DevChain,
    n: u64,
    from: Address,
) -> Vec<(u64, B256)> {
    let block = rt
        .block_on(async { chain.provider.get_block_by_number(n.into()).full().await })
        .unwrap()
        .unwrap();
    block
        .transactions
        .txns()
        .enumerate()
        .filter(|(_, tx)| tx.inner.signer() == from)
        .map(|(i, tx)| (i as u64, *tx.inner.tx_hash()))
        .collect()
}

fn next_block(rt: &tokio::runtime::Runtime, chain: &DevChain) {
    let start = rt.block_on(chain.head()).unwrap();
    assert!(eventually(Duration::from_secs(10), || rt.block_on(chain.head()).unwrap() > start));
}

/// Items of `node`'s `/v1/detection`.
fn items(node: &Validator) -> Vec<Value> {
    get(node, "/v1/detection")["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn an_attack_on_protocol_a_arms_protocol_b_which_pauses_a_copycat_before_it_lands() {
    let _one = crate::ONE_AT_A_TIME.blocking_lock();
    let Some(anvil) = anvil() else { return };
    let started = Instant::now();
    let phase = |what: &str| eprintln!("[{:>5.1} s] {what}", started.elapsed().as_secs_f64());
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    // Two chains: the same vault code, other addresses, other on-chain guardians.
    let a = rt.block_on(side(&anvil, CHAIN_A, 0, GUARDIAN));
    let b = rt.block_on(side(&anvil, CHAIN_B, 3, GUARDIAN_B));
    assert_ne!(a.d.vault, b.d.vault, "the vaults are at different addresses");
    let attacker = rt.block_on(async {
        scenario::fund_attacker(&a.chain).await.unwrap();
        scenario::deploy_attacker(&a.chain, &a.d).await.unwrap()
    });
    let copycat = rt.block_on(async {
        b.chain.exec(DEPLOYER, Some(COPYCAT), e18(10), vec![]).await.unwrap();
        b.chain.impersonate(COPYCAT).await.unwrap();
        scenario::deploy_copycat(&b.chain, &b.d, COPYCAT).await.unwrap()
    });
    let code = |chain: &DevChain, at: Address| {
        rt.block_on(async { chain.provider.get_code_at(at).await }).unwrap()
    };
    assert_ne!(code(&a.chain, attacker), code(&b.chain, copycat), "the copycat's bytecode differs");
    phase("two chains deployed");

    // The network: node 0 protects A, node 1 protects B (with no heuristic detector at all).
    let dir = tempfile::tempdir().unwrap();
    let listing = testnet(dir.path());
    let mut nodes = validators(&listing);
    let monitors: Vec<String> = listing["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["account"].as_str().unwrap().into())
        .collect();
    configure(&nodes[0], &dir.path().join("rules-a"), &a, GUARDIAN_DEV_KEY, true);
    configure(&nodes[1], &dir.path().join("rules-b"), &b, GUARDIAN_B_KEY, false);
    for n in &mut nodes {
        n.spawn();
    }
    for n in &nodes {
        n.wait_ready();
    }
    let user = |j: usize| dir.path().join("keys").join(format!("user-{j}.key"));
    let users: Vec<String> = (0..4).map(|j| account_of(&user(j))).collect();
    let key0 = user(0).to_string_lossy().into_owned();
    for (id, chain, vault, guardians, monitor) in [
        ("vault-a", CHAIN_A, a.d.vault, &users[0..2], &monitors[0]),
        ("vault-b", CHAIN_B, b.d.vault, &users[2..4], &monitors[1]),
    ] {
        let file = protocol_file(dir.path(), id, chain, vault, guardians, monitor);
        cli_json(
            &nodes[0],
            &["protocol", "register", "--file", file.to_str().unwrap(), "--key", &key0],
        );
    }
    assert!(
        eventually(Duration::from_secs(20), || {
            nodes.iter().all(|n| get(n, "/v1/protocols/vault-b")["spec"]["id"] == "vault-b")
        }),
        "both nodes know both protocols"
    );
    assert!(items(&nodes[1]).is_empty(), "B starts with no shared detection content");
    rt.block_on(a.chain.set_block_time(1)).unwrap();
    rt.block_on(b.chain.set_block_time(1)).unwrap();
    phase("testnet up, protocols registered, chains mining every second");

    // 1. The attack on A.
    let (found, events) = std::sync::mpsc::channel();
    for n in &nodes {
        watch_alerts(&n.url, found.clone());
    }
    std::thread::sleep(Duration::from_millis(300));
    let before_a = rt.block_on(a.chain.token_balance(a.d.usdx, a.d.vault)).unwrap();
    next_block(&rt, &a.chain);
    let sent = Instant::now();
    let exploit_a = send(&rt, &a.chain, ATTACKER, attacker, scenario::attack_calldata());
    // A's alert on A's event stream, and the same alert arriving on B's: B loads its
    // fingerprint before it announces the alert, so that instant is when B is armed.
    let (mut alerted, mut armed): (Option<(String, Instant)>, Option<Instant>) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(20);
    while armed.is_none() && Instant::now() < deadline {
        let Ok((url, event)) = events.recv_timeout(Duration::from_millis(200)) else { continue };
        let at = Instant::now();
        let has_fingerprint =
            event["alert"]["payload"]["detection"].as_array().is_some_and(|d| !d.is_empty());
        let id = event["id"].as_str().unwrap_or_default().to_owned();
        if url.starts_with(&nodes[0].url) && event["peer"] == "local" && has_fingerprint {
            alerted.get_or_insert((id, at));
        } else if url.starts_with(&nodes[1].url)
            && alerted.as_ref().is_some_and(|(first, _)| *first == id)
        {
            armed = Some(at);
        }
    }
    let Some((_, alerted)) = alerted else {
        panic!("A's node raised no alert with a fingerprint; log:\n{}", tail(&nodes[0].log(), 80))
    };
    let Some(armed) = armed else {
        panic!("B never received A's alert; B's log:\n{}", tail(&nodes[1].log(), 80))
    };
    let gossip_ms = armed.saturating_duration_since(alerted).as_secs_f64() * 1e3;
    phase(&format!(
        "A's node alerted {:.0} ms after the exploit was sent; B armed {gossip_ms:.1} ms after A's alert",
        alerted.duration_since(sent).as_secs_f64() * 1e3
    ));
    let r = receipt(&rt, &a.chain, exploit_a);
    assert!(!r.status(), "A's own node stopped the attack on A too");
    assert_eq!(rt.block_on(a.chain.token_balance(a.d.usdx, a.d.vault)).unwrap(), before_a);
    let shared = items(&nodes[1]);
    let item = shared.iter().find(|i| i["state"] == "provisional").unwrap();
    assert_eq!(item["kind"], "fingerprint", "{item}");
    assert_eq!(item["origin"]["type"], "alert", "{item}");
    assert_eq!(item["origin"]["monitor"], monitors[0], "{item}");
    let fingerprint_id = item["id"].as_str().unwrap().to_owned();
    let content = get(&nodes[1], &format!("/v1/detection/{fingerprint_id}"));
    let fingerprint: vigil_core::Fingerprint = serde_json::from_value(content["detection"].clone())
        .unwrap_or_else(|e| panic!("{e}: {content}"));

    // 2. The copycat attacks B: B's node pauses B in the exploit's block, ahead of it.
    let before_b = rt.block_on(b.chain.token_balance(b.d.usdx, b.d.vault)).unwrap();
    next_block(&rt, &b.chain);
    let exploit_b = send(&rt, &b.chain, COPYCAT, copycat, scenario::copycat_calldata());
    let r = receipt(&rt, &b.chain, exploit_b);
    let block = r.block_number.unwrap();
    let pauses = txs_of(&rt, &b.chain, block, GUARDIAN_B);
    let Some(&(pause_index, pause)) = pauses.first() else {
        let traced: Value = rt
            .block_on(b.chain.provider.raw_request(
                "debug_traceTransaction".into(),
                (exploit_b, serde_json::json!({ "tracer": "callTracer" })),
            ))
            .unwrap();
        let trace = vigil_detect::trace::geth::parse_tree(&traced.to_string()).unwrap();
        let seen = vigil_detect::fingerprint::fingerprint(&trace.root);
        panic!(
            "no pause of B in the copycat's block {block}; the copycat's shape is {:.3} similar \
             to A's ({} and {} steps): {}; B's log:\n{}",
            fingerprint.similarity(&seen),
            fingerprint.steps.len(),
            seen.steps.len(),
            serde_json::to_string(&seen).unwrap(),
            tail(&nodes[1].log(), 30)
        );
    };
    assert!(pause_index < r.transaction_index.unwrap(), "the pause is mined before the exploit");
    assert!(!r.status(), "the copycat's exploit reverted");
    assert!(receipt(&rt, &b.chain, pause).status(), "the pause succeeded");
    assert!(rt.block_on(b.chain.is_paused(b.d.vault)).unwrap());
    assert_eq!(rt.block_on(b.chain.token_balance(b.d.usdx, b.d.vault)).unwrap(), before_b);
    let alerts = get(&nodes[1], "/v1/alerts?limit=20");
    let by_fingerprint = alerts["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["peer"] == "local" && r["alert"]["payload"]["detector"] == "fingerprint");
    let by_fingerprint = by_fingerprint.unwrap_or_else(|| panic!("B's alerts: {alerts}"));
    let meta = &by_fingerprint["alert"]["payload"]["metadata"];
    assert_eq!(meta["detection"], fingerprint_id.as_str(), "{meta}");
    phase(&format!(
        "copycat paused on B: pause #{pause_index} before the exploit in block {block}, {}% similar to A's attack",
        meta["similarity"].as_str().unwrap_or("?")
    ));
    assert!(
        items(&nodes[1])
            .iter()
            .any(|i| i["id"] == fingerprint_id.as_str() && i["hits"].as_u64() >= Some(1)),
        "the hit is counted"
    );

    // 3. The fingerprint matches none of the benign mainnet transactions.
    benign_transactions_do_not_match(&fingerprint);

    // 4. The ledger path: A's fast-path trip opened a report carrying the fingerprint; once it
    // is confirmed, B holds the fingerprint as in force.
    let trip = get(&nodes[0], "/v1/protocols/vault-a");
    let report = trip["breaker"]["reason"]["report"].as_str().map(str::to_owned);
    let Some(report) = report else {
        panic!("A's breaker was not tripped on the fast path: {trip}")
    };
    let shown = get(&nodes[1], &format!("/v1/reports/{report}"));
    let carried: Vec<String> = shown["report"]["detection"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            serde_json::from_value::<vigil_core::Detection>(d.clone()).unwrap().id().to_string()
        })
        .collect();
    assert!(!carried.is_empty(), "the fast-path report carries the alert's fingerprint: {shown}");
    let node1_key = nodes[1].dir.join("keys/node.key").to_string_lossy().into_owned();
    cli_json(
        &nodes[1],
        &["report", "attest", &report, "--confirm", "--stake", "500", "--key", &node1_key],
    );
    let mut verdict_at = None;
    let mut in_force_at = None;
    let deadline = Instant::now() + Duration::from_secs(40);
    while in_force_at.is_none() && Instant::now() < deadline {
        if verdict_at.is_none()
            && get(&nodes[1], &format!("/v1/reports/{report}"))["status"] == "confirmed"
        {
            verdict_at = Some(Instant::now());
        }
        let now = items(&nodes[1]);
        let in_force =
            |id: &String| now.iter().any(|i| i["id"] == id.as_str() && i["state"] == "in_force");
        if carried.iter().all(in_force) {
            in_force_at = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let in_force_at = in_force_at.unwrap_or_else(|| {
        panic!(
            "the report's fingerprints never came in force on B; report {}; items {:?}",
            get(&nodes[1], &format!("/v1/reports/{report}")),
            items(&nodes[1])
        )
    });
    let verdict_at = verdict_at.unwrap_or(in_force_at);
    phase(&format!(
        "report {} confirmed; in force on B {:.0} ms after the verdict was visible (5 ms polling)",
        &report[..12],
        in_force_at.saturating_duration_since(verdict_at).as_secs_f64() * 1e3
    ));
    eprintln!(
        "BENCH immunity gossip_ms={gossip_ms:.1} ledger_ms={:.1}",
        in_force_at.saturating_duration_since(verdict_at).as_secs_f64() * 1e3
    );
}

/// The 5,762 traced transactions of `../shared/data/mev-inspect-blocks` (when present).
fn benign_transactions_do_not_match(fingerprint: &vigil_core::Fingerprint) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/mev-inspect-blocks");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipped the benign replay: {} is absent", dir.display());
        return;
    };
    let mut index = vigil_detect::fingerprint::FingerprintIndex::new();
    index.add(fingerprint.clone());
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    files.retain(|p| p.extension().is_some_and(|x| x == "json"));
    files.sort();
    let (mut txs, mut matched) = (0usize, Vec::new());
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for r in vigil_detect::replay::read(&text, vigil_core::EvmChainId(1)).unwrap() {
            let Some(trace) = &r.tx.trace else { continue };
            txs += 1;
            if !index.matches(&vigil_detect::fingerprint::fingerprint(&trace.root)).is_empty() {
                matched.push(r.hash);
            }
        }
    }
    assert_eq!(txs, 5_762);
    assert!(matched.is_empty(), "benign transactions match the attack's fingerprint: {matched:?}");
}

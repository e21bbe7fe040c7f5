//! Chaos on a real 4-validator testnet (issue 15): transfers flow to every node for two minutes
//! while validators are SIGKILLed and restarted at random, never more than one down at a time.
//! Afterwards every transaction a node acknowledged with 202 has either committed — at the same
//! height and position on all four — or is reported dropped by the node that took it; the four
//! agree on every block hash and app hash. Then a validator's key signs two proposals for one
//! height and round; the evidence, submitted by a user, slashes it on every node and it leaves
//! the validator set at the next epoch boundary.
//!
//! Bounded: 120 s of load and kills, then at most ~90 s of settling. The seed of the kill
//! schedule is printed, and `VIGIL_CHAOS_SEED` replays one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::Value;
use vigil_core::consensus::ProposalStatement;
use vigil_core::{
    AccountId, Amount, ContentId, Equivocation, Keypair, SignedStatement, Tx, TxBody, TxId,
};
use vigil_node::client::{Client, ClientError};

use crate::testnet::{Testnet, chain_of, height, wait_heights};

const USERS: usize = 16;
const CHAOS: Duration = Duration::from_secs(120);
const EPOCH: u64 = 40;

/// A small deterministic generator for the kill schedule (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

/// A transaction a node answered 202 for.
struct Acked {
    id: TxId,
    node: usize,
}

/// What the load generators share with the test.
struct Shared {
    urls: Vec<String>,
    /// Whether each node is up (cleared before a kill, set once the restart answers).
    up: Vec<AtomicBool>,
    stop: AtomicBool,
    acked: Mutex<Vec<Acked>>,
    chain: vigil_core::ChainId,
}

/// One user's load: transfers to the next user, signed locally with a local nonce, always sent
/// to the same node (so nonces stay consistent) and paused while that node is down.
async fn load(key: Keypair, to: AccountId, node: usize, shared: Arc<Shared>) -> usize {
    let Shared { urls, up, stop, acked, chain } = &*shared;
    let client = Client::new(&urls[node]);
    let mut nonce: Option<u64> = None;
    let mut errors = 0;
    while !stop.load(Ordering::Relaxed) {
        if !up[node].load(Ordering::Relaxed) {
            nonce = None;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let next = match nonce {
            Some(n) => n,
            None => match client.account(&key.account_id()).await {
                Ok(a) => a["next_nonce"].as_u64().unwrap_or(0),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let tx = Tx {
            chain_id: chain.clone(),
            signer: key.account_id(),
            nonce: next,
            body: TxBody::Transfer { to, amount: Amount(1_000 + next) },
        }
        .sign(&key);
        match client.submit(&tx).await {
            Ok(id) => {
                acked.lock().push(Acked { id, node });
                nonce = Some(next + 1);
            }
            Err(_) => {
                // Killed mid-request, or a nonce race after a restart: ask again.
                errors += 1;
                nonce = None;
            }
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    errors
}

/// Where an acknowledged transaction ended up, as the node that took it reports it.
async fn settle(client: &Client, id: &TxId, deadline: Instant) -> Result<(u64, u64), String> {
    loop {
        match client.tx(id).await {
            Ok(v) if v["status"] == "committed" => {
                return Ok((v["height"].as_u64().unwrap(), v["index"].as_u64().unwrap()));
            }
            Ok(v) if v["status"] == "dropped" => {
                return Err(v["reason"].as_str().unwrap_or_default().to_owned());
            }
            Ok(_) | Err(ClientError::Api { .. }) | Err(_) => {}
        }
        assert!(Instant::now() < deadline, "transaction {id} neither committed nor dropped");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn proposal(key: &Keypair, chain: &vigil_core::ChainId, h: u64, block: &[u8]) -> SignedStatement {
    let proposal = ProposalStatement {
        height: h,
        round: 0,
        pol_round: None,
        value: ContentId::of_bytes(block),
        proposer: key.account_id(),
    };
    let signature = key.sign_raw(&proposal.message(chain));
    SignedStatement::Proposal { proposal, signature }
}

async fn validators(node: &crate::testnet::Validator) -> Vec<String> {
    let status: Value = node.client().get("/v1/status").await.unwrap();
    status["validators"].as_array().unwrap().iter().map(|v| v[0].as_str().unwrap().into()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_under_load_and_random_kills_lose_nothing_and_slash_an_equivocator() {
    let _one = crate::ONE_AT_A_TIME.lock().await;
    let started = Instant::now();
    let phase = |what: &str| eprintln!("[{:>5.1} s] {what}", started.elapsed().as_secs_f64());
    let users = USERS.to_string();
    let epoch = EPOCH.to_string();
    let mut net = Testnet::start_with(&["--users", &users, "--epoch-length", &epoch]);
    let seed = std::env::var("VIGIL_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from(std::process::id()) * 0x9e37_79b9 + 1);
    phase(&format!("four validators up; chaos seed {seed} (VIGIL_CHAOS_SEED replays it)"));
    wait_heights(&net, &[0, 1, 2, 3], 3, 60, "start").await;

    let shared = Arc::new(Shared {
        urls: net.nodes.iter().map(|n| n.url.clone()).collect(),
        up: (0..4).map(|_| AtomicBool::new(true)).collect(),
        stop: AtomicBool::new(false),
        acked: Mutex::new(Vec::new()),
        chain: net.chain.clone(),
    });
    let (up, stop, acked) = (&shared.up, &shared.stop, &shared.acked);
    let keys: Vec<Keypair> =
        (0..USERS).map(|j| vigil_node::keyfile::read(&net.user_key(j), None).unwrap()).collect();
    let mut loads = Vec::new();
    for (j, key) in keys.iter().enumerate() {
        loads.push(tokio::spawn(load(
            key.clone(),
            keys[(j + 1) % USERS].account_id(),
            j % 4,
            Arc::clone(&shared),
        )));
    }

    // Kill one validator at a time at random, for CHAOS.
    let mut rng = Rng(seed);
    let mut kills = 0;
    while started.elapsed() < CHAOS {
        tokio::time::sleep(Duration::from_millis(rng.between(4_000, 9_000))).await;
        let victim = usize::try_from(rng.between(0, 3)).unwrap();
        let before = acked.lock().len();
        up[victim].store(false, Ordering::Relaxed);
        net.nodes[victim].kill();
        kills += 1;
        phase(&format!("SIGKILL node {victim} ({before} transactions acknowledged so far)"));
        tokio::time::sleep(Duration::from_millis(rng.between(1_000, 5_000))).await;
        net.nodes[victim].spawn();
        net.nodes[victim].wait_ready();
        up[victim].store(true, Ordering::Relaxed);
        phase(&format!("node {victim} restarted"));
    }
    stop.store(true, Ordering::Relaxed);
    let mut client_errors = 0;
    for l in loads {
        client_errors += l.await.unwrap();
    }
    let acked = std::mem::take(&mut *acked.lock());
    phase(&format!(
        "{kills} kills; {} transactions acknowledged, {client_errors} submissions failed or \
         were cut off",
        acked.len()
    ));
    assert!(kills >= 8, "only {kills} kills in {CHAOS:?}");
    assert!(acked.len() > 500, "the load generator got only {} transactions in", acked.len());

    // Every 202 commits or is reported dropped by the node that took it.
    let deadline = Instant::now() + Duration::from_secs(90);
    let clients: Vec<Client> = net.nodes.iter().map(|n| n.client()).collect();
    let mut committed: BTreeMap<TxId, (u64, u64)> = BTreeMap::new();
    let mut dropped = Vec::new();
    for a in &acked {
        match settle(&clients[a.node], &a.id, deadline).await {
            Ok(at) => {
                committed.insert(a.id, at);
            }
            Err(reason) => dropped.push((a.id, reason)),
        }
    }
    phase(&format!(
        "{} committed, {} reported dropped: {:?}",
        committed.len(),
        dropped.len(),
        dropped.iter().take(3).collect::<Vec<_>>()
    ));
    // A dropped transaction is one whose nonce another transaction of the same user took
    // (an acknowledged one never is, as each user talks to one node); so none is expected.
    assert!(dropped.is_empty(), "acknowledged transactions were dropped: {dropped:?}");

    // The same block at every height on all four, and every committed transaction in it.
    let top = committed.values().map(|(h, _)| *h).max().unwrap_or(1);
    wait_heights(&net, &[0, 1, 2, 3], top, 60, "after the chaos").await;
    let reference = chain_of(&net.nodes[0], top).await;
    for node in &net.nodes[1..] {
        assert_eq!(chain_of(node, top).await, reference, "{} disagrees on a block", node.url);
    }
    // Equal block hashes mean equal transactions at every position; spot-check the nodes' own
    // transaction indexes against that on every 20th transaction.
    for (i, client) in clients.iter().enumerate() {
        for (id, at) in committed.iter().step_by(20) {
            let v = client.tx(id).await.unwrap();
            let here = (v["height"].as_u64().unwrap(), v["index"].as_u64().unwrap());
            assert_eq!(&here, at, "node {i} has transaction {id} elsewhere");
        }
    }
    phase(&format!(
        "all four hold the {} committed transactions and agree on {top} blocks",
        committed.len()
    ));

    // Equivocation: validator 3's key signs two different blocks for one height and round.
    let offender =
        vigil_node::keyfile::read(&net.nodes[3].dir.join("keys/node.key"), None).unwrap();
    let h = height(&net.nodes[0]).await.unwrap();
    let evidence = Equivocation {
        first: proposal(&offender, &net.chain, h, b"one block"),
        second: proposal(&offender, &net.chain, h, b"another block"),
    };
    let before: Value = clients[0].account(&offender.account_id()).await.unwrap();
    let finder = &keys[0];
    let (id, _) = clients[0]
        .sign_and_submit(finder, TxBody::SubmitEvidence { evidence: Box::new(evidence) })
        .await
        .unwrap();
    let done = clients[1].wait_committed(&id, Duration::from_secs(30)).await.unwrap();
    assert!(done["result"]["outcome"].get("Ok").is_some(), "{done}");
    let bonded = |v: &Value| v["bonded"].as_u64().unwrap();
    for (i, client) in clients.iter().enumerate() {
        client.wait_committed(&id, Duration::from_secs(30)).await.unwrap();
        let after: Value = client.account(&offender.account_id()).await.unwrap();
        assert_eq!(
            bonded(&after),
            bonded(&before) - bonded(&before) / 20,
            "node {i} did not slash 5% of the offender's stake"
        );
    }
    let slashed_at = done["height"].as_u64().unwrap();
    let next_epoch = (slashed_at / EPOCH + 1) * EPOCH + 1;
    phase(&format!("evidence committed at {slashed_at}; waiting for the epoch from {next_epoch}"));
    wait_heights(&net, &[0, 1, 2, 3], next_epoch, 90, "next epoch").await;
    let gone = offender.account_id().to_string();
    for (i, node) in net.nodes.iter().enumerate() {
        let set = validators(node).await;
        assert_eq!(set.len(), 3, "node {i}: {set:?}");
        assert!(!set.contains(&gone), "node {i} still has the equivocator: {set:?}");
    }
    // The three go on without it.
    let h = height(&net.nodes[0]).await.unwrap();
    wait_heights(&net, &[0, 1, 2], h + 3, 60, "without the equivocator").await;
    phase("the equivocator was slashed on all four and left the set; three go on");
}

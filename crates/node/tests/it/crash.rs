//! SIGKILL a node while transactions stream in; after a restart it is at its last committed
//! height with the same app hashes, and every transaction it acknowledged as committed is there.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use vigil_core::{Amount, Tx, TxBody};

use crate::harness::TestNode;

#[derive(Debug, Clone)]
struct Acked {
    id: vigil_core::TxId,
    status: Value,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_restarts_at_its_last_commit_without_losing_acknowledged_txs() {
    let mut node = TestNode::start(100, false);
    let client = node.client();
    let chain = client.status().await.unwrap().chain_id.parse::<vigil_core::ChainId>().unwrap();
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let seen: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
    let to = node.key("node").account_id();

    let mut senders = Vec::new();
    for name in ["alice", "bob", "carol", "dave"] {
        let key = node.key(name);
        let client = client.clone();
        let chain = chain.clone();
        let acked = Arc::clone(&acked);
        senders.push(tokio::spawn(async move {
            for nonce in 0.. {
                let body = TxBody::Transfer { to, amount: Amount(1_000 + nonce) };
                let tx = Tx { chain_id: chain.clone(), signer: key.account_id(), nonce, body }
                    .sign(&key);
                let Ok(id) = client.submit(&tx).await else { return };
                let Ok(status) = client.wait_committed(&id, Duration::from_secs(5)).await else {
                    return;
                };
                acked.lock().unwrap().push(Acked { id, status });
            }
        }));
    }
    let watcher = {
        let client = client.clone();
        let seen = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok(s) = client.status().await {
                seen.lock().unwrap().push((s.height, s.app_hash));
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        })
    };

    tokio::time::sleep(Duration::from_millis(2_500)).await;
    node.kill();
    for s in senders {
        s.await.unwrap();
    }
    watcher.await.unwrap();
    let acked = acked.lock().unwrap().clone();
    let seen = seen.lock().unwrap().clone();
    assert!(
        acked.len() >= 10,
        "only {} transactions were acknowledged before the kill",
        acked.len()
    );
    let last_seen = seen.iter().map(|(h, _)| *h).max().unwrap();

    node.spawn();
    let status = client.status().await.unwrap();
    assert!(
        status.height >= last_seen,
        "restarted at {} but {last_seen} was seen committed",
        status.height
    );
    // Every app hash seen before the kill is the app hash stored for that height.
    for (height, app_hash) in seen.iter().filter(|(h, _)| *h > 0) {
        let block: Value = client.get(&format!("/v1/blocks/{height}")).await.unwrap();
        assert_eq!(block["app_hash"].as_str(), Some(app_hash.as_str()), "height {height}");
    }
    if status.height == last_seen {
        assert_eq!(
            Some(&status.app_hash),
            seen.iter().find(|(h, _)| *h == last_seen).map(|(_, a)| a)
        );
    }
    // Every acknowledged transaction is committed where it was, with the same result.
    for a in &acked {
        let now = client.tx(&a.id).await.unwrap();
        assert_eq!(now["status"], "committed");
        assert_eq!(now["height"], a.status["height"]);
        assert_eq!(now["index"], a.status["index"]);
        assert_eq!(now["result"], a.status["result"]);
    }
    // The restarted node keeps working: the next transaction commits.
    let alice = node.key("alice");
    let (id, _) =
        client.sign_and_submit(&alice, TxBody::Bond { amount: Amount::vgl(1) }).await.unwrap();
    let done = client.wait_committed(&id, Duration::from_secs(10)).await.unwrap();
    assert!(done["result"]["outcome"].get("Ok").is_some(), "{done}");
}

/// The defect (issue 15): transactions acknowledged with 202 but still in the mempool vanished
/// when the node was killed. Now a 202 means the transaction is in the journal: SIGKILL the node
/// before any block takes them, and after the restart every one of them commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_acknowledged_with_202_survive_a_sigkill_before_their_block() {
    // One block every 60 s: nothing acknowledged below is committed before the kill.
    let mut node = TestNode::start(60_000, false);
    let client = node.client();
    let chain = client.status().await.unwrap().chain_id.parse::<vigil_core::ChainId>().unwrap();
    let to = node.key("node").account_id();
    let mut acked = Vec::new();
    for name in ["alice", "bob", "carol", "dave"] {
        let key = node.key(name);
        for nonce in 0..25 {
            let body = TxBody::Transfer { to, amount: Amount(1_000 + nonce) };
            let tx =
                Tx { chain_id: chain.clone(), signer: key.account_id(), nonce, body }.sign(&key);
            acked.push(client.submit(&tx).await.unwrap());
        }
    }
    let before = client.status().await.unwrap();
    assert_eq!(before.mempool_size, 100, "all 100 are pending, none committed yet");
    node.kill();
    node.spawn();
    let after = client.status().await.unwrap();
    assert_eq!(after.height, before.height, "no block was cut meanwhile");
    assert_eq!(after.mempool_size, 100, "the journal gave back every acknowledged transaction");
    for id in &acked {
        let status = client.tx(id).await.unwrap();
        assert_eq!(status["status"], "pending", "{id}: {status}");
    }
    // And they commit, in the next block.
    node.terminate();
    let config = node.dir.path().join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("block_interval_ms = 60000", "block_interval_ms = 200"))
        .unwrap();
    node.spawn();
    for id in &acked {
        let done = client.wait_committed(id, Duration::from_secs(20)).await.unwrap();
        assert!(done["result"]["outcome"].get("Ok").is_some(), "{done}");
    }
}

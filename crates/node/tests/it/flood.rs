//! Mempool admission under abuse (issue 15), against a real node with a 50-transaction
//! mempool.
//!
//! The defect reproduced: a never-funded key parked 50 future-nonce transfers that no check
//! looked at, and honest senders got `503 the mempool is full` for as long as the node ran.
//! Now such transactions are refused outright; and when 100 keys flood the pool with
//! future-nonce and unfunded transactions, honest staked senders still get in (the pool
//! evicts the flood for them) and commit within two blocks, while the pool never holds more
//! than its bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use vigil_core::{Amount, ChainId, Keypair, SignedTx, Tx, TxBody};
use vigil_node::client::{Client, ClientError};

use crate::harness::TestNode;

const MAX_TXS: u64 = 50;

fn signed(chain: &ChainId, key: &Keypair, nonce: u64, body: TxBody) -> SignedTx {
    Tx { chain_id: chain.clone(), signer: key.account_id(), nonce, body }.sign(key)
}

async fn mempool_size(client: &Client) -> u64 {
    client.status().await.unwrap().mempool_size as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_future_nonce_and_unfunded_transactions_cannot_lock_honest_senders_out() {
    // The 100 flooders and the honest senders all come from 127.0.0.1 here; the per-client
    // rate limit (which would throttle a one-address flood) is off so that the mempool's own
    // admission is what is tested.
    let config = format!("[mempool]\nmax_txs = {MAX_TXS}\n[api.rate_limit]\nper_second = 0\n");
    let node = TestNode::start_with(300, true, &config, &[]);
    let client = node.client();
    let chain: ChainId = client.status().await.unwrap().chain_id.parse().unwrap();
    let alice = node.key("alice");
    let bob = node.key("bob");

    // The defect: 50 transfers of 1,000,000 VGL at future nonces from a never-funded key.
    let never_funded = Keypair::from_seed(&[0x66; 32]);
    for nonce in 1..=50 {
        let body = TxBody::Transfer { to: alice.account_id(), amount: Amount::vgl(1_000_000) };
        match client.submit(&signed(&chain, &never_funded, nonce, body)).await {
            Err(ClientError::Api { status: 422, code, .. }) => assert_eq!(code, "unfunded"),
            other => panic!("a never-funded key's future nonce was not refused: {other:?}"),
        }
    }
    assert_eq!(mempool_size(&client).await, 0);

    // 100 flood keys: 50 never funded, 50 given 1 VGL each (and no stake).
    let flood: Vec<Keypair> = (0..100u8).map(|i| Keypair::from_seed(&[i; 32])).collect();
    let mut last = None;
    for (n, key) in flood[50..].iter().enumerate() {
        let body = TxBody::Transfer { to: key.account_id(), amount: Amount::vgl(1) };
        last = Some(client.submit(&signed(&chain, &alice, n as u64, body)).await.unwrap());
    }
    client.wait_committed(&last.unwrap(), Duration::from_secs(20)).await.unwrap();
    let mut alice_nonce = 50;
    let id = client.submit(&signed(&chain, &bob, 0, TxBody::Bond { amount: Amount(1) })).await;
    let id = id.unwrap();
    client.wait_committed(&id, Duration::from_secs(20)).await.unwrap();
    let mut bob_nonce = 1;

    // The flood runs in the background for the rest of the test.
    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicU64::new(0));
    let admitted = Arc::new(AtomicU64::new(0));
    let mut flooders = Vec::new();
    for part in flood.chunks(25) {
        let keys = part.to_vec();
        let (client, chain) = (client.clone(), chain.clone());
        let (stop, refused, admitted) = (stop.clone(), refused.clone(), admitted.clone());
        let to = bob.account_id();
        flooders.push(tokio::spawn(async move {
            let mut nonce = 1;
            while !stop.load(Ordering::Relaxed) {
                for key in &keys {
                    // Future nonces: 0.6 VGL transfers (a 1 VGL balance carries one) and
                    // zero-spend unbonds.
                    let body = if nonce % 2 == 1 {
                        TxBody::Transfer { to, amount: Amount(600_000) }
                    } else {
                        TxBody::Unbond { amount: Amount::vgl(1) }
                    };
                    match client.submit(&signed(&chain, key, nonce, body)).await {
                        Ok(_) => admitted.fetch_add(1, Ordering::Relaxed),
                        Err(_) => refused.fetch_add(1, Ordering::Relaxed),
                    };
                }
                nonce += 1;
            }
        }));
    }
    // Let the flood fill the pool.
    let mut full = false;
    for _ in 0..100 {
        if mempool_size(&client).await >= MAX_TXS {
            full = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(full, "the flood did not fill the pool");

    // Honest staked senders: every transfer is admitted and commits within two blocks.
    for round in 0..10 {
        let (key, nonce) = if round % 2 == 0 {
            alice_nonce += 1;
            (&alice, alice_nonce - 1)
        } else {
            bob_nonce += 1;
            (&bob, bob_nonce - 1)
        };
        let at = client.status().await.unwrap().height;
        let body = TxBody::Transfer { to: node.key("carol").account_id(), amount: Amount(1) };
        let tx = signed(&chain, key, nonce, body);
        // A pooled connection the server closed at that instant fails before the request is
        // sent; sending the same signed transaction again is safe (a repeat is a duplicate).
        let mut attempt = 0;
        let id = loop {
            match client.submit(&tx).await {
                Ok(id) => break id,
                Err(ClientError::Api { status: 409, .. }) => break tx.id(),
                Err(ClientError::Http { .. }) if attempt < 3 => attempt += 1,
                Err(e) => {
                    panic!(
                        "honest transaction {round} refused under the flood: {e}\n{}",
                        node.log()
                    )
                }
            }
        };
        let done = client.wait_committed(&id, Duration::from_secs(20)).await.unwrap();
        let height = done["height"].as_u64().unwrap();
        assert!(
            height <= at + 2,
            "honest transaction {round} submitted at height {at} committed at {height}"
        );
        assert!(done["result"]["outcome"].get("Ok").is_some(), "{done}");
        let size = mempool_size(&client).await;
        assert!(size <= MAX_TXS, "the mempool holds {size} > {MAX_TXS}");
    }
    stop.store(true, Ordering::Relaxed);
    for f in flooders {
        f.await.unwrap();
    }
    let (admitted, refused) = (admitted.load(Ordering::Relaxed), refused.load(Ordering::Relaxed));
    eprintln!("flood: {admitted} admitted (and evicted or committed), {refused} refused");
    assert!(refused > admitted, "most of the flood should be refused at the door");
    let metrics: String =
        reqwest::get(format!("{}/metrics", node.url)).await.unwrap().text().await.unwrap();
    for reason in ["unfunded", "unaffordable"] {
        assert!(
            metrics.contains(&format!("reason=\"{reason}\"")),
            "no {reason} refusals counted in /metrics"
        );
    }
}

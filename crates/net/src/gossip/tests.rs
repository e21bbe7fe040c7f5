//! Several gossip services on loopback, one process.

use std::future::Future;
use std::time::Duration;

use libp2p::Multiaddr;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vigil_core::encoding::encode;
use vigil_core::{AccountId, Amount, Keypair, Signed, Tx, TxBody};

use super::message::tests::{alert, chain, signed_alert};
use super::*;

struct Node {
    gossip: Gossip,
    inbox: mpsc::Receiver<Received>,
}

fn config(bootstrap: Vec<Multiaddr>) -> GossipConfig {
    GossipConfig {
        bootstrap,
        heartbeat: Duration::from_millis(100),
        disclosures: Vec::new(),
        redial_interval: Duration::from_millis(300),
        ..GossipConfig::new(chain())
    }
}

async fn start(seed: u8, bootstrap: Vec<Multiaddr>, shutdown: &CancellationToken) -> Node {
    let key = Keypair::from_seed(&[seed; 32]);
    let (gossip, inbox) = Gossip::start(config(bootstrap), &key, shutdown.clone()).await.unwrap();
    Node { gossip, inbox }
}

/// Polls `check` every 50 ms until it holds; fails after `secs`.
async fn eventually<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn next(node: &mut Node) -> Received {
    tokio::time::timeout(Duration::from_secs(10), node.inbox.recv())
        .await
        .expect("a message within 10 s")
        .expect("gossip still running")
}

/// Starts nodes in a line: each bootstraps to the one before it.
async fn line(n: usize, shutdown: &CancellationToken) -> Vec<Node> {
    let mut nodes: Vec<Node> = Vec::new();
    for i in 0..n {
        let bootstrap = nodes.last().map(|p| p.gossip.listen_addrs().to_vec()).unwrap_or_default();
        nodes.push(start(i as u8 + 1, bootstrap, shutdown).await);
    }
    // Wait until every link is in both ends' meshes for every topic.
    for (i, node) in nodes.iter().enumerate() {
        let expected = if i == 0 || i == n - 1 { 1 } else { 2 };
        let g = node.gossip.clone();
        eventually(15, "gossip meshes to form", || {
            let g = g.clone();
            async move {
                let mut ok = true;
                for kind in GossipKind::ALL {
                    ok &= g.mesh_peers(kind).await.unwrap().len() >= expected;
                }
                ok
            }
        })
        .await;
    }
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_and_transactions_reach_every_node_once() {
    let shutdown = CancellationToken::new();
    let mut nodes = line(4, &shutdown).await;
    let author = Keypair::from_seed(&[42; 32]);

    let signed = signed_alert(&author, 7);
    let id = nodes[0].gossip.publish(&GossipMessage::Alert(signed.clone())).await.unwrap();
    for node in &mut nodes[1..] {
        let got = next(node).await;
        assert_eq!(got.id, id);
        assert_eq!(got.message, GossipMessage::Alert(signed.clone()));
    }

    // The same content published again elsewhere is not delivered twice.
    let again = nodes[3].gossip.publish(&GossipMessage::Alert(signed.clone())).await;
    assert!(again.is_ok() || matches!(again, Err(GossipError::Duplicate(_))));

    // A transaction sent to the last node reaches the first (e.g. the proposer).
    let user = Keypair::from_seed(&[43; 32]);
    let tx = Tx {
        chain_id: chain(),
        signer: user.account_id(),
        nonce: 0,
        body: TxBody::Transfer { to: AccountId([1; 32]), amount: Amount(5) },
    }
    .sign(&user);
    nodes[3].gossip.publish(&GossipMessage::Tx(tx.clone())).await.unwrap();
    let got = next(&mut nodes[0]).await;
    assert_eq!(got.message, GossipMessage::Tx(tx));
    assert_eq!(got.source, nodes[1].gossip.peer_id(), "it came through the line");

    // Nothing else arrived: the republished alert was a duplicate everywhere.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for node in &mut nodes {
        while let Ok(extra) = node.inbox.try_recv() {
            assert!(matches!(extra.message, GossipMessage::Tx(_)), "unexpected {extra:?}");
        }
    }
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_oversized_and_foreign_alerts_are_rejected_and_not_forwarded() {
    let shutdown = CancellationToken::new();
    // A – B – C: everything from A to C passes through B.
    let mut nodes = line(3, &shutdown).await;
    let author = Keypair::from_seed(&[42; 32]);

    // The path works: a valid alert from A reaches C.
    let valid = signed_alert(&author, 1);
    nodes[0].gossip.publish(&GossipMessage::Alert(valid.clone())).await.unwrap();
    assert_eq!(next(&mut nodes[2]).await.message, GossipMessage::Alert(valid));

    // A turns faulty and sends what `publish` would refuse.
    let mut forged = signed_alert(&author, 2);
    forged.payload.description = "changed after signing".into();
    let oversized = Signed::sign(alert(3, 80 * 1024), chain(), &author);
    let foreign = Signed::sign(alert(4, 16), "vigil-elsewhere".parse().unwrap(), &author);
    assert!(matches!(
        nodes[0].gossip.publish(&GossipMessage::Alert(forged.clone())).await,
        Err(GossipError::Invalid(RejectReason::BadSignature(GossipKind::Alert)))
    ));
    for bad in [encode(&forged), encode(&oversized), encode(&foreign), vec![1, 2, 3]] {
        nodes[0].gossip.publish_unchecked(GossipKind::Alert, bad).await.unwrap();
    }

    // B rejects the first ones it judges; after that A's score falls below the graylist
    // threshold and B ignores A altogether. Either way nothing bad passes B.
    let b = nodes[1].gossip.clone();
    eventually(10, "B to reject the bad messages", || {
        let b = b.clone();
        async move { b.stats().await.unwrap().rejected >= 1 }
    })
    .await;
    // Give B time to (wrongly) forward anything, then check C never saw them.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let c_stats = nodes[2].gossip.stats().await.unwrap();
    assert_eq!(c_stats.rejected, 0, "C received a message B should have dropped");
    assert_eq!(c_stats.accepted, 1);
    assert_eq!(b.stats().await.unwrap().accepted, 1);
    assert!(nodes[2].inbox.try_recv().is_err());
    assert!(nodes[1].inbox.try_recv().is_ok(), "B delivered the valid alert");
    assert!(nodes[1].inbox.try_recv().is_err(), "B delivered nothing invalid");

    // Peer scoring: B now scores A below zero.
    let score = b.peer_score(nodes[0].gossip.peer_id()).await.unwrap().unwrap();
    assert!(score < 0.0, "A's score at B is {score}");
    shutdown.cancel();
}

#[tokio::test]
async fn peer_id_is_derived_from_the_node_key() {
    let key = Keypair::from_seed(&[9; 32]);
    assert_eq!(
        peer_identity(&key).public().to_peer_id(),
        peer_identity(&key).public().to_peer_id()
    );
    assert_ne!(
        peer_identity(&key).public().to_peer_id(),
        peer_identity(&Keypair::from_seed(&[10; 32])).public().to_peer_id()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disclosure_reaches_only_the_nodes_serving_its_protocol() {
    let shutdown = CancellationToken::new();
    let serving = |p: &str, bootstrap: Vec<Multiaddr>| GossipConfig {
        disclosures: vec![p.parse().unwrap()],
        ..config(bootstrap)
    };
    // A serves `vault`, C serves `other`; B serves nothing and is connected to both.
    let (a, mut a_inbox) =
        Gossip::start(serving("vault", vec![]), &Keypair::from_seed(&[1; 32]), shutdown.clone())
            .await
            .unwrap();
    let (c, mut c_inbox) =
        Gossip::start(serving("other", vec![]), &Keypair::from_seed(&[3; 32]), shutdown.clone())
            .await
            .unwrap();
    let bootstrap = [a.listen_addrs(), c.listen_addrs()].concat();
    let mut b = start(2, bootstrap, &shutdown).await;

    let researcher = Keypair::from_seed(&[44; 32]);
    let ciphertext = b"-----BEGIN AGE ENCRYPTED FILE-----\n...".to_vec();
    let tx = Tx {
        chain_id: chain(),
        signer: researcher.account_id(),
        nonce: 0,
        body: TxBody::Disclose {
            protocol: "vault".parse().unwrap(),
            commitment: vigil_core::ContentId([7; 32]),
            ciphertext: vigil_core::ContentId::of_bytes(&ciphertext),
            severity: vigil_core::Severity::High,
            funds_at_risk: Amount(0),
            bond: Amount(10),
        },
    }
    .sign(&researcher);
    let upload = DisclosureUpload { tx: tx.clone(), ciphertext: ciphertext.clone() };
    // B learns A's subscription when they connect; until then nobody is there to send to.
    let message = GossipMessage::Disclosure(upload.clone());
    eventually(15, "a peer serving vault", || {
        let (g, m) = (b.gossip.clone(), message.clone());
        async move { !matches!(g.publish(&m).await, Err(GossipError::NoPeers(_))) }
    })
    .await;
    let got = tokio::time::timeout(Duration::from_secs(10), a_inbox.recv()).await.unwrap().unwrap();
    assert_eq!(got.message, GossipMessage::Disclosure(upload.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(c_inbox.try_recv().is_err(), "a node serving another protocol never receives it");
    assert!(b.inbox.try_recv().is_err(), "nor does a node serving none");

    // Bad uploads are refused before they leave: a ciphertext other than the one signed for,
    // and a transaction that is not a disclosure.
    let swapped = DisclosureUpload { ciphertext: b"other bytes".to_vec(), ..upload };
    assert!(matches!(
        b.gossip.publish(&GossipMessage::Disclosure(swapped)).await,
        Err(GossipError::Invalid(_))
    ));
    let transfer = Tx {
        chain_id: chain(),
        signer: researcher.account_id(),
        nonce: 1,
        body: TxBody::Transfer { to: AccountId([1; 32]), amount: Amount(5) },
    }
    .sign(&researcher);
    let not_one = DisclosureUpload { tx: transfer, ciphertext };
    assert!(matches!(
        b.gossip.publish(&GossipMessage::Disclosure(not_one)).await,
        Err(GossipError::Invalid(_))
    ));
    shutdown.cancel();
}

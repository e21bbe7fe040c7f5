//! The block collector resumes from its cursor, follows reorgs, and rides out RPC failures.

use std::time::Duration;

use alloy::primitives::U256;
use tokio::sync::mpsc;
use vigil_chain::collector::{BlockCollector, BlockCollectorConfig, ChainEvent};
use vigil_chain::{
    Backoff, Collector, Cursor, CursorStore, FileCursorStore, Monitor, MonitorConfig, Rpc,
};

use crate::anvil::{Anvil, free_port};
use crate::contracts::*;
use crate::harness::Running;

fn fast() -> Backoff {
    Backoff { initial: Duration::from_millis(50), max: Duration::from_millis(250), attempts: None }
}

fn config(start: Option<u64>) -> BlockCollectorConfig {
    BlockCollectorConfig { start, poll_interval: Duration::from_millis(50), ..Default::default() }
}

/// The next block or reorg event, within 15 s.
async fn next(rx: &mut mpsc::Receiver<ChainEvent>) -> ChainEvent {
    tokio::time::timeout(Duration::from_secs(15), rx.recv())
        .await
        .expect("an event within 15s")
        .expect("collector running")
}

async fn next_block(rx: &mut mpsc::Receiver<ChainEvent>) -> (u64, Option<Cursor>) {
    match next(rx).await {
        ChainEvent::Block { raw, cursor } => (raw.number(), cursor),
        other => panic!("expected a block, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_resumes_from_its_saved_cursor() {
    let Some(anvil) = Anvil::start(0).await else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = FileCursorStore::new(dir.path().join("cursor.json"));
    anvil.mine_n(3).await;
    let rpc = Rpc::connect(&anvil.http(), fast()).await.unwrap();

    let (tx, mut rx) = mpsc::channel(16);
    let first = tokio::spawn(
        Box::new(BlockCollector::new(rpc.clone(), 31337, store.load().unwrap(), config(Some(0))))
            .run(tx),
    );
    for want in 0..=3 {
        let (n, cursor) = next_block(&mut rx).await;
        assert_eq!(n, want);
        store.save(&cursor.unwrap()).unwrap();
    }
    first.abort();

    // While it is down, three more blocks.
    anvil.mine_n(3).await;
    let saved = store.load().unwrap().unwrap();
    assert_eq!(saved.head().map(|h| h.0), Some(3));
    let (tx, mut rx) = mpsc::channel(16);
    let second = tokio::spawn(
        Box::new(BlockCollector::new(rpc, 31337, Some(saved), config(Some(0)))).run(tx),
    );
    for want in 4..=6 {
        assert_eq!(next_block(&mut rx).await.0, want, "resumes after block 3, skipping none");
    }
    second.abort();
    anvil.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_restart_does_not_reprocess_blocks() {
    let Some(anvil) = Anvil::start(0).await else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = MonitorConfig {
        rpc: anvil.http(),
        cursor_file: Some(dir.path().join("cursor.json")),
        start_block: Some(0),
        pending: false,
        poll_interval: Duration::from_millis(50),
        ..MonitorConfig::default()
    };
    anvil.mine_n(4).await;
    let store = FileCursorStore::new(dir.path().join("cursor.json"));
    for (round, expect_blocks) in [(0, 5), (1, 2)] {
        if round == 1 {
            anvil.mine_n(2).await;
        }
        let head = anvil.head().await;
        let m = Running::start(config.clone()).await;
        crate::harness::eventually("cursor at head", Duration::from_secs(15), || {
            let s = store.clone();
            async move { s.load().ok().flatten().and_then(|c| c.head()).is_some_and(|(n, _)| n == head) }
        })
        .await;
        let (stats, _) = m.stop().await;
        assert_eq!(stats.blocks, expect_blocks, "round {round}");
    }
    // A cursor from another chain is refused.
    store.save(&Cursor { chain_id: 1, recent: vec![(1, vigil_core::B256::ZERO)] }).unwrap();
    let err = Monitor::connect(&config).await.unwrap_err().to_string();
    assert!(err.contains("chain 1") && err.contains("31337"), "{err}");
    anvil.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorg_is_followed_and_replaced_blocks_replayed() {
    let Some(anvil) = Anvil::start(0).await else { return };
    anvil.mine_n(2).await;
    let rpc = Rpc::connect(&anvil.ws(), fast()).await.unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let task =
        tokio::spawn(Box::new(BlockCollector::new(rpc, 31337, None, config(Some(0)))).run(tx));
    for want in 0..=2 {
        assert_eq!(next_block(&mut rx).await.0, want);
    }
    let snapshot = anvil.snapshot().await;
    // The chain that will be replaced: blocks 3 and 4, each with a transfer to ATTACKER.
    for _ in 0..2 {
        anvil.send(DEPLOYER, Some(ATTACKER), e18(1), vec![], 21_000).await;
        anvil.mine().await;
    }
    let mut old = Vec::new();
    for want in 3..=4 {
        let ChainEvent::Block { raw, .. } = next(&mut rx).await else { panic!("block {want}") };
        assert_eq!(raw.number(), want);
        old.push(raw.block.header.hash);
    }
    // Back to block 2, and a longer chain with other transactions.
    anvil.revert(snapshot).await;
    for _ in 0..3 {
        anvil.send(GUARDIAN, Some(DEPLOYER), U256::from(7), vec![], 21_000).await;
        anvil.mine().await;
    }
    match next(&mut rx).await {
        ChainEvent::Reorg { common_ancestor, depth } => {
            assert_eq!((common_ancestor, depth), (2, 2));
        }
        other => panic!("expected a reorg, got {other:?}"),
    }
    for want in 3..=5 {
        let ChainEvent::Block { raw, cursor } = next(&mut rx).await else { panic!("block {want}") };
        assert_eq!(raw.number(), want);
        assert!(!old.contains(&raw.block.header.hash), "block {want} is the new chain's");
        let from = raw.block.transactions.as_transactions().unwrap()[0].inner.signer();
        assert_eq!(from, GUARDIAN);
        assert_eq!(cursor.unwrap().head().unwrap().0, want);
    }
    task.abort();
    anvil.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_failures_are_retried_until_the_node_is_up() {
    if crate::anvil::binary().is_none() {
        return;
    }
    let (http_port, ws_port) = (free_port(), free_port());
    // HTTP: the collector starts against a port nothing listens on.
    let rpc = Rpc::connect(&format!("http://127.0.0.1:{http_port}"), fast()).await.unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let task =
        tokio::spawn(Box::new(BlockCollector::new(rpc, 31337, None, config(Some(0)))).run(tx));
    // WebSocket: connecting itself is retried.
    let ws_url = format!("ws://127.0.0.1:{ws_port}");
    let ws = tokio::spawn(async move {
        Rpc::connect(&ws_url, fast()).await.map(|r| r.supports_subscriptions())
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(rx.try_recv().is_err() && !ws.is_finished(), "nothing can have arrived yet");

    let Some(anvil) = Anvil::start(http_port).await else { return };
    assert_eq!(next_block(&mut rx).await.0, 0);
    anvil.mine().await;
    assert_eq!(next_block(&mut rx).await.0, 1);
    task.abort();
    let Some(anvil_ws) = Anvil::start(ws_port).await else { return };
    let connected = tokio::time::timeout(Duration::from_secs(15), ws)
        .await
        .expect("ws connect retried")
        .unwrap();
    assert!(connected.unwrap());
    anvil.stop().await;
    anvil_ws.stop().await;
}

//! Ordinary traffic fires nothing; labelled addresses are flagged with their label.

use std::time::Duration;

use alloy::primitives::{Address, U256, address};
use alloy::sol_types::SolCall;
use vigil_chain::{CursorStore, FileCursorStore, Monitor, MonitorConfig};
use vigil_core::{Category, EvmAddress, Indicator};
use vigil_detect::{IndicatorIndex, IndicatorMeta};

use crate::anvil::Anvil;
use crate::contracts::*;
use crate::harness::{Running, eventually};

/// Anvil's funded dev accounts #0–#9.
const ACCOUNTS: [Address; 10] = [
    address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
    address!("70997970C51812dc3A010C7d01b50e0d17dc79C8"),
    address!("3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"),
    address!("90F79bf6EB2c4f870365E785982E1f101E93b906"),
    address!("15d34AAf54267DB7D7c367839AAf71A00a2C6A65"),
    address!("9965507D1a55bcC2695C58ba16FB37d819B0A4dc"),
    address!("976EA74026E726554dB657fA54763abd0C3a0aa9"),
    address!("14dC79964da2C08b23698B3D3cc7Ca32193d9955"),
    address!("23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f"),
    address!("a0Ee7a142d267C1f36714E4a8F75612F20a79720"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_ordinary_transactions_fire_nothing() {
    let Some(anvil) = Anvil::start(0).await else { return };
    let d = setup(&anvil).await;
    // Everyone gets USDX; lenders get allowance on the vault.
    for a in ACCOUNTS {
        anvil
            .send(
                DEPLOYER,
                Some(d.usdx),
                U256::ZERO,
                mintCall { to: a, amount: e18(10_000) }.abi_encode(),
                100_000,
            )
            .await;
        anvil
            .send(
                a,
                Some(d.usdx),
                U256::ZERO,
                approveCall { spender: d.vault, amount: U256::MAX }.abi_encode(),
                100_000,
            )
            .await;
    }
    anvil.mine().await;

    let dir = tempfile::tempdir().unwrap();
    let cursor = dir.path().join("cursor.json");
    let config = MonitorConfig {
        rpc: anvil.ws(),
        detect: vigil_detect::DetectConfig { protected: d.protected(), ..Default::default() },
        start_block: Some(1),
        cursor_file: Some(cursor.clone()),
        poll_interval: Duration::from_millis(100),
        ..MonitorConfig::default()
    };
    let m = Running::start(config).await;

    let mut sent = 0;
    for round in 0..5u64 {
        for i in 0..200u64 {
            let from = ACCOUNTS[(i % 10) as usize];
            let to = ACCOUNTS[((i + 1 + round) % 10) as usize];
            match i % 10 {
                // Token transfers.
                0..=5 => {
                    let call = transferCall { to, amount: e18(1 + i % 7) };
                    anvil.send(from, Some(d.usdx), U256::ZERO, call.abi_encode(), 100_000).await;
                }
                // Ether transfers.
                6 | 7 => {
                    anvil
                        .send(from, Some(to), U256::from(10u64.pow(15) * (1 + i)), vec![], 21_000)
                        .await;
                }
                // Small vault deposits and withdrawals (0.001 % of its liquidity each).
                8 => {
                    anvil
                        .send(
                            from,
                            Some(d.vault),
                            U256::ZERO,
                            depositCall { amount: e18(10) }.abi_encode(),
                            200_000,
                        )
                        .await;
                }
                _ => {
                    anvil
                        .send(
                            from,
                            Some(d.vault),
                            U256::ZERO,
                            withdrawCall { amount: e18(5) }.abi_encode(),
                            200_000,
                        )
                        .await;
                }
            }
            sent += 1;
        }
        // A withdrawal only succeeds after the same lender's deposit: mine in between.
        anvil.mine().await;
    }
    assert!(sent >= 1_000);
    let head = anvil.head().await;
    let store = FileCursorStore::new(&cursor);
    // A bound, not a speed check: in a debug build on a loaded 2-core machine (the whole test
    // suite running beside it) tracing and pre-executing 1,000 transactions took over 30 s.
    eventually("the monitor to reach the head", Duration::from_secs(120), || {
        let store = store.clone();
        async move { store.load().ok().flatten().and_then(|c| c.head()).is_some_and(|(n, _)| n >= head) }
    })
    .await;
    let (stats, alerts) = m.stop().await;
    let summary: Vec<String> =
        alerts.iter().map(|a| format!("{}: {}", a.detector, a.description)).collect();
    assert!(alerts.is_empty(), "ordinary traffic raised alerts: {summary:#?}");
    eprintln!("benign workload: {stats:?}");
    // Every mined transaction is inspected. The pending feed is best effort: on a loaded
    // machine anvil's subscription can drop a few, so at least 95% must be seen pending.
    let mined = stats.engine.transactions.saturating_sub(stats.pending);
    assert!(
        mined >= sent as u64 && stats.pending * 100 >= sent as u64 * 95,
        "every transaction is inspected mined, and almost all pending: {stats:?}"
    );
    assert_eq!(stats.blocks, head, "blocks 1..={head}: {stats:?}");
    anvil.stop().await;
}

fn forta_row(data: &std::path::Path) -> (EvmAddress, String, IndicatorIndex) {
    let csv = std::fs::read_to_string(
        data.join("forta-labelled-datasets/labels/1/etherscan_malicious_labels.csv"),
    )
    .unwrap();
    let mut index = IndicatorIndex::new();
    let mut first = None;
    for line in csv.lines().skip(1) {
        let mut cols = line.split(',');
        let (Some(a), Some(label)) = (cols.next(), cols.next()) else { continue };
        let Ok(address) = a.parse::<EvmAddress>() else { continue };
        let meta = IndicatorMeta::new(80, "feed:forta-etherscan")
            .with_label(label)
            .with_category(Category::Phishing);
        index.insert(&Indicator::address(address), &meta).unwrap();
        first.get_or_insert((address, label.to_owned()));
    }
    let ofac = std::fs::read_to_string(
        data.join("ofac-sanctioned-addresses/sanctioned_addresses_ETH.txt"),
    )
    .unwrap();
    for line in ofac.lines().filter(|l| !l.trim().is_empty()) {
        let address: EvmAddress = line.trim().parse().unwrap();
        let meta = IndicatorMeta::new(100, "feed:ofac")
            .with_label("OFAC SDN")
            .with_category(Category::Sanctioned);
        index.insert(&Indicator::address(address), &meta).unwrap();
    }
    let (a, l) = first.unwrap();
    (a, l, index)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labelled_addresses_are_flagged_pending_and_mined() {
    let Some(data) = crate::shared_data() else { return };
    let Some(anvil) = Anvil::start(0).await else { return };
    let (labelled, label, index) = forta_row(&data);
    let config = MonitorConfig {
        rpc: anvil.ws(),
        start_block: Some(1),
        poll_interval: Duration::from_millis(100),
        ..MonitorConfig::default()
    };
    let monitor = Monitor::connect(&config).await.unwrap().with_indicators(index);
    let mut m = Running::spawn(monitor);

    // Ether to a Forta-labelled phishing address.
    let hash = anvil.send(DEPLOYER, Some(Address::from(labelled.0)), e18(1), vec![], 21_000).await;
    let h = vigil_core::B256(hash.0);
    for stage in ["pending", "mined"] {
        if stage == "mined" {
            anvil.mine().await;
        }
        let a = m
            .wait_for(&format!("{stage} label alert"), Duration::from_secs(15), |a| {
                a.tx.hash == h
                    && a.detector == "indicator-match"
                    && (a.tx.block.is_some() == (stage == "mined"))
            })
            .await;
        assert!(a.labels.contains(&label), "{stage}: {:?} lacks {label}", a.labels);
        assert_eq!(a.kind, vigil_core::AlertKind::Scam);
    }

    // A sanctioned address written in lower case on the chain side matches its checksummed entry.
    let ofac = "0x01e2919679362dFBC9ee1644Ba9C6da6D6245BB1";
    let lower: Address = ofac.to_lowercase().parse().unwrap();
    let hash = anvil.send(DEPLOYER, Some(lower), e18(1), vec![], 21_000).await;
    let h = vigil_core::B256(hash.0);
    let a = m.wait_for("OFAC alert", Duration::from_secs(15), |a| a.tx.hash == h).await;
    assert_eq!(a.labels, vec!["OFAC SDN".to_owned()]);
    assert_eq!(a.addresses[0].to_string(), ofac);
    m.stop().await;
    anvil.stop().await;
}

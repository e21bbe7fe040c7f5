//! Time from an alert in hand to the signed pause transaction being accepted by the chain node
//! (`eth_sendRawTransaction` answered), and to its receipt in the next block, on a real anvil
//! with the demo vault. Alternates pause / unpause so every round is a real state change.
//!
//! ```sh
//! VIGIL_ANVIL=… cargo run --release -p vigil-chain --example pause_latency -- 200
//! ```

use std::time::{Duration, Instant};

use alloy::providers::Provider as _;

use vigil_chain::executor::ContractCaller;
use vigil_chain::scenario::{DevChain, GUARDIAN_DEV_KEY, anvil_binary, deploy, ev};
use vigil_core::Selector;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let anvil = anvil_binary().expect("set VIGIL_ANVIL or put anvil on PATH");
    let chain = DevChain::start(&anvil, 0).await.expect("start anvil");
    let d = deploy(&chain).await.expect("deploy");
    let guardian = ContractCaller::connect(&chain.http(), GUARDIAN_DEV_KEY).await.expect("connect");
    let calls = [Selector::of_signature("pause()").0, Selector::of_signature("unpause()").0];
    let mut sent = Vec::with_capacity(rounds);
    let mut mined = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let started = Instant::now();
        let tx = guardian.send(ev(d.vault), &calls[i % 2]).await.expect("send");
        sent.push(started.elapsed());
        // The next block, mined on request as a real chain would at its next slot.
        chain.mine().await.expect("mine");
        let receipt = chain
            .provider
            .get_transaction_receipt(alloy::primitives::B256::from(tx.0))
            .await
            .expect("receipt")
            .expect("mined in the next block");
        assert!(receipt.status(), "round {i} reverted");
        mined.push(started.elapsed());
    }
    sent.sort();
    mined.sort();
    println!("rounds                        {rounds}");
    println!(
        "alert → pause tx accepted     p50 {:?}  p99 {:?}  max {:?}",
        pct(&sent, 0.5),
        pct(&sent, 0.99),
        sent[sent.len() - 1]
    );
    println!(
        "alert → receipt (next block)  p50 {:?}  p99 {:?}",
        pct(&mined, 0.5),
        pct(&mined, 0.99)
    );
    chain.stop().await;
}

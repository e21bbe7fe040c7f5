//! The on-chain executor against a real chain: a guardian key pauses and unpauses the vault;
//! a key that is no guardian is refused by the contract, and the error says so.

use std::time::Duration;

use vigil_chain::executor::{ContractCaller, ExecutorError};
use vigil_chain::scenario::{GUARDIAN_DEV_KEY, ev};
use vigil_core::Selector;

use crate::anvil::Anvil;
use crate::contracts::setup;

/// Anvil's published development key #1: not a vault guardian.
const OTHER_DEV_KEY: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

/// Runs `call` while mining, since the chain only mines on request.
async fn mined<T>(anvil: &Anvil, call: impl Future<Output = T>) -> T {
    let chain = &anvil.chain;
    let mining = async {
        loop {
            tokio::time::sleep(Duration::from_millis(30)).await;
            let _ = chain.mine().await;
        }
    };
    tokio::select! {
        out = call => out,
        () = mining => unreachable!(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guardian_key_pauses_and_unpauses_and_others_are_refused() {
    let Some(anvil) = Anvil::start(0).await else { return };
    let d = setup(&anvil).await;
    let pause = Selector::of_signature("pause()").0;
    let unpause = Selector::of_signature("unpause()").0;

    let guardian = ContractCaller::connect(&anvil.http(), GUARDIAN_DEV_KEY).await.unwrap();
    assert_eq!(guardian.address(), ev(vigil_chain::scenario::GUARDIAN));
    let receipt = mined(&anvil, guardian.call(ev(d.vault), &pause)).await.unwrap();
    assert!(receipt.block > 0 && receipt.gas_used > 0);
    assert!(anvil.chain.is_paused(d.vault).await.unwrap());

    let stranger = ContractCaller::connect(&anvil.http(), OTHER_DEV_KEY).await.unwrap();
    let err = mined(&anvil, stranger.call(ev(d.vault), &unpause)).await.unwrap_err();
    // Gas estimation already sees the revert; either way the call is refused with a reason.
    assert!(matches!(err, ExecutorError::Rpc { .. } | ExecutorError::Reverted { .. }), "{err}");
    assert!(anvil.chain.is_paused(d.vault).await.unwrap());

    mined(&anvil, guardian.call(ev(d.vault), &unpause)).await.unwrap();
    assert!(!anvil.chain.is_paused(d.vault).await.unwrap());

    assert!(matches!(
        ContractCaller::connect(&anvil.http(), "0x1234").await,
        Err(ExecutorError::BadKey)
    ));
    let dead = ContractCaller::connect("http://127.0.0.1:9", GUARDIAN_DEV_KEY).await.unwrap_err();
    assert!(matches!(dead, ExecutorError::Rpc { .. }), "{dead}");
}

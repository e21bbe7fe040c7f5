//! Calldata decoding (outside input: anyone can send any transaction). The first byte picks a
//! known selector (or none); decoding and the address scan must never panic, and the model of
//! a pending transaction built from the calldata must be usable by every detector.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_core::{B256, EvmAddress, EvmChainId};
use vigil_detect::calls::{FLASH_LOAN_SELECTORS, address_words, decode_call};
use vigil_detect::{DetectConfig, Engine, RuleSet, Transaction, U256};

const OTHERS: [[u8; 4]; 6] = [
    [0xa9, 0x05, 0x9c, 0xbb], // transfer
    [0x23, 0xb8, 0x72, 0xdd], // transferFrom
    [0x09, 0x5e, 0xa7, 0xb3], // approve
    [0x02, 0x2c, 0x0d, 0x9f], // Uniswap V2 swap
    [0x7d, 0x5e, 0x81, 0xe2], // OZ propose
    [0xda, 0x95, 0x69, 0x1a], // Bravo propose
];

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else { return };
    let mut input = Vec::with_capacity(rest.len() + 4);
    match head % 16 {
        n @ 0..=4 => input.extend_from_slice(&FLASH_LOAN_SELECTORS[usize::from(n)].0.0),
        n @ 5..=10 => input.extend_from_slice(&OTHERS[usize::from(n - 5)]),
        _ => {}
    }
    input.extend_from_slice(rest);
    let _ = decode_call(&input, EvmAddress::ZERO);
    let _ = address_words(&input).count();
    let tx = Transaction::pending(
        EvmChainId(1),
        B256::ZERO,
        EvmAddress([1; 20]),
        Some(EvmAddress([2; 20])),
        U256::ZERO,
        0,
        input.into(),
        0,
    );
    let mut engine = Engine::new(&DetectConfig::default(), RuleSet::empty());
    let _ = engine.process_tx(&tx);
});

//! EVM log decoding (outside input: any contract can emit any log). The first byte picks how
//! many topics (0–4); topic0 is biased towards the known events so their decoders get
//! exercised; the rest is data. Decoding must never panic, and a decoded event must be
//! consistent with what it claims (a flash loan names its receiver among its addresses).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_core::B256;
use vigil_detect::events::{decode_log, topics};

const KNOWN: [[u8; 32]; 12] = [
    topics::TRANSFER,
    topics::APPROVAL,
    topics::APPROVAL_FOR_ALL,
    topics::AAVE_V3_FLASH_LOAN,
    topics::AAVE_V2_FLASH_LOAN,
    topics::BALANCER_FLASH_LOAN,
    topics::UNISWAP_V2_SWAP,
    topics::UNISWAP_V2_SYNC,
    topics::UNISWAP_V3_SWAP,
    topics::UNISWAP_V3_FLASH,
    topics::AAVE_V3_LIQUIDATION_CALL,
    topics::PROPOSAL_CREATED,
];

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else { return };
    let count = usize::from(head % 5);
    let mut topics = Vec::with_capacity(count);
    let mut rest = rest;
    for i in 0..count {
        let mut word = [0u8; 32];
        if i == 0 && head & 0x80 != 0 {
            word = KNOWN[usize::from(head >> 3) % KNOWN.len()];
        } else {
            let n = rest.len().min(32);
            word[..n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
        }
        topics.push(B256(word));
    }
    if let Some(event) = decode_log(&topics, rest) {
        let mut addresses = Vec::new();
        event.addresses(&mut addresses);
        if let Some(loan) = event.flash_loan() {
            assert!(addresses.contains(&loan.receiver));
        }
        assert!(!event.name().is_empty());
    }
});

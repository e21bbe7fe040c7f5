//! Malachite consensus and sync messages as a Vigil validator decodes them from peers (votes,
//! proposals, proposal parts, liveness and sync messages, validator proofs). Needs the `bft`
//! feature: `cargo fuzz run decode_consensus --features bft`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = vigil_net::bft::codec::decode_any(data);
});

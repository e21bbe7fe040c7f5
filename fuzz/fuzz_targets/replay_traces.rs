//! The `vigil replay` readers (geth callTracer trees and block arrays, parity rows and block
//! objects, Vigil transactions) on arbitrary text, then the effects derivation on whatever they
//! accept: errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(txs) = vigil_detect::replay::read(text, vigil_core::EvmChainId(1)) {
        for t in txs {
            let _ = vigil_detect::Effects::of(&t.tx);
        }
    }
});

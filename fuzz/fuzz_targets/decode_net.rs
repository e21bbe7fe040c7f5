//! What a Vigil node decodes from the network without consensus: gossip messages on each topic
//! (validated as before forwarding) and stored/synced commit certificates. Nothing may panic;
//! whatever validates must re-encode to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_net::gossip::{GossipKind, validate};
use vigil_net::CommitCertificate;

fuzz_target!(|data: &[u8]| {
    let chain: vigil_core::ChainId = "vigil-fuzz".parse().expect("valid chain id");
    for kind in GossipKind::ALL {
        if let Ok(message) = validate(kind, data, &chain) {
            assert_eq!(message.to_bytes(), data);
            assert_eq!(message.kind(), kind);
        }
    }
    if let Ok(cert) = CommitCertificate::from_bytes(data) {
        assert_eq!(cert.to_bytes(), data);
        let block = vigil_core::BlockHash::of_bytes(data);
        let _ = cert.verify(&chain, 1, &block, &[(vigil_core::AccountId([7; 32]), 1)]);
    }
});

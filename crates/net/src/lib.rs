//! `vigil-net`: how Vigil nodes reach each other.
//!
//! It owns the libp2p gossip of signed alerts and intel (validated before forwarding, deduped by
//! content id) and the consensus drivers that order transactions into blocks: solo for one node,
//! Malachite BFT for many.

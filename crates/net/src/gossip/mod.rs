//! Gossip of signed alerts, intel and transactions over libp2p gossipsub.
//!
//! Start a [`Gossip`] service with the node's key, a listen address and bootstrap peers;
//! [`Gossip::publish`] a [`GossipMessage`]; read validated [`Received`] messages from the
//! channel `start` returns. Validation ([`validate`]) runs before any forwarding.

mod message;
#[cfg(feature = "gossip")]
mod service;

#[cfg(feature = "gossip")]
pub use libp2p::{Multiaddr, PeerId};
pub use message::{
    DisclosureUpload, GossipKind, GossipMessage, RejectReason, disclosure_topic, validate,
};
#[cfg(feature = "gossip")]
pub use service::{
    Gossip, GossipConfig, GossipError, GossipStats, Received, peer_id_of, peer_identity,
};

#[cfg(all(test, feature = "gossip"))]
mod tests;

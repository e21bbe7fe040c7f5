//! vigil-net integration tests: whole drivers and services on loopback.

#[cfg(feature = "bft")]
mod bft;

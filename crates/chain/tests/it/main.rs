//! Integration tests of `vigil-chain`: real anvil chains on loopback, and offline replays.

mod anvil;
mod attack;
mod contracts;
mod harness;

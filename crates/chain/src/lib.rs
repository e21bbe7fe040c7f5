//! `vigil-chain`: Vigil's EVM edge, built on alloy.
//!
//! It owns the collectors (blocks with receipts and logs, pending transactions, recorded
//! replays), the on-chain executors (guardian pause transactions), and the Solidity contracts
//! the chain tests deploy (`contracts/`, compiled artifacts committed).

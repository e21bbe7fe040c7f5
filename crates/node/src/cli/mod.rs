//! The subcommands of `vigil`, one module per area.

pub mod bounty;
pub mod errors;
pub mod feed;
pub mod import;
pub mod keys;
pub mod ledger;
pub mod replay;
pub mod respond;
pub mod run;
pub mod simulate;
pub mod stix;
pub mod testnet;
pub mod watch;

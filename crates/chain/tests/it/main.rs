//! Integration tests of `vigil-chain`: real anvil chains on loopback, and offline replays.

mod anvil;
mod attack;
mod contracts;
mod cursor;
mod executor;
mod harness;
mod presim;
mod replay;
mod trace;
mod trace_attack;
mod workload;

/// Where ../shared/data is from this crate, if it is there.
pub fn shared_data() -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("SKIP: {} is absent; tests needing ../shared/data are skipped", p.display());
        None
    }
}

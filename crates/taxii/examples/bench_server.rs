//! Serves a TAXII collection of N indicator objects on loopback, for load tools (wrk) and the
//! `bench_sync` example. Usage: `bench_server [N] [PORT] [DB_PATH]` (defaults: 100000, 8731,
//! a temporary file). Prints the URL of one object once ready. The indicators collection is
//! anonymously readable.

use std::sync::Arc;

use vigil_core::{Category, EvmAddress, Indicator};
use vigil_intel::Timestamp;
use vigil_intel::stix::{IndicatorMeta, Tlp, indicator_object};
use vigil_taxii::{
    Query, RedbStore, TaxiiConfig, TaxiiState, TaxiiStore, default_collection_id, router,
};

fn object(n: u64) -> vigil_intel::stix::StixObject {
    let mut a = [0u8; 20];
    a[12..].copy_from_slice(&n.to_be_bytes());
    indicator_object(
        &Indicator::address(EvmAddress(a)),
        &IndicatorMeta {
            created: Timestamp(1_700_000_000),
            modified: Timestamp(1_700_000_000),
            category: Category::Phishing,
            confidence: Some(80),
            description: format!("benchmark indicator {n}"),
            labels: vec!["source:bench".into()],
            valid_until: None,
            created_by: None,
            tlp: Tlp::Green,
            wallet_convention: true,
        },
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args.get(1).map_or(Ok(100_000), |s| s.parse())?;
    let port: u16 = args.get(2).map_or(Ok(8731), |s| s.parse())?;
    let tmp = tempfile::tempdir()?;
    let path = args.get(3).map_or_else(|| tmp.path().join("bench.redb"), std::path::PathBuf::from);
    let db = Arc::new(redb::Database::create(&path)?);
    let store = Arc::new(RedbStore::new(db)?);
    let coll = default_collection_id("indicators");
    let have = store.query(&coll, &Query::latest(usize::MAX), false)?.records.len() as u64;
    if have < n {
        let started = std::time::Instant::now();
        for (b, start) in (have..n).step_by(10_000).enumerate() {
            let batch: Vec<_> = (start..(start + 10_000).min(n)).map(object).collect();
            store.add(&coll, &batch, 1_767_225_600_000_000 + b as u64)?;
        }
        eprintln!("loaded {} objects in {:.1?}", n - have, started.elapsed());
    }
    let mut config = TaxiiConfig { max_page_size: 10_000, ..TaxiiConfig::default() };
    config.collections[0].anonymous_read = true;
    let state = Arc::new(TaxiiState::new(config, store as Arc<dyn TaxiiStore>)?);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "ready http://127.0.0.1:{port}/taxii2/vigil/collections/indicators/objects/{}/",
        object(n / 2).id()
    );
    axum::serve(listener, router(state)).await?;
    Ok(())
}

//! Cost of a TAXII page and of a single-object GET, in the store and through the router, for
//! collections of 10k and 100k indicator objects: a page must not get dearer as the
//! collection grows.

use std::hint::black_box;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tower::ServiceExt as _;
use vigil_core::{Category, EvmAddress, Indicator};
use vigil_intel::Timestamp;
use vigil_intel::stix::{IndicatorMeta, Tlp, indicator_object};
use vigil_taxii::{
    Cursor, Query, RedbStore, TaxiiConfig, TaxiiState, TaxiiStore, default_collection_id, router,
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

/// A store holding `n` indicators, added 10k per transaction (one date_added per batch).
fn filled(n: u64, dir: &std::path::Path) -> Arc<RedbStore> {
    let db = Arc::new(redb::Database::create(dir.join(format!("bench-{n}.redb"))).unwrap());
    let store = Arc::new(RedbStore::new(db).unwrap());
    let coll = default_collection_id("indicators");
    for (b, start) in (0..n).step_by(10_000).enumerate() {
        let batch: Vec<_> = (start..(start + 10_000).min(n)).map(object).collect();
        store.add(&coll, &batch, 1_767_225_600_000_000 + b as u64).unwrap();
    }
    store
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let coll = default_collection_id("indicators");
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut g = c.benchmark_group("taxii");
    g.sample_size(20);
    for n in [10_000u64, 100_000] {
        let store = filled(n, dir.path());
        // A page from the middle of the collection.
        let mid = store
            .query(&coll, &Query { limit: (n / 2) as usize, ..Query::latest(1) }, false)
            .unwrap();
        let cursor: Cursor = mid.records.last().unwrap().cursor;
        g.throughput(Throughput::Elements(1_000));
        g.bench_with_input(BenchmarkId::new("store_page_1000", n), &n, |b, _| {
            b.iter(|| {
                let q = Query { next: Some(cursor), ..Query::latest(1_000) };
                black_box(store.query(&coll, &q, true).unwrap().records.len())
            })
        });

        let mut config = TaxiiConfig { max_page_size: 100_000, ..TaxiiConfig::default() };
        config.collections[0].anonymous_read = true;
        let state =
            Arc::new(TaxiiState::new(config, store.clone() as Arc<dyn TaxiiStore>).unwrap());
        let app = router(state);
        // The router issues the tokens: take one from a real response.
        let token = rt.block_on(async {
            let uri = format!("/taxii2/vigil/collections/indicators/objects/?limit={}", n / 2);
            let resp =
                app.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            v["next"].as_str().unwrap().to_owned()
        });
        let page_uri =
            format!("/taxii2/vigil/collections/indicators/objects/?limit=1000&next={token}");
        g.bench_with_input(BenchmarkId::new("router_page_1000", n), &n, |b, _| {
            b.iter(|| {
                rt.block_on(async {
                    let resp = app
                        .clone()
                        .oneshot(Request::get(&page_uri).body(Body::empty()).unwrap())
                        .await
                        .unwrap();
                    axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().len()
                })
            })
        });
        let one = format!("/taxii2/vigil/collections/indicators/objects/{}/", object(n / 2).id());
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(BenchmarkId::new("router_get_object", n), &n, |b, _| {
            b.iter(|| {
                rt.block_on(async {
                    let resp = app
                        .clone()
                        .oneshot(Request::get(&one).body(Body::empty()).unwrap())
                        .await
                        .unwrap();
                    axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().len()
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Import throughput: 100k indicators from a generic CSV list, a STIX bundle, a JSON object
//! keyed by domains, a text list of URLs, and the real Forta Etherscan labels when
//! `../shared/data` is there.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vigil_core::{EvmAddress, Keypair};
use vigil_intel::stix::{self, BookExport, Tlp};
use vigil_intel::{FeedKind, ImportOptions, IndicatorBook, Timestamp, import};

const N: usize = 100_000;

fn address(i: usize) -> EvmAddress {
    let mut a = [0u8; 20];
    a[..8].copy_from_slice(&(i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    a[12..].copy_from_slice(&(i as u64).to_be_bytes());
    EvmAddress(a)
}

fn csv_list() -> Vec<u8> {
    let mut out = String::from("address,label,category\n");
    for i in 0..N {
        out.push_str(&format!("0x{},drainer-{},phishing\n", hex(&address(i).0), i % 977));
    }
    out.into_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn bench(c: &mut Criterion) {
    let opts = ImportOptions::seen_at(Timestamp(1_700_000_000));
    let csv = csv_list();
    let mut g = c.benchmark_group("import");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("csv_100k_addresses", |b| {
        b.iter(|| {
            let mut book = IndicatorBook::new();
            let r = import(&mut book, FeedKind::Csv, black_box(&csv), &opts, &mut |_| {}).unwrap();
            assert_eq!(r.imported, N as u64);
            book
        })
    });

    let mut source = IndicatorBook::new();
    import(&mut source, FeedKind::Csv, &csv, &opts, &mut |_| {}).unwrap();
    let bundle = stix::book_bundle(
        &source,
        &BookExport {
            since: None,
            now: Timestamp(1_700_000_000),
            producer: Keypair::from_seed(&[1; 32]).account_id(),
            tlp: Tlp::Green,
            include_expired: true,
            wallet_convention: true,
        },
    )
    .to_json()
    .into_bytes();
    g.bench_function("stix_bundle_100k_indicators", |b| {
        b.iter(|| {
            let mut book = IndicatorBook::new();
            let r =
                import(&mut book, FeedKind::Stix, black_box(&bundle), &opts, &mut |_| {}).unwrap();
            assert_eq!(r.imported, N as u64);
            book
        })
    });
    g.bench_function("stix_bundle_100k_indicators_keeping_objects", |b| {
        b.iter(|| {
            let mut book = IndicatorBook::new();
            let out =
                stix::import_bundle(&mut book, black_box(&bundle), &opts, &mut |_| {}).unwrap();
            assert_eq!(out.report.imported, N as u64);
            (book, out.bundle)
        })
    });

    // Community shapes (issue 16): an object mapping 25k domains to 3 addresses each (100k
    // values, detected shape), and a text list of 100k phishing URLs.
    let mut map = String::from("{\n");
    for d in 0..N / 4 {
        let addrs: Vec<String> =
            (0..3).map(|k| format!("\"0x{}\"", hex(&address(d * 3 + k).0))).collect();
        let sep = if d + 1 < N / 4 { "," } else { "" };
        map.push_str(&format!("  \"drain-{d}.example\": [{}]{sep}\n", addrs.join(", ")));
    }
    map.push('}');
    let map = map.into_bytes();
    g.bench_function("json_domain_to_addresses_100k_values", |b| {
        b.iter(|| {
            let mut book = IndicatorBook::new();
            let r = import(&mut book, FeedKind::Json, black_box(&map), &opts, &mut |_| {}).unwrap();
            assert_eq!(r.imported, N as u64);
            book
        })
    });
    let urls: String =
        (0..N).map(|i| format!("https://claim-{}.example/connect?ref={i}\n", i % 5_000)).collect();
    let urls = urls.into_bytes();
    g.bench_function("text_100k_urls", |b| {
        b.iter(|| {
            let mut book = IndicatorBook::new();
            let r =
                import(&mut book, FeedKind::Text, black_box(&urls), &opts, &mut |_| {}).unwrap();
            assert_eq!(r.imported, N as u64);
            book
        })
    });

    let forta = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/data/forta-labelled-datasets/labels/1/etherscan_malicious_labels.csv",
    );
    if let Ok(forta) = std::fs::read(forta) {
        g.throughput(Throughput::Elements(7_780));
        g.bench_function("forta_etherscan_7780_rows", |b| {
            b.iter(|| {
                let mut book = IndicatorBook::new();
                import(&mut book, FeedKind::Forta, black_box(&forta), &opts, &mut |_| {}).unwrap();
                book
            })
        });
    }
    g.finish();

    c.bench_function("export/book_100k_to_stix_json", |b| {
        b.iter(|| {
            stix::book_bundle(
                black_box(&source),
                &BookExport {
                    since: None,
                    now: Timestamp(1_700_000_000),
                    producer: Keypair::from_seed(&[1; 32]).account_id(),
                    tlp: Tlp::Green,
                    include_expired: true,
                    wallet_convention: true,
                },
            )
            .to_json()
            .len()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

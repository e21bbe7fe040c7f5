//! Fingerprint matching: every transaction's call tree fingerprinted and matched against
//! 10,000 loaded attack fingerprints, on one core.
//!
//! Transactions are the 5,762 traced transactions of the 27 mainnet blocks in
//! `../shared/data/mev-inspect-blocks` (real DeFi traffic: swaps, arbitrages, liquidations),
//! or, without them, synthetic trees of the same sizes. The fingerprints are exploit-shaped
//! (12–40 steps mixing ERC-20 calls with protocol selectors), and a tenth are real
//! transactions' own shapes with a third of their calls changed, so the index has real
//! candidates to sift (ten are left unchanged, so some transactions do match). `naive` compares
//! every fingerprint with every transaction (no selector keys), on the first 50 transactions.
//!
//! `cargo bench -p vigil-detect --bench fingerprints`

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vigil_core::detection::{Flow, Step, Target};
use vigil_core::{CallKind, EvmChainId, Fingerprint, Selector};
use vigil_detect::fingerprint::{FingerprintIndex, fingerprint};
use vigil_detect::trace::CallFrame;

const FINGERPRINTS: usize = 10_000;

/// SplitMix64: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The real traced transactions, or `None` without `../shared`.
fn real_trees() -> Option<Vec<CallFrame>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/mev-inspect-blocks");
    let mut files: Vec<_> = std::fs::read_dir(&dir).ok()?.flatten().map(|e| e.path()).collect();
    files.retain(|p| p.extension().is_some_and(|x| x == "json"));
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).ok()?;
        for r in vigil_detect::replay::read(&text, EvmChainId(1)).ok()? {
            if let Some(t) = r.tx.trace {
                out.push(t.root);
            }
        }
    }
    Some(out)
}

const COMMON: [[u8; 4]; 6] = [
    [0xa9, 0x05, 0x9c, 0xbb],
    [0x70, 0xa0, 0x82, 0x31],
    [0x09, 0x5e, 0xa7, 0xb3],
    [0x23, 0xb8, 0x72, 0xdd],
    [0x02, 0x2c, 0x0d, 0x08],
    [0x09, 0x02, 0xf1, 0xac],
];

fn random_step(rng: &mut Rng, depth: u8) -> Step {
    let selector = if rng.below(10) < 6 {
        COMMON[rng.below(COMMON.len() as u64) as usize]
    } else {
        (rng.below(20_000) as u32).to_be_bytes()
    };
    Step {
        kind: if rng.below(3) == 0 { CallKind::StaticCall } else { CallKind::Call },
        selector: (depth > 0).then_some(Selector(selector)),
        depth,
        target: [Target::Other, Target::Up(1), Target::Itself][rng.below(3) as usize],
        ok: true,
        value: 0,
        flow: [Flow::None, Flow::In, Flow::Out][rng.below(3) as usize],
    }
}

/// Synthetic trees of 1–60 frames, for a checkout without `../shared`.
fn synthetic_trees(rng: &mut Rng) -> Vec<CallFrame> {
    (0..5_762)
        .map(|_| {
            let n = 1 + rng.below(60) as usize;
            let a = |k: u64| vigil_core::EvmAddress([(k % 251) as u8; 20]);
            let mut root = CallFrame::new(CallKind::Call, a(1), Some(a(2)), Default::default());
            for i in 0..n {
                let s = random_step(rng, 1).selector.unwrap();
                let mut input = s.0.to_vec();
                input.extend_from_slice(&[0; 64]);
                let child =
                    CallFrame::new(CallKind::Call, a(2), Some(a(3 + i as u64)), input.into());
                root.calls.push(child);
            }
            root
        })
        .collect()
}

fn fingerprints(rng: &mut Rng, trees: &[CallFrame]) -> Vec<Fingerprint> {
    // Shapes of four steps or more, as reports and alerts carry them.
    let shaped: Vec<&CallFrame> = trees.iter().filter(|t| t.len() >= 4).collect();
    (0..FINGERPRINTS)
        .map(|i| {
            if i % 10 == 0 {
                // A real shape, reworked: a third of its steps call other selectors. It shares
                // selectors (and so keys) with real traffic without matching it; one in a
                // hundred of these is left as it is, so some transactions do match.
                let mut f = fingerprint(shaped[rng.below(shaped.len() as u64) as usize]);
                if i % 1_000 != 0 {
                    for s in f.steps.iter_mut().skip(1) {
                        if rng.below(3) == 0 {
                            s.selector = Some(Selector((rng.below(20_000) as u32).to_be_bytes()));
                        }
                    }
                }
                return f;
            }
            let n = 12 + rng.below(29) as usize;
            let mut steps = vec![random_step(rng, 0)];
            for _ in 1..n {
                let depth = 1 + rng.below(4) as u8;
                steps.push(random_step(rng, depth));
            }
            Fingerprint::new(steps)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut rng = Rng(18);
    let (trees, source) = match real_trees() {
        Some(t) => (t, "5,762 mainnet transactions"),
        None => (synthetic_trees(&mut rng), "5,762 synthetic trees (../shared absent)"),
    };
    let loaded = fingerprints(&mut rng, &trees);
    let mut index = FingerprintIndex::new();
    for f in &loaded {
        index.add(f.clone());
    }
    let matched = trees.iter().filter(|t| !index.matches(&fingerprint(t)).is_empty()).count();
    eprintln!("{source}; {} fingerprints loaded; {matched} transactions match one", index.len());

    let mut group = c.benchmark_group("fingerprints");
    group.throughput(Throughput::Elements(trees.len() as u64));
    group.sample_size(20);
    group.bench_function("fingerprint-only", |b| {
        b.iter(|| {
            for t in &trees {
                black_box(fingerprint(t));
            }
        })
    });
    group.bench_function("fingerprint-and-match-10k", |b| {
        b.iter(|| {
            for t in &trees {
                black_box(index.matches(&fingerprint(t)));
            }
        })
    });
    let few = &trees[..50];
    group.throughput(Throughput::Elements(few.len() as u64));
    group.bench_function("naive-compare-all-10k", |b| {
        b.iter(|| {
            for t in few {
                let fp = fingerprint(t);
                let hits = loaded
                    .iter()
                    .filter(|f| f.similarity(&fp) >= f64::from(f.min_similarity) / 100.0)
                    .count();
                black_box(hits);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

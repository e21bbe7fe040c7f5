//! Single versus batch Ed25519 verification of signed transactions.
//!
//! Run: `cargo bench -p vigil-core --bench signatures`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use vigil_core::{Amount, ChainId, Keypair, SignedTx, Tx, TxBody, Verifiable, verify_batch};

fn signed_transfers(n: usize) -> Vec<SignedTx> {
    let chain: ChainId = "vigil-bench".parse().unwrap();
    (0..n)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let key = Keypair::from_seed(&seed);
            let to = Keypair::from_seed(&[0xee; 32]).account_id();
            Tx {
                chain_id: chain.clone(),
                signer: key.account_id(),
                nonce: i as u64,
                body: TxBody::Transfer { to, amount: Amount(1_000 + i as u64) },
            }
            .sign(&key)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    for n in [64usize, 1024] {
        let txs = signed_transfers(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("single", n), &txs, |b, txs| {
            b.iter(|| {
                for tx in txs {
                    black_box(tx.verify_signature()).unwrap();
                }
            })
        });
        group.bench_with_input(BenchmarkId::new("batch", n), &txs, |b, txs| {
            b.iter(|| black_box(verify_batch(txs)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

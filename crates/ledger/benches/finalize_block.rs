//! `finalize_block` + `commit` on blocks of 1,000 signed transactions, signature verification
//! included, on the in-memory store.
//!
//! Run: `cargo bench -p vigil-ledger --bench finalize_block`

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use vigil_core::{
    Amount, Block, Category, ChainId, Keypair, Report, Severity, SignedTx, Stance, Tx, TxBody,
};
use vigil_ledger::{Genesis, GenesisAccount, Ledger, MemoryStore, Params};

const N: usize = 1_000;

fn key(i: usize) -> Keypair {
    let mut seed = [7u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
    Keypair::from_seed(&seed)
}

fn chain() -> ChainId {
    "vigil-bench".parse().unwrap()
}

fn setup() -> (Ledger<MemoryStore>, Vec<Keypair>, Vec<Report>) {
    let keys: Vec<Keypair> = (0..N + 1).map(key).collect();
    let genesis = Genesis {
        chain_id: chain(),
        genesis_time: 0,
        params: Params::default(),
        treasury: Amount::vgl(1_000_000),
        reward_pool: Amount::vgl(1_000_000),
        accounts: keys
            .iter()
            .map(|k| GenesisAccount {
                account: k.account_id(),
                balance: Amount::vgl(10_000),
                bonded: Amount::vgl(10_000),
                validator: false,
            })
            .collect(),
    };
    let mut ledger = Ledger::open(MemoryStore::new(), &genesis).unwrap();
    // Ten open reports to attest to.
    let reports: Vec<Report> = (0..10)
        .map(|i| Report {
            indicators: vec![format!("0x{:040x}", i + 1).parse().unwrap()],
            severity: Severity::High,
            category: Category::Exploit,
            summary: format!("bench report {i}"),
            evidence: vec![],
            affected_protocols: vec![],
            detection: Vec::new(),
            revokes: Vec::new(),
        })
        .collect();
    let txs = reports
        .iter()
        .enumerate()
        .map(|(i, r)| {
            sign(
                &keys[N],
                i as u64,
                TxBody::SubmitReport { report: r.clone(), bond: Amount::vgl(10) },
            )
        })
        .collect();
    let block = Block {
        height: 1,
        time: 0,
        proposer: keys[0].account_id(),
        parent: Default::default(),
        txs,
    };
    ledger.finalize_block(&block).unwrap();
    ledger.commit().unwrap();
    (ledger, keys, reports)
}

fn sign(k: &Keypair, nonce: u64, body: TxBody) -> SignedTx {
    Tx { chain_id: chain(), signer: k.account_id(), nonce, body }.sign(k)
}

fn block(ledger: &Ledger<MemoryStore>, txs: Vec<SignedTx>) -> Block {
    let last = ledger.last_commit();
    Block {
        height: last.height + 1,
        time: 0,
        proposer: txs[0].tx.signer,
        parent: last.block_hash,
        txs,
    }
}

fn bench(c: &mut Criterion) {
    let (ledger, keys, reports) = setup();
    let transfers: Vec<SignedTx> = (0..N)
        .map(|i| {
            let to = keys[(i + 1) % N].account_id();
            sign(&keys[i], 0, TxBody::Transfer { to, amount: Amount::vgl(1) })
        })
        .collect();
    // A mixed block: 40% transfers, 20% bonds, 40% attestations.
    let mixed: Vec<SignedTx> = (0..N)
        .map(|i| {
            let body = match i % 5 {
                0 | 1 => {
                    TxBody::Transfer { to: keys[(i + 1) % N].account_id(), amount: Amount::vgl(1) }
                }
                2 => TxBody::Bond { amount: Amount::vgl(5) },
                _ => TxBody::Attest {
                    report: reports[i % reports.len()].id(),
                    stance: if i % 2 == 0 { Stance::Confirm } else { Stance::Dispute },
                    stake: Amount::vgl(2),
                },
            };
            sign(&keys[i], 0, body)
        })
        .collect();
    let mut group = c.benchmark_group("finalize_block");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(20);
    for (name, txs) in [("1000_transfers", transfers), ("1000_mixed", mixed)] {
        let b = block(&ledger, txs);
        group.bench_function(name, |bench| {
            bench.iter_batched(
                || ledger.clone(),
                |mut l| {
                    let out = l.finalize_block(black_box(&b)).unwrap();
                    assert!(out.tx_results.iter().all(|r| r.outcome.is_ok()));
                    l.commit().unwrap();
                    l
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! A small test network: genesis with funded keys, and a driver that cuts blocks.

use vigil_core::{
    AccountId, Amount, Block, Category, ChainId, Indicator, Keypair, Report, Severity, SignedTx,
    Tx, TxBody,
};
use vigil_ledger::{FinalizedBlock, Genesis, GenesisAccount, Ledger, MemoryStore, Params};

pub const CHAIN: &str = "vigil-test";

pub fn chain() -> ChainId {
    CHAIN.parse().unwrap()
}

pub fn key(i: u8) -> Keypair {
    Keypair::from_seed(&[i.wrapping_add(1); 32])
}

pub fn params() -> Params {
    Params {
        challenge_window: 3,
        unbonding_delay: 2,
        voting_period: 2,
        timelock: 1,
        min_report_bond: Amount::vgl(10),
        min_attestation_stake: Amount::vgl(1),
        attestation_quorum_bps: 500,
        epoch_length: 5,
        ..Params::default()
    }
}

/// `n` accounts, each with 1,000 VGL liquid and 500 VGL bonded.
pub fn genesis(n: u8, params: Params) -> Genesis {
    Genesis {
        chain_id: chain(),
        genesis_time: 0,
        params,
        treasury: Amount::vgl(10_000),
        reward_pool: Amount::vgl(1_000),
        accounts: (0..n)
            .map(|i| GenesisAccount {
                account: key(i).account_id(),
                balance: Amount::vgl(1_000),
                bonded: Amount::vgl(500),
                validator: i < 2,
            })
            .collect(),
    }
}

pub struct Net {
    pub ledger: Ledger<MemoryStore>,
    pub time: u64,
}

impl Net {
    pub fn new(n: u8) -> Self {
        Self::with(genesis(n, params()))
    }

    pub fn with(genesis: Genesis) -> Self {
        Self { ledger: Ledger::open(MemoryStore::new(), &genesis).unwrap(), time: 1_700_000_000 }
    }

    pub fn id(&self, i: u8) -> AccountId {
        key(i).account_id()
    }

    /// A transaction by key `i` with its next nonce.
    pub fn tx(&self, i: u8, body: TxBody) -> SignedTx {
        let k = key(i);
        let nonce = self.ledger.next_nonce(&k.account_id());
        Tx { chain_id: chain(), signer: k.account_id(), nonce, body }.sign(&k)
    }

    pub fn block_of(&self, txs: Vec<SignedTx>) -> Block {
        let last = self.ledger.last_commit();
        Block {
            height: last.height + 1,
            time: self.time + last.height,
            proposer: key(0).account_id(),
            parent: last.block_hash,
            txs,
        }
    }

    /// Finalizes and commits a block of `txs`.
    pub fn block(&mut self, txs: Vec<SignedTx>) -> FinalizedBlock {
        let block = self.block_of(txs);
        let out = self.ledger.finalize_block(&block).unwrap();
        self.ledger.commit().unwrap();
        self.ledger.check_invariants().unwrap();
        out
    }

    /// Commits empty blocks until `height` is committed.
    pub fn run_to(&mut self, height: u64) {
        while self.ledger.height() < height {
            self.block(vec![]);
        }
    }
}

pub fn report(summary: &str, indicators: &[&str]) -> Report {
    Report {
        indicators: indicators.iter().map(|s| s.parse::<Indicator>().unwrap()).collect(),
        severity: Severity::High,
        category: Category::Exploit,
        summary: summary.into(),
        evidence: vec![],
        affected_protocols: vec!["lendingvault".into()],
        detection: Vec::new(),
        revokes: Vec::new(),
    }
}

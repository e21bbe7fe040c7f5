//! The ledger: an ABCI-2.0-shaped application over [`State`] and a [`Store`].
//!
//! A consensus driver calls [`Ledger::check_tx`] to admit transactions to its mempool,
//! [`Ledger::finalize_block`] with each decided block, then [`Ledger::commit`]. Queries read the
//! in-memory state.

use std::collections::BTreeSet;

use jmt::{JellyfishMerkleTree, KeyHash};
use sha2::Sha256;
use vigil_core::encoding::{decode, encode};
use vigil_core::{
    AccountId, Block, ChainId, ContentId, Indicator, MAX_TX_BYTES, ProposalAction, ReportId,
    SignedTx, Verifiable, verify_batch,
};

use crate::block::end_block;
use crate::effects::Effects;
use crate::error::{LedgerError, TxError};
use crate::events::{Event, TxResult};
use crate::exec::{check_body_shape, plan};
use crate::params::{Genesis, Params};
use crate::settle::validator_set_from_stake;
use crate::state::{
    Account, Globals, ProposalStatus, ReportRecord, ReportStatus, State, StateKey, index_key,
};
use crate::store::{AppHash, CommitBatch, CommitInfo, StateWrite, Store};

/// What `finalize_block` returns: per-transaction results, events and the new app hash.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FinalizedBlock {
    /// The block's height.
    pub height: u64,
    /// The block's hash.
    pub block_hash: vigil_core::BlockHash,
    /// One result per transaction, in block order.
    pub tx_results: Vec<TxResult>,
    /// Everything the block did, in order.
    pub events: Vec<Event>,
    /// The state root after the block.
    pub app_hash: AppHash,
}

/// A report that flags an indicator, as `check` answers it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckMatch {
    /// The report.
    pub report: ReportId,
    /// The indicator in the report that matched.
    pub indicator: Indicator,
    /// Where the report stands.
    pub status: ReportStatus,
    /// The report's severity.
    pub severity: vigil_core::Severity,
    /// The report's category.
    pub category: vigil_core::Category,
    /// 0–100: the reporter's reputation for confirmed reports, 0 otherwise.
    pub confidence: u8,
    /// Who reported it.
    pub reporter: AccountId,
}

/// An account as queries show it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AccountView {
    /// The account.
    pub account: AccountId,
    /// Its state.
    #[serde(flatten)]
    pub state: Account,
    /// Free (unlocked) bonded stake.
    pub free_stake: vigil_core::Amount,
    /// Reputation as a 0–100 confidence at the current height.
    pub reputation_score: u8,
}

#[derive(Clone)]
struct Pending {
    batch: CommitBatch,
}

/// Vigil's replicated state machine.
#[derive(Clone)]
pub struct Ledger<S: Store> {
    store: S,
    state: State,
    chain_id: ChainId,
    last: CommitInfo,
    pending: Option<Pending>,
    /// The parameters of the genesis, to show what the first parameter change replaced
    /// (not state: the state holds only the parameters in force).
    genesis_params: Params,
}

fn key_hash(key_bytes: &[u8]) -> KeyHash {
    KeyHash::with::<Sha256>(key_bytes)
}

fn store_err(e: anyhow::Error) -> LedgerError {
    LedgerError::Store(format!("{e:#}"))
}

impl<S: Store> Ledger<S> {
    /// Opens the ledger: initialises `store` from `genesis` when it is empty, otherwise loads
    /// the last committed state (refusing a store that belongs to another chain).
    pub fn open(store: S, genesis: &Genesis) -> Result<Self, LedgerError> {
        genesis.validate()?;
        match store.last_commit()? {
            None => Self::init(store, genesis),
            Some(last) => {
                let mut entries = Vec::new();
                store.for_each_state_entry(&mut |k, v| {
                    entries.push((k.to_vec(), v.to_vec()));
                    Ok(())
                })?;
                let state =
                    State::from_entries(entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))?;
                if state.globals().chain_id != genesis.chain_id {
                    return Err(LedgerError::ChainMismatch {
                        stored: state.globals().chain_id.to_string(),
                        genesis: genesis.chain_id.to_string(),
                    });
                }
                Ok(Self {
                    store,
                    state,
                    chain_id: genesis.chain_id.clone(),
                    last,
                    pending: None,
                    genesis_params: genesis.params.clone(),
                })
            }
        }
    }

    fn init(store: S, genesis: &Genesis) -> Result<Self, LedgerError> {
        let mut total = genesis
            .treasury
            .checked_add(genesis.reward_pool)
            .ok_or(LedgerError::Overflow("genesis supply"))?;
        let mut total_bonded = vigil_core::Amount::ZERO;
        let mut candidates = BTreeSet::new();
        for a in &genesis.accounts {
            total = total
                .checked_add(a.balance)
                .and_then(|t| t.checked_add(a.bonded))
                .ok_or(LedgerError::Overflow("genesis supply"))?;
            total_bonded =
                total_bonded.checked_add(a.bonded).ok_or(LedgerError::Overflow("genesis stake"))?;
            if a.validator {
                candidates.insert(a.account);
            }
        }
        let globals = Globals {
            chain_id: genesis.chain_id.clone(),
            treasury: genesis.treasury,
            reward_pool: genesis.reward_pool,
            total_bonded,
            total_supply: total,
            validator_candidates: candidates,
            validators: Vec::new(),
            validators_since: 1,
            next_proposal: 1,
        };
        let mut state = State::new(genesis.params.clone(), globals);
        for a in &genesis.accounts {
            let account = Account { balance: a.balance, bonded: a.bonded, ..Account::default() };
            state.put_account(a.account, account);
        }
        let validators = validator_set_from_stake(&state);
        state.globals_mut().validators = validators;
        let mut ledger = Self {
            store,
            state,
            chain_id: genesis.chain_id.clone(),
            last: CommitInfo::default(),
            pending: None,
            genesis_params: genesis.params.clone(),
        };
        let batch = ledger.prepare_commit(0, None, Vec::new(), Vec::new())?;
        ledger.last = batch.info;
        ledger.store.commit(batch)?;
        Ok(ledger)
    }

    /// Computes the Merkle update for the keys changed since the last commit.
    fn prepare_commit(
        &mut self,
        height: u64,
        block: Option<Block>,
        tx_results: Vec<TxResult>,
        events: Vec<Event>,
    ) -> Result<CommitBatch, LedgerError> {
        let dirty = self.state.take_dirty();
        let writes: Vec<StateWrite> = dirty
            .iter()
            .map(|k| {
                let key = encode(k);
                StateWrite { key_hash: key_hash(&key), value: self.state.encoded(k), key }
            })
            .collect();
        let tree = JellyfishMerkleTree::<_, Sha256>::new(&self.store);
        let (root, update) = tree
            .put_value_set(writes.iter().map(|w| (w.key_hash, w.value.clone())), height)
            .map_err(store_err)?;
        let block_hash = block.as_ref().map(Block::hash).unwrap_or_default();
        let info = CommitInfo { height, app_hash: AppHash(root.0), block_hash };
        Ok(CommitBatch {
            info,
            block,
            tx_results,
            events,
            state: writes,
            new_nodes: update
                .node_batch
                .nodes()
                .iter()
                .map(|(k, n)| (k.clone(), n.clone()))
                .collect(),
            stale_nodes: update.stale_node_index_batch.into_iter().map(|s| s.node_key).collect(),
        })
    }

    /// The network id.
    pub fn chain_id(&self) -> &ChainId {
        &self.chain_id
    }

    /// The last committed height, app hash and block hash.
    pub fn last_commit(&self) -> CommitInfo {
        self.last
    }

    /// The last committed height.
    pub fn height(&self) -> u64 {
        self.last.height
    }

    /// The state (read-only). Between `finalize_block` and `commit` it includes the block.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The store (read-only), e.g. for block queries.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The parameters in force.
    pub fn params(&self) -> &Params {
        self.state.params()
    }

    /// Checks that need no state: size, chain, signature, amounts and report shape.
    pub fn check_tx_stateless(&self, tx: &SignedTx) -> Result<(), TxError> {
        let size = encode(tx).len();
        if size > MAX_TX_BYTES {
            return Err(TxError::TooLarge { size, max: MAX_TX_BYTES });
        }
        if tx.tx.chain_id != self.chain_id {
            return Err(TxError::WrongChain {
                expected: self.chain_id.clone(),
                got: tx.tx.chain_id.clone(),
            });
        }
        tx.verify_signature()?;
        check_body_shape(&tx.tx.body)
    }

    /// Admission to the mempool: the stateless checks, then the nonce, then — for a transaction
    /// that is next in line — a dry run against the current state. A transaction with a later
    /// nonce passes on its stateless checks alone (the mempool orders it).
    pub fn check_tx(&self, tx: &SignedTx) -> Result<(), TxError> {
        self.check_tx_stateless(tx)?;
        self.check_tx_stateful(tx)
    }

    /// The part of [`Ledger::check_tx`] that reads state: the nonce, and a dry run for a
    /// transaction that is next in line. Callers must have run the stateless checks.
    pub fn check_tx_stateful(&self, tx: &SignedTx) -> Result<(), TxError> {
        let expected = self.state.account(&tx.tx.signer).map(|a| a.nonce).unwrap_or(0);
        let got = tx.tx.nonce;
        if got < expected {
            return Err(TxError::NonceUsed { account: tx.tx.signer, expected, got });
        }
        if got == expected {
            let fee = self.fee_of(tx)?;
            plan(&self.state, self.last.height.saturating_add(1), &tx.tx)?.with_fee(
                &self.state,
                tx.tx.signer,
                fee,
            )?;
        }
        Ok(())
    }

    /// The fee `tx` pays when it is executed (the parameters' `tx_fee` and `tx_fee_per_kib`
    /// over its encoded size).
    pub fn fee_of(&self, tx: &SignedTx) -> Result<vigil_core::Amount, TxError> {
        self.state.params().fee_for(encode(tx).len()).ok_or(TxError::Overflow)
    }

    /// The most liquid balance `tx` can take from its signer: its fee plus what it transfers,
    /// bonds, escrows or deposits. A mempool checks a queued transaction against the balance
    /// left after the ones ahead of it.
    pub fn max_spend(&self, tx: &SignedTx) -> Result<vigil_core::Amount, TxError> {
        self.fee_of(tx)?
            .checked_add(crate::exec::balance_spent(&self.state, &tx.tx))
            .ok_or(TxError::Overflow)
    }

    /// Executes a decided block. Transactions that fail their checks are recorded as failed;
    /// one with a valid signature and the right nonce that fails in execution still consumes its
    /// nonce (and changes nothing else). Call [`Ledger::commit`] next.
    pub fn finalize_block(&mut self, block: &Block) -> Result<FinalizedBlock, LedgerError> {
        if self.pending.is_some() {
            return Err(LedgerError::OutOfOrder("finalize_block called twice without commit"));
        }
        let expected = self.last.height.checked_add(1).ok_or(LedgerError::Overflow("height"))?;
        if block.height != expected {
            return Err(LedgerError::WrongHeight { expected, got: block.height });
        }
        if block.parent != self.last.block_hash {
            return Err(LedgerError::WrongParent {
                expected: self.last.block_hash.to_string(),
                got: block.parent.to_string(),
            });
        }
        let height = block.height;
        let signatures_ok = verify_batch(&block.txs).is_ok();
        let mut tx_results = Vec::with_capacity(block.txs.len());
        let mut events = Vec::new();
        for tx in &block.txs {
            let id = tx.id();
            let admitted = if signatures_ok {
                self.check_tx_stateless_presigned(tx)
            } else {
                self.check_tx_stateless(tx)
            };
            let expected_nonce = self.state.account(&tx.tx.signer).map(|a| a.nonce).unwrap_or(0);
            let admitted = admitted.and(match tx.tx.nonce {
                n if n < expected_nonce => Err(TxError::NonceUsed {
                    account: tx.tx.signer,
                    expected: expected_nonce,
                    got: n,
                }),
                n if n > expected_nonce => Err(TxError::NonceAhead {
                    account: tx.tx.signer,
                    expected: expected_nonce,
                    got: n,
                }),
                _ => Ok(()),
            });
            if let Err(e) = admitted {
                tx_results.push(TxResult { id, outcome: Err(e), nonce_consumed: false });
                continue;
            }
            // The fee is paid whether the transaction succeeds or fails; one that cannot pay
            // it is not executed and does not consume its nonce.
            let fee = self.fee_of(tx);
            let signer = tx.tx.signer;
            let planned = fee.clone().and_then(|fee| {
                plan(&self.state, height, &tx.tx)?.with_fee(&self.state, signer, fee)
            });
            let (effects, outcome) = match planned {
                Ok(fx) => (fx, Ok(())),
                Err(e) => {
                    match fee.and_then(|fee| Effects::default().with_fee(&self.state, signer, fee))
                    {
                        Ok(fx) => (fx, Err(e)),
                        Err(unpaid) => {
                            tx_results.push(TxResult {
                                id,
                                outcome: Err(unpaid),
                                nonce_consumed: false,
                            });
                            continue;
                        }
                    }
                }
            };
            let fx = effects.with_nonce_bump(&self.state, tx.tx.signer);
            events.extend(fx.apply(&mut self.state));
            tx_results.push(TxResult { id, outcome, nonce_consumed: true });
        }
        events.extend(end_block(&mut self.state, height)?);
        let batch =
            self.prepare_commit(height, Some(block.clone()), tx_results.clone(), events.clone())?;
        let finalized = FinalizedBlock {
            height,
            block_hash: batch.info.block_hash,
            tx_results,
            events,
            app_hash: batch.info.app_hash,
        };
        self.pending = Some(Pending { batch });
        Ok(finalized)
    }

    /// Stateless checks when the block's signatures were already verified as a batch.
    fn check_tx_stateless_presigned(&self, tx: &SignedTx) -> Result<(), TxError> {
        let size = encode(tx).len();
        if size > MAX_TX_BYTES {
            return Err(TxError::TooLarge { size, max: MAX_TX_BYTES });
        }
        if tx.tx.chain_id != self.chain_id {
            return Err(TxError::WrongChain {
                expected: self.chain_id.clone(),
                got: tx.tx.chain_id.clone(),
            });
        }
        check_body_shape(&tx.tx.body)
    }

    /// Durably stores the finalized block and its state. Returns the new last commit.
    pub fn commit(&mut self) -> Result<CommitInfo, LedgerError> {
        let pending = self
            .pending
            .take()
            .ok_or(LedgerError::OutOfOrder("commit called before finalize_block"))?;
        let info = pending.batch.info;
        self.store.commit(pending.batch)?;
        self.last = info;
        Ok(info)
    }

    /// An account with its derived figures, if it exists.
    pub fn account(&self, id: &AccountId) -> Option<AccountView> {
        let state = self.state.account(id)?.clone();
        let score = state.reputation.confidence(self.last.height, self.state.params());
        Some(AccountView {
            account: *id,
            free_stake: state.free_stake(),
            reputation_score: score,
            state,
        })
    }

    /// The next nonce of an account (0 for a new one).
    pub fn next_nonce(&self, id: &AccountId) -> u64 {
        self.state.account(id).map(|a| a.nonce).unwrap_or(0)
    }

    /// The parameters a parameter-change proposal is measured against: for one that executed,
    /// the set it replaced (the genesis parameters with every parameter change executed before
    /// it applied, in execution order); for any other, the parameters in force now. `None` for
    /// an unknown proposal.
    pub fn params_before(&self, proposal: u64) -> Option<Params> {
        let record = self.state.proposal(proposal)?;
        let Some(at) = record.execute_at.filter(|_| record.status == ProposalStatus::Executed)
        else {
            return Some(self.params().clone());
        };
        let earlier = self
            .state
            .proposals()
            .filter(|(_, r)| r.status == ProposalStatus::Executed)
            .filter_map(|(id, r)| match &r.action {
                ProposalAction::ParameterChange { params } => Some(((r.execute_at?, *id), params)),
                _ => None,
            })
            .filter(|(order, _)| *order < (at, proposal))
            .max_by_key(|(order, _)| *order);
        Some(match earlier {
            Some((_, encoded)) => decode(encoded).ok()?,
            None => self.genesis_params.clone(),
        })
    }

    /// A report.
    pub fn report(&self, id: &ReportId) -> Option<&ReportRecord> {
        self.state.report(id)
    }

    /// Every report that names `indicator` (addresses match on any chain unless both sides name
    /// one), most confident first.
    pub fn check(&self, indicator: &Indicator) -> Vec<CheckMatch> {
        let height = self.last.height;
        let params = self.state.params();
        let mut out: Vec<CheckMatch> = self
            .state
            .reports_about(&index_key(indicator))
            .filter_map(|id| self.state.report(id).map(|r| (id, r)))
            .flat_map(|(id, r)| {
                r.report.indicators.iter().filter(|i| same_indicator(i, indicator)).map(move |i| {
                    let confidence = if r.status == ReportStatus::Confirmed {
                        self.state
                            .account(&r.reporter)
                            .map(|a| a.reputation.confidence(height, params))
                            .unwrap_or(0)
                    } else {
                        0
                    };
                    CheckMatch {
                        report: *id,
                        indicator: i.clone(),
                        status: r.status,
                        severity: r.report.severity,
                        category: r.report.category,
                        confidence,
                        reporter: r.reporter,
                    }
                })
            })
            .collect();
        out.sort_by(|a, b| b.confidence.cmp(&a.confidence).then(a.report.cmp(&b.report)));
        out
    }

    /// The cost of corrupting a protocol's controls, from live state.
    pub fn security(&self, id: &vigil_core::ProtocolId) -> Option<crate::SecurityReport> {
        crate::security(&self.state, id)
    }

    /// The validator set deciding the next height.
    pub fn validator_set(&self) -> &[(AccountId, u64)] {
        &self.state.globals().validators
    }

    /// The committed bytes under `key` with a Merkle proof against the last app hash.
    pub fn prove(
        &self,
        key: &StateKey,
    ) -> Result<(Option<Vec<u8>>, jmt::proof::SparseMerkleProof<Sha256>), LedgerError> {
        let tree = JellyfishMerkleTree::<_, Sha256>::new(&self.store);
        tree.get_with_proof(key_hash(&encode(key)), self.last.height).map_err(store_err)
    }

    /// Checks the supply invariant: everything owned, escrowed and pooled adds up to the supply
    /// fixed at genesis, and no account has more locked than bonded.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut sum: u128 = 0;
        for (id, a) in self.state.accounts() {
            let total = a.total().ok_or_else(|| format!("account {id} total overflows"))?;
            sum = sum.saturating_add(u128::from(total.0));
            if a.locked > a.bonded {
                return Err(format!(
                    "account {id} has {:?} locked but {:?} bonded",
                    a.locked, a.bonded
                ));
            }
        }
        for (_, r) in self.state.reports() {
            if matches!(r.status, ReportStatus::Open | ReportStatus::Escalated) {
                sum = sum.saturating_add(u128::from(r.bond.0));
            }
        }
        for (_, p) in self.state.protocols() {
            sum = sum.saturating_add(u128::from(p.bounty_pool.0));
        }
        for (_, p) in self.state.proposals() {
            if p.status == ProposalStatus::Voting {
                sum = sum.saturating_add(u128::from(p.deposit.0));
            }
        }
        for (_, s) in self.state.streams() {
            sum = sum.saturating_add(u128::from(s.balance.0));
        }
        for (_, d) in self.state.disclosures() {
            sum = sum.saturating_add(u128::from(d.bond.0));
        }
        let g = self.state.globals();
        sum = sum
            .saturating_add(u128::from(g.treasury.0))
            .saturating_add(u128::from(g.reward_pool.0));
        if sum != u128::from(g.total_supply.0) {
            return Err(format!("supply is {sum}, genesis fixed {}", g.total_supply.0));
        }
        let bonded: u128 = self.state.accounts().map(|(_, a)| u128::from(a.bonded.0)).sum();
        if bonded != u128::from(g.total_bonded.0) {
            return Err(format!("bonded sums to {bonded}, total_bonded says {}", g.total_bonded.0));
        }
        Ok(())
    }
}

/// The app hash of `state` computed from scratch over every entry (not incrementally): a check
/// that the incremental commitment matches, and a tool for auditing a state dump.
pub fn app_hash_from_scratch(state: &State) -> Result<AppHash, LedgerError> {
    let empty = crate::store::MemoryStore::new();
    let tree = JellyfishMerkleTree::<_, Sha256>::new(&empty);
    let entries = state.all_keys().into_iter().map(|k| {
        let key = encode(&k);
        (key_hash(&key), state.encoded(&k))
    });
    let (root, _) = tree.put_value_set(entries, 0).map_err(store_err)?;
    Ok(AppHash(root.0))
}

/// Whether a report's indicator `have` answers a query for `want`.
fn same_indicator(have: &Indicator, want: &Indicator) -> bool {
    match (have, want) {
        (
            Indicator::Address { chain: c1, address: a1 },
            Indicator::Address { chain: c2, address: a2 },
        ) => a1 == a2 && (c1.is_none() || c2.is_none() || c1 == c2),
        _ => have == want,
    }
}

/// The content id the ledger uses for a block, exposed for drivers.
pub fn block_hash(block: &Block) -> ContentId {
    block.hash()
}

//! The replicated state: accounts, reports, attestations and global balances, plus indexes
//! derived from them (rebuilt on load, never committed).
//!
//! Every committed entity lives under a [`StateKey`]; its borsh bytes are a leaf of the Merkle
//! tree whose root is the app hash. Mutations go through methods that record the touched keys,
//! so a block's commitment update costs what the block touched, not the size of the state.

use std::collections::{BTreeMap, BTreeSet};

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use vigil_core::{AccountId, Amount, ChainId, Indicator, Report, ReportId, Stance};

use vigil_core::ProtocolId;

use crate::error::LedgerError;
pub use crate::governance_state::{
    BreakerState, DisclosureRecord, DisclosureStatus, ProposalRecord, ProposalStatus,
    ProtocolRecord, RecoveryRecord, RecoveryStatus, ReportOrigin, ReportStatus, StreamRecord,
    StreamStatus, TripReason, VoteRecord, VoteTally,
};
use crate::params::Params;
use crate::reputation::Reputation;

/// Stake on its way out: still slashable until `release_height`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct Unbonding {
    /// How much.
    pub amount: Amount,
    /// The first height at whose end it returns to the balance.
    pub release_height: u64,
}

/// An account.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct Account {
    /// Liquid balance.
    pub balance: Amount,
    /// Bonded stake, including the part locked in attestations.
    pub bonded: Amount,
    /// Part of `bonded` locked behind open attestations (cannot be unbonded).
    pub locked: Amount,
    /// Stake being released.
    pub unbonding: Vec<Unbonding>,
    /// Count of transactions executed for this account: the next nonce.
    pub nonce: u64,
    /// Track record.
    pub reputation: Reputation,
}

impl Account {
    /// Bonded stake not locked in attestations.
    pub fn free_stake(&self) -> Amount {
        self.bonded.checked_sub(self.locked).unwrap_or(Amount::ZERO)
    }

    /// Everything that could be slashed: bonded plus unbonding.
    pub fn slashable(&self) -> Option<Amount> {
        self.unbonding.iter().try_fold(self.bonded, |acc, u| acc.checked_add(u.amount))
    }

    /// Everything the account owns in any form.
    pub fn total(&self) -> Option<Amount> {
        self.slashable()?.checked_add(self.balance)
    }
}

/// Running totals of the attestations on a report.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct Tally {
    /// Reputation-weighted stake confirming.
    pub confirm_weight: u64,
    /// Reputation-weighted stake disputing.
    pub dispute_weight: u64,
    /// Stake locked confirming.
    pub confirm_stake: Amount,
    /// Stake locked disputing.
    pub dispute_stake: Amount,
    /// Number of attestations.
    pub attestations: u32,
}

/// How a closed report was settled.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct Settlement {
    /// Height of the verdict.
    pub at_height: u64,
    /// Weight cast relative to the quorum needed, for the record.
    pub quorum_weight: u64,
    /// Total slashed from losers (reporter bond included when rejected).
    pub slashed: Amount,
    /// Paid to the reporter on top of its returned bond.
    pub reporter_reward: Amount,
    /// Paid to winning attesters in total.
    pub winners_reward: Amount,
    /// Sent to the treasury.
    pub to_treasury: Amount,
}

/// A report as the ledger holds it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ReportRecord {
    /// The claim.
    pub report: Report,
    /// Who submitted it.
    pub reporter: AccountId,
    /// The bond held in escrow while open.
    pub bond: Amount,
    /// Height of submission.
    pub submitted_at: u64,
    /// Last height of the challenge window; the verdict comes at its end.
    pub deadline: u64,
    /// Where it stands.
    pub status: ReportStatus,
    /// The attestations so far.
    pub tally: Tally,
    /// How it was settled, once closed (not for Escalated until governance decides).
    pub settlement: Option<Settlement>,
    /// How it reached the ledger.
    pub origin: ReportOrigin,
}

/// What happened to one attestation at the verdict.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct AttestationOutcome {
    /// Whether the attester was on the winning side.
    pub won: bool,
    /// Slashed from its stake.
    pub slashed: Amount,
    /// Paid to it.
    pub reward: Amount,
}

/// An account's attestation on a report.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct Attestation {
    /// Confirm or dispute.
    pub stance: Stance,
    /// Locked stake.
    pub stake: Amount,
    /// Stake × reputation at the time of attesting.
    pub weight: u64,
    /// Height of the attestation.
    pub at_height: u64,
    /// Settlement, once the report is closed.
    pub outcome: Option<AttestationOutcome>,
}

/// Balances and sets that belong to no account.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Globals {
    /// The network this state belongs to.
    pub chain_id: ChainId,
    /// The treasury (spent by governance).
    pub treasury: Amount,
    /// Funds rewards for confirmed reports.
    pub reward_pool: Amount,
    /// Sum of all bonded stake.
    pub total_bonded: Amount,
    /// Total supply, fixed at genesis: every transition conserves it.
    pub total_supply: Amount,
    /// Accounts that run validators.
    pub validator_candidates: BTreeSet<AccountId>,
    /// The current validator set with voting power (bonded stake in base units).
    pub validators: Vec<(AccountId, u64)>,
    /// Height from which `validators` applies.
    pub validators_since: u64,
    /// The id the next proposal gets.
    pub next_proposal: u64,
}

/// A key of the committed state. Its borsh encoding is the Merkle tree key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub enum StateKey {
    /// The parameters.
    Params,
    /// The globals.
    Globals,
    /// An account.
    Account(AccountId),
    /// A report.
    Report(ReportId),
    /// An attestation: (report, attester).
    Attestation(ReportId, AccountId),
    /// A protocol.
    Protocol(ProtocolId),
    /// A proposal.
    Proposal(u64),
    /// A vote: (proposal, voter).
    Vote(u64, AccountId),
    /// A payment stream.
    Stream(u64),
    /// An embargoed disclosure.
    Disclosure(u64),
    /// A recovery claim.
    Recovery(u64),
}

const MIN_ACCOUNT: AccountId = AccountId([0; 32]);
const MAX_ACCOUNT: AccountId = AccountId([0xff; 32]);

/// The whole state, typed, with dirty-key tracking and derived indexes.
#[derive(Clone, Debug)]
pub struct State {
    params: Params,
    globals: Globals,
    accounts: BTreeMap<AccountId, Account>,
    reports: BTreeMap<ReportId, ReportRecord>,
    attestations: BTreeMap<(ReportId, AccountId), Attestation>,
    protocols: BTreeMap<ProtocolId, ProtocolRecord>,
    proposals: BTreeMap<u64, ProposalRecord>,
    votes: BTreeMap<(u64, AccountId), VoteRecord>,
    streams: BTreeMap<u64, StreamRecord>,
    disclosures: BTreeMap<u64, DisclosureRecord>,
    recoveries: BTreeMap<u64, RecoveryRecord>,
    // Derived indexes.
    /// (last height to escalate, disclosure): disputed disclosures whose bond lapses after it.
    disclosure_lapses: BTreeSet<(u64, u64)>,
    /// Commitment → the disclosure that made it first.
    commitments: BTreeMap<vigil_core::ContentId, u64>,
    /// On-chain transaction → the recovery claim that cites it.
    recovery_evidence: BTreeMap<vigil_core::B256, u64>,
    /// (height, proposal): voting ends or execution is due at that height.
    proposal_schedule: BTreeSet<(u64, u64)>,
    deadlines: BTreeSet<(u64, ReportId)>,
    releases: BTreeSet<(u64, AccountId)>,
    by_indicator: BTreeMap<Indicator, BTreeSet<ReportId>>,
    dirty: BTreeSet<StateKey>,
}

/// The key under which reports about `indicator` are indexed: addresses without their chain,
/// so a query for an address finds reports about it on any chain.
pub fn index_key(indicator: &Indicator) -> Indicator {
    match indicator {
        Indicator::Address { address, .. } => Indicator::Address { chain: None, address: *address },
        other => other.clone(),
    }
}

impl State {
    /// A state with the given parameters and globals and nothing else.
    pub fn new(params: Params, globals: Globals) -> Self {
        let mut s = Self {
            params,
            globals,
            accounts: BTreeMap::new(),
            reports: BTreeMap::new(),
            attestations: BTreeMap::new(),
            protocols: BTreeMap::new(),
            proposals: BTreeMap::new(),
            votes: BTreeMap::new(),
            streams: BTreeMap::new(),
            disclosures: BTreeMap::new(),
            recoveries: BTreeMap::new(),
            disclosure_lapses: BTreeSet::new(),
            commitments: BTreeMap::new(),
            recovery_evidence: BTreeMap::new(),
            proposal_schedule: BTreeSet::new(),
            deadlines: BTreeSet::new(),
            releases: BTreeSet::new(),
            by_indicator: BTreeMap::new(),
            dirty: BTreeSet::new(),
        };
        s.dirty.insert(StateKey::Params);
        s.dirty.insert(StateKey::Globals);
        s
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The globals.
    pub fn globals(&self) -> &Globals {
        &self.globals
    }

    /// The globals, for change.
    pub fn globals_mut(&mut self) -> &mut Globals {
        self.dirty.insert(StateKey::Globals);
        &mut self.globals
    }

    /// An account, if it has ever held anything.
    pub fn account(&self, id: &AccountId) -> Option<&Account> {
        self.accounts.get(id)
    }

    /// Every account in id order.
    pub fn accounts(&self) -> impl Iterator<Item = (&AccountId, &Account)> {
        self.accounts.iter()
    }

    /// Stores an account, keeping the release index in step.
    pub fn put_account(&mut self, id: AccountId, account: Account) {
        if let Some(old) = self.accounts.get(&id) {
            for u in &old.unbonding {
                self.releases.remove(&(u.release_height, id));
            }
        }
        for u in &account.unbonding {
            self.releases.insert((u.release_height, id));
        }
        self.dirty.insert(StateKey::Account(id));
        self.accounts.insert(id, account);
    }

    /// A report.
    pub fn report(&self, id: &ReportId) -> Option<&ReportRecord> {
        self.reports.get(id)
    }

    /// Every report in id order.
    pub fn reports(&self) -> impl Iterator<Item = (&ReportId, &ReportRecord)> {
        self.reports.iter()
    }

    /// Stores a report, keeping the deadline and indicator indexes in step.
    pub fn put_report(&mut self, id: ReportId, record: ReportRecord) {
        if let Some(old) = self.reports.get(&id) {
            self.deadlines.remove(&(old.deadline, id));
        }
        if record.status == ReportStatus::Open {
            self.deadlines.insert((record.deadline, id));
        }
        for ind in &record.report.indicators {
            self.by_indicator.entry(index_key(ind)).or_default().insert(id);
        }
        self.dirty.insert(StateKey::Report(id));
        self.reports.insert(id, record);
    }

    /// Report ids indexed under `key` (see [`index_key`]).
    pub fn reports_about(&self, key: &Indicator) -> impl Iterator<Item = &ReportId> {
        self.by_indicator.get(key).into_iter().flatten()
    }

    /// One attestation.
    pub fn attestation(&self, report: &ReportId, attester: &AccountId) -> Option<&Attestation> {
        self.attestations.get(&(*report, *attester))
    }

    /// The attestations on a report, by attester id.
    pub fn attestations_on(
        &self,
        report: &ReportId,
    ) -> impl Iterator<Item = (&AccountId, &Attestation)> {
        self.attestations
            .range((*report, MIN_ACCOUNT)..=(*report, MAX_ACCOUNT))
            .map(|((_, who), a)| (who, a))
    }

    /// Stores an attestation.
    pub fn put_attestation(&mut self, report: ReportId, attester: AccountId, a: Attestation) {
        self.dirty.insert(StateKey::Attestation(report, attester));
        self.attestations.insert((report, attester), a);
    }

    /// A protocol.
    pub fn protocol(&self, id: &ProtocolId) -> Option<&ProtocolRecord> {
        self.protocols.get(id)
    }

    /// Every protocol in id order.
    pub fn protocols(&self) -> impl Iterator<Item = (&ProtocolId, &ProtocolRecord)> {
        self.protocols.iter()
    }

    /// Stores a protocol.
    pub fn put_protocol(&mut self, id: ProtocolId, record: ProtocolRecord) {
        self.dirty.insert(StateKey::Protocol(id.clone()));
        self.protocols.insert(id, record);
    }

    /// A proposal.
    pub fn proposal(&self, id: u64) -> Option<&ProposalRecord> {
        self.proposals.get(&id)
    }

    /// Every proposal in id order.
    pub fn proposals(&self) -> impl Iterator<Item = (&u64, &ProposalRecord)> {
        self.proposals.iter()
    }

    /// A payment stream.
    pub fn stream(&self, id: u64) -> Option<&StreamRecord> {
        self.streams.get(&id)
    }

    /// Every payment stream in id order.
    pub fn streams(&self) -> impl Iterator<Item = (&u64, &StreamRecord)> {
        self.streams.iter()
    }

    /// The id the next stream gets (streams are never removed).
    pub fn next_stream_id(&self) -> u64 {
        self.streams.keys().next_back().map_or(1, |k| k.saturating_add(1))
    }

    /// Stores a payment stream.
    pub fn put_stream(&mut self, id: u64, record: StreamRecord) {
        self.dirty.insert(StateKey::Stream(id));
        self.streams.insert(id, record);
    }

    /// A disclosure.
    pub fn disclosure(&self, id: u64) -> Option<&DisclosureRecord> {
        self.disclosures.get(&id)
    }

    /// Every disclosure in id order.
    pub fn disclosures(&self) -> impl Iterator<Item = (&u64, &DisclosureRecord)> {
        self.disclosures.iter()
    }

    /// The id the next disclosure gets (disclosures are never removed).
    pub fn next_disclosure_id(&self) -> u64 {
        self.disclosures.keys().next_back().map_or(1, |k| k.saturating_add(1))
    }

    /// The disclosure that made `commitment` first.
    pub fn disclosure_by_commitment(&self, commitment: &vigil_core::ContentId) -> Option<u64> {
        self.commitments.get(commitment).copied()
    }

    /// Stores a disclosure, keeping the commitment and lapse indexes in step.
    pub fn put_disclosure(&mut self, id: u64, record: DisclosureRecord) {
        if let Some(end) = self.disclosures.get(&id).and_then(|d| d.window_ends) {
            self.disclosure_lapses.remove(&(end, id));
        }
        if let Some(end) = record.window_ends
            && record.status == DisclosureStatus::Disputed
            && !record.bond.is_zero()
        {
            self.disclosure_lapses.insert((end, id));
        }
        self.commitments.entry(record.commitment).or_insert(id);
        self.dirty.insert(StateKey::Disclosure(id));
        self.disclosures.insert(id, record);
    }

    /// Disputed disclosures whose escalation window ends at or before `height`.
    pub fn lapsed_disclosures(&self, height: u64) -> Vec<u64> {
        self.disclosure_lapses.range(..=(height, u64::MAX)).map(|(_, id)| *id).collect()
    }

    /// A recovery claim.
    pub fn recovery(&self, id: u64) -> Option<&RecoveryRecord> {
        self.recoveries.get(&id)
    }

    /// Every recovery claim in id order.
    pub fn recoveries(&self) -> impl Iterator<Item = (&u64, &RecoveryRecord)> {
        self.recoveries.iter()
    }

    /// The id the next recovery claim gets.
    pub fn next_recovery_id(&self) -> u64 {
        self.recoveries.keys().next_back().map_or(1, |k| k.saturating_add(1))
    }

    /// The recovery claim that cites on-chain transaction `tx`.
    pub fn recovery_citing(&self, tx: &vigil_core::B256) -> Option<u64> {
        self.recovery_evidence.get(tx).copied()
    }

    /// Stores a recovery claim, indexing its evidence.
    pub fn put_recovery(&mut self, id: u64, record: RecoveryRecord) {
        for tx in &record.evidence {
            self.recovery_evidence.entry(*tx).or_insert(id);
        }
        self.dirty.insert(StateKey::Recovery(id));
        self.recoveries.insert(id, record);
    }

    /// Stores a proposal, keeping its schedule entry in step.
    pub fn put_proposal(&mut self, id: u64, record: ProposalRecord) {
        if let Some(h) = self.proposals.get(&id).and_then(schedule_height) {
            self.proposal_schedule.remove(&(h, id));
        }
        if let Some(h) = schedule_height(&record) {
            self.proposal_schedule.insert((h, id));
        }
        self.dirty.insert(StateKey::Proposal(id));
        self.proposals.insert(id, record);
    }

    /// Proposals whose voting ends or whose execution is due at or before `height`.
    pub fn due_proposals(&self, height: u64) -> Vec<u64> {
        self.proposal_schedule.range(..=(height, u64::MAX)).map(|(_, id)| *id).collect()
    }

    /// One vote.
    pub fn vote(&self, proposal: u64, voter: &AccountId) -> Option<&VoteRecord> {
        self.votes.get(&(proposal, *voter))
    }

    /// The votes on a proposal.
    pub fn votes_on(&self, proposal: u64) -> impl Iterator<Item = (&AccountId, &VoteRecord)> {
        self.votes
            .range((proposal, MIN_ACCOUNT)..=(proposal, MAX_ACCOUNT))
            .map(|((_, a), v)| (a, v))
    }

    /// Stores a vote.
    pub fn put_vote(&mut self, proposal: u64, voter: AccountId, vote: VoteRecord) {
        self.dirty.insert(StateKey::Vote(proposal, voter));
        self.votes.insert((proposal, voter), vote);
    }

    /// Replaces the parameters (governance).
    pub fn set_params(&mut self, params: Params) {
        self.dirty.insert(StateKey::Params);
        self.params = params;
    }

    /// Reports whose challenge window ends at or before `height`, earliest first.
    pub fn due_reports(&self, height: u64) -> Vec<ReportId> {
        self.deadlines
            .range(..=(height, vigil_core::ContentId([0xff; 32])))
            .map(|(_, id)| *id)
            .collect()
    }

    /// Accounts with unbonding entries due at or before `height`.
    pub fn due_releases(&self, height: u64) -> Vec<AccountId> {
        let due: BTreeSet<AccountId> =
            self.releases.range(..=(height, MAX_ACCOUNT)).map(|(_, id)| *id).collect();
        due.into_iter().collect()
    }

    /// Takes the set of keys changed since the last call.
    pub fn take_dirty(&mut self) -> BTreeSet<StateKey> {
        std::mem::take(&mut self.dirty)
    }

    /// The canonical bytes stored under `key`, or `None` when nothing is there.
    pub fn encoded(&self, key: &StateKey) -> Option<Vec<u8>> {
        use vigil_core::encoding::encode;
        match key {
            StateKey::Params => Some(encode(&self.params)),
            StateKey::Globals => Some(encode(&self.globals)),
            StateKey::Account(id) => self.accounts.get(id).map(encode),
            StateKey::Report(id) => self.reports.get(id).map(encode),
            StateKey::Attestation(r, a) => self.attestations.get(&(*r, *a)).map(encode),
            StateKey::Protocol(id) => self.protocols.get(id).map(encode),
            StateKey::Proposal(id) => self.proposals.get(id).map(encode),
            StateKey::Vote(p, a) => self.votes.get(&(*p, *a)).map(encode),
            StateKey::Stream(id) => self.streams.get(id).map(encode),
            StateKey::Disclosure(id) => self.disclosures.get(id).map(encode),
            StateKey::Recovery(id) => self.recoveries.get(id).map(encode),
        }
    }

    /// Every committed key, in order.
    pub fn all_keys(&self) -> Vec<StateKey> {
        let mut keys = vec![StateKey::Params, StateKey::Globals];
        keys.extend(self.accounts.keys().map(|id| StateKey::Account(*id)));
        keys.extend(self.reports.keys().map(|id| StateKey::Report(*id)));
        keys.extend(self.attestations.keys().map(|(r, a)| StateKey::Attestation(*r, *a)));
        keys.extend(self.protocols.keys().map(|id| StateKey::Protocol(id.clone())));
        keys.extend(self.proposals.keys().map(|id| StateKey::Proposal(*id)));
        keys.extend(self.votes.keys().map(|(p, a)| StateKey::Vote(*p, *a)));
        keys.extend(self.streams.keys().map(|id| StateKey::Stream(*id)));
        keys.extend(self.disclosures.keys().map(|id| StateKey::Disclosure(*id)));
        keys.extend(self.recoveries.keys().map(|id| StateKey::Recovery(*id)));
        keys
    }

    /// Rebuilds a state from stored (key, value) entries.
    pub fn from_entries<'a>(
        entries: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    ) -> Result<Self, LedgerError> {
        use vigil_core::encoding::decode;
        let corrupt = |what: &str, e: vigil_core::DecodeError| {
            LedgerError::Corrupt(format!("stored {what} does not decode: {e}"))
        };
        let mut params = None;
        let mut globals = None;
        let mut accounts = Vec::new();
        let mut reports = Vec::new();
        let mut attestations = Vec::new();
        let mut protocols = Vec::new();
        let mut proposals = Vec::new();
        let mut votes = Vec::new();
        let mut streams = Vec::new();
        let mut disclosures = Vec::new();
        let mut recoveries = Vec::new();
        for (k, v) in entries {
            match decode::<StateKey>(k).map_err(|e| corrupt("key", e))? {
                StateKey::Params => params = Some(decode(v).map_err(|e| corrupt("params", e))?),
                StateKey::Globals => globals = Some(decode(v).map_err(|e| corrupt("globals", e))?),
                StateKey::Account(id) => {
                    accounts.push((id, decode(v).map_err(|e| corrupt("account", e))?))
                }
                StateKey::Report(id) => {
                    reports.push((id, decode(v).map_err(|e| corrupt("report", e))?))
                }
                StateKey::Attestation(r, a) => {
                    attestations.push((r, a, decode(v).map_err(|e| corrupt("attestation", e))?))
                }
                StateKey::Protocol(id) => {
                    protocols.push((id, decode(v).map_err(|e| corrupt("protocol", e))?))
                }
                StateKey::Proposal(id) => {
                    proposals.push((id, decode(v).map_err(|e| corrupt("proposal", e))?))
                }
                StateKey::Vote(p, a) => {
                    votes.push((p, a, decode(v).map_err(|e| corrupt("vote", e))?))
                }
                StateKey::Stream(id) => {
                    streams.push((id, decode(v).map_err(|e| corrupt("stream", e))?))
                }
                StateKey::Disclosure(id) => {
                    disclosures.push((id, decode(v).map_err(|e| corrupt("disclosure", e))?))
                }
                StateKey::Recovery(id) => {
                    recoveries.push((id, decode(v).map_err(|e| corrupt("recovery claim", e))?))
                }
            }
        }
        let params = params.ok_or_else(|| LedgerError::Corrupt("no parameters stored".into()))?;
        let globals = globals.ok_or_else(|| LedgerError::Corrupt("no globals stored".into()))?;
        let mut state = State::new(params, globals);
        for (id, a) in accounts {
            state.put_account(id, a);
        }
        for (id, r) in reports {
            state.put_report(id, r);
        }
        for (r, a, att) in attestations {
            state.put_attestation(r, a, att);
        }
        for (id, p) in protocols {
            state.put_protocol(id, p);
        }
        for (id, p) in proposals {
            state.put_proposal(id, p);
        }
        for (p, a, v) in votes {
            state.put_vote(p, a, v);
        }
        for (id, st) in streams {
            state.put_stream(id, st);
        }
        // In id order, so the first disclosure of a commitment (and the first claim citing a
        // transaction) keeps it.
        disclosures.sort_by_key(|(id, _)| *id);
        recoveries.sort_by_key(|(id, _)| *id);
        for (id, d) in disclosures {
            state.put_disclosure(id, d);
        }
        for (id, r) in recoveries {
            state.put_recovery(id, r);
        }
        state.take_dirty();
        Ok(state)
    }
}

/// The height at which a proposal next needs attention: the end of its vote, or its execution.
fn schedule_height(p: &ProposalRecord) -> Option<u64> {
    match p.status {
        ProposalStatus::Voting => Some(p.voting_ends),
        ProposalStatus::Passed => p.execute_at,
        _ => None,
    }
}

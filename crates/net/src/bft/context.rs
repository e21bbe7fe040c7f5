//! Vigil's types for the Malachite engine: its [`Context`] and everything it names.
//!
//! The consensus value is a block hash ([`BlockValue`]); the block itself travels as proposal
//! parts and reaches the app when decided. Addresses and public keys are Vigil account ids,
//! signatures are Vigil Ed25519 signatures over Vigil signing messages (domain tag ‖ chain id ‖
//! borsh), so a precommit is exactly what a [`crate::CommitCertificate`] verifies.

use std::fmt;

use borsh::{BorshDeserialize, BorshSerialize};
use malachitebft_core_types::{
    self as mcore, Context, LinearTimeouts, NilOrVal, Round, SignedMessage, VoteType,
};
use vigil_core::consensus::ProposalStatement;
use vigil_core::{AccountId, BlockHash, ChainId, Keypair, Signature};

/// A block height as the engine sees it.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    BorshDeserialize,
)]
pub struct Height(pub u64);

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl mcore::Height for Height {
    const ZERO: Self = Self(0);
    const INITIAL: Self = Self(1);

    fn increment_by(&self, n: u64) -> Self {
        Self(self.0.saturating_add(n))
    }

    fn decrement_by(&self, n: u64) -> Option<Self> {
        self.0.checked_sub(n).map(Self)
    }

    fn as_u64(&self) -> u64 {
        self.0
    }
}

/// A validator's address: its Vigil account id.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize,
)]
pub struct Address(pub AccountId);

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl mcore::Address for Address {}

/// What consensus decides: the hash of a block.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize,
)]
pub struct BlockValue(pub BlockHash);

impl mcore::Value for BlockValue {
    type Id = BlockHash;

    fn id(&self) -> BlockHash {
        self.0
    }
}

/// A validator: account, public key (the same bytes) and voting power (bonded stake).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validator {
    /// Its address.
    pub address: Address,
    /// Its public key.
    pub public_key: AccountId,
    /// Its voting power.
    pub voting_power: u64,
}

impl mcore::Validator<VigilContext> for Validator {
    fn address(&self) -> &Address {
        &self.address
    }

    fn public_key(&self) -> &AccountId {
        &self.public_key
    }

    fn voting_power(&self) -> u64 {
        self.voting_power
    }
}

/// A validator set, sorted by address, without zero-power members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    total: u64,
}

impl ValidatorSet {
    /// Builds a set from (account, power) pairs: sorted, zero powers dropped, duplicates
    /// merged. Returns `None` if the set is empty or the total power overflows.
    pub fn new(members: &[(AccountId, u64)]) -> Option<Self> {
        let mut merged = std::collections::BTreeMap::<AccountId, u64>::new();
        for (account, power) in members {
            let entry = merged.entry(*account).or_insert(0);
            *entry = entry.checked_add(*power)?;
        }
        let validators: Vec<Validator> = merged
            .into_iter()
            .filter(|(_, p)| *p > 0)
            .map(|(a, p)| Validator { address: Address(a), public_key: a, voting_power: p })
            .collect();
        let total = validators.iter().try_fold(0u64, |acc, v| acc.checked_add(v.voting_power))?;
        if validators.is_empty() {
            return None;
        }
        Some(Self { validators, total })
    }

    /// The members as (account, power), sorted by account.
    pub fn members(&self) -> Vec<(AccountId, u64)> {
        self.validators.iter().map(|v| (v.public_key, v.voting_power)).collect()
    }

    /// The index of the validator holding `slot` in `0..total` when powers are laid end to end.
    fn index_of_slot(&self, slot: u64) -> usize {
        let mut acc = 0u64;
        for (i, v) in self.validators.iter().enumerate() {
            acc = acc.saturating_add(v.voting_power);
            if slot < acc {
                return i;
            }
        }
        self.validators.len() - 1
    }

    /// The proposer of `height` and `round`: stake-weighted across heights, round-robin across
    /// rounds. Height `h` maps to slot `⌊frac((h − 1)·φ) · total⌋` (a golden-ratio sequence,
    /// so each validator proposes a share of heights equal to its share of power, spread
    /// evenly); round `r` moves `r` places on from that validator, so a silent proposer is
    /// skipped in the next round whatever its stake. Deterministic: every node agrees.
    pub fn proposer(&self, height: u64, round: u32) -> &Validator {
        const PHI_FRACTION: u64 = 0x9E37_79B9_7F4A_7C15; // 2^64 / φ
        let position = height.saturating_sub(1).wrapping_mul(PHI_FRACTION);
        let slot = ((u128::from(position) * u128::from(self.total)) >> 64) as u64;
        let first = self.index_of_slot(slot);
        let n = self.validators.len();
        &self.validators[(first + round as usize % n) % n]
    }
}

impl mcore::ValidatorSet<VigilContext> for ValidatorSet {
    fn count(&self) -> usize {
        self.validators.len()
    }

    fn total_voting_power(&self) -> u64 {
        self.total
    }

    fn get_by_address(&self, address: &Address) -> Option<&Validator> {
        self.validators
            .binary_search_by(|v| v.address.cmp(address))
            .ok()
            .map(|i| &self.validators[i])
    }

    fn get_by_index(&self, index: usize) -> Option<&Validator> {
        self.validators.get(index)
    }
}

/// A proposal: the value (block hash) a proposer puts forward for a height and round.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Proposal {
    /// Height.
    pub height: Height,
    /// Round.
    pub round: Round,
    /// The proposed block's hash.
    pub value: BlockValue,
    /// Proof-of-lock round (`Round::Nil` for a fresh value).
    pub pol_round: Round,
    /// The proposer.
    pub proposer: Address,
}

impl mcore::Proposal<VigilContext> for Proposal {
    fn height(&self) -> Height {
        self.height
    }

    fn round(&self) -> Round {
        self.round
    }

    fn value(&self) -> &BlockValue {
        &self.value
    }

    fn take_value(self) -> BlockValue {
        self.value
    }

    fn pol_round(&self) -> Round {
        self.pol_round
    }

    fn validator_address(&self) -> &Address {
        &self.proposer
    }
}

/// One part of a streamed proposal: `Init`, the block's bytes in `Data` chunks, then `Fin`
/// with the proposer's signature over (height, round, pol round, block hash).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum ProposalPart {
    /// Who proposes what slot.
    Init {
        /// Height.
        height: Height,
        /// Round.
        round: Round,
        /// Proof-of-lock round.
        pol_round: Round,
        /// The proposer.
        proposer: Address,
    },
    /// A chunk of the borsh-encoded block.
    Data(Vec<u8>),
    /// The proposer's signature over [`parts_signing_bytes`].
    Fin(Signature),
}

impl mcore::ProposalPart<VigilContext> for ProposalPart {
    fn is_first(&self) -> bool {
        matches!(self, Self::Init { .. })
    }

    fn is_last(&self) -> bool {
        matches!(self, Self::Fin(_))
    }
}

/// A prevote or precommit.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Vote {
    /// Prevote or precommit.
    pub vote_type: VoteType,
    /// Height.
    pub height: Height,
    /// Round.
    pub round: Round,
    /// The block hash voted for, or nil.
    pub value: NilOrVal<BlockHash>,
    /// The voter.
    pub validator: Address,
    /// A vote extension (unused by Vigil: the policy is `Disabled`).
    pub extension: Option<SignedMessage<VigilContext, ()>>,
}

impl mcore::Vote<VigilContext> for Vote {
    fn height(&self) -> Height {
        self.height
    }

    fn round(&self) -> Round {
        self.round
    }

    fn value(&self) -> &NilOrVal<BlockHash> {
        &self.value
    }

    fn take_value(self) -> NilOrVal<BlockHash> {
        self.value
    }

    fn vote_type(&self) -> VoteType {
        self.vote_type
    }

    fn validator_address(&self) -> &Address {
        &self.validator
    }

    fn extension(&self) -> Option<&SignedMessage<VigilContext, ()>> {
        self.extension.as_ref()
    }

    fn take_extension(&mut self) -> Option<SignedMessage<VigilContext, ()>> {
        self.extension.take()
    }

    fn extend(self, extension: SignedMessage<VigilContext, ()>) -> Self {
        Self { extension: Some(extension), ..self }
    }
}

/// Why bytes are not a key or signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected} bytes, got {got}")]
pub struct KeyDecodingError {
    /// Bytes expected.
    pub expected: usize,
    /// Bytes given.
    pub got: usize,
}

/// Vigil's Ed25519 keys and signatures as Malachite's signing scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VigilSigning;

impl mcore::SigningScheme for VigilSigning {
    type DecodingError = KeyDecodingError;
    type Signature = Signature;
    type PublicKey = AccountId;
    type PrivateKey = Keypair;

    fn decode_signature(bytes: &[u8]) -> Result<Signature, KeyDecodingError> {
        let array: [u8; 64] =
            bytes.try_into().map_err(|_| KeyDecodingError { expected: 64, got: bytes.len() })?;
        Ok(Signature(array))
    }

    fn encode_signature(signature: &Signature) -> Vec<u8> {
        signature.0.to_vec()
    }

    fn decode_public_key(bytes: &[u8]) -> Result<AccountId, KeyDecodingError> {
        let array: [u8; 32] =
            bytes.try_into().map_err(|_| KeyDecodingError { expected: 32, got: bytes.len() })?;
        Ok(AccountId(array))
    }

    fn encode_public_key(public_key: &AccountId) -> Vec<u8> {
        public_key.0.to_vec()
    }
}

/// Vigil's consensus context: the chain id every consensus signature is bound to.
#[derive(Clone, Debug)]
pub struct VigilContext {
    /// The network.
    pub chain_id: ChainId,
}

impl Context for VigilContext {
    type Address = Address;
    type Height = Height;
    type ProposalPart = ProposalPart;
    type Proposal = Proposal;
    type Validator = Validator;
    type ValidatorSet = ValidatorSet;
    type Timeouts = LinearTimeouts;
    type Value = BlockValue;
    type Vote = Vote;
    type Extension = ();
    type SigningScheme = VigilSigning;

    fn select_proposer<'a>(
        &self,
        validator_set: &'a ValidatorSet,
        height: Height,
        round: Round,
    ) -> &'a Validator {
        validator_set.proposer(height.0, round.as_u32().unwrap_or(0))
    }

    fn new_proposal(
        &self,
        height: Height,
        round: Round,
        value: BlockValue,
        pol_round: Round,
        address: Address,
    ) -> Proposal {
        Proposal { height, round, value, pol_round, proposer: address }
    }

    fn new_prevote(
        &self,
        height: Height,
        round: Round,
        value_id: NilOrVal<BlockHash>,
        address: Address,
    ) -> Vote {
        Vote {
            vote_type: VoteType::Prevote,
            height,
            round,
            value: value_id,
            validator: address,
            extension: None,
        }
    }

    fn new_precommit(
        &self,
        height: Height,
        round: Round,
        value_id: NilOrVal<BlockHash>,
        address: Address,
    ) -> Vote {
        Vote {
            vote_type: VoteType::Precommit,
            height,
            round,
            value: value_id,
            validator: address,
            extension: None,
        }
    }
}

/// The statement a proposer's `Fin` part signs: the ledger's [`ProposalStatement`] for
/// (height, round, pol round, block hash), so two `Fin` signatures for one slot and different
/// blocks are equivocation evidence the ledger can check.
pub fn proposal_statement(
    height: Height,
    round: Round,
    pol_round: Round,
    block: &BlockHash,
    proposer: Address,
) -> ProposalStatement {
    ProposalStatement {
        height: height.0,
        round: round.as_u32().unwrap_or(u32::MAX),
        pol_round: pol_round.as_u32(),
        value: *block,
        proposer: proposer.0,
    }
}

/// The bytes a proposer's `Fin` part signs (see [`proposal_statement`]).
pub fn parts_signing_bytes(
    chain_id: &ChainId,
    height: Height,
    round: Round,
    pol_round: Round,
    block: &BlockHash,
    proposer: Address,
) -> Vec<u8> {
    proposal_statement(height, round, pol_round, block, proposer).message(chain_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(i: u8) -> AccountId {
        AccountId([i; 32])
    }

    #[test]
    fn proposer_share_follows_stake_and_rounds_rotate() {
        let set =
            ValidatorSet::new(&[(account(1), 10), (account(2), 30), (account(3), 60)]).unwrap();
        let mut counts = [0u32; 3];
        for h in 1..=10_000u64 {
            let p = set.proposer(h, 0);
            counts[(p.public_key.0[0] - 1) as usize] += 1;
        }
        // Within 1% of the stake shares.
        assert!((900..=1100).contains(&counts[0]), "{counts:?}");
        assert!((2900..=3100).contains(&counts[1]), "{counts:?}");
        assert!((5900..=6100).contains(&counts[2]), "{counts:?}");
        // Each new round hands the slot to the next validator, whatever the stake.
        for h in 1..50u64 {
            let r0 = set.proposer(h, 0).address;
            let r1 = set.proposer(h, 1).address;
            let r2 = set.proposer(h, 2).address;
            assert!(r0 != r1 && r1 != r2 && r0 != r2);
            assert_eq!(set.proposer(h, 3).address, r0);
        }
    }

    proptest::proptest! {
        #[test]
        fn proposer_is_a_member_and_rounds_move_on(
            powers in proptest::collection::vec(1u64..1_000_000_000_000, 1..20),
            height in 1u64..u64::MAX,
            round in 0u32..1000,
        ) {
            let members: Vec<(AccountId, u64)> =
                powers.iter().enumerate().map(|(i, p)| (account(i as u8), *p)).collect();
            let set = ValidatorSet::new(&members).unwrap();
            let p = set.proposer(height, round);
            proptest::prop_assert!(set.members().contains(&(p.public_key, p.voting_power)));
            if members.len() > 1 {
                proptest::prop_assert_ne!(p.address, set.proposer(height, round + 1).address);
            }
        }
    }

    #[test]
    fn equal_stake_rotates_among_all() {
        let set =
            ValidatorSet::new(&(1..=4).map(|i| (account(i), 100)).collect::<Vec<_>>()).unwrap();
        let seen: std::collections::BTreeSet<Address> =
            (1..=8u64).map(|h| set.proposer(h, 0).address).collect();
        assert_eq!(seen.len(), 4);
    }

    #[test]
    fn sets_are_sorted_deduplicated_and_never_empty() {
        let set = ValidatorSet::new(&[
            (account(3), 1),
            (account(1), 2),
            (account(3), 4),
            (account(2), 0),
        ])
        .unwrap();
        assert_eq!(set.members(), vec![(account(1), 2), (account(3), 5)]);
        assert!(ValidatorSet::new(&[(account(1), 0)]).is_none());
        assert!(ValidatorSet::new(&[(account(1), u64::MAX), (account(2), 1)]).is_none());
    }
}

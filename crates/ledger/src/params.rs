//! Genesis and protocol parameters. Parameters change only by governance; every window is
//! measured in block heights and every fraction in basis points (1/10,000), never floats.

use serde::{Deserialize, Serialize};
use vigil_core::{AccountId, Amount, ChainId};

use borsh::{BorshDeserialize, BorshSerialize};

/// Basis points in one whole.
pub const BPS: u32 = 10_000;

/// The protocol parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Blocks an unbonding amount stays slashable before it is released to the balance.
    pub unbonding_delay: u64,
    /// Smallest bond a report may carry.
    pub min_report_bond: Amount,
    /// Smallest stake an attestation may lock.
    pub min_attestation_stake: Amount,
    /// Blocks after submission during which a report can be attested; the verdict comes at the
    /// end of the last one.
    pub challenge_window: u64,
    /// Weight that must be cast on a report, as a fraction of all bonded stake, for it to be
    /// Confirmed or Rejected.
    pub attestation_quorum_bps: u32,
    /// Share of the weight cast a side needs to win (6,667 = two thirds).
    pub verdict_threshold_bps: u32,
    /// Share of a losing attester's locked stake that is slashed.
    pub attester_slash_bps: u32,
    /// Share of a rejected report's bond that is slashed (the rest is returned).
    pub reporter_slash_bps: u32,
    /// Share of the slashed funds paid to the reporter of a Confirmed report.
    pub reporter_reward_bps: u32,
    /// Share of the slashed funds paid to the winning attesters, pro rata to weight.
    pub winner_reward_bps: u32,
    /// Paid to the reporter of a Confirmed report from the reward pool, while it lasts.
    pub confirmed_report_reward: Amount,
    /// Reputation history loses this share of its weight every `reputation_decay_period` blocks.
    pub reputation_decay_bps: u32,
    /// Blocks per reputation decay step.
    pub reputation_decay_period: u64,
    /// Blocks per validator-set epoch (the set changes only at epoch boundaries).
    pub epoch_length: u64,
    /// Most validators in a set.
    pub max_validators: u32,
    /// Deposit a governance proposal locks; returned when the vote reaches quorum, sent to the
    /// treasury otherwise.
    pub proposal_deposit: Amount,
    /// Blocks a proposal is open for votes. At most `unbonding_delay`, so stake that voted
    /// cannot be unbonded, moved and bonded again to vote twice.
    pub voting_period: u64,
    /// Voting power that must take part (yes, no or abstain), as a fraction of all bonded stake.
    pub governance_quorum_bps: u32,
    /// Share of yes among yes + no a proposal needs to pass.
    pub governance_threshold_bps: u32,
    /// Blocks between a proposal passing and its execution.
    pub timelock: u64,
    /// Share of a monitor's slashable stake slashed when its fast-path trip is judged false.
    pub monitor_slash_bps: u32,
    /// Fee every executed transaction pays to the treasury, whether it succeeds or fails: the
    /// price of a slot in a block, so flooding the mempool costs the flooder. Zero is allowed
    /// (a devnet).
    pub tx_fee: Amount,
    /// Added to `tx_fee` for every started KiB of the encoded signed transaction, so a large
    /// report costs more than a vote.
    pub tx_fee_per_kib: Amount,
    /// Share of a validator's slashable stake slashed for signing two conflicting consensus
    /// messages (equivocation); it also leaves the validator set from the next epoch.
    pub equivocation_slash_bps: u32,
    /// Share of an equivocation slash paid to whoever submitted the evidence; the rest goes to
    /// the treasury.
    pub evidence_reward_bps: u32,
    /// Blocks after which equivocation evidence is too old to act on. The ledger uses at most
    /// `unbonding_delay`, so the stake that signed is still slashable.
    pub evidence_max_age: u64,
    /// Blocks a protocol has to answer a disclosure; after them the researcher may reveal it.
    pub disclosure_response_window: u64,
    /// Blocks after a downgrade or dispute (of a disclosure or a recovery claim) in which the
    /// other side may escalate to a governance vote (3 days at one block a second).
    pub disclosure_challenge_window: u64,
    /// Smallest bond a disclosure may carry.
    pub min_disclosure_bond: Amount,
}

impl Params {
    /// The fee of a signed transaction of `encoded_len` bytes.
    pub fn fee_for(&self, encoded_len: usize) -> Option<Amount> {
        let kib = u64::try_from(encoded_len.div_ceil(1024)).ok()?;
        self.tx_fee.checked_add(Amount(self.tx_fee_per_kib.0.checked_mul(kib)?))
    }
}

impl Default for Params {
    fn default() -> Self {
        Self {
            unbonding_delay: 1_000,
            min_report_bond: Amount::vgl(10),
            min_attestation_stake: Amount::vgl(1),
            challenge_window: 100,
            attestation_quorum_bps: 1_000,
            verdict_threshold_bps: 6_667,
            attester_slash_bps: 2_000,
            reporter_slash_bps: BPS,
            reporter_reward_bps: 2_000,
            winner_reward_bps: 6_000,
            confirmed_report_reward: Amount::vgl(5),
            reputation_decay_bps: 500,
            reputation_decay_period: 10_000,
            epoch_length: 100,
            max_validators: 100,
            proposal_deposit: Amount::vgl(100),
            voting_period: 500,
            governance_quorum_bps: 3_340,
            governance_threshold_bps: 6_667,
            timelock: 100,
            monitor_slash_bps: 1_000,
            tx_fee: Amount::ZERO,
            tx_fee_per_kib: Amount::ZERO,
            equivocation_slash_bps: 500,
            evidence_reward_bps: 1_000,
            evidence_max_age: 1_000,
            disclosure_response_window: 1_209_600,
            disclosure_challenge_window: 259_200,
            min_disclosure_bond: Amount::vgl(10),
        }
    }
}

/// A parameter's value with its unit, for people.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "unit", content = "value", rename_all = "snake_case")]
pub enum ParamValue {
    /// A number of blocks.
    Blocks(u64),
    /// An amount of VGL.
    Amount(Amount),
    /// A fraction in basis points.
    Bps(u32),
    /// A plain count.
    Count(u32),
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Blocks(1) => f.write_str("1 block"),
            Self::Blocks(n) => write!(f, "{n} blocks"),
            Self::Amount(a) => write!(f, "{a}"),
            Self::Bps(b) => {
                let whole = b.checked_div(100).unwrap_or(0);
                let cents = b.checked_rem(100).unwrap_or(0);
                write!(f, "{whole}.{cents:02}% ({b} bps)")
            }
            Self::Count(n) => write!(f, "{n}"),
        }
    }
}

/// One parameter that a new parameter set changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ParamChange {
    /// The parameter's name (its field and TOML key).
    pub name: &'static str,
    /// Its value now.
    pub from: ParamValue,
    /// Its value in the new set.
    pub to: ParamValue,
}

impl Params {
    /// Every parameter with its name, in declaration order.
    pub fn values(&self) -> Vec<(&'static str, ParamValue)> {
        use ParamValue::{Amount as A, Blocks as B, Bps as P, Count as C};
        // Destructured so that a new field does not compile until it is listed here.
        let Params {
            unbonding_delay,
            min_report_bond,
            min_attestation_stake,
            challenge_window,
            attestation_quorum_bps,
            verdict_threshold_bps,
            attester_slash_bps,
            reporter_slash_bps,
            reporter_reward_bps,
            winner_reward_bps,
            confirmed_report_reward,
            reputation_decay_bps,
            reputation_decay_period,
            epoch_length,
            max_validators,
            proposal_deposit,
            voting_period,
            governance_quorum_bps,
            governance_threshold_bps,
            timelock,
            monitor_slash_bps,
            tx_fee,
            tx_fee_per_kib,
            equivocation_slash_bps,
            evidence_reward_bps,
            evidence_max_age,
            disclosure_response_window,
            disclosure_challenge_window,
            min_disclosure_bond,
        } = self.clone();
        vec![
            ("unbonding_delay", B(unbonding_delay)),
            ("min_report_bond", A(min_report_bond)),
            ("min_attestation_stake", A(min_attestation_stake)),
            ("challenge_window", B(challenge_window)),
            ("attestation_quorum_bps", P(attestation_quorum_bps)),
            ("verdict_threshold_bps", P(verdict_threshold_bps)),
            ("attester_slash_bps", P(attester_slash_bps)),
            ("reporter_slash_bps", P(reporter_slash_bps)),
            ("reporter_reward_bps", P(reporter_reward_bps)),
            ("winner_reward_bps", P(winner_reward_bps)),
            ("confirmed_report_reward", A(confirmed_report_reward)),
            ("reputation_decay_bps", P(reputation_decay_bps)),
            ("reputation_decay_period", B(reputation_decay_period)),
            ("epoch_length", B(epoch_length)),
            ("max_validators", C(max_validators)),
            ("proposal_deposit", A(proposal_deposit)),
            ("voting_period", B(voting_period)),
            ("governance_quorum_bps", P(governance_quorum_bps)),
            ("governance_threshold_bps", P(governance_threshold_bps)),
            ("timelock", B(timelock)),
            ("monitor_slash_bps", P(monitor_slash_bps)),
            ("tx_fee", A(tx_fee)),
            ("tx_fee_per_kib", A(tx_fee_per_kib)),
            ("equivocation_slash_bps", P(equivocation_slash_bps)),
            ("evidence_reward_bps", P(evidence_reward_bps)),
            ("evidence_max_age", B(evidence_max_age)),
            ("disclosure_response_window", B(disclosure_response_window)),
            ("disclosure_challenge_window", B(disclosure_challenge_window)),
            ("min_disclosure_bond", A(min_disclosure_bond)),
        ]
    }

    /// The parameters whose value differs in `new`, in declaration order.
    pub fn changes_to(&self, new: &Params) -> Vec<ParamChange> {
        self.values()
            .into_iter()
            .zip(new.values())
            .filter(|((_, from), (_, to))| from != to)
            .map(|((name, from), (_, to))| ParamChange { name, from, to })
            .collect()
    }
}

/// Why a parameter set is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parameter {name}: {why}")]
pub struct ParamError {
    /// The parameter.
    pub name: &'static str,
    /// What is wrong.
    pub why: &'static str,
}

impl Params {
    /// Checks that every parameter is within its meaningful range.
    pub fn validate(&self) -> Result<(), ParamError> {
        let bps = [
            ("attestation_quorum_bps", self.attestation_quorum_bps),
            ("verdict_threshold_bps", self.verdict_threshold_bps),
            ("attester_slash_bps", self.attester_slash_bps),
            ("reporter_slash_bps", self.reporter_slash_bps),
            ("reporter_reward_bps", self.reporter_reward_bps),
            ("winner_reward_bps", self.winner_reward_bps),
            ("reputation_decay_bps", self.reputation_decay_bps),
            ("governance_quorum_bps", self.governance_quorum_bps),
            ("governance_threshold_bps", self.governance_threshold_bps),
            ("monitor_slash_bps", self.monitor_slash_bps),
            ("equivocation_slash_bps", self.equivocation_slash_bps),
            ("evidence_reward_bps", self.evidence_reward_bps),
        ];
        for (name, value) in bps {
            if value > BPS {
                return Err(ParamError { name, why: "must be at most 10000 basis points" });
            }
        }
        if self.verdict_threshold_bps <= BPS / 2 {
            return Err(ParamError {
                name: "verdict_threshold_bps",
                why: "must be more than half, or both sides could win",
            });
        }
        if u64::from(self.reporter_reward_bps).saturating_add(u64::from(self.winner_reward_bps))
            > u64::from(BPS)
        {
            return Err(ParamError {
                name: "reporter_reward_bps",
                why: "reporter and winner reward shares together exceed 10000",
            });
        }
        let positive = [
            ("challenge_window", self.challenge_window),
            ("reputation_decay_period", self.reputation_decay_period),
            ("epoch_length", self.epoch_length),
            ("voting_period", self.voting_period),
            ("disclosure_response_window", self.disclosure_response_window),
            ("disclosure_challenge_window", self.disclosure_challenge_window),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(ParamError { name, why: "must be at least 1" });
            }
        }
        if self.governance_threshold_bps <= BPS / 2 {
            return Err(ParamError {
                name: "governance_threshold_bps",
                why: "must be more than half, or both sides could win",
            });
        }
        if self.voting_period > self.unbonding_delay {
            return Err(ParamError {
                name: "voting_period",
                why: "must not exceed unbonding_delay, or stake could vote twice",
            });
        }
        if self.min_report_bond.is_zero() {
            return Err(ParamError { name: "min_report_bond", why: "must be more than zero" });
        }
        if self.min_disclosure_bond.is_zero() {
            return Err(ParamError { name: "min_disclosure_bond", why: "must be more than zero" });
        }
        if self.min_attestation_stake.is_zero() {
            return Err(ParamError {
                name: "min_attestation_stake",
                why: "must be more than zero",
            });
        }
        if self.max_validators == 0 {
            return Err(ParamError { name: "max_validators", why: "must be at least 1" });
        }
        Ok(())
    }
}

/// An account funded at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    /// The account.
    pub account: AccountId,
    /// Liquid balance.
    #[serde(default)]
    pub balance: Amount,
    /// Stake bonded from the start.
    #[serde(default)]
    pub bonded: Amount,
    /// Whether it is a validator from the first block (its bonded stake is its voting power).
    #[serde(default)]
    pub validator: bool,
}

/// The genesis of a Vigil network: everything a node needs to compute height 0.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// The network's id; every transaction signature covers it.
    pub chain_id: ChainId,
    /// Unix seconds of the genesis (informational).
    #[serde(default)]
    pub genesis_time: u64,
    /// Protocol parameters.
    #[serde(default)]
    pub params: Params,
    /// The treasury's starting balance.
    #[serde(default)]
    pub treasury: Amount,
    /// The reward pool's starting balance.
    #[serde(default)]
    pub reward_pool: Amount,
    /// Funded accounts.
    #[serde(default)]
    pub accounts: Vec<GenesisAccount>,
}

/// Why a genesis file is not usable.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// TOML syntax, an unknown field or a wrong value.
    #[error("genesis: {0}")]
    Toml(#[from] toml::de::Error),
    /// A parameter out of range.
    #[error("genesis: {0}")]
    Param(#[from] ParamError),
    /// The same account listed twice.
    #[error("genesis: account {0} is listed twice")]
    DuplicateAccount(AccountId),
    /// An account that is not a valid Ed25519 public key.
    #[error("genesis: account {0} is not a valid Ed25519 public key")]
    InvalidAccount(AccountId),
    /// The total supply does not fit in 64 bits.
    #[error("genesis: the total supply overflows")]
    SupplyOverflow,
    /// A validator with nothing bonded.
    #[error("genesis: validator {0} has no bonded stake")]
    ValidatorWithoutStake(AccountId),
}

impl Genesis {
    /// Parses and validates a genesis TOML document.
    pub fn from_toml(text: &str) -> Result<Self, GenesisError> {
        let genesis: Genesis = toml::from_str(text)?;
        genesis.validate()?;
        Ok(genesis)
    }

    /// The genesis as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks parameters, accounts and the supply.
    pub fn validate(&self) -> Result<(), GenesisError> {
        self.params.validate()?;
        let mut seen = std::collections::BTreeSet::new();
        let mut supply = self.treasury.checked_add(self.reward_pool);
        for a in &self.accounts {
            if !seen.insert(a.account) {
                return Err(GenesisError::DuplicateAccount(a.account));
            }
            if a.account.verifying_key().is_err() {
                return Err(GenesisError::InvalidAccount(a.account));
            }
            if a.validator && a.bonded.is_zero() {
                return Err(GenesisError::ValidatorWithoutStake(a.account));
            }
            supply = supply.and_then(|s| s.checked_add(a.balance)?.checked_add(a.bonded));
        }
        supply.map(|_| ()).ok_or(GenesisError::SupplyOverflow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_is_named_as_its_field_and_a_change_is_found_with_its_unit() {
        let params = Params::default();
        let json = serde_json::to_value(&params).unwrap();
        let fields: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        let mut named: Vec<&str> = params.values().iter().map(|(n, _)| *n).collect();
        named.sort_unstable();
        let mut fields = fields;
        fields.sort_unstable();
        assert_eq!(named, fields);
        let new = Params {
            min_report_bond: Amount::vgl(25),
            attestation_quorum_bps: 2_500,
            timelock: 1,
            ..params.clone()
        };
        let shown: Vec<String> = params
            .changes_to(&new)
            .iter()
            .map(|c| format!("{} {} -> {}", c.name, c.from, c.to))
            .collect();
        assert_eq!(
            shown,
            [
                "min_report_bond 10 VGL -> 25 VGL",
                "attestation_quorum_bps 10.00% (1000 bps) -> 25.00% (2500 bps)",
                "timelock 100 blocks -> 1 block",
            ]
        );
        assert!(params.changes_to(&params).is_empty());
    }
}

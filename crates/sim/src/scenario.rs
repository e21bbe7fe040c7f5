//! Scenario files: who takes part, with how much stake, behaving how, for how many blocks.
//!
//! Every field has a default (the baseline), so a scenario file names only what it changes.
//! Amounts are whole VGL; probabilities and shares are basis points (10,000 = certain); rates
//! are events per 1,000 blocks; times are block heights. No floats: a scenario means the same
//! run on every machine.

use serde::{Deserialize, Serialize};
use vigil_ledger::{BPS, Params};

/// Largest amount a scenario field may hold, VGL: far above any real figure, and small enough
/// that a genesis of 20,000 such accounts stays within the ledger's 64-bit amounts.
const MAX_VGL: u64 = 1_000_000_000;

/// Why a scenario cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// TOML syntax, an unknown field or a wrong type.
    #[error("scenario: {0}")]
    Toml(#[from] toml::de::Error),
    /// A value out of range.
    #[error("scenario: {field}: {why}")]
    Invalid {
        /// The field, as written in the file.
        field: &'static str,
        /// What is wrong with it.
        why: String,
    },
}

/// A whole scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// Shown in the summary.
    pub name: String,
    /// Seed of every random stream (`--seed` overrides it).
    pub seed: u64,
    /// Blocks to run.
    pub blocks: u64,
    /// Blocks between samples of reputation and corruption margins.
    pub sample_every: u64,
    /// The simulated chain's genesis parameters: the ledger's own `Params`, same names.
    pub params: Params,
    /// Starting reward pool of the simulated chain, VGL.
    pub reward_pool: u64,
    /// The protocols under watch.
    pub protocols: Vec<ProtocolConfig>,
    /// Exploit campaigns.
    pub attacks: AttackConfig,
    /// Each protocol's own monitors.
    pub monitors: MonitorConfig,
    /// Sharing of detections across protocols.
    pub sharing: SharingConfig,
    /// Honest reporters and attesters.
    pub honest: HonestConfig,
    /// Lazy attesters.
    pub lazy: LazyConfig,
    /// Lone false reporters.
    pub false_reporters: FalseReporterConfig,
    /// The colluding coalition.
    pub coalition: CoalitionConfig,
    /// The Sybil swarm (a coalition of many small stakes).
    pub sybil: SybilConfig,
    /// Bribes the coalition offers attesters.
    pub bribery: BriberyConfig,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            name: "baseline".into(),
            seed: 1,
            blocks: 3_000,
            sample_every: 50,
            params: Params {
                challenge_window: 20,
                unbonding_delay: 40,
                voting_period: 20,
                timelock: 5,
                epoch_length: 1_000,
                proposal_deposit: vigil_core::Amount::vgl(10),
                reputation_decay_period: 1_000,
                // A share of all bonded stake, guardians' included; with ~20 reports open at
                // once attesters spread their stake, and the default 10% is out of reach.
                attestation_quorum_bps: 20,
                ..Params::default()
            },
            reward_pool: 200_000,
            protocols: ["lending", "dex", "bridge", "vault", "perps", "stable"]
                .into_iter()
                .map(|name| ProtocolConfig {
                    name: name.into(),
                    // One protocol whose guardians' stake is below what it protects (γ < 0),
                    // to show what the ledger's cost of corruption predicts.
                    guardian_stake: if name == "bridge" { 300_000 } else { 600_000 },
                    ..ProtocolConfig::default()
                })
                .collect(),
            attacks: AttackConfig::default(),
            monitors: MonitorConfig::default(),
            sharing: SharingConfig::default(),
            honest: HonestConfig::default(),
            lazy: LazyConfig::default(),
            false_reporters: FalseReporterConfig::default(),
            coalition: CoalitionConfig::default(),
            sybil: SybilConfig::default(),
            bribery: BriberyConfig::default(),
        }
    }
}

/// One protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProtocolConfig {
    /// Its id (a-z, 0-9, '-').
    pub name: String,
    /// Value locked, VGL: what an exploit can drain and what the registration protects.
    pub tvl: u64,
    /// Guardians (N).
    pub guardians: u8,
    /// Approvals a reset needs (M).
    pub threshold: u8,
    /// Bonded stake of each guardian, VGL.
    pub guardian_stake: u64,
    /// Least reporter confidence (0–100) of a confirmed report that trips the breaker.
    pub min_confidence: u8,
    /// Whether its guardians re-bond what they earn (every `sample_every` blocks), so
    /// attestation slashes, which cut bonded stake, do not erode the guardian path's cost.
    pub rebond: bool,
    /// Blocks after a trip's report is settled before honest guardians re-arm the breaker.
    pub reset_delay: u64,
}

impl Default for ProtocolConfig {
    fn default() -> Self {
        Self {
            name: "protocol".into(),
            tvl: 1_000_000,
            guardians: 3,
            threshold: 2,
            guardian_stake: 600_000,
            min_confidence: 40,
            rebond: true,
            reset_delay: 10,
        }
    }
}

/// Exploit campaigns: an attacker finds a pattern and strikes protocol after protocol with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttackConfig {
    /// Distinct exploit patterns (each a campaign).
    pub campaigns: u32,
    /// Protocols each campaign strikes, in a random order (at most all of them).
    pub targets_per_campaign: u32,
    /// Blocks between a campaign's strikes: uniform in `gap_min..=gap_max`.
    pub gap_min: u64,
    /// See `gap_min`.
    pub gap_max: u64,
    /// Share of a protocol's TVL drained per block of an unstopped strike.
    pub drain_bps: u32,
    /// Whether an attacker bribes a tripped protocol's guardians to re-arm it when the ledger
    /// says that is cheaper than what is left to drain (cost of corruption below the TVL).
    pub corrupt_guardians: bool,
}

impl Default for AttackConfig {
    fn default() -> Self {
        Self {
            campaigns: 12,
            targets_per_campaign: 6,
            gap_min: 5,
            gap_max: 40,
            drain_bps: 1_000,
            corrupt_guardians: true,
        }
    }
}

/// A protocol's own monitors: detection without help from others.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitorConfig {
    /// Chance that a protocol's monitor catches a strike on its own.
    pub detect_bps: u32,
    /// Blocks from a strike's start to its own detection: uniform in `latency_min..=latency_max`
    /// (0: caught in the mempool and paused ahead of the exploit).
    pub latency_min: u64,
    /// See `latency_min`.
    pub latency_max: u64,
    /// Bonded stake of each monitor, VGL.
    pub stake: u64,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self { detect_bps: 7_000, latency_min: 0, latency_max: 6, stake: 20_000 }
    }
}

/// Sharing: a pattern caught anywhere protects every protocol once the report of it has
/// reached them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SharingConfig {
    /// Whether monitors act on other protocols' reports in the main run.
    pub enabled: bool,
    /// Blocks from a report's inclusion until other protocols' monitors act on it.
    pub latency: u64,
    /// Latencies of the sweep (each a whole run of the scenario on the same seed), for the
    /// loss-versus-latency curve; a run without sharing is always added.
    pub sweep: Vec<u64>,
}

impl Default for SharingConfig {
    fn default() -> Self {
        Self { enabled: true, latency: 2, sweep: vec![0, 2, 5, 10, 20, 40, 80] }
    }
}

/// Honest participants: reporters of true intel and attesters who check before they attest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HonestConfig {
    /// Honest reporters.
    pub reporters: u32,
    /// True reports filed, per 1,000 blocks.
    pub reports_per_kblock: u32,
    /// Honest attesters (they also vote on escalated reports). Guardians check and attest
    /// the same way, with these settings.
    pub attesters: u32,
    /// Bonded stake of each honest account, VGL.
    pub stake: u64,
    /// Chance an attester attests a given report.
    pub participation_bps: u32,
    /// Chance a guardian attests a given report.
    pub guardian_participation_bps: u32,
    /// Chance an attester judges a report correctly.
    pub accuracy_bps: u32,
    /// Blocks an attester needs to check a report: uniform in `1..=verify_max`.
    pub verify_max: u64,
    /// Share of free stake an attester locks behind one attestation.
    pub attest_share_bps: u32,
    /// Share it locks when the side it believes wrong leads: a wrong side in the lead is a
    /// prize (the losers' slashed stake), and the verdict needs two thirds of what is cast.
    pub counter_share_bps: u32,
}

impl Default for HonestConfig {
    fn default() -> Self {
        Self {
            reporters: 8,
            reports_per_kblock: 500,
            attesters: 12,
            stake: 1_000_000,
            participation_bps: 5_000,
            guardian_participation_bps: 2_000,
            accuracy_bps: 9_800,
            verify_max: 8,
            attest_share_bps: 300,
            counter_share_bps: 2_000,
        }
    }
}

/// The lazy: attesters who wait, then copy the side that leads; reporters who re-file what a
/// public feed says without checking it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LazyConfig {
    /// Lazy attesters.
    pub attesters: u32,
    /// Bonded stake of each, VGL.
    pub stake: u64,
    /// Chance a lazy attester attests a given report.
    pub participation_bps: u32,
    /// Blocks after submission at which it copies the leading side.
    pub lag: u64,
    /// Share of free stake locked behind one attestation.
    pub attest_share_bps: u32,
    /// Lazy reporters.
    pub reporters: u32,
    /// Reports they copy from the feed, per 1,000 blocks.
    pub reports_per_kblock: u32,
    /// Share of the feed's entries that are true.
    pub feed_truth_bps: u32,
}

impl Default for LazyConfig {
    fn default() -> Self {
        Self {
            attesters: 4,
            stake: 1_000_000,
            participation_bps: 5_000,
            lag: 3,
            attest_share_bps: 300,
            reporters: 4,
            reports_per_kblock: 100,
            feed_truth_bps: 7_000,
        }
    }
}

/// Lone false reporters: they file false intel and hope nobody checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FalseReporterConfig {
    /// How many.
    pub reporters: u32,
    /// False reports, per 1,000 blocks.
    pub reports_per_kblock: u32,
    /// Liquid balance of each, VGL (for bonds).
    pub balance: u64,
}

impl Default for FalseReporterConfig {
    fn default() -> Self {
        Self { reporters: 2, reports_per_kblock: 50, balance: 10_000 }
    }
}

/// A coalition with a share of all bonded stake: it files false reports that name protocols'
/// contracts (to trip their breakers), confirms its own, and disputes true reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoalitionConfig {
    /// Its share of all bonded stake at genesis (0: no coalition).
    pub stake_share_bps: u32,
    /// Accounts it splits that stake over.
    pub members: u32,
    /// False reports it files, per 1,000 blocks.
    pub reports_per_kblock: u32,
    /// Whether it also disputes true reports.
    pub dispute_true: bool,
    /// Share of free stake a member locks behind one attestation.
    pub attest_share_bps: u32,
}

impl Default for CoalitionConfig {
    fn default() -> Self {
        Self {
            stake_share_bps: 0,
            members: 4,
            reports_per_kblock: 1_000,
            dispute_true: true,
            attest_share_bps: 300,
        }
    }
}

/// A Sybil swarm: the same play as the coalition, spread over many small stakes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SybilConfig {
    /// Accounts (0: no swarm).
    pub accounts: u32,
    /// Bonded stake of each, VGL.
    pub stake: u64,
    /// False reports the swarm files, per 1,000 blocks (from rotating members).
    pub reports_per_kblock: u32,
    /// Chance a member joins an attack on a given report.
    pub participation_bps: u32,
}

impl Default for SybilConfig {
    fn default() -> Self {
        Self { accounts: 0, stake: 200, reports_per_kblock: 500, participation_bps: 5_000 }
    }
}

/// Bribes for attesters' confirmations of the coalition's false reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BriberyConfig {
    /// Whether the coalition bribes.
    pub enabled: bool,
    /// Bribe per attestation, VGL.
    pub bribe: u64,
    /// Share of honest attesters who take a bribe that covers what they could lose.
    pub susceptible_bps: u32,
    /// The coalition's bribe fund, VGL, on top of its members' liquid balances.
    pub budget: u64,
}

impl Default for BriberyConfig {
    fn default() -> Self {
        Self { enabled: false, bribe: 100, susceptible_bps: 2_500, budget: 1_000_000 }
    }
}

impl Scenario {
    /// Parses a scenario file and checks it.
    pub fn from_toml(text: &str) -> Result<Self, ScenarioError> {
        let scenario: Scenario = toml::from_str(text)?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Checks ranges the simulation relies on.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let invalid = |field, why: &str| Err(ScenarioError::Invalid { field, why: why.into() });
        self.params
            .validate()
            .map_err(|e| ScenarioError::Invalid { field: "params", why: e.to_string() })?;
        if self.blocks == 0 || self.blocks > 10_000_000 {
            return invalid("blocks", "must be 1 to 10,000,000");
        }
        if self.sample_every == 0 {
            return invalid("sample_every", "must be at least 1");
        }
        if self.protocols.is_empty() || self.protocols.len() > 64 {
            return invalid("protocols", "list 1 to 64 protocols");
        }
        let mut names = std::collections::BTreeSet::new();
        for p in &self.protocols {
            if p.name.parse::<vigil_core::ProtocolId>().is_err() {
                return invalid("protocols.name", "1-64 characters of a-z, 0-9 and '-'");
            }
            if !names.insert(p.name.as_str()) {
                return invalid("protocols.name", "names must be distinct");
            }
            if p.guardians == 0 || p.threshold == 0 || p.threshold > p.guardians {
                return invalid("protocols.threshold", "need 1 <= threshold <= guardians");
            }
            if p.tvl == 0 || p.guardian_stake == 0 {
                return invalid("protocols.tvl", "tvl and guardian_stake must be positive");
            }
            if p.min_confidence > 100 {
                return invalid("protocols.min_confidence", "must be 0-100");
            }
        }
        let bps = [
            ("attacks.drain_bps", self.attacks.drain_bps),
            ("monitors.detect_bps", self.monitors.detect_bps),
            ("honest.participation_bps", self.honest.participation_bps),
            ("honest.guardian_participation_bps", self.honest.guardian_participation_bps),
            ("honest.accuracy_bps", self.honest.accuracy_bps),
            ("honest.attest_share_bps", self.honest.attest_share_bps),
            ("honest.counter_share_bps", self.honest.counter_share_bps),
            ("lazy.participation_bps", self.lazy.participation_bps),
            ("lazy.attest_share_bps", self.lazy.attest_share_bps),
            ("lazy.feed_truth_bps", self.lazy.feed_truth_bps),
            ("coalition.attest_share_bps", self.coalition.attest_share_bps),
            ("sybil.participation_bps", self.sybil.participation_bps),
            ("bribery.susceptible_bps", self.bribery.susceptible_bps),
        ];
        for (field, v) in bps {
            if v > BPS {
                return invalid(field, "a share in basis points is at most 10,000");
            }
        }
        let amounts = [
            ("reward_pool", self.reward_pool),
            ("monitors.stake", self.monitors.stake),
            ("honest.stake", self.honest.stake),
            ("lazy.stake", self.lazy.stake),
            ("false_reporters.balance", self.false_reporters.balance),
            ("sybil.stake", self.sybil.stake),
            ("bribery.bribe", self.bribery.bribe),
            ("bribery.budget", self.bribery.budget),
        ]
        .into_iter()
        .chain(self.protocols.iter().flat_map(|p| {
            [("protocols.tvl", p.tvl), ("protocols.guardian_stake", p.guardian_stake)]
        }));
        for (field, v) in amounts {
            if v > MAX_VGL {
                return invalid(field, "at most 1,000,000,000 VGL");
            }
        }
        if self.attacks.drain_bps == 0 {
            return invalid("attacks.drain_bps", "must be positive");
        }
        if self.coalition.stake_share_bps > 9_000 {
            return invalid("coalition.stake_share_bps", "must be at most 9,000 (90%)");
        }
        if self.coalition.stake_share_bps > 0 && self.coalition.members == 0 {
            return invalid("coalition.members", "a coalition with stake needs members");
        }
        if self.attacks.gap_min > self.attacks.gap_max {
            return invalid("attacks.gap_min", "must not exceed gap_max");
        }
        if self.monitors.latency_min > self.monitors.latency_max {
            return invalid("monitors.latency_min", "must not exceed latency_max");
        }
        if self.honest.attesters == 0 || self.honest.stake == 0 {
            return invalid("honest.attesters", "at least one honest attester with stake");
        }
        if self.honest.verify_max == 0 || self.honest.verify_max >= self.params.challenge_window {
            return invalid("honest.verify_max", "must be 1 to challenge_window - 1");
        }
        if self.lazy.lag == 0 || self.lazy.lag >= self.params.challenge_window {
            return invalid("lazy.lag", "must be 1 to challenge_window - 1");
        }
        let accounts = u64::from(self.honest.reporters)
            + u64::from(self.honest.attesters)
            + u64::from(self.lazy.attesters)
            + u64::from(self.lazy.reporters)
            + u64::from(self.false_reporters.reporters)
            + u64::from(self.coalition.members)
            + u64::from(self.sybil.accounts);
        if accounts > 20_000 {
            return invalid("accounts", "at most 20,000 simulated accounts");
        }
        Ok(())
    }
}

//! What a run measures, read from the ledger's events and state: breaker trips, losses of each
//! strike, reports by kind and final status, profit by strategy, reputation and corruption
//! margins over time. Integers only, so the CSV files are the same on every machine.

use std::collections::BTreeMap;

use vigil_core::{AccountId, ProtocolId};
use vigil_ledger::{Event, Ledger, ReportStatus, RewardReason, SlashReason, TxError};

use crate::roster::{Roster, Strategy};
use crate::store::SimStore;

/// What a report is, by who filed it and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// True intel from an honest reporter.
    True,
    /// A monitor's fast-path report of an exploit it caught (true).
    Exploit,
    /// A lazy reporter's copy of a true feed entry.
    CopiedTrue,
    /// A lazy reporter's copy of a false feed entry.
    CopiedFalse,
    /// False intel from a lone reporter.
    LoneFalse,
    /// The coalition's false report naming a protocol's contract.
    Colluding,
    /// The swarm's false report naming a protocol's contract.
    Sybil,
}

impl Kind {
    /// The name in CSV files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::True => "true",
            Self::Exploit => "exploit",
            Self::CopiedTrue => "copied-true",
            Self::CopiedFalse => "copied-false",
            Self::LoneFalse => "false-lone",
            Self::Colluding => "false-colluding",
            Self::Sybil => "false-sybil",
        }
    }

    /// Whether reports of this kind are true.
    pub fn truth(self) -> bool {
        matches!(self, Self::True | Self::Exploit | Self::CopiedTrue)
    }
}

/// Why a breaker tripped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TripCause {
    /// A monitor's fast path.
    FastPath,
    /// A confirmed true report.
    ConfirmedReport,
    /// A confirmed false report.
    FalseReport,
    /// A guardian.
    Guardian,
}

impl TripCause {
    /// The name in CSV files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FastPath => "fast-path",
            Self::ConfirmedReport => "confirmed-report",
            Self::FalseReport => "false-report",
            Self::Guardian => "guardian",
        }
    }
}

/// One breaker trip.
#[derive(Clone, Debug)]
pub struct Trip {
    /// Height.
    pub height: u64,
    /// Protocol index.
    pub protocol: usize,
    /// Why.
    pub cause: TripCause,
    /// Tripped by false intel.
    pub false_trip: bool,
    /// Tripped by a true report after its exploit had ended.
    pub late: bool,
}

/// How one strike ended.
#[derive(Clone, Debug)]
pub struct StrikeOutcome {
    /// Protocol index.
    pub protocol: usize,
    /// First block.
    pub start: u64,
    /// Drained, in base units.
    pub loss: u128,
    /// Of which drained after bribed guardians re-armed the breaker.
    pub loss_after_bribe: u128,
    /// Caught at all.
    pub detected: bool,
    /// Caught through another protocol's report.
    pub shared: bool,
    /// Its guardians were bribed to re-arm mid-exploit.
    pub corrupted: bool,
    /// Caught with nothing lost (paused ahead of the exploit).
    pub ahead: bool,
}

/// Reports of one kind by final status.
#[derive(Clone, Debug, Default)]
pub struct ReportCounts {
    /// Filed.
    pub filed: u64,
    /// Confirmed (by attestation or by a vote).
    pub confirmed: u64,
    /// Rejected (by attestation or by a vote).
    pub rejected: u64,
    /// Still escalated at the end.
    pub escalated: u64,
    /// Still in their challenge window at the end.
    pub open: u64,
}

/// One strategy's balance sheet.
#[derive(Clone, Debug)]
pub struct ProfitRow {
    /// The strategy.
    pub strategy: Strategy,
    /// Accounts following it.
    pub accounts: u64,
    /// What they owned at genesis (liquid + bonded), base units.
    pub capital: u128,
    /// What they own at the end (liquid + bonded + unbonding), base units.
    pub end: u128,
}

impl ProfitRow {
    /// End minus start, base units.
    pub fn profit(&self) -> i128 {
        self.end as i128 - self.capital as i128
    }

    /// Profit per unit of capital, basis points (rounded toward −∞).
    pub fn return_bps(&self) -> i128 {
        if self.capital == 0 {
            return 0;
        }
        (self.profit() * 10_000).div_euclid(self.capital as i128)
    }
}

/// Mean reputation of a strategy at a height.
#[derive(Clone, Debug)]
pub struct ReputationSample {
    /// Height.
    pub height: u64,
    /// Strategy.
    pub strategy: Strategy,
    /// Mean 0–100 confidence, in tenths (so 505 = 50.5).
    pub mean_tenths: u64,
}

/// A protocol's corruption margin at a height, from `Ledger::security`.
#[derive(Clone, Debug)]
pub struct MarginSample {
    /// Height.
    pub height: u64,
    /// Protocol index.
    pub protocol: usize,
    /// Cost of corruption, base units.
    pub cost: u64,
    /// Value protected, base units.
    pub value: u64,
    /// γ in basis points.
    pub margin_bps: i64,
}

/// Everything one run measured.
pub struct Metrics {
    /// Transactions in blocks.
    pub txs: u64,
    /// Failed transactions by error.
    pub failures: BTreeMap<String, u64>,
    /// Every breaker trip.
    pub trips: Vec<Trip>,
    /// Every strike.
    pub strikes: Vec<StrikeOutcome>,
    /// Reports by kind.
    pub reports: BTreeMap<Kind, ReportCounts>,
    /// Verdicts that escalated to a vote.
    pub escalated: u64,
    /// Guardian bribes that re-armed a breaker mid-exploit.
    pub corruptions: u64,
    /// Attesters bribed.
    pub bribes: u64,
    /// Paid in bribes, base units.
    pub bribes_paid: u128,
    /// Weight cast on each report at its attestation verdict, in order.
    pub cast: Vec<u64>,
    /// Verdicts whose cast weight fell short of the quorum.
    pub below_quorum: u64,
    /// The quorum (weight) at the last verdict.
    pub last_quorum: u64,
    /// Highest share of the cast weight (bps) that confirmed a false report.
    pub false_confirm_share_bps: u32,
    /// Balance sheets, by strategy.
    pub profits: Vec<ProfitRow>,
    /// Reputation over time.
    pub reputation: Vec<ReputationSample>,
    /// Margins over time.
    pub margins: Vec<MarginSample>,
    /// Attestations, rewards and slashes, by strategy.
    pub flows: BTreeMap<Strategy, Flow>,
    start: Vec<u128>,
    strategy: BTreeMap<AccountId, Strategy>,
}

/// What the ledger booked to one strategy's accounts.
#[derive(Clone, Debug, Default)]
pub struct Flow {
    /// Attestations made.
    pub attestations: u64,
    /// Attestations on the winning side (rewarded).
    pub won: u64,
    /// Attestations on the losing side (slashed).
    pub lost: u64,
    /// Paid for winning attestations, base units.
    pub attestation_rewards: u128,
    /// Slashed from losing attestations, base units.
    pub attestation_slashes: u128,
    /// Other rewards (confirmed reports, bounties), base units.
    pub other_rewards: u128,
    /// Other slashes (rejected reports, false fast paths), base units.
    pub other_slashes: u128,
}

impl Metrics {
    /// Empty, with each account's genesis wealth.
    pub fn new(roster: &Roster) -> Self {
        let unit = u128::from(vigil_core::UNITS_PER_VGL);
        Self {
            txs: 0,
            failures: BTreeMap::new(),
            trips: Vec::new(),
            strikes: Vec::new(),
            reports: BTreeMap::new(),
            escalated: 0,
            corruptions: 0,
            bribes: 0,
            bribes_paid: 0,
            cast: Vec::new(),
            below_quorum: 0,
            last_quorum: 0,
            false_confirm_share_bps: 0,
            profits: Vec::new(),
            reputation: Vec::new(),
            margins: Vec::new(),
            flows: BTreeMap::new(),
            strategy: roster.agents.iter().map(|a| (a.id, a.strategy)).collect(),
            start: roster
                .agents
                .iter()
                .map(|a| (u128::from(a.balance) + u128::from(a.bonded)) * unit)
                .collect(),
        }
    }

    pub(crate) fn verdict(&mut self, cast: u64, quorum: u64) {
        self.cast.push(cast);
        self.below_quorum += u64::from(cast < quorum);
        self.last_quorum = quorum;
    }

    /// Median weight cast per report, if any verdict came.
    pub fn median_cast(&self) -> Option<u64> {
        let mut v = self.cast.clone();
        v.sort_unstable();
        v.get(v.len() / 2).copied()
    }

    pub(crate) fn failed(&mut self, signer: &AccountId, e: &TxError) {
        let text = format!("{e:?}");
        let name = text.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
        let who = self.strategy.get(signer).map_or("unknown", |s| s.as_str());
        *self.failures.entry(format!("{name} ({who})")).or_default() += 1;
    }

    /// Books an event's attestations, rewards and slashes to the strategy of their account.
    pub(crate) fn flow(&mut self, event: &Event) {
        let (account, f): (&AccountId, fn(&mut Flow, u128)) = match event {
            Event::Attested { attester, .. } => (attester, |f, _| f.attestations += 1),
            Event::Rewarded { account, reason: RewardReason::WinningAttestation, .. } => {
                (account, |f, a| {
                    f.won += 1;
                    f.attestation_rewards += a;
                })
            }
            Event::Rewarded { account, .. } => (account, |f, a| f.other_rewards += a),
            Event::Slashed { account, reason: SlashReason::LosingAttestation, .. } => {
                (account, |f, a| {
                    f.lost += 1;
                    f.attestation_slashes += a;
                })
            }
            Event::Slashed { account, .. } => (account, |f, a| f.other_slashes += a),
            _ => return,
        };
        let amount = match event {
            Event::Rewarded { amount, .. } | Event::Slashed { amount, .. } => u128::from(amount.0),
            _ => 0,
        };
        let Some(strategy) = self.strategy.get(account).copied() else { return };
        f(self.flows.entry(strategy).or_default(), amount);
    }

    /// Samples reputation by strategy and every protocol's margin.
    pub(crate) fn sample(
        &mut self,
        ledger: &Ledger<SimStore>,
        roster: &Roster,
        ids: &[ProtocolId],
        height: u64,
    ) {
        let mut by: BTreeMap<Strategy, (u64, u64)> = BTreeMap::new();
        for a in &roster.agents {
            let score = ledger.account(&a.id).map_or(50, |v| u64::from(v.reputation_score));
            let e = by.entry(a.strategy).or_default();
            e.0 += score;
            e.1 += 1;
        }
        for (strategy, (sum, n)) in by {
            let mean_tenths = (sum * 10).checked_div(n).unwrap_or(0);
            self.reputation.push(ReputationSample { height, strategy, mean_tenths });
        }
        for (protocol, id) in ids.iter().enumerate() {
            let Some(sec) = ledger.security(id) else { continue };
            self.margins.push(MarginSample {
                height,
                protocol,
                cost: sec.cost_of_corruption.0,
                value: sec.protected_value.0,
                margin_bps: sec.margin_bps.unwrap_or(i64::MAX),
            });
        }
    }

    /// Final balance sheets and report statuses.
    pub(crate) fn finish(
        &mut self,
        ledger: &Ledger<SimStore>,
        roster: &Roster,
        filed: impl Iterator<Item = (vigil_core::ReportId, Kind)>,
    ) {
        let mut by: BTreeMap<Strategy, ProfitRow> = BTreeMap::new();
        for (a, start) in roster.agents.iter().zip(&self.start) {
            let end = ledger
                .state()
                .account(&a.id)
                .and_then(|acct| acct.total())
                .map_or(0, |t| u128::from(t.0));
            let row = by.entry(a.strategy).or_insert(ProfitRow {
                strategy: a.strategy,
                accounts: 0,
                capital: 0,
                end: 0,
            });
            row.accounts += 1;
            row.capital += start;
            row.end += end;
        }
        self.profits = by.into_values().collect();
        for (id, kind) in filed {
            // Only reports the ledger took (a bond it refused files nothing).
            let counts = self.reports.entry(kind).or_default();
            let status = ledger.report(&id).map(|r| r.status);
            counts.filed += u64::from(status.is_some());
            match status {
                Some(ReportStatus::Confirmed) => counts.confirmed += 1,
                Some(ReportStatus::Rejected) => counts.rejected += 1,
                Some(ReportStatus::Escalated) => counts.escalated += 1,
                Some(ReportStatus::Open) => counts.open += 1,
                None => {}
            }
        }
    }

    /// Total drained, base units.
    pub fn total_loss(&self) -> u128 {
        self.strikes.iter().map(|s| s.loss).sum()
    }

    /// Breaker trips by false intel.
    pub fn false_trips(&self) -> usize {
        self.trips.iter().filter(|t| t.false_trip).count()
    }

    /// Reports filed, all kinds.
    pub fn reports_filed(&self) -> u64 {
        self.reports.values().map(|c| c.filed).sum()
    }
}

//! The simulated world: agents deciding, block by block, which signed transactions to send to
//! the real ledger, and what the ledger's events and state then tell them.
//!
//! Each block is cut in a fixed order — monitors' trips first (a pause ordered ahead of the
//! exploit), then guardians, new reports, attestations and votes — finalized and committed
//! with `Ledger::finalize_block` and `Ledger::commit`, exactly as a node does. Losses accrue
//! after the block for every live exploit whose protocol's breaker is armed in the committed
//! state. Nothing about verdicts, slashing, rewards, reputation or breakers is modelled here:
//! those are the ledger's, read back from its events and queries.

use std::collections::BTreeMap;

use vigil_core::{
    Alert, AlertKind, Amount, B256, Block, BreakerPolicy, Category, EvmAddress, EvmChainId,
    Indicator, OnChainAction, ProposalAction, ProtocolId, ProtocolSpec, Report, ReportId, Severity,
    Signed, SignedTx, Stance, TxBody, TxRef, VoteChoice,
};
use vigil_ledger::{BPS, BreakerState, Event, Ledger, LedgerError, ReportStatus, TripReason};

use crate::attacks::Schedule;
use crate::random::Stream;
use crate::record::{Kind, Metrics, StrikeOutcome, Trip, TripCause};
use crate::roster::{Roster, Strategy, chain_id};
use crate::scenario::Scenario;
use crate::store::SimStore;

const EVM_CHAIN: EvmChainId = EvmChainId(1);
const UNIT: u128 = vigil_core::UNITS_PER_VGL as u128;

/// What one run varies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunSettings {
    /// Blocks from a report's inclusion until other protocols act on it; `None`: no sharing.
    pub sharing: Option<u64>,
    /// Whether to sample reputation and margins (the main run) or only count losses (sweeps).
    pub sample: bool,
}

/// A report the simulation filed or saw filed, with the truth only the simulation knows.
struct Filed {
    kind: Kind,
    truth: bool,
    deadline: u64,
    /// The attestation verdict came (a vote's decision comes later, as a second verdict).
    judged: bool,
}

/// An attestation an agent will make.
struct Plan {
    report: ReportId,
    agent: usize,
    how: Decide,
}

enum Decide {
    /// Attest this stance with this share of free stake.
    Fixed(Stance, u32),
    /// Attest a belief; when the check was conclusive (`sure`), lock more if the other side
    /// leads: a wrong side in the lead is a prize worth claiming. Mistakes come from
    /// inconclusive checks, which never raise the stake.
    Checked { belief: Stance, sure: bool },
    /// Copy the side with more weight, if any.
    FollowLead,
}

/// A vote an agent will cast.
struct VotePlan {
    proposal: u64,
    agent: usize,
    choice: Option<VoteChoice>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Pending,
    /// Exploiting: draining whenever the breaker is armed.
    Live,
    Over,
}

struct StrikeState {
    phase: Phase,
    detect_at: Option<u64>,
    detected: bool,
    shared: bool,
    corrupted: bool,
    loss: u128,
    loss_after_bribe: u128,
    /// What this strike can still take: each strike is against the protocol's full TVL
    /// (value at risk per incident; deposits return once an incident is handled).
    left: u128,
}

/// Transactions of the block being cut, with the nonces and free stake they use up.
struct Batch {
    txs: Vec<SignedTx>,
    nonce: BTreeMap<usize, u64>,
    free: BTreeMap<usize, u64>,
    score: BTreeMap<usize, u8>,
    balance: BTreeMap<usize, u64>,
    /// Weight this block adds to each report (confirm, dispute), estimated from stake × score.
    tally: BTreeMap<ReportId, (u128, u128)>,
}

/// One run of a scenario.
pub struct World<'a> {
    scenario: &'a Scenario,
    roster: &'a Roster,
    schedule: &'a Schedule,
    settings: RunSettings,
    ledger: Ledger<SimStore>,
    ids: Vec<ProtocolId>,
    contracts: Vec<EvmAddress>,
    filing: Stream,
    choices: Stream,
    susceptible: Vec<bool>,
    filed: BTreeMap<ReportId, Filed>,
    plans: BTreeMap<u64, Vec<Plan>>,
    votes: BTreeMap<u64, Vec<VotePlan>>,
    to_propose: Vec<ReportId>,
    strikes: Vec<StrikeState>,
    /// Per protocol: the report behind its current trip and the height honest guardians re-arm.
    reset_at: BTreeMap<usize, u64>,
    stewards: usize,
    serial: u64,
    /// Everything measured.
    pub metrics: Metrics,
}

/// The run failed: the ledger refused a block (a bug in the simulation or the ledger).
#[derive(Debug, thiserror::Error)]
#[error("ledger at height {height}: {source}")]
pub struct RunError {
    /// The height.
    pub height: u64,
    /// The ledger's error.
    #[source]
    pub source: LedgerError,
}

impl<'a> World<'a> {
    /// A world at genesis, its protocols registered in block 1.
    pub fn new(
        scenario: &'a Scenario,
        roster: &'a Roster,
        schedule: &'a Schedule,
        seed: u64,
        settings: RunSettings,
    ) -> Result<Self, RunError> {
        let genesis = roster.genesis(scenario);
        let ledger = Ledger::open(SimStore::default(), &genesis)
            .map_err(|source| RunError { height: 0, source })?;
        let mut dice = Stream::new(seed, "roster");
        let susceptible =
            roster.agents.iter().map(|_| dice.chance(scenario.bribery.susceptible_bps)).collect();
        let ids = scenario
            .protocols
            .iter()
            .map(|p| p.name.parse().expect("validated protocol id"))
            .collect();
        let contracts = (0..scenario.protocols.len())
            .map(|i| {
                let mut a = [0u8; 20];
                a[0] = 0xc0;
                a[12..20].copy_from_slice(&(i as u64).to_be_bytes());
                EvmAddress(a)
            })
            .collect();
        let mut world = Self {
            scenario,
            roster,
            schedule,
            settings,
            ledger,
            ids,
            contracts,
            filing: Stream::new(seed, "filing"),
            choices: Stream::new(seed, "choices"),
            susceptible,
            filed: BTreeMap::new(),
            plans: BTreeMap::new(),
            votes: BTreeMap::new(),
            to_propose: Vec::new(),
            strikes: schedule
                .strikes
                .iter()
                .map(|s| StrikeState {
                    phase: Phase::Pending,
                    detect_at: None,
                    detected: false,
                    shared: false,
                    corrupted: false,
                    loss: 0,
                    loss_after_bribe: 0,
                    left: u128::from(scenario.protocols[s.protocol].tvl) * UNIT,
                })
                .collect(),
            reset_at: BTreeMap::new(),
            stewards: 0,
            serial: 0,
            metrics: Metrics::new(roster),
        };
        world.register()?;
        Ok(world)
    }

    /// The ledger, for queries.
    pub fn ledger(&self) -> &Ledger<SimStore> {
        &self.ledger
    }

    fn register(&mut self) -> Result<(), RunError> {
        let mut b = Batch::new();
        for (i, p) in self.scenario.protocols.iter().enumerate() {
            let monitor = self.roster.agents[self.roster.monitors[i]].id;
            let spec = ProtocolSpec {
                id: self.ids[i].clone(),
                name: p.name.clone(),
                chain: EVM_CHAIN,
                contracts: vec![self.contracts[i]],
                guardians: self.roster.guardians[i]
                    .iter()
                    .map(|&g| self.roster.agents[g].id)
                    .collect(),
                threshold: p.threshold,
                protected_value: Amount::vgl(p.tvl),
                policy: BreakerPolicy {
                    min_severity: Severity::High,
                    min_confidence: p.min_confidence,
                    monitors: vec![monitor],
                    action: OnChainAction::pausable(self.contracts[i]),
                },
                bounty: None,
                safe_harbor: None,
            };
            let owner = self.roster.owners[i];
            b.push(self, owner, TxBody::RegisterProtocol { spec, bounty_deposit: Amount::ZERO });
        }
        self.commit_block(b)
    }

    /// Closes the books after the last block: balance sheets, report statuses, strikes.
    pub fn finish(&mut self) {
        self.metrics.finish(
            &self.ledger,
            self.roster,
            self.filed.iter().map(|(id, f)| (*id, f.kind)),
        );
        let schedule = self.schedule;
        for (s, state) in schedule.strikes.iter().zip(&self.strikes) {
            self.metrics.strikes.push(StrikeOutcome {
                protocol: s.protocol,
                start: s.start,
                loss: state.loss,
                loss_after_bribe: state.loss_after_bribe,
                detected: state.detected,
                shared: state.shared,
                corrupted: state.corrupted,
                ahead: state.detected && state.loss == 0,
            });
        }
    }

    /// Cuts, finalizes and commits one block.
    pub fn step(&mut self) -> Result<(), RunError> {
        let h = self.ledger.height() + 1;
        let mut b = Batch::new();
        if h.is_multiple_of(self.scenario.sample_every) {
            self.rebond_guardians(&mut b);
        }
        self.monitors(h, &mut b);
        self.guardians(h, &mut b);
        self.file_reports(h, &mut b);
        self.attest(h, &mut b);
        self.govern(h, &mut b);
        self.commit_block(b)?;
        self.drain(h);
        if self.settings.sample && h.is_multiple_of(self.scenario.sample_every) {
            self.metrics.sample(&self.ledger, self.roster, &self.ids, h);
        }
        Ok(())
    }

    fn commit_block(&mut self, b: Batch) -> Result<(), RunError> {
        let last = self.ledger.last_commit();
        let height = last.height + 1;
        let block = Block {
            height,
            time: height,
            proposer: self.roster.agents[self.roster.honest_attesters[0]].id,
            parent: last.block_hash,
            txs: b.txs,
        };
        let out =
            self.ledger.finalize_block(&block).map_err(|source| RunError { height, source })?;
        self.ledger.commit().map_err(|source| RunError { height, source })?;
        self.metrics.txs += out.tx_results.len() as u64;
        for (tx, r) in block.txs.iter().zip(&out.tx_results) {
            if let Err(e) = &r.outcome {
                self.metrics.failed(&tx.tx.signer, e);
            }
        }
        for event in &out.events {
            self.metrics.flow(event);
            self.on_event(height, event);
        }
        Ok(())
    }

    fn on_event(&mut self, h: u64, event: &Event) {
        match event {
            Event::BreakerTripped { protocol, reason, .. } => {
                let Some(p) = self.ids.iter().position(|id| id == protocol) else { return };
                let under_attack = self.live_on(p);
                let cause = match reason {
                    TripReason::FastPath { report, .. } => {
                        // The monitor's report of its alert: true, attested like any other.
                        self.file_seen(h, *report, Kind::Exploit);
                        TripCause::FastPath
                    }
                    TripReason::ConfirmedReport { report } => match self.filed.get(report) {
                        Some(f) if !f.truth => TripCause::FalseReport,
                        _ => TripCause::ConfirmedReport,
                    },
                    TripReason::Guardian { .. } => TripCause::Guardian,
                };
                // A trip by false intel is a false trip; one by a true report after its exploit
                // ended is late, not false.
                let false_trip = cause == TripCause::FalseReport;
                let late = !under_attack && !false_trip;
                self.metrics.trips.push(Trip { height: h, protocol: p, cause, false_trip, late });
            }
            Event::Verdict { report, status, confirm_weight, dispute_weight, quorum } => {
                let Some(f) = self.filed.get_mut(report) else { return };
                if !f.judged {
                    f.judged = true;
                    self.metrics.verdict(confirm_weight.saturating_add(*dispute_weight), *quorum);
                    if !f.truth && *status == ReportStatus::Confirmed {
                        let cast = u128::from(*confirm_weight) + u128::from(*dispute_weight);
                        let share = u128::from(*confirm_weight) * u128::from(BPS) / cast.max(1);
                        self.metrics.false_confirm_share_bps =
                            self.metrics.false_confirm_share_bps.max(share as u32);
                    }
                }
                if *status == ReportStatus::Escalated {
                    self.metrics.escalated += 1;
                    self.to_propose.push(*report);
                    return;
                }
                // A settled trip: honest guardians re-arm once the incident is handled.
                for (p, id) in self.ids.iter().enumerate() {
                    let Some(record) = self.ledger.state().protocol(id) else { continue };
                    let BreakerState::Tripped { reason, .. } = &record.breaker else { continue };
                    let behind = match reason {
                        TripReason::FastPath { report: r, .. }
                        | TripReason::ConfirmedReport { report: r } => r,
                        TripReason::Guardian { .. } => continue,
                    };
                    if behind == report {
                        let delay = self.scenario.protocols[p].reset_delay;
                        self.reset_at.insert(p, h + delay);
                    }
                }
            }
            Event::ProposalSubmitted { proposal, voting_ends, .. } => {
                // Ours: a resolution of a report the simulation filed.
                let ours = self.ledger.state().proposal(*proposal).is_some_and(|p| {
                    matches!(&p.action, ProposalAction::ResolveReport { report, .. }
                        if self.filed.contains_key(report))
                });
                if !ours {
                    return;
                }
                let span = voting_ends.saturating_sub(h).max(1);
                for agent in self.roster.voters() {
                    let choice = match self.roster.agents[agent].strategy {
                        Strategy::Colluding => Some(VoteChoice::No),
                        Strategy::LazyAttester => None,
                        _ => Some(VoteChoice::Yes),
                    };
                    let at = h + 1 + self.choices.below(span);
                    self.votes.entry(at).or_default().push(VotePlan {
                        proposal: *proposal,
                        agent,
                        choice,
                    });
                }
            }
            _ => {}
        }
    }

    fn live_on(&self, p: usize) -> bool {
        self.schedule
            .strikes
            .iter()
            .zip(&self.strikes)
            .any(|(s, st)| s.protocol == p && st.phase == Phase::Live)
    }

    fn tripped(&self, p: usize) -> bool {
        self.ledger.state().protocol(&self.ids[p]).is_some_and(|r| r.breaker.is_tripped())
    }

    /// Whether the pattern's code hash is on the ledger in a report (not rejected) that has had
    /// `latency` blocks to reach every node.
    fn shared_in_force(&self, campaign: usize, h: u64) -> bool {
        let Some(latency) = self.settings.sharing else { return false };
        let hash = self.schedule.campaigns[campaign].code_hash;
        self.ledger.check(&Indicator::CodeHash(hash)).iter().any(|m| {
            m.status != ReportStatus::Rejected
                && self
                    .ledger
                    .report(&m.report)
                    .is_some_and(|r| r.submitted_at.saturating_add(latency) <= h)
        })
    }

    /// Strikes begin; monitors that see one (on their own, or through a shared report) trip
    /// the breaker in this block, ahead of the exploit's transaction.
    fn monitors(&mut self, h: u64, b: &mut Batch) {
        let schedule = self.schedule;
        let mut trip: Vec<(usize, usize)> = Vec::new();
        for (i, s) in schedule.strikes.iter().enumerate() {
            let st = &self.strikes[i];
            if st.phase == Phase::Pending && s.start == h {
                self.strikes[i].phase = Phase::Live;
                self.strikes[i].detect_at = s.own_delay.map(|d| h + d);
            }
            let st = &self.strikes[i];
            if st.phase != Phase::Live || st.detected {
                continue;
            }
            let own = st.detect_at == Some(h);
            let shared = !own && self.shared_in_force(s.campaign, h);
            if own || shared {
                self.strikes[i].detected = true;
                self.strikes[i].shared = shared;
                trip.push((i, s.protocol));
            }
        }
        // Corrupted guardians re-armed it: the monitor catches the exploit again.
        for (i, s) in schedule.strikes.iter().enumerate() {
            let st = &self.strikes[i];
            if st.phase == Phase::Live && st.detected && st.detect_at == Some(h) && st.corrupted {
                trip.push((i, s.protocol));
            }
        }
        trip.sort_unstable();
        trip.dedup_by_key(|t| t.1);
        for (i, p) in trip {
            if self.tripped(p) {
                continue;
            }
            let campaign = &self.schedule.campaigns[self.schedule.strikes[i].campaign];
            self.serial += 1;
            let mut hash = [0u8; 32];
            hash[..8].copy_from_slice(&self.serial.to_be_bytes());
            hash[8..16].copy_from_slice(&h.to_be_bytes());
            let alert = Alert {
                detector: "sim-monitor".into(),
                severity: Severity::Critical,
                kind: AlertKind::Exploit,
                confidence: 90,
                tx: TxRef {
                    chain: EVM_CHAIN,
                    hash: B256(hash),
                    from: campaign.attacker,
                    to: Some(self.contracts[p]),
                    block: None,
                },
                addresses: vec![campaign.attacker, self.contracts[p]],
                indicators: vec![Indicator::CodeHash(campaign.code_hash)],
                labels: Vec::new(),
                description: format!(
                    "exploit pattern of campaign {}",
                    self.schedule.strikes[i].campaign
                ),
                time: h,
                metadata: BTreeMap::new(),
                detection: Vec::new(),
            };
            let monitor = self.roster.monitors[p];
            let signed = Signed::sign(alert, chain_id(), &self.roster.agents[monitor].key);
            b.push(
                self,
                monitor,
                TxBody::FastPathTrip { protocol: self.ids[p].clone(), alert: Box::new(signed) },
            );
        }
    }

    /// Honest guardians re-arm a breaker once its incident is settled (patching the exploit);
    /// an attacker bribes guardians to re-arm one mid-exploit when the ledger says their stake
    /// is worth less than what is left to drain.
    fn guardians(&mut self, h: u64, b: &mut Batch) {
        let due: Vec<usize> =
            self.reset_at.iter().filter(|(_, at)| **at <= h).map(|(p, _)| *p).collect();
        for p in due {
            self.reset_at.remove(&p);
            if !self.tripped(p) {
                continue;
            }
            // The fix ships with the reset: exploits caught on this protocol are over.
            let schedule = self.schedule;
            for (s, st) in schedule.strikes.iter().zip(self.strikes.iter_mut()) {
                if s.protocol == p && st.phase == Phase::Live && st.detected {
                    st.phase = Phase::Over;
                }
            }
            self.approve_reset(p, b);
        }
        if !self.scenario.attacks.corrupt_guardians {
            return;
        }
        let schedule = self.schedule;
        for (i, s) in schedule.strikes.iter().enumerate() {
            let st = &self.strikes[i];
            if st.phase != Phase::Live || st.corrupted || !st.detected || !self.tripped(s.protocol)
            {
                continue;
            }
            let Some(sec) = self.ledger.security(&self.ids[s.protocol]) else { continue };
            if u128::from(sec.guardian_path_cost.0) >= st.left {
                continue;
            }
            // Pay the M least-staked guardians what they stand to lose, then they approve.
            let mut gs: Vec<(u64, usize)> = self.roster.guardians[s.protocol]
                .iter()
                .map(|&g| {
                    (
                        self.ledger
                            .account(&self.roster.agents[g].id)
                            .map_or(0, |a| a.state.bonded.0),
                        g,
                    )
                })
                .collect();
            gs.sort_unstable();
            let m = usize::from(self.scenario.protocols[s.protocol].threshold);
            let briber = self.roster.coalition.first().copied();
            for &(stake, g) in gs.iter().take(m) {
                if let Some(briber) = briber {
                    let to = self.roster.agents[g].id;
                    b.push(self, briber, TxBody::Transfer { to, amount: Amount(stake.max(1)) });
                }
                b.push(self, g, TxBody::ApproveReset { protocol: self.ids[s.protocol].clone() });
            }
            self.metrics.corruptions += 1;
            self.reset_at.remove(&s.protocol);
            let st = &mut self.strikes[i];
            st.corrupted = true;
            st.detect_at = Some(h + s.again_delay);
        }
    }

    /// Guardians of protocols that say so re-bond their liquid earnings (keeping 1,000 VGL).
    fn rebond_guardians(&mut self, b: &mut Batch) {
        let keep = Amount::vgl(1_000).0;
        for (p, guardians) in self.roster.guardians.iter().enumerate() {
            if !self.scenario.protocols[p].rebond {
                continue;
            }
            for &g in guardians {
                let balance =
                    self.ledger.account(&self.roster.agents[g].id).map_or(0, |a| a.state.balance.0);
                if balance > keep * 2 {
                    b.push(self, g, TxBody::Bond { amount: Amount(balance - keep) });
                }
            }
        }
    }

    fn approve_reset(&mut self, p: usize, b: &mut Batch) {
        let m = usize::from(self.scenario.protocols[p].threshold);
        for g in self.roster.guardians[p].clone().into_iter().take(m) {
            b.push(self, g, TxBody::ApproveReset { protocol: self.ids[p].clone() });
        }
    }

    /// New reports: true intel from honest reporters, false intel from lone liars, and the
    /// coalition's and the swarm's false reports naming a protocol's contract.
    fn file_reports(&mut self, h: u64, b: &mut Batch) {
        let sc = self.scenario;
        for _ in 0..self.filing.count(sc.honest.reports_per_kblock) {
            let Some(&who) = pick(&mut self.filing, &self.roster.honest_reporters) else { break };
            let report = self.intel_report(h, true, None);
            self.submit(h, b, who, report, Kind::True);
        }
        for _ in 0..self.filing.count(sc.lazy.reports_per_kblock) {
            let Some(&who) = pick(&mut self.filing, &self.roster.lazy_reporters) else { break };
            let truth = self.filing.chance(sc.lazy.feed_truth_bps);
            let report = self.intel_report(h, truth, None);
            let kind = if truth { Kind::CopiedTrue } else { Kind::CopiedFalse };
            self.submit(h, b, who, report, kind);
        }
        for _ in 0..self.filing.count(sc.false_reporters.reports_per_kblock) {
            let Some(&who) = pick(&mut self.filing, &self.roster.false_reporters) else { break };
            let report = self.intel_report(h, false, None);
            self.submit(h, b, who, report, Kind::LoneFalse);
        }
        for _ in 0..self.filing.count(sc.coalition.reports_per_kblock) {
            let Some(&who) = pick(&mut self.filing, &self.roster.coalition) else { break };
            let target = self.filing.below(sc.protocols.len() as u64) as usize;
            let report = self.intel_report(h, false, Some(target));
            self.submit(h, b, who, report, Kind::Colluding);
        }
        for _ in 0..self.filing.count(sc.sybil.reports_per_kblock) {
            let Some(&who) = pick(&mut self.filing, &self.roster.sybils) else { break };
            let target = self.filing.below(sc.protocols.len() as u64) as usize;
            let report = self.intel_report(h, false, Some(target));
            self.submit(h, b, who, report, Kind::Sybil);
        }
    }

    fn intel_report(&mut self, h: u64, truth: bool, target: Option<usize>) -> Report {
        self.serial += 1;
        let (indicator, affected) = match target {
            Some(p) => (
                Indicator::Address { chain: Some(EVM_CHAIN), address: self.contracts[p] },
                vec![self.scenario.protocols[p].name.clone()],
            ),
            None => {
                let mut a = [0u8; 20];
                a.copy_from_slice(&self.filing.bytes32()[..20]);
                (Indicator::Address { chain: Some(EVM_CHAIN), address: EvmAddress(a) }, Vec::new())
            }
        };
        let what = if truth { "drainer" } else { "claimed drainer" };
        Report {
            indicators: vec![indicator],
            severity: Severity::High,
            category: Category::Exploit,
            summary: format!("{what} #{} seen at block {h}", self.serial),
            evidence: Vec::new(),
            affected_protocols: affected,
            detection: Vec::new(),
            revokes: Vec::new(),
        }
    }

    fn submit(&mut self, h: u64, b: &mut Batch, who: usize, report: Report, kind: Kind) {
        let bond = self.scenario.params.min_report_bond;
        let id = report.id();
        if !b.spend(&self.ledger, who, self.roster.agents[who].id, bond.0) {
            return;
        }
        b.push(self, who, TxBody::SubmitReport { report, bond });
        self.file_seen(h, id, kind);
        if kind == Kind::Colluding && self.scenario.bribery.enabled {
            self.bribe(h, b, id);
        }
    }

    /// Records a report and plans who attests it when.
    fn file_seen(&mut self, h: u64, id: ReportId, kind: Kind) {
        let truth = kind.truth();
        if self.filed.contains_key(&id) {
            return;
        }
        let sc = self.scenario;
        let deadline = h + sc.params.challenge_window;
        self.filed.insert(id, Filed { kind, truth, deadline, judged: false });
        let right = if truth { Stance::Confirm } else { Stance::Dispute };
        let wrong = if truth { Stance::Dispute } else { Stance::Confirm };
        for a in self.roster.checkers() {
            let participation = if self.roster.agents[a].strategy == Strategy::Guardian {
                sc.honest.guardian_participation_bps
            } else {
                sc.honest.participation_bps
            };
            if !self.choices.chance(participation) {
                continue;
            }
            let sure = self.choices.chance(sc.honest.accuracy_bps);
            let belief = if sure { right } else { wrong };
            let at = h + self.choices.between(1, sc.honest.verify_max);
            let how = Decide::Checked { belief, sure };
            self.plans.entry(at).or_default().push(Plan { report: id, agent: a, how });
        }
        for &a in &self.roster.lazy {
            if self.choices.chance(sc.lazy.participation_bps) {
                let at = h + sc.lazy.lag;
                self.plans.entry(at).or_default().push(Plan {
                    report: id,
                    agent: a,
                    how: Decide::FollowLead,
                });
            }
        }
        let adversarial = matches!(kind, Kind::Colluding | Kind::Sybil);
        let share = sc.coalition.attest_share_bps;
        if adversarial || (truth && sc.coalition.dispute_true) {
            let stance = if adversarial { Stance::Confirm } else { Stance::Dispute };
            for &a in &self.roster.coalition {
                self.plans.entry(h + 1).or_default().push(Plan {
                    report: id,
                    agent: a,
                    how: Decide::Fixed(stance, share),
                });
            }
        }
        if adversarial {
            for &a in &self.roster.sybils {
                if self.choices.chance(sc.sybil.participation_bps) {
                    self.plans.entry(h + 1).or_default().push(Plan {
                        report: id,
                        agent: a,
                        how: Decide::Fixed(Stance::Confirm, BPS),
                    });
                }
            }
        }
    }

    /// The coalition pays susceptible honest attesters planning to check its report, when the
    /// bribe covers what the attestation could lose; they then confirm it.
    fn bribe(&mut self, h: u64, b: &mut Batch, id: ReportId) {
        let Some(&briber) = self.roster.coalition.first() else { return };
        let sc = self.scenario;
        let bribe = Amount::vgl(sc.bribery.bribe);
        for at in h + 1..=h + sc.honest.verify_max {
            let Some(plans) = self.plans.get_mut(&at) else { continue };
            for plan in plans.iter_mut().filter(|p| p.report == id) {
                let Decide::Checked { .. } = plan.how else { continue };
                if !self.susceptible[plan.agent] {
                    continue;
                }
                let stake = u128::from(sc.honest.stake) * u128::from(sc.honest.attest_share_bps)
                    / u128::from(BPS);
                let at_risk = stake * u128::from(sc.params.attester_slash_bps) / u128::from(BPS);
                if u128::from(sc.bribery.bribe) < at_risk {
                    continue;
                }
                if !b.spend(&self.ledger, briber, self.roster.agents[briber].id, bribe.0) {
                    return;
                }
                plan.how = Decide::Checked { belief: Stance::Confirm, sure: false };
                self.metrics.bribes += 1;
                self.metrics.bribes_paid += u128::from(bribe.0);
                let to = self.roster.agents[plan.agent].id;
                let tx = signed(
                    self.roster,
                    &self.ledger,
                    &mut b.nonce,
                    briber,
                    TxBody::Transfer { to, amount: bribe },
                );
                b.txs.push(tx);
            }
        }
    }

    fn attest(&mut self, h: u64, b: &mut Batch) {
        let Some(plans) = self.plans.remove(&h) else { return };
        let sc = self.scenario;
        let min = sc.params.min_attestation_stake.0;
        let threshold = u128::from(sc.params.verdict_threshold_bps);
        for plan in plans {
            let Some(f) = self.filed.get(&plan.report) else { continue };
            if h > f.deadline {
                continue;
            }
            let Some(record) = self.ledger.report(&plan.report) else { continue };
            let agent = &self.roster.agents[plan.agent];
            if record.status != ReportStatus::Open || record.reporter == agent.id {
                continue;
            }
            // The tally as the agent sees it: committed, plus what this block already holds.
            let (dc, dd) = b.tally.get(&plan.report).copied().unwrap_or((0, 0));
            let confirm = u128::from(record.tally.confirm_weight) + dc;
            let dispute = u128::from(record.tally.dispute_weight) + dd;
            let lead = match confirm.cmp(&dispute) {
                std::cmp::Ordering::Greater => Some(Stance::Confirm),
                std::cmp::Ordering::Less => Some(Stance::Dispute),
                std::cmp::Ordering::Equal => None,
            };
            let free = b.free(&self.ledger, plan.agent, agent.id);
            let score = b.score(&self.ledger, plan.agent, agent.id).max(1);
            let share_of = |bps: u32| (u128::from(free) * u128::from(bps) / u128::from(BPS)) as u64;
            let (stance, stake) = match plan.how {
                Decide::Fixed(s, share) => (s, share_of(share)),
                Decide::Checked { belief, sure } => {
                    let normal = share_of(sc.honest.attest_share_bps);
                    let (right, wrong) = if belief == Stance::Confirm {
                        (confirm, dispute)
                    } else {
                        (dispute, confirm)
                    };
                    // Weight that brings the believed side to the verdict threshold:
                    // right' / (right' + wrong) >= t  ⇔  right' >= wrong·t / (1 − t).
                    let needed = (wrong * threshold).div_ceil((u128::from(BPS) - threshold).max(1));
                    let shortfall = needed.saturating_sub(right);
                    if sure && shortfall > 0 && lead != Some(belief) {
                        // Stake = weight / score (score in 0–100).
                        let cover = u64::try_from((shortfall + 1) * 100 / u128::from(score))
                            .unwrap_or(u64::MAX);
                        (belief, cover.min(share_of(sc.honest.counter_share_bps)).max(normal))
                    } else {
                        (belief, normal)
                    }
                }
                Decide::FollowLead => match lead {
                    Some(s) => (s, share_of(sc.lazy.attest_share_bps)),
                    None => continue,
                },
            };
            let stake = stake.max(min);
            if stake > free {
                continue;
            }
            b.free.insert(plan.agent, free - stake);
            let weight = u128::from(stake) * u128::from(score) / 100;
            let entry = b.tally.entry(plan.report).or_default();
            match stance {
                Stance::Confirm => entry.0 += weight,
                Stance::Dispute => entry.1 += weight,
            }
            b.push(
                self,
                plan.agent,
                TxBody::Attest { report: plan.report, stance, stake: Amount(stake) },
            );
        }
    }

    /// Escalated reports go to a vote: a steward (an honest attester, in turn) proposes the
    /// truth; voters vote as their strategy says.
    fn govern(&mut self, h: u64, b: &mut Batch) {
        for report in std::mem::take(&mut self.to_propose) {
            let Some(f) = self.filed.get(&report) else { continue };
            let confirm = f.truth;
            let steward =
                self.roster.honest_attesters[self.stewards % self.roster.honest_attesters.len()];
            self.stewards += 1;
            b.push(
                self,
                steward,
                TxBody::Propose {
                    action: ProposalAction::ResolveReport { report, confirm },
                    description: "resolve an escalated report".into(),
                    not_before: None,
                },
            );
        }
        let Some(votes) = self.votes.remove(&h) else { return };
        for v in votes {
            let Some(p) = self.ledger.state().proposal(v.proposal) else { continue };
            if h > p.voting_ends {
                continue;
            }
            let choice = match v.choice {
                Some(c) => c,
                None if p.tally.yes > p.tally.no => VoteChoice::Yes,
                None if p.tally.no > p.tally.yes => VoteChoice::No,
                None => continue,
            };
            let bonded = self
                .ledger
                .account(&self.roster.agents[v.agent].id)
                .map_or(0, |a| a.state.bonded.0);
            if bonded == 0 {
                continue;
            }
            b.push(self, v.agent, TxBody::Vote { proposal: v.proposal, choice });
        }
    }

    /// Exploits drain every protocol whose breaker the committed block left armed.
    fn drain(&mut self, h: u64) {
        let per_block: Vec<u128> = self
            .scenario
            .protocols
            .iter()
            .map(|p| {
                u128::from(p.tvl) * UNIT * u128::from(self.scenario.attacks.drain_bps)
                    / u128::from(BPS)
            })
            .collect();
        for i in 0..self.strikes.len() {
            let p = self.schedule.strikes[i].protocol;
            if self.strikes[i].phase != Phase::Live || self.schedule.strikes[i].start > h {
                continue;
            }
            if self.tripped(p) {
                continue;
            }
            let st = &mut self.strikes[i];
            let take = per_block[p].min(st.left);
            st.left -= take;
            st.loss += take;
            if st.corrupted {
                st.loss_after_bribe += take;
            }
            if st.left == 0 {
                st.phase = Phase::Over;
            }
        }
    }
}

fn pick<'r, T>(rng: &mut Stream, from: &'r [T]) -> Option<&'r T> {
    from.get(rng.below(from.len() as u64) as usize)
}

fn signed(
    roster: &Roster,
    ledger: &Ledger<SimStore>,
    nonces: &mut BTreeMap<usize, u64>,
    agent: usize,
    body: TxBody,
) -> SignedTx {
    let a = &roster.agents[agent];
    let nonce = nonces.entry(agent).or_insert_with(|| ledger.next_nonce(&a.id));
    let tx =
        vigil_core::Tx { chain_id: chain_id(), signer: a.id, nonce: *nonce, body }.sign(&a.key);
    *nonce += 1;
    tx
}

impl Batch {
    fn new() -> Self {
        Self {
            txs: Vec::new(),
            nonce: BTreeMap::new(),
            free: BTreeMap::new(),
            score: BTreeMap::new(),
            balance: BTreeMap::new(),
            tally: BTreeMap::new(),
        }
    }

    fn push(&mut self, world: &World<'_>, agent: usize, body: TxBody) {
        let tx = signed(world.roster, &world.ledger, &mut self.nonce, agent, body);
        self.txs.push(tx);
    }

    fn free(&mut self, ledger: &Ledger<SimStore>, agent: usize, id: vigil_core::AccountId) -> u64 {
        *self.free.entry(agent).or_insert_with(|| ledger.account(&id).map_or(0, |a| a.free_stake.0))
    }

    fn score(&mut self, ledger: &Ledger<SimStore>, agent: usize, id: vigil_core::AccountId) -> u8 {
        *self
            .score
            .entry(agent)
            .or_insert_with(|| ledger.account(&id).map_or(50, |a| a.reputation_score))
    }

    /// Spends `amount` of the agent's liquid balance, if it has it.
    fn spend(
        &mut self,
        ledger: &Ledger<SimStore>,
        agent: usize,
        id: vigil_core::AccountId,
        amount: u64,
    ) -> bool {
        let balance = self
            .balance
            .entry(agent)
            .or_insert_with(|| ledger.account(&id).map_or(0, |a| a.state.balance.0));
        if *balance < amount {
            return false;
        }
        *balance -= amount;
        true
    }
}

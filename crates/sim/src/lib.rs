//! Agent-based simulation of Vigil's incentives, on the real ledger.
//!
//! `simulate` runs a [`Scenario`]: protocols with TVL and breakers, exploit campaigns that reuse
//! a pattern across protocols, monitors, honest, lazy and false reporters and attesters, a
//! colluding coalition, a Sybil swarm, bribes and corruptible guardians. Every agent acts only
//! by signing transactions into blocks of the real `vigil_ledger::Ledger` (in memory), and every
//! outcome — verdicts, slashing, rewards, reputation, breaker trips, the cost of corruption — is
//! the ledger's own, read back from its events and queries. There is no second model of the
//! rules to drift from the code.
//!
//! Invariants: a run is a pure function of (scenario, seed). Random draws come from seeded
//! ChaCha streams, one per purpose, and all bookkeeping is integer and ordered (`BTreeMap`), so
//! the same seed gives the same CSV files byte for byte. The sweep over sharing latencies
//! replays the same attack schedule (common random numbers).

mod attacks;
mod output;
mod plot;
mod random;
mod record;
mod roster;
mod scenario;
mod store;
mod summary;
mod world;

use std::path::Path;

pub use output::{OutputError, write_outputs};
pub use record::{
    Flow, Kind, MarginSample, Metrics, ProfitRow, ReportCounts, ReputationSample, StrikeOutcome,
    Trip, TripCause,
};
pub use roster::Strategy;
pub use scenario::{
    AttackConfig, BriberyConfig, CoalitionConfig, FalseReporterConfig, HonestConfig, LazyConfig,
    MonitorConfig, ProtocolConfig, Scenario, ScenarioError, SharingConfig, SybilConfig,
};
pub use world::{RunError, RunSettings};

/// The three scenarios shipped with Vigil, by name: their TOML text.
pub const SHIPPED: [(&str, &str); 3] = [
    ("baseline", include_str!("../scenarios/baseline.toml")),
    ("adversarial-33", include_str!("../scenarios/adversarial-33.toml")),
    ("sybil", include_str!("../scenarios/sybil.toml")),
];

/// Expected loss at one sharing setting.
#[derive(Clone, Debug)]
pub struct SweepPoint {
    /// Sharing latency in blocks; `None`: no sharing.
    pub sharing: Option<u64>,
    /// Strikes in the run.
    pub strikes: u64,
    /// Strikes caught at all.
    pub caught: u64,
    /// Strikes caught through another protocol's report.
    pub caught_shared: u64,
    /// Strikes paused before anything was lost.
    pub ahead: u64,
    /// Strikes whose guardians were bribed.
    pub corrupted: u64,
    /// Drained in total, base units.
    pub loss: u128,
    /// Of which drained after bribed guardians re-armed a breaker.
    pub loss_after_bribe: u128,
}

impl SweepPoint {
    fn of(sharing: Option<u64>, m: &Metrics) -> Self {
        let count =
            |f: fn(&StrikeOutcome) -> bool| m.strikes.iter().filter(|s| f(s)).count() as u64;
        Self {
            sharing,
            strikes: m.strikes.len() as u64,
            caught: count(|s| s.detected),
            caught_shared: count(|s| s.shared),
            ahead: count(|s| s.ahead),
            corrupted: count(|s| s.corrupted),
            loss: m.total_loss(),
            loss_after_bribe: m.strikes.iter().map(|s| s.loss_after_bribe).sum(),
        }
    }

    /// Expected loss per strike, base units (rounded down).
    pub fn expected_loss(&self) -> u128 {
        self.loss.checked_div(u128::from(self.strikes)).unwrap_or(0)
    }
}

/// A finished simulation: the main run in full and the loss of every sweep run.
pub struct Simulation {
    /// The scenario.
    pub scenario: Scenario,
    /// The seed.
    pub seed: u64,
    /// The main run's measurements.
    pub main: Metrics,
    /// The main run's sharing setting.
    pub main_sharing: Option<u64>,
    /// Loss without sharing and at each latency of the sweep.
    pub sweep: Vec<SweepPoint>,
    /// The main run's per-protocol security at the end, from the ledger.
    pub security: Vec<vigil_ledger::SecurityReport>,
    /// Blocks run in the main run.
    pub blocks: u64,
}

/// Progress of a simulation, for a progress bar.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Run index (0: main run), of `runs`.
    pub run: usize,
    /// Runs in total.
    pub runs: usize,
    /// Height reached in this run.
    pub height: u64,
}

/// Runs one scenario with one sharing setting and returns what it measured, with the ledger's
/// final security reports.
pub fn run_once(
    scenario: &Scenario,
    seed: u64,
    settings: RunSettings,
    mut on_block: impl FnMut(u64),
) -> Result<(Metrics, Vec<vigil_ledger::SecurityReport>), RunError> {
    let roster = roster::Roster::new(scenario);
    let schedule = attacks::Schedule::draw(scenario, seed);
    let mut world = world::World::new(scenario, &roster, &schedule, seed, settings)?;
    while world.ledger().height() < scenario.blocks {
        world.step()?;
        on_block(world.ledger().height());
    }
    world.finish();
    let security = scenario
        .protocols
        .iter()
        .filter_map(|p| world.ledger().security(&p.name.parse().ok()?))
        .collect();
    Ok((world.metrics, security))
}

/// Runs the main run (the scenario's sharing setting, sampled) and the sweep: no sharing and
/// every latency of `sharing.sweep`, each a whole run on the same seed.
pub fn simulate(
    scenario: &Scenario,
    seed: u64,
    mut progress: impl FnMut(Progress),
) -> Result<Simulation, RunError> {
    let main_sharing = scenario.sharing.enabled.then_some(scenario.sharing.latency);
    let mut settings: Vec<Option<u64>> = vec![None];
    settings.extend(scenario.sharing.sweep.iter().map(|l| Some(*l)));
    settings.sort_unstable();
    settings.dedup();
    let others: Vec<Option<u64>> =
        settings.iter().copied().filter(|s| *s != main_sharing).collect();
    let runs = 1 + others.len();
    let (main, security) =
        run_once(scenario, seed, RunSettings { sharing: main_sharing, sample: true }, |height| {
            progress(Progress { run: 0, runs, height })
        })?;
    let mut sweep = vec![SweepPoint::of(main_sharing, &main)];
    for (i, sharing) in others.into_iter().enumerate() {
        let (m, _) = run_once(scenario, seed, RunSettings { sharing, sample: false }, |height| {
            progress(Progress { run: i + 1, runs, height })
        })?;
        sweep.push(SweepPoint::of(sharing, &m));
    }
    sweep.sort_by_key(|p| p.sharing.map_or((1, 0), |l| (0, l)));
    Ok(Simulation {
        scenario: scenario.clone(),
        seed,
        main,
        main_sharing,
        sweep,
        security,
        blocks: scenario.blocks,
    })
}

/// Runs `simulate` and writes its CSV files, SVG plots and `summary.md` into `dir`.
pub fn simulate_to(
    scenario: &Scenario,
    seed: u64,
    dir: &Path,
    progress: impl FnMut(Progress),
) -> Result<Simulation, SimError> {
    let sim = simulate(scenario, seed, progress)?;
    write_outputs(&sim, dir)?;
    Ok(sim)
}

/// A simulation failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The ledger refused a block.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The outputs could not be written.
    #[error(transparent)]
    Output(#[from] OutputError),
}

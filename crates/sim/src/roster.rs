//! Who takes part: every simulated account with its key, its strategy and what it starts with,
//! and the genesis that funds them.

use vigil_core::{AccountId, Amount, ChainId, Keypair};
use vigil_ledger::{BPS, Genesis, GenesisAccount};

use crate::scenario::Scenario;

/// How an account behaves; profit is reported per strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strategy {
    /// Files true reports.
    HonestReporter,
    /// Checks, then attests what it believes (and votes on escalations).
    HonestAttester,
    /// Copies the side that leads.
    LazyAttester,
    /// Re-files a public feed's entries without checking them.
    LazyReporter,
    /// Files false reports alone.
    FalseReporter,
    /// The coalition: false reports, confirms its own, disputes true ones, bribes.
    Colluding,
    /// The Sybil swarm: the coalition's play over many small stakes.
    Sybil,
    /// A protocol's guardian (may be bribed).
    Guardian,
    /// A protocol's monitor (trips its breaker on the fast path).
    Monitor,
    /// A protocol's owner (registers it).
    Owner,
}

impl Strategy {
    /// The name in CSV files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HonestReporter => "honest-reporter",
            Self::HonestAttester => "honest-attester",
            Self::LazyAttester => "lazy-attester",
            Self::LazyReporter => "lazy-reporter",
            Self::FalseReporter => "false-reporter",
            Self::Colluding => "colluding",
            Self::Sybil => "sybil",
            Self::Guardian => "guardian",
            Self::Monitor => "monitor",
            Self::Owner => "owner",
        }
    }
}

/// One account.
pub struct Agent {
    /// Its key.
    pub key: Keypair,
    /// Its id.
    pub id: AccountId,
    /// Its strategy.
    pub strategy: Strategy,
    /// Liquid balance at genesis, VGL.
    pub balance: u64,
    /// Bonded stake at genesis, VGL.
    pub bonded: u64,
}

/// Every account, by role (indices into `agents`).
pub struct Roster {
    /// All accounts.
    pub agents: Vec<Agent>,
    /// Honest reporters.
    pub honest_reporters: Vec<usize>,
    /// Honest attesters.
    pub honest_attesters: Vec<usize>,
    /// Lazy attesters.
    pub lazy: Vec<usize>,
    /// Lazy reporters.
    pub lazy_reporters: Vec<usize>,
    /// Lone false reporters.
    pub false_reporters: Vec<usize>,
    /// Coalition members; the first also pays bribes.
    pub coalition: Vec<usize>,
    /// Sybil accounts.
    pub sybils: Vec<usize>,
    /// Per protocol: its guardians.
    pub guardians: Vec<Vec<usize>>,
    /// Per protocol: its monitor.
    pub monitors: Vec<usize>,
    /// Per protocol: its owner.
    pub owners: Vec<usize>,
}

/// The simulated chain's id.
pub fn chain_id() -> ChainId {
    "vigil-sim".parse().expect("a valid chain id")
}

impl Roster {
    /// The accounts of `scenario`. Keys are derived from the account's index, so the roster
    /// is the same for every seed.
    pub fn new(scenario: &Scenario) -> Self {
        let mut r = Roster {
            agents: Vec::new(),
            honest_reporters: Vec::new(),
            honest_attesters: Vec::new(),
            lazy: Vec::new(),
            lazy_reporters: Vec::new(),
            false_reporters: Vec::new(),
            coalition: Vec::new(),
            sybils: Vec::new(),
            guardians: Vec::new(),
            monitors: Vec::new(),
            owners: Vec::new(),
        };
        let honest = &scenario.honest;
        for _ in 0..honest.reporters {
            let i = r.add(Strategy::HonestReporter, 10_000, 0);
            r.honest_reporters.push(i);
        }
        for _ in 0..honest.attesters {
            let i = r.add(Strategy::HonestAttester, 1_000, honest.stake);
            r.honest_attesters.push(i);
        }
        for _ in 0..scenario.lazy.attesters {
            let i = r.add(Strategy::LazyAttester, 1_000, scenario.lazy.stake);
            r.lazy.push(i);
        }
        for _ in 0..scenario.lazy.reporters {
            let i = r.add(Strategy::LazyReporter, 10_000, 0);
            r.lazy_reporters.push(i);
        }
        for _ in 0..scenario.false_reporters.reporters {
            let i = r.add(Strategy::FalseReporter, scenario.false_reporters.balance, 0);
            r.false_reporters.push(i);
        }
        for p in &scenario.protocols {
            let owner = r.add(Strategy::Owner, 1_000, 0);
            r.owners.push(owner);
            let monitor = r.add(Strategy::Monitor, 1_000, scenario.monitors.stake);
            r.monitors.push(monitor);
            let guardians = (0..p.guardians)
                .map(|_| r.add(Strategy::Guardian, 1_000, p.guardian_stake))
                .collect();
            r.guardians.push(guardians);
        }
        for _ in 0..scenario.sybil.accounts {
            let i = r.add(Strategy::Sybil, 1_000, scenario.sybil.stake);
            r.sybils.push(i);
        }
        // The coalition's stake is a share of all bonded stake, the swarm's included: with
        // share s of the total, it holds s / (1 − s) times what everyone else bonds.
        let share = u128::from(scenario.coalition.stake_share_bps);
        if share > 0 {
            let sybil: u128 = r.sybils.iter().map(|&i| u128::from(r.agents[i].bonded)).sum();
            let others: u128 = r.agents.iter().map(|a| u128::from(a.bonded)).sum::<u128>() - sybil;
            let total_adversary = others * share / (u128::from(BPS) - share);
            let own = total_adversary.saturating_sub(sybil);
            let members = u128::from(scenario.coalition.members.max(1));
            let each = u64::try_from(own / members).unwrap_or(u64::MAX / 4);
            for m in 0..members {
                // Liquid funds for report bonds; the first member also holds the bribe fund.
                let fund =
                    if m == 0 && scenario.bribery.enabled { scenario.bribery.budget } else { 0 };
                let i = r.add(Strategy::Colluding, 100_000 + fund, each.max(1));
                r.coalition.push(i);
            }
        }
        r
    }

    fn add(&mut self, strategy: Strategy, balance: u64, bonded: u64) -> usize {
        let index = self.agents.len();
        let mut seed = [0u8; 32];
        seed[..4].copy_from_slice(b"sim/");
        seed[4..12].copy_from_slice(&(index as u64).to_le_bytes());
        let key = Keypair::from_seed(&seed);
        let id = key.account_id();
        self.agents.push(Agent { key, id, strategy, balance, bonded });
        index
    }

    /// The genesis funding every account.
    pub fn genesis(&self, scenario: &Scenario) -> Genesis {
        Genesis {
            chain_id: chain_id(),
            genesis_time: 0,
            params: scenario.params.clone(),
            treasury: Amount::ZERO,
            reward_pool: Amount::vgl(scenario.reward_pool),
            accounts: self
                .agents
                .iter()
                .enumerate()
                .map(|(i, a)| GenesisAccount {
                    account: a.id,
                    balance: Amount::vgl(a.balance),
                    bonded: Amount::vgl(a.bonded),
                    // A few honest attesters run the (simulated) chain.
                    validator: self.honest_attesters.iter().take(4).any(|&h| h == i),
                })
                .collect(),
        }
    }

    /// Every honest account that checks reports and attests: honest attesters and guardians.
    pub fn checkers(&self) -> impl Iterator<Item = usize> + '_ {
        self.honest_attesters.iter().chain(self.guardians.iter().flatten()).copied()
    }

    /// Every account that votes on escalated reports, with the side it takes: honest accounts
    /// vote for the truth, the coalition against it, lazy attesters with the lead.
    pub fn voters(&self) -> impl Iterator<Item = usize> + '_ {
        self.honest_attesters
            .iter()
            .chain(self.lazy.iter())
            .chain(self.coalition.iter())
            .chain(self.monitors.iter())
            .chain(self.guardians.iter().flatten())
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coalition_holds_its_share_of_all_bonded_stake() {
        let mut scenario = Scenario::default();
        scenario.coalition.stake_share_bps = 3_300;
        scenario.sybil.accounts = 50;
        scenario.sybil.stake = 10_000;
        let r = Roster::new(&scenario);
        let bonded = |s: Strategy| -> u128 {
            r.agents.iter().filter(|a| a.strategy == s).map(|a| u128::from(a.bonded)).sum()
        };
        let total: u128 = r.agents.iter().map(|a| u128::from(a.bonded)).sum();
        let adversary = bonded(Strategy::Colluding) + bonded(Strategy::Sybil);
        let share = adversary * 10_000 / total;
        assert!((3_299..=3_300).contains(&share), "adversary holds {share} bps");
        let ids: std::collections::BTreeSet<_> = r.agents.iter().map(|a| a.id).collect();
        assert_eq!(ids.len(), r.agents.len(), "every account has its own key");
    }
}

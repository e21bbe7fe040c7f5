//! Exploit campaigns, drawn before the run: which pattern strikes which protocol when, and how
//! long each protocol's own monitor takes to catch it. Drawn up front from their own stream, so
//! every run of a sweep faces the same attacks.

use vigil_core::{B256, EvmAddress};

use crate::random::Stream;
use crate::scenario::Scenario;

/// One exploit pattern reused across protocols.
pub struct Campaign {
    /// Code hash of the exploit contract: the indicator a detection shares.
    pub code_hash: B256,
    /// The attacker's address.
    pub attacker: EvmAddress,
}

/// One strike of a campaign on one protocol.
#[derive(Clone, Debug)]
pub struct Strike {
    /// Its campaign.
    pub campaign: usize,
    /// The protocol (index in the scenario).
    pub protocol: usize,
    /// First block of the exploit.
    pub start: u64,
    /// Blocks until the protocol's own monitor catches it, `None` when it never does.
    pub own_delay: Option<u64>,
    /// Blocks until the monitor catches it again after corrupted guardians re-arm the breaker.
    pub again_delay: u64,
}

/// The whole schedule.
pub struct Schedule {
    /// The patterns.
    pub campaigns: Vec<Campaign>,
    /// Every strike, by start height.
    pub strikes: Vec<Strike>,
}

impl Schedule {
    /// Draws the schedule of `scenario` from `seed`.
    pub fn draw(scenario: &Scenario, seed: u64) -> Self {
        let mut rng = Stream::new(seed, "attacks");
        let a = &scenario.attacks;
        let m = &scenario.monitors;
        let n = scenario.protocols.len();
        let mut campaigns = Vec::new();
        let mut strikes = Vec::new();
        // Campaigns start spread over the run and leave room for their strikes.
        let span = scenario
            .blocks
            .saturating_sub(a.gap_max.saturating_mul(u64::from(a.targets_per_campaign)));
        for c in 0..a.campaigns as usize {
            let code_hash = B256(rng.bytes32());
            let mut addr = [0u8; 20];
            addr.copy_from_slice(&rng.bytes32()[..20]);
            campaigns.push(Campaign { code_hash, attacker: EvmAddress(addr) });
            let mut at = 1 + rng.below(span.max(1));
            let order = rng.permutation(n);
            for &protocol in order.iter().take(a.targets_per_campaign as usize) {
                let own_delay =
                    rng.chance(m.detect_bps).then(|| rng.between(m.latency_min, m.latency_max));
                let again_delay = rng.between(m.latency_min, m.latency_max).max(1);
                strikes.push(Strike { campaign: c, protocol, start: at, own_delay, again_delay });
                at = at.saturating_add(rng.between(a.gap_min, a.gap_max));
            }
        }
        strikes.sort_by_key(|s| (s.start, s.campaign, s.protocol));
        Self { campaigns, strikes }
    }
}

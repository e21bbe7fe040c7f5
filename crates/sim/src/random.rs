//! Seeded random streams, one per purpose.
//!
//! Each purpose (the attack schedule, attesters' choices, report filing, …) draws from its own
//! ChaCha8 stream derived from the seed and the purpose's name, so a change in how often one
//! purpose draws (another sharing latency, say) never shifts what another draws. Runs of a sweep
//! therefore face the same attacks with the same detection delays: common random numbers, so
//! differences between runs come from the setting, not from luck.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use vigil_ledger::BPS;

/// One purpose's stream.
pub struct Stream(ChaCha8Rng);

impl Stream {
    /// The stream of `purpose` under `seed`.
    pub fn new(seed: u64, purpose: &str) -> Self {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        for (i, b) in purpose.bytes().take(24).enumerate() {
            key[8 + i] = b;
        }
        Self(ChaCha8Rng::from_seed(key))
    }

    /// Uniform in `0..n` (0 when `n` is 0), without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.0.next_u64();
            if v < zone {
                return v % n;
            }
        }
    }

    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo).saturating_add(1))
    }

    /// True with probability `bps` / 10,000.
    pub fn chance(&mut self, bps: u32) -> bool {
        self.below(u64::from(BPS)) < u64::from(bps)
    }

    /// Events this block at a rate of `per_kblock` per 1,000 blocks: the whole part, plus one
    /// more with the fractional part's probability.
    pub fn count(&mut self, per_kblock: u32) -> u32 {
        let whole = per_kblock / 1_000;
        let frac = per_kblock % 1_000;
        whole + u32::from(self.below(1_000) < u64::from(frac))
    }

    /// 32 random bytes.
    pub fn bytes32(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        self.0.fill_bytes(&mut out);
        out
    }

    /// A random permutation of `0..n` (Fisher–Yates).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let a: Vec<u64> = (0..5).map(|_| Stream::new(7, "x").below(1000)).collect();
        let mut s = Stream::new(7, "x");
        let b: Vec<u64> = (0..5).map(|_| s.below(1000)).collect();
        assert_eq!(a, vec![a[0]; 5], "a fresh stream starts in the same place");
        assert_eq!(b[0], a[0]);
        assert_ne!(Stream::new(7, "x").bytes32(), Stream::new(7, "y").bytes32());
        assert_ne!(Stream::new(7, "x").bytes32(), Stream::new(8, "x").bytes32());
    }

    #[test]
    fn below_stays_in_range_and_chance_respects_bounds() {
        let mut s = Stream::new(1, "t");
        assert!((0..1000).all(|_| s.below(3) < 3));
        assert!((0..1000).all(|_| !s.chance(0)));
        assert!((0..1000).all(|_| s.chance(BPS)));
        let mut p = s.permutation(10);
        p.sort_unstable();
        assert_eq!(p, (0..10).collect::<Vec<_>>());
    }
}

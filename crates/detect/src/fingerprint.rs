//! Attack fingerprints: the shape of a transaction's call tree with its addresses taken out, so
//! that the same exploit matches when it is run against another deployment, by another
//! attacker, through a freshly deployed copy of the attack contract.
//!
//! A fingerprint is the tree's frames in call order, each a [`Step`]: the call kind, the
//! selector, the depth, *which* address it targets — the sender, or the n-th distinct address
//! the tree has touched so far (addresses are numbered in order of first appearance, so two
//! trees that touch different addresses in the same pattern get the same numbers) — whether
//! it succeeded, the wei it sends as a power-of-ten bucket, and for an ERC-20 `transfer` or
//! `transferFrom` the direction of the tokens relative to the frame's caller.
//!
//! Two fingerprints are compared by the longest common subsequence of their steps (a step
//! matches when everything but the value bucket is equal and the buckets are within one of each
//! other), as `2·LCS / (|a| + |b|)`: 1.0 for the same shape, lower as steps are added, dropped
//! or changed. An [`FingerprintIndex`] holds many fingerprints and finds those similar to a
//! transaction's: it first counts, through an inverted index, how many of each fingerprint's
//! distinct selectors the transaction calls, and compares only those that share enough of them
//! to reach the threshold at all.
//!
//! Nothing here reads a clock or iterates a hash map in an order that matters: the same trees
//! give the same fingerprints and the same matches on every node.

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};
use vigil_core::{EvmAddress, Selector};

use crate::trace::{CallFrame, CallKind};

/// Steps kept of one tree: a longer tree is cut (its first steps are the attack's setup and
/// core; a fingerprint is bounded in size and in comparison cost).
pub const MAX_STEPS: usize = 256;

/// `transfer(address,uint256)`.
const TRANSFER: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];
/// `transferFrom(address,address,uint256)`.
const TRANSFER_FROM: [u8; 4] = [0x23, 0xb8, 0x72, 0xdd];

/// Which way tokens move in an ERC-20 transfer frame, seen from the frame's caller.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// Not a token transfer.
    None,
    /// The tokens go to the caller.
    In,
    /// The tokens leave the caller.
    Out,
    /// Between two others (a `transferFrom` on someone else's allowance).
    Between,
}

/// One frame of a fingerprint.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Hash, Serialize, Deserialize)]
pub struct Step {
    /// The call kind.
    pub kind: CallKind,
    /// The selector called, if any.
    pub selector: Option<Selector>,
    /// Depth in the tree (0 for the top-level call), capped at 255.
    pub depth: u8,
    /// The target: 0 is the transaction's sender, n the n-th distinct other address the tree
    /// touched (in order of first appearance), `u16::MAX` none (a failed creation).
    pub target: u16,
    /// Whether the frame succeeded.
    pub ok: bool,
    /// Wei sent, as the number of decimal digits (0 for none).
    pub value: u8,
    /// Token direction of an ERC-20 transfer.
    pub flow: Flow,
}

impl Step {
    /// Whether `self` and `other` are the same step, up to one decade of value.
    fn matches(&self, other: &Step) -> bool {
        self.kind == other.kind
            && self.selector == other.selector
            && self.depth == other.depth
            && self.target == other.target
            && self.ok == other.ok
            && self.flow == other.flow
            && self.value.abs_diff(other.value) <= 1
    }
}

/// The address-free shape of a call tree.
#[derive(Clone, PartialEq, Eq, Debug, Hash, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The steps, in call order.
    pub steps: Vec<Step>,
}

/// The number of decimal digits of `value` (0 for zero).
fn decades(value: U256) -> u8 {
    if value.is_zero() {
        return 0;
    }
    u8::try_from(value.to_string().len()).unwrap_or(u8::MAX)
}

/// The address in the 32-byte ABI word at `word` of `args`, if there is one.
fn address_arg(args: &[u8], word: usize) -> Option<EvmAddress> {
    let start = word.checked_mul(32)?;
    let bytes = args.get(start + 12..start + 32)?;
    let mut a = [0u8; 20];
    a.copy_from_slice(bytes);
    Some(EvmAddress(a))
}

fn flow_of(frame: &CallFrame) -> Flow {
    let Some(selector) = frame.selector() else { return Flow::None };
    let args = frame.input.get(4..).unwrap_or_default();
    let caller = frame.from;
    match selector.0 {
        TRANSFER => match address_arg(args, 0) {
            Some(to) if to == caller => Flow::In,
            Some(_) => Flow::Out,
            None => Flow::None,
        },
        TRANSFER_FROM => match (address_arg(args, 0), address_arg(args, 1)) {
            (Some(_), Some(to)) if to == caller => Flow::In,
            (Some(from), Some(_)) if from == caller => Flow::Out,
            (Some(_), Some(_)) => Flow::Between,
            _ => Flow::None,
        },
        _ => Flow::None,
    }
}

impl Fingerprint {
    /// The fingerprint of the tree under `root` (the sender is `root.from`).
    pub fn of(root: &CallFrame) -> Self {
        let mut numbers: BTreeMap<EvmAddress, u16> = BTreeMap::new();
        numbers.insert(root.from, 0);
        let mut steps = Vec::new();
        let mut stack = vec![(root, 0u8)];
        while let Some((frame, depth)) = stack.pop() {
            if steps.len() >= MAX_STEPS {
                break;
            }
            let target = match frame.to {
                Some(to) => {
                    let next = u16::try_from(numbers.len()).unwrap_or(u16::MAX - 1);
                    *numbers.entry(to).or_insert(next)
                }
                None => u16::MAX,
            };
            steps.push(Step {
                kind: frame.kind,
                selector: frame.selector(),
                depth,
                target,
                ok: frame.succeeded(),
                value: decades(frame.value),
                flow: flow_of(frame),
            });
            let child_depth = depth.saturating_add(1);
            stack.extend(frame.calls.iter().rev().map(|c| (c, child_depth)));
        }
        Self { steps }
    }

    /// The distinct selectors it calls.
    pub fn selectors(&self) -> BTreeSet<Selector> {
        self.steps.iter().filter_map(|s| s.selector).collect()
    }

    /// Similarity with `other`: `2·LCS / (|self| + |other|)`, from 0.0 to 1.0.
    pub fn similarity(&self, other: &Fingerprint) -> f64 {
        let (a, b) = (&self.steps, &other.steps);
        if a.is_empty() && b.is_empty() {
            return 1.0;
        }
        // One row of the LCS table at a time.
        let mut prev = vec![0u16; b.len() + 1];
        let mut row = vec![0u16; b.len() + 1];
        for x in a {
            for (j, y) in b.iter().enumerate() {
                row[j + 1] = if x.matches(y) { prev[j] + 1 } else { row[j].max(prev[j + 1]) };
            }
            std::mem::swap(&mut prev, &mut row);
        }
        let lcs = f64::from(prev[b.len()]);
        2.0 * lcs / (a.len() + b.len()) as f64
    }
}

/// A fingerprint that matched, and how well.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct FingerprintMatch {
    /// Its position in the index (the order it was added).
    pub id: usize,
    /// Its similarity with the transaction's fingerprint.
    pub similarity: f64,
}

/// Many fingerprints, matched against one transaction at a time.
#[derive(Clone, Debug, Default)]
pub struct FingerprintIndex {
    fingerprints: Vec<(Fingerprint, usize)>,
    by_selector: BTreeMap<Selector, Vec<usize>>,
    /// Fingerprints with no selector at all (plain transfers, creations), compared always.
    unkeyed: Vec<usize>,
}

impl FingerprintIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `fingerprint`; returns its id.
    pub fn add(&mut self, fingerprint: Fingerprint) -> usize {
        let id = self.fingerprints.len();
        let selectors = fingerprint.selectors();
        if selectors.is_empty() {
            self.unkeyed.push(id);
        }
        for s in &selectors {
            self.by_selector.entry(*s).or_default().push(id);
        }
        self.fingerprints.push((fingerprint, selectors.len()));
        id
    }

    /// How many fingerprints it holds.
    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }

    /// The fingerprint with id `id`.
    pub fn get(&self, id: usize) -> Option<&Fingerprint> {
        self.fingerprints.get(id).map(|(f, _)| f)
    }

    /// The fingerprints at least `threshold` similar to `tx`, best first.
    ///
    /// A fingerprint whose distinct selectors the transaction mostly does not call cannot
    /// reach the threshold: it is skipped without being compared. (Each selector it lacks
    /// costs at least one step on each side.)
    pub fn matches(&self, tx: &Fingerprint, threshold: f64) -> Vec<FingerprintMatch> {
        let tx_selectors = tx.selectors();
        let mut shared: BTreeMap<usize, usize> = BTreeMap::new();
        for s in &tx_selectors {
            for id in self.by_selector.get(s).map(Vec::as_slice).unwrap_or_default() {
                *shared.entry(*id).or_default() += 1;
            }
        }
        let candidates = shared
            .into_iter()
            .filter(|(id, n)| {
                let (fp, distinct) = &self.fingerprints[*id];
                // Steps of the fingerprint whose selector the transaction never calls cannot
                // be in the common subsequence: bound the similarity by what remains.
                let missing = distinct - n;
                let best = (fp.steps.len() - missing.min(fp.steps.len())).min(tx.steps.len());
                2.0 * best as f64 / (fp.steps.len() + tx.steps.len()) as f64 >= threshold
            })
            .map(|(id, _)| id)
            .chain(self.unkeyed.iter().copied());
        let mut found: Vec<FingerprintMatch> = candidates
            .filter_map(|id| {
                let similarity = self.fingerprints[id].0.similarity(tx);
                (similarity >= threshold).then_some(FingerprintMatch { id, similarity })
            })
            .collect();
        found.sort_by(|a, b| b.similarity.total_cmp(&a.similarity).then(a.id.cmp(&b.id)));
        found
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::Bytes;

    use super::*;

    fn addr(n: u8) -> EvmAddress {
        EvmAddress([n; 20])
    }

    fn call(from: EvmAddress, to: EvmAddress, selector: [u8; 4], args: &[EvmAddress]) -> CallFrame {
        let mut input = selector.to_vec();
        for a in args {
            input.extend_from_slice(&[0; 12]);
            input.extend_from_slice(&a.0);
        }
        input.extend_from_slice(&[0; 31]);
        input.push(7);
        CallFrame::new(CallKind::Call, from, Some(to), Bytes::from(input))
    }

    /// A flash-loan drain: the attacker EOA calls its contract, which borrows from the pool,
    /// is called back, drains the vault, repays, and sends the profit home.
    fn exploit(eoa: u8, attack: u8, pool: u8, vault: u8, token: u8) -> CallFrame {
        let (eoa, attack, pool, vault, token) =
            (addr(eoa), addr(attack), addr(pool), addr(vault), addr(token));
        let mut callback = call(pool, attack, [0x10, 0xd1, 0xe8, 0x5c], &[]);
        callback.calls = vec![
            call(attack, vault, [0x2e, 0x1a, 0x7d, 0x4d], &[]),
            call(vault, token, TRANSFER, &[attack]),
            call(attack, token, TRANSFER, &[pool]),
        ];
        let mut loan = call(attack, pool, [0x5c, 0xff, 0xe9, 0xde], &[attack]);
        loan.calls = vec![call(pool, token, TRANSFER, &[attack]), callback];
        let mut root = call(eoa, attack, [0x61, 0x46, 0x19, 0x54], &[]);
        root.calls = vec![loan, call(attack, token, TRANSFER, &[eoa])];
        root
    }

    #[test]
    fn the_same_exploit_from_another_attacker_on_another_deployment_is_the_same_shape() {
        let a = Fingerprint::of(&exploit(1, 2, 3, 4, 5));
        let b = Fingerprint::of(&exploit(11, 12, 13, 14, 15));
        assert_eq!(a, b);
        assert_eq!(a.similarity(&b), 1.0);
        assert_eq!(a.steps.len(), 8);
        // The pool pays the loan to the attack contract: the tokens leave the frame's caller.
        assert_eq!(a.steps[2].flow, Flow::Out);
        assert_eq!(a.steps[0].target, 1);
    }

    #[test]
    fn a_changed_step_lowers_the_similarity_and_an_unrelated_tree_is_far() {
        let a = Fingerprint::of(&exploit(1, 2, 3, 4, 5));
        let mut changed = exploit(1, 2, 3, 4, 5);
        changed.calls.push(call(addr(2), addr(9), [0xde, 0xad, 0xbe, 0xef], &[]));
        let c = Fingerprint::of(&changed);
        let s = a.similarity(&c);
        assert!(s > 0.9 && s < 1.0, "{s}");
        let swap = Fingerprint::of(&call(addr(1), addr(2), [0x38, 0xed, 0x17, 0x39], &[]));
        assert!(a.similarity(&swap) < 0.3);
    }

    #[test]
    fn the_index_finds_similar_fingerprints_and_skips_those_without_the_selectors() {
        let mut index = FingerprintIndex::new();
        let drain = index.add(Fingerprint::of(&exploit(1, 2, 3, 4, 5)));
        for n in 0..1_000u32 {
            let s = n.to_be_bytes();
            index.add(Fingerprint::of(&call(addr(1), addr(2), s, &[])));
        }
        let seen = Fingerprint::of(&exploit(21, 22, 23, 24, 25));
        let found = index.matches(&seen, 0.8);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].id, found[0].similarity), (drain, 1.0));
        let benign = Fingerprint::of(&call(addr(1), addr(2), [0x38, 0xed, 0x17, 0x39], &[]));
        assert!(index.matches(&benign, 0.8).is_empty());
    }

    #[test]
    fn an_exploit_shape_matches_none_of_the_benign_mainnet_transactions() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/mev-inspect-blocks");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("skipped: {} is absent (it sits beside the checkout in CI)", dir.display());
            return;
        };
        let mut index = FingerprintIndex::new();
        index.add(Fingerprint::of(&exploit(1, 2, 3, 4, 5)));
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.retain(|p| p.extension().is_some_and(|x| x == "json"));
        files.sort();
        let (mut txs, mut matched) = (0usize, Vec::new());
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            for r in crate::replay::read(&text, vigil_core::EvmChainId(1)).unwrap() {
                let Some(trace) = &r.tx.trace else { continue };
                txs += 1;
                let fp = Fingerprint::of(&trace.root);
                assert!(fp.steps.len() <= MAX_STEPS);
                if !index.matches(&fp, 0.8).is_empty() {
                    matched.push(r.hash);
                }
            }
        }
        assert_eq!(txs, 5_762, "every traced transaction of the 27 blocks");
        assert!(matched.is_empty(), "benign transactions match the exploit: {matched:?}");
    }
}

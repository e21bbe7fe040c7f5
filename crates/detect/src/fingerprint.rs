//! Attack fingerprints ([`vigil_core::detection`]) computed from call trees, and an index that
//! matches a transaction against thousands of them.
//!
//! [`fingerprint`] walks a tree in call order and names each frame's target by its place on the
//! call stack (the sender, the caller itself, a contract above it, another), never by address,
//! so the same exploit run against another deployment, by another attacker, through a freshly
//! written copy of the attack contract, gives the same steps or nearly.
//!
//! A [`FingerprintIndex`] first counts, through an inverted index, how many of each
//! fingerprint's distinct selectors the transaction calls, and compares (by longest common
//! subsequence) only those that share enough of them to reach their threshold at all.
//!
//! Nothing here reads a clock or iterates a hash map in an order that matters: the same trees
//! give the same fingerprints and the same matches on every node.

use std::collections::BTreeMap;

use alloy_primitives::U256;
pub use vigil_core::detection::{Flow, MAX_FINGERPRINT_STEPS as MAX_STEPS, Step, Target};
use vigil_core::{EvmAddress, Fingerprint, Selector};

use crate::trace::CallFrame;

/// `transfer(address,uint256)`.
const TRANSFER: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];
/// `transferFrom(address,address,uint256)`.
const TRANSFER_FROM: [u8; 4] = [0x23, 0xb8, 0x72, 0xdd];

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

/// What `frame` (at `depth`, under the stack `path`: the sender, then the contract of each
/// enclosing frame) calls.
fn target_of(frame: &CallFrame, depth: usize, path: &[EvmAddress]) -> Target {
    let Some(to) = frame.to else { return Target::Nothing };
    if path.first() == Some(&to) {
        return Target::Sender;
    }
    if to == frame.from {
        return Target::Itself;
    }
    // path[depth] is the caller; path[1..depth] the contracts above it.
    let above = path.get(1..depth.min(path.len())).unwrap_or_default();
    match above.iter().rposition(|a| *a == to) {
        Some(i) => Target::Up(u8::try_from(depth - 1 - i).unwrap_or(u8::MAX)),
        None => Target::Other,
    }
}

/// The fingerprint of the tree under `root` (the sender is `root.from`), at the default
/// similarity threshold.
pub fn fingerprint(root: &CallFrame) -> Fingerprint {
    let mut steps = Vec::new();
    let mut path: Vec<EvmAddress> = vec![root.from];
    let mut stack = vec![(root, 0usize)];
    while let Some((frame, depth)) = stack.pop() {
        if steps.len() >= MAX_STEPS {
            break;
        }
        path.truncate(depth + 1);
        steps.push(Step {
            kind: frame.kind,
            // The entry point of the sender's own contract is whatever the attacker named it.
            selector: if depth == 0 { None } else { frame.selector() },
            depth: u8::try_from(depth).unwrap_or(u8::MAX),
            target: target_of(frame, depth, &path),
            ok: frame.succeeded(),
            value: decades(frame.value),
            flow: flow_of(frame),
        });
        path.push(frame.to.unwrap_or_default());
        stack.extend(frame.calls.iter().rev().map(|c| (c, depth + 1)));
    }
    Fingerprint::new(steps)
}

/// A fingerprint that matched, and how well.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct FingerprintMatch {
    /// Its position in the index (the order it was added).
    pub id: usize,
    /// Its similarity with the transaction's fingerprint.
    pub similarity: f64,
}

/// Selectors nearly every transaction calls (ERC-20 and WETH calls, pool reads): a
/// fingerprint is keyed by its other selectors first, so a transaction is compared only with
/// fingerprints of the protocols it touches.
const COMMON_SELECTORS: [[u8; 4]; 16] = [
    TRANSFER,
    TRANSFER_FROM,
    [0x09, 0x5e, 0xa7, 0xb3], // approve(address,uint256)
    [0x70, 0xa0, 0x82, 0x31], // balanceOf(address)
    [0xdd, 0x62, 0xed, 0x3e], // allowance(address,address)
    [0x18, 0x16, 0x0d, 0xdd], // totalSupply()
    [0x31, 0x3c, 0xe5, 0x67], // decimals()
    [0x95, 0xd8, 0x9b, 0x41], // symbol()
    [0x06, 0xfd, 0xde, 0x03], // name()
    [0xd0, 0xe3, 0x0d, 0xb0], // deposit()
    [0x2e, 0x1a, 0x7d, 0x4d], // withdraw(uint256)
    [0x09, 0x02, 0xf1, 0xac], // getReserves()
    [0x02, 0x2c, 0x0d, 0x08], // swap(uint256,uint256,address,bytes) (Uniswap V2 pair)
    [0x12, 0x8a, 0xcb, 0x08], // swap(address,bool,int256,uint160,bytes) (Uniswap V3 pool)
    [0xff, 0xf6, 0xca, 0xe9], // sync()
    [0x3c, 0x8a, 0x7d, 0x8d], // slot0()
];

/// The most steps a transaction may lack of a fingerprint of `len` steps and still reach
/// `threshold`: with `m` steps missing, the best similarity is `2(len−m)/(2len−m)`.
fn allowed_missing(len: usize, threshold: f64) -> usize {
    let bound = len as f64 * 2.0 * (1.0 - threshold) / (2.0 - threshold);
    // `floor`, less a hair so that rounding never lets a reachable fingerprint go unkeyed.
    (bound + 1e-9).floor() as usize
}

/// Everything of a step but its value bucket, packed: steps with different keys never match.
fn step_key(s: &Step) -> u64 {
    let target: u64 = match s.target {
        Target::Sender => 0,
        Target::Itself => 1,
        Target::Up(n) => 2 + u64::from(n.min(250)),
        Target::Other => 253,
        Target::Nothing => 254,
    };
    let selector = s.selector.map_or(0u64, |x| u64::from(u32::from_be_bytes(x.0)) + 1);
    let kind = s.kind as u64;
    let flow = s.flow as u64;
    (selector << 24)
        | (u64::from(s.depth) << 16)
        | (target << 8)
        | (kind << 4)
        | (flow << 1)
        | u64::from(s.ok)
}

/// The sorted step keys of `f`: the size of the multiset intersection of two bags bounds the
/// longest common subsequence of the fingerprints, at a fraction of its cost.
fn bag(f: &Fingerprint) -> Vec<u64> {
    let mut keys: Vec<u64> = f.steps.iter().map(step_key).collect();
    keys.sort_unstable();
    keys
}

/// The size of the multiset intersection of two sorted bags.
fn shared(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// One indexed fingerprint.
#[derive(Clone, Debug)]
struct Entry {
    fingerprint: Fingerprint,
    bag: Vec<u64>,
    threshold: f64,
}

/// Many fingerprints, matched against one transaction at a time.
///
/// Each fingerprint is filed under a few of its selectors, its *keys*, chosen so that a
/// transaction that calls none of them lacks too many of its steps to reach its threshold:
/// a transaction is compared only with the fingerprints filed under selectors it calls (and
/// the few that have no such keys).
#[derive(Clone, Debug, Default)]
pub struct FingerprintIndex {
    entries: Vec<Entry>,
    by_selector: BTreeMap<Selector, Vec<usize>>,
    /// Fingerprints whose selectors cannot key them (mostly plain transfers or creations),
    /// compared always.
    unkeyed: Vec<usize>,
}

impl FingerprintIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `fingerprint`; returns its id.
    pub fn add(&mut self, fingerprint: Fingerprint) -> usize {
        let id = self.entries.len();
        let threshold = f64::from(fingerprint.min_similarity) / 100.0;
        let mut counts: BTreeMap<Selector, usize> = BTreeMap::new();
        for s in fingerprint.steps.iter().filter_map(|s| s.selector) {
            *counts.entry(s).or_default() += 1;
        }
        // Uncommon selectors first, then those covering the most steps.
        let mut selectors: Vec<(Selector, usize)> = counts.into_iter().collect();
        selectors.sort_by_key(|(s, n)| (COMMON_SELECTORS.contains(&s.0), usize::MAX - n, *s));
        let must_cover = allowed_missing(fingerprint.steps.len(), threshold) + 1;
        let mut covered = 0;
        let mut keys = Vec::new();
        for (s, n) in selectors {
            if covered >= must_cover {
                break;
            }
            covered += n;
            keys.push(s);
        }
        if covered >= must_cover {
            for s in keys {
                self.by_selector.entry(s).or_default().push(id);
            }
        } else {
            self.unkeyed.push(id);
        }
        let bag = bag(&fingerprint);
        self.entries.push(Entry { fingerprint, bag, threshold });
        id
    }

    /// How many fingerprints it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The fingerprint with id `id`.
    pub fn get(&self, id: usize) -> Option<&Fingerprint> {
        self.entries.get(id).map(|e| &e.fingerprint)
    }

    /// The fingerprints `tx` comes close enough to (each by its own `min_similarity`), best
    /// first.
    pub fn matches(&self, tx: &Fingerprint) -> Vec<FingerprintMatch> {
        if self.entries.is_empty() {
            return Vec::new();
        }
        let mut candidates: Vec<usize> = self.unkeyed.clone();
        for s in &tx.selectors() {
            if let Some(ids) = self.by_selector.get(s) {
                candidates.extend_from_slice(ids);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let t = tx.steps.len();
        let mut tx_bag: Option<Vec<u64>> = None;
        let mut found: Vec<FingerprintMatch> = candidates
            .into_iter()
            .filter_map(|id| {
                let e = &self.entries[id];
                let len = e.fingerprint.steps.len();
                let reachable =
                    |common: usize| 2.0 * common as f64 / (len + t) as f64 >= e.threshold;
                // The lengths bound the similarity, then the steps the two have in common
                // (in any order); only then is the subsequence computed.
                if !reachable(len.min(t)) {
                    return None;
                }
                let tx_bag = tx_bag.get_or_insert_with(|| bag(tx));
                if !reachable(shared(&e.bag, tx_bag)) {
                    return None;
                }
                let similarity = e.fingerprint.similarity(tx);
                (similarity >= e.threshold).then_some(FingerprintMatch { id, similarity })
            })
            .collect();
        found.sort_by(|a, b| b.similarity.total_cmp(&a.similarity).then(a.id.cmp(&b.id)));
        found
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::Bytes;

    use vigil_core::CallKind;

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
        let a = fingerprint(&exploit(1, 2, 3, 4, 5));
        let b = fingerprint(&exploit(11, 12, 13, 14, 15));
        assert_eq!(a, b);
        assert_eq!(a.similarity(&b), 1.0);
        assert_eq!(a.steps.len(), 8);
        // The pool pays the loan to the attack contract: the tokens leave the frame's caller.
        assert_eq!(a.steps[2].flow, Flow::Out);
        assert_eq!(a.steps[0].target, Target::Other);
        // The pool calls the attack contract back: one level above the pool.
        assert_eq!(a.steps[3].target, Target::Up(1));
    }

    #[test]
    fn a_changed_step_lowers_the_similarity_and_an_unrelated_tree_is_far() {
        let a = fingerprint(&exploit(1, 2, 3, 4, 5));
        let mut changed = exploit(1, 2, 3, 4, 5);
        changed.calls.push(call(addr(2), addr(9), [0xde, 0xad, 0xbe, 0xef], &[]));
        let c = fingerprint(&changed);
        let s = a.similarity(&c);
        assert!(s > 0.9 && s < 1.0, "{s}");
        let swap = fingerprint(&call(addr(1), addr(2), [0x38, 0xed, 0x17, 0x39], &[]));
        assert!(a.similarity(&swap) < 0.3);
    }

    #[test]
    fn the_index_finds_similar_fingerprints_and_skips_those_without_the_selectors() {
        let mut index = FingerprintIndex::new();
        let drain = index.add(fingerprint(&exploit(1, 2, 3, 4, 5)));
        // A contract that makes one call, with a thousand different selectors.
        let one_call = |s: [u8; 4]| {
            let mut root = call(addr(1), addr(2), [0x61, 0x46, 0x19, 0x54], &[]);
            root.calls = vec![call(addr(2), addr(3), s, &[])];
            root
        };
        for n in 0..1_000u32 {
            index.add(fingerprint(&one_call(n.to_be_bytes())));
        }
        let seen = fingerprint(&exploit(21, 22, 23, 24, 25));
        let found = index.matches(&seen);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].id, found[0].similarity), (drain, 1.0));
        let benign = fingerprint(&one_call([0x38, 0xed, 0x17, 0x39]));
        assert!(index.matches(&benign).is_empty());
        assert_eq!(index.matches(&fingerprint(&one_call(7u32.to_be_bytes()))).len(), 1);
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
        // Stricter than the default threshold: below it, the exploit still matches none.
        let mut drain = fingerprint(&exploit(1, 2, 3, 4, 5));
        drain.min_similarity = 80;
        index.add(drain);
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.retain(|p| p.extension().is_some_and(|x| x == "json"));
        files.sort();
        let (mut txs, mut matched) = (0usize, Vec::new());
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            for r in crate::replay::read(&text, vigil_core::EvmChainId(1)).unwrap() {
                let Some(trace) = &r.tx.trace else { continue };
                txs += 1;
                let fp = fingerprint(&trace.root);
                assert!(fp.steps.len() <= MAX_STEPS);
                if !index.matches(&fp).is_empty() {
                    matched.push(r.hash);
                }
            }
        }
        assert_eq!(txs, 5_762, "every traced transaction of the 27 blocks");
        assert!(matched.is_empty(), "benign transactions match the exploit: {matched:?}");
    }
}

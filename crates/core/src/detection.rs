//! Detection content a report or an alert can carry besides indicators: attack fingerprints —
//! the address-free shape of an exploit's call tree — and CEL rule files. Indicators name what
//! an attacker used; detection content describes what the attack *does*, so it still matches
//! when the attacker comes back from a new address with a freshly deployed contract.
//!
//! A fingerprint is the tree's frames in call order, each a [`Step`]: the call kind, the
//! selector, the depth, *what* the frame calls relative to the call stack rather than by
//! address — the transaction's sender, the calling contract itself, a contract further up the
//! stack (a callback: the flash lender calling the borrower back), or another — whether it
//! succeeded, the wei it sends as a power-of-ten bucket, and for an ERC-20 `transfer` or
//! `transferFrom` the direction of the tokens relative to the frame's caller. The top-level
//! call's selector is left out: it is the entry point of the attacker's own contract, named as
//! the attacker likes. `vigil-detect` computes fingerprints from call trees and matches
//! transactions against them.
//!
//! Two fingerprints are compared by the longest common subsequence of their steps (a step
//! matches when everything but the value bucket is equal and the buckets are within one of
//! each other), as `2·LCS / (|a| + |b|)`: 1.0 for the same shape, lower as steps are added,
//! dropped or changed. The comparison is node-local (it decides what a node's detectors
//! raise), never part of the ledger's state.

use std::collections::BTreeSet;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::encoding::ContentId;
use crate::evm::Selector;

/// The id of a piece of detection content: the content id of its [`Detection`], the same in
/// every report, alert and STIX bundle that carries it.
pub type DetectionId = ContentId;

/// Most detection items one report or alert may carry.
pub const MAX_DETECTION: usize = 16;
/// Most steps of one fingerprint (a longer call tree is cut).
pub const MAX_FINGERPRINT_STEPS: usize = 256;
/// Fewest steps of a fingerprint: a call or two is the shape of half of all traffic.
pub const MIN_FINGERPRINT_STEPS: usize = 4;
/// Longest rule file, in bytes.
pub const MAX_RULES_BYTES: usize = 16 * 1024;
/// Most revocations one report may carry.
pub const MAX_REVOCATIONS: usize = 64;
/// The similarity a fingerprint asks for unless it says otherwise, in percent.
pub const DEFAULT_MIN_SIMILARITY: u8 = 85;
/// The lowest similarity a fingerprint may ask for, in percent: below it, unrelated
/// transactions that share a few common calls would match.
pub const LOWEST_MIN_SIMILARITY: u8 = 60;

/// What kind of frame a call is.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Debug,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallKind {
    /// `CALL`.
    Call,
    /// `STATICCALL`.
    StaticCall,
    /// `DELEGATECALL`: runs `to`'s code in `from`'s storage context.
    DelegateCall,
    /// `CALLCODE`: like `DELEGATECALL`, with its own value.
    CallCode,
    /// `CREATE`.
    Create,
    /// `CREATE2`.
    Create2,
    /// `SELFDESTRUCT`: `from` is destroyed, its balance (`value`) goes to `to`.
    SelfDestruct,
}

impl CallKind {
    /// Parses a tracer's name for it, in any case (`call`, `STATICCALL`, `delegateCall`,
    /// `suicide`, ...).
    pub fn parse(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        Some(match lower.as_str() {
            "call" => Self::Call,
            "staticcall" => Self::StaticCall,
            "delegatecall" => Self::DelegateCall,
            "callcode" => Self::CallCode,
            "create" => Self::Create,
            "create2" => Self::Create2,
            "selfdestruct" | "suicide" => Self::SelfDestruct,
            _ => return None,
        })
    }

    /// The opcode's name, as geth writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "CALL",
            Self::StaticCall => "STATICCALL",
            Self::DelegateCall => "DELEGATECALL",
            Self::CallCode => "CALLCODE",
            Self::Create => "CREATE",
            Self::Create2 => "CREATE2",
            Self::SelfDestruct => "SELFDESTRUCT",
        }
    }

    /// Whether it creates a contract.
    pub fn is_create(self) -> bool {
        matches!(self, Self::Create | Self::Create2)
    }

    /// Whether the callee's code runs in the caller's storage context.
    pub fn runs_in_caller_context(self) -> bool {
        matches!(self, Self::DelegateCall | Self::CallCode)
    }
}

/// Which way tokens move in an ERC-20 transfer frame, seen from the frame's caller.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Debug,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
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

/// What a frame calls, relative to the call stack.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Debug,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The transaction's sender.
    Sender,
    /// The calling contract itself.
    Itself,
    /// A contract on the call stack, this many levels above the caller (1: the caller's
    /// caller, as in a flash loan's callback).
    Up(u8),
    /// Any other address.
    Other,
    /// None (a creation that failed).
    Nothing,
}

/// One frame of a fingerprint.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Debug,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct Step {
    /// The call kind.
    pub kind: CallKind,
    /// The selector called, if any.
    pub selector: Option<Selector>,
    /// Depth in the tree (0 for the top-level call), capped at 255.
    pub depth: u8,
    /// What it calls, relative to the call stack.
    pub target: Target,
    /// Whether the frame succeeded.
    pub ok: bool,
    /// Wei sent, as the number of decimal digits (0 for none).
    pub value: u8,
    /// Token direction of an ERC-20 transfer.
    pub flow: Flow,
}

impl Step {
    /// Whether `self` and `other` are the same step, up to one decade of value.
    pub fn matches(&self, other: &Step) -> bool {
        self.kind == other.kind
            && self.selector == other.selector
            && self.depth == other.depth
            && self.target == other.target
            && self.ok == other.ok
            && self.flow == other.flow
            && self.value.abs_diff(other.value) <= 1
    }
}

fn default_min_similarity() -> u8 {
    DEFAULT_MIN_SIMILARITY
}

/// The address-free shape of a call tree, and how close a transaction must come to it.
#[derive(
    Clone, PartialEq, Eq, Debug, Hash, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct Fingerprint {
    /// The steps, in call order.
    pub steps: Vec<Step>,
    /// The similarity, in percent, at which a transaction matches.
    #[serde(default = "default_min_similarity")]
    pub min_similarity: u8,
}

impl Fingerprint {
    /// A fingerprint of `steps` at the default similarity.
    pub fn new(steps: Vec<Step>) -> Self {
        Self { steps, min_similarity: DEFAULT_MIN_SIMILARITY }
    }

    /// The distinct selectors it calls.
    pub fn selectors(&self) -> BTreeSet<Selector> {
        self.steps.iter().filter_map(|s| s.selector).collect()
    }

    /// Similarity with `other`: `2·LCS / (|self| + |other|)`, from 0.0 to 1.0.
    pub fn similarity(&self, other: &Fingerprint) -> f64 {
        similarity(&self.steps, &other.steps)
    }
}

/// `2·LCS / (|a| + |b|)` of two step sequences, from 0.0 to 1.0.
pub fn similarity(a: &[Step], b: &[Step]) -> f64 {
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

/// One piece of detection content.
#[derive(
    Clone, PartialEq, Eq, Debug, Hash, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Detection {
    /// An attack fingerprint.
    Fingerprint(Fingerprint),
    /// A CEL rule file (the TOML of `vigil watch --rules`, with contract ABIs inline).
    Rules {
        /// The file's text.
        source: String,
    },
}

impl Detection {
    /// Its id.
    pub fn id(&self) -> DetectionId {
        ContentId::of(self)
    }

    /// `fingerprint` or `rules`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Fingerprint(_) => "fingerprint",
            Self::Rules { .. } => "rules",
        }
    }

    /// Checks the limits every piece must respect (that a rule file compiles is checked by the
    /// node, which knows the rule language).
    pub fn check_shape(&self) -> Result<(), DetectionShapeError> {
        match self {
            Self::Fingerprint(f) => {
                let n = f.steps.len();
                if !(MIN_FINGERPRINT_STEPS..=MAX_FINGERPRINT_STEPS).contains(&n) {
                    return Err(DetectionShapeError::Steps { got: n });
                }
                if !(LOWEST_MIN_SIMILARITY..=100).contains(&f.min_similarity) {
                    return Err(DetectionShapeError::Similarity { got: f.min_similarity });
                }
                Ok(())
            }
            Self::Rules { source } => {
                if source.trim().is_empty() || source.len() > MAX_RULES_BYTES {
                    return Err(DetectionShapeError::RulesSize { got: source.len() });
                }
                Ok(())
            }
        }
    }
}

/// Checks a list of detection items: at most [`MAX_DETECTION`], each well-shaped, none twice.
pub fn check_detection(items: &[Detection]) -> Result<(), DetectionShapeError> {
    if items.len() > MAX_DETECTION {
        return Err(DetectionShapeError::TooMany { got: items.len() });
    }
    let mut seen = BTreeSet::new();
    for item in items {
        item.check_shape()?;
        if !seen.insert(item.id()) {
            return Err(DetectionShapeError::Duplicate(item.id()));
        }
    }
    Ok(())
}

/// Why detection content is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DetectionShapeError {
    /// Too many items.
    #[error("at most {MAX_DETECTION} detection items (fingerprints and rule files), got {got}")]
    TooMany {
        /// Count given.
        got: usize,
    },
    /// A fingerprint too short or too long.
    #[error(
        "a fingerprint has {MIN_FINGERPRINT_STEPS} to {MAX_FINGERPRINT_STEPS} steps, this one has {got}"
    )]
    Steps {
        /// Steps given.
        got: usize,
    },
    /// A similarity threshold out of range.
    #[error(
        "a fingerprint's min_similarity is {LOWEST_MIN_SIMILARITY} to 100 (percent), got {got}"
    )]
    Similarity {
        /// Value given.
        got: u8,
    },
    /// A rule file empty or oversized.
    #[error("a rule file is 1 to {MAX_RULES_BYTES} bytes, this one is {got}")]
    RulesSize {
        /// Bytes given.
        got: usize,
    },
    /// The same item twice.
    #[error("detection item {0} is listed twice")]
    Duplicate(DetectionId),
    /// Too many revocations.
    #[error("a report revokes at most {MAX_REVOCATIONS} detection items, this one {got}")]
    TooManyRevocations {
        /// Count given.
        got: usize,
    },
}

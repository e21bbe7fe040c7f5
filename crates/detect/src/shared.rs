//! Shared detection content: the fingerprints and rule files other participants published
//! (in confirmed reports, in fast-path alerts of monitors this node trusts), loaded
//! into the running engine and matched against every transaction.
//!
//! A fingerprint fires when a transaction's call tree is at least as similar to it as it asks
//! ([`vigil_core::Fingerprint::min_similarity`]); a rule file fires like the node's own rules,
//! under the detector name `shared:<rule>`. Every alert names the item that fired
//! (`metadata.detection`), where it came from (`metadata.origin`) and whether it is still
//! provisional. Content is checked before it is loaded ([`check`]): a rule file that does not
//! compile, is oversized or costs too much to evaluate is refused.

use std::collections::BTreeMap;

use vigil_core::{AlertKind, Detection, DetectionId, Fingerprint, Severity};

use crate::detector::{Context, Detector, Finding};
use crate::fingerprint::FingerprintIndex;
use crate::model::Transaction;
use crate::rules::{RuleError, RuleSet};

/// The most a shared rule file may cost to evaluate on one transaction, in AST nodes (see
/// [`crate::rules::Rule::cost`]): about 50 µs in the worst case.
pub const MAX_RULES_COST: u64 = 4_096;

/// Why detection content is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    /// Malformed (size, steps, threshold).
    #[error(transparent)]
    Shape(#[from] vigil_core::detection::DetectionShapeError),
    /// The rule file does not compile.
    #[error(transparent)]
    Rules(#[from] RuleError),
    /// The rule file costs too much to evaluate.
    #[error("the rule file costs {cost} to evaluate per transaction, above the limit of {max}")]
    Cost {
        /// Its cost.
        cost: u64,
        /// The limit.
        max: u64,
    },
    /// A rule file that reads an ABI file (shared rules carry their ABIs inline).
    #[error("shared rule files declare contract ABIs inline (abi_json), not as files")]
    AbiFile,
}

/// Compiles a shared rule file (named `file` in errors), refusing an oversized or costly one.
pub fn compile_rules(file: &str, source: &str) -> Result<RuleSet, ContentError> {
    Detection::Rules { source: source.to_owned() }.check_shape()?;
    let mut abi_file = false;
    let set = RuleSet::load_with([(file, source)], |_, _| {
        abi_file = true;
        Err("shared rule files carry their ABIs inline (abi_json)".into())
    });
    if abi_file {
        return Err(ContentError::AbiFile);
    }
    let set = set?;
    let cost = set.cost();
    if cost > MAX_RULES_COST {
        return Err(ContentError::Cost { cost, max: MAX_RULES_COST });
    }
    Ok(set)
}

/// Checks one detection item as the engine would load it.
pub fn check(detection: &Detection) -> Result<(), ContentError> {
    detection.check_shape()?;
    if let Detection::Rules { source } = detection {
        compile_rules("rules", source)?;
    }
    Ok(())
}

/// Where a loaded item came from and how far it is trusted.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Provenance {
    /// Where it came from: `report:<id>` or `alert:<id>`.
    pub origin: String,
    /// Confidence of its alerts, 0–100.
    pub confidence: u8,
    /// Severity of its alerts.
    pub severity: Severity,
    /// Loaded ahead of a verdict (from a trusted monitor's alert): unloaded if the report of
    /// it is rejected.
    pub provisional: bool,
}

/// A change to the loaded content.
#[derive(Clone, PartialEq, Debug)]
pub enum DetectionUpdate {
    /// Load (or reload with new provenance) an item.
    Load {
        /// The item.
        detection: Detection,
        /// Its provenance.
        provenance: Provenance,
    },
    /// Stop matching an item.
    Unload {
        /// The item.
        id: DetectionId,
    },
}

struct Loaded {
    detection: Detection,
    provenance: Provenance,
}

/// The loaded content, run as one detector after the built-in ones.
#[derive(Default)]
pub struct SharedDetection {
    loaded: BTreeMap<DetectionId, Loaded>,
    fingerprints: FingerprintIndex,
    /// Id of each fingerprint of the index, by its position.
    fingerprint_ids: Vec<DetectionId>,
    rules: Vec<(DetectionId, RuleSet)>,
}

impl std::fmt::Debug for SharedDetection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedDetection").field("loaded", &self.loaded.len()).finish()
    }
}

impl SharedDetection {
    /// Nothing loaded.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many items are loaded.
    pub fn len(&self) -> usize {
        self.loaded.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.loaded.is_empty()
    }

    /// Whether `id` is loaded.
    pub fn contains(&self, id: &DetectionId) -> bool {
        self.loaded.contains_key(id)
    }

    /// Whether any fingerprint is loaded (transactions are fingerprinted only then).
    pub fn has_fingerprints(&self) -> bool {
        !self.fingerprints.is_empty()
    }

    /// Applies a change. A rule file that does not compile is refused, and nothing changes.
    pub fn apply(&mut self, update: DetectionUpdate) -> Result<(), ContentError> {
        match update {
            DetectionUpdate::Load { detection, provenance } => {
                let id = detection.id();
                detection.check_shape()?;
                match &detection {
                    Detection::Fingerprint(f) => {
                        if !self.loaded.contains_key(&id) {
                            self.fingerprints.add(f.clone());
                            self.fingerprint_ids.push(id);
                        }
                    }
                    Detection::Rules { source } => {
                        if !self.loaded.contains_key(&id) {
                            let mut set = compile_rules(&format!("detection {id}"), source)?;
                            set.set_detector_prefix("shared:");
                            self.rules.push((id, set));
                        }
                    }
                }
                self.loaded.insert(id, Loaded { detection, provenance });
            }
            DetectionUpdate::Unload { id } => {
                let Some(gone) = self.loaded.remove(&id) else { return Ok(()) };
                match gone.detection {
                    Detection::Fingerprint(_) => self.rebuild_fingerprints(),
                    Detection::Rules { .. } => self.rules.retain(|(r, _)| *r != id),
                }
            }
        }
        Ok(())
    }

    fn rebuild_fingerprints(&mut self) {
        self.fingerprints = FingerprintIndex::new();
        self.fingerprint_ids.clear();
        for (id, l) in &self.loaded {
            if let Detection::Fingerprint(f) = &l.detection {
                self.fingerprints.add(f.clone());
                self.fingerprint_ids.push(*id);
            }
        }
    }

    /// Matches `tx` (whose fingerprint is `fp`, if it has a call tree) against the loaded
    /// content.
    pub fn inspect_with(
        &mut self,
        tx: &Transaction,
        fp: Option<&Fingerprint>,
        cx: &Context<'_>,
        out: &mut Vec<Finding>,
    ) {
        if let Some(fp) = fp
            && let Some(best) = self.fingerprints.matches(fp).first()
            && let Some(id) = self.fingerprint_ids.get(best.id)
            && let Some(loaded) = self.loaded.get(id)
        {
            out.push(fingerprint_finding(tx, cx, *id, &loaded.provenance, best.similarity));
        }
        for (id, set) in &mut self.rules {
            let Some(loaded) = self.loaded.get(id) else { continue };
            let first = out.len();
            set.inspect(tx, cx, out);
            for f in &mut out[first..] {
                let p = &loaded.provenance;
                f.confidence = f.confidence.min(p.confidence);
                f.metadata.insert("detection".into(), id.to_string());
                f.metadata.insert("origin".into(), p.origin.clone());
                f.metadata.insert("provisional".into(), p.provisional.to_string());
            }
        }
    }
}

fn fingerprint_finding(
    tx: &Transaction,
    cx: &Context<'_>,
    id: DetectionId,
    p: &Provenance,
    similarity: f64,
) -> Finding {
    let percent = (similarity * 100.0).floor() as u8;
    // A near match is a little less sure than an exact one.
    let confidence = u8::try_from(u32::from(p.confidence) * u32::from(percent) / 100).unwrap_or(0);
    let mut finding = Finding::new(
        "fingerprint",
        p.severity,
        AlertKind::Exploit,
        confidence,
        format!(
            "{} matches the shape of a known attack ({percent}% similar to {id}, from {})",
            tx.hash, p.origin
        ),
    )
    .incident(format!("{}:{id}", tx.from))
    .address(tx.from)
    .meta("detection", id)
    .meta("origin", &p.origin)
    .meta("similarity", percent)
    .meta("provisional", p.provisional);
    if let Some(to) = tx.to {
        finding = finding.address(to);
    }
    // The protected contracts the attack touches: the policy pauses their protocols.
    if let Some(trace) = &tx.trace {
        for frame in trace.root.walk() {
            if let Some(to) = frame.to
                && cx.protected.contains(&to)
            {
                finding = finding.address(to);
            }
        }
    }
    finding
}

impl Detector for SharedDetection {
    fn name(&self) -> &str {
        "shared"
    }

    fn inspect(&mut self, tx: &Transaction, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let fp = match &tx.trace {
            Some(t) if self.has_fingerprints() => Some(crate::fingerprint::fingerprint(&t.root)),
            _ => None,
        };
        self.inspect_with(tx, fp.as_ref(), cx, out);
    }
}

/// What a loaded item is, for listings.
#[derive(Clone, PartialEq, Debug)]
pub struct LoadedItem {
    /// Its id.
    pub id: DetectionId,
    /// `fingerprint` or `rules`.
    pub kind: &'static str,
    /// Its provenance.
    pub provenance: Provenance,
}

impl SharedDetection {
    /// The loaded items, by id.
    pub fn items(&self) -> Vec<LoadedItem> {
        self.loaded
            .iter()
            .map(|(id, l)| LoadedItem {
                id: *id,
                kind: l.detection.kind(),
                provenance: l.provenance.clone(),
            })
            .collect()
    }
}

//! Fresh attacker contract: a contract created and, within N blocks, called with a flash-loan
//! selector or calling protected contracts.
//!
//! At creation the runtime code is read statically: the 4-byte selectors it pushes (flash-loan
//! entry points it calls, flash-loan callbacks it implements) and the protected addresses it
//! embeds (constants and immutables). That lets a pending call to the contract be judged before
//! it runs; once mined, its logs show what it really did (a flash loan to it, logs emitted by
//! protected contracts or tokens they sent). A creation whose code already does both is
//! reported too. Protected contracts themselves are never suspects.

use std::collections::{HashMap, VecDeque};

use vigil_core::{AlertKind, B256, EvmAddress, Selector, Severity};

use crate::calls::{FLASH_LOAN_CALLBACK_SELECTORS, flash_loan_api, is_flash_loan_selector};
use crate::config::FreshContractConfig;
use crate::detector::{Context, Detector, Finding, token_movements};
use crate::model::{BlockRef, Transaction};

/// Its name.
pub const NAME: &str = "fresh-attacker-contract";

/// What static analysis of runtime code found.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct CodeProfile {
    /// Flash-loan entry points the code calls (or dispatches).
    pub flash_entry_points: Vec<Selector>,
    /// Flash-loan callbacks the code implements.
    pub flash_callbacks: Vec<Selector>,
    /// Protected contracts whose address appears in the code.
    pub protected_refs: Vec<EvmAddress>,
}

impl CodeProfile {
    /// Whether the code looks like a flash-loan borrower.
    pub fn uses_flash_loans(&self) -> bool {
        !self.flash_entry_points.is_empty() || !self.flash_callbacks.is_empty()
    }
}

/// The 4-byte values the code pushes: `PUSH4` operands and `PUSH32` operands whose last 28 bytes
/// are zero (a left-aligned selector). Push data is skipped when walking opcodes.
pub fn pushed_selectors(code: &[u8]) -> Vec<Selector> {
    let mut out = Vec::new();
    let mut pc = 0usize;
    while let Some(&op) = code.get(pc) {
        if (0x60..=0x7f).contains(&op) {
            let n = usize::from(op - 0x5f);
            let data = code.get(pc + 1..pc + 1 + n);
            match (n, data) {
                (4, Some(d)) => out.push(Selector([d[0], d[1], d[2], d[3]])),
                (32, Some(d))
                    if d[4..].iter().all(|b| *b == 0) && d[..4].iter().any(|b| *b != 0) =>
                {
                    out.push(Selector([d[0], d[1], d[2], d[3]]));
                }
                _ => {}
            }
            pc += 1 + n;
        } else {
            pc += 1;
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Profiles `code` against the protected contracts.
pub fn profile(code: &[u8], protected: impl Iterator<Item = EvmAddress>) -> CodeProfile {
    let selectors = pushed_selectors(code);
    CodeProfile {
        flash_entry_points: selectors
            .iter()
            .copied()
            .filter(|s| flash_loan_api(*s).is_some())
            .collect(),
        flash_callbacks: selectors
            .iter()
            .copied()
            .filter(|s| FLASH_LOAN_CALLBACK_SELECTORS.contains(s))
            .collect(),
        protected_refs: protected.filter(|a| code.windows(20).any(|w| w == a.0)).collect(),
    }
}

#[derive(Clone, Debug)]
struct Fresh {
    creator: EvmAddress,
    block: u64,
    code_hash: Option<B256>,
    profile: CodeProfile,
}

/// The fresh-attacker-contract detector.
pub struct FreshAttackerContract {
    config: FreshContractConfig,
    contracts: HashMap<EvmAddress, Fresh>,
    order: VecDeque<(u64, EvmAddress)>,
    head: u64,
}

fn list<T: ToString>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

impl FreshAttackerContract {
    /// A detector with `config`.
    pub fn new(config: FreshContractConfig) -> Self {
        Self { config, contracts: HashMap::new(), order: VecDeque::new(), head: 0 }
    }

    /// How many fresh contracts it tracks.
    pub fn tracked(&self) -> usize {
        self.contracts.len()
    }

    /// Contracts created below the top level (by a factory or the sender's contract), seen in
    /// the call tree: tracked like top-level creations, so a later call to one is judged.
    fn track_inner_creations(&mut self, tx: &Transaction, cx: &Context<'_>) {
        let (Some(trace), Some(block)) = (&tx.trace, tx.block()) else { return };
        for (frame, info) in trace.root.walk().zip(&cx.effects.frames) {
            let (true, true, Some(address)) = (frame.kind.is_create(), info.ok, frame.to) else {
                continue;
            };
            if self.contracts.contains_key(&address) || cx.protected.contains(&address) {
                continue;
            }
            let code = frame.output.clone().unwrap_or_default();
            let profile = profile(&code, cx.protected.addresses().copied());
            self.order.push_back((block.number, address));
            self.contracts.insert(
                address,
                Fresh {
                    creator: tx.from,
                    block: block.number,
                    code_hash: frame.output.as_ref().map(B256::keccak),
                    profile,
                },
            );
        }
        while self.contracts.len() > self.config.max_tracked {
            let Some((_, old)) = self.order.pop_front() else { break };
            self.contracts.remove(&old);
        }
    }

    fn record_creation(&mut self, tx: &Transaction, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let (Some(created), Some(block)) = (&tx.created, tx.block()) else { return };
        let profile = profile(&created.code, cx.protected.addresses().copied());
        if profile.uses_flash_loans() && !profile.protected_refs.is_empty() {
            let description = format!(
                "New contract {} created by {} in block {} calls flash-loan functions and \
                 references protected contracts {}",
                created.address,
                tx.from,
                block.number,
                profile
                    .protected_refs
                    .iter()
                    .map(|a| cx.protected.describe(a))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let mut finding =
                Finding::new(NAME, Severity::Medium, AlertKind::Suspicious, 60, description)
                    .incident(format!("created|{}", created.address))
                    .address(created.address)
                    .address(tx.from)
                    .meta("contract", created.address)
                    .meta("stage", "created")
                    .meta(
                        "flash_selectors",
                        list(
                            &[profile.flash_entry_points.clone(), profile.flash_callbacks.clone()]
                                .concat(),
                        ),
                    );
            for a in &profile.protected_refs {
                finding = finding.address(*a);
            }
            out.push(finding);
        }
        self.order.push_back((block.number, created.address));
        self.contracts.insert(
            created.address,
            Fresh { creator: tx.from, block: block.number, code_hash: created.code_hash, profile },
        );
        while self.contracts.len() > self.config.max_tracked {
            let Some((_, old)) = self.order.pop_front() else { break };
            self.contracts.remove(&old);
        }
    }
}

impl Detector for FreshAttackerContract {
    fn name(&self) -> &str {
        NAME
    }

    fn inspect(&mut self, tx: &Transaction, cx: &Context<'_>, out: &mut Vec<Finding>) {
        if !self.config.enabled {
            return;
        }
        if tx.created.is_some() && tx.succeeded() {
            self.record_creation(tx, cx, out);
            return;
        }
        if tx.succeeded() {
            self.track_inner_creations(tx, cx);
        }
        let Some(to) = tx.to else { return };
        // A protected contract is fresh when it was just deployed, but never an attacker.
        if cx.protected.contains(&to) {
            return;
        }
        let Some(fresh) = self.contracts.get(&to) else { return };
        let now = tx.block().map_or(self.head.max(cx.head.unwrap_or(0)), |b| b.number);
        let age = now.saturating_sub(fresh.block);
        if age > self.config.max_age_blocks {
            return;
        }

        let mut evidence: Vec<String> = Vec::new();
        let mut flash = false;
        let mut protected = false;
        let mut touched: Vec<EvmAddress> = Vec::new();
        if let Some(sel) = tx.selector().filter(|s| is_flash_loan_selector(*s)) {
            flash = true;
            evidence.push(format!("called with flash-loan selector {sel}"));
        }
        let loans: Vec<_> =
            tx.events().filter_map(|(_, e)| e.flash_loan()).filter(|l| l.receiver == to).collect();
        if !loans.is_empty() {
            flash = true;
            evidence.push(format!("took {} flash loan(s)", loans.len()));
        }
        for log in &tx.logs {
            if cx.protected.contains(&log.address) && !touched.contains(&log.address) {
                touched.push(log.address);
            }
        }
        // A protected contract ran code in this transaction if it emitted a log or sent tokens;
        // receiving tokens alone says nothing about who called it.
        for (_, from, _, _) in token_movements(cx) {
            if cx.protected.contains(&from) && !touched.contains(&from) {
                touched.push(from);
            }
        }
        if !touched.is_empty() {
            protected = true;
            let names: Vec<String> = touched.iter().map(|a| cx.protected.describe(a)).collect();
            evidence.push(format!("called protected contracts {}", names.join(", ")));
        }
        if tx.is_pending() || !tx.succeeded() {
            // Not yet run (or reverted): judge by what its code would do.
            if !flash && fresh.profile.uses_flash_loans() {
                flash = true;
                let sels = [
                    fresh.profile.flash_entry_points.clone(),
                    fresh.profile.flash_callbacks.clone(),
                ]
                .concat();
                evidence.push(format!("its code uses flash-loan functions {}", list(&sels)));
            }
            if !protected && !fresh.profile.protected_refs.is_empty() {
                protected = true;
                touched.extend(fresh.profile.protected_refs.iter().copied());
                let names: Vec<String> =
                    fresh.profile.protected_refs.iter().map(|a| cx.protected.describe(a)).collect();
                evidence
                    .push(format!("its code references protected contracts {}", names.join(", ")));
            }
        }
        if !flash && !protected {
            return;
        }
        let by_creator = tx.from == fresh.creator;
        let (kind, severity, confidence) = match (flash && protected, by_creator) {
            (true, true) => (AlertKind::Exploit, Severity::Critical, 85),
            (true, false) => (AlertKind::Exploit, Severity::High, 75),
            (false, _) => (AlertKind::Suspicious, Severity::Medium, 55),
        };
        let stage = if tx.is_pending() {
            "pending"
        } else if tx.succeeded() {
            "mined"
        } else {
            "reverted"
        };
        let description = format!(
            "Contract {to} created {age} block(s) ago by {}{} is being called ({stage}) by {}: {}",
            fresh.creator,
            if by_creator { " (the caller)" } else { "" },
            tx.from,
            evidence.join("; ")
        );
        let mut finding = Finding::new(NAME, severity, kind, confidence, description)
            .incident(format!("called|{to}"))
            .address(to)
            .address(tx.from)
            .meta("contract", to)
            .meta("creator", fresh.creator)
            .meta("age_blocks", age)
            .meta("stage", stage);
        if let Some(h) = fresh.code_hash {
            finding = finding.meta("code_hash", h);
        }
        for a in touched {
            finding = finding.address(a);
        }
        out.push(finding);
    }

    fn end_block(&mut self, block: &BlockRef, _cx: &Context<'_>, _out: &mut Vec<Finding>) {
        self.head = self.head.max(block.number);
        let horizon = self.head.saturating_sub(self.config.max_age_blocks);
        while self.order.front().is_some_and(|(b, _)| *b < horizon) {
            if let Some((_, a)) = self.order.pop_front() {
                self.contracts.remove(&a);
            }
        }
    }

    fn rewind(&mut self, height: u64) {
        self.head = self.head.min(height);
        self.contracts.retain(|_, f| f.block <= height);
        self.order.retain(|(b, _)| *b <= height);
    }
}

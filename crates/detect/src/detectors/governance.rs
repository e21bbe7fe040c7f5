//! Suspicious governance proposal: a `ProposalCreated` (OpenZeppelin Governor or Compound
//! Bravo, mined) or a `propose` call (pending) whose actions upgrade a contract, change its
//! owner, admin or roles, or move treasury funds.

use std::sync::LazyLock;

use alloy_primitives::{Bytes, U256, keccak256};
use alloy_sol_types::SolValue;
use vigil_core::{AlertKind, EvmAddress, Selector, Severity};

use crate::calls::Call;
use crate::config::GovernanceConfig;
use crate::detector::{Context, Detector, Finding};
use crate::events::{Event, Proposal, ProposalAction};
use crate::model::Transaction;

/// Its name.
pub const NAME: &str = "suspicious-governance-proposal";

/// What a proposal action would change.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Concern {
    /// Replaces a contract's implementation.
    Upgrade,
    /// Changes a contract's owner or admin.
    Ownership,
    /// Grants or revokes roles, guardians or timelock settings.
    Roles,
    /// Moves or approves treasury funds.
    Treasury,
}

impl Concern {
    fn as_str(self) -> &'static str {
        match self {
            Self::Upgrade => "upgrades a contract",
            Self::Ownership => "changes ownership or admin",
            Self::Roles => "changes roles",
            Self::Treasury => "moves treasury funds",
        }
    }
}

const SIGNATURES: &[(&str, Concern)] = &[
    ("upgradeTo(address)", Concern::Upgrade),
    ("upgradeToAndCall(address,bytes)", Concern::Upgrade),
    ("upgrade(address,address)", Concern::Upgrade),
    ("upgradeAndCall(address,address,bytes)", Concern::Upgrade),
    ("_setImplementation(address,bool,bytes)", Concern::Upgrade),
    ("_setPendingImplementation(address)", Concern::Upgrade),
    ("setImplementation(address)", Concern::Upgrade),
    ("upgradeBeacon(address)", Concern::Upgrade),
    ("transferOwnership(address)", Concern::Ownership),
    ("renounceOwnership()", Concern::Ownership),
    ("changeAdmin(address)", Concern::Ownership),
    ("changeProxyAdmin(address,address)", Concern::Ownership),
    ("setAdmin(address)", Concern::Ownership),
    ("setOwner(address)", Concern::Ownership),
    ("setPendingAdmin(address)", Concern::Ownership),
    ("_setPendingAdmin(address)", Concern::Ownership),
    ("acceptAdmin()", Concern::Ownership),
    ("grantRole(bytes32,address)", Concern::Roles),
    ("revokeRole(bytes32,address)", Concern::Roles),
    ("setGuardian(address)", Concern::Roles),
    ("addGuardian(address)", Concern::Roles),
    ("removeGuardian(address)", Concern::Roles),
    ("updateDelay(uint256)", Concern::Roles),
    ("setDelay(uint256)", Concern::Roles),
    ("updateTimelock(address)", Concern::Roles),
    ("setMinter(address)", Concern::Roles),
    ("transfer(address,uint256)", Concern::Treasury),
    ("transferFrom(address,address,uint256)", Concern::Treasury),
    ("approve(address,uint256)", Concern::Treasury),
    ("increaseAllowance(address,uint256)", Concern::Treasury),
    ("_reduceReserves(uint256)", Concern::Treasury),
    ("withdraw(address,uint256)", Concern::Treasury),
    ("sweep(address)", Concern::Treasury),
    ("safeTransferFrom(address,address,uint256)", Concern::Treasury),
];

static TABLE: LazyLock<Vec<(Selector, &'static str, Concern)>> = LazyLock::new(|| {
    SIGNATURES.iter().map(|(sig, c)| (Selector::of_signature(sig), *sig, *c)).collect()
});

/// The concern of one action, with the function it calls; ETH sent counts as a treasury move.
pub fn classify(action: &ProposalAction) -> Option<(Concern, String)> {
    if let Some(selector) = action.selector()
        && let Some((_, sig, concern)) = TABLE.iter().find(|(s, _, _)| *s == selector)
    {
        return Some((*concern, format!("{sig} on {}", action.target)));
    }
    if !action.value.is_zero() {
        return Some((
            Concern::Treasury,
            format!("sends {} wei to {}", action.value, action.target),
        ));
    }
    None
}

/// The id OpenZeppelin's Governor gives a proposal: `keccak256(abi.encode(targets, values,
/// calldatas, keccak256(description)))`. Bravo numbers proposals instead (`None` here).
pub fn oz_proposal_id(p: &Proposal) -> Option<U256> {
    if p.actions.iter().any(|a| !a.signature.is_empty()) {
        return None;
    }
    let targets: Vec<alloy_primitives::Address> =
        p.actions.iter().map(|a| alloy_primitives::Address::from(a.target.0)).collect();
    let values: Vec<U256> = p.actions.iter().map(|a| a.value).collect();
    let calldatas: Vec<Bytes> = p.actions.iter().map(|a| a.calldata.clone()).collect();
    let description_hash = keccak256(p.description.as_bytes());
    let encoded = (targets, values, calldatas, description_hash).abi_encode_params();
    Some(U256::from_be_bytes(keccak256(encoded).0))
}

/// The suspicious-governance-proposal detector.
pub struct SuspiciousProposal {
    config: GovernanceConfig,
}

impl SuspiciousProposal {
    /// A detector with `config`.
    pub fn new(config: GovernanceConfig) -> Self {
        Self { config }
    }

    fn judge(&self, tx: &Transaction, governor: EvmAddress, p: &Proposal, out: &mut Vec<Finding>) {
        let concerns: Vec<(usize, Concern, String)> = p
            .actions
            .iter()
            .enumerate()
            .filter_map(|(i, a)| classify(a).map(|(c, what)| (i, c, what)))
            .collect();
        let Some(worst) = concerns.iter().map(|(_, c, _)| *c).min() else { return };
        let (severity, confidence) = match worst {
            Concern::Upgrade | Concern::Ownership => (Severity::High, 75),
            Concern::Roles | Concern::Treasury => (Severity::Medium, 60),
        };
        let id = p.id.or_else(|| oz_proposal_id(p));
        let id_text = id.map(|id| format!("{id:#x}")).unwrap_or_else(|| "(id unknown)".into());
        let title: String = p.description.lines().next().unwrap_or("").chars().take(120).collect();
        let mut kinds: Vec<&str> = concerns.iter().map(|(_, c, _)| c.as_str()).collect();
        kinds.dedup();
        let actions: Vec<String> =
            concerns.iter().map(|(i, _, what)| format!("action {i}: {what}")).collect();
        let description = format!(
            "Governance proposal {id_text} on {governor} by {} {}: {}; \"{title}\"",
            p.proposer,
            kinds.join(", "),
            actions.join("; ")
        );
        let mut finding =
            Finding::new(NAME, severity, AlertKind::Suspicious, confidence, description)
                .incident(format!("{governor}|{id_text}|{}", tx.hash))
                .address(governor)
                .address(p.proposer)
                .meta("governor", governor)
                .meta("proposal_id", &id_text)
                .meta("title", title);
        for (i, _, what) in &concerns {
            finding = finding.meta(&format!("action.{i}"), what);
            finding = finding.address(p.actions[*i].target);
        }
        out.push(finding);
    }
}

impl Detector for SuspiciousProposal {
    fn name(&self) -> &str {
        NAME
    }

    fn inspect(&mut self, tx: &Transaction, _cx: &Context<'_>, out: &mut Vec<Finding>) {
        if !self.config.enabled {
            return;
        }
        if tx.is_pending() {
            if let (Call::Propose(p), Some(governor)) = (&tx.call, tx.to) {
                self.judge(tx, governor, p, out);
            }
            return;
        }
        for (governor, event) in tx.events() {
            if let Event::ProposalCreated(p) = event {
                self.judge(tx, governor, p, out);
            }
        }
    }
}

//! Indicator match: any address, code hash, selector or transaction hash in a transaction or
//! its logs that the indicator index flags.

use std::collections::BTreeMap;

use vigil_core::{AlertKind, Category, EvmAddress, Indicator, Severity};

use crate::calls::{Call, address_words};
use crate::config::IndicatorMatchConfig;
use crate::detector::{Context, Detector, Finding};
use crate::index::IndicatorHit;
use crate::model::Transaction;

/// Where in a transaction an address appeared; earlier roles are more telling.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Role {
    Sender,
    Recipient,
    Created,
    CallArgument,
    Emitter,
    EventParty,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Self::Sender => "sender",
            Self::Recipient => "recipient",
            Self::Created => "created contract",
            Self::CallArgument => "call argument",
            Self::Emitter => "log emitter",
            Self::EventParty => "event party",
        }
    }
}

struct Match<'a> {
    indicator: Indicator,
    role: &'static str,
    hit: IndicatorHit<'a>,
}

/// The indicator-match detector.
pub struct IndicatorMatch {
    config: IndicatorMatchConfig,
    candidates: Vec<(EvmAddress, Role)>,
    scratch: Vec<EvmAddress>,
}

/// Its name.
pub const NAME: &str = "indicator-match";

impl IndicatorMatch {
    /// A detector with `config`.
    pub fn new(config: IndicatorMatchConfig) -> Self {
        Self { config, candidates: Vec::new(), scratch: Vec::new() }
    }

    fn collect_candidates(&mut self, tx: &Transaction) {
        let c = &mut self.candidates;
        c.clear();
        c.push((tx.from, Role::Sender));
        if let Some(to) = tx.to {
            c.push((to, Role::Recipient));
        }
        if let Some(created) = &tx.created {
            c.push((created.address, Role::Created));
        }
        match &tx.call {
            Call::Transfer { to, .. } => c.push((*to, Role::CallArgument)),
            Call::TransferFrom { from, to, .. } => {
                c.push((*from, Role::CallArgument));
                c.push((*to, Role::CallArgument));
            }
            Call::Approve { spender: a, .. } | Call::SetApprovalForAll { operator: a, .. } => {
                c.push((*a, Role::CallArgument));
            }
            _ => {
                if tx.to.is_some() {
                    c.extend(address_words(&tx.input).map(|a| (a, Role::CallArgument)));
                }
            }
        }
        for log in &tx.logs {
            c.push((log.address, Role::Emitter));
            if let Some(event) = &log.event {
                self.scratch.clear();
                event.addresses(&mut self.scratch);
                c.extend(self.scratch.iter().map(|a| (*a, Role::EventParty)));
            }
        }
        // One lookup per address, keeping its most telling role.
        c.sort_unstable();
        c.dedup_by_key(|(a, _)| *a);
    }
}

fn kind_and_severity(category: Option<Category>, role: &str) -> (AlertKind, Severity) {
    let direct = role == "sender" || role == "recipient" || role == "call argument";
    match category {
        Some(Category::Exploit | Category::MaliciousContract) => {
            (AlertKind::Exploit, Severity::High)
        }
        Some(Category::Phishing | Category::Scam) => {
            (AlertKind::Scam, if direct { Severity::High } else { Severity::Medium })
        }
        Some(Category::Sanctioned) => (AlertKind::Suspicious, Severity::High),
        Some(Category::GovernanceAttack) => (AlertKind::Suspicious, Severity::High),
        Some(Category::Vulnerability | Category::Other) | None => {
            (AlertKind::Suspicious, if direct { Severity::Medium } else { Severity::Low })
        }
    }
}

impl Detector for IndicatorMatch {
    fn name(&self) -> &str {
        NAME
    }

    fn inspect(&mut self, tx: &Transaction, cx: &Context<'_>, out: &mut Vec<Finding>) {
        if !self.config.enabled || cx.indicators.is_empty() {
            return;
        }
        self.collect_candidates(tx);
        let min = self.config.min_confidence;
        let mut matches: Vec<Match<'_>> = Vec::new();
        for (address, role) in &self.candidates {
            for hit in cx.indicators.match_address(tx.chain, address) {
                if hit.confidence >= min {
                    let indicator = Indicator::Address { chain: hit.chain, address: *address };
                    matches.push(Match { indicator, role: role.as_str(), hit });
                }
            }
        }
        if let Some(selector) = tx.selector() {
            for hit in cx.indicators.match_selector(&selector) {
                if hit.confidence >= min {
                    let indicator = Indicator::Selector(selector);
                    matches.push(Match { indicator, role: "function selector", hit });
                }
            }
        }
        if let Some(hash) = tx.created.as_ref().and_then(|c| c.code_hash) {
            for hit in cx.indicators.match_code_hash(&hash) {
                if hit.confidence >= min {
                    matches.push(Match {
                        indicator: Indicator::CodeHash(hash),
                        role: "code hash",
                        hit,
                    });
                }
            }
        }
        for hit in cx.indicators.match_tx(tx.chain, &tx.hash) {
            if hit.confidence >= min {
                let indicator = Indicator::TxHash { chain: tx.chain, hash: tx.hash };
                matches.push(Match { indicator, role: "transaction", hit });
            }
        }
        if matches.is_empty() {
            return;
        }

        // The most confident match decides kind and severity.
        let best = matches.iter().max_by_key(|m| m.hit.confidence).map_or(0, |m| m.hit.confidence);
        let lead = matches.iter().find(|m| m.hit.confidence == best).unwrap_or(&matches[0]);
        let (kind, severity) = kind_and_severity(lead.hit.category, lead.role);

        let mut indicators: Vec<Indicator> = Vec::new();
        let mut labels: Vec<String> = Vec::new();
        let mut addresses: Vec<EvmAddress> = Vec::new();
        let mut parts: Vec<String> = Vec::new();
        let mut metadata = BTreeMap::new();
        for (i, m) in matches.iter().enumerate() {
            if !indicators.contains(&m.indicator) {
                indicators.push(m.indicator.clone());
            }
            if let Indicator::Address { address, .. } = &m.indicator
                && !addresses.contains(address)
            {
                addresses.push(*address);
            }
            if let Some(label) = m.hit.label
                && !labels.iter().any(|l| l == label)
            {
                labels.push(label.to_owned());
            }
            let label = m.hit.label.map(|l| format!(" \"{l}\"")).unwrap_or_default();
            parts.push(format!(
                "{} {}{} (source {}, confidence {})",
                m.role, m.indicator, label, m.hit.source, m.hit.confidence
            ));
            metadata.insert(format!("match.{i}"), parts[i].clone());
        }
        let mut incident: Vec<String> = indicators.iter().map(ToString::to_string).collect();
        incident.sort();
        let description = format!("Transaction {} involves flagged {}", tx.hash, parts.join("; "));
        let mut finding = Finding::new(NAME, severity, kind, best, description).incident(format!(
            "{}|{}",
            incident.join(","),
            tx.from
        ));
        finding.indicators = indicators;
        finding.labels = labels;
        finding.addresses = addresses;
        finding.metadata = metadata;
        out.push(finding);
    }
}

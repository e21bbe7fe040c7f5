//! Routes: which incidents go to which channels. A route names its channels and filters by
//! incident family, and for alerts by detector or rule, severity, stage (pending or mined),
//! the protocols whose contracts the alert touches, and whether the alert is this node's own
//! or came from a peer. A route's cooldown keeps one detector from sending through it more
//! than once per window (node-local time: this is delivery, not consensus).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use vigil_core::{ProtocolId, Severity};

use super::{Family, Incident, Stage};

/// A route's settings (`[[respond.routes]]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// A name for logs and metrics (default `route-N`, counting from 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The channels (`[[respond.channels]]` names) that get what the route lets through.
    pub channels: Vec<String>,
    /// Incident families: `alert`, `breaker`, `verdict` (default: `alert`).
    #[serde(default = "alert_family")]
    pub families: Vec<Family>,
    /// Rule names: alerts of the detector `rule:<name>` (with `detectors`: either matches;
    /// both empty: every detector).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// Detector names; one ending in `*` matches every detector starting with what precedes it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detectors: Vec<String>,
    /// Only alerts touching these registered protocols' contracts, and only these protocols'
    /// breaker incidents (default: every protocol, and alerts touching none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protocols: Vec<ProtocolId>,
    /// The least severity of an alert sent (default `info`: all).
    #[serde(default = "info")]
    pub min_severity: Severity,
    /// Stages of an alert's transaction: `pending`, `mined` (default: both, so a transaction
    /// seen in the mempool and then in a block is sent twice, once per stage).
    #[serde(default = "both_stages")]
    pub stages: Vec<Stage>,
    /// Seconds after a detector's alert went through this route during which its further
    /// alerts do not (default 0: no cooldown).
    #[serde(default)]
    pub cooldown_secs: u64,
    /// Also route alerts raised by other nodes and received by gossip (default: only this
    /// node's own).
    #[serde(default)]
    pub peers: bool,
}

fn alert_family() -> Vec<Family> {
    vec![Family::Alert]
}
fn info() -> Severity {
    Severity::Info
}
fn both_stages() -> Vec<Stage> {
    vec![Stage::Pending, Stage::Mined]
}

/// Cooldown entries kept before expired ones are pruned.
const COOLDOWN_PRUNE_AT: usize = 4_096;

/// A route ready to match incidents.
#[derive(Debug)]
pub struct Route {
    /// Its name.
    pub name: String,
    config: RouteConfig,
    last_sent: Mutex<HashMap<String, Instant>>,
}

impl Route {
    /// The route of `config`, named `route-<n>` when it has no name.
    pub fn new(config: RouteConfig, n: usize) -> Self {
        let name = config.name.clone().unwrap_or_else(|| format!("route-{n}"));
        Self { name, config, last_sent: Mutex::new(HashMap::new()) }
    }

    /// The channels it sends to.
    pub fn channels(&self) -> &[String] {
        &self.config.channels
    }

    /// Whether `incident` passes the route's filters (not its cooldown).
    pub fn matches(&self, incident: &Incident) -> bool {
        let c = &self.config;
        if !c.families.contains(&incident.family_kind()) {
            return false;
        }
        match incident {
            Incident::Alert { alert, peer, protocols, .. } => {
                let a = &alert.payload;
                (c.peers || peer == super::LOCAL)
                    && a.severity >= c.min_severity
                    && c.stages.contains(&Stage::of(a))
                    && self.detector_matches(&a.detector)
                    && (c.protocols.is_empty() || protocols.iter().any(|p| c.protocols.contains(p)))
            }
            Incident::BreakerTripped { protocol, .. } | Incident::BreakerReset { protocol, .. } => {
                c.protocols.is_empty() || c.protocols.contains(protocol)
            }
            Incident::Verdict { .. } => true,
        }
    }

    fn detector_matches(&self, detector: &str) -> bool {
        let c = &self.config;
        if c.rules.is_empty() && c.detectors.is_empty() {
            return true;
        }
        let rule = detector.strip_prefix("rule:");
        c.rules.iter().any(|r| Some(r.as_str()) == rule)
            || c.detectors.iter().any(|d| match d.strip_suffix('*') {
                Some(prefix) => detector.starts_with(prefix),
                None => d == detector,
            })
    }

    /// Whether `incident` may go through now, given the cooldown; when it may, the cooldown of
    /// its detector starts at `now`.
    pub fn admit(&self, incident: &Incident, now: Instant) -> bool {
        if self.config.cooldown_secs == 0 {
            return true;
        }
        let window = Duration::from_secs(self.config.cooldown_secs);
        let key = match incident {
            Incident::Alert { alert, .. } => alert.payload.detector.clone(),
            other => other.family().to_owned(),
        };
        let mut last = self.last_sent.lock();
        if let Some(at) = last.get(&key)
            && now.saturating_duration_since(*at) < window
        {
            return false;
        }
        if last.len() >= COOLDOWN_PRUNE_AT {
            last.retain(|_, at| now.saturating_duration_since(*at) < window);
        }
        last.insert(key, now);
        true
    }
}

/// Checks that every route names at least one channel and only channels in `names`.
pub fn check(routes: &[RouteConfig], names: &[&str]) -> Result<(), String> {
    for (i, route) in routes.iter().enumerate() {
        let label = route.name.clone().unwrap_or_else(|| format!("route-{}", i + 1));
        if route.channels.is_empty() {
            return Err(format!("respond.routes {label}: names no channel"));
        }
        if route.families.is_empty() || route.stages.is_empty() {
            return Err(format!("respond.routes {label}: families and stages may not be empty"));
        }
        if let Some(missing) = route.channels.iter().find(|c| !names.contains(&c.as_str())) {
            return Err(format!(
                "respond.routes {label}: no channel named {missing:?} (defined: {})",
                if names.is_empty() { "none".to_owned() } else { names.join(", ") }
            ));
        }
        if route.detectors.iter().chain(&route.rules).any(|d| d.trim().is_empty()) {
            return Err(format!("respond.routes {label}: an empty detector or rule name"));
        }
    }
    Ok(())
}

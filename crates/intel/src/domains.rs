//! Domain rules from phishing lists, matched the way MetaMask's `eth-phishing-detect` does:
//!
//! 1. a name that is on the allow list, or is a subdomain of a name on it, passes;
//! 2. else a name that is blocked, or is a subdomain of a blocked name, is flagged;
//! 3. else the name's *fuzzy form* (the name without its top-level label, with the first `www.`
//!    removed) is compared with the fuzzy form of each fuzzy-list name; a Levenshtein distance
//!    within the list's tolerance flags it as a look-alike.
//!
//! Blocked names are ordinary [`Indicator::Domain`](vigil_core::Indicator) entries of the book;
//! this module holds the allow list and the fuzzy list.

use std::collections::{BTreeMap, BTreeSet};

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use vigil_core::Domain;

/// A fuzzy-list name: look-alikes of it within `tolerance` edits are flagged.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct FuzzyTarget {
    /// Largest Levenshtein distance between fuzzy forms that counts as a look-alike.
    pub tolerance: u32,
    /// The feeds that listed it.
    pub sources: BTreeSet<String>,
}

/// The allow list and fuzzy list of every imported phishing config.
#[derive(
    Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct DomainRules {
    /// Names never flagged (with their subdomains), and the feeds that listed them.
    pub allow: BTreeMap<Domain, BTreeSet<String>>,
    /// Names whose look-alikes are flagged.
    pub fuzzy: BTreeMap<Domain, FuzzyTarget>,
}

/// The fuzzy form of a name: without its last label, and with the first `www.` taken out
/// wherever it occurs (as `String.prototype.replace` does in the reference implementation).
pub fn fuzzy_form(domain: &str) -> String {
    without_last_label(domain).replacen("www.", "", 1)
}

/// The name without its top-level label: the form fuzzy-list names are compared in (the
/// reference removes `www.` only from the name being checked).
fn without_last_label(domain: &str) -> &str {
    domain.rsplit_once('.').map_or("", |(rest, _)| rest)
}

impl DomainRules {
    /// Adds a name to the allow list for `source`; `true` if the list changed.
    pub fn allow(&mut self, domain: Domain, source: &str) -> bool {
        self.allow.entry(domain).or_default().insert(source.to_owned())
    }

    /// Adds a name to the fuzzy list for `source`; `true` if the list changed. A name listed by
    /// several feeds keeps the largest tolerance.
    pub fn fuzzy(&mut self, domain: Domain, tolerance: u32, source: &str) -> bool {
        let target = self
            .fuzzy
            .entry(domain)
            .or_insert_with(|| FuzzyTarget { tolerance, sources: BTreeSet::new() });
        let grew = tolerance > target.tolerance;
        target.tolerance = target.tolerance.max(tolerance);
        target.sources.insert(source.to_owned()) || grew
    }

    /// The allow-list name that covers `domain` (itself or a parent), if any.
    pub fn allowed_by(&self, domain: &Domain) -> Option<&Domain> {
        if let Some((d, _)) = self.allow.get_key_value(domain) {
            return Some(d);
        }
        domain.parents().find_map(|p| {
            let parent: Domain = p.parse().ok()?;
            self.allow.get_key_value(&parent).map(|(d, _)| d)
        })
    }

    /// The first fuzzy-list name (in name order) that `domain` is a look-alike of, with the
    /// distance between their fuzzy forms.
    pub fn look_alike_of(&self, domain: &Domain) -> Option<(&Domain, u32)> {
        let form = fuzzy_form(domain.as_str());
        self.fuzzy.iter().find_map(|(target, rule)| {
            if rule.tolerance == 0 {
                return None;
            }
            let distance = strsim::levenshtein(&form, without_last_label(target.as_str()));
            let distance = u32::try_from(distance).unwrap_or(u32::MAX);
            (distance <= rule.tolerance).then_some((target, distance))
        })
    }

    /// Removes everything `source` contributed; returns how many names were dropped.
    pub fn remove_source(&mut self, source: &str) -> usize {
        let before = self.allow.len() + self.fuzzy.len();
        self.allow.retain(|_, sources| {
            sources.remove(source);
            !sources.is_empty()
        });
        self.fuzzy.retain(|_, t| {
            t.sources.remove(source);
            !t.sources.is_empty()
        });
        before - self.allow.len() - self.fuzzy.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Domain {
        s.parse().unwrap()
    }

    #[test]
    fn fuzzy_form_follows_the_reference() {
        assert_eq!(fuzzy_form("www.myetherwallet.com"), "myetherwallet");
        assert_eq!(fuzzy_form("launchpad.ethereum.org"), "launchpad.ethereum");
        // Only the first "www." is removed, wherever it is.
        assert_eq!(fuzzy_form("awww.x.www.y.com"), "ax.www.y");
    }

    #[test]
    fn look_alikes_within_tolerance() {
        let mut rules = DomainRules::default();
        rules.fuzzy(d("myetherwallet.com"), 2, "mm");
        assert_eq!(rules.look_alike_of(&d("myetherwalet.com")).map(|x| x.1), Some(1));
        assert_eq!(rules.look_alike_of(&d("www.myetherwa11et.io")).map(|x| x.1), Some(2));
        assert!(rules.look_alike_of(&d("myetherwa111et.com")).is_none());
    }

    #[test]
    fn allow_list_covers_subdomains() {
        let mut rules = DomainRules::default();
        rules.allow(d("metamask.io"), "mm");
        assert!(rules.allowed_by(&d("faucet.metamask.io")).is_some());
        assert!(rules.allowed_by(&d("metamask.io")).is_some());
        assert!(rules.allowed_by(&d("notmetamask.io")).is_none());
        assert_eq!(rules.remove_source("mm"), 1);
        assert!(rules.allowed_by(&d("metamask.io")).is_none());
    }
}

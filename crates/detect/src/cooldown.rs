//! Cooldown: one ongoing incident is one alert. A finding whose (detector, incident, stage)
//! was already alerted within the cooldown is folded into that alert, and extends it; after a
//! quiet cooldown the next finding is a new alert. Pending and mined are separate stages, so a
//! transaction alerted in the mempool is alerted again when it is mined.
//!
//! Time is the transactions' own (block timestamps, collector sighting times): no clock.

use std::collections::HashMap;

/// Remembers recent incidents.
#[derive(Debug)]
pub struct Cooldown {
    window: u64,
    last: HashMap<(String, String, bool), u64>,
    admitted: u64,
}

impl Cooldown {
    /// A cooldown of `window` seconds (0 disables it).
    pub fn new(window: u64) -> Self {
        Self { window, last: HashMap::new(), admitted: 0 }
    }

    /// Whether a finding of `incident` by `detector` at `time` starts a new alert.
    pub fn admit(&mut self, detector: &str, incident: &str, pending: bool, time: u64) -> bool {
        if self.window == 0 {
            return true;
        }
        self.admitted += 1;
        if self.admitted.is_multiple_of(4_096) {
            let window = self.window;
            self.last.retain(|_, t| t.saturating_add(window) > time);
        }
        let key = (detector.to_owned(), incident.to_owned(), pending);
        match self.last.get_mut(&key) {
            Some(t) if time < t.saturating_add(self.window) => {
                *t = (*t).max(time);
                false
            }
            _ => {
                self.last.insert(key, time);
                true
            }
        }
    }

    /// Incidents remembered.
    pub fn len(&self) -> usize {
        self.last.len()
    }

    /// Whether none are remembered.
    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ongoing_incident_is_one_alert() {
        let mut c = Cooldown::new(60);
        assert!(c.admit("d", "i", false, 100));
        assert!(!c.admit("d", "i", false, 130));
        // Still ongoing: 130 + 60 > 185.
        assert!(!c.admit("d", "i", false, 185));
        // Quiet for a full window: a new alert.
        assert!(c.admit("d", "i", false, 300));
        // Other incident, other detector, other stage: separate.
        assert!(c.admit("d", "j", false, 300));
        assert!(c.admit("e", "i", false, 300));
        assert!(c.admit("d", "i", true, 300));
        assert!(Cooldown::new(0).admit("d", "i", false, 0));
    }
}

//! Points in time as this crate sees them: whole seconds since the Unix epoch, handed in by the
//! caller. Nothing here reads a clock.

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};

/// A point in time, in whole seconds since 1970-01-01T00:00:00Z.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct Timestamp(pub u64);

/// Why a text is not a timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("timestamp {0:?} is not an RFC 3339 UTC time at or after 1970 (e.g. 2024-05-01T12:00:00Z)")]
pub struct TimestampError(pub String);

impl Timestamp {
    /// The timestamp `secs` seconds after the epoch.
    pub const fn from_unix(secs: u64) -> Self {
        Self(secs)
    }

    /// Seconds since the epoch.
    pub const fn unix(self) -> u64 {
        self.0
    }

    /// Seconds from `self` to `later`, zero when `later` is not later.
    pub const fn seconds_until(self, later: Timestamp) -> u64 {
        later.0.saturating_sub(self.0)
    }

    /// The STIX form: RFC 3339 in UTC with exactly three fractional digits,
    /// `2024-05-01T12:00:00.000Z`, as STIX requires for `created` and `modified`.
    pub fn to_stix(self) -> String {
        let secs = i64::try_from(self.0).unwrap_or(i64::MAX);
        match jiff::Timestamp::from_second(secs) {
            Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S.000Z").to_string(),
            // Beyond jiff's range (year 9999): clamp to its maximum second.
            Err(_) => "9999-12-31T23:59:59.000Z".to_owned(),
        }
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    /// Parses RFC 3339 (`2024-05-01T12:00:00Z`, any fractional digits, any offset); fractions of a
    /// second are dropped.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || TimestampError(s.chars().take(64).collect());
        let ts: jiff::Timestamp = s.trim().parse().map_err(|_| err())?;
        u64::try_from(ts.as_second()).map(Self).map_err(|_| err())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_stix())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.to_stix())
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stix_form_round_trips() {
        let t = Timestamp(1_714_564_800);
        assert_eq!(t.to_stix(), "2024-05-01T12:00:00.000Z");
        assert_eq!("2024-05-01T12:00:00.000Z".parse::<Timestamp>().unwrap(), t);
        assert_eq!("2024-05-01T12:00:00.987654Z".parse::<Timestamp>().unwrap(), t);
        assert_eq!("2024-05-01T14:00:00+02:00".parse::<Timestamp>().unwrap(), t);
    }

    #[test]
    fn bad_times_are_refused() {
        assert!("yesterday".parse::<Timestamp>().is_err());
        assert!("1969-12-31T23:59:59Z".parse::<Timestamp>().is_err());
        assert!("2024-13-01T00:00:00Z".parse::<Timestamp>().is_err());
    }
}

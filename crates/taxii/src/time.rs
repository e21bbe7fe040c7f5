//! TAXII timestamps: microseconds since the Unix epoch, written in RFC 3339 with six
//! fractional digits (`2024-05-01T12:00:00.123456Z`), the precision `date_added` needs for
//! `added_after` to be exact.

/// Microseconds since 1970-01-01T00:00:00Z.
pub type Micros = u64;

/// Formats microseconds as a TAXII timestamp.
pub fn format_micros(micros: Micros) -> String {
    let secs = i64::try_from(micros / 1_000_000).unwrap_or(i64::MAX);
    let nanos = i32::try_from((micros % 1_000_000) * 1_000).unwrap_or(0);
    match jiff::Timestamp::new(secs, nanos) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        Err(_) => "9999-12-31T23:59:59.999999Z".to_owned(),
    }
}

/// Parses an RFC 3339 timestamp into microseconds (finer digits are dropped). `None` when it
/// is not a timestamp at or after 1970.
pub fn parse_micros(s: &str) -> Option<Micros> {
    let ts: jiff::Timestamp = s.trim().parse().ok()?;
    let micros = ts.as_microsecond();
    u64::try_from(micros).ok()
}

/// The current time from the system clock (the server's own clock; the store takes time as a
/// parameter).
pub fn now_micros() -> Micros {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_at_microsecond_precision() {
        let t = 1_714_564_800_123_456;
        assert_eq!(format_micros(t), "2024-05-01T12:00:00.123456Z");
        assert_eq!(parse_micros(&format_micros(t)), Some(t));
        assert_eq!(parse_micros("2024-05-01T12:00:00Z"), Some(1_714_564_800_000_000));
        assert_eq!(parse_micros("2024-05-01T12:00:00.1234569Z"), Some(t));
        assert_eq!(parse_micros("yesterday"), None);
        assert_eq!(parse_micros("1969-01-01T00:00:00Z"), None);
    }
}

//! Text feeds: one value a line, as blocklists are often published.

use super::values;
use super::{ImportError, ImportOptions, Parsed, Staged, Ticker};

/// Addresses a hosts-file line maps a blocked name to.
const HOSTS_SINKS: [&str; 4] = ["0.0.0.0", "127.0.0.1", "::", "::1"];

/// A text list: one indicator a line (address, domain, URL, code hash, …). Blank lines and
/// `#` or `//` comments are ignored, as is a trailing comment after whitespace; a hosts-file
/// line (`0.0.0.0 name`) gives its name. Every record gets the default category.
pub(super) fn text(
    input: &[u8],
    options: &ImportOptions,
    ticker: &mut Ticker<'_>,
) -> Result<Staged, ImportError> {
    let text = std::str::from_utf8(input).map_err(|e| {
        let line = input[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() as u64 + 1;
        ImportError::Shape(format!("line {line} is not UTF-8 text"))
    })?;
    let mut staged = Staged::default();
    let category = options.categories.default_category();
    let mut offset = 0;
    for (i, line) in text.lines().enumerate() {
        offset += line.len() + 1;
        ticker.tick(offset);
        let Some(value) = value_of(line) else { continue };
        staged.read += 1;
        let number = i as u64 + 1;
        match values::classify(value, options.chain, &mut staged) {
            Ok(indicator) => staged.records.push(Parsed {
                indicator,
                category,
                label: None,
                seen: None,
                confidence: None,
                valid_until: None,
            }),
            Err(why) => staged.not_imported(number, why),
        }
    }
    Ok(staged)
}

/// The value of one line, without comments and hosts-file sinks; `None` for nothing.
fn value_of(line: &str) -> Option<&str> {
    let line = line.trim().trim_start_matches('\u{feff}');
    if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
        return None;
    }
    let mut words = line.split_whitespace();
    let first = words.next()?;
    let value = match words.next() {
        // A hosts file's own entries name the machine, not a blocked site.
        Some("localhost" | "localhost.localdomain" | "local" | "broadcasthost" | "0.0.0.0")
            if HOSTS_SINKS.contains(&first) =>
        {
            return None;
        }
        Some(name) if HOSTS_SINKS.contains(&first) => name,
        _ => first,
    };
    (!value.starts_with('#')).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::value_of;

    #[test]
    fn comments_blanks_and_hosts_lines() {
        assert_eq!(value_of("  # a comment"), None);
        assert_eq!(value_of(""), None);
        assert_eq!(value_of("0.0.0.0 evil.io"), Some("evil.io"));
        assert_eq!(value_of("127.0.0.1 localhost"), None);
        assert_eq!(value_of("evil.io # seen 2024"), Some("evil.io"));
        assert_eq!(value_of("\u{feff}0xabc"), Some("0xabc"));
    }
}

//! Line and JSON feeds: OFAC lists, MetaMask's phishing config, generic JSON lists.

use serde::Deserialize;
use serde_json::value::RawValue;
use vigil_core::{Category, Domain, EvmAddress, Indicator};

use super::csv_feeds::{parse_confidence, parse_indicator, truncate};
use super::{ImportError, ImportOptions, LineIndex, Parsed, Staged, Ticker};

/// Why OFAC entries are skipped.
const NON_EVM: &str = "not an EVM address (Bitcoin, Tron, ... entries of the list)";

fn first_non_space(input: &[u8]) -> Option<u8> {
    input.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// An OFAC sanctioned-address list: one address a line (`#` comments allowed), or a JSON
/// array of strings. Entries that are not `0x…` addresses (other chains) are skipped and
/// counted; a malformed `0x…` entry is rejected.
pub(super) fn ofac(
    input: &[u8],
    options: &ImportOptions,
    ticker: &mut Ticker<'_>,
) -> Result<Staged, ImportError> {
    let mut staged = Staged::default();
    let entry = |staged: &mut Staged, line: u64, value: &str| {
        staged.read += 1;
        let value = value.trim();
        if !(value.starts_with("0x") || value.starts_with("0X")) {
            staged.skip(NON_EVM);
            return;
        }
        match value.parse::<EvmAddress>() {
            Ok(address) => staged.records.push(Parsed {
                indicator: Indicator::Address { chain: options.chain, address },
                category: Category::Sanctioned,
                label: Some("OFAC SDN".into()),
                seen: None,
                confidence: None,
                valid_until: None,
            }),
            Err(e) => staged.reject(line, format!("{:?}: {e}", truncate(value))),
        }
    };
    if first_non_space(input) == Some(b'[') {
        let items: Vec<&RawValue> =
            serde_json::from_slice(input).map_err(|e| ImportError::json(&e))?;
        let mut lines = LineIndex::new(input);
        for raw in items {
            let line = lines.line_of(raw);
            ticker.tick(lines.offset_of(raw));
            match serde_json::from_str::<String>(raw.get()) {
                Ok(s) => entry(&mut staged, line, &s),
                Err(_) => {
                    staged.read += 1;
                    staged
                        .reject(line, format!("expected a string, found {}", truncate(raw.get())));
                }
            }
        }
    } else {
        let text = std::str::from_utf8(input).map_err(|e| {
            let line = input[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() as u64 + 1;
            ImportError::Shape(format!("line {line} is not UTF-8 text"))
        })?;
        let mut offset = 0;
        for (i, line) in text.lines().enumerate() {
            offset += line.len() + 1;
            ticker.tick(offset);
            let value = line.split('#').next().unwrap_or_default().trim();
            if !value.is_empty() {
                entry(&mut staged, i as u64 + 1, value);
            }
        }
    }
    Ok(staged)
}

/// MetaMask's `config.json` (version 1 or 2, or the later `allowlist`/`blocklist` names).
#[derive(Deserialize)]
struct PhishingConfig<'a> {
    #[serde(default, alias = "allowlist", borrow)]
    whitelist: Vec<&'a RawValue>,
    #[serde(default, alias = "blocklist", borrow)]
    blacklist: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    fuzzylist: Vec<&'a RawValue>,
    #[serde(default)]
    tolerance: Option<u32>,
}

/// The reference implementation's tolerance when a config names none.
const DEFAULT_TOLERANCE: u32 = 3;

/// A MetaMask `eth-phishing-detect` config: `blacklist` names become phishing indicators,
/// `whitelist` names the allow list, `fuzzylist` names (with `tolerance`) the look-alike rules.
pub(super) fn metamask(
    input: &[u8],
    _options: &ImportOptions,
    ticker: &mut Ticker<'_>,
) -> Result<Staged, ImportError> {
    if first_non_space(input) != Some(b'{') {
        return Err(ImportError::Shape(
            "a MetaMask phishing config is a JSON object with blacklist, whitelist and fuzzylist"
                .into(),
        ));
    }
    let config: PhishingConfig<'_> =
        serde_json::from_slice(input).map_err(|e| ImportError::json(&e))?;
    if config.whitelist.is_empty() && config.blacklist.is_empty() && config.fuzzylist.is_empty() {
        return Err(ImportError::Shape("config has no blacklist, whitelist or fuzzylist".into()));
    }
    let tolerance = config.tolerance.unwrap_or(DEFAULT_TOLERANCE);
    let mut staged = Staged::default();
    let mut lines = LineIndex::new(input);
    // Visit the lists in input order so line numbers only grow.
    let mut lists: Vec<(u8, &Vec<&RawValue>)> =
        vec![(0, &config.whitelist), (1, &config.blacklist), (2, &config.fuzzylist)];
    lists.sort_by_key(|(_, l)| l.first().map_or(usize::MAX, |r| lines.offset_of(r)));
    for (which, list) in lists {
        for raw in list {
            staged.read += 1;
            let line = lines.line_of(raw);
            ticker.tick(lines.offset_of(raw));
            let domain = match serde_json::from_str::<String>(raw.get()) {
                Ok(s) => s.parse::<Domain>().map_err(|e| format!("{:?}: {e}", truncate(&s))),
                Err(_) => Err(format!("expected a domain string, found {}", truncate(raw.get()))),
            };
            match (which, domain) {
                (_, Err(reason)) => staged.reject(line, reason),
                (0, Ok(d)) => staged.allow.push(d),
                (1, Ok(d)) => staged.records.push(Parsed {
                    indicator: Indicator::Domain(d),
                    category: Category::Phishing,
                    label: None,
                    seen: None,
                    confidence: None,
                    valid_until: None,
                }),
                (_, Ok(d)) => staged.fuzzy.push((d, tolerance)),
            }
        }
    }
    Ok(staged)
}

/// One entry of a generic JSON list given as an object.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonEntry {
    #[serde(alias = "address", alias = "domain", alias = "value", alias = "ioc")]
    indicator: String,
    #[serde(default, alias = "tag", alias = "name")]
    label: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    confidence: Option<serde_json::Value>,
}

/// A generic JSON list: an array (or `{"indicators": [...]}`) whose items are indicator strings
/// or objects `{"indicator", "label"?, "category"?, "confidence"?}`.
pub(super) fn generic(
    input: &[u8],
    options: &ImportOptions,
    ticker: &mut Ticker<'_>,
) -> Result<Staged, ImportError> {
    #[derive(Deserialize)]
    struct Wrapped<'a> {
        #[serde(borrow)]
        indicators: Vec<&'a RawValue>,
    }
    let items: Vec<&RawValue> = match first_non_space(input) {
        Some(b'[') => serde_json::from_slice(input).map_err(|e| ImportError::json(&e))?,
        Some(b'{') => {
            let w: Wrapped<'_> =
                serde_json::from_slice(input).map_err(|e| ImportError::json(&e))?;
            w.indicators
        }
        _ => {
            return Err(ImportError::Shape(
                "a JSON list is an array, or an object with an \"indicators\" array".into(),
            ));
        }
    };
    let mut staged = Staged::default();
    let mut lines = LineIndex::new(input);
    for raw in items {
        staged.read += 1;
        let line = lines.line_of(raw);
        ticker.tick(lines.offset_of(raw));
        match generic_entry(raw, options) {
            Ok(p) => staged.records.push(p),
            Err(reason) => staged.reject(line, reason),
        }
    }
    Ok(staged)
}

fn generic_entry(raw: &RawValue, options: &ImportOptions) -> Result<Parsed, String> {
    if let Ok(s) = serde_json::from_str::<String>(raw.get()) {
        let indicator = parse_indicator(&s, options.chain)?;
        return Ok(Parsed {
            indicator,
            category: options.category,
            label: None,
            seen: None,
            confidence: None,
            valid_until: None,
        });
    }
    let entry: JsonEntry = serde_json::from_str(raw.get())
        .map_err(|e| format!("expected an indicator string or object: {e}"))?;
    let indicator = parse_indicator(&entry.indicator, options.chain)?;
    let category = match entry.category {
        Some(c) => c.parse::<Category>().map_err(|e| e.to_string())?,
        None => options.category,
    };
    let confidence = match entry.confidence {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(parse_confidence(v.to_string().trim_matches('"'))?),
    };
    Ok(Parsed {
        indicator,
        category,
        label: entry.label,
        seen: None,
        confidence,
        valid_until: None,
    })
}

//! Line and JSON feeds: OFAC lists, MetaMask's phishing config, generic JSON lists.

use serde::Deserialize;
use serde_json::value::RawValue;
use vigil_core::{Category, Domain, EvmAddress, Indicator};

use super::csv_feeds::{parse_confidence, truncate};
use super::json_path::{Found, Members, items, members};
use super::values::{self, NotImported};
use super::{ImportError, ImportOptions, LineIndex, Parsed, Staged, Ticker};

/// Why OFAC entries of an unrecognised shape are skipped.
const NON_EVM: &str = "not an EVM address (another chain's entry of the list)";

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
            staged.skip(vigil_core::other_chain_address(value).unwrap_or(NON_EVM));
            return;
        }
        if EvmAddress::checksum_mismatch(value) {
            staged.warn(values::CHECKSUM_WARNING);
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
            Err(e) => {
                staged.reject(line, "malformed 0x address", format!("{:?}: {e}", truncate(value)))
            }
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
                    staged.reject(
                        line,
                        "not a string",
                        format!("expected a string, found {}", truncate(raw.get())),
                    );
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
                (_, Err(reason)) => staged.reject(line, "not a domain", reason),
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

/// Names of the member that holds an entry object's indicator, in order of preference.
const INDICATOR_FIELDS: [&str; 8] =
    ["indicator", "address", "domain", "url", "value", "ioc", "host", "hostname"];
/// Names of an entry object's label.
const LABEL_FIELDS: [&str; 6] = ["label", "tag", "name", "comment", "description", "title"];
/// Names of an entry object's category.
const CATEGORY_FIELDS: [&str; 3] = ["category", "threat", "threat_type"];
/// Members of a top-level object that hold the feed's values, as common feeds name them.
const LIST_MEMBERS: [&str; 14] = [
    "indicators",
    "domains",
    "addresses",
    "address",
    "urls",
    "blacklist",
    "blocklist",
    "denylist",
    "data",
    "result",
    "items",
    "entries",
    "list",
    "iocs",
];

/// A generic JSON feed. With `--path`, the values the paths select; otherwise the shape is
/// recognised: an array of values; an object with list members (`indicators`, `domains`,
/// `addresses`, …); or an object keyed by indicators whose values are more indicators (a
/// domain → its addresses) or metadata. A value is an indicator string or an object
/// `{"indicator"|"address"|"domain"|"url"|…, "label"?, "category"?, "confidence"?}`.
pub(super) fn generic(
    input: &[u8],
    options: &ImportOptions,
    ticker: &mut Ticker<'_>,
) -> Result<Staged, ImportError> {
    let root: &RawValue = serde_json::from_slice(input).map_err(|e| ImportError::json(&e))?;
    let mut staged = Staged::default();
    let mut lines = LineIndex::new(input);
    let mut ctx = Ctx { options, staged: &mut staged, lines: &mut lines, ticker };
    if options.json_paths.is_empty() {
        detect(root, &mut ctx, 0)?;
    } else {
        for path in &options.json_paths {
            let mut missing = 0;
            let found = path.select(root, &mut missing);
            if found.is_empty() {
                return Err(ImportError::Shape(format!(
                    "--path {path} selects nothing in this document ({})",
                    describe(root)
                )));
            }
            for f in found {
                match f {
                    Found::Value { raw, under } => ctx.value(raw, under.as_deref()),
                    Found::Name { name, value } => ctx.name(&name, value),
                }
            }
        }
    }
    Ok(staged)
}

struct Ctx<'c, 'i, 't> {
    options: &'c ImportOptions,
    staged: &'c mut Staged,
    lines: &'c mut LineIndex<'i>,
    ticker: &'c mut Ticker<'t>,
}

/// Keys sampled to decide whether an object is keyed by indicators.
const KEY_SAMPLE: usize = 50;

/// Recognises the document's shape and reads it (see [`generic`]).
fn detect(root: &RawValue, ctx: &mut Ctx<'_, '_, '_>, depth: u8) -> Result<(), ImportError> {
    if let Some(list) = items(root) {
        for raw in list {
            ctx.value(raw, None);
        }
        return Ok(());
    }
    let Some(object) = members(root) else {
        return Err(ImportError::Shape(format!(
            "expected a JSON array or object of indicators, found {}",
            describe(root)
        )));
    };
    let lists: Vec<_> = object
        .0
        .iter()
        .filter(|(k, v)| {
            LIST_MEMBERS.contains(&k.to_ascii_lowercase().as_str())
                && (v.get().starts_with('[') || v.get().starts_with('{'))
        })
        .collect();
    if !lists.is_empty() && depth == 0 {
        for (_, value) in lists {
            detect(value, ctx, depth + 1)?;
        }
        return Ok(());
    }
    let mut probe = Staged::default();
    let keyed = object
        .0
        .iter()
        .take(KEY_SAMPLE)
        .filter(|(k, _)| match values::classify(k, None, &mut probe) {
            Ok(_) | Err(NotImported::Skip(_)) => true,
            Err(NotImported::Reject { .. }) => false,
        })
        .count();
    if keyed * 2 > object.0.len().min(KEY_SAMPLE) {
        for (name, value) in &object.0 {
            ctx.name(name, value);
            if let Some(list) = items(value) {
                for raw in list {
                    // Objects without an indicator of their own describe the key.
                    if members(raw).is_some_and(|m| field(&m, &INDICATOR_FIELDS).is_none()) {
                        continue;
                    }
                    ctx.value(raw, Some(name));
                }
            } else if value.get().starts_with('"') {
                ctx.value(value, Some(name));
            }
        }
        return Ok(());
    }
    let names: Vec<&str> = object.0.iter().take(12).map(|(k, _)| k.as_ref()).collect();
    Err(ImportError::Shape(format!(
        "cannot tell where this JSON object keeps its indicators (members: {}); name them with \
         --path, e.g. --path {} for a list member, --path '*' for an object keyed by \
         indicators, --path '*.[]' for the values of each key",
        names.join(", "),
        names.first().copied().unwrap_or("indicators")
    )))
}

/// A short description of a JSON value's type, for errors.
fn describe(raw: &RawValue) -> String {
    match raw.get().as_bytes().first() {
        Some(b'{') => {
            let names: Vec<String> = members(raw)
                .map(|m| m.0.iter().take(12).map(|(k, _)| k.to_string()).collect())
                .unwrap_or_default();
            format!("an object with members {}", names.join(", "))
        }
        Some(b'[') => "an array".into(),
        Some(b'"') => "a string".into(),
        _ => format!("the value {}", truncate(raw.get())),
    }
}

/// The string value of the first of `names` present in an object.
fn field<'m>(m: &'m Members<'_>, names: &[&str]) -> Option<&'m RawValue> {
    names.iter().find_map(|n| m.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| *v))
}

fn as_text(raw: &RawValue) -> Option<String> {
    match serde_json::from_str::<serde_json::Value>(raw.get()).ok()? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Array(a) => {
            let words: Vec<String> =
                a.into_iter().filter_map(|v| v.as_str().map(str::to_owned)).collect();
            (!words.is_empty()).then(|| words.join(", "))
        }
        _ => None,
    }
}

/// What an entry object says about its indicator.
#[derive(Default)]
struct Meta {
    label: Option<String>,
    category: Option<String>,
    confidence: Option<String>,
}

fn meta_of(m: &Members<'_>) -> Meta {
    Meta {
        label: field(m, &LABEL_FIELDS).and_then(as_text),
        category: field(m, &CATEGORY_FIELDS).and_then(as_text),
        confidence: field(m, &["confidence", "score"]).and_then(as_text),
    }
}

impl Ctx<'_, '_, '_> {
    /// A member name that is an indicator, with its value's metadata when that is an object
    /// (or an array of objects).
    fn name(&mut self, name: &str, value: &RawValue) {
        let line = self.lines.line_of(value);
        self.ticker.tick(self.lines.offset_of(value));
        let meta = members(value).map(|m| meta_of(&m)).or_else(|| {
            items(value)?.into_iter().find_map(|raw| {
                members(raw).filter(|m| field(m, &INDICATOR_FIELDS).is_none()).map(|m| meta_of(&m))
            })
        });
        self.record(line, name, meta.unwrap_or_default());
    }

    /// One selected JSON value: a string, or an entry object.
    fn value(&mut self, raw: &RawValue, under: Option<&str>) {
        let line = self.lines.line_of(raw);
        self.ticker.tick(self.lines.offset_of(raw));
        if let Ok(s) = serde_json::from_str::<String>(raw.get()) {
            let meta = Meta { label: under.map(str::to_owned), ..Meta::default() };
            return self.record(line, &s, meta);
        }
        let Some(m) = members(raw) else {
            self.staged.read += 1;
            return self.staged.reject(
                line,
                "not a string or object",
                format!("expected an indicator string or object, found {}", truncate(raw.get())),
            );
        };
        let Some(value) = field(&m, &INDICATOR_FIELDS).and_then(as_text) else {
            self.staged.read += 1;
            return self.staged.reject(
                line,
                "object without an indicator",
                format!(
                    "object has none of the members {}: {}",
                    INDICATOR_FIELDS.join(", "),
                    truncate(raw.get())
                ),
            );
        };
        let mut meta = meta_of(&m);
        if meta.label.is_none() {
            meta.label = under.map(str::to_owned);
        }
        self.record(line, &value, meta);
    }

    fn record(&mut self, line: u64, value: &str, meta: Meta) {
        self.staged.read += 1;
        let indicator = match values::classify(value, self.options.chain, self.staged) {
            Ok(i) => i,
            Err(why) => return self.staged.not_imported(line, why),
        };
        let confidence = match meta.confidence.as_deref().map(parse_confidence).transpose() {
            Ok(c) => c,
            Err(reason) => return self.staged.reject(line, "bad confidence", reason),
        };
        let category = self.options.categories.resolve(meta.category.as_deref(), self.staged);
        self.staged.records.push(Parsed {
            indicator,
            category,
            label: meta.label,
            seen: None,
            confidence,
            valid_until: None,
        });
    }
}

//! MISP events, as MISP exports them (`{"Event": …}`), as its REST search answers
//! (`{"response": [{"Event": …}]}`), or as a list of events: every attribute, also those inside
//! objects, is read.
//!
//! MISP has no attribute type for EVM addresses; events carry them as `text`, `other`, `btc`
//! (wrongly) or in `coin-address` objects. So the value decides, not the type: whatever is an
//! indicator Vigil matches (address, domain, hostname, URL, code hash, …) is imported, other
//! chains' addresses are skipped by kind, and the types Vigil cannot match on chain or on the
//! web (file hashes, IP addresses, e-mail addresses, file names, …) are skipped by type.
//! Attributes with `to_ids: false` are context, not indicators, and are skipped; so are deleted
//! ones. The category comes from the first attribute or event tag that names one (`phishing`,
//! `circl:incident-classification="scam"`, …), else from `--default-category`; the label is the
//! attribute's comment, else the event's `info`.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::json_path::{items, members};
use super::values::{self, NotImported};
use super::{ImportError, ImportOptions, LineIndex, Parsed, Staged, Ticker};
use crate::time::Timestamp;

/// Types whose value is never an indicator Vigil matches.
const UNUSABLE_TYPES: [&str; 22] = [
    "md5",
    "sha1",
    "sha224",
    "sha384",
    "sha512",
    "ssdeep",
    "imphash",
    "tlsh",
    "filename",
    "filename|md5",
    "filename|sha1",
    "filename|sha256",
    "ip-src",
    "ip-dst",
    "ip-src|port",
    "ip-dst|port",
    "email",
    "email-src",
    "email-dst",
    "email-subject",
    "mutex",
    "regkey",
];

#[derive(Deserialize)]
struct Attribute {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default = "yes", deserialize_with = "flag")]
    to_ids: bool,
    #[serde(default, deserialize_with = "flag")]
    deleted: bool,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    timestamp: Option<serde_json::Value>,
    #[serde(rename = "Tag", default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
struct Tag {
    #[serde(default)]
    name: String,
}

fn yes() -> bool {
    true
}

/// MISP writes flags as booleans, `0`/`1`, or `"0"`/`"1"`.
fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Bool(b) => b,
        serde_json::Value::Number(n) => n.as_u64() != Some(0),
        serde_json::Value::String(s) => !matches!(s.as_str(), "0" | "false" | ""),
        _ => false,
    })
}

/// Reads MISP events (see the module docs).
pub(super) fn misp(
    input: &[u8],
    options: &ImportOptions,
    ticker: &mut Ticker<'_>,
) -> Result<Staged, ImportError> {
    let root: &RawValue = serde_json::from_slice(input).map_err(|e| ImportError::json(&e))?;
    let events = events_of(root).ok_or_else(|| {
        ImportError::Shape(
            "a MISP export is {\"Event\": {…}}, {\"response\": [{\"Event\": {…}}, …]} or a list \
             of events"
                .into(),
        )
    })?;
    let mut staged = Staged::default();
    let mut lines = LineIndex::new(input);
    for event in events {
        let Some(m) = members(event) else { continue };
        let get = |name: &str| m.0.iter().find(|(k, _)| k == name).map(|(_, v)| *v);
        let info = get("info").and_then(|v| serde_json::from_str::<String>(v.get()).ok());
        let event_tags: Vec<Tag> =
            get("Tag").and_then(|v| serde_json::from_str(v.get()).ok()).unwrap_or_default();
        let mut attributes: Vec<&RawValue> = get("Attribute").and_then(items).unwrap_or_default();
        for object in get("Object").and_then(items).unwrap_or_default() {
            if let Some(om) = members(object)
                && let Some((_, list)) = om.0.iter().find(|(k, _)| k == "Attribute")
            {
                attributes.extend(items(list).unwrap_or_default());
            }
        }
        // Objects' attributes follow the event's: keep line numbers rising.
        attributes.sort_by_key(|raw| lines.offset_of(raw));
        for raw in attributes {
            let line = lines.line_of(raw);
            ticker.tick(lines.offset_of(raw));
            staged.read += 1;
            let attribute: Attribute = match serde_json::from_str(raw.get()) {
                Ok(a) => a,
                Err(e) => {
                    staged.reject(line, "malformed MISP attribute", format!("attribute: {e}"));
                    continue;
                }
            };
            attribute_record(&attribute, line, info.as_deref(), &event_tags, options, &mut staged);
        }
    }
    Ok(staged)
}

/// The events of a MISP document.
fn events_of(root: &RawValue) -> Option<Vec<&RawValue>> {
    fn unwrap(raw: &RawValue) -> Option<&RawValue> {
        let m = members(raw)?;
        match m.0.iter().find(|(k, _)| k == "Event") {
            Some((_, event)) => Some(*event),
            None => m.0.iter().any(|(k, _)| k == "Attribute" || k == "Object").then_some(raw),
        }
    }
    if let Some(list) = items(root) {
        return Some(list.into_iter().filter_map(unwrap).collect());
    }
    let m = members(root)?;
    if let Some((_, response)) = m.0.iter().find(|(k, _)| k == "response") {
        return Some(items(response)?.into_iter().filter_map(unwrap).collect());
    }
    unwrap(root).map(|e| vec![e])
}

fn attribute_record(
    a: &Attribute,
    line: u64,
    info: Option<&str>,
    event_tags: &[Tag],
    options: &ImportOptions,
    staged: &mut Staged,
) {
    if a.deleted {
        return staged.skip("deleted MISP attribute");
    }
    if !a.to_ids {
        return staged.skip("MISP attribute with to_ids false (context, not an indicator)");
    }
    let Some(value) = a.value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
        return staged.reject(line, "MISP attribute without a value", "attribute has no value");
    };
    let kind = a.kind.as_str();
    if UNUSABLE_TYPES.contains(&kind) || kind.starts_with("sha256") || kind.starts_with("email") {
        return staged.skip(&format!("MISP type {kind} (not matched on chain or the web)"));
    }
    // `domain|ip` and `hostname|port` carry the name first.
    let value = if kind.contains('|') { value.split('|').next().unwrap_or(value) } else { value };
    let indicator = match values::classify(value, options.chain, staged) {
        Ok(i) => i,
        Err(NotImported::Skip(what)) => return staged.skip(what),
        Err(NotImported::Reject { .. })
            if matches!(kind, "text" | "other" | "comment" | "link" | "comment|other") =>
        {
            return staged.skip(&format!("MISP {kind} attribute that is not an indicator"));
        }
        Err(why) => return staged.not_imported(line, why),
    };
    let category = a
        .tags
        .iter()
        .chain(event_tags)
        .find_map(|t| tag_category(&t.name, options))
        .unwrap_or_else(|| options.categories.default_category());
    let label = a.comment.as_deref().filter(|c| !c.trim().is_empty()).or(info).map(str::to_owned);
    let seen = a.timestamp.as_ref().and_then(|t| match t {
        serde_json::Value::String(s) => s.parse().ok(),
        serde_json::Value::Number(n) => n.as_u64(),
        _ => None,
    });
    staged.records.push(Parsed {
        indicator,
        category,
        label,
        seen: seen.map(Timestamp),
        confidence: None,
        valid_until: None,
    });
}

/// The category a MISP tag names: the tag itself, or its value after `:` / `=` (quotes off).
fn tag_category(tag: &str, options: &ImportOptions) -> Option<vigil_core::Category> {
    let last = tag.rsplit([':', '=']).next().unwrap_or(tag).trim_matches('"');
    options.categories.known(last).or_else(|| options.categories.known(tag))
}

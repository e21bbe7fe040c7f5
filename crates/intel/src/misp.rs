//! Vigil's intelligence as a MISP feed: the directory a MISP instance subscribes to (Sync
//! Actions → Feeds → Add Feed, source format "MISP Feed", a URL or local path) — a
//! `manifest.json` naming every event by uuid with its summary, and one `<uuid>.json` per event
//! (`{"Event": …}`).
//!
//! The feed is made from a STIX 2.1 bundle of the node (`vigil stix export`): each confirmed
//! ledger report becomes an event of its indicators, tagged with its category, severity and
//! status; the indicator book becomes one event per source. Values use MISP's types where it
//! has them (`domain`, `url`); MISP has none for EVM values, so an address is a `coin-address`
//! object (`address-crypto` with `symbol` ETH, as MISP's object template prescribes for
//! non-Bitcoin coins), and code hashes, selectors and transaction hashes are `text` in Vigil's
//! text form (`codehash:0x…`, `selector:0x…`, `tx:1:0x…`), which Vigil's MISP import reads back.
//! A chain-scoped address is written in CAIP-10 form (`eip155:1:0x…`). Every attribute carries
//! its category as a tag (`vigil:category="scam"`) and `to_ids: true`; the event carries the
//! TLP of the bundle's marking. Uuids are derived from the STIX ids, so the same bundle gives
//! the same feed, and a MISP that pulls it again updates events instead of duplicating them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use uuid::Uuid;
use vigil_core::Indicator;

use crate::stix::pattern::indicators_in;
use crate::time::Timestamp;

/// The uuid and version of MISP's `coin-address` object template.
const COIN_ADDRESS_TEMPLATE: (&str, &str) = ("d0e6997e-78da-4815-a6a1-cfc1c1cb8a46", "7");

/// A MISP feed: file name → contents, and counts.
#[derive(Debug, Default)]
pub struct MispFeed {
    /// `manifest.json` and `<uuid>.json` files.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Events written.
    pub events: usize,
    /// Attributes written (an address object counts once).
    pub attributes: usize,
}

/// Why a bundle could not be made a feed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a STIX bundle to make a MISP feed of: {0}")]
pub struct MispFeedError(String);

/// What the feed says about its producer.
#[derive(Clone, Debug)]
pub struct FeedOptions {
    /// The organisation that created the events (MISP's `Orgc`).
    pub org: String,
}

impl Default for FeedOptions {
    fn default() -> Self {
        Self { org: "Vigil".into() }
    }
}

/// An indicator object of the bundle.
struct StixIndicator {
    indicators: Vec<Indicator>,
    category: String,
    description: String,
    modified: Timestamp,
    sources: BTreeSet<String>,
}

/// An event being built.
struct Event {
    uuid: Uuid,
    info: String,
    modified: Timestamp,
    tags: Vec<String>,
    /// Indicator text → (indicator, category, comment, modified); one attribute per value.
    attributes: BTreeMap<String, (Indicator, String, String, Timestamp)>,
}

fn time_of(o: &Value, field: &str) -> Timestamp {
    o[field].as_str().and_then(|s| s.parse().ok()).unwrap_or_default()
}

fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://github.com/vigil-network/vigil/misp-feed")
}

/// The uuid of a STIX id (`type--<uuid>`), or one derived from the whole text.
fn uuid_of(stix_id: &str) -> Uuid {
    stix_id
        .split_once("--")
        .and_then(|(_, u)| u.parse().ok())
        .unwrap_or_else(|| Uuid::new_v5(&namespace(), stix_id.as_bytes()))
}

/// Makes a MISP feed of the STIX 2.1 `bundle` (see the module docs).
pub fn feed_from_stix(bundle: &[u8], options: &FeedOptions) -> Result<MispFeed, MispFeedError> {
    let root: Value = serde_json::from_slice(bundle).map_err(|e| MispFeedError(e.to_string()))?;
    if root["type"] != "bundle" {
        return Err(MispFeedError("its type is not \"bundle\"".into()));
    }
    let objects =
        root["objects"].as_array().ok_or_else(|| MispFeedError("it has no objects list".into()))?;
    let mut tlp = BTreeMap::new();
    let mut indicators: BTreeMap<String, StixIndicator> = BTreeMap::new();
    let mut reports = Vec::new();
    for o in objects {
        match o["type"].as_str() {
            Some("marking-definition") => {
                if let (Some(id), Some(name)) = (o["id"].as_str(), o["name"].as_str()) {
                    tlp.insert(id.to_owned(), name.to_ascii_lowercase());
                }
            }
            Some("indicator") => {
                let (Some(id), Some(pattern)) = (o["id"].as_str(), o["pattern"].as_str()) else {
                    continue;
                };
                // A pattern naming nothing Vigil matches has nothing to publish.
                let Ok(found) = indicators_in(pattern) else { continue };
                let labels: Vec<&str> = o["labels"]
                    .as_array()
                    .map(|l| l.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let entry = indicators.entry(id.to_owned()).or_insert_with(|| StixIndicator {
                    indicators: found,
                    category: labels.first().copied().unwrap_or("other").to_owned(),
                    description: o["description"].as_str().unwrap_or_default().to_owned(),
                    modified: Timestamp::default(),
                    sources: BTreeSet::new(),
                });
                entry.modified = entry.modified.max(time_of(o, "modified"));
                entry.sources.extend(
                    labels.iter().filter_map(|l| l.strip_prefix("source:")).map(str::to_owned),
                );
            }
            Some("report") => reports.push(o),
            _ => {}
        }
    }
    let marking = |o: &Value| -> Option<String> {
        o["object_marking_refs"].as_array()?.iter().find_map(|m| tlp.get(m.as_str()?).cloned())
    };
    let bundle_tlp = tlp.values().next().cloned();

    let mut events: Vec<Event> = Vec::new();
    for r in reports {
        let labels: Vec<&str> = r["labels"]
            .as_array()
            .map(|l| l.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !labels.contains(&"confirmed") {
            continue;
        }
        let category = labels.first().copied().unwrap_or("other");
        let mut tags =
            vec![format!("vigil:category=\"{category}\""), "vigil:status=\"confirmed\"".into()];
        if let Some(severity) = labels.get(1) {
            tags.push(format!("vigil:severity=\"{severity}\""));
        }
        tags.extend(marking(r));
        let mut event = Event {
            uuid: uuid_of(r["id"].as_str().unwrap_or_default()),
            info: r["name"].as_str().unwrap_or("Vigil report").to_owned(),
            modified: time_of(r, "modified"),
            tags,
            attributes: BTreeMap::new(),
        };
        let refs = r["object_refs"].as_array().map(Vec::as_slice).unwrap_or_default();
        for id in refs.iter().filter_map(Value::as_str) {
            if let Some(i) = indicators.get(id) {
                add(&mut event, i, category);
            }
        }
        if !event.attributes.is_empty() {
            events.push(event);
        }
    }
    let mut by_source: BTreeMap<&str, Vec<&StixIndicator>> = BTreeMap::new();
    for i in indicators.values() {
        for s in &i.sources {
            by_source.entry(s).or_default().push(i);
        }
    }
    for (source, list) in by_source {
        let mut tags = vec![format!("vigil:source=\"{source}\"")];
        tags.extend(bundle_tlp.clone());
        let mut event = Event {
            uuid: Uuid::new_v5(&namespace(), format!("book:{source}").as_bytes()),
            info: format!("Vigil indicator book: {source}"),
            modified: Timestamp::default(),
            tags,
            attributes: BTreeMap::new(),
        };
        for i in list {
            event.modified = event.modified.max(i.modified);
            add(&mut event, i, &i.category);
        }
        events.push(event);
    }

    let org = json!({ "name": options.org, "uuid": Uuid::new_v5(&namespace(), options.org.as_bytes()).to_string() });
    let mut feed = MispFeed::default();
    let mut manifest = serde_json::Map::new();
    for event in events {
        let (json, attributes) = event_json(&event, &org);
        feed.attributes += attributes;
        feed.events += 1;
        manifest.insert(
            event.uuid.to_string(),
            json!({
                "info": json["info"],
                "Orgc": org,
                "analysis": json["analysis"],
                "threat_level_id": json["threat_level_id"],
                "date": json["date"],
                "timestamp": json["timestamp"],
                "publish_timestamp": json["publish_timestamp"],
                "Tag": json["Tag"],
            }),
        );
        let file = serde_json::to_vec_pretty(&json!({ "Event": json })).unwrap_or_default();
        feed.files.insert(format!("{}.json", event.uuid), file);
    }
    feed.files
        .insert("manifest.json".into(), serde_json::to_vec_pretty(&manifest).unwrap_or_default());
    Ok(feed)
}

fn add(event: &mut Event, i: &StixIndicator, category: &str) {
    for indicator in &i.indicators {
        event.attributes.entry(indicator.to_string()).or_insert_with(|| {
            (indicator.clone(), category.to_owned(), i.description.clone(), i.modified)
        });
    }
}

/// The event's JSON and how many attributes (objects counted once) it holds.
fn event_json(event: &Event, org: &Value) -> (Value, usize) {
    let ts = |t: Timestamp| t.unix().to_string();
    let uuid = |what: &str| Uuid::new_v5(&event.uuid, what.as_bytes()).to_string();
    let tag = |name: &str| json!({ "name": name });
    let mut attributes = Vec::new();
    let mut objects = Vec::new();
    for (text, (indicator, category, comment, modified)) in &event.attributes {
        let tags = vec![tag(&format!("vigil:category=\"{category}\""))];
        let attribute = |kind: &str, misp_category: &str, value: &str, relation: Option<&str>| {
            let mut a = json!({
                "uuid": uuid(&format!("{text}/{}", relation.unwrap_or("attribute"))),
                "type": kind,
                "category": misp_category,
                "value": value,
                "to_ids": true,
                "distribution": "5",
                "timestamp": ts(*modified),
                "comment": comment,
                "deleted": false,
                "Tag": tags,
            });
            if let Some(r) = relation {
                a["object_relation"] = r.into();
            }
            a
        };
        match indicator {
            Indicator::Address { .. } => {
                let mut symbol = attribute("text", "Other", "ETH", Some("symbol"));
                symbol["to_ids"] = false.into();
                symbol["Tag"] = json!([]);
                objects.push(json!({
                    "uuid": uuid(text),
                    "name": "coin-address",
                    "meta-category": "financial",
                    "description": "An address used in a cryptocurrency",
                    "template_uuid": COIN_ADDRESS_TEMPLATE.0,
                    "template_version": COIN_ADDRESS_TEMPLATE.1,
                    "distribution": "5",
                    "timestamp": ts(*modified),
                    "comment": comment,
                    "deleted": false,
                    "Attribute": [
                        attribute("text", "Financial fraud", text, Some("address-crypto")),
                        symbol,
                    ],
                }));
            }
            Indicator::Domain(d) => {
                attributes.push(attribute("domain", "Network activity", d.as_str(), None));
            }
            Indicator::Url(u) => {
                attributes.push(attribute("url", "Network activity", u.as_str(), None))
            }
            Indicator::CodeHash(_) | Indicator::Selector(_) | Indicator::TxHash { .. } => {
                attributes.push(attribute("text", "Payload delivery", text, None));
            }
        }
    }
    let count = attributes.len() + objects.len();
    let date = event.modified.to_stix().chars().take(10).collect::<String>();
    let json = json!({
        "uuid": event.uuid.to_string(),
        "info": event.info,
        "date": date,
        "timestamp": ts(event.modified),
        "publish_timestamp": ts(event.modified),
        "published": true,
        "analysis": "2",
        "threat_level_id": "2",
        "distribution": "3",
        "Orgc": org,
        "Tag": event.tags.iter().map(|t| tag(t)).collect::<Vec<_>>(),
        "Attribute": attributes,
        "Object": objects,
    });
    (json, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> Vec<u8> {
        let tlp = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
        let indicator = |id: &str, pattern: &str, labels: &[&str]| {
            json!({"type": "indicator", "id": id, "pattern": pattern, "labels": labels,
                   "modified": "2026-11-02T10:00:00.000Z", "description": "drainer",
                   "object_marking_refs": [tlp]})
        };
        let report = |id: &str, status: &str, refs: &[&str]| {
            json!({"type": "report", "id": id, "name": format!("Drainer ({status})"),
                   "labels": ["scam", "high", status], "object_refs": refs,
                   "modified": "2026-11-03T10:00:00.000Z", "object_marking_refs": [tlp]})
        };
        let a = "indicator--0f5b2f2e-5a0c-4a4e-8e0a-000000000001";
        let s = "indicator--0f5b2f2e-5a0c-4a4e-8e0a-000000000002";
        serde_json::to_vec(&json!({"type": "bundle", "id": "bundle--x", "objects": [
            {"type": "marking-definition", "id": tlp, "name": "TLP:CLEAR"},
            indicator(a, "[vigil-evm-address:value = '0x31c48750773348cd1ceee81106d8c363d393ed4c' AND vigil-evm-address:chain_id = 1]", &["scam"]),
            indicator(s, "[vigil-evm-selector:value = '0xa9059cbb']", &["scam", "source:forta"]),
            indicator("indicator--bad", "[file:hashes.MD5 = 'abc']", &["malware", "source:forta"]),
            report("report--1b4e28ba-2fa1-41d2-883f-0016d3cca427", "confirmed", &[a, s]),
            report("report--2c5f39cb-3fb2-42e3-994f-1127e4ddb538", "pending", &[a]),
        ]}))
        .unwrap()
    }

    #[test]
    fn confirmed_reports_and_book_sources_become_events() {
        let feed = feed_from_stix(&bundle(), &FeedOptions::default()).unwrap();
        // The confirmed report and the forta source; not the pending report.
        assert_eq!(feed.events, 2);
        let manifest: Value = serde_json::from_slice(&feed.files["manifest.json"]).unwrap();
        let report = &manifest["1b4e28ba-2fa1-41d2-883f-0016d3cca427"];
        assert_eq!(report["info"], "Drainer (confirmed)");
        let tags: Vec<&str> =
            report["Tag"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
        assert!(
            tags.contains(&"tlp:clear") && tags.contains(&"vigil:severity=\"high\""),
            "{tags:?}"
        );
        let event: Value =
            serde_json::from_slice(&feed.files["1b4e28ba-2fa1-41d2-883f-0016d3cca427.json"])
                .unwrap();
        let event = &event["Event"];
        assert_eq!(event["date"], "2026-11-03");
        // The chain-scoped address in CAIP-10 form inside a coin-address object.
        let object = &event["Object"][0];
        assert_eq!(object["name"], "coin-address");
        assert_eq!(
            object["Attribute"][0]["value"],
            "eip155:1:0x31c48750773348cD1ceeE81106D8C363d393eD4C"
        );
        assert_eq!(event["Attribute"][0]["value"], "selector:0xa9059cbb");
        assert_eq!(event["Attribute"][0]["type"], "text");
        // Derived uuids: the same bundle gives the same feed.
        let again = feed_from_stix(&bundle(), &FeedOptions::default()).unwrap();
        assert_eq!(again.files, feed.files);
        assert!(feed_from_stix(b"{\"type\": \"report\"}", &FeedOptions::default()).is_err());
        assert!(feed_from_stix(b"[1, 2", &FeedOptions::default()).is_err());
    }
}

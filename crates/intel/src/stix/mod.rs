//! STIX 2.1: the generic object model, bundles, deterministic ids, pattern reading, the
//! import of bundles into the book, and the mapping of Vigil's reports, attestations, alerts,
//! vulnerabilities and participants to STIX objects.
//!
//! Invariants: every [`StixObject`] has a valid `type`, an `id` of the form `type--UUID`
//! whose prefix is its type, a known `spec_version` and RFC 3339 `created`/`modified` when
//! present; objects Vigil produces get deterministic ids (UUIDv5 from their content), so the
//! same indicator, report or alert always has the same STIX id.

pub mod detection;
pub mod export;
pub mod extension;
pub(crate) mod import;
pub mod pattern;
mod tlp;

use std::io::{self, Write};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

pub use export::{
    AlertMeta, AttestationMeta, BookExport, IndicatorMeta, ReportMeta, Vulnerability,
    alert_objects, attestation_opinion, book_bundle, confidence_from_reputation_bps, identity_id,
    indicator_id, indicator_object, participant_identity, report_id, report_objects,
    vulnerability_object,
};
pub use extension::{
    VIGIL_EXTENSION_ID, VIGIL_EXTENSION_SCHEMA, evm_observable, extension_definition,
};
pub use import::{EnvelopePage, StixImport, import_bundle, import_envelope};
pub use tlp::Tlp;

/// The media type of STIX 2.1 content.
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";

/// Largest bundle [`Bundle::parse`] accepts by default (64 MiB).
pub const DEFAULT_MAX_BUNDLE_BYTES: usize = 64 * 1024 * 1024;

/// Why STIX content was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StixError {
    /// Not JSON, or truncated.
    #[error("not valid JSON at line {line}, column {column}: {message}")]
    Json {
        /// Line of the problem.
        line: u64,
        /// Column of the problem.
        column: u64,
        /// What is wrong.
        message: String,
    },
    /// The bundle is larger than allowed.
    #[error("bundle is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The document is not a bundle.
    #[error("not a STIX bundle: {0}")]
    NotABundle(String),
    /// The document is not a TAXII 2.1 envelope.
    #[error("not a TAXII 2.1 envelope: {0}")]
    NotAnEnvelope(String),
    /// One object is invalid.
    #[error("object {index} ({id}): {reason}")]
    Object {
        /// Its position in the bundle's `objects`.
        index: usize,
        /// Its id, or `?`.
        id: String,
        /// What is wrong.
        reason: String,
    },
}

impl StixError {
    fn json(e: &serde_json::Error) -> Self {
        Self::Json { line: e.line() as u64, column: e.column() as u64, message: e.to_string() }
    }
}

/// Why a single object is invalid (see [`StixObject::from_value`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ObjectError(pub String);

/// The namespace of Vigil's deterministic STIX ids (UUIDv5 of the project URL).
pub fn vigil_namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://github.com/vigil-network/vigil/stix")
}

/// The namespace STIX 2.1 prescribes for deterministic SCO ids.
pub const SCO_NAMESPACE: Uuid = Uuid::from_u128(0x00abedb4_aa42_466c_9c01_fed23315a9b7);

/// A deterministic id `type--UUIDv5(vigil namespace, type ":" name)`.
pub fn vigil_id(object_type: &str, name: &str) -> String {
    let uuid = Uuid::new_v5(&vigil_namespace(), format!("{object_type}:{name}").as_bytes());
    format!("{object_type}--{uuid}")
}

/// Whether `t` is a valid STIX type name: 3–250 characters of `a-z`, `0-9` and single hyphens,
/// starting with a letter.
pub fn is_valid_type(t: &str) -> bool {
    (3..=250).contains(&t.len())
        && t.starts_with(|c: char| c.is_ascii_lowercase())
        && t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !t.contains("--")
}

/// Checks an identifier `type--UUID` (RFC 4122 hyphenated form); returns its type part.
pub fn parse_identifier(id: &str) -> Result<&str, ObjectError> {
    let (t, uuid) = id
        .split_once("--")
        .ok_or_else(|| ObjectError(format!("id {id:?} is not of the form type--UUID")))?;
    let hyphens_ok =
        uuid.len() == 36 && [8, 13, 18, 23].iter().all(|&i| uuid.as_bytes()[i] == b'-');
    if !is_valid_type(t) || !hyphens_ok || Uuid::parse_str(uuid).is_err() {
        return Err(ObjectError(format!("id {:?} is not of the form type--UUID", truncate(id))));
    }
    Ok(t)
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

/// A property of an object being checked.
pub(crate) enum Prop<'v> {
    Absent,
    Str(&'v str),
    Other(&'v Value),
}

/// Properties whose value must be an RFC 3339 timestamp when present.
const TIMESTAMPS: [&str; 7] =
    ["created", "modified", "valid_from", "valid_until", "published", "first_seen", "last_seen"];

/// The checks every object passes: `type`, `id` of the form `type--UUID`, `spec_version`,
/// timestamps, and an indicator's `pattern` and `pattern_type`.
pub(crate) fn check_object<'v>(get: impl Fn(&str) -> Prop<'v>) -> Result<(), ObjectError> {
    let t = match get("type") {
        Prop::Str(t) if is_valid_type(t) => t,
        Prop::Str(t) => {
            return Err(ObjectError(format!(
                "type {:?} is not a valid STIX type name",
                truncate(t)
            )));
        }
        _ => return Err(ObjectError("missing the type property".into())),
    };
    let Prop::Str(id) = get("id") else {
        return Err(ObjectError("missing the id property".into()));
    };
    if parse_identifier(id)? != t {
        return Err(ObjectError(format!("id {id:?} does not start with its type {t:?}--")));
    }
    let spec = match get("spec_version") {
        Prop::Absent => None,
        Prop::Str(v) if v == "2.1" || v == "2.0" => Some(v),
        Prop::Str(v) => {
            return Err(ObjectError(format!("spec_version {v:?} is not \"2.1\" or \"2.0\"")));
        }
        Prop::Other(v) => {
            return Err(ObjectError(format!("spec_version {v} is not \"2.1\" or \"2.0\"")));
        }
    };
    for key in TIMESTAMPS {
        match get(key) {
            Prop::Absent => {}
            Prop::Str(s) if s.parse::<jiff::Timestamp>().is_ok() => {}
            Prop::Str(s) => {
                return Err(ObjectError(format!("{key} {s:?} is not an RFC 3339 timestamp")));
            }
            Prop::Other(v) => {
                return Err(ObjectError(format!("{key} {v} is not an RFC 3339 timestamp")));
            }
        }
    }
    if t == "indicator" {
        // STIX 2.0 indicators have no pattern_type (their patterns are STIX patterns).
        let v20 = spec == Some("2.0");
        for key in ["pattern", "pattern_type"] {
            let present = matches!(get(key), Prop::Str(_));
            let optional = v20 && key == "pattern_type";
            if !(present || optional) {
                return Err(ObjectError(format!("an indicator needs a string {key}")));
            }
        }
    }
    Ok(())
}

/// A STIX 2.1 object: its JSON, with the common properties checked.
#[derive(Clone, PartialEq, Debug, Serialize)]
#[serde(transparent)]
pub struct StixObject(Map<String, Value>);

impl StixObject {
    /// Checks and wraps one object.
    pub fn from_value(value: Value) -> Result<Self, ObjectError> {
        let Value::Object(map) = value else {
            return Err(ObjectError("an object must be a JSON object".into()));
        };
        check_object(|key| match map.get(key) {
            None => Prop::Absent,
            Some(Value::String(s)) => Prop::Str(s),
            Some(v) => Prop::Other(v),
        })?;
        Ok(Self(map))
    }

    /// The `type`.
    pub fn object_type(&self) -> &str {
        self.0.get("type").and_then(Value::as_str).unwrap_or_default()
    }

    /// The `id`.
    pub fn id(&self) -> &str {
        self.0.get("id").and_then(Value::as_str).unwrap_or_default()
    }

    /// The `spec_version` (STIX 2.1 when absent, as for SCOs).
    pub fn spec_version(&self) -> &str {
        self.0.get("spec_version").and_then(Value::as_str).unwrap_or("2.1")
    }

    /// The version: `modified`, else `created`; `None` for objects without either (SCOs).
    pub fn version(&self) -> Option<&str> {
        self.str("modified").or_else(|| self.str("created"))
    }

    /// A string property.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    /// Any property.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// The whole object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The object as JSON.
    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }

    /// The object's canonical-enough JSON text (keys in sorted order).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_default()
    }

    /// Wraps a map Vigil built itself (already valid by construction); checked in debug builds.
    pub(crate) fn built(map: Map<String, Value>) -> Self {
        let obj = Self(map);
        debug_assert!(Self::from_value(obj.clone().into_value()).is_ok(), "{}", obj.to_json());
        obj
    }
}

impl<'de> Deserialize<'de> for StixObject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_value(value).map_err(serde::de::Error::custom)
    }
}

/// A STIX bundle.
#[derive(Clone, PartialEq, Debug)]
pub struct Bundle {
    /// The bundle id, `bundle--UUID`.
    pub id: String,
    /// Its objects.
    pub objects: Vec<StixObject>,
}

impl Bundle {
    /// A bundle of `objects` whose id is derived from their ids and versions, so the same
    /// content always gets the same bundle id.
    pub fn of(objects: Vec<StixObject>) -> Self {
        let mut name = String::with_capacity(objects.len() * 64);
        for o in &objects {
            name.push_str(o.id());
            name.push('@');
            name.push_str(o.version().unwrap_or_default());
            name.push('\n');
        }
        Self { id: vigil_id("bundle", &name), objects }
    }

    /// Parses and checks a bundle: every object must be valid. Refuses inputs over `max_bytes`.
    pub fn parse(input: &[u8], max_bytes: usize) -> Result<Self, StixError> {
        let (id, raws) = parse_envelope(input, max_bytes)?;
        let mut objects = Vec::with_capacity(raws.len());
        for (index, raw) in raws.into_iter().enumerate() {
            let value: Value = serde_json::from_str(raw.get()).map_err(|e| StixError::json(&e))?;
            let id = value.get("id").and_then(Value::as_str).unwrap_or("?").to_owned();
            let obj = StixObject::from_value(value).map_err(|e| StixError::Object {
                index,
                id,
                reason: e.0,
            })?;
            objects.push(obj);
        }
        Ok(Self { id, objects })
    }

    /// The bundle as JSON text.
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        // Writing into a Vec cannot fail.
        self.write_to(&mut out).unwrap_or_default();
        String::from_utf8(out).unwrap_or_default()
    }

    /// Writes the bundle as JSON, one object after the other (no second copy in memory).
    pub fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        write_bundle(&self.id, &self.objects, out)
    }
}

/// Writes a bundle of `objects` with the given id as JSON to `out`.
pub fn write_bundle(id: &str, objects: &[StixObject], out: &mut dyn Write) -> io::Result<()> {
    write!(out, "{{\"type\":\"bundle\",\"id\":{},\"objects\":[", Value::String(id.to_owned()))?;
    for (i, obj) in objects.iter().enumerate() {
        if i > 0 {
            out.write_all(b",\n")?;
        } else {
            out.write_all(b"\n")?;
        }
        serde_json::to_writer(&mut *out, obj)?;
    }
    out.write_all(b"\n]}\n")
}

/// Parses the bundle envelope, returning its id and its objects unparsed.
pub(crate) fn parse_envelope(
    input: &[u8],
    max_bytes: usize,
) -> Result<(String, Vec<&serde_json::value::RawValue>), StixError> {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(rename = "type")]
        kind: Option<String>,
        id: Option<String>,
        #[serde(borrow)]
        objects: Option<Vec<&'a serde_json::value::RawValue>>,
    }
    if input.len() > max_bytes {
        return Err(StixError::TooLarge { size: input.len(), limit: max_bytes });
    }
    if input.iter().copied().find(|b| !b.is_ascii_whitespace()) != Some(b'{') {
        return Err(StixError::NotABundle("a bundle is a JSON object".into()));
    }
    let env: Envelope<'_> = serde_json::from_slice(input).map_err(|e| StixError::json(&e))?;
    if env.kind.as_deref() != Some("bundle") {
        return Err(StixError::NotABundle(format!(
            "type is {:?}, expected \"bundle\"",
            env.kind.unwrap_or_default()
        )));
    }
    let id = env.id.ok_or_else(|| StixError::NotABundle("missing id".into()))?;
    if parse_identifier(&id).ok() != Some("bundle") {
        return Err(StixError::NotABundle(format!("id {:?} is not bundle--UUID", truncate(&id))));
    }
    Ok((id, env.objects.unwrap_or_default()))
}

/// A TAXII 2.1 envelope's `more` and `next`, and its objects borrowed from the input. A STIX
/// bundle (what TAXII 2.0 servers answer) is read as a last page.
pub(crate) fn parse_taxii_envelope(
    input: &[u8],
    max_bytes: usize,
) -> Result<(EnvelopePage, Vec<&serde_json::value::RawValue>), StixError> {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(rename = "type")]
        kind: Option<String>,
        more: Option<bool>,
        next: Option<String>,
        #[serde(borrow)]
        objects: Option<Vec<&'a serde_json::value::RawValue>>,
    }
    if input.len() > max_bytes {
        return Err(StixError::TooLarge { size: input.len(), limit: max_bytes });
    }
    if input.iter().copied().find(|b| !b.is_ascii_whitespace()) != Some(b'{') {
        return Err(StixError::NotAnEnvelope("an envelope is a JSON object".into()));
    }
    let env: Envelope<'_> = serde_json::from_slice(input).map_err(|e| StixError::json(&e))?;
    match env.kind.as_deref() {
        None => {}
        Some("bundle") => {
            let (_, objects) = parse_envelope(input, max_bytes)?;
            return Ok((EnvelopePage { more: false, next: None }, objects));
        }
        Some(other) => {
            return Err(StixError::NotAnEnvelope(format!(
                "it is of type {:?} (an envelope has no type)",
                truncate(other)
            )));
        }
    }
    let page = EnvelopePage { more: env.more.unwrap_or(false), next: env.next };
    Ok((page, env.objects.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_checked() {
        assert_eq!(
            parse_identifier("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f").unwrap(),
            "indicator"
        );
        assert!(parse_identifier("indicator--8e2e2d2b17d44cbf938f98ee46b3cd3f").is_err());
        assert!(parse_identifier("Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f").is_err());
        assert!(parse_identifier("indicator-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f").is_err());
    }

    #[test]
    fn objects_are_checked() {
        let ok = serde_json::json!({"type": "identity", "spec_version": "2.1",
            "id": "identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "name": "x",
            "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z"});
        let obj = StixObject::from_value(ok.clone()).unwrap();
        assert_eq!(obj.version(), Some("2024-01-01T00:00:00.000Z"));
        let mut bad = ok.clone();
        bad["id"] = "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f".into();
        assert!(
            StixObject::from_value(bad).unwrap_err().0.contains("does not start with its type")
        );
        let mut bad = ok;
        bad["modified"] = "last tuesday".into();
        assert!(StixObject::from_value(bad).unwrap_err().0.contains("modified"));
    }

    #[test]
    fn vigil_ids_are_deterministic_v5() {
        let a = vigil_id("indicator", "0xabc");
        assert_eq!(a, vigil_id("indicator", "0xabc"));
        assert_ne!(a, vigil_id("indicator", "0xabd"));
        let uuid = Uuid::parse_str(a.strip_prefix("indicator--").unwrap()).unwrap();
        assert_eq!(uuid.get_version_num(), 5);
    }
}

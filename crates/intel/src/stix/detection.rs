//! Detection content in STIX: a shared fingerprint or rule file is an `indicator` with a
//! pattern type of Vigil's extension, so that STIX tools carry it unchanged and Vigil reads it
//! back.
//!
//! | `pattern_type` | `pattern` | `pattern_version` |
//! |---|---|---|
//! | `vigil-fingerprint` | the fingerprint as JSON: `{"steps":[…],"min_similarity":85}` | `1` |
//! | `vigil-cel` | the rule file's TOML (`[[rule]]` with CEL expressions, ABIs inline) | `1` |
//!
//! The indicator's id is derived from the item's detection id (the same item always has the
//! same STIX id), and Vigil's property extension names the detection id, so a reader can check
//! that the pattern is the item it claims to be.

use serde_json::{Value, json};
use vigil_core::{Detection, Fingerprint};

use super::extension::{into_map, property_extension, ts};
use super::{StixObject, vigil_id};
use crate::time::Timestamp;

/// `pattern_type` of a fingerprint.
pub const FINGERPRINT_PATTERN: &str = "vigil-fingerprint";
/// `pattern_type` of a CEL rule file.
pub const CEL_PATTERN: &str = "vigil-cel";

/// The STIX id of a detection item's indicator.
pub fn detection_indicator_id(d: &Detection) -> String {
    vigil_id("indicator", &format!("detection:{}", d.id()))
}

/// A detection item as a STIX `indicator`, created at `created` by `created_by` (an identity
/// id) with `confidence`, marked `marking`.
pub fn detection_object(
    d: &Detection,
    created: Timestamp,
    created_by: Option<&str>,
    confidence: Option<u8>,
    description: &str,
    marking: &str,
) -> StixObject {
    let (pattern_type, pattern, name) = match d {
        Detection::Fingerprint(f) => (
            FINGERPRINT_PATTERN,
            serde_json::to_string(f).unwrap_or_default(),
            format!("attack fingerprint of {} steps", f.steps.len()),
        ),
        Detection::Rules { source } => (CEL_PATTERN, source.clone(), "CEL rule file".to_owned()),
    };
    let mut o = into_map(json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": detection_indicator_id(d),
        "created": ts(created),
        "modified": ts(created),
        "name": name,
        "description": description,
        "indicator_types": ["malicious-activity"],
        "pattern": pattern,
        "pattern_type": pattern_type,
        "pattern_version": "1",
        "valid_from": ts(created),
        "labels": ["exploit", d.kind()],
        "object_marking_refs": [marking],
        "extensions": property_extension(into_map(json!({ "detection_id": d.id().to_string() }))),
    }));
    if let Some(c) = confidence {
        o.insert("confidence".into(), json!(c.min(100)));
    }
    if let Some(by) = created_by {
        o.insert("created_by_ref".into(), json!(by));
    }
    StixObject::built(o)
}

/// Why an indicator of Vigil's pattern types is not a detection item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("indicator {id}: {message}")]
pub struct DetectionPatternError {
    /// The indicator's id.
    pub id: String,
    /// What is wrong.
    pub message: String,
}

/// The detection item of `object`: `None` when it is not an indicator of Vigil's pattern
/// types, an error when it is one that does not parse, is malformed, or whose extension names
/// another item.
pub fn detection_of(object: &Value) -> Option<Result<Detection, DetectionPatternError>> {
    let kind = object.get("pattern_type")?.as_str()?;
    if object.get("type")?.as_str()? != "indicator"
        || ![FINGERPRINT_PATTERN, CEL_PATTERN].contains(&kind)
    {
        return None;
    }
    let id = object.get("id").and_then(Value::as_str).unwrap_or("?").to_owned();
    let err = |message: String| DetectionPatternError { id: id.clone(), message };
    let Some(pattern) = object.get("pattern").and_then(Value::as_str) else {
        return Some(Err(err("no pattern".into())));
    };
    let detection = if kind == FINGERPRINT_PATTERN {
        match serde_json::from_str::<Fingerprint>(pattern) {
            Ok(f) => Detection::Fingerprint(f),
            Err(e) => return Some(Err(err(format!("the fingerprint does not parse: {e}")))),
        }
    } else {
        Detection::Rules { source: pattern.to_owned() }
    };
    if let Err(e) = detection.check_shape() {
        return Some(Err(err(e.to_string())));
    }
    let claimed = object
        .pointer(&format!("/extensions/{}/detection_id", super::VIGIL_EXTENSION_ID))
        .and_then(Value::as_str);
    if let Some(claimed) = claimed
        && claimed != detection.id().to_string()
    {
        return Some(Err(err(format!(
            "the extension names detection {claimed}, the pattern is {}",
            detection.id()
        ))));
    }
    Some(Ok(detection))
}

/// Every detection item among a bundle's `objects` (other objects are ignored).
pub fn detections_in(bundle: &Value) -> Result<Vec<Detection>, DetectionPatternError> {
    let objects =
        bundle.get("objects").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    objects.iter().filter_map(detection_of).collect()
}

#[cfg(test)]
mod tests {
    use vigil_core::CallKind;
    use vigil_core::detection::{Flow, Step, Target};

    use super::*;

    fn fingerprint() -> Detection {
        let step = |depth, target| Step {
            kind: CallKind::Call,
            selector: Some(vigil_core::Selector([1, 2, 3, depth])),
            depth,
            target,
            ok: true,
            value: 0,
            flow: Flow::Out,
        };
        Detection::Fingerprint(Fingerprint::new(vec![
            step(0, Target::Other),
            step(1, Target::Other),
            step(2, Target::Up(1)),
            step(3, Target::Sender),
        ]))
    }

    #[test]
    fn fingerprints_and_rule_files_round_trip_through_stix() {
        let rules = Detection::Rules {
            source: "[[rule]]\nname = \"big\"\nexpression = \"tx.value > 1e18\"\n".into(),
        };
        for d in [fingerprint(), rules] {
            let o = detection_object(
                &d,
                Timestamp(0),
                None,
                Some(80),
                "drain",
                "marking-definition--x",
            );
            let v = serde_json::to_value(&o).unwrap();
            assert_eq!(v["id"], detection_indicator_id(&d));
            let bundle = json!({ "type": "bundle", "objects": [v] });
            assert_eq!(detections_in(&bundle).unwrap(), vec![d]);
        }
    }

    #[test]
    fn a_tampered_pattern_is_refused_with_the_indicator_named() {
        let d = fingerprint();
        let o = detection_object(&d, Timestamp(0), None, None, "drain", "marking-definition--x");
        let mut v = serde_json::to_value(&o).unwrap();
        v["pattern"] = json!(v["pattern"].as_str().unwrap().replace("\"ok\":true", "\"ok\":false"));
        let why = detection_of(&v).unwrap().unwrap_err();
        assert!(why.message.contains("the extension names detection"), "{why}");
        v["pattern"] = json!("{not json");
        let why = detection_of(&v).unwrap().unwrap_err().to_string();
        assert!(why.contains("does not parse") && why.contains("indicator--"), "{why}");
        assert!(detection_of(&json!({ "type": "indicator", "pattern_type": "stix" })).is_none());
    }
}

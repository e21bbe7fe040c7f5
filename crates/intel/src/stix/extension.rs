//! Vigil's STIX extension: new cyber-observable types for EVM artefacts, used in indicator
//! patterns, and property extensions for Vigil's own facts on reports, opinions and sightings.
//! The JSON schema is committed at `crates/intel/stix/vigil-evm-extension.schema.json`.

use serde_json::{Map, Value, json};
use uuid::Uuid;
use vigil_core::Indicator;

use super::{SCO_NAMESPACE, StixObject, vigil_id};
use crate::time::Timestamp;

/// The id of Vigil's extension definition (UUIDv5 of `extension-definition:vigil-evm/v1` in
/// Vigil's namespace; fixed forever).
pub const VIGIL_EXTENSION_ID: &str = "extension-definition--88843bdb-a776-5493-88ba-733df5e8ae94";
/// The identity of the Vigil project, author of the extension definition.
pub const VIGIL_PROJECT_IDENTITY: &str = "identity--e268a13c-aeda-506c-96d6-a433d2939e81";
/// The extension's JSON schema (the file committed in the repository).
pub const VIGIL_EXTENSION_SCHEMA: &str = include_str!("../../stix/vigil-evm-extension.schema.json");
/// Where the schema is published.
pub const VIGIL_EXTENSION_SCHEMA_URL: &str = "https://github.com/vigil-network/vigil/blob/main/crates/intel/stix/vigil-evm-extension.schema.json";
/// The SCO type of an EVM address.
pub const ADDRESS_TYPE: &str = "vigil-evm-address";
/// The SCO type of a contract code hash.
pub const CODE_HASH_TYPE: &str = "vigil-evm-code-hash";
/// The SCO type of a function selector.
pub const SELECTOR_TYPE: &str = "vigil-evm-selector";
/// The SCO type of a transaction.
pub const TRANSACTION_TYPE: &str = "vigil-evm-transaction";

/// When the extension definition was published (its `created` and `modified`).
const PUBLISHED: &str = "2026-01-01T00:00:00.000Z";

/// The extension-definition object, to include in bundles that use the extension.
pub fn extension_definition() -> StixObject {
    let obj = json!({
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": VIGIL_EXTENSION_ID,
        "created_by_ref": VIGIL_PROJECT_IDENTITY,
        "created": PUBLISHED,
        "modified": PUBLISHED,
        "name": "Vigil EVM extension",
        "description": "EVM cyber-observables (vigil-evm-address, vigil-evm-code-hash, vigil-evm-selector, vigil-evm-transaction) for indicator patterns; indicator pattern types vigil-fingerprint (an attack's call-tree fingerprint as JSON) and vigil-cel (a Vigil CEL rule file); and Vigil property extensions on report, opinion, sighting and indicator objects.",
        "schema": VIGIL_EXTENSION_SCHEMA_URL,
        "version": "1.0.0",
        "extension_types": ["new-sco", "property-extension"],
    });
    StixObject::built(into_map(obj))
}

/// The Vigil project's identity object (author of the extension definition).
pub fn project_identity() -> StixObject {
    StixObject::built(into_map(json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": VIGIL_PROJECT_IDENTITY,
        "created": PUBLISHED,
        "modified": PUBLISHED,
        "name": "Vigil",
        "description": "The Vigil network: community-run security for DeFi.",
        "identity_class": "organization",
    })))
}

pub(crate) fn into_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A deterministic SCO id: UUIDv5 in the STIX SCO namespace over the canonical JSON of the
/// id-contributing properties (keys sorted, no whitespace).
fn sco_id(object_type: &str, contributing: &Map<String, Value>) -> String {
    // serde_json maps are sorted by key and print without whitespace: the JCS form for these
    // string and integer values.
    let canonical = serde_json::to_string(contributing).unwrap_or_default();
    format!("{object_type}--{}", Uuid::new_v5(&SCO_NAMESPACE, canonical.as_bytes()))
}

/// The cyber-observable object of an EVM indicator (`None` for domains, which use the standard
/// `domain-name` observable).
pub fn evm_observable(indicator: &Indicator) -> Option<StixObject> {
    let (t, contributing) = match indicator {
        Indicator::Address { chain, address } => {
            let mut m = into_map(json!({ "value": address.to_string() }));
            if let Some(chain) = chain {
                m.insert("chain_id".into(), json!(chain.0));
            }
            (ADDRESS_TYPE, m)
        }
        Indicator::CodeHash(h) => (CODE_HASH_TYPE, into_map(json!({ "value": h.to_string() }))),
        Indicator::Selector(s) => (SELECTOR_TYPE, into_map(json!({ "value": s.to_string() }))),
        Indicator::TxHash { chain, hash } => {
            (TRANSACTION_TYPE, into_map(json!({ "hash": hash.to_string(), "chain_id": chain.0 })))
        }
        Indicator::Domain(_) | Indicator::Url(_) => return None,
    };
    let mut obj = contributing.clone();
    obj.insert("type".into(), json!(t));
    obj.insert("spec_version".into(), json!("2.1"));
    obj.insert("id".into(), json!(sco_id(t, &contributing)));
    obj.insert("extensions".into(), json!({ VIGIL_EXTENSION_ID: { "extension_type": "new-sco" } }));
    Some(StixObject::built(obj))
}

/// Wraps Vigil's properties as the property extension of an object.
pub(crate) fn property_extension(mut props: Map<String, Value>) -> Value {
    props.insert("extension_type".into(), json!("property-extension"));
    json!({ VIGIL_EXTENSION_ID: props })
}

/// A timestamp in STIX form.
pub(crate) fn ts(t: Timestamp) -> Value {
    Value::String(t.to_stix())
}

/// The id Vigil gives the extension definition, derived (for the test that pins the constant).
pub fn derived_extension_id() -> String {
    vigil_id("extension-definition", "vigil-evm/v1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_ids_are_the_derived_ones() {
        assert_eq!(VIGIL_EXTENSION_ID, derived_extension_id());
        assert_eq!(VIGIL_PROJECT_IDENTITY, vigil_id("identity", "vigil-project"));
        assert!(VIGIL_EXTENSION_SCHEMA.contains(VIGIL_EXTENSION_ID));
    }

    #[test]
    fn observable_ids_are_deterministic_and_chain_sensitive() {
        let a: Indicator = "0x098b716b8aaf21512996dc57eb0615e2383e2f96".parse().unwrap();
        let b: Indicator = "eip155:1:0x098b716b8aaf21512996dc57eb0615e2383e2f96".parse().unwrap();
        let oa = evm_observable(&a).unwrap();
        assert_eq!(oa.id(), evm_observable(&a).unwrap().id());
        assert_ne!(oa.id(), evm_observable(&b).unwrap().id());
        assert_eq!(oa.str("value"), Some("0x098B716B8Aaf21512996dC57EB0615e2383E2f96"));
        assert!(evm_observable(&"example.com".parse().unwrap()).is_none());
    }
}

//! Traffic Light Protocol 2.0 markings, as the OASIS TLP 2.0 extension defines them (fixed
//! marking-definition ids that every STIX consumer recognises).

use std::fmt;
use std::str::FromStr;

use serde_json::json;

use super::StixObject;
use super::extension::into_map;

/// The OASIS extension that defines TLP 2.0 marking definitions.
pub const TLP2_EXTENSION_ID: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// A TLP 2.0 level.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Tlp {
    /// TLP:CLEAR — may be shared freely.
    Clear,
    /// TLP:GREEN — within the community.
    Green,
    /// TLP:AMBER — within the recipient's organisation and its clients.
    Amber,
    /// TLP:AMBER+STRICT — within the recipient's organisation only.
    AmberStrict,
    /// TLP:RED — named recipients only.
    Red,
}

impl Tlp {
    /// Every level, least restrictive first.
    pub const ALL: [Tlp; 5] = [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict, Tlp::Red];

    /// The official marking-definition id.
    pub fn marking_id(self) -> &'static str {
        match self {
            Self::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
            Self::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
            Self::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
            Self::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
            Self::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        }
    }

    /// The value of the extension's `tlp_2_0` property.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Clear => "clear",
            Self::Green => "green",
            Self::Amber => "amber",
            Self::AmberStrict => "amber+strict",
            Self::Red => "red",
        }
    }

    /// The level whose marking-definition id is `id`.
    pub fn from_marking_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.marking_id() == id)
    }

    /// The official marking-definition object.
    pub fn marking_definition(self) -> StixObject {
        StixObject::built(into_map(json!({
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": self.marking_id(),
            "created": "2022-10-01T00:00:00.000Z",
            "name": format!("TLP:{}", self.as_str().to_ascii_uppercase()),
            "extensions": {
                TLP2_EXTENSION_ID: { "extension_type": "property-extension", "tlp_2_0": self.as_str() }
            }
        })))
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLP:{}", self.as_str().to_ascii_uppercase())
    }
}

/// An unknown TLP level name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown TLP level {0:?}; expected clear, green, amber, amber+strict or red")]
pub struct UnknownTlp(pub String);

impl FromStr for Tlp {
    type Err = UnknownTlp;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        let t = t.strip_prefix("tlp:").unwrap_or(&t).replace("-strict", "+strict");
        Self::ALL.into_iter().find(|l| l.as_str() == t).ok_or_else(|| UnknownTlp(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!("TLP:AMBER+STRICT".parse::<Tlp>().unwrap(), Tlp::AmberStrict);
        assert_eq!("green".parse::<Tlp>().unwrap(), Tlp::Green);
        assert!("white".parse::<Tlp>().is_err());
        assert_eq!(Tlp::Clear.marking_definition().str("name"), Some("TLP:CLEAR"));
        assert_eq!(Tlp::from_marking_id(Tlp::Red.marking_id()), Some(Tlp::Red));
    }
}

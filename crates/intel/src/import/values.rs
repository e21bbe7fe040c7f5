//! What one value of a generic feed is: an indicator, something Vigil deliberately does not
//! hold (another chain's address), or malformed. And which category a feed's own word means.

use std::collections::BTreeMap;

use vigil_core::{
    Category, Domain, EvmAddress, EvmChainId, Indicator, IndicatorError, WebUrl,
    other_chain_address,
};

use super::Staged;
use super::csv_feeds::truncate;

/// Warning counted for a mixed-case address whose EIP-55 checksum is wrong (still imported).
pub(crate) const CHECKSUM_WARNING: &str =
    "mixed-case address with a wrong EIP-55 checksum (imported: the 20 bytes are what counts)";

/// A value that is not imported, and why.
pub(crate) enum NotImported {
    /// Well-formed but not something Vigil matches (e.g. a Bitcoin address): skipped and counted
    /// by kind.
    Skip(&'static str),
    /// Malformed: rejected with its line. `class` groups rejections in the summary.
    Reject {
        /// A short, fixed description used to count rejections of one kind.
        class: &'static str,
        /// The reason with the value, for the rejection list.
        reason: String,
    },
}

/// Parses one value of a generic list. An address without a chain gets the feed's chain; a
/// URL without a scheme (`opensae.io/login`) is read as `http://`; another chain's address is
/// skipped by kind; a wrong EIP-55 checksum is accepted and counted as a warning.
pub(crate) fn classify(
    value: &str,
    chain: Option<EvmChainId>,
    staged: &mut Staged,
) -> Result<Indicator, NotImported> {
    let value = value.trim();
    let indicator = match value.parse::<Indicator>() {
        Ok(i) => i,
        Err(e) => fallback(value, &e)?,
    };
    Ok(match indicator {
        Indicator::Address { chain: c, address } => {
            if EvmAddress::checksum_mismatch(address_text(value)) {
                staged.warn(CHECKSUM_WARNING);
            }
            Indicator::Address { chain: c.or(chain), address }
        }
        other => other,
    })
}

/// The `0x…` part of an address value (`eip155:1:0x…` or bare).
fn address_text(value: &str) -> &str {
    value.rsplit(':').next().unwrap_or(value)
}

/// What a value that is not a Vigil text form may still be.
fn fallback(value: &str, error: &IndicatorError) -> Result<Indicator, NotImported> {
    if value.is_empty() {
        return Err(NotImported::Reject { class: "empty value", reason: "value is empty".into() });
    }
    if let Some(kind) = other_chain_address(value) {
        return Err(NotImported::Skip(kind));
    }
    // A domain that starts with "0x" (0xproject.co) reads as a bad hex value first.
    if value.contains('.')
        && !value.contains('/')
        && let Ok(d) = value.parse::<Domain>()
    {
        return Ok(Indicator::Domain(d));
    }
    // A URL written without its scheme, as phishing lists often do.
    if !value.contains("://")
        && let Some((host, _)) = value.split_once('/')
        && host.contains('.')
        && !host.contains(char::is_whitespace)
    {
        return match format!("http://{value}").parse::<WebUrl>() {
            Ok(url) => Ok(Indicator::Url(url)),
            Err(e) => Err(NotImported::Reject {
                class: "not an indicator",
                reason: format!("{:?} is not a URL: {e}", truncate(value)),
            }),
        };
    }
    Err(NotImported::Reject {
        class: "not an indicator",
        reason: format!("{:?} is not an indicator: {error}", truncate(value)),
    })
}

/// Words of community feeds for Vigil's categories, used when a feed's category is not one
/// of Vigil's names and `--map-category` does not name it.
const SYNONYMS: &[(&str, Category)] = &[
    ("scam", Category::Scam),
    ("scamming", Category::Scam),
    ("scammer", Category::Scam),
    ("fraud", Category::Scam),
    ("rugpull", Category::Scam),
    ("rug pull", Category::Scam),
    ("rug_pull", Category::Scam),
    ("ponzi", Category::Scam),
    ("fake ico", Category::Scam),
    ("fake_ico", Category::Scam),
    ("impersonation", Category::Scam),
    ("phish", Category::Phishing),
    ("phishing", Category::Phishing),
    ("phishing site", Category::Phishing),
    ("drainer", Category::Phishing),
    ("wallet drainer", Category::Phishing),
    ("address poisoning", Category::Phishing),
    ("ice phishing", Category::Phishing),
    ("hack", Category::Exploit),
    ("hacking", Category::Exploit),
    ("hacker", Category::Exploit),
    ("heist", Category::Exploit),
    ("exploiter", Category::Exploit),
    ("attacker", Category::Exploit),
    ("theft", Category::Exploit),
    ("sanction", Category::Sanctioned),
    ("sanctions", Category::Sanctioned),
    ("ofac", Category::Sanctioned),
    ("malware", Category::MaliciousContract),
    ("honeypot", Category::MaliciousContract),
    ("malicious", Category::MaliciousContract),
    ("vulnerable", Category::Vulnerability),
];

/// Turns a feed's own category words into Vigil categories: `--map-category FROM=TO` first
/// (case-insensitive), then Vigil's names, then common synonyms, then the default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CategoryMap {
    explicit: BTreeMap<String, Category>,
    default: Option<Category>,
}

/// A `FROM=TO` mapping that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CategoryMapError {
    /// No `=`.
    #[error("category mapping {0:?} is not FROM=TO (e.g. Scamming=scam)")]
    NoEquals(String),
    /// `TO` is not a category.
    #[error("category mapping {given:?}: {why}")]
    UnknownTarget {
        /// The mapping as given.
        given: String,
        /// Why the target is unknown.
        why: String,
    },
}

impl CategoryMap {
    /// No mappings; unknown words fall to `default` (or `other`).
    pub fn new(default: Option<Category>) -> Self {
        Self { explicit: BTreeMap::new(), default }
    }

    /// Adds a `FROM=TO` mapping.
    pub fn add(&mut self, mapping: &str) -> Result<(), CategoryMapError> {
        let (from, to) =
            mapping.split_once('=').ok_or_else(|| CategoryMapError::NoEquals(mapping.into()))?;
        let to = to.trim().parse::<Category>().map_err(|e| CategoryMapError::UnknownTarget {
            given: mapping.into(),
            why: e.to_string(),
        })?;
        self.explicit.insert(normalise(from), to);
        Ok(())
    }

    /// The category of records that name none.
    pub fn default_category(&self) -> Category {
        self.default.unwrap_or(Category::Other)
    }

    /// The category a word names by a mapping, Vigil's name or a synonym; `None` if none does.
    pub(crate) fn known(&self, word: &str) -> Option<Category> {
        let key = normalise(word);
        if let Some(c) = self.explicit.get(&key) {
            return Some(*c);
        }
        if let Ok(c) = key.replace(' ', "_").parse::<Category>() {
            return Some(c);
        }
        SYNONYMS.iter().find(|(w, _)| *w == key).map(|(_, c)| *c)
    }

    /// The category of a feed's word; an unknown word gets the default and a warning that
    /// names it, so nothing is lost and the user sees what to map.
    pub(crate) fn resolve(&self, word: Option<&str>, staged: &mut Staged) -> Category {
        let Some(word) = word.map(str::trim).filter(|w| !w.is_empty()) else {
            return self.default_category();
        };
        // Most feeds use Vigil's names: no allocation for them unless a mapping may apply.
        if self.explicit.is_empty()
            && let Ok(c) = word.parse::<Category>()
        {
            return c;
        }
        if let Some(c) = self.known(word) {
            return c;
        }
        let default = self.default_category();
        staged.warn(&format!(
            "category {:?} is not known: recorded as {default} (map it with --map-category \
             \"{}=<category>\")",
            truncate(word),
            truncate(word)
        ));
        default
    }
}

fn normalise(word: &str) -> String {
    word.trim().to_lowercase().replace(['-', '_'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_chains_addresses_are_named() {
        let non_evm_address = other_chain_address;
        for (v, kind) in [
            ("bc1qa5wkgaew2dkv56kfvj49j0av5nml45x9ek9hz6", "Bitcoin address"),
            ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "Bitcoin address"),
            ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "Bitcoin address"),
            ("TJCnKsPa7y5okkXvQAidZBzqx3QyQ6sxMW", "Tron address"),
            ("LQL9pVH1LsMfKwt82Y2wGhNGkrjF8vwUst", "Litecoin address"),
            ("rEb8TK3gBgk5auZkwc6sHnwrGVJH8DuaLh", "XRP address"),
            ("4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T", "Solana address"),
        ] {
            assert_eq!(non_evm_address(v), Some(kind), "{v}");
        }
        for v in ["example.com", "0x1234", "hello world", "https://a.io/x"] {
            assert_eq!(non_evm_address(v), None, "{v}");
        }
    }

    #[test]
    fn urls_without_a_scheme_and_hex_looking_domains_are_indicators() {
        let mut staged = Staged::default();
        let url = classify("opensae.io/login", None, &mut staged).ok().unwrap();
        assert_eq!(url.to_string(), "http://opensae.io/login");
        let d = classify("0xproject.co", None, &mut staged).ok().unwrap();
        assert!(matches!(d, Indicator::Domain(_)));
        assert!(matches!(
            classify("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", None, &mut staged),
            Err(NotImported::Skip("Bitcoin address"))
        ));
        assert!(matches!(
            classify("not an indicator", None, &mut staged),
            Err(NotImported::Reject { class: "not an indicator", .. })
        ));
    }

    #[test]
    fn a_wrong_checksum_is_imported_with_a_warning() {
        let mut staged = Staged::default();
        let a = classify("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", None, &mut staged);
        assert!(a.is_ok());
        assert_eq!(staged.warnings.get(CHECKSUM_WARNING), Some(&1));
    }

    #[test]
    fn categories_resolve_by_mapping_name_synonym_then_default() {
        let mut map = CategoryMap::new(Some(Category::Scam));
        map.add("Hacking=phishing").unwrap();
        let mut staged = Staged::default();
        assert_eq!(map.resolve(Some("HACKING"), &mut staged), Category::Phishing);
        assert_eq!(
            map.resolve(Some("malicious-contract"), &mut staged),
            Category::MaliciousContract
        );
        assert_eq!(map.resolve(Some("Scamming"), &mut staged), Category::Scam);
        assert_eq!(map.resolve(Some("Weird"), &mut staged), Category::Scam);
        assert_eq!(map.resolve(None, &mut staged), Category::Scam);
        assert_eq!(staged.warnings.len(), 1, "{:?}", staged.warnings);
        assert!(map.add("x").is_err());
        assert!(map.add("x=nonsense").is_err());
    }
}

//! DNS names as indicators (phishing sites and the like), held in one normal form so that
//! `MyEtherWallet.com.`, `myetherwallet.com` and a Unicode look-alike's punycode compare as
//! the registrar would.

use std::fmt;
use std::str::FromStr;

use borsh::io::Read;
use borsh::{BorshDeserialize, BorshSerialize};
use serde_with::{DeserializeFromStr, SerializeDisplay};

/// Why a text is not a usable domain name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Nothing left after trimming.
    #[error("domain is empty")]
    Empty,
    /// IDNA (Unicode → punycode) processing failed.
    #[error("domain {input:?} is not a valid internationalised name")]
    Idna {
        /// The input as given.
        input: String,
    },
    /// A single label such as `localhost`: not a registrable name.
    #[error("domain {input:?} has a single label; expected a name like example.com")]
    SingleLabel {
        /// The normalised input.
        input: String,
    },
    /// The whole name is longer than DNS allows.
    #[error("domain is {len} characters long; at most 253 are allowed")]
    TooLong {
        /// Length of the normalised name.
        len: usize,
    },
    /// A label is empty, too long, or has a character DNS does not allow.
    #[error("domain {input:?} has an invalid label {label:?}: {why}")]
    BadLabel {
        /// The normalised input.
        input: String,
        /// The offending label.
        label: String,
        /// What is wrong with it.
        why: &'static str,
    },
}

/// A normalised DNS name: ASCII (punycode for international labels), lower case, no trailing
/// dot, at least two labels. Underscores are allowed inside labels below the top level because
/// real phishing lists contain such hostnames.
#[derive(
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    SerializeDisplay,
    DeserializeFromStr,
)]
pub struct Domain(String);

impl Domain {
    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The labels from left to right.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.0.split('.')
    }

    /// Every parent name of this one that still has two labels, nearest first:
    /// `a.b.example.com` → `b.example.com`, `example.com`.
    pub fn parents(&self) -> impl Iterator<Item = &str> {
        let s = self.0.as_str();
        s.match_indices('.').map(move |(i, _)| &s[i + 1..]).filter(|p| p.contains('.'))
    }
}

impl FromStr for Domain {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim().trim_end_matches('.');
        if trimmed.is_empty() {
            return Err(DomainError::Empty);
        }
        let ascii = if trimmed.is_ascii() && !trimmed.to_ascii_lowercase().contains("xn--") {
            trimmed.to_ascii_lowercase()
        } else {
            idna::domain_to_ascii(trimmed)
                .map_err(|_| DomainError::Idna { input: trimmed.to_owned() })?
        };
        if ascii.len() > 253 {
            return Err(DomainError::TooLong { len: ascii.len() });
        }
        let labels: Vec<&str> = ascii.split('.').collect();
        if labels.len() < 2 {
            return Err(DomainError::SingleLabel { input: ascii });
        }
        let last = labels.len() - 1;
        for (i, label) in labels.iter().enumerate() {
            let why = if label.is_empty() {
                Some("empty label")
            } else if label.len() > 63 {
                Some("longer than 63 characters")
            } else if label.starts_with('-') || label.ends_with('-') {
                Some("starts or ends with a hyphen")
            } else if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || (b == b'_' && i != last))
            {
                Some("only letters, digits and hyphens are allowed")
            } else {
                None
            };
            if let Some(why) = why {
                return Err(DomainError::BadLabel {
                    input: ascii.clone(),
                    label: (*label).to_owned(),
                    why,
                });
            }
        }
        Ok(Domain(ascii))
    }
}

/// Decoding validates like parsing and accepts only the normal form.
impl BorshDeserialize for Domain {
    fn deserialize_reader<R: Read>(reader: &mut R) -> borsh::io::Result<Self> {
        crate::encoding::decode_normal_text(reader)
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Domain({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_trailing_dot() {
        let d: Domain = " MyEtherWallet.COM. ".parse().unwrap();
        assert_eq!(d.as_str(), "myetherwallet.com");
    }

    #[test]
    fn unicode_becomes_punycode_and_punycode_is_kept() {
        // A Cyrillic "а" look-alike of myetherwallet.com.
        let d: Domain = "myetherwаllet.com".parse().unwrap();
        assert!(d.as_str().starts_with("xn--"), "{d}");
        let again: Domain = d.as_str().parse().unwrap();
        assert_eq!(d, again);
    }

    #[test]
    fn rejects_with_reasons() {
        assert_eq!("".parse::<Domain>(), Err(DomainError::Empty));
        assert!(matches!("localhost".parse::<Domain>(), Err(DomainError::SingleLabel { .. })));
        assert!(matches!("a..com".parse::<Domain>(), Err(DomainError::BadLabel { .. })));
        assert!(matches!("-a.com".parse::<Domain>(), Err(DomainError::BadLabel { .. })));
        assert!(matches!("a b.com".parse::<Domain>(), Err(DomainError::BadLabel { .. })));
        assert!(matches!("a.c_m".parse::<Domain>(), Err(DomainError::BadLabel { .. })));
        let long = format!("{}.com", "a".repeat(64));
        assert!(matches!(long.parse::<Domain>(), Err(DomainError::BadLabel { .. })));
    }

    #[test]
    fn malformed_punycode_is_refused() {
        assert!(matches!("xn--a.com".parse::<Domain>(), Err(DomainError::Idna { .. })));
    }

    #[test]
    fn underscore_hostnames_from_real_lists_are_accepted() {
        assert!("ether_promo.kissr.com".parse::<Domain>().is_ok());
    }

    #[test]
    fn parents_walk_up_to_the_registrable_name() {
        let d: Domain = "a.b.example.com".parse().unwrap();
        assert_eq!(d.parents().collect::<Vec<_>>(), vec!["b.example.com", "example.com"]);
    }
}

#[cfg(test)]
mod decode_tests {
    use super::*;

    #[test]
    fn decoding_refuses_non_normal_names() {
        let bytes = borsh::to_vec(&"EXAMPLE.com".to_owned()).unwrap();
        assert!(borsh::from_slice::<Domain>(&bytes).is_err());
        let bytes = borsh::to_vec(&"example.com".to_owned()).unwrap();
        assert_eq!(borsh::from_slice::<Domain>(&bytes).unwrap().as_str(), "example.com");
    }
}

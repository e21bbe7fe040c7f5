//! Web addresses as indicators: a phishing page, a drainer kit's script. A URL is held in one
//! normal form (WHATWG URL parsing: lower-case scheme and host, punycode, no default port, no
//! fragment) so that two spellings of the same page compare equal, and it knows its host, by
//! which it is also matched.

use std::fmt;
use std::str::FromStr;

use borsh::io::Read;
use borsh::{BorshDeserialize, BorshSerialize};
use serde_with::{DeserializeFromStr, SerializeDisplay};

use crate::domain::{Domain, DomainError};

/// Longest URL accepted, in bytes of its normal form (browsers and servers refuse far less).
pub const MAX_URL_LEN: usize = 2_048;

/// Why a text is not a usable web URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebUrlError {
    /// Not a URL at all.
    #[error("URL {input:?} does not parse: {why}")]
    Parse {
        /// The input (shortened).
        input: String,
        /// The parser's reason.
        why: String,
    },
    /// A scheme other than http or https.
    #[error("URL scheme {0:?} is not a web address; expected http:// or https://")]
    Scheme(String),
    /// The host is missing or not a DNS name (IP addresses are not domain indicators).
    #[error("URL host: {0}")]
    Host(#[from] DomainError),
    /// The URL names an IP address instead of a host name.
    #[error("URL host {0} is an IP address; only named hosts are indicators")]
    IpHost(String),
    /// Too long.
    #[error("URL is {0} bytes long; at most 2048 are allowed")]
    TooLong(usize),
}

/// A normalised `http`/`https` URL whose host is a [`Domain`].
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, SerializeDisplay, DeserializeFromStr)]
pub struct WebUrl {
    text: String,
    host: Domain,
}

impl WebUrl {
    /// The normal form, e.g. `https://opensae.io/login`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The host, by which the URL is matched too.
    pub fn host(&self) -> &Domain {
        &self.host
    }
}

fn shorten(s: &str) -> String {
    s.chars().take(80).collect()
}

impl FromStr for WebUrl {
    type Err = WebUrlError;

    /// Parses and normalises; the normal form parses to itself (WHATWG serialisation is not
    /// idempotent in a few corner cases, so it is applied until it is, at most twice more).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut url = normalise(s)?;
        for _ in 0..2 {
            let again = normalise(&url.text)?;
            if again == url {
                return Ok(url);
            }
            url = again;
        }
        Err(WebUrlError::Parse { input: shorten(s), why: "no stable normal form".into() })
    }
}

fn normalise(s: &str) -> Result<WebUrl, WebUrlError> {
    let s = s.trim();
    let mut url = ::url::Url::parse(s)
        .map_err(|e| WebUrlError::Parse { input: shorten(s), why: e.to_string() })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(WebUrlError::Scheme(shorten(url.scheme())));
    }
    let host = match url.host() {
        Some(::url::Host::Domain(name)) => name.parse::<Domain>()?,
        Some(ip) => return Err(WebUrlError::IpHost(ip.to_string())),
        None => return Err(WebUrlError::Host(DomainError::Empty)),
    };
    url.set_fragment(None);
    // Credentials are no part of the page, and must not be kept in the book.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let text = String::from(url);
    if text.len() > MAX_URL_LEN {
        return Err(WebUrlError::TooLong(text.len()));
    }
    Ok(WebUrl { text, host })
}

impl fmt::Display for WebUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for WebUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebUrl({})", self.text)
    }
}

impl BorshSerialize for WebUrl {
    fn serialize<W: borsh::io::Write>(&self, writer: &mut W) -> borsh::io::Result<()> {
        self.text.serialize(writer)
    }
}

impl BorshDeserialize for WebUrl {
    /// Decodes and re-checks the normal form, so a decoded URL is one that parsing makes.
    fn deserialize_reader<R: Read>(reader: &mut R) -> borsh::io::Result<Self> {
        let text = String::deserialize_reader(reader)?;
        let url: WebUrl = text
            .parse()
            .map_err(|e| borsh::io::Error::new(borsh::io::ErrorKind::InvalidData, e))?;
        if url.text != text {
            return Err(borsh::io::Error::new(
                borsh::io::ErrorKind::InvalidData,
                "URL is not in its normal form",
            ));
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_page_normalise_alike() {
        let a: WebUrl = "HTTPS://OpenSae.IO:443/login#top".parse().unwrap();
        let b: WebUrl = "https://opensae.io/login".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "https://opensae.io/login");
        assert_eq!(a.host().as_str(), "opensae.io");
        let bare: WebUrl = "http://opensae.io".parse().unwrap();
        assert_eq!(bare.as_str(), "http://opensae.io/");
    }

    #[test]
    fn credentials_are_dropped_and_unicode_hosts_become_punycode() {
        let u: WebUrl = "https://user:pw@xn--myetherwallt-leb.com/a?b=1".parse().unwrap();
        assert_eq!(u.as_str(), "https://xn--myetherwallt-leb.com/a?b=1");
        let u: WebUrl = "https://myetherwallét.com/".parse().unwrap();
        assert!(u.host().as_str().starts_with("xn--"), "{u}");
    }

    #[test]
    fn what_is_not_a_web_url_says_why() {
        assert!(matches!("ftp://a.com/x".parse::<WebUrl>(), Err(WebUrlError::Scheme(_))));
        assert!(matches!("https://10.0.0.1/x".parse::<WebUrl>(), Err(WebUrlError::IpHost(_))));
        assert!(matches!("https://localhost/x".parse::<WebUrl>(), Err(WebUrlError::Host(_))));
        assert!(matches!("not a url".parse::<WebUrl>(), Err(WebUrlError::Parse { .. })));
    }

    #[test]
    fn borsh_round_trips_and_refuses_a_non_normal_form() {
        let u: WebUrl = "https://opensae.io/login".parse().unwrap();
        let bytes = borsh::to_vec(&u).unwrap();
        assert_eq!(borsh::from_slice::<WebUrl>(&bytes).unwrap(), u);
        let odd = borsh::to_vec(&"HTTPS://OPENSAE.IO/login".to_owned()).unwrap();
        assert!(borsh::from_slice::<WebUrl>(&odd).is_err());
    }
}

//! Who is asking: HTTP Basic, or a bearer token (`Bearer` or, as the Python `taxii2-client`
//! sends it, `Token`). Secrets are kept only as BLAKE3 digests and compared in constant time.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine as _;
use subtle::ConstantTimeEq;

use crate::config::{ConfigError, SecretSource, UserConfig, digest, parse_digest};

/// A user with digests of its secrets.
pub(crate) struct PreparedUser {
    pub name: String,
    basic: Option<[u8; 32]>,
    token: Option<[u8; 32]>,
    pub can_write: bool,
}

impl PreparedUser {
    /// Prepares a user, reading secrets given by environment variable. Only digests are kept.
    pub fn new(u: &UserConfig) -> Result<Self, ConfigError> {
        let resolve = |source: SecretSource<'_>,
                       kind: &str,
                       to_bytes: &dyn Fn(&str) -> Vec<u8>|
         -> Result<Option<[u8; 32]>, ConfigError> {
            Ok(match source {
                SecretSource::Absent => None,
                SecretSource::Plain(p) => Some(digest(kind, &to_bytes(p))),
                SecretSource::Env(var) => {
                    let value =
                        std::env::var(var).ok().filter(|v| !v.is_empty()).ok_or_else(|| {
                            ConfigError(format!(
                                "user {:?}: environment variable {var} is not set",
                                u.name
                            ))
                        })?;
                    Some(digest(kind, &to_bytes(&value)))
                }
                SecretSource::Digest(d) => Some(parse_digest(d).ok_or_else(|| {
                    ConfigError(format!("user {:?}: malformed {kind} digest", u.name))
                })?),
            })
        };
        let name = u.name.clone();
        let basic =
            resolve(u.password_source()?, "basic", &|p| format!("{name}:{p}").into_bytes())?;
        let token = resolve(u.token_source()?, "token", &|t| t.as_bytes().to_vec())?;
        Ok(Self { name: u.name.clone(), basic, token, can_write: u.can_write })
    }
}

/// The requester.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Requester {
    /// No credentials.
    Anonymous,
    /// The user at this index of the prepared users.
    User(usize),
}

/// Why credentials were refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AuthError {
    /// Malformed header.
    Malformed,
    /// Credentials that match no user.
    Unknown,
}

/// Reads one of a user's digests.
type DigestOf = fn(&PreparedUser) -> Option<[u8; 32]>;

/// Identifies the requester from the `Authorization` header.
pub(crate) fn identify(
    headers: &HeaderMap,
    users: &[PreparedUser],
) -> Result<Requester, AuthError> {
    let Some(value) = headers.get(AUTHORIZATION) else { return Ok(Requester::Anonymous) };
    let value = value.to_str().map_err(|_| AuthError::Malformed)?.trim();
    let (scheme, rest) = value.split_once(' ').ok_or(AuthError::Malformed)?;
    let rest = rest.trim();
    let (wanted, field): ([u8; 32], DigestOf) = if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .map_err(|_| AuthError::Malformed)?;
        (digest("basic", &decoded), |u| u.basic)
    } else if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
        (digest("token", rest.as_bytes()), |u| u.token)
    } else {
        return Err(AuthError::Malformed);
    };
    // Compare with every user so the time taken does not say which one matched.
    let mut found = None;
    for (i, u) in users.iter().enumerate() {
        if let Some(d) = field(u)
            && bool::from(d.ct_eq(&wanted))
        {
            found = Some(i);
        }
    }
    found.map(Requester::User).ok_or(AuthError::Unknown)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn users() -> Vec<PreparedUser> {
        vec![
            PreparedUser::new(&UserConfig {
                password: Some("secret-pass".into()),
                token: Some("0123456789abcdef0123".into()),
                can_write: true,
                ..UserConfig::named("alice")
            })
            .unwrap(),
        ]
    }

    fn with(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn basic_bearer_and_token_schemes() {
        let u = users();
        let basic = base64::engine::general_purpose::STANDARD.encode("alice:secret-pass");
        assert_eq!(identify(&with(&format!("Basic {basic}")), &u), Ok(Requester::User(0)));
        assert_eq!(identify(&with("Bearer 0123456789abcdef0123"), &u), Ok(Requester::User(0)));
        assert_eq!(identify(&with("Token 0123456789abcdef0123"), &u), Ok(Requester::User(0)));
        assert_eq!(identify(&HeaderMap::new(), &u), Ok(Requester::Anonymous));
        let wrong = base64::engine::general_purpose::STANDARD.encode("alice:nope");
        assert_eq!(identify(&with(&format!("Basic {wrong}")), &u), Err(AuthError::Unknown));
        assert_eq!(identify(&with("Bearer nope"), &u), Err(AuthError::Unknown));
        assert_eq!(identify(&with("Digest x"), &u), Err(AuthError::Malformed));
        assert_eq!(identify(&with("Basic ***"), &u), Err(AuthError::Malformed));
    }

    #[test]
    fn digests_and_environment_secrets_match_like_plain_ones() {
        let u = vec![
            PreparedUser::new(&UserConfig {
                password_hash: Some(crate::config::hash_password("bob", "long-random-password")),
                token_hash: Some(crate::config::hash_token("bob-token-0123456789")),
                ..UserConfig::named("bob")
            })
            .unwrap(),
        ];
        let basic = base64::engine::general_purpose::STANDARD.encode("bob:long-random-password");
        assert_eq!(identify(&with(&format!("Basic {basic}")), &u), Ok(Requester::User(0)));
        assert_eq!(identify(&with("Bearer bob-token-0123456789"), &u), Ok(Requester::User(0)));
        let missing = UserConfig {
            token_env: Some("VIGIL_TEST_SURELY_UNSET_VARIABLE".into()),
            ..UserConfig::named("carol")
        };
        let e = PreparedUser::new(&missing).err().unwrap();
        assert!(e.0.contains("VIGIL_TEST_SURELY_UNSET_VARIABLE is not set"), "{e}");
    }
}

//! Retrying RPC calls with exponential backoff. Transient failures (a node restarting, a
//! dropped connection, rate limits) are retried; every failure is logged with its attempt count.

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Exponential backoff: `initial`, doubling up to `max`, for at most `attempts` tries
/// (`None`: until it succeeds).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Backoff {
    /// First delay.
    #[serde(with = "millis")]
    pub initial: Duration,
    /// Longest delay.
    #[serde(with = "millis")]
    pub max: Duration,
    /// Most tries, `None` for no limit.
    pub attempts: Option<u32>,
}

pub(crate) mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self { initial: Duration::from_millis(200), max: Duration::from_secs(30), attempts: None }
    }
}

impl Backoff {
    /// The delay before retry number `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1).min(16)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// Runs `op` until it succeeds or the attempts run out; `what` names it in logs.
    pub async fn retry<T, E, F, Fut>(&self, what: &str, mut op: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: std::fmt::Display,
    {
        let mut attempt = 0u32;
        loop {
            attempt = attempt.saturating_add(1);
            match op().await {
                Ok(v) => {
                    if attempt > 1 {
                        tracing::info!(call = what, attempt, "RPC call succeeded after retries");
                    }
                    return Ok(v);
                }
                Err(e) => {
                    if self.attempts.is_some_and(|max| attempt >= max) {
                        tracing::warn!(call = what, attempt, error = %e, "RPC call failed; giving up");
                        return Err(e);
                    }
                    let delay = self.delay(attempt);
                    tracing::warn!(call = what, attempt, error = %e, ?delay, "RPC call failed; retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            attempts: None,
        };
        let d: Vec<u128> = (1..=6).map(|a| b.delay(a).as_millis()).collect();
        assert_eq!(d, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(1));
    }

    #[tokio::test]
    async fn retries_until_success_or_the_limit() {
        let b = Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(2),
            attempts: Some(3),
        };
        let mut calls = 0;
        let r: Result<u32, String> = b
            .retry("t", || {
                calls += 1;
                let c = calls;
                async move { if c < 3 { Err(format!("fail {c}")) } else { Ok(c) } }
            })
            .await;
        assert_eq!(r, Ok(3));
        let mut calls = 0;
        let r: Result<u32, String> = b
            .retry("t", || {
                calls += 1;
                async { Err("always".to_owned()) }
            })
            .await;
        assert_eq!(r, Err("always".into()));
        assert_eq!(calls, 3);
    }
}

//! API rate limits: requests per window for each caller (API key or user) and for each
//! organization. Counted in fixed windows, in Redis when `RAPPORT_REDIS_URL` is set (shared by
//! every server) and in this process otherwise. Should Redis fail, requests are let through and
//! the failure logged: a broken limiter must not take the API down.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;

/// What a request learns of one limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the window ends and the count starts again.
    pub reset_secs: u64,
}

impl Quota {
    /// The tighter of two quotas (what headers report).
    pub fn tighter(self, other: Quota) -> Quota {
        match (self.allowed, other.allowed) {
            (true, false) => other,
            (false, true) => self,
            _ if other.remaining < self.remaining => other,
            _ => self,
        }
    }
}

enum Counter {
    Local(Mutex<HashMap<String, (i64, u64)>>),
    Redis {
        client: redis::Client,
        connection: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    },
}

/// Limits per caller and per organization; a limit of 0 is no limit.
pub struct RateLimiter {
    pub per_caller: u64,
    pub per_organization: u64,
    window: Duration,
    counter: Counter,
}

impl RateLimiter {
    pub fn new(
        per_caller: u64,
        per_organization: u64,
        window: Duration,
        redis_url: Option<&str>,
    ) -> Result<RateLimiter, String> {
        let counter = match redis_url {
            Some(url) => Counter::Redis {
                client: redis::Client::open(url).map_err(|e| format!("RAPPORT_REDIS_URL: {e}"))?,
                connection: tokio::sync::Mutex::new(None),
            },
            None => Counter::Local(Mutex::new(HashMap::new())),
        };
        Ok(RateLimiter {
            per_caller,
            per_organization,
            window: window.max(Duration::from_secs(1)),
            counter,
        })
    }

    /// Counts a request of a caller (`key:{id}` or `user:{id}`).
    pub async fn caller(&self, key: &str) -> Option<Quota> {
        self.hit(key, self.per_caller).await
    }

    /// Counts a request in an organization.
    pub async fn organization(&self, id: &str) -> Option<Quota> {
        self.hit(&format!("org:{id}"), self.per_organization).await
    }

    async fn hit(&self, key: &str, limit: u64) -> Option<Quota> {
        if limit == 0 {
            return None;
        }
        let window = self.window.as_secs() as i64;
        let now = Utc::now().timestamp();
        let slot = now / window;
        let reset_secs = (window - now % window) as u64;
        let count = match &self.counter {
            Counter::Local(map) => {
                let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
                if map.len() > 100_000 {
                    map.retain(|_, (s, _)| *s == slot);
                }
                let entry = map.entry(key.to_owned()).or_insert((slot, 0));
                if entry.0 != slot {
                    *entry = (slot, 0);
                }
                entry.1 += 1;
                entry.1
            }
            Counter::Redis { client, connection } => {
                match self
                    .redis_count(client, connection, key, slot, window)
                    .await
                {
                    Ok(n) => n,
                    Err(error) => {
                        tracing::warn!(%error, "rate limiting through Redis failed; letting the request through");
                        connection.lock().await.take();
                        return None;
                    }
                }
            }
        };
        Some(Quota {
            allowed: count <= limit,
            limit,
            remaining: limit.saturating_sub(count),
            reset_secs,
        })
    }

    async fn redis_count(
        &self,
        client: &redis::Client,
        connection: &tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
        key: &str,
        slot: i64,
        window: i64,
    ) -> Result<u64, String> {
        let mut conn = {
            let mut held = connection.lock().await;
            match held.as_ref() {
                Some(c) => c.clone(),
                None => {
                    let c = client
                        .get_multiplexed_async_connection()
                        .await
                        .map_err(|e| e.to_string())?;
                    *held = Some(c.clone());
                    c
                }
            }
        };
        let redis_key = format!("rapport:rate:{key}:{slot}");
        let (count,): (u64,) = redis::pipe()
            .cmd("INCR")
            .arg(&redis_key)
            .cmd("EXPIRE")
            .arg(&redis_key)
            .arg(window * 2)
            .ignore()
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_caller_is_let_through_up_to_the_limit_then_refused() {
        let limiter = RateLimiter::new(3, 0, Duration::from_secs(3600), None).expect("limiter");
        let mut seen = Vec::new();
        for _ in 0..4 {
            let q = limiter.caller("user:a").await.expect("limited");
            seen.push((q.allowed, q.remaining));
        }
        assert_eq!(seen, [(true, 2), (true, 1), (true, 0), (false, 0)]);
        assert!(
            limiter.caller("user:b").await.expect("limited").allowed,
            "others unaffected"
        );
        assert_eq!(
            limiter.organization("x").await,
            None,
            "no organization limit"
        );
    }

    #[test]
    fn the_tighter_quota_is_the_refused_or_the_one_with_less_left() {
        let q = |allowed, remaining| Quota {
            allowed,
            limit: 10,
            remaining,
            reset_secs: 5,
        };
        assert_eq!(q(true, 5).tighter(q(true, 2)), q(true, 2));
        assert_eq!(q(true, 1).tighter(q(false, 0)), q(false, 0));
        assert_eq!(q(false, 0).tighter(q(true, 9)), q(false, 0));
    }
}

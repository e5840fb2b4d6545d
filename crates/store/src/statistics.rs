//! How many live records each organization has of each kind, counted up to a cap and kept for a
//! minute: what chooses how a search runs (see [`crate::text::strategy`]) without asking the
//! database on every request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rapport_domain::OrganizationId;

use crate::{Result, TenantTx, query};

/// How long a count is trusted.
const FRESH_FOR: Duration = Duration::from_secs(60);

/// Organizations and kinds counted so far, bounded (emptied when full).
const MAX_ENTRIES: usize = 50_000;

/// An organization and a table.
type Key = (OrganizationId, &'static str);

/// Per process; shared by every transaction of a [`crate::Db`].
#[derive(Debug, Default)]
pub struct Statistics {
    /// Live rows counted, and when.
    counted: Mutex<HashMap<Key, (i64, Instant)>>,
}

impl Statistics {
    fn recent(&self, key: Key) -> Option<i64> {
        let counted = self.counted.lock().unwrap_or_else(|e| e.into_inner());
        counted
            .get(&key)
            .filter(|(_, at)| at.elapsed() < FRESH_FOR)
            .map(|(n, _)| *n)
    }

    fn remember(&self, key: Key, n: i64) {
        let mut counted = self.counted.lock().unwrap_or_else(|e| e.into_inner());
        if counted.len() >= MAX_ENTRIES {
            counted.clear();
        }
        counted.insert(key, (n, Instant::now()));
    }
}

/// The live rows of `table` in the transaction's organization, counting at most `cap + 1`: from
/// the last minute's count when there is one.
pub async fn live_rows(tx: &mut TenantTx, table: &'static str, cap: i64) -> Result<i64> {
    #[derive(sqlx::FromRow)]
    struct Row {
        n: i64,
    }
    let key = (tx.organization_id(), table);
    let statistics = tx.raw().statistics();
    if let Some(n) = statistics.as_ref().and_then(|s| s.recent(key)) {
        return Ok(n);
    }
    let org = tx.organization_id();
    let row: Row = tx
        .raw()
        .fetch_one(
            query(format!(
                "SELECT COUNT(*) AS n FROM (SELECT 1 FROM {table} \
                 WHERE organization_id = $1 AND deleted_at IS NULL LIMIT $2) AS capped"
            ))
            .bind(org)
            .bind(cap + 1),
        )
        .await?;
    if let Some(s) = statistics {
        s.remember(key, row.n);
    }
    Ok(row.n)
}

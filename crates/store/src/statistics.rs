//! What a process keeps of each organization's record counts, so that the database is not asked
//! on every request:
//! - how many live records it has of each kind, counted up to a cap and kept for a minute: what
//!   chooses how a search runs (see [`crate::text::strategy`]);
//! - the figures computed lately over its records — lists' exact totals, the deal figures of
//!   its summary and funnel (see [`figure`]) — kept while the organization writes nothing. Every
//!   write transaction of an organization moves its *generation* when it commits (before and
//!   after the `COMMIT`), and a figure is used only while the generation it was computed at is
//!   current. Other processes hear of an organization's writes through the live bus
//!   ([`crate::IdentityWatcher::wrote`]) and forget its figures then; records are written only in
//!   tenant transactions, so platform writes move nothing.

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

/// How long a figure is trusted at most, whatever the generation says: the bound on a figure
/// gone stale through a write no watcher told of (another process on SQLite, which has no bus).
const FIGURE_FRESH_FOR: Duration = Duration::from_secs(10);

/// An organization and the digest of the statement computing a figure (its SQL and values).
type FigureKey = (OrganizationId, u64);

/// A figure kept: its value, the generation it was computed at, and when.
type Kept = (
    std::sync::Arc<dyn std::any::Any + Send + Sync>,
    u64,
    Instant,
);

/// Per process; shared by every transaction of a [`crate::Db`].
#[derive(Debug, Default)]
pub struct Statistics {
    /// Live rows counted, and when.
    counted: Mutex<HashMap<Key, (i64, Instant)>>,
    /// Each organization's generation: moved by every write it commits.
    generations: Mutex<HashMap<OrganizationId, u64>>,
    /// Figures computed.
    figures: Mutex<HashMap<FigureKey, Kept>>,
    /// Set while another process could write unheard (this one does not listen to the others):
    /// figures are kept only when it is not.
    deaf: std::sync::atomic::AtomicBool,
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

    /// The organization's generation now.
    pub(crate) fn generation(&self, org: OrganizationId) -> u64 {
        let generations = self.generations.lock().unwrap_or_else(|e| e.into_inner());
        generations.get(&org).copied().unwrap_or(0)
    }

    /// The organization wrote (or is about to commit a write): its figures are forgotten.
    /// Generations are never forgotten (one number per organization that wrote): one that went
    /// back to an earlier number could make a transaction begun before a write look current.
    pub fn wrote(&self, org: OrganizationId) {
        let mut generations = self.generations.lock().unwrap_or_else(|e| e.into_inner());
        *generations.entry(org).or_insert(0) += 1;
    }

    /// Whether other processes' writes are heard; either way, the figures kept so far are
    /// forgotten (writes may have gone unheard).
    pub fn hear_writes(&self, heard: bool) {
        self.deaf
            .store(!heard, std::sync::atomic::Ordering::Release);
        self.figures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn figure<T: Clone + Send + Sync + 'static>(&self, key: FigureKey) -> Option<T> {
        if self.deaf.load(std::sync::atomic::Ordering::Acquire) {
            return None;
        }
        let current = self.generation(key.0);
        let figures = self.figures.lock().unwrap_or_else(|e| e.into_inner());
        figures
            .get(&key)
            .filter(|(_, generation, at)| *generation == current && at.elapsed() < FIGURE_FRESH_FOR)
            .and_then(|(value, _, _)| value.downcast_ref::<T>().cloned())
    }

    /// Keeps a figure computed in a transaction begun at `generation`, unless the organization
    /// has written since (the figure may not show it).
    fn keep<T: Send + Sync + 'static>(&self, key: FigureKey, value: T, generation: u64) {
        if self.deaf.load(std::sync::atomic::Ordering::Acquire)
            || self.generation(key.0) != generation
        {
            return;
        }
        let mut figures = self.figures.lock().unwrap_or_else(|e| e.into_inner());
        if figures.len() >= MAX_ENTRIES {
            figures.clear();
        }
        figures.insert(
            key,
            (std::sync::Arc::new(value), generation, Instant::now()),
        );
    }
}

/// The digest naming a figure: the SQL and values of the statement computing it.
pub(crate) fn digest(q: &crate::Query) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    q.sql().hash(&mut h);
    format!("{:?}", q.args()).hash(&mut h);
    h.finish()
}

/// The figure named by `digest` in the transaction's organization, when it was computed since
/// the organization last wrote. A write transaction computes its figures afresh: it may have
/// changed what they count.
pub(crate) fn figure<T: Clone + Send + Sync + 'static>(
    tx: &mut TenantTx,
    digest: u64,
) -> Option<T> {
    if tx.raw().writes() {
        return None;
    }
    let org = tx.organization_id();
    tx.raw().statistics()?.figure((org, digest))
}

/// Keeps the figure named by `digest`, computed in this (read) transaction.
pub(crate) fn keep<T: Send + Sync + 'static>(tx: &mut TenantTx, digest: u64, value: T) {
    if tx.raw().writes() {
        return;
    }
    let org = tx.organization_id();
    if let (Some(statistics), Some(generation)) = (tx.raw().statistics(), tx.raw().generation) {
        statistics.keep((org, digest), value, generation);
    }
}

/// Runs `q` (a statement computing a figure over the organization's records) unless its answer
/// is kept since the organization last wrote.
pub(crate) async fn fetch_figure<T: crate::Record + Clone + Sync + 'static>(
    tx: &mut TenantTx,
    q: crate::Query,
) -> Result<Vec<T>> {
    let digest = digest(&q);
    if let Some(rows) = figure::<Vec<T>>(tx, digest) {
        return Ok(rows);
    }
    let rows: Vec<T> = tx.raw().fetch_all(q).await?;
    keep(tx, digest, rows.clone());
    Ok(rows)
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

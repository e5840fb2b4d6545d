//! The outbox dispatcher: hands every committed event to its consumers, once.
//!
//! Each organization's undispatched events are claimed in a transaction of that organization
//! (on PostgreSQL with `SKIP LOCKED`, so several dispatchers share the work); the consumers that
//! write to the database do so in that same transaction, which also marks the events dispatched. So an effect exists if and
//! only if its event is marked: a process that dies mid-batch leaves both undone, and the next
//! dispatcher redoes both. Only after the commit are the events published to live clients, who
//! may miss one across a crash (they refetch when they reconnect) but never see an event whose
//! effects were rolled back.

use std::sync::Arc;
use std::time::Duration;

use rapport_domain::OrganizationId;
use rapport_store::events as store_events;
use rapport_store::query;
use tokio::sync::watch;

use crate::live::LiveEvent;
use crate::{App, AppResult};

/// Events claimed per round.
pub const BATCH: i64 = 200;

/// Organizations visited per round.
const ORGANIZATIONS: i64 = 50;

impl App {
    /// Dispatches up to `limit` events, each organization's in a transaction of its own; returns
    /// how many.
    pub async fn dispatch_outbox(&self, limit: i64) -> AppResult<usize> {
        // Which organizations have events waiting: the one look across organizations.
        let mut tx = self.db.platform_read().await?;
        let organizations = store_events::pending_organizations(&mut tx, ORGANIZATIONS).await?;
        tx.commit().await?;
        let mut dispatched = 0;
        for org in organizations {
            let left = limit - dispatched as i64;
            if left <= 0 {
                break;
            }
            dispatched += self.dispatch_organization(org, left).await?;
        }
        Ok(dispatched)
    }

    /// Dispatches a batch of one organization's events, in its tenant transaction: the
    /// notifications and webhook deliveries they cause are written there, and the events are
    /// marked dispatched there.
    async fn dispatch_organization(&self, org: OrganizationId, limit: i64) -> AppResult<usize> {
        let mut tx = self.db.tenant(org).await?;
        let events = store_events::claim_undispatched(&mut tx, limit).await?;
        if events.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        let mut personal = Vec::new();
        for event in &events {
            // A consumer that fails on one event must not hold up every event after it: its
            // effects for that event are rolled back to the savepoint, logged, and skipped.
            tx.raw().execute(query("SAVEPOINT consumer")).await?;
            let consumed = async {
                let messages = crate::notifications::on_event(&self.db, &mut tx, event).await?;
                crate::webhooks::on_event(&mut tx, event).await?;
                crate::AppResult::Ok(messages)
            };
            match consumed.await {
                Ok(messages) => {
                    tx.raw()
                        .execute(query("RELEASE SAVEPOINT consumer"))
                        .await?;
                    personal.extend(messages);
                }
                Err(error) => {
                    let raw = tx.raw();
                    raw.execute(query("ROLLBACK TO SAVEPOINT consumer")).await?;
                    raw.execute(query("RELEASE SAVEPOINT consumer")).await?;
                    tracing::error!(%error, event = %event.id, kind = %event.event_type,
                        "consuming an event failed; it is dispatched without notifications or webhooks");
                }
            }
        }
        let ids: Vec<_> = events.iter().map(|e| e.id).collect();
        store_events::mark_dispatched(tx.raw(), &ids).await?;
        tx.commit().await?;
        let live = events.iter().map(LiveEvent::from).chain(personal);
        for message in live {
            if let Err(error) = self.live.publish(&message).await {
                tracing::warn!(%error, event = %message.event_id, "publishing a live event failed");
            }
        }
        Ok(events.len())
    }

    /// Dispatches events as they are committed, until `stop`.
    pub async fn run_dispatcher(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let signals = self.db.signals();
        loop {
            if *stop.borrow() {
                return;
            }
            match self.dispatch_outbox(BATCH).await {
                Ok(n) if n as i64 >= BATCH => continue,
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "dispatching outbox events failed"),
            }
            tokio::select! {
                () = signals.outbox.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

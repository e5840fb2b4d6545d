//! Live updates between processes. The outbox dispatcher publishes each dispatched event here;
//! every server process relays what any process published to its own WebSocket clients.
//!
//! The transport is chosen by configuration: Redis pub/sub when `RAPPORT_REDIS_URL` is set;
//! otherwise PostgreSQL `LISTEN`/`NOTIFY` on PostgreSQL; otherwise (SQLite, one process) an
//! in-process channel. Messages name what changed and who changed it, never the data itself.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use rapport_domain::{EventId, OrganizationId, UserId};
use rapport_store::Db;
use rapport_store::events::Event;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, broadcast, watch};

/// The Redis channel and the PostgreSQL `NOTIFY` channel of live events.
pub const CHANNEL: &str = "rapport_live";

/// Changed field names kept in one message (the rest is summed up by the record being refetched).
const MAX_CHANGED: usize = 64;

/// One event, as relayed to WebSocket clients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEvent {
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub event: String,
    pub record_type: Option<String>,
    pub record_id: Option<uuid::Uuid>,
    pub changed: Vec<String>,
    pub actor_id: Option<UserId>,
    pub at: DateTime<Utc>,
    /// When set, the event is for this one member (the `user` channel): a notification.
    pub user_id: Option<UserId>,
}

impl From<&Event> for LiveEvent {
    fn from(e: &Event) -> LiveEvent {
        let mut changed = e.changed.0.clone();
        changed.truncate(MAX_CHANGED);
        LiveEvent {
            organization_id: e.organization_id,
            event_id: e.id,
            event: e.event_type.clone(),
            record_type: e.record_type.clone(),
            record_id: e.record_id,
            changed,
            actor_id: e.actor_id.map(UserId),
            at: e.created_at,
            user_id: None,
        }
    }
}

enum Transport {
    Local,
    Redis {
        client: redis::Client,
        connection: Mutex<Option<redis::aio::MultiplexedConnection>>,
    },
    Postgres(Db),
}

/// The live event bus of this process.
pub struct Bus {
    local: broadcast::Sender<Arc<LiveEvent>>,
    transport: Transport,
}

impl Bus {
    /// The bus for a Redis URL (if any) and the application's database.
    pub fn new(redis_url: Option<&str>, db: &Db) -> Result<Bus, String> {
        let transport = match redis_url {
            Some(url) => Transport::Redis {
                client: redis::Client::open(url).map_err(|e| format!("RAPPORT_REDIS_URL: {e}"))?,
                connection: Mutex::new(None),
            },
            None if db.backend() == rapport_store::Backend::Postgres => {
                Transport::Postgres(db.clone())
            }
            None => Transport::Local,
        };
        let (local, _) = broadcast::channel(4096);
        Ok(Bus { local, transport })
    }

    /// How events travel between processes: `local`, `redis` or `postgres`.
    pub fn transport(&self) -> &'static str {
        match self.transport {
            Transport::Local => "local",
            Transport::Redis { .. } => "redis",
            Transport::Postgres(_) => "postgres",
        }
    }

    /// This process's stream of live events (from every process, once [`Bus::relay`] runs).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.local.subscribe()
    }

    /// Publishes an event to every server process.
    pub async fn publish(&self, event: &LiveEvent) -> Result<(), String> {
        match &self.transport {
            Transport::Local => {
                // No receiver is not an error: nobody is connected.
                let _ = self.local.send(Arc::new(event.clone()));
                Ok(())
            }
            Transport::Redis { client, connection } => {
                let payload = serde_json::to_string(event).map_err(|e| e.to_string())?;
                let mut connection = {
                    let mut slot = connection.lock().await;
                    match slot.as_ref() {
                        Some(c) => c.clone(),
                        None => {
                            let c = client
                                .get_multiplexed_async_connection()
                                .await
                                .map_err(|e| e.to_string())?;
                            *slot = Some(c.clone());
                            c
                        }
                    }
                };
                let sent: Result<i64, _> = redis::cmd("PUBLISH")
                    .arg(CHANNEL)
                    .arg(payload)
                    .query_async(&mut connection)
                    .await;
                if let Err(error) = sent {
                    if let Transport::Redis { connection, .. } = &self.transport {
                        connection.lock().await.take();
                    }
                    return Err(error.to_string());
                }
                Ok(())
            }
            Transport::Postgres(db) => {
                let payload = serde_json::to_string(event).map_err(|e| e.to_string())?;
                db.notify(CHANNEL, &payload)
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Relays events published by any process to this process's subscribers, until `stop`.
    /// Reconnects after a lost connection. Does nothing with the in-process transport.
    pub async fn relay(&self, mut stop: watch::Receiver<bool>) {
        loop {
            let ended = tokio::select! {
                ended = self.relay_once() => ended,
                _ = stop.changed() => return,
            };
            match ended {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(%error, transport = self.transport(), "live relay lost its connection; reconnecting");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => return,
                    }
                }
            }
        }
    }

    async fn relay_once(&self) -> Result<(), String> {
        match &self.transport {
            Transport::Local => Ok(()),
            Transport::Redis { client, .. } => {
                let mut pubsub = client.get_async_pubsub().await.map_err(|e| e.to_string())?;
                pubsub.subscribe(CHANNEL).await.map_err(|e| e.to_string())?;
                let mut messages = pubsub.on_message();
                while let Some(message) = messages.next().await {
                    match message.get_payload::<String>() {
                        Ok(payload) => self.forward(&payload),
                        Err(error) => tracing::warn!(%error, "unreadable live message"),
                    }
                }
                Err("the subscription ended".into())
            }
            Transport::Postgres(db) => {
                let Some(mut listener) = db.listen(&[CHANNEL]).await.map_err(|e| e.to_string())?
                else {
                    return Ok(());
                };
                loop {
                    let notification = listener.recv().await.map_err(|e| e.to_string())?;
                    self.forward(notification.payload());
                }
            }
        }
    }

    fn forward(&self, payload: &str) {
        match serde_json::from_str::<LiveEvent>(payload) {
            Ok(event) => {
                let _ = self.local.send(Arc::new(event));
            }
            Err(error) => tracing::warn!(%error, "unreadable live message"),
        }
    }
}

/// The record types a client may subscribe to (`record:{type}:{id}`).
pub const RECORD_TYPES: [&str; 5] = ["company", "contact", "lead", "deal", "task"];

fn object_of(record_type: &str) -> Option<rapport_domain::Object> {
    use rapport_domain::Object;
    Some(match record_type {
        "company" => Object::Company,
        "contact" => Object::Contact,
        "lead" => Object::Lead,
        "deal" => Object::Deal,
        "task" => Object::Task,
        "membership" | "member" | "invitation" => Object::Member,
        "pipeline" => Object::Deal,
        _ => return None,
    })
}

/// Whether someone with `role` may learn of `event`: its record type is one they may view. The
/// message carries names of changed fields, never values, so viewing the record type suffices.
pub fn may_see(role: rapport_domain::Role, event: &LiveEvent) -> bool {
    use rapport_domain::permission::{Action, Decision, Ownership, decide};
    match event.record_type.as_deref().and_then(object_of) {
        Some(object) => decide(role, Action::View, object, Ownership::Others) == Decision::Allow,
        None => event.record_type.is_none(),
    }
}

impl crate::App {
    /// Whether a record of the tenant's organization exists and the member may view it: what
    /// subscribing to `record:{type}:{id}` requires. A record of another organization, a deleted
    /// one and a missing one are all [`crate::AppError::NotFound`].
    pub async fn check_live_record(
        &self,
        tenant: &crate::Tenant,
        record_type: &str,
        id: uuid::Uuid,
    ) -> crate::AppResult<()> {
        use rapport_domain::permission::{Action, Decision, Ownership, decide};
        use rapport_store::{companies, contacts, deals, leads, tasks};
        let object = object_of(record_type)
            .filter(|_| RECORD_TYPES.contains(&record_type))
            .ok_or_else(|| crate::AppError::invalid("channel", "unknown record type"))?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let exists = match record_type {
            "company" => companies::find(&mut tx, rapport_domain::CompanyId(id))
                .await?
                .is_some(),
            "contact" => contacts::find(&mut tx, rapport_domain::ContactId(id))
                .await?
                .is_some(),
            "lead" => leads::find(&mut tx, rapport_domain::LeadId(id))
                .await?
                .is_some(),
            "deal" => deals::find(&mut tx, rapport_domain::DealId(id))
                .await?
                .is_some(),
            _ => tasks::find(&mut tx, rapport_domain::TaskId(id))
                .await?
                .is_some(),
        };
        tx.commit().await?;
        if !exists {
            return Err(crate::AppError::NotFound);
        }
        if decide(tenant.role, Action::View, object, Ownership::Others) != Decision::Allow {
            return Err(crate::AppError::Forbidden);
        }
        Ok(())
    }
}

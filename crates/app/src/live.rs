//! Live updates between processes. The outbox dispatcher publishes each dispatched event here;
//! every server process relays what any process published to its own WebSocket clients.
//!
//! The transport is chosen by configuration: Redis pub/sub when `RAPPORT_REDIS_URL` is set;
//! otherwise PostgreSQL `LISTEN`/`NOTIFY` on PostgreSQL; otherwise (SQLite, one process) an
//! in-process channel. Messages name what changed and who changed it, never the data itself.

use rapport_store::companies::Company;
use rapport_store::contacts::Contact;
use rapport_store::deals::Deal;
use rapport_store::leads::Lead;
use rapport_store::tables;
use rapport_store::tasks::Task;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use rapport_domain::{EventId, OrganizationId, UserId};
use rapport_store::Db;
use rapport_store::events::Event;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, broadcast, oneshot, watch};

use crate::identity::IdentityCache;

/// The Redis channel and the PostgreSQL `NOTIFY` channel of live events.
pub const CHANNEL: &str = "rapport_live";

/// The channel of identity changes, which every server's identity cache forgets; on Redis, which
/// several installations may share, followed by a tag of the installation's secret key (see
/// [`Bus::new`]).
pub const IDENTITY_CHANNEL: &str = "rapport_identity";

/// How long the server that committed an identity change waits for every other server to say it
/// has forgotten what changed before answering anyway.
const IDENTITY_ACK_WAIT: Duration = Duration::from_secs(2);

/// How often a server says it is there, and how long it counts as there after it last did.
const PEER_HEARTBEAT: Duration = Duration::from_secs(5);
const PEER_GONE_AFTER: Duration = Duration::from_secs(15);

/// What servers tell each other on the identity channel.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum IdentityMessage {
    /// Identity rows one transaction committed; `from` waits for every server to have heard.
    Changed {
        from: u64,
        seq: u64,
        changes: Vec<rapport_store::Changed>,
    },
    /// Server `by` has forgotten what change `seq` of server `from` touched.
    Heard { from: u64, seq: u64, by: u64 },
    /// Server `by` listens (sent when it subscribes, then every few seconds).
    Here { by: u64 },
    /// Server `from` committed writes in these organizations: their records' totals kept by
    /// the others are stale (see `rapport_store::statistics`). Not answered.
    Wrote {
        from: u64,
        organizations: Vec<OrganizationId>,
    },
}

/// How long a server gathers the organizations it wrote in before telling the others, in one
/// message: at most a hundred messages a second whatever the writes (on PostgreSQL each is a
/// `NOTIFY`, whose commits queue for one lock), and a total elsewhere is stale this long at most
/// (plus the message's way).
const WROTE_GATHER: Duration = Duration::from_millis(10);

/// A change of this server's, waiting to be heard by the servers that were there.
struct Waiting {
    remaining: std::collections::HashSet<u64>,
    done: Option<oneshot::Sender<()>>,
}

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
    identity: Arc<IdentityCache>,
    identity_channel: String,
    process: u64,
    seq: std::sync::atomic::AtomicU64,
    /// This server's identity changes not yet heard by every server, by sequence number.
    waiting: std::sync::Mutex<HashMap<u64, Waiting>>,
    /// The other servers, and when each last said so.
    peers: std::sync::Mutex<HashMap<u64, std::time::Instant>>,
    /// Organizations this server wrote in, not yet told of (see [`IdentityMessage::Wrote`]).
    wrote: std::sync::Mutex<std::collections::HashSet<OrganizationId>>,
    /// Whether a task is about to tell of them.
    telling_wrote: std::sync::atomic::AtomicBool,
    db: Db,
}

impl Bus {
    /// The bus for a Redis URL (if any) and the application's database, telling `identity` of
    /// every identity change any server commits.
    /// `installation` tells this installation's servers from others sharing a Redis (a tag
    /// derived from the secret key, which they all share).
    pub fn new(
        redis_url: Option<&str>,
        db: &Db,
        identity: Arc<IdentityCache>,
        installation: &str,
    ) -> Result<Bus, String> {
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
        // Until it listens, a server with others beside it cannot hear their writes.
        db.hear_writes(matches!(transport, Transport::Local));
        let (local, _) = broadcast::channel(4096);
        let mut process = [0u8; 8];
        getrandom::fill(&mut process).map_err(|e| e.to_string())?;
        let identity_channel = match transport {
            Transport::Redis { .. } => format!("{IDENTITY_CHANNEL}_{installation}"),
            _ => IDENTITY_CHANNEL.to_owned(),
        };
        Ok(Bus {
            local,
            transport,
            identity,
            identity_channel,
            process: u64::from_le_bytes(process),
            seq: std::sync::atomic::AtomicU64::new(0),
            waiting: std::sync::Mutex::new(HashMap::new()),
            peers: std::sync::Mutex::new(HashMap::new()),
            wrote: std::sync::Mutex::new(std::collections::HashSet::new()),
            telling_wrote: std::sync::atomic::AtomicBool::new(false),
            db: db.clone(),
        })
    }

    /// Tells the other servers, soon and in one message with whatever else is written meanwhile,
    /// that this one committed a write in `organization`.
    fn wrote(self: Arc<Self>, organization: OrganizationId) {
        // Alone, it has no one to tell. A server that starts listening says so at once (and
        // keeps nothing before it does), so it is missed for the moment its word takes at most.
        if self.is_local() || self.live_peers().is_empty() {
            return;
        }
        lock(&self.wrote).insert(organization);
        if self
            .telling_wrote
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            return;
        }
        tokio::spawn(async move {
            tokio::time::sleep(WROTE_GATHER).await;
            self.telling_wrote
                .store(false, std::sync::atomic::Ordering::Release);
            let organizations: Vec<OrganizationId> = lock(&self.wrote).drain().collect();
            // A hundred ids a message keeps within PostgreSQL's limit on a `NOTIFY` payload.
            for some in organizations.chunks(100) {
                let message = IdentityMessage::Wrote {
                    from: self.process,
                    organizations: some.to_vec(),
                };
                if let Err(error) = self.say(&message).await {
                    tracing::warn!(%error, transport = self.transport(), "could not tell other servers of writes; their totals may lag until they expire");
                }
            }
        });
    }

    /// Whether other processes can be heard at all: not with the in-process transport, where this
    /// process is the only one.
    pub fn is_local(&self) -> bool {
        matches!(self.transport, Transport::Local)
    }

    /// Tells every server that identity rows changed: this one's cache forgets them at once; the
    /// others' when the message reaches them. Waits (up to two seconds) until every server this
    /// one has heard from lately says it has forgotten them, so the next request, whichever
    /// server it reaches, finds the change.
    pub async fn publish_identity(&self, changes: Vec<rapport_store::Changed>) {
        self.identity.forget(&changes);
        if self.is_local() {
            return;
        }
        // A process that does not listen (a command, a worker) could not hear the answers.
        let listening = self.identity.is_listening();
        let seq = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (done, heard) = oneshot::channel();
        if listening {
            let mut remaining = self.live_peers();
            remaining.insert(self.process);
            lock(&self.waiting).insert(
                seq,
                Waiting {
                    remaining,
                    done: Some(done),
                },
            );
        }
        let message = IdentityMessage::Changed {
            from: self.process,
            seq,
            changes,
        };
        match self.say(&message).await {
            Ok(()) if !listening => {}
            Ok(()) => {
                if tokio::time::timeout(IDENTITY_ACK_WAIT, heard)
                    .await
                    .is_err()
                {
                    tracing::warn!(
                        transport = self.transport(),
                        "not every server said it heard of an identity change in time; one may learn of it late"
                    );
                }
            }
            Err(error) => tracing::error!(
                %error,
                transport = self.transport(),
                "could not tell other servers of an identity change; their caches keep it until they expire"
            ),
        }
        lock(&self.waiting).remove(&seq);
    }

    async fn say(&self, message: &IdentityMessage) -> Result<(), String> {
        let payload = serde_json::to_string(message).map_err(|e| e.to_string())?;
        self.send(&self.identity_channel, payload).await
    }

    /// The other servers heard from lately.
    fn live_peers(&self) -> std::collections::HashSet<u64> {
        let mut peers = lock(&self.peers);
        peers.retain(|_, seen| seen.elapsed() < PEER_GONE_AFTER);
        peers.keys().copied().collect()
    }

    /// Notes that `peer` is there; tells whether it was not known (or gone) until now.
    fn seen(&self, peer: u64) -> bool {
        if peer == self.process {
            return false;
        }
        let before = lock(&self.peers).insert(peer, std::time::Instant::now());
        before.is_none_or(|at| at.elapsed() >= PEER_GONE_AFTER)
    }

    /// Handles a message of the identity channel; returns the answer to send, if any.
    fn heard_identity(&self, payload: &str) -> Option<IdentityMessage> {
        match serde_json::from_str::<IdentityMessage>(payload) {
            Ok(IdentityMessage::Changed { from, seq, changes }) => {
                // The sender may not listen (a command): only `Here` and `Heard` make a peer.
                if from != self.process {
                    self.identity.forget(&changes);
                    // An organization's definitions (objects and fields) are kept with its
                    // figures: they are forgotten with them.
                    for change in &changes {
                        if let rapport_store::Changed::Organization(organization) = change {
                            self.db.organization_wrote(*organization);
                        }
                    }
                }
                let heard = IdentityMessage::Heard {
                    from,
                    seq,
                    by: self.process,
                };
                if from == self.process {
                    self.heard_by(seq, self.process);
                    None
                } else {
                    Some(heard)
                }
            }
            Ok(IdentityMessage::Heard { from, seq, by }) => {
                self.seen(by);
                if from == self.process {
                    self.heard_by(seq, by);
                }
                None
            }
            // A server new to this one hears back at once, rather than at the next heartbeat:
            // until then, it would not be told of this one's writes.
            Ok(IdentityMessage::Here { by }) => self
                .seen(by)
                .then_some(IdentityMessage::Here { by: self.process }),
            Ok(IdentityMessage::Wrote {
                from,
                organizations,
            }) => {
                if from != self.process {
                    for organization in organizations {
                        self.db.organization_wrote(organization);
                    }
                }
                None
            }
            Err(error) => {
                tracing::warn!(%error, "unreadable identity message; forgetting everything");
                self.identity.clear();
                self.db.hear_writes(true);
                None
            }
        }
    }

    fn heard_by(&self, seq: u64, by: u64) {
        let mut waiting = lock(&self.waiting);
        if let Some(w) = waiting.get_mut(&seq) {
            w.remaining.remove(&by);
            if w.remaining.is_empty()
                && let Some(done) = w.done.take()
            {
                let _ = done.send(());
            }
        }
    }

    /// Says this server is there, every few seconds while it listens.
    async fn heartbeats(&self) {
        let mut tick = tokio::time::interval(PEER_HEARTBEAT);
        loop {
            tick.tick().await;
            if self.identity.is_listening()
                && let Err(error) = self.say(&IdentityMessage::Here { by: self.process }).await
            {
                tracing::warn!(%error, "could not tell the other servers this one is there");
            }
        }
    }

    /// Handles an identity message and sends its answer.
    async fn on_identity(&self, payload: &str) {
        if let Some(answer) = self.heard_identity(payload)
            && let Err(error) = self.say(&answer).await
        {
            tracing::warn!(%error, "could not say an identity change was heard");
        }
    }

    /// Once subscribed: cache, and say so.
    async fn listening(&self) {
        self.identity.set_listening(true);
        self.db.hear_writes(true);
        if let Err(error) = self.say(&IdentityMessage::Here { by: self.process }).await {
            tracing::warn!(%error, "could not tell the other servers this one is there");
        }
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
        if self.is_local() {
            // No receiver is not an error: nobody is connected.
            let _ = self.local.send(Arc::new(event.clone()));
            return Ok(());
        }
        let payload = serde_json::to_string(event).map_err(|e| e.to_string())?;
        self.send(CHANNEL, payload).await
    }

    /// Sends a message to every process listening on `channel` (this one included).
    async fn send(&self, channel: &str, payload: String) -> Result<(), String> {
        match &self.transport {
            Transport::Local => Ok(()),
            Transport::Redis {
                client,
                connection: shared,
            } => {
                let mut connection = {
                    let mut slot = shared.lock().await;
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
                    .arg(channel)
                    .arg(payload)
                    .query_async(&mut connection)
                    .await;
                if let Err(error) = sent {
                    shared.lock().await.take();
                    return Err(error.to_string());
                }
                Ok(())
            }
            Transport::Postgres(db) => db
                .notify(channel, &payload)
                .await
                .map_err(|e| e.to_string()),
        }
    }

    /// Relays events published by any process to this process's subscribers, until `stop`.
    /// Reconnects after a lost connection. Does nothing with the in-process transport.
    pub async fn relay(&self, mut stop: watch::Receiver<bool>) {
        loop {
            let ended = tokio::select! {
                ended = self.relay_once() => ended,
                () = self.heartbeats() => Ok(()),
                _ = stop.changed() => return,
            };
            // Deaf until subscribed again: whatever changes meanwhile would go unheard.
            if !self.is_local() {
                self.identity.set_listening(false);
                self.db.hear_writes(false);
            }
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
                pubsub
                    .subscribe(&[CHANNEL, self.identity_channel.as_str()])
                    .await
                    .map_err(|e| e.to_string())?;
                self.listening().await;
                let mut messages = pubsub.on_message();
                while let Some(message) = messages.next().await {
                    match message.get_payload::<String>() {
                        Ok(payload) if message.get_channel_name() == self.identity_channel => {
                            self.on_identity(&payload).await
                        }
                        Ok(payload) => self.forward(&payload),
                        Err(error) => tracing::warn!(%error, "unreadable live message"),
                    }
                }
                Err("the subscription ended".into())
            }
            Transport::Postgres(db) => {
                let Some(mut listener) = db
                    .listen(&[CHANNEL, self.identity_channel.as_str()])
                    .await
                    .map_err(|e| e.to_string())?
                else {
                    return Ok(());
                };
                self.listening().await;
                loop {
                    // `None`: the connection was lost, and with it whatever was sent meanwhile.
                    let notification = listener
                        .try_recv()
                        .await
                        .map_err(|e| e.to_string())?
                        .ok_or("the listening connection was lost")?;
                    if notification.channel() == self.identity_channel {
                        self.on_identity(notification.payload()).await;
                    } else {
                        self.forward(notification.payload());
                    }
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

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the database tells of committed identity changes: the bus, held weakly (the bus holds
/// the database on the PostgreSQL transport, and neither should keep the other alive).
pub struct IdentityPublisher(pub std::sync::Weak<Bus>);

impl rapport_store::IdentityWatcher for IdentityPublisher {
    fn committed(
        &self,
        changes: Vec<rapport_store::Changed>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            if let Some(bus) = self.0.upgrade() {
                bus.publish_identity(changes).await;
            }
        })
    }

    fn wrote(&self, organization: OrganizationId) {
        if let Some(bus) = self.0.upgrade() {
            bus.wrote(organization);
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
        // Any other key is a custom object's (`record.*` events carry the object's key).
        other if rapport_domain::schema::ObjectKey::parse(other).is_ok() => Object::Record,
        _ => return None,
    })
}

/// Whether a member of `tenant` may learn of `event`: its record type is one they may view. The
/// message carries names of changed fields, never values, so viewing the record type suffices.
pub fn may_see(tenant: &crate::Tenant, event: &LiveEvent) -> bool {
    use rapport_domain::permission::{Action, Ownership};
    let Some(record_type) = event.record_type.as_deref() else {
        return true;
    };
    match object_of(record_type) {
        Some(rapport_domain::Object::Record) => {
            tenant.may_kind(Action::View.into(), record_type, Ownership::NotApplicable)
        }
        Some(object) => tenant.may(Action::View, object, Ownership::NotApplicable),
        None => false,
    }
}

/// Whether `user`, a member of `tenant`, hears of `event` on the organization's channel: of
/// every record of a kind they see all of; of the others, of the changes they made themselves.
/// An event names no owner, so a change someone else makes to a record in a partial reach
/// reaches them through the record's own channel (its open page), checked when subscribing.
pub fn org_may_see(tenant: &crate::Tenant, user: UserId, event: &LiveEvent) -> bool {
    use rapport_domain::access::{Reach, RecordAction};
    let Some(record_type) = event.record_type.as_deref() else {
        return true;
    };
    if event.actor_id == Some(user) {
        return true;
    }
    match record_type {
        "membership" | "member" | "invitation" | "pipeline" => true,
        // A custom object's record named without its object (a comment, a tag): heard by those
        // who see every record of every custom object.
        "record" => tenant.may(
            rapport_domain::Action::View,
            rapport_domain::Object::Record,
            rapport_domain::Ownership::Others,
        ),
        kind => tenant.reach_of(user, RecordAction::View, kind) == Reach::All,
    }
}

impl crate::App {
    /// Whether a record of the tenant's organization exists and the member may view it: what
    /// subscribing to `record:{type}:{id}` requires. A record of another organization, a deleted
    /// one and a missing one are all [`crate::AppError::NotFound`].
    pub async fn check_live_record(
        &self,
        actor: &crate::Actor,
        tenant: &crate::Tenant,
        record_type: &str,
        id: uuid::Uuid,
    ) -> crate::AppResult<()> {
        use rapport_domain::permission::{Action, Ownership};

        let object = object_of(record_type)
            .filter(|o| RECORD_TYPES.contains(&record_type) || *o == rapport_domain::Object::Record)
            .ok_or_else(|| crate::AppError::invalid("channel", "unknown record type"))?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let owner = |o: Option<UserId>| o.map(|o| tenant.relation(actor, o));
        let relation: Option<Ownership> = match record_type {
            custom if !RECORD_TYPES.contains(&custom) => {
                match rapport_store::objects::find_by_key(&mut tx, custom).await? {
                    Some(o) if o.deleted_at.is_none() => owner(
                        rapport_store::records::find(&mut tx, o.id, rapport_domain::RecordId(id))
                            .await?
                            .map(|r| r.owner_id),
                    ),
                    _ => {
                        return Err(crate::AppError::invalid("channel", "no such object"));
                    }
                }
            }
            "company" => owner(
                tables::find::<Company>(&mut tx, rapport_domain::CompanyId(id))
                    .await?
                    .map(|r| r.owner_id),
            ),
            "contact" => owner(
                tables::find::<Contact>(&mut tx, rapport_domain::ContactId(id))
                    .await?
                    .map(|r| r.owner_id),
            ),
            "lead" => owner(
                tables::find::<Lead>(&mut tx, rapport_domain::LeadId(id))
                    .await?
                    .map(|r| r.owner_id),
            ),
            "deal" => owner(
                tables::find::<Deal>(&mut tx, rapport_domain::DealId(id))
                    .await?
                    .map(|r| r.owner_id),
            ),
            _ => match tables::find::<Task>(&mut tx, rapport_domain::TaskId(id)).await? {
                Some(task) => Some(crate::tasks::relation(&mut tx, actor, tenant, &task).await?),
                None => None,
            },
        };
        tx.commit().await?;
        let Some(relation) = relation else {
            return Err(crate::AppError::NotFound);
        };
        let may = if object == rapport_domain::Object::Record {
            tenant.may_kind(Action::View.into(), record_type, Ownership::NotApplicable)
        } else {
            tenant.may(Action::View, object, Ownership::NotApplicable)
        };
        if !may {
            return Err(crate::AppError::Forbidden);
        }
        // A record out of the member's reach is not there for them.
        if !tenant.sees(record_type, relation) {
            return Err(crate::AppError::NotFound);
        }
        Ok(())
    }
}

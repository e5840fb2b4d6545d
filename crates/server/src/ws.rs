//! The WebSocket gateway at `/ws` (protocol: docs/API.md, "Live updates").
//!
//! The upgrade request authenticates like any API request (session cookie, `Authorization:
//! Bearer` with an access token or API key, or `?access_token=`) and names its organization
//! (`X-Organization-Id`, `?organization_id=`, or the organization's address). Each connection
//! then reads this process's live event stream and forwards what its subscriptions select and its
//! role may see. Credentials are checked again every minute: a revoked session or membership
//! closes the connection. A client that falls behind the stream is disconnected (it reconnects
//! and refetches) rather than buffered without bound.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rapport_app::live::{self, LiveEvent};
use rapport_domain::UserId;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Credentials, Scope, check_origin};
use crate::middleware::PathSlug;

/// Channels one connection may subscribe to.
const MAX_SUBSCRIPTIONS: usize = 200;
/// Largest message a client may send.
const MAX_MESSAGE_BYTES: usize = 16 * 1024;
/// A send that takes longer means the client is not reading: it is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How often credentials and membership are checked again.
const RECHECK_EVERY: Duration = Duration::from_secs(60);

/// Open connections per user on this server, for the per-user cap.
#[derive(Default)]
pub struct Connections {
    per_user: Mutex<HashMap<UserId, usize>>,
}

impl Connections {
    fn open(self: &Arc<Self>, user: UserId, cap: usize) -> Option<ConnectionGuard> {
        let mut per_user = self.per_user.lock().unwrap_or_else(|e| e.into_inner());
        let count = per_user.entry(user).or_insert(0);
        if *count >= cap {
            return None;
        }
        *count += 1;
        Some(ConnectionGuard {
            connections: self.clone(),
            user,
        })
    }

    /// Connections open on this server.
    pub fn total(&self) -> usize {
        let per_user = self.per_user.lock().unwrap_or_else(|e| e.into_inner());
        per_user.values().sum()
    }
}

struct ConnectionGuard {
    connections: Arc<Connections>,
    user: UserId,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut per_user = self
            .connections
            .per_user
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(count) = per_user.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                per_user.remove(&self.user);
            }
        }
    }
}

/// The request's credentials, kept to check them again while the connection lives.
#[derive(Clone)]
struct Presented {
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    slug: Option<PathSlug>,
}

impl Presented {
    fn parts(&self) -> Parts {
        let mut request = Request::new(());
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        if let Some(slug) = &self.slug {
            request.extensions_mut().insert(slug.clone());
        }
        request.into_parts().0
    }
}

/// Live updates over WebSocket.
///
/// A `GET` with the WebSocket upgrade headers; answered `101 Switching Protocols` once the caller
/// is known and a member of the organization. Credentials: `Authorization: Bearer` with an access
/// token or API key, the session cookie (from Rapport's own pages only), or `?access_token=` for
/// clients that cannot set headers. The organization: `X-Organization-Id`, `?organization_id=`, or
/// the organization's own address (`/o/{slug}/ws`, its subdomain or custom domain).
///
/// Messages are JSON text frames. The client sends `{"type": "subscribe", "channel": C}`,
/// `{"type": "unsubscribe", "channel": C}` and `{"type": "ping"}`, where `C` is `org` (every change
/// in the organization), `user` (messages for the connected user) or
/// `record:{object}:{id}` (one record of a built-in or custom object). The server answers
/// `{"type": "subscribed", "channel": C}`, `{"type": "unsubscribed", "channel": C}`,
/// `{"type": "pong"}`, `{"type": "error", "code": "forbidden" | "not_found" | "bad_request",
/// "channel": C}`, and sends events: `{"type": "event", "channel": C, "event": "deal.stage_changed",
/// "event_id", "record": {"type", "id"}, "changed": [field names], "actor_id", "at"}`. Events name
/// what changed, never values: fetch the record through the API. Close codes: 1001 idle, 1012
/// server restarting, 1013 too slow to keep up, 4401 credentials expired or revoked, 4403 no longer
/// a member. The protocol in full: `docs/API.md` (Live updates) and the event catalogue in
/// `docs/EVENTS.md`.
#[utoipa::path(get, path = "/ws", tag = "live", security(("bearer" = [])),
    params(
        ("access_token" = Option<String>, Query, description = "Instead of the Authorization header"),
        ("organization_id" = Option<uuid::Uuid>, Query, description = "Instead of the X-Organization-Id header"),
        ("X-Organization-Id" = Option<uuid::Uuid>, Header, description = "The organization whose changes to follow"),
    ),
    responses(
        (status = 101, description = "Switched to the WebSocket protocol"),
        (status = 400, description = "`websocket_required` (a plain HTTP request), `organization_required`, `invalid_organization_id`, `invalid_query`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (not a member), `organization_suspended`, `csrf_failed` (a session cookie sent from another origin)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_connections`: the user holds as many connections as allowed on this server", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    ))]
pub async fn upgrade(State(state): State<AppState>, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    if let Err(problem) = adopt_query_credentials(&mut parts) {
        return problem.into_response();
    }
    // The organization comes only from the request itself, never from an earlier connection.
    let scope = match Scope::from_request_parts(&mut parts, &state).await {
        Ok(scope) => scope,
        Err(problem) => return problem.into_response(),
    };
    // A browser sends the session cookie along with any page's WebSocket: only Rapport's own
    // pages may use it.
    if matches!(scope.auth.credentials, Credentials::Session(_))
        && let Err(problem) = check_origin(&parts.headers, &state)
    {
        return problem.into_response();
    }
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(ws) => ws,
        Err(rejection) => {
            return ApiError::bad_request("websocket_required", rejection.body_text())
                .into_response();
        }
    };
    let user = scope.auth.actor.user_id;
    let cap = state.app.config.ws_max_connections_per_user;
    let Some(guard) = state.connections.open(user, cap) else {
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_connections",
            format!("at most {cap} live connections per user; close another tab or client"),
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        return response;
    };
    let credentials = Presented {
        uri: parts.uri.clone(),
        headers: parts.headers.clone(),
        slug: parts.extensions.get::<PathSlug>().cloned(),
    };
    let connection = Connection {
        state,
        user,
        actor: scope.auth.actor,
        tenant: scope.tenant,
        credentials,
        org: false,
        user_channel: false,
        records: HashSet::new(),
    };
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| async move {
            connection.run(socket).await;
            drop(guard);
        })
}

/// `?access_token=` and `?organization_id=` stand for the headers, for clients (browsers) that
/// cannot set headers on a WebSocket.
fn adopt_query_credentials(parts: &mut Parts) -> Result<(), ApiError> {
    let Some(query) = parts.uri.query() else {
        return Ok(());
    };
    let mut token = None;
    let mut organization = None;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "access_token" => token = Some(value.into_owned()),
            "organization_id" => organization = Some(value.into_owned()),
            _ => {}
        }
    }
    let invalid =
        || ApiError::bad_request("invalid_query", "malformed access_token or organization_id");
    if let Some(token) = token
        && !parts.headers.contains_key(header::AUTHORIZATION)
    {
        let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| invalid())?;
        parts.headers.insert(header::AUTHORIZATION, value);
    }
    if let Some(organization) = organization
        && !parts.headers.contains_key("x-organization-id")
    {
        let value = HeaderValue::from_str(&organization).map_err(|_| invalid())?;
        parts.headers.insert("x-organization-id", value);
    }
    Ok(())
}

/// What a client sends.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Subscribe { channel: String },
    Unsubscribe { channel: String },
    Ping,
}

/// A channel a client names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Channel {
    Org,
    User,
    Record(String, uuid::Uuid),
}

impl Channel {
    fn parse(name: &str) -> Option<Channel> {
        match name {
            "org" => Some(Channel::Org),
            "user" => Some(Channel::User),
            _ => {
                let rest = name.strip_prefix("record:")?;
                let (kind, id) = rest.split_once(':')?;
                rapport_domain::schema::ObjectKey::parse(kind)
                    .is_ok()
                    .then_some(())
                    .and_then(|()| id.parse().ok())
                    .map(|id| Channel::Record(kind.to_owned(), id))
            }
        }
    }
}

struct Connection {
    state: AppState,
    user: UserId,
    /// Who connected, as of the connection's start (for the reach of record channels).
    actor: rapport_app::Actor,
    /// The organization and the member's role in it, as of the last check.
    tenant: rapport_app::Tenant,
    credentials: Presented,
    org: bool,
    user_channel: bool,
    records: HashSet<(String, uuid::Uuid)>,
}

/// Why a connection ends.
enum Ending {
    /// The client closed it or went away.
    Gone,
    Close(u16, &'static str),
}

impl Connection {
    async fn run(mut self, mut socket: WebSocket) {
        let mut events = self.state.app.live.subscribe();
        let idle = self.state.app.config.ws_idle_timeout;
        let mut heartbeat = tokio::time::interval(idle / 3);
        heartbeat.tick().await;
        let mut last_heard = Instant::now();
        let mut last_check = Instant::now();
        let ending = loop {
            tokio::select! {
                incoming = socket.recv() => {
                    let Some(Ok(message)) = incoming else { break Ending::Gone };
                    last_heard = Instant::now();
                    match message {
                        Message::Text(text) => {
                            let reply = self.handle(&text).await;
                            if !send(&mut socket, reply).await {
                                break Ending::Gone;
                            }
                        }
                        Message::Binary(_) => {
                            let reply = json!({"type": "error", "code": "bad_request", "message": "send JSON text frames"});
                            if !send(&mut socket, reply).await {
                                break Ending::Gone;
                            }
                        }
                        Message::Close(_) => break Ending::Gone,
                        Message::Ping(_) | Message::Pong(_) => {}
                    }
                }
                event = events.recv() => match event {
                    Ok(event) => {
                        for message in self.route(&event) {
                            if !send(&mut socket, message).await {
                                break;
                            }
                        }
                    }
                    Err(RecvError::Lagged(_)) => break Ending::Close(1013, "too slow: reconnect and refetch"),
                    Err(RecvError::Closed) => break Ending::Close(1012, "server restarting"),
                },
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > idle {
                        break Ending::Close(1001, "idle timeout");
                    }
                    if last_check.elapsed() >= RECHECK_EVERY {
                        last_check = Instant::now();
                        if let Some(ending) = self.recheck().await {
                            break ending;
                        }
                    }
                    let ping = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Ping(Default::default()))).await;
                    if !matches!(ping, Ok(Ok(()))) {
                        break Ending::Gone;
                    }
                }
            }
        };
        if let Ending::Close(code, reason) = ending {
            let frame = CloseFrame {
                code,
                reason: Utf8Bytes::from_static(reason),
            };
            let _ =
                tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
            // The closing handshake: wait briefly for the client's answer, so it reads the code
            // rather than a dropped connection.
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                while let Some(Ok(message)) = socket.recv().await {
                    if matches!(message, Message::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }
    }

    /// Credentials still valid and still a member (with the same role, else the new one
    /// applies), and each record subscribed to still in reach.
    async fn recheck(&mut self) -> Option<Ending> {
        let mut parts = self.credentials.parts();
        match Scope::from_request_parts(&mut parts, &self.state).await {
            Ok(scope) => {
                self.tenant = scope.tenant;
                self.actor = scope.auth.actor;
                // Records that left the member's reach (handed to someone else, a team or a
                // role changed) stop being told of.
                let subscribed: Vec<(String, uuid::Uuid)> = self.records.iter().cloned().collect();
                for (kind, id) in subscribed {
                    let check = self
                        .state
                        .app
                        .check_live_record(&self.actor, &self.tenant, &kind, id)
                        .await;
                    if matches!(
                        check,
                        Err(rapport_app::AppError::NotFound | rapport_app::AppError::Forbidden)
                    ) {
                        self.records.remove(&(kind, id));
                    }
                }
                None
            }
            Err(problem) if problem.status == StatusCode::UNAUTHORIZED => {
                Some(Ending::Close(4401, "credentials expired or revoked"))
            }
            Err(problem) if problem.status.is_client_error() => Some(Ending::Close(
                4403,
                "no longer a member of this organization",
            )),
            // The database is briefly unreachable: keep the connection, check next time.
            Err(_) => None,
        }
    }

    async fn handle(&mut self, text: &str) -> serde_json::Value {
        let message: ClientMessage = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(_) => {
                return json!({"type": "error", "code": "bad_request", "message": "expected {\"type\": \"subscribe\" | \"unsubscribe\" | \"ping\", ...}"});
            }
        };
        match message {
            ClientMessage::Ping => json!({"type": "pong"}),
            ClientMessage::Subscribe { channel: name } => {
                let error = |code: &str, message: &str| json!({"type": "error", "code": code, "channel": name, "message": message});
                let Some(channel) = Channel::parse(&name) else {
                    return error(
                        "bad_request",
                        "channels are org, user and record:{object}:{id}",
                    );
                };
                if self.records.len() >= MAX_SUBSCRIPTIONS {
                    return error("bad_request", "too many subscriptions on this connection");
                }
                match channel {
                    Channel::Org => self.org = true,
                    Channel::User => self.user_channel = true,
                    Channel::Record(kind, id) => {
                        match self
                            .state
                            .app
                            .check_live_record(&self.actor, &self.tenant, &kind, id)
                            .await
                        {
                            Ok(()) => {
                                self.records.insert((kind, id));
                            }
                            Err(rapport_app::AppError::Forbidden) => {
                                return error("forbidden", "you may not view this record");
                            }
                            Err(rapport_app::AppError::NotFound) => {
                                return error("not_found", "no such record in this organization");
                            }
                            Err(rapport_app::AppError::Validation(_)) => {
                                return error("bad_request", "no such object in this organization");
                            }
                            Err(e) => {
                                tracing::error!(error = %e, "checking a live subscription failed");
                                return error("unavailable", "try again shortly");
                            }
                        }
                    }
                }
                json!({"type": "subscribed", "channel": name})
            }
            ClientMessage::Unsubscribe { channel: name } => {
                match Channel::parse(&name) {
                    Some(Channel::Org) => self.org = false,
                    Some(Channel::User) => self.user_channel = false,
                    Some(Channel::Record(kind, id)) => {
                        self.records.remove(&(kind, id));
                    }
                    None => {
                        return json!({"type": "error", "code": "bad_request", "channel": name, "message": "unknown channel"});
                    }
                }
                json!({"type": "unsubscribed", "channel": name})
            }
        }
    }

    /// The messages `event` makes on this connection: one per subscribed channel it concerns.
    fn route(&self, event: &LiveEvent) -> Vec<serde_json::Value> {
        if event.organization_id != self.tenant.id() {
            return Vec::new();
        }
        let mut channels = Vec::new();
        match event.user_id {
            Some(user) => {
                if self.user_channel && user == self.user {
                    channels.push("user".to_owned());
                }
            }
            None => {
                if !live::may_see(&self.tenant, event) {
                    return Vec::new();
                }
                if self.org && live::org_may_see(&self.tenant, self.user, event) {
                    channels.push("org".to_owned());
                }
                if let (Some(kind), Some(id)) = (&event.record_type, event.record_id)
                    && self.records.contains(&(kind.clone(), id))
                {
                    channels.push(format!("record:{kind}:{id}"));
                }
            }
        }
        // Names of fields hidden from the member's role are left out; a change of nothing else
        // is not told at all.
        let hidden: Vec<String> = event
            .record_type
            .as_deref()
            .map(|kind| {
                self.tenant
                    .access
                    .grants
                    .hidden_fields(kind)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let changed: Vec<&String> = event
            .changed
            .iter()
            .filter(|name| !rapport_app::fields::is_hidden_name(name, &hidden))
            .collect();
        if changed.is_empty() && !event.changed.is_empty() {
            return Vec::new();
        }
        channels
            .into_iter()
            .map(|channel| {
                let record = match (&event.record_type, event.record_id) {
                    (Some(kind), Some(id)) => json!({"type": kind, "id": id}),
                    _ => serde_json::Value::Null,
                };
                json!({
                    "type": "event",
                    "channel": channel,
                    "event": event.event,
                    "event_id": event.event_id,
                    "record": record,
                    "changed": changed,
                    "actor_id": event.actor_id,
                    "at": event.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                })
            })
            .collect()
    }
}

/// Sends one JSON message; false when the client is gone or too slow to take it.
async fn send(socket: &mut WebSocket, message: serde_json::Value) -> bool {
    let text = Message::Text(message.to_string().into());
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(text)).await,
        Ok(Ok(()))
    )
}

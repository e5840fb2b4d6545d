//! `/api/v1/notifications`: the caller's notifications in the organization, and their choices.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rapport_app::notifications::{Choice, Preferences};
use rapport_domain::NotificationId;
use rapport_domain::notification::{EmailChoice, NotificationKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth, Scope};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationOut {
    pub id: Uuid,
    /// task_assigned, task_due, task_reminder, mention, deal_changed, record_changed, invitation_accepted
    pub kind: String,
    pub title: String,
    pub body: String,
    /// The page it is about, in the web app.
    pub link: String,
    pub record_type: Option<String>,
    pub record_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationsOut {
    pub items: Vec<NotificationOut>,
    /// Unread notifications in the organization (all of them, not just this page).
    pub unread: i64,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<Uuid>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NotificationParams {
    /// Only unread ones.
    pub unread: Option<bool>,
    /// The previous page's `next_cursor`: older notifications.
    pub cursor: Option<Uuid>,
    /// Page size, 1–100 (default 30).
    pub limit: Option<i64>,
}

/// The caller's notifications in the organization, newest first, with the unread count.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", security(("bearer" = [])),
    params(NotificationParams, ("X-Organization-Id" = Uuid, Header)), responses((status = 200, body = NotificationsOut), (status = 400, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    scope: Scope,
    ApiQuery(params): ApiQuery<NotificationParams>,
) -> ApiResult<Json<NotificationsOut>> {
    let limit = params.limit.unwrap_or(30);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "limit must be between 1 and 100",
        ));
    }
    let app = &state.app;
    let actor = &scope.auth.actor;
    let mut list = app
        .notifications(
            actor,
            &scope.tenant,
            params.unread.unwrap_or(false),
            params.cursor.map(NotificationId),
            limit + 1,
        )
        .await?;
    let more = list.len() as i64 > limit;
    list.truncate(limit as usize);
    let unread = app.unread_notifications(actor, &scope.tenant).await?;
    Ok(Json(NotificationsOut {
        next_cursor: more.then(|| list.last().map(|n| n.id.as_uuid())).flatten(),
        unread,
        items: list
            .into_iter()
            .map(|n| NotificationOut {
                id: n.id.as_uuid(),
                kind: n.kind,
                title: n.title,
                body: n.body,
                link: n.link,
                record_type: n.record_type,
                record_id: n.record_id,
                actor_id: n.actor_id,
                read_at: n.read_at,
                created_at: n.created_at,
            })
            .collect(),
    }))
}

/// Mark one notification read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)), responses((status = 204), (status = 404, body = Problem)))]
pub async fn read(
    State(state): State<AppState>,
    scope: Scope,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .app
        .mark_notification_read(&scope.auth.actor, &scope.tenant, NotificationId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedOut {
    /// How many were unread.
    pub marked: u64,
}

/// Mark every notification in the organization read.
#[utoipa::path(post, path = "/api/v1/notifications/read-all", tag = "notifications", security(("bearer" = [])),
    params(("X-Organization-Id" = Uuid, Header)), responses((status = 200, body = MarkedOut)))]
pub async fn read_all(State(state): State<AppState>, scope: Scope) -> ApiResult<Json<MarkedOut>> {
    let marked = state
        .app
        .mark_all_notifications_read(&scope.auth.actor, &scope.tenant)
        .await?;
    Ok(Json(MarkedOut { marked }))
}

/// One kind of notification and how the caller receives it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KindPreference {
    /// task_assigned, task_due, task_reminder, mention, deal_changed, record_changed, invitation_accepted
    pub kind: String,
    /// Shown in the app (the bell).
    pub in_app: bool,
    /// never, immediate or digest (a daily email at 8:00 in the caller's time zone)
    pub email: String,
}

/// How the caller receives notifications, in every organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreferencesOut {
    /// The caller's time zone (IANA name); null follows each organization's. Reminders entered
    /// in the web app, due-task notifications and the digest follow it.
    pub time_zone: Option<String>,
    pub kinds: Vec<KindPreference>,
}

/// A change of preferences: the time zone when present, and the kinds listed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesIn {
    #[serde(default, deserialize_with = "super::types::present")]
    #[schema(value_type = Option<String>)]
    pub time_zone: Option<Option<String>>,
    #[serde(default)]
    pub kinds: Vec<KindPreference>,
}

fn out(p: Preferences) -> PreferencesOut {
    PreferencesOut {
        time_zone: p.time_zone,
        kinds: p
            .choices
            .into_iter()
            .map(|c| KindPreference {
                kind: c.kind.as_str().to_owned(),
                in_app: c.in_app,
                email: c.email.as_str().to_owned(),
            })
            .collect(),
    }
}

/// How the caller receives each kind of notification (in every organization).
#[utoipa::path(get, path = "/api/v1/notifications/preferences", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = PreferencesOut)))]
pub async fn preferences(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<PreferencesOut>> {
    Ok(Json(out(state
        .app
        .notification_preferences(&auth.actor)
        .await?)))
}

/// Change the caller's time zone and how they receive some kinds; what is not given is kept.
#[utoipa::path(put, path = "/api/v1/notifications/preferences", tag = "notifications", security(("bearer" = [])),
    request_body = PreferencesIn, responses((status = 200, body = PreferencesOut), (status = 422, body = Problem)))]
pub async fn set_preferences(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<PreferencesIn>,
) -> ApiResult<Json<PreferencesOut>> {
    auth.require_user()?;
    let mut choices = Vec::new();
    let mut errors = rapport_domain::ValidationErrors::new();
    for (i, p) in body.kinds.iter().enumerate() {
        let kind = NotificationKind::parse(&p.kind);
        let email = EmailChoice::parse(&p.email);
        if kind.is_none() {
            errors.add(&format!("kinds[{i}].kind"), "is not a kind of notification");
        }
        if email.is_none() {
            errors.add(
                &format!("kinds[{i}].email"),
                "must be never, immediate or digest",
            );
        }
        if let (Some(kind), Some(email)) = (kind, email) {
            choices.push(Choice {
                kind,
                in_app: p.in_app,
                email,
            });
        }
    }
    errors
        .into_result()
        .map_err(rapport_app::AppError::Validation)?;
    Ok(Json(out(state
        .app
        .set_notification_preferences(&auth.actor, body.time_zone, &choices)
        .await?)))
}

//! `/api/v1/portal`: the client portal as the organization runs it — what it shows, its
//! clients (invited by email, each linked to a company or contact), and the deals and custom
//! records shared with one client. Clients themselves never use this API: they sign in to the
//! portal's pages.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_app::portal::{Client, ClientInput, PortalSettings, status};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::v1::types::present;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Meta, Scope};
use crate::state::AppState;

/// What the portal shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortalSettingsOut {
    /// Invited clients can sign in.
    pub enabled: bool,
    /// Shown on the portal's home page.
    pub welcome: String,
    /// Deals of a client's company or contact show (shared ones always do).
    pub show_deals: bool,
    /// Deals show their amount.
    pub show_amounts: bool,
    /// Custom objects whose records linked to a client's company or contact show, each with
    /// the keys of the fields shown besides its title and stage.
    pub objects: BTreeMap<String, Vec<String>>,
    /// The portal's address.
    pub address: String,
}

/// The portal's settings, whole (what is left out is off or empty).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PortalSettingsIn {
    pub enabled: bool,
    pub welcome: String,
    pub show_deals: bool,
    pub show_amounts: bool,
    /// `{"berth": ["length", "price"]}`: custom objects and their fields shown to clients
    /// (relations, members and rollups are never shown).
    pub objects: BTreeMap<String, Vec<String>>,
}

/// A client of the organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientOut {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub company_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    /// `invited` (no password chosen yet), `active` or `deactivated`.
    pub status: String,
    pub last_sign_in_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<Client> for ClientOut {
    fn from(c: Client) -> Self {
        ClientOut {
            status: status(&c).to_owned(),
            id: c.id,
            email: c.email,
            name: c.name,
            company_id: c.company_id.map(|id| id.as_uuid()),
            contact_id: c.contact_id.map(|id| id.as_uuid()),
            last_sign_in_at: c.last_sign_in_at,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientListOut {
    pub items: Vec<ClientOut>,
}

/// A new client: they are emailed a link to choose a password.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ClientIn {
    pub email: String,
    pub name: String,
    pub company_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
}

/// A change to a client: what is given changes (`null` unlinks a company or contact);
/// `active: false` deactivates them and ends their sessions.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ClientChange {
    pub email: Option<String>,
    pub name: Option<String>,
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub company_id: Option<Option<Uuid>>,
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub contact_id: Option<Option<Uuid>>,
    pub active: Option<bool>,
}

/// A deal or custom record shared with a client.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareOut {
    /// `deal` or `record`.
    pub record_type: String,
    pub record_id: Uuid,
    /// Its title while it is live; `null` once deleted.
    pub title: Option<String>,
    /// A custom record's object.
    pub object: Option<String>,
    pub shared_by: Option<Uuid>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShareListOut {
    pub items: Vec<ShareOut>,
}

fn settings_out(state: &AppState, scope: &Scope, s: PortalSettings) -> PortalSettingsOut {
    PortalSettingsOut {
        address: state.app.portal_link(&scope.tenant.organization, ""),
        enabled: s.enabled,
        welcome: s.welcome,
        show_deals: s.show_deals,
        show_amounts: s.show_amounts,
        objects: s.objects,
    }
}

/// What the portal shows (every member reads it).
#[utoipa::path(get, path = "/api/v1/portal/settings", tag = "portal", security(("bearer" = [])),
    params(("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = PortalSettingsOut), (status = 403, body = Problem)))]
pub async fn get_settings(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
) -> ApiResult<Json<PortalSettingsOut>> {
    let s = state
        .app
        .portal_settings(&scope.auth.actor, &scope.tenant, &meta)
        .await?;
    Ok(Json(settings_out(&state, &scope, s)))
}

/// Open or close the portal and choose what it shows (owners and admins).
#[utoipa::path(put, path = "/api/v1/portal/settings", tag = "portal", security(("bearer" = [])),
    params(("X-Organization-Id" = Uuid, Header)), request_body = PortalSettingsIn,
    responses((status = 200, body = PortalSettingsOut), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_settings(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<PortalSettingsIn>,
) -> ApiResult<Json<PortalSettingsOut>> {
    let s = state
        .app
        .save_portal_settings(
            &scope.auth.actor,
            &scope.tenant,
            PortalSettings {
                enabled: body.enabled,
                welcome: body.welcome,
                show_deals: body.show_deals,
                show_amounts: body.show_amounts,
                objects: body.objects,
            },
            &meta,
        )
        .await?;
    Ok(Json(settings_out(&state, &scope, s)))
}

/// The organization's clients, by name (every member reads them).
#[utoipa::path(get, path = "/api/v1/portal/clients", tag = "portal", security(("bearer" = [])),
    params(("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = ClientListOut), (status = 403, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
) -> ApiResult<Json<ClientListOut>> {
    let clients = state
        .app
        .clients(&scope.auth.actor, &scope.tenant, &meta)
        .await?;
    Ok(Json(ClientListOut {
        items: clients.into_iter().map(ClientOut::from).collect(),
    }))
}

/// Invite a client (owners and admins): they are emailed a link to choose a password, valid
/// seven days. An email already a client's is 422.
#[utoipa::path(post, path = "/api/v1/portal/clients", tag = "portal", security(("bearer" = [])),
    params(("X-Organization-Id" = Uuid, Header)), request_body = ClientIn,
    responses((status = 201, body = ClientOut), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<ClientIn>,
) -> ApiResult<(StatusCode, Json<ClientOut>)> {
    let client = state
        .app
        .invite_client(
            &scope.auth.actor,
            &scope.tenant,
            ClientInput {
                email: body.email,
                name: body.name,
                company_id: body.company_id,
                contact_id: body.contact_id,
            },
            &meta,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(client.into())))
}

/// One client.
#[utoipa::path(get, path = "/api/v1/portal/clients/{id}", tag = "portal", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = ClientOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ClientOut>> {
    let client = state
        .app
        .client(&scope.auth.actor, &scope.tenant, id, &meta)
        .await?;
    Ok(Json(client.into()))
}

/// Change a client (owners and admins).
#[utoipa::path(patch, path = "/api/v1/portal/clients/{id}", tag = "portal", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)), request_body = ClientChange,
    responses((status = 200, body = ClientOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ClientChange>,
) -> ApiResult<Json<ClientOut>> {
    let (actor, tenant) = (&scope.auth.actor, &scope.tenant);
    let app = &state.app;
    // Who may change clients is answered before whether this one exists.
    app.authorize(
        actor,
        tenant,
        &meta,
        rapport_domain::Action::Edit,
        rapport_domain::Object::Member,
        rapport_domain::Ownership::NotApplicable,
    )
    .await?;
    let current = app.client(actor, tenant, id, &meta).await?;
    let changes_details = body.email.is_some()
        || body.name.is_some()
        || body.company_id.is_some()
        || body.contact_id.is_some();
    let mut client = current.clone();
    if changes_details {
        client = app
            .update_client(
                actor,
                tenant,
                id,
                ClientInput {
                    email: body.email.unwrap_or(current.email),
                    name: body.name.unwrap_or(current.name),
                    company_id: body
                        .company_id
                        .unwrap_or(current.company_id.map(|c| c.as_uuid())),
                    contact_id: body
                        .contact_id
                        .unwrap_or(current.contact_id.map(|c| c.as_uuid())),
                },
                &meta,
            )
            .await?;
    }
    if let Some(active) = body.active {
        client = app
            .set_client_active(actor, tenant, id, active, &meta)
            .await?;
    }
    Ok(Json(client.into()))
}

/// Remove a client (owners and admins): their sign-in, sessions and shares go; their comments
/// stay on the records' timelines.
#[utoipa::path(delete, path = "/api/v1/portal/clients/{id}", tag = "portal", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 204, description = "Removed"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .app
        .remove_client(&scope.auth.actor, &scope.tenant, id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Email a client a fresh link (owners and admins): the invitation again while they have no
/// password, else a link to choose a new one. Earlier links stop working; a deactivated
/// client is 409.
#[utoipa::path(post, path = "/api/v1/portal/clients/{id}/link", tag = "portal", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 204, description = "Sent"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn send_link(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .app
        .send_client_sign_in_link(&scope.auth.actor, &scope.tenant, id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The deals and records shared with a client one by one, newest first.
#[utoipa::path(get, path = "/api/v1/portal/clients/{id}/shares", tag = "portal", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = ShareListOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn shares(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ShareListOut>> {
    let shares = state
        .app
        .client_shares(&scope.auth.actor, &scope.tenant, id, &meta)
        .await?;
    Ok(Json(ShareListOut {
        items: shares
            .into_iter()
            .map(|s| ShareOut {
                record_type: s.record_type,
                record_id: s.record_id,
                title: s.title,
                object: s.object_key,
                shared_by: s.shared_by,
                created_at: s.created_at,
            })
            .collect(),
    }))
}

async fn set_share(
    state: &AppState,
    scope: &Scope,
    meta: &rapport_app::RequestMeta,
    client: Uuid,
    record: Uuid,
    share: bool,
) -> ApiResult<StatusCode> {
    let app = &state.app;
    // The record is a deal or a custom record; whichever it is, the member needs to be allowed
    // to change it.
    let as_deal = app
        .share_with_client(
            &scope.auth.actor,
            &scope.tenant,
            rapport_app::timeline::RecordRef::Deal(record.into()),
            client,
            share,
            meta,
        )
        .await;
    match as_deal {
        Err(rapport_app::AppError::NotFound) => {
            app.share_with_client(
                &scope.auth.actor,
                &scope.tenant,
                rapport_app::timeline::RecordRef::Record(record.into()),
                client,
                share,
                meta,
            )
            .await?
        }
        other => other?,
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Share a deal or custom record with a client (members who may change it). Sharing it again
/// changes nothing.
#[utoipa::path(put, path = "/api/v1/portal/clients/{id}/shares/{record_id}", tag = "portal", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("record_id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 204, description = "Shared"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn share(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath((id, record)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    set_share(&state, &scope, &meta, id, record, true).await
}

/// Stop sharing a deal or custom record with a client (members who may change it).
#[utoipa::path(delete, path = "/api/v1/portal/clients/{id}/shares/{record_id}", tag = "portal", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("record_id" = Uuid, Path), ("X-Organization-Id" = Uuid, Header)),
    responses((status = 204, description = "No longer shared"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn unshare(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiPath((id, record)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    set_share(&state, &scope, &meta, id, record, false).await
}

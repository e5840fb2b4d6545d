//! `/api/v1/organizations/{id}/api-keys`: credentials for integrations (owner/admin).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rapport_domain::ApiKeyId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::organizations::by_path;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Auth, Meta};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyOut {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    /// The role the key acts with now: the lesser of `role` and its creator's current role in
    /// the organization. Null when the creator has left, which stops the key.
    pub effective_role: Option<String>,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<rapport_app::api_keys::ListedKey> for ApiKeyOut {
    fn from(listed: rapport_app::api_keys::ListedKey) -> Self {
        let k = listed.key;
        Self {
            role: k.role_key().to_owned(),
            id: k.id.as_uuid(),
            name: k.name,
            effective_role: listed.effective_role.map(|r| r.as_str().to_owned()),
            prefix: k.prefix,
            created_by: k.created_by.as_uuid(),
            created_at: k.created_at,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKeyOut,
    /// The key itself (`rpk_…`). Shown this once; send it as `Authorization: Bearer <key>`.
    pub secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateApiKeyRequest {
    pub name: String,
    /// The role the key acts with: owner, admin, manager, member or viewer.
    pub role: String,
    /// When the key stops working; never when absent.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The organization's API keys (secrets are never shown again).
#[utoipa::path(get, path = "/api/v1/organizations/{id}/api-keys", tag = "api keys", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Vec<ApiKeyOut>), (status = 403, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Vec<ApiKeyOut>>> {
    let tenant = by_path(&state, &auth, id).await?;
    let keys = state.app.list_api_keys(&auth.actor, &tenant, &meta).await?;
    Ok(Json(keys.into_iter().map(Into::into).collect()))
}

/// Create an API key (owner/admin; only owners create owner keys).
#[utoipa::path(post, path = "/api/v1/organizations/{id}/api-keys", tag = "api keys", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = CreateApiKeyRequest,
    responses((status = 201, body = CreatedApiKey), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CreateApiKeyRequest>,
) -> ApiResult<(StatusCode, Json<CreatedApiKey>)> {
    let tenant = by_path(&state, &auth, id).await?;
    let created = state
        .app
        .create_api_key(
            &auth.actor,
            &tenant,
            &body.name,
            &body.role,
            body.expires_at,
            &meta,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiKey {
            // Only roles the creator may grant can be created, so it acts with its own role.
            key: rapport_app::api_keys::ListedKey {
                effective_role: Some(created.key.role),
                creator_name: None,
                key: created.key,
            }
            .into(),
            secret: created.secret,
        }),
    ))
}

/// Revoke an API key; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/organizations/{id}/api-keys/{key_id}", tag = "api keys", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("key_id" = Uuid, Path)), responses((status = 204, description = "Revoked"), (status = 404, body = Problem)))]
pub async fn revoke(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath((id, key_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let tenant = by_path(&state, &auth, id).await?;
    state
        .app
        .revoke_api_key(&auth.actor, &tenant, ApiKeyId(key_id), &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

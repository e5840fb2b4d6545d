//! `/api/v1/organizations/{id}/ai-settings`: the AI provider settings (owner/admin).

use axum::Json;
use axum::extract::State;
use rapport_app::ai_settings::{AiSettings, AiSettingsInput};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::organizations::by_path;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Auth, Meta};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct AiSettingsOut {
    pub base_url: Option<String>,
    pub default_model: Option<String>,
    pub monthly_token_budget: Option<u64>,
    pub max_tokens_per_request: Option<u64>,
    /// The last four characters of the stored key; the key itself is never returned.
    pub api_key_last4: Option<String>,
}

impl From<AiSettings> for AiSettingsOut {
    fn from(s: AiSettings) -> Self {
        Self {
            base_url: s.base_url,
            default_model: s.default_model,
            monthly_token_budget: s.monthly_token_budget,
            max_tokens_per_request: s.max_tokens_per_request,
            api_key_last4: s.api_key_last4,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AiSettingsIn {
    pub base_url: Option<String>,
    pub default_model: Option<String>,
    pub monthly_token_budget: Option<u64>,
    pub max_tokens_per_request: Option<u64>,
    /// A new key; absent keeps the stored one, an empty string removes it.
    pub api_key: Option<String>,
}

/// The AI settings.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/ai-settings", tag = "organizations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = AiSettingsOut), (status = 403, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<AiSettingsOut>> {
    let tenant = by_path(&state, &auth, id).await?;
    Ok(Json(
        state
            .app
            .ai_settings(&auth.actor, &tenant, &meta)
            .await?
            .into(),
    ))
}

/// Replace the AI settings (the key is stored encrypted).
#[utoipa::path(put, path = "/api/v1/organizations/{id}/ai-settings", tag = "organizations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = AiSettingsIn,
    responses((status = 200, body = AiSettingsOut), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AiSettingsIn>,
) -> ApiResult<Json<AiSettingsOut>> {
    let tenant = by_path(&state, &auth, id).await?;
    let n = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
    let input = AiSettingsInput {
        base_url: body.base_url.unwrap_or_default(),
        default_model: body.default_model.unwrap_or_default(),
        monthly_token_budget: n(body.monthly_token_budget),
        max_tokens_per_request: n(body.max_tokens_per_request),
        api_key: body.api_key,
    };
    Ok(Json(
        state
            .app
            .update_ai_settings(&auth.actor, &tenant, input, &meta)
            .await?
            .into(),
    ))
}

//! `/api/v1/organizations/*` and `/api/v1/organization`: the caller's organizations, settings,
//! branding and custom domains.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rapport_app::Tenant;
use rapport_app::organizations::{NewOrganizationInput, SettingsUpdate};
use rapport_domain::{DomainId, OrganizationId};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::types::MyOrganizationOut;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Auth, Meta, Scope};
use crate::state::AppState;

/// An organization as its members see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationOut {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    /// ISO 4217
    pub currency: String,
    /// IANA time zone name
    pub time_zone: String,
    /// active or suspended
    pub status: String,
    /// `#rrggbb`
    pub primary_color: Option<String>,
    /// Path of the logo image, when one is set.
    pub logo_url: Option<String>,
    /// Members must sign in with two-factor authentication to enter.
    pub two_factor_required: bool,
    /// The caller's role (absent in instance administration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purge_after: Option<DateTime<Utc>>,
}

impl OrganizationOut {
    pub fn new(org: rapport_app::model::Organization, role: Option<&str>) -> Self {
        Self {
            logo_url: org
                .has_logo
                .then(|| format!("/api/v1/organizations/{}/logo", org.id)),
            id: org.id.as_uuid(),
            slug: org.slug,
            name: org.name,
            currency: org.currency,
            time_zone: org.time_zone,
            status: org.status.as_str().to_owned(),
            primary_color: org.primary_color,
            two_factor_required: org.two_factor_required,
            role: role.map(str::to_owned),
            created_at: org.created_at,
            updated_at: org.updated_at,
            deleted_at: org.deleted_at,
            purge_after: org.purge_after,
        }
    }
}

/// The organizations the caller belongs to.
#[utoipa::path(get, path = "/api/v1/organizations/me", tag = "organizations", security(("bearer" = [])),
    responses((status = 200, body = Vec<MyOrganizationOut>), (status = 401, body = Problem)))]
pub async fn mine(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<MyOrganizationOut>>> {
    let orgs = state.app.my_organizations(&auth.actor).await?;
    Ok(Json(orgs.into_iter().map(Into::into).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateOrganizationRequest {
    pub name: String,
    /// Derived from the name when absent.
    pub slug: Option<String>,
    /// Default EUR.
    pub currency: Option<String>,
    /// Default UTC.
    pub time_zone: Option<String>,
}

/// Create an organization; the caller becomes its owner.
#[utoipa::path(post, path = "/api/v1/organizations", tag = "organizations", request_body = CreateOrganizationRequest,
    security(("bearer" = [])), responses((status = 201, body = MyOrganizationOut), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<CreateOrganizationRequest>,
) -> ApiResult<(StatusCode, Json<MyOrganizationOut>)> {
    let org = state
        .app
        .create_organization(
            &auth.actor,
            NewOrganizationInput {
                name: body.name,
                slug: body.slug,
                currency: body.currency,
                time_zone: body.time_zone,
            },
            &meta,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(org.into())))
}

/// The tenant named by a path id: 403 when the caller is not a member (existence is not told).
pub async fn by_path(state: &AppState, auth: &Auth, id: Uuid) -> ApiResult<Tenant> {
    Ok(state
        .app
        .enter_organization_by_id(&auth.actor, OrganizationId(id), &auth.meta)
        .await?)
}

/// The organization the request resolves to (custom domain, subdomain, `/o/{slug}` prefix or
/// `X-Organization-Id`).
#[utoipa::path(get, path = "/api/v1/organization", tag = "organizations", security(("bearer" = [])),
    params(("X-Organization-Id" = Option<Uuid>, Header)),
    responses((status = 200, body = OrganizationOut), (status = 400, description = "organization_required", body = Problem),
              (status = 403, body = Problem)))]
pub async fn current(
    State(state): State<AppState>,
    scope: Scope,
) -> ApiResult<Json<OrganizationOut>> {
    let org = state.app.organization(&scope.tenant);
    Ok(Json(OrganizationOut::new(
        org,
        Some(&scope.tenant.access.key),
    )))
}

/// One organization of the caller.
#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "organizations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = OrganizationOut), (status = 403, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<OrganizationOut>> {
    let tenant = by_path(&state, &auth, id).await?;
    let org = state.app.organization(&tenant);
    Ok(Json(OrganizationOut::new(org, Some(&tenant.access.key))))
}

/// Distinguishes an absent field (leave as is) from `null` (clear).
fn double_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrganizationRequest {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub currency: Option<String>,
    pub time_zone: Option<String>,
    /// `#rrggbb`, or null to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub primary_color: Option<Option<String>>,
    /// Require two-factor authentication of every member (people without it are refused with
    /// 403 `two_factor_enrollment_required` until they turn it on; API keys are not affected).
    /// Turning it on needs it on for the caller: 409 `two_factor_not_enabled`.
    pub two_factor_required: Option<bool>,
}

/// Change the organization's settings (owner/admin).
#[utoipa::path(patch, path = "/api/v1/organizations/{id}", tag = "organizations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = UpdateOrganizationRequest,
    responses((status = 200, body = OrganizationOut), (status = 403, body = Problem),
              (status = 409, description = "two_factor_not_enabled", body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UpdateOrganizationRequest>,
) -> ApiResult<Json<OrganizationOut>> {
    let tenant = by_path(&state, &auth, id).await?;
    let org = state
        .app
        .update_organization(
            &auth.actor,
            &tenant,
            SettingsUpdate {
                name: body.name,
                slug: body.slug,
                currency: body.currency,
                time_zone: body.time_zone,
                primary_color: body.primary_color,
                two_factor_required: body.two_factor_required,
            },
            &meta,
        )
        .await?;
    Ok(Json(OrganizationOut::new(org, Some(&tenant.access.key))))
}

/// Upload the logo: the raw image as the body, with `Content-Type` image/png, image/jpeg or
/// image/svg+xml; at most 1 MiB. SVG with scripts or external references is refused.
#[utoipa::path(put, path = "/api/v1/organizations/{id}/logo", tag = "organizations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 204, description = "Logo stored"), (status = 422, body = Problem)))]
pub async fn put_logo(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<StatusCode> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            crate::error::ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the logo is larger than 1 MiB",
            )
        } else {
            crate::error::ApiError::bad_request("bad_request", rejection.body_text())
        }
    })?;
    let tenant = by_path(&state, &auth, id).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    state
        .app
        .set_logo(&auth.actor, &tenant, content_type, body.to_vec(), &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The logo image.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/logo", tag = "organizations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, description = "The image"), (status = 404, body = Problem)))]
pub async fn get_logo(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let tenant = by_path(&state, &auth, id).await?;
    let logo = state
        .app
        .logo(&tenant)
        .await?
        .ok_or_else(crate::error::ApiError::not_found)?;
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&logo.content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    // An SVG opened directly must not be able to run anything, whatever slipped through.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    Ok((headers, logo.data).into_response())
}

/// Remove the logo.
#[utoipa::path(delete, path = "/api/v1/organizations/{id}/logo", tag = "organizations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204, description = "Logo removed")))]
pub async fn delete_logo(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let tenant = by_path(&state, &auth, id).await?;
    state.app.delete_logo(&auth.actor, &tenant, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DomainOut {
    pub id: Uuid,
    pub domain: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DomainsResponse {
    /// Custom domains, each to be pointed (CNAME) at this server.
    pub items: Vec<DomainOut>,
    /// `{slug}.{base domain}` when a base domain is configured.
    pub subdomain: Option<String>,
}

/// The organization's custom domains and its subdomain.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/domains", tag = "organizations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = DomainsResponse)))]
pub async fn domains(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<DomainsResponse>> {
    let tenant = by_path(&state, &auth, id).await?;
    let list = state.app.domains(&auth.actor, &tenant, &meta).await?;
    Ok(Json(DomainsResponse {
        subdomain: state
            .app
            .config
            .base_domain
            .as_ref()
            .map(|base| format!("{}.{base}", tenant.organization.slug)),
        items: list
            .into_iter()
            .map(|d| DomainOut {
                id: d.id.as_uuid(),
                domain: d.domain,
                created_at: d.created_at,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AddDomainRequest {
    pub domain: String,
}

/// Attach a custom domain (owner/admin).
#[utoipa::path(post, path = "/api/v1/organizations/{id}/domains", tag = "organizations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = AddDomainRequest,
    responses((status = 201, body = DomainOut), (status = 409, description = "domain_taken", body = Problem), (status = 422, body = Problem)))]
pub async fn add_domain(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AddDomainRequest>,
) -> ApiResult<(StatusCode, Json<DomainOut>)> {
    let tenant = by_path(&state, &auth, id).await?;
    let d = state
        .app
        .add_domain(&auth.actor, &tenant, &body.domain, &meta)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(DomainOut {
            id: d.id.as_uuid(),
            domain: d.domain,
            created_at: d.created_at,
        }),
    ))
}

/// Detach a custom domain (owner/admin).
#[utoipa::path(delete, path = "/api/v1/organizations/{id}/domains/{domain_id}", tag = "organizations", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("domain_id" = Uuid, Path)), responses((status = 204, description = "Removed"), (status = 404, body = Problem)))]
pub async fn remove_domain(
    State(state): State<AppState>,
    auth: Auth,
    Meta(meta): Meta,
    ApiPath((id, domain_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let tenant = by_path(&state, &auth, id).await?;
    state
        .app
        .remove_domain(&auth.actor, &tenant, DomainId(domain_id), &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

//! Every route of the server, in one place.

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::routing::{get, post};
use axum::{Router, middleware};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate};
use tower_http::compression::{CompressionLayer, DefaultPredicate};
use tower_http::cors::CorsLayer;

use crate::api::v1::{
    admin, ai_settings, analytics, api_keys, audit, auth, companies, contacts, deals, files, leads,
    members, notifications, objects, organizations, portal, roles, search, single_sign_on, support,
    tags, tasks, teams, timelines, views, webhooks,
};
use crate::error::ApiError;
use crate::state::AppState;
use crate::{middleware as mw, openapi, ops, pages};

/// Largest request body accepted (JSON and logo uploads alike).
pub const BODY_LIMIT: usize = 1024 * 1024;

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "route_not_found",
        "there is nothing at this address",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this address does not accept this method",
    )
}

fn api_v1() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi::document))
        // accounts and sign-in
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(auth::refresh))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::me))
        .route("/auth/password", post(auth::change_password))
        .route("/auth/two-factor", get(auth::two_factor))
        .route("/auth/two-factor/setup", post(auth::two_factor_setup))
        .route("/auth/two-factor/enable", post(auth::two_factor_enable))
        .route("/auth/two-factor/disable", post(auth::two_factor_disable))
        .route(
            "/auth/two-factor/recovery-codes",
            post(auth::two_factor_recovery_codes),
        )
        .route("/auth/password-reset", post(auth::request_password_reset))
        .route(
            "/auth/password-reset/confirm",
            post(auth::confirm_password_reset),
        )
        .route("/auth/invitations/accept", post(auth::accept_invitation))
        .route("/auth/invitations/{token}", get(auth::invitation))
        .route(
            "/auth/session",
            post(auth::open_session)
                .get(auth::get_session)
                .delete(auth::close_session),
        )
        .route("/auth/sessions", get(auth::list_sessions))
        .route(
            "/auth/sessions/revoke-others",
            post(auth::revoke_other_sessions),
        )
        .route(
            "/auth/sessions/{id}",
            axum::routing::delete(auth::revoke_session),
        )
        // organizations
        .route("/organization", get(organizations::current))
        .route("/organizations", post(organizations::create))
        .route("/organizations/me", get(organizations::mine))
        .route(
            "/organizations/{id}",
            get(organizations::get).patch(organizations::update),
        )
        .route(
            "/organizations/{id}/logo",
            get(organizations::get_logo)
                .put(organizations::put_logo)
                .delete(organizations::delete_logo),
        )
        .route(
            "/organizations/{id}/domains",
            get(organizations::domains).post(organizations::add_domain),
        )
        .route(
            "/organizations/{id}/domains/{domain_id}",
            axum::routing::delete(organizations::remove_domain),
        )
        .route(
            "/organizations/{id}/members",
            get(members::list).post(members::add),
        )
        .route(
            "/organizations/{id}/members/{member_id}",
            axum::routing::patch(members::change_role).delete(members::remove),
        )
        .route(
            "/organizations/{id}/members/{member_id}/deactivate",
            post(members::deactivate),
        )
        .route(
            "/organizations/{id}/members/{member_id}/reactivate",
            post(members::reactivate),
        )
        .route("/organizations/{id}/invitations", get(members::invitations))
        .route(
            "/organizations/{id}/invitations/{invitation_id}",
            axum::routing::delete(members::revoke_invitation),
        )
        .route(
            "/organizations/{id}/invitations/{invitation_id}/resend",
            post(members::resend_invitation),
        )
        .route(
            "/organizations/{id}/ai-settings",
            get(ai_settings::get).put(ai_settings::put),
        )
        .route(
            "/organizations/{id}/single-sign-on",
            get(single_sign_on::get)
                .put(single_sign_on::put)
                .delete(single_sign_on::delete),
        )
        .route(
            "/organizations/{id}/api-keys",
            get(api_keys::list).post(api_keys::create),
        )
        .route(
            "/organizations/{id}/api-keys/{key_id}",
            axum::routing::delete(api_keys::revoke),
        )
        .route("/audit", get(audit::list))
        // CRM records
        .route("/contacts", get(contacts::list).post(contacts::create))
        .route("/contacts/export.csv", get(contacts::export))
        .route(
            "/contacts/{id}",
            get(contacts::get)
                .patch(contacts::update)
                .delete(contacts::delete),
        )
        .route("/companies", get(companies::list).post(companies::create))
        .route("/companies/export.csv", get(companies::export))
        .route(
            "/companies/{id}",
            get(companies::get)
                .patch(companies::update)
                .delete(companies::delete),
        )
        .route("/leads", get(leads::list).post(leads::create))
        .route("/leads/export.csv", get(leads::export))
        .route(
            "/leads/{id}",
            get(leads::get).patch(leads::update).delete(leads::delete),
        )
        .route("/leads/{id}/convert", post(leads::convert))
        .route(
            "/{kind}/{id}/activities",
            get(timelines::list).post(timelines::add),
        )
        .route(
            "/{kind}/{id}/tags",
            axum::routing::put(tags::set_for_record),
        )
        // Files: uploads stream past the body limit, to the file store's own.
        .route(
            "/files",
            get(files::list)
                .post(files::create)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/files/{id}", get(files::get).delete(files::delete))
        .route("/files/{id}/content", get(files::content))
        .route("/files/{id}/link", post(files::link))
        .route(
            "/files/{id}/versions",
            get(files::versions)
                .post(files::add_version)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/files/{id}/versions/{version_id}/restore",
            post(files::restore_version),
        )
        .route(
            "/{kind}/{id}/files",
            get(files::for_record)
                .post(files::attach)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/objects/{object}/records/{id}/files",
            get(files::for_custom_record)
                .post(files::attach_custom)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/roles", get(roles::list).post(roles::create))
        .route(
            "/roles/{key}",
            get(roles::get).patch(roles::update).delete(roles::delete),
        )
        .route(
            "/portal/settings",
            get(portal::get_settings).put(portal::put_settings),
        )
        .route("/portal/clients", get(portal::list).post(portal::create))
        .route(
            "/portal/clients/{id}",
            get(portal::get)
                .patch(portal::update)
                .delete(portal::delete),
        )
        .route("/portal/clients/{id}/link", post(portal::send_link))
        .route("/portal/clients/{id}/shares", get(portal::shares))
        .route(
            "/portal/clients/{id}/shares/{record_id}",
            axum::routing::put(portal::share).delete(portal::unshare),
        )
        .route("/teams", get(teams::list).post(teams::create))
        .route(
            "/teams/{id}",
            get(teams::get).patch(teams::update).delete(teams::delete),
        )
        .route("/tags", get(tags::list).post(tags::create))
        .route(
            "/tags/{id}",
            axum::routing::patch(tags::update).delete(tags::delete),
        )
        .route("/views", get(views::list).post(views::create))
        .route("/views/{id}", axum::routing::delete(views::delete))
        .route("/search", get(search::search))
        .route("/trash", get(search::trash))
        .route("/trash/{kind}/{id}/restore", post(search::restore))
        .route("/deals", get(deals::list).post(deals::create))
        .route("/deals/export.csv", get(deals::export))
        .route(
            "/deals/{id}",
            get(deals::get).patch(deals::update).delete(deals::delete),
        )
        .route(
            "/deals/{id}/activities",
            get(deals::activities).post(deals::add_activity),
        )
        .route(
            "/pipelines",
            get(deals::pipelines).post(deals::create_pipeline),
        )
        .route(
            "/pipelines/{id}",
            get(deals::pipeline)
                .patch(deals::update_pipeline)
                .delete(deals::delete_pipeline),
        )
        .route("/tasks", get(tasks::list).post(tasks::create))
        .route(
            "/tasks/{id}",
            get(tasks::get).patch(tasks::update).delete(tasks::delete),
        )
        // the record engine
        .route("/objects", get(objects::list).post(objects::create))
        .route(
            "/objects/{object}",
            get(objects::get)
                .patch(objects::update)
                .delete(objects::delete),
        )
        .route("/objects/{object}/fields", post(objects::create_field))
        .route(
            "/objects/{object}/fields/{key}",
            axum::routing::patch(objects::update_field).delete(objects::archive_field),
        )
        .route(
            "/objects/{object}/records",
            get(objects::list_records).post(objects::create_record),
        )
        .route(
            "/objects/{object}/records/{id}",
            get(objects::get_record)
                .patch(objects::update_record)
                .delete(objects::delete_record),
        )
        .route(
            "/objects/{object}/records/{id}/restore",
            post(objects::restore_record),
        )
        .route("/analytics/deals/summary", get(analytics::summary))
        .route("/analytics/deals/funnel", get(analytics::funnel))
        // instance administration
        .route("/admin/organizations", get(admin::list).post(admin::create))
        .route(
            "/admin/organizations/{id}",
            get(admin::get).delete(admin::delete),
        )
        .route("/admin/organizations/{id}/suspend", post(admin::suspend))
        .route("/admin/organizations/{id}/restore", post(admin::restore))
        .route("/admin/outbox", get(admin::outbox))
        .route(
            "/admin/organizations/{id}/support-access",
            post(support::request),
        )
        .route("/admin/support-access", get(support::mine))
        .route("/support-access", get(support::list))
        .route("/support-access/{id}/approve", post(support::approve))
        .route("/support-access/{id}/deny", post(support::deny))
        .route("/support-access/{id}/revoke", post(support::revoke))
        .route("/notifications", get(notifications::list))
        .route("/notifications/read-all", post(notifications::read_all))
        .route(
            "/notifications/preferences",
            get(notifications::preferences).put(notifications::set_preferences),
        )
        .route("/notifications/{id}/read", post(notifications::read))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route(
            "/webhooks/{id}",
            get(webhooks::get)
                .patch(webhooks::update)
                .delete(webhooks::delete),
        )
        .route(
            "/webhooks/{id}/rotate-secret",
            post(webhooks::rotate_secret),
        )
        .route("/webhooks/{id}/test", post(webhooks::test))
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route(
            "/webhooks/{id}/deliveries/{delivery_id}",
            get(webhooks::delivery),
        )
        .route(
            "/webhooks/{id}/deliveries/{delivery_id}/resend",
            post(webhooks::resend),
        )
        .route("/admin/jobs", get(admin::jobs))
        .route("/admin/jobs/{id}/retry", post(admin::retry_job))
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(allowed)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::HeaderName::from_static("x-organization-id"),
                header::HeaderName::from_static("x-request-id"),
            ])
            .expose_headers([
                header::HeaderName::from_static("x-request-id"),
                header::RETRY_AFTER,
            ])
            .max_age(Duration::from_secs(600)),
    )
}

/// Answers are compressed (brotli, else gzip) for clients that accept it: pages, stylesheets,
/// scripts, JSON and CSV exports. Fonts are compressed already, and events streams and small
/// answers are left as they are (tower-http's default predicate), and so are attached files
/// (sent as stored, with their length and digest).
fn compression() -> CompressionLayer<impl Predicate> {
    let not_a_file = |_: StatusCode,
                      _: axum::http::Version,
                      _: &axum::http::HeaderMap,
                      extensions: &axum::http::Extensions| {
        extensions.get::<crate::downloads::FileBody>().is_none()
    };
    CompressionLayer::new().br(true).gzip(true).compress_when(
        DefaultPredicate::new()
            .and(NotForContentType::const_new("font/"))
            .and(not_a_file),
    )
}

/// The application's routes with their middleware, ready to serve.
pub fn router(state: AppState) -> Router {
    let config = &state.app.config;
    let mut router = Router::new()
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .route("/ws", get(crate::ws::upgrade))
        .route("/api/docs", get(pages::api_docs))
        .route("/api/docs/app.js", get(pages::api_docs_js))
        .route("/api/docs/style.css", get(pages::api_docs_css))
        .nest(
            "/api/v1",
            api_v1().layer(middleware::from_fn(mw::rate_limit_headers)),
        )
        .merge(crate::web::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), mw::metrics))
        .layer(middleware::from_fn(mw::csrf_form_field))
        .layer(middleware::from_fn(mw::refuse_control_characters))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(state.clone(), mw::timeout))
        .layer(middleware::from_fn(mw::problem_for_bare_errors))
        .layer(middleware::from_fn(mw::html_errors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            mw::security_headers,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "something went wrong on our side",
            ))
        }));
    if let Some(cors) = cors(&config.cors_origins) {
        router = router.layer(cors);
    }
    router.layer(compression()).with_state(state)
}

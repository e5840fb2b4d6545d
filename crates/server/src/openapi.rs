//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::v1;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Rapport API", description = "The HTTP API of Rapport, a multi-tenant CRM."),
    modifiers(&BearerAuth),
    paths(
        crate::ops::health, crate::ops::ready, crate::ops::metrics,
        v1::auth::register, v1::auth::login, v1::auth::refresh, v1::auth::logout, v1::auth::me,
        v1::auth::request_password_reset, v1::auth::confirm_password_reset, v1::auth::change_password,
        v1::auth::invitation, v1::auth::accept_invitation,
        v1::auth::open_session, v1::auth::get_session, v1::auth::close_session,
        v1::auth::list_sessions, v1::auth::revoke_session, v1::auth::revoke_other_sessions,
        v1::organizations::mine, v1::organizations::create, v1::organizations::current,
        v1::organizations::get, v1::organizations::update,
        v1::organizations::put_logo, v1::organizations::get_logo, v1::organizations::delete_logo,
        v1::organizations::domains, v1::organizations::add_domain, v1::organizations::remove_domain,
        v1::members::list, v1::members::add, v1::members::change_role, v1::members::remove,
        v1::members::invitations, v1::members::revoke_invitation, v1::members::resend_invitation,
        v1::ai_settings::get, v1::ai_settings::put,
        v1::api_keys::list, v1::api_keys::create, v1::api_keys::revoke,
        v1::audit::list,
        v1::contacts::list, v1::contacts::create, v1::contacts::get, v1::contacts::update, v1::contacts::delete,
        v1::companies::list, v1::companies::create, v1::companies::get, v1::companies::update,
        v1::companies::delete,
        v1::leads::list, v1::leads::create, v1::leads::get, v1::leads::update, v1::leads::delete,
        v1::leads::convert,
        v1::timelines::list, v1::timelines::add,
        v1::tags::list, v1::tags::create, v1::tags::update, v1::tags::delete, v1::tags::set_for_record,
        v1::search::search, v1::search::trash, v1::search::restore,
        v1::deals::list, v1::deals::create, v1::deals::get, v1::deals::update, v1::deals::delete,
        v1::deals::activities, v1::deals::add_activity,
        v1::deals::pipelines, v1::deals::pipeline, v1::deals::create_pipeline,
        v1::deals::update_pipeline, v1::deals::delete_pipeline,
        v1::tasks::list, v1::tasks::create, v1::tasks::get, v1::tasks::update, v1::tasks::delete,
        v1::analytics::summary, v1::analytics::funnel,
        v1::admin::list, v1::admin::create, v1::admin::get, v1::admin::suspend, v1::admin::restore,
        v1::admin::delete, v1::admin::outbox, v1::admin::jobs, v1::admin::retry_job,
        v1::notifications::list, v1::notifications::read, v1::notifications::read_all,
        v1::notifications::preferences, v1::notifications::set_preferences,
        v1::webhooks::list, v1::webhooks::create, v1::webhooks::get, v1::webhooks::update,
        v1::webhooks::delete, v1::webhooks::rotate_secret, v1::webhooks::test,
        v1::webhooks::deliveries, v1::webhooks::delivery, v1::webhooks::resend,
    ),
    tags(
        (name = "auth", description = "Accounts, tokens, browser sessions, password reset, invitations"),
        (name = "organizations", description = "The caller's organizations, settings, branding, domains"),
        (name = "members", description = "Members, roles and invitations"),
        (name = "notifications", description = "The caller's notifications and how they arrive"),
        (name = "webhooks", description = "Signed event deliveries to the organization's endpoints"),
        (name = "api keys", description = "Organization-scoped credentials for integrations"),
        (name = "contacts", description = "Contacts: the people the organization deals with"),
        (name = "companies", description = "Companies (accounts)"),
        (name = "leads", description = "Leads and their conversion into contacts, companies and deals"),
        (name = "timelines", description = "Timelines of companies, contacts and leads"),
        (name = "tags", description = "Tags and the records they are on"),
        (name = "search", description = "Global search and recently deleted records"),
        (name = "deals", description = "Deals, their timelines, and the pipelines they move through"),
        (name = "tasks", description = "Tasks, assigned to members, on deals, contacts or companies"),
        (name = "analytics", description = "Sales figures: deal summary and pipeline funnel"),
        (name = "audit", description = "The organization's audit log"),
        (name = "admin", description = "Instance administration"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

/// `GET /api/v1/openapi.json`
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    Json(doc)
}

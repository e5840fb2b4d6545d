//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::Response;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Content, Header, Object, Ref, RefOr, Type};
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
            components.add_security_scheme(
                "session",
                SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                    crate::extract::SESSION_COOKIE,
                    "The browser session from `POST /api/v1/auth/session`; requests that change \
                     state also send its CSRF token in `X-CSRF-Token`",
                ))),
            );
        }
        // Whatever accepts an access token or API key accepts the browser session too.
        for item in openapi.paths.paths.values_mut() {
            for op in [
                item.get.as_mut(),
                item.put.as_mut(),
                item.post.as_mut(),
                item.delete.as_mut(),
                item.patch.as_mut(),
            ]
            .into_iter()
            .flatten()
            {
                if let Some(security) = op.security.as_mut()
                    && !security.is_empty()
                    && !security.iter().any(|s| *s == session_requirement())
                {
                    security.push(session_requirement());
                }
            }
        }
    }
}

fn session_requirement() -> SecurityRequirement {
    SecurityRequirement::new("session", Vec::<String>::new())
}

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// What the shared machinery (credentials, the organization resolver, the JSON, path and query
/// extractors, rate limits, the timeout layer, the database pool and the password hashers) may
/// answer, added to every operation it applies to. What a handler alone decides (409 rules and
/// the like) stays in its own annotation. Error answers declared with a JSON body are moved to
/// `application/problem+json`, which is what the server sends.
struct CommonResponses;

/// What an operation's description in the document says about it.
struct Facts {
    secured: bool,
    api: bool,
    scoped: bool,
    organization_in_path: bool,
    unsafe_method: bool,
    path_params: bool,
    query_params: bool,
    json_body: bool,
    raw_body: bool,
    sign_in: bool,
}

impl Facts {
    fn of(path: &str, method: &str, op: &Operation) -> Facts {
        let params = op.parameters.as_deref().unwrap_or_default();
        let has = |place: ParameterIn| {
            params
                .iter()
                .any(|p| std::mem::discriminant(&p.parameter_in) == std::mem::discriminant(&place))
        };
        let body_types: Vec<&String> = op
            .request_body
            .as_ref()
            .map(|b| b.content.keys().collect())
            .unwrap_or_default();
        Facts {
            secured: op.security.as_ref().is_some_and(|s| !s.is_empty()),
            api: path.starts_with("/api/v1/"),
            scoped: params.iter().any(|p| {
                matches!(p.parameter_in, ParameterIn::Header)
                    && p.name.eq_ignore_ascii_case("x-organization-id")
            }),
            organization_in_path: path.starts_with("/api/v1/organizations/{id}"),
            unsafe_method: !matches!(method, "get" | "head" | "options"),
            path_params: has(ParameterIn::Path),
            query_params: has(ParameterIn::Query),
            json_body: body_types.iter().any(|t| t.as_str() == "application/json"),
            raw_body: body_types.iter().any(|t| t.as_str() != "application/json"),
            sign_in: matches!(path, "/api/v1/auth/login" | "/api/v1/auth/session")
                && method == "post",
        }
    }
}

fn problem_content() -> Content {
    Content::new(Some(RefOr::Ref(Ref::from_schema_name("Problem"))))
}

fn integer_header(description: &str) -> Header {
    let mut header = Header::new(Object::with_type(Type::Integer));
    header.description = Some(description.to_owned());
    header
}

fn problem(description: &str) -> Response {
    let mut response = Response::new(description);
    response
        .content
        .insert(PROBLEM_JSON.to_owned(), problem_content());
    response
}

fn with_retry_after(mut response: Response) -> Response {
    response.headers.insert(
        "Retry-After".to_owned(),
        integer_header("Seconds to wait before trying again"),
    );
    response
}

fn with_rate_limit_headers(mut response: Response) -> Response {
    for (name, description) in [
        ("X-RateLimit-Limit", "Requests allowed per window"),
        ("X-RateLimit-Remaining", "Requests left in the window"),
        ("X-RateLimit-Reset", "Seconds until the window ends"),
    ] {
        response
            .headers
            .insert(name.to_owned(), integer_header(description));
    }
    response
}

/// Adds `response` under `status`, or, when the handler declared that status already, keeps
/// its description and adds the common one's headers.
fn add(op: &mut Operation, status: u16, response: Response) {
    match op.responses.responses.entry(status.to_string()) {
        std::collections::btree_map::Entry::Vacant(slot) => {
            slot.insert(RefOr::T(response));
        }
        std::collections::btree_map::Entry::Occupied(mut slot) => {
            if let RefOr::T(existing) = slot.get_mut() {
                for (name, header) in response.headers {
                    existing.headers.entry(name).or_insert(header);
                }
                if existing.content.is_empty() {
                    existing.content = response.content;
                }
            }
        }
    }
}

/// Error answers declared with a JSON body carry a problem document.
fn problem_media_types(op: &mut Operation) {
    for (status, response) in op.responses.responses.iter_mut() {
        let is_error = status.starts_with('4') || status.starts_with('5');
        if let (true, RefOr::T(response)) = (is_error, response)
            && let Some(content) = response.content.shift_remove("application/json")
        {
            let is_problem = matches!(
                &content.schema,
                Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem")
            );
            let media_type = if is_problem {
                PROBLEM_JSON
            } else {
                "application/json"
            };
            response.content.insert(media_type.to_owned(), content);
        }
    }
}

impl CommonResponses {
    fn apply(path: &str, method: &str, op: &mut Operation) {
        problem_media_types(op);
        let f = Facts::of(path, method, op);
        if f.secured {
            let mut response =
                problem("`unauthenticated`: missing, expired, revoked or malformed credentials");
            let mut header = Header::new(Object::with_type(Type::String));
            header.description = Some("`Bearer`".to_owned());
            response
                .headers
                .insert("WWW-Authenticate".to_owned(), header);
            add(op, 401, response);
        }
        let mut bad_request = Vec::new();
        if f.scoped {
            bad_request
                .push("`organization_required` (no X-Organization-Id), `invalid_organization_id`");
        }
        if f.query_params {
            bad_request.push("`invalid_query`: an unknown or unparsable query parameter");
        }
        if f.json_body {
            bad_request.push("`malformed_json`: the body is not JSON");
        }
        if !bad_request.is_empty() {
            add(op, 400, problem(&bad_request.join("; ")));
        }
        if f.secured {
            let mut refusals = vec![
                "`forbidden`: not a member, the role does not allow it, or an API key where a \
                 person must sign in",
            ];
            if f.scoped || f.organization_in_path {
                refusals.push("`organization_suspended`");
            }
            if f.unsafe_method {
                refusals.push("`csrf_failed`: the session cookie without its CSRF token");
            }
            add(op, 403, problem(&refusals.join("; ")));
        }
        if f.path_params {
            add(
                op,
                404,
                problem("`not_found`: nothing with this id in the organization"),
            );
        }
        if f.json_body || f.raw_body {
            add(
                op,
                413,
                problem("`payload_too_large`: the body is larger than 1 MiB"),
            );
            add(
                op,
                415,
                problem("`unsupported_media_type`: the body's Content-Type is not accepted"),
            );
        }
        if f.json_body || f.raw_body || f.query_params {
            add(
                op,
                422,
                problem(
                    "`validation_failed`: well-formed but invalid input (a control character \
                     in any text included); `errors` names each field",
                ),
            );
        }
        if f.secured && f.api {
            add(
                op,
                429,
                with_rate_limit_headers(with_retry_after(problem(
                    "`rate_limited`: the caller's or the organization's request limit is reached",
                ))),
            );
        } else if f.sign_in {
            add(
                op,
                429,
                with_retry_after(problem("`too_many_requests`: too many attempts to sign in")),
            );
        }
        add(
            op,
            408,
            problem("`request_timeout`: the request took too long and was stopped"),
        );
        add(
            op,
            503,
            with_retry_after(problem(
                "`service_busy`: every database connection or password hasher is in use",
            )),
        );
    }
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, op) in [
                ("get", item.get.as_mut()),
                ("put", item.put.as_mut()),
                ("post", item.post.as_mut()),
                ("delete", item.delete.as_mut()),
                ("patch", item.patch.as_mut()),
                ("head", item.head.as_mut()),
                ("options", item.options.as_mut()),
                ("trace", item.trace.as_mut()),
            ] {
                if let Some(op) = op {
                    CommonResponses::apply(path, method, op);
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Rapport API", description = "The HTTP API of Rapport, a multi-tenant CRM."),
    modifiers(&BearerAuth, &CommonResponses),
    paths(
        document, crate::ws::upgrade,
        crate::ops::health, crate::ops::ready, crate::ops::metrics,
        v1::auth::register, v1::auth::login, v1::auth::refresh, v1::auth::logout, v1::auth::me,
        v1::auth::request_password_reset, v1::auth::confirm_password_reset, v1::auth::change_password,
        v1::auth::two_factor, v1::auth::two_factor_setup, v1::auth::two_factor_enable,
        v1::auth::two_factor_disable, v1::auth::two_factor_recovery_codes,
        v1::auth::invitation, v1::auth::accept_invitation,
        v1::auth::open_session, v1::auth::get_session, v1::auth::close_session,
        v1::auth::list_sessions, v1::auth::revoke_session, v1::auth::revoke_other_sessions,
        v1::organizations::mine, v1::organizations::create, v1::organizations::current,
        v1::organizations::get, v1::organizations::update,
        v1::organizations::put_logo, v1::organizations::get_logo, v1::organizations::delete_logo,
        v1::organizations::domains, v1::organizations::add_domain, v1::organizations::remove_domain,
        v1::members::list, v1::members::add, v1::members::change_role, v1::members::remove,
        v1::members::deactivate, v1::members::reactivate,
        v1::support::request, v1::support::mine, v1::support::list, v1::support::approve,
        v1::support::deny, v1::support::revoke,
        v1::members::invitations, v1::members::revoke_invitation, v1::members::resend_invitation,
        v1::ai_settings::get, v1::ai_settings::put,
        v1::single_sign_on::get, v1::single_sign_on::put, v1::single_sign_on::delete,
        v1::api_keys::list, v1::api_keys::create, v1::api_keys::revoke,
        v1::audit::list,
        v1::contacts::list, v1::contacts::export, v1::contacts::create, v1::contacts::get, v1::contacts::update, v1::contacts::delete,
        v1::companies::list, v1::companies::export, v1::companies::create, v1::companies::get, v1::companies::update,
        v1::companies::delete,
        v1::leads::list, v1::leads::export, v1::leads::create, v1::leads::get, v1::leads::update, v1::leads::delete,
        v1::leads::convert,
        v1::timelines::list, v1::timelines::add,
        v1::files::list, v1::files::create, v1::files::for_record, v1::files::attach,
        v1::files::for_custom_record, v1::files::attach_custom, v1::files::get, v1::files::delete,
        v1::files::content, v1::files::link, v1::files::versions, v1::files::add_version,
        v1::files::restore_version,
        v1::roles::list, v1::roles::get, v1::roles::create, v1::roles::update, v1::roles::delete,
        v1::teams::list, v1::teams::get, v1::teams::create, v1::teams::update, v1::teams::delete,
        v1::portal::get_settings, v1::portal::put_settings, v1::portal::list, v1::portal::create,
        v1::portal::get, v1::portal::update, v1::portal::delete, v1::portal::send_link,
        v1::portal::shares, v1::portal::share, v1::portal::unshare,
        v1::tags::list, v1::tags::create, v1::tags::update, v1::tags::delete, v1::tags::set_for_record,
        v1::search::search, v1::search::trash, v1::search::restore,
        v1::views::list, v1::views::create, v1::views::delete,
        v1::deals::list, v1::deals::export, v1::deals::create, v1::deals::get, v1::deals::update, v1::deals::delete,
        v1::deals::activities, v1::deals::add_activity,
        v1::deals::pipelines, v1::deals::pipeline, v1::deals::create_pipeline,
        v1::deals::update_pipeline, v1::deals::delete_pipeline,
        v1::tasks::list, v1::tasks::create, v1::tasks::get, v1::tasks::update, v1::tasks::delete,
        v1::objects::list, v1::objects::get, v1::objects::create, v1::objects::update, v1::objects::delete,
        v1::objects::create_field, v1::objects::update_field, v1::objects::archive_field,
        v1::objects::list_records, v1::objects::create_record, v1::objects::get_record,
        v1::objects::update_record, v1::objects::delete_record, v1::objects::restore_record,
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
        (name = "files", description = "Files attached to records: uploads, versions, downloads, signed links"),
        (name = "portal", description = "The client portal: what it shows, its clients, what is shared with them"),
        (name = "roles", description = "Roles as data: system and custom roles, their permission matrices"),
        (name = "tags", description = "Tags and the records they are on"),
        (name = "views", description = "Saved views: a list's filters, sort and columns under a name"),
        (name = "search", description = "Global search and recently deleted records"),
        (name = "deals", description = "Deals, their timelines, and the pipelines they move through"),
        (name = "tasks", description = "Tasks, assigned to members, on deals, contacts or companies"),
        (name = "objects", description = "The record engine: objects, their fields, and custom objects' records"),
        (name = "analytics", description = "Sales figures: deal summary and pipeline funnel"),
        (name = "audit", description = "The organization's audit log"),
        (name = "admin", description = "Instance administration"),
        (name = "live", description = "Live updates over WebSocket"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
    )
)]
pub struct ApiDoc;

/// This document (OpenAPI 3.1).
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI document", body = Object)))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    Json(doc)
}

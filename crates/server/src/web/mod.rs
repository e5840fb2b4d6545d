//! The web app: server-rendered pages (askama templates in `templates/`), sharing the use cases
//! of the JSON API. Pages live under the same routes whichever way the organization is named
//! (custom domain, subdomain, `/o/{slug}`); links inside an organization start with `base`.

mod admin;
mod ai;
mod api_keys;
pub mod assets;
mod audit;
mod auth_pages;
mod companies;
mod contacts;
mod context;
mod dashboard;
mod deal_cards;
mod deals;
mod files;
mod kinds;
mod leads;
pub(crate) mod lists;
mod notifications;
mod object_settings;
mod objects;
mod pipelines;
pub(crate) mod portal;
mod portal_settings;
mod profile;
mod record_page;
pub(crate) mod records;
mod roles;
mod search;
mod security;
mod settings;
mod single_sign_on;
mod tasks;
mod teams;
mod webhooks;
mod workspace;

use askama::Template;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use rapport_app::model::{Company, Contact, Deal, Lead, Task};
use rapport_domain::FieldError;

use crate::state::AppState;

use context::urlencode;
pub use context::{PageContext, PageError, PageResult};

/// A refusal of fields the member's role may not change, as a form shows it: a message next to
/// each field, like any other field error.
pub(crate) fn field_errors(e: rapport_app::AppError) -> rapport_app::AppError {
    match e {
        rapport_app::AppError::FieldForbidden(errors) => rapport_app::AppError::Validation(errors),
        other => other,
    }
}

/// Routes of the web app.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(workspace::home))
        .route(
            "/login",
            get(auth_pages::login_form).post(auth_pages::login),
        )
        .route(
            "/login/two-factor",
            axum::routing::post(auth_pages::login_two_factor),
        )
        .route(
            "/login/sso",
            get(single_sign_on::login_form).post(single_sign_on::login),
        )
        .route("/sso/start", get(single_sign_on::start))
        .route(
            "/sso/callback/{organization}",
            get(single_sign_on::callback),
        )
        .route(
            "/settings/single-sign-on",
            get(single_sign_on::settings).post(single_sign_on::save),
        )
        .route(
            "/settings/single-sign-on/remove",
            axum::routing::post(single_sign_on::remove),
        )
        .route(
            "/signup",
            get(auth_pages::signup_form).post(auth_pages::signup),
        )
        .route("/logout", axum::routing::post(auth_pages::logout))
        .route(
            "/forgot-password",
            get(auth_pages::forgot_form).post(auth_pages::forgot),
        )
        .route(
            "/reset-password/{token}",
            get(auth_pages::reset_form).post(auth_pages::reset),
        )
        .route(
            "/invite/{token}",
            get(auth_pages::invite_form).post(auth_pages::invite),
        )
        .route(
            "/organizations/new",
            get(workspace::new_organization_form).post(workspace::new_organization),
        )
        .route(
            "/settings/members",
            get(workspace::members).post(workspace::invite_member),
        )
        .route(
            "/settings/members/{id}/role",
            axum::routing::post(workspace::change_role),
        )
        .route(
            "/settings/members/{id}/remove",
            axum::routing::post(workspace::remove_member),
        )
        .route(
            "/settings/members/{id}/deactivate",
            axum::routing::post(workspace::deactivate_member),
        )
        .route(
            "/settings/members/{id}/reactivate",
            axum::routing::post(workspace::reactivate_member),
        )
        .route(
            "/settings/invitations/{id}/resend",
            axum::routing::post(workspace::resend_invitation),
        )
        .route(
            "/settings/invitations/{id}/revoke",
            axum::routing::post(workspace::revoke_invitation),
        )
        .route("/settings/audit", get(audit::audit))
        .route("/notifications", get(notifications::list))
        .route(
            "/notifications/read-all",
            axum::routing::post(notifications::read_all),
        )
        .route(
            "/notifications/settings",
            get(notifications::settings).post(notifications::save_settings),
        )
        .route(
            "/notifications/{id}/open",
            axum::routing::post(notifications::open),
        )
        .route("/profile", get(profile::profile))
        .route("/profile/security", get(security::security))
        .route(
            "/profile/security/setup",
            axum::routing::post(security::setup),
        )
        .route(
            "/profile/security/enable",
            axum::routing::post(security::enable),
        )
        .route(
            "/profile/security/disable",
            axum::routing::post(security::disable),
        )
        .route(
            "/profile/security/recovery-codes",
            axum::routing::post(security::recovery_codes),
        )
        .route("/profile/name", axum::routing::post(profile::save_name))
        .route("/profile/email", axum::routing::post(profile::save_email))
        .route(
            "/profile/password",
            axum::routing::post(profile::save_password),
        )
        .route(
            "/profile/sessions/revoke-others",
            axum::routing::post(profile::revoke_others),
        )
        .route(
            "/profile/sessions/{id}/revoke",
            axum::routing::post(profile::revoke_session),
        )
        .route("/settings/ai", get(ai::ai).post(ai::save))
        .route(
            "/settings/api-keys",
            get(api_keys::list).post(api_keys::create),
        )
        .route(
            "/settings/api-keys/{id}/revoke",
            axum::routing::post(api_keys::revoke),
        )
        .route("/settings/roles", get(roles::list).post(roles::create))
        .route(
            "/settings/roles/{key}",
            get(roles::show).post(roles::save_details),
        )
        .route(
            "/settings/roles/{key}/permissions",
            axum::routing::post(roles::save_permissions),
        )
        .route(
            "/settings/roles/{key}/fields",
            axum::routing::post(roles::save_fields),
        )
        .route(
            "/settings/roles/{key}/delete",
            axum::routing::post(roles::delete),
        )
        .route(
            "/settings/roles/{key}/preview",
            axum::routing::post(roles::preview),
        )
        .route("/preview/stop", axum::routing::post(roles::stop_preview))
        .route("/settings/teams", get(teams::list).post(teams::create))
        .route("/settings/teams/{id}", get(teams::show).post(teams::save))
        .route(
            "/settings/teams/{id}/delete",
            axum::routing::post(teams::delete),
        )
        .route(
            "/settings/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/settings/webhooks/{id}",
            get(webhooks::detail).post(webhooks::update),
        )
        .route(
            "/settings/webhooks/{id}/deliveries/{delivery}",
            get(webhooks::delivery),
        )
        .route(
            "/settings/webhooks/{id}/deliveries/{delivery}/resend",
            axum::routing::post(webhooks::resend),
        )
        .route(
            "/settings/webhooks/{id}/{action}",
            axum::routing::post(webhooks::act),
        )
        .route("/admin", get(admin::organizations))
        .route("/admin/organizations", axum::routing::post(admin::create))
        .route(
            "/admin/organizations/{id}/{action}",
            axum::routing::post(admin::lifecycle),
        )
        .route("/admin/outbox", get(admin::outbox))
        .route("/admin/jobs", get(admin::jobs))
        .route(
            "/admin/jobs/{id}/retry",
            axum::routing::post(admin::retry_job),
        )
        .route("/_styleguide", get(admin::styleguide))
        .merge(kinds::pages::<Company>())
        .merge(kinds::pages::<Contact>())
        .merge(kinds::pages::<Lead>())
        .route("/leads/{id}/convert", axum::routing::post(leads::convert))
        .route("/objects/{key}", get(objects::list))
        .route("/objects/{key}/board", get(objects::board))
        .route("/objects/{key}/board/more", get(objects::board_more))
        .route(
            "/objects/{key}/move",
            axum::routing::post(objects::move_from_board),
        )
        .route("/objects/{key}/export.csv", get(objects::export))
        .route("/objects/{key}/choices", get(objects::choices))
        .route(
            "/objects/{key}/quick",
            axum::routing::post(objects::quick_create),
        )
        .route("/objects/{key}/bulk", axum::routing::post(objects::bulk))
        .route(
            "/objects/{key}/new",
            get(objects::new_form).post(objects::create),
        )
        .route(
            "/objects/{key}/{id}",
            get(objects::detail).post(objects::update),
        )
        .route(
            "/objects/{key}/{id}/delete",
            axum::routing::post(objects::delete),
        )
        .route(
            "/objects/{key}/{id}/move",
            axum::routing::post(objects::move_record),
        )
        .route(
            "/objects/{key}/{id}/activities",
            axum::routing::post(objects::comment),
        )
        .route("/records/{id}", get(objects::by_id))
        .route("/settings/objects", get(object_settings::list))
        .route(
            "/settings/objects/new",
            get(object_settings::new_form).post(object_settings::create),
        )
        .route(
            "/settings/objects/{key}",
            get(object_settings::edit).post(object_settings::save),
        )
        .route(
            "/settings/objects/{key}/delete",
            axum::routing::post(object_settings::delete),
        )
        .route(
            "/settings/objects/{key}/fields",
            axum::routing::post(object_settings::add_field),
        )
        .route(
            "/settings/objects/{key}/fields/{field}",
            axum::routing::post(object_settings::save_field),
        )
        .route(
            "/settings/objects/{key}/fields/{field}/archive",
            axum::routing::post(object_settings::archive_field),
        )
        .route(
            "/settings/objects/{key}/fields/{field}/move",
            axum::routing::post(object_settings::move_field),
        )
        .route("/search", get(search::search))
        .route("/mentions", get(search::mentions))
        .route("/members/choices", get(search::member_choices))
        .route("/files", get(files::list))
        .route("/files/download", get(files::signed_download))
        .route(
            "/files/upload",
            axum::routing::post(files::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/files/{id}", get(files::page))
        .route("/files/{id}/content", get(files::content))
        .route("/files/{id}/thumbnail", get(files::thumbnail))
        .route(
            "/files/{id}/versions",
            axum::routing::post(files::upload_version)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/files/{id}/versions/{version}/restore",
            axum::routing::post(files::restore_version),
        )
        .route("/files/{id}/delete", axum::routing::post(files::delete))
        .route("/trash", get(search::trash))
        .route(
            "/trash/{kind}/{id}/restore",
            axum::routing::post(search::restore),
        )
        .route("/settings/pipelines", get(pipelines::list))
        .route(
            "/settings/pipelines/{id}",
            axum::routing::post(pipelines::save),
        )
        .route(
            "/settings/pipelines/{id}/default",
            axum::routing::post(pipelines::make_default),
        )
        .route(
            "/settings/pipelines/{id}/delete",
            axum::routing::post(pipelines::delete),
        )
        .route("/views", axum::routing::post(lists::save_view))
        .route(
            "/views/{id}/delete",
            axum::routing::post(lists::delete_view),
        )
        .route(
            "/{kind}/{id}/tags",
            axum::routing::post(record_page::save_tags),
        )
        .route("/deals", get(deals::board))
        .route("/deals/board/more", get(deals::board_more))
        .route("/deals/new", get(deals::new_form).post(deals::create))
        .route("/deals/export.csv", get(deals::export))
        .route("/deals/{id}", get(deals::detail))
        .route(
            "/deals/{id}/edit",
            get(deals::edit_form).post(deals::update),
        )
        .route("/deals/{id}/move", axum::routing::post(deals::move_stage))
        .route("/link", axum::routing::post(record_page::link))
        .route(
            "/deals/{id}/activities",
            axum::routing::post(kinds::comment::<Deal>),
        )
        .route(
            "/deals/{id}/delete",
            axum::routing::post(kinds::delete::<Deal>),
        )
        .route("/tasks", get(tasks::my_tasks).post(deals::add_task))
        .route(
            "/tasks/{id}",
            get(kinds::detail::<Task>).post(kinds::update::<Task>),
        )
        .route(
            "/tasks/{id}/delete",
            axum::routing::post(kinds::delete::<Task>),
        )
        .route(
            "/tasks/{id}/done",
            axum::routing::post(deals::complete_task),
        )
        .route(
            "/settings/general",
            get(settings::general).post(settings::save_general),
        )
        .route(
            "/settings/security",
            axum::routing::post(settings::save_security),
        )
        .route("/settings/support", get(settings::support))
        .route(
            "/settings/support/{id}/{action}",
            axum::routing::post(settings::support_action),
        )
        .route(
            "/settings/branding",
            get(settings::branding).post(settings::save_color),
        )
        .route(
            "/settings/branding/logo",
            axum::routing::post(settings::upload_logo)
                // Room for a 1 MiB image plus the form's own framing.
                .layer(axum::extract::DefaultBodyLimit::max(
                    1024 * 1024 + 64 * 1024,
                )),
        )
        .route(
            "/settings/branding/logo/remove",
            axum::routing::post(settings::remove_logo),
        )
        .route(
            "/settings/domains",
            get(settings::domains).post(settings::add_domain),
        )
        .route(
            "/settings/domains/{id}/remove",
            axum::routing::post(settings::remove_domain),
        )
        .route("/portal", get(portal::home))
        .route("/portal/login", get(portal::login_form).post(portal::login))
        .route("/portal/logout", axum::routing::post(portal::logout))
        .route(
            "/portal/welcome/{token}",
            get(portal::welcome_form).post(portal::welcome),
        )
        .route(
            "/portal/forgot",
            get(portal::forgot_form).post(portal::forgot),
        )
        .route("/portal/records/{id}", get(portal::record))
        .route(
            "/portal/records/{id}/comments",
            axum::routing::post(portal::comment),
        )
        .route("/portal/logo", get(portal::logo))
        .route(
            "/settings/portal",
            get(portal_settings::page).post(portal_settings::save),
        )
        .route(
            "/settings/portal/clients",
            axum::routing::post(portal_settings::invite),
        )
        .route(
            "/settings/portal/clients/{id}",
            get(portal_settings::client).post(portal_settings::save_client),
        )
        .route(
            "/settings/portal/clients/{id}/link",
            axum::routing::post(portal_settings::send_link),
        )
        .route(
            "/settings/portal/clients/{id}/deactivate",
            axum::routing::post(portal_settings::deactivate),
        )
        .route(
            "/settings/portal/clients/{id}/reactivate",
            axum::routing::post(portal_settings::reactivate),
        )
        .route(
            "/settings/portal/clients/{id}/remove",
            axum::routing::post(portal_settings::remove),
        )
        .route(
            "/clients/share",
            axum::routing::post(portal_settings::share),
        )
        .route("/brand.css", get(workspace::brand_css))
        .route("/assets/{file}", get(assets::serve))
        .layer(axum::middleware::from_fn(context::one_read_per_page))
        .layer(axum::middleware::from_fn(context::busy_keeps_the_session))
}

/// Renders a template as a page.
pub fn render<T: Template>(template: &T) -> Response {
    render_status(StatusCode::OK, template)
}

pub fn render_status<T: Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "template rendering failed");
            crate::error::ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "something went wrong on our side",
            )
            .into_html_response()
        }
    }
}

/// A 303 redirect (after a form post, the browser follows with GET). A target that cannot be a
/// header value (it would only come from input that slipped past [`redirect_target`]) goes home
/// rather than failing the request.
pub fn see_other(to: &str) -> Response {
    if axum::http::HeaderValue::from_str(to).is_err() {
        tracing::warn!("refused a redirect target that is not a valid header value");
        return Redirect::to("/").into_response();
    }
    Redirect::to(to).into_response()
}

/// A form that carries nothing but its CSRF token (sign out, remove, revoke…).
#[derive(Debug, serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default, rename = "_csrf")]
    pub csrf: String,
}

/// Field errors for a form, looked up by field name in templates.
#[derive(Clone, Debug, Default)]
pub struct FormErrors(pub Vec<FieldError>);

impl FormErrors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

/// A posted form's fields, in order (names may repeat: menus of several values, rows).
pub fn form_pairs(raw: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The first value of a form field, or an empty text.
pub fn form_value(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// A word with a capital first letter (`contact` → `Contact`).
pub fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// An error message as a sentence: capital first letter, full stop at the end.
pub fn sentence(message: &str) -> String {
    let mut chars = message.trim().chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// Up to two initials of a name, for avatars.
pub fn initials(name: &str) -> String {
    let mut out: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    if out.is_empty() {
        out.push('?');
    }
    out
}

/// A `next` target is only ever a path on this site.
pub fn safe_next(next: &str) -> String {
    redirect_target(next).unwrap_or_else(|| "/".to_owned())
}

/// The one check for every redirect target that came from outside (`next`, `back`, a saved
/// view's query): a path on this site, or nothing. It must start with a single `/`, hold no
/// backslash, no whitespace and no control character (browsers drop tabs and line breaks from
/// URLs, so `/\t/evil.example` would become `//evil.example`), and still name this site once
/// resolved as a browser would.
pub fn redirect_target(target: &str) -> Option<String> {
    let mut chars = target.chars();
    if chars.next() != Some('/') || matches!(chars.next(), Some('/' | '\\')) {
        return None;
    }
    if target
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return None;
    }
    let base = url::Url::parse("https://rapport.invalid/").ok()?;
    let resolved = base.join(target).ok()?;
    (resolved.origin() == base.origin()).then(|| target.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_take_the_first_letters_of_two_words() {
        assert_eq!(initials("ann lee smith"), "AL");
        assert_eq!(initials("Élodie"), "É");
        assert_eq!(initials("   "), "?");
    }

    #[test]
    fn messages_read_as_sentences() {
        assert_eq!(
            sentence("this person is already a member"),
            "This person is already a member."
        );
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn next_targets_stay_on_this_site() {
        assert_eq!(safe_next("/o/acme/"), "/o/acme/");
        assert_eq!(safe_next("//evil.example/x"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("/\t/evil.example.com"), "/");
        assert_eq!(safe_next("/\n/evil.example.com"), "/");
        assert_eq!(safe_next("/x\r\nSet-Cookie: a=b"), "/");
        assert_eq!(safe_next("/ /evil.example"), "/");
        assert_eq!(safe_next("/contacts?q=1&view=2"), "/contacts?q=1&view=2");
        assert_eq!(safe_next("/%2F/evil.example"), "/%2F/evil.example");
        assert_eq!(safe_next(""), "/");
        assert_eq!(safe_next("javascript:alert(1)"), "/");
    }
}

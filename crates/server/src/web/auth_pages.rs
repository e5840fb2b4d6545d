//! Sign up, sign in, sign out, password reset and invitation pages.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use chrono::Utc;
use rapport_app::AppError;
use rapport_app::accounts::Registration;
use rapport_app::members::Acceptance;
use serde::Deserialize;

use super::{FormErrors, PageContext, PageResult, render, render_status, safe_next, see_other};
use crate::extract::session_cookie;

/// Words for what went wrong, next to the form rather than as a page.
fn form_message(error: &AppError) -> Option<String> {
    match error {
        AppError::Unauthenticated(_) => Some("Wrong email or password.".into()),
        AppError::TwoFactorInvalid => Some(
            "That code is not valid. Use the current code from your authenticator app, or an unused recovery code."
                .into(),
        ),
        AppError::TooManyRequests { retry_after_secs } => Some(format!(
            "Too many failed attempts. For your safety, sign-in from here is paused for {}; try again then, or reset your password.",
            wait_in_words(*retry_after_secs)
        )),
        AppError::Conflict { message, .. } => Some(super::sentence(message)),
        AppError::Forbidden => Some("You are not allowed to do this.".into()),
        AppError::Busy { .. } => {
            Some("Rapport is busy right now. Wait a moment and try again.".into())
        }
        AppError::Internal(_) => Some("Something went wrong on our side. Please try again.".into()),
        _ => None,
    }
}

/// "30 seconds", "1 minute", "4 minutes".
pub(super) fn wait_in_words(secs: u64) -> String {
    match secs {
        0..=1 => "a second".to_owned(),
        2..=59 => format!("{secs} seconds"),
        60..=119 => "a minute".to_owned(),
        _ => format!("{} minutes", secs.div_ceil(60)),
    }
}

fn split(error: AppError) -> (FormErrors, Option<String>) {
    match error {
        AppError::Validation(errors) => (FormErrors(errors.0), None),
        other => (FormErrors::default(), form_message(&other)),
    }
}

pub(super) fn with_session_cookie(
    ctx: &PageContext,
    token: &str,
    expires_at: chrono::DateTime<Utc>,
    to: &str,
) -> Response {
    let max_age = (expires_at - Utc::now()).num_seconds().max(0);
    let mut response = see_other(to);
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&ctx.state, token, max_age),
    );
    response
}

// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    email: String,
    next: String,
    errors: FormErrors,
    error: Option<String>,
    notice: Option<String>,
    /// The organization's single sign-on button (label, address), on its own sign-in page.
    sso: Option<(String, String)>,
    /// Where a person with single sign-on finds their organization.
    sso_link: String,
}

impl LoginPage {
    async fn new(ctx: &PageContext, email: String, next: String) -> LoginPage {
        LoginPage {
            sso: super::single_sign_on::button(ctx, &next).await,
            sso_link: if next == "/" {
                "/login/sso".to_owned()
            } else {
                format!("/login/sso?next={}", super::context::urlencode(&next))
            },
            email,
            next,
            errors: FormErrors::default(),
            error: None,
            notice: None,
        }
    }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    notice: Option<String>,
}

pub async fn login_form(ctx: PageContext, Query(q): Query<LoginQuery>) -> PageResult {
    if ctx.session.is_some() {
        return Ok(see_other(&safe_next(q.next.as_deref().unwrap_or("/"))));
    }
    let notice = match q.notice.as_deref() {
        Some("signed-out") => Some("You are signed out.".to_owned()),
        Some("joined") => Some(
            "You joined the organization. Sign in to open it, with a new code from your authenticator app."
                .to_owned(),
        ),
        Some("password-reset") => {
            Some("Your password is changed. Sign in with the new one.".to_owned())
        }
        Some("expired") => Some("Your session has expired. Please sign in again.".to_owned()),
        _ => None,
    };
    let mut page = LoginPage::new(
        &ctx,
        String::new(),
        safe_next(q.next.as_deref().unwrap_or("/")),
    )
    .await;
    page.notice = notice;
    Ok(render(&page))
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login(
    ctx: PageContext,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> PageResult {
    if let Err(e) = crate::extract::check_origin(&headers, &ctx.state) {
        return Ok(e.into_html_response());
    }
    let next = safe_next(&form.next);
    let second = rapport_app::two_factor::SecondFactor {
        code: None,
        device: crate::extract::cookie(&headers, crate::extract::DEVICE_COOKIE).map(str::to_owned),
    };
    match ctx
        .state
        .app
        .open_session(
            &form.email,
            &form.password,
            &second,
            ctx.cookie.as_deref(),
            &ctx.meta,
        )
        .await
    {
        Ok(opened) => Ok(with_session_cookie(
            &ctx,
            &opened.token,
            opened.expires_at,
            &next,
        )),
        Err(AppError::TwoFactorRequired { ticket }) => Ok(render(&TwoFactorPage {
            ticket,
            next,
            error: None,
        })),
        Err(error) => {
            let (status, retry_after) = match error {
                AppError::TooManyRequests { retry_after_secs } => {
                    (StatusCode::TOO_MANY_REQUESTS, Some(retry_after_secs))
                }
                AppError::Busy { retry_after_secs } => {
                    (StatusCode::SERVICE_UNAVAILABLE, Some(retry_after_secs))
                }
                AppError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, None),
                _ => (StatusCode::UNPROCESSABLE_ENTITY, None),
            };
            let (errors, message) = split(error);
            let mut login = LoginPage::new(&ctx, form.email, next).await;
            login.errors = errors;
            login.error = message;
            let mut page = render_status(status, &login);
            if let Some(secs) = retry_after {
                page.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, secs.into());
            }
            Ok(page)
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// The second step of signing in, for an account with two-factor on.
#[derive(Template)]
#[template(path = "login_two_factor.html")]
struct TwoFactorPage {
    ticket: String,
    next: String,
    /// Shown next to the code field.
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct TwoFactorForm {
    ticket: String,
    #[serde(default)]
    code: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    remember: Option<String>,
    #[serde(default)]
    next: String,
}

/// `POST /login/two-factor`: the code, after the password.
pub async fn login_two_factor(
    ctx: PageContext,
    headers: HeaderMap,
    Form(form): Form<TwoFactorForm>,
) -> PageResult {
    if let Err(e) = crate::extract::check_origin(&headers, &ctx.state) {
        return Ok(e.into_html_response());
    }
    let next = safe_next(&form.next);
    let result = ctx
        .state
        .app
        .open_session_second_step(
            &form.ticket,
            &form.code,
            form.remember.is_some(),
            ctx.cookie.as_deref(),
            &ctx.meta,
        )
        .await;
    let (status, error, retry_after) = match result {
        Ok(step) => {
            let mut response =
                with_session_cookie(&ctx, &step.opened.token, step.opened.expires_at, &next);
            if let Some(device) = step.device {
                response.headers_mut().append(
                    header::SET_COOKIE,
                    crate::extract::device_cookie(
                        &ctx.state,
                        &device,
                        rapport_app::two_factor::REMEMBER_FOR.num_seconds(),
                    ),
                );
            }
            return Ok(response);
        }
        Err(AppError::TwoFactorRequired { .. }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter the six-digit code from your authenticator app.".to_owned(),
            None,
        ),
        // The ticket went stale: start again from the password.
        Err(AppError::Unauthenticated(message)) => {
            let mut page = LoginPage::new(&ctx, String::new(), next).await;
            page.error = Some(super::sentence(message));
            return Ok(render_status(StatusCode::UNAUTHORIZED, &page));
        }
        Err(AppError::TooManyRequests { retry_after_secs }) => (
            StatusCode::TOO_MANY_REQUESTS,
            form_message(&AppError::TooManyRequests { retry_after_secs }).unwrap_or_default(),
            Some(retry_after_secs),
        ),
        Err(other @ AppError::TwoFactorInvalid) => (
            StatusCode::UNAUTHORIZED,
            form_message(&other).unwrap_or_default(),
            None,
        ),
        Err(other) => return Err(other.into()),
    };
    let mut page = render_status(
        status,
        &TwoFactorPage {
            ticket: form.ticket,
            next,
            error: Some(error),
        },
    );
    if let Some(secs) = retry_after {
        page.headers_mut()
            .insert(axum::http::header::RETRY_AFTER, secs.into());
    }
    Ok(page)
}

// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    /// What a new password must be, as the instance sets it.
    password_hint: String,
    name: String,
    email: String,
    organization_name: String,
    errors: FormErrors,
    error: Option<String>,
}

pub async fn signup_form(ctx: PageContext) -> PageResult {
    if ctx.session.is_some() {
        return Ok(see_other("/"));
    }
    Ok(render(&SignupPage {
        password_hint: ctx.state.app.config.password_policy.hint(),
        name: String::new(),
        email: String::new(),
        organization_name: String::new(),
        errors: FormErrors::default(),
        error: None,
    }))
}

#[derive(Deserialize)]
pub struct SignupForm {
    name: String,
    email: String,
    password: String,
    organization_name: String,
}

pub async fn signup(
    ctx: PageContext,
    headers: HeaderMap,
    Form(form): Form<SignupForm>,
) -> PageResult {
    if let Err(e) = crate::extract::check_origin(&headers, &ctx.state) {
        return Ok(e.into_html_response());
    }
    let app = &ctx.state.app;
    let result = app
        .register(
            Registration {
                email: form.email.clone(),
                password: form.password.clone(),
                name: form.name.clone(),
                organization_name: Some(form.organization_name.clone()),
            },
            &ctx.meta,
        )
        .await;
    match result {
        Ok(registered) => {
            let to = registered
                .organization
                .map(|o| format!("/o/{}/", o.slug))
                .unwrap_or_else(|| "/".into());
            match app
                .open_session(
                    &registered.user.email,
                    &form.password,
                    &rapport_app::two_factor::SecondFactor::default(),
                    ctx.cookie.as_deref(),
                    &ctx.meta,
                )
                .await
            {
                Ok(opened) => Ok(with_session_cookie(
                    &ctx,
                    &opened.token,
                    opened.expires_at,
                    &to,
                )),
                Err(_) => Ok(see_other("/login")),
            }
        }
        Err(error) => {
            let (mut errors, mut message) = split(error);
            if let Some(m) = &message
                && m.to_lowercase().contains("already exists")
            {
                errors.0.push(rapport_domain::FieldError {
                    field: "email".into(),
                    message: "already has an account; sign in instead".into(),
                });
                message = None;
            }
            Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &SignupPage {
                    password_hint: ctx.state.app.config.password_policy.hint(),
                    name: form.name,
                    email: form.email,
                    organization_name: form.organization_name,
                    errors,
                    error: message,
                },
            ))
        }
    }
}

// ---------------------------------------------------------------------------------------------

pub async fn logout(ctx: PageContext, Form(form): Form<super::CsrfForm>) -> PageResult {
    let Ok(session) = ctx.check_csrf(&form.csrf) else {
        // Without a live session there is nothing to end.
        return Ok(see_other("/login"));
    };
    if let Err(error) = ctx.state.app.close_session(session, &ctx.meta).await {
        return Err(error.into());
    }
    let mut response = see_other("/login?notice=signed-out");
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&ctx.state, "", 0));
    Ok(response)
}

// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "forgot_password.html")]
struct ForgotPage {
    email: String,
    errors: FormErrors,
    sent_to: Option<String>,
    minutes: u64,
}

pub async fn forgot_form(ctx: PageContext) -> PageResult {
    Ok(render(&ForgotPage {
        email: String::new(),
        errors: FormErrors::default(),
        sent_to: None,
        minutes: ctx.state.app.config.password_reset_ttl.as_secs() / 60,
    }))
}

#[derive(Deserialize)]
pub struct ForgotForm {
    email: String,
}

pub async fn forgot(ctx: PageContext, Form(form): Form<ForgotForm>) -> PageResult {
    let minutes = ctx.state.app.config.password_reset_ttl.as_secs() / 60;
    match ctx
        .state
        .app
        .request_password_reset(&form.email, &ctx.meta)
        .await
    {
        Ok(()) => Ok(render(&ForgotPage {
            sent_to: Some(form.email.trim().to_owned()),
            email: form.email,
            errors: FormErrors::default(),
            minutes,
        })),
        Err(error) => {
            let (errors, _) = split(error);
            Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ForgotPage {
                    email: form.email,
                    errors,
                    sent_to: None,
                    minutes,
                },
            ))
        }
    }
}

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPage {
    /// What a new password must be, as the instance sets it.
    password_hint: String,
    token: String,
    errors: FormErrors,
    error: Option<String>,
}

const RESET_UNUSABLE: &str = "This reset link is invalid, has expired or was already used. Ask for a new one; it arrives in a minute.";

pub async fn reset_form(ctx: PageContext, Path(token): Path<String>) -> PageResult {
    let usable = ctx
        .state
        .app
        .password_reset_is_usable(&token)
        .await
        .unwrap_or(false);
    Ok(render(&ResetPage {
        password_hint: ctx.state.app.config.password_policy.hint(),
        token,
        errors: FormErrors::default(),
        error: (!usable).then(|| RESET_UNUSABLE.to_owned()),
    }))
}

#[derive(Deserialize)]
pub struct ResetForm {
    password: String,
}

pub async fn reset(
    ctx: PageContext,
    Path(token): Path<String>,
    Form(form): Form<ResetForm>,
) -> PageResult {
    match ctx
        .state
        .app
        .reset_password(&token, &form.password, &ctx.meta)
        .await
    {
        Ok(()) => Ok(see_other("/login?notice=password-reset")),
        Err(AppError::Validation(errors)) if errors.0.iter().any(|e| e.field == "token") => {
            Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ResetPage {
                    password_hint: ctx.state.app.config.password_policy.hint(),
                    token,
                    errors: FormErrors::default(),
                    error: Some(RESET_UNUSABLE.to_owned()),
                },
            ))
        }
        Err(error) => {
            let (errors, error) = split(error);
            Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ResetPage {
                    password_hint: ctx.state.app.config.password_policy.hint(),
                    token,
                    errors,
                    error,
                },
            ))
        }
    }
}

// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage {
    /// What a new password must be, as the instance sets it.
    password_hint: String,
    token: String,
    organization_name: String,
    email: String,
    role: String,
    account_exists: bool,
    name: String,
    errors: FormErrors,
    error: Option<String>,
}

impl InvitePage {
    fn unusable(token: String, password_hint: String) -> Self {
        InvitePage {
            password_hint,
            token,
            organization_name: String::new(),
            email: String::new(),
            role: String::new(),
            account_exists: false,
            name: String::new(),
            errors: FormErrors::default(),
            error: Some(
                "This invitation is invalid, has expired, was revoked or was already used. Ask the person who invited you to send a new one."
                    .into(),
            ),
        }
    }
}

pub async fn invite_form(ctx: PageContext, Path(token): Path<String>) -> PageResult {
    match ctx.state.app.invitation_details(&token).await {
        Ok(details) => Ok(render(&InvitePage {
            password_hint: ctx.state.app.config.password_policy.hint(),
            token,
            organization_name: details.organization_name,
            email: details.invitation.email,
            role: details.invitation.role.as_str().to_owned(),
            account_exists: details.account_exists,
            name: String::new(),
            errors: FormErrors::default(),
            error: None,
        })),
        Err(_) => Ok(render_status(
            StatusCode::NOT_FOUND,
            &InvitePage::unusable(token, ctx.state.app.config.password_policy.hint()),
        )),
    }
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    name: String,
    password: String,
    /// For an existing account with two-factor on.
    #[serde(default)]
    two_factor_code: String,
}

pub async fn invite(
    ctx: PageContext,
    Path(token): Path<String>,
    Form(form): Form<InviteForm>,
) -> PageResult {
    let app = &ctx.state.app;
    let Ok(details) = app.invitation_details(&token).await else {
        return Ok(render_status(
            StatusCode::NOT_FOUND,
            &InvitePage::unusable(token, ctx.state.app.config.password_policy.hint()),
        ));
    };
    let accepted = app
        .accept_invitation(
            Acceptance {
                token: token.clone(),
                name: (!form.name.trim().is_empty()).then(|| form.name.clone()),
                password: form.password.clone(),
                two_factor_code: (!form.two_factor_code.trim().is_empty())
                    .then(|| form.two_factor_code.clone()),
            },
            &ctx.meta,
        )
        .await;
    match accepted {
        Ok(accepted) => {
            let to = format!("/o/{}/", accepted.organization.slug);
            match app
                .open_session(
                    &accepted.user.email,
                    &form.password,
                    &rapport_app::two_factor::SecondFactor::default(),
                    ctx.cookie.as_deref(),
                    &ctx.meta,
                )
                .await
            {
                Ok(opened) => Ok(with_session_cookie(
                    &ctx,
                    &opened.token,
                    opened.expires_at,
                    &to,
                )),
                // An account with two-factor signs in again, with a fresh code.
                Err(_) => Ok(see_other("/login?notice=joined")),
            }
        }
        Err(error) => {
            // Too many wrong passwords: told how long to wait, as the sign-in page does.
            let retry_after = match &error {
                AppError::TooManyRequests { retry_after_secs } => Some(*retry_after_secs),
                _ => None,
            };
            let (errors, error) = match error {
                AppError::TwoFactorRequired { .. } | AppError::TwoFactorInvalid => {
                    let mut errors = rapport_domain::ValidationErrors::new();
                    errors.add(
                        "two_factor_code",
                        "must be the current code from your authenticator app, or an unused recovery code",
                    );
                    (FormErrors(errors.0), None)
                }
                other => split(other),
            };
            let status = if retry_after.is_some() {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let mut page = render_status(
                status,
                &InvitePage {
                    password_hint: ctx.state.app.config.password_policy.hint(),
                    token,
                    organization_name: details.organization_name,
                    email: details.invitation.email,
                    role: details.invitation.role.as_str().to_owned(),
                    account_exists: details.account_exists,
                    name: form.name,
                    errors,
                    error,
                },
            );
            if let Some(secs) = retry_after {
                page.headers_mut().insert(header::RETRY_AFTER, secs.into());
            }
            Ok(page)
        }
    }
}

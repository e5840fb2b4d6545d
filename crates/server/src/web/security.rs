//! `/profile/security`: the signed-in person's two-factor authentication — set up with a QR
//! code, recovery codes shown once, new codes, turning it off. It needs no organization, so a
//! person whose organization requires two-factor can set it up before entering.

use askama::Template;
use axum::Form;
use axum::extract::Query;
use axum::http::StatusCode;
use rapport_app::AppError;
use serde::Deserialize;

use super::{PageContext, PageError, PageResult, render, render_status, safe_next, see_other};

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage {
    csrf: String,
    email: String,
    /// "Since 7 Dec 2026" when on.
    enabled_since: Option<String>,
    recovery_codes_left: i64,
    /// The enrolment under way: the secret to type and the QR code (inline SVG).
    setup: Option<Setup>,
    /// Recovery codes just made: shown this once.
    codes: Vec<String>,
    /// The organization that requires two-factor, when it sent the person here: its name.
    required_by: Option<String>,
    /// Its address, carried through the forms.
    required_slug: String,
    /// Where to go once done (back into that organization), or the workspace.
    next: String,
    notice: Option<String>,
    /// Errors next to the field they concern.
    code_error: Option<String>,
    password_error: Option<String>,
    form_error: Option<String>,
}

struct Setup {
    /// The secret in groups of four, for typing.
    secret: String,
    qr_svg: String,
}

/// The QR code of an `otpauth://` address, as SVG markup to inline.
fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .dark_color(qrcode::render::svg::Color("#111827"))
                .light_color(qrcode::render::svg::Color("#ffffff"))
                .build();
            // Inlined in the page: without the XML declaration.
            match svg.find("<svg") {
                Some(at) => svg[at..].to_owned(),
                None => svg,
            }
        }
        Err(_) => String::new(),
    }
}

fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Deserialize, Default)]
pub struct SecurityQuery {
    required: Option<String>,
    next: Option<String>,
    done: Option<String>,
}

async fn page(ctx: &PageContext, q: &SecurityQuery) -> Result<SecurityPage, PageError> {
    let session = ctx.require_session()?;
    let app = &ctx.state.app;
    let status = app
        .two_factor_status(&session.actor)
        .await
        .map_err(PageError::from)?;
    let setup = match status.enabled() {
        true => None,
        false => app
            .pending_two_factor(&session.actor)
            .await
            .map_err(PageError::from)?
            .map(|e| Setup {
                secret: grouped(&e.secret),
                qr_svg: qr_svg(&e.uri),
            }),
    };
    Ok(SecurityPage {
        csrf: crate::csrf::masked(&session.session.csrf_token),
        email: session.actor.email.clone(),
        enabled_since: status
            .enabled_at
            .map(|at| format!("On since {}", super::records::day(at.date_naive()))),
        recovery_codes_left: status.recovery_codes_left,
        setup,
        codes: Vec::new(),
        required_by: match q.required.as_deref().filter(|r| !r.trim().is_empty()) {
            // Named by address; said only when that organization really requires it.
            Some(slug) => app
                .resolve_organization(rapport_app::organizations::TenantHint::Slug(slug))
                .await
                .map_err(PageError::from)?
                .filter(|o| o.two_factor_required)
                .map(|o| o.name),
            None => None,
        },
        required_slug: q.required.clone().unwrap_or_default(),
        next: q
            .next
            .as_deref()
            .map(safe_next)
            .unwrap_or_else(|| "/".to_owned()),
        notice: q.done.as_deref().map(|d| {
            match d {
                "off" => "Two-factor authentication is off.",
                "setup" => {
                    "Scan the code with your authenticator app, then enter the code it shows."
                }
                _ => "Saved.",
            }
            .to_owned()
        }),
        code_error: None,
        password_error: None,
        form_error: None,
    })
}

pub async fn security(ctx: PageContext, Query(q): Query<SecurityQuery>) -> PageResult {
    // A single sign-on's session does not change the account's security; the profile says why.
    if ctx
        .session
        .as_ref()
        .is_some_and(|s| s.actor.confined_to.is_some())
    {
        return Ok(see_other("/profile#single-sign-on"));
    }
    Ok(render(&page(&ctx, &q).await?))
}

#[derive(Deserialize)]
pub struct CsrfNext {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    required: String,
    #[serde(default)]
    next: String,
}

impl CsrfNext {
    fn query(&self, done: &str) -> String {
        format!(
            "/profile/security?done={done}&required={}&next={}",
            super::urlencode(&self.required),
            super::urlencode(&self.next)
        )
    }

    fn as_query(&self) -> SecurityQuery {
        SecurityQuery {
            required: Some(self.required.clone()),
            next: Some(self.next.clone()),
            done: None,
        }
    }
}

/// `POST /profile/security/setup`: a new secret to scan.
pub async fn setup(ctx: PageContext, Form(form): Form<CsrfNext>) -> PageResult {
    let session = ctx.check_csrf(&form.csrf)?;
    match ctx.state.app.begin_two_factor(&session.actor).await {
        Ok(_) => Ok(see_other(&form.query("setup"))),
        Err(AppError::Conflict { message, .. }) => {
            let mut p = page(&ctx, &form.as_query()).await?;
            p.form_error = Some(super::sentence(&message));
            Ok(render_status(StatusCode::CONFLICT, &p))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(flatten)]
    base: CsrfNext,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

/// `POST /profile/security/enable`: the code that proves the app holds the secret. The
/// recovery codes are shown on the page it answers, once.
pub async fn enable(ctx: PageContext, Form(form): Form<CodeForm>) -> PageResult {
    let session = ctx.check_csrf(&form.base.csrf)?;
    let result = ctx
        .state
        .app
        .enable_two_factor(&session.actor, &form.code, &form.password, &ctx.meta)
        .await;
    match result {
        Ok(codes) => {
            let mut p = page(&ctx, &form.base.as_query()).await?;
            p.codes = codes;
            p.notice = Some("Two-factor authentication is on.".into());
            Ok(render(&p))
        }
        Err(AppError::Validation(errors)) => {
            let mut p = page(&ctx, &form.base.as_query()).await?;
            p.code_error = errors
                .0
                .first()
                .map(|e| super::sentence(&format!("The code {}", e.message)));
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p))
        }
        Err(AppError::Conflict { message, .. }) => {
            let mut p = page(&ctx, &form.base.as_query()).await?;
            p.form_error = Some(super::sentence(&message));
            Ok(render_status(StatusCode::CONFLICT, &p))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(flatten)]
    base: CsrfNext,
    #[serde(default)]
    password: String,
}

/// What a password-confirmed change answered, as the page shows it.
async fn refused(ctx: &PageContext, base: &CsrfNext, error: AppError) -> PageResult {
    let mut p = page(ctx, &base.as_query()).await?;
    let status = match error {
        AppError::Validation(errors) => {
            p.password_error = errors
                .0
                .first()
                .map(|e| super::sentence(&format!("The password {}", e.message)));
            StatusCode::UNPROCESSABLE_ENTITY
        }
        AppError::Conflict { message, .. } => {
            p.form_error = Some(super::sentence(&message));
            StatusCode::CONFLICT
        }
        other => return Err(other.into()),
    };
    Ok(render_status(status, &p))
}

/// `POST /profile/security/disable`.
pub async fn disable(ctx: PageContext, Form(form): Form<PasswordForm>) -> PageResult {
    let session = ctx.check_csrf(&form.base.csrf)?;
    match ctx
        .state
        .app
        .disable_two_factor(&session.actor, &form.password, &ctx.meta)
        .await
    {
        Ok(()) => Ok(see_other(&form.base.query("off"))),
        Err(e) => refused(&ctx, &form.base, e).await,
    }
}

/// `POST /profile/security/recovery-codes`: new codes, shown once.
pub async fn recovery_codes(ctx: PageContext, Form(form): Form<PasswordForm>) -> PageResult {
    let session = ctx.check_csrf(&form.base.csrf)?;
    match ctx
        .state
        .app
        .new_recovery_codes(&session.actor, &form.password, &ctx.meta)
        .await
    {
        Ok(codes) => {
            let mut p = page(&ctx, &form.base.as_query()).await?;
            p.codes = codes;
            p.notice = Some("New recovery codes. The old ones no longer work.".into());
            Ok(render(&p))
        }
        Err(e) => refused(&ctx, &form.base, e).await,
    }
}

//! The signed-in user's own profile: name, password, sessions.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use rapport_app::AppError;
use rapport_domain::SessionId;
use serde::Deserialize;

use super::workspace::{Shell, shell};
use super::{FormErrors, PageContext, PageError, PageResult, render, render_status, see_other};

pub struct SessionRow {
    pub id: String,
    pub device: String,
    pub ip: String,
    pub created: String,
    pub last_seen: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    shell: Shell,
    /// What a new password must be, as the instance sets it.
    password_hint: String,
    name: String,
    name_errors: FormErrors,
    email: String,
    email_errors: FormErrors,
    password_errors: FormErrors,
    sessions: Vec<SessionRow>,
    notice: Option<String>,
    /// Whether the person signs in with a second factor.
    two_factor: bool,
    /// Signed in through the organization's single sign-on: account-wide settings are not
    /// changed from this sign-in.
    confined: bool,
}

/// A readable name for a browser from its user agent.
fn device(user_agent: Option<&str>) -> String {
    let ua = user_agent.unwrap_or("");
    let browser = ["Edg/", "Firefox/", "Chrome/", "Safari/"]
        .iter()
        .find(|b| ua.contains(*b))
        .map(|b| match *b {
            "Edg/" => "Edge",
            "Firefox/" => "Firefox",
            "Chrome/" => "Chrome",
            _ => "Safari",
        });
    let os = ["Windows", "Android", "iPhone", "iPad", "Mac OS", "Linux"]
        .iter()
        .find(|o| ua.contains(*o))
        .map(|o| match *o {
            "Mac OS" => "macOS",
            other => other,
        });
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(o)) => o.to_owned(),
        (None, None) => "Unknown browser".to_owned(),
    }
}

async fn page(
    ctx: &PageContext,
    name_errors: FormErrors,
    password_errors: FormErrors,
    notice: Option<String>,
) -> Result<ProfilePage, PageError> {
    let (session, tenant) = ctx.tenant().await?;
    let sessions = ctx
        .state
        .app
        .list_sessions(&session.actor)
        .await
        .map_err(PageError::from)?;
    Ok(ProfilePage {
        confined: session.actor.confined_to.is_some(),
        password_hint: ctx.state.app.config.password_policy.hint(),
        shell: shell(ctx, session, &tenant, "profile", &["Your profile"]).await,
        name: session.actor.name.clone(),
        name_errors,
        email: session.actor.email.clone(),
        email_errors: FormErrors::default(),
        password_errors,
        sessions: sessions
            .into_iter()
            .map(|s| SessionRow {
                id: s.id.to_string(),
                device: device(s.user_agent.as_deref()),
                ip: s.ip.unwrap_or_else(|| "unknown address".into()),
                created: s.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                last_seen: s.last_seen_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                current: s.id == session.session.id,
            })
            .collect(),
        notice,
        two_factor: session.actor.two_factor,
    })
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

pub async fn profile(ctx: PageContext, Query(q): Query<Done>) -> PageResult {
    let notice = q.done.as_deref().map(|d| {
        match d {
            "name" => "Name saved.",
            "password" => "Password changed.",
            "email" => "Email changed. Sign in with the new address from now on.",
            "session" => "That session is signed out.",
            "others" => "Signed out everywhere else.",
            _ => "Saved.",
        }
        .to_owned()
    });
    match page(&ctx, FormErrors::default(), FormErrors::default(), notice).await {
        Ok(p) => Ok(render(&p)),
        Err(p) => Err(p),
    }
}

#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    name: String,
}

pub async fn save_name(ctx: PageContext, Form(form): Form<NameForm>) -> PageResult {
    let session = ctx.check_csrf(&form.csrf)?;
    match ctx
        .state
        .app
        .rename(&session.actor, &form.name, &ctx.meta)
        .await
    {
        Ok(()) => Ok(see_other(&format!("{}/profile?done=name", ctx.base))),
        Err(AppError::Validation(errors)) => {
            match page(&ctx, FormErrors(errors.0), FormErrors::default(), None).await {
                Ok(mut p) => {
                    p.name = form.name;
                    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p))
                }
                Err(p) => Err(p),
            }
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    email: String,
    email_password: String,
}

pub async fn save_email(ctx: PageContext, Form(form): Form<EmailForm>) -> PageResult {
    let session = ctx.check_csrf(&form.csrf)?;
    match ctx
        .state
        .app
        .change_email(&session.actor, &form.email, &form.email_password, &ctx.meta)
        .await
    {
        Ok(_) => Ok(see_other(&format!("{}/profile?done=email", ctx.base))),
        Err(AppError::Validation(errors)) => {
            match page(&ctx, FormErrors::default(), FormErrors::default(), None).await {
                Ok(mut p) => {
                    p.email = form.email;
                    // The password field of this form has its own name on the page.
                    p.email_errors = FormErrors(
                        errors
                            .0
                            .into_iter()
                            .map(|mut e| {
                                if e.field == "current_password" {
                                    e.field = "email_password".into();
                                }
                                e
                            })
                            .collect(),
                    );
                    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p))
                }
                Err(p) => Err(p),
            }
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    current_password: String,
    password: String,
}

pub async fn save_password(ctx: PageContext, Form(form): Form<PasswordForm>) -> PageResult {
    let session = ctx.check_csrf(&form.csrf)?;
    match ctx
        .state
        .app
        .change_password(
            &session.actor,
            &form.current_password,
            &form.password,
            &ctx.meta,
        )
        .await
    {
        Ok(()) => Ok(see_other(&format!("{}/profile?done=password", ctx.base))),
        Err(AppError::Validation(errors)) => {
            match page(&ctx, FormErrors::default(), FormErrors(errors.0), None).await {
                Ok(p) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p)),
                Err(p) => Err(p),
            }
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn revoke_session(
    ctx: PageContext,
    Path(id): Path<String>,
    Form(form): Form<super::CsrfForm>,
) -> PageResult {
    let session = ctx.check_csrf(&form.csrf)?;
    let Ok(id) = id.parse::<SessionId>() else {
        return Err(crate::error::ApiError::not_found().into());
    };
    match ctx
        .state
        .app
        .revoke_session(&session.actor, id, &ctx.meta)
        .await
    {
        Ok(()) => Ok(see_other(&format!("{}/profile?done=session", ctx.base))),
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke_others(ctx: PageContext, Form(form): Form<super::CsrfForm>) -> PageResult {
    let session = ctx.check_csrf(&form.csrf)?;
    match ctx.state.app.close_other_sessions(session, &ctx.meta).await {
        Ok(_) => Ok(see_other(&format!("{}/profile?done=others", ctx.base))),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn devices_are_named_from_the_user_agent() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";
        assert_eq!(super::device(Some(chrome)), "Chrome on Linux");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1";
        assert_eq!(super::device(Some(safari)), "Safari on iPhone");
        assert_eq!(super::device(None), "Unknown browser");
    }
}

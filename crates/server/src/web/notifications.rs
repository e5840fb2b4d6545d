//! The notification bell's page and each person's notification settings.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use rapport_app::notifications::Choice;
use rapport_domain::NotificationId;
use rapport_domain::notification::{EmailChoice, NotificationKind};
use serde::Deserialize;

use super::records::when;
use super::workspace::{Shell, shell};
use super::{FormErrors, PageContext, PageResult, render, render_status, see_other};
use crate::error::ApiError;
use axum::http::StatusCode;
use rapport_app::AppError;

pub struct Item {
    pub id: String,
    pub title: String,
    pub body: String,
    pub when: String,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    shell: Shell,
    items: Vec<Item>,
    unread: i64,
    only_unread: bool,
    older: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    unread: Option<String>,
    before: Option<String>,
}

const PAGE: i64 = 50;

/// `/notifications`: newest first, unread ones marked, older ones a page further.
pub async fn list(ctx: PageContext, Query(q): Query<ListQuery>) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let app = &ctx.state.app;
    let only_unread = q.unread.as_deref() == Some("1");
    let before = q
        .before
        .as_deref()
        .and_then(|b| b.parse().ok())
        .map(NotificationId);
    let mut list = app
        .notifications(&session.actor, &tenant, only_unread, before, PAGE + 1)
        .await?;
    let more = list.len() as i64 > PAGE;
    list.truncate(PAGE as usize);
    let unread = app
        .unread_notifications(&session.actor, &tenant)
        .await
        .unwrap_or(0);
    let base = ctx.base.clone();
    let older = more.then(|| list.last().map(|n| n.id)).flatten().map(|id| {
        format!(
            "{base}/notifications?before={id}{}",
            if only_unread { "&unread=1" } else { "" }
        )
    });
    Ok(render(&NotificationsPage {
        shell: shell(&ctx, session, &tenant, "notifications", &["Notifications"]).await,
        items: list
            .into_iter()
            .map(|n| Item {
                id: n.id.to_string(),
                title: n.title,
                body: n.body,
                when: when(n.created_at),
                unread: n.read_at.is_none(),
            })
            .collect(),
        unread,
        only_unread,
        older,
    }))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

/// Opens a notification: marks it read, then goes to what it is about.
pub async fn open(
    ctx: PageContext,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    let Ok(id) = id.parse::<NotificationId>() else {
        return Err(ApiError::not_found().into());
    };
    match ctx
        .state
        .app
        .mark_notification_read(&session.actor, &tenant, id)
        .await
    {
        Ok(n) if n.link.starts_with('/') && !n.link.starts_with("//") => Ok(see_other(&n.link)),
        Ok(_) => Ok(see_other(&format!("{}/notifications", ctx.base))),
        Err(e) => Err(e.into()),
    }
}

pub async fn read_all(ctx: PageContext, Form(form): Form<CsrfForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    if let Err(e) = ctx
        .state
        .app
        .mark_all_notifications_read(&session.actor, &tenant)
        .await
    {
        return Err(e.into());
    }
    Ok(see_other(&format!("{}/notifications", ctx.base)))
}

pub struct Row {
    pub kind: &'static str,
    pub label: &'static str,
    pub in_app: bool,
    pub email: Vec<(&'static str, &'static str, bool)>,
}

#[derive(Template)]
#[template(path = "notification_settings.html")]
struct SettingsPage {
    shell: Shell,
    rows: Vec<Row>,
    time_zone: String,
    organization_zone: String,
    saved: bool,
    errors: FormErrors,
}

fn rows(choices: &[Choice]) -> Vec<Row> {
    choices
        .iter()
        .map(|c| Row {
            kind: c.kind.as_str(),
            label: c.kind.label(),
            in_app: c.in_app,
            email: EmailChoice::ALL
                .iter()
                .map(|e| (e.as_str(), e.label(), *e == c.email))
                .collect(),
        })
        .collect()
}

#[derive(Deserialize, Default)]
pub struct SettingsQuery {
    saved: Option<String>,
}

/// `/notifications/settings`: the person's time zone and what each kind of notification does.
pub async fn settings(ctx: PageContext, Query(q): Query<SettingsQuery>) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let preferences = ctx
        .state
        .app
        .notification_preferences(&session.actor)
        .await?;
    Ok(render(&SettingsPage {
        organization_zone: tenant.organization.time_zone.clone(),
        shell: shell(
            &ctx,
            session,
            &tenant,
            "notifications",
            &["Notifications", "Settings"],
        )
        .await,
        rows: rows(&preferences.choices),
        time_zone: preferences.time_zone.unwrap_or_default(),
        saved: q.saved.is_some(),
        errors: FormErrors::default(),
    }))
}

/// The settings form: `time_zone`, and for each kind `{kind}.in_app=1` when checked and
/// `{kind}.email`.
pub async fn save_settings(
    ctx: PageContext,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let csrf = field("_csrf").unwrap_or_default();
    ctx.check_csrf(&csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    let mut choices = Vec::new();
    let mut errors = rapport_domain::ValidationErrors::new();
    for kind in NotificationKind::ALL {
        let email = field(&format!("{}.email", kind.as_str()))
            .as_deref()
            .and_then(EmailChoice::parse);
        match email {
            Some(email) => choices.push(Choice {
                kind,
                in_app: field(&format!("{}.in_app", kind.as_str())).is_some(),
                email,
            }),
            None => errors.add(
                &format!("{}.email", kind.as_str()),
                "must be one of the choices",
            ),
        }
    }
    let time_zone = field("time_zone").unwrap_or_default();
    let result = match errors.into_result() {
        Ok(()) => {
            ctx.state
                .app
                .set_notification_preferences(
                    &session.actor,
                    Some(Some(time_zone.clone())),
                    &choices,
                )
                .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match result {
        Ok(_) => Ok(see_other(&format!(
            "{}/notifications/settings?saved=1",
            ctx.base
        ))),
        Err(AppError::Validation(errors)) => {
            let current = ctx.state.app.notification_preferences(&session.actor).await;
            let rows = match &current {
                Ok(p) => rows(&p.choices),
                Err(_) => Vec::new(),
            };
            Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &SettingsPage {
                    organization_zone: tenant.organization.time_zone.clone(),
                    shell: shell(
                        &ctx,
                        session,
                        &tenant,
                        "notifications",
                        &["Notifications", "Settings"],
                    )
                    .await,
                    rows,
                    time_zone,
                    saved: false,
                    errors: FormErrors(errors.0),
                },
            ))
        }
        Err(e) => Err(e.into()),
    }
}

//! Settings → Webhooks: endpoints, their secrets, and the delivery log with resending.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use rapport_app::webhooks::EndpointInput;
use rapport_app::{Actor, AppError, Tenant};
use rapport_domain::{DeliveryId, WebhookId};
use serde::Deserialize;

use super::records::when;
use super::settings::{Tab, admin, tabs};
use super::workspace::Shell;
use super::{FormErrors, PageContext, PageError, PageResult, render, render_status, see_other};
use crate::error::ApiError;

pub struct EndpointRow {
    pub id: String,
    pub url: String,
    pub description: String,
    pub events: String,
    pub active: bool,
    pub problem: Option<String>,
}

fn events_summary(types: &[String]) -> String {
    match types.len() {
        0 => "All events".into(),
        1..=3 => types.join(", "),
        n => format!("{}, and {} more", types[..2].join(", "), n - 2),
    }
}

fn row(e: rapport_app::model::Endpoint) -> EndpointRow {
    let problem = if !e.active {
        Some(match &e.disabled_reason {
            Some(reason) => format!("Turned off: {reason}"),
            None => "Turned off".into(),
        })
    } else {
        e.failing_since
            .map(|since| format!("Failing since {}", when(since)))
    };
    EndpointRow {
        id: e.id.to_string(),
        url: e.url,
        description: e.description,
        events: events_summary(&e.event_types.0),
        active: e.active,
        problem,
    }
}

/// One checkbox of the event chooser.
pub struct EventChoice {
    pub name: &'static str,
    pub checked: bool,
}

fn chooser(selected: &[String]) -> Vec<EventChoice> {
    rapport_app::events::CATALOGUE
        .iter()
        .map(|name| EventChoice {
            name,
            checked: selected.iter().any(|s| s == name),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "settings_webhooks.html")]
struct ListPage {
    shell: Shell,
    tabs: Vec<Tab>,
    endpoints: Vec<EndpointRow>,
    url: String,
    description: String,
    all_events: bool,
    events: Vec<EventChoice>,
    errors: FormErrors,
    /// The new endpoint and its secret, shown once after creating it.
    created: Option<(String, String)>,
    notice: Option<String>,
}

async fn list_page(
    ctx: &PageContext,
    actor: &Actor,
    tenant: &Tenant,
    shell: Shell,
) -> Result<ListPage, PageError> {
    let endpoints = ctx
        .state
        .app
        .webhooks(actor, tenant, &ctx.meta)
        .await
        .map_err(PageError::from)?;
    Ok(ListPage {
        tabs: tabs(&ctx.base, "webhooks"),
        shell,
        endpoints: endpoints.into_iter().map(row).collect(),
        url: String::new(),
        description: String::new(),
        all_events: true,
        events: chooser(&[]),
        errors: FormErrors::default(),
        created: None,
        notice: None,
    })
}

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

fn done_notice(done: Option<&str>) -> Option<String> {
    done.map(|d| {
        match d {
            "deleted" => "Endpoint deleted.",
            "saved" => "Changes saved.",
            "test" => "A test message is on its way; it appears in the delivery log below.",
            "resent" => "The delivery is being sent again.",
            _ => "Done.",
        }
        .to_owned()
    })
}

/// `/settings/webhooks`.
pub async fn list(ctx: PageContext, Query(q): Query<Done>) -> PageResult {
    let (actor, tenant, shell) = admin(&ctx, "settings", "Webhooks").await?;
    match list_page(&ctx, &actor, &tenant, shell).await {
        Ok(mut page) => {
            page.notice = done_notice(q.done.as_deref());
            Ok(render(&page))
        }
        Err(page) => Err(page),
    }
}

/// The endpoint form's fields: `url`, `description`, `all_events`, repeated `event_types`,
/// `active`.
struct EndpointForm {
    csrf: String,
    url: String,
    description: String,
    all_events: bool,
    event_types: Vec<String>,
    active: bool,
}

impl EndpointForm {
    fn read(fields: &[(String, String)]) -> EndpointForm {
        let one = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        EndpointForm {
            csrf: one("_csrf"),
            url: one("url"),
            description: one("description"),
            all_events: fields.iter().any(|(k, _)| k == "all_events"),
            event_types: fields
                .iter()
                .filter(|(k, _)| k == "event_types")
                .map(|(_, v)| v.clone())
                .collect(),
            active: fields.iter().any(|(k, _)| k == "active"),
        }
    }

    fn input(&self, with_active: bool) -> EndpointInput {
        EndpointInput {
            url: Some(self.url.clone()),
            description: Some(self.description.clone()),
            event_types: Some(if self.all_events {
                Vec::new()
            } else {
                self.event_types.clone()
            }),
            active: with_active.then_some(self.active),
        }
    }
}

fn form_errors(e: AppError) -> Result<FormErrors, PageError> {
    match e {
        AppError::Validation(errors) => Ok(FormErrors(errors.0)),
        other => Err(PageError::from(other)),
    }
}

pub async fn create(ctx: PageContext, Form(fields): Form<Vec<(String, String)>>) -> PageResult {
    let form = EndpointForm::read(&fields);
    ctx.check_csrf(&form.csrf)?;
    let (actor, tenant, shell) = admin(&ctx, "settings", "Webhooks").await?;
    let mut input = form.input(false);
    input.active = Some(true);
    let created = ctx
        .state
        .app
        .create_webhook(&actor, &tenant, input, &ctx.meta)
        .await;
    let mut page = list_page(&ctx, &actor, &tenant, shell).await?;
    match created {
        Ok((endpoint, secret)) => {
            page.created = Some((endpoint.id.to_string(), secret));
            Ok(render(&page))
        }
        Err(e) => match form_errors(e) {
            Ok(errors) => {
                page.errors = errors;
                page.url = form.url;
                page.description = form.description;
                page.all_events = form.all_events;
                page.events = chooser(&form.event_types);
                Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
            }
            Err(page) => Err(page),
        },
    }
}

pub struct DeliveryRow {
    pub id: String,
    pub event_type: String,
    pub status: String,
    pub attempts: i64,
    pub code: String,
    pub latency: String,
    pub error: Option<String>,
    pub when: String,
}

#[derive(Template)]
#[template(path = "settings_webhook.html")]
struct DetailPage {
    shell: Shell,
    tabs: Vec<Tab>,
    id: String,
    url: String,
    description: String,
    all_events: bool,
    events: Vec<EventChoice>,
    active: bool,
    problem: Option<String>,
    rotation_until: Option<String>,
    errors: FormErrors,
    secret: Option<String>,
    notice: Option<String>,
    deliveries: Vec<DeliveryRow>,
    older: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct DetailQuery {
    done: Option<String>,
    before: Option<String>,
}

async fn detail_page(
    ctx: &PageContext,
    actor: &Actor,
    tenant: &Tenant,
    shell: Shell,
    id: WebhookId,
    before: Option<DeliveryId>,
) -> Result<DetailPage, PageError> {
    let app = &ctx.state.app;
    let endpoint = app
        .webhook(actor, tenant, id, &ctx.meta)
        .await
        .map_err(PageError::from)?;
    const PAGE: i64 = 30;
    let mut deliveries = app
        .webhook_deliveries(actor, tenant, id, before, PAGE + 1, &ctx.meta)
        .await
        .map_err(PageError::from)?;
    let more = deliveries.len() as i64 > PAGE;
    deliveries.truncate(PAGE as usize);
    let older = more
        .then(|| deliveries.last().map(|d| d.id))
        .flatten()
        .map(|last| format!("{}/settings/webhooks/{id}?before={last}", ctx.base));
    let rotation_until = endpoint
        .previous_secret_until
        .filter(|until| *until > chrono::Utc::now())
        .map(when);
    let selected = endpoint.event_types.0.clone();
    let summary = row(endpoint.clone());
    Ok(DetailPage {
        tabs: tabs(&ctx.base, "webhooks"),
        shell,
        id: id.to_string(),
        url: endpoint.url,
        description: endpoint.description,
        all_events: selected.is_empty(),
        events: chooser(&selected),
        active: endpoint.active,
        problem: summary.problem,
        rotation_until,
        errors: FormErrors::default(),
        secret: None,
        notice: None,
        deliveries: deliveries
            .into_iter()
            .map(|d| DeliveryRow {
                id: d.id.to_string(),
                event_type: d.event_type,
                status: d.status,
                attempts: d.attempts,
                code: d
                    .last_status_code
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "—".into()),
                latency: d
                    .last_latency_ms
                    .map(|l| format!("{l} ms"))
                    .unwrap_or_else(|| "—".into()),
                error: d.last_error,
                when: when(d.created_at),
            })
            .collect(),
        older,
    })
}

fn parse_id(raw: &str) -> Result<WebhookId, PageError> {
    raw.parse()
        .map_err(|_| PageError::from(ApiError::not_found()))
}

/// `/settings/webhooks/{id}`: the endpoint and its delivery log.
pub async fn detail(
    ctx: PageContext,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> PageResult {
    let id = parse_id(&id)?;
    let (actor, tenant, shell) = admin(&ctx, "settings", "Webhooks").await?;
    let before = q
        .before
        .as_deref()
        .and_then(|b| b.parse().ok())
        .map(DeliveryId);
    match detail_page(&ctx, &actor, &tenant, shell, id, before).await {
        Ok(mut page) => {
            page.notice = done_notice(q.done.as_deref());
            Ok(render(&page))
        }
        Err(page) => Err(page),
    }
}

pub async fn update(
    ctx: PageContext,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    let form = EndpointForm::read(&fields);
    ctx.check_csrf(&form.csrf)?;
    let id = parse_id(&id)?;
    let (actor, tenant, shell) = admin(&ctx, "settings", "Webhooks").await?;
    match ctx
        .state
        .app
        .update_webhook(&actor, &tenant, id, form.input(true), &ctx.meta)
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "{}/settings/webhooks/{id}?done=saved",
            ctx.base
        ))),
        Err(e) => match form_errors(e) {
            Ok(errors) => match detail_page(&ctx, &actor, &tenant, shell, id, None).await {
                Ok(mut page) => {
                    page.errors = errors;
                    page.url = form.url;
                    page.description = form.description;
                    page.all_events = form.all_events;
                    page.events = chooser(&form.event_types);
                    page.active = form.active;
                    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
                }
                Err(page) => Err(page),
            },
            Err(page) => Err(page),
        },
    }
}

/// Rotate, test, delete, resend: the endpoint's actions.
pub async fn act(
    ctx: PageContext,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<super::CsrfForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let id = parse_id(&id)?;
    let (actor, tenant, shell) = admin(&ctx, "settings", "Webhooks").await?;
    let app = &ctx.state.app;
    let base = format!("{}/settings/webhooks", ctx.base);
    let result = match action.as_str() {
        "rotate" => match app
            .rotate_webhook_secret(&actor, &tenant, id, &ctx.meta)
            .await
        {
            Ok(secret) => {
                return match detail_page(&ctx, &actor, &tenant, shell, id, None).await {
                    Ok(mut page) => {
                        page.secret = Some(secret);
                        Ok(render(&page))
                    }
                    Err(page) => Err(page),
                };
            }
            Err(e) => Err(e),
        },
        "test" => app
            .test_webhook(&actor, &tenant, id, &ctx.meta)
            .await
            .map(|_| format!("{base}/{id}?done=test")),
        "delete" => app
            .delete_webhook(&actor, &tenant, id, &ctx.meta)
            .await
            .map(|()| format!("{base}?done=deleted")),
        _ => return Err(ApiError::not_found().into()),
    };
    match result {
        Ok(to) => Ok(see_other(&to)),
        Err(e) => Err(e.into()),
    }
}

pub async fn resend(
    ctx: PageContext,
    Path((id, delivery)): Path<(String, String)>,
    Form(form): Form<super::CsrfForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let id = parse_id(&id)?;
    let Ok(delivery) = delivery.parse::<DeliveryId>() else {
        return Err(ApiError::not_found().into());
    };
    let (actor, tenant, _) = admin(&ctx, "settings", "Webhooks").await?;
    match ctx
        .state
        .app
        .resend_webhook_delivery(&actor, &tenant, id, delivery, &ctx.meta)
        .await
    {
        Ok(()) => Ok(see_other(&format!(
            "{}/settings/webhooks/{id}?done=resent",
            ctx.base
        ))),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "webhook_delivery.html")]
struct DeliveryPage {
    shell: Shell,
    tabs: Vec<Tab>,
    endpoint_id: String,
    id: String,
    event_type: String,
    status: String,
    body: String,
    attempts: Vec<AttemptRow>,
}

pub struct AttemptRow {
    pub when: String,
    pub code: String,
    pub latency: String,
    pub error: Option<String>,
    pub response: Option<String>,
}

/// `/settings/webhooks/{id}/deliveries/{delivery}`: what was sent and every attempt.
pub async fn delivery(
    ctx: PageContext,
    Path((id, delivery)): Path<(String, String)>,
) -> PageResult {
    let id = parse_id(&id)?;
    let Ok(delivery) = delivery.parse::<DeliveryId>() else {
        return Err(ApiError::not_found().into());
    };
    let (actor, tenant, shell) = admin(&ctx, "settings", "Webhooks").await?;
    let detail = ctx
        .state
        .app
        .webhook_delivery(&actor, &tenant, id, delivery, &ctx.meta)
        .await?;
    let body = serde_json::from_str::<serde_json::Value>(&detail.delivery.body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or(detail.delivery.body.clone());
    Ok(render(&DeliveryPage {
        tabs: tabs(&ctx.base, "webhooks"),
        shell,
        endpoint_id: id.to_string(),
        id: delivery.to_string(),
        event_type: detail.delivery.event_type,
        status: detail.delivery.status,
        body,
        attempts: detail
            .attempts
            .into_iter()
            .map(|a| AttemptRow {
                when: when(a.attempted_at),
                code: a
                    .status_code
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "—".into()),
                latency: format!("{} ms", a.latency_ms),
                error: a.error,
                response: a.response_excerpt.filter(|r| !r.is_empty()),
            })
            .collect(),
    }))
}

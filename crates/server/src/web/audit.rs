//! The audit log viewer (owners and admins).

use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use chrono::{NaiveDate, TimeZone, Utc};
use rapport_app::audit::AuditQuery;
use rapport_domain::{AuditEntryId, UserId};
use serde::Deserialize;

use super::settings::{Tab, tabs};
use super::workspace::{Shell, shell};
use super::{PageContext, PageError, PageResult, render, render_status};
use crate::error::ApiError;

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct ActorChoice {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

pub struct Row {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub details: String,
    pub ip: String,
}

#[derive(Template)]
#[template(path = "settings_audit.html")]
struct AuditPage {
    shell: Shell,
    tabs: Vec<Tab>,
    actors: Vec<ActorChoice>,
    actions: Vec<Choice>,
    from: String,
    to: String,
    entries: Vec<Row>,
    total: String,
    next: Option<String>,
    error: Option<String>,
}

const ACTIONS: &[(&str, &str)] = &[
    ("member.", "Members and invitations"),
    ("permission.denied", "Permission denied"),
    ("organization.", "Organization settings"),
    ("api_key.", "API keys"),
    ("admin.", "Platform administration"),
];

#[derive(Deserialize, Default)]
pub struct Filters {
    actor: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
}

fn describe(changes: Option<&serde_json::Value>) -> String {
    let Some(serde_json::Value::Object(map)) = changes else {
        return String::new();
    };
    map.iter()
        .map(|(field, change)| match change {
            serde_json::Value::Object(c) if c.contains_key("before") || c.contains_key("after") => {
                let show = |v: Option<&serde_json::Value>| match v {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(serde_json::Value::Null) | None => "—".to_owned(),
                    Some(other) => other.to_string(),
                };
                format!(
                    "{field}: {} → {}",
                    show(c.get("before")),
                    show(c.get("after"))
                )
            }
            serde_json::Value::String(s) => format!("{field}: {s}"),
            other => format!("{field}: {other}"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn parse_day(raw: &Option<String>) -> Result<Option<chrono::DateTime<Utc>>, ()> {
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|dt| Some(Utc.from_utc_datetime(&dt)))
            .ok_or(()),
    }
}

pub async fn audit(ctx: PageContext, Query(f): Query<Filters>) -> PageResult {
    let (session, tenant) = ctx.own_tenant().await?;
    if !tenant.role.administers() {
        return Err(PageError::from(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only owners and admins read the audit log",
        )));
    }
    let app = &ctx.state.app;
    let members = app
        .list_members(&session.actor, &tenant, &ctx.meta)
        .await
        .unwrap_or_default();
    let actor_id = f
        .actor
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse::<UserId>().ok());
    let action = f.action.clone().filter(|s| !s.is_empty());
    let mut error = None;
    let from = parse_day(&f.from).unwrap_or_else(|()| {
        error = Some("The start date is not a date.".to_owned());
        None
    });
    // "To" includes the whole day.
    let to = parse_day(&f.to)
        .unwrap_or_else(|()| {
            error = Some("The end date is not a date.".to_owned());
            None
        })
        .map(|d| d + chrono::TimeDelta::days(1));
    let before = f.cursor.as_deref().and_then(|c| {
        let (at, id) = c.split_once('_')?;
        Some((
            chrono::DateTime::parse_from_rfc3339(at)
                .ok()?
                .with_timezone(&Utc),
            id.parse::<AuditEntryId>().ok()?,
        ))
    });
    let query = AuditQuery {
        actor_id,
        action: action.clone(),
        from,
        to,
        before,
        page: 1,
        page_size: 50,
    };
    let page = app
        .audit_log(&session.actor, &tenant, &ctx.meta, query)
        .await?;
    let name_of = |id: Option<uuid::Uuid>, email: Option<&String>| {
        id.and_then(|id| {
            members
                .iter()
                .find(|m| m.user_id.as_uuid() == id)
                .map(|m| m.name.clone())
        })
        .or_else(|| email.cloned())
        .unwrap_or_else(|| "Rapport".to_owned())
    };
    let next = if page.has_more {
        page.items.last().map(|e| {
            let mut params = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in [
                ("actor", &f.actor),
                ("action", &f.action),
                ("from", &f.from),
                ("to", &f.to),
            ] {
                if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                    params.append_pair(k, v);
                }
            }
            params.append_pair(
                "cursor",
                &format!(
                    "{}_{}",
                    e.created_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    e.id
                ),
            );
            format!("{}/settings/audit?{}", ctx.base, params.finish())
        })
    } else {
        None
    };
    let total = if page.total_is_exact {
        format!("{} matching entries", page.total)
    } else {
        format!("More than {} matching entries", page.total)
    };
    let rows = page
        .items
        .iter()
        .map(|e| Row {
            at: e.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            actor: name_of(e.actor_id, e.actor_email.as_ref()),
            action: e.action.clone(),
            details: describe(e.changes.as_ref().map(|j| &j.0)),
            ip: e.ip.clone().unwrap_or_default(),
        })
        .collect();
    let view = AuditPage {
        shell: shell(
            &ctx,
            session,
            &tenant,
            "settings",
            &["Settings", "Audit log"],
        )
        .await,
        tabs: tabs(&ctx.base, "audit"),
        actors: members
            .iter()
            .map(|m| ActorChoice {
                id: m.user_id.to_string(),
                name: m.name.clone(),
                selected: Some(m.user_id) == actor_id,
            })
            .collect(),
        actions: ACTIONS
            .iter()
            .map(|(value, label)| Choice {
                value: (*value).to_owned(),
                label: (*label).to_owned(),
                selected: action.as_deref() == Some(*value),
            })
            .collect(),
        from: f.from.clone().unwrap_or_default(),
        to: f.to.clone().unwrap_or_default(),
        entries: rows,
        total,
        next,
        error: error.clone(),
    };
    if error.is_some() {
        Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &view))
    } else {
        Ok(render(&view))
    }
}

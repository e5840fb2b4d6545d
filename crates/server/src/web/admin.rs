//! Instance administration pages (instance administrators only): organizations, the background
//! job queue and the development outbox.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use rapport_app::admin::OrganizationQuery;
use rapport_app::organizations::NewOrganizationInput;
use rapport_app::{Actor, AppError};
use rapport_domain::OrganizationId;
use serde::Deserialize;

use super::{FormErrors, PageContext, PageError, PageResult, render, render_status, see_other};
use crate::error::ApiError;

pub struct OrgRow {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub status: String,
    pub created: String,
    pub purge: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_organizations.html")]
struct OrganizationsPage {
    current: &'static str,
    email: String,
    csrf: String,
    q: String,
    include_deleted: bool,
    organizations: Vec<OrgRow>,
    next: Option<String>,
    new_name: String,
    new_owner: String,
    errors: FormErrors,
    notice: Option<String>,
    error: Option<String>,
    /// The support access this administrator asked for: where they may go, and until when.
    support: Vec<SupportRow>,
}

struct SupportRow {
    organization: String,
    /// Where to open it, while active.
    href: Option<String>,
    reason: String,
    /// `pending`, `active`, `expired`, `denied` or `revoked`.
    state: &'static str,
    detail: String,
}

fn instance_admin(ctx: &PageContext) -> Result<(Actor, String), PageError> {
    let session = ctx.require_session()?;
    if !session.actor.is_instance_admin {
        return Err(PageError::from(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this part of Rapport is for the instance's administrators",
        )));
    }
    Ok((
        session.actor.clone(),
        crate::csrf::masked(&session.session.csrf_token),
    ))
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    deleted: Option<String>,
    page: Option<u64>,
    done: Option<String>,
}

async fn organizations_page(
    ctx: &PageContext,
    q: &ListQuery,
) -> Result<OrganizationsPage, PageError> {
    let (actor, csrf) = instance_admin(ctx)?;
    let page = q.page.unwrap_or(1).max(1);
    let include_deleted = q.deleted.is_some();
    let mut list = ctx
        .state
        .app
        .admin_list_organizations(
            &actor,
            OrganizationQuery {
                search: q.q.clone(),
                status: None,
                include_deleted,
                after: None,
                page,
                page_size: 50,
            },
        )
        .await
        .map_err(PageError::from)?;
    let has_more = list.len() > 50;
    list.truncate(50);
    let next = has_more.then(|| {
        let mut params = url::form_urlencoded::Serializer::new(String::new());
        if let Some(q) = q.q.as_deref().filter(|s| !s.is_empty()) {
            params.append_pair("q", q);
        }
        if include_deleted {
            params.append_pair("deleted", "1");
        }
        params.append_pair("page", &(page + 1).to_string());
        format!("/admin?{}", params.finish())
    });
    let notice = q.done.as_deref().map(|d| {
        match d {
            "created" => "Organization created.",
            "suspended" => "Organization suspended: its members are refused until it is restored.",
            "restored" => "Organization restored.",
            "deleted" => "Organization deleted. Restore it before its purge date to keep its data.",
            "support" => {
                "Support access requested. Its owners were emailed; it opens once one approves."
            }
            _ => "Done.",
        }
        .to_owned()
    });
    let support = ctx
        .state
        .app
        .my_support_grants(&actor)
        .await
        .map_err(PageError::from)?
        .into_iter()
        .map(|g| {
            let state = match g.status.as_str() {
                "approved" if g.expires_at.is_some_and(|e| e > chrono::Utc::now()) => "active",
                "approved" => "expired",
                "pending" => "pending",
                "denied" => "denied",
                _ => "revoked",
            };
            SupportRow {
                href: (state == "active").then(|| format!("/o/{}/", g.organization_slug)),
                detail: match (state, g.expires_at) {
                    ("active", Some(e)) => format!(
                        "{} until {}",
                        if g.access == "admin" {
                            "Admin"
                        } else {
                            "Read-only"
                        },
                        e.format("%-d %b %Y %H:%M UTC")
                    ),
                    ("pending", _) => format!("{} h asked, waiting for an owner", g.hours),
                    _ => g.created_at.format("Asked %-d %b %Y").to_string(),
                },
                organization: g.organization_name,
                reason: g.reason,
                state,
            }
        })
        .collect();
    Ok(OrganizationsPage {
        support,
        current: "organizations",
        email: actor.email.clone(),
        csrf,
        q: q.q.clone().unwrap_or_default(),
        include_deleted,
        organizations: list
            .into_iter()
            .map(|o| OrgRow {
                id: o.id.to_string(),
                status: if o.deleted_at.is_some() {
                    "deleted".to_owned()
                } else {
                    o.status.as_str().to_owned()
                },
                purge: o.purge_after.map(|p| p.format("%Y-%m-%d").to_string()),
                created: o.created_at.format("%Y-%m-%d").to_string(),
                name: o.name,
                slug: o.slug,
            })
            .collect(),
        next,
        new_name: String::new(),
        new_owner: String::new(),
        errors: FormErrors::default(),
        notice,
        error: None,
    })
}

pub async fn organizations(ctx: PageContext, Query(q): Query<ListQuery>) -> PageResult {
    match organizations_page(&ctx, &q).await {
        Ok(page) => Ok(render(&page)),
        Err(page) => Err(page),
    }
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    name: String,
    owner_email: String,
}

pub async fn create(ctx: PageContext, Form(form): Form<CreateForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (actor, _) = instance_admin(&ctx)?;
    let input = NewOrganizationInput {
        name: form.name.clone(),
        ..Default::default()
    };
    match ctx
        .state
        .app
        .admin_create_organization(&actor, input, &form.owner_email, &ctx.meta)
        .await
    {
        Ok(_) => Ok(see_other("/admin?done=created")),
        Err(AppError::Validation(errors)) => {
            match organizations_page(&ctx, &ListQuery::default()).await {
                Ok(mut page) => {
                    page.new_name = form.name;
                    page.new_owner = form.owner_email;
                    page.errors = FormErrors(errors.0);
                    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
                }
                Err(p) => Err(p),
            }
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct LifecycleForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    confirm: String,
    /// A support request's reason, access and hours.
    #[serde(default)]
    reason: String,
    #[serde(default)]
    access: String,
    #[serde(default)]
    hours: String,
}

pub async fn lifecycle(
    ctx: PageContext,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<LifecycleForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (actor, _) = instance_admin(&ctx)?;
    let Ok(id) = id.parse::<OrganizationId>() else {
        return Err(ApiError::not_found().into());
    };
    let app = &ctx.state.app;
    let result = match action.as_str() {
        "suspend" => app
            .admin_suspend_organization(&actor, id, &ctx.meta)
            .await
            .map(|_| "suspended"),
        "restore" => app
            .admin_restore_organization(&actor, id, &ctx.meta)
            .await
            .map(|_| "restored"),
        "support" => {
            let hours = form.hours.trim().parse::<i64>().unwrap_or(0);
            match app
                .request_support_access(&actor, id, &form.reason, &form.access, hours, &ctx.meta)
                .await
            {
                Err(AppError::Validation(errors)) => {
                    return match organizations_page(&ctx, &ListQuery::default()).await {
                        Ok(mut page) => {
                            page.error = Some(format!(
                                "Support access was not requested: {}.",
                                errors
                                    .0
                                    .iter()
                                    .map(|e| format!("{} {}", e.field, e.message))
                                    .collect::<Vec<_>>()
                                    .join("; ")
                            ));
                            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
                        }
                        Err(p) => Err(p),
                    };
                }
                other => other.map(|_| "support"),
            }
        }
        "delete" => {
            let org = app.admin_organization(&actor, id).await?;
            if form.confirm.trim() != org.slug {
                return match organizations_page(&ctx, &ListQuery::default()).await {
                    Ok(mut page) => {
                        page.error = Some(format!(
                            "{} was not deleted: type its address, {}, exactly to confirm.",
                            org.name, org.slug
                        ));
                        Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
                    }
                    Err(p) => Err(p),
                };
            }
            app.admin_delete_organization(&actor, id, &ctx.meta)
                .await
                .map(|_| "deleted")
        }
        _ => return Err(ApiError::not_found().into()),
    };
    match result {
        Ok(done) => Ok(see_other(&format!("/admin?done={done}"))),
        Err(e) => Err(e.into()),
    }
}

// ---- Outbox ------------------------------------------------------------------------------

pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "admin_outbox.html")]
struct OutboxPage {
    current: &'static str,
    email: String,
    to: String,
    smtp: bool,
    messages: Vec<Message>,
}

#[derive(Deserialize)]
pub struct OutboxQuery {
    to: Option<String>,
}

pub async fn outbox(ctx: PageContext, Query(q): Query<OutboxQuery>) -> PageResult {
    let (actor, _) = instance_admin(&ctx)?;
    let to =
        q.to.clone()
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty());
    let list = ctx
        .state
        .app
        .admin_outbox(&actor, to.as_deref(), 200)
        .await?;
    Ok(render(&OutboxPage {
        current: "outbox",
        email: actor.email.clone(),
        to: q.to.unwrap_or_default(),
        smtp: !ctx.state.app.mailer.uses_outbox(),
        messages: list
            .into_iter()
            .map(|m| Message {
                to: m.to_address,
                subject: m.subject,
                text: m.text_body,
                at: m.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            })
            .collect(),
    }))
}

// ---- Jobs --------------------------------------------------------------------------------

pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub queue: String,
    pub status: &'static str,
    pub status_class: String,
    pub attempts: String,
    pub when: String,
    pub error: Option<String>,
    pub organization: Option<String>,
    pub retryable: bool,
}

pub struct ScheduleRow {
    pub name: String,
    pub cron: String,
    pub next: String,
    pub last: String,
}

#[derive(Template)]
#[template(path = "admin_jobs.html")]
struct JobsPage {
    current: &'static str,
    email: String,
    csrf: String,
    status: String,
    tabs: Vec<(&'static str, &'static str, i64, bool)>,
    jobs: Vec<JobRow>,
    schedules: Vec<ScheduleRow>,
    undispatched: i64,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct JobsQuery {
    status: Option<String>,
    done: Option<String>,
}

fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn status_label(status: &str) -> &'static str {
    match status {
        "queued" => "Queued",
        "running" => "Running",
        "retrying" => "Waiting to retry",
        "succeeded" => "Succeeded",
        _ => "Dead",
    }
}

/// `/admin/jobs`: the background job queue, with the dead letter and a retry button.
pub async fn jobs(ctx: PageContext, Query(q): Query<JobsQuery>) -> PageResult {
    let (actor, csrf) = instance_admin(&ctx)?;
    let status = q.status.filter(|s| !s.is_empty());
    let overview = ctx
        .state
        .app
        .jobs_overview(&actor, status.as_deref(), 200)
        .await?;
    let total: i64 = overview.counts.iter().map(|(_, n)| n).sum();
    let mut tabs = vec![("", "All", total, status.is_none())];
    tabs.extend(
        overview
            .counts
            .iter()
            .map(|(s, n)| (*s, status_label(s), *n, status.as_deref() == Some(*s))),
    );
    Ok(render(&JobsPage {
        current: "jobs",
        email: actor.email.clone(),
        csrf,
        status: status.unwrap_or_default(),
        tabs,
        jobs: overview
            .jobs
            .into_iter()
            .map(|j| JobRow {
                id: j.id.to_string(),
                attempts: format!("{} of {}", j.attempts, j.max_attempts),
                when: match j.status.as_str() {
                    "queued" | "retrying" => format!("runs {}", when(j.run_at)),
                    "running" => format!(
                        "lease until {}",
                        j.locked_until.map(when).unwrap_or_default()
                    ),
                    _ => format!("finished {}", when(j.finished_at.unwrap_or(j.updated_at))),
                },
                retryable: matches!(j.status.as_str(), "dead" | "retrying" | "queued"),
                status: status_label(&j.status),
                status_class: j.status.clone(),
                kind: j.kind,
                queue: j.queue,
                error: j.last_error,
                organization: j.organization_id.map(|o| o.to_string()),
            })
            .collect(),
        schedules: overview
            .schedules
            .into_iter()
            .map(|s| ScheduleRow {
                name: s.name,
                cron: s.cron,
                next: when(s.next_run_at),
                last: s.last_run_at.map(when).unwrap_or_else(|| "never".into()),
            })
            .collect(),
        undispatched: overview.undispatched_events,
        notice: q
            .done
            .map(|_| "The job is queued to run again now.".to_owned()),
    }))
}

#[derive(Deserialize)]
pub struct RetryForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    status: String,
}

pub async fn retry_job(
    ctx: PageContext,
    Path(id): Path<String>,
    Form(form): Form<RetryForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (actor, _) = instance_admin(&ctx)?;
    let Ok(id) = id.parse::<rapport_domain::JobId>() else {
        return Err(ApiError::not_found().into());
    };
    match ctx.state.app.retry_job(&actor, &ctx.meta, id).await {
        Ok(()) => {
            let status = if rapport_app::model::JOB_STATUSES.contains(&form.status.as_str()) {
                form.status.as_str()
            } else {
                ""
            };
            Ok(see_other(&format!(
                "/admin/jobs?status={status}&done=retried"
            )))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "styleguide.html")]
struct StyleguidePage {
    current: &'static str,
    email: String,
    swatches: Vec<(&'static str, &'static str)>,
}

/// `/_styleguide`: every component, for the people who build and check Rapport's interface.
pub async fn styleguide(ctx: PageContext) -> PageResult {
    let (actor, _) = instance_admin(&ctx)?;
    Ok(render(&StyleguidePage {
        current: "styleguide",
        email: actor.email,
        swatches: vec![
            ("Brand", "brand"),
            ("Background", "bg"),
            ("Surface", "surface"),
            ("Surface 2", "surface-2"),
            ("Border", "border"),
            ("Text", "text"),
            ("Muted text", "muted"),
            ("Danger", "danger"),
            ("Success", "success"),
        ],
    }))
}

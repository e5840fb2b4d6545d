//! The command palette's record search, and the "Recently deleted" page.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::response::IntoResponse;
use rapport_domain::{Action, Object, UserId};
use serde::{Deserialize, Serialize};

use super::records::{People, when};
use super::workspace::{Shell, shell};
use super::{PageContext, PageResult, render, see_other};

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

#[derive(Serialize)]
struct Hit {
    kind: String,
    title: String,
    detail: String,
    href: String,
}

/// Records matching the palette's text, as JSON for the palette's script.
pub async fn search(ctx: PageContext, Query(q): Query<SearchQuery>) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let hits = ctx
        .state
        .app
        .search(&session.actor, &tenant, &q.q, 5)
        .await?;
    let base = &ctx.base;
    let out: Vec<Hit> = hits
        .into_iter()
        .map(|h| {
            let builtin = match h.kind.as_str() {
                "company" => Some(("Company", "companies")),
                "contact" => Some(("Contact", "contacts")),
                "lead" => Some(("Lead", "leads")),
                "deal" => Some(("Deal", "deals")),
                _ => None,
            };
            match builtin {
                Some((kind, path)) => Hit {
                    kind: kind.into(),
                    href: format!("{base}/{path}/{}", h.id),
                    title: h.title,
                    detail: h.detail.unwrap_or_default().replace('_', " "),
                },
                // A custom object's record: its object names it.
                None => Hit {
                    kind: h.detail.unwrap_or_default(),
                    href: format!("{base}/objects/{}/{}", h.kind, h.id),
                    title: h.title,
                    detail: String::new(),
                },
            }
        })
        .collect();
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        axum::Json(out),
    )
        .into_response())
}

pub struct DeletedRow {
    pub kind: String,
    pub record_type: String,
    pub id: String,
    pub name: String,
    pub owner: String,
    pub deleted: String,
    pub can_restore: bool,
}

#[derive(Template)]
#[template(path = "trash.html")]
struct TrashPage {
    shell: Shell,
    rows: Vec<DeletedRow>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct TrashQuery {
    restored: Option<String>,
}

pub async fn trash(ctx: PageContext, Query(q): Query<TrashQuery>) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let app = &ctx.state.app;
    let actor = &session.actor;
    let items = app.recently_deleted(actor, &tenant, &ctx.meta).await?;
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let rows = items
        .into_iter()
        .map(|d| {
            let owner = UserId(d.owner_id);
            // A deleted object is the schema's; a record is its kind's (by its own row).
            let can_restore = match d.record_type.as_str() {
                "object" => tenant.may(
                    Action::Delete,
                    Object::Schema,
                    tenant.relation(actor, owner),
                ),
                // A file is its record's to change.
                "file" => tenant.may_kind(
                    Action::Edit.into(),
                    d.about.as_deref().unwrap_or_default(),
                    tenant.relation(actor, owner),
                ),
                kind => tenant.may_kind(Action::Delete.into(), kind, tenant.relation(actor, owner)),
            };
            let kind = d.kind;
            DeletedRow {
                kind,
                can_restore,
                record_type: d.record_type,
                id: d.id.to_string(),
                name: d.name,
                owner: people.name(owner),
                deleted: when(d.deleted_at),
            }
        })
        .collect();
    Ok(render(&TrashPage {
        shell: shell(&ctx, session, &tenant, "trash", &["Recently deleted"]).await,
        rows,
        notice: q.restored.map(|_| "Restored."),
    }))
}

pub async fn restore(
    ctx: PageContext,
    Path((kind, id)): Path<(String, String)>,
    Form(form): Form<super::CsrfForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    let Ok(uuid) = id.parse::<uuid::Uuid>() else {
        return Err(crate::error::ApiError::not_found().into());
    };
    match ctx
        .state
        .app
        .restore(&session.actor, &tenant, &kind, uuid, &ctx.meta)
        .await
    {
        Ok(()) => Ok(see_other(&format!("{}/trash?restored=1", ctx.base))),
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct MentionQuery {
    #[serde(default)]
    q: String,
}

/// `GET /members/choices?q=`: the members whose name or email holds `q`, as JSON `[{id, title}]`
/// (the first 50, names starting with `q` first): what an owner's or a member field's combobox
/// offers as people type.
pub async fn member_choices(ctx: PageContext, Query(q): Query<MentionQuery>) -> PageResult {
    use axum::response::IntoResponse;
    let (session, tenant) = ctx.tenant().await?;
    let people =
        super::records::People::load(&ctx.state.app, &session.actor, &tenant, &ctx.meta).await;
    let out: Vec<serde_json::Value> = matching(&people, &q.q)
        .into_iter()
        .take(50)
        .map(|m| serde_json::json!({"id": m.user_id, "title": m.name}))
        .collect();
    Ok(axum::Json(out).into_response())
}

/// The active members whose name or email holds `text`, names starting with it first, then by
/// name (a deactivated member is neither mentioned nor picked).
fn matching<'a>(
    people: &'a super::records::People,
    text: &str,
) -> Vec<&'a rapport_app::model::Member> {
    let wanted = text.trim().to_lowercase();
    let mut found: Vec<&rapport_app::model::Member> = people
        .0
        .iter()
        .filter(|m| {
            m.is_active()
                && (m.name.to_lowercase().contains(&wanted)
                    || m.email.to_lowercase().contains(&wanted))
        })
        .collect();
    found.sort_by_key(|m| {
        (
            !m.name.to_lowercase().starts_with(&wanted),
            m.name.to_lowercase(),
        )
    });
    found
}

/// `GET /mentions?q=`: the organization's members whose name or email holds `q`, as JSON
/// `[{name, email}]` (the first 8 by name), for the `@` suggestions of a comment box.
pub async fn mentions(ctx: PageContext, Query(q): Query<MentionQuery>) -> PageResult {
    use axum::response::IntoResponse;
    let (session, tenant) = ctx.tenant().await?;
    let people =
        super::records::People::load(&ctx.state.app, &session.actor, &tenant, &ctx.meta).await;
    let out: Vec<serde_json::Value> = matching(&people, &q.q)
        .into_iter()
        .take(8)
        .map(|m| serde_json::json!({"name": m.name, "email": m.email}))
        .collect();
    Ok(axum::Json(out).into_response())
}

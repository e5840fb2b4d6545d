//! Settings → API keys: the organization's keys for integrations, what each can do now, new keys
//! (the secret shown once) and revoking.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use chrono::{TimeDelta, Utc};
use rapport_app::{Actor, AppError, Tenant};
use rapport_domain::ApiKeyId;
use serde::Deserialize;

use super::records::when;
use super::settings::{Tab, admin, tabs};
use super::workspace::Shell;
use super::{FormErrors, PageContext, PageError, PageResult, render, render_status, see_other};
use crate::error::ApiError;

pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub role: &'static str,
    /// Set when the key does less than its role says: its creator's role caps it, or the creator
    /// left and it no longer works.
    pub limited: Option<String>,
    pub creator: String,
    pub last_used: String,
    pub expires: String,
}

fn row(listed: rapport_app::api_keys::ListedKey) -> KeyRow {
    let k = listed.key;
    let creator = listed
        .creator_name
        .unwrap_or_else(|| "someone who left".into());
    let limited = match listed.effective_role {
        None => Some("Stopped: its creator left the organization".into()),
        Some(acting) if acting != k.role => Some(format!(
            "Acts as {acting}: {creator} is {acting} now, and a key never does more than its creator"
        )),
        Some(_) => None,
    };
    KeyRow {
        id: k.id.to_string(),
        name: k.name,
        prefix: k.prefix,
        role: k.role.as_str(),
        limited,
        creator,
        last_used: k
            .last_used_at
            .map(when)
            .unwrap_or_else(|| "never used".into()),
        expires: match k.expires_at {
            Some(at) => format!("expires {}", at.format("%Y-%m-%d")),
            None => "never expires".into(),
        },
    }
}

#[derive(Template)]
#[template(path = "settings_api_keys.html")]
struct KeysPage {
    shell: Shell,
    tabs: Vec<Tab>,
    keys: Vec<KeyRow>,
    /// The roles this person may give a key.
    roles: Vec<super::settings::RoleOption>,
    name: String,
    role: String,
    expires: String,
    errors: FormErrors,
    /// The new key's name and secret, shown once after creating it.
    created: Option<(String, String)>,
    notice: Option<String>,
}

async fn keys_page(
    ctx: &PageContext,
    actor: &Actor,
    tenant: &Tenant,
    shell: Shell,
) -> Result<KeysPage, PageError> {
    let keys = ctx
        .state
        .app
        .list_api_keys(actor, tenant, &ctx.meta)
        .await
        .map_err(PageError::from)?;
    Ok(KeysPage {
        tabs: tabs(&ctx.base, "api-keys"),
        shell,
        keys: keys.into_iter().map(row).collect(),
        roles: super::settings::grantable_roles(ctx, actor, tenant).await?,
        name: String::new(),
        role: "viewer".into(),
        expires: "never".into(),
        errors: FormErrors::default(),
        created: None,
        notice: None,
    })
}

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

/// `/settings/api-keys`.
pub async fn list(ctx: PageContext, Query(q): Query<Done>) -> PageResult {
    let (actor, tenant, shell) = admin(&ctx, "settings", "API keys").await?;
    match keys_page(&ctx, &actor, &tenant, shell).await {
        Ok(mut page) => {
            page.notice = (q.done.as_deref() == Some("revoked"))
                .then(|| "Key revoked: it stopped working at once.".to_owned());
            Ok(render(&page))
        }
        Err(page) => Err(page),
    }
}

#[derive(Deserialize)]
pub struct NewKeyForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    /// `never`, or a number of days.
    #[serde(default)]
    expires: String,
}

pub async fn create(ctx: PageContext, Form(form): Form<NewKeyForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (actor, tenant, shell) = admin(&ctx, "settings", "API keys").await?;
    let mut errors = FormErrors::default();
    let role = Some(form.role.trim()).filter(|r| !r.is_empty());
    if role.is_none() {
        errors.0.push(rapport_domain::FieldError {
            field: "role".into(),
            message: "choose one of the roles listed".into(),
        });
    }
    let expires_at = match form.expires.as_str() {
        "never" | "" => Some(None),
        days => days
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=3650).contains(d))
            .map(|d| Some(Utc::now() + TimeDelta::days(d))),
    };
    if expires_at.is_none() {
        errors.0.push(rapport_domain::FieldError {
            field: "expires".into(),
            message: "choose when the key stops working".into(),
        });
    }
    let created = match (role, expires_at) {
        (Some(role), Some(expires_at)) => {
            ctx.state
                .app
                .create_api_key(&actor, &tenant, &form.name, role, expires_at, &ctx.meta)
                .await
        }
        _ => Err(AppError::Validation(rapport_domain::ValidationErrors(
            errors.0.clone(),
        ))),
    };
    let mut page = keys_page(&ctx, &actor, &tenant, shell).await?;
    match created {
        Ok(created) => {
            page.created = Some((created.key.name, created.secret));
            Ok(render(&page))
        }
        Err(AppError::Validation(found)) => {
            page.errors = FormErrors(found.0);
            page.name = form.name;
            page.role = form.role;
            page.expires = form.expires;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(AppError::Forbidden) => Err(PageError::from(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "your role cannot give a key that role; only owners create owner keys",
        ))),
        Err(other) => Err(other.into()),
    }
}

pub async fn revoke(
    ctx: PageContext,
    Path(id): Path<String>,
    Form(form): Form<super::CsrfForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (actor, tenant, _) = admin(&ctx, "settings", "API keys").await?;
    let Ok(id) = id.parse::<ApiKeyId>() else {
        return Err(ApiError::not_found().into());
    };
    match ctx
        .state
        .app
        .revoke_api_key(&actor, &tenant, id, &ctx.meta)
        .await
    {
        Ok(()) => Ok(see_other(&format!(
            "{}/settings/api-keys?done=revoked",
            ctx.base
        ))),
        Err(e) => Err(e.into()),
    }
}

//! The AI settings page (owners and admins).

use askama::Template;
use axum::Form;
use axum::extract::Query;
use axum::http::StatusCode;
use rapport_app::AppError;
use rapport_app::ai_settings::{AiSettings, AiSettingsInput};
use serde::Deserialize;

use super::settings::{Tab, tabs};
use super::workspace::{Shell, shell};
use super::{FormErrors, PageContext, PageError, PageResult, render, render_status, see_other};
use crate::error::ApiError;

#[derive(Template)]
#[template(path = "settings_ai.html")]
struct AiPage {
    shell: Shell,
    tabs: Vec<Tab>,
    base_url: String,
    default_model: String,
    budget: String,
    max_tokens: String,
    last4: Option<String>,
    key_hint: String,
    errors: FormErrors,
    notice: Option<String>,
}

fn page(ctx: &PageContext, shell: Shell, s: &AiSettings) -> AiPage {
    AiPage {
        shell,
        tabs: tabs(&ctx.base, "ai"),
        base_url: s.base_url.clone().unwrap_or_default(),
        default_model: s.default_model.clone().unwrap_or_default(),
        budget: s
            .monthly_token_budget
            .map(|n| n.to_string())
            .unwrap_or_default(),
        max_tokens: s
            .max_tokens_per_request
            .map(|n| n.to_string())
            .unwrap_or_default(),
        key_hint: match &s.api_key_last4 {
            Some(last4) => format!(
                "A key ending in {last4} is stored, encrypted. Leave empty to keep it; it is never shown again."
            ),
            None => {
                "Stored encrypted and never shown again, only its last four characters.".to_owned()
            }
        },
        last4: s.api_key_last4.clone(),
        errors: FormErrors::default(),
        notice: None,
    }
}

async fn context(
    ctx: &PageContext,
) -> Result<(rapport_app::Actor, rapport_app::Tenant, Shell), PageError> {
    let (session, tenant) = ctx.own_tenant().await?;
    if !tenant.role.administers() {
        return Err(PageError::from(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only owners and admins change the AI settings",
        )));
    }
    let shell = shell(ctx, session, &tenant, "settings", &["Settings", "AI"]).await;
    Ok((session.actor.clone(), tenant, shell))
}

#[derive(Deserialize)]
pub struct Saved {
    saved: Option<String>,
}

pub async fn ai(ctx: PageContext, Query(q): Query<Saved>) -> PageResult {
    let (actor, tenant, shell) = context(&ctx).await?;
    match ctx.state.app.ai_settings(&actor, &tenant, &ctx.meta).await {
        Ok(settings) => {
            let mut p = page(&ctx, shell, &settings);
            p.notice = q.saved.map(|_| "AI settings saved.".to_owned());
            Ok(render(&p))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct AiForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    base_url: String,
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    remove_api_key: Option<String>,
    #[serde(default)]
    default_model: String,
    #[serde(default)]
    monthly_token_budget: String,
    #[serde(default)]
    max_tokens_per_request: String,
}

pub async fn save(ctx: PageContext, Form(form): Form<AiForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (actor, tenant, shell) = context(&ctx).await?;
    let api_key = if form.remove_api_key.is_some() {
        Some(String::new())
    } else if form.api_key.trim().is_empty() {
        None
    } else {
        Some(form.api_key.clone())
    };
    let input = AiSettingsInput {
        base_url: form.base_url.clone(),
        default_model: form.default_model.clone(),
        monthly_token_budget: form.monthly_token_budget.clone(),
        max_tokens_per_request: form.max_tokens_per_request.clone(),
        api_key,
    };
    match ctx
        .state
        .app
        .update_ai_settings(&actor, &tenant, input, &ctx.meta)
        .await
    {
        Ok(_) => Ok(see_other(&format!("{}/settings/ai?saved=1", ctx.base))),
        Err(AppError::Validation(errors)) => {
            let current = ctx
                .state
                .app
                .ai_settings(&actor, &tenant, &ctx.meta)
                .await
                .unwrap_or_default();
            let mut p = page(&ctx, shell, &current);
            p.base_url = form.base_url;
            p.default_model = form.default_model;
            p.budget = form.monthly_token_budget;
            p.max_tokens = form.max_tokens_per_request;
            p.errors = FormErrors(errors.0);
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p))
        }
        Err(other) => Err(other.into()),
    }
}

//! Settings → Pipelines (owners and admins): the organization's pipelines and their stages.

use askama::Template;
use axum::extract::{Path, Query, RawForm};
use axum::http::StatusCode;
use rapport_app::AppError;
use rapport_app::deals::{DEFAULT_CARD_FIELDS, PipelineChange, StageInput};
use rapport_domain::PipelineId;
use serde::Deserialize;

use super::settings::{Tab, tabs};
use super::workspace::{Shell, shell};
use super::{
    PageContext, PageError, PageResult, form_pairs, form_value, render, render_status, see_other,
    sentence,
};
use crate::error::ApiError;

pub struct StageRow {
    pub index: usize,
    pub key: String,
    pub name: String,
    pub probability: String,
    pub rotting_days: String,
    /// The fields a deal may be asked for to enter it, each marked when required.
    pub required: Vec<FieldChoice>,
    /// The required fields' labels, for the menu's summary.
    pub required_summary: String,
}

/// A deal field offered by a checkbox.
pub struct FieldChoice {
    pub key: String,
    pub label: String,
    pub checked: bool,
}

pub struct PipelineView {
    pub id: String,
    pub name: String,
    pub is_default: bool,
    pub stages: Vec<StageRow>,
    /// The fields the board's cards may show, each marked when shown.
    pub card_fields: Vec<FieldChoice>,
}

/// Each choice, marked when it is among `keys`; shown ones first in their order.
fn choices_of(choices: &[(String, String)], keys: &[String]) -> Vec<FieldChoice> {
    let mut out: Vec<FieldChoice> = keys
        .iter()
        .filter_map(|k| choices.iter().find(|(key, _)| key == k))
        .map(|(key, label)| FieldChoice {
            key: key.clone(),
            label: label.clone(),
            checked: true,
        })
        .collect();
    for (key, label) in choices {
        if !keys.contains(key) {
            out.push(FieldChoice {
                key: key.clone(),
                label: label.clone(),
                checked: false,
            });
        }
    }
    out
}

#[derive(Template)]
#[template(path = "settings_pipelines.html")]
struct PipelinesPage {
    shell: Shell,
    tabs: Vec<Tab>,
    pipelines: Vec<PipelineView>,
    notice: Option<String>,
    error: Option<(String, String)>,
}

#[derive(Deserialize)]
pub struct Notice {
    saved: Option<String>,
}

async fn page(
    ctx: &PageContext,
    notice: Option<String>,
    error: Option<(String, String)>,
) -> Result<PipelinesPage, PageError> {
    let (session, tenant) = ctx.own_tenant().await?;
    if !tenant.role.administers() {
        return Err(PageError::from(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only owners and admins change the organization's pipelines",
        )));
    }
    let app = &ctx.state.app;
    let pipelines = app
        .pipelines(&session.actor, &tenant, &ctx.meta)
        .await
        .map_err(PageError::from)?;
    let fields = app
        .pipeline_field_choices(&session.actor, &tenant, &ctx.meta)
        .await
        .map_err(PageError::from)?;
    let default_cards: Vec<String> = DEFAULT_CARD_FIELDS.map(str::to_owned).to_vec();
    Ok(PipelinesPage {
        shell: shell(
            ctx,
            session,
            &tenant,
            "settings",
            &["Settings", "Pipelines"],
        )
        .await,
        tabs: tabs(&ctx.base, "pipelines"),
        pipelines: pipelines
            .into_iter()
            .map(|p| PipelineView {
                id: p.id.to_string(),
                name: p.name,
                is_default: p.is_default,
                card_fields: choices_of(
                    &fields.on_cards,
                    if p.card_fields.0.is_empty() {
                        &default_cards
                    } else {
                        &p.card_fields.0
                    },
                ),
                stages: p
                    .stages
                    .into_iter()
                    .enumerate()
                    .map(|(index, s)| {
                        let required = choices_of(&fields.requirable, &s.required_fields.0);
                        let labels: Vec<&str> = required
                            .iter()
                            .filter(|c| c.checked)
                            .map(|c| c.label.as_str())
                            .collect();
                        StageRow {
                            index,
                            key: s.key.into(),
                            name: s.name,
                            probability: s.probability.to_string(),
                            rotting_days: s.rotting_days.map(|d| d.to_string()).unwrap_or_default(),
                            required_summary: if labels.is_empty() {
                                "Nothing".to_owned()
                            } else {
                                labels.join(", ")
                            },
                            required,
                        }
                    })
                    .collect(),
            })
            .collect(),
        notice,
        error,
    })
}

pub async fn list(ctx: PageContext, Query(q): Query<Notice>) -> PageResult {
    let notice = q.saved.map(|what| match what.as_str() {
        "created" => "Pipeline created.".to_owned(),
        "deleted" => "Pipeline deleted.".to_owned(),
        "default" => "Default pipeline changed.".to_owned(),
        _ => "Stages saved.".to_owned(),
    });
    match page(&ctx, notice, None).await {
        Ok(p) => Ok(render(&p)),
        Err(r) => Err(r),
    }
}

/// The form's row for a new stage.
const NEW_ROW: usize = 39;

/// The stage rows of a posted form: `key_N`, `name_N`, `probability_N`, `rotting_N`, `order_N`,
/// `remove_N`, in the order the `order_N` numbers give (rows with an empty name are left out).
fn stages_of(pairs: &[(String, String)]) -> Result<Vec<StageInput>, String> {
    let get = |k: String| {
        pairs
            .iter()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut rows = Vec::new();
    for i in 0..40 {
        let name = get(format!("name_{i}"));
        if name.is_empty() || !get(format!("remove_{i}")).is_empty() {
            continue;
        }
        let number = |field: &str| -> Result<Option<i64>, String> {
            let raw = get(format!("{field}_{i}"));
            if raw.is_empty() {
                return Ok(None);
            }
            raw.trim_end_matches('%')
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| {
                    let label = match field {
                        "rotting" => "rotting days",
                        "probability" => "win probability",
                        other => other,
                    };
                    format!("the {label} of {name} must be a whole number")
                })
        };
        let order = number("order")?.unwrap_or(i as i64);
        let probability = number("probability")?;
        let rotting_days = number("rotting")?;
        let key = get(format!("key_{i}"));
        // An existing stage's checkboxes are its whole list of requirements.
        let required_fields = (i != NEW_ROW).then(|| {
            let field = format!("required_{i}");
            pairs
                .iter()
                .filter(|(k, v)| *k == field && !v.is_empty())
                .map(|(_, v)| v.clone())
                .collect()
        });
        rows.push((
            order,
            i,
            StageInput {
                key: (!key.is_empty()).then_some(key),
                name,
                probability,
                rotting_days,
                required_fields,
            },
        ));
    }
    // The row added last (index 39) goes before an existing stage with the same number: "add at
    // position 3" makes it the third stage.
    rows.sort_by_key(|(order, i, _)| (*order, *i != NEW_ROW, *i));
    Ok(rows.into_iter().map(|(_, _, s)| s).collect())
}

async fn refused(ctx: &PageContext, pipeline: &str, e: AppError) -> PageResult {
    let message = match e {
        AppError::Validation(errors) => errors
            .0
            .first()
            .map(|f| {
                if f.field == "stages" {
                    return sentence(&f.message);
                }
                let field = match f.field.strip_prefix("stages[") {
                    Some(rest) => {
                        let (n, what) = rest.split_once("].").unwrap_or((rest, ""));
                        let n = n.parse::<usize>().map(|n| n + 1).unwrap_or(0);
                        format!("stage {n}'s {}", what.replace('_', " "))
                    }
                    None => f.field.replace('_', " "),
                };
                sentence(&format!("{field} {}", f.message))
            })
            .unwrap_or_default(),
        AppError::Conflict { message, .. } => sentence(&message),
        other => return Err(other.into()),
    };
    match page(ctx, None, Some((pipeline.to_owned(), message))).await {
        Ok(p) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p)),
        Err(r) => Err(r),
    }
}

/// Saves a pipeline's name and stages (`id` = `new` creates one).
pub async fn save(ctx: PageContext, Path(id): Path<String>, RawForm(raw): RawForm) -> PageResult {
    let pairs = form_pairs(&raw);
    ctx.check_csrf(&form_value(&pairs, "_csrf"))?;
    let (session, tenant) = ctx.tenant().await?;
    let stages = match stages_of(&pairs) {
        Ok(s) => s,
        Err(message) => {
            return refused(&ctx, &id, AppError::invalid("stages", message.trim_start())).await;
        }
    };
    let app = &ctx.state.app;
    let name = form_value(&pairs, "name");
    let card_fields: Vec<String> = pairs
        .iter()
        .filter(|(k, v)| k == "card" && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect();
    let result = if id == "new" {
        app.create_pipeline(
            &session.actor,
            &tenant,
            &name,
            stages,
            Vec::new(),
            &ctx.meta,
        )
        .await
        .map(|_| "created")
    } else {
        let Ok(pipeline_id) = id.parse::<PipelineId>() else {
            return Err(ApiError::not_found().into());
        };
        app.update_pipeline(
            &session.actor,
            &tenant,
            pipeline_id,
            PipelineChange {
                name: Some(name),
                stages: Some(stages),
                // The form always lists them: none checked shows the default fields.
                card_fields: Some(card_fields),
                make_default: false,
            },
            &ctx.meta,
        )
        .await
        .map(|_| "stages")
    };
    match result {
        Ok(what) => Ok(see_other(&format!(
            "{}/settings/pipelines?saved={what}",
            ctx.base
        ))),
        Err(e) => refused(&ctx, &id, e).await,
    }
}

pub async fn make_default(
    ctx: PageContext,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<super::CsrfForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    let Ok(pipeline_id) = id.parse::<PipelineId>() else {
        return Err(ApiError::not_found().into());
    };
    match ctx
        .state
        .app
        .update_pipeline(
            &session.actor,
            &tenant,
            pipeline_id,
            PipelineChange {
                make_default: true,
                ..PipelineChange::default()
            },
            &ctx.meta,
        )
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "{}/settings/pipelines?saved=default",
            ctx.base
        ))),
        Err(e) => refused(&ctx, &id, e).await,
    }
}

pub async fn delete(
    ctx: PageContext,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<super::CsrfForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    let Ok(pipeline_id) = id.parse::<PipelineId>() else {
        return Err(ApiError::not_found().into());
    };
    match ctx
        .state
        .app
        .delete_pipeline(&session.actor, &tenant, pipeline_id, &ctx.meta)
        .await
    {
        Ok(()) => Ok(see_other(&format!(
            "{}/settings/pipelines?saved=deleted",
            ctx.base
        ))),
        Err(e) => refused(&ctx, &id, e).await,
    }
}

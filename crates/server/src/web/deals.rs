//! Deal pages: the board (a column per stage, drag and drop), the table of the same deals, a
//! deal's page with its timeline and tasks, and the forms that change them.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, RawForm, RawQuery};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use chrono::{DurationRound as _, NaiveDate, Utc};
use rapport_app::changes::RecordChange;
use rapport_app::custom_values::Kind;
use rapport_app::deals::DealQuery;
use rapport_app::model::Pipeline;
use rapport_app::model::SortValue;
use rapport_app::model::{BoardFilter, DealFilter, DealSort};
use rapport_app::model::{Company, Contact, Deal, Task};
use rapport_app::model::{TaskFilter, TaskSort};
use rapport_app::tasks::TaskQuery;
use rapport_app::timeline::RecordRef;
use rapport_app::{AppError, Tenant};
use rapport_domain::deal::{DealStatus, StageKey, compact_amount, parse_amount_text};
use rapport_domain::schema::ObjectDef;
use rapport_domain::{
    Action, CompanyId, ContactId, DealId, Object, Ownership, PipelineId, TaskId, UserId,
};
use serde::Deserialize;
use serde_json::json;

use super::deal_cards::CardFields;
use super::lists::{FilterSelect, ListState, RangeFilter};
use super::record_page::FormField;
use super::record_page::form_without;
use super::records::{Choice, People, day, mentions, money};
use super::workspace::{Shell, shell};
use super::{
    FormErrors, PageContext, PageError, PageResult, render, render_status, see_other, sentence,
};
use crate::api::v1::kinds::ApiKind;
use crate::error::ApiError;

/// A deal as a board card or table row.
pub struct DealCard {
    pub id: String,
    pub title: String,
    pub amount: String,
    pub amount_short: String,
    pub weighted: String,
    pub stage: String,
    pub stage_name: String,
    pub status: String,
    pub status_label: &'static str,
    pub owner: String,
    pub owner_initials: String,
    pub close_date: String,
    pub probability: i64,
    /// Days in the current stage beyond the stage's rotting limit (open deals only).
    pub rotting_days: Option<i64>,
    pub can_move: bool,
    /// The fields the pipeline's cards show besides amount and owner: (label, value).
    pub facts: Vec<(String, String)>,
    pub show_amount: bool,
    pub show_owner: bool,
}

pub struct Column {
    pub key: String,
    pub name: String,
    /// Every deal of the column, loaded or not.
    pub count: i64,
    pub total: String,
    /// The first page of cards; [`Column::more`] fetches the next.
    pub cards: Vec<DealCard>,
    pub more: Option<String>,
}

/// Cards per board column page: a column opens with this many and loads as many more each
/// time its end scrolls into view.
const COLUMN_PAGE: i64 = 50;

/// What a pipeline's board shows: lost deals and deals won more than 30 days ago stay off it
/// unless asked for (the board is for work in progress). The 30 days start at a minute's start,
/// so the board asks the same for a minute and its figures are kept until the next write.
fn board_filter(pipeline: &Pipeline, owner: Option<UserId>, show_closed: bool) -> BoardFilter {
    let since = Utc::now() - chrono::Duration::days(30);
    BoardFilter {
        pipeline_id: pipeline.id,
        owner_id: owner,
        won_since: (!show_closed).then(|| {
            since
                .duration_trunc(chrono::Duration::minutes(1))
                .unwrap_or(since)
        }),
        custom: Vec::new(),
        owners: None,
    }
}

/// The filters on deals' custom values an address carries (`custom.<key>`, and
/// `custom.<key>.min` / `.max` for ranges), read as the other lists read them.
struct CustomFilters {
    object: Option<ObjectDef>,
    state: ListState,
    /// In the engine's grammar: (key, operator, value).
    filters: Vec<(String, Option<String>, String)>,
}

impl CustomFilters {
    async fn read(
        ctx: &PageContext,
        actor: &rapport_app::Actor,
        tenant: &Tenant,
        raw: Option<&str>,
    ) -> CustomFilters {
        let object = super::objects::custom_part(ctx, actor, tenant, "deal").await;
        let state = ListState::parse(raw, "-created");
        let filters = super::kinds::custom_filters(object.as_ref(), &state);
        CustomFilters {
            object,
            state,
            filters,
        }
    }

    /// `&custom.…=…` for each filter, to carry on the page's links.
    fn query(&self) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.state.filters {
            if name.starts_with(super::kinds::CUSTOM) {
                s.append_pair(name, value);
            }
        }
        let query = s.finish();
        if query.is_empty() {
            query
        } else {
            format!("&{query}")
        }
    }

    /// Drops the filters (one could not be read).
    fn clear(&mut self) {
        self.filters.clear();
        self.state
            .filters
            .retain(|(name, _)| !name.starts_with(super::kinds::CUSTOM));
    }

    /// The filter bar's menus and ranges for the custom fields.
    fn bar(&self, people: &People) -> (Vec<FilterSelect>, Vec<RangeFilter>) {
        let Some(object) = &self.object else {
            return (Vec::new(), Vec::new());
        };
        let prefix = super::kinds::CUSTOM;
        (
            super::objects::choice_filters(object, &self.state, people, prefix),
            super::objects::range_filters(object, &self.state, prefix),
        )
    }
}

/// The address of a column's next cards after `last`, when there are more.
fn more_link(
    base: &str,
    filter: &BoardFilter,
    custom: &CustomFilters,
    show_closed: bool,
    stage: &str,
    last: Option<&Deal>,
    more: bool,
) -> Option<String> {
    let last = last.filter(|_| more)?;
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    s.append_pair("pipeline", &filter.pipeline_id.to_string());
    if let Some(o) = filter.owner_id {
        s.append_pair("owner", &o.to_string());
    }
    if show_closed {
        s.append_pair("closed", "all");
    }
    s.append_pair("stage", stage);
    s.append_pair(
        "after",
        &crate::api::v1::types::encode_sort_cursor(
            &SortValue::Time(last.stage_changed_at),
            last.id.as_uuid(),
        ),
    );
    Some(format!(
        "{base}/deals/board/more?{}{}",
        s.finish(),
        custom.query()
    ))
}

/// A deal as a card (`fields`: what its board shows; tables and pages show amount and owner).
fn card(
    deal: &Deal,
    pipeline: &Pipeline,
    people: &People,
    tenant: &Tenant,
    me: UserId,
    fields: Option<(&CardFields, &str)>,
) -> DealCard {
    let stage = pipeline.stage(deal.stage.as_str());
    let status = deal.status;
    let in_stage = (Utc::now() - deal.stage_changed_at).num_days();
    let rotting_days = match stage.and_then(|s| s.rotting_days) {
        Some(limit) if !status.is_closed() && in_stage > limit => Some(in_stage),
        _ => None,
    };
    let own = if deal.owner_id == me {
        Ownership::Own
    } else if tenant.access.teammates.contains(&deal.owner_id) {
        Ownership::Team
    } else {
        Ownership::Others
    };
    DealCard {
        id: deal.id.to_string(),
        title: deal.title.clone(),
        amount: deal.amount.to_string(),
        amount_short: format!(
            "{} {}",
            compact_amount(deal.amount.minor),
            deal.amount.currency
        ),
        weighted: deal.amount.weighted(deal.close_probability).to_string(),
        stage: deal.stage.to_string(),
        stage_name: stage
            .map(|s| s.name.clone())
            .unwrap_or_else(|| deal.stage.to_string()),
        status: status.as_str().to_owned(),
        status_label: status.label(),
        owner: people.name(deal.owner_id),
        owner_initials: people.initials(deal.owner_id),
        close_date: deal.expected_close_date.map(day).unwrap_or_default(),
        probability: deal.close_probability,
        rotting_days,
        can_move: tenant.may(Action::Edit, Object::Deal, own)
            && tenant.may_kind(
                rapport_domain::access::RecordAction::ChangeStage,
                "deal",
                own,
            ),
        facts: fields.map_or_else(Vec::new, |(f, base)| f.facts(deal, base)),
        show_amount: fields.is_none_or(|(f, _)| f.shows("amount")),
        show_owner: fields.is_none_or(|(f, _)| f.shows("owner")),
    }
}

#[derive(Template)]
#[template(path = "deals.html")]
struct BoardPage {
    shell: Shell,
    view: &'static str,
    show_closed: bool,
    pipelines: Vec<Choice>,
    pipeline_id: String,
    owners: Vec<Choice>,
    owner: String,
    columns: Vec<Column>,
    rows: Vec<DealCard>,
    summary: String,
    can_create: bool,
    can_export: bool,
    notice: Option<String>,
    next: Option<String>,
    first: Option<String>,
    sort_links: Vec<(&'static str, &'static str, String, &'static str)>,
    /// Menus and ranges for the deals' custom fields, and the address part they make.
    filters: Vec<FilterSelect>,
    ranges: Vec<RangeFilter>,
    custom_query: String,
    /// Narrowed to an owner or to custom values: empty columns say so.
    filtered: bool,
}

#[derive(Deserialize, Default, Clone)]
pub struct BoardQuery {
    pipeline: Option<String>,
    /// `all`: show lost deals and deals won long ago too.
    closed: Option<String>,
    owner: Option<String>,
    view: Option<String>,
    sort: Option<String>,
    after: Option<String>,
    refused: Option<String>,
}

/// The message for a refused change, by the rule's code (never text from the address).
fn refusal(code: &str) -> Option<String> {
    Some(
        match code {
            "stage_rollback_forbidden" => {
                "Only owners and admins can move a deal back to an earlier stage."
            }
            "deal_amount_required_for_won" => "Give the deal an amount before marking it won.",
            "forbidden" => "You can only change deals you own.",
            _ => return None,
        }
        .to_owned(),
    )
}

pub async fn board(
    ctx: PageContext,
    Query(q): Query<BoardQuery>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let app = &ctx.state.app;
    let actor = &session.actor;
    let pipelines = app.pipelines(actor, &tenant, &ctx.meta).await?;
    let chosen = q
        .pipeline
        .as_deref()
        .and_then(|p| p.parse::<PipelineId>().ok());
    let Some(pipeline) = pipelines
        .iter()
        .find(|p| Some(p.id) == chosen)
        .or_else(|| pipelines.iter().find(|p| p.is_default))
        .or(pipelines.first())
        .cloned()
    else {
        return Err(ApiError::not_found().into());
    };
    let owner = q.owner.as_deref().and_then(|o| o.parse::<UserId>().ok());
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let mut custom = CustomFilters::read(&ctx, actor, &tenant, raw.as_deref()).await;
    let mut notice = q.refused.as_deref().and_then(refusal);
    let show_closed = q.closed.as_deref() == Some("all");
    let view = if q.view.as_deref() == Some("table") {
        "table"
    } else {
        "board"
    };
    let base = &ctx.base;
    let mut columns = Vec::new();
    let mut rows = Vec::new();
    let mut next = None;
    let sort_key = q.sort.clone().unwrap_or_else(|| "-created".into());
    let link = |extra: &[(&str, &str)], custom: &CustomFilters| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.append_pair("pipeline", &pipeline.id.to_string());
        if let Some(o) = owner {
            s.append_pair("owner", &o.to_string());
        }
        for (k, v) in extra {
            s.append_pair(k, v);
        }
        format!("{base}/deals?{}{}", s.finish(), custom.query())
    };
    let summary;
    if view == "board" {
        let filter = board_filter(&pipeline, owner, show_closed);
        let stages: Vec<StageKey> = pipeline.stages.iter().map(|s| s.key.clone()).collect();
        // A filter on custom values that cannot be read (a range that is not a number): the
        // board without them, and why.
        let board = loop {
            match app
                .deal_board(
                    actor,
                    &tenant,
                    &filter,
                    &custom.filters,
                    &stages,
                    COLUMN_PAGE,
                    &ctx.meta,
                )
                .await
            {
                Err(e) if super::objects::refusal(&e).is_some() && !custom.filters.is_empty() => {
                    notice = super::objects::refusal(&e);
                    custom.clear();
                }
                other => break other?,
            }
        };
        let currency = &tenant.organization.currency;
        let (open_count, open_value) = board
            .totals
            .iter()
            .filter(|t| !t.status.is_closed())
            .fold((0, 0), |(n, v), t| (n + t.n, v + t.amount));
        summary = format!("{open_count} open · {}", money(open_value, currency));
        let fields = CardFields::load(&ctx, actor, &tenant, &pipeline, &people, &board.cards).await;
        for stage in &pipeline.stages {
            let (count, total) = board
                .totals
                .iter()
                .filter(|t| t.stage == stage.key)
                .fold((0, 0), |(n, v), t| (n + t.n, v + t.amount));
            let in_stage: Vec<&Deal> = board
                .cards
                .iter()
                .filter(|d| d.stage == stage.key)
                .collect();
            let more = more_link(
                base,
                &filter,
                &custom,
                show_closed,
                stage.key.as_str(),
                in_stage.last().copied(),
                count > in_stage.len() as i64,
            );
            let cards: Vec<DealCard> = in_stage
                .into_iter()
                .map(|d| {
                    card(
                        d,
                        &pipeline,
                        &people,
                        &tenant,
                        actor.user_id,
                        Some((&fields, base)),
                    )
                })
                .collect();
            columns.push(Column {
                key: stage.key.to_string(),
                name: stage.name.clone(),
                count,
                total: format!("{} {currency}", compact_amount(total)),
                cards,
                more,
            });
        }
    } else {
        let (sort, descending) = match sort_key.as_str() {
            "title" => (DealSort::Title, false),
            "-title" => (DealSort::Title, true),
            "amount" => (DealSort::Amount, false),
            "-amount" => (DealSort::Amount, true),
            "close" => (DealSort::ExpectedCloseDate, false),
            "-close" => (DealSort::ExpectedCloseDate, true),
            "created" => (DealSort::CreatedAt, false),
            _ => (DealSort::CreatedAt, true),
        };
        let after = q
            .after
            .as_deref()
            .and_then(|c| {
                crate::api::v1::types::decode_sort_cursor(c, <Deal as ApiKind>::sort_kind(sort))
                    .ok()
            })
            .map(|(v, id)| (v, DealId(id)));
        let query = DealQuery {
            with_total: true,
            filter: DealFilter {
                pipeline_id: Some(pipeline.id),
                owner_id: owner,
                ..DealFilter::default()
            },
            custom: custom.filters.clone(),
            custom_sort: None,
            sort,
            descending,
            after,
            page: 1,
            page_size: 50,
        };
        let page = match app
            .list::<Deal>(actor, &tenant, query.clone(), &ctx.meta)
            .await
        {
            Ok(p) => p,
            Err(e) if super::objects::refusal(&e).is_some() && !query.custom.is_empty() => {
                notice = super::objects::refusal(&e);
                custom.clear();
                let query = DealQuery {
                    custom: Vec::new(),
                    ..query
                };
                app.list::<Deal>(actor, &tenant, query, &ctx.meta).await?
            }
            Err(e) => return Err(e.into()),
        };
        summary = match (page.total, page.total_is_exact) {
            (1, true) => "1 deal".into(),
            (n, true) => format!("{n} deals"),
            (n, false) => format!("More than {n} deals"),
        };
        next = page.next.as_ref().map(|(v, id)| {
            link(
                &[
                    ("view", "table"),
                    ("sort", &sort_key),
                    (
                        "after",
                        &crate::api::v1::types::encode_sort_cursor(v, id.as_uuid()),
                    ),
                ],
                &custom,
            )
        });
        rows = page
            .items
            .iter()
            .map(|d| card(d, &pipeline, &people, &tenant, actor.user_id, None))
            .collect();
    }
    let sort_links = [
        ("title", "Deal"),
        ("amount", "Amount"),
        ("close", "Close date"),
    ]
    .into_iter()
    .map(|(key, label)| {
        let aria = if sort_key == key {
            "ascending"
        } else if sort_key == format!("-{key}") {
            "descending"
        } else {
            "none"
        };
        let target = if sort_key == key {
            format!("-{key}")
        } else {
            key.to_owned()
        };
        (
            key,
            label,
            link(&[("view", "table"), ("sort", &target)], &custom),
            aria,
        )
    })
    .collect();
    let (filters, ranges) = custom.bar(&people);
    let page = BoardPage {
        view,
        show_closed,
        pipelines: pipelines
            .iter()
            .map(|p| Choice {
                value: p.id.to_string(),
                label: p.name.clone(),
                selected: p.id == pipeline.id,
            })
            .collect(),
        pipeline_id: pipeline.id.to_string(),
        owners: people.options(owner),
        owner: owner.map(|o| o.to_string()).unwrap_or_default(),
        columns,
        rows,
        summary,
        can_create: tenant.may(Action::Create, Object::Deal, Ownership::NotApplicable),
        can_export: tenant.may(Action::Export, Object::Deal, Ownership::NotApplicable),
        notice,
        first: q
            .after
            .is_some()
            .then(|| link(&[("view", "table"), ("sort", &sort_key)], &custom)),
        next,
        sort_links,
        custom_query: custom.query(),
        filtered: owner.is_some() || !custom.filters.is_empty(),
        filters,
        ranges,
        shell: shell(&ctx, session, &tenant, "deals", &["Deals"]).await,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "deal_cards.html")]
struct MoreCards {
    shell: CardShell,
    pipeline_id: String,
    columns: Vec<Column>,
    cards: Vec<DealCard>,
    more: Option<String>,
}

/// What the card markup needs of the page around it.
struct CardShell {
    base: String,
    csrf: String,
}

#[derive(Deserialize)]
pub struct MoreQuery {
    pipeline: String,
    owner: Option<String>,
    closed: Option<String>,
    stage: String,
    after: String,
}

/// The next cards of one board column (an HTML fragment the board appends as the column's end
/// scrolls into view), with the link to the cards after them.
pub async fn board_more(
    ctx: PageContext,
    Query(q): Query<MoreQuery>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let app = &ctx.state.app;
    let actor = &session.actor;
    let Ok(pipeline_id) = q.pipeline.parse::<PipelineId>() else {
        return Err(ApiError::not_found().into());
    };
    let after = match crate::api::v1::types::decode_sort_cursor(
        &q.after,
        crate::api::v1::types::SortKind::Time,
    ) {
        Ok((SortValue::Time(t), id)) => (t, DealId(id)),
        Ok(_) => return Err(ApiError::not_found().into()),
        Err(e) => return Err(PageError::from(e)),
    };
    let pipelines = app.pipelines(actor, &tenant, &ctx.meta).await?;
    let Some(pipeline) = pipelines.into_iter().find(|p| p.id == pipeline_id) else {
        return Err(ApiError::not_found().into());
    };
    if pipeline.stage(&q.stage).is_none() {
        return Err(ApiError::not_found().into());
    }
    let owner = q.owner.as_deref().and_then(|o| o.parse::<UserId>().ok());
    let show_closed = q.closed.as_deref() == Some("all");
    let filter = board_filter(&pipeline, owner, show_closed);
    let custom = CustomFilters::read(&ctx, actor, &tenant, raw.as_deref()).await;
    let (deals, more) = app
        .deal_board_more(
            actor,
            &tenant,
            &filter,
            &custom.filters,
            &q.stage,
            after,
            COLUMN_PAGE,
            &ctx.meta,
        )
        .await?;
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let fields = CardFields::load(&ctx, actor, &tenant, &pipeline, &people, &deals).await;
    let fragment = MoreCards {
        more: more_link(
            &ctx.base,
            &filter,
            &custom,
            show_closed,
            &q.stage,
            deals.last(),
            more,
        ),
        cards: deals
            .iter()
            .map(|d| {
                card(
                    d,
                    &pipeline,
                    &people,
                    &tenant,
                    actor.user_id,
                    Some((&fields, &ctx.base)),
                )
            })
            .collect(),
        columns: pipeline
            .stages
            .iter()
            .map(|s| Column {
                key: s.key.to_string(),
                name: s.name.clone(),
                count: 0,
                total: String::new(),
                cards: Vec::new(),
                more: None,
            })
            .collect(),
        pipeline_id: pipeline.id.to_string(),
        shell: CardShell {
            base: ctx.base.clone(),
            csrf: crate::csrf::masked(&session.session.csrf_token),
        },
    };
    Ok(render(&fragment))
}

/// The fields a move can ask for: what a stage can require, and a won deal's amount.
const NEEDABLE: [&str; 4] = ["amount", "expected_close_date", "contact_id", "company_id"];

fn needable(name: &str) -> bool {
    NEEDABLE.contains(&name) || name.starts_with("custom.")
}

/// The fields a refused move needs: those a stage requires, or the amount a won deal must have.
fn needs_of(e: &AppError) -> Vec<String> {
    match e {
        AppError::Validation(errors) => {
            let mut needs: Vec<String> = Vec::new();
            for e in errors.0.iter().filter(|e| needable(&e.field)) {
                if !needs.contains(&e.field) {
                    needs.push(e.field.clone());
                }
            }
            needs
        }
        AppError::Conflict { code, .. } if *code == "deal_amount_required_for_won" => {
            vec!["amount".into()]
        }
        _ => Vec::new(),
    }
}

/// The small form a move that needs more asks with: in a dialog on the board, or as a page.
#[derive(Template)]
#[template(path = "deal_move_form.html")]
struct MoveDialog {
    heading: String,
    intro: String,
    action: String,
    csrf: String,
    stage: String,
    status: String,
    back: String,
    fields: Vec<FormField>,
    errors: FormErrors,
    cancel: String,
}

#[derive(Template)]
#[template(path = "deal_move.html")]
struct MovePage {
    shell: Shell,
    heading: String,
    /// The move's form, drawn as the board's dialog draws it.
    form: String,
}

/// Moves a deal: to another stage (`stage`), or to won or lost (`status`). From the board (drag
/// and drop or a card's "Move" menu, answered in JSON), from the deal's page, or from the move's
/// own form: a move the deal lacks fields for (a stage's required fields, a won deal's amount)
/// asks for them, and that form sends them along, named in `_fields`.
pub async fn move_stage(
    ctx: PageContext,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawForm(raw): RawForm,
) -> PageResult {
    let (form, session, tenant) = posted(&ctx, &raw, false).await?;
    let Ok(deal_id) = id.parse::<DealId>() else {
        return Err(ApiError::not_found().into());
    };
    let pairs = super::form_pairs(&raw);
    let stage = super::form_value(&pairs, "stage");
    let status = form.status.clone();
    let back = super::form_value(&pairs, "back");
    let back = super::safe_next(if back.is_empty() { "/deals" } else { &back });
    let given: Vec<String> = pairs
        .iter()
        .filter(|(k, v)| k == "_fields" && needable(v))
        .map(|(_, v)| v.clone())
        .collect();
    let wants_json = headers
        .get("x-requested-with")
        .is_some_and(|v| v == "fetch");
    let app = &ctx.state.app;
    let current = match app
        .get::<Deal>(&session.actor, &tenant, deal_id, &ctx.meta)
        .await
    {
        Ok(d) => d,
        Err(AppError::NotFound) if wants_json => {
            let message = "This deal is gone: someone deleted it.";
            return Ok((
                StatusCode::NOT_FOUND,
                axum::Json(json!({"ok": false, "code": "not_found", "message": message})),
            )
                .into_response());
        }
        Err(e) => return Err(e.into()),
    };
    // The fields the form sent, and the move itself.
    let mut parse_errors = FormErrors::default();
    let mut change = form.change(&mut parse_errors, Some(&current));
    change.values.retain(|key, _| given.contains(key));
    parse_errors.0.retain(|e| given.contains(&e.field));
    if let Some(custom) = change.custom.as_mut() {
        super::record_page::keep_named(custom, "custom", &given);
    }
    if !stage.is_empty() {
        change = change.set("stage", &stage);
    }
    if !status.is_empty() {
        change = change.set("status", &status);
    }
    let result = if parse_errors.0.is_empty() {
        app.update::<Deal>(&session.actor, &tenant, deal_id, change, &ctx.meta)
            .await
            .map_err(super::field_errors)
    } else {
        Err(AppError::Validation(rapport_domain::ValidationErrors(
            parse_errors.0.clone(),
        )))
    };
    let e = match result {
        Ok(_) if wants_json => return Ok(axum::Json(json!({"ok": true})).into_response()),
        Ok(_) => return Ok(see_other(&back)),
        Err(e) => e,
    };
    // The form asks again for what it asked before (with what was typed), and for anything
    // else the move turned out to need.
    let mut needs = needs_of(&e);
    if !needs.is_empty() {
        for name in given.iter().rev() {
            if !needs.contains(name) {
                needs.insert(0, name.clone());
            }
        }
        let dialog = move_dialog(
            &ctx, session, &tenant, &current, &form, &stage, &back, &needs, &given, &e,
        )
        .await?;
        let message = dialog.intro.clone();
        return Ok(if wants_json {
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                axum::Json(json!({
                    "ok": false,
                    "code": "needs_fields",
                    "message": message,
                    "needs": needs,
                    "dialog": dialog.render().unwrap_or_default(),
                })),
            )
                .into_response()
        } else {
            render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &MovePage {
                    shell: shell(&ctx, session, &tenant, "deals", &["Deals", &current.title]).await,
                    heading: dialog.heading.clone(),
                    form: dialog.render().unwrap_or_default(),
                },
            )
        });
    }
    let code = match &e {
        AppError::Conflict { code, .. } => *code,
        AppError::Forbidden => "forbidden",
        _ => "",
    };
    if wants_json {
        let message = refusal(code).unwrap_or_else(|| sentence(&e.to_string()));
        let status = match e {
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Forbidden | AppError::FieldForbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Ok((
            status,
            axum::Json(json!({"ok": false, "code": code, "message": message})),
        )
            .into_response())
    } else if refusal(code).is_some() {
        let sep = if back.contains('?') { '&' } else { '?' };
        Ok(see_other(&format!("{back}{sep}refused={code}")))
    } else {
        Err(e.into())
    }
}

/// The form asking for what a move needs: the deal's values, or those just sent, with the
/// reasons they were refused once the form has been sent.
#[allow(clippy::too_many_arguments)]
async fn move_dialog(
    ctx: &PageContext,
    session: &rapport_app::accounts::CurrentSession,
    tenant: &Tenant,
    deal: &Deal,
    sent: &DealFormValues,
    stage: &str,
    back: &str,
    needs: &[String],
    given: &[String],
    e: &AppError,
) -> Result<MoveDialog, PageError> {
    let actor = &session.actor;
    let pipeline = ctx
        .state
        .app
        .pipeline(actor, tenant, Some(deal.pipeline_id), &ctx.meta)
        .await
        .map_err(PageError::from)?;
    let mut values = DealFormValues::of(deal);
    if deal.amount.minor == 0 {
        values.amount.clear();
    }
    for name in given {
        match name.as_str() {
            "amount" => values.amount = sent.amount.clone(),
            "expected_close_date" => values.expected_close_date = sent.expected_close_date.clone(),
            "contact_id" => values.contact_id = sent.contact_id.clone(),
            "company_id" => values.company_id = sent.company_id.clone(),
            custom => {
                if let (Some(key), Some(sent)) = (custom.strip_prefix("custom."), &sent.custom) {
                    let mine = values.custom.get_or_insert_with(Default::default);
                    match sent.get(key) {
                        Some(v) => mine.insert(key.to_owned(), v.clone()),
                        None => mine.remove(key),
                    };
                }
            }
        }
    }
    let choices = deal_choices(ctx, actor, tenant, &values).await?;
    let mut fields: Vec<FormField> =
        deal_properties(&ctx.base, &values, choices, [None, None], String::new())
            .into_iter()
            .filter(|f| needs.contains(&f.name))
            .map(|mut f| {
                f.required = true;
                f
            })
            .collect();
    mark_read_only(
        &mut fields,
        tenant,
        form_stage(Some(deal), &values).as_deref(),
    );
    let target = pipeline
        .stage(stage)
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let (heading, intro) = match sent.status.as_str() {
        "won" => (
            format!("Mark {} won", deal.title),
            "A won deal needs an amount.".to_owned(),
        ),
        _ => (
            format!("Move {} to {target}", deal.title),
            format!("{target} needs these before a deal enters it."),
        ),
    };
    Ok(MoveDialog {
        heading,
        intro,
        action: format!("{}/deals/{}/move", ctx.base, deal.id),
        csrf: crate::csrf::masked(&session.session.csrf_token),
        stage: stage.to_owned(),
        status: sent.status.clone(),
        back: back.to_owned(),
        fields,
        // The first time, the intro says what is needed; after that, each field says why.
        errors: match e {
            _ if given.is_empty() => FormErrors::default(),
            AppError::Validation(errors) => form_errors(errors.clone()),
            AppError::Conflict { .. } => {
                FormErrors(vec![field("amount", "must be above 0 for a won deal")])
            }
            _ => FormErrors::default(),
        },
        cancel: back.to_owned(),
    })
}

// ---- The deal form ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "deal_form.html")]
struct FormPage {
    shell: Shell,
    heading: String,
    action: String,
    submit: &'static str,
    f: DealFormValues,
    stages: Vec<StageGroup>,
    owners: Vec<Choice>,
    contacts: Vec<Choice>,
    companies: Vec<Choice>,
    statuses: Vec<Choice>,
    /// The organization's custom fields of deals.
    fields: Vec<FormField>,
    /// Whether the member may add a contact, a company from the comboboxes.
    may_add: (bool, bool),
    errors: FormErrors,
    /// A business rule's refusal, above the form.
    form_error: Option<String>,
    cancel: String,
    /// The deal's own fields the member's role may not change (at the deal's stage).
    locked: Vec<&'static str>,
}

impl FormPage {
    fn is_locked(&self, name: &str) -> bool {
        self.locked.contains(&name)
    }

    /// The chosen option's label.
    fn chosen(&self, choices: &[Choice]) -> String {
        choices
            .iter()
            .find(|c| c.selected && !c.value.is_empty())
            .map(|c| c.label.clone())
            .unwrap_or_default()
    }

    /// The chosen stage, with its pipeline's name.
    fn chosen_stage(&self) -> String {
        self.stages
            .iter()
            .flat_map(|g| g.options.iter().map(move |o| (g, o)))
            .find(|(_, o)| o.selected)
            .map(|(g, o)| format!("{} · {}", g.pipeline, o.label))
            .unwrap_or_default()
    }
}

/// A deal form's own fields, by the names the form gives them.
const DEAL_FORM_FIELDS: [&str; 10] = [
    "title",
    "amount",
    "currency",
    "place",
    "status",
    "owner_id",
    "contact_id",
    "company_id",
    "close_probability",
    "expected_close_date",
];

/// The field rule's key of a deal form's field (`place` is the stage).
fn rule_key(name: &str) -> &str {
    match name {
        "place" => "stage",
        other => other.strip_prefix("custom.").unwrap_or(other),
    }
}

/// The stage of a deal as field rules name it, from its form's `pipeline_id:stage`.
fn rule_stage(values: &DealFormValues) -> Option<String> {
    values
        .place
        .split_once(':')
        .map(|(p, s)| format!("{p}/{s}"))
}

/// Marks what the member's role may not change of a deal at `stage` (see [`rule_stage`]).
fn mark_read_only(fields: &mut [FormField], tenant: &Tenant, stage: Option<&str>) {
    for f in fields {
        f.read_only = tenant.field_access("deal", rule_key(&f.name), stage)
            == rapport_domain::access::FieldAccess::ReadOnly;
    }
}

/// The stage field rules judge a deal's form by: the deal's before any change, a new deal's
/// chosen one.
fn form_stage(current: Option<&Deal>, values: &DealFormValues) -> Option<String> {
    match current {
        Some(d) => Some(format!("{}/{}", d.pipeline_id, d.stage)),
        None => rule_stage(values),
    }
}

pub struct StageGroup {
    pub pipeline: String,
    pub options: Vec<Choice>,
}

#[derive(Deserialize, Default, Clone)]
pub struct DealFormValues {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    /// Custom field values, read from the `custom.<key>` fields apart.
    #[serde(skip)]
    custom: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    currency: String,
    /// `pipeline_id:stage_key`
    #[serde(default)]
    place: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    owner_id: String,
    #[serde(default)]
    contact_id: String,
    #[serde(default)]
    company_id: String,
    #[serde(default)]
    close_probability: String,
    #[serde(default)]
    expected_close_date: String,
    /// The fields the form showed read-only (named in `_readonly`), which it does not change.
    #[serde(skip)]
    read_only: Vec<String>,
}

impl DealFormValues {
    fn of(d: &Deal) -> Self {
        DealFormValues {
            csrf: String::new(),
            custom: d.custom.0.as_object().cloned(),
            title: d.title.clone(),
            amount: format!("{:.2}", d.amount.major()),
            currency: d.amount.currency.to_string(),
            place: format!("{}:{}", d.pipeline_id, d.stage),
            status: d.status.as_str().to_owned(),
            owner_id: d.owner_id.to_string(),
            contact_id: d.contact_id.map(|c| c.to_string()).unwrap_or_default(),
            company_id: d.company_id.map(|c| c.to_string()).unwrap_or_default(),
            close_probability: d.close_probability.to_string(),
            expected_close_date: d
                .expected_close_date
                .map(|d| d.to_string())
                .unwrap_or_default(),
            read_only: Vec::new(),
        }
    }

    /// The change this form asks for; fields that don't parse become field errors.
    fn change(&self, errors: &mut FormErrors, current: Option<&Deal>) -> RecordChange {
        let mut change = RecordChange {
            custom: self.custom.clone(),
            ..RecordChange::default()
        }
        .set("title", &self.title);
        match parse_amount_text(&self.amount) {
            Ok(minor) => change = change.set("amount", minor as f64 / 100.0),
            Err(m) => errors.0.push(field("amount", m)),
        }
        if !self.currency.trim().is_empty() {
            change = change.set("currency", &self.currency);
        }
        if let Some((p, s)) = self.place.split_once(':') {
            match p.parse::<PipelineId>() {
                Ok(pid) => change = change.set("pipeline_id", pid).set("stage", s),
                Err(_) => errors
                    .0
                    .push(field("place", "must be a stage of a pipeline")),
            }
        }
        if !self.status.is_empty() {
            change = change.set("status", &self.status);
        }
        if let Ok(o) = self.owner_id.parse::<UserId>() {
            change = change.set("owner_id", o);
        }
        change = change
            .set("contact_id", self.contact_id.parse::<ContactId>().ok())
            .set("company_id", self.company_id.parse::<CompanyId>().ok());
        let p = self.close_probability.trim();
        if !p.is_empty() {
            match p.trim_end_matches('%').trim().parse::<i64>() {
                Ok(v) if current.is_none_or(|c| c.close_probability != v) => {
                    change = change.set("close_probability", v)
                }
                Ok(_) => {}
                Err(_) => errors.0.push(field(
                    "close_probability",
                    "must be a whole number from 0 to 100",
                )),
            }
        }
        let d = self.expected_close_date.trim();
        let date = if d.is_empty() {
            None
        } else {
            match d.parse::<NaiveDate>() {
                Ok(v) => Some(v),
                Err(_) => {
                    errors
                        .0
                        .push(field("expected_close_date", "must be a date"));
                    None
                }
            }
        };
        let mut change = change.set("expected_close_date", date);
        // What the form showed read-only stays as it is.
        for name in &self.read_only {
            let keys: &[&str] = match name.as_str() {
                "place" => &["pipeline_id", "stage"],
                other => &[other],
            };
            for key in keys {
                change.values.remove(*key);
            }
            errors.0.retain(|e| &e.field != name);
        }
        change
    }
}

fn field(name: &str, message: &str) -> rapport_domain::FieldError {
    rapport_domain::FieldError {
        field: name.to_owned(),
        message: message.to_owned(),
    }
}

/// Field names of the service mapped to this form's.
fn form_errors(errors: rapport_domain::ValidationErrors) -> FormErrors {
    FormErrors(
        errors
            .0
            .into_iter()
            .map(|mut e| {
                if e.field == "stage" || e.field == "pipeline_id" {
                    e.field = "place".into();
                }
                e
            })
            .collect(),
    )
}

/// What a deal's fields offer to choose from, as its form and its page's properties show them
/// (`values` says what is chosen).
struct DealChoices {
    stages: Vec<StageGroup>,
    contacts: Vec<Choice>,
    companies: Vec<Choice>,
    statuses: Vec<Choice>,
    owners: Vec<Choice>,
    /// The organization's custom fields of deals.
    fields: Vec<FormField>,
    /// Whether the member may add a contact, a company from the deal's comboboxes.
    may_add: (bool, bool),
}

async fn deal_choices(
    ctx: &PageContext,
    actor: &rapport_app::Actor,
    tenant: &Tenant,
    values: &DealFormValues,
) -> Result<DealChoices, PageError> {
    let app = &ctx.state.app;
    let pipelines = app
        .pipelines(actor, tenant, &ctx.meta)
        .await
        .map_err(PageError::from)?;
    let people = People::load(app, actor, tenant, &ctx.meta).await;
    let stages = pipelines
        .iter()
        .map(|p| StageGroup {
            pipeline: p.name.clone(),
            options: p
                .stages
                .iter()
                .map(|s| {
                    let value = format!("{}:{}", p.id, s.key);
                    Choice {
                        selected: value == values.place,
                        value,
                        label: s.name.clone(),
                    }
                })
                .collect(),
        })
        .collect();
    // The relations list their first records (what a page without script chooses from) and
    // the one chosen; script makes them comboboxes that ask the server as people type.
    let choices = |target: &'static str, chosen: String| async move {
        let mut found = app
            .relation_choices(actor, tenant, target, "", 200, &ctx.meta)
            .await
            .unwrap_or_default();
        if let Ok(id) = chosen.parse::<uuid::Uuid>()
            && !found.iter().any(|(f, _)| *f == id)
        {
            // The current choice keeps its name, even out of the member's reach, so that
            // saving the form keeps it.
            let titles = match target {
                "contact" => app.titles::<Contact>(tenant, &[id]).await,
                _ => app.titles::<Company>(tenant, &[id]).await,
            };
            found.extend(titles.unwrap_or_default());
        }
        found
            .into_iter()
            .map(|(id, label)| Choice {
                selected: id.to_string() == chosen,
                value: id.to_string(),
                label,
            })
            .collect::<Vec<Choice>>()
    };
    let contacts = choices("contact", values.contact_id.clone()).await;
    let companies = choices("company", values.company_id.clone()).await;
    let statuses = DealStatus::ALL
        .iter()
        .map(|s| Choice {
            value: s.as_str().to_owned(),
            label: s.label().to_owned(),
            selected: s.as_str() == values.status,
        })
        .collect();
    let owner = values
        .owner_id
        .parse::<UserId>()
        .ok()
        .or(Some(actor.user_id));
    let fields = super::objects::builtin_custom_fields(
        ctx,
        actor,
        tenant,
        "deal",
        &serde_json::Value::Object(values.custom.clone().unwrap_or_default()),
    )
    .await;
    Ok(DealChoices {
        stages,
        contacts,
        companies,
        statuses,
        owners: people.options(owner),
        fields,
        may_add: (
            super::objects::may_create(tenant, "contact"),
            super::objects::may_create(tenant, "company"),
        ),
    })
}

/// A deal's properties on its page, each changed in place: its own fields, then its custom ones.
fn deal_properties(
    base: &str,
    values: &DealFormValues,
    c: DealChoices,
    links: [Option<String>; 2],
    amount: String,
) -> Vec<FormField> {
    let [contact_href, company_href] = links;
    let several = c.stages.len() > 1;
    let stages = c
        .stages
        .into_iter()
        .flat_map(|g| {
            g.options.into_iter().map(move |o| Choice {
                label: match several {
                    true => format!("{} · {}", g.pipeline, o.label),
                    false => o.label,
                },
                ..o
            })
        })
        .collect();
    let none = |selected: bool| Choice {
        value: String::new(),
        label: "—".into(),
        selected,
    };
    let with_none = |mut list: Vec<Choice>, chosen: &str| {
        list.insert(0, none(chosen.is_empty()));
        list
    };
    let mut title = FormField::new("title", "Title", "text", &values.title);
    title.required = true;
    let mut contact = FormField::select(
        "contact_id",
        "Contact",
        with_none(c.contacts, &values.contact_id),
    );
    contact.finder = Some(format!("{base}/objects/contact/choices"));
    contact.creates = c.may_add.0.then(|| format!("{base}/objects/contact/quick"));
    contact.href = contact_href;
    let mut company = FormField::select(
        "company_id",
        "Company",
        with_none(c.companies, &values.company_id),
    );
    company.finder = Some(format!("{base}/objects/company/choices"));
    company.creates = c.may_add.1.then(|| format!("{base}/objects/company/quick"));
    company.href = company_href;
    let mut probability = FormField::new(
        "close_probability",
        "Chance of winning (%)",
        "number",
        &values.close_probability,
    );
    probability.min = Some("0".into());
    probability.max = Some("100".into());
    let mut fields = vec![
        title,
        FormField {
            display: Some(amount),
            ..FormField::new("amount", "Amount", "text", &values.amount)
        },
        FormField::new("currency", "Currency", "text", &values.currency)
            .hint("ISO code such as EUR."),
        FormField::select("place", "Stage", stages),
        FormField::select("status", "Status", c.statuses),
        super::record_page::member_picker(base, "owner_id", "Owner", c.owners),
        contact,
        company,
        probability,
        FormField::new(
            "expected_close_date",
            "Expected close",
            "date",
            &values.expected_close_date,
        ),
    ];
    fields.extend(c.fields);
    fields
}

async fn form_page(
    ctx: &PageContext,
    session: &rapport_app::accounts::CurrentSession,
    tenant: &Tenant,
    current: Option<&Deal>,
    values: DealFormValues,
) -> Result<FormPage, PageError> {
    let actor = &session.actor;
    let DealChoices {
        stages,
        contacts,
        companies,
        statuses,
        owners,
        mut fields,
        may_add,
    } = deal_choices(ctx, actor, tenant, &values).await?;
    let stage = form_stage(current, &values);
    mark_read_only(&mut fields, tenant, stage.as_deref());
    let locked = DEAL_FORM_FIELDS
        .into_iter()
        .filter(|name| {
            tenant.field_access("deal", rule_key(name), stage.as_deref())
                == rapport_domain::access::FieldAccess::ReadOnly
        })
        .collect();
    let (heading, action, submit, crumb) = match current {
        Some(d) => (
            format!("Edit {}", d.title),
            format!("{}/deals/{}/edit", ctx.base, d.id),
            "Save changes",
            d.title.clone(),
        ),
        None => (
            "New deal".to_owned(),
            format!("{}/deals/new", ctx.base),
            "Create deal",
            "New".to_owned(),
        ),
    };
    Ok(FormPage {
        shell: shell(ctx, session, tenant, "deals", &["Deals", &crumb]).await,
        heading,
        cancel: match current {
            Some(d) => format!("{}/deals/{}", ctx.base, d.id),
            None => format!("{}/deals", ctx.base),
        },
        action,
        submit,
        f: values,
        stages,
        owners,
        contacts,
        companies,
        statuses,
        fields,
        may_add,
        errors: FormErrors::default(),
        form_error: None,
        locked,
    })
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    place: Option<String>,
    contact: Option<String>,
    company: Option<String>,
}

pub async fn new_form(ctx: PageContext, Query(q): Query<NewQuery>) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    if !tenant.may(Action::Create, Object::Deal, Ownership::NotApplicable) {
        return Err(ApiError::forbidden().into());
    }
    let values = DealFormValues {
        currency: tenant.organization.currency.clone(),
        place: q.place.unwrap_or_default(),
        status: "new".into(),
        owner_id: session.actor.user_id.to_string(),
        contact_id: q.contact.unwrap_or_default(),
        company_id: q.company.unwrap_or_default(),
        ..DealFormValues::default()
    };
    match form_page(&ctx, session, &tenant, None, values).await {
        Ok(p) => Ok(render(&p)),
        Err(r) => Err(r),
    }
}

/// The posted deal form, its custom fields read apart (`creating`: their defaults apply).
async fn posted<'a>(
    ctx: &'a PageContext,
    raw: &[u8],
    creating: bool,
) -> Result<
    (
        DealFormValues,
        &'a rapport_app::accounts::CurrentSession,
        Tenant,
    ),
    PageError,
> {
    let mut form: DealFormValues =
        form_without(raw, |k| k.starts_with("custom.") || k == "_readonly");
    form.read_only = url::form_urlencoded::parse(raw)
        .filter(|(k, v)| k == "_readonly" && !v.starts_with("custom."))
        .map(|(_, v)| v.into_owned())
        .collect();
    ctx.check_csrf(&form.csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    form.custom =
        super::objects::builtin_custom_values(ctx, &session.actor, &tenant, "deal", raw, creating)
            .await;
    Ok((form, session, tenant))
}

pub async fn create(ctx: PageContext, RawForm(raw): RawForm) -> PageResult {
    let (form, session, tenant) = posted(&ctx, &raw, true).await?;
    let mut parse_errors = FormErrors::default();
    let change = form.change(&mut parse_errors, None);
    let creating = true;
    let result = if parse_errors.0.is_empty() {
        ctx.state
            .app
            .create::<Deal>(&session.actor, &tenant, change, &ctx.meta)
            .await
            .map_err(super::field_errors)
    } else {
        let errors = rapport_domain::ValidationErrors(parse_errors.0.clone());
        let custom = form.custom.as_ref();
        Err(
            super::kinds::refused_early(&ctx, &tenant, Kind::Deal, custom, errors, creating)
                .await?,
        )
    };
    match result {
        Ok(d) => Ok(see_other(&format!("{}/deals/{}", ctx.base, d.id))),
        Err(e) => form_refused(&ctx, session, &tenant, None, form, e).await,
    }
}

async fn form_refused(
    ctx: &PageContext,
    session: &rapport_app::accounts::CurrentSession,
    tenant: &Tenant,
    current: Option<&Deal>,
    form: DealFormValues,
    e: AppError,
) -> PageResult {
    let (errors, form_error) = match e {
        AppError::Validation(errors) => (form_errors(errors), None),
        AppError::Conflict { code, message } => (
            FormErrors::default(),
            Some(refusal(code).unwrap_or_else(|| sentence(&message))),
        ),
        other => return Err(other.into()),
    };
    match form_page(ctx, session, tenant, current, form).await {
        Ok(mut page) => {
            page.errors = errors;
            page.form_error = form_error;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(r) => Err(r),
    }
}

pub async fn edit_form(ctx: PageContext, Path(id): Path<String>) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let Ok(deal_id) = id.parse::<DealId>() else {
        return Err(ApiError::not_found().into());
    };
    let deal = ctx
        .state
        .app
        .get::<Deal>(&session.actor, &tenant, deal_id, &ctx.meta)
        .await?;
    match form_page(
        &ctx,
        session,
        &tenant,
        Some(&deal),
        DealFormValues::of(&deal),
    )
    .await
    {
        Ok(p) => Ok(render(&p)),
        Err(r) => Err(r),
    }
}

pub async fn update(ctx: PageContext, Path(id): Path<String>, RawForm(raw): RawForm) -> PageResult {
    let (form, session, tenant) = posted(&ctx, &raw, false).await?;
    let Ok(deal_id) = id.parse::<DealId>() else {
        return Err(ApiError::not_found().into());
    };
    let app = &ctx.state.app;
    let current = app
        .get::<Deal>(&session.actor, &tenant, deal_id, &ctx.meta)
        .await?;
    let mut parse_errors = FormErrors::default();
    let mut change = form.change(&mut parse_errors, Some(&current));
    let inline = super::record_page::inline_fields(&raw);
    if let Some(names) = &inline {
        // Only what the page's property names changes: its keys in the change (the stage's
        // place is a pipeline and a stage), its parse errors, its custom value.
        let keys = |name: &str| -> &[&str] {
            match name {
                "place" => &["pipeline_id", "stage"],
                _ => &[],
            }
        };
        change.values.retain(|key, _| {
            names
                .iter()
                .any(|n| n == key || keys(n).contains(&key.as_str()))
        });
        parse_errors.0.retain(|e| names.contains(&e.field));
        if let Some(custom) = change.custom.as_mut() {
            super::record_page::keep_named(custom, "custom", names);
        }
    }
    let creating = false;
    let result = if parse_errors.0.is_empty() {
        app.update::<Deal>(&session.actor, &tenant, deal_id, change, &ctx.meta)
            .await
    } else {
        let errors = rapport_domain::ValidationErrors(parse_errors.0.clone());
        let custom = change.custom.as_ref();
        Err(
            super::kinds::refused_early(&ctx, &tenant, Kind::Deal, custom, errors, creating)
                .await?,
        )
    };
    if inline.is_some() {
        return Ok(super::record_page::inline_answer(result));
    }
    match result {
        Ok(d) => Ok(see_other(&format!("{}/deals/{}?saved=1", ctx.base, d.id))),
        Err(e) => form_refused(&ctx, session, &tenant, Some(&current), form, e).await,
    }
}

// ---- A deal's page ------------------------------------------------------------------------

pub struct StageStep {
    pub key: String,
    pub name: String,
    pub state: &'static str,
}

pub struct TaskRow {
    pub id: String,
    pub title: String,
    /// The deal the task is about: (link, title).
    pub deal: Option<(String, String)>,
    pub due: String,
    pub overdue: bool,
    /// When the assignee is reminded (in the viewer's time zone), until it is sent.
    pub reminder: Option<String>,
    pub assignee: String,
    pub is_done: bool,
    pub can_edit: bool,
    /// Its record's clients see it in the portal.
    pub portal_visible: bool,
}

#[derive(Template)]
#[template(path = "deal.html")]
struct DetailPage {
    shell: Shell,
    deal: DealCard,
    pipeline_name: String,
    steps: Vec<StageStep>,
    created: String,
    timeline: super::record_page::TimelineView,
    /// Its properties, changed in place (posted to `action` like its edit form).
    fields: Vec<FormField>,
    errors: FormErrors,
    action: String,
    submit: &'static str,
    readonly_note: Option<String>,
    tasks: Option<super::record_page::TaskBox>,
    can_edit: bool,
    can_delete: bool,
    /// Where a comment or logged activity is posted, when the member may add one.
    comment_action: Option<String>,
    notice: Option<String>,
    comment_error: Option<String>,
    back: String,
    /// The records whose relation fields point at the deal.
    related: Vec<super::record_page::Related>,
    /// The clients who see it in the portal.
    clients: Option<super::portal_settings::ClientsBox>,
    /// The files attached to it.
    files: Option<super::files::FilesBox>,
}

#[derive(Deserialize, Default)]
pub struct DetailQuery {
    saved: Option<String>,
    refused: Option<String>,
    comment_error: Option<String>,
    task_error: Option<String>,
    notice: Option<String>,
}

/// A message carried back in the address after a refused form: plain text, kept short.
fn carried(message: Option<String>) -> Option<String> {
    message.map(|m| m.chars().take(200).collect())
}

pub async fn detail(
    ctx: PageContext,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> PageResult {
    match detail_page(&ctx, &id, carried(q.comment_error)).await {
        Ok(mut page) => {
            page.notice = q
                .refused
                .as_deref()
                .and_then(refusal)
                .or(carried(q.task_error))
                .or(q
                    .notice
                    .as_deref()
                    .and_then(super::record_page::link_notice)
                    .map(str::to_owned))
                .or(q.saved.map(|_| "Saved.".to_owned()));
            Ok(render(&page))
        }
        Err(r) => Err(r),
    }
}

async fn detail_page(
    ctx: &PageContext,
    id: &str,
    comment_error: Option<String>,
) -> Result<DetailPage, PageError> {
    let (session, tenant) = ctx.tenant().await?;
    let deal_id = id
        .parse::<DealId>()
        .map_err(|_| PageError::from(ApiError::not_found()))?;
    let app = &ctx.state.app;
    let actor = &session.actor;
    let deal = app
        .get::<Deal>(actor, &tenant, deal_id, &ctx.meta)
        .await
        .map_err(PageError::from)?;
    let pipeline = app
        .pipeline(actor, &tenant, Some(deal.pipeline_id), &ctx.meta)
        .await
        .map_err(PageError::from)?;
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let current_pos = pipeline
        .stage(deal.stage.as_str())
        .map(|s| s.position)
        .unwrap_or(0);
    let steps = pipeline
        .stages
        .iter()
        .map(|s| StageStep {
            key: s.key.to_string(),
            name: s.name.clone(),
            state: if s.key == deal.stage {
                "current"
            } else if s.position < current_pos {
                "done"
            } else {
                "todo"
            },
        })
        .collect();
    let contact = match deal.contact_id {
        Some(c) => app
            .get::<Contact>(actor, &tenant, c, &ctx.meta)
            .await
            .ok()
            .map(|c| (format!("{}/contacts/{}", ctx.base, c.id), c.name)),
        None => None,
    };
    let company = match deal.company_id {
        Some(c) => app
            .get::<Company>(actor, &tenant, c, &ctx.meta)
            .await
            .ok()
            .map(|c| (format!("{}/companies/{}", ctx.base, c.id), c.name)),
        None => None,
    };
    let timeline =
        super::record_page::timeline_of(ctx, actor, &tenant, &people, RecordRef::Deal(deal_id))
            .await;
    let tasks = task_rows(
        ctx,
        actor,
        &tenant,
        &people,
        TaskFilter {
            deal_id: Some(deal_id),
            ..TaskFilter::default()
        },
    )
    .await;
    let own = tenant.relation(actor, deal.owner_id);
    let may = |action, object, ownership| tenant.may(action, object, ownership);
    let related =
        super::objects::inverse_sections(ctx, actor, &tenant, "deal", deal_id.as_uuid(), "deal")
            .await;
    let can_edit = may(Action::Edit, Object::Deal, own);
    let values = DealFormValues::of(&deal);
    let mut fields = deal_properties(
        &ctx.base,
        &values,
        deal_choices(ctx, actor, &tenant, &values).await?,
        [
            contact.as_ref().map(|(href, _)| href.clone()),
            company.as_ref().map(|(href, _)| href.clone()),
        ],
        deal.amount.to_string(),
    );
    mark_read_only(
        &mut fields,
        &tenant,
        form_stage(Some(&deal), &values).as_deref(),
    );
    let clients = super::portal_settings::clients_box(
        ctx,
        actor,
        &tenant,
        rapport_app::timeline::RecordRef::Deal(deal.id),
        format!("{}/deals/{}", ctx.base, deal.id),
        can_edit,
    )
    .await;
    let files =
        super::files::files_box(ctx, actor, &tenant, &people, "deal", deal.id.as_uuid()).await;
    Ok(DetailPage {
        clients,
        files,
        fields,
        errors: FormErrors::default(),
        action: format!("{}/deals/{}/edit", ctx.base, deal.id),
        submit: "Save changes",
        readonly_note: Some(
            "You can read this deal; its owner, managers and admins can change it.".into(),
        ),
        related,
        shell: shell(ctx, session, &tenant, "deals", &["Deals", &deal.title]).await,
        pipeline_name: pipeline.name.clone(),
        steps,
        created: format!(
            "Created {} by {}",
            day(deal.created_at.date_naive()),
            people.name(deal.owner_id)
        ),
        timeline,
        tasks: Some(super::record_page::TaskBox {
            tasks,
            link: ("deal_id", deal.id.to_string()),
            assignees: people.options(Some(deal.owner_id)),
            today: tenant.today().to_string(),
            back: format!("{}/deals/{}", ctx.base, deal.id),
            // Tasks go on deals the role may change.
            can_add: may(Action::Create, Object::Task, Ownership::NotApplicable)
                && may(Action::Edit, Object::Deal, own),
        }),
        can_edit,
        can_delete: may(Action::Delete, Object::Deal, own),
        comment_action: may(Action::Create, Object::Activity, Ownership::NotApplicable)
            .then(|| format!("{}/deals/{}/activities", ctx.base, deal.id)),
        notice: None,
        comment_error,
        back: format!("{}/deals/{}", ctx.base, deal.id),
        deal: card(&deal, &pipeline, &people, &tenant, actor.user_id, None),
    })
}

pub(crate) async fn task_rows(
    ctx: &PageContext,
    actor: &rapport_app::Actor,
    tenant: &Tenant,
    people: &People,
    filter: TaskFilter,
) -> Vec<TaskRow> {
    let today = tenant.today();
    let page = ctx
        .state
        .app
        .list::<Task>(
            actor,
            tenant,
            TaskQuery {
                with_total: false,
                filter,
                custom: Vec::new(),
                custom_sort: None,
                sort: TaskSort::DueDate,
                descending: false,
                after: None,
                page: 1,
                page_size: 100,
            },
            &ctx.meta,
        )
        .await;
    let items = page.map(|p| p.items).unwrap_or_default();
    let zone = ctx.state.app.time_zone_of(actor, tenant).await.tz();
    let deal_ids: Vec<uuid::Uuid> = items
        .iter()
        .filter_map(|t| t.deal_id.map(|d| d.as_uuid()))
        .collect();
    let titles = ctx
        .state
        .app
        .deal_titles(tenant, &deal_ids)
        .await
        .unwrap_or_default();
    let mut rows: Vec<TaskRow> = items
        .into_iter()
        .map(|t| TaskRow {
            portal_visible: t.portal_visible,
            deal: t.deal_id.and_then(|d| {
                titles
                    .iter()
                    .find(|(id, _)| *id == d.as_uuid())
                    .map(|(_, title)| (format!("{}/deals/{d}", ctx.base), title.clone()))
            }),
            id: t.id.to_string(),
            due: t.due_date.map(day).unwrap_or_default(),
            overdue: !t.is_done && t.due_date.is_some_and(|d| d < today),
            reminder: t
                .remind_at
                .filter(|_| t.reminded_at.is_none() && !t.is_done)
                .map(|at| at.with_timezone(&zone).format("%-d %b, %H:%M").to_string()),
            assignee: people.name(t.assignee_id),
            is_done: t.is_done,
            can_edit: tenant.may(
                Action::Edit,
                Object::Task,
                super::tasks::relation(tenant, actor, t.assignee_id, t.created_by),
            ),
            title: t.title,
        })
        .collect();
    rows.sort_by_key(|r| r.is_done);
    rows
}

#[derive(Deserialize)]
pub struct ActivityForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    duration: String,
    #[serde(default)]
    outcome: String,
    /// A comment shown to the record's clients in the portal.
    #[serde(default)]
    portal: Option<String>,
}

/// Adds a comment or a logged call/meeting/email to a deal, contact or company timeline.
pub(crate) async fn add_activity(
    ctx: &PageContext,
    record: RecordRef,
    form: ActivityForm,
    back: &str,
) -> Result<(), PageError> {
    ctx.check_csrf(&form.csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    let app = &ctx.state.app;
    let people = People::load(app, &session.actor, &tenant, &ctx.meta).await;
    let kind = if form.kind.is_empty() {
        "comment"
    } else {
        form.kind.as_str()
    };
    let payload = if kind == "comment" {
        let mut p = json!({"text": form.text, "mentions": mentions(&form.text, &people)});
        if form.portal.is_some() {
            p["portal"] = json!(true);
        }
        p
    } else {
        let mut p = json!({"notes": form.text});
        if let Ok(d) = form.duration.trim().parse::<i64>() {
            p["duration_minutes"] = json!(d);
        }
        if !form.outcome.trim().is_empty() {
            p["outcome"] = json!(form.outcome);
        }
        p
    };
    match app
        .add_activity(&session.actor, &tenant, record, kind, payload, &ctx.meta)
        .await
    {
        Ok(_) => Ok(()),
        Err(AppError::Validation(errors)) => {
            let message = errors
                .0
                .first()
                .map(|e| {
                    sentence(&format!(
                        "{} {}",
                        if e.field.contains("text") || e.field.contains("notes") {
                            "the note"
                        } else {
                            "this entry"
                        },
                        e.message
                    ))
                })
                .unwrap_or_default();
            let sep = if back.contains('?') { '&' } else { '?' };
            Err(PageError::from(see_other(&format!(
                "{back}{sep}comment_error={}",
                url::form_urlencoded::byte_serialize(message.as_bytes()).collect::<String>()
            ))))
        }
        Err(e) => Err(PageError::from(e)),
    }
}

#[derive(Deserialize)]
pub struct TaskForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    due_date: String,
    /// `YYYY-MM-DDTHH:MM` in the person's time zone (a datetime-local field).
    #[serde(default)]
    remind_at: String,
    #[serde(default)]
    assignee_id: String,
    #[serde(default)]
    deal_id: String,
    #[serde(default)]
    contact_id: String,
    #[serde(default)]
    company_id: String,
    #[serde(default)]
    record_id: String,
    /// A checkbox: the record's clients see the task in the portal.
    #[serde(default)]
    portal_visible: Option<String>,
    #[serde(default)]
    back: String,
}

/// Adds a task (from a deal's page or the task list).
pub async fn add_task(ctx: PageContext, Form(form): Form<TaskForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    let back = super::safe_next(if form.back.is_empty() {
        "/tasks"
    } else {
        &form.back
    });
    let due = form.due_date.trim();
    let due_date = if due.is_empty() {
        None
    } else {
        match due.parse::<NaiveDate>() {
            Ok(d) => Some(d),
            Err(_) => {
                return Ok(see_other(&with_error(
                    &back,
                    "The due date must be a date.",
                )));
            }
        }
    };
    let remind = form.remind_at.trim();
    let remind_at = if remind.is_empty() {
        None
    } else {
        let zone = ctx
            .state
            .app
            .time_zone_of(&session.actor, &tenant)
            .await
            .tz();
        let local = chrono::NaiveDateTime::parse_from_str(remind, "%Y-%m-%dT%H:%M")
            .ok()
            .and_then(|at| {
                use chrono::TimeZone as _;
                zone.from_local_datetime(&at).earliest()
            });
        match local {
            Some(at) => Some(at.with_timezone(&chrono::Utc)),
            None => {
                return Ok(see_other(&with_error(
                    &back,
                    "The reminder must be a date and time.",
                )));
            }
        }
    };
    match ctx
        .state
        .app
        .create::<Task>(
            &session.actor,
            &tenant,
            RecordChange::of("title", form.title)
                .set("due_date", due_date)
                .set("remind_at", remind_at)
                .set("assignee_id", form.assignee_id.parse::<UserId>().ok())
                .set("deal_id", form.deal_id.parse::<DealId>().ok())
                .set("contact_id", form.contact_id.parse::<ContactId>().ok())
                .set("company_id", form.company_id.parse::<CompanyId>().ok())
                .set(
                    "record_id",
                    form.record_id.parse::<rapport_domain::RecordId>().ok(),
                )
                .set("portal_visible", form.portal_visible.is_some()),
            &ctx.meta,
        )
        .await
    {
        Ok(_) => Ok(see_other(&back)),
        Err(AppError::Validation(errors)) => {
            let message = errors
                .0
                .first()
                .map(|e| sentence(&format!("{} {}", e.field.replace('_', " "), e.message)))
                .unwrap_or_default();
            Ok(see_other(&with_error(&back, &message)))
        }
        Err(e) => Err(e.into()),
    }
}

fn with_error(back: &str, message: &str) -> String {
    let sep = if back.contains('?') { '&' } else { '?' };
    format!(
        "{back}{sep}task_error={}",
        url::form_urlencoded::byte_serialize(message.as_bytes()).collect::<String>()
    )
}

#[derive(Deserialize)]
pub struct DoneForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    done: String,
    #[serde(default)]
    back: String,
}

/// Marks a task done (or not done again).
pub async fn complete_task(
    ctx: PageContext,
    Path(id): Path<String>,
    Form(form): Form<DoneForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    let Ok(task_id) = id.parse::<TaskId>() else {
        return Err(ApiError::not_found().into());
    };
    let back = super::safe_next(if form.back.is_empty() {
        "/tasks"
    } else {
        &form.back
    });
    match ctx
        .state
        .app
        .update::<Task>(
            &session.actor,
            &tenant,
            task_id,
            RecordChange::of("is_done", form.done != "0"),
            &ctx.meta,
        )
        .await
    {
        Ok(_) => Ok(see_other(&back)),
        Err(e) => Err(e.into()),
    }
}

/// The deals of a pipeline (optionally one owner's) as CSV, every page, streamed.
pub async fn export(
    ctx: PageContext,
    Query(q): Query<BoardQuery>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let custom = CustomFilters::read(&ctx, &session.actor, &tenant, raw.as_deref()).await;
    let filter = DealFilter {
        pipeline_id: q.pipeline.as_deref().and_then(|p| p.parse().ok()),
        owner_id: q.owner.as_deref().and_then(|o| o.parse().ok()),
        ..DealFilter::default()
    };
    let query = DealQuery {
        with_total: true,
        filter,
        custom: custom.filters,
        custom_sort: None,
        sort: DealSort::CreatedAt,
        descending: false,
        after: None,
        page: 1,
        page_size: 500,
    };
    super::kinds::export_csv(&ctx, session, tenant, query).await
}

impl super::kinds::WebKind for Deal {
    const PATH: &'static str = "deals";
    const ONE: &'static str = "deal";
    const MANY: &'static str = "deals";
    const TITLE: &'static str = "Deals";
    fn timeline(id: DealId) -> Option<RecordRef> {
        Some(RecordRef::Deal(id))
    }
    fn name(&self) -> &str {
        &self.title
    }
}

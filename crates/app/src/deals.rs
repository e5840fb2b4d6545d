//! Deals in pipelines: the contract's rules (stage rollback, won amount, links within the
//! organization), a timeline entry for every stage or status change in the same transaction, and
//! the pipelines themselves.

use chrono::{DateTime, Utc};
use rapport_domain::access::RecordAction;
use rapport_domain::deal::{self, DealStatus, StageKey};
use rapport_domain::money::Money;
use rapport_domain::organization::{Currency, OrganizationName};
use rapport_domain::{
    Action, DealId, Object, Ownership, PipelineId, Role, UserId, ValidationErrors,
};
use rapport_store::deals::{self as store_deals, BoardFilter, Deal, DealFields, StageStatusTotal};
use rapport_store::pipelines::{self as store_pipelines, Pipeline, StageFields};
use rapport_store::{Result, TenantTx};
use serde_json::{Value as Json, json};

use crate::audit::{changes, entry, with_target};
use crate::changes::Checked;
use crate::custom_values::Kind;
use crate::kinds::{BuiltinKind, ListPage, ListQuery, builtin_record};
use crate::timeline::note;
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// Which deals, in which order, which page; and the page.
pub type DealQuery = ListQuery<Deal>;
pub type DealPage = ListPage<Deal>;

/// A board as it opens: every column's figures and its first cards.
pub struct DealBoard {
    /// Count and amount (organization currency) by (stage, status), over every deal the board
    /// shows.
    pub totals: Vec<StageStatusTotal>,
    /// The first cards of each column, most recently moved first.
    pub cards: Vec<Deal>,
}

/// The pipeline a deal goes to: the one named, else the organization's default.
async fn pipeline_for(
    tx: &mut TenantTx,
    errors: &mut ValidationErrors,
    id: Option<PipelineId>,
) -> AppResult<Option<Pipeline>> {
    match id {
        Some(id) => {
            let found = store_pipelines::find(tx, id).await?;
            if found.is_none() {
                errors.add("pipeline_id", "no such pipeline in this organization");
            }
            Ok(found)
        }
        None => Ok(store_pipelines::default(tx).await?),
    }
}

impl BuiltinKind for Deal {
    type Fields = DealFields;
    const KIND: Kind = Kind::Deal;
    const OWN_INPUTS: &'static [&'static str] = &["amount", "currency", "stage", "pipeline_id"];

    builtin_record! {
        id: DealId,
        owner: owner_id,
        named: title,
        diff: [title, amount = amount.minor, currency = amount.currency, status, stage, pipeline_id, contact_id, company_id, owner_id, close_probability, expected_close_date],
    }

    fn created(&self) -> Json {
        json!({"title": self.title, "stage": self.stage, "status": self.status})
    }

    fn stage(&self) -> Option<String> {
        Some(format!("{}/{}", self.pipeline_id, self.stage))
    }

    fn rule_name(name: &str) -> &str {
        match name {
            "currency" => "amount",
            "pipeline_id" => "stage",
            other => other,
        }
    }

    fn own_actions(before: &Self, after: &Self) -> Vec<rapport_domain::access::RecordAction> {
        let moved = before.stage != after.stage
            || before.status != after.status
            || before.pipeline_id != after.pipeline_id;
        if moved {
            vec![rapport_domain::access::RecordAction::ChangeStage]
        } else {
            Vec::new()
        }
    }

    /// Stage and status changes have entries of their own, and a probability that follows the
    /// stage is not news; the amount is told with its currency.
    fn told(before: &Self, after: &Self) -> Vec<(&'static str, Json, Json)> {
        let moved = before.stage != after.stage || before.status != after.status;
        let money = |m: &Money| json!({"amount": m.minor as f64 / 100.0, "currency": m.currency});
        Self::diff(before, after)
            .into_iter()
            .filter(|(key, _, _)| match *key {
                "stage" | "status" => false,
                "close_probability" => !moved,
                _ => true,
            })
            .map(|(key, b, a)| match key {
                "amount" => (key, money(&before.amount), money(&after.amount)),
                _ => (key, b, a),
            })
            .collect()
    }

    /// A deal's columns after a checked change, under the contract's rules: its pipeline, stage,
    /// amount and currency (inputs of its own), no rollback of the stage but by owners and admins,
    /// no won deal without an amount, and a probability that follows the stage and status unless
    /// it is given.
    async fn columns(
        tx: &mut TenantTx,
        current: Option<&Self>,
        v: &mut Checked<'_>,
    ) -> AppResult<DealFields> {
        let tenant = v.tenant;
        let currency = v.text_input("currency", "must be a currency code such as EUR");
        let wanted_stage = v.text_input("stage", "must be the key of a stage of the pipeline");
        let errors = &mut v.errors;
        let amount_minor = match v.inputs.get("amount") {
            Some(given) => errors.check(
                "amount",
                given
                    .as_f64()
                    .ok_or("must be a number")
                    .and_then(deal::amount_minor),
            ),
            None => Some(current.map_or(0, |d| d.amount.minor)),
        }
        .unwrap_or(0);
        let currency = match currency {
            Some(code) => errors.check("currency", Currency::parse(&code)),
            None => current.map(|d| d.amount.currency),
        }
        .unwrap_or_else(|| Currency::parse(&tenant.organization.currency).unwrap_or_default());
        let pipeline_id = match v.inputs.get("pipeline_id") {
            Some(id) => {
                let parsed = rapport_domain::values::uuid_of(id).map(PipelineId);
                if parsed.is_none() {
                    errors.add("pipeline_id", "must be the id of a pipeline");
                }
                parsed
            }
            None => None,
        };
        // Pipeline and stage: a new pipeline without a stage starts at its first stage.
        let pipeline_changed =
            pipeline_id.is_some_and(|p| Some(p) != current.map(|d| d.pipeline_id));
        let pipeline = if current.is_none() || pipeline_changed {
            pipeline_for(tx, errors, pipeline_id).await?
        } else {
            store_pipelines::find(tx, current.map(|d| d.pipeline_id).unwrap_or_default()).await?
        };
        let stage: Option<StageKey> = match (&pipeline, wanted_stage.as_deref()) {
            (Some(p), Some(key)) => match p.stage(key) {
                Some(s) => Some(s.key.clone()),
                None => {
                    let keys: Vec<&str> = p.stages.iter().map(|s| s.key.as_str()).collect();
                    errors.add(
                        "stage",
                        format!("must be a stage of the pipeline: {}", keys.join(", ")),
                    );
                    None
                }
            },
            (Some(p), None) if current.is_none() || pipeline_changed => {
                p.first_stage().map(|s| s.key.clone())
            }
            (_, None) => current.map(|d| d.stage.clone()),
            // No pipeline: refused for it already.
            (None, Some(_)) => None,
        };
        v.settle()?;
        let Some(stage) = stage else {
            return Err(AppError::invalid("stage", "the pipeline has no stages"));
        };
        let status = v
            .optional("status", current.map(|d| d.status))
            .unwrap_or(DealStatus::New);

        // The rules of the contract, in the order a reader expects them.
        if let (Some(d), Some(p)) = (current, &pipeline)
            && d.pipeline_id == p.id
            && d.stage != stage
        {
            let from = p.stage(d.stage.as_str()).map(|s| s.position);
            let to = p.stage(stage.as_str()).map(|s| s.position);
            if let (Some(from), Some(to)) = (from, to)
                && to < from
                && !matches!(tenant.role, Role::Owner | Role::Admin)
            {
                return Err(AppError::conflict(
                    "stage_rollback_forbidden",
                    format!(
                        "only owners and admins may move a deal back from {} to {}",
                        d.stage, stage
                    ),
                ));
            }
        }
        if status == DealStatus::Won && amount_minor <= 0 {
            return Err(AppError::conflict(
                "deal_amount_required_for_won",
                "a deal can only be won with an amount above 0",
            ));
        }

        // The probability follows the stage and status unless it is given.
        let status_changed = current.map(|d| d.status.as_str()) != Some(status.as_str());
        let stage_changed = current.map(|d| d.stage.as_str()) != Some(stage.as_str());
        let close_probability = match v.optional::<i64>("close_probability", None) {
            Some(p) => p,
            None if status_changed && status == DealStatus::Won => 100,
            None if status_changed && status == DealStatus::Lost => 0,
            None if stage_changed || current.is_none() => pipeline
                .as_ref()
                .and_then(|p| p.stage(stage.as_str()))
                .map(|s| s.probability)
                .unwrap_or(0),
            None => current.map(|d| d.close_probability).unwrap_or(0),
        };
        Ok(DealFields {
            pipeline_id: pipeline.map(|p| p.id).unwrap_or_default(),
            stage,
            contact_id: v.link("contact_id", current.and_then(|d| d.contact_id)),
            company_id: v.link("company_id", current.and_then(|d| d.company_id)),
            owner_id: v.owner,
            title: v.required("title", current.map(|d| d.title.clone())),
            amount: Money::new(amount_minor, currency),
            status,
            close_probability,
            expected_close_date: v.optional(
                "expected_close_date",
                current.and_then(|d| d.expected_close_date),
            ),
        })
    }

    /// Stage (or pipeline), status and owner changes go to the deal's timeline.
    async fn after_update(
        before: &Self,
        after: &Self,
        tx: &mut TenantTx,
        actor: &Actor,
    ) -> AppResult<()> {
        let deal = ("deal", after.id.as_uuid());
        if before.stage != after.stage || before.pipeline_id != after.pipeline_id {
            stage_requirements(tx, after).await?;
        }
        if before.stage != after.stage || before.pipeline_id != after.pipeline_id {
            let mut change = json!({"from": before.stage, "to": after.stage});
            if before.pipeline_id != after.pipeline_id {
                change["from_pipeline_id"] = json!(before.pipeline_id);
                change["to_pipeline_id"] = json!(after.pipeline_id);
            }
            note(tx, actor, deal, "stage_changed", change).await?;
        }
        if before.status != after.status {
            let change = json!({"from": before.status, "to": after.status});
            note(tx, actor, deal, "status_changed", change).await?;
        }
        if before.owner_id != after.owner_id {
            let change = json!({"from": before.owner_id, "to": after.owner_id});
            note(tx, actor, deal, "owner_changed", change).await?;
        }
        Ok(())
    }

    async fn insert(tx: &mut TenantTx, _actor: &Actor, fields: &DealFields) -> Result<Self> {
        store_deals::insert(tx, fields).await
    }
    async fn own_actions_at_creation(
        &self,
        tx: &mut TenantTx,
    ) -> AppResult<Vec<rapport_domain::access::RecordAction>> {
        let first = store_pipelines::find(tx, self.pipeline_id)
            .await?
            .and_then(|p| p.stages.first().map(|s| s.key.clone()));
        let moved = self.status.is_closed() || first.is_some_and(|f| f != self.stage);
        Ok(if moved {
            vec![rapport_domain::access::RecordAction::ChangeStage]
        } else {
            Vec::new()
        })
    }
    async fn after_create(&self, tx: &mut TenantTx, _actor: &Actor) -> AppResult<()> {
        stage_requirements(tx, self).await
    }
    async fn update(tx: &mut TenantTx, current: &Self, fields: &DealFields) -> Result<()> {
        store_deals::update(tx, current, fields).await
    }
}

/// Built-in deal fields a stage can require; the others always hold a value.
pub const REQUIRABLE: [&str; 4] = ["amount", "expected_close_date", "contact_id", "company_id"];
/// Built-in deal fields a board card can show under its title (`owner` is the owner's initials).
pub const ON_CARDS: [&str; 6] = [
    "amount",
    "owner",
    "close_probability",
    "expected_close_date",
    "contact_id",
    "company_id",
];
/// What a card shows when its pipeline chose nothing.
pub const DEFAULT_CARD_FIELDS: [&str; 2] = ["amount", "owner"];

/// Refuses a deal in a stage whose required fields it lacks: each missing field is named, as a
/// validation error, so a form (or the board's move dialog) asks for exactly those.
pub(crate) async fn stage_requirements(tx: &mut TenantTx, deal: &Deal) -> AppResult<()> {
    let Some(pipeline) = store_pipelines::find(tx, deal.pipeline_id).await? else {
        return Ok(());
    };
    let Some(stage) = pipeline.stage(deal.stage.as_str()) else {
        return Ok(());
    };
    let required = &stage.required_fields.0;
    // A custom field archived or deleted since it was required asks nothing any more.
    let live: Vec<String> = if required.iter().all(|k| REQUIRABLE.contains(&k.as_str())) {
        Vec::new()
    } else {
        let catalog = crate::objects::catalog(tx, Utc::now()).await?;
        catalog
            .get(Kind::Deal.object_key())
            .map(|o| o.def.live_fields().map(|f| f.key.to_string()).collect())
            .unwrap_or_default()
    };
    let mut errors = ValidationErrors::new();
    for key in required
        .iter()
        .filter(|k| REQUIRABLE.contains(&k.as_str()) || live.contains(k))
    {
        let (field, filled) = match key.as_str() {
            "amount" => (key.clone(), deal.amount.minor > 0),
            "expected_close_date" => (key.clone(), deal.expected_close_date.is_some()),
            "contact_id" => (key.clone(), deal.contact_id.is_some()),
            "company_id" => (key.clone(), deal.company_id.is_some()),
            custom => (
                format!("custom.{custom}"),
                deal.custom.get(custom).is_some_and(|v| match v {
                    Json::Null | Json::Bool(false) => false,
                    Json::String(s) => !s.trim().is_empty(),
                    Json::Array(a) => !a.is_empty(),
                    _ => true,
                }),
            ),
        };
        if !filled {
            errors.add(&field, format!("is needed to enter {}", stage.name));
        }
    }
    errors.into_result()?;
    Ok(())
}

/// The deal fields pipelines may name, with their labels: what a stage can require and what a
/// board card can show. Custom fields are named by their key, as on lists.
pub struct PipelineFieldChoices {
    pub requirable: Vec<(String, String)>,
    pub on_cards: Vec<(String, String)>,
}

async fn pipeline_field_choices(
    tx: &mut TenantTx,
    tenant: &Tenant,
) -> AppResult<PipelineFieldChoices> {
    let catalog = crate::objects::catalog(tx, tenant.organization.created_at).await?;
    let mut requirable: Vec<(String, String)> = Vec::new();
    let mut on_cards: Vec<(String, String)> = Vec::new();
    let def = catalog.get(Kind::Deal.object_key()).map(|o| &o.def);
    let label = |key: &str| {
        def.and_then(|d| d.field(key))
            .map_or_else(|| "Owner".to_owned(), |f| f.label.clone())
    };
    for key in ON_CARDS {
        on_cards.push((key.to_owned(), label(key)));
    }
    for key in REQUIRABLE {
        requirable.push((key.to_owned(), label(key)));
    }
    if let Some(def) = def {
        for f in def.live_fields().filter(|f| !f.builtin) {
            // `owner` is the owner's place on a card, whatever a custom field is called.
            if f.key.as_str() != "owner" {
                on_cards.push((f.key.to_string(), f.label.clone()));
            }
            // A box left unticked is a value: it cannot be missing.
            if f.rollup.is_none() && f.field_type != rapport_domain::schema::FieldType::Boolean {
                requirable.push((f.key.to_string(), f.label.clone()));
            }
        }
    }
    Ok(PipelineFieldChoices {
        requirable,
        on_cards,
    })
}

/// The keys in their order, each once.
fn unique(keys: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in keys {
        if !out.contains(key) {
            out.push(key.clone());
        }
    }
    out
}

/// Refuses keys that are not among the choices, under `field`.
fn check_keys(
    errors: &mut ValidationErrors,
    field: &str,
    keys: &[String],
    choices: &[(String, String)],
) {
    if let Some(bad) = keys
        .iter()
        .find(|k| !choices.iter().any(|(key, _)| key == *k))
    {
        errors.add(
            field,
            format!("{bad} is not a deal field that can be chosen here"),
        );
    }
}

impl App {
    /// The deal fields a stage can require and a board card can show.
    pub async fn pipeline_field_choices(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<PipelineFieldChoices> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Deal,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let choices = pipeline_field_choices(&mut tx, tenant).await?;
        tx.commit().await?;
        Ok(choices)
    }

    /// A pipeline's board: the figures of every column (counts and amounts of all its deals, in
    /// the organization's currency) and each column's first `per_stage` cards, in one
    /// transaction.
    /// `custom`: filters on the deals' custom values, in the engine's grammar (key, operator,
    /// value), as on lists.
    #[allow(clippy::too_many_arguments)]
    pub async fn deal_board(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        filter: &BoardFilter,
        custom: &[(String, Option<String>, String)],
        stages: &[StageKey],
        per_stage: i64,
        meta: &RequestMeta,
    ) -> AppResult<DealBoard> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Deal,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let filter = &with_custom(&mut tx, actor, tenant, filter, custom).await?;
        let totals =
            store_deals::board_totals(&mut tx, filter, &tenant.organization.currency).await?;
        let mut cards = store_deals::board_first_cards(&mut tx, filter, stages, per_stage).await?;
        let hidden = crate::fields::hidden_of(&mut tx, tenant, Kind::Deal.object_key()).await?;
        tx.commit().await?;
        for card in &mut cards {
            crate::fields::hide_json(&mut card.custom.0, &hidden);
        }
        Ok(DealBoard { totals, cards })
    }

    /// The next cards of one board column after the card it ended on: up to `limit`, and whether
    /// more follow.
    #[allow(clippy::too_many_arguments)]
    pub async fn deal_board_more(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        filter: &BoardFilter,
        custom: &[(String, Option<String>, String)],
        stage: &str,
        after: (DateTime<Utc>, DealId),
        limit: i64,
        meta: &RequestMeta,
    ) -> AppResult<(Vec<Deal>, bool)> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Deal,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let filter = &with_custom(&mut tx, actor, tenant, filter, custom).await?;
        let mut cards = store_deals::board_more_cards(&mut tx, filter, stage, after, limit).await?;
        let hidden = crate::fields::hidden_of(&mut tx, tenant, Kind::Deal.object_key()).await?;
        tx.commit().await?;
        for card in &mut cards {
            crate::fields::hide_json(&mut card.custom.0, &hidden);
        }
        let more = cards.len() as i64 > limit;
        cards.truncate(limit as usize);
        Ok((cards, more))
    }

    // ---- Pipelines ---------------------------------------------------------------------------

    /// Every pipeline with its stages (anyone in the organization may read them).
    pub async fn pipelines(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<Vec<Pipeline>> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Deal,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let pipelines = store_pipelines::list(&mut tx).await?;
        tx.commit().await?;
        Ok(pipelines)
    }

    pub async fn pipeline(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: Option<PipelineId>,
        meta: &RequestMeta,
    ) -> AppResult<Pipeline> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Deal,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let pipeline = match id {
            Some(id) => store_pipelines::find(&mut tx, id).await?,
            None => store_pipelines::default(&mut tx).await?,
        }
        .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(pipeline)
    }

    /// Creates a pipeline (owner/admin: pipelines are organization settings).
    pub async fn create_pipeline(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        name: &str,
        stages: Vec<StageInput>,
        card_fields: Vec<String>,
        meta: &RequestMeta,
    ) -> AppResult<Pipeline> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Edit,
            Object::Organization,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let choices = pipeline_field_choices(&mut tx, tenant).await?;
        let mut errors = ValidationErrors::new();
        check_keys(&mut errors, "card_fields", &card_fields, &choices.on_cards);
        errors.into_result()?;
        let (name, stages) = validate_pipeline(name, &stages, &choices.requirable)?;
        let pipeline =
            store_pipelines::insert(&mut tx, &name, &unique(&card_fields), &stages).await?;
        let mut e = with_target(
            entry(Some(actor), meta, "pipeline.created"),
            "pipeline",
            pipeline.id,
        );
        e.changes = Some(json!({"name": name, "stages": stage_keys(&stages)}));
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(pipeline)
    }

    /// Renames a pipeline, replaces its stages, and optionally makes it the default. A stage that
    /// still holds deals cannot be removed (409 `stage_in_use`).
    pub async fn update_pipeline(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: PipelineId,
        change: PipelineChange,
        meta: &RequestMeta,
    ) -> AppResult<Pipeline> {
        let PipelineChange {
            name,
            stages,
            card_fields,
            make_default,
        } = change;
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Edit,
            Object::Organization,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let current = store_pipelines::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let stages = stages.unwrap_or_else(|| {
            current
                .stages
                .iter()
                .map(|s| StageInput {
                    key: Some(s.key.to_string()),
                    name: s.name.clone(),
                    probability: Some(s.probability),
                    rotting_days: s.rotting_days,
                    required_fields: None,
                })
                .collect()
        });
        // Stages given without their requirements, and cards without fields, keep the ones
        // they have, less any custom field archived or deleted since.
        let choices = pipeline_field_choices(&mut tx, tenant).await?;
        let still = |keys: &[String], among: &[(String, String)]| -> Vec<String> {
            keys.iter()
                .filter(|k| among.iter().any(|(key, _)| key == *k))
                .cloned()
                .collect()
        };
        let stages: Vec<StageInput> = stages
            .into_iter()
            .map(|mut s| {
                if s.required_fields.is_none() {
                    let key = s
                        .key
                        .clone()
                        .unwrap_or_else(|| StageKey::from_name(s.name.trim()).to_string());
                    s.required_fields = current
                        .stage(&key)
                        .map(|old| still(&old.required_fields.0, &choices.requirable));
                }
                s
            })
            .collect();
        let card_fields = unique(
            &card_fields.unwrap_or_else(|| still(&current.card_fields.0, &choices.on_cards)),
        );
        let mut errors = ValidationErrors::new();
        check_keys(&mut errors, "card_fields", &card_fields, &choices.on_cards);
        errors.into_result()?;
        let (name, stages) = validate_pipeline(
            name.as_deref().unwrap_or(&current.name),
            &stages,
            &choices.requirable,
        )?;
        for old in &current.stages {
            if !stages.iter().any(|s| s.key == old.key)
                && store_deals::count_in_stage(&mut tx, id, &old.key).await? > 0
            {
                return Err(AppError::conflict(
                    "stage_in_use",
                    format!(
                        "the stage {} still holds deals; move them to another stage first",
                        old.name
                    ),
                ));
            }
        }
        store_pipelines::update(&mut tx, id, &name, &card_fields, &stages).await?;
        if make_default && !current.is_default {
            store_pipelines::make_default(&mut tx, id).await?;
        }
        let after = store_pipelines::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let before_stages: Vec<&str> = current.stages.iter().map(|s| s.key.as_str()).collect();
        if let Some(diff) = changes(&[
            ("name", json!(current.name), json!(after.name)),
            ("stages", json!(before_stages), json!(stage_keys(&stages))),
            (
                "card_fields",
                json!(current.card_fields.0),
                json!(after.card_fields.0),
            ),
            (
                "required_fields",
                json!(requirements(&current.stages)),
                json!(requirements(&after.stages)),
            ),
            (
                "is_default",
                json!(current.is_default),
                json!(after.is_default),
            ),
        ]) {
            let mut e = with_target(entry(Some(actor), meta, "pipeline.updated"), "pipeline", id);
            e.changes = Some(diff);
            crate::events::record(&mut tx, e).await?;
        }
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes a pipeline that holds no deals and is not the default one.
    pub async fn delete_pipeline(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: PipelineId,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Edit,
            Object::Organization,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let current = store_pipelines::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if current.is_default {
            return Err(AppError::conflict(
                "default_pipeline",
                "the default pipeline cannot be deleted; make another pipeline the default first",
            ));
        }
        if store_deals::count_in_pipeline(&mut tx, id).await? > 0 {
            return Err(AppError::conflict(
                "pipeline_in_use",
                "this pipeline still holds deals (those in Recently deleted count until they are purged); move them to another pipeline first",
            ));
        }
        store_pipelines::delete(&mut tx, id).await?;
        let mut e = with_target(entry(Some(actor), meta, "pipeline.deleted"), "pipeline", id);
        e.changes = Some(json!({"name": current.name}));
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A change to a pipeline: `None` keeps the name or the stages.
#[derive(Clone, Debug, Default)]
pub struct PipelineChange {
    pub name: Option<String>,
    /// The whole ordered list, replacing the current one.
    pub stages: Option<Vec<StageInput>>,
    /// The fields its board's cards show, in order (`None` keeps them).
    pub card_fields: Option<Vec<String>>,
    pub make_default: bool,
}

/// A stage as given by a caller; the key is derived from the name when absent.
#[derive(Clone, Debug, Default)]
pub struct StageInput {
    pub key: Option<String>,
    pub name: String,
    pub probability: Option<i64>,
    pub rotting_days: Option<i64>,
    /// Fields a deal must have to enter it (`None`: the ones it has, or none for a new stage).
    pub required_fields: Option<Vec<String>>,
}

/// Each stage's requirements by key, for the audit trail.
fn requirements(stages: &[store_pipelines::Stage]) -> Json {
    stages
        .iter()
        .filter(|s| !s.required_fields.0.is_empty())
        .map(|s| (s.key.to_string(), json!(s.required_fields.0)))
        .collect::<serde_json::Map<String, Json>>()
        .into()
}

fn stage_keys(stages: &[StageFields]) -> Vec<&str> {
    stages.iter().map(|s| s.key.as_str()).collect()
}

fn validate_pipeline(
    name: &str,
    stages: &[StageInput],
    requirable: &[(String, String)],
) -> AppResult<(String, Vec<StageFields>)> {
    let mut errors = ValidationErrors::new();
    let name = errors
        .check("name", OrganizationName::parse(name))
        .map(|n| n.as_str().to_owned())
        .unwrap_or_default();
    if stages.is_empty() {
        errors.add("stages", "a pipeline needs at least one stage");
    }
    if stages.len() > 30 {
        errors.add("stages", "a pipeline has at most 30 stages");
    }
    let mut out: Vec<StageFields> = Vec::new();
    for (i, s) in stages.iter().enumerate() {
        let field = |f: &str| format!("stages[{i}].{f}");
        let stage_name = s.name.trim();
        if stage_name.is_empty() || stage_name.chars().count() > 60 {
            errors.add(&field("name"), "must be 1 to 60 characters");
        }
        let key = match &s.key {
            Some(k) => errors.check(&field("key"), StageKey::parse(k)),
            None => Some(StageKey::from_name(stage_name)),
        };
        if key.is_some() && out.iter().any(|o| Some(&o.key) == key.as_ref()) {
            errors.add(&field("key"), "is used by another stage of this pipeline");
        }
        let probability = s.probability.unwrap_or_else(|| {
            // Evenly spread from 10 % to 100 % when not given.
            let n = stages.len().max(1) as i64;
            10 + 90 * i as i64 / (n - 1).max(1)
        });
        errors.check(&field("probability"), deal::probability(probability));
        if let Some(d) = s.rotting_days
            && !(1..=365).contains(&d)
        {
            errors.add(&field("rotting_days"), "must be between 1 and 365 days");
        }
        let required = unique(s.required_fields.as_deref().unwrap_or_default());
        check_keys(
            &mut errors,
            &field("required_fields"),
            &required,
            requirable,
        );
        let Some(key) = key else { continue };
        out.push(StageFields {
            key,
            name: stage_name.to_owned(),
            probability,
            rotting_days: s.rotting_days,
            required_fields: required,
        });
    }
    errors.into_result()?;
    Ok((name, out))
}

impl App {
    /// Titles of deals by id (for lists that show a task's deal).
    pub async fn deal_titles(
        &self,
        tenant: &Tenant,
        ids: &[uuid::Uuid],
    ) -> AppResult<Vec<(uuid::Uuid, String)>> {
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let titles = store_deals::titles(&mut tx, ids).await?;
        tx.commit().await?;
        Ok(titles)
    }
}

/// The board filter with the conditions the filters on custom values make (checked against the
/// deal object's fields).
async fn with_custom(
    tx: &mut TenantTx,
    actor: &Actor,
    tenant: &Tenant,
    filter: &BoardFilter,
    custom: &[(String, Option<String>, String)],
) -> AppResult<BoardFilter> {
    let mut filter = filter.clone();
    filter.owners = tenant
        .reach(actor, RecordAction::View, Kind::Deal.object_key())
        .owners()
        .map(<[UserId]>::to_vec);
    if !custom.is_empty() {
        let catalog = crate::objects::catalog(tx, tenant.organization.created_at).await?;
        let object = catalog
            .get(Kind::Deal.object_key())
            .map(|o| crate::fields::without_hidden(tenant, o.def.custom_part()))
            .ok_or(AppError::NotFound)?;
        filter.custom = crate::records::conditions(&object, custom)?;
    }
    Ok(filter)
}

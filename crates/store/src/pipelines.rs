//! Pipelines and their ordered stages.

use chrono::{DateTime, Utc};
use rapport_domain::deal::{DEFAULT_STAGES, StageKey};
use rapport_domain::{OrganizationId, PipelineId, StageId};

use crate::{Result, TenantTx, Tx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Pipeline {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: PipelineId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub organization_id: OrganizationId,
    pub name: String,
    pub position: i64,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The fields its board's cards show, in order.
    #[sqlx(try_from = "String")]
    pub card_fields: FieldList,
    #[sqlx(skip)]
    pub stages: Vec<Stage>,
}

/// Field keys kept in one column, comma-separated (`amount,custom.berth`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldList(pub Vec<String>);

impl From<String> for FieldList {
    fn from(column: String) -> Self {
        FieldList(
            column
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }
}

impl FieldList {
    fn column(keys: &[String]) -> String {
        keys.join(",")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Stage {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: StageId,
    #[sqlx(try_from = "uuid::Uuid")]
    pub pipeline_id: PipelineId,
    #[sqlx(try_from = "String")]
    pub key: StageKey,
    pub name: String,
    pub position: i64,
    pub probability: i64,
    pub rotting_days: Option<i64>,
    /// What a deal must have before it enters this stage.
    #[sqlx(try_from = "String")]
    pub required_fields: FieldList,
}

impl Pipeline {
    pub fn stage(&self, key: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.key == key)
    }

    pub fn first_stage(&self) -> Option<&Stage> {
        self.stages.first()
    }
}

/// A stage as written: stages are saved as a whole ordered list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageFields {
    pub key: StageKey,
    pub name: String,
    pub probability: i64,
    pub rotting_days: Option<i64>,
    pub required_fields: Vec<String>,
}

const COLUMNS: &str =
    "id, organization_id, name, position, is_default, created_at, updated_at, card_fields";
const STAGE_COLUMNS: &str =
    "id, pipeline_id, key, name, position, probability, rotting_days, required_fields";

/// Creates a pipeline with its stages. Takes a plain transaction so a new organization can get
/// its default pipeline in the transaction that creates it.
pub async fn insert_in(
    tx: &mut Tx,
    organization_id: OrganizationId,
    name: &str,
    is_default: bool,
    stages: &[StageFields],
) -> Result<PipelineId> {
    #[derive(sqlx::FromRow)]
    struct Next {
        n: i64,
    }
    let next: Next = tx
        .fetch_one(
            query("SELECT COALESCE(MAX(position) + 1, 0) AS n FROM pipelines WHERE organization_id = $1")
                .bind(organization_id),
        )
        .await?;
    let id = PipelineId::new();
    let now = crate::now();
    tx.execute(
        query(
            "INSERT INTO pipelines (organization_id, id, name, position, is_default, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(organization_id)
        .bind(id)
        .bind(name)
        .bind(next.n)
        .bind(is_default)
        .bind(now),
    )
    .await?;
    insert_stages(tx, organization_id, id, stages).await?;
    Ok(id)
}

/// The stages every organization starts with.
pub fn default_stages() -> Vec<StageFields> {
    DEFAULT_STAGES
        .iter()
        .map(|(key, name, probability, rotting)| StageFields {
            key: StageKey::from_name(key),
            name: (*name).to_owned(),
            probability: *probability,
            rotting_days: *rotting,
            required_fields: Vec::new(),
        })
        .collect()
}

async fn insert_stages(
    tx: &mut Tx,
    organization_id: OrganizationId,
    pipeline_id: PipelineId,
    stages: &[StageFields],
) -> Result<()> {
    for (position, stage) in stages.iter().enumerate() {
        tx.execute(
            query(
                "INSERT INTO pipeline_stages (organization_id, id, pipeline_id, key, name, position, probability, rotting_days, required_fields) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(organization_id)
            .bind(StageId::new())
            .bind(pipeline_id)
            .bind(&stage.key)
            .bind(&stage.name)
            .bind(position as i64)
            .bind(stage.probability)
            .bind(stage.rotting_days)
            .bind(FieldList::column(&stage.required_fields)),
        )
        .await?;
    }
    Ok(())
}

pub async fn insert(
    tx: &mut TenantTx,
    name: &str,
    card_fields: &[String],
    stages: &[StageFields],
) -> Result<Pipeline> {
    let org = tx.organization_id();
    let id = insert_in(tx.raw(), org, name, false, stages).await?;
    tx.raw()
        .execute(
            query("UPDATE pipelines SET card_fields = $1 WHERE organization_id = $2 AND id = $3")
                .bind(FieldList::column(card_fields))
                .bind(org)
                .bind(id),
        )
        .await?;
    find(tx, id).await?.ok_or(crate::Error::NotFound)
}

/// Every pipeline of the organization with its stages, in display order.
pub async fn list(tx: &mut TenantTx) -> Result<Vec<Pipeline>> {
    let org = tx.organization_id();
    let mut pipelines: Vec<Pipeline> = tx
        .raw()
        .fetch_all(
            query(format!(
                "SELECT {COLUMNS} FROM pipelines WHERE organization_id = $1 ORDER BY position, created_at"
            ))
            .bind(org),
        )
        .await?;
    let stages: Vec<Stage> = tx
        .raw()
        .fetch_all(
            query(format!(
                "SELECT {STAGE_COLUMNS} FROM pipeline_stages WHERE organization_id = $1 ORDER BY position"
            ))
            .bind(org),
        )
        .await?;
    for p in &mut pipelines {
        p.stages = stages
            .iter()
            .filter(|s| s.pipeline_id == p.id)
            .cloned()
            .collect();
    }
    Ok(pipelines)
}

pub async fn find(tx: &mut TenantTx, id: PipelineId) -> Result<Option<Pipeline>> {
    let org = tx.organization_id();
    let pipeline: Option<Pipeline> = tx
        .raw()
        .fetch_optional(
            query(format!(
                "SELECT {COLUMNS} FROM pipelines WHERE organization_id = $1 AND id = $2"
            ))
            .bind(org)
            .bind(id),
        )
        .await?;
    let Some(mut pipeline) = pipeline else {
        return Ok(None);
    };
    pipeline.stages = tx
        .raw()
        .fetch_all(
            query(format!(
                "SELECT {STAGE_COLUMNS} FROM pipeline_stages WHERE organization_id = $1 AND pipeline_id = $2 ORDER BY position"
            ))
            .bind(org)
            .bind(id),
        )
        .await?;
    Ok(Some(pipeline))
}

/// The organization's default pipeline.
pub async fn default(tx: &mut TenantTx) -> Result<Option<Pipeline>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(try_from = "uuid::Uuid")]
        id: PipelineId,
    }
    let org = tx.organization_id();
    let row: Option<Row> = tx
        .raw()
        .fetch_optional(
            query("SELECT id FROM pipelines WHERE organization_id = $1 AND is_default = $2")
                .bind(org)
                .bind(true),
        )
        .await?;
    match row {
        Some(r) => find(tx, r.id).await,
        None => Ok(None),
    }
}

/// Renames a pipeline and replaces its stages (ids of kept keys are kept).
pub async fn update(
    tx: &mut TenantTx,
    id: PipelineId,
    name: &str,
    card_fields: &[String],
    stages: &[StageFields],
) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query("UPDATE pipelines SET name = $1, updated_at = $2, card_fields = $5 WHERE organization_id = $3 AND id = $4")
                .bind(name)
                .bind(crate::now())
                .bind(org)
                .bind(id)
                .bind(FieldList::column(card_fields)),
        )
        .await?;
    let keys: Vec<&str> = stages.iter().map(|s| s.key.as_str()).collect();
    let current = find(tx, id).await?.map(|p| p.stages).unwrap_or_default();
    for old in current.iter().filter(|s| !keys.contains(&s.key.as_str())) {
        tx.raw()
            .execute(
                query("DELETE FROM pipeline_stages WHERE organization_id = $1 AND id = $2")
                    .bind(org)
                    .bind(old.id),
            )
            .await?;
    }
    for (position, stage) in stages.iter().enumerate() {
        if let Some(old) = current.iter().find(|s| s.key == stage.key) {
            tx.raw()
                .execute(
                    query(
                        "UPDATE pipeline_stages SET name = $1, position = $2, probability = $3, rotting_days = $4, \
                         required_fields = $7 WHERE organization_id = $5 AND id = $6",
                    )
                    .bind(&stage.name)
                    .bind(position as i64)
                    .bind(stage.probability)
                    .bind(stage.rotting_days)
                    .bind(org)
                    .bind(old.id)
                    .bind(FieldList::column(&stage.required_fields)),
                )
                .await?;
        } else {
            tx.raw()
                .execute(
                    query(
                        "INSERT INTO pipeline_stages (organization_id, id, pipeline_id, key, name, position, probability, rotting_days, required_fields) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(org)
                    .bind(StageId::new())
                    .bind(id)
                    .bind(&stage.key)
                    .bind(&stage.name)
                    .bind(position as i64)
                    .bind(stage.probability)
                    .bind(stage.rotting_days)
                    .bind(FieldList::column(&stage.required_fields)),
                )
                .await?;
        }
    }
    Ok(())
}

/// Makes this pipeline the organization's default.
pub async fn make_default(tx: &mut TenantTx, id: PipelineId) -> Result<()> {
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query("UPDATE pipelines SET is_default = $1 WHERE organization_id = $2 AND is_default = $3")
                .bind(false)
                .bind(org)
                .bind(true),
        )
        .await?;
    tx.raw()
        .execute(
            query("UPDATE pipelines SET is_default = $1 WHERE organization_id = $2 AND id = $3")
                .bind(true)
                .bind(org)
                .bind(id),
        )
        .await?;
    Ok(())
}

pub async fn delete(tx: &mut TenantTx, id: PipelineId) -> Result<bool> {
    let org = tx.organization_id();
    Ok(tx
        .raw()
        .execute(
            query("DELETE FROM pipelines WHERE organization_id = $1 AND id = $2")
                .bind(org)
                .bind(id),
        )
        .await?
        == 1)
}

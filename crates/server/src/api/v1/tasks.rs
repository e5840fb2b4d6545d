//! `/api/v1/tasks`.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use rapport_app::model::Task;
use rapport_app::model::{TaskFilter, TaskSort};
use rapport_app::tasks::{TaskChange, TaskQuery};
use rapport_domain::{CompanyId, ContactId, DealId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::kinds::{self, Order, RecordOut};
use super::types::{Page, SortKind, present};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Meta, Scope};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskOut {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub deal_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    /// A record of a custom object the task is about.
    pub record_id: Option<Uuid>,
    pub assignee_id: Uuid,
    pub created_by: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub is_done: bool,
    pub completed_at: Option<DateTime<Utc>>,
    /// When the assignee is reminded (a notification, by email too if they chose).
    pub remind_at: Option<DateTime<Utc>>,
    /// When the reminder was sent.
    pub reminded_at: Option<DateTime<Utc>>,
    /// Custom field values.
    #[schema(value_type = Object)]
    pub custom: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl kinds::ApiKind for Task {
    type In = TaskIn;
    type Out = TaskOut;
    const PLURAL: &'static str = "tasks";
    const SORTS: &'static [(&'static str, TaskSort)] = &[
        ("created_at", TaskSort::CreatedAt),
        ("due_date", TaskSort::DueDate),
        ("updated_at", TaskSort::UpdatedAt),
        ("title", TaskSort::Title),
    ];
    fn sort_kind(sort: TaskSort) -> SortKind {
        match sort {
            TaskSort::DueDate => SortKind::Date,
            TaskSort::Title => SortKind::Text,
            TaskSort::CreatedAt | TaskSort::UpdatedAt => SortKind::Time,
        }
    }
    fn query(raw: &str) -> ApiResult<rapport_app::kinds::ListQuery<Task>> {
        task_query(crate::extract::parse_query(raw)?)
    }
}

impl RecordOut<Task> for TaskOut {}

impl From<rapport_app::model::Task> for TaskOut {
    fn from(t: rapport_app::model::Task) -> Self {
        Self {
            id: t.id.as_uuid(),
            organization_id: t.organization_id.as_uuid(),
            deal_id: t.deal_id,
            contact_id: t.contact_id,
            company_id: t.company_id,
            record_id: t.record_id,
            assignee_id: t.assignee_id.as_uuid(),
            created_by: t.created_by.as_uuid(),
            title: t.title,
            description: t.description,
            due_date: t.due_date,
            is_done: t.is_done,
            completed_at: t.completed_at,
            remind_at: t.remind_at,
            reminded_at: t.reminded_at,
            custom: t.custom.0,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskIn {
    pub title: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// Today or later in the organization's time zone.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<NaiveDate>)]
    pub due_date: Option<Option<NaiveDate>>,
    /// Defaults to the caller.
    pub assignee_id: Option<Uuid>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub deal_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub contact_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub company_id: Option<Option<Uuid>>,
    /// A record of a custom object (any object); null unlinks.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub record_id: Option<Option<Uuid>>,
    pub is_done: Option<bool>,
    /// When to remind the assignee (RFC 3339, in the future); null removes the reminder.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub remind_at: Option<Option<DateTime<Utc>>>,
    /// Custom field values by key (checked against the object's fields; `null` clears one, keys
    /// not given stay).
    #[schema(value_type = Option<Object>)]
    pub custom: Option<serde_json::Map<String, serde_json::Value>>,
}

impl From<TaskIn> for TaskChange {
    fn from(t: TaskIn) -> Self {
        TaskChange {
            title: t.title,
            description: t.description,
            due_date: t.due_date,
            assignee_id: t.assignee_id.map(UserId),
            deal_id: t.deal_id.map(|o| o.map(DealId)),
            contact_id: t.contact_id.map(|o| o.map(ContactId)),
            company_id: t.company_id.map(|o| o.map(CompanyId)),
            record_id: t.record_id.map(|o| o.map(rapport_domain::RecordId)),
            is_done: t.is_done,
            remind_at: t.remind_at,
            custom: t.custom,
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TaskParams {
    pub deal_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    /// Tasks about a record of a custom object.
    pub record_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub is_done: Option<bool>,
    /// Only tasks not done (same as is_done=false).
    pub only_open: Option<bool>,
    /// Due strictly before this date.
    pub due_before: Option<NaiveDate>,
    /// Due strictly after this date.
    pub due_after: Option<NaiveDate>,
    /// due_date, created_at (default), updated_at or title
    pub order_by: Option<String>,
    /// asc (default) or desc
    pub order: Option<String>,
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u64>,
    pub cursor: Option<String>,
}

/// Tasks of the organization.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", security(("bearer" = [])),
    params(TaskParams, ("X-Organization-Id" = Uuid, Header)),
    responses((status = 200, body = Page<TaskOut>), (status = 400, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    scope: Scope,
    Meta(meta): Meta,
    ApiQuery(p): ApiQuery<TaskParams>,
) -> ApiResult<Json<Page<TaskOut>>> {
    kinds::list(&state, &scope, &meta, task_query(p)?).await
}

/// The query a list's parameters ask for.
fn task_query(p: TaskParams) -> ApiResult<TaskQuery> {
    let is_done = match (p.is_done, p.only_open) {
        (Some(true), Some(true)) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "is_done=true and only_open=true exclude each other",
            ));
        }
        (_, Some(true)) => Some(false),
        (done, _) => done,
    };
    let filter = TaskFilter {
        deal_id: p.deal_id.map(DealId),
        contact_id: p.contact_id.map(ContactId),
        company_id: p.company_id.map(CompanyId),
        record_id: p.record_id.map(rapport_domain::RecordId),
        assignee_id: p.assignee_id.map(UserId),
        is_done,
        due_before: p.due_before,
        due_after: p.due_after,
    };
    kinds::list_query(Order::from(&p), filter)
}

kinds::record_verbs! {
    kind: Task,
    body: TaskIn,
    out: TaskOut,
    tag: "tasks",
    path: "/api/v1/tasks",
    item: "/api/v1/tasks/{id}",
    /// Create a task (a member only on deals they own).
    create,
    /// One task.
    get,
    /// Change a task (members: tasks assigned to them or on deals they own).
    update,
    /// Delete a task.
    delete,
}

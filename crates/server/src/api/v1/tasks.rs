//! `/api/v1/tasks`.

use chrono::{DateTime, NaiveDate, Utc};
use rapport_app::model::Task;
use rapport_app::model::{TaskFilter, TaskSort};
use rapport_domain::{CompanyId, ContactId, DealId, UserId};
use serde::Deserialize;
use uuid::Uuid;

use super::kinds;
use super::types::{Page, SortKind, present};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Meta, Scope};
use crate::state::AppState;

kinds::record_answer! {
    Task => TaskOut {
        deal_id: Option<Uuid> = |t| t.deal_id.map(Into::into),
        contact_id: Option<Uuid> = |t| t.contact_id.map(Into::into),
        company_id: Option<Uuid> = |t| t.company_id.map(Into::into),
        /// A record of a custom object the task is about.
        record_id: Option<Uuid> = |t| t.record_id.map(Into::into),
        assignee_id: Uuid,
        created_by: Uuid,
        title: String,
        description: Option<String>,
        due_date: Option<NaiveDate>,
        is_done: bool,
        completed_at: Option<DateTime<Utc>>,
        /// When the assignee is reminded (a notification, by email too if they chose).
        remind_at: Option<DateTime<Utc>>,
        /// When the reminder was sent.
        reminded_at: Option<DateTime<Utc>>,
        /// The clients who see its record in the client portal see it too.
        portal_visible: bool,
    }
}

impl kinds::ApiKind for Task {
    type In = TaskIn;
    type Out = TaskOut;
    const PLURAL: &'static str = "tasks";
    const SORTS: &'static [(&'static str, TaskSort, SortKind)] = &[
        ("created_at", TaskSort::CreatedAt, SortKind::Time),
        ("due_date", TaskSort::DueDate, SortKind::Date),
        ("updated_at", TaskSort::UpdatedAt, SortKind::Time),
        ("title", TaskSort::Title, SortKind::Text),
    ];
    type Params = TaskParams;
    fn filter(_: Vec<String>, p: TaskParams) -> ApiResult<TaskFilter> {
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
        Ok(TaskFilter {
            deal_id: p.deal_id.map(DealId),
            contact_id: p.contact_id.map(ContactId),
            company_id: p.company_id.map(CompanyId),
            record_id: p.record_id.map(rapport_domain::RecordId),
            assignee_id: p.assignee_id.map(UserId),
            is_done,
            due_before: p.due_before,
            due_after: p.due_after,
        })
    }
}

kinds::record_body! {
    TaskIn {
        title: Option<String>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<String>)]
        description: Option<Option<String>>,
        /// Today or later in the organization's time zone.
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<NaiveDate>)]
        due_date: Option<Option<NaiveDate>>,
        /// Defaults to the caller.
        #[schema(value_type = Option<Uuid>)]
        assignee_id: Option<UserId>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<Uuid>)]
        deal_id: Option<Option<DealId>>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<Uuid>)]
        contact_id: Option<Option<ContactId>>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<Uuid>)]
        company_id: Option<Option<CompanyId>>,
        /// A record of a custom object (any object); null unlinks.
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<Uuid>)]
        record_id: Option<Option<rapport_domain::RecordId>>,
        is_done: Option<bool>,
        /// When to remind the assignee (RFC 3339, in the future); null removes the reminder.
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<DateTime<Utc>>)]
        remind_at: Option<Option<DateTime<Utc>>>,
        /// Show it to the clients who see its record in the client portal.
        portal_visible: Option<bool>,
    }
}

/// The tasks list's filters.
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
}

kinds::list_verbs! {
    kind: Task,
    out: TaskOut,
    params: TaskParams,
    tag: "tasks",
    path: "/api/v1/tasks",
    order_by: "due_date, created_at (default), updated_at or title",
    /// Tasks of the organization.
    list,
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

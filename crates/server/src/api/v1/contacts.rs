//! `/api/v1/contacts` (and the company endpoints contacts link to).

use rapport_app::model::Contact;
use rapport_app::model::{ContactFilter, ContactSort};
use rapport_domain::{CompanyId, UserId};
use serde::Deserialize;
use uuid::Uuid;

use super::kinds;
use super::types::{Page, SortKind, present};
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Meta, Scope};
use crate::state::AppState;

kinds::record_answer! {
    Contact => ContactOut + tags {
        owner_id: Uuid,
        company_id: Option<Uuid> = |c| c.company_id.map(Into::into),
        name: String,
        email: Option<String>,
        phone: Option<String>,
        title: Option<String>,
    }
}

impl kinds::ApiKind for Contact {
    type In = ContactIn;
    type Out = ContactOut;
    const PLURAL: &'static str = "contacts";
    const SORTS: &'static [(&'static str, ContactSort, SortKind)] = &[
        ("created_at", ContactSort::CreatedAt, SortKind::Time),
        ("name", ContactSort::Name, SortKind::Text),
        ("updated_at", ContactSort::UpdatedAt, SortKind::Time),
    ];
    type Params = ContactParams;
    fn filter(_: Vec<String>, p: ContactParams) -> ApiResult<ContactFilter> {
        Ok(ContactFilter {
            search: p.search,
            owner_id: p.owner_id.map(UserId),
            company_id: p.company_id.map(CompanyId),
            tag_id: p.tag_id.map(rapport_domain::TagId),
        })
    }
}

kinds::record_body! {
    ContactIn {
        name: Option<String>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<String>)]
        email: Option<Option<String>>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<String>)]
        phone: Option<Option<String>>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<String>)]
        title: Option<Option<String>>,
        /// A company of the same organization; null unlinks.
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Option<Uuid>)]
        company_id: Option<Option<CompanyId>>,
        /// Defaults to the caller.
        #[schema(value_type = Option<Uuid>)]
        owner_id: Option<UserId>,
    }
}

/// The contacts list's filters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ContactParams {
    /// Case-insensitive part of the name, email or phone.
    pub search: Option<String>,
    pub owner_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub tag_id: Option<Uuid>,
}

kinds::list_verbs! {
    kind: Contact,
    out: ContactOut,
    params: ContactParams,
    tag: "contacts",
    path: "/api/v1/contacts",
    order_by: "name, created_at (default) or updated_at",
    /// Contacts of the organization.
    list,
    /// The contacts the list's filters select, as CSV: every page, streamed (roles that may export).
    export: "/api/v1/contacts/export.csv",
    columns: "`id, name, email, phone, title, company_id, owner, created_at`",
}

kinds::record_verbs! {
    kind: Contact,
    body: ContactIn,
    out: ContactOut,
    tag: "contacts",
    path: "/api/v1/contacts",
    item: "/api/v1/contacts/{id}",
    /// Create a contact (owner defaults to the caller).
    create,
    /// One contact.
    get,
    /// Change a contact (members: only contacts they own).
    update,
    /// Delete a contact (it stays restorable for 30 days).
    delete [(status = 409, description = "`contact_has_deals`: deals still link the contact", body = Problem)],
}

//! The records and read models the app hands out and takes in (rows, filters, sorts), defined by
//! the storage layer and named here, so the server speaks of them without reaching into storage.

pub use rapport_store::activities::Activity;
pub use rapport_store::companies::{Company, CompanyFilter, CompanySort};
pub use rapport_store::contacts::{Contact, ContactFilter, ContactSort};
pub use rapport_store::deals::{BoardFilter, Deal, DealFilter, DealSort};
pub use rapport_store::files::{FileRow, VersionRow};
pub use rapport_store::invitations::Invitation;
pub use rapport_store::jobs::STATUSES as JOB_STATUSES;
pub use rapport_store::keyset::SortValue;
pub use rapport_store::leads::{Lead, LeadFilter, LeadSort};
pub use rapport_store::memberships::{Member, UserOrganization};
pub use rapport_store::organizations::Organization;
pub use rapport_store::pipelines::Pipeline;
pub use rapport_store::support::{Grant as SupportGrant, RequestedGrant as RequestedSupportGrant};
pub use rapport_store::tags::Tag;
pub use rapport_store::tasks::{Task, TaskFilter, TaskSort};
pub use rapport_store::users::User;
pub use rapport_store::views::SavedView;
pub use rapport_store::webhooks::{Attempt, Delivery, Endpoint};
pub use rapport_store::{Error as StoreError, PoolStats, count_round_trips, one_read};

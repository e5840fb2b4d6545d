//! One newtype per entity id, so an organization id can never be passed where a user id is meant.
//! Ids are UUIDv7: time-ordered, which keeps B-tree inserts local and keyset pages stable.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! entity_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(value: Uuid) -> Self {
                Self(value)
            }
        }

        impl From<$name> for Uuid {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

entity_id!(
    /// An organization: the tenant.
    OrganizationId
);
entity_id!(
    /// A person who can sign in. Users are global; they join organizations through memberships.
    UserId
);
entity_id!(
    /// A user's membership of one organization, with a role.
    MembershipId
);
entity_id!(
    /// An invitation to join an organization.
    InvitationId
);
entity_id!(
    /// A custom domain attached to an organization.
    DomainId
);
entity_id!(
    /// An entry of the audit log.
    AuditEntryId
);
entity_id!(
    /// A browser session.
    SessionId
);
entity_id!(
    /// A chain of refresh tokens issued from one sign-in.
    TokenFamilyId
);
entity_id!(
    /// An API key of an organization.
    ApiKeyId
);
entity_id!(
    /// A company (an account) of the CRM.
    CompanyId
);
entity_id!(
    /// A person the organization deals with.
    ContactId
);
entity_id!(
    /// A sales pipeline: an ordered list of stages deals move through.
    PipelineId
);
entity_id!(
    /// A stage of a pipeline.
    StageId
);
entity_id!(
    /// A deal (an opportunity) in a pipeline.
    DealId
);
entity_id!(
    /// A task, assigned to a member, optionally about a deal, contact or company.
    TaskId
);
entity_id!(
    /// An entry of a record's timeline: a comment, a logged call or a system event.
    ActivityId
);
entity_id!(
    /// A lead: someone who may become a customer, not yet qualified.
    LeadId
);
entity_id!(
    /// A tag of an organization, put on records.
    TagId
);
entity_id!(
    /// A saved view of a list: its filters, sort and columns under a name.
    ViewId
);
entity_id!(
    /// A domain event in the outbox (UUIDv7: ids order events as they were written).
    EventId
);
entity_id!(
    /// A background job in the queue.
    JobId
);
entity_id!(
    /// A notification for one member.
    NotificationId
);
entity_id!(
    /// A webhook endpoint of an organization.
    WebhookId
);
entity_id!(
    /// One event's delivery to one webhook endpoint.
    DeliveryId
);
entity_id!(
    /// A kind of record an organization defined (a custom object such as berths or campaigns).
    ObjectId
);
entity_id!(
    /// A field of an object: built in, or one an organization added.
    FieldId
);
entity_id!(
    /// A record of a custom object.
    RecordId
);
entity_id!(
    /// A custom role of an organization, or a system role it tuned.
    RoleId
);
entity_id!(
    /// A team of an organization's members.
    TeamId
);

//! Who acts, in which organization, from where.

use rapport_domain::{Role, UserId};
use rapport_store::organizations::Organization;

/// Where a request came from; copied into audit entries.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// What was asked: `GET /api/v1/contacts` (kept for support access's audit).
    pub route: Option<String>,
}

/// The authenticated user.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    /// Runs the platform; grants no access to any organization's records by itself.
    pub is_instance_admin: bool,
    /// Whether the person signs in with a second factor.
    pub two_factor: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Set when the request authenticated with an API key: the actor is the key's creator, acting
    /// with the key's role in the key's organization only.
    pub api_key: Option<ApiKeyPrincipal>,
    /// The sign-in the request was made with, when it was a person's (not an API key's).
    pub sign_in: Option<SignIn>,
    /// Set when the person signed in through this organization's single sign-on: the sign-in
    /// reaches that organization only and changes nothing account-wide.
    pub confined_to: Option<rapport_domain::OrganizationId>,
}

impl Actor {
    /// Refuses account-wide changes (password, email, two-factor, new organizations) to a
    /// sign-in confined to one organization by its single sign-on.
    pub fn require_whole_account(&self) -> Result<(), crate::AppError> {
        match self.confined_to {
            Some(_) => Err(crate::AppError::WholeAccountRequired),
            None => Ok(()),
        }
    }
}

/// One sign-in of a person: a browser session, or an API token family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignIn {
    Session(rapport_domain::SessionId),
    TokenFamily(rapport_domain::TokenFamilyId),
}

/// The API key a request was made with.
#[derive(Clone, Debug)]
pub struct ApiKeyPrincipal {
    pub id: rapport_domain::ApiKeyId,
    pub organization_id: rapport_domain::OrganizationId,
    pub role: Role,
    /// The key's role, capped by what its creator may do now.
    pub access: crate::roles::Access,
}

/// The organization a request acts in, and the actor's role there.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub organization: Organization,
    /// The level of the actor's role: what they may administer.
    pub role: Role,
    /// What the actor's role may do to records.
    pub access: crate::roles::Access,
    /// The name of the role an owner or admin is looking through (a preview, read-only), when
    /// they are: `role` and `access` are then that role's.
    pub preview: Option<String>,
    /// The support access grant the actor (an instance administrator, not a member) entered
    /// with, when they did: every request under it is audited as such.
    pub support: Option<uuid::Uuid>,
}

impl Tenant {
    pub fn id(&self) -> rapport_domain::OrganizationId {
        self.organization.id
    }

    /// Whether the actor may do `action` to `object`: a record kind by their role's permission
    /// matrix, administration by their role's level. Records of custom objects in general
    /// ([`Object::Record`](rapport_domain::Object::Record), where no object is named) answer
    /// only what the role may do to every custom object; [`Tenant::may_kind`] names the object.
    pub fn may(
        &self,
        action: rapport_domain::Action,
        object: rapport_domain::Object,
        ownership: rapport_domain::Ownership,
    ) -> bool {
        // Support access never changes who belongs to the organization or holds its keys: what
        // could outlast the grant.
        if self.support.is_some()
            && matches!(
                object,
                rapport_domain::Object::Member | rapport_domain::Object::ApiKey
            )
            && action != rapport_domain::Action::View
        {
            return false;
        }
        match object.kind_key() {
            Some(kind) => self.may_kind(action.into(), kind, ownership),
            None if object == rapport_domain::Object::Record => {
                let action = action.into();
                let grants = &self.access.grants;
                let builtin = ["company", "contact", "lead", "deal", "task"];
                grants.default_effective(action).reaches(ownership)
                    && grants
                        .kinds
                        .iter()
                        .filter(|(kind, _)| !builtin.contains(&kind.as_str()))
                        .all(|(kind, _)| grants.allows(kind, action, ownership))
            }
            None => rapport_domain::decide(self.role, action, object, ownership).is_allowed(),
        }
    }

    /// Whether the actor may do `action` to a record of the kind `kind` (an object key).
    pub fn may_kind(
        &self,
        action: rapport_domain::access::RecordAction,
        kind: &str,
        ownership: rapport_domain::Ownership,
    ) -> bool {
        self.access.grants.allows(kind, action, ownership)
    }

    /// The records of `kind` that `action` reaches for the actor, in a list: what their role's
    /// scope for it reaches, and for anything but viewing, no further than viewing does.
    pub fn reach(
        &self,
        actor: &Actor,
        action: rapport_domain::access::RecordAction,
        kind: &str,
    ) -> rapport_domain::access::Reach {
        self.reach_of(actor.user_id, action, kind)
    }

    /// [`Tenant::reach`] for the member `user`.
    pub fn reach_of(
        &self,
        user: UserId,
        action: rapport_domain::access::RecordAction,
        kind: &str,
    ) -> rapport_domain::access::Reach {
        use rapport_domain::access::{Reach, Scope};
        match self.access.grants.effective(kind, action) {
            Scope::All => Reach::All,
            Scope::Own => Reach::Owners(vec![user]),
            Scope::Team => {
                let mut owners = self.access.teammates.as_ref().clone();
                if !owners.contains(&user) {
                    owners.push(user);
                }
                Reach::Owners(owners)
            }
            Scope::None => Reach::Owners(Vec::new()),
        }
    }

    /// The tenant an export reads its list as: one whose view of each kind reaches no further
    /// than its export.
    pub fn exporting(&self) -> Tenant {
        let mut tenant = self.clone();
        tenant.access.grants = self.access.grants.exporting().into();
        tenant
    }

    /// Whether the actor sees a record of `kind` they relate to as `ownership`.
    pub fn sees(&self, kind: &str, ownership: rapport_domain::Ownership) -> bool {
        self.may_kind(rapport_domain::access::RecordAction::View, kind, ownership)
    }
}

impl Tenant {
    /// How the actor relates to a record owned by `owner`: their own, a teammate's (someone who
    /// shares a team with them), or someone else's.
    pub fn relation(&self, actor: &Actor, owner: UserId) -> rapport_domain::Ownership {
        self.relation_of(actor.user_id, owner)
    }

    /// [`Tenant::relation`] for the member `user`.
    pub fn relation_of(&self, user: UserId, owner: UserId) -> rapport_domain::Ownership {
        if user == owner {
            rapport_domain::Ownership::Own
        } else if self.access.teammates.contains(&owner) {
            rapport_domain::Ownership::Team
        } else {
            rapport_domain::Ownership::Others
        }
    }
}

impl Tenant {
    /// Today's date where the organization works (its time zone).
    pub fn today(&self) -> chrono::NaiveDate {
        let tz = rapport_domain::organization::TimeZone::parse(&self.organization.time_zone)
            .unwrap_or(rapport_domain::organization::TimeZone::DEFAULT)
            .tz();
        chrono::Utc::now().with_timezone(&tz).date_naive()
    }
}

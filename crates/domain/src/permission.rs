//! Who may do what: one pure function, `decide`, used by every service before it acts.
//!
//! The meaning of the system roles (see the API contract):
//! - owner, admin: everything in the organization, including its settings, members and roles;
//! - manager: everything except organization settings, members and roles;
//! - member: read everything, create records, change or delete only the records they own;
//! - viewer: read only.

use crate::Role;

/// What an actor wants to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    View,
    Create,
    Edit,
    Delete,
    Export,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::View,
        Action::Create,
        Action::Edit,
        Action::Delete,
        Action::Export,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::Create => "create",
            Action::Edit => "edit",
            Action::Delete => "delete",
            Action::Export => "export",
        }
    }
}

/// What the action is done to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Object {
    /// The organization itself: name, slug, currency, time zone, branding, domains.
    Organization,
    /// Memberships and invitations.
    Member,
    /// The organization's audit log.
    AuditLog,
    /// The organization's API keys.
    ApiKey,
    Company,
    Contact,
    Lead,
    Deal,
    Task,
    Activity,
    /// The organization's tags (members add them; managers and above rename and delete them).
    Tag,
    /// Saved views of lists.
    SavedView,
    /// The organization's objects and fields (definitions: every member reads them, owners and
    /// admins change them).
    Schema,
    /// A record of a custom object.
    Record,
}

impl Object {
    pub const ALL: [Object; 14] = [
        Object::Organization,
        Object::Member,
        Object::AuditLog,
        Object::ApiKey,
        Object::Company,
        Object::Contact,
        Object::Lead,
        Object::Deal,
        Object::Task,
        Object::Activity,
        Object::Tag,
        Object::SavedView,
        Object::Schema,
        Object::Record,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Object::Organization => "organization",
            Object::Member => "member",
            Object::AuditLog => "audit_log",
            Object::ApiKey => "api_key",
            Object::Company => "company",
            Object::Contact => "contact",
            Object::Lead => "lead",
            Object::Deal => "deal",
            Object::Task => "task",
            Object::Activity => "activity",
            Object::Tag => "tag",
            Object::SavedView => "saved_view",
            Object::Schema => "schema",
            Object::Record => "record",
        }
    }

    /// The record kind it is, by object key, for the permission matrix: the built-in kinds
    /// (a custom object's records are [`Object::Record`], whose kind the caller names).
    pub fn kind_key(self) -> Option<&'static str> {
        match self {
            Object::Company => Some("company"),
            Object::Contact => Some("contact"),
            Object::Lead => Some("lead"),
            Object::Deal => Some("deal"),
            Object::Task => Some("task"),
            _ => None,
        }
    }

    /// CRM records carry an owner; administration objects do not.
    pub fn is_record(self) -> bool {
        !matches!(
            self,
            Object::Organization
                | Object::Member
                | Object::AuditLog
                | Object::ApiKey
                | Object::Schema
        )
    }
}

/// How the actor relates to the record acted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ownership {
    /// The actor owns the record (for a task: owns its deal or is its assignee).
    Own,
    /// A teammate owns it (someone who shares a team with the actor).
    Team,
    /// Someone else owns it.
    Others,
    /// No particular record (a list, a creation, an administration object).
    NotApplicable,
}

/// The answer of [`decide`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
}

impl Decision {
    pub fn is_allowed(self) -> bool {
        self == Decision::Allow
    }
}

/// The permission rule of Rapport's system roles.
pub fn decide(role: Role, action: Action, object: Object, ownership: Ownership) -> Decision {
    let allowed = match role {
        Role::Owner | Role::Admin => true,
        Role::Manager => match object {
            Object::Organization | Object::Member | Object::Schema => action == Action::View,
            Object::AuditLog | Object::ApiKey => false,
            _ => true,
        },
        Role::Member => match object {
            Object::Organization | Object::Member | Object::Schema => action == Action::View,
            Object::AuditLog | Object::ApiKey => false,
            _ => match action {
                Action::View | Action::Create | Action::Export => true,
                Action::Edit | Action::Delete => ownership == Ownership::Own,
            },
        },
        Role::Viewer => match object {
            Object::AuditLog | Object::ApiKey => false,
            _ => action == Action::View,
        },
    };
    if allowed {
        Decision::Allow
    } else {
        Decision::Deny
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNERSHIPS: [Ownership; 3] =
        [Ownership::Own, Ownership::Others, Ownership::NotApplicable];

    /// The whole matrix, spelled out independently of `decide`'s structure: one expectation per
    /// (role, action, object, ownership).
    fn expected(role: Role, action: Action, object: Object, ownership: Ownership) -> bool {
        use Action::*;
        use Object::*;
        let admin_object = matches!(object, Organization | Member | AuditLog | ApiKey | Schema);
        // Only owners and admins see the audit log and the API keys.
        let restricted = matches!(object, AuditLog | ApiKey);
        match (role, admin_object) {
            (Role::Owner, _) | (Role::Admin, _) => true,
            (Role::Manager, true) => action == View && !restricted,
            (Role::Manager, false) => true,
            (Role::Member, true) => action == View && !restricted,
            (Role::Member, false) => match action {
                View | Create | Export => true,
                Edit | Delete => ownership == Ownership::Own,
            },
            (Role::Viewer, true) => action == View && !restricted,
            (Role::Viewer, false) => action == View,
        }
    }

    #[test]
    fn every_combination_matches_the_role_table() {
        let mut checked = 0;
        for role in Role::ALL {
            for action in Action::ALL {
                for object in Object::ALL {
                    for ownership in OWNERSHIPS {
                        let got = decide(role, action, object, ownership).is_allowed();
                        assert_eq!(
                            got,
                            expected(role, action, object, ownership),
                            "{role} {} {} {ownership:?}",
                            action.as_str(),
                            object.as_str()
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 5 * 5 * 14 * 3);
    }

    #[test]
    fn owners_and_admins_run_the_organization() {
        for role in [Role::Owner, Role::Admin] {
            assert!(
                decide(
                    role,
                    Action::Edit,
                    Object::Organization,
                    Ownership::NotApplicable
                )
                .is_allowed()
            );
            assert!(
                decide(
                    role,
                    Action::Create,
                    Object::Member,
                    Ownership::NotApplicable
                )
                .is_allowed()
            );
            assert!(
                decide(
                    role,
                    Action::View,
                    Object::AuditLog,
                    Ownership::NotApplicable
                )
                .is_allowed()
            );
        }
    }

    #[test]
    fn managers_do_everything_but_administration() {
        assert!(
            decide(
                Role::Manager,
                Action::Delete,
                Object::Deal,
                Ownership::Others
            )
            .is_allowed()
        );
        assert!(
            !decide(
                Role::Manager,
                Action::Edit,
                Object::Organization,
                Ownership::NotApplicable
            )
            .is_allowed()
        );
        assert!(
            !decide(
                Role::Manager,
                Action::Create,
                Object::Member,
                Ownership::NotApplicable
            )
            .is_allowed()
        );
        assert!(
            !decide(
                Role::Manager,
                Action::View,
                Object::AuditLog,
                Ownership::NotApplicable
            )
            .is_allowed()
        );
    }

    #[test]
    fn members_change_only_what_they_own() {
        assert!(
            decide(
                Role::Member,
                Action::Create,
                Object::Contact,
                Ownership::NotApplicable
            )
            .is_allowed()
        );
        assert!(decide(Role::Member, Action::Edit, Object::Deal, Ownership::Own).is_allowed());
        assert!(!decide(Role::Member, Action::Edit, Object::Deal, Ownership::Others).is_allowed());
        assert!(
            !decide(
                Role::Member,
                Action::Delete,
                Object::Task,
                Ownership::Others
            )
            .is_allowed()
        );
        assert!(decide(Role::Member, Action::View, Object::Deal, Ownership::Others).is_allowed());
    }

    #[test]
    fn viewers_only_read() {
        for action in [Action::Create, Action::Edit, Action::Delete, Action::Export] {
            for object in Object::ALL {
                assert!(!decide(Role::Viewer, action, object, Ownership::Own).is_allowed());
            }
        }
        assert!(
            decide(
                Role::Viewer,
                Action::View,
                Object::Contact,
                Ownership::Others
            )
            .is_allowed()
        );
    }
}

//! The system roles of a membership.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A member's role in an organization, from most to least powerful.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Manager,
    Member,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Admin,
        Role::Manager,
        Role::Member,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    /// How much the role may do: owner 4 … viewer 0.
    fn power(self) -> u8 {
        match self {
            Role::Owner => 4,
            Role::Admin => 3,
            Role::Manager => 2,
            Role::Member => 1,
            Role::Viewer => 0,
        }
    }

    /// The less powerful of `self` and `cap`: what an API key acts with, capped by its
    /// creator's current role.
    pub fn at_most(self, cap: Role) -> Role {
        if self.power() <= cap.power() {
            self
        } else {
            cap
        }
    }

    /// Owners and admins run the organization: settings, members, roles.
    pub fn administers(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// Whether a member with this role may hand out `other`. Only owners make owners.
    pub fn may_grant(self, other: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => other != Role::Owner,
            _ => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not the name of a role.
#[derive(Debug, thiserror::Error)]
#[error("must be one of owner, admin, manager, member, viewer")]
pub struct UnknownRole;

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or(UnknownRole)
    }
}

impl TryFrom<String> for Role {
    type Error = UnknownRole;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().ok(), Some(role));
        }
        assert!("superuser".parse::<Role>().is_err());
    }

    #[test]
    fn only_owners_grant_ownership() {
        assert!(Role::Owner.may_grant(Role::Owner));
        assert!(!Role::Admin.may_grant(Role::Owner));
        assert!(Role::Admin.may_grant(Role::Admin));
        assert!(!Role::Manager.may_grant(Role::Viewer));
    }
}

#[cfg(test)]
mod capping_tests {
    use super::*;

    #[test]
    fn a_role_capped_by_another_is_the_less_powerful_of_the_two() {
        assert_eq!(Role::Admin.at_most(Role::Viewer), Role::Viewer);
        assert_eq!(Role::Viewer.at_most(Role::Owner), Role::Viewer);
        assert_eq!(Role::Owner.at_most(Role::Admin), Role::Admin);
        assert_eq!(Role::Manager.at_most(Role::Manager), Role::Manager);
        for a in Role::ALL {
            for b in Role::ALL {
                assert_eq!(a.at_most(b), b.at_most(a), "{a} and {b}");
            }
        }
    }
}

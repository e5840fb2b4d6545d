//! Roles as data: an organization's system roles (their permissions tunable, the owner's
//! excepted) and the custom roles it creates, copies and deletes; and what a member's role lets
//! them do, read once per request ([`Access`]). The matrix itself is the domain's
//! ([`rapport_domain::access`]).

use std::sync::Arc;

use rapport_domain::access::{Grants, GrantsError, RecordAction, Scope};
use rapport_domain::{Action, Object, Ownership, Role, RoleId};
use rapport_store::TenantTx;
use rapport_store::roles::{self as store_roles, RoleFields, RoleRow, Standing};
use serde_json::{Value as Json, json};

use crate::audit::{entry, with_target};
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// What a member (or an API key) may do in an organization: their role's level, its key, and
/// its permission matrix over records.
#[derive(Clone, Debug)]
pub struct Access {
    pub role: Role,
    /// The role's key: a custom role's, or the level's.
    pub key: String,
    pub grants: Arc<Grants>,
    /// Everyone who shares a team with the member (themselves included when in one): what a
    /// "team" scope reaches.
    pub teammates: Arc<Vec<rapport_domain::UserId>>,
}

impl Access {
    /// A system role as it ships (before the organization tunes it).
    pub fn system(role: Role) -> Access {
        Access {
            role,
            key: role.as_str().to_owned(),
            grants: Arc::new(Grants::system(role)),
            teammates: Arc::new(Vec::new()),
        }
    }

    /// Read from the member's row and their role's stored matrix. An owner may always do
    /// everything; a matrix that no longer reads is the level's own (and logged).
    pub fn from_standing(standing: Standing) -> Access {
        let level = standing.role;
        let key = standing
            .role_key
            .clone()
            .unwrap_or_else(|| level.as_str().to_owned());
        let grants = match (&standing.grants, level) {
            (_, Role::Owner) | (None, _) => Grants::system(level),
            (Some(stored), _) => stored_grants(&stored.0, level, &key),
        };
        Access {
            role: level,
            key,
            grants: Arc::new(grants),
            teammates: Arc::new(standing.teammates),
        }
    }
}

/// A stored matrix, read over its level's defaults.
/// The matrix of a member's role now, read in `tx` (`None`: not a member).
pub(crate) async fn grants_of_member(
    tx: &mut rapport_store::TenantTx,
    user: rapport_domain::UserId,
) -> AppResult<Option<Grants>> {
    Ok(rapport_store::roles::standing_in(tx, user)
        .await?
        .map(|standing| (*Access::from_standing(standing).grants).clone()))
}

/// The names among `changed` (a change's field names) that a member may be told of: none of
/// the fields of `kind` hidden from their role. `None` when all of them are hidden.
pub(crate) async fn told_names(
    tx: &mut rapport_store::Tx,
    org: rapport_domain::OrganizationId,
    user: rapport_domain::UserId,
    kind: &str,
    changed: &[String],
) -> AppResult<Option<Vec<String>>> {
    let Some(standing) = rapport_store::roles::standing_at(tx, org, user).await? else {
        return Ok(None);
    };
    let grants = Access::from_standing(standing).grants;
    let hidden: Vec<String> = grants.hidden_fields(kind).map(str::to_owned).collect();
    let told: Vec<String> = changed
        .iter()
        .filter(|n| !crate::fields::is_hidden_name(n, &hidden))
        .cloned()
        .collect();
    Ok((told.len() == changed.len() || !told.is_empty()).then_some(told))
}

/// The matrix of one of the organization's system roles now, read in `tx`.
pub(crate) async fn grants_of_system_role(
    tx: &mut rapport_store::TenantTx,
    level: Role,
) -> AppResult<Grants> {
    Ok(
        match rapport_store::roles::find_by_key(tx, level.as_str()).await? {
            Some(row) if row.is_system && level != Role::Owner => {
                stored_grants(&row.grants.0, level, &row.key)
            }
            _ => Grants::system(level),
        },
    )
}

fn stored_grants(stored: &Json, level: Role, key: &str) -> Grants {
    Grants::from_json(stored, &Grants::system(level)).unwrap_or_else(|error| {
        tracing::error!(%error, role = key, "a role's stored permissions do not read; using its level's");
        Grants::system(level)
    })
}

/// One of an organization's roles as Settings → Roles and `/api/v1/roles` show it.
#[derive(Clone, Debug)]
pub struct RoleView {
    pub id: Option<RoleId>,
    pub key: String,
    pub name: String,
    pub description: String,
    pub level: Role,
    pub system: bool,
    /// Whether its permissions may be changed (every role's but the owner's).
    pub editable: bool,
    pub grants: Grants,
    /// Members holding it now.
    pub members: i64,
}

/// A kind of record the matrix has a row for: a built-in or custom object of the registry.
#[derive(Clone, Debug)]
pub struct PermissionKind {
    pub key: String,
    /// Its plural name, as the matrix's row reads.
    pub name: String,
    pub actions: Vec<RecordAction>,
}

/// An organization's roles and the kinds of record their matrices speak of.
#[derive(Clone, Debug)]
pub struct RoleList {
    pub roles: Vec<RoleView>,
    pub kinds: Vec<PermissionKind>,
    /// Every kind's fields and stages, for field rules.
    pub rule_kinds: Vec<crate::fields::RuleKind>,
}

/// A role named by a request: a level, and the custom role it is when it is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleChoice {
    pub level: Role,
    pub custom: Option<RoleId>,
    pub key: String,
}

/// What a new role starts from.
#[derive(Clone, Debug, Default)]
pub struct NewRole {
    pub name: String,
    pub description: String,
    /// The role whose level and permissions it copies (default: member).
    pub copy_of: Option<String>,
    /// Its level, when not the copied role's.
    pub level: Option<Role>,
    /// Cells of its matrix that differ from the copied role's (as [`RoleChange::grants`]).
    pub grants: Option<Json>,
}

/// A change to a role; what is `None` stays.
#[derive(Clone, Debug, Default)]
pub struct RoleChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub level: Option<Role>,
    /// Cells of the matrix, as `Grants::to_json` writes them (a part is enough).
    pub grants: Option<Json>,
}

const SYSTEM_DESCRIPTIONS: [(Role, &str); 5] = [
    (
        Role::Owner,
        "Everything, including the organization's settings, members and roles. Cannot be changed.",
    ),
    (
        Role::Admin,
        "Everything in the organization, including its settings, members and roles.",
    ),
    (
        Role::Manager,
        "Every record; no organization settings, members or roles.",
    ),
    (
        Role::Member,
        "Reads every record, creates records, changes and deletes their own.",
    ),
    (Role::Viewer, "Reads records; changes nothing."),
];

fn system_name(level: Role) -> String {
    let key = level.as_str();
    key[..1].to_uppercase() + &key[1..]
}

/// A custom role's key from its name: lowercase letters, digits and underscores, starting with
/// a letter (`Finance team` → `finance_team`).
pub fn key_from_name(name: &str) -> Option<String> {
    let mut key = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            key.push(c);
        } else if !key.is_empty() && !key.ends_with('_') {
            key.push('_');
        }
    }
    let key = key.trim_matches('_').chars().take(40).collect::<String>();
    let key = key.trim_end_matches('_').to_owned();
    key.chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase())
        .then_some(key)
}

fn grants_error(e: GrantsError) -> AppError {
    let field = match e {
        GrantsError::UnknownFieldAccess(_)
        | GrantsError::FieldShape
        | GrantsError::HiddenAtStages => "field_rules",
        _ => "grants",
    };
    AppError::invalid(field, e.to_string())
}

impl App {
    /// The organization's roles: the five system roles, then its custom roles by creation.
    pub async fn list_roles(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<RoleList> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Member,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let roles = roles_in(&mut tx).await?;
        let catalog = crate::objects::catalog(&mut tx, tenant.organization.created_at).await?;
        let pipelines = rapport_store::pipelines::list(&mut tx).await?;
        tx.commit().await?;
        let rule_kinds = crate::fields::rule_kinds(&catalog, &pipelines);
        let kinds = catalog
            .objects
            .iter()
            .map(|o| PermissionKind {
                key: o.def.key.to_string(),
                name: o.def.plural.clone(),
                actions: RecordAction::of_kind(o.def.key.as_str()),
            })
            .collect();
        Ok(RoleList {
            roles,
            kinds,
            rule_kinds,
        })
    }

    pub async fn role(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        key: &str,
        meta: &RequestMeta,
    ) -> AppResult<RoleView> {
        self.list_roles(actor, tenant, meta)
            .await?
            .roles
            .into_iter()
            .find(|r| r.key == key)
            .ok_or(AppError::NotFound)
    }

    /// The organization as a member of `key`'s role would find it, for an owner or admin who
    /// previews the role: its level and its matrix, with nothing else changed. Pages then show
    /// what the role would see; the web app refuses every change meanwhile.
    pub async fn preview_role(&self, tenant: &Tenant, key: &str) -> AppResult<Tenant> {
        if !tenant.role.administers() || tenant.preview.is_some() {
            return Err(AppError::Forbidden);
        }
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let roles = roles_in(&mut tx).await?;
        tx.commit().await?;
        let role = roles
            .into_iter()
            .find(|r| r.key == key)
            .ok_or(AppError::NotFound)?;
        Ok(Tenant {
            organization: tenant.organization.clone(),
            role: role.level,
            access: Access {
                role: role.level,
                key: role.key,
                grants: Arc::new(role.grants),
                teammates: tenant.access.teammates.clone(),
            },
            preview: Some(role.name),
            support: tenant.support,
        })
    }

    /// Refuses unless the actor administers the organization: roles and teams are changed as
    /// members are (owners and admins), and a refusal is written to the audit log.
    pub(crate) async fn authorize_roles(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
        action: Action,
    ) -> AppResult<()> {
        self.authorize(
            actor,
            tenant,
            meta,
            action,
            Object::Member,
            Ownership::NotApplicable,
        )
        .await
    }

    /// Creates a custom role, a copy of another (the member role by default).
    pub async fn create_role(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        input: NewRole,
        meta: &RequestMeta,
    ) -> AppResult<RoleView> {
        self.authorize_roles(actor, tenant, meta, Action::Create)
            .await?;
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(AppError::invalid(
                "name",
                "must be between 1 and 60 characters",
            ));
        }
        let Some(key) = key_from_name(name) else {
            return Err(AppError::invalid("name", "must start with a letter"));
        };
        if key.parse::<Role>().is_ok() {
            return Err(AppError::conflict(
                "role_key_taken",
                "a system role has this name; choose another",
            ));
        }
        let description = input.description.trim();
        if description.chars().count() > 300 {
            return Err(AppError::invalid(
                "description",
                "must be at most 300 characters",
            ));
        }
        let mut tx = self.db.tenant(tenant.id()).await?;
        let roles = roles_in(&mut tx).await?;
        let source = input.copy_of.as_deref().unwrap_or("member");
        let Some(source) = roles.iter().find(|r| r.key == source) else {
            return Err(AppError::invalid(
                "copy_of",
                "is not a role of this organization",
            ));
        };
        let level = input.level.unwrap_or(match source.level {
            Role::Owner => Role::Admin,
            level => level,
        });
        if level == Role::Owner {
            return Err(AppError::invalid(
                "level",
                "only the owner role is an owner; choose admin, manager, member or viewer",
            ));
        }
        if !tenant.role.may_grant(level) {
            drop(tx);
            self.record_denial(actor, tenant, meta, Action::Create, Object::Member)
                .await;
            return Err(AppError::Forbidden);
        }
        let grants = match &input.grants {
            Some(cells) => Grants::from_json(cells, &source.grants).map_err(grants_error)?,
            None => source.grants.clone(),
        };
        crate::fields::check_rules(&mut tx, tenant, &grants, input.grants.as_ref()).await?;
        let grants = grants.to_json();
        let row = store_roles::insert(
            &mut tx,
            &RoleFields {
                key: &key,
                name,
                description,
                level,
                is_system: false,
                grants: &grants,
            },
        )
        .await
        .map_err(|e| {
            if e.is_conflict_on("roles_organization_id_key_key") {
                AppError::conflict(
                    "role_key_taken",
                    "a role with this name exists; choose another",
                )
            } else {
                e.into()
            }
        })?;
        let mut e = with_target(entry(Some(actor), meta, "role.created"), "role", row.id);
        e.changes = Some(json!({"key": key, "name": name, "level": level, "copy_of": source.key}));
        crate::events::record(&mut tx, e).await?;
        let view = view_of_row(row, 0);
        tx.commit().await?;
        Ok(view)
    }

    /// Changes a role: a custom role's name, description, level and permissions; a system
    /// role's permissions (the owner's are fixed).
    pub async fn update_role(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        key: &str,
        change: RoleChange,
        meta: &RequestMeta,
    ) -> AppResult<RoleView> {
        self.authorize_roles(actor, tenant, meta, Action::Edit)
            .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        store_roles::lock(&mut tx, key).await?;
        let roles = roles_in(&mut tx).await?;
        let current = roles
            .into_iter()
            .find(|r| r.key == key)
            .ok_or(AppError::NotFound)?;
        if !current.editable {
            return Err(AppError::conflict(
                "role_not_editable",
                "the owner role may do everything and cannot be changed",
            ));
        }
        // A role that administers is the owners' to shape: admins do not change their own.
        if current.level.administers() && tenant.role != Role::Owner {
            drop(tx);
            self.record_denial(actor, tenant, meta, Action::Edit, Object::Member)
                .await;
            return Err(AppError::Forbidden);
        }
        if current.system
            && (change.name.is_some() || change.description.is_some() || change.level.is_some())
        {
            return Err(AppError::conflict(
                "system_role",
                "a system role keeps its name and level; only its permissions change",
            ));
        }
        let name = match &change.name {
            Some(n) if n.trim().is_empty() || n.trim().chars().count() > 60 => {
                return Err(AppError::invalid(
                    "name",
                    "must be between 1 and 60 characters",
                ));
            }
            Some(n) => n.trim().to_owned(),
            None => current.name.clone(),
        };
        let description = match &change.description {
            Some(d) if d.trim().chars().count() > 300 => {
                return Err(AppError::invalid(
                    "description",
                    "must be at most 300 characters",
                ));
            }
            Some(d) => d.trim().to_owned(),
            None => current.description.clone(),
        };
        let level = change.level.unwrap_or(current.level);
        if level == Role::Owner {
            return Err(AppError::invalid(
                "level",
                "only the owner role is an owner; choose admin, manager, member or viewer",
            ));
        }
        if level != current.level && !tenant.role.may_grant(level) {
            drop(tx);
            self.record_denial(actor, tenant, meta, Action::Edit, Object::Member)
                .await;
            return Err(AppError::Forbidden);
        }
        let grants = match &change.grants {
            Some(cells) => Grants::from_json(cells, &current.grants).map_err(grants_error)?,
            None => current.grants.clone(),
        };
        crate::fields::check_rules(&mut tx, tenant, &grants, change.grants.as_ref()).await?;
        let grants_json = grants.to_json();
        let fields = RoleFields {
            key: &current.key,
            name: &name,
            description: &description,
            level,
            is_system: current.system,
            grants: &grants_json,
        };
        let id = match current.id {
            Some(id) => {
                store_roles::update(&mut tx, id, &fields).await?;
                id
            }
            // A system role tuned for the first time gets its row (once: a second first
            // change at the same moment is asked to try again).
            None => {
                store_roles::insert(&mut tx, &fields)
                    .await
                    .map_err(|e| {
                        if e.is_conflict_on("roles_organization_id_key_key") {
                            AppError::conflict(
                                "role_changed_meanwhile",
                                "someone else changed this role at the same moment; try again",
                            )
                        } else {
                            e.into()
                        }
                    })?
                    .id
            }
        };
        let mut changes = serde_json::Map::new();
        if name != current.name {
            changes.insert(
                "name".into(),
                json!({"before": current.name, "after": name}),
            );
        }
        if description != current.description {
            changes.insert(
                "description".into(),
                json!({"before": current.description, "after": description}),
            );
        }
        if level != current.level {
            changes.insert(
                "level".into(),
                json!({"before": current.level, "after": level}),
            );
        }
        for (cell, before, after) in changed_cells(&current.grants, &grants) {
            changes.insert(cell, json!({"before": before, "after": after}));
        }
        if !changes.is_empty() {
            let mut e = with_target(entry(Some(actor), meta, "role.updated"), "role", id);
            changes.insert("key".into(), json!(current.key));
            e.changes = Some(Json::Object(changes));
            crate::events::record(&mut tx, e).await?;
        }
        let row = store_roles::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let view = view_of_row(row, current.members);
        tx.commit().await?;
        Ok(view)
    }

    /// Deletes a custom role; whoever holds it (members, invitations, API keys) moves to the
    /// role `move_to` names.
    pub async fn delete_role(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        key: &str,
        move_to: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.authorize_roles(actor, tenant, meta, Action::Delete)
            .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let roles = roles_in(&mut tx).await?;
        let current = roles
            .iter()
            .find(|r| r.key == key)
            .ok_or(AppError::NotFound)?;
        let Some(id) = current.id.filter(|_| !current.system) else {
            return Err(AppError::conflict(
                "system_role",
                "a system role cannot be deleted",
            ));
        };
        if current.level.administers() && tenant.role != Role::Owner {
            drop(tx);
            self.record_denial(actor, tenant, meta, Action::Delete, Object::Member)
                .await;
            return Err(AppError::Forbidden);
        }
        let target = roles
            .iter()
            .find(|r| r.key == move_to && r.key != key)
            .ok_or_else(|| {
                AppError::invalid("move_to", "must name another role of this organization")
            })?;
        if !tenant.role.may_grant(target.level) {
            drop(tx);
            self.record_denial(actor, tenant, meta, Action::Delete, Object::Member)
                .await;
            return Err(AppError::Forbidden);
        }
        let to = target.id.filter(|_| !target.system);
        let moved = store_roles::delete_moving_to(&mut tx, id, target.level, to).await?;
        let mut e = with_target(entry(Some(actor), meta, "role.deleted"), "role", id);
        e.changes = Some(
            json!({"key": key, "name": current.name, "moved_to": target.key, "members_moved": moved.len()}),
        );
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The role a key names in the organization (422 on `field` when it names none).
pub(crate) async fn choose_role(
    tx: &mut TenantTx,
    key: &str,
    field: &str,
) -> AppResult<RoleChoice> {
    if let Ok(level) = key.parse::<Role>() {
        return Ok(RoleChoice {
            level,
            custom: None,
            key: level.as_str().to_owned(),
        });
    }
    match store_roles::find_by_key(tx, key).await? {
        Some(row) if !row.is_system => Ok(RoleChoice {
            level: row.level,
            custom: Some(row.id),
            key: row.key,
        }),
        _ => Err(AppError::invalid(
            field,
            "must be owner, admin, manager, member, viewer or one of the organization's roles",
        )),
    }
}

/// Every role of the organization in `tx`, with how many members hold each.
pub(crate) async fn roles_in(tx: &mut TenantTx) -> AppResult<Vec<RoleView>> {
    let rows = store_roles::list(tx).await?;
    let members = rapport_store::memberships::list(tx).await?;
    let count = |key: &str| members.iter().filter(|m| m.role_key() == key).count() as i64;
    let mut out = Vec::new();
    for level in Role::ALL {
        let stored = rows.iter().find(|r| r.is_system && r.key == level.as_str());
        let grants = match stored {
            Some(row) if level != Role::Owner => stored_grants(&row.grants.0, level, &row.key),
            _ => Grants::system(level),
        };
        let description = match stored {
            Some(_) if level != Role::Owner => {
                "A system role whose permissions this organization changed.".to_owned()
            }
            _ => SYSTEM_DESCRIPTIONS
                .iter()
                .find(|(l, _)| *l == level)
                .map(|(_, d)| (*d).to_owned())
                .unwrap_or_default(),
        };
        out.push(RoleView {
            id: stored.map(|r| r.id),
            key: level.as_str().to_owned(),
            name: system_name(level),
            description,
            level,
            system: true,
            editable: level != Role::Owner,
            grants,
            members: count(level.as_str()),
        });
    }
    for row in rows.into_iter().filter(|r| !r.is_system) {
        let n = count(&row.key);
        out.push(view_of_row(row, n));
    }
    Ok(out)
}

fn view_of_row(row: RoleRow, members: i64) -> RoleView {
    let grants = stored_grants(&row.grants.0, row.level, &row.key);
    let system = row.is_system;
    let (name, description) = if system {
        let description = "A system role whose permissions this organization changed.".to_owned();
        (system_name(row.level), description)
    } else {
        (row.name, row.description)
    };
    RoleView {
        id: Some(row.id),
        key: row.key,
        name,
        description,
        level: row.level,
        system,
        editable: row.level != Role::Owner,
        grants,
        members,
    }
}

/// The cells two matrices disagree on, for the audit log: (`kind.action`, before, after); a
/// default cell is `*.action`.
fn changed_cells(before: &Grants, after: &Grants) -> Vec<(String, Scope, Scope)> {
    let mut out = Vec::new();
    for action in RecordAction::ALL {
        let b = before.default.get(&action).copied().unwrap_or(Scope::None);
        let a = after.default.get(&action).copied().unwrap_or(Scope::None);
        if a != b {
            out.push((format!("*.{}", action.as_str()), b, a));
        }
    }
    let kinds: std::collections::BTreeSet<&String> =
        before.kinds.keys().chain(after.kinds.keys()).collect();
    for kind in kinds {
        for action in RecordAction::ALL {
            let (b, a) = (before.scope(kind, action), after.scope(kind, action));
            if a != b {
                out.push((format!("{kind}.{}", action.as_str()), b, a));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_custom_roles_key_comes_from_its_name() {
        assert_eq!(key_from_name("Finance").as_deref(), Some("finance"));
        assert_eq!(
            key_from_name("  Client viewer (EU) ").as_deref(),
            Some("client_viewer_eu")
        );
        assert_eq!(key_from_name("2nd line"), None);
        assert_eq!(key_from_name("!!!"), None);
    }
}

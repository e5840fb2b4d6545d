//! Teams: groups of an organization's members, each with an optional lead. A record belongs to
//! its owner's teams, so a role whose scope is "team" reaches the records of everyone who shares
//! a team with the member (see [`crate::Tenant::reach`]). Owners and admins shape teams; every
//! member reads them.

use rapport_domain::{Action, TeamId, UserId, ValidationErrors};
use rapport_store::TenantTx;
use rapport_store::teams::{self as store_teams, TeamFields, TeamRow};
use serde_json::json;

use crate::audit::{entry, with_target};
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// A team as Settings → Teams and `/api/v1/teams` show it.
#[derive(Clone, Debug)]
pub struct TeamView {
    pub id: TeamId,
    pub name: String,
    pub description: String,
    pub lead_id: Option<UserId>,
    /// Its members, in the order they were given.
    pub members: Vec<UserId>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A team to create.
#[derive(Clone, Debug, Default)]
pub struct NewTeam {
    pub name: String,
    pub description: Option<String>,
    pub lead_id: Option<UserId>,
    pub members: Vec<UserId>,
}

/// A change to a team: what is given changes (`lead_id: Some(None)` leaves it without a lead).
#[derive(Clone, Debug, Default)]
pub struct TeamChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub lead_id: Option<Option<UserId>>,
    pub members: Option<Vec<UserId>>,
}

fn view_of(row: TeamRow, all: &[(TeamId, UserId)]) -> TeamView {
    TeamView {
        members: all
            .iter()
            .filter(|(t, _)| *t == row.id)
            .map(|(_, u)| *u)
            .collect(),
        id: row.id,
        name: row.name,
        description: row.description,
        lead_id: row.lead_id.map(UserId),
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// The name and description checked: 422 naming the field.
fn checked(name: &str, description: &str) -> AppResult<(String, String)> {
    let mut errors = ValidationErrors::new();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        errors.add("name", "must be between 1 and 60 characters");
    }
    if name.chars().any(char::is_control) {
        errors.add("name", "must not contain control characters");
    }
    let description = description.trim();
    if description.chars().count() > 500 {
        errors.add("description", "must be at most 500 characters");
    }
    errors.into_result()?;
    Ok((name.to_owned(), description.to_owned()))
}

/// The members given, once each, all of them members of the organization, with the lead among
/// them: a lead named now is added when missing (`lead_named`); a lead kept from before must
/// stay a member. 422 naming the field otherwise.
async fn checked_members(
    tx: &mut TenantTx,
    members: &[UserId],
    lead: Option<UserId>,
    lead_named: bool,
) -> AppResult<Vec<UserId>> {
    let everyone: Vec<UserId> = rapport_store::memberships::list(tx)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    let mut out: Vec<UserId> = Vec::new();
    for user in members {
        if !everyone.contains(user) {
            return Err(AppError::invalid(
                "members",
                format!("{user} is not a member of this organization"),
            ));
        }
        if !out.contains(user) {
            out.push(*user);
        }
    }
    if let Some(lead) = lead {
        if !everyone.contains(&lead) {
            return Err(AppError::invalid(
                "lead_id",
                "must be a member of this organization",
            ));
        }
        if !out.contains(&lead) {
            if !lead_named {
                return Err(AppError::invalid(
                    "members",
                    "must include the team's lead; choose another lead, or none, first",
                ));
            }
            out.insert(0, lead);
        }
    }
    Ok(out)
}

fn name_taken(e: rapport_store::Error) -> AppError {
    if e.is_conflict_on(store_teams::NAME_TAKEN) {
        AppError::conflict(
            "team_name_taken",
            "a team with this name exists; choose another",
        )
    } else {
        e.into()
    }
}

impl App {
    /// Every team with its members, by name.
    pub async fn teams(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<Vec<TeamView>> {
        self.authorize_roles(actor, tenant, meta, Action::View)
            .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let rows = store_teams::list(&mut tx).await?;
        let members = store_teams::members(&mut tx).await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(|r| view_of(r, &members)).collect())
    }

    /// One team.
    pub async fn team(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: TeamId,
        meta: &RequestMeta,
    ) -> AppResult<TeamView> {
        self.teams(actor, tenant, meta)
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or(AppError::NotFound)
    }

    pub async fn create_team(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        input: NewTeam,
        meta: &RequestMeta,
    ) -> AppResult<TeamView> {
        self.authorize_roles(actor, tenant, meta, Action::Create)
            .await?;
        let (name, description) = checked(&input.name, input.description.as_deref().unwrap_or(""))?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let members = checked_members(&mut tx, &input.members, input.lead_id, true).await?;
        let row = store_teams::insert(
            &mut tx,
            &TeamFields {
                name: &name,
                description: &description,
                lead_id: input.lead_id,
            },
        )
        .await
        .map_err(name_taken)?;
        store_teams::set_members(&mut tx, row.id, &members).await?;
        let mut e = with_target(entry(Some(actor), meta, "team.created"), "team", row.id);
        e.changes = Some(json!({"name": name, "description": description,
            "lead_id": input.lead_id, "members": members}));
        crate::events::record(&mut tx, e).await?;
        let all = store_teams::members(&mut tx).await?;
        tx.commit().await?;
        Ok(view_of(row, &all))
    }

    pub async fn update_team(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: TeamId,
        change: TeamChange,
        meta: &RequestMeta,
    ) -> AppResult<TeamView> {
        self.authorize_roles(actor, tenant, meta, Action::Edit)
            .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let current = store_teams::find_for_update(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let before_members: Vec<UserId> = store_teams::members(&mut tx)
            .await?
            .into_iter()
            .filter(|(t, _)| *t == id)
            .map(|(_, u)| u)
            .collect();
        let (name, description) = checked(
            change.name.as_deref().unwrap_or(&current.name),
            change
                .description
                .as_deref()
                .unwrap_or(&current.description),
        )?;
        let lead = change
            .lead_id
            .unwrap_or_else(|| current.lead_id.map(UserId));
        let members = checked_members(
            &mut tx,
            change.members.as_deref().unwrap_or(&before_members),
            lead,
            change.lead_id.is_some(),
        )
        .await?;
        let before_lead = current.lead_id.map(UserId);
        if name == current.name
            && description == current.description
            && lead == before_lead
            && members == before_members
        {
            // Nothing changes: nothing is written.
            let all = store_teams::members(&mut tx).await?;
            tx.commit().await?;
            return Ok(view_of(current, &all));
        }
        store_teams::update(
            &mut tx,
            id,
            &TeamFields {
                name: &name,
                description: &description,
                lead_id: lead,
            },
        )
        .await
        .map_err(name_taken)?;
        if members != before_members {
            store_teams::set_members(&mut tx, id, &members).await?;
        }
        let mut e = with_target(entry(Some(actor), meta, "team.updated"), "team", id);
        e.changes = Some(json!({
            "name": {"before": current.name, "after": name},
            "description": {"before": current.description, "after": description},
            "lead_id": {"before": current.lead_id, "after": lead},
            "members": {"before": before_members, "after": members},
        }));
        crate::events::record(&mut tx, e).await?;
        let row = store_teams::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let all = store_teams::members(&mut tx).await?;
        tx.commit().await?;
        Ok(view_of(row, &all))
    }

    pub async fn delete_team(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: TeamId,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.authorize_roles(actor, tenant, meta, Action::Delete)
            .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let current = store_teams::find_for_update(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let members: Vec<UserId> = store_teams::members(&mut tx)
            .await?
            .into_iter()
            .filter(|(t, _)| *t == id)
            .map(|(_, u)| u)
            .collect();
        store_teams::delete(&mut tx, id).await?;
        let mut e = with_target(entry(Some(actor), meta, "team.deleted"), "team", id);
        e.changes = Some(
            json!({"name": current.name, "description": current.description,
            "lead_id": current.lead_id, "members": members}),
        );
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }
}

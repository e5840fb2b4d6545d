//! An organization's teams: groups of its members, each with an optional lead. A member's
//! teammates (everyone who shares a team with them) are what a "team" scope reaches.

use chrono::{DateTime, Utc};
use rapport_domain::{OrganizationId, TeamId, UserId};

use crate::{Result, TenantTx, query};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TeamRow {
    #[sqlx(try_from = "uuid::Uuid")]
    pub id: TeamId,
    pub name: String,
    pub description: String,
    pub lead_id: Option<uuid::Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, name, description, lead_id, created_at, updated_at";

/// What a team is made of, to insert or to change.
pub struct TeamFields<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub lead_id: Option<UserId>,
}

/// The unique constraint a second team of the same name (whatever its case) breaks.
pub const NAME_TAKEN: &str = "teams_organization_id_name_key_key";

/// Every team, by name.
pub async fn list(tx: &mut TenantTx) -> Result<Vec<TeamRow>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_all(
            query(format!(
                "SELECT {COLUMNS} FROM teams WHERE organization_id = $1 ORDER BY name_key, id"
            ))
            .bind(org),
        )
        .await
}

pub async fn find(tx: &mut TenantTx, id: TeamId) -> Result<Option<TeamRow>> {
    let org = tx.organization_id();
    tx.raw()
        .fetch_optional(
            query(format!(
                "SELECT {COLUMNS} FROM teams WHERE organization_id = $1 AND id = $2"
            ))
            .bind(org)
            .bind(id),
        )
        .await
}

/// A team, its row locked until the transaction ends: changes of one team are made one after
/// the other.
pub async fn find_for_update(tx: &mut TenantTx, id: TeamId) -> Result<Option<TeamRow>> {
    let org = tx.organization_id();
    let lock = crate::dialect::lock_rows(tx.backend());
    tx.raw()
        .fetch_optional(
            query(format!(
                "SELECT {COLUMNS} FROM teams WHERE organization_id = $1 AND id = $2{lock}"
            ))
            .bind(org)
            .bind(id),
        )
        .await
}

/// Every (team, member) pair of the organization.
pub async fn members(tx: &mut TenantTx) -> Result<Vec<(TeamId, UserId)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(try_from = "uuid::Uuid")]
        team_id: TeamId,
        #[sqlx(try_from = "uuid::Uuid")]
        user_id: UserId,
    }
    let org = tx.organization_id();
    let rows: Vec<Row> = tx
        .raw()
        .fetch_all(
            query(
                "SELECT team_id, user_id FROM team_members WHERE organization_id = $1 \
                 ORDER BY team_id, created_at, user_id",
            )
            .bind(org),
        )
        .await?;
    Ok(rows.into_iter().map(|r| (r.team_id, r.user_id)).collect())
}

/// Adds a team. A name already taken: conflict on [`NAME_TAKEN`].
pub async fn insert(tx: &mut TenantTx, f: &TeamFields<'_>) -> Result<TeamRow> {
    tx.organization_changed();
    let org = tx.organization_id();
    let id = TeamId::new();
    tx.raw()
        .execute(
            query(
                "INSERT INTO teams (organization_id, id, name, name_key, description, lead_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
            )
            .bind(org)
            .bind(id)
            .bind(f.name)
            .bind(f.name.to_lowercase())
            .bind(f.description)
            .bind(f.lead_id)
            .bind(crate::now()),
        )
        .await?;
    find(tx, id).await?.ok_or(crate::Error::NotFound)
}

/// Changes a team's name, description and lead.
pub async fn update(tx: &mut TenantTx, id: TeamId, f: &TeamFields<'_>) -> Result<()> {
    tx.organization_changed();
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query(
                "UPDATE teams SET name = $1, name_key = $2, description = $3, lead_id = $4, updated_at = $5 \
                 WHERE organization_id = $6 AND id = $7",
            )
            .bind(f.name)
            .bind(f.name.to_lowercase())
            .bind(f.description)
            .bind(f.lead_id)
            .bind(crate::now())
            .bind(org)
            .bind(id),
        )
        .await?;
    Ok(())
}

/// Removes a team and its memberships; `false` when there was none.
pub async fn delete(tx: &mut TenantTx, id: TeamId) -> Result<bool> {
    tx.organization_changed();
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query("DELETE FROM team_members WHERE organization_id = $1 AND team_id = $2")
                .bind(org)
                .bind(id),
        )
        .await?;
    let gone = tx
        .raw()
        .execute(
            query("DELETE FROM teams WHERE organization_id = $1 AND id = $2")
                .bind(org)
                .bind(id),
        )
        .await?;
    Ok(gone > 0)
}

/// Makes `users` the team's members, in that order.
pub async fn set_members(tx: &mut TenantTx, id: TeamId, users: &[UserId]) -> Result<()> {
    tx.organization_changed();
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query("DELETE FROM team_members WHERE organization_id = $1 AND team_id = $2")
                .bind(org)
                .bind(id),
        )
        .await?;
    let now = crate::now();
    for (i, user) in users.iter().enumerate() {
        // Apart by a microsecond each, so that they read back in the order given.
        let at = now + chrono::Duration::microseconds(i as i64);
        tx.raw()
            .execute(
                query(
                    "INSERT INTO team_members (organization_id, team_id, user_id, created_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(org)
                .bind(id)
                .bind(*user)
                .bind(at),
            )
            .await?;
    }
    Ok(())
}

/// Takes a member out of every team (they left the organization); teams they led have no lead.
pub async fn forget_member(tx: &mut TenantTx, user: UserId) -> Result<()> {
    tx.organization_changed();
    let org = tx.organization_id();
    tx.raw()
        .execute(
            query("DELETE FROM team_members WHERE organization_id = $1 AND user_id = $2")
                .bind(org)
                .bind(user),
        )
        .await?;
    tx.raw()
        .execute(
            query("UPDATE teams SET lead_id = NULL WHERE organization_id = $1 AND lead_id = $2")
                .bind(org)
                .bind(user),
        )
        .await?;
    Ok(())
}

/// Everyone who shares a team with `user` (themselves included when they are in one): one
/// statement outside any transaction, read with the member's standing.
pub async fn teammates_now(
    db: &crate::Db,
    organization_id: OrganizationId,
    user: UserId,
) -> Result<Vec<UserId>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(try_from = "uuid::Uuid")]
        user_id: UserId,
    }
    let rows: Vec<Row> = db
        .platform_fetch_all(
            query(
                "SELECT DISTINCT b.user_id FROM team_members a JOIN team_members b \
                 ON b.organization_id = a.organization_id AND b.team_id = a.team_id \
                 WHERE a.organization_id = $1 AND a.user_id = $2",
            )
            .bind(organization_id)
            .bind(user),
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.user_id).collect())
}

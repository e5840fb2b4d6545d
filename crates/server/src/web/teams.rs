//! Settings → Teams: the organization's teams (a lead and members each), a new one, and each
//! team's page where its name, lead and members change and it is deleted. A role whose scope is
//! "team" reaches the records of everyone who shares a team with the member.

use askama::Template;
use axum::extract::{Path, Query, RawForm};
use axum::http::StatusCode;
use rapport_app::AppError;
use rapport_app::teams::{NewTeam, TeamChange, TeamView};
use rapport_domain::{TeamId, UserId};
use serde::Deserialize;

use super::records::People;
use super::settings::{Tab, admin, tabs};
use super::workspace::Shell;
use super::{
    FormErrors, PageContext, PageError, PageResult, form_pairs, form_value, render, render_status,
    see_other,
};

/// One team of the list.
pub struct TeamRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub lead: Option<String>,
    /// The first members' names.
    pub names: String,
    pub count: usize,
}

#[derive(Template)]
#[template(path = "settings_teams.html")]
struct TeamsPage {
    shell: Shell,
    tabs: Vec<Tab>,
    teams: Vec<TeamRow>,
    name: String,
    description: String,
    errors: FormErrors,
    notice: Option<String>,
}

/// A member of the organization as the team's page offers them.
pub struct MemberChoice {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub chosen: bool,
    pub lead: bool,
}

#[derive(Template)]
#[template(path = "settings_team.html")]
struct TeamPage {
    shell: Shell,
    tabs: Vec<Tab>,
    id: String,
    /// The team's stored name (the page's title), and the name in the form.
    title: String,
    name: String,
    description: String,
    members: Vec<MemberChoice>,
    count: usize,
    no_lead: bool,
    errors: FormErrors,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

fn notice_of(done: Option<&str>) -> Option<String> {
    match done {
        Some("created") => Some("Team created. Choose its members and its lead below.".into()),
        Some("saved") => Some("Saved.".into()),
        Some("deleted") => Some("Team deleted; its members stay in the organization.".into()),
        _ => None,
    }
}

fn form_errors(e: AppError, field: &str) -> Result<FormErrors, PageError> {
    match e {
        AppError::Validation(v) => Ok(FormErrors(v.0)),
        AppError::Conflict { code, message } => Ok(FormErrors(vec![rapport_domain::FieldError {
            field: field.into(),
            message: if code == "team_name_taken" {
                "is already another team's; choose another".into()
            } else {
                message
            },
        }])),
        other => Err(other.into()),
    }
}

/// Names joined as people write them, the first three and how many more.
fn some_names(names: &[String]) -> String {
    match names.len() {
        0 => String::new(),
        1..=3 => names.join(", "),
        n => format!("{} and {} more", names[..3].join(", "), n - 3),
    }
}

async fn teams_page(
    ctx: &PageContext,
    errors: FormErrors,
    form: (String, String),
    notice: Option<String>,
) -> Result<TeamsPage, PageError> {
    let (actor, tenant, shell) = admin(ctx, "settings", "Teams").await?;
    let app = &ctx.state.app;
    let teams = app
        .teams(&actor, &tenant, &ctx.meta)
        .await
        .map_err(PageError::from)?;
    // Read or refused whole: a page drawn without the members would save an empty team.
    let people = People(
        app.list_members(&actor, &tenant, &ctx.meta)
            .await
            .map_err(PageError::from)?,
    );
    let name_of = |user: UserId| {
        people
            .0
            .iter()
            .find(|m| m.user_id == user)
            .map(|m| m.name.clone())
    };
    let rows = teams
        .into_iter()
        .map(|t| {
            let names: Vec<String> = t.members.iter().filter_map(|u| name_of(*u)).collect();
            TeamRow {
                id: t.id.to_string(),
                name: t.name,
                description: t.description,
                lead: t.lead_id.and_then(name_of),
                count: names.len(),
                names: some_names(&names),
            }
        })
        .collect();
    Ok(TeamsPage {
        shell,
        tabs: tabs(&ctx.base, "teams"),
        teams: rows,
        name: form.0,
        description: form.1,
        errors,
        notice,
    })
}

/// `/settings/teams`.
pub async fn list(ctx: PageContext, Query(q): Query<Done>) -> PageResult {
    let page = teams_page(
        &ctx,
        FormErrors::default(),
        Default::default(),
        notice_of(q.done.as_deref()),
    )
    .await?;
    Ok(render(&page))
}

/// Creates a team from the list's form and opens its page.
pub async fn create(ctx: PageContext, RawForm(raw): RawForm) -> PageResult {
    let pairs = form_pairs(&raw);
    ctx.check_csrf(&form_value(&pairs, "_csrf"))?;
    let (actor, tenant, _) = admin(&ctx, "settings", "Teams").await?;
    let (name, description) = (
        form_value(&pairs, "name"),
        form_value(&pairs, "description"),
    );
    let result = ctx
        .state
        .app
        .create_team(
            &actor,
            &tenant,
            NewTeam {
                name: name.clone(),
                description: Some(description.clone()),
                ..NewTeam::default()
            },
            &ctx.meta,
        )
        .await;
    match result {
        Ok(team) => Ok(see_other(&format!(
            "{}/settings/teams/{}?done=created",
            ctx.base, team.id
        ))),
        Err(e) => {
            let errors = form_errors(e, "name")?;
            let page = teams_page(&ctx, errors, (name, description), None).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// What the team's page shows: the team as stored, or as the refused form had it.
struct Shown {
    name: String,
    description: String,
    lead: Option<UserId>,
    members: Vec<UserId>,
}

impl From<&TeamView> for Shown {
    fn from(t: &TeamView) -> Self {
        Shown {
            name: t.name.clone(),
            description: t.description.clone(),
            lead: t.lead_id,
            members: t.members.clone(),
        }
    }
}

async fn team_page(
    ctx: &PageContext,
    id: TeamId,
    shown: Option<Shown>,
    errors: FormErrors,
    notice: Option<String>,
) -> Result<TeamPage, PageError> {
    let (actor, tenant, shell) = admin(ctx, "settings", "Teams").await?;
    let app = &ctx.state.app;
    let team = app
        .team(&actor, &tenant, id, &ctx.meta)
        .await
        .map_err(PageError::from)?;
    let shown = shown.unwrap_or_else(|| Shown::from(&team));
    let people = People(
        app.list_members(&actor, &tenant, &ctx.meta)
            .await
            .map_err(PageError::from)?,
    );
    // Deactivated people are offered only while they are still in the team.
    let mut members: Vec<MemberChoice> = people
        .0
        .iter()
        .filter(|m| m.is_active() || shown.members.contains(&m.user_id))
        .map(|m| MemberChoice {
            id: m.user_id.to_string(),
            name: m.name.clone(),
            email: m.email.clone(),
            role: m.role_name.clone().unwrap_or_else(|| {
                let level = m.role.as_str();
                let mut c = level.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default()
            }),
            chosen: shown.members.contains(&m.user_id),
            lead: shown.lead == Some(m.user_id),
        })
        .collect();
    // The team's members first, then everyone else, each by name.
    members.sort_by(|a, b| {
        (!a.chosen, a.name.to_lowercase()).cmp(&(!b.chosen, b.name.to_lowercase()))
    });
    Ok(TeamPage {
        shell,
        tabs: tabs(&ctx.base, "teams"),
        id: id.to_string(),
        title: team.name.clone(),
        name: shown.name,
        description: shown.description,
        count: members.iter().filter(|m| m.chosen).count(),
        no_lead: !members.iter().any(|m| m.lead),
        members,
        errors,
        notice,
    })
}

fn team_id(raw: &str) -> Result<TeamId, PageError> {
    raw.parse::<uuid::Uuid>()
        .map(TeamId)
        .map_err(|_| AppError::NotFound.into())
}

/// `/settings/teams/{id}`.
pub async fn show(ctx: PageContext, Path(id): Path<String>, Query(q): Query<Done>) -> PageResult {
    let page = team_page(
        &ctx,
        team_id(&id)?,
        None,
        FormErrors::default(),
        notice_of(q.done.as_deref()),
    )
    .await?;
    Ok(render(&page))
}

/// Saves the team's name, description, members (`member`, one per checked box) and lead
/// (`lead`, empty for none).
pub async fn save(ctx: PageContext, Path(id): Path<String>, RawForm(raw): RawForm) -> PageResult {
    let id = team_id(&id)?;
    let pairs = form_pairs(&raw);
    ctx.check_csrf(&form_value(&pairs, "_csrf"))?;
    let (actor, tenant, _) = admin(&ctx, "settings", "Teams").await?;
    let mut errors = FormErrors::default();
    let members: Vec<UserId> = pairs
        .iter()
        .filter(|(k, _)| k == "member")
        .filter_map(|(_, v)| v.parse::<uuid::Uuid>().ok().map(UserId))
        .collect();
    let lead = match form_value(&pairs, "lead").as_str() {
        "" => None,
        raw => match raw.parse::<uuid::Uuid>() {
            Ok(u) => Some(UserId(u)),
            Err(_) => {
                errors.0.push(rapport_domain::FieldError {
                    field: "lead".into(),
                    message: "must be one of the members".into(),
                });
                None
            }
        },
    };
    let shown = Shown {
        name: form_value(&pairs, "name"),
        description: form_value(&pairs, "description"),
        lead,
        members: members.clone(),
    };
    if !errors.0.is_empty() {
        let page = team_page(&ctx, id, Some(shown), errors, None).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let result = ctx
        .state
        .app
        .update_team(
            &actor,
            &tenant,
            id,
            TeamChange {
                name: Some(shown.name.clone()),
                description: Some(shown.description.clone()),
                lead_id: Some(lead),
                members: Some(members),
            },
            &ctx.meta,
        )
        .await;
    match result {
        Ok(_) => Ok(see_other(&format!(
            "{}/settings/teams/{id}?done=saved",
            ctx.base
        ))),
        Err(e) => {
            let errors = form_errors(e, "name")?;
            let page = team_page(&ctx, id, Some(shown), errors, None).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// Deletes the team; its members stay.
pub async fn delete(ctx: PageContext, Path(id): Path<String>, RawForm(raw): RawForm) -> PageResult {
    let id = team_id(&id)?;
    let pairs = form_pairs(&raw);
    ctx.check_csrf(&form_value(&pairs, "_csrf"))?;
    let (actor, tenant, _) = admin(&ctx, "settings", "Teams").await?;
    ctx.state
        .app
        .delete_team(&actor, &tenant, id, &ctx.meta)
        .await
        .map_err(PageError::from)?;
    Ok(see_other(&format!(
        "{}/settings/teams?done=deleted",
        ctx.base
    )))
}

//! "My tasks": what is overdue, due today and coming up, with a form to add one; and a task's
//! own page, to change it (its custom fields too) or delete it.

use askama::Template;
use axum::extract::Query;
use rapport_app::model::{Company, Contact, Deal, Task, TaskFilter};
use rapport_app::timeline::RecordRef;
use rapport_domain::{Action, Object, Ownership, TaskId, UserId};
use serde::Deserialize;

use super::kinds::{FormKind, PageParts, PageView, WebKind};
use super::record_page::Related;
use rapport_app::{Actor, Tenant};

use super::PageContext;
use super::PageResult;
use super::deals::{TaskRow, task_rows};
use super::records::People;
use super::render;
use super::workspace::{Shell, shell};

pub struct Group {
    pub key: &'static str,
    pub title: &'static str,
    pub tasks: Vec<TaskRow>,
}

#[derive(Template)]
#[template(path = "tasks.html")]
struct TasksPage {
    shell: Shell,
    groups: Vec<Group>,
    everyone: bool,
    can_create: bool,
    error: Option<String>,
    today: String,
    back: String,
    open_count: usize,
    assignees: Vec<super::records::Choice>,
}

#[derive(Deserialize, Default)]
pub struct TasksQuery {
    who: Option<String>,
    task_error: Option<String>,
}

pub async fn my_tasks(ctx: PageContext, Query(q): Query<TasksQuery>) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let app = &ctx.state.app;
    let actor = &session.actor;
    let everyone = q.who.as_deref() == Some("all");
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let filter = |is_done| TaskFilter {
        assignee_id: (!everyone).then_some(actor.user_id),
        is_done: Some(is_done),
        ..TaskFilter::default()
    };
    let open = task_rows(&ctx, actor, &tenant, &people, filter(false)).await;
    let open_count = open.len();
    let today = tenant.today();
    let today_label = super::records::day(today);
    let mut groups = vec![
        Group {
            key: "overdue",
            title: "Overdue",
            tasks: Vec::new(),
        },
        Group {
            key: "today",
            title: "Today",
            tasks: Vec::new(),
        },
        Group {
            key: "upcoming",
            title: "Upcoming",
            tasks: Vec::new(),
        },
        Group {
            key: "someday",
            title: "No due date",
            tasks: Vec::new(),
        },
    ];
    for t in open {
        let i = if t.overdue {
            0
        } else if t.due == today_label {
            1
        } else if t.due.is_empty() {
            3
        } else {
            2
        };
        groups[i].tasks.push(t);
    }
    let mut done = task_rows(&ctx, actor, &tenant, &people, filter(true)).await;
    done.truncate(10);
    groups.push(Group {
        key: "done",
        title: "Done",
        tasks: done,
    });
    let page = TasksPage {
        shell: shell(&ctx, session, &tenant, "tasks", &["Tasks"]).await,
        groups,
        everyone,
        can_create: tenant.may(Action::Create, Object::Task, Ownership::NotApplicable),
        error: q.task_error.map(|m| m.chars().take(200).collect()),
        today: today.to_string(),
        back: format!(
            "{}/tasks{}",
            ctx.base,
            if everyone { "?who=all" } else { "" }
        ),
        open_count,
        assignees: people.options(Some(actor.user_id)),
    };
    Ok(render(&page))
}

impl WebKind for Task {
    const PATH: &'static str = "tasks";
    const ONE: &'static str = "task";
    const MANY: &'static str = "tasks";
    const TITLE: &'static str = "Tasks";
    /// Tasks have no timeline of their own: their record's timeline notes them.
    fn timeline(_id: TaskId) -> Option<RecordRef> {
        None
    }
    fn name(&self) -> &str {
        &self.title
    }
}

/// How the actor relates to a task, as far as a page knows without its deal: the nearer of how
/// they relate to its assignee and to its maker (the application decides with its deal's owner).
pub fn relation(tenant: &Tenant, actor: &Actor, assignee: UserId, maker: UserId) -> Ownership {
    match (
        tenant.relation(actor, assignee),
        tenant.relation(actor, maker),
    ) {
        (Ownership::Own, _) | (_, Ownership::Own) => Ownership::Own,
        (Ownership::Team, _) | (_, Ownership::Team) => Ownership::Team,
        (a, _) => a,
    }
}

impl FormKind for Task {
    const FORM: &'static [&'static str] = &[
        "title",
        "description",
        "due_date",
        "remind_at",
        "assignee_id",
        "is_done",
    ];
    const EDITORS: &'static str = "whoever it is for, its author and admins";
    /// As the role's matrix says for the actor's relation to it (see [`relation`]).
    fn may(&self, actor: &Actor, tenant: &Tenant, action: Action) -> bool {
        tenant.may(
            action,
            Object::Task,
            relation(tenant, actor, self.assignee_id, self.created_by),
        )
    }
    fn delete_confirm(&self) -> String {
        format!("Delete the task “{}”?", self.title)
    }
    /// Who it is for, when it is due, whether it is done; the records it is about.
    async fn parts(&self, view: &PageView<'_>) -> PageParts {
        let mut facts = vec![format!(
            "Assigned to {}",
            view.people.name(self.assignee_id)
        )];
        if let Some(due) = self.due_date {
            facts.push(format!("due {}", super::records::day(due)));
        }
        if self.is_done {
            facts.push("done".into());
        }
        let mut items = Vec::new();
        if let Some(deal) = self.deal_id {
            items.extend(view.linked::<Deal>(deal, "Deal").await);
        }
        if let Some(contact) = self.contact_id {
            items.extend(view.linked::<Contact>(contact, "Contact").await);
        }
        if let Some(company) = self.company_id {
            items.extend(view.linked::<Company>(company, "Company").await);
        }
        PageParts {
            subtitle: Some(facts.join(" · ")),
            related: vec![Related {
                link: None,
                total: None,
                title: "About".into(),
                empty: "Not about a record: a task of its own.".into(),
                items,
                add: None,
            }],
            ..PageParts::default()
        }
    }
}

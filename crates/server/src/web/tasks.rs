//! "My tasks": what is overdue, due today and coming up, with a form to add one.

use askama::Template;
use axum::extract::Query;
use rapport_app::model::TaskFilter;
use rapport_domain::{Action, Object, Ownership, decide};
use serde::Deserialize;

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
        can_create: decide(
            tenant.role,
            Action::Create,
            Object::Task,
            Ownership::NotApplicable,
        )
        .is_allowed(),
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

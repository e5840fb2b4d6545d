//! What the CRM pages share: who is who, money and dates for people, timeline entries.

use chrono::{DateTime, NaiveDate, Utc};
use rapport_app::model::Activity;
use rapport_app::model::Member;
use rapport_app::{Actor, RequestMeta, Tenant};
use rapport_domain::UserId;
use rapport_domain::deal::format_amount;

use super::initials;

/// The organization's members, to show names instead of ids.
pub struct People(pub Vec<Member>);

impl People {
    pub async fn load(
        app: &rapport_app::App,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> People {
        People(
            app.list_members(actor, tenant, meta)
                .await
                .unwrap_or_default(),
        )
    }

    pub fn name(&self, id: UserId) -> String {
        self.0
            .iter()
            .find(|m| m.user_id == id)
            .map(|m| m.name.clone())
            .unwrap_or_else(|| "Former member".into())
    }

    pub fn name_of(&self, id: Option<uuid::Uuid>) -> String {
        match id {
            Some(id) => self.name(UserId(id)),
            None => "Rapport".into(),
        }
    }

    pub fn initials(&self, id: UserId) -> String {
        initials(&self.name(id))
    }

    /// (id, name) pairs for a select that picks someone (an owner, an assignee), sorted by
    /// name: the active members, and the one `selected` even when deactivated (so a form shows
    /// what is stored).
    pub fn options(&self, selected: Option<UserId>) -> Vec<Choice> {
        self.choices(selected, false)
    }

    /// (id, name) pairs for a filter, sorted by name: every member, a deactivated one's
    /// records still found by it.
    pub fn filter_options(&self, selected: Option<UserId>) -> Vec<Choice> {
        self.choices(selected, true)
    }

    /// How many members are active.
    pub fn active(&self) -> usize {
        self.0.iter().filter(|m| m.is_active()).count()
    }

    fn choices(&self, selected: Option<UserId>, everyone: bool) -> Vec<Choice> {
        let mut out: Vec<Choice> = self
            .0
            .iter()
            .filter(|m| everyone || m.is_active() || Some(m.user_id) == selected)
            .map(|m| Choice {
                value: m.user_id.to_string(),
                label: if m.is_active() {
                    m.name.clone()
                } else {
                    format!("{} (deactivated)", m.name)
                },
                selected: Some(m.user_id) == selected,
            })
            .collect();
        out.sort_by_key(|c| c.label.to_lowercase());
        out
    }
}

/// An option of a `<select>`.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub fn money(minor: i64, currency: &str) -> String {
    format_amount(minor, currency)
}

/// `21 Nov 2026`.
pub fn day(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

/// A moment as people read it, relative when recent.
pub fn when(at: DateTime<Utc>) -> String {
    let ago = Utc::now() - at;
    if ago.num_seconds() < 60 {
        "just now".into()
    } else if ago.num_minutes() < 60 {
        format!("{} min ago", ago.num_minutes())
    } else if ago.num_hours() < 24 {
        format!("{} h ago", ago.num_hours())
    } else if ago.num_days() < 7 {
        format!("{} days ago", ago.num_days())
    } else {
        at.format("%-d %b %Y").to_string()
    }
}

/// One line of a timeline, ready to show.
pub struct TimelineEntry {
    pub icon: &'static str,
    pub kind: String,
    pub author: String,
    /// What happened, in words ("moved the deal from Proposal to Negotiation").
    pub summary: String,
    /// A comment's text or a logged activity's notes.
    pub body: Option<String>,
    pub details: Vec<String>,
    pub when: String,
    pub at: String,
    /// The related record the entry is on, when it is not on the record shown: its address and
    /// title (a contact's call on its company's page).
    pub about: Option<(String, String)>,
    /// A comment's text in pieces, its mentions of teammates apart (with where to write to
    /// them): drawn highlighted. Empty when it mentions nobody.
    pub parts: Vec<(Option<String>, String)>,
}

fn text(v: &serde_json::Value, key: &str) -> String {
    v.get(key)
        .and_then(|x| x.as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Describes a timeline entry; `stage_name` turns stage keys into names.
pub fn timeline_entry(
    a: &Activity,
    people: &People,
    stage_name: &dyn Fn(&str) -> String,
) -> TimelineEntry {
    let p = &a.payload.0;
    let (icon, summary, body) = match a.kind.as_str() {
        "comment" => ("“", "commented".to_owned(), Some(text(p, "text"))),
        "call" => ("☎", "logged a call".to_owned(), Some(text(p, "notes"))),
        "meeting" => ("◷", "logged a meeting".to_owned(), Some(text(p, "notes"))),
        "email" => ("✉", "logged an email".to_owned(), Some(text(p, "notes"))),
        "stage_changed" => (
            "→",
            format!(
                "moved it from {} to {}",
                stage_name(&text(p, "from")),
                stage_name(&text(p, "to"))
            ),
            None,
        ),
        "status_changed" => {
            // A lead's statuses and a deal's have words of their own.
            let label = |s: String| {
                let word = match a.record_type.as_str() {
                    "lead" => rapport_domain::lead::LeadStatus::parse(&s).map(|st| st.label()),
                    _ => rapport_domain::deal::DealStatus::parse(&s).map(|st| st.label()),
                };
                word.map(str::to_lowercase).unwrap_or(s)
            };
            (
                "●",
                format!(
                    "changed the status from {} to {}",
                    label(text(p, "from")),
                    label(text(p, "to"))
                ),
                None,
            )
        }
        "owner_changed" => {
            let name = |k: &str| {
                p.get(k)
                    .and_then(|v| v.as_str())
                    .and_then(|s| s.parse::<uuid::Uuid>().ok())
                    .map(|id| people.name(UserId(id)))
                    .unwrap_or_default()
            };
            (
                "⇄",
                format!("handed it from {} to {}", name("from"), name("to")),
                None,
            )
        }
        "task_created" => ("☐", format!("added the task “{}”", text(p, "title")), None),
        "task_completed" => (
            "☑",
            format!("completed the task “{}”", text(p, "title")),
            None,
        ),
        "converted" => ("⇢", text(p, "summary"), None),
        "values_changed" => {
            let parts: Vec<String> = p["changes"]
                .as_array()
                .map(|changes| {
                    changes
                        .iter()
                        .map(|c| {
                            let label = text(c, "label");
                            match (c["from"].as_str(), c["to"].as_str()) {
                                (Some(from), Some(to)) => format!("{label} from {from} to {to}"),
                                (None, Some(to)) => format!("{label} to {to}"),
                                (Some(from), None) => format!("{label} (was {from})"),
                                (None, None) => label,
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            ("✎", format!("changed {}", parts.join("; ")), None)
        }
        other => ("•", other.replace('_', " "), None),
    };
    let mut details = Vec::new();
    // A client's message from the portal, or a member's comment shown there.
    let client = p["client"]["name"]
        .as_str()
        .map(|n| format!("{n} (client)"));
    let (summary, icon) = match (&client, a.kind.as_str()) {
        (Some(_), "comment") => ("wrote in the client portal".to_owned(), "✉"),
        _ => (summary, icon),
    };
    if client.is_none() && p.get("portal").and_then(|v| v.as_bool()) == Some(true) {
        details.push("Visible to clients".to_owned());
    }
    if let Some(d) = p.get("duration_minutes").and_then(|v| v.as_i64()) {
        details.push(format!("{d} min"));
    }
    if let Some(o) = p.get("outcome").and_then(|v| v.as_str()) {
        details.push(o.to_owned());
    }
    let body = body.filter(|b| !b.is_empty());
    let parts = match (&body, p.get("mentions").and_then(|m| m.as_array())) {
        (Some(text), Some(ids)) if !ids.is_empty() => {
            let mentioned: Vec<&Member> = people
                .0
                .iter()
                .filter(|m| {
                    ids.iter()
                        .any(|i| i.as_str() == Some(&m.user_id.to_string()))
                })
                .collect();
            mention_parts(text, &mentioned)
        }
        _ => Vec::new(),
    };
    TimelineEntry {
        icon,
        kind: a.kind.clone(),
        author: client.unwrap_or_else(|| people.name_of(a.author_id)),
        summary,
        body,
        details,
        when: when(a.created_at),
        at: a.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        about: None,
        parts,
    }
}

/// A text cut around its mentions of `members` (`@Ann Berg`, `@Ann`, `@ann.berg`, in any case),
/// each mention with the member's address to write to.
pub fn mention_parts(text: &str, members: &[&Member]) -> Vec<(Option<String>, String)> {
    let mut names: Vec<(String, &Member)> = members
        .iter()
        .flat_map(|m| {
            let first = m.name.split_whitespace().next().unwrap_or_default();
            let local = m.email.split('@').next().unwrap_or_default();
            [m.name.as_str(), first, local]
                .into_iter()
                .filter(|n| !n.is_empty())
                .map(move |n| (n.to_lowercase(), *m))
        })
        .collect();
    // The longest name first: `@Ann Berg` is one mention, not `@Ann` and " Berg".
    names.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    let mut parts = Vec::new();
    let (mut start, mut at) = (0, 0);
    while let Some(found) = text[at..].find('@') {
        let i = at + found;
        let after = &text[i + 1..];
        let hit = names.iter().find(|(n, _)| {
            after.get(..n.len()).is_some_and(|s| s.to_lowercase() == *n)
                && after[n.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric())
        });
        match hit {
            Some((n, m)) => {
                if i > start {
                    parts.push((None, text[start..i].to_owned()));
                }
                let end = i + 1 + n.len();
                parts.push((Some(format!("mailto:{}", m.email)), text[i..end].to_owned()));
                start = end;
                at = end;
            }
            None => at = i + 1,
        }
    }
    if start < text.len() {
        parts.push((None, text[start..].to_owned()));
    }
    parts
}

/// Finds the members a comment mentions: `@First` or `@First Last`, case-insensitive.
pub fn mentions(text: &str, people: &People) -> Vec<String> {
    let lower = text.to_lowercase();
    people
        .0
        .iter()
        .filter(|m| {
            let name = m.name.to_lowercase();
            let first = name
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            let local = m.email.split('@').next().unwrap_or_default().to_lowercase();
            [name, first, local]
                .iter()
                .filter(|n| !n.is_empty())
                .any(|n| {
                    lower.match_indices(&format!("@{n}")).any(|(i, s)| {
                        lower[i + s.len()..]
                            .chars()
                            .next()
                            .is_none_or(|c| !c.is_alphanumeric())
                    })
                })
        })
        .map(|m| m.user_id.to_string())
        .collect()
}

//! Domain events: the catalogue (docs/EVENTS.md) and the one place that writes them. Every audited
//! change of an organization's records and members goes through [`record`], which writes the
//! audit entry and the change's events in the same transaction: an event exists if and only if
//! its change was committed.

use rapport_store::TenantTx;
use rapport_store::audit::{self as store_audit, NewEntry};
use rapport_store::events::{self as store_events, Event, NewEvent};
use serde_json::{Value, json};

use crate::{App, AppResult};

/// The version of every event's payload schema in this catalogue.
pub const VERSION: i64 = 1;

/// Every event type of the catalogue (docs/EVENTS.md), for webhook subscriptions.
pub const CATALOGUE: &[&str] = &[
    "company.created",
    "company.updated",
    "company.deleted",
    "company.restored",
    "company.tagged",
    "contact.created",
    "contact.updated",
    "contact.deleted",
    "contact.restored",
    "contact.tagged",
    "lead.created",
    "lead.updated",
    "lead.deleted",
    "lead.restored",
    "lead.tagged",
    "lead.converted",
    "deal.created",
    "deal.updated",
    "deal.deleted",
    "deal.restored",
    "deal.tagged",
    "deal.stage_changed",
    "deal.status_changed",
    "task.created",
    "task.updated",
    "task.deleted",
    "task.assigned",
    "task.completed",
    "comment.created",
    "activity.logged",
    "file.uploaded",
    "file.version_added",
    "file.version_restored",
    "file.deleted",
    "file.restored",
    "member.added",
    "member.invited",
    "member.invitation_accepted",
    "member.invitation_resent",
    "member.invitation_revoked",
    "member.role_changed",
    "member.removed",
    "pipeline.created",
    "pipeline.updated",
    "pipeline.deleted",
    "record.created",
    "record.updated",
    "record.deleted",
    "record.restored",
];

/// Actions whose audit entries are also events (by their prefix).
const PUBLISHED: [&str; 8] = [
    "company.",
    "contact.",
    "lead.",
    "deal.",
    "task.",
    "member.",
    "pipeline.",
    "record.",
];

/// The events an audited change publishes, derived from its audit entry.
pub fn events_for(entry: &NewEntry) -> Vec<NewEvent> {
    if !PUBLISHED.iter().any(|p| entry.action.starts_with(p)) {
        return Vec::new();
    }
    let changed: Vec<String> = match &entry.changes {
        Some(Value::Object(map)) if entry.action.ends_with(".updated") => {
            let mut keys: Vec<String> = map.keys().cloned().collect();
            keys.sort();
            keys
        }
        _ => Vec::new(),
    };
    let record_type = entry.target_type.clone();
    let record_id = entry.target_id.as_deref().and_then(|t| t.parse().ok());
    let event = |event_type: &str, changed: Vec<String>, payload: Value| NewEvent {
        event_type: event_type.to_owned(),
        version: VERSION,
        record_type: record_type.clone(),
        record_id,
        changed,
        actor_id: entry.actor_id,
        payload,
    };
    let mut out = vec![event(
        &entry.action,
        changed.clone(),
        entry.changes.clone().unwrap_or(json!({})),
    )];
    let change = |field: &str| {
        entry
            .changes
            .as_ref()
            .and_then(|c| c.get(field))
            .filter(|_| entry.action.ends_with(".updated"))
            .cloned()
    };
    let from_to = |c: &Value| json!({"from": c["before"], "to": c["after"]});
    match entry.action.as_str() {
        "deal.updated" => {
            if let Some(c) = change("stage") {
                out.push(event(
                    "deal.stage_changed",
                    vec!["stage".into()],
                    from_to(&c),
                ));
            }
            if let Some(c) = change("status") {
                out.push(event(
                    "deal.status_changed",
                    vec!["status".into()],
                    from_to(&c),
                ));
            }
        }
        "task.updated" => {
            if let Some(c) = change("assignee_id") {
                out.push(event(
                    "task.assigned",
                    vec!["assignee_id".into()],
                    from_to(&c),
                ));
            }
            if let Some(c) = change("is_done")
                && c["after"] == json!(true)
            {
                out.push(event("task.completed", vec!["is_done".into()], json!({})));
            }
        }
        "task.created" => {
            let assignee = entry
                .changes
                .as_ref()
                .and_then(|c| c.get("assignee_id"))
                .cloned()
                .unwrap_or(Value::Null);
            if assignee != json!(entry.actor_id) {
                out.push(event(
                    "task.assigned",
                    vec!["assignee_id".into()],
                    json!({"from": null, "to": assignee}),
                ));
            }
        }
        _ => {}
    }
    out
}

/// Writes an audit entry and the events it publishes, in the caller's transaction.
pub async fn record(tx: &mut TenantTx, entry: NewEntry) -> AppResult<()> {
    let events = events_for(&entry);
    store_audit::record(tx, entry).await?;
    for event in events {
        store_events::append(tx, event).await?;
    }
    Ok(())
}

/// Writes one event that has no audit entry of its own (a comment), in the caller's transaction.
pub async fn publish(tx: &mut TenantTx, event: NewEvent) -> AppResult<()> {
    store_events::append(tx, event).await?;
    Ok(())
}

impl App {
    /// Events of every organization after `after`, oldest first (for dispatchers).
    pub async fn events_after(
        &self,
        after: Option<rapport_domain::EventId>,
        limit: i64,
    ) -> AppResult<Vec<Event>> {
        let mut tx = self.db.platform_read().await?;
        let events = store_events::after(&mut tx, after, limit).await?;
        tx.commit().await?;
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str, changes: Value) -> NewEntry {
        NewEntry {
            action: action.into(),
            target_type: Some("deal".into()),
            target_id: Some(uuid::Uuid::now_v7().to_string()),
            changes: Some(changes),
            ..NewEntry::default()
        }
    }

    #[test]
    fn a_stage_change_is_an_update_and_a_stage_changed_event() {
        let events = events_for(&entry(
            "deal.updated",
            json!({"stage": {"before": "proposal", "after": "negotiation"}, "title": {"before": "a", "after": "b"}}),
        ));
        let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(types, ["deal.updated", "deal.stage_changed"]);
        assert_eq!(events[0].changed, ["stage", "title"]);
        assert_eq!(
            events[1].payload,
            json!({"from": "proposal", "to": "negotiation"})
        );
        assert!(events.iter().all(|e| e.version == VERSION));
    }

    #[test]
    fn sign_ins_and_denials_are_not_published() {
        assert!(events_for(&entry("auth.login_succeeded", json!({}))).is_empty());
        assert!(events_for(&entry("permission.denied", json!({}))).is_empty());
    }
}

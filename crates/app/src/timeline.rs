//! Timelines: comments, logged calls, meetings and emails, and the events the system writes.
//! Every company, contact, lead and deal has one; the deal endpoints of the contract are one view.

use chrono::{DateTime, Utc};
use rapport_domain::{Action, ActivityId, Object, Ownership, UserId, ValidationErrors};
use rapport_store::activities::{self as store_activities, Activity, NewActivity};
use rapport_store::companies::Company;
use rapport_store::contacts::Contact;
use rapport_store::deals::Deal;
use rapport_store::leads::Lead;
use rapport_store::tables;
use rapport_store::{TenantTx, memberships};
use serde_json::{Value, json};

use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// A record that has a timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordRef {
    Company(rapport_domain::CompanyId),
    Contact(rapport_domain::ContactId),
    Lead(rapport_domain::LeadId),
    Deal(rapport_domain::DealId),
    /// A record of a custom object (its object is known from the record).
    Record(rapport_domain::RecordId),
}

impl RecordRef {
    pub fn kind(self) -> &'static str {
        match self {
            RecordRef::Company(_) => "company",
            RecordRef::Contact(_) => "contact",
            RecordRef::Lead(_) => "lead",
            RecordRef::Deal(_) => "deal",
            RecordRef::Record(_) => "record",
        }
    }

    pub fn id(self) -> uuid::Uuid {
        match self {
            RecordRef::Company(id) => id.as_uuid(),
            RecordRef::Contact(id) => id.as_uuid(),
            RecordRef::Lead(id) => id.as_uuid(),
            RecordRef::Deal(id) => id.as_uuid(),
            RecordRef::Record(id) => id.as_uuid(),
        }
    }

    fn object(self) -> Object {
        match self {
            RecordRef::Company(_) => Object::Company,
            RecordRef::Contact(_) => Object::Contact,
            RecordRef::Lead(_) => Object::Lead,
            RecordRef::Deal(_) => Object::Deal,
            RecordRef::Record(_) => Object::Record,
        }
    }

    /// Whether the record exists (live) in the transaction's organization, within the
    /// actor's reach: a record they may not see is not there for them.
    pub(crate) async fn exists(
        self,
        tx: &mut TenantTx,
        actor: &Actor,
        tenant: &Tenant,
    ) -> AppResult<bool> {
        let found = self.kind_and_owner(tx).await?;
        Ok(found.is_some_and(|(kind, owner)| tenant.sees(&kind, tenant.relation(actor, owner))))
    }

    /// The live record's kind (a custom record's object key) and owner.
    pub(crate) async fn kind_and_owner(
        self,
        tx: &mut TenantTx,
    ) -> AppResult<Option<(String, rapport_domain::UserId)>> {
        Ok(match self {
            RecordRef::Company(id) => tables::find::<Company>(tx, id)
                .await?
                .map(|r| ("company".into(), r.owner_id)),
            RecordRef::Contact(id) => tables::find::<Contact>(tx, id)
                .await?
                .map(|r| ("contact".into(), r.owner_id)),
            RecordRef::Lead(id) => tables::find::<Lead>(tx, id)
                .await?
                .map(|r| ("lead".into(), r.owner_id)),
            RecordRef::Deal(id) => tables::find::<Deal>(tx, id)
                .await?
                .map(|r| ("deal".into(), r.owner_id)),
            RecordRef::Record(id) => match rapport_store::records::live(tx, id).await? {
                Some(live) => rapport_store::objects::list(tx)
                    .await?
                    .into_iter()
                    .find(|o| o.id == live.object_id)
                    .map(|o| (o.key, live.owner_id)),
                None => None,
            },
        })
    }
}

/// The members one entry may mention and notify.
const MAX_MENTIONS: usize = 50;

/// The kinds of entry people write; the others are written by the system.
pub const WRITABLE_KINDS: [&str; 4] = ["comment", "call", "meeting", "email"];

/// The groups a record page's timeline can be narrowed to: its key in the page's address, its
/// label and the entry types it shows.
pub const TIMELINE_GROUPS: [(&str, &str, &[&str]); 6] = [
    ("comments", "Comments", &["comment"]),
    ("emails", "Emails", &["email"]),
    ("calls", "Calls", &["call"]),
    ("meetings", "Meetings", &["meeting"]),
    ("tasks", "Tasks", &["task_created", "task_completed"]),
    (
        "changes",
        "Changes",
        &[
            "stage_changed",
            "status_changed",
            "owner_changed",
            "values_changed",
            "converted",
        ],
    ),
];

/// Which entries of a gathered timeline: of one group of [`TIMELINE_GROUPS`] (all when `None`),
/// after the entry a previous page ended on, `limit` of them.
#[derive(Clone, Copy, Debug)]
pub struct GatheredPaging<'a> {
    pub group: Option<&'a str>,
    pub before: Option<(DateTime<Utc>, ActivityId)>,
    pub limit: u64,
}

/// A page of a record's timeline gathered with its related records' (a company's contacts and
/// deals, a contact's deals): the entries, what each one not on the record itself is about, and
/// where the next page starts.
pub struct GatheredPage {
    pub items: Vec<Activity>,
    /// The title of each related record an entry is on, by its id.
    pub about: std::collections::HashMap<uuid::Uuid, String>,
    pub next: Option<(DateTime<Utc>, ActivityId)>,
}

/// Which page of a timeline: by number, or after the entry a previous page ended on.
#[derive(Clone, Copy, Debug)]
pub struct TimelinePaging {
    pub before: Option<(DateTime<Utc>, ActivityId)>,
    pub page: u64,
    pub page_size: u64,
}

pub struct ActivityPage {
    pub items: Vec<Activity>,
    pub total: i64,
    pub next: Option<(DateTime<Utc>, ActivityId)>,
}

/// Checks a written entry's payload and returns it normalized.
/// `shared`: the record is one the client portal can show (a deal or a custom record).
async fn checked_payload(
    tx: &mut TenantTx,
    kind: &str,
    payload: &Value,
    shared: bool,
) -> AppResult<Value> {
    let mut errors = ValidationErrors::new();
    if !WRITABLE_KINDS.contains(&kind) {
        errors.add(
            "type",
            "must be comment, call, meeting or email (other types are written by the system)",
        );
        return Err(errors.into());
    }
    let Some(obj) = payload.as_object() else {
        return Err(AppError::invalid("payload", "must be an object"));
    };
    let text_field = if kind == "comment" { "text" } else { "notes" };
    let text = obj.get(text_field).and_then(Value::as_str).map(str::trim);
    match text {
        Some(t) if t.chars().count() > 10_000 => {
            errors.add(
                &format!("payload.{text_field}"),
                "must be at most 10000 characters",
            );
        }
        Some(t) if t.is_empty() && kind == "comment" => {
            errors.add("payload.text", "must not be empty")
        }
        None if kind == "comment" => errors.add("payload.text", "is required"),
        _ => {}
    }
    let mut out = serde_json::Map::new();
    if let Some(t) = text {
        out.insert(text_field.into(), json!(t));
    }
    // Mentions name members of the organization.
    if let Some(m) = obj.get("mentions") {
        let mut ids = Vec::new();
        match m.as_array() {
            Some(list) if list.len() > MAX_MENTIONS => errors.add(
                "payload.mentions",
                format!("may name at most {MAX_MENTIONS} members"),
            ),
            Some(list) => {
                for v in list {
                    match v.as_str().and_then(|s| s.parse::<uuid::Uuid>().ok()) {
                        Some(id)
                            if memberships::find_any_by_user(tx, UserId(id))
                                .await?
                                .is_some() =>
                        {
                            ids.push(json!(id))
                        }
                        _ => errors.add(
                            "payload.mentions",
                            "must list user ids of members of this organization",
                        ),
                    }
                }
            }
            None => errors.add("payload.mentions", "must be a list of user ids"),
        }
        ids.dedup();
        out.insert("mentions".into(), Value::Array(ids));
    }
    // A comment shown to the record's clients in the portal.
    match obj.get("portal") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) if kind == "comment" && shared => {
            out.insert("portal".into(), json!(true));
        }
        Some(Value::Bool(true)) => errors.add(
            "payload.portal",
            "only comments on deals and custom records can be shown to clients",
        ),
        Some(_) => errors.add("payload.portal", "must be true or false"),
    }
    if kind != "comment" {
        let occurred_at = match obj.get("occurred_at") {
            None | Some(Value::Null) => Some(Utc::now()),
            Some(v) => match v
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            {
                Some(t) => Some(t.with_timezone(&Utc)),
                None => {
                    errors.add("payload.occurred_at", "must be an RFC 3339 time");
                    None
                }
            },
        };
        out.insert("occurred_at".into(), json!(occurred_at));
        match obj.get("duration_minutes") {
            None | Some(Value::Null) => {}
            Some(v) => match v.as_i64() {
                Some(d) if (0..=1440).contains(&d) => {
                    out.insert("duration_minutes".into(), json!(d));
                }
                _ => errors.add(
                    "payload.duration_minutes",
                    "must be a whole number of minutes between 0 and 1440",
                ),
            },
        }
        match obj.get("outcome") {
            None | Some(Value::Null) => {}
            Some(v) => match v.as_str().map(str::trim) {
                Some(o) if o.chars().count() <= 200 => {
                    if !o.is_empty() {
                        out.insert("outcome".into(), json!(o));
                    }
                }
                _ => errors.add("payload.outcome", "must be text of at most 200 characters"),
            },
        }
    }
    for key in obj.keys() {
        if !matches!(
            key.as_str(),
            "text"
                | "notes"
                | "mentions"
                | "portal"
                | "occurred_at"
                | "duration_minutes"
                | "outcome"
        ) {
            errors.add(&format!("payload.{key}"), "is not a known field");
        }
    }
    errors.into_result()?;
    Ok(Value::Object(out))
}

/// Writes a `values_changed` entry on a record's timeline telling which of `object`'s fields a
/// change touched (`diff`: field key, or `custom.` key of a built-in kind's custom field, with the
/// stored values before and after), each by its label and its values as people read them then (a
/// relation or member field by its label alone). Keys that are no field of `object` are left out;
/// nothing is written when no field is left.
pub(crate) async fn note_values_changed(
    tx: &mut TenantTx,
    actor: &Actor,
    record: (&'static str, uuid::Uuid),
    object: &rapport_domain::schema::ObjectDef,
    diff: &[(&str, Value, Value)],
) -> AppResult<()> {
    use rapport_domain::schema::{FieldDef, FieldType};
    let shown = |field: &FieldDef, v: &Value| -> Value {
        match field.field_type {
            FieldType::Member | FieldType::Relation => Value::Null,
            _ => rapport_domain::values::decode(field, v)
                .map_or(Value::Null, |v| json!(v.display(field))),
        }
    };
    let lines: Vec<Value> = diff
        .iter()
        .filter(|(_, before, after)| before != after)
        .filter_map(|(key, before, after)| {
            let field = object.field(key.strip_prefix("custom.").unwrap_or(key))?;
            Some(json!({
                "key": field.key,
                "label": field.label,
                "from": shown(field, before),
                "to": shown(field, after),
            }))
        })
        .collect();
    if !lines.is_empty() {
        note(
            tx,
            actor,
            record,
            "values_changed",
            json!({ "changes": lines }),
        )
        .await?;
    }
    Ok(())
}

/// Notes on a record's timeline (`record`: its type and id) what `actor` did: `kind`, with its
/// payload, in the transaction of the change it follows.
pub(crate) async fn note(
    tx: &mut rapport_store::TenantTx,
    actor: &Actor,
    record: (&'static str, uuid::Uuid),
    kind: &str,
    payload: serde_json::Value,
) -> AppResult<Activity> {
    let (record_type, record_id) = record;
    Ok(store_activities::insert(
        tx,
        NewActivity {
            record_type,
            record_id,
            author_id: Some(actor.user_id),
            kind: kind.to_owned(),
            payload,
        },
    )
    .await?)
}

/// Leaves out of `items` the entries about tasks out of the actor's reach (a task's title is
/// its own, not its record's).
async fn keep_tasks_in_reach(
    tx: &mut TenantTx,
    actor: &Actor,
    tenant: &Tenant,
    items: &mut Vec<Activity>,
) -> AppResult<()> {
    use rapport_domain::access::{Reach, RecordAction};
    let task_of = |a: &Activity| {
        a.payload
            .0
            .get("task_id")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<uuid::Uuid>().ok())
    };
    let reach = tenant.reach(actor, RecordAction::View, "task");
    let Reach::Owners(owners) = reach else {
        return Ok(());
    };
    let mut ids: Vec<uuid::Uuid> = items.iter().filter_map(task_of).collect();
    ids.sort_unstable();
    ids.dedup();
    let kept = rapport_store::tasks::in_reach(tx, &ids, &owners).await?;
    items.retain(|a| task_of(a).is_none_or(|id| kept.contains(&id)));
    Ok(())
}

/// Leaves out of "changed" entries the fields hidden from the role; an entry left with no
/// field goes. Entries written before they named their fields' keys are matched by label.
async fn hide_changed_fields(
    tx: &mut TenantTx,
    tenant: &Tenant,
    record: RecordRef,
    items: &mut Vec<Activity>,
) -> AppResult<()> {
    if !items.iter().any(|a| a.kind == "values_changed") {
        return Ok(());
    }
    let hidden = crate::fields::HiddenByKind::load(
        tx,
        &tenant.access.grants,
        tenant.organization.created_at,
    )
    .await?;
    if hidden.is_empty() {
        return Ok(());
    }
    let own = match record {
        RecordRef::Record(_) => record.kind_and_owner(tx).await?.map(|(k, _)| k),
        _ => Some(record.kind().to_owned()),
    };
    for item in items.iter_mut().filter(|a| a.kind == "values_changed") {
        let kind = if item.record_type == "record" {
            own.clone()
        } else {
            Some(item.record_type.clone())
        };
        let Some(kind) = kind else { continue };
        let keys = hidden.of(&kind);
        if keys.is_empty() {
            continue;
        }
        let labels: Vec<&str> = hidden
            .catalog()
            .and_then(|c| c.get(&kind))
            .map(|o| {
                o.def
                    .fields
                    .iter()
                    .filter(|f| keys.iter().any(|k| k == f.key.as_str()))
                    .map(|f| f.label.as_str())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(Value::Array(lines)) = item.payload.0.get_mut("changes") {
            lines.retain(|line| match line.get("key").and_then(Value::as_str) {
                Some(key) => !keys.iter().any(|k| k == key),
                None => !line
                    .get("label")
                    .and_then(Value::as_str)
                    .is_some_and(|l| labels.contains(&l)),
            });
        }
    }
    items.retain(|a| {
        a.kind != "values_changed"
            || a.payload
                .0
                .get("changes")
                .and_then(Value::as_array)
                .is_some_and(|l| !l.is_empty())
    });
    Ok(())
}

impl App {
    /// A record's timeline, newest first.
    pub async fn timeline(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        record: RecordRef,
        paging: TimelinePaging,
        meta: &RequestMeta,
    ) -> AppResult<ActivityPage> {
        let TimelinePaging {
            before,
            page,
            page_size,
        } = paging;
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            record.object(),
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        if !record.exists(&mut tx, actor, tenant).await? {
            return Err(AppError::NotFound);
        }
        let offset = crate::paging::offset(before.is_some(), page, page_size);
        let mut items = store_activities::list(
            &mut tx,
            record.kind(),
            record.id(),
            before,
            offset,
            page_size,
        )
        .await?;
        let has_more = crate::paging::cut(&mut items, page_size);
        // Where the page continues is read before entries are left out.
        let last = items.last().map(|a| (a.created_at, a.id));
        keep_tasks_in_reach(&mut tx, actor, tenant, &mut items).await?;
        hide_changed_fields(&mut tx, tenant, record, &mut items).await?;
        let total = store_activities::count(&mut tx, record.kind(), record.id()).await?;
        tx.commit().await?;
        let next = if has_more { last } else { None };
        Ok(ActivityPage { items, total, next })
    }

    /// The newest entries of a record's page: its timeline with its related records' (when the
    /// member may see those kinds), a page at a time.
    pub async fn gathered_timeline(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        record: RecordRef,
        paging: GatheredPaging<'_>,
        meta: &RequestMeta,
    ) -> AppResult<GatheredPage> {
        let GatheredPaging {
            group,
            before,
            limit,
        } = paging;
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            record.object(),
            Ownership::NotApplicable,
        )
        .await?;
        let sees = |object| tenant.may(Action::View, object, Ownership::Others);
        let gather = sees(Object::Contact) && sees(Object::Deal);
        let types: &[&str] = match group {
            Some(g) => TIMELINE_GROUPS
                .iter()
                .find(|(key, _, _)| *key == g)
                .map(|(_, _, types)| *types)
                .ok_or_else(|| AppError::invalid("show", "is not a group of the timeline"))?,
            None => &[],
        };
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        if !record.exists(&mut tx, actor, tenant).await? {
            return Err(AppError::NotFound);
        }
        let own = (record.kind(), record.id());
        let mut items =
            store_activities::gathered(&mut tx, own, gather, types, before, limit).await?;
        let has_more = crate::paging::cut(&mut items, limit);
        // Where the page continues is read before entries are left out.
        let last = items.last().map(|a| (a.created_at, a.id));
        keep_tasks_in_reach(&mut tx, actor, tenant, &mut items).await?;
        hide_changed_fields(&mut tx, tenant, record, &mut items).await?;
        let others = |kind: &str| -> Vec<uuid::Uuid> {
            let mut ids: Vec<uuid::Uuid> = items
                .iter()
                .filter(|a| a.record_type == kind && a.record_id != record.id())
                .map(|a| a.record_id)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let (contacts, deals) = (others("contact"), others("deal"));
        let mut about: std::collections::HashMap<uuid::Uuid, String> =
            tables::titles::<Contact>(&mut tx, &contacts)
                .await?
                .into_iter()
                .collect();
        about.extend(tables::titles::<Deal>(&mut tx, &deals).await?);
        tx.commit().await?;
        let next = if has_more { last } else { None };
        Ok(GatheredPage { items, about, next })
    }

    /// Adds a comment or a logged call, meeting or email to a record's timeline.
    pub async fn add_activity(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        record: RecordRef,
        kind: &str,
        payload: Value,
        meta: &RequestMeta,
    ) -> AppResult<Activity> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            record.object(),
            Ownership::NotApplicable,
        )
        .await?;
        // Existence first: a record of another organization is 404 whatever the caller's role.
        let found = {
            let mut tx = self.db.tenant_read(tenant.id()).await?;
            let found = record
                .kind_and_owner(&mut tx)
                .await?
                .filter(|(kind, owner)| tenant.sees(kind, tenant.relation(actor, *owner)));
            tx.commit().await?;
            found.ok_or(AppError::NotFound)?
        };
        // What its clients read in the portal is said by those who may change the record, as
        // sharing it is.
        if kind == "comment" && payload.get("portal").and_then(Value::as_bool) == Some(true) {
            self.authorize_kind(
                actor,
                tenant,
                meta,
                rapport_domain::access::RecordAction::Edit,
                &found.0,
                tenant.relation(actor, found.1),
            )
            .await?;
        }
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Create,
            Object::Activity,
            Ownership::NotApplicable,
        )
        .await?;
        // What the members mentioned may see, read before the transaction: no connection is
        // waited for while one is held.
        let mut told: Vec<(UserId, crate::roles::Access)> = Vec::new();
        if let Some(listed) = payload.get("mentions").and_then(Value::as_array) {
            for id in listed.iter().take(MAX_MENTIONS) {
                let Some(user) = id.as_str().and_then(|s| s.parse().ok()).map(UserId) else {
                    continue;
                };
                if let Some(access) = self.access_in(tenant.id(), user).await? {
                    told.push((user, access));
                }
            }
        }
        let mut tx = self.db.tenant(tenant.id()).await?;
        if !record.exists(&mut tx, actor, tenant).await? {
            return Err(AppError::NotFound);
        }
        if let RecordRef::Lead(id) = record
            && tables::find::<Lead>(&mut tx, id)
                .await?
                .is_some_and(|l| l.converted_at.is_some())
        {
            return Err(AppError::conflict(
                "lead_converted",
                "this lead was converted; add to the contact's timeline instead",
            ));
        }
        let shared = matches!(record, RecordRef::Deal(_) | RecordRef::Record(_));
        let payload = checked_payload(&mut tx, kind, &payload, shared).await?;
        let activity = note(&mut tx, actor, (record.kind(), record.id()), kind, payload).await?;
        // Of the members mentioned, those who may see the record are told: a notification names
        // it.
        let mut mentions = Vec::new();
        if let Some(listed) = activity.payload.0.get("mentions").and_then(Value::as_array)
            && let Some((object, owner)) = record.kind_and_owner(&mut tx).await?
        {
            for id in listed {
                let Some(user) = id.as_str().and_then(|s| s.parse().ok()).map(UserId) else {
                    continue;
                };
                if let Some((_, access)) = told.iter().find(|(u, _)| *u == user) {
                    let them = Tenant {
                        access: access.clone(),
                        ..tenant.clone()
                    };
                    let relation = them.relation_of(user, owner);
                    if them.sees(&object, relation) {
                        mentions.push(id.clone());
                    }
                }
            }
        }
        let mentions = (!mentions.is_empty()).then_some(Value::Array(mentions));
        crate::events::publish(
            &mut tx,
            rapport_store::events::NewEvent {
                event_type: if kind == "comment" {
                    "comment.created".into()
                } else {
                    "activity.logged".into()
                },
                version: crate::events::VERSION,
                record_type: Some(record.kind().to_owned()),
                record_id: Some(record.id()),
                changed: Vec::new(),
                actor_id: Some(actor.user_id),
                payload: json!({"activity_id": activity.id, "type": kind, "mentions": mentions}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(activity)
    }
}

//! The built-in kinds (companies, contacts, leads, deals and tasks) on one path. Reading a record,
//! listing, creating, changing and deleting are written once, here: the permission check, one
//! transaction per request, custom values checked by the registry, the audit entry with its field
//! diff (which the outbox hands on as `company.updated` and the like). A kind brings only what is
//! its own ([`BuiltinKind`]): checking its fields, its columns, its table, and its rules as hooks
//! (a converted lead is read-only, a contact with deals stays, a deal's stage and status changes
//! go to its timeline, a task's reminder is scheduled and its completion noted).

use std::future::Future;

use rapport_domain::access::RecordAction;
use rapport_domain::schema::{FieldDef, ObjectDef};
use rapport_domain::{Action, Object, Ownership, UserId};
use rapport_store::TenantTx;
use rapport_store::keyset::{SortValue, Window};
use rapport_store::tables::{self, KindTable, ValueSort};
use rapport_store::tags::Tag;
use serde_json::Value as Json;
use uuid::Uuid;

use crate::audit::{changes_and, entry, with_target};
use crate::changes::{Checked, RecordChange};
use crate::custom_values::{BuiltinRecord, Kind};
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// Counting a list stops here; the total is then a lower bound.
const COUNT_CAP: i64 = 10_000;

/// A page's records, one over when there is a next page, and the list's total when it was
/// counted: (count, exact).
pub type Rows<K> = (Vec<K>, Option<(i64, bool)>);

/// A built-in kind of record: what the common path needs to know of it. Implemented by the
/// record type itself, so `app.read::<Company>(…)` reads a company.
pub trait BuiltinKind:
    KindTable<
        Id: std::fmt::Debug + From<Uuid> + Into<Uuid> + std::fmt::Display,
        Filter: Clone + std::fmt::Debug + Send,
        Sort: std::fmt::Debug,
    > + std::fmt::Debug
    + Sync
    + 'static
{
    /// The checked columns to write.
    type Fields: Send + Sync;

    /// Its name in the registry, audit actions (`company.created`), tags and timelines.
    const KIND: Kind;
    /// What permissions speak of.
    const OBJECT: Object = Self::KIND.permission_object();
    /// The inputs of a change the kind reads itself rather than its registry entry (a deal's
    /// pipeline, stage, amount, currency and status move together under its own rules).
    const OWN_INPUTS: &'static [&'static str] = &[];

    fn id(&self) -> Self::Id;
    fn owner(&self) -> UserId;
    fn custom(&self) -> &Json;
    fn custom_mut(&mut self) -> &mut Json;
    /// What names the record in the audit entries of its creation and deletion.
    fn named(&self) -> Json;
    /// What the audit entry of its creation says of it.
    fn created(&self) -> Json {
        self.named()
    }
    /// Its own fields before and after a change, for the audit diff.
    fn diff(before: &Self, after: &Self) -> Vec<(&'static str, Json, Json)>;

    /// The kind's own actions a change amounts to, each allowed by the role's permission
    /// matrix or refused (a deal moved to another stage, won, lost or reopened).
    fn own_actions(_before: &Self, _after: &Self) -> Vec<rapport_domain::access::RecordAction> {
        Vec::new()
    }

    /// The kind's own actions creating this record amounts to (a deal made straight into a
    /// later stage, or already won or lost).
    fn own_actions_at_creation(
        &self,
        _tx: &mut TenantTx,
    ) -> impl Future<Output = AppResult<Vec<rapport_domain::access::RecordAction>>> + Send {
        async { Ok(Vec::new()) }
    }

    /// Whether its records have a timeline (tasks show on their record's instead).
    const TIMELINE: bool = true;

    /// Its own fields before and after a change as its timeline's "changed …" entry tells them:
    /// keyed as its registry fields and valued as stored ones. The audit diff unless the kind
    /// writes some changes as entries of their own (a deal's stage and status).
    fn told(before: &Self, after: &Self) -> Vec<(&'static str, Json, Json)> {
        Self::diff(before, after)
    }
    /// The columns to write after a change (to a new record when `current` is `None`) whose
    /// fields the registry checked: the kind adds its own rules' errors to `v.errors`, or
    /// answers `Forbidden` when the change links a record the actor may not touch.
    fn columns(
        tx: &mut TenantTx,
        current: Option<&Self>,
        v: &mut Checked<'_>,
    ) -> impl Future<Output = AppResult<Self::Fields>> + Send;

    /// How the actor relates to the record, for the permission to change or delete it.
    fn relation(
        &self,
        _tx: &mut TenantTx,
        actor: &Actor,
        tenant: &Tenant,
    ) -> impl Future<Output = AppResult<Ownership>> + Send {
        let relation = tenant.relation(actor, self.owner());
        async move { Ok(relation) }
    }

    /// The stage the record is in, for field rules that hold at some stages (a deal's
    /// `{pipeline id}/{stage key}`); `None` for kinds without stages.
    fn stage(&self) -> Option<String> {
        None
    }

    /// The field a field rule names for an input or a change of the kind's (a deal's currency
    /// goes with its amount, its pipeline with its stage).
    fn rule_name(name: &str) -> &str {
        name
    }

    /// Refuses any change to the record (a `Conflict` saying why).
    fn may_change(&self) -> AppResult<()> {
        Ok(())
    }

    /// Runs in the transaction that created the record, after its custom values.
    fn after_create(
        &self,
        _tx: &mut TenantTx,
        _actor: &Actor,
    ) -> impl Future<Output = AppResult<()>> + Send {
        async { Ok(()) }
    }

    /// Runs in the transaction that changed the record.
    fn after_update(
        _before: &Self,
        _after: &Self,
        _tx: &mut TenantTx,
        _actor: &Actor,
    ) -> impl Future<Output = AppResult<()>> + Send {
        async { Ok(()) }
    }

    /// Refuses a deletion (a `Conflict` saying why).
    fn before_delete(&self, _tx: &mut TenantTx) -> impl Future<Output = AppResult<()>> + Send {
        async { Ok(()) }
    }

    fn insert(
        tx: &mut TenantTx,
        actor: &Actor,
        fields: &Self::Fields,
    ) -> impl Future<Output = rapport_store::Result<Self>> + Send;
    fn update(
        tx: &mut TenantTx,
        current: &Self,
        fields: &Self::Fields,
    ) -> impl Future<Output = rapport_store::Result<()>> + Send;
}

/// Writes what every built-in kind's record spells alike: `id`, `owner` (the named column), what
/// names it in the audit log (`named`), the custom values, the audit diff of the listed fields
/// (`key`, or `key = field.path`) and, with `store`, the insert and update of that store module.
macro_rules! builtin_record {
    (
        id: $id:ty,
        owner: $owner:ident,
        named: $named:ident,
        store: $store:ident,
        diff: [$($diff:tt)*] $(,)?
    ) => {
        $crate::kinds::builtin_record! { id: $id, owner: $owner, named: $named, diff: [$($diff)*] }

        async fn insert(
            tx: &mut rapport_store::TenantTx,
            _actor: &$crate::Actor,
            fields: &Self::Fields,
        ) -> rapport_store::Result<Self> {
            $store::insert(tx, fields).await
        }
        async fn update(
            tx: &mut rapport_store::TenantTx,
            current: &Self,
            fields: &Self::Fields,
        ) -> rapport_store::Result<()> {
            $store::update(tx, current.id, fields).await
        }
    };
    (
        id: $id:ty,
        owner: $owner:ident,
        named: $named:ident,
        diff: [$($key:ident $(= $($column:ident).+)?),* $(,)?] $(,)?
    ) => {
        fn id(&self) -> $id {
            self.id
        }
        fn named(&self) -> serde_json::Value {
            serde_json::json!({stringify!($named): self.$named})
        }
        fn owner(&self) -> rapport_domain::UserId {
            self.$owner
        }
        fn custom(&self) -> &serde_json::Value {
            &self.custom.0
        }
        fn custom_mut(&mut self) -> &mut serde_json::Value {
            &mut self.custom.0
        }
        fn diff(
            before: &Self,
            after: &Self,
        ) -> Vec<(&'static str, serde_json::Value, serde_json::Value)> {
            vec![$($crate::kinds::diff_entry!(before, after, $key $(= $($column).+)?)),*]
        }
    };
}

/// One field of an audit diff: its key, its value before and after.
macro_rules! diff_entry {
    ($before:ident, $after:ident, $key:ident = $($column:ident).+) => {
        (
            stringify!($key),
            serde_json::json!($before.$($column).+),
            serde_json::json!($after.$($column).+),
        )
    };
    ($before:ident, $after:ident, $key:ident) => {
        (
            stringify!($key),
            serde_json::json!($before.$key),
            serde_json::json!($after.$key),
        )
    };
}

pub(crate) use {builtin_record, diff_entry};

/// Checks a change to a record of `K` (a new one when `current` is `None`) and gives the columns
/// to write: `Validation` naming every wrong field, `Forbidden` when it links a record the
/// actor may not touch.
pub(crate) async fn check_change<K: BuiltinKind>(
    tx: &mut TenantTx,
    actor: &Actor,
    tenant: &Tenant,
    current: Option<&K>,
    change: &RecordChange,
) -> AppResult<K::Fields> {
    let mut v = Checked::new::<K>(tx, actor, tenant, current, change).await?;
    let columns = K::columns(tx, current, &mut v).await?;
    v.errors.into_result()?;
    Ok(columns)
}

/// A page of a built-in list asked for.
#[derive(Debug)]
pub struct ListQuery<K: BuiltinKind> {
    /// Whether the page comes with the total (an export, reading every page, needs none).
    pub with_total: bool,
    pub filter: K::Filter,
    /// Filters on custom values in the engine's grammar (`key`, operator, value), as on custom
    /// objects' lists: equality, `in`, ranges and `empty`, checked against the registry.
    pub custom: Vec<(String, Option<String>, String)>,
    /// The key of a custom field to sort by instead of `sort` (in `descending` order; records
    /// without a value last); its cursor's value is then the custom value
    /// ([`SortValue::Num`], [`SortValue::Text`], or [`SortValue::Missing`] past the values).
    pub custom_sort: Option<String>,
    pub sort: K::Sort,
    pub descending: bool,
    /// Where the previous page ended: keyset paging (`page` is then ignored).
    pub after: Option<(SortValue, K::Id)>,
    pub page: u64,
    pub page_size: u64,
}

impl<K: BuiltinKind> Clone for ListQuery<K> {
    fn clone(&self) -> Self {
        ListQuery {
            with_total: self.with_total,
            filter: self.filter.clone(),
            custom: self.custom.clone(),
            custom_sort: self.custom_sort.clone(),
            sort: self.sort,
            descending: self.descending,
            after: self.after.clone(),
            page: self.page,
            page_size: self.page_size,
        }
    }
}

pub struct ListPage<K: BuiltinKind> {
    pub items: Vec<K>,
    /// The tags of the page's records, as (record id, tag) pairs.
    pub tags: Vec<(Uuid, Tag)>,
    pub total: i64,
    pub total_is_exact: bool,
    /// Where the next page continues, when there is one.
    pub next: Option<(SortValue, K::Id)>,
}

/// The fields a change gives, as field rules name them: the kind's own (`amount`; with
/// `valued_only`, those given a value) and its custom ones (`custom.<key>`).
fn given_names<K: BuiltinKind>(change: &RecordChange, valued_only: bool) -> Vec<String> {
    let own: Vec<&str> = if valued_only {
        crate::fields::valued(&change.values)
    } else {
        change.values.keys().map(String::as_str).collect()
    };
    let mut names: Vec<String> = own
        .into_iter()
        .map(|k| K::rule_name(k).to_owned())
        .collect();
    names.extend(
        change
            .custom
            .iter()
            .flat_map(|c| c.keys().map(|k| format!("custom.{k}"))),
    );
    names.sort();
    names.dedup();
    names
}

/// Refuses (403) a change that gives a custom field hidden from the actor's role: checked
/// before anything else, so that no other answer can tell what such a field holds.
fn hidden_given<K: BuiltinKind>(tenant: &Tenant, change: &RecordChange) -> AppResult<()> {
    let custom: Vec<String> = change
        .custom
        .iter()
        .flat_map(|c| c.keys().map(|k| format!("custom.{k}")))
        .collect();
    crate::fields::check_hidden_given(
        tenant,
        K::KIND.object_key(),
        custom.iter().map(String::as_str),
    )
}

fn audit_action<K: BuiltinKind>(what: &str) -> String {
    format!("{}.{what}", K::KIND.object_key())
}

impl App {
    /// One record and its tags, read in one transaction.
    pub async fn read<K: BuiltinKind>(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: K::Id,
        meta: &RequestMeta,
    ) -> AppResult<(K, Vec<Tag>)> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            K::OBJECT,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let found = tables::find_with_tags::<K>(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        // A record out of the actor's reach is not there for them.
        let relation = found.0.relation(&mut tx, actor, tenant).await?;
        if !tenant.sees(K::KIND.object_key(), relation) {
            return Err(AppError::NotFound);
        }
        let hidden = crate::fields::hidden_of(&mut tx, tenant, K::KIND.object_key()).await?;
        tx.commit().await?;
        let mut found = found;
        crate::fields::hide_json(found.0.custom_mut(), &hidden);
        Ok(found)
    }

    /// One record, without its tags.
    pub async fn get<K: BuiltinKind>(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: K::Id,
        meta: &RequestMeta,
    ) -> AppResult<K> {
        Ok(self.read::<K>(actor, tenant, id, meta).await?.0)
    }

    pub async fn create<K: BuiltinKind>(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        change: RecordChange,
        meta: &RequestMeta,
    ) -> AppResult<K> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Create,
            K::OBJECT,
            Ownership::NotApplicable,
        )
        .await?;
        if let Err(e) = hidden_given::<K>(tenant, &change) {
            self.record_denial_of(actor, tenant, meta, "change_field", K::KIND.object_key())
                .await;
            return Err(e);
        }
        let mut tx = self.db.tenant(tenant.id()).await?;
        let fields = match check_change::<K>(&mut tx, actor, tenant, None, &change).await {
            Err(AppError::Validation(mut errors)) => {
                let input = change.custom.as_ref();
                let more = self
                    .custom_errors(&mut tx, tenant, K::KIND, input, true)
                    .await?;
                errors.0.extend(more);
                return Err(AppError::Validation(errors));
            }
            Err(AppError::Forbidden) => {
                drop(tx);
                self.record_denial(actor, tenant, meta, Action::Create, K::OBJECT)
                    .await;
                return Err(AppError::Forbidden);
            }
            checked => checked?,
        };
        let mut record = K::insert(&mut tx, actor, &fields).await?;
        let written = self
            .write_custom(
                &mut tx,
                tenant,
                BuiltinRecord {
                    kind: K::KIND,
                    id: record.id().into(),
                    custom: record.custom(),
                },
                change.custom.as_ref(),
                true,
            )
            .await?;
        if let Some(c) = written {
            *record.custom_mut() = Json::Object(c.document);
        }
        record.after_create(&mut tx, actor).await?;
        let kind = K::KIND.object_key();
        let relation = tenant.relation(actor, record.owner());
        if let Some(refused) = record
            .own_actions_at_creation(&mut tx)
            .await?
            .into_iter()
            .find(|a| !tenant.may_kind(*a, kind, relation))
        {
            drop(tx);
            self.record_denial_of(actor, tenant, meta, refused.as_str(), kind)
                .await;
            return Err(AppError::Forbidden);
        }
        let valued = given_names::<K>(&change, true);
        if let Err(e) = crate::fields::check_writes(
            tenant,
            kind,
            record.stage().as_deref(),
            std::iter::empty(),
            valued.iter().map(String::as_str),
        ) {
            drop(tx);
            self.record_denial_of(actor, tenant, meta, "change_field", kind)
                .await;
            return Err(e);
        }
        let mut e = with_target(
            entry(Some(actor), meta, &audit_action::<K>("created")),
            K::KIND.object_key(),
            record.id(),
        );
        e.changes = Some(record.created());
        crate::events::record(&mut tx, e).await?;
        let hidden = crate::fields::hidden_of(&mut tx, tenant, kind).await?;
        tx.commit().await?;
        crate::fields::hide_json(record.custom_mut(), &hidden);
        Ok(record)
    }

    /// Reads the record to change or delete in `tx` and checks the actor may: 404 when it is
    /// not there, 403 (audited) when the actor's relation to it does not allow `action`.
    async fn writable<K: BuiltinKind>(
        &self,
        tx: rapport_store::TenantTx,
        actor: &Actor,
        tenant: &Tenant,
        id: K::Id,
        action: Action,
        meta: &RequestMeta,
    ) -> AppResult<(rapport_store::TenantTx, K)> {
        let mut tx = tx;
        let current = tables::find_for_update::<K>(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let relation = current.relation(&mut tx, actor, tenant).await?;
        if !tenant.sees(K::KIND.object_key(), relation) {
            return Err(AppError::NotFound);
        }
        if !tenant.may(action, K::OBJECT, relation) {
            drop(tx);
            self.record_denial(actor, tenant, meta, action, K::OBJECT)
                .await;
            return Err(AppError::Forbidden);
        }
        Ok((tx, current))
    }

    pub async fn update<K: BuiltinKind>(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: K::Id,
        change: RecordChange,
        meta: &RequestMeta,
    ) -> AppResult<K> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            K::OBJECT,
            Ownership::NotApplicable,
        )
        .await?;
        let tx = self.db.tenant(tenant.id()).await?;
        let (mut tx, current) = self
            .writable::<K>(tx, actor, tenant, id, Action::Edit, meta)
            .await?;
        current.may_change()?;
        if let Err(e) = hidden_given::<K>(tenant, &change) {
            drop(tx);
            self.record_denial_of(actor, tenant, meta, "change_field", K::KIND.object_key())
                .await;
            return Err(e);
        }
        let fields = match check_change::<K>(&mut tx, actor, tenant, Some(&current), &change).await
        {
            Err(AppError::Validation(mut errors)) => {
                let input = change.custom.as_ref();
                let more = self
                    .custom_errors(&mut tx, tenant, K::KIND, input, false)
                    .await?;
                errors.0.extend(more);
                return Err(AppError::Validation(errors));
            }
            Err(AppError::Forbidden) => {
                drop(tx);
                self.record_denial(actor, tenant, meta, Action::Edit, K::OBJECT)
                    .await;
                return Err(AppError::Forbidden);
            }
            checked => checked?,
        };
        K::update(&mut tx, &current, &fields).await?;
        let custom = self
            .write_custom(
                &mut tx,
                tenant,
                BuiltinRecord {
                    kind: K::KIND,
                    id: id.into(),
                    custom: current.custom(),
                },
                change.custom.as_ref(),
                false,
            )
            .await?;
        let after = tables::find::<K>(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let kind = K::KIND.object_key();
        {
            // Changes the record makes of itself (a deal's probability following its stage) are
            // not the actor's: only the fields the change gives are judged.
            let given = given_names::<K>(&change, false);
            let changed: Vec<&str> = K::diff(&current, &after)
                .into_iter()
                .chain(K::told(&current, &after))
                .filter(|(_, b, a)| b != a)
                .map(|(k, _, _)| K::rule_name(k))
                .chain(
                    custom
                        .iter()
                        .flat_map(|c| c.diff.iter().map(|(k, _, _)| k.as_str())),
                )
                .filter(|name| given.iter().any(|g| g == name))
                .collect();
            if let Err(e) = crate::fields::check_writes(
                tenant,
                kind,
                current.stage().as_deref(),
                std::iter::empty(),
                changed,
            ) {
                drop(tx);
                self.record_denial_of(actor, tenant, meta, "change_field", kind)
                    .await;
                return Err(e);
            }
        }
        let own_actions = K::own_actions(&current, &after);
        if !own_actions.is_empty() {
            let relation = current.relation(&mut tx, actor, tenant).await?;
            let kind = K::KIND.object_key();
            if let Some(refused) = own_actions
                .into_iter()
                .find(|a| !tenant.may_kind(*a, kind, relation))
            {
                drop(tx);
                self.record_denial_of(actor, tenant, meta, refused.as_str(), kind)
                    .await;
                return Err(AppError::Forbidden);
            }
        }
        // Before the kind's own entries (a deal's stage change), so those read as the newest.
        if K::TIMELINE {
            self.note_changes::<K>(&mut tx, tenant, actor, &current, &after, custom.as_ref())
                .await?;
        }
        K::after_update(&current, &after, &mut tx, actor).await?;
        if let Some(diff) = changes_and(&K::diff(&current, &after), custom.as_ref()) {
            let mut e = with_target(
                entry(Some(actor), meta, &audit_action::<K>("updated")),
                K::KIND.object_key(),
                id,
            );
            e.changes = Some(diff);
            crate::events::record(&mut tx, e).await?;
        }
        let hidden = crate::fields::hidden_of(&mut tx, tenant, kind).await?;
        tx.commit().await?;
        let mut after = after;
        crate::fields::hide_json(after.custom_mut(), &hidden);
        Ok(after)
    }

    /// Tells a change of a record's fields (its own and custom ones) on its timeline.
    async fn note_changes<K: BuiltinKind>(
        &self,
        tx: &mut TenantTx,
        tenant: &Tenant,
        actor: &Actor,
        before: &K,
        after: &K,
        custom: Option<&crate::custom_values::CustomChange>,
    ) -> AppResult<()> {
        let mut diff: Vec<(&str, Json, Json)> = K::told(before, after);
        diff.retain(|(_, b, a)| b != a);
        if let Some(custom) = custom {
            diff.extend(
                custom
                    .diff
                    .iter()
                    .map(|(k, b, a)| (k.as_str(), b.clone(), a.clone())),
            );
        }
        if diff.is_empty() {
            return Ok(());
        }
        let key = K::KIND.object_key();
        let catalog;
        let object = if custom.is_some() {
            catalog = crate::objects::catalog(tx, tenant.organization.created_at).await?;
            catalog.get(key).map(|o| &o.def)
        } else {
            rapport_domain::builtin::described(key)
        };
        let Some(object) = object else {
            return Ok(());
        };
        let record = (key, after.id().into());
        crate::timeline::note_values_changed(tx, actor, record, object, &diff).await
    }

    pub async fn delete<K: BuiltinKind>(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: K::Id,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            K::OBJECT,
            Ownership::NotApplicable,
        )
        .await?;
        let tx = self.db.tenant(tenant.id()).await?;
        let (mut tx, current) = self
            .writable::<K>(tx, actor, tenant, id, Action::Delete, meta)
            .await?;
        current.before_delete(&mut tx).await?;
        if !tables::delete::<K>(&mut tx, id).await? {
            return Err(AppError::NotFound);
        }
        // Its custom values leave the value index (filters, unique values) until it is restored;
        // a record without any has no rows there.
        if current
            .custom()
            .as_object()
            .is_some_and(|values| !values.is_empty())
        {
            rapport_store::records::clear_index(&mut tx, id.into()).await?;
        }
        let mut e = with_target(
            entry(Some(actor), meta, &audit_action::<K>("deleted")),
            K::KIND.object_key(),
            id,
        );
        e.changes = Some(current.named());
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A page of a list, its total (counted up to 10,000) and the page's tags, in one
    /// transaction.
    pub async fn list<K: BuiltinKind>(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        q: ListQuery<K>,
        meta: &RequestMeta,
    ) -> AppResult<ListPage<K>> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            K::OBJECT,
            Ownership::NotApplicable,
        )
        .await?;
        let window = Window {
            sort: q.sort,
            descending: q.descending,
            after: q.after.as_ref(),
            offset: crate::paging::offset(q.after.is_some(), q.page, q.page_size),
            limit: q.page_size,
        };
        let cap = q.with_total.then_some(COUNT_CAP);
        let reach = tenant.reach(actor, RecordAction::View, K::KIND.object_key());
        let owners = reach.owners();
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let (custom, by_value) = if q.custom.is_empty() && q.custom_sort.is_none() {
            (Vec::new(), None)
        } else {
            let catalog = crate::objects::catalog(&mut tx, tenant.organization.created_at).await?;
            let object = catalog
                .get(K::KIND.object_key())
                .map(|o| crate::fields::without_hidden(tenant, o.def.custom_part()))
                .ok_or(AppError::NotFound)?;
            let by_value = match &q.custom_sort {
                Some(key) => Some(value_sort(&object, key, q.descending)?),
                None => None,
            };
            (crate::records::conditions(&object, &q.custom)?, by_value)
        };
        let strategy = tables::search_strategy::<K>(&mut tx, &q.filter).await?;
        if let Some((field, sort)) = by_value {
            let after = q.after.as_ref().map(|(v, id)| (v, (*id).into()));
            let mut items = tables::list_by_value::<K>(
                &mut tx,
                &q.filter,
                &custom,
                owners,
                strategy,
                sort,
                after,
                q.page_size,
            )
            .await?;
            let has_more = crate::paging::cut(&mut items, q.page_size);
            let (total, total_is_exact) = if q.with_total {
                tables::count::<K>(&mut tx, &q.filter, &custom, owners, strategy, COUNT_CAP).await?
            } else {
                (0, false)
            };
            let tags = page_tags::<K>(&mut tx, &items).await?;
            let hidden = crate::fields::hidden_of(&mut tx, tenant, K::KIND.object_key()).await?;
            tx.commit().await?;
            for item in &mut items {
                crate::fields::hide_json(item.custom_mut(), &hidden);
            }
            let next = items
                .last()
                .filter(|_| has_more)
                .map(|r| (custom_sort_value(&field, r.custom()), r.id()));
            return Ok(ListPage {
                items,
                tags,
                total,
                total_is_exact,
                next,
            });
        }
        let (mut items, counted) =
            tables::list::<K>(&mut tx, &q.filter, &custom, owners, strategy, &window, cap).await?;
        let has_more = crate::paging::cut(&mut items, q.page_size);
        let (total, total_is_exact) = match counted {
            Some(counted) => counted,
            None if !q.with_total => (0, false),
            // An empty page past the end of the list: count on its own.
            None => {
                tables::count::<K>(&mut tx, &q.filter, &custom, owners, strategy, COUNT_CAP).await?
            }
        };
        let tags = page_tags::<K>(&mut tx, &items).await?;
        let hidden = crate::fields::hidden_of(&mut tx, tenant, K::KIND.object_key()).await?;
        tx.commit().await?;
        let next = if has_more {
            items.last().map(|r| (r.sort_value(q.sort), r.id()))
        } else {
            None
        };
        for item in &mut items {
            crate::fields::hide_json(item.custom_mut(), &hidden);
        }
        Ok(ListPage {
            items,
            tags,
            total,
            total_is_exact,
            next,
        })
    }
}

impl App {
    /// The names of some records of kind `K` (live or deleted), by id: what a record shows of
    /// the records it links to, whether or not the reader may open them.
    pub async fn titles<K: BuiltinKind>(
        &self,
        tenant: &Tenant,
        ids: &[Uuid],
    ) -> AppResult<Vec<(Uuid, String)>> {
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let titles = tables::titles::<K>(&mut tx, ids).await?;
        tx.commit().await?;
        Ok(titles)
    }
}

/// The tags of a page's records (none for a kind without tags).
async fn page_tags<K: BuiltinKind>(tx: &mut TenantTx, items: &[K]) -> AppResult<Vec<(Uuid, Tag)>> {
    if !K::TAGGED {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = items.iter().map(|r| r.id().into()).collect();
    Ok(rapport_store::tags::of_records(tx, K::KIND.object_key(), &ids).await?)
}

/// The order of a list by one of its custom fields (`key`): 400 `unknown_sort` for a key that is
/// not a live field, or one that holds several values.
fn value_sort(object: &ObjectDef, key: &str, descending: bool) -> AppResult<(FieldDef, ValueSort)> {
    let field = object
        .live_fields()
        .find(|f| f.key.as_str() == key && f.is_sortable())
        .ok_or_else(|| {
            AppError::bad_request(
                "unknown_sort",
                format!("{} cannot be sorted by {key}", object.plural),
            )
        })?;
    Ok((
        field.clone(),
        ValueSort {
            field: field.id,
            column: crate::records::column_of(field),
            descending,
        },
    ))
}

/// Where a list sorted by `field` continues after a record: its value as the index holds it.
fn custom_sort_value(field: &FieldDef, custom: &Json) -> SortValue {
    let entry = custom
        .get(field.key.as_str())
        .and_then(|stored| rapport_domain::values::decode(field, stored))
        .and_then(|v| v.index_entries().into_iter().next());
    match entry {
        Some(e) => match (e.num, e.text) {
            (Some(n), _) => SortValue::Num(n),
            (None, Some(t)) => SortValue::Text(t),
            (None, None) => SortValue::Missing,
        },
        None => SortValue::Missing,
    }
}

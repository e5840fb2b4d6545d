//! The web app's verbs on the built-in kinds, written once over the app's common path: adding a
//! record from its "new" form, saving its page's form, deleting it, adding to its timeline. Each
//! kind's module keeps its pages (list, form fields, record page) and names them through
//! [`WebKind`] and [`FormKind`]; the routes name the kind: `post(kinds::delete::<Deal>)`.

use std::future::Future;

use axum::extract::{Path, Query, RawForm, RawQuery};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use rapport_app::accounts::CurrentSession;
use rapport_app::changes::RecordChange;
use rapport_app::custom_values::Kind;
use rapport_app::kinds::{BuiltinKind, ListQuery};
use rapport_app::timeline::RecordRef;
use rapport_app::{Actor, AppError, Tenant};
use rapport_domain::schema::{FieldType, ObjectDef};
use rapport_domain::{Action, Object, Ownership, UserId, ValidationErrors};
use serde::Deserialize;
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use super::deals::{ActivityForm, add_activity};
use super::lists::{
    Cell, ColumnDef, FilterSelect, ListPage, ListRow, ListState, column_choices, headers,
    is_filtered, owner_filter, saved_views, sort_parts, tag_chips, tag_filter, total_label,
};
use super::objects::Names;
use super::objects::inverse_sections;
use super::record_page::{
    ConvertBox, FormField, RecordPage, Related, RelatedItem, inline_answer, inline_fields,
    keep_named, tag_parts, task_box, timeline_of,
};
use super::records::People;
use super::workspace::shell;
use super::{
    CsrfForm, FormErrors, PageContext, PageError, PageResult, form_pairs, form_value, render,
    render_status, see_other,
};
use crate::api::v1::kinds::{ApiKind, definition, system_values};
use crate::api::v1::types::decode_sort_cursor;
use crate::error::ApiError;
use crate::exports::{CsvKind, Exporter};
use crate::state::AppState;

/// A built-in kind's place in the web app.
pub trait WebKind: BuiltinKind {
    /// Where its pages are: `companies` for `/companies` and `/companies/{id}`.
    const PATH: &'static str;
    /// What one record and several are called in sentences ("company", "companies").
    const ONE: &'static str;
    const MANY: &'static str;
    /// The title of its pages ("Companies").
    const TITLE: &'static str;
    /// Where its list is (a deal's board for deals).
    const LIST: &'static str = Self::PATH;
    /// Its record, as the timeline knows it (a task has no timeline of its own).
    fn timeline(id: Self::Id) -> Option<RecordRef>;
    /// What names a record: its page's heading, its list row, a link to it.
    fn name(&self) -> &str;
}

/// A built-in kind whose record page holds its form (companies, contacts, leads, tasks). The
/// form is made from the kind's definition (`domain/builtin.rs`) like a custom record's: the
/// system fields it names, the owner (a task's assignee is one of its fields), then the
/// organization's custom fields.
pub trait FormKind: WebKind + ApiKind + Clone {
    /// The system fields its form shows, in order.
    const FORM: &'static [&'static str];
    /// The field of a task that links it to a record of this kind, when its page lists the
    /// record's tasks (`company_id`).
    const TASK_LINK: Option<&'static str> = None;
    /// Who may change a record, in the note a reader sees instead of the form.
    const EDITORS: &'static str = "its owner, managers and admins";
    /// The "new" form as its link fills it in (`?company=…` on a new contact).
    fn prefill(_query: &str, _form: &mut RecordForm) {}
    /// Whether the member may act on this record.
    fn may(&self, actor: &Actor, tenant: &Tenant, action: Action) -> bool {
        tenant.may(action, Self::OBJECT, tenant.relation(actor, self.owner()))
    }
    /// Why nobody may change the record any more (a converted lead), when that is so.
    fn frozen(&self) -> Option<&'static str> {
        None
    }
    /// What deleting the record asks first.
    fn delete_confirm(&self) -> String {
        format!(
            "Delete {}? You can restore it from recently deleted for 30 days.",
            self.name()
        )
    }
    /// What the kind's page shows of the record besides its form, tags, tasks, timeline and the
    /// records pointing at it: a line under the heading, badges, the records it gathers.
    fn parts(&self, _view: &PageView<'_>) -> impl Future<Output = PageParts> + Send {
        async { PageParts::default() }
    }
}

/// What a kind's page may read to draw its own parts.
pub struct PageView<'a> {
    pub ctx: &'a PageContext,
    pub actor: &'a Actor,
    pub tenant: &'a Tenant,
    pub people: &'a People,
}

impl PageView<'_> {
    pub fn base(&self) -> &str {
        &self.ctx.base
    }

    /// Whether the member may add records of `object` (a "New deal" link on a company).
    pub fn may_create(&self, object: Object) -> bool {
        self.tenant
            .may(Action::Create, object, Ownership::NotApplicable)
    }

    /// The form linking records of `object` that exist (through their `field`) to the record
    /// `to`, when the member may change such records (their own ones at least).
    pub fn link(
        &self,
        object: Object,
        key: &str,
        field: &str,
        to: impl ToString,
        singular: &str,
        back: String,
    ) -> Option<super::record_page::LinkBox> {
        self.tenant
            .may(Action::Edit, object, Ownership::Own)
            .then(|| super::record_page::LinkBox::new(self.base(), key, field, to, singular, back))
    }

    /// The first records of a kind that `filter` selects, in an order, and how many it selects
    /// in all: the lists a page gathers (a company's people). Those the member may not see are
    /// not there.
    pub async fn first<K: BuiltinKind>(
        &self,
        filter: K::Filter,
        sort: K::Sort,
        descending: bool,
        size: u64,
    ) -> (Vec<K>, Option<i64>) {
        let query = ListQuery {
            with_total: true,
            filter,
            custom: Vec::new(),
            custom_sort: None,
            sort,
            descending,
            after: None,
            page: 1,
            page_size: size,
        };
        let app = &self.ctx.state.app;
        app.list::<K>(self.actor, self.tenant, query, &self.ctx.meta)
            .await
            .map(|p| (p.items, Some(p.total)))
            .unwrap_or_default()
    }

    /// What a deal's stage is called (its key, when no pipeline has it).
    pub async fn stage_namer(&self) -> impl Fn(&str) -> String + use<> {
        let app = &self.ctx.state.app;
        let pipelines = app
            .pipelines(self.actor, self.tenant, &self.ctx.meta)
            .await
            .unwrap_or_default();
        move |key: &str| {
            pipelines
                .iter()
                .find_map(|p| p.stage(key))
                .map_or_else(|| key.replace('_', " "), |s| s.name.clone())
        }
    }

    /// A record the page links to, when the member may see it.
    pub async fn get<K: BuiltinKind>(&self, id: impl Into<K::Id>) -> Option<K> {
        let app = &self.ctx.state.app;
        app.get::<K>(self.actor, self.tenant, id.into(), &self.ctx.meta)
            .await
            .ok()
    }

    /// A link to a record this one names (`sub` says what it is), when the member may see it.
    pub async fn linked<K: WebKind>(&self, id: impl Into<K::Id>, sub: &str) -> Option<RelatedItem> {
        let id = id.into();
        let href = format!("{}/{}/{id}", self.base(), K::PATH);
        let record = self.get::<K>(id).await?;
        Some(RelatedItem::link(href, record.name(), sub))
    }
}

/// A kind's own parts of a record page.
#[derive(Default)]
pub struct PageParts {
    pub subtitle: Option<String>,
    pub badges: Vec<(String, String)>,
    /// The property the first badge stands for (a lead's status): clicked, it opens that
    /// property's editor.
    pub pill: Option<String>,
    pub related: Vec<Related>,
    pub convert: Option<ConvertBox>,
}

/// A built-in record's page: its form (shown again with `form` after a refused change), what its
/// kind says of it ([`FormKind::parts`]), its tags, the records whose relation fields point at
/// it, its tasks, its timeline with a comment box; deleting it.
pub async fn record_page<K: FormKind>(
    ctx: &PageContext,
    id: &str,
    form: Option<&RecordForm>,
) -> Result<RecordPage, PageError> {
    let (session, tenant, record) = open::<K>(ctx, id).await?;
    let app = &ctx.state.app;
    let actor = &session.actor;
    let id: Uuid = record.id().into();
    let key = K::KIND.object_key();
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    let href = format!("{}/{}/{id}", ctx.base, K::PATH);
    let values = form.cloned().unwrap_or_else(|| RecordForm::of(&record));
    let fields = form_fields::<K>(ctx, actor, &tenant, &people, &values).await;
    let view = PageView {
        ctx,
        actor,
        tenant: &tenant,
        people: &people,
    };
    let parts = record.parts(&view).await;
    let inverse = inverse_sections(ctx, actor, &tenant, key, id, K::ONE).await;
    let tags = match K::TAGGED {
        true => Some(tag_parts(ctx, actor, &tenant, key, id).await),
        false => None,
    };
    let tasks = match K::TASK_LINK {
        Some(link) => Some(
            task_box(
                ctx,
                actor,
                &tenant,
                &people,
                (link, id.to_string()),
                href.clone(),
            )
            .await,
        ),
        None => None,
    };
    let timeline = match K::timeline(record.id()) {
        Some(on) => Some(timeline_of(ctx, actor, &tenant, &people, on).await),
        None => None,
    };
    let frozen = record.frozen();
    let can_edit = frozen.is_none() && record.may(actor, &tenant, Action::Edit);
    let may_comment = tenant.may(Action::Create, Object::Activity, Ownership::NotApplicable);
    let mut page = RecordPage::form(
        shell(ctx, session, &tenant, K::PATH, &[K::TITLE, record.name()]).await,
        record.name(),
        href.clone(),
        "Save changes",
        format!("{}/{}", ctx.base, K::PATH),
        fields,
    );
    page.subtitle = parts.subtitle;
    page.badges = parts.badges;
    page.pill = parts.pill;
    page.owner = Some((people.initials(record.owner()), people.name(record.owner())));
    page.convert = parts.convert;
    page.related = parts.related;
    page.related.extend(inverse);
    page.can_edit = can_edit;
    page.readonly_note = Some(match frozen {
        Some(why) => why.to_owned(),
        None => format!(
            "You can read this {}; {} can change it.",
            K::ONE,
            K::EDITORS
        ),
    });
    if record.may(actor, &tenant, Action::Delete) {
        page.delete_action = Some(format!("{href}/delete"));
        page.delete_confirm = record.delete_confirm();
    }
    if let Some((chips, options)) = tags {
        page.tags = chips;
        if can_edit {
            page.tags_action = Some(format!("{href}/tags"));
            page.tag_options = options;
        }
    }
    page.tasks = tasks;
    page.files = super::files::files_box(ctx, actor, &tenant, &people, key, id).await;
    if timeline.is_some() && frozen.is_none() && may_comment {
        page.comment_action = Some(format!("{href}/activities"));
    }
    page.timeline = timeline;
    page.live_channel = Some(format!("record:{key}:{id}"));
    page.kind = super::capitalized(K::ONE);
    Ok(page)
}

/// A built-in record's form, as shown or as posted (its CSRF token checked): its system fields'
/// values by key (as the record shape has them), its owner and its custom values.
#[derive(Clone, Debug, Default)]
pub struct RecordForm {
    pub values: Map<String, Json>,
    pub owner: Option<UserId>,
    pub custom: Option<Map<String, Json>>,
    /// The properties an inline edit changes (see [`inline_fields`]); `None` for the whole form.
    pub only: Option<Vec<String>>,
}

impl RecordForm {
    /// A record's form as it stands.
    pub fn of<K: FormKind>(record: &K) -> Self {
        let mut values = system_values(record.clone());
        values.retain(|key, _| K::FORM.contains(&key.as_str()));
        RecordForm {
            values,
            owner: Some(record.owner()),
            custom: record.custom().as_object().cloned(),
            only: None,
        }
    }
}

/// The part of a kind's definition its form shows.
fn form_object<K: FormKind>() -> ObjectDef {
    let mut object = definition::<K>();
    object.fields = K::FORM
        .iter()
        .filter_map(|key| object.field(key).cloned())
        .collect();
    object
}

/// Whether a kind's form has its owner among its own fields (a task's assignee).
fn owner_is_a_field<K: FormKind>() -> bool {
    K::FORM.contains(&"assignee_id")
}

/// The fields of a kind's form: its system fields, its owner, its custom fields.
pub async fn form_fields<K: FormKind>(
    ctx: &PageContext,
    actor: &Actor,
    tenant: &Tenant,
    people: &People,
    form: &RecordForm,
) -> Vec<FormField> {
    let object = form_object::<K>();
    let titles = ctx
        .state
        .app
        .relation_titles(tenant, &object, &[&form.values])
        .await
        .unwrap_or_default();
    let mut fields = super::objects::form_fields(
        ctx,
        actor,
        tenant,
        &object,
        &form.values,
        people,
        &titles,
        "",
    )
    .await;
    if !owner_is_a_field::<K>() {
        fields.push(super::record_page::member_picker(
            &ctx.base,
            "owner_id",
            "Owner",
            people.options(form.owner.or(Some(actor.user_id))),
        ));
    }
    let custom = Json::Object(form.custom.clone().unwrap_or_default());
    fields.extend(
        super::objects::builtin_custom_fields(ctx, actor, tenant, K::KIND.object_key(), &custom)
            .await,
    );
    fields
}

/// The change a kind's posted form asks for, or what is wrong with its values' shapes before the
/// app checks them (a number or date that is not one).
fn change_of<K: FormKind>(form: &RecordForm) -> Result<RecordChange, ValidationErrors> {
    let object = form_object::<K>();
    let mut errors = ValidationErrors::new();
    let mut body = Map::new();
    for f in &object.fields {
        let key = f.key.as_str();
        if form.only.is_some() && !form.values.contains_key(key) {
            continue;
        }
        let value = form.values.get(key).cloned().unwrap_or(Json::Null);
        let value = match (&value, f.field_type) {
            // Left empty, a required text is for the app to refuse in its own words.
            (Json::Null, _) if f.required => Json::from(""),
            (Json::Null, _) => value,
            (Json::Number(n), FieldType::Number | FieldType::Percent) => {
                match n.as_f64().filter(|n| n.fract() == 0.0) {
                    Some(whole) => Json::from(whole as i64),
                    None => {
                        errors.add(key, "must be a whole number");
                        continue;
                    }
                }
            }
            (_, FieldType::Number | FieldType::Percent) => {
                errors.add(key, "must be a number");
                continue;
            }
            (Json::String(s), FieldType::Date)
                if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_err() =>
            {
                errors.add(key, "must be a date");
                continue;
            }
            (Json::String(s), FieldType::DateTime) if DateTime::parse_from_rfc3339(s).is_err() => {
                errors.add(key, "must be a date and time");
                continue;
            }
            _ => value,
        };
        body.insert(key.to_owned(), value);
    }
    if let (Some(owner), false) = (form.owner, owner_is_a_field::<K>()) {
        body.insert(
            "owner_id".to_owned(),
            Json::from(owner.as_uuid().to_string()),
        );
    }
    if let Some(custom) = &form.custom {
        body.insert("custom".to_owned(), Json::Object(custom.clone()));
    }
    errors.into_result()?;
    serde_json::from_value::<K::In>(Json::Object(body))
        .map(Into::into)
        .map_err(|e| ValidationErrors::single("form", e.to_string()))
}

/// What a built-in kind's list page shows besides what every list has (search, owner and tag
/// filters, saved views, the column chooser with its custom fields, CSV).
pub struct ListSpec {
    pub columns: &'static [ColumnDef],
    pub default_columns: &'static [&'static str],
    pub default_sort: &'static str,
    pub search_placeholder: &'static str,
    pub empty_title: &'static str,
    /// Says that nothing matches a search ("No company matches").
    pub no_match: &'static str,
    pub empty_text: &'static str,
}

/// What a row's cells may need beyond the record.
pub struct Row<'a> {
    pub base: &'a str,
    /// The names of the companies the page's records link to.
    pub companies: &'a [(Uuid, String)],
}

/// A built-in kind with a list page of its own (companies, contacts, leads). The columns `name`,
/// `owner`, `tags` and `added` are drawn here; the kind draws its others.
pub trait ListKind: FormKind + CsvKind {
    const LIST_PAGE: ListSpec;
    /// The record page's property a "company" column changes.
    const COMPANY_PROP: &'static str = "company_id";
    /// The page of records a list state asks for (what does not parse is left out).
    fn page_query(state: &ListState, page_size: u64) -> ListQuery<Self>;
    /// Its own filters, before the owner and tag filters.
    fn filters(_state: &ListState) -> Vec<FilterSelect> {
        Vec::new()
    }
    fn created_at(&self) -> DateTime<Utc>;
    /// The company the record belongs to, for a company column.
    fn company(&self) -> Option<rapport_domain::CompanyId> {
        None
    }
    /// The name cell's second line, when no visible column shows it already.
    fn subtitle(&self, _visible: &[&str]) -> Option<String> {
        None
    }
    /// A cell of one of the kind's own columns.
    fn cell(&self, key: &str, row: &Row) -> Cell;
}

/// The pages of a kind with a list of its own: `/{kind}` (and its CSV), `/{kind}/new`, and
/// `/{kind}/{id}` with its delete and timeline actions.
pub fn pages<K: ListKind>() -> Router<AppState> {
    let path = format!("/{}", K::PATH);
    Router::new()
        .route(&path, get(list::<K>))
        .route(&format!("{path}/export.csv"), get(export::<K>))
        .route(&format!("{path}/new"), get(new_form::<K>).post(create::<K>))
        .route(
            &format!("{path}/{{id}}"),
            get(detail::<K>).post(update::<K>),
        )
        .route(&format!("{path}/{{id}}/delete"), post(delete::<K>))
        .route(&format!("{path}/{{id}}/activities"), post(comment::<K>))
        .route(&format!("{path}/bulk"), post(bulk::<K>))
}

/// `POST /{kind}/bulk`: hands the records chosen in the list to a member, adds a tag to them or
/// deletes them, each record on its own (those the member may not change are counted and the
/// first reason said), then the list again.
/// The select fields a kind's selection bar sets: its own, then its custom ones.
fn bulk_selects<K: FormKind>(
    custom: Option<&ObjectDef>,
) -> Vec<(String, Vec<super::records::Choice>)> {
    let own = form_object::<K>();
    let mut selects = super::lists::select_choices(&own.fields.iter().collect::<Vec<_>>(), "");
    if let Some(custom) = custom {
        selects.extend(super::lists::select_choices(
            &custom.live_fields().collect::<Vec<_>>(),
            CUSTOM,
        ));
    }
    selects
}

pub async fn bulk<K: ListKind>(ctx: PageContext, RawForm(raw): RawForm) -> PageResult {
    let list = format!("{}/{}", ctx.base, K::PATH);
    let form = super::lists::BulkForm::read(&ctx, &raw, &list)?;
    let (session, tenant) = ctx.tenant().await?;
    let (app, actor) = (&ctx.state.app, &session.actor);
    let offered = match form.action.as_str() {
        "set" => {
            let custom =
                super::objects::custom_part(&ctx, actor, &tenant, K::KIND.object_key()).await;
            bulk_selects::<K>(custom.as_ref())
        }
        _ => Vec::new(),
    };
    let (mut changed, mut refused) = (0, Vec::new());
    for &id in &form.ids {
        let record = K::Id::from(id);
        let result = match (form.action.as_str(), form.owner, form.tag) {
            ("owner", Some(owner), _) => {
                let change = RecordChange::of("owner_id", owner);
                app.update::<K>(actor, &tenant, record, change, &ctx.meta)
                    .await
                    .map(|_| ())
            }
            ("set", _, _) if form.set_among(&offered).is_some() => {
                let (field, option) = form.set_among(&offered).unwrap_or_default();
                let change = match field.strip_prefix(CUSTOM) {
                    Some(key) => RecordChange {
                        custom: Some(Map::from_iter([(key.to_owned(), Json::from(option))])),
                        ..RecordChange::default()
                    },
                    None => RecordChange::of(field, option),
                };
                app.update::<K>(actor, &tenant, record, change, &ctx.meta)
                    .await
                    .map(|_| ())
            }
            ("tag", _, Some(tag)) => match super::record_page::taggable(K::KIND.object_key(), id) {
                Some(t) => super::lists::add_tag(&ctx, actor, &tenant, t, tag).await,
                None => Err(AppError::NotFound),
            },
            ("delete", _, _) => app.delete::<K>(actor, &tenant, record, &ctx.meta).await,
            _ => {
                let why = "choose what to do with the records: to whom, which tag or which value";
                return Err(ApiError::bad_request("bulk_action", why).into());
            }
        };
        match result {
            Ok(()) => changed += 1,
            Err(e) => refused.push(e),
        }
    }
    Ok(form.done(changed, &refused, K::ONE, K::MANY))
}

/// Records a list page shows.
const LIST_PAGE_SIZE: u64 = 50;

/// The query of a list state whose sort key is one of `sorts` (by the web's names; the first
/// when it is none of them).
pub fn list_query<K: ListKind>(
    state: &ListState,
    sorts: &[(&str, K::Sort)],
    filter: K::Filter,
    page_size: u64,
) -> ListQuery<K> {
    let (key, descending) = sort_parts(&state.sort);
    let sort = sorts
        .iter()
        .find(|(name, _)| *name == key)
        .unwrap_or(&sorts[0])
        .1;
    ListQuery {
        with_total: true,
        filter,
        custom: Vec::new(),
        custom_sort: None,
        sort,
        descending,
        after: state
            .after
            .as_deref()
            .and_then(|c| decode_sort_cursor(c, K::sort_kind(sort)).ok())
            .map(|(v, id)| (v, K::Id::from(id))),
        page: 1,
        page_size,
    }
}

/// `GET /{kind}`: its list, with search, filters, sort, the columns chosen (its custom fields
/// among them), saved views and keyset pages.
pub async fn list<K: ListKind>(ctx: PageContext, RawQuery(raw): RawQuery) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let spec = &K::LIST_PAGE;
    let state = ListState::parse(raw.as_deref(), spec.default_sort);
    let app = &ctx.state.app;
    let actor = &session.actor;
    let custom = super::objects::custom_part(&ctx, actor, &tenant, K::KIND.object_key()).await;
    let mut state = state;
    let query = custom_query::<K>(
        K::page_query(&state, LIST_PAGE_SIZE),
        custom.as_ref(),
        &state,
    );
    let result = match app
        .list::<K>(actor, &tenant, query.clone(), &ctx.meta)
        .await
    {
        Ok(result) => result,
        // A custom value filter or sort that cannot be read (a range that is not a number, a
        // field no longer there): the list without them, and why.
        Err(e)
            if (!query.custom.is_empty() || query.custom_sort.is_some())
                && super::objects::refusal(&e).is_some() =>
        {
            state.notice = super::objects::refusal(&e);
            state.filters.retain(|(name, _)| !name.starts_with(CUSTOM));
            state.sort = spec.default_sort.to_owned();
            state.after = None;
            let query = K::page_query(&state, LIST_PAGE_SIZE);
            app.list::<K>(actor, &tenant, query, &ctx.meta).await?
        }
        Err(e) => return Err(e.into()),
    };
    let people = People::load(app, actor, &tenant, &ctx.meta).await;
    // The kind's columns, its custom fields before the owner, tags and date.
    let mut all: Vec<ColumnDef> = spec.columns.to_vec();
    if let Some(object) = &custom {
        let at = all
            .iter()
            .position(|c| ["owner", "tags", "added"].contains(&c.key.as_ref()))
            .unwrap_or(all.len());
        let fields = object
            .live_fields()
            .filter(|f| f.field_type != FieldType::Rollup)
            .map(|f| ColumnDef {
                key: f.key.to_string().into(),
                label: f.label.clone().into(),
                // Ids do not make an order people read: members and relations do not sort.
                sort: (f.is_sortable()
                    && !matches!(f.field_type, FieldType::Member | FieldType::Relation))
                .then(|| format!("{CUSTOM}{}", f.key).into()),
                numeric: f.field_type.is_numeric(),
                fixed: false,
            });
        all.splice(at..at, fields.collect::<Vec<_>>());
    }
    let visible = state.visible(&all, spec.default_columns);
    let keys: Vec<&str> = visible.iter().map(|c| c.key.as_ref()).collect();
    let company_ids: Vec<Uuid> = result
        .items
        .iter()
        .filter_map(|r| r.company().map(|c| c.as_uuid()))
        .collect();
    let companies = if company_ids.is_empty() {
        Vec::new()
    } else {
        app.company_names(&tenant, &company_ids)
            .await
            .unwrap_or_default()
    };
    let custom_shown = custom
        .as_ref()
        .filter(|o| keys.iter().any(|k| o.field(k).is_some()));
    let titles = match custom_shown {
        Some(object) => {
            let values: Vec<&Map<String, Json>> = result
                .items
                .iter()
                .filter_map(|r| r.custom().as_object())
                .collect();
            app.relation_titles(&tenant, object, &values)
                .await
                .unwrap_or_default()
        }
        None => Default::default(),
    };
    let zone = match &custom_shown {
        Some(object) => Some(super::objects::person_zone(&ctx, actor, &tenant, object).await),
        None => None,
    };
    let names = Names {
        people: &people,
        records: titles,
        zone,
    };
    let base = &ctx.base;
    let path = format!("{base}/{}", K::PATH);
    let row = Row {
        base,
        companies: &companies,
    };
    let own = |key: &str| spec.columns.iter().any(|c| c.key == key);
    // The record page's property a column shows (what a cell changes in place).
    let prop = |key: &str| -> Option<String> {
        match key {
            "name" | "tags" | "added" => None,
            "owner" => Some("owner_id".into()),
            "company" => Some(K::COMPANY_PROP.into()),
            key if own(key) => Some(key.into()),
            key => custom_shown
                .and_then(|o| o.field(key))
                .filter(|f| f.field_type != FieldType::Rollup)
                .map(|_| format!("{CUSTOM}{key}")),
        }
    };
    let rows = result
        .items
        .iter()
        .map(|r| ListRow {
            id: r.id().to_string(),
            edit_href: tenant
                .may(Action::Edit, K::OBJECT, tenant.relation(actor, r.owner()))
                .then_some(())
                .filter(|_| r.frozen().is_none())
                .map(|_| format!("{path}/{}", r.id())),
            cells: keys
                .iter()
                .map(|key| {
                    let cell = match *key {
                        "name" => Cell {
                            text: r.name().to_owned(),
                            href: Some(format!("{path}/{}", r.id())),
                            strong: true,
                            sub: r.subtitle(&keys),
                            ..Cell::default()
                        },
                        "owner" => Cell::text(people.name(r.owner())),
                        "tags" => Cell {
                            tags: tag_chips(&result.tags, r.id().into()),
                            ..Cell::default()
                        },
                        "added" => Cell::muted(r.created_at().format("%Y-%m-%d").to_string()),
                        key if own(key) => r.cell(key, &row),
                        key => custom_shown
                            .and_then(|o| o.field(key))
                            .map(|f| {
                                super::objects::cell(
                                    base,
                                    f,
                                    r.custom().get(key).unwrap_or(&Json::Null),
                                    &names,
                                )
                            })
                            .unwrap_or_default(),
                    };
                    Cell {
                        edit: prop(key),
                        ..cell
                    }
                })
                .collect(),
        })
        .collect();
    let may = |action| tenant.may(action, K::OBJECT, Ownership::NotApplicable);
    let mut filters = K::filters(&state);
    if let Some(object) = &custom {
        filters.extend(super::objects::choice_filters(
            object, &state, &people, CUSTOM,
        ));
    }
    filters.push(owner_filter(&people, &state));
    filters.push(tag_filter(&ctx, actor, &tenant, &state).await);
    // What the member may do to records they own decides what the selection bar offers.
    let may_own = |action| tenant.may(action, K::OBJECT, Ownership::Own);
    let bulk = match may_own(Action::Edit) || may_own(Action::Delete) {
        true => Some(super::lists::Bulk {
            action: format!("{path}/bulk"),
            owners: match may_own(Action::Edit) {
                true => people.options(None),
                false => Vec::new(),
            },
            tags: match (K::TAGGED, may_own(Action::Edit)) {
                (true, true) => super::lists::tag_choices(&ctx, actor, &tenant).await,
                _ => Vec::new(),
            },
            selects: match may_own(Action::Edit) {
                true => bulk_selects::<K>(custom.as_ref()),
                false => Vec::new(),
            },
            can_delete: may_own(Action::Delete),
        }),
        false => None,
    };
    let page = ListPage {
        bulk,
        list: K::PATH.into(),
        title: K::TITLE.into(),
        total: total_label(result.total, result.total_is_exact, K::ONE, K::MANY),
        new: may(Action::Create).then(|| (format!("{path}/new"), format!("Add a {}", K::ONE))),
        search: state.search.clone(),
        search_placeholder: spec.search_placeholder.into(),
        sort: state.sort.clone(),
        filters,
        headers: headers(&state, &path, &visible),
        rows,
        first: state.first_href(&path),
        next: state.next_href(&path, result.next.as_ref()),
        views: saved_views(&ctx, actor, &tenant, K::PATH, &path, &state).await,
        query: state.query(),
        columns: column_choices(&all, &visible),
        export: may(Action::Export).then(|| format!("{path}/export.csv?{}", state.query())),
        empty_title: if state.search.is_empty() {
            spec.empty_title.into()
        } else {
            format!("{} “{}”", spec.no_match, state.search)
        },
        empty_text: spec.empty_text.into(),
        filtered: is_filtered(&state),
        can_share: may(Action::Create),
        notice: state.notice.clone(),
        path: path.clone(),
        modes: Vec::new(),
        ranges: custom
            .as_ref()
            .map(|o| super::objects::range_filters(o, &state, CUSTOM))
            .unwrap_or_default(),
        shell: shell(&ctx, session, &tenant, K::PATH, &[K::TITLE]).await,
    };
    Ok(render(&page))
}

/// `GET /{kind}/export.csv`: every record of the list state, as CSV.
pub async fn export<K: ListKind>(ctx: PageContext, RawQuery(raw): RawQuery) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    let mut state = ListState::parse(raw.as_deref(), K::LIST_PAGE.default_sort);
    state.after = None;
    let custom =
        super::objects::custom_part(&ctx, &session.actor, &tenant, K::KIND.object_key()).await;
    let query = custom_query::<K>(K::page_query(&state, 500), custom.as_ref(), &state);
    export_csv(&ctx, session, tenant, query).await
}

/// What the address of a built-in list names its custom fields' filters by: `custom.<key>`
/// (`custom.<key>.min` and `.max` for ranges).
pub(super) const CUSTOM: &str = "custom.";

/// A list's query with what its state asks of the custom fields: filters on their values, and
/// a sort by one of them (`sort=custom.<key>`, its cursor a custom value).
fn custom_query<K: ListKind>(
    mut query: ListQuery<K>,
    object: Option<&ObjectDef>,
    state: &ListState,
) -> ListQuery<K> {
    query.custom = custom_filters(object, state);
    let (key, descending) = sort_parts(&state.sort);
    if let Some(key) = key.strip_prefix(CUSTOM) {
        query.custom_sort = Some(key.to_owned());
        query.descending = descending;
        query.after = state
            .after
            .as_deref()
            .and_then(|c| decode_sort_cursor(c, crate::api::v1::types::SortKind::Value).ok())
            .map(|(v, id)| (v, K::Id::from(id)));
    }
    query
}

/// The filters on custom values a list state asks for, in the engine's grammar.
pub(super) fn custom_filters(
    object: Option<&ObjectDef>,
    state: &ListState,
) -> Vec<(String, Option<String>, String)> {
    object.map_or_else(Vec::new, |o| {
        super::objects::engine_filters(o, state, CUSTOM)
    })
}

/// The CSV of every record `query` selects (roles that may export).
pub async fn export_csv<K: CsvKind>(
    ctx: &PageContext,
    session: &CurrentSession,
    tenant: Tenant,
    query: ListQuery<K>,
) -> PageResult {
    let app = ctx.state.app.clone();
    let actor = session.actor.clone();
    let who = Exporter::new(app, actor, tenant, ctx.meta.clone(), K::OBJECT).await?;
    Ok(crate::exports::export(who, query))
}

/// The "new" page of a kind, showing `form` (again).
async fn new_page<K: FormKind>(
    ctx: &PageContext,
    tenant: &Tenant,
    session: &CurrentSession,
    form: &RecordForm,
) -> RecordPage {
    let actor = &session.actor;
    let people = People::load(&ctx.state.app, actor, tenant, &ctx.meta).await;
    let fields = form_fields::<K>(ctx, actor, tenant, &people, form).await;
    let path = format!("{}/{}", ctx.base, K::PATH);
    RecordPage::form(
        shell(ctx, session, tenant, K::PATH, &[K::TITLE, "New"]).await,
        &format!("Add a {}", K::ONE),
        format!("{path}/new"),
        &format!("Add {}", K::ONE),
        path,
        fields,
    )
}

/// `GET /{kind}/new`: the form to add one (roles that may).
pub async fn new_form<K: FormKind>(ctx: PageContext, RawQuery(raw): RawQuery) -> PageResult {
    let (session, tenant) = ctx.tenant().await?;
    if !tenant.may(Action::Create, K::OBJECT, Ownership::NotApplicable) {
        return Err(ApiError::forbidden().into());
    }
    let mut form = RecordForm {
        values: super::objects::defaults(&form_object::<K>()),
        ..RecordForm::default()
    };
    K::prefill(raw.as_deref().unwrap_or_default(), &mut form);
    Ok(render(&new_page::<K>(&ctx, &tenant, session, &form).await))
}

/// What a record page's address carries back after an action.
#[derive(Deserialize)]
pub struct DetailQuery {
    saved: Option<String>,
    converted: Option<String>,
    comment_error: Option<String>,
    convert_error: Option<String>,
    notice: Option<String>,
}

/// `GET /{kind}/{id}`: the record's page, with what the last action left to say.
pub async fn detail<K: FormKind>(
    ctx: PageContext,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> PageResult {
    let mut page = record_page::<K>(&ctx, &id, None).await?;
    let short = |m: String| m.chars().take(200).collect::<String>();
    page.notice = if q.converted.is_some() {
        Some(match K::KIND {
            Kind::Lead => "Converted. The lead's history is on the contact now.",
            _ => "Converted from a lead. Its history is on this timeline.",
        })
    } else if q.notice.as_deref() == Some("tag_name") {
        Some("A tag name has 1 to 40 characters.")
    } else if let Some(said) = q
        .notice
        .as_deref()
        .and_then(super::record_page::link_notice)
    {
        Some(said)
    } else {
        q.saved.map(|_| "Saved.")
    }
    .map(str::to_owned);
    page.comment_error = q.comment_error.map(short);
    if let Some(c) = page.convert.as_mut() {
        c.error = q.convert_error.map(short);
    }
    Ok(render(&page))
}

/// The record a page's address names, read for the signed-in member (404 when it is not there
/// or not theirs to see): their session, the organization, the record.
pub async fn open<'a, K: BuiltinKind>(
    ctx: &'a PageContext,
    id: &str,
) -> Result<(&'a CurrentSession, Tenant, K), PageError> {
    let (session, tenant) = ctx.tenant().await?;
    let id = id_of::<K>(id)?;
    let record = ctx
        .state
        .app
        .get::<K>(&session.actor, &tenant, id, &ctx.meta)
        .await?;
    Ok((session, tenant, record))
}

fn id_of<K: BuiltinKind>(id: &str) -> Result<K::Id, PageError> {
    id.parse::<uuid::Uuid>()
        .map(K::Id::from)
        .map_err(|_| PageError::from(ApiError::not_found()))
}

/// The posted form: its system fields read by their definitions (times in the person's zone),
/// its owner, its custom fields (`creating`: their defaults apply).
async fn posted<'a, K: FormKind>(
    ctx: &'a PageContext,
    raw: &[u8],
    creating: bool,
) -> Result<(RecordForm, &'a CurrentSession, Tenant), PageError> {
    let pairs = form_pairs(raw);
    let csrf = form_value(&pairs, "_csrf");
    ctx.check_csrf(&csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    let actor = &session.actor;
    let object = form_object::<K>();
    let zone = super::objects::person_zone(ctx, actor, &tenant, &object).await;
    let custom = super::objects::builtin_custom_values(
        ctx,
        actor,
        &tenant,
        K::KIND.object_key(),
        raw,
        creating,
    )
    .await;
    let mut form = RecordForm {
        values: super::objects::values_from_form(&object, raw, "", zone),
        owner: form_value(&pairs, "owner_id").parse().ok(),
        custom,
        only: inline_fields(raw),
    };
    if let Some(names) = &form.only {
        keep_named(&mut form.values, "", names);
        if let Some(custom) = form.custom.as_mut() {
            keep_named(custom, "custom", names);
        }
        if !names.iter().any(|n| n == "owner_id") {
            form.owner = None;
        }
    }
    Ok((form, session, tenant))
}

/// A form refused before it reached the app (a number that is not one): its errors, with those
/// of its custom values, so every wrong field is named at once.
pub async fn refused_early(
    ctx: &PageContext,
    tenant: &Tenant,
    kind: Kind,
    custom: Option<&Map<String, Json>>,
    mut errors: ValidationErrors,
    creating: bool,
) -> Result<AppError, PageError> {
    let custom = ctx
        .state
        .app
        .custom_field_errors(tenant, kind, custom, creating)
        .await?;
    errors.0.extend(custom);
    Ok(AppError::Validation(errors))
}

/// `POST /{kind}/new`: the new record's page, or the form again with each error next to its field.
pub async fn create<K: FormKind>(ctx: PageContext, RawForm(raw): RawForm) -> PageResult {
    let (form, session, tenant) = posted::<K>(&ctx, &raw, true).await?;
    let result = match change_of::<K>(&form) {
        Ok(change) => ctx
            .state
            .app
            .create::<K>(&session.actor, &tenant, change, &ctx.meta)
            .await
            .map_err(super::field_errors),
        Err(errors) => {
            Err(refused_early(&ctx, &tenant, K::KIND, form.custom.as_ref(), errors, true).await?)
        }
    };
    match result {
        Ok(r) => Ok(see_other(&format!(
            "{}/{}/{}?saved=1",
            ctx.base,
            K::PATH,
            r.id()
        ))),
        Err(AppError::Validation(errors)) => {
            let mut page = new_page::<K>(&ctx, &tenant, session, &form).await;
            page.errors = FormErrors(errors.0);
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /{kind}/{id}`: saves the record's form; its page again with the errors when refused.
pub async fn update<K: FormKind>(
    ctx: PageContext,
    Path(id): Path<String>,
    RawForm(raw): RawForm,
) -> PageResult {
    let record = id_of::<K>(&id)?;
    let (form, session, tenant) = posted::<K>(&ctx, &raw, false).await?;
    let inline = form.only.is_some();
    let result = match change_of::<K>(&form) {
        Ok(change) => ctx
            .state
            .app
            .update::<K>(&session.actor, &tenant, record, change, &ctx.meta)
            .await
            .map_err(super::field_errors),
        Err(errors) => {
            Err(refused_early(&ctx, &tenant, K::KIND, form.custom.as_ref(), errors, false).await?)
        }
    };
    if inline {
        return Ok(inline_answer(result));
    }
    match result {
        Ok(r) => Ok(see_other(&format!(
            "{}/{}/{}?saved=1",
            ctx.base,
            K::PATH,
            r.id()
        ))),
        Err(AppError::Validation(errors)) => match record_page::<K>(&ctx, &id, Some(&form)).await {
            Ok(mut page) => {
                page.errors = FormErrors(errors.0);
                Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
            }
            Err(p) => Err(p),
        },
        Err(other) => Err(other.into()),
    }
}

/// `POST /{kind}/{id}/delete`: to recently deleted, back to the list.
pub async fn delete<K: WebKind>(
    ctx: PageContext,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    let record = id_of::<K>(&id)?;
    match ctx
        .state
        .app
        .delete::<K>(&session.actor, &tenant, record, &ctx.meta)
        .await
    {
        Ok(()) => Ok(see_other(&format!("{}/{}", ctx.base, K::LIST))),
        Err(e) => Err(e.into()),
    }
}

/// `POST /{kind}/{id}/activities`: a comment, call or meeting on the record's timeline.
pub async fn comment<K: WebKind>(
    ctx: PageContext,
    Path(id): Path<String>,
    Form(form): Form<ActivityForm>,
) -> PageResult {
    let record = id_of::<K>(&id)?;
    let timeline = K::timeline(record).ok_or_else(|| PageError::from(ApiError::not_found()))?;
    let back = format!("{}/{}/{}", ctx.base, K::PATH, record);
    add_activity(&ctx, timeline, form, &back).await?;
    Ok(see_other(&format!("{back}#timeline")))
}

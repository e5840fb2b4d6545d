//! The page of one company, contact or lead: its fields (a form when the user may change them),
//! tags, related records and timeline.

use askama::Template;
use rapport_app::timeline::{GatheredPaging, RecordRef, TIMELINE_GROUPS};
use rapport_app::{AppError, Tenant};
use rapport_domain::ActivityId;
use serde::Deserialize;

use super::lists::TagChip;
use super::records::{Choice, People, TimelineEntry, timeline_entry};
use super::workspace::Shell;
use super::{FormErrors, PageContext, PageResult};

/// A field of a record's form.
pub struct FormField {
    pub name: String,
    pub label: String,
    /// text, email, tel, url, number, date, datetime-local, select, multiselect, checkbox,
    /// money (an amount and a currency) or textarea
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<Choice>,
    pub hint: String,
    pub required: bool,
    /// Money: the currency's code.
    pub currency: String,
    /// Numbers: the smallest and largest value allowed (as the browser checks them).
    pub min: Option<String>,
    pub max: Option<String>,
    /// A relation menu showing only its first choices: where typing finds the others.
    pub finder: Option<String>,
    /// A relation's chosen record, to open from a record page's properties.
    pub href: Option<String>,
    /// How the value reads when not being changed, when not as typed (an amount with its
    /// currency and digit groups).
    pub display: Option<String>,
    /// A relation's combobox may add a record named by what was typed: where it is posted.
    pub creates: Option<String>,
    /// Shown, not changed: the member's role may not change it (at the record's stage). The
    /// form names it in `_readonly`, so what it sends leaves the field as it is.
    pub read_only: bool,
}

impl FormField {
    pub fn new(
        name: impl Into<String>,
        label: impl Into<String>,
        kind: &'static str,
        value: impl Into<String>,
    ) -> Self {
        FormField {
            name: name.into(),
            label: label.into(),
            kind,
            value: value.into(),
            options: Vec::new(),
            hint: String::new(),
            required: false,
            currency: String::new(),
            min: None,
            max: None,
            finder: None,
            href: None,
            display: None,
            creates: None,
            read_only: false,
        }
    }

    pub fn select(name: impl Into<String>, label: impl Into<String>, options: Vec<Choice>) -> Self {
        FormField {
            options,
            ..FormField::new(name, label, "select", "")
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
    }

    /// The value as the read-only view shows it.
    pub fn shown(&self) -> String {
        if let Some(display) = &self.display {
            return display.clone();
        }
        match self.kind {
            "select" | "multiselect" => self
                .options
                .iter()
                .filter(|o| o.selected && !o.value.is_empty())
                .map(|o| o.label.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            "checkbox" => if self.value == "true" { "Yes" } else { "No" }.into(),
            "money" if !self.value.is_empty() => match self.value.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => {
                    super::records::money((n * 100.0).round() as i64, &self.currency)
                }
                _ => format!("{} {}", self.value, self.currency),
            },
            "date" => chrono::NaiveDate::parse_from_str(&self.value, "%Y-%m-%d")
                .map_or_else(|_| self.value.clone(), super::records::day),
            "datetime-local" => {
                chrono::NaiveDateTime::parse_from_str(&self.value, "%Y-%m-%dT%H:%M").map_or_else(
                    |_| self.value.clone(),
                    |t| t.format("%-d %b %Y %H:%M").to_string(),
                )
            }
            _ => self.value.clone(),
        }
    }
}

pub struct RelatedItem {
    pub href: String,
    pub text: String,
    pub sub: String,
    pub badge: Option<String>,
    pub badge_text: String,
}

impl RelatedItem {
    /// A linked record with a second line.
    pub fn link(href: String, text: &str, sub: &str) -> Self {
        RelatedItem {
            href,
            text: text.to_owned(),
            sub: sub.to_owned(),
            badge: None,
            badge_text: String::new(),
        }
    }
}

/// The parts given, joined into one line (`Harbour Ltd · Marine services`), if any.
pub fn line<'a>(parts: impl IntoIterator<Item = Option<&'a str>>) -> Option<String> {
    let parts: Vec<&str> = parts.into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}

/// A deal in a record's related list: its title, a line (`sub`) and its status.
pub fn deal_item(base: &str, deal: &rapport_app::model::Deal, sub: String) -> RelatedItem {
    RelatedItem {
        href: format!("{base}/deals/{}", deal.id),
        text: deal.title.clone(),
        sub,
        badge: Some(deal.status.as_str().to_owned()),
        badge_text: deal.status.label().to_owned(),
    }
}

pub struct Related {
    pub title: String,
    pub empty: String,
    pub items: Vec<RelatedItem>,
    pub add: Option<(String, String)>,
    /// How many there are, when more than the items shown.
    pub total: Option<i64>,
    /// Links a record that exists already (sets its relation field to this record).
    pub link: Option<LinkBox>,
}

/// A menu of the organization's members (an owner, a member field) that script turns into a
/// combobox asking the server as people type.
pub fn member_picker(base: &str, name: &str, label: &str, options: Vec<Choice>) -> FormField {
    let mut field = FormField::select(name, label, options);
    field.finder = Some(format!("{base}/members/choices"));
    field
}

/// The "Link" form of a related section: which object's records, through which of their
/// fields, point at which record.
pub struct LinkBox {
    /// The related records' object (`contact`, `deal`, `berth`).
    pub object: String,
    /// Their field that points here (`company_id`, `custom.berth`, `berth`).
    pub field: String,
    /// This record's id.
    pub to: String,
    /// Where the combobox finds the records (`/objects/{object}/choices`).
    pub finder: String,
    /// "Link a contact".
    pub label: String,
    /// The page it is on, to come back to.
    pub back: String,
}

impl LinkBox {
    /// The form linking records of `object` through `field` to the record `to`, whose page is
    /// `back`.
    pub fn new(
        base: &str,
        object: &str,
        field: &str,
        to: impl ToString,
        singular: &str,
        back: String,
    ) -> Self {
        LinkBox {
            object: object.to_owned(),
            field: field.to_owned(),
            to: to.to_string(),
            finder: format!("{base}/objects/{object}/choices"),
            label: format!("Link a {}", singular.to_lowercase()),
            back,
        }
    }
}

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    object: String,
    #[serde(default)]
    field: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    back: String,
}

/// `POST /link`: links a record that exists to the record whose page it was chosen on, by
/// setting its relation field (`field`) to that record (`to`), through the record's own use
/// case; then the page again, saying whether it was linked.
pub async fn link(ctx: PageContext, axum::Form(f): axum::Form<LinkForm>) -> PageResult {
    use rapport_app::changes::RecordChange;
    use rapport_app::model::{Company, Contact, Deal, Lead};
    ctx.check_csrf(&f.csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    let (app, actor, meta) = (&ctx.state.app, &session.actor, &ctx.meta);
    let back = super::safe_next(if f.back.is_empty() { "/" } else { &f.back });
    let (Ok(target), Ok(to)) = (f.target.parse::<uuid::Uuid>(), f.to.parse::<uuid::Uuid>()) else {
        return Ok(super::see_other(&with_notice(&back, "link_choose")));
    };
    let change = match f.field.strip_prefix(super::kinds::CUSTOM) {
        Some(key) => RecordChange {
            custom: Some(serde_json::Map::from_iter([(
                key.to_owned(),
                serde_json::json!(to),
            )])),
            ..RecordChange::default()
        },
        None => RecordChange::of(&f.field, to),
    };
    let builtin_field = |allowed: &[&str]| {
        allowed.contains(&f.field.as_str()) || f.field.starts_with(super::kinds::CUSTOM)
    };
    let result = match f.object.as_str() {
        "contact" if builtin_field(&["company_id"]) => app
            .update::<Contact>(actor, &tenant, target.into(), change, meta)
            .await
            .map(|_| ()),
        "deal" if builtin_field(&["company_id", "contact_id"]) => app
            .update::<Deal>(actor, &tenant, target.into(), change, meta)
            .await
            .map(|_| ()),
        "company" if builtin_field(&[]) => app
            .update::<Company>(actor, &tenant, target.into(), change, meta)
            .await
            .map(|_| ()),
        "lead" if builtin_field(&[]) => app
            .update::<Lead>(actor, &tenant, target.into(), change, meta)
            .await
            .map(|_| ()),
        "contact" | "deal" | "company" | "lead" | "task" => Err(AppError::NotFound),
        object => {
            let input = rapport_app::records::RecordInput {
                values: serde_json::Map::from_iter([(f.field.clone(), serde_json::json!(to))]),
                owner_id: None,
            };
            app.update_record(actor, &tenant, object, target.into(), &input, meta)
                .await
                .map(|_| ())
        }
    };
    let notice = match result {
        Ok(()) => "linked",
        Err(AppError::Forbidden) => "link_forbidden",
        Err(e) => {
            tracing::info!(error = %e, "a record was not linked");
            "link_failed"
        }
    };
    Ok(super::see_other(&with_notice(&back, notice)))
}

fn with_notice(back: &str, notice: &str) -> String {
    let sep = if back.contains('?') { '&' } else { '?' };
    format!("{back}{sep}notice={notice}")
}

/// What a record page says after a link (`?notice=`), when it was one.
pub fn link_notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "linked" => "Linked.",
        "link_choose" => "Choose the record to link.",
        "link_forbidden" => "You may not change that record, so it was not linked.",
        "link_failed" => "That record could not be linked; open it to see why.",
        "shared" => "Shared with the client: it is in their portal now.",
        "unshared" => "No longer shared with that client.",
        "choose-client" => "Choose the client to share with.",
        "file-deleted" => "File deleted. It waits in Recently deleted for 30 days.",
        _ => return None,
    })
}

/// The tasks about a record, and the form to add one.
pub struct TaskBox {
    pub tasks: Vec<super::deals::TaskRow>,
    /// `contact_id`, `company_id` or `record_id`, and the record's id, for the new task.
    pub link: (&'static str, String),
    pub assignees: Vec<Choice>,
    pub today: String,
    pub back: String,
    pub can_add: bool,
}

pub struct ConvertBox {
    pub action: String,
    pub company_hint: String,
    pub deal_title: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "record.html")]
pub struct RecordPage {
    pub shell: Shell,
    pub heading: String,
    pub subtitle: Option<String>,
    pub badges: Vec<(String, String)>,
    /// The property the first badge opens when clicked (`status`, `values.stage`).
    pub pill: Option<String>,
    /// Who owns the record: their initials and name.
    pub owner: Option<(String, String)>,
    pub actions: Vec<(String, &'static str)>,
    pub action: String,
    pub submit: String,
    pub cancel: String,
    pub fields: Vec<FormField>,
    pub errors: FormErrors,
    pub notice: Option<String>,
    pub can_edit: bool,
    pub readonly_note: Option<String>,
    pub delete_action: Option<String>,
    pub delete_confirm: String,
    pub tags: Vec<TagChip>,
    pub tags_action: Option<String>,
    pub tag_options: Vec<Choice>,
    pub related: Vec<Related>,
    pub timeline: Option<TimelineView>,
    pub comment_action: Option<String>,
    pub comment_error: Option<String>,
    pub convert: Option<ConvertBox>,
    pub tasks: Option<TaskBox>,
    /// The clients who see the record in the portal (deals and custom records).
    pub clients: Option<super::portal_settings::ClientsBox>,
    /// The files attached to the record.
    pub files: Option<super::files::FilesBox>,
    /// The live channel of the record shown (`record:{type}:{id}`): the page refreshes when
    /// someone else changes it.
    pub live_channel: Option<String>,
    /// What the record is, in words (`Contact`, `Berth`): the command palette's recent records
    /// say so.
    pub kind: String,
}

impl RecordPage {
    /// The letters standing for the record in its page's header.
    pub fn initials(&self) -> String {
        super::initials(&self.heading)
    }

    /// A page with just a form (a new record).
    pub fn form(
        shell: Shell,
        heading: &str,
        action: String,
        submit: &str,
        cancel: String,
        fields: Vec<FormField>,
    ) -> Self {
        RecordPage {
            shell,
            heading: heading.to_owned(),
            subtitle: None,
            badges: Vec::new(),
            pill: None,
            owner: None,
            actions: Vec::new(),
            action,
            submit: submit.to_owned(),
            cancel,
            fields,
            errors: FormErrors::default(),
            notice: None,
            can_edit: true,
            readonly_note: None,
            delete_action: None,
            delete_confirm: String::new(),
            tags: Vec::new(),
            tags_action: None,
            tag_options: Vec::new(),
            related: Vec::new(),
            timeline: None,
            comment_action: None,
            comment_error: None,
            convert: None,
            tasks: None,
            clients: None,
            files: None,
            live_channel: None,
            kind: String::new(),
        }
    }
}

/// The properties a record page's inline edit changes: the form names it lists in `_fields`
/// (`name`, `custom.size`, `values.berth`, `owner_id`). A form without them is a whole form.
pub fn inline_fields(raw: &[u8]) -> Option<Vec<String>> {
    let names: Vec<String> = url::form_urlencoded::parse(raw)
        .filter(|(k, _)| k == "_fields")
        .map(|(_, v)| v.into_owned())
        .collect();
    (!names.is_empty()).then_some(names)
}

/// Keeps, of the values read from a form under `prefix` (`custom`, `values`, or none), those an
/// inline edit names.
pub fn keep_named(
    values: &mut serde_json::Map<String, serde_json::Value>,
    prefix: &str,
    names: &[String],
) {
    values.retain(|key, _| {
        names.iter().any(|n| match prefix {
            "" => n == key,
            _ => n.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) == Some(key),
        })
    });
}

/// The answer to an inline edit: 204 when saved, else the problem (422 with each field's error).
pub fn inline_answer<T>(result: Result<T, rapport_app::AppError>) -> axum::response::Response {
    use axum::response::IntoResponse;
    match result {
        Ok(_) => axum::http::StatusCode::NO_CONTENT.into_response(),
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}

/// A record page's timeline: its entries (gathered with its related records'), the groups it
/// can be narrowed to and the link to older entries.
pub struct TimelineView {
    pub entries: Vec<TimelineEntry>,
    /// Each group as a link: its label, its address, whether it is the one shown ("All" first).
    pub groups: Vec<(&'static str, String, bool)>,
    /// The address of the next, older entries.
    pub older: Option<String>,
    /// What the empty timeline says.
    pub empty: &'static str,
}

/// How many entries a record page shows at a time.
const TIMELINE_PAGE: u64 = 50;

/// The newest entries of a record's timeline with its related records' (a company's people and
/// deals, a contact's deals), described, of the group the page's address names (`?show=calls`),
/// from its `before` entry on.
pub async fn timeline_of(
    ctx: &PageContext,
    actor: &rapport_app::Actor,
    tenant: &Tenant,
    people: &People,
    record: RecordRef,
) -> TimelineView {
    let (path, query) = (&ctx.here, &ctx.query);
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let asked = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let group = asked("show").filter(|g| TIMELINE_GROUPS.iter().any(|(k, _, _)| k == g));
    let before = asked("before").and_then(timeline_cursor);
    let app = &ctx.state.app;
    let page = app
        .gathered_timeline(
            actor,
            tenant,
            record,
            GatheredPaging {
                group,
                before,
                limit: TIMELINE_PAGE,
            },
            &ctx.meta,
        )
        .await;
    let Ok(page) = page else {
        return TimelineView {
            entries: Vec::new(),
            groups: Vec::new(),
            older: None,
            empty: "The timeline could not be read just now; reload the page to try again.",
        };
    };
    let stages = match page.items.iter().any(|a| a.kind == "stage_changed") {
        true => app
            .pipelines(actor, tenant, &ctx.meta)
            .await
            .unwrap_or_default(),
        false => Vec::new(),
    };
    let stage_name = |key: &str| {
        stages
            .iter()
            .find_map(|p| p.stage(key))
            .map(|s| s.name.clone())
            .unwrap_or_else(|| key.replace('_', " "))
    };
    let base = &ctx.base;
    let entries = page
        .items
        .iter()
        .map(|a| {
            let mut entry = timeline_entry(a, people, &stage_name);
            if let Some(title) = page.about.get(&a.record_id) {
                let path = if a.record_type == "deal" {
                    "deals"
                } else {
                    "contacts"
                };
                entry.about = Some((format!("{base}/{path}/{}", a.record_id), title.clone()));
            }
            entry
        })
        .collect();
    // The group links and the next page's: the page's own address with `show` and `before`
    // (what the last action said, in the page's address, is not said again).
    let link = |show: Option<&str>, before: Option<String>| {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        if let Some(g) = show {
            out.append_pair("show", g);
        }
        if let Some(b) = before {
            out.append_pair("before", &b);
        }
        let query = out.finish();
        match query.is_empty() {
            true => format!("{path}#timeline"),
            false => format!("{path}?{query}#timeline"),
        }
    };
    let mut groups = vec![("All", link(None, None), group.is_none())];
    groups.extend(
        TIMELINE_GROUPS
            .iter()
            .map(|(key, label, _)| (*label, link(Some(key), None), group == Some(*key))),
    );
    TimelineView {
        entries,
        groups,
        older: page
            .next
            .map(|(at, id)| link(group, Some(format!("{}~{id}", at.timestamp_micros())))),
        empty: match (group, before) {
            (_, Some(_)) => "No older entries.",
            (Some(_), None) => "Nothing of this kind yet.",
            (None, None) => {
                "Nothing has happened yet. Comments, calls, meetings and changes appear here."
            }
        },
    }
}

/// A timeline page's start as its link writes it (`{microseconds}~{entry id}`).
fn timeline_cursor(text: &str) -> Option<(chrono::DateTime<chrono::Utc>, ActivityId)> {
    let (micros, id) = text.split_once('~')?;
    let at = chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?;
    Some((at, id.parse().ok()?))
}

/// The record's tags, and every tag as checkbox options.
pub async fn tag_parts(
    ctx: &PageContext,
    actor: &rapport_app::Actor,
    tenant: &Tenant,
    kind: &str,
    id: uuid::Uuid,
) -> (Vec<TagChip>, Vec<Choice>) {
    let app = &ctx.state.app;
    let on = app.tags_of(tenant, kind, &[id]).await.unwrap_or_default();
    let all = app.tags(actor, tenant, &ctx.meta).await.unwrap_or_default();
    let chips = on
        .iter()
        .map(|(_, t)| TagChip {
            name: t.name.clone(),
            color: t.color.clone(),
        })
        .collect();
    let options = all
        .into_iter()
        .map(|t| Choice {
            selected: on.iter().any(|(_, o)| o.id == t.id),
            value: t.id.to_string(),
            label: t.name,
        })
        .collect();
    (chips, options)
}

#[derive(serde::Deserialize, Default)]
pub struct TagsForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    new_tag: String,
}

/// Saves a record's tags from its page: the checked ones, plus a new tag when named.
pub async fn save_tags(
    ctx: PageContext,
    axum::extract::Path((kind, id)): axum::extract::Path<(String, String)>,
    axum::extract::RawForm(raw): axum::extract::RawForm,
) -> PageResult {
    let form: TagsForm = serde_urlencoded_form(&raw);
    ctx.check_csrf(&form.csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    let Ok(uuid) = id.parse::<uuid::Uuid>() else {
        return Err(crate::error::ApiError::not_found().into());
    };
    let key = match kind.as_str() {
        "companies" => "company",
        "contacts" => "contact",
        "leads" => "lead",
        "deals" => "deal",
        "records" => "record",
        _ => "",
    };
    let Some(record) = taggable(key, uuid) else {
        return Err(crate::error::ApiError::not_found().into());
    };
    let app = &ctx.state.app;
    let mut ids: Vec<rapport_domain::TagId> = url::form_urlencoded::parse(&raw)
        .filter(|(k, _)| k == "tag")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let back = format!("{}/{kind}/{id}", ctx.base);
    let new_tag = form.new_tag.trim();
    if !new_tag.is_empty() {
        match app
            .create_tag(&session.actor, &tenant, new_tag, "blue", &ctx.meta)
            .await
        {
            Ok(tag) => ids.push(tag.id),
            Err(rapport_app::AppError::Conflict { .. }) => {
                if let Some(t) = app
                    .tags(&session.actor, &tenant, &ctx.meta)
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .find(|t| t.name.eq_ignore_ascii_case(new_tag))
                {
                    ids.push(t.id);
                }
            }
            Err(rapport_app::AppError::Validation(_)) => {
                return Ok(super::see_other(&format!("{back}?notice=tag_name")));
            }
            Err(e) => return Err(e.into()),
        }
    }
    match app
        .set_tags(&session.actor, &tenant, record, &ids, &ctx.meta)
        .await
    {
        Ok(_) => Ok(super::see_other(&format!("{back}?saved=1"))),
        Err(e) => Err(e.into()),
    }
}

/// A record that takes tags, by its kind's key (`company`, `record` for a custom object's).
pub fn taggable(key: &str, id: uuid::Uuid) -> Option<rapport_app::tags::Taggable> {
    use rapport_app::tags::Taggable;
    Some(match key {
        "company" => Taggable::Company(rapport_domain::CompanyId(id)),
        "contact" => Taggable::Contact(rapport_domain::ContactId(id)),
        "lead" => Taggable::Lead(rapport_domain::LeadId(id)),
        "deal" => Taggable::Deal(rapport_domain::DealId(id)),
        "record" => Taggable::Record(rapport_domain::RecordId(id)),
        _ => return None,
    })
}

fn serde_urlencoded_form<T: serde::de::DeserializeOwned + Default>(raw: &[u8]) -> T {
    form_without(raw, |k| k == "tag")
}

/// A form's fields as `T`, leaving out the names `skip` picks (repeated or extra ones, read
/// apart: tags, custom values). What does not parse is `T::default()`.
pub fn form_without<T: serde::de::DeserializeOwned + Default>(
    raw: &[u8],
    skip: impl Fn(&str) -> bool,
) -> T {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw)
        .filter(|(k, _)| !skip(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    axum::extract::Query::<T>::try_from_uri(&format!("/?{encoded}").parse().unwrap_or_default())
        .map(|q| q.0)
        .unwrap_or_default()
}

/// The tasks section of a contact's or company's page.
pub async fn task_box(
    ctx: &PageContext,
    actor: &rapport_app::Actor,
    tenant: &Tenant,
    people: &People,
    link: (&'static str, String),
    back: String,
) -> TaskBox {
    use rapport_domain::{Action, Object, Ownership};
    let mut filter = rapport_app::model::TaskFilter::default();
    match link.0 {
        "contact_id" => filter.contact_id = link.1.parse().ok(),
        "record_id" => filter.record_id = link.1.parse().ok(),
        _ => filter.company_id = link.1.parse().ok(),
    }
    TaskBox {
        tasks: super::deals::task_rows(ctx, actor, tenant, people, filter).await,
        assignees: people.options(Some(actor.user_id)),
        today: tenant.today().to_string(),
        can_add: tenant.may(Action::Create, Object::Task, Ownership::NotApplicable),
        link,
        back,
    }
}

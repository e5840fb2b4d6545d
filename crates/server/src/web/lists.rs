//! What every record list page shares: its state in the address (search, filters, sort, visible
//! columns, position), the table, saved views, CSV export.

use std::borrow::Cow;

use askama::Template;
use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::records::Choice;
use super::workspace::Shell;

/// A list's state, read from and written to its address.
#[derive(Clone, Debug, Default)]
pub struct ListState {
    pub search: String,
    pub sort: String,
    /// Filter name → value (empty values are left out).
    pub filters: Vec<(String, String)>,
    /// Visible columns; empty: the list's defaults.
    pub cols: Vec<String>,
    /// Keyset position (`after=` cursor).
    pub after: Option<String>,
    /// The saved view this state came from.
    pub view: Option<String>,
    /// A message carried back after a refused action (not part of the list's query).
    pub notice: Option<String>,
}

impl ListState {
    pub fn parse(raw: Option<&str>, default_sort: &str) -> ListState {
        let mut s = ListState {
            sort: default_sort.to_owned(),
            ..ListState::default()
        };
        for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            let v = v.trim().to_owned();
            match k.as_ref() {
                "search" => s.search = v,
                "sort" if !v.is_empty() => s.sort = v,
                "cols" => s.cols.extend(
                    v.split(',')
                        .filter(|c| !c.is_empty() && !s.cols.iter().any(|k| k == c))
                        .map(str::to_owned)
                        .collect::<Vec<_>>(),
                ),
                // The column checkboxes themselves, as a form without scripts sends them.
                "col" if !v.is_empty() && !s.cols.contains(&v) => s.cols.push(v),
                "col" => {}
                "after" if !v.is_empty() => s.after = Some(v),
                "view" if !v.is_empty() => s.view = Some(v),
                "notice" if !v.is_empty() => s.notice = Some(v.chars().take(200).collect()),
                _ if !v.is_empty() => s.filters.push((k.into_owned(), v)),
                _ => {}
            }
        }
        s
    }

    pub fn filter(&self, name: &str) -> Option<&str> {
        self.filters
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The query string of this state, without position or view.
    pub fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if !self.search.is_empty() {
            q.append_pair("search", &self.search);
        }
        for (k, v) in &self.filters {
            q.append_pair(k, v);
        }
        q.append_pair("sort", &self.sort);
        if !self.cols.is_empty() {
            q.append_pair("cols", &self.cols.join(","));
        }
        q.finish()
    }

    pub fn with_sort(&self, sort: &str) -> ListState {
        ListState {
            sort: sort.to_owned(),
            after: None,
            view: None,
            ..self.clone()
        }
    }

    pub fn with_after(&self, after: String) -> ListState {
        ListState {
            after: Some(after),
            ..self.clone()
        }
    }

    /// The link back to the first page, when this is a later one.
    pub fn first_href(&self, path: &str) -> Option<String> {
        self.after.as_ref().map(|_| {
            ListState {
                after: None,
                ..self.clone()
            }
            .href(path)
        })
    }

    /// The link to the page after the row a page ended on.
    pub fn next_href<I: Into<uuid::Uuid> + Copy>(
        &self,
        path: &str,
        next: Option<&(rapport_app::model::SortValue, I)>,
    ) -> Option<String> {
        next.map(|(v, id)| {
            self.with_after(crate::api::v1::types::encode_sort_cursor(v, (*id).into()))
                .href(path)
        })
    }

    pub fn href(&self, path: &str) -> String {
        let mut q = self.query();
        if let Some(a) = &self.after {
            q.push_str("&after=");
            q.push_str(&url::form_urlencoded::byte_serialize(a.as_bytes()).collect::<String>());
        }
        if let Some(v) = &self.view {
            q.push_str("&view=");
            q.push_str(v);
        }
        format!("{path}?{q}")
    }

    /// The visible columns among `all`, in `all`'s order (the defaults when none chosen).
    pub fn visible<'a>(&self, all: &'a [ColumnDef], defaults: &[&str]) -> Vec<&'a ColumnDef> {
        let chosen: Vec<&str> = if self.cols.is_empty() {
            defaults.to_vec()
        } else {
            self.cols.iter().map(String::as_str).collect()
        };
        all.iter()
            .filter(|c| c.fixed || chosen.contains(&c.key.as_ref()))
            .collect()
    }

    /// A sortable header: its link flips the direction when it is the current sort.
    pub fn sort_header(&self, path: &str, key: &str) -> SortHeader {
        let aria = if self.sort == key {
            "ascending"
        } else if self.sort == format!("-{key}") {
            "descending"
        } else {
            "none"
        };
        let target = if self.sort == key {
            format!("-{key}")
        } else {
            key.to_owned()
        };
        SortHeader {
            href: self.with_sort(&target).href(path),
            aria,
        }
    }
}

/// A column a list can show.
#[derive(Clone)]
pub struct ColumnDef {
    pub key: Cow<'static, str>,
    pub label: Cow<'static, str>,
    /// The sort key when the column sorts the list.
    pub sort: Option<Cow<'static, str>>,
    pub numeric: bool,
    /// Always shown (the record's name).
    pub fixed: bool,
}

impl ColumnDef {
    /// A column showing `key` under `label`.
    pub const fn new(key: &'static str, label: &'static str) -> ColumnDef {
        ColumnDef {
            key: Cow::Borrowed(key),
            label: Cow::Borrowed(label),
            sort: None,
            numeric: false,
            fixed: false,
        }
    }

    /// The record's name: always shown first, sorting the list by `name`.
    pub const fn name(label: &'static str) -> ColumnDef {
        let mut c = ColumnDef::new("name", label);
        c = c.sorts("name");
        c.fixed = true;
        c
    }

    /// The column sorts the list by `key`.
    pub const fn sorts(mut self, key: &'static str) -> ColumnDef {
        // A column made by `new` sorts nothing yet: nothing to drop (const fns cannot).
        std::mem::forget(self.sort.replace(Cow::Borrowed(key)));
        self
    }

    /// Its values are numbers (right-aligned).
    pub const fn numeric(mut self) -> ColumnDef {
        self.numeric = true;
        self
    }
}

pub struct SortHeader {
    pub href: String,
    pub aria: &'static str,
}

pub struct HeaderCell {
    pub label: String,
    pub sort: Option<SortHeader>,
    pub numeric: bool,
}

pub struct TagChip {
    pub name: String,
    pub color: String,
}

/// One cell of the table.
#[derive(Default)]
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
    pub strong: bool,
    pub muted: bool,
    pub numeric: bool,
    pub sub: Option<String>,
    /// A badge class suffix (`won`, `lost`, `qualified`…) shown around the text.
    pub badge: Option<String>,
    pub tags: Vec<TagChip>,
    /// The record page's property this cell shows, when it can be changed from the list.
    pub edit: Option<String>,
}

impl Cell {
    /// The cell as plain text (its tags' names joined), for a card's facts.
    pub fn into_plain(self) -> String {
        if self.tags.is_empty() {
            self.text
        } else {
            self.tags
                .into_iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
                .join(", ")
        }
    }

    pub fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            ..Cell::default()
        }
    }

    pub fn muted(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            muted: true,
            ..Cell::default()
        }
    }
}

pub struct FilterSelect {
    pub name: String,
    pub label: String,
    pub options: Vec<Choice>,
}

pub struct ViewLink {
    pub id: String,
    pub name: String,
    pub href: String,
    pub shared: bool,
    pub current: bool,
    pub can_delete: bool,
}

pub struct ColumnChoice {
    pub key: String,
    pub label: String,
    pub visible: bool,
}

#[derive(Template)]
#[template(path = "list.html")]
pub struct ListPage {
    pub shell: Shell,
    /// contacts, companies, leads…: the table's id and the saved views' list.
    pub list: String,
    pub title: String,
    pub total: String,
    pub new: Option<(String, String)>,
    pub search: String,
    pub search_placeholder: String,
    pub sort: String,
    pub filters: Vec<FilterSelect>,
    pub headers: Vec<HeaderCell>,
    pub rows: Vec<ListRow>,
    /// What may be done to the records chosen with the rows' checkboxes, when anything may.
    pub bulk: Option<Bulk>,
    pub first: Option<String>,
    pub next: Option<String>,
    pub views: Vec<ViewLink>,
    pub query: String,
    pub columns: Vec<ColumnChoice>,
    pub export: Option<String>,
    pub empty_title: String,
    pub empty_text: String,
    pub filtered: bool,
    pub can_share: bool,
    pub notice: Option<String>,
    pub path: String,
    /// Other ways to look at the same records (List | Board), when there are.
    pub modes: Vec<Mode>,
    /// Range filters (numbers and dates: from / to), besides the selects.
    pub ranges: Vec<RangeFilter>,
}

/// A row of a list: its record's id (for the selection) and its cells.
pub struct ListRow {
    pub id: String,
    pub cells: Vec<Cell>,
    /// The record's page, whose property editors its editable cells borrow; `None` when the
    /// member may not change it.
    pub edit_href: Option<String>,
}

/// The actions on the records chosen in a list: where the choice is posted (`{list}/bulk`), the
/// members to hand them to, the tags to add, whether they may be deleted.
pub struct Bulk {
    pub action: String,
    pub owners: Vec<Choice>,
    pub tags: Vec<Choice>,
    /// The select fields the rows chosen can be set to one option of: (field label, options
    /// as `field=option`).
    pub selects: Vec<(String, Vec<Choice>)>,
    pub can_delete: bool,
}

/// A list's select fields as the selection bar offers them: each option of each field, valued
/// `{prefix}{key}={option}` (`prefix`: `custom.` for a built-in kind's own fields).
pub fn select_choices(
    fields: &[&rapport_domain::schema::FieldDef],
    prefix: &str,
) -> Vec<(String, Vec<Choice>)> {
    fields
        .iter()
        .filter(|f| f.field_type == rapport_domain::schema::FieldType::Select && !f.archived)
        .map(|f| {
            (
                f.label.clone(),
                f.options
                    .iter()
                    .map(|o| Choice {
                        value: format!("{prefix}{}={}", f.key, o.key),
                        label: o.label.clone(),
                        selected: false,
                    })
                    .collect(),
            )
        })
        .collect()
}

/// A way to look at a list's records, as a segmented control.
pub struct Mode {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

/// A "from – to" filter of a number or date field.
pub struct RangeFilter {
    pub name: String,
    pub label: String,
    /// number or date
    pub kind: &'static str,
    pub min: String,
    pub max: String,
}

impl ListPage {
    /// The events (by prefix) after which the list is refreshed live.
    pub fn live_events(&self) -> &'static str {
        match self.list.as_str() {
            "companies" => "company.",
            "contacts" => "contact. company.",
            "leads" => "lead.",
            custom if custom.starts_with("objects/") => "record.",
            _ => "",
        }
    }
}

/// Whether any filter or search narrows the list.
pub fn is_filtered(state: &ListState) -> bool {
    !state.search.is_empty() || !state.filters.is_empty()
}

/// "1 contact", "12 contacts", "More than 10000 contacts".
pub fn total_label(total: i64, exact: bool, one: &str, many: &str) -> String {
    match (total, exact) {
        (1, true) => format!("1 {one}"),
        (n, true) => format!("{n} {many}"),
        (n, false) => format!("More than {n} {many}"),
    }
}

/// A CSV field, quoted when needed; a leading =, +, - or @ is neutralized so a spreadsheet does
/// not run it as a formula.
pub fn csv_field(value: &str) -> String {
    let neutral = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if neutral.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", neutral.replace('"', "\"\""))
    } else {
        neutral
    }
}

pub fn csv_line(fields: &[String]) -> String {
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// Streams CSV produced page by page: `next_page` gets the previous page's cursor and returns
/// lines plus the next cursor, until it returns none.
pub fn csv_response<F, Fut>(filename: &str, header_line: String, next_page: F) -> Response
where
    F: FnMut(Option<String>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(String, Option<String>), String>> + Send + 'static,
{
    enum Step {
        Header(String),
        Page(Option<String>),
        Done,
    }
    let stream = futures_util::stream::unfold(
        (Step::Header(header_line), next_page),
        move |(step, mut next_page)| async move {
            match step {
                Step::Header(line) => {
                    Some((Ok::<_, std::io::Error>(line), (Step::Page(None), next_page)))
                }
                Step::Page(cursor) => match next_page(cursor).await {
                    Ok((lines, Some(next))) => {
                        Some((Ok(lines), (Step::Page(Some(next)), next_page)))
                    }
                    Ok((lines, None)) => Some((Ok(lines), (Step::Done, next_page))),
                    Err(error) => {
                        tracing::error!(%error, "CSV export stopped");
                        Some((Err(std::io::Error::other(error)), (Step::Done, next_page)))
                    }
                },
                Step::Done => None,
            }
        },
    );
    // Ended stays ended: a layer around the body (compression) may ask once more.
    let stream = futures_util::StreamExt::fuse(stream);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chosen_columns_come_from_the_list_or_the_checkboxes_and_are_no_filters() {
        let s = ListState::parse(Some("cols=email,tier&status=new"), "name");
        assert_eq!(s.cols, ["email", "tier"]);
        // A form sent without scripts: the checkboxes one by one, the joined value empty.
        let s = ListState::parse(
            Some("custom.tier=gold&col=email&col=tier&col=email&cols=&sort=name"),
            "name",
        );
        assert_eq!(s.cols, ["email", "tier"]);
        assert_eq!(s.filters, [("custom.tier".to_owned(), "gold".to_owned())]);
    }

    #[test]
    fn csv_quotes_and_neutralizes_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_line(&["a".into(), "b\nc".into()]), "a,\"b\nc\"\r\n");
    }

    #[test]
    fn list_state_round_trips_through_the_address() {
        let s = ListState::parse(
            Some("search=ann&owner=42&sort=-name&cols=email,phone&after=xyz&empty="),
            "name",
        );
        assert_eq!(s.search, "ann");
        assert_eq!(s.filter("owner"), Some("42"));
        assert_eq!(s.sort, "-name");
        assert_eq!(s.cols, ["email", "phone"]);
        assert_eq!(s.after.as_deref(), Some("xyz"));
        assert_eq!(
            s.query(),
            "search=ann&owner=42&sort=-name&cols=email%2Cphone"
        );
        let flipped = s.sort_header("/contacts", "name");
        assert_eq!(flipped.aria, "descending");
        assert!(flipped.href.contains("sort=name"));
        assert!(!flipped.href.contains("after="));
    }
}

/// The saved views of a list the user may open, and which one is open.
pub async fn saved_views(
    ctx: &super::PageContext,
    actor: &rapport_app::Actor,
    tenant: &rapport_app::Tenant,
    list: &str,
    path: &str,
    state: &ListState,
) -> Vec<ViewLink> {
    let admin = tenant.role.administers();
    ctx.state
        .app
        .views(actor, tenant, list)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|v| ViewLink {
            id: v.id.to_string(),
            href: format!("{path}?{}&view={}", v.query, v.id),
            current: state.view.as_deref() == Some(v.id.to_string().as_str()),
            can_delete: v.owner_id == actor.user_id || (v.shared && admin),
            shared: v.shared,
            name: v.name,
        })
        .collect()
}

/// The column checkboxes of a list.
pub fn column_choices(all: &[ColumnDef], visible: &[&ColumnDef]) -> Vec<ColumnChoice> {
    all.iter()
        .filter(|c| !c.fixed)
        .map(|c| ColumnChoice {
            key: c.key.to_string(),
            label: c.label.to_string(),
            visible: visible.iter().any(|v| v.key == c.key),
        })
        .collect()
}

/// The header cells of the visible columns.
pub fn headers(state: &ListState, path: &str, visible: &[&ColumnDef]) -> Vec<HeaderCell> {
    visible
        .iter()
        .map(|c| HeaderCell {
            label: c.label.to_string(),
            sort: c.sort.as_deref().map(|key| state.sort_header(path, key)),
            numeric: c.numeric,
        })
        .collect()
}

/// (sort key without `-`, descending).
pub fn sort_parts(sort: &str) -> (&str, bool) {
    match sort.strip_prefix('-') {
        Some(key) => (key, true),
        None => (sort, false),
    }
}

pub fn tag_chips(tags: &[(uuid::Uuid, rapport_app::model::Tag)], id: uuid::Uuid) -> Vec<TagChip> {
    tags.iter()
        .filter(|(r, _)| *r == id)
        .map(|(_, t)| TagChip {
            name: t.name.clone(),
            color: t.color.clone(),
        })
        .collect()
}

/// The tag filter's options.
pub async fn tag_filter(
    ctx: &super::PageContext,
    actor: &rapport_app::Actor,
    tenant: &rapport_app::Tenant,
    state: &ListState,
) -> FilterSelect {
    let tags = ctx
        .state
        .app
        .tags(actor, tenant, &ctx.meta)
        .await
        .unwrap_or_default();
    FilterSelect {
        name: "tag".into(),
        label: "Tag".into(),
        options: tags
            .into_iter()
            .map(|t| Choice {
                selected: state.filter("tag") == Some(t.id.to_string().as_str()),
                value: t.id.to_string(),
                label: t.name,
            })
            .collect(),
    }
}

pub fn owner_filter(people: &super::records::People, state: &ListState) -> FilterSelect {
    FilterSelect {
        name: "owner".into(),
        label: "Owner".into(),
        options: people.filter_options(state.filter("owner").and_then(|o| o.parse().ok())),
    }
}

#[derive(serde::Deserialize)]
pub struct SaveViewForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    list: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    query: String,
    #[serde(default)]
    shared: String,
    #[serde(default)]
    back: String,
}

/// Saves the list's current state as a view and opens it.
pub async fn save_view(
    ctx: super::PageContext,
    axum::Form(form): axum::Form<SaveViewForm>,
) -> super::PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    let back = super::safe_next(&form.back);
    let state = ListState::parse(Some(&form.query), "");
    match ctx
        .state
        .app
        .save_view(
            &session.actor,
            &tenant,
            rapport_app::views::ViewDraft {
                list: form.list.clone(),
                name: form.name.clone(),
                query: form.query.clone(),
                columns: state.cols.clone(),
                shared: form.shared == "1",
            },
            &ctx.meta,
        )
        .await
    {
        Ok(view) => Ok(super::see_other(&super::safe_next(&format!(
            "{back}?{}&view={}",
            view.query, view.id
        )))),
        Err(rapport_app::AppError::Validation(errors)) => {
            let message = errors
                .0
                .first()
                .map(|e| super::sentence(&format!("the view's {} {}", e.field, e.message)))
                .unwrap_or_default();
            let notice =
                url::form_urlencoded::byte_serialize(message.as_bytes()).collect::<String>();
            // The query was refused, perhaps for what it holds: keep it only if it is safe.
            match super::redirect_target(&format!("{back}?{}&notice={notice}", form.query)) {
                Some(to) => Ok(super::see_other(&to)),
                None => Ok(super::see_other(&format!("{back}?notice={notice}"))),
            }
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn delete_view(
    ctx: super::PageContext,
    axum::extract::Path(id): axum::extract::Path<String>,
    axum::Form(form): axum::Form<SaveViewForm>,
) -> super::PageResult {
    ctx.check_csrf(&form.csrf)?;
    let (session, tenant) = ctx.tenant().await?;
    let Ok(view_id) = id.parse::<rapport_domain::ViewId>() else {
        return Err(crate::error::ApiError::not_found().into());
    };
    match ctx
        .state
        .app
        .delete_view(&session.actor, &tenant, view_id, &ctx.meta)
        .await
    {
        Ok(()) => Ok(super::see_other(&super::safe_next(&form.back))),
        Err(e) => Err(e.into()),
    }
}

/// The records chosen in a list and what to do with them, as its selection bar posts them.
pub struct BulkForm {
    /// `owner`, `tag`, `set` or `delete`.
    pub action: String,
    pub ids: Vec<uuid::Uuid>,
    pub owner: Option<rapport_domain::UserId>,
    pub tag: Option<rapport_domain::TagId>,
    /// `set`: the field (as the selection bar names it) and the option to set it to.
    pub set: Option<(String, String)>,
    /// The list's address, to come back to.
    pub back: String,
}

impl BulkForm {
    /// The field and option asked for, when the bar offered them (`offered`: its menu).
    pub fn set_among(&self, offered: &[(String, Vec<Choice>)]) -> Option<(&str, &str)> {
        let (field, option) = self.set.as_ref()?;
        let value = format!("{field}={option}");
        offered
            .iter()
            .any(|(_, options)| options.iter().any(|o| o.value == value))
            .then_some((field.as_str(), option.as_str()))
    }
}

impl BulkForm {
    /// Reads the posted selection (its CSRF token checked); a list's address is the only place
    /// it comes back to.
    pub fn read(
        ctx: &super::PageContext,
        raw: &[u8],
        list: &str,
    ) -> Result<BulkForm, super::PageError> {
        let pairs = super::form_pairs(raw);
        ctx.check_csrf(&super::form_value(&pairs, "_csrf"))?;
        let back = super::redirect_target(&super::form_value(&pairs, "back"))
            .filter(|b| b.split('?').next() == Some(list))
            .unwrap_or_else(|| list.to_owned());
        Ok(BulkForm {
            action: super::form_value(&pairs, "action"),
            ids: pairs
                .iter()
                .filter(|(k, _)| k == "id")
                .filter_map(|(_, v)| v.parse().ok())
                .collect(),
            owner: super::form_value(&pairs, "owner_id").parse().ok(),
            tag: super::form_value(&pairs, "tag_id").parse().ok(),
            set: super::form_value(&pairs, "set")
                .split_once('=')
                .map(|(f, o)| (f.to_owned(), o.to_owned())),
            back,
        })
    }

    /// The list again, saying what was done: how many records changed, how many were refused
    /// and the first reason.
    pub fn done(
        &self,
        changed: usize,
        refused: &[rapport_app::AppError],
        one: &str,
        many: &str,
    ) -> Response {
        let what = |n: usize| if n == 1 { one } else { many };
        let verb = match self.action.as_str() {
            "owner" => "handed over",
            "tag" => "tagged",
            "delete" => "deleted (in recently deleted for 30 days)",
            _ => "changed",
        };
        let mut notice = match changed {
            0 => format!("No {many} {verb}."),
            n => format!("{n} {} {verb}.", what(n)),
        };
        if let Some(first) = refused.first() {
            let why = match first {
                rapport_app::AppError::Forbidden => {
                    "your role does not change those records.".to_owned()
                }
                other => super::objects::refusal(other).unwrap_or_else(|| {
                    tracing::warn!(error = %other, "a record of a bulk action was not changed");
                    "something went wrong; try again.".to_owned()
                }),
            };
            notice.push_str(&format!(" {} could not be: {why}", refused.len()));
        }
        let notice: String = url::form_urlencoded::byte_serialize(notice.as_bytes()).collect();
        let sep = if self.back.contains('?') { '&' } else { '?' };
        super::see_other(&format!("{}{sep}notice={notice}", self.back))
    }
}

/// Adds a tag to a record, keeping those it has.
pub async fn add_tag(
    ctx: &super::PageContext,
    actor: &rapport_app::Actor,
    tenant: &rapport_app::Tenant,
    record: rapport_app::tags::Taggable,
    tag: rapport_domain::TagId,
) -> Result<(), rapport_app::AppError> {
    let app = &ctx.state.app;
    let mut ids: Vec<rapport_domain::TagId> = app
        .tags_of(tenant, record.kind(), &[record.id()])
        .await?
        .into_iter()
        .map(|(_, t)| t.id)
        .collect();
    if !ids.contains(&tag) {
        ids.push(tag);
    }
    app.set_tags(actor, tenant, record, &ids, &ctx.meta)
        .await
        .map(|_| ())
}

/// Every tag of the organization, as the choices of a list's "Add tag".
pub async fn tag_choices(
    ctx: &super::PageContext,
    actor: &rapport_app::Actor,
    tenant: &rapport_app::Tenant,
) -> Vec<Choice> {
    let app = &ctx.state.app;
    app.tags(actor, tenant, &ctx.meta)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|t| Choice {
            value: t.id.to_string(),
            label: t.name,
            selected: false,
        })
        .collect()
}

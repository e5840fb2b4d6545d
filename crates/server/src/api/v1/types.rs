//! Shapes shared by several endpoints.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use rapport_app::model::SortValue;

use crate::error::ApiError;

/// A user as the API shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<&rapport_app::model::User> for UserOut {
    fn from(u: &rapport_app::model::User) -> Self {
        Self {
            id: u.id.as_uuid(),
            email: u.email.clone(),
            name: u.name.clone(),
            created_at: u.created_at,
        }
    }
}

/// One of the caller's organizations.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MyOrganizationOut {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    /// owner, admin, manager, member, viewer or a custom role's key
    pub role: String,
    pub created_at: DateTime<Utc>,
}

impl From<rapport_app::model::UserOrganization> for MyOrganizationOut {
    fn from(o: rapport_app::model::UserOrganization) -> Self {
        Self {
            role: o.role_key.unwrap_or_else(|| o.role.as_str().to_owned()),
            id: o.id.as_uuid(),
            name: o.name,
            slug: o.slug,
            created_at: o.created_at,
        }
    }
}

/// The last page a list serves by number; deeper than this, page with `cursor`.
pub const MAX_PAGE: u64 = 1_000_000;

/// The paging parameters every list accepts.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// 1-based page number (default 1).
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Items per page, 1..=100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u64>,
    /// Instead of `page`: the `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl Paging {
    pub fn page(&self) -> Result<u64, ApiError> {
        match self.page {
            None => Ok(1),
            Some(p) if (1..=MAX_PAGE).contains(&p) => Ok(p),
            Some(_) => Err(ApiError::bad_request(
                "invalid_query",
                format!("page must be between 1 and {MAX_PAGE}; page further with cursor"),
            )),
        }
    }

    pub fn page_size(&self) -> Result<u64, ApiError> {
        match self.page_size {
            None => Ok(25),
            Some(n) if (1..=100).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::bad_request(
                "invalid_query",
                "page_size must be between 1 and 100",
            )),
        }
    }

    /// The (time, id) position a cursor encodes.
    pub fn cursor(&self) -> Result<Option<(DateTime<Utc>, Uuid)>, ApiError> {
        let Some(raw) = &self.cursor else {
            return Ok(None);
        };
        decode_cursor(raw).map(Some).ok_or_else(|| {
            ApiError::bad_request("invalid_cursor", "cursor is not one this API returned")
        })
    }
}

pub fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{}|{id}",
        at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    ))
}

fn decode_cursor(raw: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (at, id) = text.split_once('|')?;
    Some((
        DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
        id.parse().ok()?,
    ))
}

/// A page of a list.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// How many items match. When `total_is_exact` is false it is a lower bound (counting stops
    /// early on very large lists).
    pub total: i64,
    pub total_is_exact: bool,
    pub page: u64,
    pub page_size: u64,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A keyset cursor: the sort value and id of the row a page ended on.
#[derive(Serialize, Deserialize)]
struct SortCursor {
    #[serde(skip_serializing_if = "Option::is_none")]
    s: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    t: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    i: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    d: Option<chrono::NaiveDate>,
    /// A custom number (a list sorted by a custom field).
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<f64>,
    /// Past the records with a value (a list sorted by a custom field).
    #[serde(skip_serializing_if = "Option::is_none")]
    m: Option<bool>,
    id: Uuid,
}

pub fn encode_sort_cursor(value: &SortValue, id: Uuid) -> String {
    let mut c = SortCursor {
        s: None,
        t: None,
        i: None,
        d: None,
        n: None,
        m: None,
        id,
    };
    match value {
        SortValue::Text(s) => c.s = Some(s.clone()),
        SortValue::Time(t) => c.t = Some(*t),
        SortValue::Int(i) => c.i = Some(*i),
        SortValue::Date(d) => c.d = Some(*d),
        SortValue::Num(n) => c.n = Some(*n),
        SortValue::Missing => c.m = Some(true),
    }
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap_or_default())
}

/// The kind of value a sort's cursor carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKind {
    Text,
    Time,
    Int,
    Date,
    /// A custom field's value: text, a number, or none.
    Value,
}

pub fn decode_sort_cursor(raw: &str, kind: SortKind) -> Result<(SortValue, Uuid), ApiError> {
    let bad = || {
        ApiError::bad_request(
            "invalid_cursor",
            "cursor is not one this list returned (or the sort changed)",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let c: SortCursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let value = match (kind, c.s, c.t, c.i, c.d, c.n, c.m) {
        (SortKind::Text | SortKind::Value, Some(s), None, None, None, None, None) => {
            SortValue::Text(s)
        }
        (SortKind::Time, None, Some(t), None, None, None, None) => SortValue::Time(t),
        (SortKind::Int, None, None, Some(i), None, None, None) => SortValue::Int(i),
        (SortKind::Date, None, None, None, Some(d), None, None) => SortValue::Date(d),
        (SortKind::Value, None, None, None, None, Some(n), None) if n.is_finite() => {
            SortValue::Num(n)
        }
        (SortKind::Value, None, None, None, None, None, Some(true)) => SortValue::Missing,
        _ => return Err(bad()),
    };
    Ok((value, c.id))
}

/// `asc` (default) or `desc`.
pub fn descending(order: Option<&str>) -> Result<bool, ApiError> {
    match order {
        None | Some("asc") => Ok(false),
        Some("desc") => Ok(true),
        Some(_) => Err(ApiError::bad_request(
            "invalid_query",
            "order must be asc or desc",
        )),
    }
}

/// Distinguishes an absent field (keep) from `null` (clear) in a request body.
pub fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A tag as records show it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TagOut {
    pub id: Uuid,
    pub name: String,
    /// gray, red, orange, amber, green, teal, blue, indigo, purple or pink
    pub color: String,
}

impl From<&rapport_app::model::Tag> for TagOut {
    fn from(t: &rapport_app::model::Tag) -> Self {
        Self {
            id: t.id.as_uuid(),
            name: t.name.clone(),
            color: t.color.clone(),
        }
    }
}

/// The tags of each of `ids`, in the order of `ids`.
pub async fn tags_for(
    app: &rapport_app::App,
    tenant: &rapport_app::Tenant,
    kind: &str,
    ids: &[Uuid],
) -> Result<Vec<Vec<TagOut>>, ApiError> {
    let all = app.tags_of(tenant, kind, ids).await?;
    Ok(group_tags(ids, &all))
}

/// `(record id, tag)` pairs grouped by record, in the order of `ids`.
pub fn group_tags(ids: &[Uuid], all: &[(Uuid, rapport_app::model::Tag)]) -> Vec<Vec<TagOut>> {
    ids.iter()
        .map(|id| {
            all.iter()
                .filter(|(r, _)| r == id)
                .map(|(_, t)| t.into())
                .collect()
        })
        .collect()
}

/// Parses a keyset or page-number list request's shared parameters.
pub fn page_and_size(page: Option<u64>, page_size: Option<u64>) -> Result<(u64, u64), ApiError> {
    let paging = Paging {
        page,
        page_size,
        cursor: None,
    };
    Ok((paging.page()?, paging.page_size()?))
}

//! Saved views: a user keeps a list's filters, sort and columns under a name, for themself or
//! for the whole organization.

use rapport_domain::{Action, Object, Ownership, Role, ValidationErrors, ViewId};
use rapport_store::views::{self as store_views, NewView, SavedView};

use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// The lists that can be saved, with the columns each may show.
pub const LISTS: [(&str, &[&str]); 5] = [
    (
        "contacts",
        &[
            "email", "phone", "title", "company", "owner", "tags", "added",
        ],
    ),
    (
        "companies",
        &["domain", "industry", "size", "owner", "tags", "added"],
    ),
    (
        "leads",
        &[
            "email", "company", "source", "status", "score", "owner", "tags", "added",
        ],
    ),
    (
        "deals",
        &[
            "stage", "status", "amount", "weighted", "close", "owner", "tags",
        ],
    ),
    ("tasks", &["due", "assignee", "deal"]),
];

/// A view about to be saved.
#[derive(Clone, Debug, Default)]
pub struct ViewDraft {
    pub list: String,
    pub name: String,
    /// The list's query string.
    pub query: String,
    pub columns: Vec<String>,
    pub shared: bool,
}

impl App {
    pub async fn views(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        list: &str,
    ) -> AppResult<Vec<SavedView>> {
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let views = store_views::visible(&mut tx, list, actor.user_id).await?;
        tx.commit().await?;
        Ok(views)
    }

    /// Saves a view. Sharing with the organization needs a role that may create records.
    pub async fn save_view(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        draft: ViewDraft,
        meta: &RequestMeta,
    ) -> AppResult<SavedView> {
        let ViewDraft {
            list,
            name,
            query,
            columns,
            shared,
        } = draft;
        let (list, query, columns) = (list.as_str(), query.as_str(), columns.as_slice());
        if shared {
            self.authorize(
                actor,
                tenant,
                meta,
                Action::Create,
                Object::SavedView,
                Ownership::NotApplicable,
            )
            .await?;
        }
        let mut errors = ValidationErrors::new();
        // A custom object's list (`objects/{key}`) may show any of its fields.
        let custom = list
            .strip_prefix("objects/")
            .is_some_and(|key| rapport_domain::schema::ObjectKey::parse(key).is_ok());
        let allowed: &[&str] = match LISTS.iter().find(|(l, _)| *l == list) {
            Some((_, allowed)) => allowed,
            None if custom => &[],
            None => return Err(AppError::invalid("list", "is not a list that can be saved")),
        };
        let name = name.trim();
        let name = name.to_owned();
        let name = name.as_str();
        if name.is_empty() || name.chars().count() > 60 {
            errors.add("name", "must be 1 to 60 characters");
        }
        if query.len() > 2000 {
            errors.add("query", "is too long");
        } else if query
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\' || c == '#')
        {
            // It becomes part of the list's address: only an encoded query string fits.
            errors.add(
                "query",
                "must be an encoded query string (no spaces or control characters)",
            );
        }
        if custom {
            // Field keys, and the columns every record has (owner, added): the key grammar.
            if columns
                .iter()
                .any(|c| rapport_domain::schema::ObjectKey::parse(c).is_err())
            {
                errors.add("columns", "must be field keys");
            }
        } else if columns.iter().any(|c| !allowed.contains(&c.as_str())) {
            errors.add("columns", format!("must be among {}", allowed.join(", ")));
        }
        errors.into_result()?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let view = store_views::insert(
            &mut tx,
            NewView {
                owner_id: actor.user_id,
                list,
                name,
                query: query.trim_start_matches('?'),
                columns,
                shared,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Deletes a view: its owner, or an owner/admin for a shared one.
    pub async fn delete_view(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: ViewId,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let mut tx = self.db.tenant(tenant.id()).await?;
        let view = store_views::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mine = view.owner_id == actor.user_id;
        if !mine && !view.shared {
            return Err(AppError::NotFound);
        }
        if !mine && !matches!(tenant.role, Role::Owner | Role::Admin) {
            drop(tx);
            self.record_denial(actor, tenant, meta, Action::Delete, Object::SavedView)
                .await;
            return Err(AppError::Forbidden);
        }
        store_views::delete(&mut tx, id).await?;
        tx.commit().await?;
        Ok(())
    }
}

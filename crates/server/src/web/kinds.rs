//! The web app's verbs on the built-in kinds, written once over the app's common path: adding a
//! record from its "new" form, saving its page's form, deleting it, adding to its timeline. Each
//! kind's module keeps its pages (list, form fields, record page) and names them through
//! [`WebKind`] and [`FormKind`]; the routes name the kind: `post(kinds::delete::<Deal>)`.

use std::future::Future;

use axum::Form;
use axum::extract::{Path, RawForm};
use axum::http::StatusCode;
use axum::response::Response;
use rapport_app::accounts::CurrentSession;
use rapport_app::kinds::BuiltinKind;
use rapport_app::timeline::RecordRef;
use rapport_app::{AppError, Tenant};
use rapport_domain::ValidationErrors;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value as Json};

use super::context::error_page;
use super::deals::{ActivityForm, add_activity};
use super::record_page::{RecordPage, form_without};
use super::{CsrfForm, FormErrors, PageContext, render_status, see_other};
use crate::error::ApiError;

/// A built-in kind's place in the web app.
pub trait WebKind: BuiltinKind {
    /// Where its pages are: `companies` for `/companies` and `/companies/{id}`.
    const PATH: &'static str;
    /// Where its list is (a deal's board for deals).
    const LIST: &'static str = Self::PATH;
    /// Its record, as the timeline knows it.
    fn timeline(id: Self::Id) -> RecordRef;
}

/// A built-in kind whose record page holds its form (companies, contacts, leads).
pub trait FormKind: WebKind {
    /// The form as posted (its fields as typed, `_csrf`; custom fields are read apart).
    type Form: DeserializeOwned + Default + Send + Sync;
    fn csrf(form: &Self::Form) -> &str;
    fn set_custom(form: &mut Self::Form, custom: Option<Map<String, Json>>);
    /// The change the form asks for, or what is wrong with it before the app checks it.
    fn change(form: &Self::Form) -> Result<Self::Change, ValidationErrors>;
    /// The "new" page, showing `form` again.
    fn new_page(
        ctx: &PageContext,
        tenant: &Tenant,
        session: &CurrentSession,
        form: &Self::Form,
    ) -> impl Future<Output = RecordPage> + Send;
    /// The record's page, showing `form` again when given.
    fn record_page(
        ctx: &PageContext,
        id: &str,
        form: Option<&Self::Form>,
    ) -> impl Future<Output = Result<RecordPage, Response>> + Send;
}

fn id_of<K: BuiltinKind>(id: &str) -> Result<K::Id, Response> {
    id.parse::<uuid::Uuid>()
        .map(K::Id::from)
        .map_err(|_| error_page(ApiError::not_found()))
}

/// The posted form, its custom fields read apart (`creating`: their defaults apply).
async fn posted<'a, K: FormKind>(
    ctx: &'a PageContext,
    raw: &[u8],
    creating: bool,
) -> Result<(K::Form, &'a CurrentSession, Tenant), Response> {
    let mut form: K::Form = form_without(raw, |k| k.starts_with("custom."));
    ctx.check_csrf(K::csrf(&form))?;
    let (session, tenant) = ctx.tenant().await?;
    let custom = super::objects::builtin_custom_values(
        ctx,
        &session.actor,
        &tenant,
        K::KIND.object_key(),
        raw,
        creating,
    )
    .await;
    K::set_custom(&mut form, custom);
    Ok((form, session, tenant))
}

/// `POST /{kind}/new`: the new record's page, or the form again with each error next to its field.
pub async fn create<K: FormKind>(ctx: PageContext, RawForm(raw): RawForm) -> Response {
    let (form, session, tenant) = match posted::<K>(&ctx, &raw, true).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = match K::change(&form) {
        Ok(change) => {
            ctx.state
                .app
                .create::<K>(&session.actor, &tenant, change, &ctx.meta)
                .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match result {
        Ok(r) => see_other(&format!("{}/{}/{}?saved=1", ctx.base, K::PATH, r.id())),
        Err(AppError::Validation(errors)) => {
            let mut page = K::new_page(&ctx, &tenant, session, &form).await;
            page.errors = FormErrors(errors.0);
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(other) => error_page(other.into()),
    }
}

/// `POST /{kind}/{id}`: saves the record's form; its page again with the errors when refused.
pub async fn update<K: FormKind>(
    ctx: PageContext,
    Path(id): Path<String>,
    RawForm(raw): RawForm,
) -> Response {
    let record = match id_of::<K>(&id) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let (form, session, tenant) = match posted::<K>(&ctx, &raw, false).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = match K::change(&form) {
        Ok(change) => {
            ctx.state
                .app
                .update::<K>(&session.actor, &tenant, record, change, &ctx.meta)
                .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match result {
        Ok(r) => see_other(&format!("{}/{}/{}?saved=1", ctx.base, K::PATH, r.id())),
        Err(AppError::Validation(errors)) => match K::record_page(&ctx, &id, Some(&form)).await {
            Ok(mut page) => {
                page.errors = FormErrors(errors.0);
                render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
            }
            Err(p) => p,
        },
        Err(other) => error_page(other.into()),
    }
}

/// `POST /{kind}/{id}/delete`: to recently deleted, back to the list.
pub async fn delete<K: WebKind>(
    ctx: PageContext,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(p) = ctx.check_csrf(&form.csrf) {
        return p;
    }
    let (session, tenant) = match ctx.tenant().await {
        Ok(t) => t,
        Err(p) => return p,
    };
    let record = match id_of::<K>(&id) {
        Ok(r) => r,
        Err(r) => return r,
    };
    match ctx
        .state
        .app
        .delete::<K>(&session.actor, &tenant, record, &ctx.meta)
        .await
    {
        Ok(()) => see_other(&format!("{}/{}", ctx.base, K::LIST)),
        Err(e) => error_page(e.into()),
    }
}

/// `POST /{kind}/{id}/activities`: a comment, call or meeting on the record's timeline.
pub async fn comment<K: WebKind>(
    ctx: PageContext,
    Path(id): Path<String>,
    Form(form): Form<ActivityForm>,
) -> Response {
    let record = match id_of::<K>(&id) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let back = format!("{}/{}/{}", ctx.base, K::PATH, record);
    match add_activity(&ctx, K::timeline(record), form, &back).await {
        Ok(()) => see_other(&format!("{back}#timeline")),
        Err(r) => r,
    }
}

//! Webhooks: organization admins register endpoints; every event an endpoint wants becomes a
//! delivery (written by the dispatcher in its transaction, once per event and endpoint) sent by a
//! job that signs it as Standard Webhooks say and retries with growing waits for about three days.
//! A receiver answering 410 Gone, or failing without a success for three days, is turned off and
//! the organization's admins are told.

use crate::egress;
pub mod signature;

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use rapport_domain::notification::NotificationKind;
use rapport_domain::{Action, DeliveryId, Object, OrganizationId, Ownership, WebhookId};
use rapport_store::TenantTx;
use rapport_store::events::Event;
use rapport_store::jobs::{self as store_jobs, Job};
use rapport_store::webhooks::{
    self as store, Attempt, Delivery, Endpoint, EndpointChange, NewEndpoint,
};
use serde_json::{Value, json};

use crate::audit::{entry, with_target};
use crate::jobs::runner::{Backoff, JobFailure};
use crate::jobs::{JobSpec, kind, queue};
use crate::live::LiveEvent;
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// Attempts of one delivery: the first and 16 retries, waits doubling from the base to 12 hours:
/// about three days in all.
pub const MAX_ATTEMPTS: i64 = 17;
/// How long a rotated-out secret keeps signing beside the new one.
pub const ROTATION_OVERLAP: TimeDelta = TimeDelta::hours(24);
/// An endpoint failing for this long without a single success is turned off.
pub const SUSTAINED_FAILURE: TimeDelta = TimeDelta::days(3);
/// The event type of a test delivery.
pub const TEST_EVENT: &str = "webhook.test";

/// The waits between attempts of a delivery.
pub fn backoff(base: Duration) -> Backoff {
    Backoff {
        base,
        cap: base
            .saturating_mul(1440)
            .min(Duration::from_secs(12 * 3600))
            .max(base),
    }
}

/// What an admin sets on an endpoint.
#[derive(Clone, Debug, Default)]
pub struct EndpointInput {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub active: Option<bool>,
}

/// A delivery and its attempts.
pub struct DeliveryDetail {
    pub delivery: Delivery,
    pub attempts: Vec<Attempt>,
}

/// The body of a message: Standard Webhooks' `{type, timestamp, data}`.
fn body(event_type: &str, at: chrono::DateTime<Utc>, data: Value) -> String {
    json!({
        "type": event_type,
        "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string()
}

fn event_body(event: &Event, hidden: &[String]) -> String {
    let mut payload = event.payload.0.clone();
    crate::fields::hide_changes(&mut payload, hidden);
    let changed: Vec<&String> = event
        .changed
        .0
        .iter()
        .filter(|name| !crate::fields::is_hidden_name(name, hidden))
        .collect();
    let record = match (&event.record_type, event.record_id) {
        (Some(kind), Some(id)) => json!({"type": kind, "id": id}),
        _ => Value::Null,
    };
    body(
        &event.event_type,
        event.created_at,
        json!({
            "event_id": event.id,
            "organization_id": event.organization_id,
            "version": event.version,
            "record": record,
            "changed": changed,
            "actor_id": event.actor_id,
            "payload": payload,
        }),
    )
}

/// A message as a reader whose role hides `hidden(kind)` may see or send it: the hidden fields
/// left out of its payload and its `changed` names. Unchanged (the same bytes) when nothing is
/// hidden from it.
fn redacted_body(body: &str, hidden: impl Fn(&str) -> Vec<String>) -> String {
    let Ok(mut message) = serde_json::from_str::<Value>(body) else {
        return body.to_owned();
    };
    let Some(kind) = message["data"]["record"]["type"]
        .as_str()
        .map(str::to_owned)
    else {
        return body.to_owned();
    };
    let hidden = hidden(&kind);
    if hidden.is_empty() {
        return body.to_owned();
    }
    let data = &mut message["data"];
    crate::fields::hide_changes(&mut data["payload"], &hidden);
    if let Value::Array(names) = &mut data["changed"] {
        names.retain(|n| {
            n.as_str()
                .is_none_or(|n| !crate::fields::is_hidden_name(n, &hidden))
        });
    }
    message.to_string()
}

fn delivery_job(
    delivery: DeliveryId,
    organization: rapport_domain::OrganizationId,
    dedupe: String,
) -> rapport_store::jobs::NewJob {
    let mut job = JobSpec::new(
        queue::WEBHOOKS,
        kind::DELIVER_WEBHOOK,
        json!({"delivery_id": delivery}),
    );
    job.max_attempts = MAX_ATTEMPTS;
    job.dedupe_key = Some(dedupe);
    job.into_new_job(Some(organization))
}

/// The fields of the event's record an endpoint's messages leave out: those hidden from the
/// role of the member who set it up, or from the admin role once they have left.
async fn hidden_for(
    tx: &mut TenantTx,
    endpoint: &Endpoint,
    kind: Option<&str>,
) -> AppResult<Vec<String>> {
    let Some(kind) = kind else {
        return Ok(Vec::new());
    };
    let grants = maker_grants(tx, endpoint).await?;
    Ok(grants.hidden_fields(kind).map(str::to_owned).collect())
}

/// The matrix of the member who set an endpoint's address, or the admin role's once they have
/// left the organization.
async fn maker_grants(
    tx: &mut TenantTx,
    endpoint: &Endpoint,
) -> AppResult<rapport_domain::access::Grants> {
    let grants = match endpoint.created_by {
        Some(user) => crate::roles::grants_of_member(tx, rapport_domain::UserId(user)).await?,
        None => None,
    };
    Ok(match grants {
        Some(grants) => grants,
        None => crate::roles::grants_of_system_role(tx, rapport_domain::Role::Admin).await?,
    })
}

/// Creates the deliveries of `event` to the endpoints that want it, with their jobs. Each
/// message leaves out what the endpoint's maker may not see of the record's fields.
pub(crate) async fn on_event(tx: &mut TenantTx, event: &Event) -> AppResult<()> {
    let endpoints = store::active_of(tx.raw(), event.organization_id).await?;
    let wanted: Vec<&Endpoint> = endpoints
        .iter()
        .filter(|e| e.wants(&event.event_type))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    for endpoint in wanted {
        let hidden = hidden_for(tx, endpoint, event.record_type.as_deref()).await?;
        // A change of hidden fields only is not told at all.
        if !event.changed.0.is_empty()
            && event
                .changed
                .0
                .iter()
                .all(|name| crate::fields::is_hidden_name(name, &hidden))
        {
            continue;
        }
        let body = event_body(event, &hidden);
        if let Some(id) = store::insert_delivery(
            tx.raw(),
            event.organization_id,
            endpoint.id,
            event.id.as_uuid(),
            &event.event_type,
            &body,
        )
        .await?
        {
            store_jobs::enqueue(
                tx.raw(),
                delivery_job(id, event.organization_id, format!("webhook:{id}")),
            )
            .await?;
        }
    }
    Ok(())
}

fn check_event_types(types: &[String]) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for t in types {
        let t = t.trim();
        if !crate::events::CATALOGUE.contains(&t) {
            return Err(AppError::invalid(
                "event_types",
                format!("{t:?} is not an event type (see the events catalogue)"),
            ));
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    Ok(out)
}

impl App {
    fn check_url(&self, raw: &str) -> AppResult<String> {
        let url = egress::check_url(raw).map_err(|m| AppError::invalid("url", m))?;
        if !self.config.webhook_allow_private {
            let host = url
                .host_str()
                .unwrap_or_default()
                .trim_start_matches('[')
                .trim_end_matches(']');
            let literal = host.parse::<std::net::IpAddr>().ok();
            if host.eq_ignore_ascii_case("localhost")
                || host.ends_with(".localhost")
                || literal.is_some_and(egress::is_private)
            {
                return Err(AppError::invalid(
                    "url",
                    "points to a private, loopback or link-local address, which webhooks may not reach",
                ));
            }
        }
        Ok(url.to_string())
    }

    async fn may_manage_webhooks(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        // Support access never sets where the organization's data is sent.
        if tenant.support.is_some() {
            return Err(AppError::Forbidden);
        }
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Edit,
            Object::Organization,
            Ownership::NotApplicable,
        )
        .await
    }

    /// The organization's endpoints (owners and admins).
    pub async fn webhooks(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<Vec<Endpoint>> {
        self.may_manage_webhooks(actor, tenant, meta).await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let list = store::list(&mut tx).await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn webhook(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: WebhookId,
        meta: &RequestMeta,
    ) -> AppResult<Endpoint> {
        self.may_manage_webhooks(actor, tenant, meta).await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let endpoint = store::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(endpoint)
    }

    /// Registers an endpoint; returns it with its secret, shown this once.
    pub async fn create_webhook(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        input: EndpointInput,
        meta: &RequestMeta,
    ) -> AppResult<(Endpoint, String)> {
        self.may_manage_webhooks(actor, tenant, meta).await?;
        let url = self.check_url(input.url.as_deref().unwrap_or(""))?;
        let event_types = check_event_types(&input.event_types.unwrap_or_default())?;
        let description = input.description.unwrap_or_default().trim().to_owned();
        if description.chars().count() > 200 {
            return Err(AppError::invalid(
                "description",
                "must be at most 200 characters",
            ));
        }
        let secret = signature::generate();
        let mut tx = self.db.tenant(tenant.id()).await?;
        let endpoint = store::insert(
            &mut tx,
            NewEndpoint {
                url,
                description,
                event_types,
                secret_sealed: self.keys.seal(&secret),
                active: input.active.unwrap_or(true),
                created_by: actor.user_id,
            },
        )
        .await?;
        let mut e = with_target(
            entry(Some(actor), meta, "webhook.created"),
            "webhook",
            endpoint.id,
        );
        e.changes = Some(json!({"url": endpoint.url, "event_types": endpoint.event_types.0}));
        rapport_store::audit::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok((endpoint, secret))
    }

    pub async fn update_webhook(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: WebhookId,
        input: EndpointInput,
        meta: &RequestMeta,
    ) -> AppResult<Endpoint> {
        self.may_manage_webhooks(actor, tenant, meta).await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let current = store::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        let url = match &input.url {
            Some(u) => self.check_url(u)?,
            None => current.url.clone(),
        };
        let event_types = match &input.event_types {
            Some(t) => check_event_types(t)?,
            None => current.event_types.0.clone(),
        };
        let description = input
            .description
            .clone()
            .map(|d| d.trim().to_owned())
            .unwrap_or(current.description.clone());
        if description.chars().count() > 200 {
            return Err(AppError::invalid(
                "description",
                "must be at most 200 characters",
            ));
        }
        let active = input.active.unwrap_or(current.active);
        store::update(
            &mut tx,
            id,
            EndpointChange {
                // Messages follow the field rules of whoever set the address they go to.
                maker: if url != current.url {
                    Some(actor.user_id)
                } else {
                    None
                },
                url,
                description,
                event_types,
                active,
            },
        )
        .await?;
        let after = store::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        if let Some(diff) = crate::audit::changes(&[
            ("url", json!(current.url), json!(after.url)),
            (
                "description",
                json!(current.description),
                json!(after.description),
            ),
            (
                "event_types",
                json!(current.event_types.0),
                json!(after.event_types.0),
            ),
            ("active", json!(current.active), json!(after.active)),
        ]) {
            let mut e = with_target(entry(Some(actor), meta, "webhook.updated"), "webhook", id);
            e.changes = Some(diff);
            rapport_store::audit::record(&mut tx, e).await?;
        }
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_webhook(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: WebhookId,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.may_manage_webhooks(actor, tenant, meta).await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let current = store::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        store::delete(&mut tx, id).await?;
        let mut e = with_target(entry(Some(actor), meta, "webhook.deleted"), "webhook", id);
        e.changes = Some(json!({"url": current.url}));
        rapport_store::audit::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A new secret, returned this once; the previous one keeps signing for 24 hours.
    pub async fn rotate_webhook_secret(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: WebhookId,
        meta: &RequestMeta,
    ) -> AppResult<String> {
        self.may_manage_webhooks(actor, tenant, meta).await?;
        let secret = signature::generate();
        let mut tx = self.db.tenant(tenant.id()).await?;
        store::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        store::rotate_secret(
            &mut tx,
            id,
            &self.keys.seal(&secret),
            Utc::now() + ROTATION_OVERLAP,
        )
        .await?;
        rapport_store::audit::record(
            &mut tx,
            with_target(
                entry(Some(actor), meta, "webhook.secret_rotated"),
                "webhook",
                id,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(secret)
    }

    /// Sends a `webhook.test` message to the endpoint now (through the queue, like any other).
    pub async fn test_webhook(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: WebhookId,
        meta: &RequestMeta,
    ) -> AppResult<DeliveryId> {
        self.may_manage_webhooks(actor, tenant, meta).await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let endpoint = store::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        let event_id = uuid::Uuid::now_v7();
        let text = body(
            TEST_EVENT,
            Utc::now(),
            json!({"event_id": event_id, "organization_id": tenant.id(), "message": "A test from Rapport: this endpoint is reachable.", "actor_id": actor.user_id}),
        );
        let org = tenant.id();
        let delivery =
            store::insert_delivery(tx.raw(), org, endpoint.id, event_id, TEST_EVENT, &text)
                .await?
                .ok_or_else(|| AppError::Internal("a fresh test event collided".into()))?;
        store_jobs::enqueue(
            tx.raw(),
            delivery_job(delivery, org, format!("webhook:{delivery}")),
        )
        .await?;
        tx.commit().await?;
        Ok(delivery)
    }

    /// An endpoint's deliveries, newest first.
    pub async fn webhook_deliveries(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: WebhookId,
        before: Option<DeliveryId>,
        limit: i64,
        meta: &RequestMeta,
    ) -> AppResult<Vec<Delivery>> {
        self.may_manage_webhooks(actor, tenant, meta).await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        store::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        let list = store::deliveries(&mut tx, id, before, limit).await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn webhook_delivery(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: WebhookId,
        delivery: DeliveryId,
        meta: &RequestMeta,
    ) -> AppResult<DeliveryDetail> {
        self.may_manage_webhooks(actor, tenant, meta).await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let found = store::find_delivery(&mut tx, id, delivery)
            .await?
            .ok_or(AppError::NotFound)?;
        let attempts = store::attempts(&mut tx, delivery).await?;
        tx.commit().await?;
        // The message as the reader's role may see it.
        let mut found = found;
        found.body = redacted_body(&found.body, |kind| {
            tenant
                .access
                .grants
                .hidden_fields(kind)
                .map(str::to_owned)
                .collect()
        });
        Ok(DeliveryDetail {
            delivery: found,
            attempts,
        })
    }

    /// Sends a delivery again now (the same message and id), whatever became of it.
    pub async fn resend_webhook_delivery(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: WebhookId,
        delivery: DeliveryId,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.may_manage_webhooks(actor, tenant, meta).await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        store::find_delivery(&mut tx, id, delivery)
            .await?
            .ok_or(AppError::NotFound)?;
        store::mark_pending(&mut tx, delivery).await?;
        let org = tenant.id();
        store_jobs::enqueue(
            tx.raw(),
            delivery_job(
                delivery,
                org,
                format!("webhook:{delivery}:resend:{}", uuid::Uuid::now_v7()),
            ),
        )
        .await?;
        rapport_store::audit::record(
            &mut tx,
            with_target(
                entry(Some(actor), meta, "webhook.delivery_resent"),
                "webhook_delivery",
                delivery,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Job `webhook.deliver`: one attempt of one delivery.
    pub(crate) async fn deliver_webhook(&self, job: &Job) -> Result<(), JobFailure> {
        let internal = |e: AppError| JobFailure::Retry(e.to_string());
        let Some(delivery_id) = job.payload.0["delivery_id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .map(DeliveryId)
        else {
            return Err(JobFailure::Fatal("the job names no delivery".into()));
        };
        let Some(org) = job.organization_id.map(OrganizationId) else {
            return Err(JobFailure::Fatal("the job names no organization".into()));
        };
        let mut tx = self
            .db
            .tenant_read(org)
            .await
            .map_err(|e| internal(e.into()))?;
        let delivery = store::delivery(tx.raw(), delivery_id)
            .await
            .map_err(|e| internal(e.into()))?;
        let endpoint = match &delivery {
            Some(d) => store::endpoint(tx.raw(), d.endpoint_id)
                .await
                .map_err(|e| internal(e.into()))?,
            None => None,
        };
        // What is sent keeps to the field rules of the member who set the endpoint's address
        // now (a message written before the address changed included).
        let maker_rules = match &endpoint {
            Some(e) => maker_grants(&mut tx, e).await.map_err(internal)?,
            None => rapport_domain::access::Grants::system(rapport_domain::Role::Owner),
        };
        tx.commit().await.map_err(|e| internal(e.into()))?;
        let (Some(mut delivery), Some(endpoint)) = (delivery, endpoint) else {
            // The endpoint was deleted, and its deliveries with it.
            return Ok(());
        };
        delivery.body = redacted_body(&delivery.body, |kind| {
            maker_rules.hidden_fields(kind).map(str::to_owned).collect()
        });
        if delivery.status == "succeeded"
            && job.dedupe_key.as_deref() == Some(&format!("webhook:{delivery_id}"))
        {
            return Ok(());
        }
        if !endpoint.active {
            self.finish_delivery(
                &delivery,
                "failed",
                None,
                0,
                Some("the endpoint is turned off"),
                None,
            )
            .await
            .map_err(internal)?;
            return Ok(());
        }
        let now = Utc::now();
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for sealed in std::iter::once(Some(&endpoint.secret_sealed)).chain(std::iter::once(
            endpoint.previous_secret_sealed.as_ref().filter(|_| {
                endpoint
                    .previous_secret_until
                    .is_some_and(|until| until > now)
            }),
        )) {
            if let Some(key) = sealed
                .and_then(|s| self.keys.open(s))
                .and_then(|s| signature::key(&s))
            {
                keys.push(key);
            }
        }
        if keys.is_empty() {
            return Err(JobFailure::Fatal(
                "the endpoint's secret cannot be read (was the secret key changed?)".into(),
            ));
        }
        let message_id = delivery.event_id.to_string();
        let timestamp = now.timestamp();
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("webhook-id", message_id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            (
                "webhook-signature",
                signature::header(&keys, &message_id, timestamp, &delivery.body),
            ),
        ];
        let last = job.attempts >= job.max_attempts;
        let sent = egress::post(
            &endpoint.url,
            &headers,
            delivery.body.clone(),
            self.config.webhook_timeout,
            self.config.webhook_allow_private,
        )
        .await;
        match sent {
            Ok(answer) if (200..300).contains(&answer.status) => {
                self.finish_delivery(
                    &delivery,
                    "succeeded",
                    Some(answer.status),
                    answer.latency_ms,
                    None,
                    Some(&answer.excerpt),
                )
                .await
                .map_err(internal)?;
                Ok(())
            }
            Ok(answer) if answer.status == 410 => {
                let reason = "the receiver answered 410 Gone";
                self.finish_delivery(
                    &delivery,
                    "failed",
                    Some(410),
                    answer.latency_ms,
                    Some(reason),
                    Some(&answer.excerpt),
                )
                .await
                .map_err(internal)?;
                self.disable_webhook(&endpoint, reason)
                    .await
                    .map_err(internal)?;
                Err(JobFailure::Fatal(reason.into()))
            }
            Ok(answer) => {
                let error = format!("the receiver answered {}", answer.status);
                self.failed_attempt(
                    &delivery,
                    &endpoint,
                    last,
                    Some(answer.status),
                    answer.latency_ms,
                    &error,
                    Some(&answer.excerpt),
                )
                .await
            }
            Err((egress::Failure::Refused(error), latency)) => {
                self.finish_delivery(&delivery, "failed", None, latency, Some(&error), None)
                    .await
                    .map_err(internal)?;
                Err(JobFailure::Fatal(error))
            }
            Err((egress::Failure::Network(error), latency)) => {
                self.failed_attempt(&delivery, &endpoint, last, None, latency, &error, None)
                    .await
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn failed_attempt(
        &self,
        delivery: &Delivery,
        endpoint: &Endpoint,
        last: bool,
        status: Option<u16>,
        latency_ms: i64,
        error: &str,
        excerpt: Option<&str>,
    ) -> Result<(), JobFailure> {
        let internal = |e: AppError| JobFailure::Retry(e.to_string());
        let outcome = if last { "failed" } else { "pending" };
        self.finish_delivery(delivery, outcome, status, latency_ms, Some(error), excerpt)
            .await
            .map_err(internal)?;
        // Failing for days without one success: the receiver is gone in all but name.
        if endpoint
            .failing_since
            .is_some_and(|since| Utc::now() - since > SUSTAINED_FAILURE)
        {
            let reason = "no delivery succeeded for three days";
            self.disable_webhook(endpoint, reason)
                .await
                .map_err(internal)?;
            return Err(JobFailure::Fatal(format!(
                "{error}; {reason}: the endpoint is turned off"
            )));
        }
        Err(JobFailure::Retry(error.to_owned()))
    }

    async fn finish_delivery(
        &self,
        delivery: &Delivery,
        status: &str,
        code: Option<u16>,
        latency_ms: i64,
        error: Option<&str>,
        excerpt: Option<&str>,
    ) -> AppResult<()> {
        let mut tx = self.db.tenant(delivery.organization_id).await?;
        store::record_attempt(
            tx.raw(),
            delivery,
            status,
            code.map(i64::from),
            latency_ms,
            error,
            excerpt,
        )
        .await?;
        if status == "succeeded" {
            store::note_success(tx.raw(), delivery.endpoint_id).await?;
        } else if code.is_some() || error.is_some() {
            store::note_failure(tx.raw(), delivery.endpoint_id, rapport_store::now()).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Turns an endpoint off and tells the organization's owners and admins.
    async fn disable_webhook(&self, endpoint: &Endpoint, reason: &str) -> AppResult<()> {
        let mut tx = self.db.tenant(endpoint.organization_id).await?;
        if !store::disable(tx.raw(), endpoint.id, reason).await? {
            tx.commit().await?;
            return Ok(());
        }
        let mut live: Vec<LiveEvent> = Vec::new();
        let admins =
            rapport_store::memberships::administrators(tx.raw(), endpoint.organization_id).await?;
        let occasion = uuid::Uuid::now_v7();
        for admin in admins {
            if let Some(message) = crate::notifications::notify(
                &self.db,
                &mut tx,
                occasion,
                None,
                admin,
                NotificationKind::WebhookDisabled,
                format!("The webhook to {} was turned off", endpoint.url),
                format!("Why: {reason}. Turn it back on in the webhook settings once the receiver works."),
                Some(("webhook", endpoint.id.as_uuid())),
            )
            .await?
            {
                live.push(message);
            }
        }
        tx.commit().await?;
        tracing::warn!(webhook = %endpoint.id, url = %endpoint.url, %reason, "webhook endpoint turned off");
        for message in live {
            if let Err(error) = self.live.publish(&message).await {
                tracing::warn!(%error, "publishing a notification live failed");
            }
        }
        Ok(())
    }
}

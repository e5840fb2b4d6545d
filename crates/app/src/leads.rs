//! Leads and their conversion: one action turns a qualified lead into a contact, optionally a
//! company (found by web domain or created) and a deal, in one transaction; the lead's timeline
//! follows the contact, and the lead stays, read-only, linking to what it became.

use rapport_domain::account::{Email, PersonName};
use rapport_domain::contact::{optional_text, phone, web_domain};
use rapport_domain::lead::{self, LeadStatus};
use rapport_domain::{
    Action, CompanyId, ContactId, DealId, LeadId, Object, Ownership, PipelineId, ValidationErrors,
};
use rapport_store::TenantTx;
use rapport_store::activities::{self as store_activities, NewActivity};
use rapport_store::companies::{self as store_companies, NewCompany};
use rapport_store::contacts::{self as store_contacts, ContactFields};
use rapport_store::keyset::SortValue;
use rapport_store::leads::{self as store_leads, Lead, LeadFields, LeadFilter, LeadSort};
use serde_json::json;

use crate::audit::{changes_and, entry, with_target};
use crate::deals::{DealChange, check_owner};
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

#[derive(Clone, Debug, Default)]
pub struct LeadChange {
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub company_name: Option<Option<String>>,
    pub source: Option<Option<String>>,
    pub status: Option<String>,
    pub score: Option<i64>,
    pub owner_id: Option<rapport_domain::UserId>,
    /// Custom field values (`null` clears one; those not given stay).
    pub custom: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Clone, Debug)]
pub struct LeadQuery {
    /// Whether the page comes with the total (an export, reading every page, needs none).
    pub with_total: bool,
    pub filter: LeadFilter,
    pub sort: LeadSort,
    pub descending: bool,
    pub after: Option<(SortValue, LeadId)>,
    pub page: u64,
    pub page_size: u64,
}

pub struct LeadPage {
    pub items: Vec<Lead>,
    /// The tags of the page's leads, as (lead id, tag) pairs.
    pub tags: Vec<(uuid::Uuid, rapport_store::tags::Tag)>,
    pub total: i64,
    pub total_is_exact: bool,
    pub next: Option<(SortValue, LeadId)>,
}

/// What a conversion should create besides the contact.
#[derive(Clone, Debug, Default)]
pub struct Conversion {
    /// Link the contact to a company: the one with the email's web domain, else a new one named
    /// after the lead's company name.
    pub with_company: bool,
    /// Also open a deal for the contact (and company).
    pub deal: Option<ConversionDeal>,
}

#[derive(Clone, Debug, Default)]
pub struct ConversionDeal {
    pub title: Option<String>,
    pub amount: Option<f64>,
    pub pipeline_id: Option<PipelineId>,
    pub stage: Option<String>,
}

/// What a conversion made.
#[derive(Clone, Debug)]
pub struct Converted {
    pub lead: Lead,
    pub contact_id: ContactId,
    pub company_id: Option<CompanyId>,
    pub company_created: bool,
    pub deal_id: Option<DealId>,
}

const COUNT_CAP: i64 = 10_000;

impl App {
    async fn lead_fields(
        &self,
        tx: &mut TenantTx,
        actor: &Actor,
        tenant: &Tenant,
        current: Option<&Lead>,
        change: &LeadChange,
    ) -> AppResult<LeadFields> {
        let mut errors = ValidationErrors::new();
        let name = match (&change.name, current) {
            (Some(raw), _) => errors
                .check("name", PersonName::parse(raw))
                .map(|n| n.as_str().to_owned())
                .unwrap_or_default(),
            (None, Some(l)) => l.name.clone(),
            (None, None) => {
                errors.add("name", "is required");
                String::new()
            }
        };
        let email = match &change.email {
            Some(Some(raw)) if !raw.trim().is_empty() => errors
                .check("email", Email::parse(raw))
                .map(|e| e.as_str().to_owned()),
            Some(_) => None,
            None => current.and_then(|l| l.email.clone()),
        };
        let phone = match &change.phone {
            Some(Some(raw)) if !raw.trim().is_empty() => errors.check("phone", phone(raw)),
            Some(_) => None,
            None => current.and_then(|l| l.phone.clone()),
        };
        let company_name = match &change.company_name {
            Some(raw) => optional_text(&mut errors, "company_name", raw.as_deref(), 120),
            None => current.and_then(|l| l.company_name.clone()),
        };
        let source = match &change.source {
            Some(raw) => optional_text(&mut errors, "source", raw.as_deref(), 60),
            None => current.and_then(|l| l.source.clone()),
        };
        let status = match &change.status {
            Some(raw) => errors
                .check("status", LeadStatus::parse(raw))
                .unwrap_or(LeadStatus::New),
            None => current
                .and_then(|l| LeadStatus::parse(&l.status).ok())
                .unwrap_or(LeadStatus::New),
        };
        let score = match change.score {
            Some(s) => errors.check("score", lead::score(s)).unwrap_or(0),
            None => current.map(|l| l.score).unwrap_or(0),
        };
        let owner_id = change
            .owner_id
            .or(current.map(|l| l.owner_id))
            .unwrap_or(actor.user_id);
        if change
            .owner_id
            .is_some_and(|o| Some(o) != current.map(|l| l.owner_id))
        {
            check_owner(tx, tenant, actor, &mut errors, owner_id).await?;
        }
        errors.into_result()?;
        Ok(LeadFields {
            owner_id,
            name,
            email,
            phone,
            company_name,
            source,
            status: status.as_str().to_owned(),
            score,
        })
    }

    pub async fn create_lead(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        change: LeadChange,
        meta: &RequestMeta,
    ) -> AppResult<Lead> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Create,
            Object::Lead,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let fields = self
            .lead_fields(&mut tx, actor, tenant, None, &change)
            .await?;
        let mut lead = store_leads::insert(&mut tx, &fields).await?;
        if let Some(c) = self
            .write_custom(
                &mut tx,
                tenant,
                crate::custom_values::BuiltinRecord {
                    kind: crate::custom_values::Kind::Lead,
                    id: lead.id.as_uuid(),
                    custom: &lead.custom.0,
                },
                change.custom.as_ref(),
                true,
            )
            .await?
        {
            lead.custom.0 = serde_json::Value::Object(c.document);
        }
        let mut e = with_target(entry(Some(actor), meta, "lead.created"), "lead", lead.id);
        e.changes = Some(json!({"name": lead.name}));
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(lead)
    }

    /// One lead and its tags, read together.
    pub async fn lead_with_tags(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: LeadId,
        meta: &RequestMeta,
    ) -> AppResult<(Lead, Vec<rapport_store::tags::Tag>)> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Lead,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let found = store_leads::find_with_tags(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(found)
    }

    pub async fn lead(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: LeadId,
        meta: &RequestMeta,
    ) -> AppResult<Lead> {
        Ok(self.lead_with_tags(actor, tenant, id, meta).await?.0)
    }

    pub async fn update_lead(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: LeadId,
        change: LeadChange,
        meta: &RequestMeta,
    ) -> AppResult<Lead> {
        let before = self.lead(actor, tenant, id, meta).await?;
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Edit,
            Object::Lead,
            actor.relation_to(before.owner_id),
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        let current = store_leads::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if current.converted_at.is_some() {
            return Err(AppError::conflict(
                "lead_converted",
                "this lead was converted and can no longer be changed; change the contact instead",
            ));
        }
        let fields = self
            .lead_fields(&mut tx, actor, tenant, Some(&current), &change)
            .await?;
        store_leads::update(&mut tx, id, &fields).await?;
        let custom = self
            .write_custom(
                &mut tx,
                tenant,
                crate::custom_values::BuiltinRecord {
                    kind: crate::custom_values::Kind::Lead,
                    id: id.as_uuid(),
                    custom: &current.custom.0,
                },
                change.custom.as_ref(),
                false,
            )
            .await?;
        let after = store_leads::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if current.status != after.status {
            store_activities::insert(
                &mut tx,
                NewActivity {
                    record_type: "lead",
                    record_id: id.as_uuid(),
                    author_id: Some(actor.user_id),
                    kind: "status_changed".into(),
                    payload: json!({"from": current.status, "to": after.status}),
                },
            )
            .await?;
        }
        if let Some(diff) = changes_and(
            &[
                ("name", json!(current.name), json!(after.name)),
                ("email", json!(current.email), json!(after.email)),
                ("phone", json!(current.phone), json!(after.phone)),
                (
                    "company_name",
                    json!(current.company_name),
                    json!(after.company_name),
                ),
                ("source", json!(current.source), json!(after.source)),
                ("status", json!(current.status), json!(after.status)),
                ("score", json!(current.score), json!(after.score)),
                ("owner_id", json!(current.owner_id), json!(after.owner_id)),
            ],
            custom.as_ref(),
        ) {
            let mut e = with_target(entry(Some(actor), meta, "lead.updated"), "lead", id);
            e.changes = Some(diff);
            crate::events::record(&mut tx, e).await?;
        }
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_lead(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: LeadId,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let before = self.lead(actor, tenant, id, meta).await?;
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Delete,
            Object::Lead,
            actor.relation_to(before.owner_id),
        )
        .await?;
        let mut tx = self.db.tenant(tenant.id()).await?;
        if !store_leads::soft_delete(&mut tx, id).await? {
            return Err(AppError::NotFound);
        }
        let mut e = with_target(entry(Some(actor), meta, "lead.deleted"), "lead", id);
        e.changes = Some(json!({"name": before.name}));
        crate::events::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_leads(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        q: LeadQuery,
        meta: &RequestMeta,
    ) -> AppResult<LeadPage> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::Lead,
            Ownership::NotApplicable,
        )
        .await?;
        let offset = crate::paging::offset(q.after.is_some(), q.page, q.page_size);
        let cap = q.with_total.then_some(COUNT_CAP);
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let strategy = store_leads::search_strategy(&mut tx, &q.filter).await?;
        let (mut items, counted) = store_leads::list(
            &mut tx,
            &q.filter,
            strategy,
            q.sort,
            q.descending,
            q.after.as_ref(),
            offset,
            q.page_size,
            cap,
        )
        .await?;
        let has_more = crate::paging::cut(&mut items, q.page_size);
        let (total, total_is_exact) = match counted {
            Some(counted) => counted,
            None if !q.with_total => (0, false),
            // An empty page past the end of the list: count on its own.
            None => store_leads::count(&mut tx, &q.filter, strategy, COUNT_CAP).await?,
        };
        let ids: Vec<uuid::Uuid> = items.iter().map(|r| r.id.as_uuid()).collect();
        let tags = rapport_store::tags::of_records(&mut tx, "lead", &ids).await?;
        tx.commit().await?;
        let next = if has_more {
            items.last().map(|l| (q.sort.value_of(l), l.id))
        } else {
            None
        };
        Ok(LeadPage {
            items,
            tags,
            total,
            total_is_exact,
            next,
        })
    }

    /// Converts a qualified lead (owner of the lead, or a manager and above).
    pub async fn convert_lead(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: LeadId,
        conversion: Conversion,
        meta: &RequestMeta,
    ) -> AppResult<Converted> {
        let before = self.lead(actor, tenant, id, meta).await?;
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Edit,
            Object::Lead,
            actor.relation_to(before.owner_id),
        )
        .await?;
        for object in [Object::Contact, Object::Company, Object::Deal] {
            let needed = match object {
                Object::Company => conversion.with_company,
                Object::Deal => conversion.deal.is_some(),
                _ => true,
            };
            if needed {
                self.authorize(
                    actor,
                    tenant,
                    meta,
                    Action::Create,
                    object,
                    Ownership::NotApplicable,
                )
                .await?;
            }
        }
        let mut tx = self.db.tenant(tenant.id()).await?;
        let lead = store_leads::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if lead.converted_at.is_some() {
            return Err(AppError::conflict(
                "lead_already_converted",
                "this lead was already converted",
            ));
        }
        if lead.status != LeadStatus::Qualified.as_str() {
            return Err(AppError::conflict(
                "lead_not_qualified",
                "only a qualified lead can be converted; qualify it first",
            ));
        }
        // The company: found by the email's web domain, else created from the company name.
        let mut company_id = None;
        let mut company_created = false;
        if conversion.with_company {
            let domain = lead
                .email
                .as_deref()
                .and_then(|e| e.split_once('@'))
                .and_then(|(_, d)| web_domain(d).ok());
            let found = match &domain {
                Some(d) => store_companies::find_by_domain(&mut tx, d).await?,
                None => None,
            };
            company_id = match found {
                Some(c) => Some(c.id),
                None => {
                    let name = lead
                        .company_name
                        .clone()
                        .or_else(|| domain.clone())
                        .ok_or_else(|| {
                            AppError::invalid(
                                "company_name",
                                "is needed to create a company (the lead has no company name or email domain)",
                            )
                        })?;
                    company_created = true;
                    let c = store_companies::insert(
                        &mut tx,
                        &NewCompany {
                            owner_id: lead.owner_id,
                            name,
                            domain,
                            industry: None,
                            size: None,
                            address: None,
                        },
                    )
                    .await?;
                    Some(c.id)
                }
            };
        }
        let contact = store_contacts::insert(
            &mut tx,
            &ContactFields {
                owner_id: lead.owner_id,
                company_id,
                name: lead.name.clone(),
                email: lead.email.clone(),
                phone: lead.phone.clone(),
                title: None,
            },
        )
        .await?;
        let deal_id = match &conversion.deal {
            Some(d) => {
                let change = DealChange {
                    title: Some(d.title.clone().unwrap_or_else(|| match &lead.company_name {
                        Some(c) => format!("{c} — {}", lead.name),
                        None => lead.name.clone(),
                    })),
                    amount: d.amount,
                    pipeline_id: d.pipeline_id,
                    stage: d.stage.clone(),
                    contact_id: Some(Some(contact.id)),
                    company_id: Some(company_id),
                    owner_id: Some(lead.owner_id),
                    ..DealChange::default()
                };
                let fields = self
                    .deal_fields_for_conversion(&mut tx, actor, tenant, &change)
                    .await?;
                Some(rapport_store::deals::insert(&mut tx, &fields).await?.id)
            }
            None => None,
        };
        // The lead's history follows the contact; both say what happened.
        store_activities::reattach(
            &mut tx,
            ("lead", id.as_uuid()),
            ("contact", contact.id.as_uuid()),
        )
        .await?;
        let summary = format!(
            "converted the lead into this contact{}{}",
            if company_created {
                " and a new company"
            } else if company_id.is_some() {
                ", linked to its company"
            } else {
                ""
            },
            if deal_id.is_some() {
                ", with a deal"
            } else {
                ""
            }
        );
        store_activities::insert(
            &mut tx,
            NewActivity {
                record_type: "contact",
                record_id: contact.id.as_uuid(),
                author_id: Some(actor.user_id),
                kind: "converted".into(),
                payload: json!({"lead_id": id, "summary": summary}),
            },
        )
        .await?;
        store_activities::insert(
            &mut tx,
            NewActivity {
                record_type: "lead",
                record_id: id.as_uuid(),
                author_id: Some(actor.user_id),
                kind: "converted".into(),
                payload: json!({"contact_id": contact.id, "company_id": company_id, "deal_id": deal_id,
                    "summary": "converted this lead; its history is on the contact now"}),
            },
        )
        .await?;
        store_leads::mark_converted(&mut tx, id, contact.id, company_id, deal_id).await?;
        // What the conversion created is announced like any creation.
        let mut created = vec![("contact", contact.id.as_uuid())];
        if company_created && let Some(c) = company_id {
            created.push(("company", c.as_uuid()));
        }
        if let Some(d) = deal_id {
            created.push(("deal", d.as_uuid()));
        }
        for (kind, record_id) in created {
            crate::events::publish(
                &mut tx,
                rapport_store::events::NewEvent {
                    event_type: format!("{kind}.created"),
                    version: crate::events::VERSION,
                    record_type: Some(kind.to_owned()),
                    record_id: Some(record_id),
                    changed: Vec::new(),
                    actor_id: Some(actor.user_id),
                    payload: json!({"from_lead": id}),
                },
            )
            .await?;
        }
        let mut e = with_target(entry(Some(actor), meta, "lead.converted"), "lead", id);
        e.changes =
            Some(json!({"contact_id": contact.id, "company_id": company_id, "deal_id": deal_id}));
        crate::events::record(&mut tx, e).await?;
        let lead = store_leads::find(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(Converted {
            lead,
            contact_id: contact.id,
            company_id,
            company_created,
            deal_id,
        })
    }
}

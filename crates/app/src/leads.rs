//! Leads and their conversion: one action turns a qualified lead into a contact, optionally a
//! company (found by web domain or created) and a deal, in one transaction; the lead's timeline
//! follows the contact, and the lead stays, read-only, linking to what it became.

use rapport_domain::contact::web_domain;
use rapport_domain::lead::LeadStatus;
use rapport_domain::{Action, CompanyId, ContactId, DealId, LeadId, Object, Ownership, PipelineId};
use rapport_store::TenantTx;
use rapport_store::activities as store_activities;
use rapport_store::companies::{self as store_companies, NewCompany};
use rapport_store::contacts::{self as store_contacts, ContactFields};
use rapport_store::leads::{self as store_leads, Lead, LeadFields};
use rapport_store::tables;
use serde_json::{Value as Json, json};

use crate::audit::{entry, with_target};
use crate::changes::{Checked, RecordChange};
use crate::custom_values::Kind;
use crate::kinds::{BuiltinKind, ListPage, ListQuery, builtin_record, check_change};
use crate::timeline::note;
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// Which leads, in which order, which page; and the page.
pub type LeadQuery = ListQuery<Lead>;
pub type LeadPage = ListPage<Lead>;

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

impl BuiltinKind for Lead {
    type Fields = LeadFields;
    const KIND: Kind = Kind::Lead;

    builtin_record! {
        id: LeadId,
        owner: owner_id,
        named: name,
        store: store_leads,
        diff: [name, email, phone, company_name, source, status, score, owner_id],
    }

    async fn columns(
        _tx: &mut TenantTx,
        current: Option<&Self>,
        v: &mut Checked<'_>,
    ) -> AppResult<LeadFields> {
        Ok(LeadFields {
            owner_id: v.owner,
            name: v.required("name", current.map(|l| l.name.clone())),
            email: v.optional("email", current.and_then(|l| l.email.clone())),
            phone: v.optional("phone", current.and_then(|l| l.phone.clone())),
            company_name: v.optional("company_name", current.and_then(|l| l.company_name.clone())),
            source: v.optional("source", current.and_then(|l| l.source.clone())),
            status: v
                .optional("status", current.map(|l| l.status))
                .unwrap_or(LeadStatus::New),
            score: v.required("score", current.map(|l| l.score)),
        })
    }

    /// A converted lead is read-only: what it became is changed instead.
    fn may_change(&self) -> AppResult<()> {
        if self.converted_at.is_some() {
            return Err(AppError::conflict(
                "lead_converted",
                "this lead was converted and can no longer be changed; change the contact instead",
            ));
        }
        Ok(())
    }

    /// A status change goes to the lead's timeline.
    async fn after_update(
        before: &Self,
        after: &Self,
        tx: &mut TenantTx,
        actor: &Actor,
    ) -> AppResult<()> {
        if before.status != after.status {
            let change = json!({"from": before.status, "to": after.status});
            note(
                tx,
                actor,
                ("lead", after.id.as_uuid()),
                "status_changed",
                change,
            )
            .await?;
        }
        Ok(())
    }
}

impl App {
    /// Converts a qualified lead (owner of the lead, or a manager and above).
    pub async fn convert_lead(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        id: LeadId,
        conversion: Conversion,
        meta: &RequestMeta,
    ) -> AppResult<Converted> {
        let (before, _) = self.read::<Lead>(actor, tenant, id, meta).await?;
        self.authorize_kind(
            actor,
            tenant,
            meta,
            rapport_domain::access::RecordAction::Convert,
            "lead",
            tenant.relation(actor, before.owner_id),
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
        let lead = tables::find::<Lead>(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if lead.converted_at.is_some() {
            return Err(AppError::conflict(
                "lead_already_converted",
                "this lead was already converted",
            ));
        }
        if lead.status != LeadStatus::Qualified {
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
                let title = d.title.clone().unwrap_or_else(|| match &lead.company_name {
                    Some(c) => format!("{c} — {}", lead.name),
                    None => lead.name.clone(),
                });
                let mut change = RecordChange::of("title", title)
                    .set("contact_id", contact.id)
                    .set("company_id", company_id)
                    .set("owner_id", lead.owner_id);
                for (key, given) in [
                    ("amount", d.amount.map(Json::from)),
                    ("pipeline_id", d.pipeline_id.map(|p| json!(p))),
                    ("stage", d.stage.clone().map(Json::from)),
                ] {
                    if let Some(value) = given {
                        change = change.set(key, value);
                    }
                }
                let fields = check_change::<rapport_store::deals::Deal>(
                    &mut tx, actor, tenant, None, &change,
                )
                .await?;
                let deal = rapport_store::deals::insert(&mut tx, &fields).await?;
                // What the converter gives the deal passes its field rules, as on creation.
                let given: Vec<&str> = [
                    ("amount", d.amount.is_some()),
                    ("stage", d.stage.is_some() || d.pipeline_id.is_some()),
                ]
                .into_iter()
                .filter(|(_, given)| *given)
                .map(|(name, _)| name)
                .collect();
                let stage = crate::kinds::BuiltinKind::stage(&deal);
                crate::fields::check_writes(
                    tenant,
                    "deal",
                    stage.as_deref(),
                    std::iter::empty(),
                    given,
                )?;
                crate::deals::stage_requirements(&mut tx, &deal).await?;
                Some(deal.id)
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
        let converted = json!({"lead_id": id, "summary": summary});
        note(
            &mut tx,
            actor,
            ("contact", contact.id.as_uuid()),
            "converted",
            converted,
        )
        .await?;
        let converted = json!({"contact_id": contact.id, "company_id": company_id, "deal_id": deal_id,
            "summary": "converted this lead; its history is on the contact now"});
        note(
            &mut tx,
            actor,
            ("lead", id.as_uuid()),
            "converted",
            converted,
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
        let mut lead = tables::find::<Lead>(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let hidden = crate::fields::hidden_of(&mut tx, tenant, "lead").await?;
        tx.commit().await?;
        crate::fields::hide_json(&mut lead.custom.0, &hidden);
        Ok(Converted {
            lead,
            contact_id: contact.id,
            company_id,
            company_created,
            deal_id,
        })
    }
}

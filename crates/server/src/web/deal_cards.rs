//! What a deal's board card shows under its title: the fields its pipeline chose (Settings →
//! Pipelines), amount and owner when it chose none.

use std::collections::HashMap;

use rapport_app::Tenant;
use rapport_app::deals::DEFAULT_CARD_FIELDS;
use rapport_app::model::{Deal, Pipeline};
use rapport_domain::schema::ObjectDef;
use serde_json::{Map, Value as Json};

use super::PageContext;
use super::objects::{Names, cell, person_zone};
use super::records::{People, day};

/// A pipeline's choice of card fields, with what showing them needs: the deal object's fields
/// (labels, types) and the names of the records the cards point to.
pub struct CardFields<'a> {
    keys: Vec<String>,
    object: Option<ObjectDef>,
    names: Names<'a>,
}

/// A deal's related records and custom values, keyed as the deal object's fields are.
fn values_of(deal: &Deal) -> Map<String, Json> {
    let mut values = deal.custom.as_object().cloned().unwrap_or_default();
    if let Some(id) = deal.contact_id {
        values.insert("contact_id".into(), Json::String(id.to_string()));
    }
    if let Some(id) = deal.company_id {
        values.insert("company_id".into(), Json::String(id.to_string()));
    }
    values
}

impl<'a> CardFields<'a> {
    /// The fields `pipeline`'s cards show, loaded for `deals` (the cards of one page).
    pub async fn load<'d>(
        ctx: &PageContext,
        actor: &rapport_app::Actor,
        tenant: &Tenant,
        pipeline: &Pipeline,
        people: &'a People,
        deals: impl IntoIterator<Item = &'d Deal>,
    ) -> CardFields<'a> {
        let bare = |keys| CardFields {
            keys,
            object: None,
            names: Names {
                people,
                records: HashMap::new(),
                zone: None,
            },
        };
        let keys: Vec<String> = if pipeline.card_fields.0.is_empty() {
            DEFAULT_CARD_FIELDS.map(str::to_owned).to_vec()
        } else {
            pipeline.card_fields.0.clone()
        };
        // Amount, owner, probability and close date come with the deal; the others need the
        // object's fields, and relations their records' names.
        let simple = [
            "amount",
            "owner",
            "close_probability",
            "expected_close_date",
        ];
        if keys.iter().all(|k| simple.contains(&k.as_str())) {
            return bare(keys);
        }
        let app = &ctx.state.app;
        let object = app
            .object(actor, tenant, "deal", &ctx.meta)
            .await
            .ok()
            .map(|o| o.def);
        let Some(object) = object else {
            return bare(keys);
        };
        // Only the chosen fields: the names to look up are those of the fields shown.
        let shown = ObjectDef {
            fields: object
                .live_fields()
                .filter(|f| keys.iter().any(|k| k == f.key.as_str()))
                .cloned()
                .collect(),
            ..object.clone()
        };
        let values: Vec<Map<String, Json>> = deals.into_iter().map(values_of).collect();
        let refs: Vec<&Map<String, Json>> = values.iter().collect();
        let records = app
            .relation_titles(tenant, &shown, &refs)
            .await
            .unwrap_or_default();
        let zone = Some(person_zone(ctx, actor, tenant, &shown).await);
        CardFields {
            keys,
            object: Some(shown),
            names: Names {
                people,
                records,
                zone,
            },
        }
    }

    /// Whether the cards show this field (`amount`, `owner`).
    pub fn shows(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }

    /// The label and value of each chosen field the deal has, in the chosen order (amount and
    /// owner have places of their own on the card).
    pub fn facts(&self, deal: &Deal, base: &str) -> Vec<(String, String)> {
        let values = values_of(deal);
        self.keys
            .iter()
            .filter_map(|key| match key.as_str() {
                "amount" | "owner" => None,
                "close_probability" => Some((
                    "Probability".into(),
                    format!("{} %", deal.close_probability),
                )),
                "expected_close_date" => deal
                    .expected_close_date
                    .map(|d| ("Expected close".into(), day(d))),
                other => {
                    let field = self.object.as_ref()?.field(other)?;
                    let text = cell(base, field, values.get(other)?, &self.names).into_plain();
                    (!text.is_empty()).then(|| (field.label.clone(), text))
                }
            })
            .collect()
    }
}

//! An organization's AI provider settings, inherited by the AI features. The API key is stored
//! encrypted with a key derived from the installation's secret and never shown again: only its
//! last four characters.

use rapport_domain::{Action, Object, Ownership, ValidationErrors};
use rapport_store::{audit as store_audit, organizations as store_orgs};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::{entry, with_target};
use crate::{Actor, App, AppError, AppResult, RequestMeta, Tenant};

/// The settings as shown: never the key itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AiSettings {
    /// An OpenAI-compatible API base URL, such as `https://api.openai.com/v1`.
    pub base_url: Option<String>,
    pub default_model: Option<String>,
    /// Tokens the organization may spend per calendar month; `None` means no AI use.
    pub monthly_token_budget: Option<u64>,
    pub max_tokens_per_request: Option<u64>,
    /// The last four characters of the stored API key, when one is stored.
    pub api_key_last4: Option<String>,
}

/// A change of the settings. `api_key`: `None` keeps the stored key, `Some("")` removes it.
#[derive(Clone, Debug, Default)]
pub struct AiSettingsInput {
    pub base_url: String,
    pub default_model: String,
    pub monthly_token_budget: String,
    pub max_tokens_per_request: String,
    pub api_key: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    shown: AiSettings,
    api_key_sealed: Option<String>,
}

fn stored(settings: &serde_json::Value) -> Stored {
    settings
        .get("ai")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

fn number(errors: &mut ValidationErrors, field: &str, raw: &str, max: u64) -> Option<u64> {
    let raw = raw.trim().replace(['_', ',', ' '], "");
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<u64>() {
        Ok(n) if n > 0 && n <= max => Some(n),
        _ => {
            errors.add(field, format!("must be a whole number between 1 and {max}"));
            None
        }
    }
}

impl App {
    pub async fn ai_settings(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        meta: &RequestMeta,
    ) -> AppResult<AiSettings> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::View,
            Object::ApiKey,
            Ownership::NotApplicable,
        )
        .await?;
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let settings = store_orgs::settings(&mut tx).await?;
        tx.commit().await?;
        Ok(stored(&settings).shown)
    }

    /// The decrypted API key, for the AI features (never for display).
    pub async fn ai_api_key(&self, tenant: &Tenant) -> AppResult<Option<String>> {
        let mut tx = self.db.tenant_read(tenant.id()).await?;
        let settings = store_orgs::settings(&mut tx).await?;
        tx.commit().await?;
        Ok(stored(&settings)
            .api_key_sealed
            .and_then(|s| self.keys.open(&s)))
    }

    /// Changes the settings (owner/admin), auditing each change with the key masked.
    pub async fn update_ai_settings(
        &self,
        actor: &Actor,
        tenant: &Tenant,
        input: AiSettingsInput,
        meta: &RequestMeta,
    ) -> AppResult<AiSettings> {
        self.authorize(
            actor,
            tenant,
            meta,
            Action::Edit,
            Object::ApiKey,
            Ownership::NotApplicable,
        )
        .await?;
        let mut errors = ValidationErrors::new();
        let base_url = match input.base_url.trim() {
            "" => None,
            raw => match url::Url::parse(raw) {
                Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => {
                    Some(raw.trim_end_matches('/').to_owned())
                }
                _ => {
                    errors.add(
                        "base_url",
                        "must be an http(s) URL such as https://api.openai.com/v1",
                    );
                    None
                }
            },
        };
        let default_model = match input.default_model.trim() {
            "" => None,
            m if m.len() <= 120 && !m.chars().any(char::is_whitespace) => Some(m.to_owned()),
            _ => {
                errors.add(
                    "default_model",
                    "must be a model name without spaces, such as gpt-4o-mini",
                );
                None
            }
        };
        let budget = number(
            &mut errors,
            "monthly_token_budget",
            &input.monthly_token_budget,
            1_000_000_000_000,
        );
        let max_tokens = number(
            &mut errors,
            "max_tokens_per_request",
            &input.max_tokens_per_request,
            10_000_000,
        );
        if let Some(key) = &input.api_key
            && !key.is_empty()
            && (key.trim().len() < 8 || key.len() > 500)
        {
            errors.add("api_key", "does not look like an API key");
        }
        errors.into_result()?;

        let mut tx = self.db.tenant(tenant.id()).await?;
        let mut settings = store_orgs::settings(&mut tx).await?;
        let before = stored(&settings);
        let (sealed, last4) = match &input.api_key {
            None => (
                before.api_key_sealed.clone(),
                before.shown.api_key_last4.clone(),
            ),
            Some(k) if k.is_empty() => (None, None),
            Some(k) => {
                let k = k.trim();
                let last4: String = k
                    .chars()
                    .rev()
                    .take(4)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                (Some(self.keys.seal(k)), Some(last4))
            }
        };
        let after = Stored {
            shown: AiSettings {
                base_url,
                default_model,
                monthly_token_budget: budget,
                max_tokens_per_request: max_tokens,
                api_key_last4: last4,
            },
            api_key_sealed: sealed,
        };
        if !settings.is_object() {
            settings = json!({});
        }
        settings["ai"] =
            serde_json::to_value(&after).map_err(|e| AppError::Internal(e.to_string()))?;
        store_orgs::set_settings(&mut tx, settings).await?;
        let key_changed = before.api_key_sealed != after.api_key_sealed;
        let diff = crate::audit::changes(&[
            (
                "base_url",
                json!(before.shown.base_url),
                json!(after.shown.base_url),
            ),
            (
                "default_model",
                json!(before.shown.default_model),
                json!(after.shown.default_model),
            ),
            (
                "monthly_token_budget",
                json!(before.shown.monthly_token_budget),
                json!(after.shown.monthly_token_budget),
            ),
            (
                "max_tokens_per_request",
                json!(before.shown.max_tokens_per_request),
                json!(after.shown.max_tokens_per_request),
            ),
            (
                "api_key",
                json!(before.api_key_sealed.is_some()),
                json!(if key_changed {
                    json!("changed")
                } else {
                    json!(after.api_key_sealed.is_some())
                }),
            ),
        ]);
        if let Some(diff) = diff {
            let mut e = with_target(
                entry(Some(actor), meta, "organization.ai_settings_changed"),
                "organization",
                tenant.id(),
            );
            e.changes = Some(diff);
            store_audit::record(&mut tx, e).await?;
        }
        tx.commit().await?;
        Ok(after.shown)
    }
}

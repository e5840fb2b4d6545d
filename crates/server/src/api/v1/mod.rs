//! The JSON API, version 1 (see `docs/API.md` and `/api/v1/openapi.json`).

pub mod admin;
pub mod ai_settings;
pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod companies;
pub mod contacts;
pub mod deals;
pub mod kinds;
pub mod leads;
pub mod members;
pub mod notifications;
pub mod objects;
pub mod organizations;
pub mod roles;
pub mod search;
pub mod single_sign_on;
pub mod support;
pub mod tags;
pub mod tasks;
pub mod teams;
pub mod timelines;
pub mod types;
pub mod views;
pub mod webhooks;

//! Black-box tests of the HTTP API against a real server on port 0, each on its own database:
//! SQLite by default, PostgreSQL when `RAPPORT_TEST_POSTGRES_URL` is set.

mod admin;
mod api_keys;
mod audit;
mod auth;
mod contacts;
mod deals;
mod events;
mod field_rules;
mod hardening;
mod http;
mod jobs;
mod lists;
mod live;
mod members;
mod notifications;
mod object_pages;
mod objects;
mod openapi;
mod organizations;
mod page_matrix;
mod portal;
mod rate_limits;
mod reach;
mod records;
mod roles;
mod round_trips;
mod route_matrix;
mod sessions;
mod single_sign_on;
mod support;
mod support_access;
mod tasks;
mod tenancy;
mod two_factor;
mod webhooks;

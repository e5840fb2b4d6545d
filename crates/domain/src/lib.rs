//! Rapport's domain: the CRM's own vocabulary as types, and the rules that need no I/O.
//!
//! Everything here is pure and cheap to test. Constructors validate (parse, don't validate), so a
//! value of a domain type is always a valid one.

pub mod access;
pub mod account;
pub mod builtin;
pub mod color;
pub mod contact;
pub mod deal;
pub mod file;
pub mod ids;
pub mod lead;
pub mod money;
pub mod notification;
pub mod organization;
pub mod permission;
pub mod role;
pub mod schema;
pub mod template;
pub mod validation;
pub mod values;

pub use ids::*;
pub use permission::{Action, Decision, Object, Ownership, decide};
pub use role::Role;
pub use validation::{FieldError, ValidationErrors};

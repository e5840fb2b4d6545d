//! Everything that differs between SQLite and PostgreSQL, and nothing else.

use rapport_domain::OrganizationId;

use crate::db::Backend;

/// The statement that confines a transaction to one organization (bound: the organization id as
/// text), or `None` where the engine has no row-level security.
///
/// On PostgreSQL this sets `rapport.organization_id` for the transaction and switches to the
/// `rapport_tenant` role, which the policies of every tenant table restrict; both revert at the
/// end of the transaction.
pub fn enter_tenant_scope(backend: Backend) -> Option<&'static str> {
    match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(
            // The secret is read while still the platform role: the tenant role cannot read another
            // organization's.
            "SELECT set_config('rapport.organization_id', \
             (SELECT secret FROM tenant_scopes WHERE organization_id = $1::uuid), true), \
             set_config('role', 'rapport_tenant', true)",
        ),
    }
}

/// On PostgreSQL, the statement that opens a transaction already confined to an organization:
/// `begin` (`BEGIN`, or a read-only `BEGIN …`) and [`enter_tenant_scope`] in one round trip (a simple query of two statements). The
/// organization id is a UUID written by Rapport, never text from a request.
pub fn begin_in_tenant_scope(begin: &str, organization_id: OrganizationId) -> String {
    let id = organization_id.as_uuid();
    format!(
        "{begin}; SELECT set_config('rapport.organization_id', \
         (SELECT secret FROM tenant_scopes WHERE organization_id = '{id}'::uuid), true), \
         set_config('role', 'rapport_tenant', true)"
    )
}

/// The statement that takes a transaction back to the platform role (within the transaction), so
/// it can be scoped to an organization again; `None` where the engine has no roles.
pub fn leave_tenant_scope(backend: Backend) -> Option<&'static str> {
    match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(
            "SELECT set_config('role', 'none', true), \
             set_config('rapport.organization_id', '', true)",
        ),
    }
}

/// A case-insensitive `LIKE`: `ILIKE` on PostgreSQL; SQLite's `LIKE` already ignores ASCII case.
pub fn ilike(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "LIKE",
        Backend::Postgres => "ILIKE",
    }
}

/// Escapes `%`, `_` and `\` so user input matches literally inside a `LIKE` pattern
/// (used with `ESCAPE '\'`).
pub fn escape_like(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The suffix that locks the selected rows until the transaction ends: `FOR UPDATE` on
/// PostgreSQL; nothing on SQLite, whose write transactions already hold the database's write lock.
pub fn lock_rows(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE",
    }
}

/// What follows `FROM record_values x` in a probe of one record's values, so the probe seeks by
/// record: SQLite, without statistics, may otherwise walk a value index for every row
/// (`INDEXED BY`); PostgreSQL's planner chooses from its statistics.
pub fn by_record(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => " INDEXED BY record_values_record",
        Backend::Postgres => "",
    }
}

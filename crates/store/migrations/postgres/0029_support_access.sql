-- Support access: an instance administrator asks to open an organization, for a reason and a
-- number of hours; one of its owners approves or denies; an approved grant lasts until it
-- expires or an owner revokes it. Every request made under it is in the organization's audit
-- log.
CREATE TABLE support_grants (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    requested_by    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reason          text NOT NULL,
    access          text NOT NULL,
    hours           bigint NOT NULL,
    status          text NOT NULL,
    decided_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    decided_at      timestamptz,
    expires_at      timestamptz,
    revoked_at      timestamptz,
    created_at      timestamptz NOT NULL
);
CREATE INDEX support_grants_organization ON support_grants (organization_id, created_at);
CREATE INDEX support_grants_requester ON support_grants (requested_by, organization_id);
ALTER TABLE support_grants ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON support_grants TO rapport_tenant;
CREATE POLICY tenant_isolation ON support_grants
    USING (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)))
    WITH CHECK (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)));

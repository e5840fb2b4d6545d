-- A deactivated member keeps their membership (and everything they own or wrote) but may no
-- longer enter the organization; reactivating them restores their role as it was.
ALTER TABLE memberships ADD COLUMN deactivated_at TEXT;

-- Tasks keep custom field values too, like every other record.
ALTER TABLE tasks ADD COLUMN custom jsonb NOT NULL DEFAULT '{}';

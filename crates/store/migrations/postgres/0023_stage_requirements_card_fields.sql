-- What a deal must have before it enters a stage (field keys, comma-separated: `amount`,
-- `custom.berth`), and which fields a pipeline's board cards show.
ALTER TABLE pipeline_stages ADD COLUMN required_fields TEXT NOT NULL DEFAULT '';
ALTER TABLE pipelines ADD COLUMN card_fields TEXT NOT NULL DEFAULT '';

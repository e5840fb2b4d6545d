-- A board column reads its cards most recently moved first, page by page: one index seek per
-- column, however many deals the pipeline holds.
CREATE INDEX deals_board ON deals (organization_id, pipeline_id, stage, stage_changed_at, id)
    WHERE deleted_at IS NULL;

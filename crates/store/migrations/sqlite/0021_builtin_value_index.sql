-- The built-in kinds' custom values join the value index, as custom records' values always
-- have: from now on the application writes a company's, contact's, lead's, deal's or task's
-- index rows with its custom values (and removes them when it is deleted), so filters, ranges
-- and unique values on their custom fields use record_values' indexes. This writes the rows of
-- the values stored before, in the form the application writes them (`values.rs`,
-- `Value::index_entries`): numbers, amounts and booleans in `num`; lower-cased text (its first
-- 200 characters), dates, date-times in microseconds UTC, option keys and ids in `txt`; one row
-- per element of a multi-select or a relation to many.
INSERT INTO record_values (organization_id, record_id, field_id, num, txt, unique_key)
WITH docs AS (
    SELECT organization_id, id, custom, 'company' AS object_key FROM companies WHERE deleted_at IS NULL
    UNION ALL SELECT organization_id, id, custom, 'contact' FROM contacts WHERE deleted_at IS NULL
    UNION ALL SELECT organization_id, id, custom, 'lead' FROM leads WHERE deleted_at IS NULL
    UNION ALL SELECT organization_id, id, custom, 'deal' FROM deals WHERE deleted_at IS NULL
    UNION ALL SELECT organization_id, id, custom, 'task' FROM tasks
), vals AS (
    SELECT d.organization_id, d.id AS record_id, f.id AS field_id, f.type AS type,
           j.value AS v, j.type AS jtype
    FROM docs d
    JOIN fields f ON f.organization_id = d.organization_id AND f.object_key = d.object_key
    JOIN json_each(d.custom) AS j ON j.key = f.key
    WHERE j.type <> 'null'
)
SELECT organization_id, record_id, field_id,
    CASE
        WHEN type IN ('number', 'percent') AND jtype IN ('integer', 'real') THEN CAST(v AS REAL)
        WHEN type = 'money' AND jtype = 'object' THEN CAST(json_extract(v, '$.amount') AS REAL)
        WHEN type = 'boolean' AND jtype = 'true' THEN 1.0
        WHEN type = 'boolean' AND jtype = 'false' THEN 0.0
    END,
    CASE
        WHEN type IN ('text', 'long_text', 'email', 'phone', 'url') THEN lower(substr(v, 1, 200))
        WHEN type IN ('date', 'select', 'member', 'relation') THEN v
        WHEN type = 'datetime' THEN strftime('%Y-%m-%dT%H:%M:%f', v) || '000Z'
    END,
    NULL
FROM vals
WHERE jtype <> 'array' AND type NOT IN ('multi_select', 'rollup')
UNION ALL
SELECT vals.organization_id, vals.record_id, vals.field_id, NULL, e.value, NULL
FROM vals, json_each(vals.v) AS e
WHERE vals.jtype = 'array' AND vals.type IN ('multi_select', 'relation');

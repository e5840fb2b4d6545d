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
    SELECT d.organization_id, d.id AS record_id, f.id AS field_id, f.type, d.custom -> f.key AS v
    FROM docs d
    JOIN fields f ON f.organization_id = d.organization_id AND f.object_key = d.object_key
    WHERE jsonb_typeof(d.custom -> f.key) IS NOT NULL AND jsonb_typeof(d.custom -> f.key) <> 'null'
)
SELECT organization_id, record_id, field_id,
    CASE
        WHEN type IN ('number', 'percent') AND jsonb_typeof(v) = 'number' THEN (v #>> '{}')::double precision
        WHEN type = 'money' AND jsonb_typeof(v -> 'amount') = 'number' THEN (v ->> 'amount')::double precision
        WHEN type = 'boolean' AND jsonb_typeof(v) = 'boolean' THEN CASE WHEN (v #>> '{}')::boolean THEN 1 ELSE 0 END
    END,
    CASE
        WHEN type IN ('text', 'long_text', 'email', 'phone', 'url') THEN lower(left(v #>> '{}', 200))
        WHEN type IN ('date', 'select', 'member', 'relation') THEN v #>> '{}'
        WHEN type = 'datetime' THEN
            to_char((v #>> '{}')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    END,
    NULL
FROM vals
WHERE jsonb_typeof(v) <> 'array' AND type NOT IN ('multi_select', 'rollup')
UNION ALL
SELECT organization_id, record_id, field_id, NULL, e.value, NULL
FROM vals, jsonb_array_elements_text(v) AS e(value)
WHERE jsonb_typeof(v) = 'array' AND type IN ('multi_select', 'relation');

-- Catalog rows for template keys not stored yet (autocommit, in sorted order: concurrent loads of
-- the same new keys wait for each other briefly instead of holding locks until their batch ends).
INSERT INTO logintel.templates (masker_version, template_key)
SELECT %(masker_version)s, k FROM unnest(%(keys)s::text[]) AS k ORDER BY k
ON CONFLICT (masker_version, template_key) DO NOTHING

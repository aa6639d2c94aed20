-- The quality suite checks the length of messages through this computed column instead of
-- the message text: GX copies failing values into Data Docs unescaped, and a message may
-- carry <script> tags. Only lengths, levels, flags and ids ever reach Data Docs.
CREATE OR REPLACE VIEW logintel.v_quality_batch AS
SELECT l.id, l.ts, l.service, l.level, l.message, l.dedupe_key,
       (l.ts > now() + make_interval(mins => s.future_tolerance_minutes)) AS ts_in_future,
       length(l.message) AS message_length
FROM logintel.logs l
JOIN logintel.quality_scope s ON s.batch_id = l.ingest_batch_id;

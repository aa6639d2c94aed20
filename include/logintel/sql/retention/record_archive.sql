-- An archive written and verified (status archived), or a failed one with the reason; a later run
-- tries a failed partition again.
INSERT INTO logintel.retention_archives (partition_name, range_start, range_end, status, log_rows, finding_rows,
                                         logs_path, logs_sha256, findings_path, manifest_path, min_ts, max_ts, reason)
VALUES (%(name)s, %(range_start)s, %(range_end)s, %(status)s, %(log_rows)s, %(finding_rows)s, %(logs_path)s,
        %(logs_sha256)s, %(findings_path)s, %(manifest_path)s, %(min_ts)s, %(max_ts)s, %(reason)s)
ON CONFLICT (partition_name) DO UPDATE
SET status = EXCLUDED.status, log_rows = EXCLUDED.log_rows, finding_rows = EXCLUDED.finding_rows,
    logs_path = EXCLUDED.logs_path, logs_sha256 = EXCLUDED.logs_sha256, findings_path = EXCLUDED.findings_path,
    manifest_path = EXCLUDED.manifest_path, min_ts = EXCLUDED.min_ts, max_ts = EXCLUDED.max_ts,
    reason = EXCLUDED.reason, archived_at = now()

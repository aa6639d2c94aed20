-- What retention recorded of one partition (none: not archived yet).
SELECT partition_name, status, log_rows, finding_rows, logs_path, logs_sha256, findings_path, manifest_path, reason
FROM logintel.retention_archives WHERE partition_name = %(name)s

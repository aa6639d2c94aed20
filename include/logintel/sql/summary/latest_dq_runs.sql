-- Summary: the latest GX validation of each suite (logs quality, findings, coverage), newest first.
SELECT suite, success, statistics, data_docs_path FROM (
    SELECT DISTINCT ON (suite) suite, success, statistics, data_docs_path, validated_at
    FROM logintel.dq_runs ORDER BY suite, validated_at DESC
) latest ORDER BY validated_at DESC

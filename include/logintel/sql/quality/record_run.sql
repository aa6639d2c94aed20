-- One GX validation in dq_runs; a re-run of the same suite and run key replaces its row.
INSERT INTO logintel.dq_runs (run_key, suite, batch_ref, success, statistics, results, data_docs_path)
VALUES (%(run_key)s, %(suite)s, %(batch_ref)s, %(success)s, %(statistics)s, %(results)s, %(data_docs)s)
ON CONFLICT (suite, run_key) DO UPDATE SET success = EXCLUDED.success,
    statistics = EXCLUDED.statistics, results = EXCLUDED.results,
    data_docs_path = EXCLUDED.data_docs_path, validated_at = now(), batch_ref = EXCLUDED.batch_ref

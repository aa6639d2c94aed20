-- Report: the latest Great Expectations validations.
SELECT id, run_key, suite, batch_ref, success, statistics, data_docs_path, validated_at
FROM logintel.dq_runs
ORDER BY validated_at DESC, id DESC
LIMIT %(limit)s

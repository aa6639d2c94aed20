-- Summary: the two latest GX validations.
SELECT suite, success, statistics, data_docs_path FROM logintel.dq_runs ORDER BY validated_at DESC LIMIT 2

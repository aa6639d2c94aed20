-- The champion's held-out metrics, read under the promotion lock.
SELECT version, metrics FROM logintel.model_versions WHERE status = 'champion'

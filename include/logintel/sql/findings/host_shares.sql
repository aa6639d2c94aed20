-- The stored host shares of a model version's history (store_host_shares.sql).
SELECT service, host, share FROM logintel.host_shares WHERE model_version = %(model_version)s

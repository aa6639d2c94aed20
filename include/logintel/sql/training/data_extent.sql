-- The data a version is named after: the highest log id and the number of logs.
SELECT coalesce(max(id), 0), count(*) FROM logintel.logs

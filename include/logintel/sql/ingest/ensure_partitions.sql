-- The day partitions of logintel.logs from yesterday to three days ahead (UTC), created when
-- missing, in their own short transaction before a batch (the batch's rows take now()).
SELECT logintel.ensure_log_partitions(now() - interval '1 day', now() + interval '3 days')

"""Static catalogue for the synthetic log generator: services, hosts, value pools
and the message templates (each with its fixed "natural" level).

Template text uses ``{slot}`` / ``{slot:arg}`` placeholders that are filled by the
vectorised slot generators in :mod:`logintel.synthetic.slots`.

Roles (``Template.role``):
  None      ordinary template
  "slow"    'slow response' WARN; multiplied during latency-spike episodes
  "down"    'connection refused' / 'upstream unavailable' ERROR about another service
  "retry"   'Retrying request to <svc>' WARN about another service
  "giveup"  'Giving up on request to <svc>' ERROR about another service
  "started" service start-up INFO line (also the recovery line after an outage)
  "rare"    never seen in normal traffic; only inside "rare message" episodes
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARN", "ERROR", "FATAL")

#: Target share of each level among *normal* (non-episode) lines.  Episodes add
#: a little WARN/ERROR on top, so overall ERROR ends up ~4 %.
LEVEL_TARGETS: dict[str, float] = {
    "DEBUG": 0.175,
    "INFO": 0.689,
    "WARN": 0.103,
    "ERROR": 0.031,
    "FATAL": 0.002,
}

SERVICES: tuple[str, ...] = (
    "gateway", "auth", "payments", "orders", "database",
    "cache", "queue", "scheduler", "storage", "search",
)

HOSTS: dict[str, tuple[str, ...]] = {
    "gateway": ("gw-01", "gw-02", "gw-03", "gw-04"),
    "auth": ("auth-01", "auth-02", "auth-03"),
    "payments": ("pay-01", "pay-02", "pay-03"),
    "orders": ("orders-01", "orders-02", "orders-03"),
    "database": ("db-primary-01", "db-replica-01", "db-replica-02"),
    "cache": ("redis-01", "redis-02", "redis-03"),
    "queue": ("mq-01", "mq-02", "mq-03"),
    "scheduler": ("sched-01", "sched-02"),
    "storage": ("store-01", "store-02", "store-03", "store-04"),
    "search": ("search-01", "search-02", "search-03"),
}

PORTS: dict[str, int] = {
    "gateway": 8080, "auth": 8081, "payments": 8443, "orders": 8082, "database": 5432,
    "cache": 6379, "queue": 5672, "scheduler": 8090, "storage": 9000, "search": 9200,
}

_SLOT_RE = re.compile(r"\{([a-z_][a-z0-9_]*)(?::([^}]*))?\}")


@dataclass(frozen=True)
class Template:
    id: str
    level: str
    weight: float  # relative weight *within its level* (0 for rare templates)
    text: str
    role: str | None = None
    service: str = field(init=False)
    fmt: str = field(init=False)  # %-style format string
    slots: tuple[tuple[str, str | None], ...] = field(init=False)
    targets: tuple[str, ...] = field(init=False)  # allowed {svc:...} targets

    def __post_init__(self) -> None:
        svc = self.id.split(".", 1)[0]
        assert svc in SERVICES, self.id
        assert self.level in LEVELS, self.id
        slots: list[tuple[str, str | None]] = []
        parts: list[str] = []
        pos = 0
        targets: tuple[str, ...] = ()
        for m in _SLOT_RE.finditer(self.text):
            parts.append(self.text[pos:m.start()].replace("%", "%%"))
            parts.append("%s")
            name, arg = m.group(1), m.group(2)
            if name == "svc":
                targets = tuple(arg.split(","))
                assert all(t in SERVICES for t in targets), self.id
            slots.append((name, arg))
            pos = m.end()
        parts.append(self.text[pos:].replace("%", "%%"))
        object.__setattr__(self, "service", svc)
        object.__setattr__(self, "fmt", "".join(parts))
        object.__setattr__(self, "slots", tuple(slots))
        object.__setattr__(self, "targets", targets)


T = Template
_GW_UP = "svc:auth,orders,payments,search"

# fmt: off
TEMPLATES: tuple[Template, ...] = (
    # ------------------------------------------------------------------ gateway
    T("gateway.request_ok", "INFO", 330, "{req} {status:2xx} in {ms:35}ms from {cip}"),
    T("gateway.request_client_error", "WARN", 70, "{req} {status:4xx} in {ms:12}ms from {cip}"),
    T("gateway.request_server_error", "ERROR", 40, "{req} {status:5xx} in {ms:900}ms from {cip}"),
    T("gateway.route", "DEBUG", 150, "Routing {req} to {" + _GW_UP + "} ({taddr})"),
    T("gateway.tls_handshake", "DEBUG", 60, "TLS handshake with {cip} completed (TLSv1.3, TLS_AES_128_GCM_SHA256) in {ms:3}ms"),
    T("gateway.rate_limited", "WARN", 25, "Rate limit exceeded for client {cip}: {int:101:400} requests in 60s (limit 100)"),
    T("gateway.body_too_large", "WARN", 5, "Request body too large from {cip}: {int:10485761:99999999} bytes exceeds limit 10485760 on POST /api/v1/uploads"),
    T("gateway.slow_upstream", "WARN", 30, "Slow response from upstream {" + _GW_UP + "}: {ms:2500}ms for {req}", "slow"),
    T("gateway.upstream_unavailable", "ERROR", 4, "Upstream {" + _GW_UP + "} unavailable: no healthy hosts, returning 503 for {req}", "down"),
    T("gateway.config_reload", "INFO", 3, "Reloaded routing configuration from /etc/gateway/routes.yaml ({int:40:64} routes)"),
    T("gateway.started", "INFO", 0.6, "Started gateway {ver} listening on 0.0.0.0:8080 (pid {pid})", "started"),
    # --------------------------------------------------------------------- auth
    T("auth.login_ok", "INFO", 90, 'Login succeeded for user "{user}" from {cip}'),
    T("auth.login_failed", "WARN", 50, 'Failed login for user "{user}" from {cip} (attempt {int:1:4})'),
    T("auth.account_locked", "WARN", 5, 'Account "{user}" locked after 5 failed login attempts from {cip}'),
    T("auth.token_issued", "DEBUG", 70, 'Issued access token {hex:16} for user "{user}" (expires in 3600s)'),
    T("auth.token_validated", "DEBUG", 110, 'Validated JWT for user "{user}" (kid={hex:8}) in {ms:2}ms'),
    T("auth.session_expired", "INFO", 25, 'Session {uuid} for user "{user}" expired after {int:30:720} minutes of inactivity'),
    T("auth.password_reset", "INFO", 6, "Password reset email sent to {email}"),
    T("auth.mfa_ok", "INFO", 18, 'MFA challenge passed for user "{user}" via {mfa}'),
    T("auth.ldap_timeout", "ERROR", 10, "LDAP bind to ldap://{ip}:389 timed out after {ms:5000}ms"),
    T("auth.conn_refused", "ERROR", 3, "Connection to {svc:database,cache} at {taddr} refused (ECONNREFUSED)", "down"),
    T("auth.signing_key_fatal", "FATAL", 1, "Unable to load signing key from /etc/auth/keys/jwt-signing.pem: permission denied; shutting down"),
    T("auth.started", "INFO", 0.6, "Started auth service {ver} on port 8081 (pid {pid})", "started"),
    # ----------------------------------------------------------------- payments
    T("payments.charge_ok", "INFO", 60, "Charge ch_{hex:14} succeeded: {amount} {currency} for order {oid}"),
    T("payments.charge_declined", "INFO", 12, "Charge ch_{hex:14} declined by issuer: {decline} (order {oid})"),
    T("payments.refund_ok", "INFO", 8, "Refund re_{hex:14} of {amount} {currency} issued for order {oid}"),
    T("payments.webhook_received", "DEBUG", 35, "Received webhook evt_{hex:16} of type {evt} from {url}"),
    T("payments.idempotency", "DEBUG", 30, "Idempotency key {uuid} not seen before, processing charge"),
    T("payments.webhook_bad_signature", "WARN", 8, "Rejected webhook from {cip}: invalid Stripe-Signature header"),
    T("payments.slow_provider", "WARN", 14, "Payment provider responded slowly: {ms:3000}ms for POST /v1/charges", "slow"),
    T("payments.retry", "WARN", 12, "Retrying request to {svc:database,queue} (attempt {int:2:4}/5)", "retry"),
    T("payments.giveup", "ERROR", 6, "Giving up on request to {svc:database,queue} after 5 attempts", "giveup"),
    T("payments.provider_timeout", "ERROR", 12, "Payment provider request to {url} timed out after {ms:10000}ms (charge ch_{hex:14})"),
    T("payments.reconcile_mismatch", "ERROR", 4, "Settlement batch {int:1000:9999} failed reconciliation: ledger total {amount} != provider total {amount}"),
    T("payments.ledger_fatal", "FATAL", 1, "Lost connection to ledger database and failed to reconnect after 10 attempts; exiting"),
    T("payments.started", "INFO", 0.6, "Started payments service {ver} on port 8443 (pid {pid})", "started"),
    # ------------------------------------------------------------------- orders
    T("orders.created", "INFO", 80, 'Order {oid} created for user "{user}" with {int:1:12} items, total {amount} {currency}'),
    T("orders.status_changed", "INFO", 70, "Order {oid} status changed from {otrans}"),
    T("orders.backordered", "INFO", 6, "SKU-{int:10000:99999} out of stock, order {oid} backordered"),
    T("orders.reserved", "DEBUG", 50, "Reserved {int:1:5} units of SKU-{int:10000:99999} for order {oid}"),
    T("orders.event_published", "DEBUG", 45, "Published event order.created for order {oid} to queue {queue}"),
    T("orders.validation_failed", "WARN", 30, 'Validation failed for order request: invalid value "{qval}" for field "{field}"'),
    T("orders.retry", "WARN", 20, "Retrying request to {svc:payments,database,storage} (attempt {int:2:4}/5)", "retry"),
    T("orders.giveup", "ERROR", 8, "Giving up on request to {svc:payments,database,storage} after 5 attempts", "giveup"),
    T("orders.conn_refused", "ERROR", 3, "Connection to {svc:payments,auth,queue,database,cache,storage} at {taddr} refused (ECONNREFUSED)", "down"),
    T("orders.unhandled_exception", "ERROR", 10, "Unhandled exception in {req}: {exc}"),
    T("orders.started", "INFO", 0.6, "Started orders service {ver} on port 8082 (pid {pid})", "started"),
    # ----------------------------------------------------------------- database
    T("database.query", "DEBUG", 120, "Executed SELECT on {table} in {ms:4}ms ({int:0:500} rows)"),
    T("database.conn_accepted", "DEBUG", 40, "Connection accepted from {ip}:{int:30000:60999} for user app_rw on database shop"),
    T("database.checkpoint", "INFO", 8, "Checkpoint complete: wrote {int:100:20000} buffers in {ms:900}ms"),
    T("database.autovacuum", "INFO", 10, 'Automatic vacuum of table "shop.public.{table}": {int:0:5000} pages removed, {int:1000:90000} remain'),
    T("database.slow_query", "WARN", 15, "Slow query ({ms:1800}ms): SELECT * FROM {table} WHERE id = {int:1:999999}", "slow"),
    T("database.replication_lag", "WARN", 12, "Replication lag on {replica} is {ms:4000}ms"),
    T("database.query_timeout", "ERROR", 12, "Query timeout after 30000ms on table {table}"),
    T("database.deadlock", "ERROR", 6, "Deadlock detected on table {table}: process {pid} waits for ShareLock on transaction {int:1000000:9999999}; blocked by process {pid}"),
    T("database.too_many_clients", "ERROR", 5, "Connection from {ip} rejected: too many clients already (max_connections=200)"),
    T("database.oom_killed", "FATAL", 1, "Out of memory: killed process {pid} (postgres)"),
    T("database.wal_no_space", "FATAL", 1, 'Could not write to file "pg_wal/{hexu:24}": No space left on device'),
    T("database.started", "INFO", 0.6, "Database system is ready to accept connections (PostgreSQL 16.{int:1:4}, pid {pid})", "started"),
    # -------------------------------------------------------------------- cache
    T("cache.hit", "DEBUG", 200, "Cache hit for key {ckey}"),
    T("cache.miss", "DEBUG", 70, "Cache miss for key {ckey}, loading from database"),
    T("cache.set", "DEBUG", 40, "Set key {ckey} with TTL {int:60:86400}s ({int:40:65536} bytes)"),
    T("cache.evicted", "INFO", 12, "Evicted {int:100:50000} keys under maxmemory policy allkeys-lru (used memory {int:70:89}%)"),
    T("cache.memory_high", "WARN", 10, "Memory usage at {int:90:98}% of maxmemory (8gb)"),
    T("cache.slow_command", "WARN", 14, "Slow command GET {ckey} took {ms:250}ms", "slow"),
    T("cache.replica_lost", "ERROR", 6, "Lost connection to replica {ip}:6379: connection reset by peer"),
    T("cache.oom_killed", "FATAL", 1, "Out of memory: killed process {pid} (redis-server)"),
    T("cache.started", "INFO", 0.6, "Ready to accept connections on port 6379 (redis 7.2.{int:1:5}, pid {pid})", "started"),
    # -------------------------------------------------------------------- queue
    T("queue.published", "DEBUG", 70, "Published message {uuid} to {queue} ({int:120:65536} bytes)"),
    T("queue.acked", "INFO", 80, "Consumer {cgroup} acknowledged message {uuid} from {queue} in {ms:20}ms"),
    T("queue.rebalanced", "INFO", 5, "Consumer group {cgroup} rebalanced: {int:2:12} members, {int:6:48} partitions"),
    T("queue.consumer_lag", "WARN", 12, "Consumer lag on {queue} is {int:5001:80000} messages (threshold 5000)"),
    T("queue.redelivery", "WARN", 10, "Redelivering message {uuid} on {queue} after ack timeout of 30000ms"),
    T("queue.dead_letter", "ERROR", 8, "Message {uuid} moved to dead-letter queue {queue}.dlq after 5 delivery attempts"),
    T("queue.partition_fatal", "FATAL", 1, "Failed to recover partition log {queue}-{int:0:11}: corrupted index file; broker shutting down"),
    T("queue.started", "INFO", 0.6, "Broker {ver} started on port 5672 (pid {pid})", "started"),
    # ---------------------------------------------------------------- scheduler
    T("scheduler.tick", "DEBUG", 25, "Scheduler tick: {int:0:14} jobs due, {int:0:4} running"),
    T("scheduler.job_started", "INFO", 12, "Job {job} started (run {hex:12})"),
    T("scheduler.job_succeeded", "INFO", 11, "Job {job} finished successfully in {ms:45000}ms"),
    T("scheduler.job_skipped", "WARN", 5, "Job {job} skipped: previous run still in progress after {int:2:90} minutes"),
    T("scheduler.job_failed", "ERROR", 5, "Job {job} failed with exit code {exit}: see /var/log/scheduler/{job2}.log"),
    T("scheduler.conn_refused", "ERROR", 3, "Connection to {svc:database,queue,storage} at {taddr} refused (ECONNREFUSED)", "down"),
    T("scheduler.heartbeat_fatal", "FATAL", 1, "Scheduler heartbeat lost for {int:31:180}s, leadership lock taken by another instance; exiting"),
    T("scheduler.started", "INFO", 0.6, "Scheduler {ver} started with {int:20:40} registered jobs (pid {pid})", "started"),
    # ------------------------------------------------------------------ storage
    T("storage.read", "DEBUG", 60, "Read {int:512:8388608} bytes from {file} in {ms:4}ms"),
    T("storage.put_ok", "INFO", 35, "Stored object {bucket}/{objkey} ({size}) in {ms:60}ms"),
    T("storage.not_found", "INFO", 10, "Object {bucket}/{objkey} not found (404)"),
    T("storage.disk_usage", "WARN", 8, "Disk usage on /data at {int:85:94}% ({size} free)"),
    T("storage.slow_read", "WARN", 12, "Slow read of {file}: {ms:900}ms", "slow"),
    T("storage.checksum_repaired", "WARN", 4, "Checksum mismatch for {file}, repaired from replica {store}"),
    T("storage.write_failed", "ERROR", 6, "Write failed for {file}: No space left on device"),
    T("storage.readonly_fatal", "FATAL", 1, "Data directory /data is not writable (read-only file system); aborting"),
    T("storage.started", "INFO", 0.6, "Storage node {ver} started, serving {int:2:12} volumes (pid {pid})", "started"),
    # ------------------------------------------------------------------- search
    T("search.query", "INFO", 60, 'Search query "{term}" on index {index} returned {int:0:500} hits in {ms:25}ms'),
    T("search.indexed", "INFO", 20, "Indexed {int:1:1000} documents into {index} in {ms:300}ms"),
    T("search.shard_relocating", "INFO", 4, "Shard {int:0:11} of {index} relocating from {search} to {search}"),
    T("search.heap", "DEBUG", 25, "Heap usage {int:30:70}% ({size} of 8gb)"),
    T("search.slow_query", "WARN", 14, 'Slow search query "{term}" on index {index} took {ms:2000}ms', "slow"),
    T("search.gc_overhead", "WARN", 6, "GC overhead: spent {ms:1500}ms collecting in the last {int:2:5}s"),
    T("search.bulk_rejected", "ERROR", 6, "Bulk indexing into {index} rejected: queue capacity 200 exceeded ({int:1:500} documents dropped)"),
    T("search.conn_refused", "ERROR", 2, "Connection to {svc:storage,cache} at {taddr} refused (ECONNREFUSED)", "down"),
    T("search.started", "INFO", 0.6, "Search node {ver} started, cluster health yellow (pid {pid})", "started"),
    # ------------------------------------------- rare, anomaly-only templates
    T("storage.kernel_panic", "FATAL", 0, "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(8,{int:1:16})", "rare"),
    T("storage.disk_io_error", "ERROR", 0, "Disk /dev/sdb1 I/O error, dev sdb, sector {int:100000:999999999}", "rare"),
    T("gateway.cert_expired", "ERROR", 0, "TLS certificate for {domain} expired on {date}; rejecting handshakes", "rare"),
    T("database.page_corruption", "ERROR", 0, "Invalid page in block {int:0:200000} of relation base/16384/{int:16000:99999}; data corruption suspected", "rare"),
    T("search.shard_corrupted", "ERROR", 0, "Shard {int:0:11} of index {index} failed: CorruptIndexException: checksum failed (hardware problem?)", "rare"),
    T("queue.split_brain", "FATAL", 0, "Split-brain detected: brokers mq-01 and mq-0{int:2:3} both claim leadership of {queue}", "rare"),
    T("scheduler.clock_jump", "ERROR", 0, "System clock jumped backwards by {ms:4000}ms; refusing to schedule jobs until clock is stable", "rare"),
    T("auth.keystore_missing", "ERROR", 0, "Signing key kid={hex:8} not found in keystore; rejecting all tokens", "rare"),
)
# fmt: on

TEMPLATE_BY_ID: dict[str, Template] = {t.id: t for t in TEMPLATES}
assert len(TEMPLATE_BY_ID) == len(TEMPLATES), "duplicate template id"

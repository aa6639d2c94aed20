"""Realistic synthetic engineering logs for the Logintel demo, tests and benchmarks.

``generate(n_logs, days=7, seed=42, start=None)`` streams ``n_logs`` records (dicts) in
timestamp order from ten services (gateway, auth, payments, orders, database, cache,
queue, scheduler, storage, search) using ~100 message templates, each with a fixed
natural level.  Normal traffic follows a daily cycle and a Zipf-like template mix
(≈ DEBUG 17 %, INFO 67 %, WARN 10 %, ERROR 4 %, FATAL 0.2 %).  About two anomaly
episodes per simulated day are injected and flagged ``is_anomaly=True``:

* ``error_burst``   one service emits its ERROR/FATAL templates (+ related WARNs) at
                    20-50x its normal error rate for 5-20 minutes;
* ``service_down``  a service is silent for 10-60 minutes while its callers log
                    connection-refused / upstream-unavailable / retry lines about it,
                    then it logs its start-up line on recovery;
* ``rare_message``  a never-otherwise-seen template (kernel panic, expired certificate,
                    disk I/O error, ...) appears a few times within 2-15 minutes;
* ``latency_spike`` a service's 'slow ...' WARN templates at ~10x rate (and much larger
                    durations) for 20-90 minutes.

Ordinary ERROR/WARN lines outside episodes are *not* anomalies.  Records also carry
ground-truth-only keys ``_template`` and ``_episode`` that writers never output.

``write_logs(records, path, fmt)`` writes jsonl / csv / log4j / python / syslog, gzip
when the path ends in ``.gz``; see :mod:`logintel.simulate.writers`.
"""
from .catalog import LEVELS, SERVICES, TEMPLATES, TEMPLATE_BY_ID, Template
from .generator import EPISODE_KINDS, generate
from .writers import FORMATS, SYSLOG_SEVERITY, iso_ms, write_logs

__all__ = [
    "generate", "write_logs", "LEVELS", "SERVICES", "TEMPLATES", "TEMPLATE_BY_ID", "Template",
    "EPISODE_KINDS", "FORMATS", "SYSLOG_SEVERITY", "iso_ms",
]

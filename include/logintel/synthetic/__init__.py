"""Realistic synthetic engineering logs for the Logintel demo, tests and benchmarks.

``generate(n_logs, days=7, seed=42, start=None)`` streams ``n_logs`` records (dicts) in
timestamp order from ten services (gateway, auth, payments, orders, database, cache,
queue, scheduler, storage, search) using ~100 message templates, each with a fixed
natural level.  Normal traffic follows a daily cycle (peak ~14:00 UTC, quieter nights and
weekends) and a Zipf-like template mix (≈ DEBUG 17 %, INFO 68 %, WARN 10.5 %, ERROR 4 %,
FATAL 0.2 %).  About 2-3 anomaly episodes per simulated day (14-20 per week, together
≈0.7-2 % of the lines, ~1.2 % on average) are injected and flagged ``is_anomaly=True``:

* ``error_burst``   5-20 minutes in which one service (mostly one host) emits its ERROR
                    (70 % one primary template) / FATAL templates plus related WARNs, at
                    12-30x the platform-wide normal error rate (~40x its own for the busy gateway, hundreds of times for small services);
* ``service_down``  a service is silent for 10-60 minutes while its callers log
                    connection-refused / upstream-unavailable / retrying / giving-up lines
                    about it, then it logs its start-up line on recovery (also flagged);
* ``rare_message``  a never-otherwise-seen template (kernel panic, expired certificate,
                    disk I/O error, page corruption, ...) 3-60 times within 2-15 minutes;
* ``latency_spike`` 20-90 minutes of a service's 'slow ...' WARN templates at 10-20x their
                    normal rate with 3-6x larger durations (+ gateway 'slow upstream').

Ordinary ERROR/WARN lines outside episodes are *not* anomalies.  Records also carry
ground-truth-only keys ``_template`` and ``_episode`` that writers never output.

``write_logs(records, path, fmt)`` writes jsonl / csv / log4j / python / syslog, gzip
when the path ends in ``.gz``; see :mod:`logintel.synthetic.writers`.
"""
from .catalog import LEVELS, SERVICES, TEMPLATES, TEMPLATE_BY_ID, Template
from .generator import EPISODE_KINDS, generate
from .writers import FORMATS, SYSLOG_SEVERITY, iso_ms, write_logs

__all__ = [
    "generate", "write_logs", "LEVELS", "SERVICES", "TEMPLATES", "TEMPLATE_BY_ID", "Template",
    "EPISODE_KINDS", "FORMATS", "SYSLOG_SEVERITY", "iso_ms",
]

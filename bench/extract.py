"""Extraction from a PostgreSQL table against its floor, in one run, on the same rows.

    python bench/extract.py [--rows 1000000] [--chunk-rows 50000]

Builds a source database with a `log_entries` table of --rows rows (the replaced system's shape),
then measures on the same server:

* floor: a plain COPY of the same rows (the mapped columns, a dedupe key and the other columns as
  JSON) out of the source and into a table shaped like `logintel.logs` with its indexes, plus a COPY
  of their dedupe keys into a table shaped like `logintel.log_keys` (since the logs are partitioned
  the dedupe key's unique index lives there: the same index work the unpartitioned table did);
* extract: `logintel.extract.extract` (chunks, watermark, staging, merge, accounting) into a fresh
  Logintel database, in a child process whose peak RSS is reported.

The target (issue 14) is extract ≥ 0.6 × the floor's rows/s. Prints a table and writes
bench/results/extract.json. The server is LOGINTEL_DATABASE_URL's (run under `make`'s environment).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg

from logintel import db
from logintel.evaluate import drop_database
from logintel.settings import get_settings

TARGET_RATIO = 0.6
LOG_ENTRIES = """
CREATE TABLE public.log_entries (
    id bigserial PRIMARY KEY, "timestamp" timestamptz, level text, message text, service text, host text,
    is_anomaly boolean, anomaly_type text, request_id text, http_status integer, endpoint text,
    response_time_ms integer, structured_data jsonb)"""
FILL = """
INSERT INTO public.log_entries ("timestamp", level, message, service, host, is_anomaly, request_id, http_status,
                                endpoint, response_time_ms, structured_data)
SELECT TIMESTAMPTZ '2026-01-05 00:00:00+00' + i * INTERVAL '50 milliseconds',
       (ARRAY['INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'])[1 + i %% 6],
       'GET /api/v1/users/' || i || '/profile ' || (200 + i %% 3) || ' in ' || (i %% 97) || 'ms from 10.0.' || (i %% 255) || '.' || (i %% 7),
       (ARRAY['gateway', 'auth', 'orders', 'payments'])[1 + i %% 4], 'host-' || (i %% 9), i %% 500 = 0,
       md5(i::text), 200 + i %% 3, '/api/v1/users', i %% 97, jsonb_build_object('shard', i %% 16)
FROM generate_series(1, %(rows)s) AS i
"""
FLOOR_SELECT = """
COPY (SELECT "timestamp", service, 'bench', least(id, 2147483647)::int, level, message, is_anomaly,
             (to_jsonb(t) - ARRAY['id', 'timestamp', 'level', 'message', 'service', 'is_anomaly'])::text,
             md5('bench' || id)::uuid
      FROM public.log_entries t ORDER BY id) TO STDOUT
"""
FLOOR_KEYS = "COPY (SELECT md5('bench' || id)::uuid FROM public.log_entries ORDER BY id) TO STDOUT"
FLOOR_COLUMNS = "ts, service, source, source_line, level, message, is_anomaly, attrs, dedupe_key"
CHILD = """
import json, resource, sys, time
from logintel.extract import TableSource, extract, mapping, totals
t0 = time.perf_counter()
done = totals(extract(sys.argv[1], TableSource(url=sys.argv[2], table="log_entries", columns=mapping("log_entries")),
                      chunk_rows=int(sys.argv[3])))
done["seconds"] = time.perf_counter() - t0
done["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({k: v for k, v in done.items() if k != "batches"}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    args = parser.parse_args()
    base = get_settings().database_url
    if not base:
        sys.exit("set LOGINTEL_DATABASE_URL (or run under `source scripts/env.sh`, as make does)")
    server = db.with_database(base, "postgres")
    tag = uuid.uuid4().hex[:8]
    src, dst = (db.with_database(server, f"logintel_bench_{kind}_{tag}") for kind in ("src", "dst"))
    try:
        for url in (src, dst):
            db.ensure_database(url)
        db.upgrade(dst)
        t0 = time.perf_counter()
        with psycopg.connect(src) as conn:
            conn.execute(LOG_ENTRIES)
            conn.execute(FILL, {"rows": args.rows})
            conn.execute("ANALYZE public.log_entries")
        built = time.perf_counter() - t0

        with psycopg.connect(dst) as conn:  # the floor's target: logintel.logs' shape and indexes
            conn.execute("CREATE TABLE public.floor_logs (LIKE logintel.logs INCLUDING DEFAULTS INCLUDING INDEXES)")
            conn.execute("ALTER TABLE public.floor_logs ALTER COLUMN ingest_batch_id DROP NOT NULL")
            conn.execute("CREATE TABLE public.floor_keys (LIKE logintel.log_keys INCLUDING DEFAULTS INCLUDING INDEXES)")
        t0 = time.perf_counter()
        with psycopg.connect(src) as s, psycopg.connect(dst) as d:
            with s.cursor().copy(FLOOR_SELECT) as out, d.cursor().copy(
                    f"COPY public.floor_logs ({FLOOR_COLUMNS}) FROM STDIN") as into:
                for block in out:
                    into.write(block)
            with s.cursor().copy(FLOOR_KEYS) as out, d.cursor().copy("COPY public.floor_keys (dedupe_key) FROM STDIN") as into:
                for block in out:
                    into.write(block)
        floor = time.perf_counter() - t0

        proc = subprocess.run([sys.executable, "-c", CHILD, dst, src, str(args.chunk_rows)],
                              capture_output=True, text=True, check=True)
        got = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        for url in (src, dst):
            drop_database(url)
    floor_rate = args.rows / floor
    extract_rate = got["loaded"] / got["seconds"]
    ratio = extract_rate / floor_rate
    report = {"rows": args.rows, "chunk_rows": args.chunk_rows, "source_built_s": round(built, 1),
              "floor_s": round(floor, 2), "floor_rows_per_s": round(floor_rate), "extract_s": round(got["seconds"], 2),
              "extract_rows_per_s": round(extract_rate), "ratio_to_floor": round(ratio, 3),
              "target_ratio": TARGET_RATIO, "met": ratio >= TARGET_RATIO, "extract_peak_rss_mb": round(got["peak_rss_mb"]),
              "accounted": got, "loadavg": os.getloadavg()[0]}
    print(f"rows {args.rows:,}  (source built in {built:.1f} s; load average {report['loadavg']:.2f})")
    print(f"{'step':<44}{'seconds':>9}{'rows/s':>12}")
    print(f"{'floor: COPY source -> logs- and log_keys-shaped':<44}{floor:>9.2f}{floor_rate:>12,.0f}")
    print(f"{'logintel extract (chunks, watermark, merge)':<44}{got['seconds']:>9.2f}{extract_rate:>12,.0f}")
    print(f"ratio to the floor {ratio:.2f} (target >= {TARGET_RATIO}: {'met' if report['met'] else 'NOT met'}); "
          f"extract peak RSS {report['extract_peak_rss_mb']} MB; read {got['read']:,} = loaded {got['loaded']:,} "
          f"+ duplicates {got['duplicates']:,} + quarantined {got['quarantined']:,}")
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "extract.json").write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Cost of retention and of the drift and coverage checks, at --logs rows (e.g. 1M and 5M).

Builds a throwaway database with --logs logs spread over --span-days days of ingestion time (by
SQL: the bench measures retention and the checks, not ingest), a registered model whose history
is the first half, and a scoring run whose predictions are the second half. Then, in one run:

* drift: `drift.check` (snapshot + GX suite `scoring_drift`) of that run;
* coverage: `coverage.check` (snapshot + GX suite `scoring_coverage`);
* retention floor: COPY out of the rows retention archives, as the same JSON text, drained;
* retention: `retention.run` (archive logs + findings, verify, drop) of the partitions older than
  --retention-days, with rows/s and the ratio to the floor.

    python bench/retention.py --logs 1000000 [--json bench/results/retention_1m.json]
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))

from logintel import coverage, db, drift, retention  # noqa: E402
from logintel.evaluate import scratch_dirs, throwaway_database  # noqa: E402

BUILD = [
    """INSERT INTO logintel.ingest_batches (sources, status, finished_at, read_count, loaded_count)
VALUES ('{bench}', 'done', now(), %(n)s, %(n)s)""",
    """SELECT logintel.ensure_log_partitions(now() - make_interval(days => %(span)s), now())""",
    """INSERT INTO logintel.logs (ts, service, source, source_line, level, message, is_anomaly, attrs, ingest_batch_id,
                           ingested_at, dedupe_key)
SELECT t.at - interval '1 second', 'svc-' || (g %% 7), 'bench.jsonl', g,
       (ARRAY['INFO','INFO','INFO','INFO','DEBUG','WARN','ERROR'])[1 + g %% 7],
       'request ' || (g %% 997) || ' to /api/v' || (g %% 5) || ' took ' || (g %% 800) || 'ms', g %% 50 = 0, '{}'::jsonb,
       1, t.at, md5(g::text)::uuid
FROM generate_series(1, %(n)s) AS g,
     LATERAL (SELECT now() - make_interval(days => %(span)s) + (g::float8 / %(n)s) * make_interval(days => %(span)s)
              AS at) t""",
    """INSERT INTO logintel.log_keys SELECT dedupe_key FROM logintel.logs""",
    """INSERT INTO logintel.model_versions (version, algorithm, training_rows, max_log_id, artifact_path, artifact_sha256,
                                     status)
VALUES ('bench', 'bench', %(n)s / 2, %(n)s / 2, '/dev/null', '0', 'champion')""",
    """INSERT INTO logintel.scoring_runs (run_key, model_version, status, finished_at) VALUES ('bench', 'bench', 'done', now())""",
    """INSERT INTO logintel.ml_predictions (log_id, model_version, template_key, predicted_level, confidence, anomaly_score,
                                     predicted_anomaly, scoring_run_id)
SELECT l.id, 'bench', 'request <n> to /api/v' || (l.id %% 5) || ' took <n>ms', l.level, 0.99, 0.01, false,
       CASE WHEN l.id > %(n)s / 2 THEN 1 END
FROM logintel.logs l""",
    """INSERT INTO logintel.dq_findings (log_id, run_key, kind, recorded_value, suggested_value, confidence, reason,
                                  model_version)
SELECT id, 'bench', 'level_understated', level, 'ERROR', 0.95, 'bench', 'bench'
FROM logintel.logs WHERE id %% 1000 = 0""",
]


def _timed(fn, *a, **k):
    t0 = time.perf_counter()
    value = fn(*a, **k)
    return value, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--logs", type=int, default=1_000_000)
    ap.add_argument("--span-days", type=int, default=60)
    ap.add_argument("--retention-days", type=int, default=30)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    out: dict = {"logs": args.logs, "span_days": args.span_days, "retention_days": args.retention_days}
    with scratch_dirs() as tmp, throwaway_database() as url:
        with db.connect(url) as conn:
            t0 = time.perf_counter()
            for statement in BUILD:
                conn.execute(statement, {"n": args.logs, "span": args.span_days})
            out["build_s"] = time.perf_counter() - t0
            conn.commit()
        with db.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        _, out["drift_s"] = _timed(drift.check, url, 1, "bench")
        _, out["coverage_s"] = _timed(coverage.check, url, 1, "bench")
        due = retention.due(url, args.retention_days)
        with db.connect(url) as conn:
            rows = sum(conn.execute(f"SELECT count(*) FROM logintel.{p.name}").fetchone()[0] for p in due)
        t0 = time.perf_counter()
        with db.connect(url) as conn:  # the floor: the same JSON lines out of the server, drained
            for p in due:
                with conn.cursor(name="floor") as cur:
                    cur.execute(retention._q("export_logs", p.name))
                    for _ in cur:
                        pass
        out["floor_s"] = time.perf_counter() - t0
        result, out["retention_s"] = _timed(retention.run, url, days=args.retention_days,
                                            archive_dir=Path(tempfile.mkdtemp(dir=tmp)))
        out.update(partitions=len(due), archived_rows=rows, dropped=result["dropped"], failed=result["failed"],
                   archive_bytes=sum(f.stat().st_size for f in tmp.rglob("*.gz")),
                   peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
    out["retention_rows_per_s"] = round(out["archived_rows"] / out["retention_s"])
    out["floor_rows_per_s"] = round(out["archived_rows"] / out["floor_s"])
    out["ratio_to_floor"] = round(out["floor_s"] / out["retention_s"], 3)
    for k in ("build_s", "drift_s", "coverage_s", "floor_s", "retention_s"):
        out[k] = round(out[k], 2)
    print(f"{args.logs:,} logs over {args.span_days} days; {out['partitions']} partitions "
          f"({out['archived_rows']:,} rows) older than {args.retention_days} days")
    print(f"{'drift check (snapshot + GX suite)':<48}{out['drift_s']:>8.2f} s")
    print(f"{'coverage check (snapshot + GX suite)':<48}{out['coverage_s']:>8.2f} s")
    print(f"{'floor: COPY out of the archived rows (JSON)':<48}{out['floor_s']:>8.2f} s {out['floor_rows_per_s']:>10,} rows/s")
    print(f"{'retention: archive + verify + drop':<48}{out['retention_s']:>8.2f} s "
          f"{out['retention_rows_per_s']:>10,} rows/s ({out['ratio_to_floor']:.2f} x the floor's rate)")
    print(f"archive {out['archive_bytes'] / 1e6:.1f} MB gzip; dropped {out['dropped']}, failed {out['failed']}; "
          f"peak RSS {out['peak_rss_mb']} MB")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0 if out["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

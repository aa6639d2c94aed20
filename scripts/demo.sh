#!/usr/bin/env bash
# The demo: 100k synthetic logs, 3% injected issues, the real DAGs in order, a summary.
set -euo pipefail
cd "$LOGINTEL_HOME"
LOGS="${DEMO_LOGS:-100000}"
mkdir -p landing
DEMO_FILE="landing/demo_${LOGS}.jsonl"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
dagtest() {  # run a DAG in one process; show its log only if it fails
  local dag="$1"; shift
  local log=".run/dag_${dag}.log"; mkdir -p .run
  local t0=$SECONDS
  if ! airflow dags test "$dag" "$@" > "$log" 2>&1 || grep -q "state=failed\|DagRunState.FAILED" "$log"; then
    tail -80 "$log"; echo "DAG $dag failed (full log: $log)"; exit 1
  fi
  echo "   $dag: ok in $((SECONDS - t0)) s (log: $log)"
}
T0=$SECONDS
step "1. generate $LOGS logs over 7 days -> $DEMO_FILE"
[ -f "$DEMO_FILE" ] || logintel generate --logs "$LOGS" --days 7 --seed 42 --out "$DEMO_FILE"
step "2. log_ingest (landing folder -> logintel.logs)"
dagtest log_ingest
step "3. log_simulate_issues (3% of WARN-or-worse lines get a wrong level; 3% of anomaly flags cleared)"
dagtest log_simulate_issues -c '{"rate": 0.03, "scheme": "reference", "seed": 1}'
step "4. log_quality (GX suite on the new batch)"
dagtest log_quality
step "5. log_training (level + anomaly models, champion if not worse)"
dagtest log_training
step "6. log_scoring (partitions -> predictions -> GX findings suite -> report)"
dagtest log_scoring
step "summary (demo took $((SECONDS - T0)) s)"
logintel summary

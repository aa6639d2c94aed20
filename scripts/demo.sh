#!/usr/bin/env bash
# The demo, as the product runs: 5 days of history (70 % of the logs) are ingested, checked and
# trained on; then 2 more days of logs arrive, get 3% injected issues, and are scored by that same
# model without retraining. The summary's headline is the detection on those new logs.
set -euo pipefail
cd "$LOGINTEL_HOME"
LOGS="${DEMO_LOGS:-100000}"
HISTORY_LOGS=$(( LOGS * 7 / 10 ))
NEW_LOGS=$(( LOGS - HISTORY_LOGS ))
# Anchored on today (UTC midnight): the history covers the 7th to 2nd day before, the new logs the last 2 days.
TODAY="$(date -u +%Y-%m-%dT00:00:00+00:00)"
HISTORY_START="$(date -u -d "$TODAY - 7 days" +%Y-%m-%dT00:00:00+00:00)"
NEW_START="$(date -u -d "$TODAY - 2 days" +%Y-%m-%dT00:00:00+00:00)"
mkdir -p landing
HISTORY_FILE="landing/demo_history_${HISTORY_LOGS}.jsonl"
NEW_FILE="landing/demo_new_${NEW_LOGS}.jsonl"
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
step "1. history: generate $HISTORY_LOGS logs over 5 days -> $HISTORY_FILE"
[ -f "$HISTORY_FILE" ] || logintel generate --logs "$HISTORY_LOGS" --days 5 --seed 42 --start "$HISTORY_START" --out "$HISTORY_FILE"
step "2. log_ingest (landing folder -> logintel.logs)"
dagtest log_ingest
step "3. log_quality (GX suite on the new batch)"
dagtest log_quality
step "4. log_training (level + anomaly models on the history: the first champion)"
dagtest log_training
step "5. log_scoring (the history: partitions -> predictions -> GX findings suite -> report)"
dagtest log_scoring
step "6. new logs arrive: generate $NEW_LOGS logs over the next 2 days -> $NEW_FILE"
[ -f "$NEW_FILE" ] || logintel generate --logs "$NEW_LOGS" --days 2 --seed 43 --start "$NEW_START" --out "$NEW_FILE"
step "7. log_ingest (only the new file is loaded)"
dagtest log_ingest
step "8. log_simulate_issues on the new batch (3% of WARN-or-worse lines get a wrong level; 3% of anomaly flags cleared)"
dagtest log_simulate_issues -c '{"rate": 0.03, "scheme": "reference", "seed": 1, "batch": "latest"}'
step "9. log_quality (GX suite on the new batch)"
dagtest log_quality
step "10. log_scoring (the new logs, by the same champion: no retraining)"
dagtest log_scoring
step "summary (demo took $((SECONDS - T0)) s)"
logintel summary

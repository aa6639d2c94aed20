#!/usr/bin/env bash
# The suite again and again, as CI runs it: one clone of COMMIT, then `.ci/run` N times, each from a
# clean state (embedded PostgreSQL, Airflow home, GX, models, reports removed between runs; the venv
# is kept). One line per run in LOGS/summary.txt: exit code, wall time, load, pytest's summary.
#   scripts/suite_loop.sh COMMIT [N=10] [LOGS=/tmp/logintel-loop-logs] [DIR=/tmp/logintel-loop]
# `touch LOGS/STOP` ends it after the current run. Clone beside the repo (not in /tmp) to keep the
# loghub samples of ../shared in reach, or their tests skip.
set -u
COMMIT=${1:?usage: scripts/suite_loop.sh COMMIT [N] [LOGS] [DIR]}
N=${2:-10}
LOGS=${3:-/tmp/logintel-loop-logs}
DIR=${4:-/tmp/logintel-loop}
REPO="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$LOGS"
rm -rf "$DIR"
git clone -q "$REPO" "$DIR" && cd "$DIR" && git checkout -q "$COMMIT" || exit 1
echo "$(date -u +%FT%TZ) loop on $COMMIT" >> "$LOGS/summary.txt"
for i in $(seq 1 "$N"); do
  [ -e "$LOGS/STOP" ] && break
  make stop >/dev/null 2>&1 || true
  rm -rf .pgdata .airflow .run gx/uncommitted gx_projects models reports landing archive
  t0=$(date +%s); load0=$(cut -d' ' -f1 /proc/loadavg)
  ./.ci/run > "$LOGS/run-$i.log" 2>&1; rc=$?
  res=$(grep -E "passed|failed" "$LOGS/run-$i.log" | tail -1)
  echo "$(date -u +%FT%TZ) run $i rc=$rc $(( $(date +%s) - t0 )) s load_start=$load0" \
       "load_end=$(cut -d' ' -f1 /proc/loadavg) :: $res" >> "$LOGS/summary.txt"
done

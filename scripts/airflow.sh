#!/usr/bin/env bash
# Airflow standalone (API server, scheduler, dag-processor, triggerer) on the Logintel database.
set -euo pipefail
PORT="${AIRFLOW_PORT:-8080}"
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__API__HOST="${AIRFLOW__API__HOST:-127.0.0.1}"  # local only; set 0.0.0.0 to expose it
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:${PORT}/execution/"
echo "Airflow UI: http://localhost:${PORT}  (login: admin; password in $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated)"
echo "Logintel findings view: http://localhost:${PORT}/logintel/"
exec airflow standalone

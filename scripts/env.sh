# Source me: the environment every Makefile target runs in.
# Starts the embedded PostgreSQL unless LOGINTEL_DATABASE_URL is set, creates the Logintel
# and Airflow metadata databases, applies migrations, and exports their URLs.
# Returns non-zero (without exiting your shell) when the database cannot be prepared.
LOGINTEL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$LOGINTEL_ROOT/.venv/bin:$PATH"
export LOGINTEL_HOME="$LOGINTEL_ROOT"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$LOGINTEL_ROOT/.airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$LOGINTEL_ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$LOGINTEL_ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR="${AIRFLOW__CORE__EXECUTOR:-LocalExecutor}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="${AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION:-True}"
export AIRFLOW__LOGGING__LOGGING_LEVEL="${AIRFLOW__LOGGING__LOGGING_LEVEL:-WARNING}"
export GX_ANALYTICS_ENABLED=False
mkdir -p "$AIRFLOW_HOME"
if ! _logintel_exports="$(logintel db up --shell)"; then
  echo "Logintel: the database could not be prepared (see the error above)" >&2
  return 1 2>/dev/null || exit 1
fi
eval "$_logintel_exports"
unset _logintel_exports

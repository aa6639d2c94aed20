# Logintel: two commands, `make demo` and `make test`. Everything else is optional.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
ENV := source scripts/env.sh &&
PYTEST_ARGS ?=

.PHONY: help setup db demo test test-fast airflow bench bench-detection stop clean

help:
	@echo "make demo    set up and run the whole pipeline through the real DAGs (100k logs)"
	@echo "make test    set up and run the whole test suite"
	@echo "make airflow start Airflow (standalone: API server + scheduler) on the same database"
	@echo "make bench   speed and memory benchmarks (bench/pipeline.py); make bench-detection"
	@echo "make stop    stop the embedded PostgreSQL"

$(VENV)/.installed: requirements.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed (python3.11 not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r requirements.txt 2>&1 | grep -v "is ignored: it is neither" ; exit $${PIPESTATUS[0]}
	$(VENV)/bin/pip install --quiet --no-deps -e . 2>&1 | grep -v "is ignored: it is neither" ; exit $${PIPESTATUS[0]}
	touch $@

setup: $(VENV)/.installed

# Database server (embedded unless LOGINTEL_DATABASE_URL), migrations, Airflow metadata DB.
db: setup
	@$(ENV) airflow db migrate > $(AIRFLOW_HOME_LOG) 2>&1 || { cat $(AIRFLOW_HOME_LOG); exit 1; }
	@echo "databases ready"
AIRFLOW_HOME_LOG := /tmp/logintel-airflow-migrate.log

demo: db
	@$(ENV) bash scripts/demo.sh

test: db
	@$(ENV) pytest -q $(PYTEST_ARGS)

test-fast: db
	@$(ENV) pytest -q -m "not slow" $(PYTEST_ARGS)

airflow: db
	@$(ENV) bash scripts/airflow.sh

bench: db
	@$(ENV) python bench/pipeline.py --logs $${LOGS:-1000000}

bench-detection: db
	@$(ENV) python bench/detection.py

stop:
	@source scripts/env.sh >/dev/null 2>&1 && logintel db stop || true

clean: stop
	rm -rf $(VENV) .pgdata .airflow .run gx/uncommitted gx_projects models reports landing archive

# Flex: two commands. `make run` serves the demo on SQLite; `make test` is the whole gate on PostgreSQL.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
UV := $(VENV)/bin/uv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9
HOST ?= 127.0.0.1:8000

.PHONY: run test install lint check-migrations messages docs bench bench-scale bench-billing worker beat clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet "uv==$(UV_VERSION)"

# Installs exactly the versions in uv.lock (--frozen: a lock out of date is an error, not an upgrade).
install: $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --inexact --quiet

# The demo: sandbox partners, /sandbox/ pages and demo data (sandbox mode), even with a DATABASE_URL set.
run: export FLEX_SANDBOX := 1
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Admin http://$(HOST)/admin/  Portal http://$(HOST)/portal/  API docs http://$(HOST)/api/docs/"
	@echo "admin@flex.example's second factor: $(PY) manage.py demo_code"
	$(PY) manage.py run_demo $(HOST)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

check-migrations: install
	$(PY) manage.py makemigrations --check --dry-run

# The services script exports DATABASE_URL/REDIS_URL for a reachable PostgreSQL and Redis, starting
# throwaway ones from installed binaries (or installing them) when none answer.
test: install lint
	source .ci/services.sh && \
	  $(PY) manage.py makemigrations --check --dry-run && \
	  $(PY) manage.py check && \
	  $(VENV)/bin/pytest $(PYTEST_ARGS)

messages: install
	$(PY) manage.py makemessages -l nl --ignore=.venv --ignore=.local --no-obsolete
	$(PY) manage.py compilemessages -l nl --ignore=.venv

worker: install
	$(VENV)/bin/celery -A flex worker --loglevel=info

beat: install
	$(VENV)/bin/celery -A flex beat --loglevel=info

clean:
	rm -rf .local .pytest_cache .ruff_cache

# Pages in docs/ generated from the code; tests fail when they are out of date.
docs: install
	$(PY) manage.py state_diagrams > docs/state-machines.md
	$(PY) manage.py personal_data_register > docs/personal-data-register.md

# Benchmarks write their figures into docs/performance.md. Needs PostgreSQL (BENCH_DATABASE_URL).
bench: install
	$(PY) bench/foundation.py
	$(PY) bench/signup.py
	$(PY) bench/history.py
	$(PY) bench/direct_debit.py

# Operations at a million rows (issue 13): loads 300,000 subscriptions and 3,000,000 invoices (minutes),
# times every admin, portal and API page, then drives the API at 100 requests a second on that data.
bench-billing: install
	$(PY) bench/billing_run.py --subscriptions 1000000

bench-scale: install
	$(PY) bench/scale.py --database-url postgres://postgres@127.0.0.1:5432/flex_scale
	$(PY) bench/api_load.py --database-url postgres://postgres@127.0.0.1:5432/flex_scale --rate 100 --seconds 60

# The two commands a newcomer needs: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/hookhub
REDIS ?= redis://127.0.0.1:6379/0
PYTEST_ARGS ?=
# bash for `wait -n` in `make run`.
SHELL := /bin/bash

.PHONY: run test test-sqlite test-postgres install lint format bench browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,dev]"
	touch $@

install: $(VENV)/.installed

# The demo's endpoint points at the built-in inbox on 127.0.0.1, which the outbound address
# guard refuses unless allowed; override DEMO_ALLOWED_CIDRS= to keep the guard strict.
DEMO_ALLOWED_CIDRS ?= 127.0.0.1/32

run: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 HOOKHUB_ALLOWED_CIDRS=$(DEMO_ALLOWED_CIDRS) $(BIN)/python manage.py load_demo --publish-sample
	@echo "HookHub on http://127.0.0.1:8000 with a delivery worker. Ctrl-C stops both."
	@# Both run until Ctrl-C; if either one exits, the other is stopped too.
	@export DEBUG=1 HOOKHUB_ALLOWED_CIDRS=$(DEMO_ALLOWED_CIDRS); \
	$(BIN)/python manage.py run_worker & pids=$$!; \
	$(BIN)/python manage.py runserver --noreload 127.0.0.1:8000 & pids="$$pids $$!"; \
	trap 'kill $$pids 2>/dev/null; wait; exit 0' INT TERM; \
	wait -n; kill $$pids 2>/dev/null; wait

# Chromium for the browser tests comes from Debian's packages (never `playwright install`).
browser:
	@command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || \
	  { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq chromium) ; } || \
	  echo "*** chromium missing and not installable: browser tests will be SKIPPED ***"

test: install browser
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite: install
	@echo "=== pass 1/2: SQLite + django-q2 ORM broker ==="
	$(BIN)/python manage.py check --settings=tests.settings
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=tests.settings
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: install
	@if $(BIN)/python -m tests.services; then \
	  echo "=== pass 2/2: PostgreSQL + Redis ==="; \
	  DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS) $(BIN)/python -m pytest $(PYTEST_ARGS) || exit 1; \
	else \
	  echo ""; \
	  echo "***********************************************************************"; \
	  echo "*** SKIPPED pass 2/2: PostgreSQL + Redis on 127.0.0.1 not reachable ***"; \
	  echo "***********************************************************************"; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python -m pip install --quiet -e ".[test,dev,bench]"
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) db.sqlite3* staticfiles .pytest_cache

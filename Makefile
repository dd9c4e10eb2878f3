# The two commands a newcomer needs: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/hookhub
REDIS ?= redis://127.0.0.1:6379/0
PYTEST_ARGS ?=
# bash for `wait -n` in `make run`.
SHELL := /bin/bash

.PHONY: run test test-sqlite test-postgres install lint format bench browser screenshots clean

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
# `make run PORT=8001` when 8000 is taken: the server, the banner and the demo's URLs follow.
PORT ?= 8000

run: install
	@# A busy port fails here, before the sample event could go to whatever holds it.
	@$(BIN)/python -m demo.portcheck 127.0.0.1 $(PORT)
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 HOOKHUB_ALLOWED_CIDRS=$(DEMO_ALLOWED_CIDRS) $(BIN)/python manage.py load_demo --publish-sample --base-url=http://127.0.0.1:$(PORT)
	@echo "HookHub on http://127.0.0.1:$(PORT) with a delivery worker. Ctrl-C stops both."
	@# Both run until Ctrl-C; if either one exits, the other is stopped too and its exit
	@# status is make's (a server that could not start is a failure, not a clean exit).
	@export DEBUG=1 HOOKHUB_ALLOWED_CIDRS=$(DEMO_ALLOWED_CIDRS); \
	$(BIN)/python manage.py run_worker & pids=$$!; \
	$(BIN)/python manage.py runserver --noreload 127.0.0.1:$(PORT) & pids="$$pids $$!"; \
	trap 'kill $$pids 2>/dev/null; wait; exit 0' INT TERM; \
	wait -n; status=$$?; kill $$pids 2>/dev/null; wait; exit $$status

# Chromium for the browser tests comes from Debian's packages (never `playwright install`).
browser:
	@command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || \
	  { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq chromium) ; } || \
	  echo "*** chromium missing and not installable: browser tests will be SKIPPED ***"

# Node tools pinned by package-lock.json: axe-core and the OpenAPI checkers for the tests, and
# openapi-typescript, which /webhooks/ also runs for TypeScript types when it is installed
# (nothing from node_modules/ is served as a file). Without npm those tests are SKIPPED, loudly.
node_modules/.installed: package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --no-audit --no-fund && touch $@; \
	else \
	  echo "*** npm missing: the browser accessibility (axe-core) tests will be SKIPPED ***"; \
	fi

test: install browser node_modules/.installed
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite: install node_modules/.installed
	@echo "=== pass 1/2: SQLite + django-q2 ORM broker ==="
	$(BIN)/python manage.py check --settings=tests.settings
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=tests.settings
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: install node_modules/.installed
	@if $(BIN)/python -m tests.services; then \
	  echo "=== pass 2/2: PostgreSQL + Redis ==="; \
	  DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS) $(BIN)/python -m pytest $(PYTEST_ARGS) || exit 1; \
	else \
	  echo ""; \
	  echo "***********************************************************************"; \
	  echo "*** SKIPPED pass 2/2: PostgreSQL + Redis on 127.0.0.1 not reachable ***"; \
	  echo "***********************************************************************"; \
	fi

# soak: tests/crash/test_soak.py for SOAK_SECONDS (30 min) instead of `make test`'s 3 min: 50
# events/s to healthy, slow and failing receivers on a PostgreSQL cluster and a Redis server of
# its own (PostgreSQL's server tools needed); prints the worker's memory and the row counts.
SOAK_SECONDS ?= 1800
.PHONY: soak
soak: install
	DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS) HOOKHUB_SOAK_SECONDS=$(SOAK_SECONDS) LOG_LEVEL=WARNING \
	  $(BIN)/python -m pytest tests/crash/test_soak.py -p no:cacheprovider $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Refresh docs/screenshots/ (linked from the README): `make test` never writes them.
screenshots: install browser
	HOOKHUB_SCREENSHOTS=1 $(BIN)/python -m pytest tests/browser $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m pip install --quiet -e ".[test,dev,bench]"
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) db.sqlite3* staticfiles .pytest_cache node_modules

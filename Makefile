# Every target creates .venv and installs (from requirements.lock) when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Migrate, seed the demo shop if the database is empty, serve on http://127.0.0.1:8080
run: $(STAMP)
	mkdir -p var
	$(BIN)/qunshop migrate
	$(BIN)/qunshop demo
	$(BIN)/qunshop serve

test: $(STAMP)
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Against PostgreSQL and Redis (QUNSHOP_BENCH_DATABASE_URL, QUNSHOP_BENCH_REDIS_URL); needs wrk.
bench: $(STAMP)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var/*.sqlite3*

# The two commands: `make demo` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: demo test test-api-sqlite test-api-postgresql test-sqlite test-postgresql install install-test migrate seed bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

migrate: install
	$(BIN)/flask db upgrade heads

seed: migrate
	$(BIN)/flask seed-demo

## Demo: migrate, seed the demo community, serve API + mini-program mock on :5000
demo: seed
	@echo "Mini-program: http://127.0.0.1:5000/miniapp/   Desk console: http://127.0.0.1:5000/desk/"
	$(BIN)/flask run --host 127.0.0.1 --port 5000

## The whole suite: the browser tests first, on their own (SQLite, local files); then
## the rest twice at once, on SQLite with local files and on PostgreSQL with files in
## S3 (a moto_server bucket), so both databases and both storage backends are covered.
## Each pass prints its report when it ends; either failing fails the target.
test: install-test
	$(BIN)/python -m pytest -q -m e2e
	$(MAKE) --no-print-directory -j2 --output-sync=target test-api-sqlite test-api-postgresql

test-api-sqlite:
	@echo "== SQLite, local files"
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not e2e"

test-api-postgresql:
	@echo "== PostgreSQL, files in S3"
	TEST_DB=postgresql STORAGE_BACKEND=s3 $(BIN)/python -m pytest -q -p no:cacheprovider -m "not e2e"

test-sqlite: install-test
	$(BIN)/python -m pytest -q

test-postgresql: install-test
	TEST_DB=postgresql STORAGE_BACKEND=s3 $(BIN)/python -m pytest -q -m "not e2e"

## Refresh the README's screenshots (the browser tests save every main screen)
screenshots: install-test
	E2E_SCREENSHOT_DIR=docs/screenshots $(BIN)/python -m pytest -q tests/e2e

bench: install-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) instance

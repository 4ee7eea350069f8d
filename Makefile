# The two commands of the quick start: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
export TEST_DATABASE_URL

.PHONY: run test setup setup-test browser lint format migrate seed clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-test.txt
	touch $@

setup: $(VENV)/.installed-run

setup-test: $(VENV)/.installed-test

## make run: install, migrate, seed the demo city and serve on http://127.0.0.1:5000
run: setup migrate seed
	$(BIN)/flask --app portal run --host $(HOST) --port $(PORT)

migrate: setup
	$(BIN)/flask --app portal db upgrade

seed: setup
	$(BIN)/flask --app portal demo seed

## make test: install, make sure Debian's chromium is there, run the suite on SQLite and PostgreSQL
test: setup-test browser
	bash scripts/test.sh

browser:
	bash scripts/ensure-chromium.sh

lint: setup-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts

# Plein — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= plein.toml
STAMP := $(VENV)/.installed

.PHONY: run test lint bench install clean-venv messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: install, write a default config + data folder for http://localhost:8000 if none, migrate, serve
run: $(STAMP)
	@test -f $(CONFIG) || $(BIN)/plein --config $(CONFIG) init --base-url http://localhost:8000 --data-dir data
	$(BIN)/plein --config $(CONFIG) migrate
	$(BIN)/plein --config $(CONFIG) serve

## make test: install with the dev extra and run the whole suite (SQLite and the local PostgreSQL)
test: $(STAMP)
	$(BIN)/pytest -ra --durations=40

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## make bench: every benchmark under bench/, each ending with a RATIO line
bench: $(STAMP)
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

## make messages: collect the web pages' texts into web/locale/messages.pot and merge them into each
## language's .po (translate the new entries there; the .po files are compiled when the app starts)
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --omit-header --width 110 -o web/locale/messages.pot .
	$(BIN)/pybabel update -i web/locale/messages.pot -d web/locale --ignore-obsolete --no-fuzzy-matching --width 110

clean-venv:
	rm -rf $(VENV)

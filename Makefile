# The two commands: `make run` and `make test`. Both work from a fresh clone with only Python 3.11+.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "idkarr needs Python 3.11 or newer (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstalled whenever pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/idkarr db upgrade
	$(BIN)/idkarr doctor
	$(BIN)/idkarr run

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.startup
	$(BIN)/python -m bench.discovery
	$(BIN)/python -m bench.requests
	$(BIN)/python -m bench.conversation
	$(BIN)/python -m bench.telegram
	$(BIN)/python -m bench.discord
	$(BIN)/python -m bench.sync
	$(BIN)/python -m bench.api
	$(BIN)/python -m bench.imports
	$(BIN)/python -m bench.instructions

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis

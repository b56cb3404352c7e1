# The two commands of the README: `make demo` and `make test`.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
HOME_DIR ?= var
PERSONS ?= 20000

.PHONY: setup demo test lint bench clean

$(BIN)/zhijing: pyproject.toml requirements.lock
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	@touch $@

setup: $(BIN)/zhijing

demo: setup
	ZHIJING_HOME=$(HOME_DIR) $(BIN)/zhijing demo --persons $(PERSONS)

test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(HOME_DIR) .pytest_cache

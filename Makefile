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

# ECharts for the console's charts, graphs and maps, from the npm registry (served offline).
ECHARTS := zhijing/console/static/vendor/echarts.min.js
$(ECHARTS):
	@mkdir -p $(dir $@)
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack -q echarts@6.1.0 >/dev/null 2>&1 && tar xzf echarts-6.1.0.tgz) \
	  && cp $$tmp/package/dist/echarts.min.js $@ && rm -rf $$tmp \
	  || echo "echarts could not be fetched (no npm?): the console shows tables instead of charts"

setup: $(BIN)/zhijing $(ECHARTS)

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

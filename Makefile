# The two commands of the README: `make demo` and `make test`.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
HOME_DIR ?= var
PERSONS ?= 20000

.PHONY: setup demo test lint bench clean

# followthemoney's normality needs PyICU, built from source against ICU (Debian: libicu-dev, pkg-config).
$(BIN)/zhijing: pyproject.toml requirements.lock
	@pkg-config --exists icu-i18n 2>/dev/null || (apt-get update -qq && apt-get install -y -qq libicu-dev pkg-config g++ >/dev/null) \
	  || echo "libicu-dev could not be installed: pip cannot build PyICU (followthemoney)"
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

# Swagger UI for the API documentation at /docs (served offline, behind login).
SWAGGER := zhijing/console/static/vendor/swagger-ui/swagger-ui-bundle.js
$(SWAGGER):
	@mkdir -p $(dir $@)
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack -q swagger-ui-dist@5.35.0 >/dev/null 2>&1 && tar xzf swagger-ui-dist-5.35.0.tgz) \
	  && cp $$tmp/package/swagger-ui-bundle.js $$tmp/package/swagger-ui.css $(dir $@) && rm -rf $$tmp \
	  || echo "swagger-ui-dist could not be fetched (no npm?): /docs shows a notice instead of the API documentation"

# Leaflet (map of the city's own GeoJSON, no tiles) and Cytoscape.js (relationship graph), from the npm registry (served offline).
LEAFLET := zhijing/console/static/vendor/leaflet/leaflet.js
$(LEAFLET):
	@mkdir -p $(dir $@)
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack -q leaflet@1.9.4 >/dev/null 2>&1 && tar xzf leaflet-1.9.4.tgz) \
	  && cp $$tmp/package/dist/leaflet.js $$tmp/package/dist/leaflet.css $(dir $@) && rm -rf $$tmp \
	  || echo "leaflet could not be fetched (no npm?): the console shows tables instead of maps"

# Leaflet-Geoman (free): drawing and editing the collision's windows on the map (circle, rectangle, polygon).
GEOMAN := zhijing/console/static/vendor/leaflet-geoman/leaflet-geoman.min.js
$(GEOMAN):
	@mkdir -p $(dir $@)
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack -q @geoman-io/leaflet-geoman-free@2.20.2 >/dev/null 2>&1 && tar xzf geoman-io-leaflet-geoman-free-2.20.2.tgz) \
	  && cp $$tmp/package/dist/leaflet-geoman.min.js $$tmp/package/dist/leaflet-geoman.css $(dir $@) && rm -rf $$tmp \
	  || echo "leaflet-geoman could not be fetched (no npm?): collision windows come from scenes, addresses and typed values only"

CYTOSCAPE := zhijing/console/static/vendor/cytoscape.min.js
$(CYTOSCAPE):
	@mkdir -p $(dir $@)
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack -q cytoscape@3.35.0 >/dev/null 2>&1 && tar xzf cytoscape-3.35.0.tgz) \
	  && cp $$tmp/package/dist/cytoscape.min.js $@ && rm -rf $$tmp \
	  || echo "cytoscape could not be fetched (no npm?): the console lists graph edges as a table"

# TweetNaCl (Ed25519) and jsQR for the citizens' offline certificate check (zhijing/public), inlined into the
# self-contained verify page: a certificate verifies with no server.
TWEETNACL := zhijing/public/static/vendor/nacl-fast.min.js
$(TWEETNACL):
	@mkdir -p $(dir $@)
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack -q tweetnacl@1.0.3 >/dev/null 2>&1 && tar xzf tweetnacl-1.0.3.tgz) \
	  && cp $$tmp/package/nacl-fast.min.js $@ && rm -rf $$tmp \
	  || echo "tweetnacl could not be fetched (no npm?): the offline verify page cannot check signatures (zhijing certificate verify can)"

JSQR := zhijing/public/static/vendor/jsQR.js
$(JSQR):
	@mkdir -p $(dir $@)
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack -q jsqr@1.4.0 >/dev/null 2>&1 && tar xzf jsqr-1.4.0.tgz) \
	  && cp $$tmp/package/dist/jsQR.js $@ && rm -rf $$tmp \
	  || echo "jsqr could not be fetched (no npm?): the offline verify page takes the payload pasted, not a photo"

# PostGIS and pgRouting for the production router (zhijing/command/pgrouting.py), from Debian's
# packages, where PostgreSQL 15 is installed; without them the pgRouting tests skip.
PGROUTING := /usr/share/postgresql/15/extension/pgrouting.control
$(PGROUTING):
	@test ! -d /usr/share/postgresql/15 || (apt-get update -qq && apt-get install -y -qq postgresql-15-postgis-3 postgresql-15-pgrouting >/dev/null 2>&1) \
	  || echo "postgresql-15-pgrouting could not be installed: the pgRouting tests will skip"

# A Chinese font (Debian's fonts-wqy-microhei) for what is printed: seized property's QR labels, citizens' certificates.
CJKFONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
$(CJKFONT):
	@(apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1) \
	  || echo "fonts-wqy-microhei could not be installed: labels print their ASCII fields only"

setup: $(BIN)/zhijing $(ECHARTS) $(SWAGGER) $(LEAFLET) $(GEOMAN) $(CYTOSCAPE) $(TWEETNACL) $(JSQR) $(PGROUTING) $(CJKFONT)

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

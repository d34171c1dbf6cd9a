# The README's two commands: `make run` serves the product, `make test` runs every test.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATABASE_URL ?= sqlite:///instance/complaints.sqlite3

ASSETS := web/static/vendor/.installed

.PHONY: run test test-sqlite test-postgres lint bench install clean system-packages assets

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) $(ASSETS)

# Front-end libraries come from npm (package-lock.json) and are served by the app itself.
$(ASSETS): package.json package-lock.json Makefile $(wildcard web/static/src/*.js)
	@command -v npm >/dev/null || { echo "needs Node.js and npm"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf web/static/vendor && mkdir -p web/static/vendor/bpmn-js
	cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js web/static/vendor/bpmn-js/
	cp node_modules/bpmn-js/dist/bpmn-modeler.production.min.js web/static/vendor/bpmn-js/
	cp -r node_modules/bpmn-js/dist/assets/* web/static/vendor/bpmn-js/
	mkdir -p web/static/vendor/chart.js && cp node_modules/chart.js/dist/chart.umd.min.js web/static/vendor/chart.js/
	# bpmnlint and the project's rules (web/static/src) bundled for the browser: lint while drawing.
	node_modules/.bin/esbuild web/static/src/complaints-lint.js --bundle --minify --format=iife \
		--log-level=warning --outfile=web/static/vendor/complaints-lint/complaints-lint.js
	touch $(ASSETS)

assets: $(ASSETS)

# Demo complaints seeded once into an empty database (about 15 per second on this machine).
DEMO_COMPLAINTS ?= 120

run: $(STAMP) $(ASSETS)
	mkdir -p instance
	DATABASE_URL=$(DATABASE_URL) $(BIN)/complaints setup --bundle bpmn --demo-users --demo-complaints $(DEMO_COMPLAINTS)
	DATABASE_URL=$(DATABASE_URL) $(BIN)/complaints serve --host 127.0.0.1 --port 5000

# Every test on SQLite, then every test again on PostgreSQL (a throwaway cluster).
test: system-packages $(STAMP) $(ASSETS) lint test-sqlite test-postgres

system-packages:
	tools/system-packages

lint: $(STAMP)
	$(BIN)/ruff check .

test-sqlite: $(STAMP)
	$(BIN)/python -m pytest -q

test-postgres: $(STAMP)
	tools/with-postgres $(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/timers.py
	$(BIN)/python bench/inbox.py
	$(BIN)/python bench/reports.py

clean:
	rm -rf $(VENV) instance .pytest_cache node_modules web/static/vendor

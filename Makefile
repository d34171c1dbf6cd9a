# The README's two commands: `make run` serves the product, `make test` runs every test.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATABASE_URL ?= sqlite:///instance/complaints.sqlite3

.PHONY: run test test-sqlite test-postgres lint bench install clean system-packages

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	mkdir -p instance
	DATABASE_URL=$(DATABASE_URL) $(BIN)/complaints setup --bundle bpmn --demo-users
	DATABASE_URL=$(DATABASE_URL) $(BIN)/complaints serve --host 127.0.0.1 --port 5000

# Every test on SQLite, then every test again on PostgreSQL (a throwaway cluster).
test: system-packages $(STAMP) lint test-sqlite test-postgres

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

clean:
	rm -rf $(VENV) instance .pytest_cache

# EventMate — `make run` serves the app; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Test-only tools from npm (axe-core, the Nu HTML checker), pinned in package-lock.json.
NODE_STAMP := node_modules/.installed
EVENTMATE_HOST ?= 127.0.0.1
EVENTMATE_PORT ?= 5000
export FLASK_APP := app

.PHONY: run test fuzz bench lint migrate demo clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

$(NODE_STAMP): package-lock.json
	bash scripts/system-deps.sh
	if command -v npm >/dev/null 2>&1; then \
		npm ci --ignore-scripts --no-audit --no-fund && touch $(NODE_STAMP); \
	else echo "npm is missing: the accessibility and HTML checks will be skipped"; fi

migrate: $(STAMP)
	$(BIN)/flask db upgrade

run: migrate
	EVENTMATE_BIN=$(BIN) EVENTMATE_HOST=$(EVENTMATE_HOST) EVENTMATE_PORT=$(EVENTMATE_PORT) bash scripts/run.sh

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/bandit -q -r eventmate app.py -ll
	bash scripts/system-deps.sh
	bash scripts/with-postgres.sh $(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

# The long fuzz (tests/test_fuzz.py, at least 10,000 examples per database); `make test` runs a short one.
fuzz: $(STAMP)
	bash scripts/system-deps.sh
	HYPOTHESIS_PROFILE=fuzz bash scripts/with-postgres.sh $(BIN)/python -m pytest tests/test_fuzz.py \
		--hypothesis-show-statistics $(PYTEST_ARGS)

bench: $(STAMP)
	bash scripts/with-postgres.sh $(BIN)/python bench/run.py $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

demo: migrate
	$(BIN)/flask demo

clean:
	rm -rf $(VENV) node_modules .pytest_cache tests/screenshots

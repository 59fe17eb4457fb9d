# `make test` sets up everything and runs the whole suite on SQLite, PostgreSQL and MariaDB.
# `make shop` sets up and runs the example shop on SQLite with demo data.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BACKENDS ?= sqlite,postgresql,mariadb
# pytest-xdist workers: each has its own databases, so tests never share state.
WORKERS ?= 3

.PHONY: test shop lint services docs bench clean messages

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test,docs,shop]"
	touch $@

services:
	bash scripts/services.sh

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(BIN)/.installed services lint docs
	LOYALTY_TEST_BACKENDS=$(BACKENDS) $(BIN)/pytest -q -n $(WORKERS)

# The documentation; warnings are errors, so a broken reference fails the build.
docs: $(BIN)/.installed
	$(BIN)/sphinx-build -W -q -b html docs docs/_build/html

# The message catalogue (docs/guides/i18n.rst): extract every marked text, merge it into each
# locale's .po (translate what is new or fuzzy there), then compile the .mo files we ship.
CATALOGUE := flask_loyalty_rewards/translations
messages: $(BIN)/.installed
	mkdir -p build
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k N_ --add-comments=Translators: \
		--no-location --sort-output --omit-header -o build/flask_loyalty_rewards.pot .
	$(BIN)/pybabel update -D flask_loyalty_rewards -i build/flask_loyalty_rewards.pot \
		-d $(CATALOGUE) --width 100 --ignore-obsolete
	$(BIN)/pybabel compile -D flask_loyalty_rewards -d $(CATALOGUE) --statistics

shop: $(BIN)/.installed
	$(BIN)/flask --app example_shop.app seed
	$(BIN)/flask --app example_shop.app run --port 5000

# Benchmarks print figures (they are not tests); they need PostgreSQL on 127.0.0.1:5432.
bench: $(BIN)/.installed services
	$(BIN)/pip install -q -e ".[bench]"
	$(BIN)/python bench/redeem.py
	$(BIN)/python bench/api_load.py
	$(BIN)/python bench/webhooks.py

clean:
	rm -rf $(VENV) example_shop/instance

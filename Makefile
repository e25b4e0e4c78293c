# The two commands of the README: `make up` runs the whole system, `make test` the whole suite.
# Both create .venv and install the project (and its test extras) on first use.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: up test lint bench clean

up: $(VENV)/.installed
	$(BIN)/passerelle dev

test: $(VENV)/.installed
	$(BIN)/pytest

# The benchmarks of bench/ (full sizes; see README "Benchmarks"). ARGS="--quick" for a short run.
bench: $(VENV)/.installed
	$(BIN)/python -m bench all $(ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

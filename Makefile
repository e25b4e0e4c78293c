# The two commands of README.md ("The two commands"): `make up` runs the whole system, `make test`
# the whole suite.
# Both create .venv and install the project (and its test extras) on first use.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: up test lint lock bench clean

up: $(VENV)/.installed
	$(BIN)/passerelle dev --smtp-sink

# The whole suite: lint (ruff, mypy strict on the source) then every test on real servers, in two
# processes (pytest-xdist), each with servers of its own. A module's tests stay in one process
# (`loadfile`): they share module fixtures. The tests wait on servers more than they compute, so
# two processes on two cores take about 0.64 of the serial time. The `alone` tests use both
# cores on purpose (hundreds of CLI processes at once): they run afterwards, by themselves, so no
# other test's timing depends on them.
test: lint
	$(BIN)/pytest -n 2 --dist loadfile -m "not alone"
	$(BIN)/pytest -m alone

# The benchmarks of bench/ (full sizes; see docs/benchmarks.md). ARGS="--quick" for a short run.
bench: $(VENV)/.installed
	$(BIN)/python -m bench all $(ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy

# Re-pin the image's runtime dependencies (requirements.lock), with the sha256 of every file.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet pip-tools
	.lock-venv/bin/pip-compile --quiet --generate-hashes --strip-extras --no-header \
	  --no-emit-index-url --no-emit-find-links -o .lock-venv/requirements.txt pyproject.toml
	{ echo "# Pinned runtime dependencies of the Passerelle image, with the hash of every file (the Dockerfile"; \
	  echo "# installs them with --require-hashes). Regenerate after changing pyproject.toml dependencies: make lock"; \
	  cat .lock-venv/requirements.txt; } > requirements.lock
	rm -rf .lock-venv

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

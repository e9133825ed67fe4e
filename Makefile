# Quick start: `make demo` (set up + single pass vs strategies, side by side, on the embedded model)
#              `make test` (set up + run the test suite)
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ponder-installed
QUESTION ?= What were the primary causes of the fall of the Western Roman Empire?

.PHONY: setup demo demo-refine test test-unit lint bench clean

setup: $(STAMP)

# the project installs what it needs: the Python packages, and bubblewrap for the sandbox
$(STAMP): pyproject.toml
	@bash scripts/install-system-deps.sh
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo "ponder: installing the Python packages into $(VENV) (the first time takes a few minutes)"
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[dev,coder]'
	@touch $(STAMP)

demo: setup
	@$(VENV)/bin/ponder demo

demo-refine: setup
	$(VENV)/bin/ponder ask "$(QUESTION)" --strategy refine --max-steps 6

test: setup
	$(VENV)/bin/pytest -q

test-unit: setup
	$(VENV)/bin/pytest -q -m "not integration"

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

bench: setup
	$(PY) benchmarks/engine_overhead.py
	$(PY) benchmarks/prefix_reuse.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache

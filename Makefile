# landrenew — the two commands in README.md are `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PARCELS ?= 50000
SEED ?= 42
WORKSPACE ?= workspace

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/landrenew demo --workspace $(WORKSPACE) --parcels $(PARCELS) --seed $(SEED) --fresh

test: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests
	$(BIN)/pytest -n 2 tests

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests

bench: $(VENV)/.installed-dev
	$(BIN)/python -m landrenew.bench --out BENCHMARKS.md

clean:
	rm -rf $(VENV) $(WORKSPACE) .pytest_cache build *.egg-info

# landrenew — the two commands in README.md are `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PARCELS ?= 50000
SEED ?= 42
WORKSPACE ?= workspace

.PHONY: demo test lint bench bench-demo bench-scale bench-engines load soak clean serve assets

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"
	touch $@ $(VENV)/.installed

# the web app's scripts and styles, bundled from npm packages (no CDN at run time)
ASSETS := src/landrenew/web/static/dist/.built
$(ASSETS): frontend/package.json frontend/package-lock.json frontend/build.mjs $(wildcard frontend/src/*.js)
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build
	touch $@

assets: $(ASSETS)

demo: $(VENV)/.installed
	$(BIN)/landrenew demo --workspace $(WORKSPACE) --parcels $(PARCELS) --seed $(SEED) --fresh

serve: $(VENV)/.installed $(ASSETS)
	$(BIN)/landrenew serve --workspace $(WORKSPACE)

test: $(VENV)/.installed-dev $(ASSETS)
	$(BIN)/ruff check src tests
	$(BIN)/pytest -n 2 tests

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests

# benchmarks (BENCHMARKS.md): the demo at 50 k, 100 k and 1 M parcels, then on a kept 1 M-parcel
# demo workspace landrenew against DuckDB and PostGIS, the scale curve and the province on a local
# Dask cluster, and the API under 50 users (locust)
BENCH_WS ?= bench-1m
bench: bench-demo bench-engines bench-scale load

bench-demo: $(VENV)/.installed-dev
	$(BIN)/python -m landrenew.bench --out BENCHMARKS.md

$(BENCH_WS)/landrenew.sqlite: | $(VENV)/.installed-dev
	$(BIN)/landrenew demo --workspace $(BENCH_WS) --parcels 1000000 --seed $(SEED) --fresh

bench-engines: $(VENV)/.installed-dev $(BENCH_WS)/landrenew.sqlite
	$(BIN)/python -m landrenew.bench_engines $(BENCH_WS) --into BENCHMARKS.md

bench-scale: $(VENV)/.installed-dev $(BENCH_WS)/landrenew.sqlite
	$(BIN)/python -m landrenew.bench_scale $(BENCH_WS) --into BENCHMARKS.md

load: $(VENV)/.installed-dev $(BENCH_WS)/landrenew.sqlite
	$(BIN)/python -m landrenew.bench_load $(BENCH_WS) --users 50 --duration 120 --into BENCHMARKS.md

soak: $(VENV)/.installed-dev
	$(BIN)/python -m landrenew.bench_soak --minutes 10 --into docs/reliability.md

clean:
	rm -rf $(VENV) $(WORKSPACE) $(BENCH_WS) .pytest_cache build *.egg-info frontend/node_modules src/landrenew/web/static/dist

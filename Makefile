# One vocabulary for people, docs and CI: every target bootstraps the environment itself.
# `make help` lists the targets.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv: the one on PATH, else a project-local copy installed on first use (needs only python3 + pip).
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
PY := .venv/bin/python
# KEDRO_ENV=mlc runs on another Kedro configuration environment (conf/mlc/: a fork; level3_system/FORKING.md).
KEDRO_ENV_ARG := $(if $(KEDRO_ENV),--env $(KEDRO_ENV))
LEVEL3_ENV := $(if $(KEDRO_ENV),CHURN_KEDRO_ENV=$(KEDRO_ENV))

# uv trusts the system certificates (needed behind TLS-inspecting proxies; harmless elsewhere);
# UV_NATIVE_TLS is the older spelling of the same switch. Bytecode is compiled at install time so
# that no run pays for compiling its imports (machines that set PYTHONDONTWRITEBYTECODE).
export UV_SYSTEM_CERTS := 1
export UV_COMPILE_BYTECODE := 1
export UV_PYTHON_DOWNLOADS := manual
# Offline and quiet: every tool's telemetry is off for anything started from here. The same set, with the same
# values, is level2_pipeline/project.py's QUIET_ENVIRONMENT (the Python entry points apply it; a test keeps the two
# equal). MLflow honours only "true".
export DO_NOT_TRACK := true
export KEDRO_DISABLE_TELEMETRY := true
export MLFLOW_DISABLE_TELEMETRY := true
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false
export ORT_DISABLE_TELEMETRY := 1
export MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR := false
export GIT_OPTIONAL_LOCKS := 0

.PHONY: help env data level1 level2 level3 init validate serve monitor feedback traffic platform demo-loop score synth experiment compare diff maturity wheelhouse image image-check test check lint viz ui bench bench-scoring soak clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9_-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(CURDIR)/.tools/bin/uv:
	@echo "uv not found: installing it into .tools/ (project-local)"
	@python3 -m venv .tools && .tools/bin/python -m pip install --quiet $(if $(WHEELHOUSE),--no-index --find-links $(WHEELHOUSE)) uv

# WHEELHOUSE=wheelhouse installs from a folder of wheels with no network (make wheelhouse; docs/wheelhouse.md):
# uv sync would fetch from the index URLs recorded in uv.lock, so the offline path syncs the exported pins.
.venv/.synced: pyproject.toml uv.lock | $(UV)
ifdef WHEELHOUSE
	@$(UV) venv --quiet --allow-existing .venv
	@$(UV) pip sync --quiet --offline --no-index --find-links $(WHEELHOUSE) --python $(PY) $(WHEELHOUSE)/requirements.txt
	@$(UV) pip install --quiet --offline --no-index --find-links $(WHEELHOUSE) --python $(PY) --no-deps -e .
else
	@$(UV) sync --frozen --quiet
endif
	@touch $@

env: .venv/.synced ## create or update .venv from uv.lock (run by every other target)

data: env ## fetch the raw churn data into data/01_raw (skips when present and valid)
	@$(PY) -m level2_pipeline.ingestion $(KEDRO_ENV_ARG)

level1: data ## run the level-1 script (raw code)
	@$(PY) level1_code/train.py

level2: data ## run the level-2 Kedro pipeline
	@$(PY) -m level2_pipeline $(KEDRO_ENV_ARG)

level3: env ## train through the level-3 system (Prefect flow, GX gates, MLflow registry)
	@$(LEVEL3_ENV) $(PY) -m level3_system train

validate: env ## run the level-3 validation gates alone (no training)
	@$(LEVEL3_ENV) $(PY) -m level3_system validate

# make serve HOST=0.0.0.0 PORT=9000 (validated like the settings; CHURN_SERVING__* work too).
serve: env ## serve the champion model on http://127.0.0.1:8000 (run make level3 first; HOST=, PORT=)
	@$(LEVEL3_ENV) $(PY) -m level3_system serve $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

monitor: env ## drift and realized performance of the served version's traffic (data/08_reporting/level3/monitoring)
	@$(LEVEL3_ENV) $(PY) -m level3_system monitor

feedback: env ## record observed outcomes from a file: make feedback FILE=outcomes.csv (request_id or id, target)
	@$(LEVEL3_ENV) $(PY) -m level3_system feedback $(FILE)

traffic: env ## replay real customers to the running service: make traffic SCENARIO=baseline|fibre_month_to_month|price_rise
	@$(LEVEL3_ENV) $(PY) -m level3_system traffic $(or $(SCENARIO),baseline)

score: env ## score a batch: make score INPUT=file|folder|glob OUTPUT=folder [VERSION=n | ALIAS=name] [BUDGET=offers]
	@$(LEVEL3_ENV) $(PY) -m level3_system score $(INPUT) $(OUTPUT) $(if $(VERSION),--version $(VERSION)) $(if $(ALIAS),--alias $(ALIAS)) $(if $(BUDGET),--budget $(BUDGET))

synth: env ## a partitioned Parquet input drawn from the real data: make synth ROWS=10000000 OUTPUT=folder [SEED=n]
	@$(LEVEL3_ENV) $(PY) -m level3_system synth $(ROWS) $(OUTPUT) $(if $(SEED),--seed $(SEED))

# Infers a first conf/<ENV>/ (contract, source, cleaning, catalog, level-3 settings) and says what to review.
init: env ## conf/<ENV>/ from a CSV: make init DATA=file.csv TARGET=column ENV=name [ID=] [POSITIVE=] [FORCE=1]
	@$(PY) -m level3_system init "$(DATA)" "$(TARGET)" $(if $(ENV),--env "$(ENV)") $(if $(ID),--id "$(ID)") $(if $(POSITIVE),--positive "$(POSITIVE)") $(if $(FORCE),--force)

experiment: env ## compare the model families (CV ROC AUC, fit time, serving latency, size) and recommend one
	@$(LEVEL3_ENV) $(PY) -m level3_system experiment

platform: env ## Prefect server, deployments (scheduled + drift-triggered training, monitor) and the service, until Ctrl-C
	@$(LEVEL3_ENV) $(PY) -m level3_system platform

demo-loop: env ## the loop in a few minutes: traffic, drift, the alert, the triggered training, the new champion served
	@$(LEVEL3_ENV) $(PY) -m level3_system demo-loop

ui: env ## start the MLflow UI and the Prefect UI on 127.0.0.1
	@$(LEVEL3_ENV) $(PY) -m level3_system ui

compare: data ## run every level and print the side-by-side table
	@$(PY) -m benchmarks.compare

diff: env ## map each step across the levels (terminal + data/08_reporting/level_map.html)
	@$(PY) -m tools.level_map

maturity: env ## which MLOps maturity capabilities each level has, and the file that provides each
	@$(PY) -m tools.maturity

# The wheels are built for the venv's interpreter (its Python version and platform): pip runs on it through uv.
# hatchling + editables build this project offline; uv's own wheel installs uv there (docs/wheelhouse.md).
wheelhouse: env ## wheels of every locked dependency and of uv, to install on a machine with no network
	@rm -rf wheelhouse && mkdir -p wheelhouse
	@$(UV) export --frozen --quiet --no-hashes --no-emit-project --format requirements.txt -o wheelhouse/requirements.txt
	@$(UV) tool run --quiet --python $(PY) --from pip pip wheel --quiet --prefer-binary --wheel-dir wheelhouse \
		-r wheelhouse/requirements.txt hatchling editables "uv==$$($(UV) --version | cut -d' ' -f2)"
	@echo "wheelhouse/: $$(ls wheelhouse/*.whl | wc -l) wheels, $$(du -sh wheelhouse | cut -f1); offline install: docs/wheelhouse.md"

# The container image (tools/image.sh says how). image: docker when its engine answers, else podman (chroot isolation:
# PODMAN_ISOLATION=oci for podman's default). image-check needs root, podman and mmdebstrap (.ci/run installs them).
image: ## build the image churn-maturity:local (docker, else podman), as compose.yaml runs it
	@tools/image.sh build

image-check: ## the real Dockerfile built (on stand-in base images if no registry answers) and run as UID 10001: train, serve
	@tools/image.sh check

# Two processes by default (pytest-xdist; a test file stays in one): the suite waits on servers and subprocesses
# as much as it computes. TEST_WORKERS=0 runs it in one process; `pytest -m servers` runs the real-server tests.
TEST_WORKERS ?= 2
# pytest caches its assertion-rewritten test modules as bytecode only when writing bytecode is allowed: on machines
# that set PYTHONDONTWRITEBYTECODE every process (each worker, each pytest a test starts) rewrote every test module
# again (collection 10.1 s -> 7.4 s once cached). The test targets allow it (__pycache__ is git-ignored).
TEST_ENV := PYTHONDONTWRITEBYTECODE=
test: lint ## lint, then run the whole test suite (real PostgreSQL, MLflow and Prefect servers included)
	@$(TEST_ENV) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

# The markers (pyproject.toml's [tool.pytest.ini_options]) are the one place that says which test is which.
check: lint ## the inner loop: lint, then every test not marked slow or servers (~2.5 min on 2 cores; make test runs all)
	@$(TEST_ENV) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not slow and not servers" --durations=10

# Offline, a few seconds: every linter's binary comes from its wheel (pyproject's dev group); the Compose schema is
# vendored (deploy/schemas/README.md). deploy/check.py checks what the schema cannot (references, ports, secrets).
lint: env ## ruff, hadolint (Dockerfile), compose.yaml against the Compose schema, actionlint (.github/workflows), shellcheck
	@$(UV) run --frozen --no-sync ruff check .
	@$(UV) run --frozen --no-sync ruff format --check .
	@$(UV) run --frozen --no-sync hadolint Dockerfile
	@$(UV) run --frozen --no-sync check-jsonschema --schemafile deploy/schemas/compose-spec.json compose.yaml
	@$(PY) deploy/check.py
	@$(UV) run --frozen --no-sync actionlint
	@$(UV) run --frozen --no-sync shellcheck .ci/run tools/image.sh

viz: env ## build a static kedro-viz site into data/08_reporting/level2/viz
	@$(PY) -m level2_pipeline.viz

bench: data ## time the levels, the service's start-up and throughput (vs mlflow models serve, log on vs off, a LightGBM version and a credit-scoring fork on the tree fast path vs sklearn, a bare FastAPI ceiling), the monitor, a promotion's reach to traffic, the model card's bootstrap and a gate's data docs
	@$(PY) -m benchmarks.bench_levels
	@$(PY) -m benchmarks.bench_startup
	@$(PY) -m benchmarks.bench_serving
	@$(PY) -m benchmarks.bench_trees
	@$(PY) -m benchmarks.bench_fork
	@$(PY) -m benchmarks.bench_monitoring
	@$(PY) -m benchmarks.bench_reload
	@$(PY) -m benchmarks.bench_model_card
	@$(PY) -m benchmarks.bench_gates

# ROWS="1000000 10000000" CONFIGS="loop dask-1 dask-2 address" DATA=folder (keeps the synthetic inputs for next time).
bench-scoring: data ## batch scoring at 1 M and 10 M rows: in-process loop vs Dask 1 and 2 workers vs scheduler + workers
	@$(PY) -m benchmarks.bench_scoring $(if $(ROWS),--rows $(ROWS)) $(if $(CONFIGS),--configs $(CONFIGS)) $(if $(DATA),--data $(DATA))

# DURATION=600 for a longer soak; CLIENTS=, PROMOTE_EVERY= likewise. Its stores are temporary: the project's are untouched.
soak: data ## 60 s of load on the service while versions are promoted and reloaded, feedback posted, the monitor run
	@$(PY) -m benchmarks.soak $(if $(DURATION),--seconds $(DURATION)) $(if $(CLIENTS),--clients $(CLIENTS)) $(if $(PROMOTE_EVERY),--promote-every $(PROMOTE_EVERY))

clean: ## remove generated data, the MLflow/Prefect stores and the environment (keeps data/01_raw)
	@find data -mindepth 1 -maxdepth 1 ! -name 01_raw ! -name .gitkeep -exec rm -rf {} + 2>/dev/null || true
	@rm -rf .venv .tools .mlflow .prefect .pytest_cache .ruff_cache
	@echo "removed .venv, .mlflow, .prefect and generated data (data/01_raw kept)"

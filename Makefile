# StyleScout. `make help` lists the targets; each installs what it needs into .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stylescout-installed
# Bytecode caches on, whatever the shell says: each command line the tests start and each
# test worker would otherwise compile the project again (and pytest rewrite every test module).
unexport PYTHONDONTWRITEBYTECODE

.DEFAULT_GOAL := help
.PHONY: help setup setup-scale demo serve test test-fast package-check docs lint audit bench bench-scale clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) 2>/dev/null || \
		{ rm -rf $(VENV) && $(PYTHON) -m venv --without-pip $(VENV) && $(PY) .ci/bootstrap_pip.py; }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

setup: $(STAMP) ## create .venv and install the pinned requirements

SCALE_STAMP := $(VENV)/.stylescout-scale-installed
$(SCALE_STAMP): $(STAMP) requirements-scale.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-scale.txt
	@touch $@

setup-scale: $(SCALE_STAMP) ## also install the scale-out extra (PostgreSQL driver; docs/how-to/scale-out.md)

demo: setup ## serve the demo feed and the dashboard, and print their URLs
	$(PY) -m dash_app --demo

WORKERS ?= 2
HOST ?= 127.0.0.1
serve: setup-scale ## a team's dashboard: a Celery worker + WORKERS gunicorn workers on HOST (needs Redis; docs/how-to/scale-out.md)
	$(PY) -m dash_app --celery-worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(PY) -m dash_app --workers $(WORKERS) --host $(HOST)

TEST_WORKERS ?= 2
test: setup ## run every test on TEST_WORKERS workers (browser tests skip without chromium and chromium-driver)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

# The fast tier waits on servers and subprocesses as much as it computes: 3 workers (118 s here)
# beat 4 (128 s) and 2.
FAST_WORKERS ?= 3
test-fast: setup ## the inner loop: unit tests and the integration tests that run no model
	STYLESCOUT_TEST_FAST=1 $(PY) -m pytest -n $(FAST_WORKERS) --dist loadgroup -m "not model" tests/unit tests/integration

# What `pip install .` gives a user: the wheel, in a new venv with the pinned dependencies.
package-check: setup ## build the wheel, install it into a new venv, run stylescout --version and stats
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PY) -m pip wheel --quiet --disable-pip-version-check --no-deps . -w "$$tmp/dist" && \
	rm -rf build stylescout.egg-info && \
	$(PYTHON) -m venv "$$tmp/venv" && \
	"$$tmp/venv/bin/pip" install --quiet --disable-pip-version-check -c requirements.txt "$$tmp"/dist/*.whl && \
	cd "$$tmp" && "$$tmp/venv/bin/stylescout" --version && \
	mkdir "$$tmp/data" && "$$tmp/venv/bin/stylescout" stats --data-dir "$$tmp/data" && \
	"$$tmp/venv/bin/python" -c "from stylescout.settings import builtin_sources as b; assert len(b()) >= 6, b()" && \
	echo "package-check: the wheel installs and runs"

docs: setup ## build the docs site into site/ (reference pages checked against the code; warnings fail)
	$(PY) docs/gen_reference.py --check
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet

lint: setup ## ruff checks and formatting
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

audit: setup ## check the pinned requirements for known vulnerabilities (needs the network)
	$(PY) -m pip_audit -r requirements.txt --no-deps --disable-pip --progress-spinner off

bench: setup ## run the benchmarks and print their figures
	$(PY) -m bench.demo_feed
	$(PY) -m bench.scrape
	$(PY) -m bench.api_sources
	$(PY) -m bench.trends
	$(PY) -m bench.feedback
	$(PY) -m bench.interleave
	$(PY) -m bench.engine
	$(PY) -m bench.dashboard
	$(PY) -m bench.dashboard_limits

bench-scale: setup-scale ## the scale-out benchmarks (FAISS search, styles and Ray at up to a million)
	$(PY) -m bench.search
	$(PY) -m bench.styles_scale
	$(PY) -m bench.ray_extract --images 1200
	$(PY) -m bench.team_dashboard --items 200000

clean: ## remove .venv and caches (keeps data/)
	rm -rf $(VENV) .pytest_cache .ruff_cache

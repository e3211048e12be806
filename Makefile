# `make test` and `make demo` set everything up themselves: a .venv with the host and its
# plugins installed editable. Nothing needs to be installed by hand first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
N      ?= 10000
export PROJ_NETWORK := OFF

.PHONY: install test test-fast test-postgres test-browser lint typecheck unit demo bench dist clean

$(STAMP): pyproject.toml plugins/cityworks/pyproject.toml plugins/arcgis/pyproject.toml \
		plugins/open311/pyproject.toml plugins/accela/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		--config-settings editable_mode=compat \
		-e '.[test]' -e plugins/cityworks -e plugins/arcgis -e plugins/open311 \
		-e plugins/accela
	@touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

# The same without the slow suites (marked `slow`: real scf processes, kills, probes), for
# the edit-test loop, on one process per core (pytest-xdist): under a minute on two cores.
test-fast: lint typecheck $(STAMP)
	$(BIN)/pytest -m "not slow" -n auto --maxprocesses 4

# The store-backed tests (marked `store`) again, on a throwaway PostgreSQL (installed with apt
# where possible; in CI, CI=true, a PostgreSQL that cannot be had fails the target).
test-postgres: $(STAMP)
	bash .ci/test-postgres

# The console in a real browser: Debian's chromium, headless, through chromium-driver
# (tests/browser, marked `browser`, which `make test` leaves out). Where either is missing the
# tests are skipped with the reason printed (-rs); under CI=true that fails (.ci/run installs them).
test-browser: $(STAMP)
	$(BIN)/pytest -m browser tests/browser -rs

demo: $(STAMP)
	$(BIN)/scf demo

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --n $(N)

# Wheels of the host and its four plugins, for an install outside the checkout (README:
# "Installing it for production"). Built from this tree, without the test extras.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m pip wheel --quiet --disable-pip-version-check --no-deps -w dist \
		. plugins/cityworks plugins/arcgis plugins/open311 plugins/accela
	rm -rf build plugins/*/build
	@ls dist

clean:
	rm -rf $(VENV) build dist *.egg-info plugins/*/*.egg-info

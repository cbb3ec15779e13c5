# embodia: the two commands are `make demo` and `make test`.
#
# Everything runs in a local virtual environment, .venv. Installation is recorded by stamp files inside it
# that depend on pyproject.toml, so a second `make` installs nothing; delete .venv to start over.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
# torch must be this CPU build, installed before stable-baselines3 (the `learn` extra): an unpinned torch pulls
# a CUDA build of several GB.
TORCH_PIN := torch==2.13.0
# every demo run records into a folder of its own: nothing recorded before is overwritten
DEMO_DIR := runs/demo/$(shell date +%Y%m%d-%H%M%S)
DEMO_TASKS := embodia/BinPicking-v0 embodia/Handover-v0
DEMO_EPISODES := 3

# Headless rendering (embodia would pick EGL itself; set here so every tool run by make agrees).
MUJOCO_GL ?= egl
export MUJOCO_GL

BASE_STAMP := $(VENV)/.stamp-base
DEV_STAMP := $(VENV)/.stamp-dev

.PHONY: help venv install install-dev demo test lint format bench bench-quick clean

help:
	@echo "make demo    run the scripted experts on the demo tasks, recording to $(DEMO_DIR), and build its review page"
	@echo "make test    install the package with its dev and learn extras (and chromium), run the test suite"
	@echo "make lint    ruff check and ruff format --check"
	@echo "make bench   speed, render and memory benchmark (experiments/results/benchmark.md)"

# The system packages of rendering (EGL/Mesa, only those missing) before the venv; the test target adds chromium.
$(PY):
	bash tools/install-system-packages.sh render
	$(PYTHON) -m venv $(VENV)

venv: $(PY)

# The package alone: what `make demo` needs.
$(BASE_STAMP): pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $@

# Test and learning dependencies; torch first, pinned.
$(DEV_STAMP): pyproject.toml | $(PY)
	$(PIP) install '$(TORCH_PIN)'
	$(PIP) install -e '.[dev,learn]' '$(TORCH_PIN)' 'setuptools>=69' wheel
	touch $(BASE_STAMP) $@

install: $(BASE_STAMP)

install-dev: $(DEV_STAMP)

demo: $(BASE_STAMP)
	@for task in $(DEMO_TASKS); do \
		echo "== $$task"; \
		$(VENV)/bin/embodia run "$$task" --policy expert --episodes $(DEMO_EPISODES) \
			--record "$(DEMO_DIR)/$${task#embodia/}"; \
	done
	$(VENV)/bin/embodia review "$(DEMO_DIR)"
	@echo "demo output: $(DEMO_DIR) (review page: $(DEMO_DIR)/review/index.html)"

test: $(DEV_STAMP)
	bash tools/install-system-packages.sh test
	$(PY) -m pytest -q

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(DEV_STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(BASE_STAMP)
	$(PY) experiments/benchmark.py --out experiments/results/benchmark.md

bench-quick: $(BASE_STAMP)
	$(PY) experiments/benchmark.py --quick

clean:
	rm -rf build dist .pytest_cache .ruff_cache

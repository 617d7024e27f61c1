# Contrastive Learning, Hands-On
#   make lab   set up .venv (once) and open JupyterLab on lesson 00, bound to 127.0.0.1
#   make test  set up .venv with the dev extras (once) and run every test layer
#              (lint, unit, notebooks in fast mode, notebooks in full mode, browser)
#
# Variables:
#   PYTHON      interpreter used to create the venv (default: python3, must be >= 3.10)
#   TORCH_SPEC  pip arguments installed before the package, e.g. TORCH_SPEC=torch==2.13.0
#               for the CPU wheel in CI (a plain `torch` from PyPI is a multi-GB CUDA build
#               on Linux), or the CPU-index arguments of pytorch.org's install selector.
#               Passed to pip unquoted. Empty: pip resolves torch>=2.2 itself.
#   PORT        JupyterLab port for `make lab` (default 8888)
#   PYTEST_ARGS extra arguments for every pytest layer
#   LAB_ARGS    extra arguments for jupyter lab, e.g. LAB_ARGS=--no-browser

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?=
PORT ?= 8888
PYTEST_ARGS ?=
LAB_ARGS ?=

BIN := $(VENV)/bin
# Jupyter refuses to run as root without a flag (containers, CI machines)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
PY := $(BIN)/python
# pyproject.toml is the single source of dependencies: a stamp newer than it means "installed".
BASE_STAMP := $(VENV)/.installed-base
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: lab test setup setup-dev lint unit notebooks full ui clean-venv

# OMP_WAIT_POLICY=PASSIVE: idle OpenMP threads sleep instead of spinning (benchmarks/threads.py:
# with other programs running, spinning threads made a training step up to 100x slower)
lab: $(BASE_STAMP)
	@echo "Opening JupyterLab on notebooks/00_welcome.ipynb at http://127.0.0.1:$(PORT)/lab (Ctrl-C to stop)"
	OMP_WAIT_POLICY=PASSIVE $(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) --ServerApp.root_dir=. $(ROOT_FLAG) notebooks/00_welcome.ipynb $(LAB_ARGS)

test: $(DEV_STAMP)
	$(MAKE) --no-print-directory lint unit notebooks full ui

setup: $(BASE_STAMP)
setup-dev: $(DEV_STAMP)

$(PY):
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python >= 3.10 is required, this is " + sys.version'
	$(PYTHON) -m venv $(VENV)

$(BASE_STAMP): pyproject.toml | $(PY)
	$(if $(TORCH_SPEC),$(PY) -m pip install --quiet $(TORCH_SPEC))
	$(PY) -m pip install --quiet -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(PY)
	$(if $(TORCH_SPEC),$(PY) -m pip install --quiet $(TORCH_SPEC))
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(BASE_STAMP) $@

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: $(DEV_STAMP)
	$(BIN)/pytest tests --ignore=tests/ui --ignore=tests/test_notebooks.py $(PYTEST_ARGS)

# One BLAS/OpenMP thread for executed notebooks: the lessons' models are tiny, and spinning
# threads of a kernel, a Jupyter server and a browser sharing 2 cores cost up to 10x in time.
notebooks: $(DEV_STAMP)
	CL_LESSONS_FAST=1 OMP_NUM_THREADS=1 $(BIN)/pytest tests/test_notebooks.py $(PYTEST_ARGS)

# Every lesson at a learner's sizes (full mode): the claims are asserted at the size they are made.
full: $(DEV_STAMP)
	CL_NOTEBOOK_MODE=full OMP_NUM_THREADS=1 $(BIN)/pytest tests/test_notebooks.py $(PYTEST_ARGS)

ui: $(DEV_STAMP)
	CL_LESSONS_FAST=1 OMP_NUM_THREADS=1 $(BIN)/pytest tests/ui $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)

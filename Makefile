# Contrastive Learning, Hands-On
#   make lab   set up .venv (once) and open JupyterLab on lesson 00, bound to 127.0.0.1
#   make test  set up .venv with the dev extras (once) and run every test layer
#              (lint, unit, the student notebooks in fast mode, the lessons in full mode with
#              a second seed where a claim compares training runs, the course site, the
#              browser in full mode)
#   make student  write the classroom edition: build/student/ (no solutions), build/solutions/
#   make site     execute every lesson in full mode and build the course site in build/site/
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

.PHONY: lab test setup setup-dev lint unit notebooks full ui student student-notebooks site clean-venv

# OMP_WAIT_POLICY=PASSIVE: idle OpenMP threads sleep instead of spinning (benchmarks/threads.py:
# with other programs running, spinning threads made a training step up to 100x slower)
lab: $(BASE_STAMP)
	@echo "Opening JupyterLab on notebooks/00_welcome.ipynb at http://127.0.0.1:$(PORT)/lab (Ctrl-C to stop)"
	OMP_WAIT_POLICY=PASSIVE $(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) --ServerApp.root_dir=. $(ROOT_FLAG) notebooks/00_welcome.ipynb $(LAB_ARGS)

# `full` runs once: `site` reuses its executed lessons. The fast-mode run of the lessons with
# their solutions (`make notebooks`) is left out: full mode runs the same cells at a learner's
# sizes, and `student-notebooks` runs every lesson in fast mode without its solutions.
test: $(DEV_STAMP)
	$(MAKE) --no-print-directory lint unit student-notebooks full site ui

setup: $(BASE_STAMP)
setup-dev: $(DEV_STAMP)

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python >= 3.10 is required, this is " + sys.version.split()[0] + ". On macOS: brew install python@3.12, or the installer from python.org; then: make lab PYTHON=python3.12")'
	$(PYTHON) -m venv $(VENV)

$(BASE_STAMP): pyproject.toml | $(PY)
	$(if $(TORCH_SPEC),$(PY) -m pip install --quiet $(TORCH_SPEC))
	$(PY) -m pip install --quiet -e ".[lab]"
	@touch $@

$(DEV_STAMP): pyproject.toml | $(PY)
	$(if $(TORCH_SPEC),$(PY) -m pip install --quiet $(TORCH_SPEC))
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(BASE_STAMP) $@

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: $(DEV_STAMP)
	$(BIN)/pytest tests --ignore=tests/ui --ignore=tests/test_notebooks.py -m "not notebooks" $(PYTEST_ARGS)

# The classroom edition: build/student/NN_*.ipynb without solutions, build/solutions/ with them.
student:
	$(PYTHON) tools/student.py

# Every student notebook runs in fast mode, each exercise says "not yet", no solution leaks.
student-notebooks: $(DEV_STAMP)
	CL_LESSONS_FAST=1 OMP_NUM_THREADS=1 $(BIN)/pytest tests/test_student.py $(PYTEST_ARGS)

# The course site in build/site/, from the lessons `full` executed, checked page by page in
# Chromium (pages load offline, images, links between lessons, math, folded solutions).
site: full
	$(PY) tools/site.py
	OMP_NUM_THREADS=1 $(BIN)/pytest tests/ui/test_site.py $(PYTEST_ARGS)

# One BLAS/OpenMP thread for executed notebooks: the lessons' models are tiny, and spinning
# threads of a kernel, a Jupyter server and a browser sharing 2 cores cost up to 10x in time.
notebooks: $(DEV_STAMP)
	CL_LESSONS_FAST=1 OMP_NUM_THREADS=1 $(BIN)/pytest tests/test_notebooks.py $(PYTEST_ARGS)

# Every lesson at a learner's sizes (full mode): the claims are asserted at the size they are made.
full: $(DEV_STAMP)
	CL_NOTEBOOK_MODE=full OMP_NUM_THREADS=1 $(BIN)/pytest tests/test_notebooks.py $(PYTEST_ARGS)

# The browser layer runs what a learner runs: full mode, Run All, then every slider and text box.
ui: $(DEV_STAMP)
	CL_LESSONS_FAST=0 OMP_NUM_THREADS=1 $(BIN)/pytest tests/ui --ignore=tests/ui/test_site.py $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)

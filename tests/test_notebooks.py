"""Layer 2: every lesson notebook runs top to bottom from a fresh kernel in fast mode.

The notebooks' own assert cells are the checks; a failing one fails the test with the cell's
traceback. Run with ``CL_LESSONS_FAST=1`` (the Makefile's ``notebooks`` target sets it).
"""

from __future__ import annotations

import os
import time

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from notebook_utils import NOTEBOOK_DIR, lesson_notebooks

NOTEBOOKS = lesson_notebooks()


def test_there_are_lessons():
    assert NOTEBOOKS, f"no lesson notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch, tmp_path):
    monkeypatch.setenv("CL_LESSONS_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))  # no stale user kernels
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=int(os.environ.get("CL_NOTEBOOK_CELL_TIMEOUT", "600")),
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as err:
        pytest.fail(f"{path.name} failed:\n{err}", pytrace=False)
    print(f"{path.name}: {time.perf_counter() - start:.1f} s in fast mode")

"""Layer 2: every lesson notebook runs top to bottom from a fresh kernel.

The notebooks' own assert cells are the checks; a failing one fails the test with the cell's
traceback. ``CL_NOTEBOOK_MODE`` chooses the sizes: ``fast`` (the default, ``make notebooks``:
``CL_LESSONS_FAST=1``, quick sizes) or ``full`` (``make full``: what a learner runs, so every
claim is checked at the size the lesson states it). Each run records the lesson's wall time and
the kernel's CPU time in ``artifacts/notebook-times-<mode>.json`` and prints them, and saves the
executed notebook in ``artifacts/executed-<mode>/`` (the course site is built from these).

In full mode the lessons whose asserts compare trained models (one method beats another, a
number clears a bar) run a second time with every seed moved (``CL_LESSONS_SEED_OFFSET=1``), so
no claim holds only by the luck of one seed.
"""

from __future__ import annotations

import json
import os
import time

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from notebook_utils import NOTEBOOK_DIR, ROOT, lesson_notebooks

NOTEBOOKS = lesson_notebooks()
MODE = os.environ.get("CL_NOTEBOOK_MODE", "fast")
TIMES = ROOT / "artifacts" / f"notebook-times-{MODE}.json"
EXECUTED = ROOT / "artifacts" / f"executed-{MODE}"  # executed copies, for `make site`
_CPU_MARK = "CL_KERNEL_CPU_SECONDS"
# appended to the executed copy only: the kernel's own CPU time (user + system, all threads)
# lessons whose asserts compare training runs: run again with other seeds in full mode
SECOND_SEED = ("02_", "05_", "06_", "07_", "08_")
RUNS = [(p, 0) for p in NOTEBOOKS]
if MODE == "full":
    RUNS += [(p, 1) for p in NOTEBOOKS if p.name.startswith(SECOND_SEED)]
_CPU_CELL = f"import os as _os\nprint('{_CPU_MARK}', sum(_os.times()[:2]))"


def test_there_are_lessons():
    assert NOTEBOOKS, f"no lesson notebooks found in {NOTEBOOK_DIR}"
    assert MODE in ("fast", "full"), f"CL_NOTEBOOK_MODE must be 'fast' or 'full', got {MODE!r}"


def _kernel_cpu_seconds(nb) -> float | None:
    for output in nb.cells[-1].get("outputs", []):
        text = output.get("text", "")
        if _CPU_MARK in text:
            return float(text.split(_CPU_MARK)[1].split()[0])
    return None


def _record(name: str, wall: float, cpu: float | None) -> None:
    TIMES.parent.mkdir(exist_ok=True)
    times = json.loads(TIMES.read_text()) if TIMES.exists() else {}
    times[name] = {"wall_s": round(wall, 1), "kernel_cpu_s": cpu and round(cpu, 1)}
    TIMES.write_text(json.dumps(times, indent=1, sort_keys=True) + "\n")


@pytest.mark.notebooks
@pytest.mark.parametrize(
    ("path", "offset"), RUNS, ids=[p.stem + (f"-seed+{o}" if o else "") for p, o in RUNS]
)
def test_notebook_runs(path, offset, monkeypatch, tmp_path):
    monkeypatch.setenv("CL_LESSONS_FAST", "1" if MODE == "fast" else "0")
    monkeypatch.setenv("CL_LESSONS_SEED_OFFSET", str(offset))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))  # no stale user kernels
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(_CPU_CELL))
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
        pytest.fail(
            f"{path.name} failed in {MODE} mode (seed offset {offset}):\n{err}", pytrace=False
        )
    wall, cpu = time.perf_counter() - start, _kernel_cpu_seconds(nb)
    if offset == 0:  # kept, outputs and all, for the course site (tools/site.py)
        nb.cells.pop()  # the CPU-time cell added above
        EXECUTED.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, EXECUTED / path.name)
    _record(path.stem + (f"-seed+{offset}" if offset else ""), wall, cpu)
    print(
        f"{path.name}: {wall:.1f} s wall, {cpu or float('nan'):.1f} s kernel CPU, {MODE} mode, "
        f"seed offset {offset}"
    )

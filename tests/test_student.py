"""The student edition (`make student`): no solution leaks, and every exercise says "not yet".

Each student notebook is built by tools/student.py and run top to bottom in fast mode from a
fresh kernel: nothing may fail (no later cell may need a solved exercise), and every exercise
check must report "not yet" — never "passed" — because its stub is unsolved.
"""

from __future__ import annotations

import json
import re
import sys

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from notebook_utils import NOTEBOOK_DIR, ROOT, lesson_notebooks

sys.path.insert(0, str(ROOT / "tools"))
import student

LESSONS = lesson_notebooks()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("classroom")
    student.build(out)
    return out


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _solution_lines(cells) -> list[str]:
    """Lines only the solution cells hold: code of 25+ characters that appears in no other cell
    (a stub repeats the ``def`` line, and a later cell may repeat a formula on purpose)."""
    solution = [c for c in cells if "solution" in c.get("metadata", {}).get("tags", [])]
    rest = "\n".join("".join(c["source"]) for c in cells if c not in solution)
    lines = []
    for cell in solution:
        for line in "".join(cell["source"]).splitlines():
            bare = line.strip()
            if len(bare) >= 25 and not bare.startswith("#") and bare not in rest:
                lines.append(bare)
    return lines


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_student_copy_holds_no_solution(built, path):
    original = _cells(path)
    copy = _cells(built / "student" / path.name)
    distinctive = _solution_lines(original)
    assert distinctive, f"{path.name}: no solution lines to look for"
    text = "\n".join("".join(c["source"]) for c in copy)
    leaked = [line for line in distinctive if line in text]
    assert not leaked, f"{path.name}: solution lines in the student copy: {leaked[:3]}"
    assert not any(c.get("outputs") for c in copy if c["cell_type"] == "code")
    # everything else is identical and in order
    dropped = {"solution", "test"}
    kept = [c for c in original if not dropped & set(c.get("metadata", {}).get("tags", []))]
    assert [c["source"] for c in copy] == [c["source"] for c in kept]
    # the solutions notebook has every solution, expanded
    solutions = [c for c in original if "solution" in c.get("metadata", {}).get("tags", [])]
    sol = _cells(built / "solutions" / path.name)
    assert ["".join(c["source"]) for c in sol if c["cell_type"] == "code"] == [
        "".join(c["source"]) for c in solutions
    ]
    assert not any(c["metadata"].get("jupyter", {}).get("source_hidden") for c in sol)


def test_leak_detector_finds_a_leak():
    # the check above must be able to fail: the original, which keeps its solutions, leaks
    path = LESSONS[1]
    cells = _cells(path)
    text = "\n".join("".join(c["source"]) for c in cells)
    assert any(line in text for line in _solution_lines(cells))


_CARD = re.compile(r"not yet|&#10004; passed|reference solution")


@pytest.mark.notebooks
@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_student_notebook_runs_and_says_not_yet(built, path, monkeypatch, tmp_path):
    monkeypatch.setenv("CL_LESSONS_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    nb = nbformat.read(built / "student" / path.name, as_version=4)
    client = NotebookClient(
        nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(NOTEBOOK_DIR)}}
    )
    try:
        client.execute()
    except CellExecutionError as err:
        pytest.fail(f"student copy of {path.name} failed:\n{err}", pytrace=False)
    cards = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "cl.exercises.check_" not in cell.source:
            continue
        html = " ".join(
            str(o.get("data", {}).get("text/html", "")) for o in cell.outputs if "data" in o
        )
        cards.append(_CARD.findall(html))
    assert cards, f"{path.name}: no exercise check ran"
    assert all(found == ["not yet"] for found in cards), f"{path.name}: {cards}"

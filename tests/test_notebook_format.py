"""Every lesson notebook is committed clean and follows the lesson format of DESIGN.md."""

from __future__ import annotations

import json
import re

import pytest
from notebook_utils import lesson_notebooks

NOTEBOOKS = lesson_notebooks()
IDS = [p.stem for p in NOTEBOOKS]


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_without_outputs(path):
    nb = _load(path)
    dirty = [
        i
        for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: code cells {dirty} carry outputs or execution counts"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_lesson_format(path):
    nb = _load(path)
    cells = nb["cells"]
    code = "\n".join(_source(c) for c in cells if c["cell_type"] == "code")
    text = "\n".join(_source(c) for c in cells if c["cell_type"] == "markdown")
    assert "import *" not in code, "no `import *` in notebooks"
    assert "import cl_lessons as cl" in code
    assert "cl.seed_everything(" in code
    first_md = next(_source(c) for c in cells if c["cell_type"] == "markdown")
    assert re.search(r"(objectives|you will)", first_md, re.I), "objectives come first"
    assert re.search(r"#+ *Summary", text), "a summary section is missing"
    assert re.search(r"misconception", text, re.I), "a 'common misconception' note is missing"
    checks = set(re.findall(r"cl\.exercises\.(check_\w+)", code))
    assert len(checks) >= 1 if path.stem.startswith("00") else len(checks) >= 2, checks
    hidden = [c for c in cells if c.get("metadata", {}).get("jupyter", {}).get("source_hidden")]
    assert hidden, "exercise solutions belong in collapsed (source_hidden) cells"
    if not path.stem.startswith("00"):
        assert re.search(r"#+ *References", text), "a References section is missing"
        assert "cl.widgets." in code, "every lesson has at least one slider app"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_exercise_checks_exist(path):
    from cl_lessons import exercises

    code = "\n".join(_source(c) for c in _load(path)["cells"] if c["cell_type"] == "code")
    for name in set(re.findall(r"cl\.exercises\.(check_\w+)", code)):
        assert name in exercises.__all__, (
            f"{path.name} calls cl.exercises.{name}, which is not exported"
        )


def test_every_lesson_check_is_exported():
    import importlib
    import pkgutil

    from cl_lessons import exercises

    for info in pkgutil.iter_modules(exercises.__path__):
        if info.name.startswith("lesson"):
            module = importlib.import_module(f"cl_lessons.exercises.{info.name}")
            for name in module.__all__:
                assert name in exercises.__all__, f"{info.name}.{name} is not re-exported"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_solution_cells_label_their_card_as_the_reference_solution(path):
    # a learner who expands a solution must not read its "passed" as their own result
    for i, cell in enumerate(_load(path)["cells"]):
        if "solution" not in cell.get("metadata", {}).get("tags", []):
            continue
        calls = re.findall(r"cl\.exercises\.check_\w+\([^\n]*\)", _source(cell))
        assert calls, f"{path.name} cell {i}: a solution cell without a check call"
        for call in calls:
            assert "reference=True" in call, f"{path.name} cell {i}: {call}"


def test_a_reference_result_never_looks_like_the_learners_success():
    from cl_lessons.exercises import check_euclidean

    def right(a, b):
        return (a - b).pow(2).sum(-1).sqrt()

    mine, ref = check_euclidean(right), check_euclidean(right, reference=True)
    assert mine and ref  # both pass
    assert "passed" in mine._repr_html_() and "reference solution" not in mine._repr_html_()
    card = ref._repr_html_()
    assert "reference solution" in card and "&#10004; passed" not in card
    assert repr(ref).startswith("[REFERENCE SOLUTION PASSED]")

"""The teacher's guide (docs/teaching.md) covers every lesson, in step with the notebooks."""

from __future__ import annotations

import json
import re

import pytest
from notebook_utils import ROOT, lesson_notebooks

GUIDE = ROOT / "docs" / "teaching.md"
NOTEBOOKS = lesson_notebooks()
IDS = [p.stem for p in NOTEBOOKS]
PENDING = "TIMES_PENDING"


def _sections() -> dict[str, str]:
    """The guide's level-2 sections: heading line -> the text up to the next level-2 heading."""
    sections, heading, lines = {}, None, []
    for line in GUIDE.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            if heading is not None:
                sections[heading] = "\n".join(lines)
            heading, lines = line, []
        else:
            lines.append(line)
    if heading is not None:
        sections[heading] = "\n".join(lines)
    return sections


def _lesson_section(path) -> str:
    number = path.stem[:2]
    found = [text for heading, text in _sections().items() if heading.startswith(f"## {number} ")]
    assert len(found) == 1, f"the guide needs exactly one '## {number} · …' section for {path.name}"
    return found[0]


def _checks_used(path) -> set[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return set(re.findall(r"cl\.exercises\.(check_\w+)", code))


def test_guide_sections_parse():
    # the parser the tests below rely on: a level-2 heading starts a section, ### does not
    assert len(_sections()) >= len(NOTEBOOKS) + 1  # the lessons and "Running a class"
    assert any(h.startswith("## Running a class") for h in _sections())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_guide_has_a_section_per_lesson(path):
    text = _lesson_section(path)
    assert f"](../notebooks/{path.name})" in text, f"the section does not link {path.name}"
    assert "45-minute plan" in text, "the section has no 45-minute plan"
    assert re.search(r"^\| \d+–45 \|", text, re.M), "the plan's last block should end at minute 45"
    assert "**Slider experiment" in text or "**Text-box experiment" in text
    assert "**Common student questions.**" in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_guide_lists_the_lessons_exercises(path):
    from cl_lessons import exercises

    named = set(re.findall(r"cl\.exercises\.(check_\w+)", _lesson_section(path)))
    assert named, "the section names no cl.exercises.check_* checker"
    unknown = sorted(named - set(exercises.__all__))
    assert not unknown, f"the guide names checkers that do not exist: {unknown}"
    missing = sorted(_checks_used(path) - named)
    assert not missing, f"{path.name} uses checkers the guide does not list: {missing}"
    for name in named:  # each one with a difficulty in its table row
        row = next(line for line in _lesson_section(path).splitlines() if name in line)
        assert re.search(r"\| (easy|medium|hard) \|", row), f"no difficulty for {name}: {row}"


def _time_rows() -> dict[str, list[str]]:
    """The time table's rows: lesson number -> its cells."""
    rows = {}
    for line in _sections()["## Running a class"].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"\d\d", cells[0]):
            rows[cells[0]] = cells
    return rows


def test_time_table_has_a_row_per_lesson():
    rows = _time_rows()
    assert sorted(rows) == sorted(p.stem[:2] for p in NOTEBOOKS)
    for path in NOTEBOOKS:
        assert f"(../notebooks/{path.name})" in rows[path.stem[:2]][1]


def test_time_table_holds_measured_times():
    # Fails until the measured full-mode times (artifacts/notebook-times-full.json, written by
    # `make full`) replace the placeholders: the guide must not ship without them.
    text = GUIDE.read_text(encoding="utf-8")
    assert PENDING not in text, f"{text.count(PENDING)} time cells of the guide still say {PENDING}"
    for number, cells in _time_rows().items():
        for cell in cells[2:]:
            assert re.search(r"\d", cell), f"lesson {number}: {cell!r} is not a measured time"


def test_times_tool_fills_the_table():
    import sys

    from notebook_utils import ROOT

    sys.path.insert(0, str(ROOT / "tools"))
    import times

    guide = (
        "| # | lesson | wall | cpu |\n| 00 | [welcome](../notebooks/00_welcome.ipynb) | x | y |\n"
    )
    out = times.fill(
        guide, {"00_welcome": {"wall_s": 3.14, "kernel_cpu_s": 2.6}, "07_a-seed+1": {}}
    )
    assert "| 00 | [welcome](../notebooks/00_welcome.ipynb) | 3 | 3 |" in out
    assert out.splitlines()[0] == "| # | lesson | wall | cpu |"

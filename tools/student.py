"""Build the classroom edition's notebooks: student copies without solutions, and the solutions.

    python tools/student.py [--out build]

writes ``build/student/NN_*.ipynb``: every lesson with the cells tagged ``solution`` removed
(the exercise stubs stay, so each checker reports "not yet" until the student solves it) and
the cells tagged ``test`` removed (cells that only exercise the lesson's own apps or reuse a
solved exercise: they belong to the course's tests, not to the student's notebook); everything
else is identical, outputs cleared. ``build/solutions/NN_*.ipynb`` holds, per lesson, each
exercise's statement (the markdown cell before its stub) and its reference solution, expanded.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SOLUTION, TEST = "solution", "test"


def tags(cell: dict) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _clean(cell: dict) -> dict:
    cell = copy.deepcopy(cell)
    if cell["cell_type"] == "code":
        cell["outputs"], cell["execution_count"] = [], None
    return cell


def student_copy(nb: dict) -> dict:
    """The notebook without its solution and test cells."""
    out = copy.deepcopy(nb)
    out["cells"] = [
        _clean(c) for c in nb["cells"] if SOLUTION not in tags(c) and TEST not in tags(c)
    ]
    return out


def solutions_copy(nb: dict, title: str) -> dict:
    """Each exercise's statement (the markdown cell before its stub) and its solution, shown."""
    out = copy.deepcopy(nb)
    cells = [
        {
            "cell_type": "markdown",
            "id": "solutions-title",
            "metadata": {},
            "source": f"# Solutions: {title}\n\nReference solutions of the lesson's exercises.",
        }
    ]
    last_markdown = None
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            last_markdown = cell
        if SOLUTION in tags(cell):
            if last_markdown is not None and last_markdown not in cells:
                cells.append(_clean(last_markdown))
            shown = _clean(cell)
            shown["metadata"] = {"tags": [SOLUTION]}  # expanded: no source_hidden
            cells.append(shown)
    out["cells"] = cells
    return out


def write(nb: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def build(out: Path) -> list[Path]:
    """Write every lesson's student copy and solutions under ``out``; return the student copies.

    ``assets/`` is copied to ``out/assets`` so the lessons' ``../assets/…`` images resolve.
    """
    written = []
    if (ROOT / "assets").is_dir():
        shutil.copytree(ROOT / "assets", out / "assets", dirs_exist_ok=True)
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        if not any(SOLUTION in tags(c) for c in nb["cells"]):
            raise ValueError(f"{path.name} has no cell tagged {SOLUTION!r}")
        first = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
        title = source(first).splitlines()[0].lstrip("# ").strip()
        write(student_copy(nb), out / "student" / path.name)
        write(solutions_copy(nb, title), out / "solutions" / path.name)
        written.append(out / "student" / path.name)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="output folder")
    args = parser.parse_args()
    written = build(args.out)
    print(
        f"{len(written)} student notebooks in {args.out / 'student'}, solutions in "
        f"{args.out / 'solutions'}"
    )


if __name__ == "__main__":
    main()

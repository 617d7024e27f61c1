"""Write the measured full-mode times into the teacher's guide's time table.

    python tools/times.py [--times artifacts/notebook-times-full.json]

``make full`` records each lesson's wall and kernel CPU time (tests/test_notebooks.py); this
script puts them into the table of ``docs/teaching.md`` (rows ``| NN | [name](...) | wall | cpu |``)
and prints the range, for the sentences of the README and lesson 00. Quote only a run on a quiet
machine (check ``uptime``).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| (\d\d) \| (\[[^\]]+\]\([^)]+\)) \| [^|]* \| [^|]* \|$")


def fill(guide: str, times: dict) -> str:
    """``guide`` with the time table's cells replaced by the measured ``times``."""
    by_number = {stem[:2]: t for stem, t in times.items() if re.fullmatch(r"\d\d_\w+", stem)}
    lines = []
    for line in guide.splitlines():
        m = ROW.match(line)
        if m and m.group(1) in by_number:
            t = by_number[m.group(1)]
            line = f"| {m.group(1)} | {m.group(2)} | {t['wall_s']:.0f} | {t['kernel_cpu_s']:.0f} |"
        lines.append(line)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--times", type=Path, default=ROOT / "artifacts" / "notebook-times-full.json"
    )
    args = parser.parse_args()
    times = json.loads(args.times.read_text(encoding="utf-8"))
    guide = ROOT / "docs" / "teaching.md"
    guide.write_text(fill(guide.read_text(encoding="utf-8"), times), encoding="utf-8")
    lessons = {s: t for s, t in times.items() if re.fullmatch(r"\d\d_\w+", s)}
    walls = sorted((t["wall_s"], s) for s, t in lessons.items())
    print(
        f"{len(lessons)} lessons: {walls[0][0]:.0f} s ({walls[0][1]}) to {walls[-1][0]:.0f} s "
        f"({walls[-1][1]}), {sum(w for w, _ in walls):.0f} s in all"
    )


if __name__ == "__main__":
    main()

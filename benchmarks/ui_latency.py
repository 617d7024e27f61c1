"""Key press to figure change, in a real browser, for every slider app of lessons 00-06.

Starts JupyterLab (fast mode unless CL_LESSONS_FAST=0 is set) and headless Chromium with the UI
tests' driver (tests/ui/labdriver.py), runs each lesson, then for every slider presses an arrow key
on its handle and times, inside the page, from the keydown event to the moment the figure next to
the slider changes (image source or canvas pixels, checked every animation frame). Each press waits
for the kernel to go idle and the figure to settle before the next one. A slider shown twice (the
same app displayed again) is measured once.

Target: median <= 250 ms for sliders that do not retrain. Sliders marked with the CSS class
`cl-retrain` retrain a model on release: they are measured with fewer presses and have no target.

Usage:
    .venv/bin/python benchmarks/ui_latency.py [--presses 10] [--last-lesson 6]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "ui"), str(ROOT / "tests")]

from labdriver import (  # noqa: E402
    FIGURE_TIMEOUT_S,
    RETRAIN_TIMEOUT_S,
    RUN_TIMEOUT_S,
    LabPage,
    browser_missing_reason,
    launch_browser,
    measure_latency,
    running_lab,
    summarize,
)
from notebook_utils import lesson_notebooks  # noqa: E402

TARGET_MS = 250.0
RETRAIN_PRESSES = 3


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=10, help="key presses per slider")
    parser.add_argument("--last-lesson", type=int, default=6, help="highest lesson number")
    args = parser.parse_args()
    os.environ.setdefault("CL_LESSONS_FAST", "1")  # the lab server passes it to the kernels

    if reason := browser_missing_reason():
        print(f"cannot measure: {reason}")
        return 2
    from playwright.sync_api import sync_playwright

    lessons = [p for p in lesson_notebooks() if int(p.name[:2]) <= args.last_lesson]
    print(f"lessons: {', '.join(p.stem for p in lessons)}")
    print(f"load average at start: {load()} ({os.cpu_count()} CPUs)")
    rows, misses = [], 0
    start = time.monotonic()
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_lab(Path(tmp)) as server,
        sync_playwright() as playwright,
    ):
        browser = launch_browser(playwright)
        lab = LabPage(browser, server)
        for notebook in lessons:
            try:
                lab.open(f"notebooks/{notebook.name}")
                finished, _ = lab.run_all(RUN_TIMEOUT_S)
                lab.wait_widgets_rendered()
                errors, _ = lab.model_problems()
                if not finished or errors:
                    why = errors[0][:60] if errors else "timed out"
                    rows.append(
                        (notebook.stem, "-", f"Run All failed: {why}", "", "", 0, None, None, "")
                    )
                    continue
                seen = set()
                for state in lab.slider_states():
                    if state["app"] in seen or state["disabled"]:
                        continue
                    seen.add(state["app"])
                    retrain = state["retrain"]
                    times = measure_latency(
                        lab,
                        state["index"],
                        presses=RETRAIN_PRESSES if retrain else args.presses,
                        timeout=RETRAIN_TIMEOUT_S if retrain else FIGURE_TIMEOUT_S,
                    )
                    median, p90 = summarize(times)
                    if retrain:
                        verdict = "n/a (retrain)"
                    elif median <= TARGET_MS:
                        verdict = "ok"
                    else:
                        verdict, misses = "MISS", misses + 1
                    rows.append(
                        (notebook.stem, state["cell"], state["label"], state["kind"],
                         "yes" if retrain else "", len(times), median, p90, verdict)
                    )  # fmt: skip
            finally:
                lab.close_notebook()
        browser.close()

    header = ("lesson", "cell", "slider", "figure", "retrain", "n", "median ms", "p90 ms", "target")
    table = [header] + [
        (
            *r[:6],
            "-" if r[6] is None else f"{r[6]:.0f}",
            "-" if r[7] is None else f"{r[7]:.0f}",
            r[8],
        )
        for r in rows
    ]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for n, row in enumerate(table):
        print(" | ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))
        if n == 0:
            print("-+-".join("-" * w for w in widths))
    print(f"target: median <= {TARGET_MS:.0f} ms for sliders that do not retrain; misses: {misses}")
    print(f"load average at end: {load()}; total {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

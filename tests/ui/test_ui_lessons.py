"""Every lesson, in a real JupyterLab in Chromium: Run All, no errors, sliders move figures.

Lessons are discovered, so a new notebook in notebooks/ is covered the moment it lands.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from labdriver import SCREENSHOT_DIR, LabPage, NotebookReport, check_notebook
from notebook_utils import NOTEBOOK_DIR, lesson_notebooks

LESSONS = lesson_notebooks()


@pytest.fixture(scope="module")
def lesson_report(lab: LabPage) -> Callable[[Path], NotebookReport]:
    """Check each lesson once per session, whichever test asks first."""
    cache: dict[Path, NotebookReport] = {}

    def get(notebook: Path) -> NotebookReport:
        if notebook not in cache:
            cache[notebook] = check_notebook(
                lab,
                f"notebooks/{notebook.name}",
                screenshot=SCREENSHOT_DIR / f"{notebook.stem}.png",
            )
        return cache[notebook]

    return get


@pytest.mark.ui
@pytest.mark.parametrize("notebook", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_works_in_browser(lesson_report, notebook: Path) -> None:
    report = lesson_report(notebook)
    for slider in report.sliders:
        print(
            f"{notebook.stem} slider {slider.index} {slider.label!r} [{slider.kind}"
            f"{', retrain' if slider.retrain else ''}]: {slider.readout_before} -> "
            f"{slider.readout_after}, figure changed: {slider.figure_changed} "
            f"({slider.seconds:.2f} s)"
        )
    print(f"{notebook.stem}: Run All {report.run_seconds:.1f} s, screenshot {report.screenshot}")
    problems = report.problems()
    assert not problems, f"{notebook.name} in the browser:\n  " + "\n  ".join(problems)


@pytest.mark.ui
def test_welcome_slider_is_found_and_moves(lesson_report) -> None:
    """Guards the discovery itself: lesson 00's angle slider must be found and drive its image,
    so a change in the widgets' DOM cannot make every lesson pass with zero sliders checked."""
    report = lesson_report(NOTEBOOK_DIR / "00_welcome.ipynb")
    assert [(s.label, s.kind) for s in report.sliders] == [("angle θ (°)", "img")]
    (slider,) = report.sliders
    assert slider.figure_changed
    assert (slider.readout_before, slider.readout_after) == ("60", "75")  # step 5, three presses

"""The lessons in Jupyter Notebook 7, the other front end the README calls tested.

Notebook 7 is built from JupyterLab 4's components and widget manager, so the same checks apply:
Run All without an error, every app rendered, every slider and text box moving its own figure,
nothing cut off or distorted. Lessons 00 and 01 cover the image apps and the exercise cards;
the text boxes (test_ui_text.py) and an app on an ipympl canvas (test_ui_checker.py) are
checked in both front ends. Lessons run in fast mode here: the front end, not the model sizes,
is under test (the JupyterLab layer runs every lesson in full mode). Sliders are dragged with
the mouse, since Notebook 7 keeps the arrow keys (the last test pins that).
"""

from __future__ import annotations

import pytest
from labdriver import SCREENSHOT_DIR, NotebookPage, check_notebook

LESSONS = ["00_welcome", "01_distances"]


@pytest.mark.ui
def test_server_is_notebook_7(notebook_page: NotebookPage) -> None:
    """Guards the test itself: the page must be Notebook 7's, not JupyterLab's."""
    assert notebook_page.js("window.jupyterapp.name") == "Jupyter Notebook"
    assert notebook_page.page.query_selector("#jp-main-dock-panel") is None


@pytest.mark.ui
@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_works_in_notebook_7(notebook_page: NotebookPage, lesson: str) -> None:
    report = check_notebook(
        notebook_page,
        f"notebooks/{lesson}.ipynb",
        screenshot=SCREENSHOT_DIR / f"notebook7-{lesson}.png",
    )
    print(
        f"{lesson} in Notebook 7: Run All {report.run_seconds:.1f} s, "
        f"{len(report.sliders)} sliders, {len(report.texts)} text boxes"
    )
    problems = report.problems()
    assert not problems, f"{lesson} in Notebook 7:\n  " + "\n  ".join(problems)
    assert report.sliders, "no slider found: the checks above passed vacuously"


@pytest.mark.ui
def test_arrow_keys_on_a_slider_go_to_notebook_7(notebook_page: NotebookPage) -> None:
    """Pins the README's front-end table: in Notebook 7 a focused slider does not get the arrow
    keys (Notebook 7's shortcuts run first and move the cell cursor), so learners there use the
    mouse. When this fails, Notebook 7 has fixed it: update the README and move the sliders
    with the keyboard in this file as the JupyterLab layer does."""
    notebook_page.open("notebooks/00_welcome.ipynb")
    try:
        finished, _ = notebook_page.run_all(timeout=120)
        assert finished
        notebook_page.wait_widgets_rendered()
        (slider,) = [s for s in notebook_page.slider_states() if s["label"] == "angle θ (°)"]
        before = notebook_page.state(slider["index"])["value"]
        notebook_page.press(slider["index"], "ArrowRight", 3)
        notebook_page.page.wait_for_timeout(500)
        assert notebook_page.state(slider["index"])["value"] == before
        assert notebook_page.js("!!document.activeElement.closest('.jp-Cell')")
        assert not notebook_page.js("!!document.activeElement.closest('.widget-slider')")
    finally:
        notebook_page.close_notebook()

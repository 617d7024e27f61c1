"""The UI checker must be able to fail: run it on deliberately broken fixture notebooks.

tests/ui/fixtures/ is served as ui_fixtures/. broken_widget.ipynb holds a working app (control),
an app whose callback raises, one whose slider is not wired to its figure, one that redraws but
then prints a traceback in the app, one that redraws an empty axes, one that also redraws the
first app's figure, a dropdown whose description is cut off, and a widget that cannot be
displayed;
error_cell.ipynb raises in a cell; ipympl_app.ipynb is a working canvas
app with a `cl-retrain` slider; ipympl_course_app.ipynb shows a cl_lessons app on an ipympl canvas.
"""

from __future__ import annotations

import pytest
from labdriver import LabPage, SliderResult, check_notebook

# Broken sliders are expected to time out: keep that wait short here.
FIGURE_TIMEOUT_S = 4.0


@pytest.mark.ui
def test_checker_fails_on_broken_widgets(lab: LabPage) -> None:
    report = check_notebook(lab, "ui_fixtures/broken_widget.ipynb", figure_timeout=FIGURE_TIMEOUT_S)
    by_label = {s.label: s for s in report.sliders}
    assert sorted(by_label) == ["crosstalk", "empties", "raises", "reports", "unwired", "working"]
    assert by_label["working"].problem() is None
    assert by_label["working"].readout_after == "4"  # 1 + three ArrowRight presses
    for label in ("raises", "unwired"):
        slider = by_label[label]
        assert slider.kind == "img"
        assert not slider.figure_changed
        assert slider.readout_after == "4"  # the front end moved: only the figure is stuck
        assert "did not change" in slider.problem()
    reports = by_label["reports"]
    assert reports.figure_changed and reports.traceback_shown
    assert "traceback" in reports.problem()
    empties = by_label["empties"]
    assert empties.figure_changed and not empties.plausible
    assert "looks empty" in empties.problem()
    assert by_label["working"].plausible and by_label["working"].ink_after[1] > 0.005
    crosstalk = by_label["crosstalk"]
    assert crosstalk.figure_changed and crosstalk.plausible
    assert len(crosstalk.foreign_changed) == 1, crosstalk.foreign_changed
    assert "other apps' figures" in crosstalk.problem()
    assert by_label["working"].foreign_changed == []
    assert len(report.widget_errors) == 1, report.widget_errors
    print(report.widget_errors)
    problems = report.problems()
    assert len(report.truncated) == 1 and "far too long" in report.truncated[0], report.truncated
    assert len(problems) == 7, problems
    assert report.errors == [] and report.unexecuted == []


@pytest.mark.ui
def test_checker_fails_on_traceback(lab: LabPage) -> None:
    report = check_notebook(lab, "ui_fixtures/error_cell.ipynb", figure_timeout=FIGURE_TIMEOUT_S)
    assert report.run_finished
    assert report.errors == ["cell 2: ValueError: deliberate failure for the UI checker"]
    assert report.unexecuted == [3]  # the cell after the failure never ran
    assert len(report.problems()) == 2


@pytest.mark.ui
def test_checker_sees_canvas_figures(lab: LabPage) -> None:
    report = check_notebook(lab, "ui_fixtures/ipympl_app.ipynb")
    assert report.problems() == []
    kinds = [(s.label, s.kind, s.retrain, s.figure_changed) for s in report.sliders]
    assert kinds == [
        ("frequency", "canvas", False, True),
        ("phase", "canvas", True, True),
    ]


@pytest.mark.parametrize(
    ("before", "after", "value", "ok"),
    [
        ("60", "75", "75.0", True),  # IntSlider, step 5, three presses
        ("60", "60", "75.0", False),  # readout stuck
        ("0.564", "0.564", "0.5643", True),  # fine step: moved less than the last digit
        ("0.564", "0.564", "0.5652", False),  # moved a digit, readout stuck
        ("16", "128", "2.0", True),  # SelectionSlider: option label vs handle index
        ("16", "16", "2.0", False),
        ("1 – 5", "4 – 5", "4.0", True),  # range slider
        (None, None, "3.0", True),  # readout=False: nothing to check
        ("3", None, "4.0", False),  # readout vanished
    ],
)
def test_readout_rule(before, after, value, ok) -> None:
    """No browser needed: the rule that decides whether a readout followed its handle."""
    result = SliderResult(0, "s", "img", False, True, before, after, value)
    assert result.readout_ok is ok
    assert (result.problem() is None) is ok


@pytest.mark.ui
def test_course_app_draws_on_an_ipympl_canvas(front_end: LabPage) -> None:
    # App._start once drew the canvas before the browser displayed it, which left it blank
    report = check_notebook(front_end, "ui_fixtures/ipympl_course_app.ipynb")
    assert report.problems() == []
    assert [(s.label, s.kind, s.figure_changed) for s in report.sliders] == [
        ("margin", "canvas", True)
    ]

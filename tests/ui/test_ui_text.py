"""The text-box step of the UI checker must be able to fail: a wired and an unwired text box.

tests/ui/fixtures/text_box.ipynb (served as ui_fixtures/) holds an app whose figure shows the text
its box last sent, and the same app with the box not wired to the figure.
"""

from __future__ import annotations

import pytest
from labdriver import TYPED_TEXT, LabPage, check_notebook


@pytest.mark.ui
def test_checker_types_into_text_boxes_and_fails_on_an_unwired_one(front_end: LabPage) -> None:
    report = check_notebook(front_end, "ui_fixtures/text_box.ipynb", figure_timeout=4.0)
    by_label = {t.label: t for t in report.texts}
    assert sorted(by_label) == ["unwired", "wired"]
    assert by_label["wired"].figure_changed and by_label["wired"].problem() is None
    assert by_label["wired"].typed == TYPED_TEXT[0] and by_label["wired"].kind == "img"
    assert not by_label["unwired"].figure_changed
    assert "did not change after typing" in by_label["unwired"].problem()
    assert len(report.problems()) == 1, report.problems()

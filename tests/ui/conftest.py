"""Fixtures of the browser UI layer: one JupyterLab server and one Chromium for the session.

Without Playwright or Chromium the UI tests skip with the reason, except under CI=true, where
a missing browser is an error (CI installs Debian's chromium, see .ci/run).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from labdriver import (
    SCREENSHOT_DIR,
    LabPage,
    LabServer,
    NotebookPage,
    browser_missing_reason,
    in_ci,
    launch_browser,
    running_lab,
)

SESSION_START = time.time()


def pytest_report_header(config: pytest.Config) -> str:
    return f"UI screenshots: {SCREENSHOT_DIR}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    shots = [p for p in SCREENSHOT_DIR.glob("*.png") if p.stat().st_mtime >= SESSION_START]
    if shots:
        terminalreporter.write_line(f"UI screenshots ({len(shots)}) saved in {SCREENSHOT_DIR}")


@pytest.fixture(scope="session")
def ui_available() -> None:
    reason = browser_missing_reason()
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"CI=true needs the browser UI layer, but {reason}", pytrace=False)
    pytest.skip(f"browser UI tests need a browser: {reason}")


@pytest.fixture(scope="session")
def lab_server(ui_available: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    with running_lab(tmp_path_factory.mktemp("jupyterlab")) as server:
        yield server


@pytest.fixture(scope="session")
def browser(ui_available: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_browser(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def lab(browser: Any, lab_server: LabServer) -> Iterator[LabPage]:
    page = LabPage(browser, lab_server)
    try:
        yield page
    finally:
        page.close()


@pytest.fixture(scope="session")
def notebook_server(
    ui_available: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabServer]:
    """Jupyter Notebook 7 serving the same files, in fast mode: its tests check the front end,
    not the lessons at a learner's sizes (the JupyterLab layer runs those)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CL_LESSONS_FAST", "1")
        with running_lab(tmp_path_factory.mktemp("notebook7"), "notebook") as server:
            yield server


@pytest.fixture(scope="session")
def notebook_page(browser: Any, notebook_server: LabServer) -> Iterator[NotebookPage]:
    page = NotebookPage(browser, notebook_server)
    try:
        yield page
    finally:
        page.close()


@pytest.fixture(params=["lab", "notebook"], ids=["jupyterlab", "notebook7"])
def front_end(request: pytest.FixtureRequest) -> LabPage:
    """A test that takes this runs in JupyterLab 4 and in Notebook 7."""
    return request.getfixturevalue("lab" if request.param == "lab" else "notebook_page")

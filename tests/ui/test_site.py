"""The course site (`make site`), opened page by page in Chromium as a reader would.

Every page loads without a console error or a failed request, every image loads, every link
between pages resolves, MathJax (served by the site itself) typesets the math, solutions are
folded, and every app of the executed lesson shows as its static figure. The site is built by
tools/site.py from the lessons `make full` executed; `make site` does both, then runs this file.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from labdriver import ROOT, SCREENSHOT_DIR, free_port
from notebook_utils import lesson_notebooks

SITE = Path(os.environ.get("CL_SITE_DIR", ROOT / "build" / "site"))
EXECUTED = Path(os.environ.get("CL_EXECUTED_DIR", ROOT / "artifacts" / "executed-full"))
LESSONS = lesson_notebooks()
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def site_url(ui_available):
    if not (SITE / "index.html").exists():
        pytest.fail(f"no site in {SITE}: build it first with `make site`", pytrace=False)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SITE))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def reader(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context
    finally:
        context.close()


def _visit(reader, url: str) -> tuple[object, list[str]]:
    page = reader.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.goto(url, wait_until="load")
    return page, problems


def _app_figures(stem: str) -> list[str]:
    """The PNGs (base64) the lesson's apps carried when `make full` executed it."""
    nb = json.loads((EXECUTED / f"{stem}.ipynb").read_text(encoding="utf-8"))
    return [
        "".join(out["data"]["image/png"]).replace("\n", "")
        for cell in nb["cells"]
        for out in cell.get("outputs", [])
        if WIDGET_VIEW in out.get("data", {}) and "image/png" in out.get("data", {})
    ]


def test_index_lists_every_lesson(site_url, reader):
    page, problems = _visit(reader, f"{site_url}/index.html")
    try:
        hrefs = page.eval_on_selector_all("a[href]", "as => as.map(a => a.getAttribute('href'))")
        assert hrefs == [f"{p.stem}.html" for p in LESSONS]
        assert problems == []
    finally:
        page.close()


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_page(site_url, reader, lesson):
    page, problems = _visit(reader, f"{site_url}/{lesson.stem}.html")
    try:
        # MathJax 3 (from the site's _static/): wait until it has typeset the page
        page.wait_for_function("window.MathJax && MathJax.startup", timeout=30_000)
        page.evaluate("() => MathJax.startup.promise")
        page.wait_for_load_state("networkidle")
        source = (lesson.parent / lesson.name).read_text(encoding="utf-8")
        if "$" in source:
            typeset = page.eval_on_selector_all("mjx-container", "e => e.length")
            assert typeset > 0, "no math was typeset"
            raw = page.evaluate(
                "() => [...document.querySelectorAll('.jp-MarkdownOutput')]"
                ".some(e => /\\$[^$\\s][^$]*\\$/.test(e.innerText))"
            )
            assert not raw, "raw $...$ left in the text"
        broken = page.evaluate(
            "() => [...document.images].filter(i => !i.complete || !i.naturalWidth)"
            ".map(i => i.src.slice(0, 80))"
        )
        assert broken == [], broken
        links = page.eval_on_selector_all("a[href]", "as => as.map(a => a.href)")
        for href in links:
            url = urlparse(href)
            if url.hostname != "127.0.0.1":
                continue
            target = SITE / url.path.lstrip("/")
            assert target.exists(), f"link to {url.path} does not resolve"
        nav = page.eval_on_selector_all("nav.cl-nav a", "as => as.map(a => a.textContent)")
        assert nav[0] == "Contents" and len(nav) >= 2
        solutions = page.eval_on_selector_all("details.cl-solution", "d => d.map(x => x.open)")
        assert solutions and not any(solutions), "solutions must be folded"
        html_text = page.content()
        figures = _app_figures(lesson.stem)
        missing = [i for i, png in enumerate(figures) if png[:200] not in html_text]
        assert not missing, f"app figures missing from the page: {missing} of {len(figures)}"
        assert problems == [], problems
        if lesson.stem.startswith("05"):
            SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT_DIR / "site-05.png"), full_page=False)
    finally:
        page.close()


def test_the_figure_check_can_fail(tmp_path):
    # a PNG that is not on a page is reported: the comparison is not vacuous
    png = base64.b64encode(b"\x89PNG not a real figure").decode()
    assert png[:200] not in (SITE / "index.html").read_text(encoding="utf-8")

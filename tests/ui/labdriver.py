"""Drive a real JupyterLab in headless Chromium: the shared code of the UI tests and benchmark.

`LabServer` starts `jupyter lab` on a temporary copy of the notebooks, `launch_browser` starts
Debian's Chromium through Playwright, `LabPage` is one JupyterLab tab, and `check_notebook` runs a
notebook there and reports what a learner would see go wrong: tracebacks, cells that never ran,
"Error displaying widget", sliders whose figure or readout does not follow the keyboard.
`measure_latency` times a key press to the figure's change (benchmarks/ui_latency.py).

DOM contract (ipywidgets 8 in JupyterLab 4):
- a slider is `.widget-slider` (IntSlider, FloatSlider, SelectionSlider, range sliders); its
  keyboard target is the noUiSlider handle `.noUi-handle` (`tabindex=0`), its value
  `.noUi-target`'s `noUiSlider.get(true)` (`aria-valuenow` is rounded), its readout
  `.widget-readout`;
- the figure next to a slider is every `img` (ipywidgets.Image) and `canvas` (ipympl) inside the
  nearest enclosing element, up to the cell (`.jp-Cell`), that holds one; when none exists up to
  the cell, the text of the cell's outputs outside the slider stands in for the figure;
- an app that catches its callback's error and prints it in its output (the status line of
  cl_lessons apps, an Output widget) is caught by Python's "Traceback (most recent call last)";
- a text box is `.widget-text input[type="text"]` (ipywidgets.Text); one per app gets a caption
  typed and Enter pressed (`exercise_text`), and its figure, found as a slider's, must change;
- a slider inside an element with the CSS class `cl-retrain` (`widget.add_class("cl-retrain")`)
  retrains a model: it gets a longer wait and no latency target.
Errors come from the notebook model (outputs of type "error", cells without an execution count)
and from the DOM ("Error displaying widget", ipywidgets 8's `.jupyter-widgets-error-widget`).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHROMIUM = Path(os.environ.get("CL_UI_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOT_DIR = Path(os.environ.get("CL_UI_SCREENSHOTS", ROOT / "artifacts" / "ui-screenshots"))
RETRAIN_CLASS = "cl-retrain"
# Generous: in full mode a lesson takes up to ~2 minutes on a quiet 2-core CPU, more when busy.
RUN_TIMEOUT_S = float(os.environ.get("CL_UI_RUN_TIMEOUT", "480"))
FIGURE_TIMEOUT_S = 20.0
RETRAIN_TIMEOUT_S = 120.0
VIEWPORT = {"width": 1280, "height": 900}
NARROW_WIDTH = 760  # a 1000-px window minus JupyterLab's file browser

# Lab settings for the test server: keep every cell in the DOM, never write the notebooks,
# no news pop-up over the screenshots, no kernel dialog on close.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


# The server application class of each front end, for its command-line options.
FRONT_ENDS = {"lab": "LabApp", "notebook": "JupyterNotebookApp"}


def in_ci() -> bool:
    """True when the environment variable CI is "true" (then a missing browser is an error)."""
    return os.environ.get("CI", "").strip().lower() == "true"


def browser_missing_reason() -> str | None:
    """Why the UI layer cannot run here, or None when Playwright and Chromium are both present."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (pip install -e '.[dev]')"
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CL_UI_CHROMIUM)"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    """`jupyter lab` (or Notebook 7's `jupyter notebook`) on 127.0.0.1 serving a temporary copy
    of the notebooks.

    The server root holds `notebooks/` (a copy of the repository's), `assets/` and `ui_fixtures/`
    (tests/ui/fixtures), so nothing the browser does can change a file of the repository. Config,
    data, runtime, settings and workspace directories are temporary too; the kernel runs in full
    mode, what a learner runs, unless the environment sets CL_LESSONS_FAST=1.

    Args:
        workdir: an empty temporary directory the server may own.
        front_end: "lab" (JupyterLab 4) or "notebook" (Jupyter Notebook 7, built from the same
            components: its pages expose the same `window.jupyterapp`, commands and DOM).
    """

    def __init__(self, workdir: Path, front_end: str = "lab") -> None:
        if front_end not in FRONT_ENDS:
            raise ValueError(f"front_end must be one of {sorted(FRONT_ENDS)}, got {front_end!r}")
        self.front_end = front_end
        self.workdir = Path(workdir)
        self.root = self.workdir / "root"
        self.port = free_port()
        self.token = os.urandom(16).hex()
        self.log_path = self.workdir / f"jupyter-{front_end}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "lab") -> str:
        """Browser URL of a JupyterLab path, with the token."""
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}/{path}{sep}token={self.token}"

    def _prepare(self) -> None:
        self.root.mkdir(parents=True)
        shutil.copytree(ROOT / "notebooks", self.root / "notebooks")
        if (ROOT / "assets").is_dir():
            shutil.copytree(ROOT / "assets", self.root / "assets")
        shutil.copytree(FIXTURES, self.root / "ui_fixtures")
        settings = self.workdir / "settings"
        for name, values in LAB_SETTINGS.items():
            path = settings / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        for sub in ("config", "data", "runtime", "workspaces"):
            (self.workdir / sub).mkdir()

    def start(self, timeout: float = 90.0) -> None:
        """Start the server and wait until /api/status answers with the token.

        Raises:
            RuntimeError: the server exited or did not answer within `timeout` seconds; the
                message holds the end of its log.
        """
        self._prepare()
        jupyter = Path(sys.executable).parent / "jupyter"
        app = FRONT_ENDS[self.front_end]
        cmd = [
            str(jupyter if jupyter.exists() else "jupyter"),
            self.front_end,
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            f"--{app}.user_settings_dir={self.workdir / 'settings'}",
            f"--{app}.workspaces_dir={self.workdir / 'workspaces'}",
            # window.jupyterapp: the test runs the front end's own commands (Run All, open, close).
            f"--{app}.expose_app_in_browser=True",
        ]
        if self.front_end == "lab":
            cmd.append("--LabApp.news_url=")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        env = dict(os.environ)
        env.update(
            CL_LESSONS_FAST=os.environ.get("CL_LESSONS_FAST", "0"),
            JUPYTER_CONFIG_DIR=str(self.workdir / "config"),
            JUPYTER_DATA_DIR=str(self.workdir / "data"),
            JUPYTER_RUNTIME_DIR=str(self.workdir / "runtime"),
            JUPYTERLAB_WORKSPACES_DIR=str(self.workdir / "workspaces"),
            JUPYTER_PLATFORM_DIRS="1",
            PYDEVD_DISABLE_FILE_VALIDATION="1",
        )
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"jupyter {self.front_end} exited with {self.process.returncode}:\n"
                    f"{self.log_tail()}"
                )
            try:
                self.api("GET", "api/status")
                return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(
            f"jupyter {self.front_end} did not answer within {timeout:.0f} s:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def api(self, method: str, path: str) -> Any:
        """Call the REST API with the token; returns the decoded JSON (None for no content)."""
        request = urllib.request.Request(
            f"{self.base_url}/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_sessions(self) -> None:
        """Shut down every kernel session (one notebook runs at a time), freeing CPU and memory."""
        for session in self.api("GET", "api/sessions"):
            self.api("DELETE", f"api/sessions/{session['id']}")
        for kernel in self.api("GET", "api/kernels"):
            self.api("DELETE", f"api/kernels/{kernel['id']}")

    def stop(self) -> None:
        """Terminate the server (it shuts its kernels down), then kill its process group."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)


@contextmanager
def running_lab(workdir: Path, front_end: str = "lab") -> Iterator[LabServer]:
    """A started LabServer that is stopped on exit, whatever happened inside."""
    server = LabServer(workdir, front_end)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def launch_browser(playwright: Any) -> Any:
    """Start headless Chromium (Debian's, not Playwright's download) and return the Browser."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )


# ---------------------------------------------------------------------------- in-page helpers
# The notebook being checked is window.__clNotebook; its node carries data-cl-ui="current".

_JS_HELPERS = r"""
window.__clUI = {
  notebook() { return document.querySelector('[data-cl-ui="current"]'); },
  sliders() {
    const node = this.notebook();
    return node ? [...node.querySelectorAll('.widget-slider')] : [];
  },
  handle(slider) { return slider.querySelector('.noUi-handle'); },
  figures(slider) {
    const stop = slider.closest('.jp-Cell');
    for (let el = slider.parentElement; el && el !== stop; el = el.parentElement) {
      const found = [...el.querySelectorAll('img, canvas')].filter(f => !slider.contains(f));
      if (found.length) return { scope: el, figures: found };
    }
    return { scope: stop ? stop.querySelector('.jp-OutputArea') : null, figures: [] };
  },
  kind(slider) {
    const { figures } = this.figures(slider);
    if (!figures.length) return 'text';
    return figures.some(f => f.tagName === 'CANVAS') ? 'canvas' : 'img';
  },
  signature(slider) {
    const { scope, figures } = this.figures(slider);
    if (figures.length) {
      return figures.map(f => {
        if (f.tagName === 'IMG') return f.src;
        try { return f.width + 'x' + f.height + ':' + f.toDataURL(); }
        catch (e) { return 'tainted:' + f.width + 'x' + f.height; }
      }).join('|');
    }
    if (!scope) return '';
    const parts = [];
    const walker = document.createTreeWalker(scope, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      if (!slider.contains(walker.currentNode)) parts.push(walker.currentNode.data);
    }
    return parts.join('');
  },
  // How much of a figure is drawn: the shares of its pixels that are not near-white, and that
  // are coloured (not grey). ipywidgets images are data URLs of this page, so they can be read
  // back. An empty axes is a grey frame and tick labels: a few percent of ink, no colour.
  ink(slider) {
    const { figures } = this.figures(slider);
    let drawn = 0, coloured = 0, total = 0;
    for (const f of figures) {
      if (f.tagName === 'IMG' && !(f.complete && f.naturalWidth)) continue;
      const w = f.tagName === 'IMG' ? f.naturalWidth : f.width;
      const h = f.tagName === 'IMG' ? f.naturalHeight : f.height;
      if (!w || !h) continue;
      const c = document.createElement('canvas');
      c.width = w; c.height = h;
      const ctx = c.getContext('2d');
      try { ctx.drawImage(f, 0, 0); } catch (e) { continue; }
      const px = ctx.getImageData(0, 0, w, h).data;
      for (let k = 0; k < px.length; k += 16) {  // every 4th pixel is plenty
        total += 1;
        if (px[k + 3] <= 16) continue;
        const hi = Math.max(px[k], px[k + 1], px[k + 2]);
        const lo = Math.min(px[k], px[k + 1], px[k + 2]);
        if (lo < 235) drawn += 1;
        if (hi - lo > 48) coloured += 1;
      }
    }
    return total ? [drawn / total, coloured / total] : null;
  },
  // Signatures of every figure outside the slider's own app (and outside other displays of
  // the same widget model): moving a slider must not redraw someone else's figure.
  foreign(slider) {
    const own = this.app(slider).app.split('#')[0];
    const mine = slider.closest('.jp-OutputArea-child');
    const out = {};
    const nb = window.__clNotebook;
    this.notebook().querySelectorAll('.jp-OutputArea-child').forEach((child, n) => {
      if (child === mine || !child.querySelector('.jupyter-widgets')) return;
      const cellNode = child.closest('.jp-Cell');
      const cell = nb.content.widgets.findIndex(w => w.node === cellNode);
      const k = [...child.parentElement.children].indexOf(child);
      let model = '';
      if (cell >= 0 && k >= 0 && k < nb.content.widgets[cell].model.outputs.length) {
        const data = nb.content.widgets[cell].model.outputs.get(k).toJSON().data || {};
        const view = data['application/vnd.jupyter.widget-view+json'];
        if (view) model = view.model_id;
      }
      if (model && model === own) return;
      child.querySelectorAll('.jupyter-widgets img').forEach((img, j) => {
        out[`cell ${cell} output ${k} image ${j}`] = img.src.length + ':' + img.src.slice(-64);
      });
    });
    return out;
  },
  // the handle's exact value (aria-valuenow is rounded to one decimal by noUiSlider)
  value(slider) {
    const target = slider.querySelector('.noUi-target');
    if (target && target.noUiSlider) {
      const v = target.noUiSlider.get(true);
      return String(Array.isArray(v) ? v[0] : v);
    }
    const handle = this.handle(slider);
    return handle ? handle.getAttribute('aria-valuetext') : null;
  },
  readout(slider) {
    const el = slider.querySelector('.widget-readout');
    if (!el || getComputedStyle(el).display === 'none') return null;
    return el.textContent.trim();
  },
  // Which app a slider belongs to: its cell and the model id of the widget that cell displays
  // (a redisplayed app is the same model, so its sliders can be told apart from new ones).
  app(slider) {
    const cellNode = slider.closest('.jp-Cell');
    const nb = window.__clNotebook;
    if (!cellNode || !nb) return { cell: -1, app: '' };
    const cell = nb.content.widgets.findIndex(w => w.node === cellNode);
    const child = slider.closest('.jp-OutputArea-child');
    const children = child ? [...child.parentElement.children] : [];
    const k = children.indexOf(child);
    let app = '';
    if (cell >= 0 && k >= 0 && k < nb.content.widgets[cell].model.outputs.length) {
      const data = nb.content.widgets[cell].model.outputs.get(k).toJSON().data || {};
      const view = data['application/vnd.jupyter.widget-view+json'];
      if (view) app = view.model_id;
    }
    const top = child || cellNode;
    const ordinal = [...top.querySelectorAll('.widget-slider')].indexOf(slider);
    // no widget model at the top of the output: the cell and output position identify the app
    return { cell, app: (app || `cell ${cell} output ${k}`) + '#' + ordinal };
  },
  describe(slider, i) {
    const label = slider.querySelector('.widget-label');
    const handle = this.handle(slider);
    return {
      index: i,
      ...this.app(slider),
      label: label ? label.textContent.trim() : '',
      retrain: !!slider.closest('.cl-retrain'),
      disabled: !handle || handle.hasAttribute('disabled') ||
        !!slider.querySelector('.noUi-target[disabled]'),
      kind: this.kind(slider),
      readout: this.readout(slider),
      // an app that catches a callback's error and prints it (cl_lessons apps' status line,
      // an Output widget) shows Python's traceback header somewhere in the same output
      traceback: (slider.closest('.jp-OutputArea-child') || slider).textContent
        .includes('Traceback (most recent call last)'),
      value: this.value(slider),
      signature: this.signature(slider),
      ink: this.ink(slider),
    };
  },
  state(i) { return this.describe(this.sliders()[i], i); },
  // Text boxes (ipywidgets.Text): the <input> inside `.widget-text`; its figure is found as a
  // slider's is, and `app` tells apart the boxes of different apps.
  texts() {
    const node = this.notebook();
    return node ? [...node.querySelectorAll('.widget-text input[type="text"]')] : [];
  },
  textState(i) {
    const input = this.texts()[i];
    const box = input.closest('.widget-text');
    const label = box.querySelector('.widget-label');
    return {
      index: i,
      ...this.app(box),
      label: label ? label.textContent.trim() : '',
      kind: this.kind(box),
      disabled: input.disabled,
      value: input.value,
      traceback: (box.closest('.jp-OutputArea-child') || box).textContent
        .includes('Traceback (most recent call last)'),
      signature: this.signature(box),
    };
  },
  // Latency: stamp the key press in the page, then poll the figure every animation frame.
  watch(i) {
    const slider = this.sliders()[i];
    const before = this.signature(slider);
    const result = { before, t0: null, ms: null };
    window.__clWatch = result;
    this.handle(slider).addEventListener('keydown', () => {
      if (result.t0 === null) result.t0 = performance.now();
    }, { capture: true, once: true });
    const tick = () => {
      if (result.t0 !== null && this.signature(slider) !== before) {
        result.ms = performance.now() - result.t0;
        return;
      }
      if (window.__clWatch === result) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  },
};
"""


@dataclass
class SliderResult:
    """What happened when one slider was moved (keyboard in JupyterLab, mouse in Notebook 7)."""

    index: int
    label: str
    kind: str  # "img", "canvas" or "text": what stands in for the figure
    retrain: bool
    figure_changed: bool = False
    readout_before: str | None = None
    readout_after: str | None = None
    value_after: str | None = None  # the handle's value after the presses (noUiSlider.get)
    seconds: float = 0.0
    traceback_shown: bool = False
    skipped: str | None = None
    # shares of the figure's pixels that are drawn (not white) and coloured (not grey)
    ink_before: tuple[float, float] | None = None
    ink_after: tuple[float, float] | None = None
    foreign_changed: list[str] = field(default_factory=list)  # other apps' figures it redrew

    @property
    def plausible(self) -> bool:
        """The new figure is a drawing, not an empty axes: at least 2 % of its pixels are ink,
        and a figure that had colour (curves, points, colour maps) keeps at least a quarter of
        it (an empty axes is a grey frame with tick labels)."""
        if self.ink_before is None or self.ink_after is None:
            return True  # no image (a text app or ipympl canvas): nothing to measure
        (ink, colour), (_, colour_before) = self.ink_after, self.ink_before
        return ink >= 0.02 and (colour_before < 0.005 or colour >= 0.25 * colour_before)

    @property
    def readout_ok(self) -> bool:
        """The readout shows the handle's new value (or the slider has no visible readout).

        A numeric readout must equal the handle's value to its displayed precision (a fine
        slider may move less than the last digit, so the text alone may stay the same); a
        readout that is not that number (a SelectionSlider shows an option's label while the
        handle holds its index) must at least have changed.
        """
        if self.readout_before is None:
            return True
        if self.readout_after is None:
            return False
        try:
            shown, value = float(self.readout_after), float(self.value_after or "nan")
        except ValueError:
            return self.readout_after != self.readout_before
        decimals = len(self.readout_after.partition(".")[2])
        if abs(shown - value) <= 0.5 * 10.0**-decimals + 1e-9:
            return True
        return self.readout_after != self.readout_before

    def problem(self) -> str | None:
        if self.skipped:
            return None
        name = f"slider {self.index} ({self.label or 'no label'}, figure: {self.kind})"
        if not self.figure_changed:
            return f"{name}: the figure did not change when the slider moved"
        if not self.plausible:
            return (
                f"{name}: the new figure looks empty (drawn, coloured pixels: "
                f"{self.ink_after[0]:.1%}, {self.ink_after[1]:.1%}; before: "
                f"{self.ink_before[0]:.1%}, {self.ink_before[1]:.1%})"
            )
        if self.foreign_changed:
            return f"{name}: it also redrew other apps' figures: {', '.join(self.foreign_changed)}"
        if not self.readout_ok:
            return (
                f"{name}: the readout shows {self.readout_after!r}, not the new value "
                f"{self.value_after} (it showed {self.readout_before!r} before)"
            )
        if self.traceback_shown:
            return f"{name}: its app shows a Python traceback after the slider moved"
        return None


TYPED_TEXT = ("a thick seven, tilted left", "a thin one, upright")  # typed into text boxes


@dataclass
class TextBoxResult:
    """What happened when a caption was typed into one text box and Enter was pressed."""

    index: int
    label: str
    kind: str  # "img", "canvas" or "text": what stands in for the figure
    typed: str = ""
    figure_changed: bool = False
    seconds: float = 0.0
    traceback_shown: bool = False
    skipped: str | None = None

    def problem(self) -> str | None:
        if self.skipped:
            return None
        name = f"text box {self.index} ({self.label or 'no label'}, figure: {self.kind})"
        if not self.figure_changed:
            return f"{name}: the figure did not change after typing {self.typed!r} and Enter"
        if self.traceback_shown:
            return f"{name}: its app shows a Python traceback after typing {self.typed!r}"
        return None


@dataclass
class NotebookReport:
    """Everything `check_notebook` saw in one notebook."""

    path: str
    run_seconds: float = 0.0
    run_finished: bool = False
    errors: list[str] = field(default_factory=list)
    unexecuted: list[int] = field(default_factory=list)
    widget_errors: list[str] = field(default_factory=list)
    sliders: list[SliderResult] = field(default_factory=list)
    texts: list[TextBoxResult] = field(default_factory=list)  # one text box per app
    distorted: list[str] = field(default_factory=list)  # images not at their aspect ratio
    shrunk: list[str] = field(default_factory=list)  # static figures scaled down to fit
    truncated: list[str] = field(default_factory=list)  # widget labels cut off
    undescribed: list[str] = field(default_factory=list)  # app figures without a text line
    noise: list[str] = field(default_factory=list)  # stray reprs and stderr output
    screenshot: Path | None = None

    def problems(self) -> list[str]:
        """Human-readable failures; empty when the notebook works in the browser."""
        out = []
        if not self.run_finished:
            out.append(f"Run All did not finish within the timeout ({self.run_seconds:.0f} s)")
        out += [f"error output: {e}" for e in self.errors]
        if self.unexecuted:
            out.append(f"code cells never executed: {self.unexecuted}")
        out += [f"widget error: {e}" for e in self.widget_errors]
        out += [p for s in self.sliders if (p := s.problem())]
        out += [p for t in self.texts if (p := t.problem())]
        out += [f"in a narrow window: {d}" for d in self.distorted]
        out += [f"scaled down, its text too small: {d}" for d in self.shrunk]
        out += [f"label cut off: {t}" for t in self.truncated]
        out += self.undescribed
        out += self.noise
        return out


class LabPage:
    """One JupyterLab browser tab that opens, runs and closes notebooks one at a time."""

    def __init__(self, browser: Any, server: LabServer) -> None:
        self.server = server
        self.last_noise: list[str] = []  # set by model_problems
        self.context = browser.new_context(viewport=VIEWPORT)
        self.page = self.context.new_page()
        self.load()

    def load(self) -> None:
        """(Re)load JupyterLab with an empty workspace."""
        self.page.goto(self.server.url("lab?reset"))
        self.page.wait_for_function("window.jupyterapp && window.jupyterapp.shell", timeout=90_000)
        self.page.wait_for_selector("#jp-main-dock-panel", timeout=60_000)
        self.js("window.jupyterapp.shell.collapseLeft()")  # more notebook in the screenshots

    def close(self) -> None:
        self.context.close()

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def open(self, path: str, timeout: float = 120.0) -> None:
        """Open a notebook (server-relative path) and wait for its kernel, accepting the
        "Select Kernel" dialog if JupyterLab shows one."""
        self.js(
            """path => {
              window.__clNotebook = undefined;
              window.__clOpenError = undefined;
              window.jupyterapp.commands.execute('docmanager:open', { path }).then(
                w => { window.__clNotebook = w; w.node.setAttribute('data-cl-ui', 'current'); },
                e => { window.__clOpenError = String(e); });
            }""",
            path,
        )
        self.js(_JS_HELPERS)
        self._wait_ready(path, timeout)

    def _wait_ready(self, path: str, timeout: float) -> None:
        """Wait until window.__clNotebook has an idle kernel, accepting a kernel dialog."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if error := self.js("window.__clOpenError"):
                raise RuntimeError(f"could not open {path}: {error}")
            accept = self.page.query_selector(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
            if accept is not None:
                accept.click()
            if self.js(
                "!!(window.__clNotebook && window.__clNotebook.context.isReady &&"
                " window.__clNotebook.sessionContext.isReady &&"
                " window.__clNotebook.sessionContext.session?.kernel?.status === 'idle')"
            ):
                self.js("window.jupyterapp.shell.activateById(window.__clNotebook.id)")
                return
            time.sleep(0.2)
        raise TimeoutError(f"{path}: no idle kernel within {timeout:.0f} s")

    def run_all(self, timeout: float) -> tuple[bool, float]:
        """Run All Cells through JupyterLab's command; returns (finished, seconds).

        The command's promise settles when the last cell has run or the first one failed.
        """
        start = time.monotonic()
        self.js(
            """() => {
              window.__clRun = undefined;
              if (window.jupyterapp.shell.currentWidget !== window.__clNotebook)
                throw new Error('the notebook under test is not the current widget');
              window.jupyterapp.commands.execute('notebook:run-all-cells').then(
                r => { window.__clRun = String(r); }, e => { window.__clRun = 'error ' + e; });
            }"""
        )
        try:
            self.page.wait_for_function(
                "window.__clRun !== undefined", timeout=timeout * 1000, polling=250
            )
        except Exception:  # Playwright's TimeoutError
            return False, time.monotonic() - start
        self.wait_kernel_idle(timeout=30)
        return True, time.monotonic() - start

    def wait_kernel_idle(self, timeout: float) -> None:
        self.page.wait_for_function(
            "window.__clNotebook.sessionContext.session?.kernel?.status === 'idle'",
            timeout=timeout * 1000,
            polling=100,
        )

    def wait_widgets_rendered(self, timeout: float = 15.0) -> None:
        """Wait until the number of rendered widget views stops growing (views render async)."""
        count, stable_since = -1, time.monotonic()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.js(
                "window.__clUI.notebook().querySelectorAll('.jupyter-widgets, canvas, img').length"
            )
            if now != count:
                count, stable_since = now, time.monotonic()
            elif time.monotonic() - stable_since > 1.0:
                return
            time.sleep(0.2)

    def model_problems(self) -> tuple[list[str], list[int]]:
        """Error outputs ("ename: evalue" with the cell number) and code cells never executed."""
        found = self.js(
            """() => {
              const cells = window.__clNotebook.content.model.cells;
              const errors = [], unexecuted = [], noise = [];
              // what a learner should never see: Python reprs of plot objects, warnings on stderr
              const repr = /^(\\[)?<(matplotlib\\.|Axes|Figure|[\\w.]+ object at 0x)/;
              for (let i = 0; i < cells.length; i++) {
                const cell = cells.get(i);
                if (cell.type !== 'code') continue;
                if (cell.executionCount === null) unexecuted.push(i);
                for (let j = 0; j < cell.outputs.length; j++) {
                  const out = cell.outputs.get(j).toJSON();
                  if (out.output_type === 'error')
                    errors.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
                  const text = [].concat(out.text || []).join('');
                  if (out.output_type === 'stream' && out.name === 'stderr' && text.trim())
                    noise.push(`cell ${i} writes to stderr: ${text.trim().slice(0, 160)}`);
                  const plain = [].concat((out.data || {})['text/plain'] || []).join('');
                  if (out.output_type === 'execute_result' && !(out.data || {})[
                      'application/vnd.jupyter.widget-view+json'] && repr.test(plain.trim()))
                    noise.push(`cell ${i} shows a repr: ${plain.trim().slice(0, 100)}`);
                }
              }
              return { errors, unexecuted, noise };
            }"""
        )
        self.last_noise = found["noise"]
        return found["errors"], found["unexecuted"]

    def widget_errors(self) -> list[str]:
        """Outputs that show "Error displaying widget" or ipywidgets' error view
        (`.jupyter-widgets-error-widget`), with the error message the view reveals on click."""
        return self.js(
            """() => {
              const node = window.__clUI.notebook();
              const hits = [];
              node.querySelectorAll('.jp-OutputArea-output').forEach(out => {
                // ipywidgets 8 shows a failed view as an error icon; a click reveals the message.
                out.querySelectorAll('.jupyter-widgets-error-widget').forEach(e => e.click());
                const text = out.innerText;
                if (text.includes('Error displaying widget') ||
                    out.querySelector('.jupyter-widgets-error-widget, .widget-error'))
                  hits.push(text.replace(/\\s+/g, ' ').trim().slice(0, 300));
              });
              return hits;
            }"""
        )

    def slider_states(self) -> list[dict[str, Any]]:
        return self.js("window.__clUI.sliders().map((s, i) => window.__clUI.describe(s, i))")

    def state(self, index: int) -> dict[str, Any]:
        return self.js("i => window.__clUI.state(i)", index)

    def focus_handle(self, index: int) -> Any:
        handle = self.page.evaluate_handle(
            "i => window.__clUI.handle(window.__clUI.sliders()[i])", index
        ).as_element()
        handle.scroll_into_view_if_needed()
        handle.focus()
        return handle

    def settle(self, index: int, timeout: float, quiet: float = 0.5) -> None:
        """Wait for an idle kernel and a figure that has not changed for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        self.wait_kernel_idle(timeout=timeout)
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            sig = self.state(index)["signature"]
            if sig != last:
                last, since = sig, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.1)

    def press(self, index: int, key: str, times: int = 1) -> None:
        self.focus_handle(index)
        for _ in range(times):
            self.page.keyboard.press(key)

    def move_slider(self, index: int, presses: int) -> None:
        """Move a slider as a learner at the keyboard does: ArrowRight `presses` times, or
        ArrowLeft when the slider is already at its maximum."""
        value = self.state(index)["value"]
        self.press(index, "ArrowRight", presses)
        if self.state(index)["value"] == value:
            self.press(index, "ArrowLeft", presses)

    def exercise_slider(self, index: int, timeout: float, presses: int = 3) -> SliderResult:
        """Move one slider (`move_slider`) and report whether its figure and readout followed."""
        before = self.state(index)
        result = SliderResult(
            index=index,
            label=before["label"],
            kind=before["kind"],
            retrain=before["retrain"],
            readout_before=before["readout"],
            ink_before=before["ink"],
        )
        if before["disabled"]:
            result.skipped = "disabled"
            return result
        foreign = self.foreign(index)
        start = time.monotonic()
        self.move_slider(index, presses)
        try:
            self.page.wait_for_function(
                "([i, sig]) => window.__clUI.state(i).signature !== sig",
                arg=[index, before["signature"]],
                timeout=timeout * 1000,
                polling=50,
            )
            result.figure_changed = True
        except Exception:  # Playwright's TimeoutError: reported as a problem, not raised
            result.figure_changed = False
        result.seconds = time.monotonic() - start
        # Let every pending redraw land, so the next slider starts from a still figure.
        self.settle(index, timeout=timeout)
        after = self.state(index)
        result.readout_after = after["readout"]
        result.value_after = after["value"]
        result.traceback_shown = after["traceback"]
        result.ink_after = after["ink"]
        now = self.foreign(index)
        result.foreign_changed = [k for k, sig in foreign.items() if now.get(k, sig) != sig]
        return result

    def foreign(self, index: int) -> dict[str, str]:
        """Signatures of the figures of every other app (see `__clUI.foreign`)."""
        return self.js("i => window.__clUI.foreign(window.__clUI.sliders()[i])", index)

    def text_states(self) -> list[dict[str, Any]]:
        return self.js("window.__clUI.texts().map((t, i) => window.__clUI.textState(i))")

    def exercise_text(self, index: int, timeout: float) -> TextBoxResult:
        """Type a caption into one text box, press Enter, and report whether its figure changed."""
        before = self.js("i => window.__clUI.textState(i)", index)
        result = TextBoxResult(index=index, label=before["label"], kind=before["kind"])
        if before["disabled"]:
            result.skipped = "disabled"
            return result
        result.typed = TYPED_TEXT[1] if before["value"] == TYPED_TEXT[0] else TYPED_TEXT[0]
        box = self.page.evaluate_handle("i => window.__clUI.texts()[i]", index).as_element()
        box.scroll_into_view_if_needed()
        box.click(click_count=3)  # select what is there, so typing replaces it
        start = time.monotonic()
        self.page.keyboard.type(result.typed)
        self.page.keyboard.press("Enter")
        try:
            self.page.wait_for_function(
                "([i, sig]) => window.__clUI.textState(i).signature !== sig",
                arg=[index, before["signature"]],
                timeout=timeout * 1000,
                polling=50,
            )
            result.figure_changed = True
        except Exception:  # Playwright's TimeoutError: reported as a problem, not raised
            result.figure_changed = False
        result.seconds = time.monotonic() - start
        self.wait_kernel_idle(timeout=timeout)
        self.page.wait_for_timeout(500)  # let a last redraw (and a status line) land
        result.traceback_shown = self.js("i => window.__clUI.textState(i)", index)["traceback"]
        return result

    def distorted_images(self, width: int = NARROW_WIDTH) -> list[str]:
        """Widget images whose shown aspect ratio differs from their pixels' by more than 2 %
        in a window ``width`` pixels wide (a narrow laptop screen with the file browser open)."""
        self.page.set_viewport_size({"width": width, "height": VIEWPORT["height"]})
        try:
            self.page.wait_for_timeout(300)  # let the layout settle
            return self.js(
                """() => {
                  const bad = [];
                  window.__clUI.notebook().querySelectorAll('.jupyter-widgets img').forEach(
                    (img, i) => {
                      if (!img.naturalWidth || !img.clientWidth || !img.clientHeight) return;
                      const natural = img.naturalWidth / img.naturalHeight;
                      const shown = img.clientWidth / img.clientHeight;
                      if (Math.abs(shown / natural - 1) > 0.02)
                        bad.push(`image ${i}: ${img.naturalWidth}x${img.naturalHeight} shown as ` +
                                 `${img.clientWidth}x${img.clientHeight}`);
                    });
                  return bad;
                }"""
            )
        finally:
            self.page.set_viewport_size(VIEWPORT)

    def shrunk_figures(self, least: float = 0.9) -> list[str]:
        """Static figures (PNG outputs of cells, not widgets) shown at less than `least` of their
        pixel width in the default window: their text shrinks with them (a four-panel figure
        at 61 % puts 10-point labels at 6 px)."""
        return self.js(
            """least => {
              const nb = window.__clNotebook;
              const bad = [];
              nb.content.widgets.forEach((cell, i) => {
                cell.node.querySelectorAll('.jp-RenderedImage img').forEach((img, j) => {
                  if (img.closest('.jupyter-widgets') || !img.naturalWidth) return;
                  const ratio = img.clientWidth / img.naturalWidth;
                  if (ratio < least)
                    bad.push(`cell ${i} figure ${j}: ${img.naturalWidth} px wide, shown at ` +
                             `${Math.round(100 * ratio)} %`);
                });
              });
              return bad;
            }""",
            least,
        )

    def undescribed_figures(self) -> list[str]:
        """Figures of the course's apps (an output that holds a `.cl-status` line) without a
        text description (the image's `title`, shown on hover and read by screen readers)."""
        return self.js(
            """() => {
              const bad = [];
              window.__clUI.notebook().querySelectorAll('.cl-status').forEach((status, i) => {
                const app = status.closest('.jp-OutputArea-child');
                if (!app) return;
                app.querySelectorAll('img').forEach(img => {
                  if (!(img.getAttribute('title') || '').trim())
                    bad.push(`app ${i}: an image without a description`);
                });
              });
              return bad;
            }"""
        )

    def truncated_labels(self) -> list[str]:
        """Widget descriptions cut off by their box ("dimensio…" for "dimension D")."""
        return self.js(
            """() => {
              const bad = [];
              window.__clUI.notebook().querySelectorAll('.widget-label').forEach(el => {
                if (el.offsetParent && el.scrollWidth > el.clientWidth + 1)
                  bad.push(`"${el.textContent.trim()}" ` +
                           `(${el.scrollWidth} px in ${el.clientWidth})`);
              });
              return bad;
            }"""
        )

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.js(
            """() => {
              const first = window.__clUI.sliders()[0];
              const node = first ? first.closest('.jp-Cell') : window.__clUI.notebook();
              if (node) node.scrollIntoView({ block: 'start' });
            }"""
        )
        self.page.screenshot(path=str(path))
        return path

    def close_notebook(self) -> None:
        """Close the notebook without saving (the model is marked clean first), then shut down
        its kernel through the REST API."""
        try:
            self.js(
                """() => {
                  const w = window.__clNotebook;
                  if (w && !w.isDisposed) { w.context.model.dirty = false; w.dispose(); }
                  window.__clNotebook = undefined;
                }"""
            )
        finally:
            self.server.shutdown_sessions()


class NotebookPage(LabPage):
    """One Jupyter Notebook 7 tab. Notebook 7 shows one document per page, so a notebook is
    opened by going to its page; everything else (commands, cells, widget views) is JupyterLab's
    and works as in `LabPage`."""

    def _wait_app(self) -> None:
        self.page.wait_for_function("window.jupyterapp && window.jupyterapp.shell", timeout=90_000)

    def load(self) -> None:
        """(Re)load Notebook 7's file browser page."""
        self.page.goto(self.server.url("tree"))
        self._wait_app()

    def open(self, path: str, timeout: float = 120.0) -> None:
        """Go to the notebook's page and wait for its kernel."""
        self.page.goto(self.server.url(f"notebooks/{path}"))
        self._wait_app()
        self.js(_JS_HELPERS)
        self.page.wait_for_function(
            "!!(window.jupyterapp.shell.currentWidget?.content?.model)", timeout=timeout * 1000
        )
        self.js(
            """() => {
              const w = window.jupyterapp.shell.currentWidget;
              window.__clOpenError = undefined;
              window.__clNotebook = w;
              w.node.setAttribute('data-cl-ui', 'current');
            }"""
        )
        self._wait_ready(path, timeout)

    def move_slider(self, index: int, presses: int) -> None:
        """Drag the handle with the mouse, `presses` tenths of the track to the right (to the
        left from the right half). Notebook 7 handles keys before the page does (Lumino's
        keydown in the capture phase), so arrow keys on a focused slider move the notebook's
        cell cursor instead; see test_ui_notebook7.py."""
        handle = self.focus_handle(index)
        track = self.page.evaluate_handle(
            "i => window.__clUI.sliders()[i].querySelector('.noUi-target')", index
        ).as_element()
        box, bar = handle.bounding_box(), track.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        step = presses * bar["width"] / 10
        to = x + step if x < bar["x"] + bar["width"] / 2 else x - step
        self.page.mouse.move(x, y)
        self.page.mouse.down()
        self.page.mouse.move(to, y, steps=5)
        self.page.mouse.up()


def check_notebook(
    lab: LabPage,
    path: str,
    screenshot: Path | None = None,
    run_timeout: float = RUN_TIMEOUT_S,
    figure_timeout: float = FIGURE_TIMEOUT_S,
    retrain_timeout: float = RETRAIN_TIMEOUT_S,
) -> NotebookReport:
    """Open `path` in a fresh kernel, Run All, and check it the way a learner would see it.

    Args:
        lab: the browser tab.
        path: notebook path relative to the server root, e.g. "notebooks/00_welcome.ipynb".
        screenshot: where to save a screenshot of the notebook (None: no screenshot).
        run_timeout: seconds allowed for Run All.
        figure_timeout: seconds a slider's figure may take to change.
        retrain_timeout: the same for sliders marked `cl-retrain`.

    Returns:
        The report; `report.problems()` is empty when everything works. The notebook is closed
        unsaved and its kernel shut down, whatever happened.
    """
    report = NotebookReport(path=path)
    failed = True
    try:
        lab.open(path)
        report.run_finished, report.run_seconds = lab.run_all(run_timeout)
        lab.wait_widgets_rendered()
        report.errors, report.unexecuted = lab.model_problems()
        report.noise = lab.last_noise
        report.widget_errors = lab.widget_errors()
        if report.run_finished:
            seen = set()
            for state in lab.slider_states():
                if state["app"] in seen:  # the same app displayed again: same models, same code
                    continue
                seen.add(state["app"])
                timeout = retrain_timeout if state["retrain"] else figure_timeout
                report.sliders.append(lab.exercise_slider(state["index"], timeout))
            seen_texts = set()
            for state in lab.text_states():  # type into one text box per app
                if state["app"] not in seen_texts:
                    seen_texts.add(state["app"])
                    report.texts.append(lab.exercise_text(state["index"], figure_timeout))
            report.shrunk = lab.shrunk_figures()
            report.truncated = lab.truncated_labels()
            report.undescribed = lab.undescribed_figures()
            report.distorted = lab.distorted_images()
        if screenshot is not None:
            report.screenshot = lab.screenshot(screenshot)
        failed = False
    finally:
        lab.close_notebook()
        if failed:  # an exception escaped: start the next notebook from a fresh page
            lab.load()
    return report


def measure_latency(lab: LabPage, index: int, presses: int, timeout: float) -> list[float]:
    """Milliseconds from a key press on slider `index` to its figure's change, per press.

    The time is taken inside the page (performance.now() at keydown, then a check of the figure
    every animation frame), so Playwright's round trips are not counted. Presses alternate
    direction, so the slider stays inside its range; each waits for the figure to settle.
    """
    times = []
    for n in range(presses):
        key = "ArrowRight" if n % 2 == 0 else "ArrowLeft"
        lab.focus_handle(index)
        value = lab.state(index)["value"]
        lab.js("i => window.__clUI.watch(i)", index)
        lab.page.keyboard.press(key)
        if lab.state(index)["value"] == value:  # at an end of the range: go the other way
            lab.js("i => window.__clUI.watch(i)", index)
            lab.page.keyboard.press("ArrowLeft" if key == "ArrowRight" else "ArrowRight")
        lab.page.wait_for_function(
            "window.__clWatch.ms !== null", timeout=timeout * 1000, polling=50
        )
        times.append(lab.js("window.__clWatch.ms"))
        lab.settle(index, timeout=timeout)
    return times


def summarize(times: list[float]) -> tuple[float, float]:
    """Median and 90th percentile (nearest rank) of a list of latencies."""
    ordered = sorted(times)
    return statistics.median(ordered), ordered[math.ceil(0.9 * len(ordered)) - 1]

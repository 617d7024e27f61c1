"""Slider apps for the lessons: one figure and a few controls each, fast and flicker-free.

Every app is a function returning an :class:`App`, an ``ipywidgets.VBox`` that shows its
controls, its figure and a status line. Display it as the last expression of a cell::

    app = cl.widgets.margin_explorer()
    app

What every app offers (and what the tests and notebooks rely on):

* ``app.fig``: the matplotlib Figure, built once; callbacks update its artists in place.
* ``app.artists``: the artists a callback changes (lines, scatters, patches, images, texts).
* ``app.controls``: ``name -> widget``; ``app.values`` the current values.
* ``app.update(**values)``: set controls and redraw *synchronously*, exactly as moving the
  sliders does (use it in tests and test cells).
* ``app.status``: an HTML widget where errors of a callback appear (type, message and a
  collapsible traceback) and where slow steps say what they are doing. The app keeps working.

Display: with the ipympl backend (``%matplotlib widget``) the figure's canvas widget is shown;
otherwise (the inline backend, plain Agg, nbclient) the figure is rendered to PNG into an
``ipywidgets.Image`` of fixed size whose bytes are replaced on each update, so the page never
jumps or flickers. Figures are made with ``matplotlib.figure.Figure`` (not pyplot) in that case,
so the inline backend never shows a second, static copy. Most of a matplotlib draw is text
(ticks, labels), so the PNG path draws the static part once, caches its pixels and, on each
update, restores them and draws only the artists that move (blitting, done off-screen).

Event storms: setting a control's ``.value`` updates the artists at once (so the state always
matches the controls), while rendering is coalesced: inside a Jupyter kernel (a running asyncio
loop) one render is scheduled with ``loop.call_soon`` and every further change before it runs
just marks it dirty, so a fast slider drag costs one render per kernel idle moment, not one per
tick. Apps whose update is itself expensive (``train_2d_explorer``) coalesce the update too,
so in a notebook cell use ``app.update(...)`` (synchronous) rather than setting ``.value`` when
the next line reads the result. Without a running loop (plain Python, tests) everything
happens immediately.
"""

from __future__ import annotations

import asyncio
import html
import io
import math
import os
import time
import traceback
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure

from cl_lessons import viz

__all__ = [
    "App",
    "decision_regions",
    "distance_explorer",
    "embedding_explorer",
    "hypersphere_view",
    "margin_explorer",
    "temperature_explorer",
    "threshold_explorer",
    "train_2d_explorer",
    "triplet_zones",
]

_DPI = 80  # pixels per inch of the rendered figures: sharp enough, fast to render and encode
_PNG_OPTIONS = {"compress_level": 1}  # fast zlib level: ~3x quicker than the default, ~20% larger
_STYLE = {"description_width": "initial"}


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _uses_ipympl() -> bool:
    backend = matplotlib.get_backend().lower()
    return "ipympl" in backend or backend == "widget"


RETRAIN_CLASS = "cl-retrain"
"""CSS class of controls that act on release and may retrain (tests/ui waits longer for them)."""


def _slider(
    name: str,
    value: float,
    lo: float,
    hi: float,
    step: float,
    fmt: str = ".2f",
    continuous: bool = True,
) -> widgets.FloatSlider:
    slider = widgets.FloatSlider(
        value=value,
        min=lo,
        max=hi,
        step=step,
        description=name,
        readout_format=fmt,
        continuous_update=continuous,
        style=_STYLE,
        layout=widgets.Layout(width="300px"),
    )
    if not continuous:
        # answers on release, possibly after retraining: the browser tests wait longer for it
        slider.add_class(RETRAIN_CLASS)
    return slider


def _int_slider(name: str, value: int, lo: int, hi: int) -> widgets.IntSlider:
    return widgets.IntSlider(
        value=value,
        min=lo,
        max=hi,
        step=1,
        description=name,
        style=_STYLE,
        layout=widgets.Layout(width="300px"),
    )


def _dropdown(name: str, options: Sequence[str], value: str) -> widgets.Dropdown:
    return widgets.Dropdown(
        options=list(options),
        value=value,
        description=name,
        style=_STYLE,
        layout=widgets.Layout(width="220px"),
    )


class App(widgets.VBox):
    """Base class of the apps: controls, one figure, a status line, coalesced redraws.

    Writing your own app (lessons 03 and 08 do) takes four steps, all of them needed:

    1. in ``__init__``, call ``super().__init__(controls, figsize=...)``, then build the axes
       and artists on ``self.fig``;
    2. register every artist that changes on an update, titles included, with
       ``self._dynamic(artist, ...)``: the PNG path caches everything else as a pixel background
       (as blitting does), so an unregistered artist keeps showing its first state;
    3. implement ``_apply(self)``: read ``self.values`` and update the artists in place; if it
       changes anything static (a label, a non-registered artist), call ``self._touch()``;
       axis-limit changes are detected by themselves;
    4. finish ``__init__`` with ``self._start()``.

    Attributes:
        fig: the matplotlib Figure.
        artists: ``name -> artist`` updated by the callbacks.
        controls: ``name -> widget``.
        status: HTML widget showing errors and progress messages.
        view: the widget showing the figure (an ``ipywidgets.Image`` or the ipympl canvas).
        last_error: the last exception a callback raised, or None.
        n_applies: how many times the artists were updated.
        n_renders: how many times the figure was rendered.
        n_full_draws: how many of those redrew the static background too.
    """

    #: update artists lazily too (for apps whose update is slow, such as retraining a model)
    _defer_apply = False

    def __init__(
        self,
        controls: dict[str, widgets.ValueWidget],
        figsize: tuple[float, float] = (9.0, 3.6),
        extra: Sequence[widgets.Widget] = (),
    ) -> None:
        self.controls = dict(controls)
        self.artists: dict[str, object] = {}
        self.last_error: BaseException | None = None
        self.n_applies = 0
        self.n_renders = 0
        self._holding = False
        self._handle: asyncio.Handle | None = None
        self._handle_loop: asyncio.AbstractEventLoop | None = None
        self._pending_apply = False
        self._error_shown = False
        self._ipympl = _uses_ipympl()
        self._dyn: list = []
        self._static_version = 0
        self._bg = None
        self._bg_key: tuple | None = None
        self.n_full_draws = 0
        self.fig, self.view = self._make_figure(figsize)
        self.status = widgets.HTML(value="", layout=widgets.Layout(min_height="1.5em"))
        box = widgets.HBox(
            [*self.controls.values(), *extra],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
        )
        super().__init__(children=[box, self.view, self.status])
        for w in self.controls.values():
            w.observe(self._on_change, names="value")

    # ------------------------------------------------------------------ figure and display

    def _make_figure(self, figsize: tuple[float, float]):
        width, height = round(figsize[0] * _DPI), round(figsize[1] * _DPI)
        if self._ipympl:
            import matplotlib.pyplot as plt

            with plt.ioff():  # the app shows the canvas itself; no automatic display
                fig = plt.figure(figsize=figsize, dpi=_DPI, layout="constrained")
            canvas = fig.canvas
            canvas.header_visible = False
            canvas.resizable = False
            canvas.toolbar_position = "right"
            canvas.layout.width = f"{width + 60}px"
            canvas.layout.height = f"{height + 10}px"
            return fig, canvas
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig = Figure(figsize=figsize, dpi=_DPI, layout="constrained")
        FigureCanvasAgg(fig)
        image = widgets.Image(
            format="png",
            width=width,
            height=height,
            layout=widgets.Layout(width=f"{width}px", height=f"{height}px"),
        )
        return fig, image

    def _start(self) -> None:
        """Draw the first state, freeze the layout (no per-update layout cost), render."""
        self._apply()
        self.n_applies += 1
        # constrained layout places the axes once; draw_without_rendering, because drawing an
        # ipympl canvas before the browser has displayed it leaves it blank (0x0)
        self.fig.draw_without_rendering()
        self.fig.set_layout_engine("none")  # then positions stay fixed: no jumps, faster draws
        self._render()

    def _render(self) -> None:
        self._handle = None
        try:
            if self._ipympl:
                self.fig.canvas.draw_idle()
            else:
                self.view.value = self.png()
            self.n_renders += 1
        except Exception as err:  # shown in the app, not lost in the log
            self._show_error(err)

    def _dynamic(self, *artists) -> None:
        """Register artists that change on every update (drawn over a cached background)."""
        for a in artists:
            self._dyn.append(a)
            if not self._ipympl:
                a.set_animated(True)  # left out of the background; drawn by png()

    def _touch(self) -> None:
        """Mark the static part of the figure (limits aside, which are tracked) as changed."""
        self._static_version += 1

    def _static_key(self) -> tuple:
        key: list = [self._static_version]
        for ax in self.fig.axes:
            key.append(
                (ax.get_xlim(), ax.get_ylim(), getattr(ax, "elev", 0), getattr(ax, "azim", 0))
            )
        return tuple(key)

    def png(self) -> bytes:
        """Render the figure now and return it as PNG bytes.

        The static part (axes, ticks, labels, fixed data: most of the drawing time is text) is
        drawn once and cached as a pixel background; an update restores it and draws only the
        registered dynamic artists on top, as blitting does on screen. Any change of axis
        limits, view angles or :meth:`_touch` redraws the background.
        """
        canvas = self.fig.canvas
        if self._bg is None or self._static_key() != self._bg_key:
            canvas.draw()  # animated (dynamic) artists are skipped here
            self._bg = canvas.copy_from_bbox(self.fig.bbox)
            self._bg_key = self._static_key()  # after the draw: aspect may adjust limits
            self.n_full_draws += 1
        else:
            canvas.restore_region(self._bg)
        renderer = canvas.get_renderer()
        for a in self._dyn:
            if a.get_visible():
                a.draw(renderer)
        width, height = canvas.get_width_height(physical=True)
        from PIL import Image

        image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buf = io.BytesIO()
        image.save(buf, format="png", **_PNG_OPTIONS)
        return buf.getvalue()

    # ------------------------------------------------------------------ state

    @property
    def values(self) -> dict[str, object]:
        """Current value of every control."""
        return {name: w.value for name, w in self.controls.items()}

    def _apply(self) -> None:  # pragma: no cover - every app overrides it
        raise NotImplementedError

    def update(self, **values) -> App:
        """Set controls by name and redraw now (the headless equivalent of moving them).

        Args:
            **values: ``control_name=value`` pairs, for example ``margin=0.5``.

        Returns:
            The app itself (so ``app.update(margin=0.5).fig`` works).

        Raises:
            ValueError: an unknown control name, or a value the control does not accept
                (outside a slider's range, not among a dropdown's options).
        """
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise ValueError(f"unknown control(s) {unknown}; this app has {sorted(self.controls)}")
        for name, value in values.items():
            w = self.controls[name]
            lo, hi = getattr(w, "min", None), getattr(w, "max", None)
            if isinstance(w, widgets.FloatLogSlider):
                lo, hi = w.base**w.min, w.base**w.max
            if lo is not None and not isinstance(value, str) and not lo <= value <= hi:
                raise ValueError(f"{name} must be in [{lo}, {hi}], got {value}")
            options = getattr(w, "options", None)
            if options is not None and value not in w.options:
                raise ValueError(f"{name} must be one of {list(w.options)}, got {value!r}")
        self._holding = True
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            self._holding = False
        self._refresh(sync=True)
        return self

    # ------------------------------------------------------------------ events

    def _on_change(self, change) -> None:
        if not self._holding:
            self._refresh(sync=False)

    def _refresh(self, sync: bool) -> None:
        loop = None if sync else _running_loop()
        if loop is None:
            self._cancel_pending()
            if self._safe_apply():
                self._render()
            return
        if self._defer_apply:
            self._pending_apply = True
        elif not self._safe_apply():
            return
        if self._handle is None or self._handle_loop is not loop or loop.is_closed():
            self._handle = loop.call_soon(self._flush)
            self._handle_loop = loop

    def _cancel_pending(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None
        self._pending_apply = False

    def _flush(self) -> None:
        self._handle = None
        if self._pending_apply:
            self._pending_apply = False
            if not self._safe_apply():
                return
        self._render()

    def _safe_apply(self) -> bool:
        try:
            self._apply()
        except Exception as err:  # shown in the app; the controls keep working
            self._show_error(err)
            return False
        self.n_applies += 1
        if self._error_shown:
            self._error_shown = False
            self.status.value = ""
        return True

    # ------------------------------------------------------------------ status line

    def _show_error(self, err: BaseException) -> None:
        self.last_error = err
        self._error_shown = True
        tb = "".join(traceback.format_exception(type(err), err, err.__traceback__))
        self.status.value = (
            '<div style="color:#B00020;font-family:monospace">'
            f"<b>{html.escape(type(err).__name__)}</b>: {html.escape(str(err))}"
            "<details><summary>traceback</summary>"
            f'<pre style="font-size:smaller">{html.escape(tb)}</pre></details></div>'
        )

    def _say(self, message: str) -> None:
        """Show a progress or information message in the status line."""
        self._error_shown = False
        self.status.value = f'<span style="color:#444">{html.escape(message)}</span>'


# =========================================================================== 1. distances


class DistanceExplorer(App):
    """Two 2-D vectors: Euclidean, L1 and cosine side by side (see :func:`distance_explorer`)."""

    def __init__(self, angle_a, length_a, angle_b, length_b, normalize):
        controls = {
            "angle_a": _slider("angle a (deg)", angle_a, 0, 360, 1, ".0f"),
            "length_a": _slider("length a", length_a, 0.1, 2.0, 0.05),
            "angle_b": _slider("angle b (deg)", angle_b, 0, 360, 1, ".0f"),
            "length_b": _slider("length b", length_b, 0.1, 2.0, 0.05),
            "normalize": widgets.Checkbox(value=normalize, description="normalise to length 1"),
        }
        super().__init__(controls, figsize=(9.0, 3.9))
        ax, bx = self.fig.subplots(1, 2, width_ratios=[1.0, 1.1])
        t = np.linspace(0, 2 * np.pi, 200)
        ax.plot(np.cos(t), np.sin(t), color="0.7", lw=1, label="unit circle")
        ax.axhline(0, color="0.85", lw=0.8)
        ax.axvline(0, color="0.85", lw=0.8)
        a_col, b_col = viz.PALETTE[0], viz.PALETTE[1]
        art = self.artists
        (art["a"],) = ax.plot([], [], "-o", color=a_col, lw=2.5, markevery=[1], label="a")
        (art["b"],) = ax.plot([], [], "-o", color=b_col, lw=2.5, markevery=[1], label="b")
        (art["euclidean"],) = ax.plot([], [], "--", color="black", lw=1.5, label="Euclidean")
        (art["l1"],) = ax.plot([], [], ":", color=viz.PALETTE[2], lw=2.0, label="L1 path")
        (art["arc"],) = ax.plot([], [], "-", color=viz.PALETTE[3], lw=1.5, label="angle")
        ax.set_xlim(-2.2, 2.2)
        ax.set_ylim(-2.2, 2.2)
        ax.set_aspect("equal")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.legend(fontsize="x-small", loc="lower left", ncols=2)
        names = ["Euclidean", "L1", "cos sim", "cos dist"]
        colors = ["black", viz.PALETTE[2], viz.PALETTE[3], viz.PALETTE[4]]
        art["bars"] = bx.bar(names, np.zeros(4), color=colors)
        art["bar_text"] = [bx.text(i, 0, "", ha="center", va="bottom") for i in range(4)]
        bx.axhline(0, color="0.5", lw=0.8)
        bx.set_ylim(-1.2, 6.0)
        bx.set_ylabel("value")
        self.ax_plane, self.ax_bars = ax, bx
        self.distances: dict[str, float] = {}
        self._dynamic(
            art["a"],
            art["b"],
            art["euclidean"],
            art["l1"],
            art["arc"],
            *art["bars"],
            *art["bar_text"],
            ax.title,
            bx.title,
        )
        self._start()

    def _apply(self) -> None:
        from cl_lessons.distances import cosine_similarity, euclidean, manhattan

        v = self.values

        def vec(angle, length):
            r = 1.0 if v["normalize"] else length
            return np.array([r * math.cos(math.radians(angle)), r * math.sin(math.radians(angle))])

        a, b = vec(v["angle_a"], v["length_a"]), vec(v["angle_b"], v["length_b"])
        ta, tb = torch.as_tensor(a), torch.as_tensor(b)  # (2,) float64
        e = float(euclidean(ta, tb))
        l1 = float(manhattan(ta, tb))
        cs = float(cosine_similarity(ta, tb))
        self.distances = {"euclidean": e, "l1": l1, "cosine_similarity": cs, "cosine": 1 - cs}
        art = self.artists
        art["a"].set_data([0, a[0]], [0, a[1]])
        art["b"].set_data([0, b[0]], [0, b[1]])
        art["euclidean"].set_data([a[0], b[0]], [a[1], b[1]])
        art["l1"].set_data([a[0], b[0], b[0]], [a[1], a[1], b[1]])
        t0, t1 = math.radians(v["angle_a"]), math.radians(v["angle_b"])
        delta = (t1 - t0 + math.pi) % (2 * math.pi) - math.pi  # shorter way round
        arc = t0 + np.linspace(0, delta, 40)
        art["arc"].set_data(0.35 * np.cos(arc), 0.35 * np.sin(arc))
        for bar, txt, val in zip(
            art["bars"], art["bar_text"], self.distances.values(), strict=True
        ):
            bar.set_height(val)
            txt.set_position((bar.get_x() + bar.get_width() / 2, max(val, 0) + 0.05))
            txt.set_text(f"{val:.2f}")
        self.ax_plane.set_title(f"a = ({a[0]:.2f}, {a[1]:.2f}),  b = ({b[0]:.2f}, {b[1]:.2f})")
        if v["normalize"]:
            title = f"unit vectors: ||a-b||² = {e * e:.2f} = 2 - 2 cos = {2 - 2 * cs:.2f}"
        else:
            title = f"Euclidean = {e:.2f}, L1 = {l1:.2f}, cos = {cs:.2f}"
        self.ax_bars.set_title(title)


def distance_explorer(
    angle_a: float = 30.0,
    length_a: float = 1.0,
    angle_b: float = 110.0,
    length_b: float = 1.5,
    normalize: bool = False,
) -> DistanceExplorer:
    """Two 2-D vectors set by angle and length; Euclidean, L1 and cosine side by side.

    The left panel draws the vectors, the unit circle, the straight Euclidean segment, the
    axis-aligned L1 path and the angle; the right panel the four numbers. The "normalise"
    toggle puts both vectors on the unit circle, where ``||a - b||² = 2 - 2 cos(a, b)``.

    Args:
        angle_a: direction of ``a`` in degrees, in [0, 360].
        length_a: length of ``a``, in [0.1, 2].
        angle_b: direction of ``b`` in degrees.
        length_b: length of ``b``.
        normalize: start with both vectors normalised.

    Returns:
        The app; ``app.distances`` holds the current values.

    Raises:
        ValueError: an angle or a length outside its slider's range.
    """
    for name, val, lo, hi in [
        ("angle_a", angle_a, 0, 360),
        ("angle_b", angle_b, 0, 360),
        ("length_a", length_a, 0.1, 2.0),
        ("length_b", length_b, 0.1, 2.0),
    ]:
        if not lo <= val <= hi:
            raise ValueError(f"{name} must be in [{lo}, {hi}], got {val}")
    return DistanceExplorer(angle_a, length_a, angle_b, length_b, bool(normalize))


# =========================================================================== 2. margin


def _check_distances(d, name: str) -> np.ndarray:
    arr = viz._finite(viz._to_numpy(d, name, ndim=1), name)
    if (arr < 0).any():
        raise ValueError(f"{name} must hold distances >= 0, got min {arr.min():.3g}")
    return arr


class MarginExplorer(App):
    """Loss and gradient against distance for a margin loss (see :func:`margin_explorer`)."""

    def __init__(self, margin, loss, d_pos, d_neg):
        controls = {
            "margin": _slider("margin", margin, 0.0, 3.0, 0.05),
            "loss": _dropdown("loss", ["contrastive", "triplet"], loss),
        }
        has_hist = d_pos is not None
        super().__init__(controls, figsize=(11.0 if has_hist else 8.5, 3.6))
        axes = self.fig.subplots(1, 3 if has_hist else 2)
        self.ax_loss, self.ax_grad = axes[0], axes[1]
        art = self.artists
        for ax, kind in [(self.ax_loss, "loss"), (self.ax_grad, "grad")]:
            (art[f"{kind}_pos"],) = ax.plot([], [], color=viz.POSITIVE, lw=2)
            (art[f"{kind}_neg"],) = ax.plot([], [], color=viz.NEGATIVE, lw=2)
            art[f"{kind}_margin"] = ax.axvline(0, color="black", ls="--", lw=1)
            ax.axhline(0, color="0.8", lw=0.8)
        self.ax_hist = None
        if has_hist:
            self.ax_hist = axes[2]
            self.d_pos, self.d_neg = d_pos, d_neg
            self._d_neg_sorted = np.sort(d_neg)
            viz.plot_distance_histograms(d_pos, d_neg, ax=self.ax_hist, title="")
            art["hist_margin"] = self.ax_hist.axvline(0, color="black", ls="--", lw=1.5)
            self._dynamic(art["hist_margin"], self.ax_hist.title)
        self._dynamic(
            *(
                art[f"{kind}_{part}"]
                for kind in ("loss", "grad")
                for part in ("pos", "neg", "margin")
            ),
            self.ax_loss.title,
            self.ax_grad.title,
        )
        self._mode = None
        self._start()

    def _curves(self, margin: float, loss: str):
        from cl_lessons import losses

        if loss == "contrastive":
            d = torch.linspace(1e-3, 4.0, 300, dtype=torch.float64, requires_grad=True)  # (T,)
            z1 = torch.stack([d, torch.zeros_like(d)], 1)  # (T, 2): distance to the origin is d
            z2 = torch.zeros_like(z1)
            ones = torch.ones(len(d), dtype=torch.float64)
            pos = losses.contrastive_loss(z1, z2, ones, margin, reduction="none")  # (T,)
            (g_pos,) = torch.autograd.grad(pos.sum(), d)
            neg = losses.contrastive_loss(z1, z2, 1 - ones, margin, reduction="none")  # (T,)
            (g_neg,) = torch.autograd.grad(neg.sum(), d)
            x = d.detach().numpy()
            return x, pos.detach().numpy(), neg.detach().numpy(), g_pos.numpy(), g_neg.numpy()
        # triplet: fix d(a,p) = 1 and move the negative; x = d(a,n) - d(a,p)
        gap = torch.linspace(-0.999, 4.0, 300, dtype=torch.float64)  # (T,)
        d_ap = torch.ones_like(gap, requires_grad=True)
        d_an = (1.0 + gap).requires_grad_(True)
        zero = torch.zeros_like(gap)
        a = torch.zeros(len(gap), 2, dtype=torch.float64)  # (T, 2)
        p = torch.stack([d_ap, zero], 1)  # (T, 2)
        n = torch.stack([d_an, zero], 1)  # (T, 2)
        trip = losses.triplet_loss(a, p, n, margin, reduction="none")  # (T,)
        g_ap, g_an = torch.autograd.grad(trip.sum(), [d_ap, d_an])
        return gap.numpy(), trip.detach().numpy(), None, g_ap.numpy(), g_an.numpy()

    def _set_mode(self, loss: str) -> None:
        art = self.artists
        if loss == "contrastive":
            self.ax_loss.set_xlim(0, 4.0)
            self.ax_grad.set_xlim(0, 4.0)
            self.ax_loss.set_xlabel("distance d")
            self.ax_grad.set_xlabel("distance d")
            self.ax_loss.set_ylabel("loss")
            self.ax_grad.set_ylabel("dL/dd")
            art["loss_pos"].set_label("similar pair: d²")
            art["loss_neg"].set_label("dissimilar pair: max(m - d, 0)²")
            art["grad_pos"].set_label("similar: pulls together")
            art["grad_neg"].set_label("dissimilar: pushes apart")
        else:
            self.ax_loss.set_xlim(-1.0, 4.0)
            self.ax_grad.set_xlim(-1.0, 4.0)
            self.ax_loss.set_xlabel("d(a,n) - d(a,p)")
            self.ax_grad.set_xlabel("d(a,n) - d(a,p)")
            self.ax_loss.set_ylabel("loss")
            self.ax_grad.set_ylabel("gradient")
            art["loss_pos"].set_label("max(d(a,p) - d(a,n) + m, 0)")
            art["grad_pos"].set_label("dL/d d(a,p): pulls p in")
            art["grad_neg"].set_label("dL/d d(a,n): pushes n out")
        lims = {"contrastive": ((-0.3, 9.5), (-6.5, 8.5)), "triplet": ((-0.2, 5.2), (-1.5, 1.5))}
        self.ax_loss.set_ylim(*lims[loss][0])  # fixed per loss: the axes never jump
        self.ax_grad.set_ylim(*lims[loss][1])
        art["loss_neg"].set_visible(loss == "contrastive")
        art["loss_pos"].set_color(viz.POSITIVE if loss == "contrastive" else "black")
        self.ax_loss.legend(
            handles=[h for h in (art["loss_pos"], art["loss_neg"]) if h.get_visible()],
            fontsize="x-small",
            loc="upper right",
        )
        self.ax_grad.legend(
            handles=[art["grad_pos"], art["grad_neg"]], fontsize="x-small", loc="upper right"
        )
        self._mode = loss
        self._touch()

    def _apply(self) -> None:
        m, loss = float(self.values["margin"]), self.values["loss"]
        if loss != self._mode:
            self._set_mode(loss)
        x, l_pos, l_neg, g_pos, g_neg = self._curves(m, loss)
        art = self.artists
        art["loss_pos"].set_data(x, l_pos)
        art["loss_neg"].set_data(x, l_neg if l_neg is not None else [])
        art["grad_pos"].set_data(x, g_pos)
        art["grad_neg"].set_data(x, g_neg)
        for key in ("loss_margin", "grad_margin"):  # contrastive: d = m; triplet: gap = m
            art[key].set_xdata([m, m])
        self.ax_loss.set_title(f"{loss} loss, margin = {m:.2f}")
        self.ax_grad.set_title(f"gradient, margin = {m:.2f}")
        if self.ax_hist is not None:
            art["hist_margin"].set_xdata([m, m])
            if loss == "contrastive":
                active = float(np.mean(self.d_neg < m))
                text = f"{100 * active:.0f}% of dissimilar pairs closer than m = {m:.2f}"
            else:
                # share of (positive, negative) combinations violating d_n > d_p + m
                below = np.searchsorted(self._d_neg_sorted, self.d_pos + m, side="left")
                active = float(below.mean() / len(self.d_neg))
                text = f"{100 * active:.0f}% of (p, n) combos with d_n < d_p + {m:.2f}"
            self.active_fraction = active
            self.ax_hist.set_title(text, fontsize="small")


def margin_explorer(
    margin: float = 1.0, loss: str = "contrastive", d_pos=None, d_neg=None
) -> MarginExplorer:
    """Margin slider and loss choice: loss and gradient against distance.

    Contrastive (``y = 1`` similar): a similar pair costs ``d²`` (pulled in at every distance), a
    dissimilar pair ``max(m - d, 0)²`` (pushed out only while closer than the margin). Triplet:
    ``max(d(a,p) - d(a,n) + m, 0)`` against the gap ``d(a,n) - d(a,p)``. Curves and gradients
    are computed by :mod:`cl_lessons.losses` with autograd, not re-typed here. Given the pair
    distances of a trained model, a third panel shows their histograms with the margin.

    Args:
        margin: starting margin, in [0, 3].
        loss: ``"contrastive"`` or ``"triplet"``.
        d_pos: distances of similar pairs of a trained model (optional, with ``d_neg``).
        d_neg: distances of dissimilar pairs.

    Returns:
        The app.

    Raises:
        ValueError: margin outside [0, 3], unknown loss, only one of ``d_pos``/``d_neg`` given,
            or empty/NaN/negative distances.
    """
    if not 0.0 <= margin <= 3.0:
        raise ValueError(f"margin must be in [0, 3], got {margin}")
    if loss not in ("contrastive", "triplet"):
        raise ValueError(f"loss must be 'contrastive' or 'triplet', got {loss!r}")
    if (d_pos is None) != (d_neg is None):
        raise ValueError("give both d_pos and d_neg, or neither")
    if d_pos is not None:
        d_pos, d_neg = _check_distances(d_pos, "d_pos"), _check_distances(d_neg, "d_neg")
    return MarginExplorer(float(margin), loss, d_pos, d_neg)


# =========================================================================== 3. triplet zones


class TripletZones(App):
    """Negatives coloured easy / semi-hard / hard around an anchor (see :func:`triplet_zones`)."""

    def __init__(self, margin, anchor, positive, negatives):
        from matplotlib.patches import Annulus, Circle

        controls = {
            "margin": _slider("margin", margin, 0.0, 2.0, 0.05),
            "anchor_x": _slider("anchor x", anchor[0], -2.0, 2.0, 0.05),
            "anchor_y": _slider("anchor y", anchor[1], -2.0, 2.0, 0.05),
            "positive_x": _slider("positive x", positive[0], -2.0, 2.0, 0.05),
            "positive_y": _slider("positive y", positive[1], -2.0, 2.0, 0.05),
        }
        super().__init__(controls, figsize=(6.4, 5.0))
        ax = self.fig.subplots()
        self.ax = ax
        self.negatives = negatives
        art = self.artists
        art["semihard_ring"] = Annulus(
            (0, 0), 1.0, 0.5, color=viz.ZONE_COLORS["semi-hard"], alpha=0.2, lw=0
        )
        art["hard_disc"] = Circle((0, 0), 1.0, color=viz.ZONE_COLORS["hard"], alpha=0.22, lw=0)
        ax.add_patch(art["semihard_ring"])
        ax.add_patch(art["hard_disc"])
        self._zone_rgba = np.array(
            [matplotlib.colors.to_rgba(viz.ZONE_COLORS[z]) for z in viz.ZONE_NAMES]
        )
        art["negatives"] = ax.scatter(negatives[:, 0], negatives[:, 1], s=16, linewidths=0)
        (art["ap"],) = ax.plot([], [], "-", color="0.3", lw=1)
        (art["anchor"],) = ax.plot([], [], "*", color="black", ms=15, label="anchor")
        (art["positive"],) = ax.plot([], [], "o", color=viz.POSITIVE, mec="black", ms=10)
        handles = [art["anchor"], art["positive"]]
        for z in range(3):
            (h,) = ax.plot([], [], "o", color=self._zone_rgba[z], ms=6)
            handles.append(h)
        self._legend = ax.legend(
            handles=handles,
            labels=["anchor", "positive", "easy", "semi-hard", "hard"],
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize="small",
        )
        lim = float(np.abs(negatives).max()) * 1.02
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_xlabel("dimension 1")
        ax.set_ylabel("dimension 2")
        self.zones = np.zeros(len(negatives), dtype=np.int64)
        self._dynamic(
            art["semihard_ring"],
            art["hard_disc"],
            art["negatives"],
            art["ap"],
            art["anchor"],
            art["positive"],
            self._legend,
            ax.title,
        )
        self._start()

    def _apply(self) -> None:
        v = self.values
        m = float(v["margin"])
        a = np.array([v["anchor_x"], v["anchor_y"]])
        p = np.array([v["positive_x"], v["positive_y"]])
        self.zones = viz.negative_zones(a, p, self.negatives, m)  # miners' definitions
        d_ap = float(np.linalg.norm(p - a))
        art = self.artists
        art["negatives"].set_facecolors(self._zone_rgba[self.zones])
        art["anchor"].set_data([a[0]], [a[1]])
        art["positive"].set_data([p[0]], [p[1]])
        art["ap"].set_data([a[0], p[0]], [a[1], p[1]])
        art["hard_disc"].set_center(a)
        art["hard_disc"].set_radius(d_ap)
        ring = art["semihard_ring"]
        ring.set_center(a)
        ring.set_visible(m > 0)
        if m > 0:
            ring.set_radii(d_ap + m)
            ring.set_width(m)
        counts = np.bincount(self.zones, minlength=3)
        for txt, name, c in zip(self._legend.get_texts()[2:], viz.ZONE_NAMES, counts, strict=True):
            txt.set_text(f"{name} ({c})")
        self.ax.set_title(
            f"margin = {m:.2f}, d(a,p) = {d_ap:.2f}: "
            f"{counts[0]} easy, {counts[1]} semi-hard, {counts[2]} hard"
        )


def triplet_zones(
    margin: float = 0.5,
    anchor: Sequence[float] = (0.0, 0.0),
    positive: Sequence[float] = (0.8, 0.3),
    negatives=None,
    n_negatives: int = 400,
    seed: int = 0,
) -> TripletZones:
    """Anchor, positive and margin controls over a cloud of negatives coloured by zone.

    Hard negatives lie inside the disc of radius ``d(a,p)``, semi-hard ones in the ring out to
    ``d(a,p) + margin``, easy ones beyond. Colours come from
    :func:`cl_lessons.miners.triplet_categories` (via :func:`cl_lessons.viz.negative_zones`).
    FaceNet, Schroff et al. 2015, https://arxiv.org/abs/1503.03832.

    Args:
        margin: starting margin, in [0, 2].
        anchor: starting anchor ``(x, y)``, each in [-2, 2].
        positive: starting positive ``(x, y)``, each in [-2, 2].
        negatives: your own ``(K, 2)`` negatives; None draws ``n_negatives`` uniformly in
            ``[-3, 3]²``.
        n_negatives: size of the generated cloud.
        seed: seed of the generated cloud.

    Returns:
        The app; ``app.zones`` holds the zone of each negative (0 easy, 1 semi-hard, 2 hard).

    Raises:
        ValueError: values outside the sliders' ranges, negatives not a finite ``(K, 2)`` array,
            ``n_negatives < 1``.
    """
    if not 0.0 <= margin <= 2.0:
        raise ValueError(f"margin must be in [0, 2], got {margin}")
    for name, point in [("anchor", anchor), ("positive", positive)]:
        if len(point) != 2 or not all(-2.0 <= float(c) <= 2.0 for c in point):
            raise ValueError(f"{name} must be (x, y) with both in [-2, 2], got {tuple(point)}")
    if negatives is None:
        if n_negatives < 1:
            raise ValueError(f"n_negatives must be >= 1, got {n_negatives}")
        negatives = np.random.default_rng(seed).uniform(-3.0, 3.0, size=(n_negatives, 2))
    neg = viz._finite(viz._to_numpy(negatives, "negatives", ndim=2), "negatives")
    if neg.shape[1] != 2:
        raise ValueError(f"negatives must have shape (K, 2), got {neg.shape}")
    return TripletZones(float(margin), tuple(map(float, anchor)), tuple(map(float, positive)), neg)


# =========================================================================== 4. temperature


class TemperatureExplorer(App):
    """Softmax weights and gradients over fixed similarities (see :func:`temperature_explorer`)."""

    def __init__(self, temperature, sims):
        controls = {
            "temperature": widgets.FloatLogSlider(
                value=temperature,
                base=10,
                min=-2,
                max=1,
                step=0.02,
                description="temperature τ",
                readout_format=".3f",
                style=_STYLE,
                layout=widgets.Layout(width="340px"),
            )
        }
        super().__init__(controls, figsize=(9.5, 3.6))
        self.sims = torch.as_tensor(sims, dtype=torch.float64)  # (1 + K,) positive first
        ax, bx = self.fig.subplots(1, 2)
        names = ["pos"] + [f"n{i + 1}" for i in range(len(sims) - 1)]
        colors = [viz.POSITIVE] + [viz.NEGATIVE] * (len(sims) - 1)
        x = np.arange(len(sims))
        art = self.artists
        art["weights"] = ax.bar(x, np.zeros(len(sims)), color=colors)
        art["grads"] = bx.bar(x[1:], np.zeros(len(sims) - 1), color=viz.NEGATIVE)
        ax.set_ylim(0, 1.05)
        bx.set_ylim(0, 1.05)
        ax.set_ylabel("softmax weight")
        bx.set_ylabel("share of the push on negatives")
        for axis in (ax, bx):
            axis.set_xticks(x, [f"{n}\n{s:.2f}" for n, s in zip(names, sims, strict=True)])
            axis.tick_params(axis="x", labelsize="x-small")
            axis.set_xlabel("candidate and its similarity s")
        bx.set_xlim(-0.6, len(sims) - 0.4)
        self.ax_weights, self.ax_grads = ax, bx
        self._dynamic(*art["weights"], *art["grads"], ax.title, bx.title)
        self._start()

    def _apply(self) -> None:
        tau = float(self.values["temperature"])
        s = self.sims.clone().requires_grad_(True)  # (1 + K,)
        logits = (s / tau).unsqueeze(0)  # (1, 1 + K): one InfoNCE anchor
        loss = torch.nn.functional.cross_entropy(logits, torch.zeros(1, dtype=torch.long))
        (grad,) = torch.autograd.grad(loss, s)  # (1 + K,) = (softmax - onehot) / tau
        w = torch.softmax(logits.detach(), 1)[0].numpy()
        g = grad[1:].numpy()  # (K,) >= 0: how hard each negative is pushed away
        self.weights, self.gradients, self.loss = w, g, float(loss.detach())
        for bar, h in zip(self.artists["weights"], w, strict=True):
            bar.set_height(h)
        total = float(g.sum())
        self.shares = g / total if total > 0 else np.zeros_like(g)  # (K,) sums to 1
        for bar, h in zip(self.artists["grads"], self.shares, strict=True):
            bar.set_height(h)
        self.ax_weights.set_title(f"τ = {tau:.3f}: loss = {self.loss:.3f}")
        self.ax_grads.set_title(
            f"total push Σ dL/ds = {total:.2f}; hardest gets {100 * self.shares.max():.0f}%"
        )


def temperature_explorer(temperature: float = 0.1, similarities=None) -> TemperatureExplorer:
    """Temperature slider over fixed similarities: softmax weights and per-negative gradients.

    One InfoNCE anchor (Oord et al. 2018, https://arxiv.org/abs/1807.03748; SimCLR, Chen et al.
    2020, https://arxiv.org/abs/2002.05709) with loss ``-log softmax(s / τ)[positive]``. The
    gradient on negative ``j`` is ``softmax_j / τ``: a low temperature puts nearly all of it on
    the most similar (hardest) negatives, a high one spreads it evenly.

    Args:
        temperature: starting τ, in [0.01, 10].
        similarities: cosine similarities, the positive's first, then the negatives'; None uses
            a positive at 0.6 and 12 negatives from 0.55 down to -0.6.

    Returns:
        The app; ``app.weights``, ``app.gradients`` and ``app.loss`` hold the current values.

    Raises:
        ValueError: temperature outside [0.01, 10], fewer than two similarities, values outside
            [-1, 1] or not finite.
    """
    if not 0.01 <= temperature <= 10.0:
        raise ValueError(f"temperature must be in [0.01, 10], got {temperature}")
    if similarities is None:
        similarities = [0.6, 0.55, 0.45, 0.3, 0.2, 0.1, 0.0, -0.1, -0.2, -0.3, -0.4, -0.5, -0.6]
    sims = viz._finite(viz._to_numpy(similarities, "similarities", ndim=1), "similarities")
    if len(sims) < 2:
        raise ValueError(f"similarities needs the positive and >= 1 negative, got {len(sims)}")
    if np.abs(sims).max() > 1.0:
        raise ValueError("similarities must be cosine similarities in [-1, 1]")
    return TemperatureExplorer(float(temperature), sims)


# =========================================================================== 5. threshold


class ThresholdExplorer(App):
    """Verification threshold: histograms, ROC point, confusion matrix (see
    :func:`threshold_explorer`)."""

    def __init__(self, scores, same, threshold, higher_is_same):
        from cl_lessons import metrics

        lo, hi = float(scores.min()), float(scores.max())
        step = (hi - lo) / 500 if hi > lo else 1e-3
        controls = {"threshold": _slider("threshold", threshold, lo, hi, step, ".3f")}
        super().__init__(controls, figsize=(11.0, 3.6))
        self.scores, self.same, self.higher_is_same = scores, same, higher_is_same
        signed = scores if higher_is_same else -scores
        self._pos = np.sort(signed[same])
        self._neg = np.sort(signed[~same])
        ax_h, ax_r, ax_c = self.fig.subplots(1, 3, width_ratios=[1.3, 1.0, 0.9])
        art = self.artists
        viz.plot_distance_histograms(
            scores[same], scores[~same], ax=ax_h, xlabel="score", title="", bins=40
        )
        art["threshold_line"] = ax_h.axvline(threshold, color="black", lw=1.8)
        far, tar, _ = metrics.roc_curve(signed, same)
        auc = metrics.roc_auc(signed, same)
        ax_r.plot(far, tar, color=viz.POSITIVE, lw=2, label=f"ROC, AUC = {auc:.3f}")
        ax_r.plot([0, 1], [0, 1], ":", color="0.6", lw=1)
        (art["roc_point"],) = ax_r.plot([], [], "o", color=viz.NEGATIVE, ms=9, mec="black")
        ax_r.legend(fontsize="x-small", loc="lower right")
        ax_r.set_xlim(-0.02, 1.02)
        ax_r.set_ylim(-0.02, 1.02)
        ax_r.set_xlabel("false accept rate (FAR)")
        ax_r.set_ylabel("true accept rate (1 - FRR)")
        art["confusion"] = ax_c.imshow(
            np.zeros((2, 2)), cmap="Blues", vmin=0, vmax=max(same.sum(), (~same).sum())
        )
        art["cells"] = [
            [ax_c.text(j, i, "", ha="center", va="center", fontsize="large") for j in range(2)]
            for i in range(2)
        ]
        ax_c.set_xticks([0, 1], ["same", "different"])
        ax_c.set_yticks([0, 1], ["same", "different"])
        ax_c.set_xlabel("predicted")
        ax_c.set_ylabel("true")
        self.ax_hist, self.ax_roc, self.ax_conf = ax_h, ax_r, ax_c
        self._dynamic(
            art["threshold_line"],
            art["roc_point"],
            art["confusion"],
            *(t for row in art["cells"] for t in row),
            ax_h.title,
            ax_r.title,
            ax_c.title,
        )
        self._start()

    def _apply(self) -> None:
        t = float(self.values["threshold"])
        ts = t if self.higher_is_same else -t
        # accepted = signed score >= ts (for distances: distance <= t)
        tp = len(self._pos) - int(np.searchsorted(self._pos, ts, side="left"))
        fp = len(self._neg) - int(np.searchsorted(self._neg, ts, side="left"))
        fn, tn = len(self._pos) - tp, len(self._neg) - fp
        far, frr = fp / len(self._neg), fn / len(self._pos)
        acc = (tp + tn) / (len(self._pos) + len(self._neg))
        self.rates = {"far": far, "frr": frr, "tar": 1 - frr, "accuracy": acc}
        self.confusion = np.array([[tp, fn], [fp, tn]])
        art = self.artists
        art["threshold_line"].set_xdata([t, t])
        art["roc_point"].set_data([far], [1 - frr])
        art["confusion"].set_data(self.confusion)
        vmax = art["confusion"].norm.vmax
        for i in range(2):
            for j in range(2):
                c = self.confusion[i, j]
                art["cells"][i][j].set_text(str(c))
                art["cells"][i][j].set_color("white" if c > 0.6 * vmax else "black")
        rule = "score >= t" if self.higher_is_same else "score <= t"
        self.ax_hist.set_title(f"threshold = {t:.3f} (same if {rule})")
        self.ax_roc.set_title(f"FAR = {far:.3f}, FRR = {frr:.3f}")
        self.ax_conf.set_title(f"accuracy = {acc:.3f}")


def threshold_explorer(
    scores, same, threshold: float | None = None, higher_is_same: bool = True
) -> ThresholdExplorer:
    """Threshold slider for a verification score: histograms, ROC point, confusion matrix.

    A pair is accepted as "same" when ``score >= threshold`` (similarities), or when
    ``score <= threshold`` with ``higher_is_same=False`` (distances). FAR is the share of
    different-class pairs accepted, FRR the share of same-class pairs rejected.

    Args:
        scores: one score per pair.
        same: 1/True for same-class (same-identity) pairs, 0/False otherwise.
        threshold: starting threshold; None picks the most accurate one.
        higher_is_same: True for similarities, False for distances.

    Returns:
        The app; ``app.rates`` (far, frr, tar, accuracy) and ``app.confusion``
        (``[[TP, FN], [FP, TN]]``, rows true same/different) hold the current values.

    Shape:
        ``scores``, ``same``: ``(N,)``.

    Raises:
        ValueError: lengths differ, empty input, NaN/inf scores, ``same`` not 0/1, only one
            class present, or a threshold outside the scores' range.
    """
    s, y = viz._check_scores(scores, same)
    lo, hi = float(s.min()), float(s.max())
    if threshold is None:
        from cl_lessons import metrics

        best, _ = metrics.best_threshold(s if higher_is_same else -s, y)
        threshold = min(max(best if higher_is_same else -best, lo), hi)
    if not lo <= threshold <= hi:
        raise ValueError(
            f"threshold must be within the scores' range [{lo}, {hi}], got {threshold}"
        )
    return ThresholdExplorer(s, y, float(threshold), bool(higher_is_same))


# =========================================================================== 6. embeddings


_METHODS = ("PCA", "t-SNE", "UMAP")


def _project(x: np.ndarray, method: str, seed: int) -> np.ndarray:
    """2-D projection of ``x`` (N, D) by PCA, t-SNE or UMAP (heavy imports happen here)."""
    n = len(x)
    if method == "PCA":
        xc = x - x.mean(0, keepdims=True)
        if x.shape[1] == 1:
            return np.c_[xc[:, 0], np.zeros(n)]
        _, _, vt = np.linalg.svd(xc, full_matrices=False)
        return xc @ vt[:2].T  # (N, 2)
    if method == "t-SNE":
        from sklearn.manifold import TSNE
        from threadpoolctl import threadpool_limits

        perplexity = float(min(30.0, max(2.0, (n - 1) / 3.0)))
        tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
        # OpenMP spin-waits badly when the cores are busy (the notebook's own kernel, a
        # browser): measured 116 s with 2 threads vs 18 s with 1 for the digits on a busy
        # 2-core machine. Half the cores keeps most of the speed-up without that cliff.
        with threadpool_limits(max(1, (os.cpu_count() or 2) // 2)):
            return tsne.fit_transform(x)
    import warnings

    import umap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state" and friends
        reducer = umap.UMAP(n_components=2, n_neighbors=min(15, n - 1), random_state=seed)
        return reducer.fit_transform(x)


class EmbeddingExplorer(App):
    """Projection choice, query and its nearest neighbours (see :func:`embedding_explorer`)."""

    _COLS = 6

    def __init__(self, emb, labels, images, method, query, k, seed):
        n = len(emb)
        k_max = max(1, min(20, n - 1))
        controls = {
            "method": _dropdown("projection", _METHODS, method),
            "query": _int_slider("query", query, 0, n - 1),
            "k": _int_slider("k neighbours", min(k, k_max), 1, k_max),
            "color_by_label": widgets.Checkbox(value=True, description="colour by label"),
        }
        super().__init__(controls, figsize=(10.0 if images is not None else 6.5, 4.6))
        self.embeddings, self.labels, self.images, self.seed = emb, labels, images, seed
        self.projections: dict[str, np.ndarray] = {}
        self.projection_seconds: dict[str, float] = {}
        if images is not None:
            ax, ix = self.fig.subplots(1, 2, width_ratios=[1.15, 1.0])
        else:
            ax, ix = self.fig.subplots(), None
        self.ax, self.ax_images = ax, ix
        classes, index, colors = viz._label_colors(labels)
        rgba = np.array([matplotlib.colors.to_rgba(c) for c in colors])
        self._label_rgba = rgba[index]  # (N, 4)
        self._plain_rgba = np.tile(matplotlib.colors.to_rgba("0.55"), (n, 1))
        art = self.artists
        art["points"] = ax.scatter(np.zeros(n), np.zeros(n), s=12, linewidths=0, alpha=0.8)
        art["neighbours"] = ax.scatter(
            [], [], s=70, facecolors="none", edgecolors="black", linewidths=1.3
        )
        (art["query"],) = ax.plot([], [], "*", color="black", mfc="white", ms=17, mew=1.5)
        handles = [
            matplotlib.lines.Line2D([], [], ls="", marker="o", color=c, label=str(cl))
            for cl, c in zip(classes, colors, strict=True)
        ][:12]
        if handles:
            ax.legend(
                handles=handles,
                title="class",
                fontsize="x-small",
                loc="upper left",
                bbox_to_anchor=(1.0, 1.0),
            )
        ax.set_xlabel("component 1")
        ax.set_ylabel("component 2")
        self._k_max = k_max
        if ix is not None:
            rows = -(-(k_max + 1) // self._COLS)
            h, w = images.shape[1:3]
            self._cell = (h + 2, w + 2)
            shape = (rows * (h + 2), self._COLS * (w + 2), *images.shape[3:])
            self._mosaic = np.full(shape, np.nan)
            self._vmin, self._vmax = float(np.nanmin(images)), float(np.nanmax(images))
            cmap = matplotlib.colormaps["gray"].with_extremes(bad="white")
            art["mosaic"] = ix.imshow(
                self._mosaic,
                cmap=cmap if images.ndim == 3 else None,
                vmin=self._vmin,
                vmax=self._vmax,
                interpolation="nearest",
            )
            art["captions"] = [
                ix.text(
                    (i % self._COLS) * (w + 2) + w / 2,
                    (i // self._COLS) * (h + 2) + h + 0.6,
                    "",
                    ha="center",
                    va="top",
                    fontsize="x-small",
                )
                for i in range(k_max + 1)
            ]
            ix.set_axis_off()
        self.neighbours = np.zeros(0, dtype=np.int64)
        self._shown_method = None
        self._shown_colors = None
        self._dynamic(art["neighbours"], art["query"], ax.title)
        if ix is not None:
            self._dynamic(art["mosaic"], *art["captions"], ix.title)
        self._start()

    def projection(self, method: str) -> np.ndarray:
        """The cached 2-D projection by ``method``, computing it (once) if needed."""
        if method not in self.projections:
            if method != "PCA":
                self._say(
                    f"computing {method} of {len(self.embeddings)} points (once, then cached)…"
                )
            start = time.perf_counter()
            self.projections[method] = np.asarray(
                _project(self.embeddings, method, self.seed), dtype=float
            )
            self.projection_seconds[method] = time.perf_counter() - start
            if method != "PCA":
                self._say(f"{method} computed in {self.projection_seconds[method]:.1f} s (cached)")
        return self.projections[method]

    def _apply(self) -> None:
        v = self.values
        method, q, k = v["method"], int(v["query"]), int(v["k"])
        proj = self.projection(method)
        art = self.artists
        if method != self._shown_method:
            art["points"].set_offsets(proj)
            self._touch()
            lo, hi = proj.min(0), proj.max(0)
            pad = 0.06 * np.maximum(hi - lo, 1e-9)
            self.ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
            self.ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
            self._shown_method = method
        if v["color_by_label"] != self._shown_colors:
            rgba = self._label_rgba if v["color_by_label"] else self._plain_rgba
            art["points"].set_facecolors(rgba)
            self._shown_colors = v["color_by_label"]
            self._touch()  # the points are in the cached background
        # neighbours in the ORIGINAL embedding space: projections distort neighbourhoods
        d = np.linalg.norm(self.embeddings - self.embeddings[q], axis=1)  # (N,)
        d[q] = np.inf
        nn = np.argpartition(d, k - 1)[:k]
        nn = nn[np.argsort(d[nn], kind="stable")]
        self.neighbours = nn
        art["neighbours"].set_offsets(proj[nn])
        art["query"].set_data([proj[q, 0]], [proj[q, 1]])
        agree = int((self.labels[nn] == self.labels[q]).sum())
        self.ax.set_title(
            f"{method}: query {q} (class {self.labels[q]}), {agree}/{k} neighbours share its class",
            fontsize="medium",
        )
        if self.ax_images is not None:
            self._mosaic[:] = np.nan
            h, w = self._cell[0] - 2, self._cell[1] - 2
            for slot, idx in enumerate([q, *nn.tolist()]):
                r, c = divmod(slot, self._COLS)
                self._mosaic[r * (h + 2) : r * (h + 2) + h, c * (w + 2) : c * (w + 2) + w] = (
                    self.images[idx]
                )
            art["mosaic"].set_data(self._mosaic)
            for slot, txt in enumerate(art["captions"]):
                if slot == 0:
                    txt.set_text(f"query: {self.labels[q]}")
                    txt.set_color("black")
                elif slot <= k:
                    idx = nn[slot - 1]
                    txt.set_text(f"{self.labels[idx]} (d={d[idx]:.2f})")
                    ok = self.labels[idx] == self.labels[q]
                    txt.set_color(viz.ZONE_COLORS["easy"] if ok else viz.NEGATIVE)
                else:
                    txt.set_text("")
            self.ax_images.set_title(f"query and its {k} nearest neighbours", fontsize="medium")


def embedding_explorer(
    embeddings,
    labels,
    images=None,
    method: str = "PCA",
    query: int = 0,
    k: int = 5,
    seed: int = 0,
) -> EmbeddingExplorer:
    """Explore an embedding: PCA / t-SNE / UMAP view, a query and its k nearest neighbours.

    Each projection is computed on first use and cached (t-SNE takes seconds, UMAP's first call
    also compiles for 10-30 s; the status line says so), never per slider tick. Neighbours are
    found in the original embedding space and then drawn on the projection, which shows how
    much each projection distorts neighbourhoods. PCA; t-SNE (van der Maaten & Hinton 2008);
    UMAP (McInnes et al. 2018, https://arxiv.org/abs/1802.03426).

    Args:
        embeddings: the embeddings.
        labels: integer class ids.
        images: optional images of the points (any layout :func:`cl_lessons.viz.as_images`
            accepts, for example the ``(N, 64)`` digits), shown for the query and neighbours.
        method: starting projection, ``"PCA"``, ``"t-SNE"`` or ``"UMAP"``.
        query: starting query index.
        k: starting number of neighbours (at most 20).
        seed: random seed of t-SNE and UMAP.

    Returns:
        The app; ``app.projections`` is the cache, ``app.neighbours`` the current neighbours.

    Shape:
        ``embeddings``: ``(N, D)``, ``labels``: ``(N,)``, ``images``: ``(N, ...)``.

    Raises:
        ValueError: lengths differ, fewer than 3 points, NaN/inf embeddings, unknown method,
            ``query`` or ``k`` out of range.
    """
    emb = viz._finite(viz._to_numpy(embeddings, "embeddings", ndim=2), "embeddings")
    if len(emb) < 3:
        raise ValueError(f"embeddings needs at least 3 points, got {len(emb)}")
    lab = viz._labels(labels, len(emb))
    if method not in _METHODS:
        raise ValueError(f"method must be one of {list(_METHODS)}, got {method!r}")
    if not 0 <= query < len(emb):
        raise ValueError(f"query must be in [0, {len(emb) - 1}], got {query}")
    if not 1 <= k <= min(20, len(emb) - 1):
        raise ValueError(f"k must be in [1, {min(20, len(emb) - 1)}], got {k}")
    img = None
    if images is not None:
        img = viz.as_images(images)
        if len(img) != len(emb):
            raise ValueError(f"images must have one image per point ({len(emb)}), got {len(img)}")
    return EmbeddingExplorer(emb, lab, img, method, int(query), int(k), int(seed))


# =========================================================================== 7. decision regions


class DecisionRegions(App):
    """kNN regions and a verification-threshold disc (see :func:`decision_regions`)."""

    def __init__(self, points, labels, k, point, threshold, resolution):
        from matplotlib.patches import Circle

        n = len(points)
        k_max = max(1, min(25, n - 1))
        span = float(np.linalg.norm(points.max(0) - points.min(0)))
        controls = {
            "k": _int_slider("k", min(k, k_max), 1, k_max),
            "point": _int_slider("point", point, 0, n - 1),
            "threshold": _slider("threshold", threshold, 0.0, span / 2, span / 400, ".3f"),
        }
        super().__init__(controls, figsize=(6.6, 5.0))
        self.points, self.labels, self.resolution = points, labels, resolution
        classes, index, colors = viz._label_colors(labels)
        self._index, self._colors, self.classes = index, colors, classes
        grid, self._extent = viz._grid(points, resolution, square=True)
        pts = torch.as_tensor(points, dtype=torch.float32)
        d_grid = torch.cdist(torch.as_tensor(grid, dtype=torch.float32), pts)  # (G, N)
        self._grid_nn = torch.topk(d_grid, k_max, largest=False).indices.numpy()  # (G, k_max)
        d_pts = torch.cdist(pts, pts)  # (N, N)
        d_pts.fill_diagonal_(float("inf"))  # leave-one-out: a point is not its own neighbour
        self._pts_nn = torch.topk(d_pts, k_max, largest=False).indices.numpy()  # (N, k_max)
        self._regions: dict[int, np.ndarray] = {}
        ax = self.fig.subplots()
        self.ax = ax
        art = self.artists
        art["regions"] = ax.imshow(
            np.zeros((resolution, resolution, 4)),
            origin="lower",
            extent=self._extent,
            aspect="auto",
            interpolation="nearest",
        )
        rgba = np.array([matplotlib.colors.to_rgba(c) for c in colors])
        art["points"] = ax.scatter(
            points[:, 0], points[:, 1], s=16, c=rgba[index], linewidths=0, zorder=2
        )
        art["accepted"] = ax.scatter(
            [], [], s=60, facecolors="none", edgecolors="black", linewidths=1.0, zorder=3
        )
        (art["query"],) = ax.plot([], [], "*", color="black", mfc="white", ms=16, zorder=4)
        art["disc"] = Circle((0, 0), 1.0, fill=False, color="black", lw=1.5, ls="--", zorder=3)
        ax.add_patch(art["disc"])
        handles = [
            matplotlib.lines.Line2D([], [], ls="", marker="o", color=c, label=str(cl))
            for cl, c in zip(classes, colors, strict=True)
        ][:12]
        ax.legend(
            handles=handles,
            title="class",
            fontsize="x-small",
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
        )
        ax.set_xlim(self._extent[0], self._extent[1])
        ax.set_ylim(self._extent[2], self._extent[3])
        ax.set_aspect("equal", adjustable="box")  # the threshold disc must look round
        ax.set_xlabel("embedding dimension 1")
        ax.set_ylabel("embedding dimension 2")
        self._shown_k = None
        # everything that moves is drawn over a background of axes, ticks and legend, so a new
        # k (new regions) costs no more than a new point
        self._dynamic(
            art["regions"], art["points"], art["accepted"], art["query"], art["disc"], ax.title
        )
        self._start()

    def regions(self, k: int) -> np.ndarray:
        """RGBA image of the kNN class regions for ``k`` (cached per k)."""
        if k not in self._regions:
            pred = viz._vote(self._index[self._grid_nn[:, :k]], len(self.classes))
            self._regions[k] = viz._region_image(pred, self._colors, self.resolution)
        return self._regions[k]

    def _apply(self) -> None:
        v = self.values
        k, i, t = int(v["k"]), int(v["point"]), float(v["threshold"])
        art = self.artists
        if k != self._shown_k:
            art["regions"].set_data(self.regions(k))
            loo = viz._vote(self._index[self._pts_nn[:, :k]], len(self.classes))
            self.loo_accuracy = float((loo == self._index).mean())
            self._shown_k = k
        c = self.points[i]
        d = np.linalg.norm(self.points - c, axis=1)  # (N,)
        accepted = np.flatnonzero(d < t)
        accepted = accepted[accepted != i]
        self.accepted = accepted
        correct = int((self.labels[accepted] == self.labels[i]).sum())
        art["accepted"].set_offsets(self.points[accepted] if len(accepted) else np.empty((0, 2)))
        art["query"].set_data([c[0]], [c[1]])
        art["disc"].set_center(c)
        art["disc"].set_radius(t)
        self.ax.set_title(
            f"k = {k} (leave-one-out acc {self.loo_accuracy:.2f}); threshold = {t:.2f} around "
            f"point {i}:\naccepts {len(accepted)}, {correct} of its class, "
            f"{len(accepted) - correct} wrong",
            fontsize="medium",
        )


def decision_regions(
    embedding_2d=None,
    labels=None,
    k: int = 5,
    point: int = 0,
    threshold: float | None = None,
    resolution: int = 120,
) -> DecisionRegions:
    """kNN class regions of a 2-D embedding, and the verification disc around a chosen point.

    The background colours each place by the majority class of its ``k`` nearest embedded
    points; the dashed circle of radius ``threshold`` around the chosen point holds the points
    a rule "same identity if distance < threshold" would accept (outlined).

    Args:
        embedding_2d: the 2-D embedding; None uses three toy blobs (``cl.data.make_blobs``).
        labels: integer class ids (required with ``embedding_2d``).
        k: starting number of neighbours (at most 25).
        point: starting index of the chosen point.
        threshold: starting radius; None uses a tenth of the data's diagonal.
        resolution: grid cells per side of the region image.

    Returns:
        The app; ``app.accepted`` (indices in the disc) and ``app.loo_accuracy`` (leave-one-out
        kNN accuracy) hold the current values.

    Shape:
        ``embedding_2d``: ``(N, 2)``, ``labels``: ``(N,)``.

    Raises:
        ValueError: bad shapes or lengths, fewer than 2 points, NaN/inf, ``k``/``point``/
            ``threshold`` out of range, ``resolution < 10``.
    """
    if embedding_2d is None:
        from cl_lessons import data

        embedding_2d, labels = data.make_blobs(n=150, num_classes=3, spread=0.7, seed=0)
    elif labels is None:
        raise ValueError("labels is required with embedding_2d")
    pts = viz._finite(viz._to_numpy(embedding_2d, "embedding_2d", ndim=2), "embedding_2d")
    if pts.shape[1] != 2:
        raise ValueError(f"embedding_2d must have shape (N, 2), got {pts.shape}")
    if len(pts) < 2:
        raise ValueError(f"embedding_2d needs at least 2 points, got {len(pts)}")
    lab = viz._labels(labels, len(pts))
    if not 1 <= k <= min(25, len(pts) - 1):
        raise ValueError(f"k must be in [1, {min(25, len(pts) - 1)}], got {k}")
    if not 0 <= point < len(pts):
        raise ValueError(f"point must be in [0, {len(pts) - 1}], got {point}")
    if resolution < 10:
        raise ValueError(f"resolution must be >= 10, got {resolution}")
    span = float(np.linalg.norm(pts.max(0) - pts.min(0)))
    if threshold is None:
        threshold = span / 10
    if not 0.0 <= threshold <= span / 2:
        raise ValueError(f"threshold must be in [0, {span / 2:.3g}], got {threshold}")
    return DecisionRegions(pts, lab, int(k), int(point), float(threshold), int(resolution))


# =========================================================================== 8. training


_DATASETS = ("blobs", "moons", "rings", "spirals")
_MININGS = ("all", "hard", "semihard")


def _toy_data(name: str, n: int, seed: int):
    from cl_lessons import data

    make = {
        "blobs": data.make_blobs,
        "moons": data.make_moons,
        "rings": data.make_rings,
        "spirals": data.make_spirals,
    }[name]
    X, y = make(n=n, seed=seed)
    return data.stratified_split(X, y, test_fraction=0.3, seed=seed)


def train_2d(
    X: torch.Tensor,
    y: torch.Tensor,
    loss: str,
    margin: float,
    mining: str = "all",
    steps: int = 150,
    batch_size: int = 48,
    lr: float = 1e-2,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
):
    """Train a tiny MLP (2 -> 64 -> 64 -> 2) with a contrastive or batch triplet loss.

    A deliberately small, self-contained loop (full control of the seed, no progress bar)
    used by :func:`train_2d_explorer`; ``cl_lessons.training.fit`` is the general one.
    The global random state is left untouched (``torch.random.fork_rng``).

    Args:
        X: training points.
        y: their class ids.
        loss: ``"contrastive"`` (every pair of the batch, ``y = 1`` for same class) or
            ``"triplet"`` (:func:`cl_lessons.losses.batch_triplet_loss` with ``mining``).
        margin: the margin of the loss.
        mining: ``"all"``, ``"hard"`` or ``"semihard"`` (triplet only).
        steps: optimisation steps.
        batch_size: points per random batch.
        lr: Adam learning rate.
        seed: seed of the initial weights and the batches.
        progress: called with the step number every 10 steps.

    Returns:
        ``(net, losses)``: the trained encoder (eval mode) and the loss of every step.

    Shape:
        ``X``: ``(N, 2)``, ``y``: ``(N,)``.
    """
    from cl_lessons.models import MLPEncoder

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = MLPEncoder(2, hidden=(64, 64), out_dim=2)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    history = []
    batch_size = min(batch_size, len(X))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: extra threads only add contention (3-10x slower)
    try:
        for step in range(steps):
            _train_step(net, opt, X, y, loss, margin, mining, batch_size, gen, history)
            if progress is not None and (step + 1) % 10 == 0:
                progress(step + 1)
    finally:
        torch.set_num_threads(threads)
    net.eval()
    return net, history


def _train_step(net, opt, X, y, loss, margin, mining, batch_size, gen, history) -> None:
    from cl_lessons import losses

    idx = torch.randperm(len(X), generator=gen)[:batch_size]
    z = net(X[idx])  # (B, 2)
    if loss == "contrastive":
        i, j = torch.triu_indices(len(idx), len(idx), offset=1)  # every pair once
        same = (y[idx][i] == y[idx][j]).float()  # (P,)
        value = losses.contrastive_loss(z[i], z[j], same, margin)
    else:
        value = losses.batch_triplet_loss(z, y[idx], margin, mining=mining)
    opt.zero_grad()
    value.backward()
    opt.step()
    history.append(float(value.detach()))


class Train2DExplorer(App):
    """Retrain a tiny 2-D encoder on release of a control (see :func:`train_2d_explorer`)."""

    _defer_apply = True  # a retrain is slow: never queue one per event

    def __init__(self, dataset, loss, margin, mining, n, steps, seed):
        controls = {
            "dataset": _dropdown("data", _DATASETS, dataset),
            "loss": _dropdown("loss", ["contrastive", "triplet"], loss),
            "mining": _dropdown("mining", _MININGS, mining),
            "margin": _slider("margin", margin, 0.1, 3.0, 0.1, ".1f", continuous=False),
        }
        self.progress = widgets.IntProgress(
            value=0,
            min=0,
            max=steps,
            description="training",
            style=_STYLE,
            layout=widgets.Layout(width="260px"),
        )
        super().__init__(controls, figsize=(9.5, 4.2), extra=[self.progress])
        self.n, self.steps, self.seed = n, steps, seed
        self.cache: dict[tuple, dict] = {}
        ax, lx = self.fig.subplots(1, 2, width_ratios=[1.25, 1.0])
        self.ax, self.ax_loss = ax, lx
        art = self.artists
        res = 80
        self._res = res
        art["regions"] = ax.imshow(
            np.zeros((res, res, 4)),
            origin="lower",
            extent=(0, 1, 0, 1),
            aspect="auto",
            interpolation="nearest",
        )
        art["train"] = ax.scatter([], [], s=10, linewidths=0, alpha=0.6, label="train")
        art["test"] = ax.scatter(
            [], [], s=28, marker="^", edgecolors="black", linewidths=0.6, label="held-out test"
        )
        ax.legend(fontsize="x-small", loc="upper right")
        ax.set_aspect("equal", adjustable="box")  # distances are what the loss shapes
        ax.set_xlabel("embedding dimension 1")
        ax.set_ylabel("embedding dimension 2")
        (art["loss_curve"],) = lx.plot([], [], color=viz.PALETTE[0], lw=1.5)
        lx.set_xlabel("step")
        lx.set_ylabel("training loss")
        lx.set_xlim(0, steps)
        self._start()

    def _train(self, v: dict) -> dict:
        key = (
            v["dataset"],
            v["loss"],
            v["mining"] if v["loss"] == "triplet" else "-",
            round(float(v["margin"]), 4),
        )
        if key in self.cache:
            return self.cache[key]
        Xtr, ytr, Xte, yte = _toy_data(v["dataset"], self.n, self.seed)
        self.progress.value = 0
        self._say(f"training {v['loss']} ({key[2]}), margin {v['margin']:.1f}…")
        start = time.perf_counter()

        def tick(step: int) -> None:
            self.progress.value = step

        net, history = train_2d(
            Xtr,
            ytr,
            v["loss"],
            float(v["margin"]),
            v["mining"],
            steps=self.steps,
            seed=self.seed,
            progress=tick,
        )
        with torch.no_grad():
            ztr, zte = net(Xtr).numpy(), net(Xte).numpy()  # (N_train, 2), (N_test, 2)
        pred, classes = viz._knn_votes(ztr, ytr.numpy(), zte, k=5)
        acc = float((classes[pred] == yte.numpy()).mean())
        seconds = time.perf_counter() - start
        self.progress.value = self.steps
        self._say(f"trained in {seconds:.2f} s")
        result = {
            "z_train": ztr,
            "y_train": ytr.numpy(),
            "z_test": zte,
            "y_test": yte.numpy(),
            "history": np.asarray(history),
            "accuracy": acc,
            "seconds": seconds,
        }
        self.cache[key] = result
        return result

    def _apply(self) -> None:
        v = self.values
        self.controls["mining"].disabled = v["loss"] != "triplet"
        r = self._train(v)
        self.result = r
        self._touch()  # everything changes: redraw it all
        ztr, ytr, zte, yte = r["z_train"], r["y_train"], r["z_test"], r["y_test"]
        classes, index, colors = viz._label_colors(ytr)
        rgba = np.array([matplotlib.colors.to_rgba(c) for c in colors])
        both = np.concatenate([ztr, zte])
        grid, extent = viz._grid(both, self._res, square=True)
        pred, _ = viz._knn_votes(ztr, ytr, grid, k=5)
        art = self.artists
        art["regions"].set_data(viz._region_image(pred, colors, self._res))
        art["regions"].set_extent(extent)
        art["train"].set_offsets(ztr)
        art["train"].set_facecolors(rgba[index])
        art["test"].set_offsets(zte)
        art["test"].set_facecolors(rgba[np.searchsorted(classes, yte)])
        self.ax.set_xlim(extent[0], extent[1])
        self.ax.set_ylim(extent[2], extent[3])
        h = r["history"]
        art["loss_curve"].set_data(np.arange(1, len(h) + 1), h)
        self.ax_loss.set_ylim(0, float(h.max()) * 1.05 + 1e-9)
        what = v["loss"] + (f" ({v['mining']})" if v["loss"] == "triplet" else "")
        self.ax.set_title(
            f"{what}, margin = {v['margin']:.1f}: held-out kNN accuracy = {r['accuracy']:.2f}",
            fontsize="medium",
        )
        self.ax_loss.set_title(f"loss (retrained in {r['seconds']:.2f} s)", fontsize="medium")


def train_2d_explorer(
    dataset: str = "blobs",
    loss: str = "contrastive",
    margin: float = 1.0,
    mining: str = "all",
    n: int = 300,
    steps: int = 150,
    seed: int = 0,
) -> Train2DExplorer:
    """Retrain a tiny encoder with 2-D output when a control is released, then show it.

    Every change of data set, loss, mining or margin (sliders fire on release,
    ``continuous_update=False``) retrains a 2 -> 64 -> 64 -> 2 MLP from the same seed on 70%
    of a toy set (a progress bar runs meanwhile), embeds all points, paints the kNN regions of
    the embedded training points, and reports the kNN accuracy on the held-out 30%. Results are
    cached per setting, so going back is instant.

    Args:
        dataset: ``"blobs"``, ``"moons"``, ``"rings"`` or ``"spirals"``.
        loss: ``"contrastive"`` (all pairs of a batch) or ``"triplet"`` (batch triplet loss).
        margin: starting margin, in [0.1, 3].
        mining: triplet mining, ``"all"``, ``"hard"`` (Hermans et al. 2017) or ``"semihard"``
            (Schroff et al. 2015).
        n: number of toy points (>= 20).
        steps: optimisation steps per retrain (>= 10).
        seed: seed of the data, the weights and the batches.

    Returns:
        The app; ``app.result`` holds the embeddings, loss history and held-out accuracy.

    Raises:
        ValueError: an unknown choice, margin outside [0.1, 3], ``n < 20`` or ``steps < 10``.
    """
    if dataset not in _DATASETS:
        raise ValueError(f"dataset must be one of {list(_DATASETS)}, got {dataset!r}")
    if loss not in ("contrastive", "triplet"):
        raise ValueError(f"loss must be 'contrastive' or 'triplet', got {loss!r}")
    if mining not in _MININGS:
        raise ValueError(f"mining must be one of {list(_MININGS)}, got {mining!r}")
    if not 0.1 <= margin <= 3.0:
        raise ValueError(f"margin must be in [0.1, 3], got {margin}")
    if n < 20:
        raise ValueError(f"n must be >= 20, got {n}")
    if steps < 10:
        raise ValueError(f"steps must be >= 10, got {steps}")
    return Train2DExplorer(dataset, loss, float(margin), mining, int(n), int(steps), int(seed))


# =========================================================================== 9. hypersphere


def _toy_sphere(spread: float, n: int = 240, num_classes: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)
    centres = centres[:num_classes] / np.sqrt(3)  # vertices of a tetrahedron: evenly spread
    y = np.arange(n) % num_classes
    noise = rng.standard_normal((n, 3))
    return centres[y] + spread * noise, y


class HypersphereView(App):
    """Normalised 3-D embeddings on the sphere (see :func:`hypersphere_view`)."""

    def __init__(self, z3, labels, elev, azim, spread):
        controls = {
            "elev": _slider("elevation", elev, -90, 90, 1, ".0f"),
            "azim": _slider("azimuth", azim, -180, 180, 1, ".0f"),
        }
        self.toy = z3 is None
        if self.toy:
            controls["spread"] = _slider("spread (toy data)", spread, 0.0, 3.0, 0.05)
            z3, labels = _toy_sphere(spread)
        super().__init__(controls, figsize=(6.0, 5.2))
        self.labels = labels
        ax = self.fig.add_subplot(projection="3d")
        self.ax = ax
        viz._sphere_wireframe(ax)
        classes, index, colors = viz._label_colors(labels if labels is not None else np.zeros(1))
        self._classes, self._index = classes, index
        self.artists["classes"] = [
            ax.plot([], [], [], ls="", marker="o", ms=3.5, color=c, label=str(cl))[0]
            for cl, c in zip(classes, colors, strict=True)
        ]
        if labels is not None and len(classes) <= 12:
            ax.legend(fontsize="x-small", loc="upper left", title="class")
        for setlim in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
            setlim(-1, 1)
        ax.set_box_aspect((1, 1, 1))
        ax.set_xlabel("z1")
        ax.set_ylabel("z2")
        ax.set_zlabel("z3")
        self._raw = z3
        self._shown_spread = None
        self._dynamic(*self.artists["classes"], ax.title)
        self._set_points(z3)
        self._start()

    def _set_points(self, z3: np.ndarray) -> None:
        self.z = viz._normalise_rows(z3)  # (N, 3) on the unit sphere
        if self.labels is None:
            self.alignment = float("nan")
            from cl_lessons import metrics

            self.uniformity = float(
                metrics.uniformity(torch.as_tensor(self.z, dtype=torch.float32))
            )
            self.artists["classes"][0].set_data_3d(*self.z.T)
        else:
            self.alignment, self.uniformity = viz.label_alignment_uniformity(self.z, self.labels)
            for c, line in enumerate(self.artists["classes"]):
                line.set_data_3d(*self.z[self._index == c].T)

    def _apply(self) -> None:
        v = self.values
        if self.toy and v["spread"] != self._shown_spread:
            raw, _ = _toy_sphere(float(v["spread"]))
            self._set_points(raw)
            self._shown_spread = v["spread"]
        self.ax.view_init(elev=float(v["elev"]), azim=float(v["azim"]))
        title = f"uniformity = {self.uniformity:.2f}"
        if self.labels is not None:
            title = f"alignment = {self.alignment:.2f}, " + title
        if self.toy:
            title += f"\n(toy data, spread = {v['spread']:.2f})"
        self.ax.set_title(title, fontsize="medium")


def hypersphere_view(
    z3=None, labels=None, elev: float = 20.0, azim: float = 35.0, spread: float = 0.4
) -> HypersphereView:
    """3-D embeddings normalised onto the unit sphere, with alignment and uniformity.

    Alignment (mean ``||z_i - z_j||²`` over same-class pairs) and uniformity
    (``log mean exp(-2 ||z_i - z_j||²)`` over all pairs), Wang & Isola 2020,
    https://arxiv.org/abs/2005.10242 — both lower is better, and they pull in opposite
    directions. Without ``z3``, four toy classes around the vertices of a tetrahedron get a
    "spread" slider: tight classes align well but cover the sphere poorly.

    Args:
        z3: 3-D embeddings (normalised here); None uses the toy data.
        labels: integer class ids (for alignment), or None.
        elev: starting elevation of the view, in degrees [-90, 90].
        azim: starting azimuth, in degrees [-180, 180].
        spread: starting noise of the toy data, in [0, 3].

    Returns:
        The app; ``app.z``, ``app.alignment`` and ``app.uniformity`` hold the current values.

    Shape:
        ``z3``: ``(N, 3)``, ``labels``: ``(N,)``.

    Raises:
        ValueError: ``z3`` not a finite ``(N, 3)`` array with N >= 2, zero rows, labels of
            another length, angles or spread out of range.
    """
    if not -90 <= elev <= 90:
        raise ValueError(f"elev must be in [-90, 90], got {elev}")
    if not -180 <= azim <= 180:
        raise ValueError(f"azim must be in [-180, 180], got {azim}")
    if not 0.0 <= spread <= 3.0:
        raise ValueError(f"spread must be in [0, 3], got {spread}")
    z = lab = None
    if z3 is not None:
        z = viz._finite(viz._to_numpy(z3, "z3", ndim=2), "z3")
        if z.shape[1] != 3 or len(z) < 2:
            raise ValueError(f"z3 must have shape (N, 3) with N >= 2, got {z.shape}")
        if (np.linalg.norm(z, axis=1) == 0).any():
            raise ValueError("z3 has all-zero rows, which have no direction on the sphere")
        lab = None if labels is None else viz._labels(labels, len(z))
    elif labels is not None:
        raise ValueError("labels given without z3")
    return HypersphereView(z, lab, float(elev), float(azim), float(spread))

"""The app machinery: :class:`App` (figure, PNG or ipympl view, coalesced renders, errors)."""

from __future__ import annotations

import asyncio
import html
import io
import math
import traceback
import weakref
from collections.abc import Sequence

import ipywidgets as widgets
from matplotlib.figure import Figure
from matplotlib.text import Text

from cl_lessons._checks import check_int_in, check_number_in
from cl_lessons._theme import ERROR_BORDER, TEXT_COLOUR
from cl_lessons.widgets import _export
from cl_lessons.widgets._figure import _DPI, _PNG_OPTIONS, _FigureImage, _readable, _uses_ipympl

_STYLE = {"description_width": "initial"}


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


_CELL_APPS: dict[tuple[str, str], weakref.ref] = {}
"""(app class, notebook cell id) -> the app that cell built last (closed when it builds anew)."""


def _cell_id() -> str | None:
    """Id of the notebook cell being executed (JupyterLab sends it), else None."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return None
    ip = get_ipython()
    kernel = getattr(ip, "kernel", None)
    if kernel is None:
        return None
    try:
        parent = kernel.get_parent()
    except Exception:  # older ipykernel: no parent header API
        return None
    return (parent or {}).get("metadata", {}).get("cellId")


def _descendants(widget: widgets.Widget) -> list[widgets.Widget]:
    """Every widget below ``widget`` (children of boxes, recursively), deepest first."""
    out = []
    for child in getattr(widget, "children", ()):
        out.extend(_descendants(child))
        out.append(child)
    return out


def _snap(w: widgets.Widget, value: float) -> float:
    """``value`` on the slider's step grid, as the browser would put it.

    A value between two steps is moved to the nearest step by the slider in the browser, which
    then sends the moved value back: arriving after a later ``update``, it would undo it. Values
    already on the grid are returned unchanged (no round-off added).
    """
    step = getattr(w, "step", None)
    if not step:
        return value
    if isinstance(w, widgets.FloatLogSlider):
        exponent = math.log(value, w.base)
        k = round((exponent - w.min) / step)
        if abs(w.min + k * step - exponent) <= 1e-9 * step:
            return value
        return float(w.base ** min(max(w.min + k * step, w.min), w.max))
    k = round((value - w.min) / step)
    if abs(w.min + k * step - value) <= 1e-9 * step:
        return value
    return round(float(min(max(w.min + k * step, w.min), w.max)), 12)  # 0.35, not 0.35...03


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
        for w in self.controls.values():  # an off-grid start would come back from the browser
            if isinstance(getattr(w, "value", None), float):
                w.value = _snap(w, w.value)
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
        self.status.add_class("cl-status")
        box = widgets.HBox(
            [*self.controls.values(), *extra],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
        )
        super().__init__(children=[box, self.view, self.status])
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        self._register_cell()

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
        image = _FigureImage(
            format="png",
            width=width,
            height=height,
            # at most its natural size, narrower in a narrow window, and then shorter too (height
            # auto follows the width/height attributes), so a circle stays a circle
            layout=widgets.Layout(width=f"{width}px", max_width="100%", height="auto"),
        )
        return fig, image

    def _start(self) -> None:
        """Draw the first state, freeze the layout (no per-update layout cost), render."""
        self._apply()
        self.n_applies += 1
        _readable(self.fig.findobj(Text), self.fig.axes)
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
                self.view.tooltip = _export.describe(self)  # the figure, in words
            self.n_renders += 1
        except Exception as err:  # shown in the app, not lost in the log
            self._show_error(err)

    def _repr_mimebundle_(self, **kwargs):
        # the widget view for a live front end, and a PNG of the figure beside it for every
        # viewer without a kernel (GitHub, nbviewer, nbconvert's HTML, the course site)
        return _export.static_bundle(self, super()._repr_mimebundle_(**kwargs))

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

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Close the app: every widget inside it, its figure, and pending redraws.

        Afterwards nothing holds the app (no observer, no widget registry entry, no pyplot
        figure), so it is freed with its figure. Re-running a notebook cell that builds an app
        closes the app that cell built before (in JupyterLab, where cells have ids).
        """
        if getattr(self, "_closed", False):
            return
        self._closed = True
        if getattr(self, "_handle", None) is not None:  # None too if __init__ stopped early
            self._handle.cancel()
            self._handle = None
        for w in self.controls.values():
            w.unobserve(self._on_change, names="value")
        for w in _descendants(self):
            w.close()
        if self._ipympl:
            import matplotlib.pyplot as plt

            plt.close(self.fig)
        self._bg = None
        self._dyn.clear()
        self.artists.clear()
        super().close()

    def _register_cell(self) -> None:
        """Close the app this class built earlier in the same notebook cell, if any."""
        cell = _cell_id()
        if cell is None:
            return
        key = (type(self).__qualname__, cell)
        old = _CELL_APPS.get(key)
        previous = old() if old is not None else None
        if previous is not None and previous is not self:
            previous.close()
        _CELL_APPS[key] = weakref.ref(self)

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
            if isinstance(w, widgets.IntSlider):
                values[name] = check_int_in(value, name, lo, hi)
            elif lo is not None:
                values[name] = _snap(w, check_number_in(value, name, lo, hi))
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
        _readable([a for a in self._dyn if isinstance(a, Text)], ())  # a title set anew
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
            f'<div style="color:{TEXT_COLOUR};border-left:4px solid {ERROR_BORDER};'
            'padding-left:6px;font-family:monospace">'
            f"&#9888; <b>{html.escape(type(err).__name__)}</b>: {html.escape(str(err))}"
            "<details><summary>traceback</summary>"
            f'<pre style="font-size:smaller">{html.escape(tb)}</pre></details></div>'
        )

    def _say(self, message: str) -> None:
        """Show a progress or information message in the status line."""
        self._error_shown = False
        self.status.value = f'<span style="color:{TEXT_COLOUR}">{html.escape(message)}</span>'

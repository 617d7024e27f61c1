"""What an app shows where no kernel runs: a PNG of its figure and a line of text.

A live JupyterLab renders an app's widget view; GitHub, nbviewer, an exported HTML or PDF and
the course site cannot (no kernel, and usually no saved widget state), and fall back to the
richest other type in the display data. So every app puts the PNG of its current figure beside
the widget view, and a one-line description instead of the widget's long ``repr``.
"""

from __future__ import annotations

import base64

PNG = "image/png"
TEXT = "text/plain"


def describe(app) -> str:
    """One line naming the app and what its figure shows now (its axes' titles)."""
    titles = []
    for ax in app.fig.axes:
        title = " ".join(ax.get_title(loc).strip() for loc in ("left", "center", "right"))
        if title.strip():
            titles.append(" ".join(title.split()))
    suptitle = getattr(app.fig, "_suptitle", None)
    if suptitle is not None and suptitle.get_text().strip():
        titles.insert(0, " ".join(suptitle.get_text().split()))
    shown = "; ".join(titles) if titles else "an interactive figure"
    return f"{type(app).__name__}: {shown}"


def _detached_png(app) -> bytes:
    """The PNG of an ipympl app's figure, drawn on a separate Agg canvas: drawing the ipympl
    canvas itself before the browser has displayed it leaves the live view blank."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    live = app.fig.canvas
    try:
        FigureCanvasAgg(app.fig)  # becomes the figure's canvas for this one drawing
        buf = io.BytesIO()
        app.fig.savefig(buf, format="png")
    finally:
        app.fig.set_canvas(live)
    return buf.getvalue()


def static_bundle(app, bundle: dict | None) -> dict | None:
    """``bundle`` (a widget's display data) with the figure's PNG and a readable text line.

    Returns ``bundle`` unchanged when it is None (the widget is closed) or the figure cannot be
    rendered (the live view still works; the static copy is a convenience).
    """
    if bundle is None:
        return None
    try:
        png = _detached_png(app) if app._ipympl else app.png()
    except Exception:  # never break the live display for the sake of the static copy
        return bundle
    out = dict(bundle)
    out[PNG] = base64.b64encode(png).decode("ascii")
    out[TEXT] = describe(app) + " (run the notebook to move its sliders)"
    return out

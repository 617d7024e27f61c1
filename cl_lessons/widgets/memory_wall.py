"""``memory_wall``: peak memory of the InfoNCE loss against the batch size, and where GPUs stop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import numpy as np

from cl_lessons import viz
from cl_lessons._checks import check_int
from cl_lessons.widgets._app import _STYLE, App

GIB = 2**30

_BATCHES = tuple(2**k for k in range(8, 19))  # 256 ... 262,144 pairs


def _rows(rows, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(n, bytes)`` arrays from ``[{"n", "peak_bytes"}, ...]`` or ``[(n, bytes), ...]``."""
    try:
        pairs = [(r["n"], r["peak_bytes"]) if isinstance(r, Mapping) else tuple(r) for r in rows]
        n, b = (np.asarray(v, dtype=float) for v in zip(*pairs, strict=True))
    except (TypeError, KeyError, ValueError):
        raise ValueError(
            f"measured[{name!r}] must be a list of {{'n', 'peak_bytes'}} dicts or (n, bytes) "
            f"pairs, got {rows!r:.80}"
        ) from None
    if len(n) == 0 or not (np.isfinite(n).all() and np.isfinite(b).all()) or (n < 1).any():
        raise ValueError(f"measured[{name!r}] must hold finite sizes >= 1, got {rows!r:.80}")
    return n, b


class MemoryWall(App):
    """A batch-size slider over measured and predicted memory (see :func:`memory_wall`)."""

    def __init__(self, measured, n, dim, chunk_size, gpus):
        from cl_lessons.scale.memory import info_nce_bytes, info_nce_chunked_bytes

        controls = {
            "n": widgets.SelectionSlider(
                options=list(_BATCHES), value=n, description="batch N (pairs)", style=_STYLE,
                layout=widgets.Layout(width="420px"),
            )
        }  # fmt: skip
        super().__init__(controls, figsize=(9.0, 4.2))
        self.gpus = gpus
        grid = np.unique(np.geomspace(2**7, 2**19, 200).astype(int))
        self.formula = {
            "info_nce": lambda k: info_nce_bytes(int(k), dim),
            "info_nce_chunked": lambda k: info_nce_chunked_bytes(int(k), dim, chunk_size),
        }
        ax = self.ax = self.fig.subplots()
        colours = {"info_nce": viz.NEGATIVE, "info_nce_chunked": viz.POSITIVE}
        for name, f in self.formula.items():
            ax.plot(grid, [f(k) / GIB for k in grid], "-", lw=1.2, color=colours[name],
                    label=f"{name}, formula")  # fmt: skip
        for name, rows in measured.items():
            k, b = rows
            ax.plot(
                k, b / GIB, "o", ms=6, color=colours.get(name, "0.3"), label=f"{name}, measured"
            )
        for gb in gpus:
            ax.axhline(gb, ls=":", color="0.45", lw=1)
            low = gb == min(gpus)
            ax.text(grid[0] * 1.05, gb * (0.93 if low else 1.07), f"{gb} GB GPU", color="0.3",
                    fontsize="x-small", va="top" if low else "bottom")  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlim(grid[0], grid[-1])
        ax.set_ylim(1e-3, 1e3)
        ax.set_xlabel("batch N (pairs; the matrix is 2N x 2N)")
        ax.set_ylabel("peak memory of forward + backward (GiB)")
        ax.legend(fontsize="x-small", loc="lower right")
        (self.artists["line"],) = ax.plot([n, n], [1e-3, 1e3], color="black", lw=1.5)
        (self.artists["points"],) = ax.plot([], [], "s", ms=9, mfc="none", mec="black", mew=2)
        self._dynamic(self.artists["line"], self.artists["points"], ax.title)
        self._start()

    def _apply(self) -> None:
        n = int(self.values["n"])
        self.predicted = {name: f(n) for name, f in self.formula.items()}
        full, chunked = self.predicted["info_nce"], self.predicted["info_nce_chunked"]
        self.fits = {gb: full <= gb * GIB for gb in self.gpus}
        self.artists["line"].set_xdata([n, n])
        self.artists["points"].set_data([n, n], [full / GIB, chunked / GIB])
        fit = [f"{gb}" for gb, ok in self.fits.items() if ok]
        where = f"fits {', '.join(fit)} GB" if fit else "fits none of the GPUs"
        self.ax.set_title(
            f"N = {n:,}: info_nce {full / GIB:,.2f} GiB ({where}); chunked {chunked / GIB:.2f} GiB",
            fontsize="small",
        )


def memory_wall(
    measured: Mapping[str, Sequence],
    n: int = 4096,
    dim: int = 128,
    chunk_size: int = 1024,
    gpus: Sequence[int] = (16, 24, 80),
) -> MemoryWall:
    """The memory wall of in-batch negatives: a batch-size slider over measured peak memory.

    Dots: the peak memory of ``loss(z1, z2).backward()`` measured at a few batch sizes (e.g. by
    :func:`cl_lessons.scale.measure_peak_memory`); lines: the formulas
    :func:`~cl_lessons.scale.info_nce_bytes` (``16 N^2`` bytes) and
    :func:`~cl_lessons.scale.info_nce_chunked_bytes` (linear); dotted: the memory of 16, 24 and
    80 GB GPUs. The slider moves a batch size along, and the title says what each loss needs
    there and which GPUs can hold ``info_nce``'s matrix (the loss alone, before the encoder's
    activations).

    Args:
        measured: ``name -> rows``, names ``"info_nce"`` / ``"info_nce_chunked"`` (others are
            drawn grey), rows ``[{"n", "peak_bytes"}, ...]`` or ``[(n, bytes), ...]``.
        n: the starting batch size, a power of two from 256 to 262,144.
        dim: embedding dimension of the formulas.
        chunk_size: block size of the chunked formula.
        gpus: GPU memory sizes in GB to mark.

    Returns:
        The app; ``app.predicted[name]`` (bytes at the slider's N) and ``app.fits[gb]``.

    Raises:
        ValueError: malformed ``measured``, ``n`` not on the slider, bad ``dim``,
            ``chunk_size`` or ``gpus``.
    """
    if not isinstance(measured, Mapping):
        raise ValueError(f"measured must be a dict name -> rows, got {type(measured).__name__}")
    table = {str(name): _rows(rows, str(name)) for name, rows in measured.items()}
    if n not in _BATCHES or isinstance(n, bool):
        raise ValueError(f"n must be a power of two from 256 to 262144, got {n!r}")
    dim = check_int(dim, "dim", 1)
    chunk_size = check_int(chunk_size, "chunk_size", 1)
    try:
        gpus = tuple(check_int(g, "gpus", 1) for g in gpus)
    except TypeError:
        raise ValueError(f"gpus must be a sequence of integers (GB), got {gpus!r}") from None
    return MemoryWall(table, int(n), dim, chunk_size, gpus)

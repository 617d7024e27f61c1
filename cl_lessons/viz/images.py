"""Image tensors as arrays and as a labelled grid."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from cl_lessons._checks import check_int
from cl_lessons.viz._inputs import _to_numpy


def as_images(images, name: str = "images") -> np.ndarray:
    """Bring a batch of images to ``(N, H, W)`` (grey) or ``(N, H, W, 3|4)`` (colour) NumPy form.

    Accepts ``(N, H, W)``, channels-first ``(N, C, H, W)`` or channels-last ``(N, H, W, C)``
    with ``C`` in {1, 3, 4}, and flat ``(N, P)`` rows with ``P`` a perfect square (the 8x8
    digits as 64 numbers).

    Raises:
        ValueError: another shape, or an empty batch.
    """
    img = _to_numpy(images, name, ndim=(2, 3, 4))
    if img.ndim == 2:
        side = math.isqrt(img.shape[1])
        if side * side != img.shape[1]:
            raise ValueError(f"flat {name} need a square pixel count, got {img.shape[1]}")
        return img.reshape(len(img), side, side)
    if img.ndim == 4:
        if img.shape[1] in (1, 3, 4) and img.shape[-1] not in (1, 3, 4):
            img = np.moveaxis(img, 1, -1)
        if img.shape[-1] == 1:
            img = img[..., 0]
        elif img.shape[-1] not in (3, 4):
            raise ValueError(f"{name} must have 1, 3 or 4 channels, got shape {img.shape}")
    return img


def image_grid(
    images, titles: Sequence[str] | None = None, ncols: int = 8, cmap: str = "gray"
) -> Figure:
    """Show a batch of images in a grid, each with an optional title.

    Args:
        images: the images (any layout :func:`as_images` accepts).
        titles: one title per image, or None.
        ncols: images per row.
        cmap: colour map for grey images.

    Returns:
        The Figure.

    Shape:
        ``images``: ``(N, H, W)``, ``(N, C, H, W)``, ``(N, H, W, C)`` or ``(N, H*W)``.

    Raises:
        ValueError: bad image shape, ``ncols < 1``, or a titles list of another length.
    """
    img = as_images(images)
    ncols = check_int(ncols, "ncols", 1)
    if titles is not None and (isinstance(titles, str) or not isinstance(titles, Sequence)):
        raise ValueError(f"titles must be a sequence of strings or None, got {titles!r}")
    if titles is not None and len(titles) != len(img):
        raise ValueError(f"titles must have one entry per image ({len(img)}), got {len(titles)}")
    ncols = min(ncols, len(img))
    nrows = -(-len(img) // ncols)
    # at most 9.5 inches wide: a notebook shows it at full size, so its titles stay readable
    cell = min(1.3, 9.5 / ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(cell * ncols, (cell + 0.15) * nrows),
        squeeze=False,
        layout="constrained",
    )
    for i, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if i < len(img):
            ax.imshow(img[i], cmap=cmap if img[i].ndim == 2 else None, interpolation="nearest")
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize="small")
    return fig

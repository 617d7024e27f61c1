"""Colour-blind-safe colours: the Okabe-Ito palette for classes, pairs and negative zones."""

from __future__ import annotations

import numpy as np

PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)
"""Okabe-Ito colours, in the order classes 0, 1, 2, ... get them."""


# Paul Tol's "muted" scheme (also colour-blind safe) for 9-10 classes, such as the digits.
_TOL_MUTED: tuple[str, ...] = (
    "#332288",
    "#88CCEE",
    "#44AA99",
    "#117733",
    "#999933",
    "#DDCC77",
    "#CC6677",
    "#882255",
    "#AA4499",
    "#BBBBBB",
)


POSITIVE = "#0072B2"
"""Colour of positive (similar, ``y = 1``) pairs: blue."""


NEGATIVE = "#D55E00"
"""Colour of negative (dissimilar, ``y = 0``) pairs: vermillion."""


ZONE_NAMES: tuple[str, str, str] = ("easy", "semi-hard", "hard")


ZONE_COLORS: dict[str, str] = {"easy": "#009E73", "semi-hard": "#E69F00", "hard": "#D55E00"}
"""Colours of the three triplet zones (FaceNet, Schroff et al. 2015)."""


def class_colors(num_classes: int) -> list[str]:
    """Colour-blind-safe colours for ``num_classes`` classes.

    Okabe-Ito (:data:`PALETTE`) up to 8 classes, Paul Tol's "muted" scheme for 9-10 classes;
    beyond 10 the muted scheme repeats, so prefer markers or facets there.

    Args:
        num_classes: number of classes (>= 1).

    Returns:
        A list of ``num_classes`` hex colour strings.

    Raises:
        ValueError: ``num_classes < 1``.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    base = PALETTE if num_classes <= len(PALETTE) else _TOL_MUTED
    return [base[i % len(base)] for i in range(num_classes)]


def _label_colors(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return (classes, index of each point's class, colour per class)."""
    classes, index = np.unique(labels, return_inverse=True)
    return classes, index, class_colors(len(classes))

"""Plotting functions for the lessons: arrays in, a matplotlib ``Axes`` (or ``Figure``) out.

Every function takes NumPy arrays or torch tensors, draws on the ``ax=`` it is given (or on a
new figure made with ``plt.subplots`` when ``ax`` is None, so a notebook cell shows it as usual)
and returns that ``Axes``; :func:`image_grid` returns a ``Figure``. Axes are labelled and titled.
Nothing is shown or saved here, and no state is kept between calls.

Colours come from the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), readable
with every common colour-vision deficiency: :data:`PALETTE` for classes, :data:`POSITIVE` /
:data:`NEGATIVE` for pairs, :data:`ZONE_COLORS` for easy / semi-hard / hard negatives.

Files (the names above are re-exported here, so import from ``cl_lessons.viz``):

    _inputs.py       Input conversion shared by the plots: arrays or tensors to finite NumPy arrays,
                     labels, axes.
    colors.py        Colour-blind-safe colours: the Okabe-Ito palette for classes, pairs and
                     negative zones.
    curves.py        Training curves from a :class:`~cl_lessons.training.History` or plain lists.
    embeddings.py    2-D embeddings coloured by class, and distance matrices.
    images.py        Image tensors as arrays and as a labelled grid.
    regions.py       k-NN decision regions of a 2-D embedding.
    sphere.py        Embeddings on the hypersphere: alignment, uniformity, circle/sphere plots and
                     singular values.
    triplets.py      Easy, semi-hard and hard negatives of an anchor, computed and drawn.
    verification.py  Verification plots: distance histograms of positive and negative pairs, and ROC
                     curves.
"""

from __future__ import annotations

from cl_lessons.viz.colors import NEGATIVE, PALETTE, POSITIVE, ZONE_COLORS, ZONE_NAMES, class_colors
from cl_lessons.viz.curves import plot_loss_curves
from cl_lessons.viz.embeddings import plot_distance_matrix, plot_embedding_2d
from cl_lessons.viz.images import as_images, image_grid
from cl_lessons.viz.regions import plot_decision_regions
from cl_lessons.viz.sphere import label_alignment_uniformity, plot_hypersphere, plot_singular_values
from cl_lessons.viz.triplets import negative_zones, plot_triplet_zones
from cl_lessons.viz.verification import plot_distance_histograms, plot_roc

__all__ = [
    "NEGATIVE",
    "PALETTE",
    "POSITIVE",
    "ZONE_COLORS",
    "ZONE_NAMES",
    "as_images",
    "class_colors",
    "image_grid",
    "label_alignment_uniformity",
    "negative_zones",
    "plot_decision_regions",
    "plot_distance_histograms",
    "plot_distance_matrix",
    "plot_embedding_2d",
    "plot_hypersphere",
    "plot_loss_curves",
    "plot_roc",
    "plot_singular_values",
    "plot_triplet_zones",
]

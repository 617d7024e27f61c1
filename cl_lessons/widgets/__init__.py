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

Files (the names above are re-exported here, so import from ``cl_lessons.widgets``):

    _app.py         The app machinery: :class:`App` (figure, PNG or ipympl view, coalesced renders,
                    errors).
    _controls.py    Factories for the sliders and dropdowns every app uses, and the retrain-button
                    style.
    _export.py      What an app shows without a kernel: a PNG of its figure and a line of text.
    _figure.py      The figure side of an app: resolution, the image widget, readable text.
    distance.py     ``distance_explorer``: Euclidean, cosine and Manhattan distance between two
                    points you move.
    gallery.py      ``gallery_explorer``: a probe, its top-k gallery matches, and accept / reject at
                    a threshold.
    embedding.py    ``embedding_explorer``: PCA, t-SNE or UMAP views of an embedding, coloured by
                    label.
    few_shot.py     ``few_shot_explorer``: N-way K-shot accuracy over a precomputed grid, and one
                    episode drawn.
    hypersphere.py  ``hypersphere_view``: embeddings on the unit circle or sphere, with alignment
                    and uniformity.
    margin.py       ``margin_explorer``: the contrastive loss of pairs as the margin moves.
    memory_wall.py  ``memory_wall``: peak memory of the InfoNCE loss against the batch size, and
                    where GPUs stop.
    regions.py      ``decision_regions``: k-NN decision regions of a 2-D embedding.
    retrieval.py    ``retrieval_explorer``: a query, its top-k retrieved images marked right or
                    wrong, P@k, AP@R.
    text_search.py  ``text_search``: type a caption, see the images a dual encoder ranks first, with
                    their scores.
    temperature.py  ``temperature_explorer``: how the InfoNCE temperature sharpens the softmax over
                    negatives.
    threshold.py    ``threshold_explorer``: a verification threshold on distance histograms and the
                    ROC curve.
    verification.py ``verification_explorer``: a threshold on genuine / impostor scores and a
                    log-FAR ROC curve.
    training_2d.py  ``train_2d_explorer``: train a tiny 2-D embedding with a chosen loss and watch
                    it move.
    zero_shot.py    ``zero_shot_explorer``: class prompts in, zero-shot confusion matrix and
                    accuracy out.
    zones.py        ``triplet_zones``: easy, semi-hard and hard negatives around an anchor as the
                    margin moves.
"""

from __future__ import annotations

# Also public, outside __all__ as before the split: RETRAIN_CLASS, DistanceExplorer,
#   MarginExplorer, TripletZones, TemperatureExplorer, ThresholdExplorer, EmbeddingExplorer,
#   DecisionRegions, train_2d, Train2DExplorer, HypersphereView, VerificationExplorer,
#   GalleryExplorer, TextSearch, ZeroShotExplorer, MemoryWall.
from cl_lessons.widgets._app import App
from cl_lessons.widgets._controls import RETRAIN_CLASS
from cl_lessons.widgets.distance import DistanceExplorer, distance_explorer
from cl_lessons.widgets.embedding import EmbeddingExplorer, embedding_explorer
from cl_lessons.widgets.few_shot import FewShotExplorer, few_shot_explorer
from cl_lessons.widgets.gallery import GalleryExplorer, gallery_explorer
from cl_lessons.widgets.hypersphere import HypersphereView, hypersphere_view
from cl_lessons.widgets.margin import MarginExplorer, margin_explorer
from cl_lessons.widgets.memory_wall import MemoryWall, memory_wall
from cl_lessons.widgets.regions import DecisionRegions, decision_regions
from cl_lessons.widgets.retrieval import RetrievalExplorer, retrieval_explorer
from cl_lessons.widgets.temperature import TemperatureExplorer, temperature_explorer
from cl_lessons.widgets.text_search import TextSearch, text_search
from cl_lessons.widgets.threshold import ThresholdExplorer, threshold_explorer
from cl_lessons.widgets.training_2d import Train2DExplorer, train_2d, train_2d_explorer
from cl_lessons.widgets.verification import VerificationExplorer, verification_explorer
from cl_lessons.widgets.zero_shot import ZeroShotExplorer, zero_shot_explorer
from cl_lessons.widgets.zones import TripletZones, triplet_zones

__all__ = [
    "App",
    "decision_regions",
    "distance_explorer",
    "embedding_explorer",
    "few_shot_explorer",
    "gallery_explorer",
    "hypersphere_view",
    "margin_explorer",
    "memory_wall",
    "retrieval_explorer",
    "temperature_explorer",
    "text_search",  # lesson 14
    "threshold_explorer",
    "train_2d_explorer",
    "triplet_zones",
    "verification_explorer",
    "zero_shot_explorer",  # lesson 14
]

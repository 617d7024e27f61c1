"""Tests of cl_lessons.widgets: every app builds, every control changes the figure's data,
errors show in the app, bad arguments raise, event storms are coalesced.

The apps are driven headless through ``app.update(...)`` and by setting a widget's ``.value``
(what a slider does). Assertions read artist data (offsets, xdata/ydata, colours, titles)
and compare it with independent reference computations.
"""

import asyncio
import sys
import types

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba

from cl_lessons import viz, widgets

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- the base class


def test_figures_stay_out_of_pyplot_and_render_to_a_fixed_size_png():
    before = plt.get_fignums()
    app = widgets.distance_explorer()
    assert plt.get_fignums() == before  # the inline backend will not show a second copy
    assert app.view.value[:8] == PNG_MAGIC
    width, height = app.fig.canvas.get_width_height()
    assert (app.view.width, app.view.height) == (str(width), str(height))
    # the width is fixed (at most the natural size) and the height follows it through the image's
    # width/height attributes: no jump while loading, no distortion in a narrow window (tests/ui)
    assert app.view.layout.width == f"{width}px" and app.view.layout.max_width == "100%"
    assert app.view.layout.height == "auto"
    boxes = [ax.get_position().bounds for ax in app.fig.axes]
    first = app.view.value
    app.update(angle_b=200, length_b=0.3)
    assert app.view.value != first and app.n_renders == 2
    assert [ax.get_position().bounds for ax in app.fig.axes] == boxes  # layout frozen: no jumps


def _pixels(png: bytes) -> np.ndarray:
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"), dtype=float)


def test_cached_background_plus_dynamic_artists_equals_a_full_draw():
    import io

    scores, same = _scores()
    app = widgets.threshold_explorer(scores, same, threshold=0.5)
    full_draws = app.n_full_draws
    app.update(threshold=0.9)
    assert app.n_full_draws == full_draws  # only the moving artists were drawn
    buf = io.BytesIO()
    app.fig.savefig(buf, format="png", dpi=app.fig.dpi)  # a complete draw of everything
    fast, full = _pixels(app.view.value), _pixels(buf.getvalue())
    assert fast.shape == full.shape
    assert np.mean(np.abs(fast - full) > 2) < 0.002  # same picture (antialiasing aside)


def test_update_rejects_unknown_names_and_out_of_range_values():
    app = widgets.margin_explorer()
    with pytest.raises(ValueError, match="unknown control"):
        app.update(margni=1.0)
    with pytest.raises(ValueError, match="margin must be in"):
        app.update(margin=7.0)
    with pytest.raises(ValueError, match="loss must be one of"):
        app.update(loss="hinge")
    assert app.values == {"margin": 1.0, "loss": "contrastive"}


def test_error_in_a_callback_is_shown_and_the_app_keeps_working():
    app = widgets.margin_explorer()
    good_apply = app._apply

    def broken():
        raise ZeroDivisionError("the margin fell off a cliff")

    app._apply = broken
    app.controls["margin"].value = 1.5  # exactly what the slider does
    assert "ZeroDivisionError" in app.status.value
    assert "the margin fell off a cliff" in app.status.value
    assert isinstance(app.last_error, ZeroDivisionError)
    renders = app.n_renders
    app._apply = good_apply
    app.update(margin=2.0)
    assert app.status.value == ""  # cleared by the next good update
    assert app.n_renders == renders + 1
    assert app.artists["loss_margin"].get_xdata()[0] == pytest.approx(2.0)


def test_error_while_rendering_is_shown():
    app = widgets.temperature_explorer()

    def broken_draw(*args, **kwargs):
        raise RuntimeError("no pixels today")

    app.artists["weights"][0].draw = broken_draw  # a dynamic artist fails while drawing
    app.update(temperature=1.0)
    assert "RuntimeError" in app.status.value and "no pixels today" in app.status.value
    assert "&lt;" not in app.status.value.split("<details>")[0]  # message readable, escaped once
    del app.artists["weights"][0].draw  # the artist heals: the next update renders again
    renders = app.n_renders
    app.update(temperature=0.5)
    assert app.n_renders == renders + 1


def test_error_message_is_html_escaped():
    app = widgets.distance_explorer()

    def broken():
        raise ValueError("<script>alert(1)</script>")

    app._apply = broken
    app.update(angle_a=10)
    assert "<script>" not in app.status.value
    assert "&lt;script&gt;" in app.status.value


def test_storm_of_changes_in_an_event_loop_gives_one_render_with_the_final_state():
    app = widgets.margin_explorer()
    applies, renders = app.n_applies, app.n_renders
    values = np.linspace(0.1, 2.5, 20)

    async def storm():
        for v in values:
            app.controls["margin"].value = float(v)
        # artists follow every change at once (same-cell assertions work) ...
        assert app.artists["loss_margin"].get_xdata()[0] == pytest.approx(values[-1])
        assert app.n_renders == renders  # ... but nothing was rendered yet
        for _ in range(3):
            await asyncio.sleep(0)

    asyncio.run(storm())
    assert app.n_applies == applies + 20
    assert app.n_renders == renders + 1
    shown = app.view.value
    assert shown == app.png()  # the one render shows the final state
    assert "margin = 2.50" in app.ax_loss.get_title()


def test_expensive_apps_coalesce_the_update_itself():
    app = widgets.train_2d_explorer(n=40, steps=10)
    applies, renders = app.n_applies, app.n_renders

    async def storm():
        for m in (0.5, 0.8, 1.2, 1.6, 2.0):
            app.controls["margin"].value = m
        assert app.n_applies == applies  # nothing retrained yet
        for _ in range(3):
            await asyncio.sleep(0)

    asyncio.run(storm())
    assert app.n_applies == applies + 1 and app.n_renders == renders + 1
    assert len(app.cache) == 2  # the initial margin and the final one, no stale retrains
    assert "margin = 2.0" in app.ax.get_title()


def test_a_render_scheduled_on_a_dead_loop_does_not_block_later_updates():
    app = widgets.temperature_explorer()

    async def one_change():
        app.controls["temperature"].value = 0.5  # schedules a render, never run

    asyncio.run(one_change())
    renders = app.n_renders
    app.controls["temperature"].value = 2.0  # no loop now: immediate
    assert app.n_renders == renders + 1


# ipympl's own Toolbar triggers a traitlets deprecation warning; not ours to fix
@pytest.mark.filterwarnings("ignore:Passing unrecognized arguments:DeprecationWarning")
def test_ipympl_backend_shows_the_canvas_widget():
    plt.switch_backend("module://ipympl.backend_nbagg")  # what `%matplotlib widget` does
    try:
        app = widgets.margin_explorer()
        assert app.view is app.fig.canvas and app.view in app.children
        assert not app.artists["loss_pos"].get_animated()  # ipympl draws everything itself
        app.update(margin=2.0)
        assert app.artists["loss_margin"].get_xdata()[0] == 2.0
        assert app.n_renders == 2
        plt.close(app.fig)
    finally:
        plt.switch_backend("Agg")


# ----------------------------------------------------------------------------- 1. distances


def test_distance_explorer_matches_closed_forms():
    app = widgets.distance_explorer(angle_a=0, length_a=1.0, angle_b=90, length_b=2.0)
    assert app.distances["euclidean"] == pytest.approx(np.sqrt(5))
    assert app.distances["l1"] == pytest.approx(3.0)
    assert app.distances["cosine_similarity"] == pytest.approx(0.0, abs=1e-12)
    heights = [b.get_height() for b in app.artists["bars"]]
    np.testing.assert_allclose(heights, [np.sqrt(5), 3.0, 0.0, 1.0], atol=1e-12)
    app.controls["angle_b"].value = 180  # as the slider does
    np.testing.assert_allclose(app.artists["b"].get_xydata()[1], [-2.0, 0.0], atol=1e-12)
    assert app.distances["cosine_similarity"] == pytest.approx(-1.0)
    assert "Euclidean = 3.00" in app.ax_bars.get_title()


def test_distance_explorer_normalise_puts_both_on_the_unit_circle():
    app = widgets.distance_explorer(angle_a=10, length_a=0.3, angle_b=70, length_b=1.9)
    app.update(normalize=True)
    for key in ("a", "b"):
        assert np.linalg.norm(app.artists[key].get_xydata()[1]) == pytest.approx(1.0)
    e, c = app.distances["euclidean"], app.distances["cosine_similarity"]
    assert e**2 == pytest.approx(2 - 2 * c)
    assert "2 - 2 cos" in app.ax_bars.get_title()
    app.update(length_a=1.5)  # lengths do not matter once normalised
    assert app.distances["euclidean"] == pytest.approx(e)


def test_distance_explorer_bad_arguments():
    with pytest.raises(ValueError, match="length_a"):
        widgets.distance_explorer(length_a=0.0)
    with pytest.raises(ValueError, match="angle_b"):
        widgets.distance_explorer(angle_b=400)


# ----------------------------------------------------------------------------- 2. margin


def test_margin_explorer_contrastive_curves_follow_the_margin():
    app = widgets.margin_explorer(margin=1.0)
    d, neg = app.artists["loss_neg"].get_data()
    np.testing.assert_allclose(neg, np.maximum(1.0 - d, 0) ** 2, atol=1e-9)
    app.update(margin=2.0)
    d, neg = app.artists["loss_neg"].get_data()
    np.testing.assert_allclose(neg, np.maximum(2.0 - d, 0) ** 2, atol=1e-9)
    _, gneg = app.artists["grad_neg"].get_data()
    np.testing.assert_allclose(gneg, -2 * np.maximum(2.0 - d, 0), atol=1e-9)
    _, pos = app.artists["loss_pos"].get_data()
    np.testing.assert_allclose(pos, d**2, atol=1e-9)
    assert app.artists["loss_margin"].get_xdata()[0] == pytest.approx(2.0)
    assert "margin = 2.00" in app.ax_loss.get_title()


def test_margin_explorer_triplet_mode():
    app = widgets.margin_explorer()
    app.controls["loss"].value = "triplet"
    app.controls["margin"].value = 0.5
    gap, loss = app.artists["loss_pos"].get_data()
    np.testing.assert_allclose(loss, np.maximum(0.5 - gap, 0), atol=1e-9)
    _, g_ap = app.artists["grad_pos"].get_data()
    _, g_an = app.artists["grad_neg"].get_data()
    active = gap < 0.5
    np.testing.assert_allclose(g_ap, np.where(active, 1.0, 0.0), atol=1e-9)
    np.testing.assert_allclose(g_an, np.where(active, -1.0, 0.0), atol=1e-9)
    assert not app.artists["loss_neg"].get_visible()
    assert app.ax_loss.get_xlabel() == "d(a,n) - d(a,p)"
    app.update(loss="contrastive")
    assert app.artists["loss_neg"].get_visible()


def test_margin_explorer_histogram_panel_counts_active_pairs():
    rng = np.random.default_rng(0)
    d_pos, d_neg = rng.uniform(0, 1, 50), rng.uniform(0.5, 2.5, 80)
    app = widgets.margin_explorer(margin=1.0, d_pos=d_pos, d_neg=d_neg)
    assert app.active_fraction == pytest.approx(np.mean(d_neg < 1.0))
    app.update(margin=1.7)
    assert app.artists["hist_margin"].get_xdata()[0] == pytest.approx(1.7)
    assert app.active_fraction == pytest.approx(np.mean(d_neg < 1.7))
    app.update(loss="triplet")
    brute = np.mean(d_neg[None, :] < d_pos[:, None] + 1.7)
    assert app.active_fraction == pytest.approx(brute)


def test_margin_explorer_bad_arguments():
    with pytest.raises(ValueError, match="both d_pos and d_neg"):
        widgets.margin_explorer(d_pos=[0.1, 0.2])
    with pytest.raises(ValueError, match="d_neg must not be empty"):
        widgets.margin_explorer(d_pos=[0.1], d_neg=[])
    with pytest.raises(ValueError, match="d_pos must be finite"):
        widgets.margin_explorer(d_pos=[0.1, np.nan], d_neg=[1.0])
    with pytest.raises(ValueError, match="loss"):
        widgets.margin_explorer(loss="hinge")
    with pytest.raises(ValueError, match="margin"):
        widgets.margin_explorer(margin=-1)


# ----------------------------------------------------------------------------- 3. triplet zones


def _zones_by_hand(a, p, negatives, m):
    d_ap = np.linalg.norm(p - a)
    d_an = np.linalg.norm(negatives - a, axis=1)
    return np.where(d_an <= d_ap, 2, np.where(d_an <= d_ap + m, 1, 0))


def test_triplet_zones_colour_negatives_by_zone():
    app = widgets.triplet_zones(n_negatives=300, seed=1)
    neg = app.negatives
    expected = _zones_by_hand(np.zeros(2), np.array([0.8, 0.3]), neg, 0.5)
    np.testing.assert_array_equal(app.zones, expected)
    rgba = np.array([to_rgba(viz.ZONE_COLORS[z]) for z in viz.ZONE_NAMES])
    np.testing.assert_allclose(app.artists["negatives"].get_facecolors(), rgba[expected])
    app.update(margin=1.5, anchor_x=1.0, positive_y=-1.0)
    a, p = np.array([1.0, 0.0]), np.array([0.8, -1.0])
    expected = _zones_by_hand(a, p, neg, 1.5)
    np.testing.assert_array_equal(app.zones, expected)
    np.testing.assert_allclose(app.artists["negatives"].get_facecolors(), rgba[expected])
    assert app.artists["hard_disc"].get_radius() == pytest.approx(np.linalg.norm(p - a))
    assert app.artists["semihard_ring"].get_center() == pytest.approx((1.0, 0.0))
    counts = np.bincount(expected, minlength=3)
    assert f"{counts[1]} semi-hard" in app.ax.get_title()
    assert "margin = 1.50" in app.ax.get_title()


def test_triplet_zones_slider_and_zero_margin():
    app = widgets.triplet_zones(n_negatives=200)
    app.controls["margin"].value = 0.0
    assert not app.artists["semihard_ring"].get_visible()
    assert not (app.zones == 1).any()  # no ring, no semi-hard negatives (ties aside)
    app.controls["positive_x"].value = 2.0
    assert app.artists["positive"].get_xdata()[0] == pytest.approx(2.0)


def test_triplet_zones_bad_arguments():
    with pytest.raises(ValueError, match="negatives must have shape"):
        widgets.triplet_zones(negatives=np.zeros((5, 3)))
    with pytest.raises(ValueError, match="anchor"):
        widgets.triplet_zones(anchor=(0.0, 5.0))
    with pytest.raises(ValueError, match="negatives must not be empty"):
        widgets.triplet_zones(negatives=np.zeros((0, 2)))


# ----------------------------------------------------------------------------- 4. temperature


def test_temperature_explorer_weights_and_gradients():
    sims = [0.6, 0.5, 0.1, -0.4]
    app = widgets.temperature_explorer(temperature=0.1, similarities=sims)
    p = np.exp(np.array(sims) / 0.1)
    p /= p.sum()
    np.testing.assert_allclose([b.get_height() for b in app.artists["weights"]], p, rtol=1e-6)
    np.testing.assert_allclose(app.gradients, p[1:] / 0.1, rtol=1e-6)  # dL/ds_j = p_j / τ
    shares = [b.get_height() for b in app.artists["grads"]]
    np.testing.assert_allclose(shares, p[1:] / p[1:].sum(), rtol=1e-6)
    assert app.loss == pytest.approx(-np.log(p[0]))
    share_cold = app.gradients.max() / app.gradients.sum()
    app.controls["temperature"].value = 5.0
    hot = app.gradients.max() / app.gradients.sum()
    assert share_cold > 0.9 and hot < 0.4  # a low temperature focuses on the hard negative
    assert "τ = 5.000" in app.ax_weights.get_title()
    assert max(b.get_height() for b in app.artists["grads"]) == pytest.approx(hot)


def test_temperature_explorer_bad_arguments():
    with pytest.raises(ValueError, match="temperature"):
        widgets.temperature_explorer(temperature=0.0)
    with pytest.raises(ValueError, match="similarities needs"):
        widgets.temperature_explorer(similarities=[0.5])
    with pytest.raises(ValueError, match="finite"):
        widgets.temperature_explorer(similarities=[0.5, np.nan])


# ----------------------------------------------------------------------------- 5. threshold


def _scores():
    rng = np.random.default_rng(0)
    scores = np.r_[rng.normal(1.0, 0.5, 60), rng.normal(0.0, 0.5, 90)]
    same = np.r_[np.ones(60), np.zeros(90)].astype(int)
    return scores, same


def test_threshold_explorer_rates_match_counting():
    scores, same = _scores()
    app = widgets.threshold_explorer(scores, same, threshold=0.5)
    for t in (0.5, 0.2, 1.1):
        app.controls["threshold"].value = t
        acc = scores >= t
        tp, fn = (acc & (same == 1)).sum(), (~acc & (same == 1)).sum()
        fp, tn = (acc & (same == 0)).sum(), (~acc & (same == 0)).sum()
        np.testing.assert_array_equal(app.confusion, [[tp, fn], [fp, tn]])
        assert app.rates["far"] == pytest.approx(fp / 90)
        np.testing.assert_allclose(app.artists["roc_point"].get_xydata(), [[fp / 90, tp / 60]])
        np.testing.assert_array_equal(app.artists["confusion"].get_array(), [[tp, fn], [fp, tn]])
        assert app.artists["threshold_line"].get_xdata()[0] == pytest.approx(t)
        assert app.artists["cells"][0][0].get_text() == str(tp)
        assert f"threshold = {t:.3f}" in app.ax_hist.get_title()


def test_threshold_explorer_default_threshold_is_the_most_accurate():
    scores, same = _scores()
    app = widgets.threshold_explorer(scores, same)
    best = max(np.mean((scores >= t) == same) for t in np.r_[scores, scores.max() + 1])
    assert app.rates["accuracy"] == pytest.approx(best)


def test_threshold_explorer_distances_accept_below():
    scores, same = _scores()
    app = widgets.threshold_explorer(-scores, same, threshold=-0.5, higher_is_same=False)
    acc = -scores <= -0.5
    assert app.confusion[0, 0] == (acc & (same == 1)).sum()
    assert "distance <= t" in app.ax_hist.get_title()  # distances are not scores (higher = same)


@pytest.mark.parametrize(
    ("scores", "same", "match"),
    [
        ([0.1, 0.2, 0.3], [1, 0], "same length"),
        ([], [], "must not be empty"),
        ([0.1, np.nan, 0.3], [1, 0, 1], "finite"),
        ([0.1, 0.2], [1, 1], "both positive"),
        ([0.1, 0.2], [1, 2], "0/1"),
    ],
)
def test_threshold_explorer_bad_arguments(scores, same, match):
    with pytest.raises(ValueError, match=match):
        widgets.threshold_explorer(scores, same)


def test_threshold_outside_the_scores_range_raises():
    with pytest.raises(ValueError, match="threshold"):
        widgets.threshold_explorer([0.1, 0.9], [0, 1], threshold=3.0)


# ----------------------------------------------------------------------------- 6. embeddings


def _tiny_embedding(n=36, d=5, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    emb = rng.normal(size=(n, d)) + 3.0 * np.eye(d)[labels]
    images = rng.uniform(size=(n, 16))  # flat 4x4 "images"
    return emb, labels, images


def test_embedding_explorer_neighbours_and_images():
    emb, labels, images = _tiny_embedding()
    app = widgets.embedding_explorer(emb, labels, images=images, k=4)
    d = np.linalg.norm(emb - emb[0], axis=1)
    d[0] = np.inf
    np.testing.assert_array_equal(app.neighbours, np.argsort(d)[:4])
    proj = app.projections["PCA"]
    np.testing.assert_allclose(app.artists["points"].get_offsets(), proj)
    np.testing.assert_allclose(app.artists["neighbours"].get_offsets(), proj[app.neighbours])
    app.controls["query"].value = 7
    np.testing.assert_allclose(app.artists["query"].get_xydata(), proj[[7]])
    mosaic = np.asarray(app.artists["mosaic"].get_array())
    np.testing.assert_allclose(mosaic[:4, :4], images[7].reshape(4, 4))  # query in slot 0
    first = app.neighbours[0]
    np.testing.assert_allclose(mosaic[:4, 6:10], images[first].reshape(4, 4))
    app.update(k=2)
    assert len(app.artists["neighbours"].get_offsets()) == 2
    assert app.artists["captions"][3].get_text() == ""
    assert "query 7" in app.ax.get_title()
    app.update(color_by_label=False)
    assert len(np.unique(app.artists["points"].get_facecolors(), axis=0)) == 1


def test_embedding_explorer_captions_stay_off_the_next_row():
    # the captions of the first row once covered the thumbnails of the second
    rng = np.random.default_rng(0)
    n = 40
    labels = np.arange(n) % 4
    emb = rng.normal(size=(n, 6)) + 3.0 * np.eye(6)[labels]
    images = rng.uniform(size=(n, 16, 16))
    app = widgets.embedding_explorer(emb, labels, images=images, k=11)
    app.fig.canvas.draw()
    renderer = app.fig.canvas.get_renderer()
    ix, (ch, _), cols = app.ax_images, app._cell, app._COLS
    to_px = ix.transData.transform
    for slot, caption in enumerate(app.artists["captions"][:cols]):
        assert caption.get_text(), slot
        box = caption.get_window_extent(renderer)
        next_row_top = to_px((0.0, ch - 0.5))[1]  # the top edge of the second row's pixels
        assert box.y0 > next_row_top + 1, (slot, box.y0, next_row_top)


def test_embedding_explorer_projections_are_cached(monkeypatch):
    emb, labels, _ = _tiny_embedding()
    calls = []
    real = widgets.embedding._project

    def counting(x, method, seed):
        calls.append(method)
        return real(x, method, seed)

    monkeypatch.setattr(widgets.embedding, "_project", counting)
    app = widgets.embedding_explorer(emb, labels)
    app.update(method="t-SNE")
    tsne = app.projections["t-SNE"]
    np.testing.assert_allclose(app.artists["points"].get_offsets(), tsne)
    assert "t-SNE computed" in app.status.value
    for q in range(5):
        app.update(query=q)
    app.update(method="PCA")
    app.update(method="t-SNE")
    assert calls == ["PCA", "t-SNE"]  # each computed once, never per tick
    assert app.ax.get_title().startswith("t-SNE")


def test_embedding_explorer_umap_branch(monkeypatch):
    # The real UMAP compiles for 10-30 s on first use; the plumbing is tested with a stand-in.
    seen = {}

    class FakeUMAP:
        def __init__(self, **kwargs):
            seen.update(kwargs)

        def fit_transform(self, x):
            return x[:, :2] * 10.0

    monkeypatch.setitem(sys.modules, "umap", types.SimpleNamespace(UMAP=FakeUMAP))
    emb, labels, _ = _tiny_embedding()
    app = widgets.embedding_explorer(emb, labels)
    app.controls["method"].value = "UMAP"
    np.testing.assert_allclose(app.artists["points"].get_offsets(), emb[:, :2] * 10.0)
    assert seen["n_components"] == 2 and seen["n_neighbors"] == 15
    assert "UMAP computed" in app.status.value


def test_embedding_explorer_bad_arguments():
    emb, labels, images = _tiny_embedding()
    with pytest.raises(ValueError, match="one entry per point"):
        widgets.embedding_explorer(emb, labels[:-1])
    with pytest.raises(ValueError, match="images must have one image per point"):
        widgets.embedding_explorer(emb, labels, images=images[:-1])
    with pytest.raises(ValueError, match="embeddings must be finite"):
        bad = emb.copy()
        bad[0, 0] = np.nan
        widgets.embedding_explorer(bad, labels)
    with pytest.raises(ValueError, match="method"):
        widgets.embedding_explorer(emb, labels, method="Isomap")
    with pytest.raises(ValueError, match="must not be empty"):
        widgets.embedding_explorer(np.zeros((0, 3)), [])


# ----------------------------------------------------------------------------- 7. regions


def test_decision_regions_disc_and_regions():
    rng = np.random.default_rng(0)
    pts = np.r_[rng.normal(0, 0.3, (20, 2)), rng.normal(2, 0.3, (20, 2))]
    labels = np.r_[np.zeros(20), np.ones(20)].astype(int)
    app = widgets.decision_regions(pts, labels, k=1, point=3, threshold=0.4, resolution=40)
    d = np.linalg.norm(pts - pts[3], axis=1)
    expected = [i for i in np.flatnonzero(d < 0.4) if i != 3]
    np.testing.assert_array_equal(app.accepted, expected)
    np.testing.assert_allclose(app.artists["accepted"].get_offsets(), pts[expected])
    assert app.artists["disc"].get_radius() == pytest.approx(0.4)
    # k = 1 regions: each pixel has the colour of its nearest point's class
    img = app.artists["regions"].get_array()
    grid, _ = viz.regions._grid(pts, 40, square=True)
    nearest = labels[np.argmin(np.linalg.norm(grid[:, None] - pts[None], axis=2), axis=1)]
    colours = np.array([to_rgba(c, 0.22) for c in viz.class_colors(2)])
    np.testing.assert_allclose(np.asarray(img).reshape(-1, 4), colours[nearest])
    app.controls["threshold"].value = 1.0
    assert app.artists["disc"].get_radius() == pytest.approx(1.0)
    app.update(point=25, k=7)
    assert app.artists["disc"].get_center() == pytest.approx(tuple(pts[25]))
    assert app.loo_accuracy == pytest.approx(1.0)
    assert "k = 7" in app.ax.get_title() and "point 25" in app.ax.get_title()


def test_decision_regions_defaults_and_bad_arguments():
    app = widgets.decision_regions()
    assert len(app.points) == 150
    with pytest.raises(ValueError, match="labels is required"):
        widgets.decision_regions(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        widgets.decision_regions(np.zeros((5, 3)), np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match="one entry per point"):
        widgets.decision_regions(np.zeros((5, 2)), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="point"):
        widgets.decision_regions(np.eye(2) * [[1], [2]], [0, 1], k=1, point=5)


# ----------------------------------------------------------------------------- 8. training


def test_train_2d_explorer_retrains_on_release_and_caches():
    app = widgets.train_2d_explorer(n=60, steps=20)
    assert app.progress.value == 20
    assert app.controls["mining"].disabled  # mining only matters for the triplet loss
    assert app.controls["margin"].continuous_update is False
    first = app.artists["train"].get_offsets().copy()
    np.testing.assert_allclose(first, app.result["z_train"])
    app.update(loss="triplet", mining="hard")
    assert not app.controls["mining"].disabled
    assert not np.allclose(app.artists["train"].get_offsets(), first)
    assert "triplet (hard)" in app.ax.get_title()
    app.controls["margin"].value = 2.0
    assert len(app.cache) == 3
    assert len(app.artists["loss_curve"].get_xdata()) == 20
    app.update(loss="contrastive", margin=1.0)  # back to the start: cached, identical
    assert len(app.cache) == 3
    np.testing.assert_allclose(app.artists["train"].get_offsets(), first)
    assert 0.0 <= app.result["accuracy"] <= 1.0
    # the status line and the figure describe the same run: setting, cache, training time
    seconds = f"{app.result['seconds']:.2f} s"
    assert "contrastive, margin = 1.0" in app.status.value and "cache" in app.status.value
    assert "contrastive, margin = 1.0" in app.ax.get_title()
    assert seconds in app.status.value and seconds in app.ax_loss.get_title()


def test_train_2d_is_seeded_and_leaves_global_state_alone():
    from cl_lessons import data

    X, y = data.make_blobs(n=40, seed=0)
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    threads = torch.get_num_threads()
    _, h1 = widgets.train_2d(X, y, "triplet", 1.0, "semihard", steps=12, seed=3)
    _, h2 = widgets.train_2d(X, y, "triplet", 1.0, "semihard", steps=12, seed=3)
    assert h1 == h2
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.get_num_threads() == threads


def test_train_2d_explorer_bad_arguments():
    with pytest.raises(ValueError, match="dataset"):
        widgets.train_2d_explorer(dataset="mnist")
    with pytest.raises(ValueError, match="mining"):
        widgets.train_2d_explorer(mining="easy")
    with pytest.raises(ValueError, match="margin"):
        widgets.train_2d_explorer(margin=0.0)


# ----------------------------------------------------------------------------- 9. hypersphere


def test_hypersphere_view_toy_spread_changes_alignment():
    app = widgets.hypersphere_view(spread=0.1)
    assert np.allclose(np.linalg.norm(app.z, axis=1), 1.0)
    tight = app.alignment
    xs = app.artists["classes"][0].get_data_3d()[0]
    app.controls["spread"].value = 2.0
    assert app.alignment > tight + 0.3
    assert not np.allclose(app.artists["classes"][0].get_data_3d()[0], xs)
    title = app.ax.get_title()
    assert f"alignment = {app.alignment:.2f}" in title
    # the figure says what it shows and which way is better
    assert "unit sphere" in title and "lower: classes tighter" in title
    assert "lower: more spread out" in title
    app.update(elev=60, azim=-100)
    assert (app.ax.elev, app.ax.azim) == (60, -100)


def test_hypersphere_view_user_data_metrics_match_brute_force():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(30, 3))
    labels = np.arange(30) % 2
    app = widgets.hypersphere_view(z, labels)
    zn = z / np.linalg.norm(z, axis=1, keepdims=True)
    i, j = np.triu_indices(30, 1)
    sq = ((zn[i] - zn[j]) ** 2).sum(1)
    same = labels[i] == labels[j]
    assert app.alignment == pytest.approx(sq[same].mean(), rel=1e-5)
    assert app.uniformity == pytest.approx(np.log(np.exp(-2 * sq).mean()), rel=1e-5)
    assert "spread" not in app.controls


def test_hypersphere_view_bad_arguments():
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        widgets.hypersphere_view(np.ones((4, 2)))
    with pytest.raises(ValueError, match="all-zero"):
        widgets.hypersphere_view(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="labels given without z3"):
        widgets.hypersphere_view(labels=[0, 1])


def test_retraining_controls_carry_the_retrain_class_and_others_do_not():
    app = widgets.train_2d_explorer(n=60, steps=10)
    assert widgets.RETRAIN_CLASS in app.controls["margin"]._dom_classes
    assert not app.controls["margin"].continuous_update
    other = widgets.margin_explorer()
    assert all(widgets.RETRAIN_CLASS not in c._dom_classes for c in other.controls.values())


def test_threshold_slider_starts_exactly_on_its_grid_with_one_percent_steps():
    # the browser snaps a value between two steps (0.556 was shown as 0.555), and 500 steps were
    # too fine to explore with the arrow keys
    scores, same = _scores()
    for t in (0.1234567, -0.5, float(np.quantile(scores, 0.3))):
        app = widgets.threshold_explorer(scores, same, threshold=t)
        s = app.controls["threshold"]
        k = (s.value - s.min) / s.step
        assert s.value == t and abs(k - round(k)) < 1e-6
        assert s.step == pytest.approx((scores.max() - scores.min()) / 100, rel=1e-6)
        assert s.min <= scores.min() + s.step and s.max >= scores.max() - 1e-9
        app.close()


@pytest.mark.parametrize(
    "factory",
    [
        "distance_explorer",
        "margin_explorer",
        "triplet_zones",
        "temperature_explorer",
        "decision_regions",
        "hypersphere_view",
        "train_2d_explorer",
    ],
)
def test_no_text_in_an_app_is_smaller_than_readable(factory):
    # a projector shows the figure at its natural size: x-small legends were 6 px
    from matplotlib.text import Text

    from cl_lessons.widgets._figure import MIN_FONT_PT

    kwargs = {"steps": 10, "n": 20} if factory == "train_2d_explorer" else {}
    app = getattr(widgets, factory)(**kwargs)
    app.png()
    sizes = [t.get_fontsize() for t in app.fig.findobj(Text) if t.get_visible() and t.get_text()]
    assert sizes and min(sizes) >= MIN_FONT_PT
    app.close()


# ----------------------------------------------------------------------------- static copies


def test_app_display_data_carries_a_png_and_a_readable_line():
    import base64

    app = widgets.margin_explorer(margin=1.0)
    bundle = app._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # the live view is still there
    png = base64.b64decode(bundle["image/png"])
    assert png.startswith(b"\x89PNG") and png == app.png()
    text = bundle["text/plain"]
    assert text.startswith("MarginExplorer: ") and "children=" not in text
    assert "margin = 1.00" in text and app.view.tooltip in text
    app.update(margin=0.5)
    assert "margin = 0.50" in app._repr_mimebundle_()["text/plain"]  # the current state
    assert "margin = 0.50" in app.view.tooltip

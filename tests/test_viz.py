"""Tests of cl_lessons.viz: each function draws the data it is given, labels its axes, and
rejects bad input with a ValueError naming the argument."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_hex, to_rgba

from cl_lessons import viz


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _labelled(ax):
    return ax.get_xlabel() != "" and ax.get_ylabel() != ""


def test_palette_is_okabe_ito_and_class_colors_extend_it():
    assert viz.PALETTE[:3] == ("#0072B2", "#E69F00", "#009E73")
    assert viz.class_colors(3) == list(viz.PALETTE[:3])
    ten = viz.class_colors(10)
    assert len(set(ten)) == 10  # the digits get ten distinct colours
    assert len(viz.class_colors(13)) == 13
    with pytest.raises(ValueError, match="num_classes"):
        viz.class_colors(0)


def test_plot_embedding_2d_one_collection_per_class_accepts_tensors():
    pts = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5], [3.0, 3.0]])
    ax = viz.plot_embedding_2d(pts, torch.tensor([0, 1, 0, 2]), title="demo")
    offsets = [c.get_offsets() for c in ax.collections]
    assert len(offsets) == 3
    np.testing.assert_allclose(offsets[0], [[0, 0], [2, 0.5]])
    assert to_hex(ax.collections[1].get_facecolor()[0]) == viz.PALETTE[1].lower()
    assert ax.get_title() == "demo" and _labelled(ax)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1", "2"]


@pytest.mark.parametrize(
    ("points", "labels", "match"),
    [
        (np.zeros((3, 3)), None, r"shape \(N, 2\)"),
        (np.zeros((0, 2)), None, "must not be empty"),
        (np.array([[0.0, np.nan]]), None, "finite"),
        (np.zeros((3, 2)), [0, 1], "one entry per point"),
        (np.zeros((2, 2)), [0.5, 1.0], "integer class ids"),
    ],
)
def test_plot_embedding_2d_bad_input(points, labels, match):
    with pytest.raises(ValueError, match=match):
        viz.plot_embedding_2d(points, labels)


def test_plot_distance_matrix_sorts_by_class():
    x = np.array([[0.0], [10.0], [0.1], [10.1]])
    labels = np.array([0, 1, 0, 1])
    dist = np.abs(x - x.T)
    ax = viz.plot_distance_matrix(dist, labels)
    shown = np.asarray(ax.images[0].get_array())
    order = [0, 2, 1, 3]
    np.testing.assert_allclose(shown, dist[np.ix_(order, order)])
    assert _labelled(ax)
    with pytest.raises(ValueError, match="square"):
        viz.plot_distance_matrix(np.zeros((2, 3)))


def test_plot_distance_histograms_draws_both_and_the_lines():
    ax = viz.plot_distance_histograms([0.1, 0.2, 0.3], [1.0, 1.5], threshold=0.6, margin=1.2)
    heights = [p.get_height() for p in ax.patches]
    assert len(heights) == 80  # two histograms of 40 bins
    vlines = [line.get_xdata()[0] for line in ax.lines]
    assert vlines == [0.6, 1.2]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "threshold = 0.60" in labels and "margin = 1.20" in labels
    with pytest.raises(ValueError, match="d_neg must not be empty"):
        viz.plot_distance_histograms([0.1], [])


def test_plot_roc_curve_and_operating_point():
    scores = np.array([0.9, 0.8, 0.3, 0.7, 0.2, 0.1])
    same = np.array([1, 1, 1, 0, 0, 0])
    ax = viz.plot_roc(scores, same, threshold=0.5)
    far, tar = ax.lines[0].get_data()
    assert far[0] == 0 and tar[-1] == 1 and far[-1] == 1
    point = ax.lines[2].get_xydata()[0]
    np.testing.assert_allclose(point, [1 / 3, 2 / 3])  # 0.7 accepted wrongly; 0.3 rejected
    assert "AUC = 0.889" in ax.get_title()  # 8 of 9 (pos, neg) pairs ordered correctly
    with pytest.raises(ValueError, match="finite"):
        viz.plot_roc([0.1, np.nan], [0, 1])
    with pytest.raises(ValueError, match="both positive"):
        viz.plot_roc([0.1, 0.2], [0, 0])


def test_rates_at_matches_counting():
    rng = np.random.default_rng(0)
    s = rng.normal(size=50)
    y = rng.integers(0, 2, 50).astype(bool)
    ts = np.array([-1.0, 0.0, 0.3, 2.0])
    far, tar = viz.verification._rates_at(s, y, ts)
    for t, f, r in zip(ts, far, tar, strict=True):
        assert f == pytest.approx(np.mean(s[~y] >= t))
        assert r == pytest.approx(np.mean(s[y] >= t))


def test_plot_loss_curves_dict_and_sequence():
    ax = viz.plot_loss_curves({"train": [3.0, 2.0, 1.0], "val": [3.5, 2.5]}, logy=True)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [3, 2, 1])
    np.testing.assert_allclose(ax.lines[1].get_xdata(), [1, 2])
    assert ax.get_yscale() == "log"
    ax = viz.plot_loss_curves([1.0, 0.5])
    assert ax.lines[0].get_label() == "loss"
    with pytest.raises(ValueError, match="at least one curve"):
        viz.plot_loss_curves({})


def test_negative_zones_follow_the_facenet_inequalities():
    a, p = np.zeros(2), np.array([1.0, 0.0])
    negatives = np.array([[0.5, 0.0], [1.0, 0.0], [1.2, 0.0], [1.5, 0.0], [2.0, 0.0]])
    zones = viz.negative_zones(a, p, negatives, margin=0.5)
    # closer than p: hard; tie: hard; inside margin: semi-hard; on the margin: semi-hard; beyond
    np.testing.assert_array_equal(zones, [2, 2, 1, 1, 0])
    rng = np.random.default_rng(1)
    many = rng.uniform(-3, 3, (200, 2))  # several chunks of 30
    d_an = np.linalg.norm(many, axis=1)
    expected = np.where(d_an <= 1.0, 2, np.where(d_an <= 1.7, 1, 0))
    np.testing.assert_array_equal(viz.negative_zones(a, p, many, 0.7), expected)
    with pytest.raises(ValueError, match="margin"):
        viz.negative_zones(a, p, negatives, -0.1)
    with pytest.raises(ValueError, match="share dimension"):
        viz.negative_zones(a, p, np.zeros((3, 3)), 0.5)


def test_plot_triplet_zones_colours_and_patches():
    negatives = np.array([[0.5, 0.0], [1.2, 0.0], [3.0, 0.0]])
    ax = viz.plot_triplet_zones([0.0, 0.0], [1.0, 0.0], negatives, margin=0.5)
    colours = ax.collections[0].get_facecolors()
    expected = [to_rgba(viz.ZONE_COLORS[z]) for z in ("hard", "semi-hard", "easy")]
    np.testing.assert_allclose(colours, expected)
    ring, disc = ax.patches
    assert disc.get_radius() == pytest.approx(1.0)
    assert ring.get_radii() == pytest.approx((1.5, 1.5)) and ring.get_width() == pytest.approx(0.5)
    assert "margin = 0.50" in ax.get_title()


def test_plot_decision_regions_k1_is_nearest_neighbour():
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    labels = np.array([0, 0, 1, 1])
    ax = viz.plot_decision_regions(pts, labels, k=1, resolution=20, query=0, threshold=0.5)
    img = np.asarray(ax.images[0].get_array())  # (20, 20, 4), row 0 at the bottom
    colours = viz.class_colors(2)
    np.testing.assert_allclose(img[0, 0], to_rgba(colours[0], 0.22))  # bottom: class 0
    np.testing.assert_allclose(img[-1, 0], to_rgba(colours[1], 0.22))  # top: class 1
    assert ax.patches[0].get_radius() == 0.5
    assert "k = 1" in ax.get_title() and "threshold = 0.50" in ax.get_title()
    with pytest.raises(ValueError, match="k must be"):
        viz.plot_decision_regions(pts, labels, k=0)
    with pytest.raises(ValueError, match="query"):
        viz.plot_decision_regions(pts, labels, query=9)


def test_vote_breaks_ties_towards_the_nearest():
    votes = viz.regions._vote(np.array([[1, 0], [0, 1], [2, 2]]), 3)
    np.testing.assert_array_equal(votes, [1, 0, 2])


def test_label_alignment_uniformity_matches_brute_force():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(12, 4))
    labels = np.arange(12) % 3
    align, unif = viz.label_alignment_uniformity(z, labels)
    zn = z / np.linalg.norm(z, axis=1, keepdims=True)
    sq = [
        (np.sum((zn[i] - zn[j]) ** 2), labels[i] == labels[j])
        for i in range(12)
        for j in range(i + 1, 12)
    ]
    assert align == pytest.approx(np.mean([d for d, s in sq if s]), rel=1e-5)
    assert unif == pytest.approx(np.log(np.mean([np.exp(-2 * d) for d, _ in sq])), rel=1e-5)


def test_plot_hypersphere_points_on_the_unit_sphere():
    z = np.array([[2.0, 0, 0], [0, 3.0, 0], [0, 0, 0.5], [1.0, 1.0, 0]])
    ax = viz.plot_hypersphere(z, [0, 0, 1, 1])
    pts = np.concatenate([np.column_stack(c._offsets3d) for c in ax.collections[1:]])
    np.testing.assert_allclose(np.linalg.norm(pts, axis=1), 1.0)
    assert ax.get_title().startswith("alignment = ")
    assert viz.plot_hypersphere(z).get_title().startswith("uniformity = ")
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        viz.plot_hypersphere(np.zeros((3, 2)))


def test_plot_singular_values_shows_dimensional_collapse():
    rng = np.random.default_rng(0)
    flat = rng.normal(size=(100, 1)) @ np.ones((1, 4)) + 1e-6 * rng.normal(size=(100, 4))
    ax = viz.plot_singular_values(flat, normalize=False)
    sv = ax.lines[0].get_ydata()
    assert sv[0] > 1e3 * sv[1]  # one direction carries everything
    assert ax.get_yscale() == "log" and _labelled(ax)


@pytest.mark.parametrize(
    ("shape", "out"),
    [
        ((5, 64), (5, 8, 8)),
        ((5, 1, 8, 8), (5, 8, 8)),
        ((5, 3, 6, 7), (5, 6, 7, 3)),
        ((5, 6, 7, 3), (5, 6, 7, 3)),
        ((5, 6, 7), (5, 6, 7)),
    ],
)
def test_as_images_layouts(shape, out):
    assert viz.as_images(np.zeros(shape)).shape == out


def test_image_grid_fits_a_notebook_at_full_size():
    # a wide grid was shown scaled down to 84 % in JupyterLab, its titles with it
    fig = viz.image_grid(np.zeros((20, 16)), ncols=20)
    assert fig.get_figwidth() <= 9.5 + 1e-9
    assert viz.image_grid(np.zeros((3, 16)), ncols=3).get_figwidth() == pytest.approx(3.9)


def test_image_grid_titles_and_bad_input():
    fig = viz.image_grid(np.arange(5 * 16).reshape(5, 16), titles=list("abcde"), ncols=3)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 6 and len(shown) == 5
    np.testing.assert_allclose(shown[1].images[0].get_array(), np.arange(16, 32).reshape(4, 4))
    assert shown[4].get_title() == "e"
    with pytest.raises(ValueError, match="square pixel count"):
        viz.image_grid(np.zeros((2, 10)))
    with pytest.raises(ValueError, match="titles"):
        viz.image_grid(np.zeros((2, 4)), titles=["x"])

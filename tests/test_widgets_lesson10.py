"""Lesson 10's apps: verification_explorer and gallery_explorer build, follow their controls,
redraw the figure, and refuse bad arguments."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from cl_lessons import metrics, widgets


def _scores(seed=0):
    rng = np.random.default_rng(seed)
    s = np.r_[rng.normal(0, 1, 900), rng.normal(2.5, 1, 100)]
    return s, np.r_[np.zeros(900, int), np.ones(100, int)]


# ----------------------------------------------------------------------- verification_explorer


def test_verification_explorer_rates_follow_the_slider():
    s, y = _scores()
    app = widgets.verification_explorer(s, y)
    # default threshold: FAR at most the first target, 1e-1
    assert app.values["threshold"] == pytest.approx(metrics.threshold_at_far(s, y, 0.1), abs=1e-9)
    assert app.rates["far"] <= 0.1
    before = app.png()
    for t in (-1.0, 0.5, 2.0, 3.5):
        app.update(threshold=t)
        t = app.values["threshold"]  # the slider rounds to its step
        tar, far = np.mean(s[y == 1] >= t), np.mean(s[y == 0] >= t)
        assert app.rates == pytest.approx({"tar": tar, "far": far, "frr": 1 - tar})
        x, ty = app.artists["roc_point"].get_xydata()[0]
        assert x == pytest.approx(max(far, app.far_floor)) and ty == pytest.approx(tar)
        assert app.artists["threshold_line"].get_xdata()[0] == pytest.approx(t)
        assert f"FAR = {far:.2e}" in app.ax_roc.get_title()
    assert app.png() != before
    assert app.ax_roc.get_xscale() == "log"


def test_verification_explorer_moving_the_slider_value_redraws():
    s, y = _scores(1)
    app = widgets.verification_explorer(s.tolist(), y.tolist(), threshold=0.0, far_targets=())
    n, png = app.n_renders, app.png()
    app.controls["threshold"].value = 2.0
    assert app.n_renders > n and app.png() != png and app.last_error is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threshold": 99.0}, "threshold"),
        ({"far_targets": [0.0]}, "far_targets"),
        ({"far_targets": [1.5]}, "far_targets"),
        ({"far_targets": 0.1}, "far_targets"),
    ],
)
def test_verification_explorer_bad_arguments(kwargs, match):
    s, y = _scores()
    with pytest.raises(ValueError, match=match):
        widgets.verification_explorer(s, y, **kwargs)


def test_verification_explorer_bad_scores():
    with pytest.raises(ValueError, match="both"):
        widgets.verification_explorer([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="finite"):
        widgets.verification_explorer([0.1, np.nan], [0, 1])


# ----------------------------------------------------------------------- gallery_explorer


def _gallery(seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(12, 4)) * 3
    gl = np.arange(8)  # 8 enrolled identities, one entry each
    ge = centers[gl] + 0.3 * rng.normal(size=(8, 4))
    pl = np.r_[np.arange(8), np.arange(8, 12)]  # 8 mated probes, 4 impostors
    pe = centers[pl] + 0.3 * rng.normal(size=(12, 4))
    gi = rng.random((8, 1, 10, 10))
    pi = rng.random((12, 1, 10, 10))
    return pi, gi, pe, ge, pl, gl


def test_gallery_explorer_matches_and_decisions():
    pi, gi, pe, ge, pl, gl = _gallery()
    app = widgets.gallery_explorer(pi, gi, pe, ge, pl, gl, k=3)
    d = np.linalg.norm(pe[:, None] - ge[None], axis=2)  # (P, G)
    before = app.png()
    t = app.values["threshold"]
    for q in (0, 5, 9, 11):
        app.update(probe=q)
        np.testing.assert_array_equal(app.matches, np.argsort(d[q])[:3])
        nearest = int(np.argmin(d[q]))
        accepted = d[q, nearest] <= t
        right = (gl[nearest] == pl[q]) if accepted else pl[q] >= 8
        assert app.decision == {"accepted": bool(accepted), "correct": bool(right)}
        assert ("RIGHT" if right else "WRONG") in app.ax.get_title()
        assert app.artists["captions"][1].get_text().endswith(f"d = {d[q, nearest]:.2f}")
        assert app.artists["captions"][0].get_text().startswith(f"probe: id {pl[q]}")
        np.testing.assert_allclose(app.artists["mosaic"].get_array()[:, :10], pi[q, 0], rtol=1e-6)
    assert app.png() != before


def test_gallery_explorer_threshold_and_k():
    pi, gi, pe, ge, pl, gl = _gallery(1)
    app = widgets.gallery_explorer(pi, gi, pe, ge, pl, gl, probe=2, k=2)
    app.update(threshold=0.0)
    assert app.decision["accepted"] is False  # nothing within distance 0
    assert app.decision["correct"] is False  # probe 2 is enrolled: a false reject
    assert "rejected" in app.ax.get_title()
    frames = app.artists["frames"]
    assert not any(f.get_visible() for f in frames)
    hi = app.controls["threshold"].max
    png = app.png()
    app.update(threshold=hi, k=5)
    assert app.decision["accepted"] is True and len(app.matches) == 5
    assert sum(f.get_visible() for f in frames) >= 1
    assert [c.get_text() != "" for c in app.artists["captions"]][:6] == [True] * 6
    assert app.png() != png


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"probe": 12}, "probe"),
        ({"k": 0}, "k"),
        ({"k": 9}, "k"),
        ({"threshold": -1.0}, "threshold"),
        ({"probe_labels": np.arange(11)}, "probe_labels"),
        ({"gallery_emb": np.ones((8, 3))}, "width"),
        ({"gallery_images": np.ones((7, 1, 10, 10))}, "gallery_images"),
        ({"probe_images": np.ones((12, 1, 9, 9))}, "same size"),
        ({"probe_emb": np.full((12, 4), np.nan)}, "probe_emb"),
    ],
)
def test_gallery_explorer_bad_arguments(change, match):
    pi, gi, pe, ge, pl, gl = _gallery()
    args = {
        "probe_images": pi,
        "gallery_images": gi,
        "probe_emb": pe,
        "gallery_emb": ge,
        "probe_labels": pl,
        "gallery_labels": gl,
    }
    kwargs = {k: v for k, v in change.items() if k not in args}
    args.update({k: v for k, v in change.items() if k in args})
    with pytest.raises(ValueError, match=match):
        widgets.gallery_explorer(**args, **kwargs)

"""Lesson 11's apps: retrieval_explorer and few_shot_explorer build, update, move and refuse."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import cl_lessons as cl


@pytest.fixture(scope="module")
def faces():
    data = cl.data.SyntheticFaces(num_identities=24, images_per_identity=8, size=16, seed=0)
    return data.images, data.labels


def test_retrieval_explorer_updates_and_matches_the_metrics(faces):
    images, labels = faces
    x = images.flatten(1)
    app = cl.widgets.retrieval_explorer(x, labels, images, query=0, k=5)
    assert app.last_error is None
    before = app.png()
    app.update(query=17, k=8)
    assert app.png() != before
    assert app.last_error is None
    assert "precision@8" in app.ax_images.title.get_text()
    # the app's numbers for one query agree with a direct computation
    d = torch.cdist(x[17:18].double(), x.double())[0]
    d[17] = float("inf")
    top = d.argsort()[:8]
    assert app.precision == pytest.approx(float((labels[top] == labels[17]).double().mean()))
    assert set(app.ranking[:8].tolist()) == set(top.tolist())
    # averaging each query's AP@R gives MAP@R
    aps = [app.update(query=q).average_precision for q in range(len(labels))]
    assert np.mean(aps) == pytest.approx(cl.metrics.map_at_r(x, labels), abs=1e-9)


def test_retrieval_explorer_slider_changes_the_figure(faces):
    images, labels = faces
    app = cl.widgets.retrieval_explorer(images.flatten(1), labels, images, distance="cosine")
    before = app.png()
    app.controls["query"].value = 3  # as the slider does, without a running loop
    assert app.png() != before
    assert app.values["query"] == 3


def test_few_shot_explorer_grid_and_episode(faces):
    images, labels = faces
    noise = torch.randn(len(labels), 24, generator=torch.Generator().manual_seed(0))
    emb = torch.nn.functional.one_hot(labels, 24).float() + 0.15 * noise
    app = cl.widgets.few_shot_explorer(
        emb, labels, images, baseline=images.flatten(1), n_ways=(2, 5, 10), k_shots=(1, 3),
        num_episodes=40,
    )  # fmt: skip
    assert app.last_error is None
    assert set(app.accuracy) == {(n, w, k) for n in app.names for w in (2, 5, 10) for k in (1, 3)}
    # a well-separated embedding beats raw pixels, and accuracy falls as N grows
    assert app.accuracy["learned", 5, 1][0] > app.accuracy["raw pixels", 5, 1][0] + 0.2
    assert app.accuracy["raw pixels", 10, 1][0] < app.accuracy["raw pixels", 2, 1][0]
    before = app.png()
    app.update(n_way=10, k_shot=3)
    assert app.png() != before
    assert "10-way 3-shot" in app.ax.get_title()
    support, query, pred, classes = app.episodes[10, 3]
    assert support.shape == (10, 3) and query.shape == (10, 5) and pred.shape == (50,)
    assert bool((labels[support] == classes[:, None]).all())
    assert app.episode_correct == int((pred == torch.arange(10).repeat_interleave(5)).sum())


def test_few_shot_explorer_without_images_or_baseline(faces):
    _, labels = faces
    emb = torch.randn(len(labels), 4)
    app = cl.widgets.few_shot_explorer(emb, labels, n_ways=(2, 3), k_shots=(1,), num_episodes=5)
    assert app.ax_episode is None and app.names == ["learned"]
    before = app.png()
    app.controls["n_way"].value = 2  # it starts in the middle of the grid, at 3
    assert app.png() != before


X = torch.randn(12, 3)
Y = torch.arange(12) % 3
IMG = torch.rand(12, 1, 8, 8)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cl.widgets.retrieval_explorer(X, Y, IMG, query=12), "query must be in"),
        (lambda: cl.widgets.retrieval_explorer(X, Y, IMG, k=0), "k must be"),
        (lambda: cl.widgets.retrieval_explorer(X, Y[:5], IMG), "labels"),
        (lambda: cl.widgets.retrieval_explorer(X, Y, IMG[:5]), "images must have one image"),
        (lambda: cl.widgets.retrieval_explorer(X, Y, IMG, distance="l1"), "distance must be"),
        (lambda: cl.widgets.retrieval_explorer(X[:2], Y[:2], IMG[:2]), "at least 3 items"),
        (lambda: cl.widgets.retrieval_explorer(X * np.nan, Y, IMG), "embeddings"),
        (lambda: cl.widgets.few_shot_explorer(X, Y, n_ways=(2, 4)), "n_ways goes up to 4"),
        (lambda: cl.widgets.few_shot_explorer(X, Y, n_ways=(1, 2)), "n_ways must be >= 2"),
        (lambda: cl.widgets.few_shot_explorer(X, Y, n_ways=()), "non-empty sequence"),
        (lambda: cl.widgets.few_shot_explorer(X, Y, k_shots=(0,)), "k_shots must be >= 1"),
        (lambda: cl.widgets.few_shot_explorer(X, Y, n_ways=(2,), method="svm"), "method"),
        (lambda: cl.widgets.few_shot_explorer(X, Y, baseline=X[:4]), "baseline must have"),
        (lambda: cl.widgets.few_shot_explorer(X, Y, n_ways=(2,), names="ab"), "names must"),
        (lambda: cl.widgets.few_shot_explorer(X, Y, n_ways=(2,), n_query=0), "n_query"),
    ],
)
def test_bad_input_names_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_update_refuses_values_off_the_grid(faces):
    _, labels = faces
    app = cl.widgets.few_shot_explorer(
        torch.randn(len(labels), 4), labels, n_ways=(2, 3), k_shots=(1,), num_episodes=5
    )
    with pytest.raises(ValueError, match="n_way must be one of"):
        app.update(n_way=4)


def test_query_scores_match_the_drawn_query_and_check_their_arguments(faces):
    images, labels = faces
    app = cl.widgets.retrieval_explorer(images.flatten(1), labels, images)
    app.update(query=9, k=4)
    assert app.query_scores(9, 4) == (app.precision, app.average_precision)
    with pytest.raises(ValueError, match="query must be in"):
        app.query_scores(len(labels), 4)

"""Few-shot episodes (cl.data.few_shot_episodes) and their classification (few_shot_accuracy)."""

from __future__ import annotations

import pytest
import torch

import cl_lessons as cl
from cl_lessons.data import episodes as episodes_module


def pool(sizes):
    """Labels 10, 11, ... with the given class sizes (not 0..C-1, not sorted by class)."""
    labels = torch.cat([torch.full((n,), 10 + c) for c, n in enumerate(sizes)])
    return labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))]


@pytest.mark.parametrize(
    ("n_way", "k_shot", "n_query"), [(2, 1, 1), (5, 1, 5), (5, 5, 3), (8, 2, 4)]
)
def test_episodes_are_valid(n_way, k_shot, n_query):
    labels = pool([12, 9, 10, 3, 11, 15, 10, 8, 20, 10])
    ep = cl.data.few_shot_episodes(
        labels, n_way, k_shot, n_query, 50, torch.Generator().manual_seed(1)
    )
    assert ep.support.shape == (50, n_way, k_shot)
    assert ep.query.shape == (50, n_way, n_query)
    assert ep.classes.shape == (50, n_way)
    for e in range(50):
        classes = ep.classes[e]
        assert len(set(classes.tolist())) == n_way  # distinct classes
        if k_shot + n_query > 3:
            assert not bool((classes == 13).any())  # the class of 3 samples is too small
        members = torch.cat([ep.support[e], ep.query[e]], dim=1)  # (N, K + Q)
        assert len(set(members.flatten().tolist())) == members.numel()  # no sample twice
        assert torch.equal(labels[members], classes[:, None].expand_as(members))


def test_episodes_are_reproducible_and_cover_the_classes():
    labels = pool([10] * 8)
    a = cl.data.few_shot_episodes(labels, 3, 2, 2, 400, torch.Generator().manual_seed(5))
    b = cl.data.few_shot_episodes(labels, 3, 2, 2, 400, torch.Generator().manual_seed(5))
    c = cl.data.few_shot_episodes(labels, 3, 2, 2, 400, torch.Generator().manual_seed(6))
    assert torch.equal(a.support, b.support) and torch.equal(a.query, b.query)
    assert not torch.equal(a.support, c.support)
    counts = torch.bincount(a.classes.flatten() - 10, minlength=8).double()
    assert counts.min() > 0.7 * counts.mean()  # roughly uniform over classes (mean 150)
    used = torch.bincount(a.support.flatten(), minlength=80)
    assert bool((used > 0).all())  # every sample can be a support example


def test_chunked_sampling_gives_valid_episodes(monkeypatch):
    monkeypatch.setattr(episodes_module, "_CHUNK_ELEMENTS", 64)  # a few episodes per chunk
    labels = pool([6, 7, 8, 9])
    ep = cl.data.few_shot_episodes(labels, 4, 1, 5, 33, torch.Generator().manual_seed(0))
    assert ep.support.shape == (33, 4, 1)
    assert torch.equal(labels[ep.query], ep.classes[:, :, None].expand(-1, -1, 5))


def ref_accuracy(x, support, query, method):
    accs = []
    for e in range(support.shape[0]):
        n = support.shape[1]
        right = 0
        for c in range(n):
            for qi in query[e, c].tolist():
                if method == "prototype":
                    d = [float(((x[qi] - x[support[e, j]].mean(0)) ** 2).sum()) for j in range(n)]
                else:
                    d = [
                        min(float(((x[qi] - x[s]) ** 2).sum()) for s in support[e, j].tolist())
                        for j in range(n)
                    ]
                right += int(min(range(n), key=d.__getitem__) == c)
        accs.append(right / (n * query.shape[2]))
    return torch.tensor(accs, dtype=torch.float64)


@pytest.mark.parametrize("method", ["prototype", "nearest"])
@pytest.mark.parametrize("k_shot", [1, 3])
def test_few_shot_accuracy_matches_a_loop(method, k_shot):
    gen = torch.Generator().manual_seed(2)
    labels = pool([8] * 6)
    x = torch.randn(6, 4, generator=gen, dtype=torch.float64)[labels - 10] * 1.2
    x = x + torch.randn(48, 4, generator=gen, dtype=torch.float64)
    ep = cl.data.few_shot_episodes(labels, 4, k_shot, 3, 25, gen)
    got = cl.metrics.few_shot_accuracy(x, ep, method)
    torch.testing.assert_close(got, ref_accuracy(x, ep.support, ep.query, method))
    assert 0.3 < float(got.mean()) < 1.0  # neither trivial nor chance


def test_prototypes_equal_nearest_example_for_one_shot_and_differ_for_more():
    gen = torch.Generator().manual_seed(3)
    labels = pool([10] * 5)
    x = torch.randn(50, 6, generator=gen)
    one = cl.data.few_shot_episodes(labels, 5, 1, 4, 30, gen)
    torch.testing.assert_close(
        cl.metrics.few_shot_accuracy(x, one, "prototype"),
        cl.metrics.few_shot_accuracy(x, one, "nearest"),
    )
    five = cl.data.few_shot_episodes(labels, 5, 5, 4, 30, gen)
    p = cl.metrics.few_shot_accuracy(x, five, "prototype")
    n = cl.metrics.few_shot_accuracy(x, five, "nearest")
    assert not torch.equal(p, n)


def test_cosine_ignores_the_scale_of_each_embedding():
    gen = torch.Generator().manual_seed(4)
    labels = pool([6] * 5)
    x = torch.randn(30, 5, generator=gen)
    scaled = x * torch.rand(30, 1, generator=gen).add(0.1) * 10
    ep = cl.data.few_shot_episodes(labels, 5, 1, 3, 20, gen)
    a = cl.metrics.few_shot_accuracy(x, ep, distance="cosine")
    b = cl.metrics.few_shot_accuracy(scaled, ep, distance="cosine")
    torch.testing.assert_close(a, b)


def test_separated_classes_are_always_right():
    labels = pool([5] * 4)
    x = torch.nn.functional.one_hot(labels - 10, 4).double() * 10 + 0.01 * torch.randn(20, 4)
    ep = cl.data.few_shot_episodes(labels, 4, 2, 3, 10, torch.Generator().manual_seed(0))
    assert bool((cl.metrics.few_shot_accuracy(x, ep) == 1.0).all())


L = pool([5, 5, 5])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cl.data.few_shot_episodes(L, 4, 1, 1, 5), "n_way = 4 needs 4 classes"),
        (lambda: cl.data.few_shot_episodes(L, 3, 3, 3, 5), "3 such classes|0 such classes"),
        (lambda: cl.data.few_shot_episodes(L, 1, 1, 1, 5), "n_way must be >= 2"),
        (lambda: cl.data.few_shot_episodes(L, 2, 0, 1, 5), "k_shot must be a positive integer"),
        (lambda: cl.data.few_shot_episodes(L, 2, 1, 0, 5), "n_query must be a positive integer"),
        (lambda: cl.data.few_shot_episodes(L, 2, 1, 1, 0), "num_episodes must be a positive"),
        (lambda: cl.data.few_shot_episodes(L.float(), 2, 1, 1, 5), "labels must hold integer"),
        (lambda: cl.data.few_shot_episodes(L, 2, 1, 1, 5, generator=1), "generator must be"),
        (lambda: cl.metrics.few_shot_accuracy(torch.randn(15, 2), "x"), "episodes must be"),
        (
            lambda: cl.metrics.few_shot_accuracy(
                torch.randn(10, 2), cl.data.few_shot_episodes(L, 2, 1, 1, 5)
            ),
            "indices outside",
        ),
        (
            lambda: cl.metrics.few_shot_accuracy(
                torch.randn(15, 2), cl.data.few_shot_episodes(L, 2, 1, 1, 5), method="knn"
            ),
            "method must be one of",
        ),
        (
            lambda: cl.metrics.few_shot_accuracy(
                torch.randn(15, 2), (torch.zeros(2, 2, 1).long(), torch.zeros(2, 3, 1).long())
            ),
            "must share",
        ),
    ],
)
def test_bad_input_names_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()

"""Tests for cl_lessons.data: toy sets, splits, pairs/triplets, P×K batches, augmentations,
TransformedDigits, SyntheticFaces and the offline errors of the optional real loaders."""

from __future__ import annotations

import sys
import types
import urllib.error

import numpy as np
import pytest
import torch

from cl_lessons import data

TOY = [data.make_blobs, data.make_moons, data.make_rings, data.make_spirals]


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --------------------------------------------------------------------------- toy sets


@pytest.mark.parametrize("make", TOY)
@pytest.mark.parametrize("n", [7, 300])
def test_toy_shapes_balance_and_determinism(make, n):
    X, y = make(n=n, seed=3)
    assert X.shape == (n, 2) and X.dtype == torch.float32
    assert y.shape == (n,) and y.dtype == torch.int64
    counts = torch.bincount(y)
    assert counts.max() - counts.min() <= 1  # classes as balanced as possible
    X2, y2 = make(n=n, seed=3)
    torch.testing.assert_close(X, X2, rtol=0, atol=0)
    assert torch.equal(y, y2)
    X3, _ = make(n=n, seed=4)
    assert not torch.equal(X, X3)


def test_toy_geometry():
    X, y = data.make_rings(n=600, num_classes=3, noise=0.0, seed=0)
    torch.testing.assert_close(X.norm(dim=1), (y + 1).float())
    X, y = data.make_blobs(n=900, num_classes=3, spread=0.1, seed=0)
    centres = torch.stack([X[y == c].mean(0) for c in range(3)])
    torch.testing.assert_close(centres.norm(dim=1), torch.full((3,), 2.0), atol=0.05, rtol=0)
    X, y = data.make_moons(n=200, noise=0.0, seed=0)
    torch.testing.assert_close(X[y == 0].norm(dim=1), torch.ones(100))  # upper moon: unit circle
    X, _ = data.make_spirals(n=300, noise=0.0, seed=0)
    assert float(X.norm(dim=1).max()) <= 1.0 + 1e-6


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: data.make_blobs(n=2, num_classes=3), "n must be >= 3"),
        (lambda: data.make_blobs(num_classes=1), "num_classes"),
        (lambda: data.make_blobs(spread=-1.0), "spread"),
        (lambda: data.make_moons(noise=float("nan")), "noise"),
        (lambda: data.make_spirals(seed=-1), "seed"),
        (lambda: data.make_rings(n=2.5), "n must be an integer"),
    ],
)
def test_toy_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------- digits and splits


@pytest.fixture(scope="module")
def digits():
    return data.load_digits()


def test_load_digits(digits):
    X, y = digits
    assert X.shape == (1797, 64) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert float(X.min()) == 0.0 and float(X.max()) == 1.0
    assert torch.equal(torch.unique(y), torch.arange(10))
    Xi, _ = data.load_digits(as_images=True)
    assert Xi.shape == (1797, 1, 8, 8)
    torch.testing.assert_close(Xi.reshape(1797, 64), X)


def test_split_by_class_is_disjoint(digits):
    X, y = digits
    Xs, ys, Xu, yu = data.split_by_class(X, y, held_out=[7, 8, 9])
    assert set(ys.tolist()) == set(range(7)) and set(yu.tolist()) == {7, 8, 9}
    assert len(ys) + len(yu) == len(y) and len(Xs) == len(ys) and len(Xu) == len(yu)
    torch.testing.assert_close(Xu, X[y >= 7])
    _, ys1, _, yu1 = data.split_by_class(X, y, held_out=3)  # a single class id works too
    assert set(yu1.tolist()) == {3} and 3 not in ys1.tolist()


@pytest.mark.parametrize(
    "held_out, match",
    [([3, 42], r"\[42\] are not in y"), ([], "at least one"), (list(range(10)), "every class")],
)
def test_split_by_class_bad_input(digits, held_out, match):
    X, y = digits
    with pytest.raises(ValueError, match=match):
        data.split_by_class(X, y, held_out)


def test_stratified_split(digits):
    X, y = digits
    idx = torch.arange(len(y))
    itr, ytr, ite, yte = data.stratified_split(idx, y, test_fraction=0.25, seed=0)
    assert len(set(itr.tolist()) & set(ite.tolist())) == 0
    assert len(itr) + len(ite) == len(y)
    assert torch.equal(y[itr], ytr) and torch.equal(y[ite], yte)
    for c in range(10):
        n_c = int((y == c).sum())
        assert int((yte == c).sum()) == round(0.25 * n_c)
    again = data.stratified_split(idx, y, test_fraction=0.25, seed=0)
    assert torch.equal(again[2], ite)
    assert not torch.equal(data.stratified_split(idx, y, 0.25, seed=1)[2], ite)
    with pytest.raises(ValueError, match="test_fraction"):
        data.stratified_split(X, y, test_fraction=1.0)
    with pytest.raises(ValueError, match="same length"):
        data.stratified_split(X[:5], y)


# --------------------------------------------------------------------------- pairs and triplets


@pytest.mark.parametrize("num_pairs", [1, 7, 100, 1001])
@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.5, 1.0])
def test_make_pairs_exact_positive_fraction(num_pairs, fraction):
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4])  # classes 2 and 4 are singletons
    i, j, y = data.make_pairs(labels, num_pairs, fraction, generator=gen(0))
    assert i.shape == j.shape == y.shape == (num_pairs,)
    assert i.dtype == j.dtype == y.dtype == torch.int64
    assert int(y.sum()) == round(num_pairs * fraction)
    pos = y == 1
    assert bool((labels[i[pos]] == labels[j[pos]]).all()) and bool((i[pos] != j[pos]).all())
    assert bool((labels[i[~pos]] != labels[j[~pos]]).all())
    assert not bool(torch.isin(i[pos], torch.tensor([5, 10])).any())  # singletons have no partner


def test_make_pairs_covers_all_partners_and_is_reproducible():
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    i, j, _ = data.make_pairs(labels, 2000, 1.0, generator=gen(1))
    seen = set(zip(i.tolist(), j.tolist(), strict=True))
    expected = {(a, b) for a in range(6) for b in range(6) if a != b and labels[a] == labels[b]}
    assert seen == expected  # every ordered positive pair is reachable, none else
    again = data.make_pairs(labels, 2000, 1.0, generator=gen(1))
    assert torch.equal(i, again[0]) and torch.equal(j, again[1])
    other = data.make_pairs(labels, 2000, 1.0, generator=gen(2))
    assert not torch.equal(i, other[0])


def test_make_pairs_errors():
    with pytest.raises(ValueError, match="single sample"):
        data.make_pairs(torch.arange(5), 10, 0.5)
    _, _, y = data.make_pairs(torch.arange(5), 10, 0.0, generator=gen(0))  # negatives only: fine
    assert int(y.sum()) == 0
    with pytest.raises(ValueError, match="only one class"):
        data.make_pairs(torch.zeros(5, dtype=torch.long), 10, 0.5)
    with pytest.raises(ValueError, match="positive_fraction"):
        data.make_pairs(torch.tensor([0, 0, 1, 1]), 10, 1.5)
    with pytest.raises(ValueError, match="num_pairs"):
        data.make_pairs(torch.tensor([0, 0, 1, 1]), 0)
    with pytest.raises(ValueError, match="labels must hold integer"):
        data.make_pairs(torch.tensor([0.0, 1.0]), 4)
    with pytest.raises(ValueError, match="labels must be 1-D"):
        data.make_pairs(torch.zeros(2, 2, dtype=torch.long), 4)
    with pytest.raises(ValueError, match="generator"):
        data.make_pairs(torch.tensor([0, 0, 1, 1]), 4, generator=0)


def test_make_triplets():
    labels = torch.tensor([5, 5, 7, 7, 7, 9])
    a, p, n = data.make_triplets(labels, 500, generator=gen(0))
    assert a.shape == p.shape == n.shape == (500,) and a.dtype == torch.int64
    assert bool((a != p).all()) and bool((labels[a] == labels[p]).all())
    assert bool((labels[a] != labels[n]).all())
    assert 5 not in a.tolist()  # the lone sample of class 9 is never an anchor
    assert set(n.tolist()) == set(range(6))  # every sample serves as a negative somewhere
    with pytest.raises(ValueError, match="two classes"):
        data.make_triplets(torch.zeros(4, dtype=torch.long), 3)
    with pytest.raises(ValueError, match="single sample"):
        data.make_triplets(torch.arange(4), 3)


# --------------------------------------------------------------------------- P×K sampler


@pytest.mark.parametrize("p, k", [(2, 1), (4, 3), (10, 5)])
def test_pk_sampler_batches_are_true_pxk(p, k):
    labels = torch.arange(10).repeat_interleave(torch.tensor([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]))
    sampler = data.PKSampler(labels, p=p, k=k, generator=0)
    assert len(sampler) == len(labels) // (p * k)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    for b in batches:
        assert b.dtype == torch.int64 and b.shape == (p * k,)
        classes, counts = torch.unique(labels[b], return_counts=True)
        assert len(classes) == p and bool((counts == k).all())
        blocks = labels[b].reshape(p, k)  # class by class
        assert bool((blocks == blocks[:, :1]).all())
        for blk in b.reshape(p, k):
            if int((labels == labels[blk[0]]).sum()) >= k:
                assert len(set(blk.tolist())) == k  # without replacement when possible


def test_pk_sampler_small_class_with_replacement_and_balance():
    labels = torch.tensor([0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3])  # class 0 has one sample
    sampler = data.PKSampler(labels, p=2, k=4, num_batches=6, generator=0)
    counts = torch.zeros(4, dtype=torch.long)
    for b in sampler:
        for blk in b.reshape(2, 4):
            counts[labels[blk[0]]] += 1
            if labels[blk[0]] == 0:
                assert blk.tolist() == [0, 0, 0, 0]
    assert counts.tolist() == [3, 3, 3, 3]  # classes cycled: each used equally often


def test_pk_sampler_reproducible_and_fresh_each_epoch():
    labels = torch.arange(20).repeat_interleave(5)
    s1 = data.PKSampler(labels, p=4, k=2, generator=7)
    s2 = data.PKSampler(labels, p=4, k=2, generator=7)
    e1a, e1b = torch.stack(list(s1)), torch.stack(list(s1))
    e2a, e2b = torch.stack(list(s2)), torch.stack(list(s2))
    assert torch.equal(e1a, e2a) and torch.equal(e1b, e2b)
    assert not torch.equal(e1a, e1b)
    s3 = data.PKSampler(labels, p=4, k=2, generator=torch.Generator().manual_seed(7))
    assert torch.equal(torch.stack(list(s3)), e1a)  # an int seed and a seeded generator agree


def test_pk_sampler_works_with_dataloader():
    labels = torch.arange(6).repeat_interleave(4)
    ds = torch.utils.data.TensorDataset(torch.arange(24).float(), labels)
    loader = torch.utils.data.DataLoader(
        ds, batch_sampler=data.PKSampler(labels, 3, 2, generator=0)
    )
    x, y = next(iter(loader))
    assert x.shape == (6,) and len(torch.unique(y)) == 3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(p=5, k=2), "p must be <= the number of classes"),
        (dict(p=1, k=2), "p must be >= 2"),
        (dict(p=2, k=0), "k must be >= 1"),
        (dict(p=2, k=2, num_batches=0), "num_batches"),
        (dict(p=2, k=2, generator="seed"), "generator"),
    ],
)
def test_pk_sampler_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.PKSampler(torch.tensor([0, 0, 1, 1, 2, 3]), **kwargs)


# --------------------------------------------------------------------------- augmentations

AUGS = [
    lambda x, g: data.random_affine(x, 0.1, 15.0, (0.9, 1.1), generator=g),
    lambda x, g: data.random_intensity(x, 0.2, 0.2, generator=g),
    lambda x, g: data.add_noise(x, 0.05, generator=g),
    lambda x, g: data.random_erasing(x, 1.0, (0.05, 0.2), generator=g),
    lambda x, g: data.augment(x, 1.0, generator=g),
]


@pytest.fixture(scope="module")
def images():
    X, _ = data.load_digits(as_images=True)
    return X[:64]


@pytest.mark.parametrize("aug", AUGS)
def test_augmentation_reproducible_shape_range(aug, images):
    out = aug(images, gen(0))
    assert out.shape == images.shape and out.dtype == images.dtype
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert torch.equal(out, aug(images, gen(0)))  # same seed, same output
    assert not torch.equal(out, aug(images, gen(1)))  # other seed, other output
    assert not torch.equal(out, images)
    # vectorised with one draw per image: copies of one image get different transforms
    same = torch.full((8, 1, 32, 32), 0.5)
    res = aug(same, gen(0))
    assert len({tuple(r.flatten().tolist()) for r in res}) == 8


def test_affine_identity_and_bounded_shift(images):
    ident = data.random_affine(images, 0.0, 0.0, (1.0, 1.0), generator=gen(0))
    torch.testing.assert_close(ident, images, atol=1e-5, rtol=0)
    big = torch.nn.functional.interpolate(images, size=32, mode="bilinear")  # room to move
    shifted = data.random_affine(big, 0.1, 0.0, (1.0, 1.0), generator=gen(0), padding_mode="border")
    grid = torch.arange(32.0)

    def centre(x):  # (N, 2) centre of mass in pixels
        m = x[:, 0]
        return (
            torch.stack([(m.sum(1) * grid).sum(1), (m.sum(2) * grid).sum(1)], 1)
            / m.sum((1, 2))[:, None]
        )

    move = centre(shifted) - centre(big)
    assert float(move.abs().max()) <= 0.1 * 32 + 0.6  # at most 10 % of the side (+ rim effects)
    assert float(move.abs().max()) >= 1.5  # and it really moves


def test_erasing_area_and_probability():
    ones = torch.ones(400, 1, 20, 20)
    out = data.random_erasing(ones, p=1.0, area_range=(0.1, 0.2), value=0.0, generator=gen(0))
    erased = (out == 0).float().mean((1, 2, 3))  # share of each image erased
    assert float(erased.min()) > 0.0 and float(erased.max()) <= 0.2 + 0.06
    assert 0.08 < float(erased.mean()) < 0.2  # central rectangles are whole, border ones clipped
    half = data.random_erasing(ones, p=0.5, generator=gen(0))
    share = float(((half == 0).flatten(1).any(1)).float().mean())
    assert 0.4 < share < 0.6
    assert torch.equal(data.random_erasing(ones, p=0.0, generator=gen(0)), ones)


def test_noise_and_intensity_statistics():
    grey = torch.full((256, 1, 16, 16), 0.5)
    noisy = data.add_noise(grey, std=0.05, generator=gen(0))
    assert abs(float((noisy - grey).std()) - 0.05) < 0.002
    bright = data.random_intensity(grey, brightness=0.2, contrast=0.0, generator=gen(0))
    shift = bright.mean((1, 2, 3)) - 0.5  # constant images: only the brightness acts
    assert float(shift.abs().max()) <= 0.2 + 1e-6 and float(shift.std()) > 0.05


def test_augment_strength_zero_and_two_views(images):
    torch.testing.assert_close(data.augment(images, 0.0, generator=gen(0)), images)
    v1, v2 = data.two_views(images, generator=gen(0))
    assert v1.shape == v2.shape == images.shape
    assert not torch.equal(v1, v2)
    w1, w2 = data.two_views(images, generator=gen(0))
    assert torch.equal(v1, w1) and torch.equal(v2, w2)
    weak = (data.augment(images, 0.3, generator=gen(0)) - images).abs().mean()
    strong = (data.augment(images, 1.5, generator=gen(0)) - images).abs().mean()
    assert float(weak) < float(strong)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda x: data.augment(x[0]), "4-D"),
        (lambda x: data.augment(x.long()), "floating-point"),
        (lambda x: data.augment(x, strength=-1), "strength"),
        (lambda x: data.augment(x, strength=3), "strength"),
        (lambda x: data.random_affine(x, scale_range=(1.2, 0.8)), "scale_range"),
        (lambda x: data.random_affine(x, max_shift=-0.1), "max_shift"),
        (lambda x: data.random_erasing(x, p=2.0), "p must be in"),
        (lambda x: data.random_intensity(x, contrast=1.0), "contrast"),
        (lambda x: data.add_noise(x, std=-0.1), "std"),
        (lambda x: data.add_noise(x, generator=3), "generator"),
    ],
)
def test_augmentation_bad_input(images, call, match):
    with pytest.raises(ValueError, match=match):
        call(images)


# --------------------------------------------------------------------------- TransformedDigits


def _knn1_accuracy(X, y):
    Xtr, ytr, Xte, yte = data.stratified_split(X.flatten(1), y, 0.25, seed=0)
    nearest = torch.cdist(Xte, Xtr).argmin(1)
    return float((ytr[nearest] == yte).float().mean())


def test_transformed_digits(digits):
    td = data.TransformedDigits(size=16, seed=0)
    assert td.images.shape == (1797, 1, 16, 16) and td.images.dtype == torch.float32
    assert float(td.images.min()) >= 0 and float(td.images.max()) <= 1
    assert torch.equal(td.labels, digits[1]) and len(td) == 1797
    img, lab = td[3]
    assert img.shape == (1, 16, 16) and int(lab) == int(digits[1][3])
    assert torch.equal(td.images, data.TransformedDigits(size=16, seed=0).images)
    # the nuisance makes raw pixels clearly worse than on the plain digits
    plain, transformed = _knn1_accuracy(*digits), _knn1_accuracy(td.images, td.labels)
    assert plain > 0.95 and transformed < 0.8
    v1, v2 = td.views(torch.arange(10), generator=gen(0))
    assert v1.shape == (10, 1, 16, 16) and not torch.equal(v1, v2)
    with pytest.raises(ValueError, match="size"):
        data.TransformedDigits(size=4)


# --------------------------------------------------------------------------- SyntheticFaces


@pytest.fixture(scope="module")
def faces():
    return data.SyntheticFaces(num_identities=500, images_per_identity=4, size=32, seed=0)


def test_synthetic_faces_shapes_and_determinism(faces):
    P = len(data.FACE_PARAM_NAMES)
    assert faces.images.shape == (2000, 1, 32, 32) and faces.images.dtype == torch.float32
    assert faces.labels.shape == (2000,) and faces.labels.dtype == torch.int64
    assert faces.params.shape == (500, P)
    assert len(torch.unique(faces.labels)) >= 500
    assert float(faces.images.min()) >= 0 and float(faces.images.max()) <= 1
    assert float(faces.params.min()) >= 0 and float(faces.params.max()) <= 1
    assert torch.equal(faces.labels[:8], torch.arange(2).repeat_interleave(4))
    small = data.SyntheticFaces(num_identities=20, images_per_identity=3, size=24, seed=5)
    again = data.SyntheticFaces(num_identities=20, images_per_identity=3, size=24, seed=5)
    assert torch.equal(small.images, again.images) and torch.equal(small.params, again.params)
    other = data.SyntheticFaces(num_identities=20, images_per_identity=3, size=24, seed=6)
    assert not torch.equal(small.images, other.images)
    assert len(small) == 60 and small[4][0].shape == (1, 24, 24) and int(small[4][1]) == 1


def test_synthetic_faces_identity_vs_nuisance():
    still = data.SyntheticFaces(
        num_identities=6, images_per_identity=4, size=32, seed=1, nuisance=0
    )
    views = still.images.reshape(6, 4, -1)
    torch.testing.assert_close(views, views[:, :1].expand(-1, 4, -1))  # no nuisance: one image
    faces = views[:, 0]
    assert float(torch.cdist(faces, faces).add(torch.eye(6) * 99).min()) > 0.5  # identities differ
    moving = data.SyntheticFaces(num_identities=6, images_per_identity=4, size=32, seed=1)
    torch.testing.assert_close(moving.params, still.params)
    per_view = moving.images.reshape(6, 4, -1)
    assert float((per_view - per_view[:, :1]).abs().amax(-1)[:, 1:].min()) > 0.1  # views differ


def test_split_identities_disjoint(faces):
    train, test = faces.split_identities(300)
    ytr, yte = faces.labels[train], faces.labels[test]
    assert set(ytr.tolist()).isdisjoint(yte.tolist())
    assert len(torch.unique(ytr)) == 300 and len(torch.unique(yte)) == 200
    assert torch.equal(torch.sort(torch.cat([train, test])).values, torch.arange(2000))
    for bad in (0, 500):
        with pytest.raises(ValueError, match="num_train"):
            faces.split_identities(bad)


def test_render_faces_and_views(faces):
    imgs = faces.render_identity(3, num_views=5, generator=gen(0))
    assert imgs.shape == (5, 1, 32, 32)
    assert torch.equal(imgs, faces.render_identity(3, num_views=5, generator=gen(0)))
    canon = data.render_faces(faces.params[:4], size=32, nuisance=0.0)
    torch.testing.assert_close(canon, data.render_faces(faces.params[:4], 32, 0.0, gen(9)))
    v1, v2 = faces.views(faces.images[:8], generator=gen(0))
    assert v1.shape == (8, 1, 32, 32) and not torch.equal(v1, v2)
    with pytest.raises(ValueError, match="params must be a tensor of shape"):
        data.render_faces(torch.rand(3, 2))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        data.render_faces(torch.full((2, len(data.FACE_PARAM_NAMES)), 2.0))
    with pytest.raises(ValueError, match="identity must be <"):
        faces.render_identity(500)
    with pytest.raises(ValueError, match="num_identities"):
        data.SyntheticFaces(num_identities=1)
    with pytest.raises(ValueError, match="nuisance"):
        data.SyntheticFaces(num_identities=4, nuisance=-1)


# --------------------------------------------------------------------------- real loaders, offline


def test_load_mnist_without_torchvision(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # makes `import torchvision` fail
    with pytest.raises(ImportError, match=r"pip install torchvision.*TransformedDigits"):
        data.load_mnist()


@pytest.mark.parametrize("fashion, name", [(False, "MNIST"), (True, "FashionMNIST")])
def test_load_mnist_offline_and_success(monkeypatch, tmp_path, fashion, name):
    calls = {}

    def offline(root, train, download):
        calls.update(root=root, train=train, download=download)
        raise RuntimeError("Dataset not found. You can use download=True to download it")

    fake = types.ModuleType("torchvision")
    fake.datasets = types.SimpleNamespace(**{name: offline})
    monkeypatch.setitem(sys.modules, "torchvision", fake)
    with pytest.raises(
        RuntimeError, match=rf"{name} could not be loaded.*download=True.*TransformedDigits"
    ):
        data.load_mnist(root=str(tmp_path), fashion=fashion)
    assert calls == {"root": str(tmp_path), "train": True, "download": False}

    def urlerror(root, train, download):
        raise urllib.error.URLError("no network")

    fake.datasets = types.SimpleNamespace(**{name: urlerror})
    with pytest.raises(RuntimeError, match="TransformedDigits"):
        data.load_mnist(root=str(tmp_path), fashion=fashion, download=True)

    def present(root, train, download):
        return types.SimpleNamespace(
            data=torch.full((3, 28, 28), 255, dtype=torch.uint8), targets=torch.tensor([1, 2, 3])
        )

    fake.datasets = types.SimpleNamespace(**{name: present})
    X, y = data.load_mnist(fashion=fashion)
    assert X.shape == (3, 1, 28, 28) and float(X.max()) == 1.0 and y.dtype == torch.int64


def test_olivetti_offline_and_success(monkeypatch):
    import sklearn.datasets

    seen = {}

    def offline(**kwargs):
        seen.update(kwargs)
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(sklearn.datasets, "fetch_olivetti_faces", offline)
    with pytest.raises(RuntimeError, match=r"Olivetti faces could not be loaded.*SyntheticFaces"):
        data.load_olivetti_faces()
    assert seen["download_if_missing"] is False  # never downloads unless asked

    def cached(**kwargs):
        return types.SimpleNamespace(
            images=np.full((4, 64, 64), 0.5, dtype=np.float32), target=np.array([0, 0, 1, 1])
        )

    monkeypatch.setattr(sklearn.datasets, "fetch_olivetti_faces", cached)
    X, y = data.load_olivetti_faces()
    assert X.shape == (4, 1, 64, 64) and y.tolist() == [0, 0, 1, 1]


def test_lfw_pairs_offline_and_success(monkeypatch):
    import sklearn.datasets

    def http_error(**kwargs):
        assert kwargs["download_if_missing"] is True
        raise urllib.error.HTTPError("https://example.invalid", 503, "down", None, None)

    monkeypatch.setattr(sklearn.datasets, "fetch_lfw_pairs", http_error)
    with pytest.raises(RuntimeError, match=r"LFW pairs could not be loaded.*SyntheticFaces"):
        data.load_lfw_pairs(download=True)

    def missing(**kwargs):
        raise OSError("Data not found and `download_if_missing` is False")

    monkeypatch.setattr(sklearn.datasets, "fetch_lfw_pairs", missing)
    with pytest.raises(RuntimeError, match="Pass download=True"):
        data.load_lfw_pairs()

    def cached(**kwargs):
        pairs = np.zeros((3, 2, 62, 47), dtype=np.float32)
        pairs[:, 1] = 1.0
        return types.SimpleNamespace(pairs=pairs, target=np.array([1, 0, 1]))

    monkeypatch.setattr(sklearn.datasets, "fetch_lfw_pairs", cached)
    X1, X2, y = data.load_lfw_pairs()
    assert X1.shape == X2.shape == (3, 1, 62, 47) and y.tolist() == [1, 0, 1]
    assert float(X1.max()) == 0.0 and float(X2.min()) == 1.0
    with pytest.raises(ValueError, match="subset"):
        data.load_lfw_pairs(subset="val")

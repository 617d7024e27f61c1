"""What a careless learner passes, every public module answers with a ValueError or TypeError
that names the argument: never a NaN, a silent truncation, or an error from deep inside torch,
NumPy or matplotlib.

One parametrised table per module. Each row is ``(call, argument name)``; the test asserts the
exception type and that the message starts with, or contains, the argument's name.
"""

from __future__ import annotations

import matplotlib
import pytest
import torch

import cl_lessons as cl

matplotlib.use("Agg")

D, L, Mi, Me = cl.distances, cl.losses, cl.miners, cl.metrics
V, W, T, Da, Mo = cl.viz, cl.widgets, cl.training, cl.data, cl.models

X = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
Y = torch.tensor([0, 0, 1, 1, 2, 2])


def _with(index, value):
    bad = X.clone()
    bad[index] = value
    return bad


# the classes of bad tensors of the issue: wrong rank, empty, NaN/Inf, wrong dtype, None/str, meta
BAD_TENSORS = {
    "rank1": torch.randn(6),
    "rank3": torch.randn(6, 3, 2),
    "empty": torch.empty(0, 3),
    "no features": torch.empty(6, 0),
    "nan": _with((0, 0), float("nan")),
    "inf": _with((1, 1), float("inf")),
    "integer": torch.ones(6, 3, dtype=torch.long),
    "none": None,
    "str": "abc",
    "meta": torch.empty(6, 3, device="meta"),
}

# function of one embeddings-like argument -> (call, argument name); "rank1"/"rank3" are valid
# for the row-wise distances (features last), so those skip them explicitly below
EMBEDDING_FUNCTIONS = {
    "distances.pairwise_euclidean": (lambda b: D.pairwise_euclidean(b), "x"),
    "distances.pairwise_cosine_similarity": (lambda b: D.pairwise_cosine_similarity(X, b), "y"),
    "losses.contrastive_loss": (lambda b: L.contrastive_loss(b, X, torch.ones(6)), "z1"),
    "losses.triplet_loss": (lambda b: L.triplet_loss(X, X, b), "negative"),
    "losses.batch_triplet_loss": (lambda b: L.batch_triplet_loss(b, Y), "embeddings"),
    "losses.info_nce": (lambda b: L.info_nce(X, b), "z2"),
    "losses.supcon_loss": (lambda b: L.supcon_loss(b, Y), "embeddings"),
    "losses.negative_cosine": (lambda b: L.negative_cosine(b, X), "p"),
    "miners.mine_triplets": (lambda b: Mi.mine_triplets(b, Y), "embeddings"),
    "miners.triplet_categories": (lambda b: Mi.triplet_categories(b, Y, 0.5), "dist"),
    "metrics.recall_at_k": (lambda b: Me.recall_at_k(b, Y, 1), "embeddings"),
    "metrics.knn_accuracy": (lambda b: Me.knn_accuracy(X, Y, b, Y, 1), "test_emb"),
    "metrics.alignment": (lambda b: Me.alignment(b, X), "z1"),
    "metrics.uniformity": (lambda b: Me.uniformity(b), "z"),
    "training.pair_scores": (lambda b: T.pair_scores(b, [0], [1]), "embeddings"),
    "viz.plot_embedding_2d": (lambda b: V.plot_embedding_2d(b, Y), "points"),
    "widgets.embedding_explorer": (lambda b: W.embedding_explorer(b, Y), "embeddings"),
}
VALID = {  # (function, bad tensor kind) pairs that are legitimately accepted
    ("widgets.embedding_explorer", "integer"),  # integer coordinates are plotted as floats
    ("viz.plot_embedding_2d", "integer"),
    ("distances.pairwise_cosine_similarity", "none"),  # y=None compares x with itself
    ("distances.pairwise_euclidean", "meta"),  # shape-only: distances run on the meta device
}
ROWWISE = {
    "distances.euclidean": (lambda b: D.euclidean(b, b), "a"),
    "distances.cosine_similarity": (lambda b: D.cosine_similarity(X[0], b), "b"),
    "distances.manhattan": (lambda b: D.manhattan(b, b), "a"),
}


@pytest.mark.parametrize(
    ("fn", "kind"),
    [
        (f, k)
        for f in sorted(EMBEDDING_FUNCTIONS)
        for k in sorted(BAD_TENSORS)
        if (f, k) not in VALID
    ],
)
def test_bad_embeddings_are_refused_by_name(fn, kind):
    call, name = EMBEDDING_FUNCTIONS[fn]
    bad = BAD_TENSORS[kind]
    with pytest.raises((ValueError, TypeError)) as err:
        call(bad)
    assert name in str(err.value), f"{fn}[{kind}]: {err.value}"


def test_the_pairs_left_out_above_are_valid_inputs():
    # every (function, kind) pair in VALID works, so leaving it out of the table hides nothing
    W.embedding_explorer(torch.ones(6, 3, dtype=torch.long).cumsum(0), Y).close()
    V.plot_embedding_2d(torch.ones(6, 2, dtype=torch.long).cumsum(0), Y)
    assert D.pairwise_cosine_similarity(X, None).shape == (6, 6)  # y=None: x with itself
    assert D.pairwise_euclidean(BAD_TENSORS["meta"]).is_meta
    assert len(VALID) == 4


@pytest.mark.parametrize("kind", ["empty", "nan", "inf", "integer", "none", "str"])
@pytest.mark.parametrize("fn", sorted(ROWWISE))
def test_rowwise_distances_refuse_bad_rows(fn, kind):
    call, name = ROWWISE[fn]
    bad = BAD_TENSORS[kind]
    if fn == "distances.cosine_similarity" and kind in ("empty",):
        bad = torch.empty(0)
    with pytest.raises((ValueError, TypeError)) as err:
        call(bad)
    assert name in str(err.value)


NUMBERS = [None, "1", float("nan"), float("inf"), True]
NUMBER_ARGUMENTS = {
    "losses.contrastive_loss(margin)": lambda v: L.contrastive_loss(X, X, torch.ones(6), margin=v),
    "losses.info_nce(temperature)": lambda v: L.info_nce(X, X, temperature=v),
    "distances.cosine_similarity(eps)": lambda v: D.cosine_similarity(X, X, eps=v),
    "metrics.recall_at_k(k)": lambda v: Me.recall_at_k(X, Y, v),
    "data.make_blobs(n)": lambda v: Da.make_blobs(n=v),
    "data.make_blobs(seed)": lambda v: Da.make_blobs(seed=v),
    "data.make_pairs(num_pairs)": lambda v: Da.make_pairs(Y, v),
    "data.PKSampler(p)": lambda v: Da.PKSampler(Y, v, 2),
    "models.MLPEncoder(out_dim)": lambda v: Mo.MLPEncoder(3, 4, out_dim=v),
    "models.MLPEncoder(hidden)": lambda v: Mo.MLPEncoder(3, hidden=v),
    "models.ConvEncoder(dropout)": lambda v: Mo.ConvEncoder(1, 8, dropout=v),
    "training.TensorBatches(batch_size)": lambda v: T.TensorBatches(X, batch_size=v),
    "training.fit(lr)": lambda v: T.fit(Mo.MLPEncoder(3), _loss, [(X,)], lr=v, progress=False),
    "training.fit(epochs)": lambda v: T.fit(Mo.MLPEncoder(3), _loss, [(X,)], epochs=v),
    "training.fit(grad_clip)": lambda v: T.fit(Mo.MLPEncoder(3), _loss, [(X,)], grad_clip=v),
    "widgets.margin_explorer(margin)": lambda v: W.margin_explorer(margin=v),
    "widgets.temperature_explorer(temperature)": lambda v: W.temperature_explorer(temperature=v),
    "widgets.decision_regions(k)": lambda v: W.decision_regions(k=v),
    "widgets.hypersphere_view(elev)": lambda v: W.hypersphere_view(elev=v),
    "widgets.distance_explorer(angle_a)": lambda v: W.distance_explorer(angle_a=v),
    "widgets.triplet_zones(margin)": lambda v: W.triplet_zones(margin=v),
    "widgets.train_2d_explorer(margin)": lambda v: W.train_2d_explorer(margin=v),
    "widgets.threshold_explorer(threshold)": lambda v: W.threshold_explorer(
        [0.1, 0.9, 0.2, 0.8], [0, 1, 0, 1], threshold=v
    ),
    "widgets.App.update(margin)": lambda v: W.margin_explorer().update(margin=v),
    "runtime.seed_everything(seed)": lambda v: cl.seed_everything(v),
    "viz.plot_distance_histograms(bins)": lambda v: V.plot_distance_histograms(S, S, bins=v),
    "viz.plot_distance_histograms(threshold)": lambda v: V.plot_distance_histograms(
        S, S, threshold=v if v is not None else "x"
    ),
    "viz.plot_roc(threshold)": lambda v: V.plot_roc(S, SAME, threshold=v if v is not None else "x"),
    "viz.plot_decision_regions(k)": lambda v: V.plot_decision_regions(X[:, :2], Y, k=v),
    "viz.plot_decision_regions(resolution)": lambda v: V.plot_decision_regions(
        X[:, :2], Y, resolution=v
    ),
    "viz.image_grid(ncols)": lambda v: V.image_grid(torch.rand(3, 1, 4, 4), ncols=v),
}
S, SAME = [0.1, 0.9, 0.2, 0.8], [0, 1, 0, 1]


def _loss(model, batch):
    return model(batch[0]).pow(2).mean()


NONE_ALLOWED = {"training.fit(grad_clip)", "widgets.threshold_explorer(threshold)"}


@pytest.mark.parametrize(
    ("target", "value"),
    [
        (t, v)
        for t in sorted(NUMBER_ARGUMENTS)
        for v in NUMBERS
        if not (v is None and t in NONE_ALLOWED)  # None means "no clipping" / "best threshold"
    ],
    ids=repr,
)
def test_none_strings_nan_inf_and_bools_for_numbers_are_refused_by_name(target, value):
    name = target[target.index("(") + 1 : -1]
    with pytest.raises((ValueError, TypeError)) as err:
        NUMBER_ARGUMENTS[target](value)
    assert name in str(err.value), f"{target}={value!r}: {err.value}"


INTEGERS = {  # non-integers used to be truncated silently
    "training.pair_scores(i)": lambda v: T.pair_scores(X, [v], [1]),
    "widgets.embedding_explorer(query)": lambda v: W.embedding_explorer(X, Y, query=v),
    "widgets.decision_regions(k)": lambda v: W.decision_regions(k=v),
    "widgets.decision_regions(point)": lambda v: W.decision_regions(point=v),
    "training.TensorBatches(seed)": lambda v: T.TensorBatches(X, seed=v),
    "data.SyntheticFaces(seed)": lambda v: Da.SyntheticFaces(4, 2, seed=v),
    "runtime.seed_everything(seed)": lambda v: cl.seed_everything(v),
}


@pytest.mark.parametrize("value", [1.5, 2.7, 2**64, -1], ids=repr)
@pytest.mark.parametrize("target", sorted(INTEGERS))
def test_non_integers_and_out_of_range_seeds_are_refused(target, value):
    name = target[target.index("(") + 1 : -1]
    if value == 2**64 and "seed" not in name:
        value = 0.5
    if value == -1 and target == "training.pair_scores(i)":
        value = 0.5  # a negative index is refused by its range check, tested elsewhere
    with pytest.raises((ValueError, TypeError)) as err:
        INTEGERS[target](value)
    assert name in str(err.value), f"{target}={value!r}: {err.value}"


FLAGS = {
    "distances.pairwise_euclidean(squared)": lambda v: D.pairwise_euclidean(X, squared=v),
    "training.TensorBatches(shuffle)": lambda v: T.TensorBatches(X, shuffle=v),
    "training.TensorBatches(drop_last)": lambda v: T.TensorBatches(X, drop_last=v),
    "models.MLPEncoder(normalize)": lambda v: Mo.MLPEncoder(3, normalize=v),
    "models.ProjectionHead(batch_norm)": lambda v: Mo.ProjectionHead(3, batch_norm=v),
    "widgets.distance_explorer(normalize)": lambda v: W.distance_explorer(normalize=v),
    "widgets.threshold_explorer(higher_is_same)": lambda v: W.threshold_explorer(
        [0.1, 0.9], [0, 1], higher_is_same=v
    ),
    "training.fit(progress)": lambda v: T.fit(Mo.MLPEncoder(3), _loss, [(X,)], progress=v),
    "metrics.alignment(normalize)": lambda v: Me.alignment(X, X, normalize=v),
    "metrics.uniformity(normalize)": lambda v: Me.uniformity(X, normalize=v),
    "viz.plot_singular_values(normalize)": lambda v: V.plot_singular_values(X, normalize=v),
    "viz.plot_embedding_2d(legend)": lambda v: V.plot_embedding_2d(X[:, :2], Y, legend=v),
}


@pytest.mark.parametrize("value", ["no", "False", 0, None], ids=repr)
@pytest.mark.parametrize("target", sorted(FLAGS))
def test_flags_must_be_bools(target, value):
    # squared="no" used to return squared distances: a non-empty string is truthy
    name = target[target.index("(") + 1 : -1]
    with pytest.raises(ValueError, match=name):
        FLAGS[target](value)


def test_nan_threshold_is_refused_not_reported_as_half_accuracy():
    with pytest.raises(ValueError, match="threshold"):
        T.verification_report([0.1, 0.9, 0.2, 0.8], [0, 1, 0, 1], threshold=float("nan"))


def test_safe_sqrt_of_a_list_names_its_argument():
    with pytest.raises(ValueError, match="sq"):
        D.safe_sqrt([1.0, 4.0])


def test_meta_tensors_get_the_device_error_not_a_finite_check_crash():
    meta = torch.empty(6, 3, device="meta")
    with pytest.raises(ValueError, match="meta"):
        L.contrastive_loss(X, meta, torch.ones(6))
    with pytest.raises(ValueError, match="meta"):
        Mo.MLPEncoder(3)(meta)
    # distances are shape-only and keep working on meta (tests/test_distances.py)
    assert D.pairwise_euclidean(meta).shape == (6, 6)


@pytest.mark.parametrize("ax", ["1", 0.5, [1], object()], ids=repr)
@pytest.mark.parametrize(
    "plot",
    [
        lambda ax: V.plot_embedding_2d(X[:, :2], Y, ax=ax),
        lambda ax: V.plot_distance_matrix(D.pairwise_euclidean(X), ax=ax),
        lambda ax: V.plot_distance_histograms(S, S, ax=ax),
        lambda ax: V.plot_roc(S, SAME, ax=ax),
        lambda ax: V.plot_decision_regions(X[:, :2], Y, ax=ax),
        lambda ax: V.plot_singular_values(X, ax=ax),
    ],
    ids=["embedding_2d", "distance_matrix", "histograms", "roc", "decision_regions", "spectrum"],
)
def test_plots_refuse_an_ax_that_is_not_an_axes(plot, ax):
    with pytest.raises(ValueError, match="ax must be a matplotlib Axes"):
        plot(ax)

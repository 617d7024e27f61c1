"""Exercise checks never crash on what a learner's function returns, and never blame the learner
for their own failure (issue 18.10).

Every ``check_*`` is fed functions that compute the right answer and then return it spoiled: as a
dict, a string, None, an integer / float64 / complex tensor, the wrong shape, NaN, a tensor on the
meta device, ... Each must come back as a plain hint: never "your code raised ..." (the learner's
function raised nothing), never a failure of the check's own code (``checker_error``).
"""

from __future__ import annotations

import math
import operator

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cl_lessons import exercises as ex
from cl_lessons.exercises import CheckResult, lesson00

# ------------------------------------------------------------------ right answers, in plain torch


def _pairwise(x, y):
    return (x[:, None, :] - y[None, :, :]).pow(2).sum(-1).sqrt()


def _nt_xent(z1, z2, tau):
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = (z @ z.T / tau).masked_fill(torch.eye(2 * n, dtype=torch.bool), -math.inf)
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(logits, partner)


def _batch_hard(z, labels, margin):
    d = _pairwise(z, z)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool)
    pos, neg = same & ~eye, ~same
    hp = torch.where(pos, d, torch.zeros_like(d)).amax(1)
    hn = torch.where(neg, d, torch.full_like(d, math.inf)).amin(1)
    valid = pos.any(1) & neg.any(1)
    return (hp - hn + margin).clamp_min(0)[valid].mean()


def _knn(x, k):
    d = _pairwise(x, x)
    d.fill_diagonal_(math.inf)
    return d.topk(k, dim=1, largest=False).indices


def _pca(x):
    xc = x - x.mean(0, keepdim=True)
    return xc @ torch.linalg.svd(xc, full_matrices=False)[2][:2].T


def _category(d_ap, d_an, m):
    return torch.where(d_an <= d_ap, 2, torch.where(d_an > d_ap + m, 0, 1))


def _fusion(za, zb, fusion):
    if fusion == "concat":
        return torch.cat([za, zb], dim=1)
    return za * zb if fusion == "product" else (za - zb).abs()


def _scores(u, it, normalize):
    if normalize:
        u, it = F.normalize(u, dim=1), F.normalize(it, dim=1)
    return u @ it.T


def _mask(labels):
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool)
    return (same & ~eye)[:, :, None] & ~same[:, None, :]


def _contrastive(z1, z2, y, margin):
    d = (z1 - z2).pow(2).sum(1).sqrt()
    return (y * d**2 + (1 - y) * (margin - d).clamp_min(0) ** 2).mean()


def _tar_at_far(scores, same, far):  # lesson 10
    neg = scores[same == 0].sort(descending=True).values
    k = math.floor(far * len(neg) + 1e-9)
    return (scores[same == 1] > neg[k]).float().mean()


def _cmc(d, probe_labels, gallery_labels, max_rank):  # lesson 10
    found = (gallery_labels[d.argsort(dim=1)] == probe_labels[:, None]).cummax(1).values
    return found[:, :max_rank].float().mean(0)


def _map_at_r(x, labels):  # lesson 11
    d = _pairwise(x, x).fill_diagonal_(math.inf)
    order = d.argsort(dim=1)[:, :-1]
    r = (labels[:, None] == labels[None, :]).sum(1) - 1
    ranks = torch.arange(1, order.shape[1] + 1)
    rel = (labels[order] == labels[:, None]) & (ranks <= r[:, None])
    ap = (rel.cumsum(1) / ranks * rel).sum(1) / r.clamp_min(1)
    return ap[r > 0].mean()


def _prototypes(support, labels, queries):  # lesson 11
    classes = labels.unique()
    protos = torch.stack([support[labels == c].mean(0) for c in classes])
    return classes[_pairwise(queries, protos).argmin(1)]


def _clip(img, txt, scale):  # lesson 14
    img, txt = F.normalize(img, dim=1), F.normalize(txt, dim=1)
    s = scale * img @ txt.T
    y = torch.arange(len(img))
    return (F.cross_entropy(s, y) + F.cross_entropy(s.T, y)) / 2


def _zero_shot(img, txt):  # lesson 14
    classes = F.normalize(F.normalize(txt, dim=-1).mean(1), dim=1)
    return (F.normalize(img, dim=1) @ classes.T).argmax(1)


def _chunked_nt_xent(z1, z2, tau, chunk):  # lesson 13
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n2 = len(z)
    partner = torch.arange(n2).roll(n2 // 2)
    losses = []
    for s in range(0, n2, chunk):
        logits = z[s : s + chunk] @ z.T / tau
        rows = torch.arange(len(logits))
        logits[rows, rows + s] = -math.inf
        losses.append(torch.logsumexp(logits, 1) - logits[rows, partner[s : s + chunk]])
    return torch.cat(losses).mean()


RIGHT = {
    "check_euclidean": lambda a, b: (a - b).pow(2).sum(-1).sqrt(),
    "check_cosine_similarity": lambda a, b: F.cosine_similarity(a, b, dim=-1, eps=1e-8),
    "check_pairwise_distances": lambda x, y: torch.cdist(x, y),
    "check_l1_head": lambda z1, z2, w, b: torch.sigmoid((z1 - z2).abs() @ w + b),
    "check_verification_accuracy": lambda d, s, t: ((d <= t) == s.bool()).float().mean(),
    "check_fusion": _fusion,
    "check_two_tower_scores": _scores,
    "check_contrastive_loss": _contrastive,
    "check_contrastive_grad": lambda d, y, m: 2 * y * d - 2 * (1 - y) * (m - d).clamp_min(0),
    "check_triplet_loss": lambda a, p, n, m: (
        ((a - p).norm(dim=1) - (a - n).norm(dim=1) + m).clamp_min(0).mean()
    ),
    "check_triplet_category": _category,
    "check_batch_hard": _batch_hard,
    "check_valid_triplet_mask": _mask,
    "check_info_nce": _nt_xent,
    "check_uniformity": lambda z, t: (
        torch.pdist(F.normalize(z, dim=1)).pow(2).mul(-t).exp().mean().log()
    ),
    "check_alignment": lambda z1, z2: (
        (F.normalize(z1, dim=1) - F.normalize(z2, dim=1)).pow(2).sum(1).mean()
    ),
    "check_queue_update": lambda q, k: torch.cat([q[k.shape[0] :], k.detach()]),
    "check_collapse_std": lambda z: F.normalize(z, dim=1).std(dim=0).mean(),
    "check_knn_indices": _knn,
    "check_pca_2d": _pca,
    "check_tar_at_far": _tar_at_far,
    "check_cmc_curve": _cmc,
    "check_map_at_r": _map_at_r,
    "check_prototype_classifier": _prototypes,
    "check_chunked_info_nce": _chunked_nt_xent,  # lesson 13
    "check_gather_backward": lambda grads, rank: torch.stack(grads).sum(0).chunk(len(grads))[rank],
    "check_clip_loss": _clip,
    "check_zero_shot_predict": _zero_shot,
    # lesson 12
    "check_pair_bce_loss": lambda a, p, n: (
        (
            F.binary_cross_entropy_with_logits((a * p).sum(1), torch.ones(len(a), dtype=a.dtype))
            + F.binary_cross_entropy_with_logits((a * n).sum(1), torch.zeros(len(a), dtype=a.dtype))
        )
        / 2
    ),
    "check_squared_triplet_loss": lambda a, p, n, g: (
        ((a - p).pow(2).sum(1) - (a - n).pow(2).sum(1) + g).clamp_min(0).mean()
    ),
    "check_info_nce_numerator": lambda z1, z2, t: F.cross_entropy(
        F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T / t, torch.arange(len(z1))
    ),
    "check_leave_one_out_accuracy": lambda z, y: (
        (y[_pairwise(z, z).fill_diagonal_(math.inf).argmin(1)] == y).double().mean()
    ),
    "check_identity_split": lambda y, k: torch.isin(y, y.unique()[:k]),
    "check_validation_threshold": lambda vs, vy, ts, ty: (
        (
            (ts >= vs[torch.stack([((vs >= t) == vy.bool()).double().mean() for t in vs]).argmax()])
            == ty.bool()
        )
        .double()
        .mean()
    ),
    "check_paired_comparison": lambda a, b: torch.stack(
        [(a - b).mean(), 1.96 * (a - b).std() / len(a) ** 0.5]
    ),
}
# check_siamese_forward and check_momentum_update take a class / change a module in place: below.
SPECIAL = {"check_siamese_forward", "check_momentum_update"}
# lesson 12: a class, and a test returning a bool (tests/test_exercises_lesson12.py spoils them)
SPECIAL |= {"check_shared_siamese", "check_one_batch_overfit"}


def test_every_check_is_covered():
    checks = {n for n in ex.__all__ if n.startswith("check_")}
    assert checks == set(RIGHT) | SPECIAL


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_the_right_answers_pass(name):
    result = getattr(ex, name)(RIGHT[name])
    assert result, result.message


# ------------------------------------------------------------------ spoiled answers

SPOIL = {
    "dict": lambda o: {"result": o},
    "str": lambda o: "0.5",
    "None": lambda o: None,
    "tuple": lambda o: (o, o),
    "list_of_str": lambda o: ["a", "b"],
    "int": lambda o: o.long(),
    "negative_int": lambda o: -1 - o.long().abs(),
    "float64": lambda o: o.double(),
    "float16": lambda o: o.half(),
    "bool": lambda o: o.bool(),
    "complex": lambda o: o.to(torch.complex64),
    "nan": lambda o: torch.full(o.shape, math.nan),
    "inf": lambda o: torch.full(o.shape, math.inf),
    "wrong_shape": lambda o: torch.stack([o, o]).unsqueeze(-1),
    "transposed": lambda o: o.transpose(0, -1) if o.ndim >= 2 else o.reshape(-1, 1),
    "empty": lambda o: o.reshape(-1)[:0],
    "scalar": lambda o: o.float().sum(),
    "one_more_row": lambda o: torch.cat([o.reshape(-1, *o.shape[1:])] * 2)[: o.numel() + 1],
    "numpy": lambda o: o.detach().numpy(),
    "list": lambda o: o.tolist(),
    "python_float": lambda o: float(o.float().mean()),
    "meta": lambda o: torch.empty(o.shape, device="meta"),
    "sparse": lambda o: o.to_sparse(),
    "int_constant": lambda o: torch.ones(3, dtype=torch.int64),
    "float64_constant": lambda o: torch.zeros(5, 7, dtype=torch.float64),
    "module": lambda o: nn.Linear(1, 1),
}
# spoiled answers no check may accept (the others may still be right, e.g. float64 values)
ALWAYS_WRONG = {
    "dict",
    "str",
    "None",
    "tuple",
    "list_of_str",
    "complex",
    "nan",
    "inf",
    "wrong_shape",
    "empty",
    "meta",
    "float64_constant",
    "module",
}
NAMED = {"dict": "dict", "str": "str", "None": "None", "module": "Linear"}


def spoiled(right, how):
    def learner(*args):
        out = right(*args).detach().as_subclass(torch.Tensor)  # a plain tensor, even when
        return SPOIL[how](out)  # the check passes tensor subclasses (to count operations)

    return learner


def assert_plain_hint(result, how=None):
    assert isinstance(result, CheckResult)
    assert result.checker_error is None, (how, result.message)  # the check did not crash
    assert "your code raised" not in result.message, (how, result.message)
    assert "not implemented" not in result.message, (how, result.message)
    assert result.message.strip()


@pytest.mark.parametrize("how", sorted(SPOIL))
@pytest.mark.parametrize("name", sorted(RIGHT))
def test_spoiled_answers_get_a_plain_hint(name, how):
    result = getattr(ex, name)(spoiled(RIGHT[name], how))
    assert_plain_hint(result, how)
    if how in ALWAYS_WRONG:
        assert not result, result.message
    if how in NAMED:
        assert NAMED[how] in result.message, result.message


# ------------------------------------------------------------------ the class and in-place checks


class Shared(nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, x1, x2):
        return self.encoder(x1), self.encoder(x2)


def siamese_returning(make):
    class Spoiled(Shared):
        def forward(self, x1, x2):
            z1, z2 = super().forward(x1, x2)
            return make(z1, z2)

    return Spoiled


SIAMESE_SPOIL = {
    "dict": lambda z1, z2: {"z1": z1, "z2": z2},
    "str": lambda z1, z2: "z1, z2",
    "None": lambda z1, z2: None,
    "three": lambda z1, z2: (z1, z2, z1),
    "second_str": lambda z1, z2: (z1, "z2"),
    "second_none": lambda z1, z2: (z1, None),
    "int": lambda z1, z2: (z1.long(), z2.long()),
    "complex": lambda z1, z2: (z1.to(torch.complex64), z2.to(torch.complex64)),
    "short": lambda z1, z2: (z1[:2], z2),
    "meta": lambda z1, z2: (torch.empty(z1.shape, device="meta"),) * 2,
    "lists": lambda z1, z2: (z1.tolist(), z2.tolist()),
    "nan": lambda z1, z2: (z1 * math.nan, z2),
}


@pytest.mark.parametrize("how", sorted(SIAMESE_SPOIL))
def test_siamese_forward_returning_spoiled_values_gets_a_plain_hint(how):
    result = ex.check_siamese_forward(siamese_returning(SIAMESE_SPOIL[how]))
    assert_plain_hint(result, how)
    assert not result


@pytest.mark.parametrize("value", [{"a": 1}, "net", None, 3, torch.zeros(2)])
def test_siamese_class_building_a_non_module_gets_a_plain_hint(value):
    result = ex.check_siamese_forward(lambda encoder: value)
    assert_plain_hint(result)
    assert not result and "nn.Module" in result.message


def test_siamese_forward_that_raises_is_the_learners_error():
    class Raises(Shared):
        def forward(self, x1, x2):
            raise ValueError("boom in forward")

    result = ex.check_siamese_forward(Raises)
    assert result.checker_error is None
    assert "your code raised ValueError: boom in forward (line" in result.message
    assert "of forward" in result.message


def momentum_spoiling(spoil):
    def learner(online, target, m):
        with torch.no_grad():
            for p in target.parameters():
                spoil(p)
        return {"returned": "a dict"}

    return learner


MOMENTUM_SPOIL = {
    "nothing": lambda p: None,
    "nan": lambda p: p.fill_(math.nan),
    "int_data": lambda p: setattr(p, "data", p.data.long()),
    "float64_data": lambda p: setattr(p, "data", p.data.double() * 2),
    "shape": lambda p: setattr(p, "data", torch.zeros(1)),
}


@pytest.mark.parametrize("how", sorted(MOMENTUM_SPOIL))
def test_momentum_update_spoiling_the_target_gets_a_plain_hint(how):
    result = ex.check_momentum_update(momentum_spoiling(MOMENTUM_SPOIL[how]))
    assert_plain_hint(result, how)
    assert not result


# ------------------------------------------------------------------ who raised what


def test_the_checks_own_failure_is_not_blamed_on_the_learner(monkeypatch):
    # a defect in the check's own code (here: its reference raises) must not read as the
    # learner's error: it becomes a plain hint naming what the learner's function returned
    monkeypatch.setattr(lesson00, "euclidean", operator.matmul)  # (3, 2) @ (3, 2) fails
    result = ex.check_euclidean(RIGHT["check_euclidean"])
    assert not result
    assert isinstance(result.checker_error, RuntimeError)
    assert "your code raised" not in result.message
    assert "could not check" in result.message and "shape (3,)" in result.message


def test_an_error_inside_the_learners_function_is_still_theirs():
    def calls_dot(a, b):
        return torch.dot(a, b)  # fails on a batch

    result = ex.check_euclidean(calls_dot)
    assert result.checker_error is None
    assert "your code raised RuntimeError" in result.message
    assert "of calls_dot" in result.message
    # a torch function passed directly has no Python frame: still the learner's error
    result = ex.check_euclidean(torch.dot)
    assert result.checker_error is None and "your code raised RuntimeError" in result.message


def test_a_stub_is_reported_as_not_implemented():
    def stub(a, b):
        raise NotImplementedError

    result = ex.check_euclidean(stub)
    assert result.checker_error is None and "not implemented yet" in result.message


@pytest.mark.parametrize("value", [torch.zeros(3), 1.5, "euclidean", None])
def test_passing_a_value_instead_of_a_function_gets_a_hint(value):
    result = ex.check_euclidean(value)
    assert not result and "pass your function itself" in result.message


def test_a_library_not_implemented_error_is_not_taken_for_the_stub():
    def sparse_view(a, b):
        return (a - b).to_sparse().view(-1)  # torch: no view of a sparse tensor

    result = ex.check_euclidean(sparse_view)
    assert "not implemented yet" not in result.message
    assert "your code raised NotImplementedError" in result.message


# ----------------------------------------------------------------------------- stand-ins


def test_yours_or_ours_uses_yours_once_written_and_ours_until_then(capsys):
    import torch

    from cl_lessons import exercises

    def verification_accuracy(distances, same, threshold):
        raise NotImplementedError

    stub = exercises.yours_or_ours(verification_accuracy)
    d, same = torch.tensor([0.2, 0.9, 0.4]), torch.tensor([1, 0, 0])
    assert stub(d, same, 0.5) == pytest.approx(2 / 3)
    assert stub(d, same, 0.5) == pytest.approx(2 / 3)
    assert capsys.readouterr().out.count("not written yet") == 1  # said once

    def written(distances, same, threshold):
        return 0.123

    assert exercises.yours_or_ours(written, "verification_accuracy")(d, same, 0.5) == 0.123

    def broken(distances, same, threshold):
        raise IndexError("a bug of the learner")

    with pytest.raises(IndexError):  # only the unsolved stub is replaced, never a bug
        exercises.yours_or_ours(broken, "verification_accuracy")(d, same, 0.5)
    with pytest.raises(ValueError, match="name must be one of"):
        exercises.yours_or_ours(written)


@pytest.mark.parametrize(
    "name",
    [
        "verification_accuracy",
        "my_knn_indices",
        "cmc",
        "momentum_update",
        "enqueue",
        "embedding_std",
    ],
)
def test_every_stand_in_passes_its_own_check(name):
    from cl_lessons import exercises

    check = {
        "verification_accuracy": exercises.check_verification_accuracy,
        "my_knn_indices": exercises.check_knn_indices,
        "cmc": exercises.check_cmc_curve,
        "momentum_update": exercises.check_momentum_update,
        "enqueue": exercises.check_queue_update,
        "embedding_std": exercises.check_collapse_std,
    }[name]
    assert check(exercises.STAND_INS[name], reference=True)

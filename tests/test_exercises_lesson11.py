import pytest
import torch

from cl_lessons import exercises as ex
from cl_lessons import metrics

# ----------------------------------------------------------------------------- MAP@R


def _ranked(x, labels, include_self=False):
    d = torch.cdist(x, x)
    if not include_self:
        d.fill_diagonal_(float("inf"))
    order = d.argsort(1)
    if not include_self:
        order = order[:, :-1]
    return labels[order] == labels[:, None], (labels[:, None] == labels).sum(1) - 1


def loop_map(x, labels):
    match, r = _ranked(x, labels)
    aps = []
    for i in range(len(x)):
        if r[i] == 0:
            continue
        hits, total = 0, 0.0
        for rank in range(int(r[i])):
            if match[i, rank]:
                hits += 1
                total += hits / (rank + 1)
        aps.append(total / int(r[i]))
    return sum(aps) / len(aps)


def wrong_map(variant):
    def fn(x, labels):
        include_self = variant == "self"
        match, r = _ranked(x, labels, include_self)
        if variant in ("self", "r_class"):
            r = r + 1
        aps = []
        for i in range(len(x)):
            if r[i] == 0 or (variant != "lone" and (labels == labels[i]).sum() < 2):
                if variant == "lone":
                    aps.append(0.0)
                continue
            ri = int(r[i])
            rel = match[i, :ri].double()
            prec = rel.cumsum(0) / torch.arange(1, ri + 1)
            if variant == "by_hits":
                aps.append(float((prec * rel).sum() / rel.sum().clamp_min(1)))
            elif variant == "no_rel":
                aps.append(float(prec.sum() / ri))
            elif variant == "r_precision":
                aps.append(float(rel.sum() / ri))
            else:
                aps.append(float((prec * rel).sum() / ri))
        return sum(aps) / len(aps)

    return fn


def test_map_at_r_accepts_correct_solutions():
    assert ex.check_map_at_r(loop_map)
    assert ex.check_map_at_r(lambda x, y: metrics.map_at_r(x, y))
    assert ex.check_map_at_r(lambda x, y: torch.tensor(metrics.map_at_r(x, y)))


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (wrong_map("by_hits"), "divides by R itself"),
        (wrong_map("no_rel"), "only where rank i is a match"),
        (wrong_map("r_precision"), "R-precision"),
        (wrong_map("lone"), "left out of the mean"),
        (wrong_map("self"), "retrieved itself"),
        (wrong_map("r_class"), "other* items"),
        (lambda x, y: metrics.recall_at_k(x, y, 1), "expected MAP@R"),
        (lambda x, y: torch.zeros(len(y)), "expected one number"),
        (lambda x, y: None, "return"),
    ],
    ids=["by_hits", "no_rel", "r_precision", "lone", "self", "r_class", "recall", "per", "none"],
)
def test_map_at_r_rejects_typical_mistakes(fn, hint):
    result = ex.check_map_at_r(fn)
    assert not result
    assert hint in result.message, result.message


# ----------------------------------------------------------------------------- prototypes


def prototypes(support, labels, queries):
    classes = labels.unique()
    protos = torch.stack([support[labels == c].mean(0) for c in classes])  # (N, D)
    return classes[torch.cdist(queries, protos).argmin(1)]


def test_prototype_classifier_accepts_correct_solutions():
    assert ex.check_prototype_classifier(prototypes)
    assert ex.check_prototype_classifier(lambda s, y, q: prototypes(s, y, q).tolist())
    assert ex.check_prototype_classifier(lambda s, y, q: prototypes(s, y, q).double())


def positions(support, labels, queries):
    classes = labels.unique()
    protos = torch.stack([support[labels == c].mean(0) for c in classes])
    return torch.cdist(queries, protos).argmin(1)


def nearest(support, labels, queries):
    return labels[torch.cdist(queries, support).argmin(1)]


def sums(support, labels, queries):
    classes = labels.unique()
    protos = torch.stack([support[labels == c].sum(0) for c in classes])
    return classes[torch.cdist(queries, protos).argmin(1)]


def farthest(support, labels, queries):
    classes = labels.unique()
    protos = torch.stack([support[labels == c].mean(0) for c in classes])
    return classes[torch.cdist(queries, protos).argmax(1)]


def distances(support, labels, queries):
    classes = labels.unique()
    protos = torch.stack([support[labels == c].mean(0) for c in classes])
    return torch.cdist(queries, protos).min(1).values


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (positions, "position of the nearest prototype"),
        (nearest, "nearest single support example"),
        (sums, "sums of the support"),
        (farthest, "farthest prototype"),
        (distances, "non-integer values"),
        (lambda s, y, q: prototypes(s, y, q)[:-1], "one label per query"),
        (lambda s, y, q: torch.full((len(q),), int(y[0])), "wrong label"),
    ],
    ids=["positions", "nearest", "sum", "farthest", "distances", "short", "constant"],
)
def test_prototype_classifier_rejects_typical_mistakes(fn, hint):
    result = ex.check_prototype_classifier(fn)
    assert not result
    assert hint in result.message, result.message


def test_stubs_and_values():
    def stub(*args):
        raise NotImplementedError

    assert "not implemented" in ex.check_map_at_r(stub).message
    assert "not implemented" in ex.check_prototype_classifier(stub).message
    assert "pass your function itself" in ex.check_map_at_r(0.5).message

import numpy as np
import torch

from cl_lessons import exercises as ex
from cl_lessons import metrics

# ---------------------------------------------------------------- check_tar_at_far


def _tar_sorted(scores, same, far):
    neg = scores[same == 0].sort(descending=True).values
    k = int(far * len(neg) + 1e-9)
    if k >= len(neg):
        return 1.0
    return (scores[same == 1] > neg[k]).float().mean().item()


def test_tar_at_far_accepts_correct_solutions():
    assert ex.check_tar_at_far(_tar_sorted)
    assert ex.check_tar_at_far(lambda s, y, f: metrics.tar_at_far(s, y, f))
    assert ex.check_tar_at_far(lambda s, y, f: torch.tensor(metrics.tar_at_far(s, y, f)))


def _too_many(s, y, f):  # threshold AT the (k+1)-th impostor, inclusive: one too many
    neg = s[y == 0].sort(descending=True).values
    return (s[y == 1] >= neg[int(f * len(neg))]).float().mean().item()


def _too_strict(s, y, f):  # threshold at the k-th impostor, exclusive: one too few
    neg = s[y == 0].sort(descending=True).values
    return (s[y == 1] > neg[max(int(f * len(neg)) - 1, 0)]).float().mean().item()


def test_tar_at_far_rejects_typical_mistakes():
    cases = {
        "frr": (lambda s, y, f: 1 - _tar_sorted(s, y, f), "false reject rate"),
        "all scores": (
            lambda s, y, f: (s[y == 1] >= torch.quantile(s, 1 - f)).float().mean().item(),
            "IMPOSTOR scores only",
        ),
        "one too many": (_too_many, "one impostor too many"),
        "too strict": (_too_strict, "too strict"),
        "count": (lambda s, y, f: _tar_sorted(s, y, f) * int((y == 1).sum()), "count"),
        "per pair": (lambda s, y, f: (s >= 0.7).float(), "one number"),
        "no return": (lambda s, y, f: None, "return"),
    }
    for name, (fn, hint) in cases.items():
        result = ex.check_tar_at_far(fn)
        assert not result, name
        assert hint in result.message, (name, result.message)


# ---------------------------------------------------------------- check_cmc_curve


def _cmc(d, pl, gl, max_rank):
    order = d.argsort(dim=1)
    hit = (gl[order] == pl[:, None]).cummax(1).values
    return hit[:, :max_rank].float().mean(0)


def _cmc_loop(d, pl, gl, max_rank):
    out = np.zeros(max_rank)
    for row, lab in zip(d.tolist(), pl.tolist(), strict=True):
        order = sorted(range(len(row)), key=row.__getitem__)
        r = next(i for i, g in enumerate(order) if gl[g] == lab)
        out[r:] += 1 if r < max_rank else 0
    return out / len(pl)


def test_cmc_accepts_correct_solutions():
    assert ex.check_cmc_curve(_cmc)
    assert ex.check_cmc_curve(_cmc_loop)


def test_cmc_rejects_typical_mistakes():
    def first_only(d, pl, gl, r):
        hit = (gl[d.argsort(dim=1)] == pl[:, None]).int()
        first = hit.cummax(1).values.cumsum(1) == 1
        return first[:, :r].float().mean(0)

    def precision(d, pl, gl, r):
        hit = (gl[d.argsort(dim=1)] == pl[:, None]).float()
        return (hit.cumsum(1) / torch.arange(1, hit.shape[1] + 1))[:, :r].mean(0)

    def shifted(d, pl, gl, r):
        c = _cmc(d, pl, gl, d.shape[1])
        return torch.cat([c[1:], c[-1:]])[:r]

    cases = {
        "descending": (lambda d, pl, gl, r: _cmc(-d, pl, gl, r), "INCREASING"),
        "not cumulative": (first_only, "cumulative"),
        "precision": (precision, "precision"),
        "shifted": (shifted, "shifted by one"),
        "counts": (lambda d, pl, gl, r: _cmc(d, pl, gl, r) * len(pl), "counts"),
        "one too long": (lambda d, pl, gl, r: _cmc(d, pl, gl, r + 1), "exactly max_rank"),
        "no return": (lambda d, pl, gl, r: None, "return"),
    }
    for name, (fn, hint) in cases.items():
        result = ex.check_cmc_curve(fn)
        assert not result, name
        assert hint in result.message, (name, result.message)


def test_stubs_report_not_implemented():
    def stub(*args):
        raise NotImplementedError

    for check in (ex.check_tar_at_far, ex.check_cmc_curve):
        result = check(stub)
        assert not result and "not implemented" in result.message

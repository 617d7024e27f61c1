import torch
import torch.nn.functional as F

from cl_lessons import exercises as ex
from cl_lessons.models import DualStreamNetwork, MLPEncoder, TwoTower

# ---------------------------------------------------------------- check_fusion


def correct_fusion(za, zb, fusion):
    if fusion == "concat":
        return torch.cat([za, zb], dim=1)
    if fusion == "product":
        return za * zb
    return (za - zb).abs()


def test_fusion_accepts_correct_solutions():
    assert ex.check_fusion(correct_fusion)
    nets = {
        f: DualStreamNetwork(MLPEncoder(3, 4, 3), MLPEncoder(3, 4, 3), fusion=f)
        for f in ("concat", "product", "absdiff")
    }
    assert ex.check_fusion(lambda za, zb, f: nets[f].fuse(za, zb))


def _with(fusion_name, wrong):
    def fn(za, zb, fusion):
        return wrong(za, zb) if fusion == fusion_name else correct_fusion(za, zb, fusion)

    return fn


def test_fusion_rejects_typical_mistakes():
    cases = {
        "cat dim 0": (_with("concat", lambda a, b: torch.cat([a, b])), "dim=1"),
        "dot product": (_with("product", lambda a, b: (a * b).sum(1)), "dot product"),
        "matmul": (_with("product", lambda a, b: a @ b.T), "(N, N)"),
        "no abs": (_with("absdiff", lambda a, b: a - b), "absolute value"),
        "reversed no abs": (_with("absdiff", lambda a, b: b - a), "absolute value"),
        "squared": (_with("absdiff", lambda a, b: (a - b) ** 2), "squared"),
        "None": (_with("absdiff", lambda a, b: None), "return"),
    }
    for name, (fn, hint) in cases.items():
        result = ex.check_fusion(fn)
        assert not result, name
        assert hint in result.message, (name, result.message)


# ---------------------------------------------------------------- check_two_tower_scores


def correct_scores(u, it, normalize):
    if normalize:
        u, it = F.normalize(u, dim=1), F.normalize(it, dim=1)
    return u @ it.T


def looped(u, it, normalize):
    if normalize:
        u, it = F.normalize(u, dim=1), F.normalize(it, dim=1)
    return torch.stack(
        [torch.stack([(u[a] * it[b]).sum() for b in range(len(it))]) for a in range(len(u))]
    )


def test_two_tower_accepts_correct_solutions():
    assert ex.check_two_tower_scores(correct_scores)
    assert ex.check_two_tower_scores(
        lambda u, it, n: torch.einsum(
            "nd,md->nm", *((F.normalize(u, dim=1), F.normalize(it, dim=1)) if n else (u, it))
        )
    )
    assert ex.check_two_tower_scores(
        lambda u, it, n: TwoTower.score_embeddings(
            *((F.normalize(u, dim=1), F.normalize(it, dim=1)) if n else (u, it))
        )
    )


def test_two_tower_rejects_typical_mistakes():
    cases = {
        "transposed": (lambda u, it, n: correct_scores(u, it, n).T, "transposed"),
        "not normalised": (lambda u, it, n: u @ it.T, "cosine"),
        "one side": (lambda u, it, n: (F.normalize(u, dim=1) if n else u) @ it.T, "BOTH"),
        "columns": (
            lambda u, it, n: (F.normalize(u, dim=0) @ F.normalize(it, dim=0).T) if n else u @ it.T,
            "dim=1",
        ),
        "row-wise": (lambda u, it, n: (u[: len(it)] * it[: len(u)]).sum(1), "EVERY"),
        "loops": (looped, "loop"),
    }
    for name, (fn, hint) in cases.items():
        result = ex.check_two_tower_scores(fn)
        assert not result, name
        assert hint in result.message, (name, result.message)


def test_stubs_report_not_implemented():
    def stub(*args):
        raise NotImplementedError

    for check in (ex.check_fusion, ex.check_two_tower_scores):
        result = check(stub)
        assert not result and "not implemented" in result.message

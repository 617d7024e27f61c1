import copy

import torch
from torch import nn

from cl_lessons import exercises as ex
from cl_lessons.models import SiameseNetwork

# ---------------------------------------------------------------- check_siamese_forward


class Shared(nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, x1, x2):
        return self.encoder(x1), self.encoder(x2)


class CopiedTowers(nn.Module):  # the seed article's "two independent encoders", same start
    def __init__(self, encoder):
        super().__init__()
        self.enc1, self.enc2 = encoder, copy.deepcopy(encoder)

    def forward(self, x1, x2):
        return self.enc1(x1), self.enc2(x2)


class FreshTowers(nn.Module):  # a second, independently initialised encoder
    def __init__(self, encoder):
        super().__init__()
        self.enc1 = encoder
        self.enc2 = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))

    def forward(self, x1, x2):
        return self.enc1(x1), self.enc2(x2)


class Typo(Shared):
    def forward(self, x1, x2):
        return self.encoder(x1), self.encoder(x1)


class ReturnsDistance(Shared):
    def forward(self, x1, x2):
        return (self.encoder(x1) - self.encoder(x2)).norm(dim=1)


class Detached(Shared):
    def forward(self, x1, x2):
        return self.encoder(x1), self.encoder(x2).detach()


def test_siamese_accepts_correct_solutions():
    assert ex.check_siamese_forward(Shared)
    assert ex.check_siamese_forward(SiameseNetwork)


def test_siamese_rejects_typical_mistakes():
    cases = {
        "copied towers": (CopiedTowers, "two encoders"),
        "fresh towers": (FreshTowers, "two encoders"),
        "typo": (Typo, "embed x2"),
        "distance": (ReturnsDistance, "pair (z1, z2)"),
        "detached": (Detached, "gradient"),
    }
    for name, (cls, hint) in cases.items():
        result = ex.check_siamese_forward(cls)
        assert not result, name
        assert hint in result.message, (name, result.message)


def test_siamese_check_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ex.check_siamese_forward(Shared)
    assert torch.equal(torch.rand(3), expected)


# ---------------------------------------------------------------- check_l1_head


def test_l1_head_accepts_correct_solutions():
    assert ex.check_l1_head(lambda z1, z2, w, b: torch.sigmoid((z1 - z2).abs() @ w + b))
    assert ex.check_l1_head(lambda z1, z2, w, b: torch.sigmoid(((z1 - z2).abs() * w).sum(1) + b))


def test_l1_head_rejects_typical_mistakes():
    cases = {
        "logits": (lambda z1, z2, w, b: (z1 - z2).abs() @ w + b, "sigmoid"),
        "no abs": (lambda z1, z2, w, b: torch.sigmoid((z1 - z2) @ w + b), "absolute value"),
        "squared": (lambda z1, z2, w, b: torch.sigmoid((z1 - z2) ** 2 @ w + b), "not its square"),
        "minus b": (lambda z1, z2, w, b: torch.sigmoid((z1 - z2).abs() @ w - b), "bias"),
        "no dot": (lambda z1, z2, w, b: torch.sigmoid((z1 - z2).abs() * w + b), "dot product"),
        "batch sum": (lambda z1, z2, w, b: torch.sigmoid(((z1 - z2).abs() @ w).sum() + b), "one"),
    }
    for name, (fn, hint) in cases.items():
        result = ex.check_l1_head(fn)
        assert not result, name
        assert hint in result.message, (name, result.message)


# ---------------------------------------------------------------- check_verification_accuracy


def _accuracy(d, same, t):
    return ((d <= t) == (same == 1)).float().mean().item()


def test_verification_accepts_correct_solutions():
    assert ex.check_verification_accuracy(_accuracy)
    assert ex.check_verification_accuracy(
        lambda d, same, t: ((d <= t).long() == same).double().mean()
    )


def test_verification_rejects_typical_mistakes():
    cases = {
        "reversed": (lambda d, s, t: ((d >= t) == (s == 1)).float().mean().item(), "reversed"),
        "reversed strict": (lambda d, s, t: ((d > t) == (s == 1)).float().mean(), "reversed"),
        "labels backwards": (lambda d, s, t: ((d <= t) == (s == 0)).float().mean(), "reversed"),
        "strict": (lambda d, s, t: ((d < t) == (s == 1)).float().mean(), "inclusive"),
        "count": (lambda d, s, t: ((d <= t) == (s == 1)).sum().item(), "count"),
        "per pair": (lambda d, s, t: ((d <= t) == (s == 1)).float(), "one number"),
        "no return": (lambda d, s, t: None, "return"),
    }
    for name, (fn, hint) in cases.items():
        result = ex.check_verification_accuracy(fn)
        assert not result, name
        assert hint in result.message, (name, result.message)


def test_stubs_report_not_implemented():
    def stub(*args):
        raise NotImplementedError

    class Stub(nn.Module):
        def __init__(self, encoder):
            raise NotImplementedError

    for check, fn in [
        (ex.check_l1_head, stub),
        (ex.check_verification_accuracy, stub),
        (ex.check_siamese_forward, Stub),
    ]:
        result = check(fn)
        assert not result and "not implemented" in result.message

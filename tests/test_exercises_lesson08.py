import pytest
import torch
import torch.nn.functional as F

from cl_lessons import exercises as ex

# ----------------------------------------------------------------------------- momentum update


def correct_momentum(online, target, m):
    with torch.no_grad():
        for p_o, p_t in zip(online.parameters(), target.parameters(), strict=True):
            p_t.mul_(m).add_(p_o, alpha=1 - m)


def correct_momentum_copy(online, target, m):
    with torch.no_grad():
        for p_o, p_t in zip(online.parameters(), target.parameters(), strict=True):
            p_t.copy_(m * p_t + (1 - m) * p_o)


def swapped(online, target, m):
    with torch.no_grad():
        for p_o, p_t in zip(online.parameters(), target.parameters(), strict=True):
            p_t.copy_((1 - m) * p_t + m * p_o)


def updates_online(online, target, m):
    with torch.no_grad():
        for p_o, p_t in zip(online.parameters(), target.parameters(), strict=True):
            p_o.mul_(m).add_(p_t, alpha=1 - m)


def no_grad_forgotten(online, target, m):
    for p_o, p_t in zip(online.parameters(), target.parameters(), strict=True):
        p_t.mul_(m).add_(p_o, alpha=1 - m)


def not_in_place(online, target, m):
    for p_o, p_t in zip(online.parameters(), target.parameters(), strict=True):
        p_t = m * p_t + (1 - m) * p_o


def copies(online, target, m):
    target.load_state_dict(online.state_dict())


def test_momentum_accepts_correct_solutions():
    assert ex.check_momentum_update(correct_momentum)
    assert ex.check_momentum_update(correct_momentum_copy)


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (swapped, "swapped"),
        (updates_online, "online (query) encoder changed"),
        (no_grad_forgotten, "torch.no_grad()"),
        (not_in_place, "in place"),
        (copies, "m = 0"),
    ],
    ids=["swapped", "online", "no_grad", "rebind", "copy"],
)
def test_momentum_rejects_typical_mistakes(fn, hint):
    result = ex.check_momentum_update(fn)
    assert not result
    assert hint in result.message, result.message


def test_momentum_no_grad_on_a_trainable_target_gets_the_same_hint():
    def unfreezes_then_forgets(online, target, m):
        target.requires_grad_(True)
        no_grad_forgotten(online, target, m)

    result = ex.check_momentum_update(unfreezes_then_forgets)
    assert not result and "torch.no_grad()" in result.message, result.message


def test_momentum_rejects_a_fixed_m():
    result = ex.check_momentum_update(lambda o, t, m: correct_momentum(o, t, 0.9))
    assert not result and "m = 0.99" in result.message, result.message


# ----------------------------------------------------------------------------- queue


def correct_queue(queue, keys):
    return torch.cat([queue[len(keys) :], keys.detach()])


def correct_queue_roll(queue, keys):
    b = keys.shape[0]
    out = queue.roll(-b, dims=0).clone()
    out[-b:] = keys.detach()
    return out


def test_queue_accepts_correct_solutions():
    assert ex.check_queue_update(correct_queue)
    assert ex.check_queue_update(correct_queue_roll)


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (lambda q, k: torch.cat([q, k.detach()]), "grew"),
        (lambda q, k: torch.cat([k.detach(), q[: -len(k)]]), "newest* old rows were dropped"),
        (lambda q, k: torch.cat([q[: -len(k)], k.detach()]), "instead of the oldest"),
        (lambda q, k: torch.cat([k.detach(), q[len(k) :]]), "new keys are at the front"),
        (lambda q, k: torch.cat([q[len(k) :], k]), "detach"),
        (lambda q, k: None, "return"),
    ],
    ids=["grows", "front_drop_newest", "drop_newest", "front", "attached", "none"],
)
def test_queue_rejects_typical_mistakes(fn, hint):
    result = ex.check_queue_update(fn)
    assert not result
    assert hint in result.message, result.message


def test_queue_rejects_a_fixed_batch_size():
    result = ex.check_queue_update(lambda q, k: torch.cat([q[2:], k.detach()[:2]]))
    assert not result and "32-row queue" in result.message, result.message


# ----------------------------------------------------------------------------- collapse std


def correct_std(z):
    return F.normalize(z, dim=1).std(dim=0).mean()


def test_std_accepts_correct_solutions():
    assert ex.check_collapse_std(correct_std)
    assert ex.check_collapse_std(lambda z: F.normalize(z, dim=1).std(dim=0, correction=0).mean())
    assert ex.check_collapse_std(lambda z: (z / z.norm(dim=1, keepdim=True)).std(0).mean())


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (lambda z: z.std(dim=0).mean(), "L2-normalise"),
        (lambda z: F.normalize(z, dim=1).std(dim=1).mean(), "over the samples"),
        (lambda z: F.normalize(z, dim=1).std(dim=1), "over the samples"),
        (lambda z: F.normalize(z, dim=1).std(dim=0), "one std per dimension"),
        (lambda z: F.normalize(z, dim=1).var(dim=0).mean(), "variance"),
        (lambda z: F.normalize(z, dim=0).std(dim=0).mean(), "values differ"),
    ],
    ids=["unnormalised", "per_sample", "per_sample_vector", "vector", "variance", "wrong_axis"],
)
def test_std_rejects_typical_mistakes(fn, hint):
    result = ex.check_collapse_std(fn)
    assert not result
    assert hint in result.message, result.message


def test_std_stub():
    def stub(z):
        raise NotImplementedError

    assert "not implemented" in ex.check_collapse_std(stub).message

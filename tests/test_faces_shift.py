"""The population-shift option of SyntheticFaces / render_faces: per-factor nuisance multipliers."""

import pytest
import torch

from cl_lessons import data


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def test_default_multipliers_are_the_old_images():
    params = torch.rand(6, len(data.FACE_PARAM_NAMES), generator=_gen(0))
    a = data.render_faces(params, 16, 1.0, _gen(1))
    b = data.render_faces(params, 16, 1.0, _gen(1), lighting=1.0, rotation=1.0, noise=1.0)
    assert torch.equal(a, b)


@pytest.mark.parametrize("factor", ["lighting", "rotation", "noise"])
def test_each_factor_changes_the_images_but_not_the_identities(factor):
    base = data.SyntheticFaces(8, 3, size=16, seed=2)
    hard = data.SyntheticFaces(8, 3, size=16, seed=2, **{factor: 3.0})
    assert torch.equal(base.params, hard.params) and torch.equal(base.labels, hard.labels)
    assert not torch.equal(base.images, hard.images)
    zero = data.SyntheticFaces(8, 3, size=16, seed=2, **{factor: 0.0})

    # harder conditions: views of one identity differ more from their mean than at the default
    def spread(ds):
        v = ds.images.reshape(8, 3, -1)
        return float((v - v.mean(1, keepdim=True)).pow(2).mean())

    assert spread(zero) < spread(base) < spread(hard)


def test_noise_multiplier_scales_the_pixel_noise():
    params = torch.full((1, len(data.FACE_PARAM_NAMES)), 0.5)
    still = data.render_faces(params, 32, 1.0, _gen(3), noise=0.0)
    noisy = data.render_faces(params, 32, 1.0, _gen(3), noise=2.0)
    inside = (still > 0.05) & (still < 0.95)  # away from the clamp
    std = float((noisy - still)[inside].std())
    assert 0.045 < std < 0.075  # 0.03 * 2


def test_render_identity_uses_the_multipliers():
    ds = data.SyntheticFaces(4, 2, size=16, seed=0, rotation=2.0)
    views = ds.render_identity(1, 3, generator=_gen(5))
    rows = ds.params[1].expand(3, -1)
    assert torch.equal(views, data.render_faces(rows, 16, 1.0, _gen(5), rotation=2.0))


@pytest.mark.parametrize("name", ["lighting", "rotation", "noise"])
@pytest.mark.parametrize("bad", [-0.5, 4.5, float("nan"), "2", True])
def test_bad_multipliers(name, bad):
    with pytest.raises(ValueError, match=name):
        data.SyntheticFaces(4, 2, size=16, **{name: bad})
    with pytest.raises(ValueError, match=name):
        data.render_faces(torch.rand(2, len(data.FACE_PARAM_NAMES)), 16, **{name: bad})

"""Image augmentations for two-view (SimCLR-style) learning, on batches of tensors."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from cl_lessons._checks import (
    check_fraction,
    check_generator,
    check_images,
    check_nonneg,
    check_range,
)
from cl_lessons.data._random import _rand, _randn


def random_affine(
    images: Tensor,
    max_shift: float = 0.1,
    max_rotation_deg: float = 15.0,
    scale_range: tuple[float, float] = (0.9, 1.1),
    generator: torch.Generator | None = None,
    padding_mode: str = "zeros",
) -> Tensor:
    """Random shift, rotation and zoom of every image in a batch, in one ``grid_sample`` call.

    Each image gets its own uniform shift in ``[-max_shift, max_shift]`` (a fraction of the image
    side) on both axes, rotation in ``[-max_rotation_deg, max_rotation_deg]`` degrees and scale in
    ``scale_range`` (``> 1`` zooms in, i.e. a random crop). Bilinear sampling; pixels from outside
    the image are 0 (black) with ``padding_mode="zeros"``. Rotations are exact for square images
    (``affine_grid`` works in coordinates normalised per axis).

    Args:
        images: batch of images, values in [0, 1].
        max_shift: largest shift as a fraction of the side (0.1 = 10 %).
        max_rotation_deg: largest rotation in degrees.
        scale_range: ``(low, high)`` zoom factors, ``0 < low <= high``.
        generator: random generator; ``None`` uses torch's global one.
        padding_mode: ``"zeros"``, ``"border"`` or ``"reflection"`` (as ``F.grid_sample``).

    Returns:
        The transformed batch, same shape, dtype and device.

    Shape:
        ``(N, C, H, W)`` -> ``(N, C, H, W)``.

    Raises:
        ValueError: images not a 4-D float tensor, negative amounts, a bad ``scale_range``.
    """
    check_images(images)
    max_shift = check_nonneg(max_shift, "max_shift")
    max_rotation_deg = check_nonneg(max_rotation_deg, "max_rotation_deg")
    lo, hi = check_range(scale_range, "scale_range")
    if lo <= 0:
        raise ValueError(f"scale_range must be positive, got {scale_range!r}")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"padding_mode must be zeros, border or reflection, got {padding_mode!r}")
    check_generator(generator)
    n, device = images.shape[0], images.device
    u = _rand((n, 4), generator, device)  # (N, 4)
    angle = math.radians(max_rotation_deg) * (2 * u[:, 0] - 1)  # (N,)
    scale = lo + (hi - lo) * u[:, 1]  # (N,)
    shift = 2 * max_shift * (2 * u[:, 2:] - 1)  # (N, 2), grid coordinates span 2 per side
    return _warp(images, angle, scale, shift, padding_mode)


def _warp(images: Tensor, angle: Tensor, scale: Tensor, shift: Tensor, padding_mode: str) -> Tensor:
    """Rotate by ``angle``, zoom by ``scale`` and move by ``shift`` (grid units) each image."""
    cos, sin = angle.cos() / scale, angle.sin() / scale  # (N,) inverse map: output -> input
    theta = torch.stack(
        [
            torch.stack([cos, -sin, -(cos * shift[:, 0] - sin * shift[:, 1])], 1),
            torch.stack([sin, cos, -(sin * shift[:, 0] + cos * shift[:, 1])], 1),
        ],
        1,
    ).to(images.dtype)  # (N, 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)  # (N, H, W, 2)
    return F.grid_sample(
        images, grid, mode="bilinear", padding_mode=padding_mode, align_corners=False
    )


def random_intensity(
    images: Tensor,
    brightness: float = 0.2,
    contrast: float = 0.2,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Random brightness and contrast per image, clamped to [0, 1].

    ``x' = clamp((x - mean) * c + mean + b, 0, 1)`` with ``c ~ U[1 - contrast, 1 + contrast]``
    and ``b ~ U[-brightness, brightness]``, drawn per image; ``mean`` is the image's mean.

    Args:
        images: batch of images, values in [0, 1].
        brightness: largest additive change.
        contrast: largest relative change of contrast (< 1 keeps ``c`` positive).
        generator: random generator; ``None`` uses torch's global one.

    Returns:
        The adjusted batch, same shape.

    Shape:
        ``(N, C, H, W)`` -> ``(N, C, H, W)``.

    Raises:
        ValueError: images not a 4-D float tensor, ``brightness < 0``, ``contrast`` outside [0, 1).
    """
    check_images(images)
    brightness = check_nonneg(brightness, "brightness")
    contrast = check_fraction(contrast, "contrast", high_open=True)
    check_generator(generator)
    n, device = images.shape[0], images.device
    u = _rand((n, 2, 1, 1, 1), generator, device).to(images.dtype)  # (N, 2, 1, 1, 1)
    c = 1 + contrast * (2 * u[:, 0] - 1)  # (N, 1, 1, 1)
    b = brightness * (2 * u[:, 1] - 1)  # (N, 1, 1, 1)
    mean = images.mean(dim=(1, 2, 3), keepdim=True)  # (N, 1, 1, 1)
    return ((images - mean) * c + mean + b).clamp(0.0, 1.0)


def add_noise(
    images: Tensor, std: float = 0.05, generator: torch.Generator | None = None
) -> Tensor:
    """Add Gaussian pixel noise of standard deviation ``std`` and clamp to [0, 1].

    Args:
        images: batch of images, values in [0, 1].
        std: noise standard deviation.
        generator: random generator; ``None`` uses torch's global one.

    Returns:
        The noisy batch, same shape.

    Shape:
        ``(N, C, H, W)`` -> ``(N, C, H, W)``.

    Raises:
        ValueError: images not a 4-D float tensor or ``std < 0``.
    """
    check_images(images)
    std = check_nonneg(std, "std")
    check_generator(generator)
    noise = _randn(images.shape, generator, images.device).to(images.dtype)  # (N, C, H, W)
    return (images + std * noise).clamp(0.0, 1.0)


def random_erasing(
    images: Tensor,
    p: float = 0.5,
    area_range: tuple[float, float] = (0.02, 0.2),
    value: float = 0.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Random Erasing (Zhong et al. 2020, https://arxiv.org/abs/1708.04896), vectorised.

    With probability ``p`` per image, a rectangle covering a fraction of the image drawn from
    ``area_range``, with aspect ratio between 1/2 and 2 and a random centre (clipped at the
    border), is set to ``value``.

    Args:
        images: batch of images, values in [0, 1].
        p: probability that an image is erased, in [0, 1].
        area_range: ``(low, high)`` share of the image area, within [0, 1].
        value: fill value.
        generator: random generator; ``None`` uses torch's global one.

    Returns:
        The batch with erased rectangles, same shape.

    Shape:
        ``(N, C, H, W)`` -> ``(N, C, H, W)``.

    Raises:
        ValueError: images not a 4-D float tensor, ``p`` outside [0, 1], a bad ``area_range``.
    """
    check_images(images)
    p = check_fraction(p, "p")
    lo, hi = check_range(area_range, "area_range")
    if hi > 1:
        raise ValueError(f"area_range must lie within [0, 1], got {area_range!r}")
    check_generator(generator)
    n, _, h, w = images.shape
    device = images.device
    u = _rand((n, 5), generator, device)  # (N, 5)
    area = lo + (hi - lo) * u[:, 0]  # (N,) fraction of the image
    aspect = torch.exp(math.log(2.0) * (2 * u[:, 1] - 1))  # (N,) in [1/2, 2]
    half_h = 0.5 * torch.sqrt(area * aspect)  # (N,) fraction of the height
    half_w = 0.5 * torch.sqrt(area / aspect)
    cy, cx = u[:, 2], u[:, 3]  # (N,) centres in [0, 1)
    apply = u[:, 4] < p  # (N,)
    ys = (torch.arange(h, device=device) + 0.5) / h  # (H,)
    xs = (torch.arange(w, device=device) + 0.5) / w  # (W,)
    in_y = (ys[None, :] - cy[:, None]).abs() <= half_h[:, None]  # (N, H)
    in_x = (xs[None, :] - cx[:, None]).abs() <= half_w[:, None]  # (N, W)
    mask = in_y[:, :, None] & in_x[:, None, :] & apply[:, None, None]  # (N, H, W)
    return images.masked_fill(mask[:, None], value)


def augment(
    images: Tensor, strength: float = 1.0, generator: torch.Generator | None = None
) -> Tensor:
    """The course's SimCLR-style augmentation for small grayscale images, one call per batch.

    With ``s = strength``: random affine (shift up to ``0.1 s`` of the side, rotation up to
    ``15 s`` degrees, scale in ``[1 - 0.1 s, 1 + 0.1 s]``), then brightness ``0.2 s`` and contrast
    ``min(0.2 s, 0.9)``, Random Erasing with probability ``min(0.3 s, 1)`` (2-15 % of the area),
    then Gaussian noise of std ``0.05 s``. ``strength=0`` returns the images unchanged. SimCLR
    (Chen et al. 2020, https://arxiv.org/abs/2002.05709) shows that the choice of augmentations
    decides what the representation becomes invariant to.

    Args:
        images: batch of images, values in [0, 1].
        strength: scales every augmentation, in [0, 2] (0 = none, 1 = default).
        generator: random generator; ``None`` uses torch's global one.

    Returns:
        The augmented batch, same shape, values in [0, 1].

    Shape:
        ``(N, C, H, W)`` -> ``(N, C, H, W)``.

    Raises:
        ValueError: images not a 4-D float tensor, ``strength`` outside [0, 2].
    """
    check_images(images)
    s = check_nonneg(strength, "strength")
    if s > 2:
        raise ValueError(f"strength must be in [0, 2], got {strength}")
    check_generator(generator)
    if s == 0:
        return images.clone()
    out = random_affine(images, 0.1 * s, 15.0 * s, (1 - 0.1 * s, 1 + 0.1 * s), generator)
    out = random_intensity(out, 0.2 * s, min(0.2 * s, 0.9), generator)
    out = random_erasing(out, min(0.3 * s, 1.0), (0.02, 0.15), 0.0, generator)
    return add_noise(out, 0.05 * s, generator)


def two_views(
    images: Tensor, generator: torch.Generator | None = None, strength: float = 1.0
) -> tuple[Tensor, Tensor]:
    """Two independently augmented views of each image, the positive pairs of SimCLR.

    Both views come from one :func:`augment` call on the doubled batch.

    Args:
        images: batch of images, values in [0, 1].
        generator: random generator; ``None`` uses torch's global one.
        strength: passed to :func:`augment`.

    Returns:
        ``(v1, v2)``: row ``i`` of each is a view of image ``i``.

    Shape:
        ``(N, C, H, W)`` -> two ``(N, C, H, W)``.

    Raises:
        ValueError: as :func:`augment`.
    """
    check_images(images)
    both = augment(torch.cat([images, images]), strength, generator)  # (2N, C, H, W)
    return both[: len(images)], both[len(images) :]


def _pick_images(images: Tensor, indices_or_images) -> Tensor:
    if isinstance(indices_or_images, Tensor) and indices_or_images.is_floating_point():
        check_images(indices_or_images, "indices_or_images")
        return indices_or_images
    return images[torch.as_tensor(indices_or_images, dtype=torch.long)]


class _ImageSet:
    """What the image datasets share: ``images`` ``(N, 1, H, W)``, ``labels`` ``(N,)``, views."""

    images: Tensor
    labels: Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index) -> tuple[Tensor, Tensor]:
        return self.images[index], self.labels[index]

    def views(
        self, indices_or_images, generator: torch.Generator | None = None, strength: float = 1.0
    ) -> tuple[Tensor, Tensor]:
        """Two fresh augmented views (see :func:`two_views`) of some images, for SimCLR.

        Args:
            indices_or_images: indices into this set, or a batch of images ``(B, 1, H, W)``.
            generator: random generator; ``None`` uses torch's global one.
            strength: augmentation strength.

        Returns:
            ``(v1, v2)``, each ``(B, 1, size, size)``.
        """
        return two_views(_pick_images(self.images, indices_or_images), generator, strength)

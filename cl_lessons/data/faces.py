"""Procedural faces: ``render_faces`` and ``SyntheticFaces``, a dataset with many identities."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from cl_lessons._checks import (
    check_generator,
    check_int,
    check_nonneg,
    check_number_in,
    check_seed,
)
from cl_lessons.data._random import _rand, _randn
from cl_lessons.data.augmentations import _ImageSet

FACE_PARAM_NAMES: tuple[str, ...] = (
    "face_width",
    "face_height",
    "skin_tone",
    "hair_line",
    "hair_tone",
    "eye_spacing",
    "eye_height",
    "eye_size",
    "brow_angle",
    "brow_gap",
    "brow_thickness",
    "nose_length",
    "nose_width",
    "mouth_width",
    "mouth_height",
    "mouth_curvature",
)
"""Names of the identity parameters of :class:`SyntheticFaces` (columns of ``params``), each in
[0, 1] and mapped linearly to the ranges in ``_FACE_RANGES``."""


# (low, high) in canonical face coordinates: x right, y down, the frame spans [-1, 1].
_FACE_RANGES = torch.tensor(
    [
        [0.50, 0.74],  # face_width: half-width of the head ellipse
        [0.66, 0.88],  # face_height: half-height
        [0.55, 0.95],  # skin_tone: grey level of the face
        [-0.70, -0.20],  # hair_line: y where the hair ends
        [0.02, 0.40],  # hair_tone: grey level of the hair
        [0.16, 0.36],  # eye_spacing: half the distance between the eyes
        [-0.22, 0.05],  # eye_height: y of the eyes
        [0.06, 0.13],  # eye_size: half-width of an eye
        [-0.45, 0.45],  # brow_angle: radians, inner end up (+) or down (-)
        [0.10, 0.24],  # brow_gap: brow height above the eye
        [0.025, 0.06],  # brow_thickness
        [0.12, 0.36],  # nose_length
        [0.035, 0.11],  # nose_width
        [0.12, 0.34],  # mouth_width: half-width
        [0.30, 0.56],  # mouth_height: y of the mouth
        [-0.9, 0.9],  # mouth_curvature: smile (+) or frown (-), at rest
    ]
)


def _soft_ellipse(u: Tensor, v: Tensor, a: Tensor, b: Tensor, soft: float) -> Tensor:
    """Soft mask (1 inside, 0 outside) of the axis-aligned ellipse with half-axes ``a``, ``b``."""
    k = torch.minimum(a, b) / soft  # (N, 1, 1) edge sharpness
    r = torch.hypot(u / a, v / b)  # (N, H, W) elliptic radius, 1 on the rim
    return torch.sigmoid_(r.mul_(-k).add_(k))


def _paint(img: Tensor, mask: Tensor, value) -> Tensor:
    """Blend ``value`` over ``img`` with weight ``mask`` (one fused op)."""
    value = torch.as_tensor(value, dtype=img.dtype, device=img.device)
    return torch.lerp(img, value.expand_as(img), mask)


def _check_factors(lighting, rotation, noise) -> tuple[float, float, float]:
    """The three nuisance multipliers, each a number in [0, 4]."""
    return tuple(
        check_number_in(v, name, 0.0, 4.0)
        for v, name in ((lighting, "lighting"), (rotation, "rotation"), (noise, "noise"))
    )


def render_faces(
    params: Tensor,
    size: int = 32,
    nuisance: float = 1.0,
    generator: torch.Generator | None = None,
    lighting: float = 1.0,
    rotation: float = 1.0,
    noise: float = 1.0,
) -> Tensor:
    """Draw one face-like grayscale image per row of identity parameters, vectorised.

    Each face is a composition of soft shapes on a coordinate grid: head ellipse, hair above the
    hair line, two eyes, two tilted brows, a nose and a curved mouth, placed by the identity
    ``params`` (see :data:`FACE_PARAM_NAMES`). The nuisance, drawn per image and scaled by
    ``nuisance``, is what the views of one identity differ by: shift (up to 8.5 % of the side),
    rotation (up to 8 degrees), scale (0.895-1.085), background level, a lighting gradient in a
    random direction (up to ±25 %), brightness and contrast, expression (mouth curvature, brow
    height, eye openness) and pixel noise (std 0.03); all amounts at ``nuisance=1``.

    ``lighting``, ``rotation`` and ``noise`` multiply single factors on top of ``nuisance``, to
    render a *population shift* (harder conditions than training saw): ``lighting`` scales the
    lighting gradient, brightness and contrast changes, ``rotation`` the rotation angle and
    ``noise`` the pixel noise. At their default 1 the images are bit for bit those of before.

    Args:
        params: identity parameters in [0, 1].
        size: image side in pixels (>= 8).
        nuisance: 0 draws the canonical face, 1 the default variation, up to 2.
        generator: random generator for the nuisance; ``None`` uses torch's global one.
        lighting: multiplier of the lighting variation, in [0, 4].
        rotation: multiplier of the rotation angle, in [0, 4].
        noise: multiplier of the pixel noise, in [0, 4].

    Returns:
        float32 images in [0, 1].

    Shape:
        ``params``: ``(N, P)`` with ``P = len(FACE_PARAM_NAMES)`` -> ``(N, 1, size, size)``.

    Raises:
        ValueError: ``params`` of the wrong shape or outside [0, 1], bad ``size``, ``nuisance``
            or factor multiplier.
    """
    if not isinstance(params, Tensor) or params.ndim != 2 or params.shape[1] != len(_FACE_RANGES):
        shape = tuple(params.shape) if isinstance(params, Tensor) else type(params).__name__
        raise ValueError(f"params must be a tensor of shape (N, {len(_FACE_RANGES)}), got {shape}")
    if not params.is_floating_point() or bool((params < 0).any() | (params > 1).any()):
        raise ValueError("params must be floating-point values in [0, 1]")
    size = check_int(size, "size", 8)
    s = check_nonneg(nuisance, "nuisance")
    if s > 2:
        raise ValueError(f"nuisance must be in [0, 2], got {nuisance}")
    check_generator(generator)
    s_light, s_rot, s_noise = (s * m for m in _check_factors(lighting, rotation, noise))
    n = params.shape[0]
    ranges = _FACE_RANGES.to(params.device)
    q = ranges[:, 0] + params.float() * (ranges[:, 1] - ranges[:, 0])  # (N, P) physical values
    q = q[:, :, None, None]  # (N, P, 1, 1) to broadcast over the grid
    (fw, fh, skin, hair_y, hair, eye_dx, eye_y, eye_w) = q[:, :8].unbind(1)
    (brow_a, brow_gap, brow_t, nose_l, nose_w, mouth_w, mouth_y, mouth_c) = q[:, 8:].unbind(1)

    z = _rand((n, 12), generator, params.device)  # (N, 12) nuisance draws in [0, 1)
    w = 2 * z - 1  # (N, 12) in [-1, 1)
    angle = math.radians(8.0) * s_rot * w[:, 0]
    scale = 1.0 + s * (0.095 * w[:, 1] - 0.01)  # 0.895..1.085 at s = 1
    shift = 0.17 * s * w[:, 2:4]  # (N, 2) in grid units (2 per side)
    bg = 0.25 + 0.1 * s * w[:, 4]
    light_dir = math.pi * w[:, 5]
    light_amp = 0.25 * s_light * z[:, 6]
    bright = 0.085 * s_light * w[:, 7]
    mouth_c = mouth_c + 0.25 * s * w[:, 8, None, None]  # expression
    brow_gap = brow_gap + 0.03 * s * w[:, 9, None, None]
    eye_open = 1.0 - 0.25 * s * z[:, 10, None, None]
    contrast = 1.0 + 0.14 * s_light * w[:, 11]

    # pixel grid -> canonical face coordinates (inverse of rotate, scale, shift)
    t = (torch.arange(size, device=params.device, dtype=torch.float32) + 0.5) / size * 2 - 1
    gy, gx = torch.meshgrid(t, t, indexing="ij")  # (H, W) image coordinates, y down
    dx = gx[None] - shift[:, 0, None, None]  # (N, H, W)
    dy = gy[None] - shift[:, 1, None, None]
    cos, sin = angle.cos()[:, None, None], angle.sin()[:, None, None]
    sc = scale[:, None, None]
    u = (cos * dx + sin * dy) / sc  # (N, H, W)
    v = (-sin * dx + cos * dy) / sc
    soft = 0.7 / size  # edges about one pixel wide

    img = bg[:, None, None].expand(n, size, size)  # (N, H, W)
    head = _soft_ellipse(u, v + 0.05, fw, fh, soft)
    img = _paint(img, head, skin)
    hair_zone = _soft_ellipse(u, v + 0.08, fw * 1.08, fh * 1.05, soft)
    img = _paint(img, hair_zone * torch.sigmoid((hair_y - v) / soft), hair)
    for side in (-1.0, 1.0):
        ex = u - side * eye_dx  # (N, H, W)
        eye = _soft_ellipse(ex, v - eye_y, eye_w, eye_w * 0.55 * eye_open, soft)
        img = _paint(img, eye, 0.05)
        ba = side * brow_a  # mirrored tilt
        bx, by = ex, v - (eye_y - brow_gap)
        bu = bx * ba.cos() + by * ba.sin()
        bv = -bx * ba.sin() + by * ba.cos()
        brow = _soft_ellipse(bu, bv, eye_w * 1.5, brow_t, soft)
        img = _paint(img, brow, hair * 0.8)
    nose = _soft_ellipse(u, v - (eye_y + 0.05 + nose_l / 2), nose_w, nose_l / 2, soft)
    img = _paint(img, nose, skin * 0.7)
    curve = mouth_y - mouth_c * (u**2 - mouth_w**2 / 3) / mouth_w.clamp_min(1e-3)  # (N, H, W)
    lip = torch.exp(-(((v - curve) / 0.045) ** 2)) * torch.sigmoid((mouth_w - u.abs()) / soft)
    img = _paint(img, lip, 0.1)

    # lighting: a gradient across the image, brightness and contrast, then noise
    gain = 1 + light_amp[:, None, None] * (
        light_dir.cos()[:, None, None] * gx + light_dir.sin()[:, None, None] * gy
    )
    img = img * gain
    mean = img.mean(dim=(1, 2), keepdim=True)
    img = (img - mean) * contrast[:, None, None] + mean + bright[:, None, None]
    pixel_noise = _randn((n, size, size), generator, params.device)
    img = img + 0.03 * s_noise * pixel_noise
    return img.clamp(0.0, 1.0).unsqueeze(1)  # (N, 1, H, W)


class SyntheticFaces(_ImageSet):
    """Procedurally drawn face-like images with many identities, for verification on unseen ones.

    An identity is a vector of shape parameters (:data:`FACE_PARAM_NAMES`: face width and height,
    skin and hair tone, hair line, eye spacing/height/size, brow angle/height/thickness, nose
    length/width, mouth width/height/curvature), drawn uniformly in [0, 1]. Each of its
    ``images_per_identity`` views is rendered by :func:`render_faces` under a fresh nuisance
    (pose, lighting, expression, noise), so raw pixels are a poor identity signal while a small
    conv net can learn one that transfers to identities it never saw.

    Deterministic by ``seed``: identity parameters come from ``seed`` and the nuisance from a
    second stream derived from it. Rendering is vectorised (chunks of 2,048 images).

    Args:
        num_identities: number of identities (>= 2).
        images_per_identity: views per identity (>= 1).
        size: image side in pixels (>= 8).
        seed: random seed.
        nuisance: strength of the per-view variation (0 = identical views, 1 = default, max 2).
        lighting: multiplier of the lighting variation on top of ``nuisance`` (in [0, 4]).
        rotation: multiplier of the rotation angle (in [0, 4]).
        noise: multiplier of the pixel noise (in [0, 4]). The same ``seed`` with other
            multipliers gives the *same identities* under harder (or easier) conditions: a
            population shift of the kind a deployed verifier meets (lesson 10).

    Attributes:
        images: float32 ``(N, 1, size, size)`` in [0, 1], ``N = num_identities *
            images_per_identity``, grouped by identity.
        labels: int64 ``(N,)`` identity ids ``0 .. num_identities - 1``.
        params: float32 ``(num_identities, P)`` identity parameters in [0, 1].

    Raises:
        ValueError: bad sizes, seed or nuisance.
    """

    param_names = FACE_PARAM_NAMES

    def __init__(
        self,
        num_identities: int = 500,
        images_per_identity: int = 10,
        size: int = 32,
        seed: int = 0,
        nuisance: float = 1.0,
        lighting: float = 1.0,
        rotation: float = 1.0,
        noise: float = 1.0,
    ):
        self.num_identities = check_int(num_identities, "num_identities", 2)
        self.images_per_identity = check_int(images_per_identity, "images_per_identity", 1)
        self.size = check_int(size, "size", 8)
        self.seed = check_seed(seed)
        self.nuisance = check_nonneg(nuisance, "nuisance")
        if self.nuisance > 2:
            raise ValueError(f"nuisance must be in [0, 2], got {nuisance}")
        self.lighting, self.rotation, self.noise = _check_factors(lighting, rotation, noise)
        gen_id = torch.Generator().manual_seed(self.seed)
        self.params = torch.rand(self.num_identities, len(FACE_PARAM_NAMES), generator=gen_id)
        self.labels = torch.arange(self.num_identities).repeat_interleave(self.images_per_identity)
        gen_view = torch.Generator().manual_seed(self.seed + 7919)  # an independent stream
        chunks = [
            render_faces(self.params[lab], self.size, self.nuisance, gen_view, *self._factors)
            for lab in torch.split(self.labels, 2048)
        ]
        self.images = torch.cat(chunks)  # (N, 1, size, size)

    def split_identities(self, num_train: int) -> tuple[Tensor, Tensor]:
        """Split the images by identity: identities ``0 .. num_train - 1`` train, the rest test.

        Identities are drawn independently, so taking the first ``num_train`` is a random split;
        no identity is in both parts.

        Args:
            num_train: number of training identities, in [1, num_identities - 1].

        Returns:
            ``(train_idx, test_idx)``: int64 indices into ``images`` / ``labels``.

        Raises:
            ValueError: ``num_train`` outside [1, num_identities - 1].
        """
        num_train = check_int(num_train, "num_train", 1)
        if num_train >= self.num_identities:
            raise ValueError(
                f"num_train must be < num_identities ({self.num_identities}), got {num_train}"
            )
        is_train = self.labels < num_train
        return torch.nonzero(is_train).squeeze(1), torch.nonzero(~is_train).squeeze(1)

    def render_identity(
        self, identity: int, num_views: int = 8, generator: torch.Generator | None = None
    ) -> Tensor:
        """Fresh views of one identity under new nuisance (for widgets and illustrations).

        Shape:
            ``(num_views, 1, size, size)``.

        Raises:
            ValueError: ``identity`` out of range or ``num_views < 1``.
        """
        identity = check_int(identity, "identity", 0)
        if identity >= self.num_identities:
            raise ValueError(f"identity must be < {self.num_identities}, got {identity}")
        num_views = check_int(num_views, "num_views", 1)
        rows = self.params[identity].expand(num_views, -1)
        return render_faces(rows, self.size, self.nuisance, generator, *self._factors)

    @property
    def _factors(self) -> tuple[float, float, float]:
        return self.lighting, self.rotation, self.noise

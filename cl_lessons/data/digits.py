"""scikit-learn's 8x8 handwritten digits as an image tensor (ships offline)."""

from __future__ import annotations

import torch
from torch import Tensor


def load_digits(as_images: bool = False) -> tuple[Tensor, Tensor]:
    """scikit-learn's 1,797 handwritten digits (8x8, 10 classes), pixel values scaled to [0, 1].

    Ships with scikit-learn, so it works offline.

    Args:
        as_images: return images ``(N, 1, 8, 8)`` instead of flat vectors ``(N, 64)``.

    Returns:
        ``(X, y)``: float32 pixels in [0, 1] and int64 labels 0-9.

    Shape:
        ``X``: ``(1797, 64)`` or ``(1797, 1, 8, 8)``, ``y``: ``(1797,)``.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    X = torch.as_tensor(bunch.data, dtype=torch.float32) / 16.0  # (1797, 64), raw values 0..16
    y = torch.as_tensor(bunch.target, dtype=torch.int64)
    if as_images:
        X = X.reshape(-1, 1, 8, 8)
    return X, y

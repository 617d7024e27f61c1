"""Random numbers from a caller's ``torch.Generator`` (on its own device), moved to ``device``."""

from __future__ import annotations

import torch
from torch import Tensor


def _rand(shape, generator, device, dtype=torch.float32) -> Tensor:
    """Uniform [0, 1) numbers drawn from ``generator`` (on its own device), moved to ``device``."""
    gen_device = generator.device if generator is not None else device
    return torch.rand(shape, generator=generator, device=gen_device, dtype=dtype).to(device)


def _randn(shape, generator, device, dtype=torch.float32) -> Tensor:
    gen_device = generator.device if generator is not None else device
    return torch.randn(shape, generator=generator, device=gen_device, dtype=dtype).to(device)


def _uniform(shape, low: float, high: float, generator, device) -> Tensor:
    return low + (high - low) * _rand(shape, generator, device)

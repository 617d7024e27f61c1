"""Input validation shared by every module of the package (private).

Public functions validate their arguments once, at the boundary, with these helpers and then trust
them; internals never re-check. Every helper raises ``ValueError`` whose message starts with the
argument's name, so a learner sees *which* argument was wrong.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import torch
from torch import Tensor

LOW_PRECISION = (torch.float16, torch.bfloat16)
"""Dtypes computed in float32 by the losses and metrics (what ``torch.autocast`` does)."""


# ------------------------------------------------------------------------------------ numbers


def _as_real(value):
    """A 0-d real tensor or array as its Python number; anything else unchanged."""
    if isinstance(value, (Tensor, np.ndarray)) and value.ndim == 0 and value.dtype != bool:
        if not (value.is_complex() if isinstance(value, Tensor) else np.iscomplexobj(value)):
            return value.item()
    return value


def check_int(value, name: str, minimum: int) -> int:
    """An integer (Python or NumPy, or a 0-d integer tensor; not bool) that is ``>= minimum``."""
    value = _as_real(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_positive_int(value, name: str) -> int:
    """An integer (Python or NumPy, or a 0-d integer tensor; not bool) that is ``>= 1``."""
    value = _as_real(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_real(value, name: str):
    """A finite real number (a 0-d tensor or array counts), returned as a Python number."""
    value = _as_real(value)
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return value


def check_bool(value, name: str) -> bool:
    """A flag: ``True`` or ``False`` (or a NumPy bool), not a string or a number."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_nonneg(value, name: str) -> float:
    """A finite real number ``>= 0``, returned as float."""
    value = _check_real(value, name)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return float(value)


def check_positive(value, name: str) -> float:
    """A finite real number ``> 0``, returned as float."""
    value = _check_real(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return float(value)


def check_finite(value, name: str) -> float:
    """A finite real number, returned as float."""
    return float(_check_real(value, name))


def check_number_in(value, name: str, lo: float, hi: float) -> float:
    """A finite real number in ``[lo, hi]``, returned as float."""
    value = _check_real(value, name)
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {value!r}")
    return float(value)


def check_int_in(value, name: str, lo: int, hi: int) -> int:
    """An integer (Python or NumPy, not bool) in ``[lo, hi]``."""
    value = check_int(value, name, lo)
    if value > hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {value}")
    return value


SEED_MAX = 2**32 - 1
"""The largest seed every generator accepts (NumPy's legacy seeding stops at 2**32 - 1)."""


def check_seed(value, name: str = "seed") -> int:
    """A seed: an integer in ``[0, 2**32 - 1]``."""
    return check_int_in(value, name, 0, SEED_MAX)


def check_fraction(value, name: str, low_open: bool = False, high_open: bool = False) -> float:
    """A number in [0, 1]; ``low_open`` / ``high_open`` exclude 0 / 1."""
    value = check_nonneg(value, name)
    if value > 1 or (low_open and value == 0) or (high_open and value == 1):
        lo = "(0" if low_open else "[0"
        hi = "1)" if high_open else "1]"
        raise ValueError(f"{name} must be in {lo}, {hi}, got {value}")
    return value


def check_range(value, name: str, low: float = 0.0) -> tuple[float, float]:
    """A pair ``(a, b)`` of finite numbers with ``low <= a <= b``."""
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}") from None
    if not (math.isfinite(a) and math.isfinite(b)) or a < low or a > b:
        raise ValueError(f"{name} must satisfy {low} <= low <= high, got {value!r}")
    return a, b


def check_choice(value, name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_generator(generator) -> None:
    """A ``torch.Generator`` or None."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator or None, got {generator!r}")


# ------------------------------------------------------------------------------------ tensors


def all_finite(x: Tensor) -> bool:
    """``isfinite(x).all()``, usually by one sum (13x cheaper at 512 x 128 on CPU).

    A NaN or an Inf anywhere makes the sum NaN or Inf; a finite sum therefore proves every entry
    finite. Only a sum that is not finite (bad entries, or finite ones that overflow) pays for
    the element-wise test. A tensor on the meta device has no values, so nothing to check.
    """
    if x.is_meta:
        return True
    return math.isfinite(float(x.detach().sum())) or bool(torch.isfinite(x).all())


def check_float_tensor(x, name: str) -> None:
    """A floating-point ``torch.Tensor`` (any shape)."""
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")


def check_has_values(x: Tensor, name: str) -> None:
    """Not on the meta device, which has shapes but no values to compute with."""
    if x.is_meta:
        raise ValueError(
            f"{name} is on the meta device, which holds no values; "
            "pass a tensor on the CPU or a GPU"
        )


def check_embeddings(x, name: str) -> Tensor:
    """A 2-D, non-empty, finite floating-point tensor ``(N, D)``; low precision is upcast."""
    check_float_tensor(x, name)
    check_has_values(x, name)
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, D), got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (shape {tuple(x.shape)})")
    if x.shape[1] == 0:
        raise ValueError(f"{name} has no features (shape {tuple(x.shape)})")
    if not all_finite(x):
        raise ValueError(f"{name} contains NaN or Inf values")
    return x.float() if x.dtype in LOW_PRECISION else x


def check_images(images, name: str = "images") -> None:
    """A floating-point ``(N, C, H, W)`` tensor."""
    check_float_tensor(images, name)
    if images.ndim != 4:
        raise ValueError(f"{name} must be 4-D (N, C, H, W), got shape {tuple(images.shape)}")


def check_same_shape(a: Tensor, b: Tensor, name_a: str, name_b: str) -> None:
    """Two tensors of the same shape on the same device."""
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, "
            f"got {name_a} {tuple(a.shape)}, {name_b} {tuple(b.shape)}"
        )
    if a.device != b.device:
        raise ValueError(f"{name_a} is on {a.device} but {name_b} is on {b.device}")


def as_tensor_1d(values, name: str, n: int | None, device) -> Tensor:
    """A 1-D tensor of finite numbers, of length ``n`` when given, moved to ``device``."""
    if isinstance(values, Tensor):
        check_has_values(values, name)
        t = values.detach()
    else:
        try:
            t = torch.as_tensor(np.asarray(values))
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must be a 1-D array of numbers, got {values!r}") from err
    if t.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(t.shape)}")
    if n is not None and t.shape[0] != n:
        raise ValueError(f"{name} has length {t.shape[0]} but the batch has {n} rows")
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or Inf values")
    return t.to(device) if device is not None else t


# ------------------------------------------------------------------------------------ labels


def check_labels(labels, n: int | None, device=None, name: str = "labels") -> Tensor:
    """Class labels: 1-D integers (or integer-valued floats / bools) of length ``n`` -> long."""
    t = as_tensor_1d(labels, name, n, device)
    if t.dtype == torch.bool:
        return t.long()
    if t.is_complex() or (t.is_floating_point() and not bool((t == t.round()).all())):
        raise ValueError(f"{name} must hold integer class labels, got dtype {t.dtype}")
    return t.long()


def check_class_ids(labels, name: str = "labels") -> Tensor:
    """Class ids of a dataset: a non-empty 1-D tensor of an *integer* dtype -> long.

    Stricter than :func:`check_labels`: the data builders refuse float and bool labels, which
    there are almost always a features tensor passed in the wrong place.
    """
    t = torch.as_tensor(labels)
    if t.ndim != 1:
        raise ValueError(f"{name} must be 1-D (N,), got shape {tuple(t.shape)}")
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer class ids, got dtype {t.dtype}")
    if t.numel() == 0:
        raise ValueError(f"{name} must not be empty")
    return t.long()


def check_binary(y, n: int, device, dtype, name: str = "y") -> Tensor:
    """Pair labels in {0, 1} (bool, int or float) of length ``n``, returned as ``dtype``."""
    t = as_tensor_1d(y, name, n, device)
    if t.is_complex() or not bool(((t == 0) | (t == 1)).all()):
        bad = t[(t != 0) & (t != 1)][:3].tolist()
        raise ValueError(f"{name} must be binary labels in {{0, 1}} (1 = similar), got {bad}")
    return t.to(dtype)

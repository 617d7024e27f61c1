"""Runtime helpers: device choice, seeding, fast mode and an environment report."""

from __future__ import annotations

import os
import platform
import random

import numpy as np
import torch

from cl_lessons._checks import check_seed

__all__ = [
    "FAST",
    "available_devices",
    "describe_environment",
    "fast",
    "get_device",
    "lesson_threads",
    "resolve_device",
    "seed_everything",
    "seed_offset",
]

FAST: bool = os.environ.get("CL_LESSONS_FAST", "0").strip().lower() in {"1", "true", "yes", "on"}
"""True when the environment variable ``CL_LESSONS_FAST=1`` asks for quick lesson sizes."""


def fast(default, quick):
    """Pick a lesson size: ``quick`` in fast mode (tests), ``default`` otherwise.

    Args:
        default: value used by a learner (full mode).
        quick: value used when ``CL_LESSONS_FAST=1`` (the notebook tests).

    Returns:
        ``quick`` if fast mode is on, else ``default``. The variable is read at call time, so a
        notebook that sets ``os.environ["CL_LESSONS_FAST"]`` before calling sees the change.
    """
    env = os.environ.get("CL_LESSONS_FAST")
    on = FAST if env is None else env.strip().lower() in {"1", "true", "yes", "on"}
    return quick if on else default


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[str]:
    """Names of the device types usable here, best first (for example ``["cuda", "cpu"]``)."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if _mps_available():
        found.append("mps")
    found.append("cpu")
    return found


def lesson_threads() -> int:
    """CPU threads the lessons give PyTorch: ``CL_LESSONS_THREADS``, else 1 (0: PyTorch's default).

    The lessons' models are tiny, so a training step is many small kernels. Measured with
    ``benchmarks/threads.py`` on a 2-core machine, a second thread helped a little on an idle
    machine (the small CNN: 51 against 36 steps/s) and cost 2x to 40x as soon as anything else
    ran (a browser, a projector, a second kernel), with OpenMP's default spinning wait. One
    thread is the choice that never falls off that cliff.

    Raises:
        ValueError: ``CL_LESSONS_THREADS`` is not a non-negative integer.
    """
    raw = os.environ.get("CL_LESSONS_THREADS", "1").strip()
    if not raw.isdigit():
        raise ValueError(f"CL_LESSONS_THREADS must be a non-negative integer, got {raw!r}")
    return int(raw)


def get_device(prefer: str | None = None) -> torch.device:
    """Choose the device to train on: CUDA if present, else the CPU.

    Apple's MPS is used only when asked for (``prefer="mps"``): it is untested here, and for
    lesson-sized models its per-kernel launch cost makes it slower than the CPU.

    This is the setup call of every lesson: on the CPU it also sets PyTorch's thread count to
    :func:`lesson_threads` (1 unless ``CL_LESSONS_THREADS`` says otherwise), the fastest
    choice for lesson-sized models. :func:`cl_lessons.training.fit` does not change threads.

    Args:
        prefer: ``None`` for the best available; ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"mps"``
            to force one.

    Returns:
        A ``torch.device``.

    Raises:
        ValueError: ``prefer`` is not a device name, or names a device that is not available
            here (the message lists the ones that are); a bad ``CL_LESSONS_THREADS``.
    """
    device = resolve_device(prefer, "prefer")
    threads = lesson_threads()
    if device.type == "cpu" and threads:
        torch.set_num_threads(threads)
    return device


def resolve_device(value, name: str = "device") -> torch.device:
    """:func:`get_device` for an argument called ``name`` (``None``: the best available).

    Raises:
        ValueError: ``value`` is not a device name (or ``torch.device``), or names a device
            that is not available here; the message names ``name`` and lists what is available.
    """
    devices = available_devices()
    if value is None:  # CUDA when present, else the CPU; Apple's MPS only when asked for
        return torch.device("cuda" if "cuda" in devices else "cpu")
    try:
        dev = torch.device(value)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"{name} must be a device name such as 'cpu' or 'cuda', got {value!r}"
        ) from err
    if dev.type not in devices:
        raise ValueError(
            f"{name}={value!r} asks for a {dev.type!r} device, which is not available here; "
            f"available: {', '.join(devices)}"
        )
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(
            f"{name}={value!r}: only {torch.cuda.device_count()} CUDA device(s) are available"
        )
    return dev


def seed_offset() -> int:
    """``CL_LESSONS_SEED_OFFSET``: a number added to every seed :func:`seed_everything` sets (0).

    The lessons seed every run, so a learner sees the numbers the prose quotes. A claim that
    could hold by luck is checked by running the lesson again with another offset
    (``make full`` does this for the lessons that compare training runs): every seed moves,
    and every assert must still hold.

    Raises:
        ValueError: ``CL_LESSONS_SEED_OFFSET`` is not a non-negative integer.
    """
    raw = os.environ.get("CL_LESSONS_SEED_OFFSET", "0").strip()
    if not raw.isdigit():
        raise ValueError(f"CL_LESSONS_SEED_OFFSET must be a non-negative integer, got {raw!r}")
    return int(raw)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's ``random``, NumPy, and PyTorch (CPU and every CUDA device).

    Args:
        seed: an integer in [0, 2**32 - 1]. :func:`seed_offset` is added to it (modulo 2**32);
            it is 0 unless ``CL_LESSONS_SEED_OFFSET`` is set.

    Returns:
        A fresh ``torch.Generator`` seeded with the same seed, handy for ``generator=``
        arguments.

    Raises:
        ValueError: ``seed`` is not an integer in [0, 2**32 - 1]; a bad
            ``CL_LESSONS_SEED_OFFSET``.
    """
    seed = (check_seed(seed) + seed_offset()) % 2**32
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the legacy global RNG that sklearn/umap use)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return torch.Generator().manual_seed(seed)


def describe_environment() -> dict[str, str]:
    """Versions, device and thread count, for the environment check of lesson 00.

    Returns:
        An ordered dict of name -> value strings (python, torch, numpy, scikit-learn, matplotlib,
        ipywidgets, umap-learn, device, threads, fast mode).
    """
    from importlib import metadata

    info = {"python": platform.python_version(), "platform": platform.platform(terse=True)}
    for name in [
        "torch",
        "numpy",
        "scikit-learn",
        "matplotlib",
        "ipywidgets",
        "ipympl",
        "umap-learn",
    ]:
        try:
            info[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            info[name] = "not installed"
    dev = get_device()
    info["device"] = str(dev)
    if dev.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(dev)
    info["torch threads"] = str(torch.get_num_threads())
    info["cpu cores"] = str(os.cpu_count())
    info["fast mode"] = str(fast(False, True))
    return info

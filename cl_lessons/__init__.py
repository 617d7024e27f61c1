"""cl_lessons: the helper package of the course "Contrastive Learning, Hands-On".

Import it as ``import cl_lessons as cl``. Submodules hold one concept each (``cl.distances``,
``cl.losses``, ``cl.miners``, ...) and are loaded on first attribute access, so
``import cl_lessons`` stays fast: nothing heavy (UMAP, t-SNE, data generation) happens at import.
"""

from __future__ import annotations

import importlib

from cl_lessons.runtime import FAST, describe_environment, fast, get_device, seed_everything

__version__ = "0.1.0"

_SUBMODULES = (
    "data",
    "distances",
    "exercises",
    "losses",
    "metrics",
    "miners",
    "models",
    "runtime",
    "scale",
    "training",
    "viz",
    "widgets",
)

__all__ = [
    "FAST",
    "__version__",
    "describe_environment",
    "fast",
    "get_device",
    "seed_everything",
    *_SUBMODULES,
]


def __getattr__(name: str):
    # PEP 562: `cl.losses` imports cl_lessons.losses on first use.
    if name in _SUBMODULES:
        module = importlib.import_module(f"cl_lessons.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'cl_lessons' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

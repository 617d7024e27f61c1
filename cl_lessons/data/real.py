"""Optional loaders of real data (MNIST, Olivetti, LFW): download on request, fail fast offline."""

from __future__ import annotations

import contextlib
import http.client
import inspect
import socket

import numpy as np
import torch
from torch import Tensor

from cl_lessons._checks import check_nonneg

_DIGITS_ALTERNATIVE = (
    "Offline, use the bundled alternatives: cl.data.load_digits() or cl.data.TransformedDigits()."
)


DOWNLOAD_TIMEOUT_S = 10.0
"""Seconds a download on a stalled network may wait in all before it fails (about)."""

_ATTEMPTS = 2
"""Connection attempts a download makes at most: scikit-learn's fewest (one try, one retry) and
torchvision's two mirrors. Each waits ``DOWNLOAD_TIMEOUT_S / _ATTEMPTS`` for an answer."""

_NETWORK_ERRORS = (OSError, http.client.HTTPException)  # URLError, TimeoutError are OSErrors


@contextlib.contextmanager
def _socket_timeout(download: bool):
    """While downloading, a socket without its own timeout gives up when it gets no answer for
    ``DOWNLOAD_TIMEOUT_S / _ATTEMPTS`` seconds (to connect, or for the next data).

    urllib (used by scikit-learn and torchvision) opens its sockets with the process default
    timeout, which is "wait forever": on a network that drops packets a cell would hang. The
    default is restored afterwards.
    """
    if not download:
        yield
        return
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S / _ATTEMPTS)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


_FACES_ALTERNATIVE = (
    "Offline, use the synthetic alternative cl.data.SyntheticFaces(num_identities=500), "
    "which has many identities and needs no download."
)


def load_mnist(
    root: str = "data", fashion: bool = False, train: bool = True, download: bool = False
) -> tuple[Tensor, Tensor]:
    """MNIST or Fashion-MNIST (28x28, 10 classes) through torchvision, scaled to [0, 1].

    Optional: needs ``torchvision`` and, the first time, the internet (``download=True``).

    Args:
        root: folder holding (or receiving) the files.
        fashion: Fashion-MNIST instead of MNIST.
        train: the 60,000 training images, else the 10,000 test images.
        download: download the files if they are not in ``root``.

    Returns:
        ``(X, y)``: float32 images in [0, 1] and int64 labels.

    Shape:
        ``X``: ``(N, 1, 28, 28)``, ``y``: ``(N,)``.

    Raises:
        ImportError: torchvision is not installed (the message says how to install it).
        RuntimeError: the data is not in ``root`` and could not be downloaded (a connection
            that gets no answer gives up after about ``DOWNLOAD_TIMEOUT_S`` seconds).
    """
    try:
        import torchvision
    except ImportError as err:
        raise ImportError(
            "load_mnist needs torchvision, which is not installed: `pip install torchvision` "
            f"(or `conda install -c conda-forge torchvision`). {_DIGITS_ALTERNATIVE}"
        ) from err
    name = "FashionMNIST" if fashion else "MNIST"
    dataset_cls = getattr(torchvision.datasets, name)
    try:
        with _socket_timeout(download):
            ds = dataset_cls(root, train=train, download=download)
    except (*_NETWORK_ERRORS, RuntimeError) as err:
        hint = "" if download else " Pass download=True to fetch it (needs the internet)."
        raise RuntimeError(
            f"{name} could not be loaded from {root!r} ({err}).{hint} {_DIGITS_ALTERNATIVE}"
        ) from err
    X = ds.data.float().div(255.0).unsqueeze(1)  # (N, 1, 28, 28)
    return X.contiguous(), ds.targets.long()


def _accepts(fn, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is p.VAR_KEYWORD for p in params)


def _fetch(fetcher, what: str, download: bool, **kwargs):
    if download and _accepts(fetcher, "n_retries"):
        # scikit-learn retries 3 times, 1 s apart, by default; 1 retry is the fewest it allows
        kwargs.update(n_retries=_ATTEMPTS - 1, delay=0.1)
    try:
        with _socket_timeout(download):
            return fetcher(download_if_missing=download, **kwargs)
    except _NETWORK_ERRORS as err:
        hint = "" if download else " Pass download=True to fetch it (needs the internet)."
        raise RuntimeError(
            f"{what} could not be loaded ({err}).{hint} {_FACES_ALTERNATIVE}"
        ) from err


def _to_unit(a) -> Tensor:
    t = torch.as_tensor(np.asarray(a), dtype=torch.float32)
    return t / 255.0 if t.numel() and float(t.max()) > 1.0 else t


def load_olivetti_faces(
    data_home: str | None = None, download: bool = False
) -> tuple[Tensor, Tensor]:
    """The Olivetti (AT&T) faces through scikit-learn: 400 images of 40 people, 64x64, in [0, 1].

    Optional: the first call needs the internet (``download=True``); scikit-learn caches the
    file in ``data_home`` (default ``~/scikit_learn_data``).

    Args:
        data_home: scikit-learn's cache folder.
        download: download if not cached.

    Returns:
        ``(X, y)``: float32 images and int64 person ids 0-39.

    Shape:
        ``X``: ``(400, 1, 64, 64)``, ``y``: ``(400,)``.

    Raises:
        RuntimeError: not cached and not downloadable (offline, or no answer within about
            ``DOWNLOAD_TIMEOUT_S`` seconds); names the synthetic alternative.
    """
    from sklearn.datasets import fetch_olivetti_faces

    bunch = _fetch(fetch_olivetti_faces, "Olivetti faces", download, data_home=data_home)
    X = _to_unit(bunch.images).unsqueeze(1)  # (400, 1, 64, 64)
    return X, torch.as_tensor(np.asarray(bunch.target), dtype=torch.int64)


def load_lfw_pairs(
    subset: str = "test",
    data_home: str | None = None,
    download: bool = False,
    resize: float = 0.5,
) -> tuple[Tensor, Tensor, Tensor]:
    """Labeled Faces in the Wild verification pairs through scikit-learn, grayscale in [0, 1].

    Huang et al. 2007, http://vis-www.cs.umass.edu/lfw/. ``y = 1`` means the same person (the
    course's convention). Optional: the first call downloads about 200 MB (``download=True``).

    Args:
        subset: ``"train"``, ``"test"`` or ``"10_folds"``.
        data_home: scikit-learn's cache folder.
        download: download if not cached.
        resize: resize factor of scikit-learn's fetcher (0.5 gives 62x47 images).

    Returns:
        ``(X1, X2, y)``: the two images of each pair and int64 labels in {0, 1}.

    Shape:
        ``X1``, ``X2``: ``(N, 1, H, W)``, ``y``: ``(N,)``.

    Raises:
        ValueError: unknown ``subset`` or ``resize <= 0``.
        RuntimeError: not cached and not downloadable (offline, or no answer within about
            ``DOWNLOAD_TIMEOUT_S`` seconds); names the synthetic alternative.
    """
    if subset not in ("train", "test", "10_folds"):
        raise ValueError(f"subset must be 'train', 'test' or '10_folds', got {subset!r}")
    if check_nonneg(resize, "resize") == 0:
        raise ValueError("resize must be > 0, got 0")
    from sklearn.datasets import fetch_lfw_pairs

    bunch = _fetch(
        fetch_lfw_pairs, "LFW pairs", download, subset=subset, data_home=data_home, resize=resize
    )
    pairs = _to_unit(bunch.pairs)  # (N, 2, H, W)
    y = torch.as_tensor(np.asarray(bunch.target), dtype=torch.int64)
    return pairs[:, :1].contiguous(), pairs[:, 1:].contiguous(), y

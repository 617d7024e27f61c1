"""Encoders (MLP, small CNN), the SimCLR projection head and size helpers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_lessons._checks import check_bool, check_float_tensor, check_fraction, check_positive_int


def _check_input(x, name: str, module: nn.Module) -> None:
    """A non-empty float tensor of the module's dtype, on its device (else a clear error)."""
    check_float_tensor(x, name)
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one sample, got shape {tuple(x.shape)}")
    p = next(module.parameters(), None)
    if p is None:
        return
    if x.dtype != p.dtype:
        hint = " (NumPy arrays are float64)" if x.dtype == torch.float64 else ""
        raise ValueError(
            f"{name} has dtype {x.dtype} but the model's weights are {p.dtype}{hint}: convert "
            f"the input with {name}.to({p.dtype}), or the model with model.to({x.dtype})"
        )
    if x.device != p.device:
        raise ValueError(
            f"{name} is on {x.device} but the model is on {p.device}: move one with .to(device)"
        )


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of scalar parameters of ``module`` (each shared parameter counted once).

    Args:
        module: any ``nn.Module``.
        trainable_only: count only parameters with ``requires_grad``.

    Returns:
        The total number of scalars.
    """
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def embedding_dim(encoder: nn.Module) -> int:
    """The size of the vectors ``encoder`` outputs, read from its ``out_dim`` attribute.

    Looks at ``encoder.out_dim``, then ``out_features`` (``nn.Linear``), then, for an
    ``nn.Sequential``, at its last child with one of those attributes.

    Args:
        encoder: an encoder of this module, an ``nn.Linear``, or an ``nn.Sequential`` ending in one.

    Returns:
        The embedding dimension.

    Raises:
        ValueError: the dimension cannot be read; pass it explicitly (``embedding_dim=``) or give
            the encoder an ``out_dim`` attribute.
    """
    for attr in ("out_dim", "out_features"):
        value = getattr(encoder, attr, None)
        if isinstance(value, int):
            return value
    if isinstance(encoder, nn.Sequential):
        for child in reversed(list(encoder.children())):
            try:
                return embedding_dim(child)
            except ValueError:
                continue
    raise ValueError(
        f"cannot tell the output size of encoder {type(encoder).__name__}: give it an `out_dim` "
        "attribute or pass embedding_dim= explicitly"
    )


_infer_dim = embedding_dim  # `embedding_dim` is also an argument name of SiameseClassifier


class MLPEncoder(nn.Module):
    """A multi-layer perceptron encoder: Linear -> ReLU blocks, then a Linear to ``out_dim``.

    Inputs with more than two dimensions (images) are flattened, so ``(N, 1, 8, 8)`` digits and
    ``(N, 64)`` feature vectors both work.

    Args:
        in_dim: number of input features (``C*H*W`` for images).
        hidden: width of the hidden layers: an int for one hidden layer, a sequence for several,
            ``()`` for a linear encoder.
        out_dim: embedding dimension.
        normalize: L2-normalise the embeddings (they then lie on the unit sphere).
        batch_norm: add ``BatchNorm1d`` after each hidden Linear.

    Shape:
        ``x``: ``(N, in_dim)`` or ``(N, *)`` with ``prod(*) == in_dim`` -> ``(N, out_dim)``.
    """

    def __init__(
        self,
        in_dim: int,
        hidden: int | Sequence[int] = 128,
        out_dim: int = 32,
        normalize: bool = False,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self.in_dim = check_positive_int(in_dim, "in_dim")
        self.out_dim = check_positive_int(out_dim, "out_dim")
        if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
            widths = [check_positive_int(hidden, "hidden")]
        elif isinstance(hidden, Sequence) and not isinstance(hidden, str):
            widths = [check_positive_int(w, "hidden") for w in hidden]
        else:
            raise ValueError(f"hidden must be an integer or a sequence of integers, got {hidden!r}")
        batch_norm = check_bool(batch_norm, "batch_norm")
        self.normalize = check_bool(normalize, "normalize")
        layers: list[nn.Module] = []
        prev = in_dim
        for w in widths:
            layers.append(nn.Linear(prev, w))
            if batch_norm:
                layers.append(nn.BatchNorm1d(w))
            layers.append(nn.ReLU())
            prev = w
        layers.append(nn.Linear(prev, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Embed a batch (flattened to ``(N, in_dim)``)."""
        _check_input(x, "x", self)
        x = x.reshape(x.shape[0], -1) if x.ndim != 2 else x  # (N, in_dim)
        if x.shape[1] != self.in_dim:
            raise ValueError(
                f"x has {x.shape[1]} features per sample but this encoder expects "
                f"in_dim={self.in_dim}"
            )
        z = self.net(x)  # (N, out_dim)
        return F.normalize(z, dim=1) if self.normalize else z


class ConvEncoder(nn.Module):
    """A small CNN for square images from 8x8 to 32x32 pixels.

    Three blocks ``Conv3x3 -> BatchNorm -> ReLU`` with ``width``, ``2*width`` and ``4*width``
    channels; a 2x2 max-pool follows each of the first two blocks when the feature map is at least
    8 pixels wide (so 8x8 inputs are pooled once, 16x16 and larger twice). An adaptive average pool
    to ``pool x pool`` cells keeps a little spatial layout, and a Linear maps to ``out_dim``.
    Padding keeps every size legal, so 8, 16, 28 and 32 pixel inputs all work.

    Args:
        in_channels: image channels (1 for grey).
        image_size: side of the square input in pixels (at least 8).
        out_dim: embedding dimension.
        width: channels of the first block (cost grows with its square).
        normalize: L2-normalise the embeddings.
        pool: side of the final adaptive average pool (1 = global average pooling).
        dropout: dropout probability before the final Linear.

    Shape:
        ``x``: ``(N, C, S, S)``; also ``(N, S, S)`` or ``(N, S*S)`` when ``C == 1`` (sklearn's
        flat digits) -> ``(N, out_dim)``.

    Raises:
        ValueError: a size argument is not a positive integer or ``image_size < 8``.
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int = 28,
        out_dim: int = 64,
        width: int = 32,
        normalize: bool = False,
        pool: int = 2,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.image_size = check_positive_int(image_size, "image_size")
        if image_size < 8:
            raise ValueError(f"image_size must be >= 8, got {image_size}")
        self.out_dim = check_positive_int(out_dim, "out_dim")
        check_positive_int(width, "width")
        check_positive_int(pool, "pool")
        dropout = check_fraction(dropout, "dropout", high_open=True)
        self.normalize = check_bool(normalize, "normalize")
        layers: list[nn.Module] = []
        size, prev = image_size, in_channels
        for i, ch in enumerate((width, 2 * width, 4 * width)):
            layers += [nn.Conv2d(prev, ch, 3, padding=1), nn.BatchNorm2d(ch), nn.ReLU()]
            if i < 2 and size >= 8:
                layers.append(nn.MaxPool2d(2))
                size //= 2
            prev = ch
        layers.append(nn.AdaptiveAvgPool2d(pool))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(prev * pool * pool, out_dim)
        )

    def forward(self, x: Tensor) -> Tensor:
        """Embed a batch of images."""
        _check_input(x, "x", self)
        c, s = self.in_channels, self.image_size
        if x.ndim == 2 and x.shape[1] == c * s * s:
            x = x.reshape(-1, c, s, s)  # (N, C, S, S)
        elif x.ndim == 3 and c == 1:
            x = x.unsqueeze(1)  # (N, 1, S, S)
        if x.ndim != 4 or x.shape[1:] != (c, s, s):
            raise ValueError(
                f"x must have shape (N, {c}, {s}, {s}) for this encoder, got {tuple(x.shape)}"
            )
        z = self.head(self.features(x))  # (N, out_dim)
        return F.normalize(z, dim=1) if self.normalize else z


class ProjectionHead(nn.Module):
    """The MLP projection head of SimCLR: Linear -> (BatchNorm) -> ReLU -> Linear.

    The contrastive loss is applied to the head's output, while downstream tasks (linear probe,
    kNN) use the encoder's output *before* the head, which keeps more information (SimCLR, Chen et
    al. 2020, https://arxiv.org/abs/2002.05709, section 4.2).

    Args:
        in_dim: input (representation) dimension.
        out_dim: output (projection) dimension.
        hidden_dim: hidden width; ``None`` uses ``in_dim``.
        batch_norm: add ``BatchNorm1d`` after the hidden Linear.
        normalize: L2-normalise the output.

    Shape:
        ``h``: ``(N, in_dim)`` -> ``(N, out_dim)``.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int = 32,
        hidden_dim: int | None = None,
        batch_norm: bool = False,
        normalize: bool = False,
    ) -> None:
        super().__init__()
        self.in_dim = check_positive_int(in_dim, "in_dim")
        self.out_dim = check_positive_int(out_dim, "out_dim")
        hidden_dim = in_dim if hidden_dim is None else check_positive_int(hidden_dim, "hidden_dim")
        batch_norm = check_bool(batch_norm, "batch_norm")
        self.normalize = check_bool(normalize, "normalize")
        layers: list[nn.Module] = [nn.Linear(in_dim, hidden_dim)]
        if batch_norm:
            layers.append(nn.BatchNorm1d(hidden_dim))
        layers += [nn.ReLU(), nn.Linear(hidden_dim, out_dim)]
        self.net = nn.Sequential(*layers)

    def forward(self, h: Tensor) -> Tensor:
        """Project a batch of representations."""
        _check_input(h, "h", self)
        if h.ndim != 2 or h.shape[1] != self.in_dim:
            raise ValueError(f"h must have shape (N, {self.in_dim}), got {tuple(h.shape)}")
        z = self.net(h)  # (N, out_dim)
        return F.normalize(z, dim=1) if self.normalize else z

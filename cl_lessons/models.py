"""Encoders and the two-input architectures of the course.

The structure of each class *is* the lesson:

* :class:`SiameseNetwork` holds **one** encoder and calls it on both inputs, so the two
  "branches" are the very same parameters (Bromley et al. 1993, "Signature Verification using a
  Siamese Time Delay Neural Network"). Gradients from both inputs add up in those parameters.
* :class:`PseudoSiameseNetwork` holds **two** independent encoders. Some tutorials call this a
  Siamese network; it is not: it has twice the parameters and the towers drift apart in training.
* :class:`SiameseClassifier` is the head of Koch et al. 2015 ("Siamese Neural Networks for
  One-shot Image Recognition"): ``p = sigmoid(w . |z1 - z2| + b)``.
* :class:`DualStreamNetwork` joins two *different* encoders (for two kinds of input) with a fusion
  (concat, product, |difference|, bilinear) and a head on the fused vector.
* :class:`TwoTower` scores by a dot product of embeddings computed separately, so a catalogue of
  items is embedded once and every query costs one matrix product (Covington et al. 2016, "Deep
  Neural Networks for YouTube Recommendations"; Yi et al. 2019, "Sampling-Bias-Corrected Neural
  Modeling for Large Corpus Item Recommendations").

Every encoder exposes ``out_dim`` (the embedding size), which the heads read.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "FUSIONS",
    "ConvEncoder",
    "DualStreamNetwork",
    "MLPEncoder",
    "ProjectionHead",
    "PseudoSiameseNetwork",
    "SiameseClassifier",
    "SiameseNetwork",
    "TwoTower",
    "count_parameters",
    "embedding_dim",
]

FUSIONS = ("concat", "product", "absdiff", "bilinear")
"""The fusion names accepted by :class:`DualStreamNetwork`."""


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _check_input(x, name: str) -> None:
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")


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
        self.in_dim = _check_positive_int(in_dim, "in_dim")
        self.out_dim = _check_positive_int(out_dim, "out_dim")
        widths = [hidden] if isinstance(hidden, int) else list(hidden)
        for w in widths:
            _check_positive_int(w, "hidden")
        self.normalize = bool(normalize)
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
        _check_input(x, "x")
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
        self.in_channels = _check_positive_int(in_channels, "in_channels")
        self.image_size = _check_positive_int(image_size, "image_size")
        if image_size < 8:
            raise ValueError(f"image_size must be >= 8, got {image_size}")
        self.out_dim = _check_positive_int(out_dim, "out_dim")
        _check_positive_int(width, "width")
        _check_positive_int(pool, "pool")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.normalize = bool(normalize)
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
        _check_input(x, "x")
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
        self.in_dim = _check_positive_int(in_dim, "in_dim")
        self.out_dim = _check_positive_int(out_dim, "out_dim")
        hidden_dim = in_dim if hidden_dim is None else _check_positive_int(hidden_dim, "hidden_dim")
        self.normalize = bool(normalize)
        layers: list[nn.Module] = [nn.Linear(in_dim, hidden_dim)]
        if batch_norm:
            layers.append(nn.BatchNorm1d(hidden_dim))
        layers += [nn.ReLU(), nn.Linear(hidden_dim, out_dim)]
        self.net = nn.Sequential(*layers)

    def forward(self, h: Tensor) -> Tensor:
        """Project a batch of representations."""
        _check_input(h, "h")
        if h.ndim != 2 or h.shape[1] != self.in_dim:
            raise ValueError(f"h must have shape (N, {self.in_dim}), got {tuple(h.shape)}")
        z = self.net(h)  # (N, out_dim)
        return F.normalize(z, dim=1) if self.normalize else z


class SiameseNetwork(nn.Module):
    """A Siamese network: **one** encoder applied to both inputs (shared weights).

    There is a single set of parameters; "the two branches" are two calls of the same module, so
    both inputs are mapped into the same space and ``d(f(a), f(b))`` is symmetric. The gradient of
    a pair loss is the sum of the contributions of both calls (Bromley et al. 1993).

    Args:
        encoder: the shared encoder, any module mapping a batch to ``(N, D)`` embeddings.

    Shape:
        ``x1``, ``x2``: ``(N, *)`` -> ``z1``, ``z2``: ``(N, D)``.
    """

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        if not isinstance(encoder, nn.Module):
            raise ValueError(f"encoder must be an nn.Module, got {type(encoder).__name__}")
        self.encoder = encoder

    @property
    def out_dim(self) -> int:
        """Embedding dimension of the shared encoder."""
        return embedding_dim(self.encoder)

    def embed(self, x: Tensor) -> Tensor:
        """Embed one batch with the shared encoder: ``(N, *) -> (N, D)``."""
        return self.encoder(x)

    def forward(self, x1: Tensor, x2: Tensor) -> tuple[Tensor, Tensor]:
        """Embed both inputs of each pair with the same encoder.

        Returns:
            ``(z1, z2)``, each ``(N, D)``.
        """
        if isinstance(x1, Tensor) and isinstance(x2, Tensor) and x1.shape[0] != x2.shape[0]:
            raise ValueError(
                "x1 and x2 must hold the same number of samples, "
                f"got {x1.shape[0]} and {x2.shape[0]}"
            )
        return self.encoder(x1), self.encoder(x2)


class PseudoSiameseNetwork(nn.Module):
    """Two *independent* towers, one per input: **not** a Siamese network.

    ``encoder_a`` embeds the first input and ``encoder_b`` the second; nothing ties their weights,
    so the model has twice the parameters of a Siamese network and ``f_a(x)`` and ``f_b(x)``
    disagree after training. Use it when the two inputs are of the same kind but should be
    treated differently, or to show why weight sharing matters (lesson 02).

    Args:
        encoder_a: tower for the first input.
        encoder_b: tower for the second input; must be a different object from ``encoder_a``
            (use :meth:`from_encoder` to clone one encoder).

    Shape:
        ``x1``, ``x2``: ``(N, *)`` -> ``z1``, ``z2``: ``(N, D)``.

    Raises:
        ValueError: the two encoders are the same object or share parameters.
    """

    def __init__(self, encoder_a: nn.Module, encoder_b: nn.Module) -> None:
        super().__init__()
        for name, enc in (("encoder_a", encoder_a), ("encoder_b", encoder_b)):
            if not isinstance(enc, nn.Module):
                raise ValueError(f"{name} must be an nn.Module, got {type(enc).__name__}")
        ids_a = {id(p) for p in encoder_a.parameters()}
        if encoder_a is encoder_b or any(id(p) in ids_a for p in encoder_b.parameters()):
            raise ValueError(
                "encoder_a and encoder_b share parameters: a pseudo-Siamese network needs two "
                "independent towers (use PseudoSiameseNetwork.from_encoder(encoder)), or use "
                "SiameseNetwork(encoder) for shared weights"
            )
        self.encoder_a = encoder_a
        self.encoder_b = encoder_b

    @classmethod
    def from_encoder(cls, encoder: nn.Module, same_init: bool = True) -> PseudoSiameseNetwork:
        """Build two towers as deep copies of ``encoder``.

        Args:
            encoder: the template encoder (left untouched).
            same_init: start both towers from identical weights (they still diverge in training,
                since each tower only sees its own input); ``False`` re-initialises the second
                tower's layers that have ``reset_parameters``.

        Returns:
            A new :class:`PseudoSiameseNetwork`.
        """
        a, b = copy.deepcopy(encoder), copy.deepcopy(encoder)
        if not same_init:
            for m in b.modules():
                if hasattr(m, "reset_parameters"):
                    m.reset_parameters()
        return cls(a, b)

    @property
    def out_dim(self) -> int:
        """Embedding dimension of tower a."""
        return embedding_dim(self.encoder_a)

    def embed(self, x: Tensor, tower: str = "a") -> Tensor:
        """Embed one batch with tower ``"a"`` (default) or ``"b"``."""
        if tower not in ("a", "b"):
            raise ValueError(f"tower must be 'a' or 'b', got {tower!r}")
        return self.encoder_a(x) if tower == "a" else self.encoder_b(x)

    def forward(self, x1: Tensor, x2: Tensor) -> tuple[Tensor, Tensor]:
        """Embed ``x1`` with tower a and ``x2`` with tower b; returns ``(z1, z2)``."""
        return self.encoder_a(x1), self.encoder_b(x2)


class SiameseClassifier(nn.Module):
    """Siamese network with the L1-distance head of Koch et al. 2015.

    ``p(same | x1, x2) = sigmoid(w . |f(x1) - f(x2)| + b)``, with one shared encoder ``f``.
    :meth:`forward` returns the **logit** ``w . |z1 - z2| + b``, not the probability: train it with
    ``nn.BCEWithLogitsLoss`` (which applies the sigmoid inside, in a numerically stable way) and
    call :meth:`predict_proba` for probabilities.

    Koch, Zemel, Salakhutdinov 2015, "Siamese Neural Networks for One-shot Image Recognition",
    ICML Deep Learning Workshop.

    Args:
        encoder: the shared encoder.
        embedding_dim: its output size; ``None`` reads ``encoder.out_dim``.

    Shape:
        ``x1``, ``x2``: ``(N, *)`` -> logits ``(N,)``.
    """

    def __init__(self, encoder: nn.Module, embedding_dim: int | None = None) -> None:
        super().__init__()
        if not isinstance(encoder, nn.Module):
            raise ValueError(f"encoder must be an nn.Module, got {type(encoder).__name__}")
        dim = _infer_dim(encoder) if embedding_dim is None else embedding_dim
        self.encoder = encoder
        self.out_dim = _check_positive_int(dim, "embedding_dim")
        self.head = nn.Linear(self.out_dim, 1)

    def embed(self, x: Tensor) -> Tensor:
        """Embed one batch with the shared encoder: ``(N, *) -> (N, D)``."""
        return self.encoder(x)

    def logits_from_embeddings(self, z1: Tensor, z2: Tensor) -> Tensor:
        """The head alone, on embeddings computed beforehand (embed a set once, score many pairs).

        Shape:
            ``z1``, ``z2``: ``(N, D)`` -> ``(N,)``.
        """
        if z1.shape != z2.shape or z1.ndim != 2 or z1.shape[1] != self.out_dim:
            raise ValueError(
                f"z1 and z2 must both have shape (N, {self.out_dim}), got {tuple(z1.shape)} and "
                f"{tuple(z2.shape)}"
            )
        return self.head((z1 - z2).abs()).squeeze(1)  # (N,)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        """Logits that each pair shows the same class (apply a sigmoid for probabilities)."""
        return self.logits_from_embeddings(self.encoder(x1), self.encoder(x2))

    @torch.no_grad()
    def predict_proba(self, x1: Tensor, x2: Tensor) -> Tensor:
        """Probabilities ``sigmoid(logits)`` that each pair is "same", without gradients.

        Shape:
            ``x1``, ``x2``: ``(N, *)`` -> ``(N,)`` in ``[0, 1]``.
        """
        return torch.sigmoid(self(x1, x2))


class DualStreamNetwork(nn.Module):
    """Two different encoders for two kinds of input, a fusion, and a head on the fused vector.

    Unlike a Siamese network the streams share nothing: ``encoder_a`` might read an image and
    ``encoder_b`` a text or a user profile. The embeddings ``za (N, Da)`` and ``zb (N, Db)`` are
    fused into one vector, then a small MLP head predicts ``out_dim`` outputs.

    Fusions:
        * ``"concat"``: ``[za, zb]``, size ``Da + Db``;
        * ``"product"``: ``za * zb`` (element-wise), size ``D``; needs ``Da == Db``;
        * ``"absdiff"``: ``|za - zb|``, size ``D``; needs ``Da == Db``;
        * ``"bilinear"``: ``h_k = za^T W_k zb + c_k`` for ``k < bilinear_dim`` (``nn.Bilinear``),
          which models every pairwise interaction between the two embeddings.

    Because the head sees both inputs together, scoring one query against ``M`` candidates costs
    ``M`` forward passes of the head (see :meth:`score_candidates`); :class:`TwoTower` needs one.

    Args:
        encoder_a: encoder of the first input.
        encoder_b: encoder of the second input.
        fusion: one of :data:`FUSIONS`.
        out_dim: outputs of the head (1 gives one logit per pair, returned as ``(N,)``).
        hidden: hidden width of the head; ``0`` for a single Linear.
        dim_a: output size of ``encoder_a``; ``None`` reads ``encoder_a.out_dim``.
        dim_b: output size of ``encoder_b``; ``None`` reads ``encoder_b.out_dim``.
        bilinear_dim: output size of the bilinear fusion; ``None`` uses ``min(Da, Db)``.

    Shape:
        ``xa``: ``(N, *)``, ``xb``: ``(N, *)`` -> ``(N, out_dim)``, or ``(N,)`` if ``out_dim == 1``.

    Raises:
        ValueError: unknown fusion, or ``"product"`` / ``"absdiff"`` with ``Da != Db``.
    """

    def __init__(
        self,
        encoder_a: nn.Module,
        encoder_b: nn.Module,
        fusion: str = "concat",
        out_dim: int = 1,
        hidden: int = 64,
        dim_a: int | None = None,
        dim_b: int | None = None,
        bilinear_dim: int | None = None,
    ) -> None:
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
        da = embedding_dim(encoder_a) if dim_a is None else _check_positive_int(dim_a, "dim_a")
        db = embedding_dim(encoder_b) if dim_b is None else _check_positive_int(dim_b, "dim_b")
        if fusion in ("product", "absdiff") and da != db:
            raise ValueError(
                f"fusion={fusion!r} needs embeddings of equal size, got dim_a={da} and dim_b={db}; "
                "use 'concat' or 'bilinear', or give the encoders the same out_dim"
            )
        self.encoder_a, self.encoder_b = encoder_a, encoder_b
        self.fusion = fusion
        self.out_dim = _check_positive_int(out_dim, "out_dim")
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 0:
            raise ValueError(f"hidden must be a non-negative integer, got {hidden!r}")
        self.bilinear = None
        if fusion == "concat":
            fused = da + db
        elif fusion == "bilinear":
            fused = min(da, db) if bilinear_dim is None else bilinear_dim
            fused = _check_positive_int(fused, "bilinear_dim")
            self.bilinear = nn.Bilinear(da, db, fused)
        else:
            fused = da
        self.fused_dim = fused
        if hidden:
            self.head = nn.Sequential(
                nn.Linear(fused, hidden), nn.ReLU(), nn.Linear(hidden, self.out_dim)
            )
        else:
            self.head = nn.Linear(fused, self.out_dim)

    def fuse(self, za: Tensor, zb: Tensor) -> Tensor:
        """Fuse two batches of embeddings: ``(N, Da), (N, Db) -> (N, fused_dim)``."""
        if za.shape[0] != zb.shape[0]:
            raise ValueError(
                f"za and zb must hold the same number of rows, got {za.shape[0]} and {zb.shape[0]}"
            )
        if self.fusion == "concat":
            return torch.cat([za, zb], dim=1)  # (N, Da + Db)
        if self.fusion == "product":
            return za * zb  # (N, D)
        if self.fusion == "absdiff":
            return (za - zb).abs()  # (N, D)
        return self.bilinear(za, zb)  # (N, bilinear_dim)

    def forward(self, xa: Tensor, xb: Tensor) -> Tensor:
        """Encode each input with its own stream, fuse, and apply the head."""
        out = self.head(self.fuse(self.encoder_a(xa), self.encoder_b(xb)))  # (N, out_dim)
        return out.squeeze(1) if self.out_dim == 1 else out

    def score_candidates(self, xa: Tensor, xb_candidates: Tensor) -> Tensor:
        """Score one query ``xa`` (a batch of 1) against ``M`` candidates: ``M`` fused passes.

        The query is repeated ``M`` times and every candidate goes through ``encoder_b`` and the
        head together with it: the cost grows with ``M`` for every new query.

        Shape:
            ``xa``: ``(1, *)``, ``xb_candidates``: ``(M, *)`` -> ``(M,)`` or ``(M, out_dim)``.
        """
        if xa.shape[0] != 1:
            raise ValueError(f"xa must be a single query of batch size 1, got {xa.shape[0]}")
        m = xb_candidates.shape[0]
        return self(xa.expand(m, *xa.shape[1:]), xb_candidates)


class TwoTower(nn.Module):
    """Two-tower retrieval model: ``score(u, i) = f_user(u) . f_item(i)``.

    The towers never see each other's input, so the item embeddings can be computed **once** for
    the whole catalogue (:meth:`embed_items`) and every query is then a single matrix product
    (and, at scale, an approximate nearest-neighbour search). The price is that the model cannot
    express interactions beyond a dot product, which a fused :class:`DualStreamNetwork` can.

    Args:
        user_encoder: query/user tower, ``(N, *) -> (N, D)``.
        item_encoder: item tower, ``(M, *) -> (M, D)``, same ``D``.
        normalize: L2-normalise both embeddings, so scores are cosine similarities.

    Shape:
        ``forward(u, items)``: ``(N, *)``, ``(N, *)`` -> ``(N,)``, the score of each matched pair.
        ``score(u, items)``: ``(N, *)``, ``(M, *)`` -> ``(N, M)``, every user against every item.
    """

    def __init__(
        self, user_encoder: nn.Module, item_encoder: nn.Module, normalize: bool = False
    ) -> None:
        super().__init__()
        for name, enc in (("user_encoder", user_encoder), ("item_encoder", item_encoder)):
            if not isinstance(enc, nn.Module):
                raise ValueError(f"{name} must be an nn.Module, got {type(enc).__name__}")
        self.user_encoder, self.item_encoder = user_encoder, item_encoder
        self.normalize = bool(normalize)

    def _post(self, z: Tensor) -> Tensor:
        return F.normalize(z, dim=1) if self.normalize else z

    def embed_users(self, u: Tensor) -> Tensor:
        """User (query) embeddings: ``(N, *) -> (N, D)``."""
        return self._post(self.user_encoder(u))

    def embed_items(self, items: Tensor, batch_size: int | None = None) -> Tensor:
        """Item embeddings, optionally computed in chunks of ``batch_size``: ``(M, *) -> (M, D)``.

        Call it once for a catalogue and reuse the result with :meth:`score_embeddings`.
        """
        if batch_size is None:
            return self._post(self.item_encoder(items))
        _check_positive_int(batch_size, "batch_size")
        chunks = [
            self.item_encoder(items[s : s + batch_size]) for s in range(0, len(items), batch_size)
        ]
        return self._post(torch.cat(chunks))

    @staticmethod
    def score_embeddings(zu: Tensor, zi: Tensor) -> Tensor:
        """All dot products between precomputed embeddings: ``(N, D), (M, D) -> (N, M)``."""
        if zu.ndim != 2 or zi.ndim != 2 or zu.shape[1] != zi.shape[1]:
            raise ValueError(
                f"zu and zi must be (N, D) and (M, D) with one D, got {tuple(zu.shape)} and "
                f"{tuple(zi.shape)}"
            )
        return zu @ zi.T  # (N, M)

    def score(self, u: Tensor, items: Tensor) -> Tensor:
        """Score every user in ``u`` against every item: ``(N, *), (M, *) -> (N, M)``."""
        return self.score_embeddings(self.embed_users(u), self.embed_items(items))

    def forward(self, u: Tensor, items: Tensor) -> Tensor:
        """Score of each matched (user, item) row pair: ``(N, *), (N, *) -> (N,)``."""
        zu, zi = self.embed_users(u), self.embed_items(items)  # (N, D) each
        if zu.shape != zi.shape:
            raise ValueError(
                f"user and item embeddings must have the same shape, got {tuple(zu.shape)} and "
                f"{tuple(zi.shape)}"
            )
        return (zu * zi).sum(1)  # (N,)

    @torch.no_grad()
    def recommend(self, u: Tensor, item_embeddings: Tensor, k: int = 10) -> Tensor:
        """Indices of the ``k`` best-scoring items for each user, best first.

        Shape:
            ``u``: ``(N, *)``, ``item_embeddings``: ``(M, D)`` -> ``(N, k)`` (long).
        """
        _check_positive_int(k, "k")
        if k > item_embeddings.shape[0]:
            raise ValueError(
                f"k must be <= the number of items ({item_embeddings.shape[0]}), got {k}"
            )
        scores = self.score_embeddings(self.embed_users(u), item_embeddings)  # (N, M)
        return scores.topk(k, dim=1).indices

"""Siamese networks: shared weights, separate weights, and a pair classifier."""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from cl_lessons._checks import check_positive_int
from cl_lessons.models.encoders import _infer_dim, embedding_dim


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
        self.out_dim = check_positive_int(dim, "embedding_dim")
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

"""Image-text dual encoders (CLIP-style): small text encoders and :class:`DualEncoder`."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_lessons._checks import check_positive, check_positive_int
from cl_lessons.models.encoders import embedding_dim


def _check_tokens(tokens, vocab_size: int, device) -> Tensor:
    if not isinstance(tokens, Tensor) or tokens.is_floating_point() or tokens.is_complex():
        raise ValueError(f"tokens must be an integer tensor of token ids, got {tokens!r:.80}")
    if tokens.ndim != 2 or tokens.shape[0] == 0 or tokens.shape[1] == 0:
        raise ValueError(f"tokens must be 2-D (B, L) and non-empty, got {tuple(tokens.shape)}")
    if bool((tokens < 0).any()) or bool((tokens >= vocab_size).any()):
        raise ValueError(f"tokens must hold ids in [0, {vocab_size - 1}] (0 = <pad>)")
    return tokens.to(device)


def _masked_mean(h: Tensor, tokens: Tensor) -> Tensor:
    """Mean of ``h`` over the non-padding positions (id 0 is ``<pad>``)."""
    keep = (tokens != 0).unsqueeze(2).to(h.dtype)  # (B, L, 1)
    return (h * keep).sum(1) / keep.sum(1).clamp_min(1.0)  # (B, H)


class BagOfWordsEncoder(nn.Module):
    """Text encoder: word embeddings, mean over the words (padding ignored), a Linear.

    Word order is lost: "tilted left, on the right" and "tilted right, on the left" get the same
    embedding. The baseline of CLIP-style text towers (and of fastText, Joulin et al. 2017).

    Args:
        vocab_size: number of token ids (id 0 is padding).
        out_dim: embedding size.
        embed_dim: word-vector size.

    Shape:
        ``tokens``: int64 ``(B, L)`` -> ``(B, out_dim)``.
    """

    def __init__(self, vocab_size: int, out_dim: int = 64, embed_dim: int = 64) -> None:
        super().__init__()
        self.vocab_size = check_positive_int(vocab_size, "vocab_size")
        self.out_dim = check_positive_int(out_dim, "out_dim")
        self.embed = nn.Embedding(vocab_size, check_positive_int(embed_dim, "embed_dim"), 0)
        self.out = nn.Linear(embed_dim, out_dim)

    def forward(self, tokens: Tensor) -> Tensor:
        tokens = _check_tokens(tokens, self.vocab_size, self.embed.weight.device)
        return self.out(_masked_mean(self.embed(tokens), tokens))  # (B, out_dim)


class GRUTextEncoder(nn.Module):
    """Text encoder: word embeddings read by a bidirectional GRU, mean over the words, a Linear.

    The recurrent state carries context, so "left" after "tilted" and "left" after "on the" can
    mean different things (Cho et al. 2014, https://arxiv.org/abs/1406.1078).

    Args:
        vocab_size: number of token ids (id 0 is padding).
        out_dim: embedding size.
        embed_dim: word-vector size.
        hidden: GRU state size per direction.

    Shape:
        ``tokens``: int64 ``(B, L)`` -> ``(B, out_dim)``.
    """

    def __init__(
        self, vocab_size: int, out_dim: int = 64, embed_dim: int = 32, hidden: int = 48
    ) -> None:
        super().__init__()
        self.vocab_size = check_positive_int(vocab_size, "vocab_size")
        self.out_dim = check_positive_int(out_dim, "out_dim")
        self.embed = nn.Embedding(vocab_size, check_positive_int(embed_dim, "embed_dim"), 0)
        self.gru = nn.GRU(embed_dim, check_positive_int(hidden, "hidden"), batch_first=True,
                          bidirectional=True)  # fmt: skip
        self.out = nn.Linear(2 * hidden, out_dim)

    def forward(self, tokens: Tensor) -> Tensor:
        tokens = _check_tokens(tokens, self.vocab_size, self.embed.weight.device)
        lengths = (tokens != 0).sum(1).clamp_min(1).cpu()  # (B,) words; padding comes after them
        packed = nn.utils.rnn.pack_padded_sequence(
            self.embed(tokens), lengths, batch_first=True, enforce_sorted=False
        )  # the backward direction starts at each caption's last word, not at its padding
        h, _ = self.gru(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=tokens.shape[1])
        return self.out(_masked_mean(h, tokens))  # (B, out_dim) from h: (B, L, 2H)


class DualEncoder(nn.Module):
    """CLIP's dual encoder: an image tower, a text tower, linear maps into one ``dim``-space.

    Both towers end in a Linear projection to ``dim`` and an L2 normalisation, so the score of an
    image and a caption is their cosine similarity; ``logit_scale`` multiplies it before the
    softmax of :func:`cl_lessons.losses.clip_loss`. As in CLIP it is learned, stored as its log
    (initialised to ``log(1/0.07)``) and clamped at 100 (Radford et al. 2021,
    https://arxiv.org/abs/2103.00020).

    Args:
        image_encoder: maps images to ``(N, Di)`` (``out_dim`` attribute, or a Linear at its end).
        text_encoder: maps token ids ``(N, L)`` to ``(N, Dt)``.
        dim: size of the shared space.
        init_scale: initial logit scale (CLIP: ``1 / 0.07``).
        max_scale: the clamp (CLIP: 100).

    Attributes:
        log_scale: the learned ``nn.Parameter``; ``logit_scale`` is ``exp`` of it, clamped.

    Shape:
        ``images``: ``(N, ...)``, ``tokens``: ``(N, L)`` -> ``(N, dim)``, ``(N, dim)``.

    Raises:
        ValueError: ``dim`` not a positive integer, scales not positive or ``init > max``.
    """

    def __init__(
        self,
        image_encoder: nn.Module,
        text_encoder: nn.Module,
        dim: int = 64,
        init_scale: float = 1 / 0.07,
        max_scale: float = 100.0,
    ) -> None:
        super().__init__()
        for name, enc in (("image_encoder", image_encoder), ("text_encoder", text_encoder)):
            if not isinstance(enc, nn.Module):
                raise ValueError(f"{name} must be an nn.Module, got {type(enc).__name__}")
        self.dim = self.out_dim = check_positive_int(dim, "dim")
        init_scale = check_positive(init_scale, "init_scale")
        self.max_scale = check_positive(max_scale, "max_scale")
        if init_scale > self.max_scale:
            raise ValueError(f"init_scale must be <= max_scale ({max_scale}), got {init_scale}")
        self.image_encoder, self.text_encoder = image_encoder, text_encoder
        self.image_proj = nn.Linear(embedding_dim(image_encoder), dim, bias=False)
        self.text_proj = nn.Linear(embedding_dim(text_encoder), dim, bias=False)
        self.log_scale = nn.Parameter(torch.tensor(math.log(init_scale)))

    @property
    def logit_scale(self) -> Tensor:
        """``exp(log_scale)`` clamped at ``max_scale`` (0-d, carries the gradient below it)."""
        return self.log_scale.exp().clamp(max=self.max_scale)

    def encode_image(self, images: Tensor) -> Tensor:
        """Unit vectors ``(N, dim)`` of a batch of images."""
        return F.normalize(self.image_proj(self.image_encoder(images)), dim=1)

    def encode_text(self, tokens: Tensor) -> Tensor:
        """Unit vectors ``(N, dim)`` of a batch of token ids ``(N, L)``."""
        return F.normalize(self.text_proj(self.text_encoder(tokens)), dim=1)

    def forward(self, images: Tensor, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """``(image_emb, text_emb)``, both ``(N, dim)`` unit vectors."""
        return self.encode_image(images), self.encode_text(tokens)

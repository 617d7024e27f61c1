"""CLIP's symmetric contrastive loss over the N x N image-text similarity matrix."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from cl_lessons._checks import all_finite, check_embeddings, check_positive, check_same_shape
from cl_lessons.distances import _unit


def _check_scale(logit_scale) -> Tensor | float:
    """A positive finite number, or a 0-d (or one-element) float tensor holding one."""
    if isinstance(logit_scale, Tensor):
        if logit_scale.numel() != 1 or not logit_scale.is_floating_point():
            raise ValueError(
                "logit_scale must be a positive number or a one-element float tensor, got a "
                f"tensor of shape {tuple(logit_scale.shape)} and dtype {logit_scale.dtype}"
            )
        if logit_scale.is_meta or not all_finite(logit_scale) or float(logit_scale.detach()) <= 0:
            raise ValueError(f"logit_scale must be > 0 and finite, got {logit_scale!r:.60}")
        return logit_scale.reshape(())
    return check_positive(logit_scale, "logit_scale")


def clip_loss(image_emb: Tensor, text_emb: Tensor, logit_scale) -> Tensor:
    """The symmetric InfoNCE of CLIP on ``N`` matching image-text pairs.

    Rows are L2-normalised; ``S = logit_scale * I T^T`` is the ``N x N`` matrix of scaled cosine
    similarities, and pair ``k`` is the match (the diagonal)::

        loss = ( CE(S, arange(N)) + CE(S^T, arange(N)) ) / 2

    the mean of the image->text cross-entropy (each image picks its caption among the N) and
    the text->image one (each caption picks its image). Unlike SimCLR's NT-Xent
    (:func:`info_nce`), no image is a negative of another image: negatives come only from the
    other modality. ``logit_scale`` is ``1 / temperature``; pass a tensor to learn it.

    Args:
        image_emb: image embeddings, row ``k`` matching ``text_emb[k]``.
        text_emb: text embeddings.
        logit_scale: a number > 0 or a one-element tensor (e.g. ``DualEncoder.logit_scale``).

    Returns:
        The loss, a scalar (float32 for float16/bfloat16 inputs).

    Shape:
        ``image_emb``, ``text_emb``: ``(N, D)`` -> ``()``.

    Raises:
        ValueError: shapes differ or are not ``(N, D)``, empty batch, NaN/Inf, or
            ``logit_scale`` not a positive finite number or one-element float tensor.

    Reference:
        Radford et al. 2021, CLIP, https://arxiv.org/abs/2103.00020 (Fig. 3's pseudocode);
        Oord et al. 2018 for InfoNCE.
    """
    image_emb = check_embeddings(image_emb, "image_emb")
    text_emb = check_embeddings(text_emb, "text_emb")
    check_same_shape(image_emb, text_emb, "image_emb", "text_emb")
    scale = _check_scale(logit_scale)
    if isinstance(scale, Tensor):
        scale = scale.to(image_emb.device, image_emb.dtype)
    logits = scale * (_unit(image_emb) @ _unit(text_emb).T)  # (N, N) image rows, text columns
    target = torch.arange(logits.shape[0], device=logits.device)  # (N,) the diagonal
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))

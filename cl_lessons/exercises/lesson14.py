"""Checks for lesson 14 (multimodal dual encoders): CLIP's loss, zero-shot prediction."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from cl_lessons.exercises._core import (
    CheckFailed,
    exercise_check,
    expect_close,
    returned_tensor,
    same_values,
)
from cl_lessons.losses import clip_loss, info_nce

__all__ = ["check_clip_loss", "check_zero_shot_predict"]


# ----------------------------------------------------------------------------- CLIP's loss


def _clip_variants(img: Tensor, txt: Tensor, scale: float) -> dict[str, Tensor]:
    """The right symmetric loss and the typical wrong ones, in float64."""
    i, t = img.double(), txt.double()
    target = torch.arange(len(i))

    def both(a: Tensor, b: Tensor, s: float) -> tuple[Tensor, Tensor]:
        logits = s * (a @ b.T)  # (N, N)
        return F.cross_entropy(logits, target), F.cross_entropy(logits.T, target)

    ui, ut = F.normalize(i, dim=1), F.normalize(t, dim=1)
    i2t, t2i = both(ui, ut, scale)
    raw_i2t, raw_t2i = both(i, t, scale)
    div_i2t, div_t2i = both(ui, ut, 1.0 / scale)
    return {
        "right": (i2t + t2i) / 2,
        "image_to_text": i2t,
        "text_to_image": t2i,
        "sum": i2t + t2i,
        "no_normalise": (raw_i2t + raw_t2i) / 2,
        "divided": (div_i2t + div_t2i) / 2,
        "no_scale": sum(both(ui, ut, 1.0)) / 2,
        "nt_xent": info_nce(i, t, temperature=1.0 / scale),
    }


_CLIP_HINTS = {
    "image_to_text": "only the image->text direction is there (each image picks its caption, "
    "a cross-entropy over the rows of S). CLIP averages it with text->image: the same "
    "cross-entropy over the columns (S.T).",
    "text_to_image": "only the text->image direction is there (a cross-entropy over the "
    "columns). Add the image->text one over the rows and take the mean of the two.",
    "sum": "you added the two directions: CLIP takes their mean, (loss_i2t + loss_t2i) / 2.",
    "no_normalise": "the embeddings are not normalised: CLIP's scores are cosine similarities, "
    "so L2-normalise both sets of rows (F.normalize(x, dim=1)) before the product.",
    "divided": "you divided the similarities by logit_scale: it is 1 / temperature, so "
    "multiply (CLIP: logits = cos * exp(t)).",
    "no_scale": "logit_scale has no effect in your loss: multiply the cosine similarities "
    "by it before the cross-entropy.",
    "nt_xent": "that is SimCLR's NT-Xent over all 2N embeddings: it also uses images as "
    "negatives of images. In CLIP the candidates of an image are the N texts only (and of a "
    "text the N images): the N x N matrix image @ text.T, no (2N, 2N) one.",
}


@exercise_check("CLIP's symmetric loss (Radford et al. 2021)")
def check_clip_loss(fn) -> None:
    """Check ``fn(image_emb, text_emb, logit_scale)`` returns ``cl.losses.clip_loss``'s value.

    Rows of both ``(N, D)`` inputs are L2-normalised; ``S = logit_scale * I @ T.T`` and the loss
    is the mean of the cross-entropy over the rows (image->text) and over the columns
    (text->image), the target of row / column ``k`` being ``k``.

    Args:
        fn: the learner's function; two ``(N, D)`` tensors and a number -> a scalar tensor that
            carries the gradient.
    """
    gen = torch.Generator().manual_seed(14)
    n, d, scale = 6, 4, 5.0
    lengths = torch.linspace(0.4, 3.0, n).unsqueeze(1)
    img = torch.randn(n, d, generator=gen) * lengths  # (6, 4) rows of different lengths
    txt = (img + torch.randn(n, d, generator=gen)) * lengths.flip(0) + 0.3  # (6, 4)
    what = "6 image-text pairs in 4-D, rows of different lengths, logit_scale 5"
    got = returned_tensor(fn(img.clone(), txt.clone(), scale), what, "a scalar tensor")
    got = got.detach().double()
    v = _clip_variants(img, txt, scale)
    if got.numel() == 2 * n or got.shape in ((n,), (n, n)):
        raise CheckFailed(
            f"{what}: expected one number (a scalar), got shape {tuple(got.shape)}: average the "
            "cross-entropies over the N pairs and over the two directions."
        )
    for name, hint in _CLIP_HINTS.items():
        if same_values(got, v[name]) and not same_values(got, v["right"]):
            raise CheckFailed(f"{what}: {hint}")
    if got.ndim != 0:
        raise CheckFailed(f"{what}: expected a scalar (0-d tensor), got shape {tuple(got.shape)}")
    expect_close(
        got,
        v["right"],
        what,
        hint="Normalise both sets of rows, S = logit_scale * image @ text.T, then the mean of "
        "F.cross_entropy(S, arange(N)) and F.cross_entropy(S.T, arange(N)).",
    )
    for n, d, s in ((9, 16, 100.0), (2, 3, 1.0)):
        a, b = torch.randn(n, d, generator=gen), torch.randn(n, d, generator=gen)
        want = clip_loss(a, b, s)
        expect_close(fn(a.clone(), b.clone(), s), want, f"{n} random {d}-D pairs, scale {s}")
    a, b = torch.randn(5, 8, generator=gen), torch.randn(5, 8, generator=gen)
    scale_t = torch.tensor(3.0, requires_grad=True)
    out = fn(a.clone().requires_grad_(True), b.clone(), scale_t)
    expect_close(out, clip_loss(a, b, 3.0), "5 pairs with logit_scale a learnable 0-d tensor")
    if not isinstance(out, Tensor) or not out.requires_grad:
        raise CheckFailed(
            "your loss has the right value but carries no gradient, so loss.backward() cannot "
            "train the towers or the scale: return the tensor itself (no .item(), float() or "
            "NumPy on the way)."
        )


# ----------------------------------------------------------------------------- zero-shot


def _predict(img: Tensor, txt: Tensor, how: str = "right") -> Tensor:
    """Zero-shot predictions with a prompt ensemble, right and wrong ways."""
    i, t = img.double(), txt.double()  # (N, D), (C, T, D)
    if how == "first_template":
        t = t[:, :1]
    if how == "no_normalise_templates":
        mean = t.mean(1)
    else:
        mean = F.normalize(t, dim=2).mean(1)  # (C, D)
    class_emb = mean if how == "no_renormalise" else F.normalize(mean, dim=1)
    scores = F.normalize(i, dim=1) @ class_emb.T  # (N, C)
    return scores.argmin(1) if how == "argmin" else scores.argmax(1)


_ZERO_SHOT_HINTS = {
    "argmin": "you picked the least similar class: the prediction is the class whose prompt "
    "embedding has the largest cosine similarity (argmax).",
    "no_normalise_templates": "you averaged the raw template embeddings: normalise each one first "
    "(F.normalize(text, dim=-1)), or a template with a long embedding outvotes the others.",
    "no_renormalise": "the mean of unit vectors is shorter than 1, and by a different amount per "
    "class: normalise the class means again before the cosine, or classes whose templates "
    "agree more win too often.",
    "first_template": "only the first template of each class counts: average all T templates "
    "(the prompt ensemble).",
}


@exercise_check("Zero-shot prediction with a prompt ensemble")
def check_zero_shot_predict(fn) -> None:
    """Check ``fn(image_emb, text_emb)`` returns each image's zero-shot class.

    ``image_emb`` is ``(N, D)``; ``text_emb`` is ``(C, T, D)``: ``T`` prompt templates for each
    of ``C`` classes. Normalise every template embedding, average them per class, normalise the
    mean, and give each image the class of largest cosine similarity: ``(N,)`` class indices.

    Args:
        fn: the learner's function -> ``(N,)`` integer class indices.
    """
    gen = torch.Generator().manual_seed(4)
    n, c, t, d = 40, 5, 3, 6
    centres = torch.randn(c, d, generator=gen)  # (C, D)
    spread = torch.linspace(0.2, 2.0, c)[:, None, None]  # classes whose templates disagree
    lengths = torch.rand(c, t, 1, generator=gen) * 3.0 + 0.2
    text = (centres[:, None] + spread * torch.randn(c, t, d, generator=gen)) * lengths  # (C,T,D)
    img = torch.randn(n, d, generator=gen) * 2.0 + centres[torch.arange(n) % c]  # (N, D)
    img = img * torch.linspace(0.5, 3.0, n)[:, None]  # rows of different lengths
    what = f"{n} images, {c} classes with {t} prompt templates each, in {d}-D"
    got = returned_tensor(fn(img.clone(), text.clone()), what, f"a tensor of {n} class indices")
    want = _predict(img, text)
    if got.shape == (c,):
        raise CheckFailed(
            f"{what}: expected one class per image, shape ({n},), got ({c},): take the argmax "
            "over the classes (dim=1 of the (N, C) scores), not over the images."
        )
    if got.shape != (n,):
        raise CheckFailed(
            f"{what}: expected one class per image, shape ({n},), got {tuple(got.shape)}; "
            "return class indices, not scores."
        )
    got = got.detach()
    if got.is_floating_point() and not bool((got == got.round()).all()):
        raise CheckFailed(f"{what}: expected class indices (integers), got non-integer values.")
    if got.dtype == torch.bool:
        raise CheckFailed(f"{what}: expected class indices 0..{c - 1}, got booleans.")
    got = got.long()
    if torch.equal(got, want):
        return
    for how, hint in _ZERO_SHOT_HINTS.items():
        if torch.equal(got, _predict(img, text, how)):
            raise CheckFailed(f"{what}: {hint}")
    wrong = int((got != want).sum())
    raise CheckFailed(
        f"{what}: {wrong} of {n} images got the wrong class. Normalise the template embeddings, "
        "average per class, normalise again, then argmax of the cosine similarity."
    )

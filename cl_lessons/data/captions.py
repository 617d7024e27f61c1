"""Captioned digits for image-text learning: images made from known factors, captions composed from
the same factors, a split that holds out images *and* combinations, and a word-level tokenizer."""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from cl_lessons._checks import check_fraction, check_int, check_positive_int, check_seed
from cl_lessons.data.augmentations import _warp
from cl_lessons.data.digits import load_digits

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
"""The digits' names, in class order."""

FACTORS = {
    "digit": DIGIT_NAMES,
    "tilt": ("left", "upright", "right"),
    "position": ("left", "centre", "right"),
    "stroke": ("thin", "thick"),
}
"""Every factor that makes an image, and its values (a value is stored as its index)."""

# Several phrasings per value. The tilt and position phrases share the words "left" and "right":
# a bag of words cannot tell "tilted left, on the right" from "tilted right, on the left".
PHRASES = {
    "tilt": (
        ("tilted left", "leaning left", "rotated to the left"),
        ("upright", "standing straight", "not tilted"),
        ("tilted right", "leaning right", "rotated to the right"),
    ),
    "position": (
        ("on the left", "at the left side", "in the left half"),
        ("in the middle", "in the centre", "centred"),
        ("on the right", "at the right side", "in the right half"),
    ),
    "stroke": (("thin", "light", "fine"), ("thick", "bold", "heavy")),
}
DIGIT_PHRASES = ("{name}", "{numeral}", "digit {name}", "number {name}", "handwritten {name}")

_ANGLE = (22.0, 0.0, -22.0)  # degrees per tilt value (positive turns the top to the left)
_SHIFT = (-0.3, 0.0, 0.3)  # horizontal shift per position value, in grid units (2 per side)


def _digit_phrase(d: int, k: int) -> str:
    return DIGIT_PHRASES[k].format(name=DIGIT_NAMES[d], numeral=str(d))


def compose_caption(
    factors: dict[str, int], generator: torch.Generator | None = None, mention: float = 0.75
) -> str:
    """One random caption of an image with these factors, e.g. "a bold seven, tilted left".

    The digit is always named; each other factor is mentioned with probability ``mention``, in a
    random phrasing; the tilt and position clauses come in a random order.

    Args:
        factors: ``{"digit": 0-9, "tilt": 0-2, "position": 0-2, "stroke": 0-1}`` (indices into
            :data:`FACTORS`).
        generator: random generator; ``None`` uses torch's global one.
        mention: probability that a factor other than the digit is mentioned.

    Returns:
        The caption, lower case.

    Raises:
        ValueError: a factor missing or out of range, or ``mention`` outside [0, 1].
    """
    mention = check_fraction(mention, "mention")
    for name, values in FACTORS.items():
        v = factors.get(name) if isinstance(factors, dict) else None
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < len(values):
            top = len(values) - 1
            raise ValueError(f"factors[{name!r}] must be an int in [0, {top}], got {v!r}")
    u = torch.rand(8, generator=generator).tolist()

    def pick(options: Sequence, x: float):
        return options[min(int(x * len(options)), len(options) - 1)]

    noun = _digit_phrase(factors["digit"], min(int(u[0] * len(DIGIT_PHRASES)), 4))
    stroke = pick(PHRASES["stroke"][factors["stroke"]], u[1]) + " " if u[2] < mention else ""
    head = f"{'a' if u[3] < 0.5 else 'the'} {stroke}{noun}"
    clauses = [pick(PHRASES[f][factors[f]], u[4 + i]) for i, f in enumerate(("tilt", "position"))]
    clauses = [c for c, x in zip(clauses, (u[6], u[7]), strict=True) if x < mention]
    if len(clauses) == 2 and u[5] < 0.5:
        clauses.reverse()
    return ", ".join([head, *clauses])


def caption_words() -> list[str]:
    """Every word the caption grammar can produce, sorted (the tokenizer's vocabulary)."""
    texts = ["a the"] + [p for v in PHRASES.values() for group in v for p in group]
    texts += [_digit_phrase(d, k) for d in range(10) for k in range(len(DIGIT_PHRASES))]
    return sorted({w for t in texts for w in CaptionTokenizer.split(t)})


class CaptionTokenizer:
    """A word-level tokenizer: each known word is one id, anything else is ``<unk>``.

    Id 0 is ``<pad>`` (fills captions up to a common length; encoders ignore it) and id 1 is
    ``<unk>``. Text is lower-cased and split at anything that is not a letter or a digit.

    Args:
        words: the vocabulary; ``None`` uses every word of the caption grammar
            (:func:`caption_words`).
        length: tokens per encoded caption (longer captions are cut).

    Attributes:
        vocab: id -> word; ``index``: word -> id; ``vocab_size``.
    """

    PAD, UNK = "<pad>", "<unk>"

    def __init__(self, words: Sequence[str] | None = None, length: int = 12) -> None:
        words = caption_words() if words is None else words
        if isinstance(words, str) or not all(isinstance(w, str) and w for w in words):
            raise ValueError(f"words must be a sequence of non-empty strings, got {words!r}")
        self.length = check_positive_int(length, "length")
        self.vocab = [self.PAD, self.UNK, *sorted(set(words) - {self.PAD, self.UNK})]
        self.index = {w: i for i, w in enumerate(self.vocab)}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @staticmethod
    def split(text: str) -> list[str]:
        """The words of ``text``: lower case, split at every non-alphanumeric character."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a string, got {type(text).__name__}")
        return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]

    def unknown_words(self, text: str) -> list[str]:
        """The words of ``text`` that the vocabulary lacks (each becomes ``<unk>``)."""
        return [w for w in self.split(text) if w not in self.index]

    def encode(self, texts: str | Sequence[str]) -> Tensor:
        """Token ids of one caption or a list of them, padded with 0 to ``length``.

        Returns:
            int64 ``(B, length)`` (``B = 1`` for a single string).

        Raises:
            ValueError: not a string or a non-empty list of strings, or a caption with no word.
        """
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, Sequence) or len(texts) == 0:
            raise ValueError(
                f"texts must be a string or a non-empty list of strings, got {texts!r:.80}"
            )
        out = torch.zeros(len(texts), self.length, dtype=torch.int64)  # (B, L) all <pad>
        for i, text in enumerate(texts):
            ids = [self.index.get(w, 1) for w in self.split(text)][: self.length]
            if not ids:
                raise ValueError(f"texts[{i}] has no words: {text!r}")
            out[i, : len(ids)] = torch.tensor(ids)
        return out

    def decode(self, ids: Tensor) -> list[str]:
        """Captions back from ids (``<pad>`` dropped, unknown words shown as ``<unk>``)."""
        ids = torch.as_tensor(ids)
        if ids.ndim == 1:
            ids = ids[None]
        return [" ".join(self.vocab[i] for i in row.tolist() if i != 0) for row in ids]


def _held_out_pairs() -> set[tuple[int, int]]:
    """The (digit, tilt) combinations never seen in training: digit d with tilt d mod 3."""
    return {(d, d % 3) for d in range(10)}


class CaptionedDigits:
    """scikit-learn's digits rendered from known factors, each with several captions.

    Every source digit (1,797 of them) is rendered ``copies`` times at ``size`` x ``size``, each
    time with random factors: a tilt (left, upright, right: about +-22 degrees), a position (left,
    centre, right), a stroke (thin, or thickened by a 2x2 max-filter), plus a little jitter.
    Captions are composed from the same factors (:func:`compose_caption`).

    The split: a stratified ``test_fraction`` of the *source* digits is held out, so test images
    are handwriting never seen in training. Moreover, ten (digit, tilt) combinations (digit d
    with tilt ``d mod 3``, e.g. "a zero tilted left", "a one standing upright") never occur in
    training. ``split`` is ``"train"`` (seen sources, seen combinations), ``"test"`` (held-out
    sources, seen combinations) or ``"novel"`` (held-out sources, held-out combinations); images
    of seen sources in held-out combinations are dropped (``"unused"``).

    Args:
        copies: renderings per source digit.
        size: image side in pixels (>= 12).
        captions_per_image: captions drawn per image (training draws one at random per step).
        test_fraction: share of the source digits held out, per class.
        seed: random seed of the factors, the jitter, the captions and the split.

    Attributes:
        images: float32 ``(N, 1, size, size)`` in [0, 1], ``N = 1797 * copies``.
        labels: int64 ``(N,)`` digit classes (the same as ``factors["digit"]``).
        factors: name -> int64 ``(N,)`` value index, for every name in :data:`FACTORS`.
        captions: ``N`` lists of ``captions_per_image`` strings.
        source: int64 ``(N,)`` index of the source digit.
        split: ``N`` strings, as above; :meth:`mask` gives a boolean mask of one part.
        held_out_pairs: the held-out (digit, tilt) combinations.

    Raises:
        ValueError: a bad size, count, fraction or seed.
    """

    def __init__(
        self,
        copies: int = 2,
        size: int = 16,
        captions_per_image: int = 4,
        test_fraction: float = 0.25,
        seed: int = 0,
    ) -> None:
        self.copies = check_positive_int(copies, "copies")
        self.size = check_int(size, "size", 12)
        k = check_positive_int(captions_per_image, "captions_per_image")
        test_fraction = check_fraction(test_fraction, "test_fraction", True, True)
        self.seed = check_seed(seed)
        gen = torch.Generator().manual_seed(self.seed)
        X, y = load_digits(as_images=True)
        big = F.interpolate(X, size=(self.size, self.size), mode="bilinear", align_corners=False)
        thick = F.max_pool2d(F.pad(big, (0, 1, 0, 1)), 2, stride=1)  # (1797, 1, S, S) 1 px wider
        n = len(y) * self.copies
        self.source = torch.arange(len(y)).repeat(self.copies)  # (N,)
        self.labels = y[self.source]
        self.factors = {"digit": self.labels}
        for name in ("tilt", "position", "stroke"):
            self.factors[name] = torch.randint(len(FACTORS[name]), (n,), generator=gen)
        jitter = torch.rand(n, 3, generator=gen) * 2 - 1  # (N, 3) in [-1, 1)
        angle = torch.tensor(_ANGLE)[self.factors["tilt"]] + 6.0 * jitter[:, 0]  # (N,) degrees
        shift = torch.zeros(n, 2)
        shift[:, 0] = torch.tensor(_SHIFT)[self.factors["position"]] + 0.05 * jitter[:, 1]
        scale = 0.72 + 0.06 * jitter[:, 2]  # (N,) leave room to move
        base = torch.where(self.factors["stroke"][:, None, None, None] == 1, thick[self.source],
                           big[self.source])  # fmt: skip
        self.images = _warp(base, torch.deg2rad(angle), scale, shift, "zeros").clamp(0, 1)
        self.images = self.images.contiguous()  # (N, 1, S, S)
        self.held_out_pairs = _held_out_pairs()
        held = torch.zeros(10, 3, dtype=torch.bool)
        for d, t in self.held_out_pairs:
            held[d, t] = True
        novel_combo = held[self.labels, self.factors["tilt"]]  # (N,)
        test_source = torch.zeros(len(y), dtype=torch.bool)
        for c in range(10):
            idx = torch.nonzero(y == c).squeeze(1)
            pick = idx[torch.randperm(len(idx), generator=gen)[: round(test_fraction * len(idx))]]
            test_source[pick] = True
        is_test = test_source[self.source]
        self.split = [
            ("novel" if c else "test") if t else ("unused" if c else "train")
            for t, c in zip(is_test.tolist(), novel_combo.tolist(), strict=True)
        ]
        cols = [self.factors[f].tolist() for f in FACTORS]
        self.captions = [
            [compose_caption(dict(zip(FACTORS, row, strict=True)), gen) for _ in range(k)]
            for row in zip(*cols, strict=True)
        ]

    def __len__(self) -> int:
        return len(self.labels)

    def mask(self, part: str) -> Tensor:
        """Boolean ``(N,)`` mask of ``"train"``, ``"test"``, ``"novel"`` or ``"unused"``."""
        if part not in ("train", "test", "novel", "unused"):
            raise ValueError(f"part must be 'train', 'test', 'novel' or 'unused', got {part!r}")
        return torch.tensor([s == part for s in self.split])

    def describe(self, i: int) -> str:
        """The factors of image ``i`` in plain words, e.g. "seven, tilt left, centre, thick"."""
        i = check_int(i, "i", 0)
        if i >= len(self):
            raise ValueError(f"i must be < {len(self)}, got {i}")
        return ", ".join(f"{f} {FACTORS[f][int(v[i])]}" for f, v in self.factors.items())

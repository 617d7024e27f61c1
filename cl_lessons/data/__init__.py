"""Data for the lessons: toy 2-D sets, digits, splits, pairs and triplets, P×K batches,
augmentations, transformed digits and a synthetic-faces set with many identities.

Everything here is generated locally or ships with scikit-learn, so no lesson needs the internet.
Randomness is always passed in: toy sets and datasets take ``seed=``, samplers and augmentations
take ``generator=`` (a ``torch.Generator``; ``None`` means torch's global generator, which
``cl.seed_everything`` seeds). Nothing is generated at import time.

Optional loaders for real data (MNIST, Fashion-MNIST, Olivetti faces, LFW pairs) download only
when asked and, offline, raise a ``RuntimeError`` that names the synthetic alternative.

Files (the names above are re-exported here, so import from ``cl_lessons.data``):

    _random.py             Random numbers from a caller's ``torch.Generator`` (on its own device),
                           moved to ``device``.
    augmentations.py       Image augmentations for two-view (SimCLR-style) learning, on batches of
                           tensors.
    captions.py            Captioned digits from known factors (held-out images and combinations)
                           and a word-level caption tokenizer.
    digits.py              scikit-learn's 8x8 handwritten digits as an image tensor (ships offline).
    episodes.py            Few-shot episodes: N classes, K labelled examples (support) and Q
                           queries of each.
    faces.py               Procedural faces: ``render_faces`` and ``SyntheticFaces``, a dataset with
                           many identities.
    real.py                Optional loaders of real data (MNIST, Olivetti, LFW): download on
                           request, fail fast offline.
    sampling.py            Pairs, triplets, P x K batches and k labelled examples per class,
                           drawn from labelled data.
    splits.py              Train/test splits: by class (unseen classes at test time) and stratified.
    toy.py                 Toy 2-D sets with balanced classes: blobs, moons, rings and spirals.
    transformed_digits.py  ``TransformedDigits``: each digit image as a class of its random
                           transformations.
"""

from __future__ import annotations

from cl_lessons.data.augmentations import (
    add_noise,
    augment,
    random_affine,
    random_erasing,
    random_intensity,
    two_views,
)
from cl_lessons.data.captions import CaptionedDigits, CaptionTokenizer, compose_caption
from cl_lessons.data.digits import load_digits
from cl_lessons.data.episodes import Episodes, few_shot_episodes
from cl_lessons.data.faces import FACE_PARAM_NAMES, SyntheticFaces, render_faces
from cl_lessons.data.real import load_lfw_pairs, load_mnist, load_olivetti_faces
from cl_lessons.data.sampling import PKSampler, make_pairs, make_triplets, sample_per_class
from cl_lessons.data.splits import split_by_class, stratified_split
from cl_lessons.data.toy import make_blobs, make_moons, make_rings, make_spirals
from cl_lessons.data.transformed_digits import TransformedDigits

__all__ = [
    "FACE_PARAM_NAMES",
    "CaptionTokenizer",  # lesson 14
    "CaptionedDigits",  # lesson 14
    "Episodes",
    "PKSampler",
    "SyntheticFaces",
    "TransformedDigits",
    "add_noise",
    "augment",
    "compose_caption",  # lesson 14
    "few_shot_episodes",
    "load_digits",
    "load_lfw_pairs",
    "load_mnist",
    "load_olivetti_faces",
    "make_blobs",
    "make_moons",
    "make_pairs",
    "make_rings",
    "make_spirals",
    "make_triplets",
    "random_affine",
    "random_erasing",
    "random_intensity",
    "render_faces",
    "sample_per_class",
    "split_by_class",
    "stratified_split",
    "two_views",
]

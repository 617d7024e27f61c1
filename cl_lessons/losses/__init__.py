"""Contrastive, triplet and InfoNCE losses: functions plus ``nn.Module`` wrappers.

Conventions (fixed by the course's design, lessons and tests rely on them):

* pair label ``y = 1`` means *similar*, ``y = 0`` dissimilar (Hadsell et al. 2006 use the opposite;
  lesson 04 says so);
* ``distance="euclidean"`` is the L2 distance, ``distance="cosine"`` is ``1 - cos``; both come from
  :mod:`cl_lessons.distances`, so the loss formula is written once;
* float16 / bfloat16 inputs are computed in float32 and the loss comes back in float32 (what
  ``torch.autocast`` does for losses), so low-precision logits at small temperatures never
  overflow; float32 and float64 inputs keep their dtype;
* every function checks its inputs and raises ``ValueError`` naming the bad argument; a batch that
  contains no valid triplet or no positive pair returns a zero that still carries a gradient.

References:
    Hadsell, Chopra, LeCun 2006, "Dimensionality Reduction by Learning an Invariant Mapping".
    Schroff, Kalenichenko, Philbin 2015, "FaceNet", https://arxiv.org/abs/1503.03832.
    Hermans, Beyer, Leibe 2017, "In Defense of the Triplet Loss", https://arxiv.org/abs/1703.07737.
    Chen et al. 2020, "SimCLR", https://arxiv.org/abs/2002.05709.
    Khosla et al. 2020, "Supervised Contrastive Learning", https://arxiv.org/abs/2004.11362.
    Chen & He 2021, "SimSiam", https://arxiv.org/abs/2011.10566.

Files (the names above are re-exported here, so import from ``cl_lessons.losses``):

    _common.py        What the losses share: distance and reduction names, reductions, distances by
                      name, masks.
    batch_triplet.py  The triplet loss over the triplets of a labelled batch: batch-all, batch-hard,
                      semi-hard.
    clip.py           CLIP's symmetric contrastive loss over the N x N image-text similarity matrix.
    infonce.py        InfoNCE / NT-Xent, supervised contrastive and SimSiam's negative cosine.
    modules.py        ``nn.Module`` wrappers of the loss functions, for code that expects a loss
                      object.
    pair.py           Losses on given pairs and triplets: the contrastive (Hadsell et al. 2006) and
                      triplet losses.
"""

from __future__ import annotations

# Also public, outside __all__ as before the split: DISTANCES, REDUCTIONS, MININGS.
from cl_lessons.losses._common import DISTANCES, REDUCTIONS
from cl_lessons.losses.batch_triplet import MININGS, batch_triplet_loss
from cl_lessons.losses.clip import clip_loss
from cl_lessons.losses.infonce import info_nce, negative_cosine, supcon_loss
from cl_lessons.losses.modules import (
    BatchTripletLoss,
    ContrastiveLoss,
    NegativeCosineLoss,
    NTXentLoss,
    SupConLoss,
    TripletLoss,
)
from cl_lessons.losses.pair import contrastive_loss, triplet_loss

__all__ = [
    "BatchTripletLoss",
    "ContrastiveLoss",
    "NTXentLoss",
    "NegativeCosineLoss",
    "SupConLoss",
    "TripletLoss",
    "batch_triplet_loss",
    "clip_loss",  # lesson 14
    "contrastive_loss",
    "info_nce",
    "negative_cosine",
    "supcon_loss",
    "triplet_loss",
]

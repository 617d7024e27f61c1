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

Files (the names above are re-exported here, so import from ``cl_lessons.models``):

    dual_stream.py  Two-input networks: fused dual streams and two-tower retrieval models.
    multimodal.py   Image-text dual encoders (CLIP-style): small text encoders and DualEncoder.
    encoders.py     Encoders (MLP, small CNN), the SimCLR projection head and size helpers.
    siamese.py      Siamese networks: shared weights, separate weights, and a pair classifier.
"""

from __future__ import annotations

from cl_lessons.models.dual_stream import FUSIONS, DualStreamNetwork, TwoTower
from cl_lessons.models.encoders import (
    ConvEncoder,
    MLPEncoder,
    ProjectionHead,
    count_parameters,
    embedding_dim,
)
from cl_lessons.models.multimodal import BagOfWordsEncoder, DualEncoder, GRUTextEncoder
from cl_lessons.models.siamese import PseudoSiameseNetwork, SiameseClassifier, SiameseNetwork

__all__ = [
    "FUSIONS",
    "BagOfWordsEncoder",  # lesson 14
    "ConvEncoder",
    "DualEncoder",  # lesson 14
    "DualStreamNetwork",
    "GRUTextEncoder",  # lesson 14
    "MLPEncoder",
    "ProjectionHead",
    "PseudoSiameseNetwork",
    "SiameseClassifier",
    "SiameseNetwork",
    "TwoTower",
    "count_parameters",
    "embedding_dim",
]

"""Evaluation: verification (ROC, AUC, EER, threshold), retrieval, kNN, linear probe, and the
alignment / uniformity of Wang & Isola 2020.

Verification functions take ``scores`` (higher = more similar; pass ``-distance`` for distances)
and ``same`` (1 = the pair shows the same identity/class, 0 = different). Rule: a pair is called
"same" when ``score >= threshold``. They accept NumPy arrays, lists and torch tensors and return
Python floats / NumPy arrays. Embedding metrics accept tensors or arrays.

Every number should be measured on held-out data: on held-out *classes* for verification and
retrieval, on a held-out split for kNN and the linear probe.

Files (the names above are re-exported here, so import from ``cl_lessons.metrics``):

    _inputs.py       Input conversion shared by the metrics: scores and pair labels, embeddings.
    few_shot.py      Few-shot episodes classified by the nearest prototype or the nearest example.
    geometry.py      Alignment and uniformity on the hypersphere (Wang & Isola 2020).
    identification.py  Operating points (threshold and TAR at a FAR, rates at a threshold) and
                     identification: the CMC curve and the open-set DIR at a false alarm rate.
    probe.py         The linear probe: a logistic regression on frozen embeddings, its C
                     chosen by cross-validation on the training split.
    ranking.py       Ranking quality of leave-one-out retrieval: precision@k and MAP@R.
    retrieval.py     Retrieval and nearest neighbours: recall@k and k-NN accuracy.
    verification.py  Verification: ROC curve, AUC, equal error rate and the best threshold.
"""

from __future__ import annotations

from cl_lessons.metrics.few_shot import few_shot_accuracy
from cl_lessons.metrics.geometry import alignment, uniformity
from cl_lessons.metrics.identification import (
    cmc_curve,
    detection_identification_rate,
    tar_at_far,
    threshold_at_far,
    verification_rates,
)
from cl_lessons.metrics.probe import PROBE_CS, choose_probe_c, linear_probe_accuracy
from cl_lessons.metrics.ranking import map_at_r, precision_at_k
from cl_lessons.metrics.retrieval import knn_accuracy, recall_at_k
from cl_lessons.metrics.verification import best_threshold, equal_error_rate, roc_auc, roc_curve

__all__ = [
    "PROBE_CS",
    "alignment",
    "best_threshold",
    "choose_probe_c",
    "cmc_curve",
    "detection_identification_rate",
    "equal_error_rate",
    "few_shot_accuracy",
    "knn_accuracy",
    "linear_probe_accuracy",
    "map_at_r",
    "precision_at_k",
    "recall_at_k",
    "roc_auc",
    "roc_curve",
    "tar_at_far",
    "threshold_at_far",
    "uniformity",
    "verification_rates",
]

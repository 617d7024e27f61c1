"""One training loop for every lesson, on a laptop CPU or a GPU, plus evaluation glue.

The loop, :func:`fit`, knows nothing about Siamese networks or InfoNCE: it takes a
``loss_fn(model, batch) -> scalar`` and a re-iterable source of batches. The *objective builders*
turn a loss from :mod:`cl_lessons.losses` into such a ``loss_fn`` in one line:

=========================================  ===============================  =====================
builder                                    batch                            model call
=========================================  ===============================  =====================
``pair_objective(contrastive_loss)``       ``(x1, x2, y)``                  ``model(x1, x2)``
``triplet_objective(triplet_loss)``        ``(xa, xp, xn)``                 ``embed(cat)``
``labeled_objective(batch_triplet_loss)``  ``(x, labels)`` (P x K)          ``embed(x)``
``two_view_objective(info_nce, augment)``  ``(x,)`` or ``(x, labels)``      ``embed(cat(v1, v2))``
``pair_classifier_objective()``            ``(x1, x2, y)``                  logits ``model(x1, x2)``
=========================================  ===============================  =====================

``embed`` is ``model.embed`` when the model has one (:class:`~cl_lessons.models.SiameseNetwork`),
else ``model`` itself. A typical lesson cell::

    net = cl.models.SiameseNetwork(cl.models.ConvEncoder(1, 16, out_dim=32))
    data = cl.training.TensorBatches(x1, x2, y, batch_size=128)
    history = cl.training.fit(
        net, cl.training.pair_objective(cl.losses.contrastive_loss, margin=1.0), data,
        epochs=10, lr=1e-3, seed=0,
    )
    history.plot()

Batch sources: :class:`TensorBatches` (tensors held once, on the training device, sliced by
shuffled indices) and :class:`PKBatches` (P classes x K samples per batch, for batch mining). A
plain list of batches and a ``torch.utils.data.DataLoader`` work too.

Files (the names above are re-exported here, so import from ``cl_lessons.training``):

    batches.py      Re-iterable batch sources: :class:`TensorBatches` and :class:`PKBatches` (P x
                    K).
    checkpoints.py  Saving and loading training checkpoints (atomic writes, checked on load).
    evaluation.py   Evaluation glue: embed a dataset, score pairs, verification and retrieval
                    reports.
    history.py      The :class:`History` of a training run: what :func:`fit` measured.
    loop.py         The training loop, :func:`fit`.
    objectives.py   Objective builders: a loss from :mod:`cl_lessons.losses` -> ``loss_fn(model,
                    batch)``.
"""

from __future__ import annotations

# Also public, outside __all__ as before the split: LossFn, Callback, CHECKPOINT_FORMAT.
from cl_lessons.training.batches import PKBatches, TensorBatches
from cl_lessons.training.checkpoints import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from cl_lessons.training.evaluation import (
    embed_dataset,
    pair_scores,
    retrieval_report,
    verification_report,
)
from cl_lessons.training.history import History
from cl_lessons.training.loop import Callback, fit
from cl_lessons.training.objectives import (
    LossFn,
    labeled_objective,
    pair_classifier_objective,
    pair_objective,
    triplet_objective,
    two_view_objective,
)

__all__ = [
    "CheckpointError",
    "History",
    "PKBatches",
    "TensorBatches",
    "embed_dataset",
    "fit",
    "labeled_objective",
    "load_checkpoint",
    "pair_classifier_objective",
    "pair_objective",
    "pair_scores",
    "retrieval_report",
    "save_checkpoint",
    "triplet_objective",
    "two_view_objective",
    "verification_report",
]

"""Contrastive learning past one batch and one process: the memory wall and its answers.

``info_nce`` builds a ``(2N, 2N)`` similarity matrix, so its memory grows as ``16 N^2`` bytes and
a batch of 16,384 pairs needs 4 GiB for the loss alone. The pieces here take the three walls
apart (lesson 13):

* the loss's matrix: :func:`info_nce_chunked`, the same value and gradient in row blocks;
* the encoder's activations: :func:`grad_cache_step` (GradCache, Gao et al. 2021);
* negatives on other devices: :func:`gather_with_grad` and :func:`distributed_info_nce` under
  ``torch.distributed`` (gloo on CPUs, NCCL on GPUs), launched by :func:`run_distributed` from
  a notebook or by ``torchrun`` for the script ``python -m cl_lessons.scale.train_simclr``.

Files (the names above are re-exported here, so import from ``cl_lessons.scale``):

    chunked.py       ``info_nce_chunked``: NT-Xent in row blocks, so the ``(2N, 2N)`` matrix never
                     exists.
    grad_cache.py    ``grad_cache_step``: the gradient of a huge contrastive batch with the memory
                     of a small one.
    collectives.py   ``gather_with_grad``, ``distributed_info_nce`` (and ``plain_all_gather``, the
                     bug they fix).
    launch.py        ``run_distributed``: a real multi-process job (gloo on 127.0.0.1) from a
                     notebook or a test.
    workers.py       Worker functions for ``run_distributed``: ``ddp_step``, ``full_batch_step``,
                     ``probe``.
    memory.py        ``measure_peak_memory``: peak memory of a loss's forward and backward, in a
                     fresh process; ``info_nce_bytes``, the formula.
    train_simclr.py  SimCLR on TransformedDigits under ``torchrun`` (or one process): DDP,
                     ``DistributedSampler``, rank-0 checkpoints.
"""

from __future__ import annotations

from cl_lessons.scale.chunked import info_nce_chunked
from cl_lessons.scale.collectives import distributed_info_nce, gather_with_grad, plain_all_gather
from cl_lessons.scale.grad_cache import grad_cache_step
from cl_lessons.scale.launch import WorkerError, free_port, run_distributed
from cl_lessons.scale.memory import info_nce_bytes, info_nce_chunked_bytes, measure_peak_memory
from cl_lessons.scale.workers import ddp_step, full_batch_step, probe

__all__ = [
    "WorkerError",
    "ddp_step",
    "distributed_info_nce",
    "free_port",
    "full_batch_step",
    "gather_with_grad",
    "grad_cache_step",
    "info_nce_bytes",
    "info_nce_chunked",
    "info_nce_chunked_bytes",
    "measure_peak_memory",
    "plain_all_gather",
    "probe",
    "run_distributed",
]

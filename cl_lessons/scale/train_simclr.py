"""SimCLR on TransformedDigits, one process or many: ``torchrun`` runs this file as it is.

On this machine (two CPU processes, gloo)::

    torchrun --standalone --nproc-per-node 2 -m cl_lessons.scale.train_simclr --epochs 5

On a cluster of 2 nodes with 8 GPUs each (NCCL; run the same line on every node)::

    torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d \\
        --rdzv-endpoint HOST:29500 --rdzv-id simclr -m cl_lessons.scale.train_simclr \\
        --batch-size 512 --epochs 100 --checkpoint simclr.pt

Without ``torchrun`` it trains in one process (``python -m cl_lessons.scale.train_simclr``).
Each process takes its share of every epoch (``DistributedSampler``), the encoder is wrapped in
``DistributedDataParallel`` (no batch statistics, so the step equals the one-process step on
the global batch), the loss is :func:`~cl_lessons.scale.distributed_info_nce` (negatives from
every process), and rank 0 prints, evaluates (held-out linear probe) and writes the checkpoint
(atomically, :func:`cl_lessons.training.save_checkpoint`). The backend is NCCL when CUDA is
available, gloo otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["main", "simclr_worker", "train"]


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _device() -> torch.device:
    use_cuda = torch.cuda.is_available()
    if dist.is_available() and dist.is_initialized():
        use_cuda = use_cuda and dist.get_backend() == "nccl"
    if use_cuda:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def _mean_over_ranks(value: float, world_size: int) -> float:
    if world_size == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t)
    return t.item() / world_size


def train(
    epochs: int = 3,
    batch_size: int = 128,
    lr: float = 2e-3,
    temperature: float = 0.2,
    max_steps: int | None = None,
    checkpoint: str | None = None,
    seed: int = 0,
    amp: bool = False,
    fail_rank: int | None = None,
    verbose: bool = True,
) -> dict:
    """Train SimCLR in this process's share of the job (the process group, if any, is set).

    Args:
        epochs: passes over the training split.
        batch_size: pairs per process per step (the global batch is ``world_size`` times it).
        lr: Adam's learning rate.
        temperature: of the NT-Xent loss.
        max_steps: at most this many steps per epoch (``None``: all).
        checkpoint: path rank 0 writes the final checkpoint to (``None``: none).
        seed: seed of the model, the sampler and the augmentations.
        amp: bfloat16 autocast on CUDA (ignored on the CPU).
        fail_rank: this rank raises at its first step (to test the launchers).
        verbose: rank 0 prints a line per epoch.

    Returns:
        ``{"loss": [global mean loss per epoch], "probe": held-out linear-probe accuracy,
        "seconds": training time, "steps": steps per epoch, "world_size": W}``.
    """
    import cl_lessons as cl
    from cl_lessons.scale.collectives import distributed_info_nce

    rank, world = _world()
    device = _device()
    digits = cl.data.TransformedDigits(size=16, seed=0)
    X_train, y_train, X_test, y_test = cl.data.stratified_split(
        digits.images, digits.labels, 0.25, seed=0
    )
    torch.manual_seed(seed)  # the same initial weights on every rank
    encoder = cl.models.MLPEncoder(256, [256], 64)  # no batch statistics (see grad_cache_step)
    model = nn.Sequential(encoder, cl.models.ProjectionHead(64, 32)).to(device)
    net = model
    if world > 1:
        ids = [device.index] if device.type == "cuda" else None
        net = nn.parallel.DistributedDataParallel(model, device_ids=ids)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sampler = torch.utils.data.DistributedSampler(
        range(len(X_train)), num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=True
    )
    gen = torch.Generator().manual_seed(seed * 1000 + rank)  # each rank its own augmentations
    history, steps, start = [], 0, time.perf_counter()
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        order = torch.tensor(list(sampler))
        batches = [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
        batches = [b for b in batches if len(b) == batch_size][:max_steps]
        if not batches:
            raise ValueError(f"batch_size {batch_size} is larger than a process's share")
        total = 0.0
        for idx in batches:
            if fail_rank is not None and rank == fail_rank:
                raise RuntimeError(f"rank {rank} failed on purpose (fail_rank={fail_rank})")
            v1, v2 = cl.data.two_views(X_train[idx], generator=gen)
            x = torch.cat([v1, v2]).to(device)  # (2B, 1, 16, 16)
            with torch.autocast("cuda", torch.bfloat16, enabled=amp and device.type == "cuda"):
                z1, z2 = net(x).float().chunk(2)  # one forward call per step (DDP)
            loss = distributed_info_nce(z1, z2, temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()  # DDP averages the gradients over the ranks
            opt.step()
            total += loss.item()
        steps = len(batches)
        history.append(_mean_over_ranks(total / steps, world))
        if verbose and rank == 0:
            print(f"epoch {epoch + 1}/{epochs}: loss {history[-1]:.4f} ({steps} steps x {world} "
                  f"processes x {batch_size} pairs)", flush=True)  # fmt: skip
    seconds = time.perf_counter() - start
    result = {"loss": history, "seconds": seconds, "steps": steps, "world_size": world}
    if rank == 0:
        encoder.eval()
        f_train = cl.training.embed_dataset(encoder, X_train)
        f_test = cl.training.embed_dataset(encoder, X_test)
        result["probe"] = cl.metrics.linear_probe_accuracy(f_train, y_train, f_test, y_test)
        if checkpoint is not None:
            cl.training.save_checkpoint(checkpoint, model, opt, epoch=epochs, **result)
        if verbose:
            print(f"held-out linear probe accuracy {result['probe']:.3f}; {seconds:.1f} s of "
                  f"training; checkpoint {checkpoint}", flush=True)  # fmt: skip
    if world > 1:
        dist.barrier()  # the others wait for rank 0's checkpoint
    return result


def simclr_worker(rank: int, world_size: int, options: dict) -> dict:
    """:func:`train` as a worker of :func:`~cl_lessons.scale.run_distributed`."""
    return train(**options)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m cl_lessons.scale.train_simclr", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128, help="pairs per process per step")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--temperature", type=float, default=0.2)
    p.add_argument("--max-steps", type=int, default=None, help="steps per epoch at most")
    p.add_argument("--checkpoint", default=None, help="file rank 0 writes at the end")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast on CUDA")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per collective")
    p.add_argument("--fail-rank", type=int, default=None, help="this rank raises (for tests)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point: joins the process group that ``torchrun`` describes, if any, and trains."""
    args = _parser().parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1:
        raise ValueError("--epochs and --batch-size must be >= 1")
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:  # started by torchrun
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend, timeout=timedelta(seconds=args.timeout))
    try:
        options = vars(args)
        options.pop("timeout")
        train(**options)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())

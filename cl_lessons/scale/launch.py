"""``run_distributed``: a real multi-process job (gloo on 127.0.0.1) from a notebook or a test."""

from __future__ import annotations

import contextlib
import io
import os
import queue
import socket
import time
import traceback
from collections.abc import Callable
from datetime import timedelta

from cl_lessons._checks import check_int, check_positive

__all__ = ["WorkerError", "free_port", "run_distributed"]


class WorkerError(RuntimeError):
    """A worker of :func:`run_distributed` raised; the message holds its rank and traceback."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(fn, rank: int, world_size: int, port: int, timeout: float, args, results) -> None:
    """Body of one process: join the group, run ``fn``, send back its result or its traceback."""
    import torch
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)  # W processes share the cores: no oversubscription
    joined = False
    try:
        dist.init_process_group(
            "gloo", rank=rank, world_size=world_size, timeout=timedelta(seconds=timeout)
        )
        joined = True
        out = fn(rank, world_size, *args)
        buffer = io.BytesIO()
        torch.save(out, buffer)  # plain bytes through the pipe: no shared-memory handles
        results.put(("ok", rank, buffer.getvalue()))
    except BaseException:
        results.put(("error", rank, traceback.format_exc()))  # before the group goes away
    finally:
        if joined:
            with contextlib.suppress(Exception):
                dist.destroy_process_group()


def _errors(results, rank: int, world_size: int, payload: str) -> str:
    """The first error, then any other that arrives within a second (the first is the cause;
    the others are usually peers that lost their connection to it)."""
    text = [f"rank {rank} of {world_size} raised:\n{payload}"]
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        try:
            status, other, more = results.get(timeout=max(0.01, end - time.monotonic()))
        except queue.Empty:
            break
        if status == "error":
            text.append(f"then rank {other} raised:\n{more}")
    return "\n".join(text)


def _stop(processes) -> None:
    """Terminate, then kill, then reap every process still running (no orphan, no zombie)."""
    processes = [p for p in processes if p.pid is not None]  # started ones
    for p in processes:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + 5.0
    for p in processes:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(5.0)


def run_distributed(fn: Callable, world_size: int, *args, timeout: float = 120.0) -> list:
    """Run ``fn(rank, world_size, *args)`` in ``world_size`` fresh CPU processes, with a gloo
    process group on 127.0.0.1, and return each rank's result.

    What ``torchrun`` does for a script, for one function: every process gets its rank, the
    group is initialised (a free port, the gloo backend, ``timeout`` for every collective) and
    destroyed after ``fn``; each uses one thread. Processes are started with ``spawn``, so ``fn``
    and its arguments must be picklable: a function defined in an importable module (e.g.
    :func:`cl_lessons.scale.ddp_step`), not in a notebook cell; a script that calls this must
    do so under ``if __name__ == "__main__":`` (each process imports the main module).

    If a worker raises, the others are stopped and :class:`WorkerError` is raised here with the
    worker's rank and traceback. If the job is not done within ``timeout`` seconds, every
    process is stopped and ``TimeoutError`` is raised. In every case all the processes are
    terminated (then killed) and reaped before this function returns: no orphan is left.

    Args:
        fn: a module-level function ``fn(rank, world_size, *args)``.
        world_size: number of processes, >= 1.
        *args: further arguments of ``fn`` (picklable).
        timeout: seconds for the whole job (start-up included), > 0.

    Returns:
        ``[result of rank 0, result of rank 1, ...]``. Results travel through ``torch.save``:
        tensors, numbers, strings, and lists, tuples and dicts of them.

    Raises:
        ValueError: ``fn`` not callable, ``world_size`` < 1, ``timeout`` <= 0.
        WorkerError: a worker raised (or died without a result).
        TimeoutError: the job did not finish in time.
    """
    import multiprocessing as mp

    import torch

    if not callable(fn):
        raise ValueError(f"fn must be callable, got {type(fn).__name__}")
    world_size = check_int(world_size, "world_size", 1)
    timeout = check_positive(timeout, "timeout")
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    port = free_port()
    processes = [
        ctx.Process(
            target=_worker,
            args=(fn, rank, world_size, port, timeout, args, results),
            daemon=True,
            name=f"cl_lessons-rank{rank}",
        )
        for rank in range(world_size)
    ]
    outputs: dict[int, object] = {}
    deadline = time.monotonic() + timeout
    try:
        for p in processes:
            p.start()
        while len(outputs) < world_size:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    f"run_distributed: {fn.__name__} did not finish within {timeout:g} s "
                    f"(ranks done: {sorted(outputs)}); all {world_size} processes were stopped"
                )
            try:
                status, rank, payload = results.get(timeout=min(0.2, left))
            except queue.Empty:
                dead = [p for p in processes if p.exitcode not in (None, 0)]
                if dead:
                    time.sleep(0.5)  # a last message may still be in the pipe
                    if results.empty():
                        codes = {p.name: p.exitcode for p in dead}
                        raise WorkerError(f"worker(s) died without a result: {codes}") from None
                continue
            if status == "error":
                raise WorkerError(_errors(results, rank, world_size, payload))
            outputs[rank] = torch.load(io.BytesIO(payload), weights_only=True)
        for p in processes:
            p.join(max(1.0, deadline - time.monotonic()))
    finally:
        _stop(processes)
        with contextlib.suppress(Exception):
            results.close()
            results.join_thread()
    return [outputs[r] for r in range(world_size)]

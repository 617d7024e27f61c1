"""``measure_peak_memory``: peak memory of a loss's forward and backward, in a fresh process;
``info_nce_bytes``: what the formula predicts.

Its ``_main`` is the measuring child: ``python -c "from cl_lessons.scale.memory import _main;
_main()" --loss info_nce --sizes 1024 2048`` prints one JSON line per size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from cl_lessons._checks import check_choice, check_int, check_positive

__all__ = ["info_nce_bytes", "info_nce_chunked_bytes", "measure_peak_memory"]

LOSSES = ("info_nce", "info_nce_chunked")


def info_nce_bytes(n: int, dim: int = 128, element_size: int = 4) -> int:
    """Bytes that ``info_nce`` forward + backward needs beyond its inputs, by the formula.

    The ``(2N, 2N)`` similarity matrix is kept for the backward pass: ``(2N)^2`` elements,
    ``16 N^2`` bytes in float32. The rest is linear in ``N``: the unit embeddings, the gradient
    and a few ``(2N, D)`` and ``(2N, 2D)`` buffers, about ``8 * 2N * D`` elements.

    Args:
        n: pairs in the batch (``2N`` views).
        dim: embedding dimension.
        element_size: bytes per number (4 for float32, 2 for bfloat16 inputs, which are
            computed in float32 anyway).

    Returns:
        The predicted extra peak, in bytes.
    """
    n = check_int(n, "n", 1)
    dim = check_int(dim, "dim", 1)
    element_size = check_int(element_size, "element_size", 1)
    return element_size * ((2 * n) ** 2 + 8 * 2 * n * dim)


def info_nce_chunked_bytes(
    n: int, dim: int = 128, chunk_size: int = 1024, element_size: int = 4
) -> int:
    """Bytes that ``info_nce_chunked`` forward + backward needs beyond its inputs.

    One block of ``min(chunk_size, 2N)`` rows of the similarity matrix at a time, plus about
    ``6 * 2N * D`` numbers (unit embeddings, two gradient accumulators, the result): linear in
    ``N``.
    """
    n = check_int(n, "n", 1)
    dim = check_int(dim, "dim", 1)
    chunk_size = check_int(chunk_size, "chunk_size", 1)
    element_size = check_int(element_size, "element_size", 1)
    return element_size * (min(chunk_size, 2 * n) * 2 * n + 6 * 2 * n * dim)


# CL_LESSONS_PORTABLE_PEAK=1 takes the path of other systems (one process per size, the peak
# since the process started): the tests use it to check that path on Linux
_LINUX = sys.platform.startswith("linux") and not os.environ.get("CL_LESSONS_PORTABLE_PEAK")


def _rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_so_far() -> int:
    """Peak resident memory of this process, in bytes: since the last :func:`_reset_peak` on
    Linux (VmHWM), since the start elsewhere (macOS ``ru_maxrss``, Windows PeakWorkingSetSize)."""
    if _LINUX:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    if sys.platform == "win32":  # pragma: no cover - not run on the Linux CI
        import ctypes
        from ctypes import wintypes

        class Counters(ctypes.Structure):
            _fields_ = [("cb", wintypes.DWORD), ("PageFaultCount", wintypes.DWORD)] + [
                (name, ctypes.c_size_t)
                for name in ("PeakWorkingSetSize", "WorkingSetSize", "a", "b", "c", "d", "e", "f")
            ]

        counters = Counters()
        counters.cb = ctypes.sizeof(counters)
        kernel32, psapi = ctypes.windll.kernel32, ctypes.windll.psapi
        kernel32.GetCurrentProcess.restype = wintypes.HANDLE
        psapi.GetProcessMemoryInfo(
            kernel32.GetCurrentProcess(), ctypes.byref(counters), counters.cb
        )
        return int(counters.PeakWorkingSetSize)
    import resource  # pragma: no cover - macOS and BSDs: ru_maxrss in bytes on macOS

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the peak resident set size (VmHWM), see proc(5)


def _child(loss: str, sizes: list[int], dim: int, chunk_size: int) -> None:
    import torch

    from cl_lessons.losses import info_nce
    from cl_lessons.scale.chunked import info_nce_chunked

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    fn = info_nce if loss == "info_nce" else lambda a, b: info_nce_chunked(a, b, 0.1, chunk_size)
    fn(torch.randn(8, dim, requires_grad=True), torch.randn(8, dim)).backward()  # warm up
    for n in sizes:
        gen = torch.Generator().manual_seed(0)
        z1 = torch.randn(n, dim, generator=gen).requires_grad_()
        z2 = torch.randn(n, dim, generator=gen).requires_grad_()
        if _LINUX:
            base = _rss_now()
            _reset_peak()
        else:  # one size per process (see measure_peak_memory): the peak so far is the inputs'
            base = _peak_so_far()
        start = time.perf_counter()
        fn(z1, z2).backward()
        seconds = time.perf_counter() - start
        peak = max(0, _peak_so_far() - base)
        print(json.dumps({"n": n, "peak_bytes": peak, "seconds": seconds}), flush=True)
        del z1, z2


def measure_peak_memory(
    loss: str = "info_nce",
    sizes=(1024, 2048, 4096),
    dim: int = 128,
    chunk_size: int = 1024,
    timeout: float = 300.0,
    threads: int = 1,
) -> list[dict]:
    """Peak memory and time of ``loss(z1, z2).backward()`` at each batch size, on the CPU.

    Measured in a fresh Python process (so nothing of this one counts) that builds the float32
    inputs, resets the kernel's peak-RSS counter (Linux ``/proc/self/clear_refs``), runs the
    forward and backward pass once and reads the peak back: the extra peak is what the call
    itself needed, as the operating system saw it. Large buffers are returned to the system on
    free (``MALLOC_MMAP_THRESHOLD_``), so sizes are independent. Elsewhere (macOS, Windows) the
    kernel only keeps the peak since the process started, which includes the transient of the
    imports: there each size runs in its own process and the number is a lower bound. Times are
    of one call and
    depend on the machine's load: print them, do not assert on them.

    Args:
        loss: ``"info_nce"`` or ``"info_nce_chunked"``.
        sizes: batch sizes ``N`` (pairs), each >= 2.
        dim: embedding dimension.
        chunk_size: block size of ``info_nce_chunked``.
        timeout: seconds for the whole measurement.
        threads: CPU threads of the measuring process.

    Returns:
        One ``{"n", "peak_bytes", "seconds"}`` per size, in order.

    Raises:
        ValueError: unknown ``loss``, bad sizes; RuntimeError: the child failed (e.g. it ran out
            of memory), with its message; TimeoutError: past ``timeout`` (the child is killed).
    """
    loss = check_choice(loss, "loss", LOSSES)
    sizes = [check_int(n, "sizes", 2) for n in sizes]
    dim, chunk_size = check_int(dim, "dim", 1), check_int(chunk_size, "chunk_size", 1)
    timeout = check_positive(timeout, "timeout")
    threads = check_int(threads, "threads", 1)
    run = "from cl_lessons.scale.memory import _main; _main()"  # no -m: the package imports it
    cmd = [sys.executable, "-c", run, "--loss", loss, "--dim", str(dim)]
    cmd += ["--chunk-size", str(chunk_size), "--sizes"]
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072", OMP_NUM_THREADS=str(threads))
    # Linux resets its peak counter between sizes; elsewhere each size gets its own process
    batches = [sizes] if _LINUX else [[n] for n in sizes]
    deadline = time.monotonic() + timeout
    out = []
    for batch in batches:
        try:
            done = subprocess.run(
                cmd + [str(n) for n in batch], capture_output=True, text=True, env=env,
                timeout=max(1.0, deadline - time.monotonic()),
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"measure_peak_memory: not done within {timeout:g} s") from None
        if done.returncode != 0:
            raise RuntimeError(f"the measuring process failed:\n{done.stderr[-2000:]}")
        out += [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return out


def _main() -> None:
    """The measuring child's command line (see the module docstring)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--loss", choices=LOSSES, default="info_nce")
    parser.add_argument("--sizes", type=int, nargs="+", required=True)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--chunk-size", type=int, default=1024)
    a = parser.parse_args()
    _child(a.loss, a.sizes, a.dim, a.chunk_size)

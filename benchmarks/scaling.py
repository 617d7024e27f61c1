"""Scaling contrastive learning: the chunked loss against info_nce, and two processes against one.

Run:  .venv/bin/python benchmarks/scaling.py            (full sizes, about 5 minutes on 2 cores)
      .venv/bin/python benchmarks/scaling.py --quick    (small sizes, under a minute)

1. ``info_nce_chunked`` against ``info_nce`` at N = 16,384 pairs, D = 128: the extra peak memory of
   forward + backward (measured in a fresh process each, above the inputs) and the time, in the
   same run. Targets: chunked peak <= 0.5 GiB, chunked time <= 1.5x info_nce.
2. ``info_nce_chunked`` at N = 65,536 pairs (info_nce's matrix would need 64 GiB): peak <= 2 GiB.
3. A SimCLR run on TransformedDigits with two gloo processes (128 pairs each) against one process
   with the same global batch (256 pairs): times and held-out linear-probe accuracy, over seeds.

Times depend on the machine's load (printed); ratios are measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

GIB = 2**30


def _loss_table(n: int, chunk: int, threads: int) -> list[str]:
    from cl_lessons.scale import measure_peak_memory

    full = measure_peak_memory("info_nce", (n,), 128, timeout=900, threads=threads)[0]
    chunked = measure_peak_memory("info_nce_chunked", (n,), 128, chunk, 900, threads)[0]
    ratio = chunked["seconds"] / full["seconds"]
    ok_mem = chunked["peak_bytes"] <= 0.5 * GIB
    return [
        f"N = {n:,} pairs, D = 128, chunk {chunk}, {threads} threads (fwd + bwd, one call)",
        f"{'loss':<18}{'extra peak':>14}{'time':>10}",
        f"{'info_nce':<18}{full['peak_bytes'] / GIB:>10.3f} GiB{full['seconds']:>9.2f}s",
        f"{'info_nce_chunked':<18}{chunked['peak_bytes'] / GIB:>10.3f} GiB"
        f"{chunked['seconds']:>9.2f}s",
        f"chunked peak <= 0.5 GiB: {'yes' if ok_mem else 'NO'}; chunked / info_nce time "
        f"{ratio:.2f} (target <= 1.5: {'yes' if ratio <= 1.5 else 'NO'})",
    ]


def _big_table(n: int, chunk: int, threads: int) -> list[str]:
    from cl_lessons.scale import info_nce_bytes, measure_peak_memory

    row = measure_peak_memory("info_nce_chunked", (n,), 128, chunk, 1800, threads)[0]
    need = info_nce_bytes(n) / GIB
    ok = row["peak_bytes"] <= 2 * GIB
    return [
        f"info_nce_chunked at N = {n:,} pairs (info_nce would need {need:.1f} GiB): extra peak "
        f"{row['peak_bytes'] / GIB:.3f} GiB (<= 2 GiB: {'yes' if ok else 'NO'}), "
        f"{row['seconds']:.1f} s"
    ]


def _simclr_table(epochs: int, seeds: list[int]) -> list[str]:
    import torch

    from cl_lessons.scale import run_distributed
    from cl_lessons.scale.train_simclr import simclr_worker

    rows = {"2 processes x 128 (gloo)": [], "1 process x 256": []}
    for seed in seeds:
        options = {"epochs": epochs, "batch_size": 128, "seed": seed, "verbose": False}
        start = time.perf_counter()
        two = run_distributed(simclr_worker, 2, options, timeout=1800)[0]
        two["wall"] = time.perf_counter() - start
        rows["2 processes x 128 (gloo)"].append(two)
        torch.set_num_threads(2)
        start = time.perf_counter()
        one = simclr_worker(0, 1, {**options, "batch_size": 256})
        one["wall"] = time.perf_counter() - start
        rows["1 process x 256"].append(one)
    out = [
        f"SimCLR on TransformedDigits, {epochs} epochs, global batch 256 pairs, seeds {seeds}",
        f"{'run':<26}{'train s':>9}{'wall s':>8}{'final loss':>12}{'probe acc':>16}",
    ]
    for name, runs in rows.items():
        acc = [r["probe"] for r in runs]
        spread = statistics.stdev(acc) if len(acc) > 1 else 0.0
        out.append(
            f"{name:<26}{statistics.mean(r['seconds'] for r in runs):>9.1f}"
            f"{statistics.mean(r['wall'] for r in runs):>8.1f}"
            f"{statistics.mean(r['loss'][-1] for r in runs):>12.3f}"
            f"{statistics.mean(acc):>10.3f} ± {spread:.3f}"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()}, {os.cpu_count()} cores")
    n, big = (4096, 16_384) if args.quick else (16_384, 65_536)
    for line in _loss_table(n, 1024, args.threads):
        print(line)
    print()
    for line in _big_table(big, 1024, args.threads):
        print(line)
    print()
    epochs, seeds = (3, [0]) if args.quick else (20, [0, 1, 2])
    for line in _simclr_table(epochs, seeds):
        print(line)


if __name__ == "__main__":
    main()

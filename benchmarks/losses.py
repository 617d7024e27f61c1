"""Speed of the losses of cl_lessons: vectorised vs matrix products alone, vs
pytorch-metric-learning, and vs a naive per-sample Python loop.

Run:  .venv/bin/python benchmarks/losses.py            (full sizes, about half a minute on 2 cores)
      .venv/bin/python benchmarks/losses.py --quick    (tiny sizes, a few seconds)

Every time is the best of several forward+backward calls after a warm-up; ratios compare
rows measured in this one run. Other processes on the machine inflate the times (the load
average is printed), the ratios much less.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

from cl_lessons import losses as L

ROWS: list[tuple[str, str, str, str]] = []


def timeit(fn, reps: int = 10, budget_s: float = 5.0, warmup: int = 1) -> float:
    """Best (minimum) seconds of ``fn()`` over up to ``reps`` calls, fewer past ``budget_s``.

    The minimum, not the mean: on a machine shared with other jobs, the noise only ever adds time.
    """
    for _ in range(warmup):
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < reps and (not times or time.perf_counter() - start < budget_s):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:10.2f} ms" if seconds < 10 else f"{seconds:10.2f} s "


def row(case: str, what: str, seconds: float, note: str = "") -> None:
    ROWS.append((case, what, fmt(seconds), note))
    print(f"  {case:<34} {what:<46} {fmt(seconds)}  {note}", flush=True)


def leaf(*shape: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g).requires_grad_()


def labels_pk(batch: int, per_class: int) -> torch.Tensor:
    """P x K labels: ``batch // per_class`` classes with ``per_class`` samples each."""
    return torch.arange(batch) // per_class


def fwd_bwd(loss_fn, *inputs: torch.Tensor):
    def run():
        for t in inputs:
            t.grad = None
        loss_fn().backward()

    return run


# ----------------------------------------------------------------------------- naive loops
# What a learner writes first: one sample (or one triplet) at a time.


def loop_contrastive(z1, z2, y, margin):
    total = 0.0
    for i in range(z1.shape[0]):
        d = torch.sqrt(((z1[i] - z2[i]) ** 2).sum() + 1e-12)
        total = total + (d**2 if y[i] == 1 else torch.clamp(margin - d, min=0) ** 2)
    return total / z1.shape[0]


def loop_triplet(a, p, n, margin):
    total = 0.0
    for i in range(a.shape[0]):
        dap = torch.sqrt(((a[i] - p[i]) ** 2).sum() + 1e-12)
        dan = torch.sqrt(((a[i] - n[i]) ** 2).sum() + 1e-12)
        total = total + torch.clamp(dap - dan + margin, min=0)
    return total / a.shape[0]


def _d(x, i, j):
    return torch.sqrt(((x[i] - x[j]) ** 2).sum() + 1e-12)


def loop_batch_all(x, y, margin):
    n, total, count = x.shape[0], 0.0, 0
    for a in range(n):
        for p in range(n):
            if p == a or y[p] != y[a]:
                continue
            for q in range(n):
                if y[q] != y[a]:
                    total = total + torch.clamp(_d(x, a, p) - _d(x, a, q) + margin, min=0)
                    count += 1
    return total / count


def loop_batch_hard(x, y, margin):
    n, out = x.shape[0], []
    for a in range(n):
        dp = [_d(x, a, p) for p in range(n) if p != a and y[p] == y[a]]
        dn = [_d(x, a, q) for q in range(n) if y[q] != y[a]]
        out.append(torch.clamp(torch.stack(dp).max() - torch.stack(dn).min() + margin, min=0))
    return torch.stack(out).mean()


def loop_semihard(x, y, margin):
    n, out = x.shape[0], []
    for a in range(n):
        dn = [_d(x, a, q) for q in range(n) if y[q] != y[a]]
        for p in range(n):
            if p == a or y[p] != y[a]:
                continue
            dap = _d(x, a, p)
            further = [d for d in dn if d > dap]
            dan = min(further) if further else max(dn)
            out.append(torch.clamp(dap - dan + margin, min=0))
    return torch.stack(out).mean()


def loop_info_nce(z1, z2, t):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n2, out = z.shape[0], []
    for i in range(n2):
        sims = [z[i] @ z[k] / t for k in range(n2)]
        denom = sum(torch.exp(sims[k]) for k in range(n2) if k != i)
        out.append(-(sims[(i + n2 // 2) % n2] - torch.log(denom)))
    return torch.stack(out).mean()


def loop_supcon(x, y, t):
    z = F.normalize(x, dim=1)
    n, out = z.shape[0], []
    for i in range(n):
        sims = [z[i] @ z[k] / t for k in range(n)]
        log_denom = torch.log(sum(torch.exp(sims[k]) for k in range(n) if k != i))
        pos = [p for p in range(n) if p != i and y[p] == y[i]]
        out.append(-sum(sims[p] - log_denom for p in pos) / len(pos))
    return torch.stack(out).mean()


# ----------------------------------------------------------------------------- sections


def bench_matmul_baseline(n: int, d: int) -> None:
    print(f"\n[1] info_nce vs its matrix products alone, N={n} pairs, D={d}")
    z1, z2 = leaf(n, d, seed=1), leaf(n, d, seed=2)
    zz = leaf(2 * n, d, seed=3)
    g = torch.randn(2 * n, 2 * n)

    def matmuls():  # forward z @ z.T, backward G @ z and G.T @ z
        zz.grad = None
        (zz @ zz.T).backward(g)

    # interleave, so that a change of load hits both alike
    base, ours = [], []
    for _ in range(5):
        base.append(timeit(matmuls, reps=5))
        ours.append(timeit(fwd_bwd(lambda: L.info_nce(z1, z2, 0.1), z1, z2), reps=5))
    b, o = min(base), min(ours)
    row(f"matmuls only, N={n}", "z@z.T forward + 2 backward products", b)
    row(f"info_nce, N={n}, T=0.1", "cl_lessons (fast symmetric path)", o, f"{o / b:.2f}x matmuls")
    z1s, z2s = leaf(n, d, seed=1), leaf(n, d, seed=2)
    s = timeit(fwd_bwd(lambda: L.info_nce(z1s, z2s, 0.01), z1s, z2s), reps=10)
    row(
        f"info_nce, N={n}, T=0.01",
        "cl_lessons (general log-softmax path)",
        s,
        f"{s / b:.2f}x matmuls",
    )

    def autograd_version():
        z1.grad = z2.grad = None
        z = F.normalize(torch.cat([z1, z2]), dim=1)
        logits = (z @ z.T / 0.1).fill_diagonal_(float("-inf"))
        F.cross_entropy(logits, torch.arange(2 * n).roll(n)).backward()

    a = timeit(autograd_version, reps=10)
    row(f"plain autograd, N={n}", "cross_entropy on masked logits", a, f"{a / b:.2f}x matmuls")


def bench_vs_pml_ntxent(n: int, d: int) -> None:
    from pytorch_metric_learning import losses as pml

    print(f"\n[2] info_nce vs pytorch-metric-learning NTXentLoss, N={n} pairs, D={d}")
    z1, z2 = leaf(n, d, seed=1), leaf(n, d, seed=2)
    labels = torch.cat([torch.arange(n), torch.arange(n)])
    ref = pml.NTXentLoss(temperature=0.1)
    t_pml = timeit(fwd_bwd(lambda: ref(torch.cat([z1, z2]), labels), z1, z2), reps=3, budget_s=1)
    t_ours = timeit(fwd_bwd(lambda: L.info_nce(z1, z2, 0.1), z1, z2), reps=20)
    row(f"pml NTXentLoss, N={n}", "forward+backward", t_pml)
    row(f"info_nce, N={n}", "forward+backward", t_ours, f"{t_pml / t_ours:.0f}x faster than pml")


def _vm_hwm_gib() -> float:
    """Peak resident memory of this process (Linux ``VmHWM``), in GiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def big_child(n: int, d: int) -> None:
    z1, z2 = leaf(n, d, seed=1), leaf(n, d, seed=2)
    try:  # Linux keeps the parent's peak across exec; "5" resets the peak to the current RSS
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    before = _vm_hwm_gib()
    t = time.perf_counter()
    L.info_nce(z1, z2, 0.1).backward()
    elapsed = time.perf_counter() - t
    print(f"{elapsed} {_vm_hwm_gib()} {before}")


def bench_big(n: int, d: int) -> None:
    gib = (2 * n) ** 2 * 4 / 2**30
    print(f"\n[3] info_nce at N={n} pairs, D={d} (one 2N x 2N float32 matrix = {gib:.2f} GiB)")
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--_big",
            str(n),
            str(d),
            "--threads",
            str(torch.get_num_threads()),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    elapsed, peak_gib, start_gib = float(out[0]), float(out[1]), float(out[2])
    row(
        f"info_nce, N={n}",
        "one forward+backward (fresh process)",
        elapsed,
        f"peak RSS {peak_gib:.2f} GiB (before the call {start_gib:.2f})",
    )


def bench_triplet_mining(b: int, d: int, per_class: int) -> None:
    from pytorch_metric_learning import losses as pml
    from pytorch_metric_learning import miners as pml_miners

    print(f"\n[4] batch_triplet_loss vs pml miner + TripletMarginLoss, B={b}, D={d}, K={per_class}")
    x, y = leaf(b, d, seed=4), labels_pk(b, per_class)
    margin = 0.2
    semi = pml_miners.TripletMarginMiner(margin=margin, type_of_triplets="semihard")
    hard = pml_miners.BatchHardMiner()
    tml = pml.TripletMarginLoss(margin=margin)
    t_ps = timeit(fwd_bwd(lambda: tml(x, y, semi(x, y)), x), reps=5, budget_s=3)
    t_os = timeit(fwd_bwd(lambda: L.batch_triplet_loss(x, y, margin, "semihard"), x), reps=20)
    t_ph = timeit(fwd_bwd(lambda: tml(x, y, hard(x, y)), x), reps=50, budget_s=3)
    t_oh = timeit(fwd_bwd(lambda: L.batch_triplet_loss(x, y, margin, "hard"), x), reps=50)
    t_oa = timeit(fwd_bwd(lambda: L.batch_triplet_loss(x, y, margin, "all"), x), reps=5)
    row(f"pml semihard miner+loss, B={b}", "TripletMarginMiner('semihard')", t_ps)
    row(
        f"semihard, B={b}",
        "batch_triplet_loss(mining='semihard')",
        t_os,
        f"{t_ps / t_os:.1f}x faster than pml (target 20x)",
    )
    row(f"pml batch-hard miner+loss, B={b}", "BatchHardMiner", t_ph)
    row(
        f"hard, B={b}",
        "batch_triplet_loss(mining='hard')",
        t_oh,
        f"{t_ph / t_oh:.1f}x faster than pml (target 3x)",
    )
    row(f"all, B={b}", "batch_triplet_loss(mining='all')", t_oa, "every valid triplet, O(B^3)")


def bench_loops(n: int, d: int) -> None:
    print(f"\n[5] vectorised vs a naive per-sample Python loop, N={n}, D={d}")
    z1, z2, z3 = leaf(n, d, seed=5), leaf(n, d, seed=6), leaf(n, d, seed=7)
    pairs = torch.arange(n) % 2
    y = labels_pk(n, 4)
    cases = [
        ("contrastive_loss", lambda: loop_contrastive(z1, z2, pairs, 1.0),
         lambda: L.contrastive_loss(z1, z2, pairs, 1.0), (z1, z2)),
        ("triplet_loss", lambda: loop_triplet(z1, z2, z3, 1.0),
         lambda: L.triplet_loss(z1, z2, z3, 1.0), (z1, z2, z3)),
        ("batch_triplet_loss 'all'", lambda: loop_batch_all(z1, y, 0.2),
         lambda: L.batch_triplet_loss(z1, y, 0.2, "all"), (z1,)),
        ("batch_triplet_loss 'hard'", lambda: loop_batch_hard(z1, y, 0.2),
         lambda: L.batch_triplet_loss(z1, y, 0.2, "hard"), (z1,)),
        ("batch_triplet_loss 'semihard'", lambda: loop_semihard(z1, y, 0.2),
         lambda: L.batch_triplet_loss(z1, y, 0.2, "semihard"), (z1,)),
        ("info_nce", lambda: loop_info_nce(z1, z2, 0.1),
         lambda: L.info_nce(z1, z2, 0.1), (z1, z2)),
        ("supcon_loss", lambda: loop_supcon(z1, y, 0.1),
         lambda: L.supcon_loss(z1, y, 0.1), (z1,)),
    ]  # fmt: skip
    for name, loop_fn, vec_fn, inputs in cases:
        with torch.no_grad():
            assert abs(float(loop_fn()) - float(vec_fn())) < 1e-3 * max(1.0, abs(float(vec_fn())))
        t_loop = timeit(fwd_bwd(loop_fn, *inputs), reps=3, budget_s=2)
        t_vec = timeit(fwd_bwd(vec_fn, *inputs), reps=20)
        row(f"{name}, N={n}", "naive Python loop", t_loop)
        row(f"{name}, N={n}", "cl_lessons", t_vec, f"{t_loop / t_vec:.0f}x faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument("--_big", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args._big:
        big_child(*args._big)
        return
    q = args.quick
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} "
        f"{os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}" + (", --quick" if q else "")
    )
    bench_matmul_baseline(128 if q else 1024, 128)
    bench_vs_pml_ntxent(16 if q else 256, 128)
    bench_big(512 if q else 8192, 128)
    bench_triplet_mining(64 if q else 512, 128, 8)
    bench_loops(12 if q else 48, 32)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    print("\n| case | implementation | time (best of runs) | note |\n|---|---|---|---|")
    for case, what, t, note in ROWS:
        print(f"| {case} | {what} | {t.strip()} | {note} |")


if __name__ == "__main__":
    main()

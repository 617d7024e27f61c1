"""Peak memory and time of the O(B^3) and O(N^2) functions of cl_lessons at large sizes.

Run:  .venv/bin/python benchmarks/memory.py            (full sizes, a few minutes on 2 cores)
      .venv/bin/python benchmarks/memory.py --quick    (small sizes, a few seconds)

Every row runs in a fresh process (``--_case``), which imports torch, builds the inputs, then
calls the function once and reports ``ru_maxrss``; a second fresh process (``--_base``) only
imports torch and builds the same inputs. The extra peak is the difference: what the call
itself needs. This parent process never imports torch, so the children's peaks start clean
(Linux carries a process's peak RSS across ``exec``). Times are of that one call: other
processes on the machine inflate them (the load average is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

# name -> (what it does, its sizes at full scale, its sizes with --quick)
CASES: dict[str, tuple[str, dict, dict]] = {}


def case(name: str, what: str, full: dict, quick: dict) -> None:
    CASES[name] = (what, full, quick)


for b in (512, 1024, 2048, 4096):
    case(f"all-pk-{b}", "batch_triplet_loss 'all' fwd+bwd, K=8 per class", {"b": b}, {"b": b // 8})
for b in (512, 1024, 2048):
    case(f"all-c10-{b}", "batch_triplet_loss 'all' fwd+bwd, 10 classes", {"b": b}, {"b": b // 8})
case("categories-2048", "triplet_categories (over the limit)", {"n": 2048}, {"n": 2048})
case("mine-all-2048", "mine_triplets 'all' (over the limit)", {"n": 2048}, {"n": 2048})
case("categories-512", "triplet_categories (at the limit)", {"n": 512}, {"n": 64})
case("fractions-512", "category_fractions (at the limit)", {"n": 512}, {"n": 64})
case("mine-semihard-512", "mine_triplets 'semihard' (at the limit)", {"n": 512}, {"n": 64})
case("mine-batch-hard-2048", "mine_triplets 'batch_hard' (not cubic)", {"n": 2048}, {"n": 256})
case("recall", "recall_at_k, k=(1, 5), D=64", {"n": 40_000}, {"n": 2_000})
case("recall-cos", "recall_at_k cosine, k=1, D=64", {"n": 40_000}, {"n": 2_000})
case("uniformity", "uniformity, no grad, D=64", {"n": 20_000}, {"n": 2_000})
case("uniformity-grad", "uniformity fwd+bwd, D=64", {"n": 20_000}, {"n": 2_000})
case("knn", "knn_accuracy k=5, D=64", {"n": 60_000, "m": 20_000}, {"n": 3_000, "m": 1_000})


def _inputs(name: str, size: dict):
    """Build the inputs of a case; returns the call to measure."""
    import torch

    from cl_lessons import losses, metrics, miners

    g = torch.Generator().manual_seed(0)
    if name.startswith("all-"):
        b = size["b"]
        x = torch.randn(b, 64, generator=g).requires_grad_()
        y = torch.arange(b) // 8 if "-pk-" in name else torch.arange(b) % 10
        return lambda: losses.batch_triplet_loss(x, y, 0.2, "all").backward()
    if name.startswith(("categories", "fractions", "mine")):
        n = size["n"]
        x, y = torch.randn(n, 16, generator=g), torch.arange(n) % 10
        dist = torch.cdist(x, x)
        if name.startswith("categories"):
            return lambda: miners.triplet_categories(dist, y, 0.2)
        if name.startswith("fractions"):
            return lambda: miners.category_fractions(dist, y, 0.2)
        strategy = name.removeprefix("mine-").rsplit("-", 1)[0].replace("-", "_")
        return lambda: miners.mine_triplets(x, y, 0.2, strategy)
    if name.startswith("recall"):
        x, y = torch.randn(size["n"], 64, generator=g), torch.arange(size["n"]) % 10
        if name == "recall-cos":
            return lambda: metrics.recall_at_k(x, y, 1, "cosine")
        return lambda: metrics.recall_at_k(x, y, (1, 5))
    if name.startswith("uniformity"):
        z = torch.randn(size["n"], 64, generator=g).requires_grad_(name.endswith("grad"))
        if name.endswith("grad"):
            return lambda: metrics.uniformity(z).backward()
        return lambda: metrics.uniformity(z)
    xtr, xte = torch.randn(size["n"], 64, generator=g), torch.randn(size["m"], 64, generator=g)
    ytr, yte = torch.arange(size["n"]) % 10, torch.arange(size["m"]) % 10
    return lambda: metrics.knn_accuracy(xtr, ytr, xte, yte, k=5)


def _child(name: str, quick: bool, threads: int, measure: bool) -> None:
    import torch

    torch.set_num_threads(threads)
    call = _inputs(name, CASES[name][2 if quick else 1])
    out = {"seconds": 0.0, "error": ""}
    if measure:
        t = time.perf_counter()
        try:
            call()
        except ValueError as err:
            out["error"] = str(err)
        out["seconds"] = time.perf_counter() - t
    out["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def _run(flag: str, name: str, args) -> dict:
    cmd = [sys.executable, __file__, flag, name, "--threads", str(args.threads)]
    cmd += ["--quick"] if args.quick else []
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"seconds": float("nan"), "maxrss_mib": float("nan"), "error": proc.stderr[-300:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--only", nargs="*", default=None, help="run only these case names")
    parser.add_argument("--_case", help=argparse.SUPPRESS)
    parser.add_argument("--_base", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._case or args._base:
        _child(args._case or args._base, args.quick, args.threads, measure=bool(args._case))
        return
    load = os.getloadavg()
    print(
        f"{args.threads} torch threads, {os.cpu_count()} CPUs, load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}" + (", --quick" if args.quick else "")
    )
    rows = []
    for name in args.only or CASES:
        what, full, quick = CASES[name]
        size = ", ".join(f"{k}={v:,}" for k, v in (quick if args.quick else full).items())
        got, base = _run("--_case", name, args), _run("--_base", name, args)
        extra = got["maxrss_mib"] - base["maxrss_mib"]
        note = f"ValueError: {got['error'][:64]}..." if got["error"] else ""
        rows.append((what, size, f"{extra:,.0f} MiB", f"{got['seconds']:.2f} s", note))
        print(f"  {what:<48} {size:<18} {rows[-1][2]:>10} {rows[-1][3]:>9}  {note}", flush=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    print("\n| function | size | extra peak RSS | time | note |\n|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()

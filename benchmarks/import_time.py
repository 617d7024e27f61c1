"""How long does `import cl_lessons` take? Target: under 1 s, nothing heavy at import.

Each measurement runs in a fresh interpreter (`python -X importtime` would also work); the table
separates torch's own import, which every PyTorch program pays, from the package's.

    .venv/bin/python benchmarks/import_time.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

SNIPPET = """
import sys, time
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
import cl_lessons
t2 = time.perf_counter()
heavy = sorted(m for m in ("umap", "sklearn.manifold", "pynndescent", "numba", "matplotlib.pyplot",
                           "ipywidgets") if m in sys.modules)
print(t1 - t0, t2 - t1, ",".join(heavy) or "-")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for _ in range(args.repeat):
        out = subprocess.run(
            [sys.executable, "-c", SNIPPET], capture_output=True, text=True, check=True
        )
        torch_s, pkg_s, heavy = out.stdout.split()
        rows.append((float(torch_s), float(pkg_s), heavy))
    torch_med = statistics.median(r[0] for r in rows)
    pkg_med = statistics.median(r[1] for r in rows)
    total = torch_med + pkg_med
    print(f"{'what':<32}{'median s':>10}")
    print(f"{'import torch':<32}{torch_med:>10.3f}")
    print(f"{'import cl_lessons (after torch)':<32}{pkg_med:>10.3f}")
    verdict = "PASS" if total < 1 else "FAIL"
    print(f"{'total, fresh interpreter':<32}{total:>10.3f}   target < 1 s: {verdict}")
    print(f"heavy modules loaded by the import: {rows[0][2]}")


if __name__ == "__main__":
    main()

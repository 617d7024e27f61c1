"""Per-update time of the slider apps, measured headless.

Each app is built once, then one control is set ``--updates`` times (cycling through values,
exactly as a slider does: ``widget.value = v``); with no event loop running, each set updates
the artists and renders the PNG synchronously, so the time of the assignment is the whole
callback. The table gives the median and 90th percentile, the render share, and the target.

    .venv/bin/python benchmarks/widgets.py            # all apps
    .venv/bin/python benchmarks/widgets.py --tsne     # also time t-SNE once for app 6

The CPU-time column (process time per update) approximates the wall time on an idle machine;
on a shared, oversubscribed one the wall time can be several times larger.

Targets (issue 5): median <= 60 ms for apps 1-5 and 7, <= 150 ms for app 6 once its projection
is cached, <= 2 s per retrain for app 8. Timings depend on the machine's load, printed first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np
import torch

from cl_lessons import data, widgets


def _time_control(app, name: str, values, repeat: int):
    """Wall seconds per ``.value`` assignment, CPU seconds of it, wall seconds of the render."""
    totals, cpus, renders = [], [], []
    control = app.controls[name]
    real_render = app._render

    def timed_render():
        start = time.perf_counter()
        real_render()
        renders.append(time.perf_counter() - start)

    app._render = timed_render
    try:
        for i in range(repeat):
            start, cpu = time.perf_counter(), time.process_time()
            control.value = values[i % len(values)]
            totals.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu)
    finally:
        app._render = real_render
    if app.last_error is not None:
        raise RuntimeError(f"{type(app).__name__} failed: {app.last_error!r}")
    return totals, cpus, renders


def _sweep(lo: float, hi: float, n: int = 25) -> list[float]:
    up = list(np.round(np.linspace(lo, hi, n), 4))
    return up + up[::-1][1:-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=50, help="updates per app (default 50)")
    parser.add_argument("--retrains", type=int, default=5, help="retrains of app 8 (default 5)")
    parser.add_argument("--tsne", action="store_true", help="also time t-SNE of the digits once")
    args = parser.parse_args()

    load = os.getloadavg()
    print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores; "
        f"torch threads {torch.get_num_threads()}; {args.updates} updates per app\n"
    )

    rng = np.random.default_rng(0)
    scores = np.r_[rng.normal(1.0, 0.6, 2000), rng.normal(0.0, 0.6, 8000)]
    same = np.r_[np.ones(2000), np.zeros(8000)]
    X, y = data.load_digits()
    d_pos = np.abs(rng.normal(0.3, 0.2, 3000))
    d_neg = np.abs(rng.normal(1.4, 0.5, 3000))

    cases = [
        ("1 distance_explorer", widgets.distance_explorer, "angle_b", _sweep(0, 360), 0.060),
        (
            "2 margin_explorer (+hist)",
            lambda: widgets.margin_explorer(d_pos=d_pos, d_neg=d_neg),
            "margin",
            _sweep(0.1, 3.0),
            0.060,
        ),
        ("3 triplet_zones (400 neg)", widgets.triplet_zones, "margin", _sweep(0, 2), 0.060),
        (
            "4 temperature_explorer",
            widgets.temperature_explorer,
            "temperature",
            _sweep(0.01, 10),
            0.060,
        ),
        (
            "5 threshold_explorer (10k)",
            lambda: widgets.threshold_explorer(scores, same),
            "threshold",
            _sweep(-1.5, 2.5),
            0.060,
        ),
        (
            "6 embedding_explorer (digits, PCA)",
            lambda: widgets.embedding_explorer(X, y, images=X),
            "query",
            list(range(0, 1797, 37)),
            0.150,
        ),
        ("7 decision_regions: point", widgets.decision_regions, "point", list(range(50)), 0.060),
        ("7 decision_regions: k", widgets.decision_regions, "k", list(range(1, 26)), 0.060),
        ("9 hypersphere_view: azim", widgets.hypersphere_view, "azim", _sweep(-180, 180), None),
    ]
    rows = []
    for label, build, control, values, target in cases:
        app = build()
        totals, cpus, renders = _time_control(app, control, values, args.updates)
        rows.append((label, control, totals, cpus, renders, target))

    retrain_app = widgets.train_2d_explorer()
    margins = [0.5, 1.5, 2.0, 2.5, 3.0, 0.7, 1.2, 1.8, 2.2, 2.8]
    totals, cpus, renders = _time_control(retrain_app, "margin", margins, args.retrains)
    rows.append(("8 train_2d_explorer: retrain", "margin", totals, cpus, renders, 2.0))

    head = f"{'app':36s} {'control':12s} {'median ms':>10s} {'p90 ms':>8s} {'render ms':>10s}"
    print(head + f" {'cpu ms':>8s} {'target ms':>10s} {'ok':>4s}")
    print("-" * (len(head) + 25))
    for label, control, totals, cpus, renders, target in rows:
        med = statistics.median(totals) * 1e3
        p90 = float(np.percentile(totals, 90)) * 1e3
        rmed = statistics.median(renders) * 1e3
        cmed = statistics.median(cpus) * 1e3
        tgt = f"{target * 1e3:.0f}" if target is not None else "-"
        ok = "-" if target is None else ("yes" if med <= target * 1e3 else "NO")
        print(
            f"{label:36s} {control:12s} {med:10.1f} {p90:8.1f} {rmed:10.1f} {cmed:8.1f} "
            f"{tgt:>10s} {ok:>4s}"
        )
    print(
        "\nmedian/p90: wall time per update; render: its PNG part; cpu: CPU time of the process"
        " per update,\nclose to the wall time on an idle machine (the 'ok' column uses wall time)"
    )

    if args.tsne:
        app = widgets.embedding_explorer(X, y, images=X)
        start = time.perf_counter()
        app.update(method="t-SNE")
        first = time.perf_counter() - start
        totals, _, _ = _time_control(app, "query", list(range(0, 1797, 37)), args.updates)
        print(
            f"\nt-SNE of the digits: {first:.1f} s once; then query updates median "
            f"{statistics.median(totals) * 1e3:.1f} ms"
        )
    load = os.getloadavg()
    print(f"\nload average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()

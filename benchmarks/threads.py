"""Training speed of a lesson-sized model by thread count, on a quiet and on a busy CPU.

The lessons' models are tiny: one training step is a few milliseconds of work split into many
small kernels. With more threads than free cores, OpenMP workers spin waiting for each other and
a step can take 10x longer. This script measures steps per second of a lesson-02-like Siamese
training (ConvEncoder on 16x16 images, batch 128, contrastive loss) and of an MLP, for each
thread count and each background load (0, 1 or 2 busy processes), each case in a fresh process.

    .venv/bin/python benchmarks/threads.py            # the full table (about 2 minutes)
    .venv/bin/python benchmarks/threads.py --quick    # fewer steps

Run it on an otherwise quiet machine (check `uptime`): the "load" column is the load this
script adds itself.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time

WORKER = r"""
import json, os, sys, time
import torch
threads, steps, model_kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(threads)
import cl_lessons as cl
cl.seed_everything(0)
if model_kind == "conv":
    enc = cl.models.ConvEncoder(1, 16, out_dim=32, width=16)
    x = torch.rand(256, 1, 16, 16)
else:
    enc = cl.models.MLPEncoder(64, 128, out_dim=32)
    x = torch.rand(256, 64)
net = cl.models.SiameseNetwork(enc)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
y = (torch.arange(128) % 2).float()
def step():
    z1, z2 = net(x[:128], x[128:])
    loss = cl.losses.contrastive_loss(z1, z2, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
for _ in range(5):
    step()
t0 = time.perf_counter()
for _ in range(steps):
    step()
print(json.dumps({"steps_per_s": steps / (time.perf_counter() - t0)}))
"""


def _spin(stop: mp.Event) -> None:  # a busy process: what a browser, a projector or a build do
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def measure(threads: int, steps: int, model: str, load: int, wait_policy: str | None) -> float:
    stop = mp.Event()
    busy = [mp.Process(target=_spin, args=(stop,), daemon=True) for _ in range(load)]
    for p in busy:
        p.start()
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    env.pop("OMP_WAIT_POLICY", None)
    if wait_policy:
        env["OMP_WAIT_POLICY"] = wait_policy
    try:
        time.sleep(0.3 if load else 0.0)
        out = subprocess.run(
            [sys.executable, "-c", WORKER, str(threads), str(steps), model],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=True,
        ).stdout
    finally:
        stop.set()
        for p in busy:
            p.join(timeout=5)
    return json.loads(out.strip().splitlines()[-1])["steps_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps per case")
    args = parser.parse_args()
    steps = 20 if args.quick else 100
    cores = os.cpu_count() or 1
    print(f"{cores} cores, load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'model':<6} {'load':>4} {'policy':>8} " + "".join(f"{t:>10} thr" for t in (1, 2)))
    for model in ("conv", "mlp"):
        for load in (0, 1, 2):
            for policy in (None, "PASSIVE"):
                rates = [measure(t, steps, model, load, policy) for t in (1, 2)]
                cells = "".join(f"{r:>10.1f} /s" for r in rates)
                print(f"{model:<6} {load:>4} {policy or 'default':>8} {cells}", flush=True)


if __name__ == "__main__":
    main()

"""The training of lessons 04-08 and 13 on CUDA, with and without mixed precision, against the CPU.

Run:  .venv/bin/python benchmarks/gpu.py            (the lessons' full settings)
      .venv/bin/python benchmarks/gpu.py --quick    (few epochs: checks the script runs)

For every configuration it trains the same model from the same seed on the CPU, on CUDA in
float32 and on CUDA with ``amp=True`` (bfloat16 autocast, ``cl.training.fit``), and prints the
training time (``History.train_seconds``) and the held-out metric of each. The metrics should
agree within their run-to-run spread (``--seeds 3`` prints it); the times show what the GPU and
autocast buy at lesson sizes (small models: often little). On a machine without CUDA it says
so and exits with status 0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

import torch
from torch import nn

import cl_lessons as cl
from cl_lessons import data, losses, metrics, models
from cl_lessons import training as T


def _digits():
    X, y = data.load_digits(as_images=True)
    return data.stratified_split(X, y, 0.25, seed=0)


def _probe(encoder, Xtr, ytr, Xte, yte) -> float:
    ftr, fte = T.embed_dataset(encoder, Xtr), T.embed_dataset(encoder, Xte)
    return metrics.linear_probe_accuracy(ftr, ytr, fte, yte)


def lesson04(device, amp, epochs, seed):  # contrastive loss on pairs, verification AUC
    Xtr, ytr, Xte, yte = _digits()
    g = torch.Generator().manual_seed(seed)
    i, j, same = data.make_pairs(ytr, 4000, generator=g)
    net = models.SiameseNetwork(models.ConvEncoder(1, 8, out_dim=16, width=8))
    h = T.fit(net, T.pair_objective(losses.contrastive_loss, margin=1.0),
              T.TensorBatches(Xtr[i], Xtr[j], same.float(), batch_size=128), epochs=epochs,
              lr=2e-3, device=device, amp=amp, seed=seed, progress=False)  # fmt: skip
    ti, tj, ts = data.make_pairs(yte, 2000, generator=g)
    z = T.embed_dataset(net, Xte)
    return h.train_seconds, "AUC", metrics.roc_auc(T.pair_scores(z, ti, tj), ts)


def lesson05(device, amp, epochs, seed):  # triplet loss on triplets, recall@1
    Xtr, ytr, Xte, yte = _digits()
    g = torch.Generator().manual_seed(seed)
    a, p, n = data.make_triplets(ytr, 4000, generator=g)
    enc = models.ConvEncoder(1, 8, out_dim=16, width=8)
    h = T.fit(enc, T.triplet_objective(losses.triplet_loss, margin=0.5),
              T.TensorBatches(Xtr[a], Xtr[p], Xtr[n], batch_size=128), epochs=epochs, lr=2e-3,
              device=device, amp=amp, seed=seed, progress=False)  # fmt: skip
    return h.train_seconds, "recall@1", metrics.recall_at_k(T.embed_dataset(enc, Xte), yte, 1)


def lesson06(device, amp, epochs, seed):  # batch-hard on P x K batches, recall@1
    Xtr, ytr, Xte, yte = _digits()
    enc = models.ConvEncoder(1, 8, out_dim=16, width=8)
    h = T.fit(enc, T.labeled_objective(losses.batch_triplet_loss, margin=0.2, mining="hard"),
              T.PKBatches(Xtr, ytr, p=10, k=8), epochs=epochs, lr=2e-3, device=device, amp=amp,
              seed=seed, progress=False)  # fmt: skip
    return h.train_seconds, "recall@1", metrics.recall_at_k(T.embed_dataset(enc, Xte), yte, 1)


def _simclr(device, amp, epochs, seed, loss, **kw):
    digits = data.TransformedDigits(size=16, seed=0)
    Xtr, ytr, Xte, yte = data.stratified_split(digits.images, digits.labels, 0.25, seed=0)
    torch.manual_seed(seed)
    enc = models.ConvEncoder(1, 16, out_dim=64, width=16)
    net = models.SiameseNetwork(nn.Sequential(enc, models.ProjectionHead(64, 32)))
    h = T.fit(net, T.two_view_objective(loss, lambda x: data.augment(x, 1.0), **kw),
              T.TensorBatches(Xtr, batch_size=256, drop_last=True), epochs=epochs, lr=2e-3,
              device=device, amp=amp, seed=seed, progress=False)  # fmt: skip
    return h.train_seconds, "probe acc", _probe(enc, Xtr, ytr, Xte, yte)


def lesson07(device, amp, epochs, seed):  # SimCLR, NT-Xent
    return _simclr(device, amp, epochs, seed, losses.info_nce, temperature=0.2)


def lesson08(device, amp, epochs, seed):  # SimSiam-style negative cosine on the same views
    def simsiam(z1, z2):
        return 0.5 * losses.negative_cosine(z1, z2) + 0.5 * losses.negative_cosine(z2, z1)

    return _simclr(device, amp, epochs, seed, simsiam)


def lesson13(device, amp, epochs, seed):  # SimCLR with the chunked loss
    from cl_lessons.scale import info_nce_chunked

    return _simclr(device, amp, epochs, seed, info_nce_chunked, temperature=0.2, chunk_size=128)


CONFIGS = {"04": lesson04, "05": lesson05, "06": lesson06, "07": lesson07, "08": lesson08,
           "13": lesson13}  # fmt: skip
EPOCHS = {"04": 10, "05": 10, "06": 20, "07": 20, "08": 20, "13": 20}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs per configuration")
    parser.add_argument("--seeds", type=int, default=1, help="runs per cell, for the spread")
    parser.add_argument("--cpu", action="store_true", help="the CPU rows only (runs anywhere)")
    parser.add_argument("--only", nargs="*", choices=sorted(CONFIGS), default=sorted(CONFIGS))
    args = parser.parse_args()
    runs_on = [("cpu", "cpu", False)]
    if not args.cpu:
        runs_on += [("cuda fp32", "cuda", False), ("cuda bf16 amp", "cuda", True)]
    if not args.cpu and not torch.cuda.is_available():
        print("CUDA is absent on this machine (torch.cuda.is_available() is False): nothing to")
        print("compare. Run this on a machine with an NVIDIA GPU and a CUDA build of PyTorch.")
        return 0
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    print(f"{gpu}; CPU: {os.cpu_count()} cores, load {os.getloadavg()}")
    print(f"{'lesson':<8}{'run':<16}{'train s':>9}{'metric':>12}{'value':>16}")
    for name in args.only:
        epochs = 2 if args.quick else EPOCHS[name]
        for label, device, amp in runs_on:
            runs = [CONFIGS[name](torch.device(device), amp, epochs, s) for s in range(args.seeds)]
            secs = statistics.mean(r[0] for r in runs)
            vals = [r[2] for r in runs]
            spread = f" ± {statistics.stdev(vals):.3f}" if len(vals) > 1 else ""
            print(f"{name:<8}{label:<16}{secs:>9.1f}{runs[0][1]:>12}{statistics.mean(vals):>10.3f}"
                  f"{spread}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    cl.seed_everything(0)
    sys.exit(main())

"""Speed and calibration of the generated data sets in cl_lessons.data.

Two tables:

1. speed: seconds to build SyntheticFaces (500 identities x 10 views, 32x32) and
   TransformedDigits, and to augment a batch (median of several runs);
2. calibration: how well raw pixels do on each set (the nuisance must defeat them) against a
   small conv net trained for a fixed time budget, verifying on identities it never saw
   (SyntheticFaces: target raw-pixel ROC-AUC about 0.6-0.8, learned >= 0.95 and >= 0.15 above
   pixels; TransformedDigits: raw-pixel 1-NN accuracy clearly below the plain digits, < 0.8).

    .venv/bin/python benchmarks/data.py [--train-seconds 45] [--skip-train]

Timings depend on the machine's load; note `uptime` beside them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score
from torch import nn

from cl_lessons import data


def timed(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def knn1_accuracy(X: torch.Tensor, y: torch.Tensor) -> float:
    Xtr, ytr, Xte, yte = data.stratified_split(X.flatten(1), y, 0.25, seed=0)
    nearest = torch.cdist(Xte, Xtr).argmin(1)  # (N_test,)
    return float((ytr[nearest] == yte).float().mean())


def verification_auc(Z: torch.Tensor, y: torch.Tensor, metric: str = "cosine") -> float:
    """ROC-AUC of balanced same/different pairs (6,000, fixed seed) scored by similarity."""
    i, j, t = data.make_pairs(y, 6000, 0.5, generator=torch.Generator().manual_seed(0))
    if metric == "cosine":
        score = F.cosine_similarity(Z[i], Z[j])
    else:
        score = -(Z[i] - Z[j]).norm(dim=1)
    return float(roc_auc_score(t.numpy(), score.numpy()))


class SmallConvEncoder(nn.Module):
    """Three conv blocks (32-64-128 channels, each halving the side) -> a 64-d embedding."""

    def __init__(self, size: int = 32, dim: int = 64):
        super().__init__()
        blocks = []
        for c_in, c_out in [(1, 32), (32, 64), (64, 128)]:
            blocks += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
            blocks.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*blocks)
        self.head = nn.Linear(128 * (size // 8) ** 2, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))  # (N, dim)


def batch_hard_loss(z: torch.Tensor, y: torch.Tensor, margin: float = 0.2) -> torch.Tensor:
    """Batch-hard triplet loss (Hermans et al. 2017) on L2-normalised embeddings."""
    d = torch.cdist(z, z)  # (B, B)
    same = y[:, None] == y[None, :]  # (B, B)
    hardest_pos = d.masked_fill(~same, 0.0).amax(1)  # (B,)
    hardest_neg = d.masked_fill(same, float("inf")).amin(1)  # (B,)
    return F.relu(hardest_pos - hardest_neg + margin).mean()


def learned_auc(
    faces: data.SyntheticFaces, num_train: int, seconds: float, loss: str
) -> tuple[float, int]:
    """Train a small conv net on the training identities for ``seconds`` and return the
    verification AUC on the held-out ones. ``loss="softmax"``: cosine-softmax identity classifier
    (scale 16, shuffled batches of 128); ``loss="batch-hard"``: batch-hard triplet loss on
    P x K = 32 x 4 batches from :class:`cl_lessons.data.PKSampler`."""
    torch.manual_seed(0)
    train, test = faces.split_identities(num_train)
    X, y = faces.images[train], faces.labels[train]
    net = SmallConvEncoder(faces.size)
    weight = nn.Parameter(0.01 * torch.randn(num_train, 64))
    params = [*net.parameters(), weight] if loss == "softmax" else list(net.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    sampler = data.PKSampler(y, p=32, k=4, generator=0)
    t0, epochs = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        net.train()
        batches = torch.randperm(len(y)).split(128) if loss == "softmax" else sampler
        for batch in batches:
            z = F.normalize(net(X[batch]), dim=1)  # (B, 64)
            if loss == "softmax":
                logits = 16.0 * z @ F.normalize(weight, dim=1).T  # (B, num_train)
                value = F.cross_entropy(logits, y[batch])
            else:
                value = batch_hard_loss(z, y[batch])
            opt.zero_grad()
            value.backward()
            opt.step()
        epochs += 1
    net.eval()
    with torch.no_grad():
        Z = net(faces.images[test])  # (N_test, 64)
    return verification_auc(Z, faces.labels[test]), epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-seconds", type=float, default=45.0)
    parser.add_argument("--skip-train", action="store_true")
    args = parser.parse_args()
    print(
        f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}, torch threads "
        f"{torch.get_num_threads()}"
    )

    print("\n1. speed (median of 3, seconds)")
    batch = torch.rand(256, 1, 32, 32)
    g = torch.Generator().manual_seed(0)
    rows = [
        ("SyntheticFaces(500 x 10, 32x32)", timed(lambda: data.SyntheticFaces(500, 10, 32))),
        ("SyntheticFaces(2000 x 10, 32x32)", timed(lambda: data.SyntheticFaces(2000, 10, 32), 1)),
        ("TransformedDigits(size=16)", timed(lambda: data.TransformedDigits(16))),
        ("augment(256 x 1 x 32 x 32)", timed(lambda: data.augment(batch, generator=g), 5)),
        ("two_views(256 x 1 x 32 x 32)", timed(lambda: data.two_views(batch, generator=g), 5)),
    ]
    for name, sec in rows:
        print(f"  {name:<36}{sec:>9.3f}")

    print("\n2. calibration (held-out data only)")
    digits = data.load_digits()
    td = data.TransformedDigits(16, seed=0)
    print(f"  {'1-NN accuracy, raw pixels, digits 8x8':<52}{knn1_accuracy(*digits):>8.3f}")
    print(
        f"  {'1-NN accuracy, raw pixels, TransformedDigits 16x16':<52}"
        f"{knn1_accuracy(td.images, td.labels):>8.3f}"
    )
    for seed in (0, 1):
        faces = data.SyntheticFaces(500, 10, 32, seed=seed)
        _, test = faces.split_identities(300)
        Xp, yp = faces.images[test].flatten(1), faces.labels[test]
        cos = verification_auc(Xp, yp, "cosine")
        euc = verification_auc(Xp, yp, "euclidean")
        print(
            f"  SyntheticFaces seed {seed}: ROC-AUC on 200 unseen identities, raw pixels "
            f"cosine {cos:.3f}, Euclidean {euc:.3f}"
        )
        if not args.skip_train and seed == 0:
            for loss in ("softmax", "batch-hard"):
                auc, epochs = learned_auc(faces, 300, args.train_seconds, loss)
                print(
                    f"  SyntheticFaces seed {seed}: small conv net, {loss}, "
                    f"{args.train_seconds:.0f} s ({epochs} epochs) on 300 identities -> "
                    f"ROC-AUC {auc:.3f} (+{auc - max(cos, euc):.3f} over the better pixel score)"
                )


if __name__ == "__main__":
    main()

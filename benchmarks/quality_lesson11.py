"""Lesson 11's quality rows for benchmarks/quality.py: retrieval and few-shot on unseen identities.

The settings are the full-mode settings of notebooks/11_retrieval_and_few_shot.ipynb:
SyntheticFaces 32x32, 10 images per person, 400 identities; the first 200 train (8 images each) a
ConvEncoder (width 8, 32-d unit vectors) with the batch-hard triplet loss (margin 0.2) on 16 x 4
batches for 20 epochs; the other 200 identities are never seen in training and carry every number.
Target (issue 13): 5-way 1-shot accuracy of nearest prototypes on the learned embedding >= raw
pixels + 0.20, over 600 episodes (mean with a 95 % confidence interval). MAP@R and recall@1 are
reported beside it, without targets.
"""

from __future__ import annotations

import torch

from cl_lessons import data, losses, metrics, models
from cl_lessons import training as T
from cl_lessons.runtime import seed_everything

SETTINGS = dict(
    num_identities=400,
    images_per_identity=10,
    train_views=8,
    size=32,
    out_dim=32,
    width=8,
    p=16,
    k=4,
    margin=0.2,
    lr=2e-3,
    epochs=20,
    episodes=600,
    n_query=5,
)
QUICK = dict(num_identities=40, epochs=1, episodes=50)


def retrieval_and_few_shot(cfg: dict, report, Row) -> None:
    ds = data.SyntheticFaces(
        cfg["num_identities"], cfg["images_per_identity"], size=cfg["size"], seed=0
    )
    known = ds.labels < cfg["num_identities"] // 2
    view = torch.arange(len(ds.labels)) % cfg["images_per_identity"]
    fit_mask = known & (view < cfg["train_views"])
    Xte, yte = ds.images[~known], ds.labels[~known]
    name = f"SyntheticFaces{cfg['size']} L11"
    print(
        f"lesson 11: {int(known.sum()) // cfg['images_per_identity']} train identities, "
        f"{len(yte.unique())} unseen ones, {len(yte)} test images"
    )
    seed_everything(0)
    enc = models.ConvEncoder(1, cfg["size"], cfg["out_dim"], width=cfg["width"], normalize=True)
    hist = T.fit(
        enc,
        T.labeled_objective(losses.batch_triplet_loss, margin=cfg["margin"], mining="hard"),
        T.PKBatches(ds.images[fit_mask], ds.labels[fit_mask], cfg["p"], cfg["k"]),
        epochs=cfg["epochs"],
        lr=cfg["lr"],
        device="cpu",
        progress=False,
        seed=0,
    )
    spaces = {"learned (batch-hard)": T.embed_dataset(enc, Xte), "raw pixels": Xte.flatten(1)}
    episodes = data.few_shot_episodes(
        yte, 5, 1, cfg["n_query"], cfg["episodes"], torch.Generator().manual_seed(1)
    )
    acc = {}
    for method, z in spaces.items():
        seconds = hist.train_seconds if method != "raw pixels" else None
        report(Row(name, method, "MAP@R", metrics.map_at_r(z, yte), "(reported)", seconds, None))
        report(
            Row(name, method, "recall@1", metrics.recall_at_k(z, yte, 1), "(reported)", None, None)
        )
        a = metrics.few_shot_accuracy(z, episodes)
        acc[method] = float(a.mean())
        ci = 1.96 * float(a.std()) / len(a) ** 0.5
        print(f"    5-way 1-shot, {method}: {acc[method]:.3f} +- {ci:.3f} over {len(a)} episodes")
    learned, raw = acc["learned (batch-hard)"], acc["raw pixels"]
    report(Row(name, "prototypes, raw pixels", "5w1s acc", raw, "(baseline)", None, None))
    report(
        Row(
            name,
            "prototypes, learned",
            "5w1s acc",
            learned,
            ">= raw + 0.20",
            None,
            learned >= raw + 0.20,
        )
    )

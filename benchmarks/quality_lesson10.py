"""Lesson 10's quality rows for benchmarks/quality.py: verification on unseen identities.

The settings are the full-mode settings of notebooks/10_face_verification.ipynb: SyntheticFaces
16x16, 8 images per person, a ConvEncoder (width 16, 32-d unit vectors) trained with the batch-hard
triplet loss on 16 x 4 batches for 1,000 steps on 400 identities; every pair of the 200 test
identities (1.28 M pairs) is scored. Targets (issue 13): unseen-identity AUC >= 0.97 and
TAR @ FAR = 1e-2 >= 0.90, each far above raw pixels.
"""

from __future__ import annotations

import torch

from cl_lessons import data, losses, metrics, models
from cl_lessons import training as T
from cl_lessons.runtime import seed_everything

SETTINGS = dict(
    num_train=400,
    num_val=100,
    num_test=200,
    images_per_identity=8,
    size=16,
    out_dim=32,
    width=16,
    p=16,
    k=4,
    margin=0.2,
    lr=3e-3,
    steps_per_epoch=50,
    epochs=20,
)
QUICK = dict(num_train=40, num_val=10, num_test=30, epochs=1)


def _all_pairs(z: torch.Tensor, labels: torch.Tensor):
    i, j = torch.triu_indices(len(labels), len(labels), offset=1)
    return T.pair_scores(z, i, j), (labels[i] == labels[j]).long()


def face_verification(cfg: dict, report, Row) -> None:
    n_all = cfg["num_train"] + cfg["num_val"] + cfg["num_test"]
    ds = data.SyntheticFaces(n_all, cfg["images_per_identity"], size=cfg["size"], seed=0)
    train = ds.labels < cfg["num_train"]
    test = ds.labels >= cfg["num_train"] + cfg["num_val"]
    Xte, yte = ds.images[test], ds.labels[test]
    name = f"SyntheticFaces{cfg['size']} L10"
    s_pix, same = _all_pairs(Xte.flatten(1), yte)
    print(
        f"lesson 10: {cfg['num_train']} train identities, {cfg['num_test']} unseen ones, "
        f"{len(same)} pairs"
    )
    seed_everything(0)
    enc = models.ConvEncoder(1, cfg["size"], cfg["out_dim"], width=cfg["width"], normalize=True)
    hist = T.fit(
        enc,
        T.labeled_objective(losses.batch_triplet_loss, margin=cfg["margin"], mining="hard"),
        T.PKBatches(ds.images[train], ds.labels[train], cfg["p"], cfg["k"], cfg["steps_per_epoch"]),
        epochs=cfg["epochs"],
        lr=cfg["lr"],
        device="cpu",
        progress=False,
        seed=0,
    )
    s_emb, _ = _all_pairs(T.embed_dataset(enc, Xte), yte)
    auc_pix, auc = metrics.roc_auc(s_pix, same), metrics.roc_auc(s_emb, same)
    tar_pix = metrics.tar_at_far(s_pix, same, 1e-2)
    tar = metrics.tar_at_far(s_emb, same, 1e-2)
    report(Row(name, "raw pixels (-L2)", "AUC", auc_pix, "reference", None, None))
    report(Row(name, "raw pixels (-L2)", "TAR@1e-2", tar_pix, "reference", None, None))
    secs = hist.train_seconds
    ok = auc >= 0.97 and auc >= auc_pix + 0.2
    report(Row(name, "batch-hard triplet, unseen ids", "AUC", auc, ">=0.97, >=raw+0.2", secs, ok))
    ok = tar >= 0.90 and tar >= tar_pix + 0.4
    report(
        Row(name, "batch-hard triplet, unseen ids", "TAR@1e-2", tar, ">=0.90, >=raw+0.4", secs, ok)
    )

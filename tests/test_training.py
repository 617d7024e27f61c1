"""Tests for cl_lessons.training: batch sources, objectives, the fit loop, checkpoints, glue."""

from __future__ import annotations

import os

import matplotlib
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cl_lessons.models import MLPEncoder, SiameseClassifier, SiameseNetwork
from cl_lessons.runtime import get_device
from cl_lessons.training import (
    CheckpointError,
    History,
    PKBatches,
    TensorBatches,
    embed_dataset,
    fit,
    labeled_objective,
    load_checkpoint,
    pair_classifier_objective,
    pair_objective,
    pair_scores,
    retrieval_report,
    save_checkpoint,
    triplet_objective,
    two_view_objective,
    verification_report,
)

matplotlib.use("Agg")


def simple_contrastive(z1, z2, y, margin=1.0):
    """A plain contrastive loss written here, so these tests do not need cl_lessons.losses."""
    d = (z1 - z2).pow(2).sum(1).add(1e-9).sqrt()
    return (y * d**2 + (1 - y) * (margin - d).clamp_min(0) ** 2).mean()


def make_pairs(n=64, dim=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    x1 = torch.rand(n, dim, generator=g)
    y = (torch.arange(n) % 2).float()
    noise = 0.05 * torch.randn(n, dim, generator=g)
    x2 = torch.where(y[:, None] > 0, x1 + noise, torch.rand(n, dim, generator=g))
    return x1, x2, y


def new_net(seed=0):
    torch.manual_seed(seed)
    return SiameseNetwork(MLPEncoder(6, hidden=16, out_dim=4))


def run(seed=0, epochs=3, **kw):
    net = new_net(seed)
    data = TensorBatches(*make_pairs(), batch_size=16)
    kw.setdefault("device", "cpu")
    kw.setdefault("progress", False)
    hist = fit(net, pair_objective(simple_contrastive), data, epochs=epochs, seed=seed, **kw)
    return net, hist


# ------------------------------------------------------------------------------- batch sources
def test_tensor_batches_cover_every_row_once_per_epoch():
    X = torch.arange(10).float()[:, None]
    y = torch.arange(10)
    data = TensorBatches(X, y, batch_size=4, seed=0)
    assert len(data) == 3
    epochs = []
    for _ in range(2):
        rows = [b for b in data]
        assert [len(b[0]) for b in rows] == [4, 4, 2]
        seen = torch.cat([b[1] for b in rows])
        assert sorted(seen.tolist()) == list(range(10))
        for xb, yb in rows:  # tensors stay aligned
            torch.testing.assert_close(xb[:, 0].long(), yb)
        epochs.append(seen)
    assert not torch.equal(epochs[0], epochs[1])  # a new order each epoch
    again = torch.cat([b[1] for b in TensorBatches(X, y, batch_size=4, seed=0)])
    assert torch.equal(again, epochs[0])  # an int seed reproduces the epochs


def test_tensor_batches_options_and_validation():
    X = torch.arange(10).float()
    ordered = torch.cat([b[0] for b in TensorBatches(X, batch_size=3, shuffle=False)])
    torch.testing.assert_close(ordered, X)
    dropped = TensorBatches(X, batch_size=3, drop_last=True)
    assert len(dropped) == 3 and all(len(b[0]) == 3 for b in dropped)
    with pytest.raises(ValueError, match="same first dimension"):
        TensorBatches(X, torch.zeros(9))
    with pytest.raises(ValueError, match="batch_size"):
        TensorBatches(X, batch_size=0)
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorBatches()
    import numpy as np

    from_numpy = TensorBatches(np.ones((4, 2)), batch_size=2)
    assert next(iter(from_numpy))[0].dtype == torch.float32


def test_pk_batches_hold_p_classes_times_k():
    labels = torch.arange(6).repeat_interleave(5)  # 6 classes x 5
    X = labels.float()[:, None] * 10 + torch.rand(30, 1)
    data = PKBatches(X, labels, p=3, k=4, num_batches=5, seed=1)
    assert len(data) == 5
    batches = list(data)
    assert len(batches) == 5
    for xb, yb in batches:
        assert xb.shape == (12, 1)
        counts = torch.bincount(yb, minlength=6)
        assert sorted(counts.tolist(), reverse=True)[:4] == [4, 4, 4, 0]
        torch.testing.assert_close((xb[:, 0] // 10).long(), yb)  # rows match labels
    with pytest.raises(ValueError, match="labels"):
        PKBatches(X, labels[:-1], p=2, k=2)
    with pytest.raises(ValueError, match="p must be"):
        PKBatches(X, labels, p=7, k=2)


def test_pk_batches_without_seed_follow_the_global_generator():
    labels = torch.arange(6).repeat_interleave(5)
    data = PKBatches(torch.rand(30, 2), labels, p=2, k=2, num_batches=3)
    torch.manual_seed(3)
    a = [b[1] for b in data]
    torch.manual_seed(3)
    b = [b[1] for b in data]
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))


# ------------------------------------------------------------------------------- objectives
def test_pair_objective_calls_model_on_both_inputs():
    net = new_net()
    x1, x2, y = make_pairs(8)
    loss = pair_objective(simple_contrastive, margin=2.0)(net, (x1, x2, y))
    torch.testing.assert_close(loss, simple_contrastive(*net(x1, x2), y, margin=2.0))


def test_triplet_objective_splits_anchor_positive_negative():
    seen = {}

    def crit(za, zp, zn, margin):
        seen["z"] = (za, zp, zn)
        return (za - zp).pow(2).sum() - (za - zn).pow(2).sum() + margin

    net = nn.Identity()
    xa, xp, xn = torch.zeros(3, 2), torch.ones(3, 2), 2 * torch.ones(3, 2)
    loss = triplet_objective(crit, margin=0.5)(net, (xa, xp, xn))
    for got, want in zip(seen["z"], (xa, xp, xn), strict=True):
        torch.testing.assert_close(got, want)
    torch.testing.assert_close(loss, torch.tensor(6.0 - 24.0 + 0.5))


def test_labeled_objective_uses_embed():
    net = new_net()
    x, labels = torch.rand(6, 6), torch.tensor([0, 0, 1, 1, 2, 2])

    def crit(z, lab, scale):
        return scale * (z.sum() + lab.sum())

    loss = labeled_objective(crit, scale=2.0)(net, (x, labels))
    torch.testing.assert_close(loss, 2.0 * (net.embed(x).sum() + 6))


def test_two_view_objective_embeds_two_augmented_views():
    calls = []

    def augment(x):
        calls.append(x)
        return x + len(calls)  # view 1 = x + 1, view 2 = x + 2

    seen = {}

    def crit(z1, z2, temperature):
        seen["z"] = (z1, z2, temperature)
        return (z1 - z2).sum()

    x = torch.zeros(4, 3)
    loss = two_view_objective(crit, augment, temperature=0.5)(nn.Identity(), (x, torch.zeros(4)))
    assert len(calls) == 2
    torch.testing.assert_close(seen["z"][0], x + 1)
    torch.testing.assert_close(seen["z"][1], x + 2)
    assert seen["z"][2] == 0.5
    torch.testing.assert_close(loss, torch.tensor(-12.0))

    def supcon_like(z, labels):
        seen["labels"] = labels
        return z.sum()

    two_view_objective(supcon_like, augment, use_labels=True)(nn.Identity(), (x, torch.arange(4)))
    assert seen["labels"].tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    with pytest.raises(ValueError, match="augment_fn"):
        two_view_objective(crit, None)


def test_pair_classifier_objective_is_bce_with_logits():
    torch.manual_seed(0)
    clf = SiameseClassifier(MLPEncoder(6, out_dim=4))
    x1, x2, y = make_pairs(8)
    loss = pair_classifier_objective()(clf, (x1, x2, y))
    p = torch.sigmoid(clf(x1, x2))
    manual = -(y * p.log() + (1 - y) * (1 - p).log()).mean()
    torch.testing.assert_close(loss, manual)
    weighted = pair_classifier_objective(pos_weight=3.0)(clf, (x1, x2, y))
    manual_w = -(3.0 * y * p.log() + (1 - y) * (1 - p).log()).mean()
    torch.testing.assert_close(weighted, manual_w)


# ------------------------------------------------------------------------------- fit
def test_fit_reduces_the_loss_and_records_history():
    net, hist = run(epochs=8, lr=1e-2)
    assert hist.epochs == 8 and len(hist.epoch_time) == 8
    assert len(hist.batch_loss) == 8 * 4
    assert hist.loss[-1] < 0.6 * hist.loss[0]
    assert hist.device == "cpu"
    assert not hist.interrupted and not net.training


def test_fit_same_seed_gives_identical_history_on_cpu():
    _, h1 = run(seed=3, epochs=3)
    _, h2 = run(seed=3, epochs=3)
    _, h3 = run(seed=4, epochs=3)
    assert h1.loss == h2.loss and h1.batch_loss == h2.batch_loss
    assert h1.loss != h3.loss


def test_fit_moves_model_and_batches_to_the_device():
    device = get_device(prefer="cpu")
    seen = set()

    def loss_fn(model, batch):
        seen.update(t.device for t in batch)
        seen.update(p.device for p in model.parameters())
        return simple_contrastive(*model(batch[0], batch[1]), batch[2])

    net = new_net()
    hist = fit(net, loss_fn, [make_pairs(16)], epochs=1, device=device, progress=False)
    assert seen == {device}
    assert hist.device == str(device)
    with pytest.raises(ValueError, match="not available"):
        get_device(prefer="cuda") if not torch.cuda.is_available() else get_device(prefer="xla")


def test_fit_moves_a_tensor_source_once():
    moves = []

    class Source(TensorBatches):
        def to(self, device):
            moves.append(device)
            return super().to(device)

    data = Source(*make_pairs(), batch_size=16)
    fit(new_net(), pair_objective(simple_contrastive), data, 3, device="cpu", progress=False)
    assert moves == [torch.device("cpu")]


@pytest.mark.parametrize("where", ["callback", "loss"])
def test_keyboard_interrupt_returns_history_and_leaves_model_usable(where):
    def cb(epoch, history, model):
        if where == "callback" and epoch == 2:
            raise KeyboardInterrupt

    calls = {"n": 0}

    def loss_fn(model, batch):
        calls["n"] += 1
        if where == "loss" and calls["n"] == 6:  # first step of epoch 2 (4 steps per epoch)
            raise KeyboardInterrupt
        return simple_contrastive(*model(batch[0], batch[1]), batch[2])

    net = new_net()
    data = TensorBatches(*make_pairs(), batch_size=16)
    hist = fit(net, loss_fn, data, epochs=5, device="cpu", callbacks=[cb], progress=False)
    assert hist.interrupted
    assert hist.epochs == (2 if where == "callback" else 1)
    assert len(hist.batch_loss) == (8 if where == "callback" else 5)
    assert not net.training
    z = net.embed(torch.rand(3, 6))
    assert torch.isfinite(z).all()
    done = hist.epochs
    more = fit(net, loss_fn, data, epochs=1, device="cpu", progress=False, history=hist)
    assert more is hist and not hist.interrupted and hist.epochs == done + 1


def test_callbacks_and_evaluation_schedule():
    events = []

    def eval_fn(model):
        events.append(("eval", model.training, torch.is_grad_enabled()))
        return {"score": float(len(events))}

    def cb(epoch, history, model):
        events.append(("cb", epoch, history.epochs))
        return epoch == 4  # stop after epoch 4

    _, hist = run(epochs=10, eval_fn=eval_fn, eval_every=3, callbacks=cb)
    assert hist.stopped_early and hist.epochs == 4
    assert [m["epoch"] for m in hist.metrics] == [3]
    assert ("eval", False, False) in events  # eval mode, no grad
    assert [e for e in events if e[0] == "cb"] == [("cb", i, i) for i in range(1, 5)]
    _, hist2 = run(epochs=4, eval_fn=lambda m: {"a": 1.0}, eval_every=3)
    assert [m["epoch"] for m in hist2.metrics] == [3, 4]  # the last epoch is always evaluated
    assert hist2.metric("a") == ([3, 4], [1.0, 1.0])
    assert len(hist2.eval_time) == 2 and len(hist2.epoch_time) == 4


def test_evaluation_time_is_kept_apart_from_training_time(monkeypatch):
    import cl_lessons.training.loop as training

    clock = {"now": 0.0}

    def fake_perf_counter():
        clock["now"] += 1.0  # every reading advances one "second"
        return clock["now"]

    def slow_eval(model):
        clock["now"] += 100.0  # an evaluation "takes" 100 seconds
        return {"x": 0.0}

    monkeypatch.setattr(training.time, "perf_counter", fake_perf_counter)
    _, hist = run(epochs=2, eval_fn=slow_eval)
    assert all(t >= 100 for t in hist.eval_time) and len(hist.eval_time) == 2
    assert all(t < 100 for t in hist.epoch_time) and len(hist.epoch_time) == 2
    assert hist.train_seconds == sum(hist.epoch_time)


def test_fit_continues_a_history():
    net, hist = run(epochs=2)
    fit(
        net,
        pair_objective(simple_contrastive),
        [make_pairs(16)],
        2,
        device="cpu",
        progress=False,
        history=hist,
    )
    assert hist.epochs == 4


def test_fit_validation_and_failures():
    net = new_net()
    obj = pair_objective(simple_contrastive)
    data = [make_pairs(8)]
    with pytest.raises(ValueError, match="epochs"):
        fit(net, obj, data, epochs=-1, progress=False)
    with pytest.raises(ValueError, match="lr"):
        fit(net, obj, data, epochs=1, lr=0, progress=False)
    with pytest.raises(ValueError, match="scalar"):
        fit(net, lambda m, b: m.embed(b[0]).sum(1), data, 1, device="cpu", progress=False)
    with pytest.raises(FloatingPointError, match="epoch 1, step 0"):
        fit(
            net,
            lambda m, b: m.embed(b[0]).sum() * float("nan"),
            data,
            1,
            device="cpu",
            progress=False,
        )
    assert not net.training
    with pytest.raises(ValueError, match="single tensor"):
        fit(net, obj, torch.rand(4, 6), 1, device="cpu", progress=False)
    with pytest.raises(ValueError, match="optimizer"):
        fit(net, obj, data, 1, optimizer="adam", device="cpu", progress=False)


def test_fit_custom_optimizer_grad_clip_and_amp_note_on_cpu():
    net = new_net()
    sgd = torch.optim.SGD(net.parameters(), lr=0.0)
    before = [p.detach().clone() for p in net.parameters()]
    fit(
        net,
        pair_objective(simple_contrastive),
        [make_pairs(8)],
        2,
        optimizer=sgd,
        device="cpu",
        progress=False,
        grad_clip=1.0,
    )
    for p, q in zip(net.parameters(), before, strict=True):
        torch.testing.assert_close(p, q)  # lr 0: the given optimiser was used
    with pytest.warns(UserWarning, match="CUDA only"):
        _, hist = run(epochs=1, amp=True)
    assert any("amp" in n for n in hist.notes)


def test_fit_progress_bar_runs_without_error(capsys):
    _, hist = run(epochs=2, progress=True)
    assert hist.epochs == 2
    assert "training" in capsys.readouterr().err


def test_history_dict_round_trip_and_plot():
    _, hist = run(epochs=3, eval_fn=lambda m: {"auc": 0.5})
    d = hist.as_dict()
    assert History.from_dict(d) == hist
    fig = hist.plot()
    lines = [ln for ax in fig.axes for ln in ax.get_lines()]
    assert len(lines) == 2
    assert list(lines[0].get_ydata()) == hist.loss
    import matplotlib.pyplot as plt

    plt.close(fig)


# ------------------------------------------------------------------------------- checkpoints
def test_checkpoint_round_trip(tmp_path):
    net, hist = run(epochs=2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(*make_pairs(4)[:2])[0].sum().backward()
    opt.step()
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, net, opt, epoch=2, history=hist.as_dict())
    assert os.listdir(tmp_path) == ["ckpt.pt"]  # no temporary file left behind
    other = new_net(seed=9)
    other_opt = torch.optim.Adam(other.parameters(), lr=1e-3)
    extra = load_checkpoint(path, other, other_opt)
    assert extra["epoch"] == 2 and History.from_dict(extra["history"]).loss == hist.loss
    for a, b in zip(net.state_dict().values(), other.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)
    sa, sb = opt.state_dict()["state"], other_opt.state_dict()["state"]
    torch.testing.assert_close(sa[0]["exp_avg"], sb[0]["exp_avg"])


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    net = new_net()
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, net, note="first")

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, new_net(seed=5), note="second")
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ckpt.pt"]
    assert load_checkpoint(path, new_net(seed=7))["note"] == "first"


def test_checkpoint_corrupt_file_raises_clear_error(tmp_path):
    net = new_net()
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, net)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(path, net)
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(path, net)
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="not a cl_lessons checkpoint"):
        load_checkpoint(path, net)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt", net)
    assert issubclass(CheckpointError, ValueError)


def test_checkpoint_mismatched_model_raises_clear_error(tmp_path):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, new_net())
    wider = SiameseNetwork(MLPEncoder(6, hidden=32, out_dim=4))
    with pytest.raises(CheckpointError, match=r"shape mismatch: encoder\.net\.0\.weight"):
        load_checkpoint(path, wider)
    deeper = SiameseNetwork(MLPEncoder(6, hidden=(16, 16), out_dim=4))
    with pytest.raises(CheckpointError, match=r"not in model|missing in checkpoint"):
        load_checkpoint(path, deeper)
    with pytest.raises(CheckpointError, match="no optimizer"):
        net = new_net()
        load_checkpoint(path, net, torch.optim.SGD(net.parameters(), lr=0.1))


# ------------------------------------------------------------------------------- evaluation glue
def test_embed_dataset_matches_eval_forward_and_restores_mode():
    torch.manual_seed(0)
    enc = MLPEncoder(6, hidden=8, out_dim=3, batch_norm=True)
    net = SiameseNetwork(enc)
    X = torch.rand(50, 6)
    net.train()
    Z = embed_dataset(net, X, batch_size=7)
    assert net.training  # mode restored
    enc.eval()
    with torch.no_grad():
        ref = enc(X)
    torch.testing.assert_close(Z, ref)
    assert Z.device.type == "cpu" and not Z.requires_grad
    with pytest.raises(ValueError, match="at least one sample"):
        embed_dataset(net, torch.zeros(0, 6))


def test_pair_scores_signs_and_values():
    z = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
    i, j = [0, 1, 2], [1, 2, 2]
    torch.testing.assert_close(pair_scores(z, i, j), torch.tensor([-5.0, -((9 + 9) ** 0.5), 0.0]))
    torch.testing.assert_close(pair_scores(z, i, j, "l1"), torch.tensor([-7.0, -6.0, 0.0]))
    torch.testing.assert_close(pair_scores(z, i, j, "cosine"), torch.tensor([0.0, 0.8, 1.0]))
    with pytest.raises(ValueError, match="distance"):
        pair_scores(z, i, j, "dot")
    with pytest.raises(ValueError, match="pair indices"):
        pair_scores(z, [0], [3])


def test_verification_report_on_separable_scores():
    scores = torch.tensor([0.9, 0.8, 0.7, 0.3, 0.2, 0.1])
    same = torch.tensor([1, 1, 1, 0, 0, 0])
    rep = verification_report(scores, same)
    assert rep["auc"] == pytest.approx(1.0)
    assert rep["eer"] == pytest.approx(0.0)
    assert rep["accuracy"] == pytest.approx(1.0)
    fixed = verification_report(scores, same, threshold=0.75)
    assert fixed["threshold"] == 0.75 and fixed["accuracy"] == pytest.approx(5 / 6)


def test_retrieval_report_keys_and_values():
    z = torch.tensor([[0.0], [1.0], [0.4], [5.0]])
    labels = torch.tensor([0, 0, 1, 1])
    # nearest others: 0 -> 0.4 (miss), 1 -> 0.4 (miss), 0.4 -> 0 (miss), 5 -> 1 (miss);
    # second nearest: 1 (hit), 0 (hit), 1 (miss), 0.4 (hit)
    rep = retrieval_report(z, labels, ks=(1, 2))
    assert rep == {"recall@1": pytest.approx(0.0), "recall@2": pytest.approx(0.75)}


def test_fit_with_a_siamese_classifier_learns_pairs():
    torch.manual_seed(0)
    clf = SiameseClassifier(MLPEncoder(6, hidden=16, out_dim=8))
    x1, x2, y = make_pairs(128)
    hist = fit(
        clf,
        pair_classifier_objective(),
        TensorBatches(x1, x2, y, batch_size=32),
        epochs=30,
        lr=1e-2,
        device="cpu",
        progress=False,
        seed=0,
    )
    acc = ((clf.predict_proba(x1, x2) > 0.5).float() == y).float().mean()
    assert hist.loss[-1] < hist.loss[0] and acc > 0.8
    assert F.binary_cross_entropy_with_logits(clf(x1, x2), y) < 0.6

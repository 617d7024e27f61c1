"""Checkpoints that save must load; crafted, corrupted and orphaned files are handled."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from cl_lessons.models import MLPEncoder, SiameseNetwork
from cl_lessons.training import CheckpointError, History, load_checkpoint, save_checkpoint
from cl_lessons.training import checkpoints as ckpt_module


def new_net(seed=0):
    torch.manual_seed(seed)
    return SiameseNetwork(MLPEncoder(6, hidden=16, out_dim=4))


def first_weight_name(net) -> str:
    return next(iter(net.state_dict()))


# ------------------------------------------------------------------ what save accepts, load reads
NUMPY_EXTRAS = {
    "np_float64": (np.float64(0.93), 0.93),
    "np_float32": (np.float32(0.5), 0.5),
    "np_int64": (np.int64(7), 7),
    "np_bool": (np.bool_(True), True),
    "np_str": (np.str_("adam"), "adam"),
    "nested": ({"acc": [np.float64(0.1), np.int32(2)]}, {"acc": [0.1, 2]}),
    "tuple": ((np.float64(1.5), "x"), (1.5, "x")),
    "set": ({3, 1, 2}, [1, 2, 3]),
    "np_key": ({np.int64(3): "three"}, {3: "three"}),
}


@pytest.mark.parametrize("key", list(NUMPY_EXTRAS))
def test_numpy_and_container_extras_load_back_as_plain_values(tmp_path, key):
    value, expected = NUMPY_EXTRAS[key]
    path = tmp_path / "c.pt"
    save_checkpoint(path, new_net(), **{key: value})
    got = load_checkpoint(path, new_net(seed=1))[key]
    assert got == expected
    assert type(got) is type(expected)


def test_numpy_arrays_load_back_as_tensors(tmp_path):
    path = tmp_path / "c.pt"
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    save_checkpoint(path, new_net(), emb=arr, labels=np.array([1, 2, 3]), flags=np.array([True]))
    extra = load_checkpoint(path, new_net(seed=1))
    assert torch.equal(extra["emb"], torch.from_numpy(arr))
    assert extra["labels"].tolist() == [1, 2, 3] and extra["labels"].dtype == torch.int64
    assert extra["flags"].tolist() == [True]
    # arrays that are not numbers become plain lists
    save_checkpoint(path, new_net(), names=np.array(["a", "b"]))
    assert load_checkpoint(path, new_net())["names"] == ["a", "b"]


def test_history_extra_loads_as_a_plain_dict(tmp_path):
    hist = History(loss=[1.0, 0.5], metrics=[{"epoch": 1, "acc": np.float64(0.7)}], notes=["n"])
    path = tmp_path / "c.pt"
    save_checkpoint(path, new_net(), history=hist)
    got = load_checkpoint(path, new_net(seed=1))["history"]
    assert isinstance(got, dict)
    back = History.from_dict(got)
    assert back.loss == [1.0, 0.5] and back.metrics == [{"epoch": 1, "acc": 0.7}]
    assert back.notes == ["n"]


@pytest.mark.parametrize(
    "value",
    [object(), lambda x: x, np.datetime64("2024-01-01"), torch.device("cpu"), 1 + 2j, b"raw"],
    ids=["object", "lambda", "datetime64", "device", "complex", "bytes"],
)
def test_unsupported_extra_is_refused_at_save_time_naming_the_key(tmp_path, value):
    path = tmp_path / "c.pt"
    save_checkpoint(path, new_net(), note="kept")
    with pytest.raises(ValueError, match=r"odd_extra"):
        save_checkpoint(path, new_net(seed=3), odd_extra={"inner": [value]})
    # nothing was written: the earlier checkpoint is intact and no temporary is left
    assert load_checkpoint(path, new_net())["note"] == "kept"
    assert os.listdir(tmp_path) == ["c.pt"]


def test_self_containing_extra_is_refused(tmp_path):
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="loop"):
        save_checkpoint(tmp_path / "c.pt", new_net(), loop=loop)


# ------------------------------------------------------------------ crafted files
def crafted(path, **state):
    torch.save({"format": ckpt_module.CHECKPOINT_FORMAT, **state}, path)


def test_crafted_file_without_model_raises_checkpoint_error(tmp_path):
    path = tmp_path / "c.pt"
    crafted(path, optimizer=None, extra={})
    with pytest.raises(CheckpointError, match="model"):
        load_checkpoint(path, new_net())
    crafted(path, model=[1, 2, 3])
    with pytest.raises(CheckpointError, match="model"):
        load_checkpoint(path, new_net())


def test_crafted_file_with_string_weights_raises_checkpoint_error(tmp_path):
    net = new_net()
    path = tmp_path / "c.pt"
    state = {k: "not a tensor" for k in net.state_dict()}
    crafted(path, model=state, optimizer=None, extra={})
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(CheckpointError, match="not named tensors"):
        load_checkpoint(path, net)
    for a, b in zip(before, net.parameters(), strict=True):
        assert torch.equal(a, b)  # the model was left untouched


def test_crafted_file_with_bad_extra_or_optimizer_raises_checkpoint_error(tmp_path):
    net = new_net()
    path = tmp_path / "c.pt"
    crafted(path, model=net.state_dict(), optimizer=None, extra=[1, 2])
    with pytest.raises(CheckpointError, match="extra"):
        load_checkpoint(path, net)
    crafted(path, model=net.state_dict(), optimizer="sgd", extra={})
    with pytest.raises(CheckpointError, match="optimizer"):
        load_checkpoint(path, net, torch.optim.SGD(net.parameters(), lr=0.1))


# ------------------------------------------------------------------ integrity
def test_modified_tensor_is_detected_as_corrupted(tmp_path):
    net = new_net()
    path = tmp_path / "c.pt"
    save_checkpoint(path, net, epoch=3)
    state = torch.load(path, weights_only=True)
    name = first_weight_name(net)
    state["model"][name].view(-1)[0] += 1e-3  # a single changed weight, file otherwise valid
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="corrupted"):
        load_checkpoint(path, new_net(seed=1))


def test_modified_extra_value_is_detected_as_corrupted(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint(path, new_net(), epoch=3)
    state = torch.load(path, weights_only=True)
    state["extra"]["epoch"] = 4
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="corrupted"):
        load_checkpoint(path, new_net())


def test_flipped_byte_in_the_file_is_detected(tmp_path):
    net = new_net()
    marker = torch.tensor([1234.5678, -8765.4321, 1111.2222, -3333.4444])
    with torch.no_grad():
        net.encoder.net[0].bias[:4] = marker  # a pattern to find in the file
    path = tmp_path / "c.pt"
    save_checkpoint(path, net)
    data = bytearray(path.read_bytes())
    pattern = struct.pack("<4f", *marker.tolist())
    at = data.find(pattern)
    assert at >= 0 and data.find(pattern, at + 1) == -1  # found once: the tensor's raw data
    data[at + 1] ^= 0x01  # one bit of the mantissa of 1234.5678: still a valid float
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupted"):
        load_checkpoint(path, new_net(seed=1))


def test_checkpoint_without_hash_still_loads(tmp_path):
    net = new_net()
    path = tmp_path / "old.pt"
    # the layout written before the hash existed
    crafted(path, model=net.state_dict(), optimizer=None, extra={"epoch": 2})
    other = new_net(seed=1)
    assert load_checkpoint(path, other) == {"epoch": 2}
    for a, b in zip(net.state_dict().values(), other.state_dict().values(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("make_opt", ["sgd", "adam", "adamw"])
def test_round_trip_with_optimizer_passes_the_integrity_check(tmp_path, make_opt):
    net = new_net()
    opt = {
        "sgd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
        "adam": lambda p: torch.optim.Adam(p, lr=1e-3, betas=(0.8, 0.99)),
        "adamw": lambda p: torch.optim.AdamW(p, lr=1e-3, amsgrad=True),
    }[make_opt]
    o = opt(net.parameters())
    x = torch.randn(5, 6)
    net(x, x)[0].pow(2).sum().backward()
    o.step()
    path = tmp_path / "c.pt"
    save_checkpoint(path, net, o, history=History(loss=[0.5]), nan=float("nan"), big=2**80)
    other = new_net(seed=4)
    extra = load_checkpoint(path, other, opt(other.parameters()))
    assert extra["big"] == 2**80 and extra["history"]["loss"] == [0.5]


# ------------------------------------------------------------------ orphaned temporaries
def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def temp_name(checkpoint: str, pid: int, tag: str = "abc123") -> str:
    return f".{checkpoint}.{pid}.{tag}.tmp"


@pytest.mark.skipif(os.name != "posix", reason="process liveness is checked on POSIX only")
@pytest.mark.parametrize("action", ["save", "load"])
def test_stale_temporaries_of_the_same_checkpoint_are_removed(tmp_path, action):
    path = tmp_path / "c.pt"
    save_checkpoint(path, new_net())
    stale = tmp_path / temp_name("c.pt", dead_pid())
    live = tmp_path / temp_name("c.pt", os.getpid(), "xyz789")  # a save in progress here
    other = tmp_path / temp_name("d.pt", dead_pid())  # another checkpoint's
    unrelated = tmp_path / ".c.pt.notes.tmp"  # does not follow the pattern
    for f in (stale, live, other, unrelated):
        f.write_bytes(b"\0" * 1024)
    if action == "save":
        save_checkpoint(path, new_net(seed=2))
    else:
        load_checkpoint(path, new_net())
    left = set(os.listdir(tmp_path))
    assert stale.name not in left
    assert {live.name, other.name, unrelated.name, "c.pt"} <= left


def test_old_temporaries_are_removed_even_if_their_pid_is_alive(tmp_path):
    path = tmp_path / "c.pt"
    old = tmp_path / temp_name("c.pt", os.getpid())
    old.write_bytes(b"partial")
    long_ago = time.time() - 2 * ckpt_module.STALE_TEMP_SECONDS
    os.utime(old, (long_ago, long_ago))
    save_checkpoint(path, new_net())
    assert os.listdir(tmp_path) == ["c.pt"]


def test_temporary_name_follows_the_pattern(tmp_path, monkeypatch):
    import tempfile

    seen = []
    real_mkstemp = tempfile.mkstemp

    def spy(*args, **kwargs):
        fd, name = real_mkstemp(*args, **kwargs)
        seen.append(os.path.basename(name))
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", spy)
    save_checkpoint(tmp_path / "c.pt", new_net())
    assert len(seen) == 1
    assert ckpt_module._temp_pattern("c.pt").fullmatch(seen[0]).group(1) == str(os.getpid())

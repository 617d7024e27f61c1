"""The torchrun script: two gloo processes train, write one checkpoint, and fail loudly."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import pytest

import cl_lessons as cl

TORCHRUN = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which(
    "torchrun"
)
pytestmark = pytest.mark.skipif(TORCHRUN is None, reason="torchrun is not installed")


def _torchrun(*args, timeout=150):
    cmd = [TORCHRUN, "--standalone", "--nproc-per-node", "2", "-m"]
    cmd += ["cl_lessons.scale.train_simclr", *args]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        start_new_session=True,
    )  # fmt: skip
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # torchrun and its workers: our own group only
        proc.communicate()
        raise
    return proc.returncode, out


def test_two_processes_train_and_write_one_checkpoint(tmp_path):
    path = tmp_path / "simclr.pt"
    rc, out = _torchrun(
        "--epochs", "3", "--batch-size", "64", "--max-steps", "4", "--checkpoint", str(path)
    )
    assert rc == 0, out
    assert out.count("epoch 3/3") == 1  # rank 0 alone prints
    assert os.listdir(tmp_path) == ["simclr.pt"]  # one file, no temporary left
    extra = cl.training.load_checkpoint(path, _model())  # checked against the architecture
    loss = extra["loss"]
    assert len(loss) == 3 and loss[-1] < loss[0] - 0.1, loss
    assert extra["world_size"] == 2 and extra["epoch"] == 3 and 0.1 < extra["probe"] <= 1


def _model():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        cl.models.MLPEncoder(256, [256], 64), cl.models.ProjectionHead(64, 32)
    )


def test_a_worker_that_raises_fails_the_launcher_with_its_message(tmp_path):
    rc, out = _torchrun("--epochs", "1", "--batch-size", "16", "--max-steps", "2",
                        "--fail-rank", "1", "--timeout", "20")  # fmt: skip
    assert rc != 0
    assert "rank 1 failed on purpose" in out

"""Two real gloo processes: the DDP step with distributed_info_nce equals the full-batch step;
the plain all_gather does not; run_distributed reports failures and leaves no process behind."""

from __future__ import annotations

import os
import time

import pytest
import torch

import cl_lessons as cl
from cl_lessons.scale import (
    WorkerError,
    ddp_step,
    distributed_info_nce,
    full_batch_step,
    gather_with_grad,
    probe,
    run_distributed,
)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _pids(folder) -> list[int]:
    return [int(p.read_text()) for p in sorted(folder.glob("rank*.pid"))]


@pytest.fixture(scope="module")
def two_process_step():
    return run_distributed(ddp_step, 2, 6, 0, 0.2, timeout=120)


def test_ddp_step_equals_the_single_process_full_batch_step(two_process_step):
    want = full_batch_step(2, 6, 0, 0.2)
    for rank_result in two_process_step:
        got = rank_result["gather_with_grad"]
        assert got["loss"] == pytest.approx(want["loss"], rel=1e-5, abs=1e-5)
        for a, b in zip(got["grads"], want["grads"], strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_plain_all_gather_has_the_right_loss_but_the_wrong_gradient(two_process_step):
    want = full_batch_step(2, 6, 0, 0.2)
    got = two_process_step[0]["all_gather"]
    assert got["loss"] == pytest.approx(want["loss"], rel=1e-5)  # the value hides the bug
    pairs = zip(got["grads"], want["grads"], strict=True)
    rel = [float((a - b).norm() / b.norm()) for a, b in pairs]
    assert max(rel) > 0.05, rel  # a measurable difference, not round-off


def test_probe_results_come_back_in_rank_order(tmp_path):
    out = run_distributed(probe, 2, "ok", str(tmp_path), timeout=60)
    assert [r["rank"] for r in out] == [0, 1] and [r["sum"] for r in out] == [1.0, 1.0]
    assert all(_gone(pid) for pid in _pids(tmp_path))


def test_a_failing_worker_is_raised_here_and_no_process_is_left(tmp_path):
    start = time.monotonic()
    with pytest.raises(WorkerError, match="rank 0 failed on purpose") as err:
        run_distributed(probe, 2, "raise", str(tmp_path), timeout=60)
    assert "Traceback" in str(err.value) and "ValueError" in str(err.value)
    assert time.monotonic() - start < 50  # the waiting peer was stopped, not waited for
    pids = _pids(tmp_path)
    assert len(pids) == 2 and all(_gone(pid) for pid in pids)


def test_a_hanging_job_times_out_and_no_process_is_left(tmp_path):
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="within 8 s"):
        run_distributed(probe, 2, "hang", str(tmp_path), timeout=8)
    assert time.monotonic() - start < 25
    pids = _pids(tmp_path)
    assert len(pids) == 2 and all(_gone(pid) for pid in pids)


def test_without_a_process_group_everything_is_the_single_process_version():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    assert gather_with_grad(z1) is z1
    torch.testing.assert_close(distributed_info_nce(z1, z2, 0.3), cl.losses.info_nce(z1, z2, 0.3))


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="fn"):
        run_distributed("probe", 2)
    with pytest.raises(ValueError, match="world_size"):
        run_distributed(probe, 0)
    with pytest.raises(ValueError, match="timeout"):
        run_distributed(probe, 2, timeout=0)
    with pytest.raises(ValueError, match="x must be a tensor"):
        gather_with_grad(3.0)
    with pytest.raises(ValueError, match="temperature"):
        distributed_info_nce(torch.randn(3, 2), torch.randn(3, 2), 0.0)
    with pytest.raises(ValueError, match="z2"):
        distributed_info_nce(torch.randn(3, 2), torch.randn(4, 2))

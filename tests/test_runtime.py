import random

import numpy as np
import pytest
import torch

import cl_lessons as cl
from cl_lessons import runtime


def test_get_device_prefers_cpu_when_asked():
    assert cl.get_device(prefer="cpu") == torch.device("cpu")


def test_get_device_default_is_cuda_else_cpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert cl.get_device().type == expected
    assert runtime.available_devices()[-1] == "cpu"


def test_mps_only_when_asked(monkeypatch):
    monkeypatch.setattr(runtime, "_mps_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert runtime.available_devices() == ["mps", "cpu"]
    assert cl.get_device().type == "cpu"  # not the MPS, although it is there
    assert runtime.resolve_device("mps").type == "mps"  # asked for: given


@pytest.mark.parametrize("name", ["cuda", "mps"])
def test_absent_device_error_lists_what_is_available(name):
    if name in runtime.available_devices():
        pytest.skip(f"{name} is present on this machine")  # the CI machine has neither
    with pytest.raises(ValueError, match=r"available: .*cpu"):
        cl.get_device(prefer=name)


def test_nonsense_device_name():
    with pytest.raises(ValueError, match="prefer"):
        cl.get_device(prefer="tpu-please")


def test_seed_everything_reproduces_all_generators():
    cl.seed_everything(123)
    first = (random.random(), np.random.rand(), torch.rand(3))
    cl.seed_everything(123)
    second = (random.random(), np.random.rand(), torch.rand(3))
    assert first[0] == second[0] and first[1] == second[1]
    torch.testing.assert_close(first[2], second[2])
    cl.seed_everything(124)
    assert not torch.equal(torch.rand(3), second[2])


def test_seed_everything_returns_a_seeded_generator():
    g1, g2 = cl.seed_everything(7), cl.seed_everything(7)
    assert torch.equal(torch.rand(4, generator=g1), torch.rand(4, generator=g2))


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises(ValueError, match="seed"):
        cl.seed_everything(bad)


def test_seed_offset_moves_every_seed(monkeypatch):
    monkeypatch.delenv("CL_LESSONS_SEED_OFFSET", raising=False)
    base = torch.rand(3, generator=cl.seed_everything(5))
    monkeypatch.setenv("CL_LESSONS_SEED_OFFSET", "2")
    moved = torch.rand(3, generator=cl.seed_everything(3))
    assert torch.equal(base, moved)  # 3 + 2 == 5
    assert not torch.equal(base, torch.rand(3, generator=cl.seed_everything(5)))
    monkeypatch.setenv("CL_LESSONS_SEED_OFFSET", "1")
    wrapped = torch.rand(3, generator=cl.seed_everything(2**32 - 1))
    assert torch.equal(wrapped, torch.rand(3, generator=torch.Generator().manual_seed(0)))


@pytest.mark.parametrize("bad", ["-1", "one", "1.5"])
def test_seed_offset_rejects_bad_values(monkeypatch, bad):
    monkeypatch.setenv("CL_LESSONS_SEED_OFFSET", bad)
    with pytest.raises(ValueError, match="CL_LESSONS_SEED_OFFSET"):
        cl.seed_everything(0)


def test_fast_reads_the_environment_at_call_time(monkeypatch):
    monkeypatch.setenv("CL_LESSONS_FAST", "1")
    assert cl.fast(1000, 10) == 10
    monkeypatch.setenv("CL_LESSONS_FAST", "0")
    assert cl.fast(1000, 10) == 1000


def test_fast_falls_back_to_import_time_flag(monkeypatch):
    monkeypatch.delenv("CL_LESSONS_FAST", raising=False)
    assert cl.fast("full", "quick") == ("quick" if runtime.FAST else "full")


def test_describe_environment_reports_versions_and_device():
    info = cl.describe_environment()
    assert info["torch"] == torch.__version__
    assert info["device"] == str(cl.get_device())
    assert int(info["torch threads"]) >= 1
    for key in ["python", "numpy", "scikit-learn", "matplotlib", "ipywidgets", "umap-learn"]:
        assert info[key] and info[key] != "not installed", key


def test_get_device_gives_lessons_one_cpu_thread_unless_asked(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("CL_LESSONS_THREADS", raising=False)
        torch.set_num_threads(2)
        assert runtime.get_device("cpu").type == "cpu" and torch.get_num_threads() == 1
        monkeypatch.setenv("CL_LESSONS_THREADS", "2")
        runtime.get_device("cpu")
        assert torch.get_num_threads() == 2
        monkeypatch.setenv("CL_LESSONS_THREADS", "0")  # 0: leave PyTorch's choice alone
        torch.set_num_threads(2)
        runtime.get_device("cpu")
        assert torch.get_num_threads() == 2
        monkeypatch.setenv("CL_LESSONS_THREADS", "two")
        with pytest.raises(ValueError, match="CL_LESSONS_THREADS"):
            runtime.get_device("cpu")
    finally:
        torch.set_num_threads(before)


def test_fit_does_not_change_the_thread_count():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        model = cl.models.MLPEncoder(3, 4, 2)
        cl.training.fit(model, lambda m, b: m(b[0]).sum(), [(torch.randn(4, 3),)], progress=False)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)

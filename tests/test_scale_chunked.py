"""info_nce_chunked: the value and gradient of info_nce, in blocks; loud on bad input."""

from __future__ import annotations

import os

import pytest
import torch

from cl_lessons.losses import info_nce
from cl_lessons.scale import info_nce_bytes, info_nce_chunked, measure_peak_memory


def _pair(n, d, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(n, d, generator=g, dtype=dtype).requires_grad_()
    z2 = torch.randn(n, d, generator=g, dtype=dtype).requires_grad_()
    return z1, z2


def _looped(z1, z2, t):  # the paper's definition, one anchor at a time
    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    n2 = len(z)
    total = 0.0
    for i in range(n2):
        j = (i + n2 // 2) % n2
        others = torch.cat([z[:i], z[i + 1 :]])
        total = total - (z[i] @ z[j] / t - torch.logsumexp(others @ z[i] / t, 0))
    return total / n2


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("temperature", [0.5, 0.1, 0.004])
@pytest.mark.parametrize(("n", "d", "chunk"), [(1, 3, 1), (7, 4, 3), (33, 8, 5), (20, 2, 64)])
def test_same_value_and_gradient_as_info_nce(dtype, temperature, n, d, chunk):
    z1, z2 = _pair(n, d, dtype)
    want = info_nce(z1, z2, temperature)
    g_want = torch.autograd.grad(want, (z1, z2))
    got = info_nce_chunked(z1, z2, temperature, chunk)
    g_got = torch.autograd.grad(got, (z1, z2))
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(got, want, rtol=tol, atol=tol)
    for a, b in zip(g_got, g_want, strict=True):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


def test_matches_a_looped_reference():
    z1, z2 = _pair(6, 3, torch.float64, seed=2)
    torch.testing.assert_close(info_nce_chunked(z1, z2, 0.3, 4), _looped(z1, z2, 0.3))


@pytest.mark.parametrize("temperature", [0.3, 0.002])
def test_gradcheck_float64(temperature):
    z1, z2 = _pair(5, 3, torch.float64, seed=1)
    assert torch.autograd.gradcheck(lambda a, b: info_nce_chunked(a, b, temperature, 3), (z1, z2))


def test_no_gradient_needed_and_low_precision():
    z1, z2 = _pair(9, 4, torch.float32)
    with torch.no_grad():
        v = info_nce_chunked(z1, z2, 0.2, 4)
    torch.testing.assert_close(v, info_nce(z1.detach(), z2.detach(), 0.2))
    half = info_nce_chunked(z1.detach().bfloat16(), z2.detach().bfloat16(), 0.2, 2)
    assert half.dtype == torch.float32
    torch.testing.assert_close(half, info_nce(z1.detach().bfloat16(), z2.detach().bfloat16(), 0.2))


def test_double_backward_is_refused():
    z1, z2 = _pair(4, 3, torch.float64)
    with pytest.raises(RuntimeError, match="second derivative"):
        torch.autograd.grad(info_nce_chunked(z1, z2, 0.5, 2), z1, create_graph=True)


X = torch.randn(4, 3)
BAD = {
    "shape mismatch": (X, torch.randn(5, 3), {}),
    "1-D": (torch.randn(4), torch.randn(4), {}),
    "empty": (torch.randn(0, 3), torch.randn(0, 3), {}),
    "nan": (X, torch.full((4, 3), float("nan")), {}),
    "integers": (X.long(), X.long(), {}),
    "temperature 0": (X, X, {"temperature": 0.0}),
    "temperature -1": (X, X, {"temperature": -1.0}),
    "temperature nan": (X, X, {"temperature": float("nan")}),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_as_loud_as_info_nce(case):
    a, b, kw = BAD[case]
    with pytest.raises(ValueError) as want:
        info_nce(a, b, **kw)
    with pytest.raises(ValueError) as got:
        info_nce_chunked(a, b, **kw)
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("chunk", [0, -3, 2.5, "8", True, None])
def test_bad_chunk_size_names_the_argument(chunk):
    with pytest.raises(ValueError, match="chunk_size"):
        info_nce_chunked(X, X, 0.1, chunk)


def test_memory_stays_linear_while_info_nce_grows_quadratically():
    sizes = (1024, 4096)
    full = measure_peak_memory("info_nce", sizes, dim=32)
    chunked = measure_peak_memory("info_nce_chunked", sizes, dim=32, chunk_size=256)
    for row in full:  # the formula predicts the measured peak of info_nce
        assert 0.7 < row["peak_bytes"] / info_nce_bytes(row["n"], 32) < 1.3
    big_full, big_chunked = full[-1]["peak_bytes"], chunked[-1]["peak_bytes"]
    assert big_full > 200e6  # (2 * 4096)^2 float32 = 268 MB
    assert big_chunked < 20e6  # 256 x 8192 block = 8 MB, plus (2N, D) buffers
    assert info_nce_bytes(16_384) == 4 * (2 * 16_384) ** 2 + 4 * 8 * 2 * 16_384 * 128


def test_the_portable_path_measures_the_same():
    # Run from a small fresh parent: on Linux a child's ru_maxrss starts at its parent's peak, so
    # from inside this (large) pytest process the portable path would see only the parent's peak.
    import json
    import subprocess
    import sys

    code = (
        "import json, cl_lessons.scale.memory as m\n"
        "m._LINUX = False\n"
        "print(json.dumps(m.measure_peak_memory('info_nce', (256, 8192), dim=32)))\n"
    )
    env = {**os.environ, "CL_LESSONS_PORTABLE_PEAK": "1"}  # the child: peak since its start
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    assert [r["n"] for r in rows] == [256, 8192]
    # the peak since start-up includes the transient of the imports (some 100 MB), which hides a
    # small loss's peak: a lower bound, meaningful once the loss needs far more (1 GiB at 8192)
    assert 0.7 < rows[1]["peak_bytes"] / info_nce_bytes(8192, 32) < 1.3
    assert rows[0]["peak_bytes"] < rows[1]["peak_bytes"]


def test_measure_peak_memory_refuses_bad_arguments():
    with pytest.raises(ValueError, match="loss"):
        measure_peak_memory("ntxent")
    with pytest.raises(ValueError, match="sizes"):
        measure_peak_memory("info_nce", (1,))

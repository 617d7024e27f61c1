"""The optional real-data loaders fail fast on a network that drops packets (never hang).

No test touches the network: the low-level ``socket.create_connection`` that urllib (used by
scikit-learn and torchvision) calls is replaced by a connection that never answers, and any real
connection attempt fails the test.
"""

from __future__ import annotations

import http.client
import socket
import sys
import time
import types
import urllib.request

import pytest

from cl_lessons import data
from cl_lessons.data import real

FAST_TIMEOUT = 0.2


@pytest.fixture
def stalled_network(monkeypatch):
    """Every connection stalls until its timeout, then times out; returns the timeouts seen."""
    seen: list[float | None] = []

    def stalled(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, *args, **kwargs):
        if timeout is socket._GLOBAL_DEFAULT_TIMEOUT:
            timeout = socket.getdefaulttimeout()
        seen.append(timeout)
        if timeout is None:
            raise AssertionError(f"connection to {address} without a timeout: it would hang")
        time.sleep(timeout)
        raise TimeoutError("timed out")

    def no_real_network(*args, **kwargs):
        raise AssertionError("a test tried to reach the real network")

    monkeypatch.setattr(socket, "create_connection", stalled)
    monkeypatch.setattr(socket, "getaddrinfo", no_real_network)
    monkeypatch.setattr(socket.socket, "connect", no_real_network)
    monkeypatch.setattr(real, "DOWNLOAD_TIMEOUT_S", FAST_TIMEOUT)
    return seen


def test_default_timeout_is_about_ten_seconds():
    assert 5 <= real.DOWNLOAD_TIMEOUT_S <= 15


@pytest.mark.filterwarnings("ignore:Retry downloading:UserWarning")
@pytest.mark.parametrize(
    "load, name",
    [
        (lambda home: data.load_olivetti_faces(data_home=home, download=True), "Olivetti"),
        (lambda home: data.load_lfw_pairs(data_home=home, download=True), "LFW"),
    ],
    ids=["olivetti", "lfw"],
)
def test_faces_download_on_a_stalled_network_fails_once_and_fast(
    stalled_network, tmp_path, load, name
):
    before = socket.getdefaulttimeout()
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=rf"{name}.*could not be loaded.*SyntheticFaces"):
        load(str(tmp_path))
    assert time.monotonic() - start < 30  # generous: the point is "not minutes"
    # scikit-learn's fewest attempts (one retry), each with its share of the timeout
    assert stalled_network == [FAST_TIMEOUT / real._ATTEMPTS] * real._ATTEMPTS
    assert socket.getdefaulttimeout() == before  # the process default is restored


def test_mnist_download_on_a_stalled_network_fails_fast(stalled_network, monkeypatch, tmp_path):
    def downloading(root, train, download):  # what torchvision does: urllib, no timeout
        assert download
        with urllib.request.urlopen("http://example.invalid/train-images-idx3-ubyte.gz") as r:
            r.read()

    fake = types.ModuleType("torchvision")
    fake.datasets = types.SimpleNamespace(MNIST=downloading)
    monkeypatch.setitem(sys.modules, "torchvision", fake)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"MNIST could not be loaded.*TransformedDigits"):
        data.load_mnist(root=str(tmp_path), download=True)
    assert time.monotonic() - start < 30
    assert stalled_network == [FAST_TIMEOUT / real._ATTEMPTS]


def test_broken_http_response_gives_the_offline_message(monkeypatch):
    import sklearn.datasets

    def incomplete(**kwargs):
        raise http.client.IncompleteRead(b"partial", 1000)  # not an OSError

    monkeypatch.setattr(sklearn.datasets, "fetch_olivetti_faces", incomplete)
    with pytest.raises(RuntimeError, match="SyntheticFaces"):
        data.load_olivetti_faces(download=True)


def test_no_timeout_change_without_download(monkeypatch):
    import sklearn.datasets

    seen = {}

    def cached_only(**kwargs):
        seen.update(kwargs, timeout=socket.getdefaulttimeout())
        raise OSError("Data not found and `download_if_missing` is False")

    monkeypatch.setattr(sklearn.datasets, "fetch_lfw_pairs", cached_only)
    with pytest.raises(RuntimeError, match="Pass download=True"):
        data.load_lfw_pairs()
    assert seen["timeout"] == socket.getdefaulttimeout() and "n_retries" not in seen

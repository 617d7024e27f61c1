"""`make lab` serves JupyterLab on 127.0.0.1 with lesson 00 reachable.

The test starts the server exactly the way a teacher does (`make lab`), with a known token and
a free port, checks `/lab` and the notebook through the contents API, and stops it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from notebook_utils import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str):
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.read()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_lab_serves_lesson_00(tmp_path):
    port, token = _free_port(), "cl-lessons-test-token"
    env = dict(
        os.environ,
        JUPYTER_TOKEN=token,
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "ws"),
    )
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"PORT={port}", "LAB_ARGS=--no-browser"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                status, _ = _get(f"{base}/api/status", token)
                if status == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if proc.poll() is not None:
                pytest.fail(
                    f"make lab exited early:\n{proc.stdout.read().decode(errors='replace')}"
                )
            if time.monotonic() > deadline:
                pytest.fail("JupyterLab did not answer within 120 s")
            time.sleep(0.5)
        status, page = _get(f"{base}/lab", token)
        assert status == 200 and b"JupyterLab" in page
        status, body = _get(f"{base}/api/contents/notebooks/00_welcome.ipynb", token)
        model = json.loads(body)
        assert status == 200 and model["type"] == "notebook"
        assert model["content"]["metadata"]["kernelspec"]["name"] == "python3"
        with pytest.raises(urllib.error.URLError):  # bound to localhost only
            ip = socket.gethostbyname(socket.gethostname())
            if ip.startswith("127."):
                raise urllib.error.URLError("hostname resolves to loopback; nothing else to try")
            urllib.request.urlopen(f"http://{ip}:{port}/api/status", timeout=3)
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    for sig, wait in [(signal.SIGTERM, 20), (signal.SIGKILL, 10)]:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue

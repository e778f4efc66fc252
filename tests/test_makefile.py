"""The README's two commands: `make lab` serves JupyterLab; the install is not repeated."""

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

from tools.browser import free_port
from utils import setup


def test_install_is_up_to_date():
    # `make --question` exits 0 only when the target needs no work: a second run installs nothing.
    result = subprocess.run(["make", "--question", "venv"], cwd=setup.ROOT, capture_output=True)
    assert result.returncode == 0, "make would reinstall the requirements"


def test_make_lab_answers_http(tmp_path):
    port, token = free_port(), "course-test-token"
    args = (
        f"--no-browser --port={port} --ServerApp.ip=127.0.0.1 --IdentityProvider.token={token} "
        f"--ServerApp.runtime_dir={tmp_path}"
    )
    server = subprocess.Popen(
        ["make", "lab", f"LAB_ARGS={args}"],
        cwd=setup.ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, so the whole server stops below
    )
    try:
        deadline, body = time.monotonic() + 120, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/lab?token={token}"
                with urllib.request.urlopen(url, timeout=5) as response:
                    assert response.status == 200
                    body = response.read().decode()
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(1)
        assert body is not None, "JupyterLab did not answer within 120 s"
        assert "JupyterLab" in body
        url = f"http://127.0.0.1:{port}/api/contents/00_start_here.ipynb?token={token}"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200  # served from notebooks/, the start notebook open
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)

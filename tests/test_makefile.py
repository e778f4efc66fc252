"""The README's two commands (`make lab` serves JupyterLab; the install is not repeated), and the
build around them: `make help`, `make unit`, `make test`'s empty cache, CI's steps."""

import os
import re
import shutil
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


# --- the build: `make help`, `make unit`, `make test`'s cache, CI's steps ----------------------


def make(*arguments):
    # --no-print-directory: run under `make test`, a nested make would add "Entering directory"
    result = subprocess.run(
        ["make", "--no-print-directory", *arguments],
        cwd=setup.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def declared_targets():
    """The targets the Makefile declares by name (not files such as $(STAMP), not variables)."""
    text = (setup.ROOT / "Makefile").read_text(encoding="utf-8")
    return re.findall(r"(?m)^([a-z][a-z-]*):(?!=)", text)


def test_make_help_lists_every_target_with_one_line():
    targets = declared_targets()
    assert {"help", "unit", "test", "lab", "rerun-verdicts", "ci-steps"} <= set(targets)
    described = {}
    for line in make("-s", "help").splitlines():
        match = re.match(r"\s*make (\S+)\s+(\S.*)$", line)
        assert match, f"not a target and its description: {line!r}"
        described[match.group(1)] = match.group(2)
    assert sorted(described) == sorted(targets)
    phony = re.search(r"(?ms)^\.PHONY:(.*?)(?<!\\)$", (setup.ROOT / "Makefile").read_text())
    assert sorted(phony.group(1).replace("\\", " ").split()) == sorted(targets)


def test_make_unit_leaves_out_training_notebooks_classroom_and_browser():
    command = make("-n", "unit").strip().splitlines()[-1]
    assert '-m "not training and not classroom and not browser"' in command
    assert command.endswith(" tests")  # tests/ only: no notebook under nbval
    assert "training:" in (setup.ROOT / "pyproject.toml").read_text()  # a declared marker


def test_make_test_and_unit_train_in_an_empty_temporary_cache():
    for target in ("test", "unit"):
        command = make("-n", target).strip().splitlines()[-1]
        assert "cache=$(mktemp -d)" in command and "COURSE_CACHE=$cache" in command, target
        assert "-m pytest" in command


def test_ci_runs_the_readme_test_command_first_then_the_makefile_steps(tmp_path):
    steps = make("-s", "ci-steps").split()
    assert steps[0] == "test"
    assert {"onednn-on", "onednn-off", "colab", "classroom", "browser"} <= set(steps)
    assert "make test" in (setup.ROOT / "README.md").read_text(encoding="utf-8")
    # .ci/run with stand-ins for make, apt-get, Chromium and bubblewrap: what it calls, in order.
    log, bin_dir = tmp_path / "calls", tmp_path / "bin"
    bin_dir.mkdir()
    real_make = shutil.which("make")
    stand_ins = {
        "make": f'[ "$*" = "-s ci-steps" ] && exec {real_make} "$@"\necho "make $*" >> {log}',
        "apt-get": f'echo "apt-get $*" >> {log}',
    }
    for name in ("dirname", "env", "id"):
        (bin_dir / name).symlink_to(shutil.which(name))
    for chromium_found in (False, True):
        if chromium_found:
            stand_ins |= {"chromium": "", "chromedriver": "", "bwrap": ""}
        for name, body in stand_ins.items():
            (bin_dir / name).write_text(f"#!/bin/bash\n{body}\n")
            (bin_dir / name).chmod(0o755)
        log.write_text("")
        subprocess.run(
            ["/bin/bash", str(setup.ROOT / ".ci/run")],
            env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
            check=True,
            capture_output=True,
            timeout=120,
        )
        calls = log.read_text().splitlines()
        makes = [call for call in calls if call.startswith("make ")]
        assert makes == [f"make {step}" for step in steps]
        installs = [i for i, call in enumerate(calls) if "apt-get install" in call]
        if chromium_found:
            assert not installs
        else:  # installed before any step: a missing package fails at once
            assert installs and installs[0] < calls.index("make test")
            assert "bubblewrap" in calls[installs[0]] and "chromium" in calls[installs[0]]

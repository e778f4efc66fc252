"""Tests of utils/setup.py: the profiles notebooks read through it, Colab installs, the start line
(the settings themselves: tests/test_config.py)."""

import subprocess
import sys

import pytest

from utils import config, setup


def test_notebook_00_reads_the_profiles_through_setup():
    # What notebook 00 shows; that every name the notebooks use exists: tests/test_package.py.
    assert setup.get_profile("cpu") == setup.PROFILES["cpu"] == config.get_profile("cpu")
    assert setup.get_profile("ci").name == "ci"


def test_install_missing_installs_only_absent_packages(monkeypatch):
    calls = []
    monkeypatch.setattr(setup.subprocess, "run", lambda args, check: calls.append(args))
    monkeypatch.setattr(setup, "requirements", lambda: {"numpy": "2.4.6", "no-such-pkg-xyz": "1.0"})
    assert setup.install_missing(skip=set()) == ["no-such-pkg-xyz==1.0"]
    assert calls and calls[0][-1] == "no-such-pkg-xyz==1.0"


def test_install_missing_never_touches_tensorflow(monkeypatch):
    def not_installed(name):
        raise setup.importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(setup.subprocess, "run", lambda *a, **k: pytest.fail("pip was called"))
    monkeypatch.setattr(setup, "requirements", lambda: {"tensorflow": "0.0.0", "keras": "0.0.0"})
    monkeypatch.setattr(setup.importlib.metadata, "version", not_installed)
    assert setup.install_missing() == []


def _start_in_fresh_process(profile_env: str) -> subprocess.CompletedProcess:
    code = (
        "from utils import setup\n"
        "p = setup.start()\n"
        "import numpy as np, tensorflow as tf\n"
        "print('numpy', np.random.rand(), 'tf', float(tf.random.uniform(())))\n"
        "print('threads', tf.config.threading.get_intra_op_parallelism_threads())\n"
        "print('gpus', len(tf.config.list_physical_devices('GPU')))\n"
    )
    env = {**__import__("os").environ, "COURSE_PROFILE": profile_env}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=setup.ROOT
    )


def test_start_prints_one_line_and_is_reproducible():
    first, second = _start_in_fresh_process("ci"), _start_in_fresh_process("ci")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].startswith("Course ready | profile ci")
    pins = setup.requirements()  # this environment's pins: the learner's or Colab's
    versions = [f"TensorFlow {pins['tensorflow']}", f"Keras {pins['keras']}"]
    for word in (*versions, f"NumPy {pins['numpy']}", "seed 42"):
        assert word in lines[0]
    assert first.stdout == second.stdout  # same seeds: same random numbers
    threads, gpus = int(lines[2].split()[1]), int(lines[3].split()[1])
    assert threads >= 1
    if gpus:  # the device named is the GPU, on a GPU host
        assert "| device CPU" not in lines[0]
    else:
        assert f"| device CPU ({threads} threads) |" in lines[0]


def test_start_rejects_unknown_profile():
    result = _start_in_fresh_process("huge")
    assert result.returncode != 0
    assert "ValueError: COURSE_PROFILE must be one of" in result.stderr

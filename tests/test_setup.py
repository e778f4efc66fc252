"""Tests of utils/setup.py: profiles, pins, cache, Colab installs, the start line."""

import subprocess
import sys

import pytest

from utils import setup


def test_profile_defaults_follow_the_device(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    assert setup.profile_name(gpu_available=False) == "cpu"
    assert setup.profile_name(gpu_available=True) == "gpu"


@pytest.mark.parametrize("value", ["ci", "cpu", "gpu", " CPU ", "Gpu"])
def test_profile_from_environment(monkeypatch, value):
    monkeypatch.setenv("COURSE_PROFILE", value)
    assert setup.get_profile().name == value.strip().lower()


def test_explicit_profile_wins_over_environment(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "gpu")
    assert setup.profile_name("ci") == "ci"


def test_unknown_profile_lists_the_valid_ones(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "laptop")
    with pytest.raises(
        ValueError, match=r"COURSE_PROFILE must be one of 'ci', 'cpu', 'gpu'.*'laptop'"
    ):
        setup.get_profile()


def test_profiles_grow_from_ci_to_gpu():
    ci, cpu, gpu = (setup.PROFILES[name] for name in ("ci", "cpu", "gpu"))
    for field in ("image_size", "num_train", "num_epochs", "width"):
        assert getattr(ci, field) <= getattr(cpu, field) <= getattr(gpu, field), field
    assert gpu.image_size == 128 and gpu.width == 1.0  # the seed's sizes


def test_comparison_epochs_halve_the_budget_but_never_reach_zero():
    assert [setup.PROFILES[name].comparison_epochs for name in ("ci", "cpu", "gpu")] == [1, 5, 20]


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "cache"))
    path = setup.cache_dir("models")
    assert path == tmp_path / "cache" / "models" and path.is_dir()


def test_requirements_are_exact_pins():
    pins = setup.requirements(setup.ROOT / "requirements.txt")
    assert pins["tensorflow"].startswith("2.21.") and pins["keras"].startswith("3.")
    assert {"numpy", "matplotlib", "jupyterlab", "nbval", "pytest", "hypothesis", "ruff"} <= set(
        pins
    )


def test_colab_pins_are_a_full_set_at_colabs_versions():
    learner = setup.requirements(setup.ROOT / "requirements.txt")
    colab = setup.requirements(setup.ROOT / "requirements-colab.txt")
    assert set(colab) == set(learner)  # its own pin for every package, nothing inherited
    assert colab["tensorflow"].startswith("2.20.") and colab["keras"].startswith("3.13.")
    assert colab["numpy"].startswith("2.1.")


def test_requirements_follow_the_environment(monkeypatch):
    monkeypatch.setenv("COURSE_REQUIREMENTS", "requirements-colab.txt")
    assert setup.requirements_path() == setup.ROOT / "requirements-colab.txt"
    assert setup.requirements()["tensorflow"].startswith("2.20.")
    monkeypatch.delenv("COURSE_REQUIREMENTS")
    assert setup.requirements()["tensorflow"].startswith("2.21.")


def test_requirements_reject_loose_pins(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("numpy>=2\n")
    with pytest.raises(ValueError, match="expected 'name==version'"):
        setup.requirements(path)


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

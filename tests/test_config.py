"""Tests of utils/config.py: profiles, pins, cache, and that it stays a ground-floor module."""

import dataclasses
import subprocess
import sys

import pytest

from utils import config


def test_profile_defaults_follow_the_device(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    assert config.profile_name(gpu_available=False) == "cpu"
    assert config.profile_name(gpu_available=True) == "gpu"


@pytest.mark.parametrize("value", ["ci", "cpu", "gpu", " CPU ", "Gpu"])
def test_profile_from_environment(monkeypatch, value):
    monkeypatch.setenv("COURSE_PROFILE", value)
    assert config.get_profile().name == value.strip().lower()


def test_explicit_profile_wins_over_environment(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "gpu")
    assert config.profile_name("ci") == "ci"


def test_unknown_profile_lists_the_valid_ones(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "laptop")
    with pytest.raises(
        ValueError, match=r"COURSE_PROFILE must be one of 'ci', 'cpu', 'gpu'.*'laptop'"
    ):
        config.get_profile()


def test_profiles_grow_from_ci_to_gpu():
    ci, cpu, gpu = (config.PROFILES[name] for name in ("ci", "cpu", "gpu"))
    for field in ("image_size", "num_train", "num_epochs", "width"):
        assert getattr(ci, field) <= getattr(cpu, field) <= getattr(gpu, field), field
    assert gpu.image_size == 128 and gpu.width == 1.0  # the source document's sizes


def test_comparison_setting_is_smaller_and_trains_its_own_epochs():
    for profile in config.PROFILES.values():
        setting = profile.comparison()
        assert setting.image_size == profile.comparison_size <= profile.image_size
        assert setting.num_epochs == profile.comparison_epochs >= 1
        assert setting.image_size % 16 == 0  # the paper's 4 poolings
        assert (setting.name, setting.num_train, setting.num_seeds) == (
            profile.name,
            profile.num_train,
            profile.num_seeds,
        )


def test_comparisons_run_at_least_five_seeds_outside_ci():
    assert [config.PROFILES[name].num_seeds for name in ("ci", "cpu", "gpu")] == [2, 5, 5]
    names = [field.name for field in dataclasses.fields(config.Profile)]
    assert names[-3:] == ["num_seeds", "comparison_size", "comparison_epochs"]


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "cache"))
    path = config.cache_dir("models")
    assert path == tmp_path / "cache" / "models" and path.is_dir()


def test_requirements_are_exact_pins():
    pins = config.requirements(config.ROOT / "requirements.txt")
    assert pins["tensorflow"].startswith("2.21.") and pins["keras"].startswith("3.")
    assert {"numpy", "matplotlib", "jupyterlab", "nbval", "pytest", "hypothesis", "ruff"} <= set(
        pins
    )


def test_colab_pins_are_a_full_set_at_colabs_versions():
    learner = config.requirements(config.ROOT / "requirements.txt")
    colab = config.requirements(config.ROOT / "requirements-colab.txt")
    assert set(colab) == set(learner)  # its own pin for every package, nothing inherited
    assert colab["tensorflow"].startswith("2.20.") and colab["keras"].startswith("3.13.")
    assert colab["numpy"].startswith("2.1.")


def test_requirements_follow_the_environment(monkeypatch):
    monkeypatch.setenv("COURSE_REQUIREMENTS", "requirements-colab.txt")
    assert config.requirements_path() == config.ROOT / "requirements-colab.txt"
    assert config.requirements()["tensorflow"].startswith("2.20.")
    monkeypatch.delenv("COURSE_REQUIREMENTS")
    assert config.requirements()["tensorflow"].startswith("2.21.")


def test_requirements_reject_loose_pins(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("numpy>=2\n")
    with pytest.raises(ValueError, match="expected 'name==version'"):
        config.requirements(path)


def test_root_is_the_repository():
    assert (config.ROOT / "utils" / "config.py").is_file()
    assert (config.ROOT / "notebooks").is_dir()


def test_config_imports_only_the_standard_library():
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import utils.config\n"
        "added = {name.split('.')[0] for name in set(sys.modules) - before}\n"
        "print(sorted(added - set(sys.stdlib_module_names) - {'utils'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=config.ROOT, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_profile_is_given_by_keyword():
    with pytest.raises(TypeError):
        config.Profile("x", "y", 32, 16, 8, 8, 1, 8, 0.125, 2)  # twelve numbers in a row: no
    fields = {field.name for field in dataclasses.fields(config.Profile)}
    assert set(dataclasses.asdict(config.PROFILES["ci"])) == fields

"""requirements.txt (pip), binder/ (Binder) and environment.yml (conda) pin the same versions; the
environment the tests run in has exactly its own pins installed (requirements.txt, or
requirements-colab.txt in the CI run with Colab's versions, chosen by $COURSE_REQUIREMENTS)."""

import importlib.metadata
import re

from utils import setup


def environment_pins() -> dict[str, str]:
    text = (setup.ROOT / "environment.yml").read_text(encoding="utf-8")
    pins = dict(re.findall(r"^\s*-\s+([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.\-]+)\s*$", text, re.M))
    return {name.lower(): version for name, version in pins.items()}


def test_environment_yml_and_requirements_agree():
    assert environment_pins() == setup.requirements(setup.ROOT / "requirements.txt")


def test_binder_takes_the_pip_path_with_the_same_pins_and_python_311():
    binder = setup.ROOT / "binder"
    # repo2docker reads only binder/ when it exists: no environment.yml there (a conda solve).
    assert sorted(path.name for path in binder.iterdir()) == ["requirements.txt", "runtime.txt"]
    assert setup.requirements(binder / "requirements.txt") == setup.requirements(
        setup.ROOT / "requirements.txt"
    )
    assert (binder / "runtime.txt").read_text(encoding="utf-8").strip() == "python-3.11"


def test_environment_yml_names_python_311():
    text = (setup.ROOT / "environment.yml").read_text(encoding="utf-8")
    assert re.search(r"^\s*-\s+python=3\.11\s*$", text, re.M)  # Binder defaults to 3.10 otherwise


def test_installed_versions_match_pins():
    wrong = {
        name: (version, importlib.metadata.version(name))
        for name, version in setup.requirements().items()
        if importlib.metadata.version(name) != version
    }
    assert not wrong, f"installed versions differ from {setup.requirements_path().name}: {wrong}"

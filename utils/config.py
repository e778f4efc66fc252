"""The settings everything reads: repository root, seed, profiles, cache and pin files.

The ground floor of `utils`: it imports only the standard library, so any module (and any test)
can read a setting without starting TensorFlow. `utils.setup` boots a notebook with them.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

__all__ = [
    "DEFAULT_SEED",
    "PROFILES",
    "PROFILE_TABLE",
    "ROOT",
    "Profile",
    "cache_dir",
    "get_profile",
    "profile_name",
    "requirements",
    "requirements_path",
]

#: The repository's root folder (the one holding `utils/`, `notebooks/`, `data/`).
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEED = 42


@dataclasses.dataclass(frozen=True, kw_only=True)
class Profile:
    """Sizes and budgets a notebook reads instead of hard-coding them (given by keyword)."""

    name: str
    description: str
    image_size: int  # side of the square images the models train on
    num_train: int  # training images
    num_val: int  # validation images
    num_test: int  # test images
    num_epochs: int  # training epochs per model
    batch_size: int
    width: float  # filters as a fraction of the source document's (64, 128, 256)
    num_seeds: int  # random seeds a comparison trains each model with (spread, not one run)
    comparison_size: int = 32  # image side of the comparison setting (see `comparison`)
    comparison_epochs: int = 1  # epochs of a compared model: one fixed budget for all of them

    def comparison(self) -> Profile:
        """The comparison setting: this profile with smaller images and `comparison_epochs`.

        A comparison trains every model over several seeds, so it runs where a model is cheap:
        images of side `comparison_size` drawn by the same generators (membranes as thin, as
        many cells per pixel area; nuclei as large; fewer fit in an image), and
        `comparison_epochs`, one fixed budget for every compared model."""
        return dataclasses.replace(
            self, image_size=self.comparison_size, num_epochs=self.comparison_epochs
        )


#: The three profiles side by side, field by field: (ci, cpu, gpu).
PROFILE_TABLE = {
    "description": (
        "tiny: proves every cell runs",
        "a laptop CPU: real results in minutes",
        "the source document's full sizes",
    ),
    "image_size": (32, 64, 128),
    "num_train": (16, 512, 2000),
    "num_val": (8, 64, 200),
    "num_test": (8, 64, 200),
    "num_epochs": (1, 10, 40),
    "batch_size": (8, 16, 32),
    "width": (0.125, 0.25, 1.0),
    "num_seeds": (2, 5, 5),
    "comparison_size": (32, 32, 64),
    "comparison_epochs": (1, 12, 30),
}
PROFILES = {
    name: Profile(name=name, **{field: values[column] for field, values in PROFILE_TABLE.items()})
    for column, name in enumerate(("ci", "cpu", "gpu"))
}


def profile_name(value: str | None = None, gpu_available: bool = False) -> str:
    """The profile to use: `value`, else $COURSE_PROFILE, else 'gpu' with a GPU, else 'cpu'."""
    if value is None:
        value = os.environ.get("COURSE_PROFILE", "")
    value = value.strip().lower()
    if not value:
        return "gpu" if gpu_available else "cpu"
    if value not in PROFILES:
        valid = ", ".join(repr(name) for name in PROFILES)
        raise ValueError(
            f"COURSE_PROFILE must be one of {valid} (or unset to choose automatically), "
            f"got {value!r}"
        )
    return value


def get_profile(value: str | None = None, gpu_available: bool = False) -> Profile:
    """The `Profile` named by `value` / $COURSE_PROFILE (see `profile_name`)."""
    return PROFILES[profile_name(value, gpu_available)]


def cache_dir(*parts: str) -> Path:
    """A folder in the course cache ($COURSE_CACHE, default `.cache/` in the repository)."""
    path = Path(os.environ.get("COURSE_CACHE", ROOT / ".cache")).joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def requirements_path() -> Path:
    """This environment's pin file: $COURSE_REQUIREMENTS (e.g. `requirements-colab.txt`, for
    the CI run with Colab's versions), else the learner's `requirements.txt`."""
    return ROOT / os.environ.get("COURSE_REQUIREMENTS", "requirements.txt")


def requirements(path: Path | None = None) -> dict[str, str]:
    """The pinned requirements as {name: version}, names lower-case (default: this
    environment's pin file, see `requirements_path`)."""
    path = requirements_path() if path is None else path
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.\-]+)", line)
        if not match:
            raise ValueError(f"{path.name}: expected 'name==version', got {line!r}")
        pins[match[1].lower()] = match[2]
    return pins

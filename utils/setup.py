"""The one set-up entry point: `PROFILE = setup.start()` in the first code cell of every notebook.

It fixes seeds and threads, quiets TensorFlow, picks the profile (`COURSE_PROFILE=ci|cpu|gpu`),
and prints one line with versions, profile and device. On Colab it first installs what the
course needs and Colab lacks, never touching Colab's own TensorFlow.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import logging
import os
import platform
import re
import subprocess
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEED = 42


@dataclasses.dataclass(frozen=True)
class Profile:
    """Sizes and budgets a notebook reads instead of hard-coding them."""

    name: str
    description: str
    image_size: int  # side of the square images the models train on
    num_train: int  # training images
    num_val: int  # validation images
    num_test: int  # test images
    num_epochs: int  # training epochs per model
    batch_size: int
    width: float  # filters as a fraction of the source document's (64, 128, 256)

    @property
    def comparison_epochs(self) -> int:
        """Epochs for models trained only to be compared with each other: half the budget, >= 1."""
        return max(1, self.num_epochs // 2)


PROFILES = {
    "ci": Profile("ci", "tiny: proves every cell runs", 32, 16, 8, 8, 1, 8, 0.125),
    "cpu": Profile("cpu", "a laptop CPU: real results in minutes", 64, 512, 64, 64, 10, 16, 0.25),
    "gpu": Profile("gpu", "the source document's full sizes", 128, 2000, 200, 200, 40, 32, 1.0),
}

# Installed on Colab only when missing: what the notebooks import. Colab's own TensorFlow, Keras
# and Jupyter are left alone, and the development tools (tests, lint) are not needed there.
COLAB_SKIP = {
    "tensorflow",
    "keras",
    "jupyterlab",
    "ipykernel",
    "nbformat",
    "nbconvert",
    "nbclient",
    "pytest",
    "hypothesis",
    "nbval",
    "ruff",
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


def install_missing(skip: set[str] = COLAB_SKIP) -> list[str]:
    """pip-install the pinned packages that are not installed at all; return what it installed."""
    missing = []
    for name, version in requirements().items():
        if name in skip:
            continue
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(f"{name}=={version}")
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *missing], check=True)
    return missing


def _quiet_tensorflow() -> None:
    """Silence TensorFlow's logs (set before it is imported). Level 3 also hides the C++ core's
    harmless "error" lines about graph attributes; real failures still raise Python exceptions."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="tensorflow")


@contextlib.contextmanager
def _silence_native_stderr():
    """Mute file descriptor 2 for a moment: TensorFlow's C++ core prints start-up lines
    (CUDA probing, absl) there before any Python log setting can apply."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def _set_threads(tf, num_threads: int) -> None:
    """Fix TensorFlow's thread pools; only possible before its first op runs."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(num_threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(2, num_threads))
    except RuntimeError:
        pass  # set already in this kernel (the cell was rerun): keep the first setting


def _device(tf) -> tuple[str, bool]:
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        threads = tf.config.threading.get_intra_op_parallelism_threads()
        return f"CPU ({threads} threads)", False
    names = [
        tf.config.experimental.get_device_details(gpu).get("device_name", "GPU") for gpu in gpus
    ]
    return ", ".join(names), True


def start(
    profile: str | None = None, seed: int = DEFAULT_SEED, num_threads: int | None = None
) -> Profile:
    """Set up a notebook: Colab installs, quiet logs, threads, seeds, profile; print one line."""
    if "google.colab" in sys.modules:
        install_missing()
    _quiet_tensorflow()
    with _silence_native_stderr():
        import keras
        import numpy as np
        import tensorflow as tf

        tf.get_logger().setLevel(logging.ERROR)
        _set_threads(tf, num_threads or os.cpu_count() or 1)
        device, gpu_available = _device(tf)
    chosen = get_profile(profile, gpu_available)
    keras.utils.set_random_seed(seed)  # Python, NumPy and TensorFlow at once
    if not gpu_available:
        tf.config.experimental.enable_op_determinism()  # CPU kernels then repeat bit for bit
    from utils import plotting

    plotting.use_course_style()
    print(
        f"Course ready | profile {chosen.name} ({chosen.description}) | device {device} | "
        f"Python {platform.python_version()}, TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}, NumPy {np.__version__} | seed {seed}"
    )
    return chosen

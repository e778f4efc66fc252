"""The one set-up entry point: `PROFILE = setup.start()` in the first code cell of every notebook.

It fixes seeds and threads, quiets TensorFlow, picks the profile (`COURSE_PROFILE=ci|cpu|gpu`),
and prints one line with versions, profile and device. On Colab it first installs what the
course needs and Colab lacks, never touching Colab's own TensorFlow. The settings it reads live
in `utils.config` and are re-exported here (`setup.PROFILES`, `setup.get_profile`, ...).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import platform
import subprocess
import sys
import warnings

from utils.config import (  # noqa: F401  (re-exported: notebooks read them as setup.<name>)
    DEFAULT_SEED,
    PROFILES,
    ROOT,
    Profile,
    cache_dir,
    get_profile,
    profile_name,
    requirements,
    requirements_path,
)

__all__ = [
    "COLAB_SKIP",
    "install_missing",
    "start",
]

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
    """The device TensorFlow computes on, in words, and whether it is a GPU."""
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

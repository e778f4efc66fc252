"""pytest configuration shared by the unit tests and nbval."""

import os

# Notebooks and tests run in the tiny profile unless told otherwise (the kernel inherits this).
os.environ.setdefault("COURSE_PROFILE", "ci")


def pytest_collectstart(collector):
    """TensorFlow's C++ start-up lines reach stderr in JupyterLab but not under nbval: ignore."""
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)

"""Wall-clock timing helpers shared by the benchmarks and the notebooks.

Every helper reports the best (smallest) of several runs: the run least disturbed by whatever
else the machine was doing, so repeated measurements agree best.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

__all__ = [
    "alternating_best_times",
    "best_time",
    "seconds_per_image",
]

if TYPE_CHECKING:
    import keras


def best_time(function: Callable[[], object], repeats: int = 5) -> float:
    """Best wall-clock time of `repeats` calls, in seconds (best of: least disturbed by noise)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def alternating_best_times(functions: dict[str, Callable[[], object]], repeats: int = 7):
    """Best time of each function, calling them in turn so that machine noise hits all alike."""
    for function in functions.values():
        function()  # warm-up: first calls pay for allocation and tracing
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}


def seconds_per_image(model: keras.Model, images, repeats: int = 5) -> float:
    """Inference time per image: the fastest of `repeats` forward passes over `images` as one
    batch (eager call, no `predict` overhead), after one warm-up pass."""
    import keras  # only needed here: keeps `import utils.timing` light
    import numpy as np

    images = keras.ops.convert_to_tensor(np.asarray(images, np.float32))

    def forward():
        """One pass over the batch, waiting until its results are in host memory."""
        keras.tree.map_structure(np.asarray, model(images, training=False))

    forward()  # warm-up
    return best_time(forward, repeats) / len(images)

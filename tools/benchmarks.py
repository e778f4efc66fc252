"""The course's benchmarks: `make bench` runs every registered one and prints one table.

Each benchmark is a function returning rows of (what, value, unit). Register with `@benchmark`.
Every benchmark takes `tiny=False`; `tiny=True` runs the same code once on tiny inputs, so the
tests prove each body runs without timing anything. Timings belong here, never in tests.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable, Iterable

from utils.timing import alternating_best_times, best_time, seconds_per_image

Row = tuple[str, float, str]
BENCHMARKS: dict[str, Callable[[], Iterable[Row]]] = {}


def benchmark(function: Callable[[], Iterable[Row]]) -> Callable[[], Iterable[Row]]:
    """Register `function` as a benchmark named after it."""
    BENCHMARKS[function.__name__] = function
    return function


@benchmark
def conv2d_vs_keras(tiny: bool = False) -> Iterable[Row]:
    """utils.ops.conv2d vs keras.layers.Conv2D on (4, 128, 128, 64), 3x3, 64 filters, same."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np

    from utils import ops

    batch, side, channels = (1, 8, 4) if tiny else (4, 128, 64)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, side, side, channels)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, channels, channels)).astype(np.float32)
    layer = keras.layers.Conv2D(channels, 3, padding="same", use_bias=False)
    layer.build(x.shape)
    layer.set_weights([kernel])
    best = alternating_best_times(
        {
            "numpy": lambda: ops.conv2d(x, kernel, padding="same"),
            "keras": lambda: np.asarray(layer(x)),
        },
        repeats=1 if tiny else 7,
    )
    # The literal loops are too slow for that size: time a small case, extrapolate per MAC.
    small_side, small_channels = min(16, side), min(8, channels)
    small_x = x[:1, :small_side, :small_side, :small_channels]
    small_kernel = kernel[:, :, :small_channels, :small_channels]
    loops = best_time(lambda: ops.conv2d_loops(small_x, small_kernel, padding="same"), repeats=1)
    macs_small = small_side**2 * 9 * small_channels**2
    macs_big = batch * side**2 * 9 * channels**2
    return [
        (f"utils.ops.conv2d, {x.shape} 3x3 -> {channels}", best["numpy"] * 1e3, "ms"),
        ("keras Conv2D, same input", best["keras"] * 1e3, "ms"),
        ("ratio numpy / keras (target <= 2)", best["numpy"] / best["keras"], "x"),
        (f"literal loops, {small_x.shape} 3x3 -> {small_channels}", loops, "s"),
        ("literal loops extrapolated to the size above", loops * macs_big / macs_small, "s"),
    ]


@benchmark
def embedded_datasets(tiny: bool = False) -> Iterable[Row]:
    """Time to generate 1,000 images of 128x128 of each embedded dataset (target: under 10 s)."""
    from utils import data

    count, side = (2, 32) if tiny else (1000, 128)
    rows = []
    for name, make in (("nuclei", data.make_nuclei), ("membranes", data.make_membranes)):
        seconds = best_time(lambda make=make: make(count, side, seed=0), repeats=1)
        rows.append((f"make_{name}({count}, {side})", seconds, "s"))
    return rows


@benchmark
def unet_cpu_profile(tiny: bool = False) -> Iterable[Row]:
    """The source document's UNet and the cpu profile's (width 0.25) at the cpu profile's image
    size: training time per epoch (timed steps, times steps per epoch) and inference per image."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np

    from utils import metrics, models
    from utils.config import PROFILES

    profile = PROFILES["ci" if tiny else "cpu"]
    repeats = 1 if tiny else 3
    shape = (profile.image_size, profile.image_size, 1)
    images, masks = (
        np.random.default_rng(0).random((profile.batch_size, *shape), np.float32),
        np.zeros((profile.batch_size, *shape), np.float32),
    )
    rows = []
    for label, width in (
        ("source's filters (64,128,256)", profile.width if tiny else 1.0),
        (f"{profile.name} profile (width {profile.width})", profile.width),
    ):
        model = models.build_unet(shape, models.scaled_filters(models.SOURCE_FILTERS, width))
        model.compile(keras.optimizers.Adam(1e-3), metrics.bce_dice_loss)
        model.train_on_batch(images, masks)  # warm-up: tracing
        step = best_time(lambda model=model: model.train_on_batch(images, masks), repeats)
        steps_per_epoch = -(-profile.num_train // profile.batch_size)
        model.predict(images, verbose=0)
        infer = best_time(lambda model=model: model.predict(images, verbose=0), repeats)
        side = profile.image_size
        rows += [
            (f"{label}: train epoch ({steps_per_epoch} steps)", step * steps_per_epoch, "s"),
            (f"{label}: inference per {side}x{side} image", infer / len(images) * 1e3, "ms"),
        ]
    return rows


@benchmark
def unetpp_vae_cpu(tiny: bool = False) -> Iterable[Row]:
    """UNet++ (cpu profile, deep supervision) training time per epoch and inference per image for
    each pruned level; the cpu profile's VAE: training epoch and time to generate one image."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np

    from utils import metrics, models
    from utils.config import PROFILES

    profile = PROFILES["ci" if tiny else "cpu"]
    repeats = 1 if tiny else 3
    shape = (profile.image_size, profile.image_size, 1)
    images = np.random.default_rng(0).random((profile.batch_size, *shape), np.float32)
    masks = np.zeros_like(images)
    steps_per_epoch = -(-profile.num_train // profile.batch_size)
    filters = models.scaled_filters(models.UNET_PLUS_PLUS_FILTERS, profile.width)
    model = models.build_unet_plus_plus(shape, filters)
    model.compile(keras.optimizers.Adam(1e-3), [metrics.unet_plus_plus_loss] * 4)
    targets = (masks,) * 4
    model.train_on_batch(images, targets)  # warm-up: tracing
    step = best_time(lambda: model.train_on_batch(images, targets), repeats)
    rows = [
        (f"UNet++ {filters}: train epoch ({steps_per_epoch} steps)", step * steps_per_epoch, "s")
    ]
    for level in (1, 2, 3, 4):
        pruned = models.prune_unet_plus_plus(model, level)
        per_image = seconds_per_image(pruned, images, repeats=repeats)
        rows.append((f"UNet++ pruned to L{level}: inference per image", per_image * 1e3, "ms"))
    vae = models.build_vae(shape, filters=models.scaled_filters(models.VAE_FILTERS, profile.width))
    vae.compile(keras.optimizers.Adam(1e-3))
    vae.train_on_batch(images, images)
    step = best_time(lambda: vae.train_on_batch(images, images), repeats)
    codes = np.random.default_rng(0).standard_normal((profile.batch_size, 16)).astype(np.float32)
    generate = best_time(lambda: np.asarray(vae.decoder(codes)), repeats)
    rows += [
        (f"VAE (latent 16): train epoch ({steps_per_epoch} steps)", step * steps_per_epoch, "s"),
        ("VAE: generate one image (decode a code)", generate / len(codes) * 1e3, "ms"),
    ]
    return rows


@benchmark
def training_settings(tiny: bool = False) -> Iterable[Row]:
    """What a training epoch costs through `training.fit` (augmentation, validation, best
    weights), for the membrane UNet at the cpu profile's full size and in its comparison setting,
    and for UNet++ in the comparison setting: the median epoch after the first (which traces and,
    with XLA, compiles) and the whole run; XLA (off by default on a CPU) for comparison."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import dataclasses

    import numpy as np

    from utils import data, models, training
    from utils.config import PROFILES

    profile = PROFILES["ci" if tiny else "cpu"]
    num_epochs = 1 if tiny else 4
    rows = []
    comparison = profile.comparison()
    cases = (
        ("UNet, full size", profile, models.build_unet, True, None),
        ("UNet, full size, no augmentation", profile, models.build_unet, False, None),
        ("UNet, full size, XLA", profile, models.build_unet, True, True),
        ("UNet, comparison setting", comparison, models.build_unet, True, None),
        ("UNet++, comparison setting", comparison, models.build_unet_plus_plus, True, None),
        ("UNet++, comparison setting, XLA", comparison, models.build_unet_plus_plus, True, True),
    )
    for label, setting, builder, augment, jit_compile in cases:
        setting = dataclasses.replace(setting, num_epochs=num_epochs)
        train, val, _ = data.load_embedded("membranes", setting)
        filters = models.scaled_filters(models.UNET_PLUS_PLUS_FILTERS, setting.width)
        options = {"upsampling": "transpose"} if builder is models.build_unet else {}
        shape = (setting.image_size, setting.image_size, 1)
        model = training.build(builder, shape, filters, **options)
        history = training.fit(
            model,
            train,
            val,
            setting,
            "bench",
            loss="paper",
            augment=augment,
            use_cache=False,
            verbose=False,
            jit_compile=jit_compile,
        )
        seconds = history["epoch_seconds"]
        total = history["seconds"]
        epoch = float(np.median(seconds[1:] if len(seconds) > 1 else seconds))
        side = setting.image_size
        what = f"{label} ({side}x{side}, {len(train[0])} images)"
        rows += [(f"{what}: epoch", epoch, "s"), (f"{what}: {num_epochs} epochs", total, "s")]
    return rows


@benchmark
def parallel_seeds(tiny: bool = False) -> Iterable[Row]:
    """`experiments.train_seeds` with one worker against two: four seeds of the comparison UNet
    (the ci profile and two seeds when tiny), each from an empty cache of its own; whether the
    two give the same weights (1 = identical, bit for bit)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tempfile
    import time

    import numpy as np

    from utils import experiments
    from utils.config import PROFILES

    profile, seeds = (PROFILES["ci"], [0, 1]) if tiny else (PROFILES["cpu"], [0, 1, 2, 3])
    before = {key: os.environ.get(key) for key in ("COURSE_CACHE", "COURSE_WORKERS")}
    seconds, weights = {}, {}
    try:
        for count in (1, 2):
            with tempfile.TemporaryDirectory() as folder:
                os.environ.update(COURSE_CACHE=folder, COURSE_WORKERS=str(count))
                start = time.perf_counter()
                experiments.train_seeds("small-unet", profile, seeds)
                seconds[count] = time.perf_counter() - start
                model, _ = experiments.train("small-unet", profile, seeds[-1])
                weights[count] = model.get_weights()
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    same = all(np.array_equal(a, b) for a, b in zip(weights[1], weights[2], strict=True))
    what = f"{len(seeds)} seeds of small-unet ({profile.name})"
    return [
        (f"{what}, one at a time", seconds[1], "s"),
        (f"{what}, two worker processes", seconds[2], "s"),
        (f"{what}, two workers / one at a time", seconds[2] / seconds[1], "x"),
        (f"{what}, the same weights", float(same), "1 = yes"),
    ]


def cpu_name() -> str:
    """The processor's model name (Linux), else the architecture."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def _recipe_of(stem: str) -> str:
    """The recipe behind a cached checkpoint's file stem: "small-unet-seed3-<key>-<key>" ->
    "small-unet" (the two hex keys of `training.fit`'s cache, then any seed, removed)."""
    import re

    stem = re.sub(r"(-[0-9a-f]{12}){2}$", "", stem)
    return re.sub(r"-seed\d+$", "", stem)


def recipe_costs_in(folder) -> list[Row]:
    """Training seconds per seed of every recipe cached in `folder` (`training.fit` records them
    in each checkpoint's history): one row per recipe, then the sum over every cached training."""
    import json
    from pathlib import Path

    costs: dict[str, list[tuple[float, int]]] = {}
    for path in sorted(Path(folder).glob("*.json")):
        history = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(history, dict) or "seconds" not in history:
            continue
        epochs = len(history.get("loss", []))
        costs.setdefault(_recipe_of(path.stem), []).append((float(history["seconds"]), epochs))
    rows = [
        (
            f"{recipe}: per seed ({len(runs)} seeds, {runs[0][1]} epochs)",
            sum(seconds for seconds, _ in runs) / len(runs),
            "s",
        )
        for recipe, runs in sorted(costs.items())
    ]
    total = sum(seconds for runs in costs.values() for seconds, _ in runs)
    count = sum(len(runs) for runs in costs.values())
    return [*rows, (f"all {count} cached trainings", total, "s")]


@benchmark
def seed_costs(tiny: bool = False) -> Iterable[Row]:
    """What one seed of each recipe cost to train, read from a model cache's histories: the
    course cache, or $BENCH_CACHE (e.g. the cache of a stored run, before and after a change)."""
    import json
    import tempfile
    from pathlib import Path

    from utils.config import cache_dir

    if tiny:  # two made-up histories of one recipe, in a folder of their own
        with tempfile.TemporaryDirectory() as folder:
            for seed, seconds in ((0, 2.0), (1, 4.0)):
                name = "small-unet" + (f"-seed{seed}" if seed else "") + "-" + "ab12" * 3
                history = {"loss": [1.0, 0.5], "seconds": seconds}
                (Path(folder) / f"{name}-{'cd34' * 3}.json").write_text(json.dumps(history))
            return recipe_costs_in(folder)
    folder = os.environ.get("BENCH_CACHE")
    return recipe_costs_in(Path(folder) / "models" if folder else cache_dir("models"))


@benchmark
def notebook_runs(tiny: bool = False) -> Iterable[Row]:
    """Each notebook's wall time and its kernel's peak memory, as `make notebooks` recorded them in
    benchmarks/notebook_runs.json (read, not re-run: re-executing the course takes half an hour)."""
    import json
    import tempfile
    from pathlib import Path

    from tools.notebook_runs import RECORD, read

    if tiny:  # a made-up record, in a folder of its own
        with tempfile.TemporaryDirectory() as folder:
            record = Path(folder) / "runs.json"
            entry = {"seconds": 7.0, "peak_memory_gb": 0.8, "cores": 2, "profile": "cpu"}
            record.write_text(json.dumps({"00_start_here": entry}))
            runs = read(record)
    else:
        runs = read(RECORD)
    rows = []
    for stem, entry in sorted(runs.items()):
        where = f"{entry['profile']}, {entry['cores']} core{'s' if entry['cores'] > 1 else ''}"
        rows.append((f"{stem}: time ({where})", entry["seconds"], "s"))
        rows.append((f"{stem}: peak memory, all its processes", entry["peak_memory_gb"], "GB"))
        if "largest_process_gb" in entry:
            rows.append(
                (f"{stem}: peak memory, largest process", entry["largest_process_gb"], "GB")
            )
    return rows


def main(names: list[str] | None = None) -> int:
    """Run every benchmark (or those in `names`) and print a table."""
    print(f"Machine: {cpu_name()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}")
    if not BENCHMARKS:
        print("No benchmarks registered yet.")
        return 0
    unknown = sorted(set(names or []) - set(BENCHMARKS))
    if unknown:
        raise ValueError(f"names must be among {sorted(BENCHMARKS)}, got {unknown}")
    print(f"{'benchmark':<18} {'measurement':<64} {'value':>12}  unit")
    for name, function in BENCHMARKS.items():
        if names and name not in names:
            continue
        for what, value, unit in function():
            print(f"{name:<18} {what:<64} {value:>12.4g}  {unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

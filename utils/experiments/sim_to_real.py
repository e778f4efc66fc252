"""From synthetic to real (appendix 04a): the shipped DSB 2018 field, split into a fine-tune block
and a test block, the synthetic nuclei UNet fine-tuned on it over seeds."""

from __future__ import annotations

import keras
import numpy as np

from utils import data, metrics, models, training
from utils.checks import (
    check_bool,
    check_choice,
    check_finite,
    check_int,
    check_profile,
    check_seed,
)
from utils.experiments.recipes import _check_seeds, checkpoint_name, recipe, train
from utils.experiments.seeds import SeedRuns

__all__ = [
    "REAL_BATCH_SIZE",
    "REAL_BLOCKS",
    "REAL_EPOCHS",
    "REAL_HELD_OUT",
    "REAL_LABELS",
    "REAL_LEARNING_RATE",
    "REAL_STARTS",
    "block_tiles",
    "predict_blocks",
    "real_blocks",
    "real_field_scaled_fine_tune",
    "real_parts",
    "real_runs",
    "real_scale",
    "real_scores",
    "real_threshold",
    "real_window_side",
    "real_windows",
    "train_on_real",
]

#: The fixed split of the shipped field (`data.real_field_scaled_whole`), stated in appendix 04a:
#: the left half of its columns is the fine-tune block, the right half the test block. Contiguous
#: blocks, not interleaved tiles: neighbouring tiles share nuclei, background and focus. Every
#: choice (scale, brightness, threshold) is made on the fine-tune block; the test block is only
#: scored.
REAL_BLOCKS = ("fine-tune", "test")
#: How a UNet starts its training on the fine-tune block: from the weights it learnt on the
#: synthetic nuclei (recipe "unet-nuclei", seed 0), or from random weights (the seed's).
REAL_STARTS = ("synthetic", "scratch")
REAL_LABELS = {"synthetic": "fine-tuned", "scratch": "from scratch"}
#: The real training's epochs: at most this many (the `ci` profile: 2 x its own). A short budget
#: on purpose, what the lesson is about (a head start): in the `cpu` profile the training part of
#: the fine-tune block, downscaled x2, gives 45 windows of 64 px, so 5 epochs are 60 steps of 4.
REAL_EPOCHS = 5
REAL_LEARNING_RATE = 1e-3

#: The fraction of the fine-tune block's rows, at its bottom, held out of training: a model trained
#: on the real field keeps its best epoch and chooses its threshold there, on windows it has not
#: trained on (`real_parts`). The test block still chooses nothing.
REAL_HELD_OUT = 0.25
REAL_BATCH_SIZE = 4


def real_field_scaled_fine_tune() -> tuple[np.ndarray, np.ndarray]:
    """The shipped field scaled to [0, 1] by the percentiles of its fine-tune block only
    (`data.normalise`), not of the whole field as `data.real_field_scaled_whole` does: the test
    block sets nothing."""
    image, labels = data.real_field_scaled_whole(scaled=False)
    return data.normalise(image, reference=image[:, : image.shape[1] // 2]), labels


def real_scale(profile) -> dict[str, float]:
    """How the field is brought to the synthetic training images, measured on the fine-tune
    block only: the downscaling `factor` that gives its nuclei the median area of the training
    nuclei (`profile.image_size`), and the `gain` that then gives them their median brightness;
    with the statistics it compares (areas in pixels, intensities in [0, 1])."""
    check_profile(profile)
    image, labels = real_field_scaled_fine_tune()
    half = image.shape[1] // 2
    real = metrics.instance_statistics(image[:, :half], labels[:, :half])
    images, _, synthetic_labels = data.make_nuclei_with_labels(64, profile.image_size)
    synthetic = metrics.instance_statistics(images, synthetic_labels)
    factor = max(1, round(np.sqrt(real["median_area"] / synthetic["median_area"])))
    small, small_labels = data.downscale(image[:, :half], labels[:, :half], factor)
    brightness = metrics.instance_statistics(small, small_labels)["object_intensity"]
    return {
        "factor": factor,
        "gain": synthetic["object_intensity"] / brightness,
        "real_area": real["median_area"],
        "synthetic_area": synthetic["median_area"],
        "real_intensity": brightness,
        "synthetic_intensity": synthetic["object_intensity"],
    }


def real_blocks(profile, gain: bool = True) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The field at the scale of `real_scale` (intensities times its gain, clipped to [0, 1],
    unless `gain=False`), cropped to a square of a multiple of 8 px and split into its blocks:
    {"fine-tune": (image, labels), "test": (image, labels)}, each (H, W) with W = H / 2."""
    check_bool(gain, "gain")
    scale = real_scale(profile)
    image, labels = data.downscale(*real_field_scaled_fine_tune(), scale["factor"])
    if gain:
        image = np.clip(image * scale["gain"], 0, 1).astype(np.float32)
    side = min(image.shape) // 8 * 8
    half = side // 2
    return {
        "fine-tune": (image[:side, :half], labels[:side, :half]),
        "test": (image[:side, half:side], labels[:side, half:side]),
    }


def block_tiles(block) -> np.ndarray:
    """A block (H, W) cut into tiles of side W / 2, row by row, as (N, W/2, W/2, 1): the tiles
    that per-tile scores are reported on (8 per block)."""
    block = check_finite(block, "block")
    if block.ndim != 2 or block.shape[1] < 2 or block.shape[0] < block.shape[1] // 2:
        raise ValueError(f"block must be (H, W) with W >= 2 and H >= W / 2, got {block.shape}")
    side = block.shape[1] // 2
    return data.windows(block, side, side)


def predict_blocks(model, blocks) -> dict[str, np.ndarray]:
    """The probability map (H, W) of each block, each predicted whole and alone: the test
    block's prediction sees nothing of the fine-tune block."""
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a Keras model, got {type(model).__name__}")
    if not isinstance(blocks, dict) or not blocks:
        raise ValueError(f"blocks must be a dict of name -> (image, labels), got {blocks!r}")
    for name, block in blocks.items():
        if not isinstance(block, (tuple, list)) or len(block) != 2 or np.ndim(block[0]) != 2:
            raise ValueError(f"blocks[{name!r}] must be (image, labels), the image (H, W)")
        check_finite(block[0], f"blocks[{name!r}] image")
    maps = {}
    for name, (image, _) in blocks.items():
        whole = models.with_input_shape(model, (*image.shape, 1))
        maps[name] = training.predict(whole, image[None, ..., None])[0, ..., 0]
    return maps


def _check_block(probabilities, labels) -> np.ndarray:
    """A block's probability map and its labels, of one shape, finite; returns the truth mask."""
    probabilities = check_finite(probabilities, "probabilities")
    labels = check_finite(labels, "labels")
    if probabilities.shape != labels.shape:
        raise ValueError(
            f"probabilities and labels must have the same shape, got {probabilities.shape} and "
            f"{labels.shape}"
        )
    return (labels > 0).astype(np.float32)


def real_threshold(probabilities, labels) -> float:
    """The threshold (of `metrics.THRESHOLDS`) with the best Dice on a block: the fine-tune one, or
    its held-out part for a model trained on the rest of it."""
    truth = _check_block(probabilities, labels)
    scores = [metrics.dice(truth, probabilities, t) for t in metrics.THRESHOLDS]
    return float(metrics.THRESHOLDS[int(np.argmax(scores))])


def real_scores(probabilities, labels, threshold: float = 0.5) -> dict[str, float]:
    """A block's Dice, IoU and HD95, the block scored as one image (pooled)."""
    truth = _check_block(probabilities, labels)
    return {
        "dice": metrics.dice(truth, probabilities, threshold),
        "iou": metrics.iou(truth, probabilities, threshold),
        "hd95": metrics.hd95(truth, probabilities, threshold),
    }


def real_parts(profile) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The fine-tune block in two: {"train": its top rows, "held-out": its bottom `REAL_HELD_OUT`
    of the rows (a multiple of the profile's image side)}, each (image, labels)."""
    check_profile(profile)
    image, labels = real_blocks(profile)["fine-tune"]
    size = real_window_side(profile)
    held = max(size, round(image.shape[0] * REAL_HELD_OUT / size) * size)
    if held >= image.shape[0]:
        raise ValueError(
            f"profile's image side ({size} px) leaves no training rows in a fine-tune block of "
            f"{image.shape[0]} rows"
        )
    cut = image.shape[0] - held
    return {"train": (image[:cut], labels[:cut]), "held-out": (image[cut:], labels[cut:])}


def real_window_side(profile) -> int:
    """The side of the windows a model trains on in the real field: the profile's image side, at
    most half the fine-tune block's width (so that its parts hold windows side by side)."""
    check_profile(profile)
    return min(profile.image_size, real_blocks(profile)["fine-tune"][0].shape[1] // 2)


def real_windows(profile, part: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """A part of the fine-tune block (`real_parts`: "train" or "held-out") as (images, masks):
    every window of side `real_window_side` whose corner lies on a grid of a quarter of it."""
    check_profile(profile)
    check_choice(part, "part", ("train", "held-out"))
    image, labels = real_parts(profile)[part]
    size = real_window_side(profile)
    stride = max(1, size // 4)
    masks = data.windows(labels > 0, size, stride).astype(np.float32)
    return data.windows(image, size, stride), masks


def _check_epochs(num_epochs) -> None:
    """`num_epochs`: None (the default) or an int >= 1."""
    if num_epochs is not None:
        check_int(num_epochs, "num_epochs", minimum=1)


def train_on_real(
    profile,
    start: str = "synthetic",
    seed: int = 0,
    num_epochs: int | None = None,
    verbose: bool = False,
):
    """Train the nuclei UNet on the windows of the fine-tune block's training part, keeping the
    best epoch on its held-out part (`real_windows`; the test block chooses nothing), starting
    from `start` (`REAL_STARTS`); return (model, history). Both starts train alike: Adam from
    `REAL_LEARNING_RATE` with a cosine decay, `num_epochs` (default: 2 x the profile's, at most
    `REAL_EPOCHS`)."""
    check_profile(profile)
    check_choice(start, "start", REAL_STARTS)
    seed = check_seed(seed)
    _check_epochs(num_epochs)
    check_bool(verbose, "verbose")
    tiles, held_out = real_windows(profile, "train"), real_windows(profile, "held-out")
    size = real_window_side(profile)
    build_args, _ = recipe("unet-nuclei").arguments(profile)
    model = training.build(models.build_unet, (size, size, 1), seed=seed, **build_args)
    name = f"real-{start}"
    if start == "synthetic":
        model.set_weights(train("unet-nuclei", profile, verbose=False)[0].get_weights())
        name += "-" + training.fingerprint(*model.get_weights())[:6]  # a new start: a new key
    history = training.fit(
        model,
        tiles,
        held_out,
        profile,
        checkpoint_name(name, seed),
        learning_rate=REAL_LEARNING_RATE,
        num_epochs=num_epochs or min(REAL_EPOCHS, 2 * profile.num_epochs),
        batch_size=REAL_BATCH_SIZE,
        seed=seed,
        verbose=verbose,
    )
    return model, history


def real_runs(profile, start: str = "synthetic", seeds=None, num_epochs=None) -> SeedRuns:
    """`train_on_real` once per seed (`num_epochs` as there), each scored on the test block at
    the threshold chosen on the fine-tune block's held-out part (`real_threshold`): Dice, IoU,
    HD95."""
    check_profile(profile)
    check_choice(start, "start", REAL_STARTS)
    seeds = _check_seeds(seeds, profile)
    _check_epochs(num_epochs)
    blocks = {"held-out": real_parts(profile)["held-out"], "test": real_blocks(profile)["test"]}
    scores, histories = [], []
    for seed in seeds:
        model, history = train_on_real(profile, start, seed, num_epochs)
        maps = predict_blocks(model, blocks)
        threshold = real_threshold(maps["held-out"], blocks["held-out"][1])
        scores.append(real_scores(maps["test"], blocks["test"][1], threshold))
        histories.append(history)
    return SeedRuns(REAL_LABELS[start], seeds, scores, histories)


#: The old name (before the course named how each field is scaled).
real_field = real_field_scaled_fine_tune

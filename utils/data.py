"""The course's data: embedded microscopy-like datasets (default, no download), tf.data pipelines
with aligned augmentation, and real public datasets fetched on demand into the cache.

`make_nuclei` imitates fluorescence microscopy of nuclei; `make_membranes` imitates electron
microscopy where the target is the thin cell boundary (the original UNet paper's ISBI 2012 task).
Both are deterministic for a seed; image i depends only on (seed, i), not on how many are made.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
from scipy import interpolate, ndimage

from utils.config import ROOT, cache_dir

REGISTRY_PATH = ROOT / "data" / "registry.json"
EMBEDDED = ("nuclei", "membranes", "crops")
#: Real data that ships with the course (in `data/`, listed in the registry as "shipped").
SHIPPED = ("dsb2018-sample",)
#: What each single-object crop's `factors` column holds (`make_crops(..., return_factors=True)`).
CROP_FACTORS = (
    "radius",
    "elongation",
    "orientation_cos",
    "orientation_sin",
    "brightness",
    "background",
    "blur",
)


# --- shared helpers ------------------------------------------------------------------------------


def _check_sizes(num_images, image_size) -> None:
    if not isinstance(num_images, (int, np.integer)) or num_images < 1:
        raise ValueError(f"num_images must be a positive int, got {num_images!r}")
    if not isinstance(image_size, (int, np.integer)) or image_size < 16:
        raise ValueError(f"image_size must be an int >= 16, got {image_size!r}")


def _smooth_noise(rng, size: int, sigma: float) -> np.ndarray:
    """Smooth random field with features about `sigma` pixels wide, zero mean, unit std.

    Small sigma: Gaussian-filtered white noise. Large sigma: a coarse random grid upsampled
    with cubic splines, which looks the same and costs far less than a wide filter.
    """
    if sigma <= 3:
        field = ndimage.gaussian_filter(
            rng.standard_normal((size, size)), sigma, mode="wrap", truncate=3.0
        )
    else:
        coarse = max(int(np.ceil(size / sigma)), 3) + 1
        knots = np.arange(coarse)
        spline = interpolate.RectBivariateSpline(
            knots, knots, rng.standard_normal((coarse, coarse))
        )
        positions = np.linspace(0, coarse - 1, size)
        field = spline(positions, positions)
    return (field - field.mean()) / (field.std() + 1e-8)


def _shot_noise(rng, image: np.ndarray, photons: float, read_noise: float) -> np.ndarray:
    """Shot noise for `photons` at full brightness (Gaussian approximation of Poisson noise,
    variance = mean, accurate at these photon counts), plus Gaussian read-out noise."""
    signal = np.clip(image, 0, None)
    return signal + np.sqrt(signal / photons + read_noise**2) * rng.standard_normal(image.shape)


def _stack(make_one, num_images: int, image_size: int, seed: int, stream: int, target_dtype):
    """Images and targets (N, H, W, 1) from `make_one(rng, size)`; image i draws from its own
    generator seeded by (seed, i, stream), so it depends only on those, not on how many are made."""
    _check_sizes(num_images, image_size)
    images = np.empty((num_images, image_size, image_size, 1), np.float32)
    targets = np.empty((num_images, image_size, image_size, 1), target_dtype)
    for index in range(num_images):
        rng = np.random.default_rng([seed, index, stream])
        images[index, :, :, 0], targets[index, :, :, 0] = make_one(rng, image_size)
    return images, targets


# --- nuclei --------------------------------------------------------------------------------------


def _nucleus_centres(rng, size: int, count: int, radius: float) -> np.ndarray:
    """Centres, a third of them in touching clusters around others (as nuclei crowd in culture)."""
    centres = rng.uniform(0, size, (count, 2))
    for index in range(1, count):
        if rng.random() < 0.35:
            angle = rng.uniform(0, 2 * np.pi)
            distance = radius * rng.uniform(1.4, 2.0)
            parent = centres[rng.integers(index)]
            centres[index] = parent + distance * np.array([np.cos(angle), np.sin(angle)])
    return centres


def _one_nuclei_image(rng, size: int):
    scale = size / 128
    mean_radius = rng.uniform(6.0, 9.0) * scale
    count = int(rng.integers(10, 26) * scale**2) or 1
    centres = _nucleus_centres(rng, size, count, mean_radius)
    labels = np.zeros((size, size), np.int32)
    signal = np.zeros((size, size))
    texture = _smooth_noise(rng, size, 1.2)
    for label, (cy, cx) in enumerate(centres, start=1):
        radius = mean_radius * rng.uniform(0.6, 1.35)
        a, b = radius * rng.uniform(1.0, 1.3), radius * rng.uniform(0.75, 1.0)
        theta, phases = rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi, 2)
        wobble = rng.uniform(0.0, 0.08, 2)
        extent = int(np.ceil(a * 1.3)) + 1
        y0, y1 = max(int(cy) - extent, 0), min(int(cy) + extent + 1, size)
        x0, x1 = max(int(cx) - extent, 0), min(int(cx) + extent + 1, size)
        if y0 >= y1 or x0 >= x1:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1]
        dy, dx = yy - cy, xx - cx
        u = dx * np.cos(theta) + dy * np.sin(theta)
        v = -dx * np.sin(theta) + dy * np.cos(theta)
        angle = np.arctan2(v, u)
        boundary = (
            1
            + wobble[0] * np.cos(2 * angle + phases[0])
            + wobble[1] * np.cos(3 * angle + phases[1])
        )
        distance = np.sqrt((u / a) ** 2 + (v / b) ** 2) / boundary  # < 1 inside
        inside = distance < 1
        brightness = rng.uniform(0.2, 1.0)
        profile = brightness * (0.8 + 0.2 * (1 - np.clip(distance, 0, 1) ** 2))
        region = (slice(y0, y1), slice(x0, x1))
        labels[region][inside] = label  # later nuclei lie on top where they overlap
        signal[region][inside] = profile[inside]
    if not labels.any():  # every image has foreground
        return _one_nuclei_image(rng, size)
    signal *= 1 + 0.18 * texture  # chromatin texture
    yy, xx = np.mgrid[0:size, 0:size]
    for _ in range(rng.integers(0, 4)):  # out-of-focus nuclei from another plane: not in the mask
        cy, cx, r = rng.uniform(0, size), rng.uniform(0, size), mean_radius * rng.uniform(1.2, 2.0)
        signal += rng.uniform(0.08, 0.2) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r**2))
    debris = rng.random((size, size)) < rng.uniform(0, 4e-4)  # bright specks of dust
    signal[debris] += rng.uniform(0.5, 1.0)
    gradient = (xx / size) * rng.uniform(-0.12, 0.12) + (yy / size) * rng.uniform(-0.06, 0.06)
    background = rng.uniform(0.04, 0.18) + gradient + 0.03 * _smooth_noise(rng, size, size / 6)
    image = ndimage.gaussian_filter(signal, rng.uniform(0.7, 1.6), truncate=3.0) + background
    image = _shot_noise(rng, image, photons=rng.uniform(40, 200), read_noise=0.01)
    return np.clip(image, 0, 1), labels


def make_nuclei(num_images: int, image_size: int = 128, seed: int = 0, return_labels: bool = False):
    """Fluorescence-microscopy-like nuclei: (images, masks), each (N, H, W, 1).

    Many nuclei per image, touching and overlapping, varied in size, shape, brightness and
    texture, on an uneven background, blurred by the optics, with shot noise. Images are float32
    in [0, 1]; masks are float32 {0, 1}. `return_labels=True` is `make_nuclei_with_labels`.
    """
    if return_labels:
        return make_nuclei_with_labels(num_images, image_size, seed)
    images, masks, _ = make_nuclei_with_labels(num_images, image_size, seed)
    return images, masks


def make_nuclei_with_labels(num_images: int, image_size: int = 128, seed: int = 0):
    """The images and masks of `make_nuclei`, and the instance labels behind the masks: (images,
    masks, labels), each (N, H, W, 1); labels are int32 nucleus ids (0 = background)."""
    images, labels = _stack(_one_nuclei_image, num_images, image_size, seed, 1, np.int32)
    masks = (labels > 0).astype(np.float32)
    return images, masks, labels


def cores(masks, depth: float = 2.0) -> np.ndarray:
    """The pixels at least `depth` px inside a foreground object of each (N, H, W, 1) mask: a
    rare foreground (notebook 04's all-black failure), float32 {0, 1}."""
    masks = np.asarray(masks)
    if masks.ndim != 4 or masks.shape[-1] != 1:
        raise ValueError(f"masks must be (N, H, W, 1), got shape {masks.shape}")
    if depth <= 0:
        raise ValueError(f"depth must be > 0, got {depth!r}")
    inside = [ndimage.distance_transform_edt(mask[..., 0] > 0.5) >= depth for mask in masks]
    return np.stack(inside)[..., None].astype(np.float32)


# --- membranes -----------------------------------------------------------------------------------


def _one_membrane_image(rng, size: int):
    scale = size / 128
    count = int(rng.integers(12, 26) * scale**2) + 2
    seeds = rng.uniform(-0.05 * size, 1.05 * size, (count, 2))
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    warp = size / 20  # smooth displacement makes the cells irregular, not polygons
    wy = yy + warp * _smooth_noise(rng, size, size / 8)
    wx = xx + warp * _smooth_noise(rng, size, size / 8)
    distances = (wy[..., None] - seeds[:, 0]) ** 2 + (wx[..., None] - seeds[:, 1]) ** 2
    cells = distances.argmin(axis=-1)
    edges = np.zeros((size, size), bool)
    edges[:-1] |= cells[:-1] != cells[1:]
    edges[:, :-1] |= cells[:, :-1] != cells[:, 1:]
    distance_to_edge = ndimage.distance_transform_edt(~edges)
    thickness = np.clip(1.1 + 0.6 * _smooth_noise(rng, size, size / 10), 0.6, 2.4)  # varies along
    membranes = distance_to_edge < thickness
    interior = rng.uniform(0.55, 0.75) + 0.06 * _smooth_noise(rng, size, 2.0)
    contrast = np.clip(0.4 + 0.12 * _smooth_noise(rng, size, size / 10), 0.2, 0.6)
    image = interior - contrast * np.exp(-((distance_to_edge / thickness) ** 2))
    for _ in range(int(rng.integers(6, 16) * scale**2)):  # organelle-like clutter inside cells
        cy, cx = rng.uniform(0, size, 2)
        a, b = rng.uniform(1.5, 4.5) * scale, rng.uniform(1.0, 2.5) * scale
        theta = rng.uniform(0, np.pi)
        u = (xx - cx) * np.cos(theta) + (yy - cy) * np.sin(theta)
        v = -(xx - cx) * np.sin(theta) + (yy - cy) * np.cos(theta)
        blob = ((u / a) ** 2 + (v / b) ** 2) < 1
        image[blob & ~membranes] -= rng.uniform(0.15, 0.35)
    image = ndimage.gaussian_filter(image, rng.uniform(0.6, 1.1), truncate=3.0)
    image += rng.normal(0, rng.uniform(0.03, 0.07), image.shape)
    return np.clip(image, 0, 1), membranes


def make_membranes(num_images: int, image_size: int = 128, seed: int = 0):
    """EM-like tissue whose target is the thin cell boundary: (images, masks), each (N, H, W, 1).

    Irregular cells, membranes of varying thickness and contrast, dark organelle-like clutter
    that is *not* membrane, blur and noise. Images float32 in [0, 1]; masks float32 {0, 1}.
    """
    return _stack(_one_membrane_image, num_images, image_size, seed, 2, np.float32)


# --- single-object crops -------------------------------------------------------------------------


def _one_crop(rng, size: int):
    """One nucleus, near the centre: (image, mask, factors) — see `make_crops`."""
    radius = rng.uniform(0.16, 0.3) * size
    elongation = rng.uniform(1.0, 1.8)  # long axis / short axis
    a, b = radius * np.sqrt(elongation), radius / np.sqrt(elongation)
    theta, phases = rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi, 2)
    wobble = rng.uniform(0.0, 0.08, 2)
    cy, cx = (size - 1) / 2 + rng.uniform(-0.06, 0.06, 2) * size
    yy, xx = np.mgrid[0:size, 0:size]
    dy, dx = yy - cy, xx - cx
    u = dx * np.cos(theta) + dy * np.sin(theta)
    v = -dx * np.sin(theta) + dy * np.cos(theta)
    angle = np.arctan2(v, u)
    boundary = (
        1 + wobble[0] * np.cos(2 * angle + phases[0]) + wobble[1] * np.cos(3 * angle + phases[1])
    )
    distance = np.sqrt((u / a) ** 2 + (v / b) ** 2) / boundary  # < 1 inside
    inside = distance < 1
    brightness = rng.uniform(0.35, 1.0)
    signal = np.where(inside, brightness * (0.8 + 0.2 * (1 - np.clip(distance, 0, 1) ** 2)), 0.0)
    signal *= 1 + 0.15 * _smooth_noise(rng, size, 1.2)  # chromatin texture
    background = rng.uniform(0.03, 0.15)
    blur = rng.uniform(0.6, 1.4)  # the optics
    image = ndimage.gaussian_filter(signal, blur, truncate=3.0) + background
    image = _shot_noise(rng, image, photons=rng.uniform(60, 200), read_noise=0.01)
    # The orientation as a point on a circle of radius (elongation - 1): a round nucleus has none.
    spread = (elongation - 1) / 0.8
    factors = (
        radius / size,
        elongation,
        spread * np.cos(2 * theta),
        spread * np.sin(2 * theta),
        brightness,
        background,
        blur,
    )
    return np.clip(image, 0, 1), inside, np.array(factors, np.float32)


def make_crops(num_images: int, image_size: int = 32, seed: int = 0, return_factors: bool = False):
    """Single-object crops: one nucleus per image, near the centre — (images, masks), each
    (N, H, W, 1), images float32 in [0, 1], masks float32 {0, 1}.

    The nuclei of `make_nuclei` one at a time, so that a generated image can be judged at a
    glance: varied in size, elongation, orientation, brightness and texture, on a dark background
    of varied level, blurred by the optics, with shot noise. `return_factors=True` adds the
    factors each image was drawn with, (N, 7), named by `CROP_FACTORS`.
    """
    _check_sizes(num_images, image_size)
    images = np.empty((num_images, image_size, image_size, 1), np.float32)
    masks = np.empty_like(images)
    factors = np.empty((num_images, len(CROP_FACTORS)), np.float32)
    for index in range(num_images):
        rng = np.random.default_rng([seed, index, 3])
        images[index, ..., 0], masks[index, ..., 0], factors[index] = _one_crop(rng, image_size)
    return (images, masks, factors) if return_factors else (images, masks)


#: The degradations notebook 06 validates its sample-quality measure on, mildest first in each
#: family (blur, shuffling, noise); none of them is seen while the measure's network trains.
DEGRADATIONS = {
    "blurred (sigma 1 px)": "a Gaussian blur of 1 px",
    "blurred (sigma 2 px)": "a Gaussian blur of 2 px",
    "jittered (1 px)": "each pixel replaced by a random neighbour (up to 1 px away)",
    "shuffled blocks (8 px)": "the image cut into 8 x 8 px blocks, put back in random order",
    "shuffled pixels": "all pixels of the image in random order: its histogram, nothing else",
    "Gaussian noise": "noise with the images' mean and standard deviation",
    "uniform noise": "uniform noise in [0, 1]",
}


def degrade(images, kind: str, seed: int = 0) -> np.ndarray:
    """`images` (N, H, W, 1) with one of the `DEGRADATIONS` applied (random ones drawn with
    `seed`), float32 in [0, 1]."""
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[-1] != 1:
        raise ValueError(f"images must be (N, H, W, 1), got shape {images.shape}")
    if kind not in DEGRADATIONS:
        raise ValueError(f"kind must be one of {list(DEGRADATIONS)}, got {kind!r}")
    rng = np.random.default_rng(seed)
    count, height, width, _ = images.shape
    if kind.startswith("blurred"):
        sigma = 1.0 if "1 px" in kind else 2.0
        result = ndimage.gaussian_filter(images, (0, sigma, sigma, 0))
    elif kind.startswith("jittered"):
        rows = np.clip(
            np.arange(height)[:, None] + rng.integers(-1, 2, (count, height, width)), 0, height - 1
        )
        cols = np.clip(
            np.arange(width)[None, :] + rng.integers(-1, 2, (count, height, width)), 0, width - 1
        )
        result = images[np.arange(count)[:, None, None], rows, cols]
    elif kind.startswith("shuffled blocks"):
        block = 8
        if height % block or width % block:
            raise ValueError(
                f"images must have sides divisible by {block}, got {images.shape[1:3]}"
            )
        grid = images.reshape(count, height // block, block, width // block, block, 1)
        grid = grid.transpose(0, 1, 3, 2, 4, 5).reshape(count, -1, block, block, 1)
        grid = np.stack([tiles[rng.permutation(len(tiles))] for tiles in grid])
        grid = grid.reshape(count, height // block, width // block, block, block, 1)
        result = grid.transpose(0, 1, 3, 2, 4, 5).reshape(images.shape)
    elif kind == "shuffled pixels":
        result = rng.permuted(images.reshape(count, -1), axis=1).reshape(images.shape)
    elif kind == "Gaussian noise":
        result = images.mean() + images.std() * rng.standard_normal(images.shape)
    else:
        result = rng.random(images.shape)
    return np.clip(result, 0, 1).astype(np.float32)


# --- splits and tf.data pipelines ----------------------------------------------------------------


def split(images, masks, num_val: int, num_test: int):
    """Train / validation / test splits: the last `num_test` images test, the `num_val` before
    them validate, the rest train."""
    images, masks = np.asarray(images), np.asarray(masks)
    if images.shape != masks.shape:
        raise ValueError(
            f"images and masks must have the same shape, got {images.shape} and {masks.shape}"
        )
    num_train = len(images) - num_val - num_test
    if num_val < 0 or num_test < 0 or num_train < 1:
        raise ValueError(
            f"num_val={num_val} and num_test={num_test} leave {num_train} of {len(images)} images "
            f"for training; need at least 1"
        )
    cut = (num_train, num_train + num_val)
    return (
        (images[: cut[0]], masks[: cut[0]]),
        (images[cut[0] : cut[1]], masks[cut[0] : cut[1]]),
        (images[cut[1] :], masks[cut[1] :]),
    )


def _sample(tensor, rows, cols, bilinear: bool):
    """Read `tensor` (H, W, C) at fractional (rows, cols), bilinear or nearest, clamped at edges."""
    import tensorflow as tf

    height, width = tf.shape(tensor)[0], tf.shape(tensor)[1]
    if not bilinear:
        r = tf.clip_by_value(tf.cast(tf.round(rows), tf.int32), 0, height - 1)
        c = tf.clip_by_value(tf.cast(tf.round(cols), tf.int32), 0, width - 1)
        return tf.gather_nd(tensor, tf.stack([r, c], -1))
    r0, c0 = tf.floor(rows), tf.floor(cols)
    wr, wc = (rows - r0)[..., None], (cols - c0)[..., None]

    def at(r, c):
        r = tf.clip_by_value(tf.cast(r, tf.int32), 0, height - 1)
        c = tf.clip_by_value(tf.cast(c, tf.int32), 0, width - 1)
        return tf.gather_nd(tensor, tf.stack([r, c], -1))

    top = at(r0, c0) * (1 - wc) + at(r0, c0 + 1) * wc
    bottom = at(r0 + 1, c0) * (1 - wc) + at(r0 + 1, c0 + 1) * wc
    return top * (1 - wr) + bottom * wr


def augment_pair(image, mask, seed, elastic_strength: float = 3.0, grid: int = 4):
    """The same random flips, 90° rotation and elastic deformation for an image and its mask.

    One stateless seed drives every random choice, and image and mask are transformed together,
    so they cannot drift apart. The elastic warp (as in the UNet paper) is a random displacement
    on a coarse `grid`, smoothly interpolated; the image is resampled bilinearly and the mask with
    nearest neighbours, so it stays binary. `seed` is a shape-(2,) integer tensor.
    """
    import tensorflow as tf

    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 5)
    channels = tf.shape(image)[-1]
    both = tf.concat([image, tf.cast(mask, image.dtype)], axis=-1)
    both = tf.image.stateless_random_flip_left_right(both, seeds[0])
    both = tf.image.stateless_random_flip_up_down(both, seeds[1])
    both = tf.image.rot90(both, tf.random.stateless_uniform([], seeds[2], 0, 4, tf.int32))
    size = tf.shape(both)[:2]
    coarse = tf.random.stateless_normal([1, grid, grid, 2], seeds[3]) * elastic_strength
    displacement = tf.image.resize(coarse, size, method="bicubic")[0]
    rows, cols = tf.meshgrid(tf.range(size[0]), tf.range(size[1]), indexing="ij")
    rows = tf.cast(rows, tf.float32) + displacement[..., 0]
    cols = tf.cast(cols, tf.float32) + displacement[..., 1]
    warped_image = _sample(both[..., :channels], rows, cols, bilinear=True)
    warped_mask = _sample(both[..., channels:], rows, cols, bilinear=False)
    return warped_image, warped_mask


def make_dataset(
    images, masks, batch_size: int, augment: bool = False, shuffle: bool = False, seed: int = 0
):
    """A batched `tf.data.Dataset` of (image, mask) pairs; augmentation differs every epoch
    but is the same on every rerun (stateless seeds from `tf.data.Dataset.random`)."""
    import tensorflow as tf

    images, masks = np.asarray(images, np.float32), np.asarray(masks, np.float32)
    if images.ndim != 4 or images.shape != masks.shape:
        # Without augmentation the targets may be anything with one row per image (regression).
        if augment or images.ndim != 4 or len(masks) != len(images):
            raise ValueError(
                f"images and masks must both be (N, H, W, C) of the same shape, got "
                f"{images.shape} and {masks.shape} (other targets, one row per image, only "
                "without augmentation)"
            )
    dataset = tf.data.Dataset.from_tensor_slices((images, masks))
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    if augment:
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        dataset = tf.data.Dataset.zip((dataset, seeds)).map(
            lambda pair, pair_seed: augment_pair(pair[0], pair[1], pair_seed),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


#: Crops hold a quarter of the pixels of the profile's images (or fewer): four times as many.
CROPS_PER_IMAGE = 4


def crop_size(profile) -> int:
    """The side of the profile's single-object crops: its comparison setting's image side."""
    return profile.comparison_size


def load_embedded(name: str, profile, seed: int = 0):
    """Train / validation / test splits of an embedded dataset at the profile's sizes; "crops"
    (`make_crops`) at side `crop_size(profile)`, `CROPS_PER_IMAGE` times as many images."""
    makers = {"nuclei": make_nuclei, "membranes": make_membranes, "crops": make_crops}
    if name not in makers:
        raise ValueError(f"name must be one of {sorted(makers)}, got {name!r}")
    counts = np.array([profile.num_train, profile.num_val, profile.num_test])
    size = profile.image_size
    if name == "crops":
        counts, size = counts * CROPS_PER_IMAGE, crop_size(profile)
    images, masks = makers[name](int(counts.sum()), size, seed)[:2]
    return split(images, masks, int(counts[1]), int(counts[2]))


# --- real datasets, on demand --------------------------------------------------------------------


def registry(path: Path = REGISTRY_PATH) -> dict:
    """The real datasets the course knows: name -> description, licence, citation, files."""
    return json.loads(Path(path).read_text(encoding="utf-8"))["datasets"]


def sha256(path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(
    name: str, cache: Path | None = None, registry_path: Path = REGISTRY_PATH
) -> dict[str, Path]:
    """Download (once) and verify the files of real dataset `name`; return {file name: path}.

    Files go to the course cache. pooch downloads each to a temporary file and moves it into
    place only after its SHA-256 matches, so nothing half-written or corrupt is ever left there.
    A dataset marked "shipped" in the registry is in the repository already (`data/`): it is
    only verified, offline.
    """
    import pooch
    import requests

    pooch.get_logger().setLevel("WARNING")  # one line per file is noise in a notebook
    datasets = registry(registry_path)
    if name not in datasets:
        raise ValueError(
            f"name must be one of {sorted(datasets)} (or an embedded set {EMBEDDED}), got {name!r}"
        )
    if datasets[name].get("shipped"):
        return _shipped(name, datasets[name]["files"])
    if cache is None:
        cache = cache_dir("data", name)
    paths = {}
    for entry in datasets[name]["files"]:
        try:
            paths[entry["name"]] = Path(
                pooch.retrieve(
                    entry["url"],
                    known_hash=f"sha256:{entry['sha256']}",
                    fname=entry["name"],
                    path=cache,
                    progressbar=False,
                )
            )
        except (requests.exceptions.RequestException, OSError) as error:
            raise ConnectionError(
                f"could not download {entry['name']} of dataset {name!r} from {entry['url']}. "
                f"Offline? Copy the file by hand to "
                f"{Path(cache) / entry['name']} (it is checked against its SHA-256), or use an "
                f"embedded dataset {EMBEDDED}, which needs no download."
            ) from error
        except ValueError as error:  # pooch: the downloaded file's hash differs from the registry's
            raise ValueError(
                f"{entry['name']} of dataset {name!r} does not match its SHA-256 in "
                f"{Path(registry_path).name}; the corrupt download was discarded. ({error})"
            ) from error
    return paths


def _shipped(name: str, files: list[dict]) -> dict[str, Path]:
    """The files of a dataset shipped in the repository, each checked against its SHA-256."""
    paths = {}
    for entry in files:
        path = ROOT / entry["path"]
        if not path.is_file() or sha256(path) != entry["sha256"]:
            raise ValueError(
                f"{entry['path']} of dataset {name!r} is missing or does not match its SHA-256 in "
                f"the registry; restore it from the repository (git checkout -- {entry['path']})"
            )
        paths[entry["name"]] = path
    return paths


def is_cached(name: str, cache: Path | None = None, registry_path: Path = REGISTRY_PATH) -> bool:
    """Whether every file of real dataset `name` is in the cache (for a shipped dataset: in the
    repository) with the right checksum."""
    entry = registry(registry_path)[name]
    if entry.get("shipped"):
        return all(
            (ROOT / f["path"]).is_file() and sha256(ROOT / f["path"]) == f["sha256"]
            for f in entry["files"]
        )
    if cache is None:
        cache = cache_dir("data", name)
    files = entry["files"]
    return all(
        (Path(cache) / f["name"]).is_file() and sha256(Path(cache) / f["name"]) == f["sha256"]
        for f in files
    )


def _tiles(image: np.ndarray, size: int):
    rows, cols = image.shape[0] // size, image.shape[1] // size
    return [
        image[r * size : (r + 1) * size, c * size : (c + 1) * size]
        for r in range(rows)
        for c in range(cols)
    ]


def normalise(image, reference=None) -> np.ndarray:
    """`image` scaled to [0, 1] as float32: the 1st percentile of `reference` (default: the image
    itself) to 0, its 99.8th to 1, values beyond clipped — so a few hot pixels set no scale."""
    image = np.asarray(image, dtype=np.float64)
    reference = image if reference is None else np.asarray(reference, dtype=np.float64)
    low, high = np.percentile(reference, [1, 99.8])
    return np.clip((image - low) / (high - low + 1e-8), 0, 1).astype(np.float32)


def _read_bbbc039(paths: dict[str, Path], image_size: int):
    """BBBC039's fields and masks as lists of tiles (nuclei: the masks' red channel)."""
    import imageio.v3 as iio

    images, masks = [], []
    with (
        zipfile.ZipFile(paths["images.zip"]) as image_zip,
        zipfile.ZipFile(paths["masks.zip"]) as mask_zip,
    ):
        mask_names = {Path(n).stem: n for n in mask_zip.namelist() if n.endswith(".png")}
        for member in sorted(n for n in image_zip.namelist() if n.endswith(".tif")):
            if Path(member).stem not in mask_names:
                continue
            image = normalise(iio.imread(image_zip.read(member), extension=".tif"))
            mask = iio.imread(mask_zip.read(mask_names[Path(member).stem]), extension=".png")
            mask = (mask[..., 0] if mask.ndim == 3 else mask) > 0  # nuclei in the red channel
            images += _tiles(image, image_size)
            masks += _tiles(mask.astype(np.float32), image_size)
    return images, masks


def _read_isbi2012(paths: dict[str, Path], image_size: int):
    """ISBI 2012's EM sections and membrane masks as lists of tiles."""
    import h5py

    images, masks = [], []
    with h5py.File(paths["isbi.h5"], "r") as volume:
        raw, labels = volume["raw"][:], volume["labels/membranes"][:]
    for section, label in zip(raw, labels, strict=True):
        values, counts = np.unique(label, return_counts=True)
        membrane = label == values[counts.argmin()]  # membranes are the minority class
        images += _tiles(normalise(section), image_size)
        masks += _tiles(membrane.astype(np.float32), image_size)
    return images, masks


def real_field(name: str = "dsb2018-sample", scaled: bool = True):
    """The whole field of a shipped real dataset: (image, labels), the image float32 (H, W) scaled
    to [0, 1] by its own 1st-99.8th percentiles (`normalise`; `scaled=False`: the microscope's
    values as they are), the instance labels int32 (H, W), 0 = background."""
    if name != "dsb2018-sample":
        raise ValueError(f"name must be 'dsb2018-sample' (the one shipped field), got {name!r}")
    with np.load(fetch(name)["dsb2018-sample.npz"]) as arrays:
        image, labels = arrays["image"].astype(np.float32), arrays["labels"].astype(np.int32)
    return (normalise(image) if scaled else image), labels


def downscale(image, labels, factor: int):
    """A field (H, W) and its instance labels (H, W) made `factor` times smaller: each image pixel
    the mean of a `factor` x `factor` block, each label the one at the block's centre (labels
    cannot be averaged). The edge beyond a whole block is dropped."""
    image, labels = np.asarray(image), np.asarray(labels)
    if image.ndim != 2 or image.shape != labels.shape:
        raise ValueError(
            f"image and labels must be (H, W) arrays of one shape, got {image.shape} and "
            f"{labels.shape}"
        )
    if not isinstance(factor, (int, np.integer)) or not 1 <= factor <= min(image.shape):
        raise ValueError(f"factor must be an int from 1 to {min(image.shape)}, got {factor!r}")
    rows, cols = image.shape[0] // factor, image.shape[1] // factor
    blocks = image[: rows * factor, : cols * factor].reshape(rows, factor, cols, factor)
    centre = factor // 2
    small_labels = labels[centre : rows * factor : factor, centre : cols * factor : factor]
    return blocks.mean(axis=(1, 3)).astype(np.float32), small_labels


def windows(array, size: int, stride: int) -> np.ndarray:
    """Every `size` x `size` window of an (H, W) array whose corner lies on a `stride` grid, row by
    row, as (N, size, size, 1): overlapping training tiles cut from one block."""
    array = np.asarray(array)
    if array.ndim != 2 or min(array.shape) < size:
        raise ValueError(f"array must be (H, W) with H, W >= size {size}, got {array.shape}")
    if not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride must be an int >= 1, got {stride!r}")
    corners = [
        (row, col)
        for row in range(0, array.shape[0] - size + 1, stride)
        for col in range(0, array.shape[1] - size + 1, stride)
    ]
    return np.stack([array[r : r + size, c : c + size] for r, c in corners])[..., None]


def _read_dsb2018_sample(paths: dict[str, Path], image_size: int):
    """The shipped DSB 2018 field as lists of tiles, row by row: images, masks and labels."""
    image, labels = real_field("dsb2018-sample")
    label_tiles = _tiles(labels, image_size)
    masks = [(tile > 0).astype(np.float32) for tile in label_tiles]
    return _tiles(image, image_size), masks, label_tiles


#: How each real dataset's files become tiles: name -> reader(paths, image_size), which returns
#: (images, masks) or, with instance labels, (images, masks, labels).
REAL_READERS = {
    "bbbc039": _read_bbbc039,
    "isbi2012": _read_isbi2012,
    "dsb2018-sample": _read_dsb2018_sample,
}


def load_real(
    name: str,
    image_size: int = 128,
    cache: Path | None = None,
    registry_path: Path = REGISTRY_PATH,
    return_labels: bool = False,
):
    """A real dataset as (images, masks) arrays like the embedded ones: tiles of `image_size`
    (row by row, the field's edge beyond a whole tile dropped), intensities scaled to [0, 1] per
    field (1st-99.8th percentile), masks {0, 1}, each (N, size, size, 1). `return_labels=True`
    adds the instance labels (int32, 0 = background) of a dataset that has them
    ("dsb2018-sample", shipped in `data/`, offline)."""
    if not isinstance(image_size, (int, np.integer)) or image_size < 16:
        raise ValueError(f"image_size must be an int >= 16, got {image_size!r}")
    if return_labels and name not in SHIPPED:
        raise ValueError(
            f"return_labels=True needs a dataset with instance labels {SHIPPED}, got {name!r}"
        )
    paths = fetch(name, cache, registry_path)
    if name not in REAL_READERS:
        raise ValueError(f"no loader for dataset {name!r}")
    tiles = REAL_READERS[name](paths, image_size)
    if not tiles[0]:
        raise ValueError(f"image_size {image_size} is larger than the fields of {name!r}")
    images = np.stack(tiles[0])[..., None].astype(np.float32)
    masks = np.stack(tiles[1])[..., None].astype(np.float32)
    if return_labels:
        return images, masks, np.stack(tiles[2])[..., None].astype(np.int32)
    return images, masks

"""The embedded datasets: microscopy-like images drawn by code, no download (notebook 03).

`make_nuclei` imitates fluorescence microscopy of nuclei; `make_membranes` imitates electron
microscopy where the target is the thin cell boundary (the original UNet paper's ISBI 2012 task);
`make_crops` draws one nucleus per small image (notebooks 06 and 07). Each is deterministic for a
seed; image i depends only on (seed, i), not on how many are made. `utils.data` re-exports them.
"""

from __future__ import annotations

import numpy as np
from scipy import interpolate, ndimage

from utils.checks import (
    check_bool,
    check_choice,
    check_finite,
    check_int,
    check_number,
    check_seed,
)

__all__ = [
    "CROP_FACTORS",
    "DEGRADATIONS",
    "cores",
    "degrade",
    "make_crops",
    "make_membranes",
    "make_nuclei",
    "make_nuclei_with_labels",
]

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


def _check_sizes(num_images, image_size, seed) -> tuple[int, int, int]:
    """How many images, their side and the seed, checked, as plain ints."""
    return (
        check_int(num_images, "num_images", minimum=1),
        check_int(image_size, "image_size", minimum=16),
        check_seed(seed),
    )


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
    num_images, image_size, seed = _check_sizes(num_images, image_size, seed)
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


def _per_area(rng, per_128: tuple[float, float], size: int) -> int:
    """How many objects an image of side `size` holds at a density of `per_128` (low, high) per
    128 x 128 px, rounded up or down at random so that the mean density is the same at any side."""
    expected = rng.uniform(*per_128) * (size / 128) ** 2
    return int(expected + rng.random())


def _one_nuclei_image(rng, size: int):
    # Nuclei have one size in pixels and one density per pixel area at every image side (as the
    # membranes do): a smaller image shows fewer nuclei, not smaller ones, so every side has the
    # same share of foreground.
    mean_radius = rng.uniform(6.0, 9.0)
    count = max(1, _per_area(rng, (10, 26), size))
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
    for _ in range(_per_area(rng, (0, 4), size)):  # out-of-focus nuclei: not in the mask
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
    if check_bool(return_labels, "return_labels"):
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
    rare foreground (appendix 04b's all-black failure), float32 {0, 1}."""
    masks = check_finite(masks, "masks")
    if masks.ndim != 4 or masks.shape[-1] != 1:
        raise ValueError(f"masks must be (N, H, W, 1), got shape {masks.shape}")
    check_number(depth, "depth", 0, low_open=True, expected="> 0")
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
    clean = ndimage.gaussian_filter(signal, blur, truncate=3.0) + background
    # The noise is drawn last, so the noise-free image costs no draw from `rng`.
    image = _shot_noise(rng, clean, photons=rng.uniform(60, 200), read_noise=0.01)
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
    return np.clip(image, 0, 1), inside, np.array(factors, np.float32), np.clip(clean, 0, 1)


def make_crops(
    num_images: int,
    image_size: int = 32,
    seed: int = 0,
    return_factors: bool = False,
    return_clean: bool = False,
):
    """Single-object crops: one nucleus per image, near the centre — (images, masks), each
    (N, H, W, 1), images float32 in [0, 1], masks float32 {0, 1}.

    The nuclei of `make_nuclei` one at a time, so that a generated image can be judged at a
    glance: varied in size, elongation, orientation, brightness and texture, on a dark background
    of varied level, blurred by the optics, with shot noise. `return_factors=True` adds the
    factors each image was drawn with, (N, 7), named by `CROP_FACTORS`; `return_clean=True` adds
    (last) each image before its shot noise: what a model could reconstruct at best. Neither
    changes the images drawn.
    """
    num_images, image_size, seed = _check_sizes(num_images, image_size, seed)
    check_bool(return_factors, "return_factors")
    check_bool(return_clean, "return_clean")
    images = np.empty((num_images, image_size, image_size, 1), np.float32)
    masks, clean = np.empty_like(images), np.empty_like(images)
    factors = np.empty((num_images, len(CROP_FACTORS)), np.float32)
    for index in range(num_images):
        rng = np.random.default_rng([seed, index, 3])
        images[index, ..., 0], masks[index, ..., 0], factors[index], clean[index, ..., 0] = (
            _one_crop(rng, image_size)
        )
    return (images, masks) + (factors,) * return_factors + (clean,) * return_clean


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
    images = check_finite(images, "images", np.float32)
    if images.ndim != 4 or images.shape[-1] != 1:
        raise ValueError(f"images must be (N, H, W, 1), got shape {images.shape}")
    check_choice(kind, "kind", list(DEGRADATIONS))
    seed = check_seed(seed)
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

"""The course's data: the embedded datasets (drawn by `utils.synthetic`, no download), splits,
tf.data pipelines with aligned augmentation, and real public datasets fetched on demand into the
cache (one real field ships with the course, offline). Every function checks its arguments first:
a bad one is a ValueError that names it, before anything is downloaded or computed."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from utils.checks import (
    check_bool,
    check_choice,
    check_finite,
    check_int,
    check_number,
    check_profile,
    check_seed,
)
from utils.config import ROOT, cache_dir
from utils.synthetic import (  # re-exported: notebooks call them as data.<name>
    CROP_FACTORS,
    DEGRADATIONS,
    cores,
    degrade,
    make_crops,
    make_membranes,
    make_nuclei,
    make_nuclei_with_labels,
)

__all__ = [
    "CROPS_PER_IMAGE",
    "CROP_FACTORS",
    "DEGRADATIONS",
    "EMBEDDED",
    "REAL_READERS",
    "REGISTRY_PATH",
    "SHIPPED",
    "augment_pair",
    "cores",
    "crop_size",
    "degrade",
    "downscale",
    "fetch",
    "is_cached",
    "load_embedded",
    "load_real",
    "make_crops",
    "make_dataset",
    "make_membranes",
    "make_nuclei",
    "make_nuclei_with_labels",
    "normalise",
    "real_field_scaled_whole",
    "registry",
    "sha256",
    "split",
    "windows",
]

REGISTRY_PATH = ROOT / "data" / "registry.json"
EMBEDDED = ("nuclei", "membranes", "crops")
#: Real data that ships with the course (in `data/`, listed in the registry as "shipped").
SHIPPED = ("dsb2018-sample",)


# --- splits and tf.data pipelines ----------------------------------------------------------------


def split(images, masks, num_val: int, num_test: int):
    """Train / validation / test splits: the last `num_test` images test, the `num_val` before
    them validate, the rest train."""
    images, masks = check_finite(images, "images"), check_finite(masks, "masks")
    num_val = check_int(num_val, "num_val", minimum=0)
    num_test = check_int(num_test, "num_test", minimum=0)
    if images.shape != masks.shape:
        raise ValueError(
            f"images and masks must have the same shape, got {images.shape} and {masks.shape}"
        )
    num_train = len(images) - num_val - num_test
    if num_train < 1:
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

    check_number(elastic_strength, "elastic_strength", 0)
    check_int(grid, "grid", minimum=1)
    for name, array in (("image", image), ("mask", mask)):
        if isinstance(array, np.ndarray) and check_finite(array, name).ndim != 3:
            raise ValueError(f"{name} must be (H, W, C), got shape {array.shape}")

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

    check_int(batch_size, "batch_size", minimum=1)
    check_bool(augment, "augment")
    check_bool(shuffle, "shuffle")
    check_seed(seed)
    images = check_finite(images, "images", np.float32)
    masks = check_finite(masks, "masks", np.float32)
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
    return check_profile(profile).comparison_size


def load_embedded(name: str, profile, seed: int = 0):
    """Train / validation / test splits of an embedded dataset at the profile's sizes; "crops"
    (`make_crops`) at side `crop_size(profile)`, `CROPS_PER_IMAGE` times as many images."""
    makers = {"nuclei": make_nuclei, "membranes": make_membranes, "crops": make_crops}
    check_choice(name, "name", sorted(makers))
    check_profile(profile)
    check_seed(seed)
    counts = np.array([profile.num_train, profile.num_val, profile.num_test])
    size = profile.image_size
    if name == "crops":
        counts, size = counts * CROPS_PER_IMAGE, crop_size(profile)
    images, masks = makers[name](int(counts.sum()), size, seed)[:2]
    return split(images, masks, int(counts[1]), int(counts[2]))


# --- real datasets, on demand --------------------------------------------------------------------


def _check_file(path, name: str) -> Path:
    """`path` (a string or a Path) of an existing file, as a Path."""
    if not isinstance(path, (str, os.PathLike)) or not Path(path).is_file():
        raise ValueError(f"{name} must be the path of an existing file, got {path!r}")
    return Path(path)


def _check_cache(cache) -> None:
    """`cache`: None (the course cache) or a folder's path."""
    if cache is not None and not isinstance(cache, (str, os.PathLike)):
        raise ValueError(f"cache must be None or a folder's path, got {cache!r}")


def registry(path: Path = REGISTRY_PATH) -> dict:
    """The real datasets the course knows: name -> description, licence, citation, files."""
    return json.loads(_check_file(path, "path").read_text(encoding="utf-8"))["datasets"]


def sha256(path) -> str:
    """SHA-256 of a file, read in chunks."""
    path = _check_file(path, "path")
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
    datasets = _check_dataset(name, cache, registry_path)
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


def _check_dataset(name, cache, registry_path) -> dict:
    """The registry at `registry_path`, once `name` is one of its datasets and `cache` a path."""
    _check_file(registry_path, "registry_path")
    _check_cache(cache)
    datasets = registry(registry_path)
    if not isinstance(name, str) or name not in datasets:
        raise ValueError(
            f"name must be one of {sorted(datasets)} (or an embedded set {EMBEDDED}), got {name!r}"
        )
    return datasets


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
    entry = _check_dataset(name, cache, registry_path)[name]
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
    image = check_finite(image, "image", np.float64)
    reference = image if reference is None else check_finite(reference, "reference", np.float64)
    if not reference.size:
        raise ValueError("image and reference must not be empty")
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


def real_field_scaled_whole(name: str = "dsb2018-sample", scaled: bool = True):
    """The whole field of a shipped real dataset: (image, labels), the image float32 (H, W) scaled
    to [0, 1] by the 1st-99.8th percentiles of the whole field (`normalise`; `scaled=False`: the
    microscope's values as they are), the instance labels int32 (H, W), 0 = background.
    (Notebook 04 scales by its fine-tune block alone: `experiments.real_field_scaled_fine_tune`.)"""
    if not isinstance(name, str) or name != "dsb2018-sample":
        raise ValueError(f"name must be 'dsb2018-sample' (the one shipped field), got {name!r}")
    check_bool(scaled, "scaled")
    with np.load(fetch(name)["dsb2018-sample.npz"]) as arrays:
        image, labels = arrays["image"].astype(np.float32), arrays["labels"].astype(np.int32)
    return (normalise(image) if scaled else image), labels


def downscale(image, labels, factor: int):
    """A field (H, W) and its instance labels (H, W) made `factor` times smaller: each image pixel
    the mean of a `factor` x `factor` block, each label the one at the block's centre (labels
    cannot be averaged). The edge beyond a whole block is dropped."""
    image, labels = check_finite(image, "image"), check_finite(labels, "labels")
    if image.ndim != 2 or image.shape != labels.shape:
        raise ValueError(
            f"image and labels must be (H, W) arrays of one shape, got {image.shape} and "
            f"{labels.shape}"
        )
    factor = check_int(factor, "factor", 1, min(image.shape))
    rows, cols = image.shape[0] // factor, image.shape[1] // factor
    blocks = image[: rows * factor, : cols * factor].reshape(rows, factor, cols, factor)
    centre = factor // 2
    small_labels = labels[centre : rows * factor : factor, centre : cols * factor : factor]
    return blocks.mean(axis=(1, 3)).astype(np.float32), small_labels


def windows(array, size: int, stride: int) -> np.ndarray:
    """Every `size` x `size` window of an (H, W) array whose corner lies on a `stride` grid, row by
    row, as (N, size, size, 1): overlapping training tiles cut from one block."""
    array = check_finite(array, "array")
    size = check_int(size, "size", minimum=1)
    if array.ndim != 2 or min(array.shape) < size:
        raise ValueError(f"array must be (H, W) with H, W >= size {size}, got {array.shape}")
    stride = check_int(stride, "stride", minimum=1, expected="an int >= 1")
    corners = [
        (row, col)
        for row in range(0, array.shape[0] - size + 1, stride)
        for col in range(0, array.shape[1] - size + 1, stride)
    ]
    return np.stack([array[r : r + size, c : c + size] for r, c in corners])[..., None]


def _read_dsb2018_sample(paths: dict[str, Path], image_size: int):
    """The shipped DSB 2018 field as lists of tiles, row by row: images, masks and labels."""
    image, labels = real_field_scaled_whole("dsb2018-sample")
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
    check_choice(name, "name", sorted(REAL_READERS))
    image_size = check_int(image_size, "image_size", minimum=16)
    if check_bool(return_labels, "return_labels") and name not in SHIPPED:
        raise ValueError(
            f"return_labels=True needs a dataset with instance labels {SHIPPED}, got {name!r}"
        )
    _check_dataset(name, cache, registry_path)  # all checked: only now may it download
    paths = fetch(name, cache, registry_path)
    tiles = REAL_READERS[name](paths, image_size)
    if not tiles[0]:
        raise ValueError(f"image_size {image_size} is larger than the fields of {name!r}")
    images = np.stack(tiles[0])[..., None].astype(np.float32)
    masks = np.stack(tiles[1])[..., None].astype(np.float32)
    if return_labels:
        return images, masks, np.stack(tiles[2])[..., None].astype(np.int32)
    return images, masks


#: The old name (before the course named how each field is scaled).
real_field = real_field_scaled_whole

"""Tests of utils/data.py: the embedded datasets, aligned augmentation, and the download path
(served from a local HTTP server on 127.0.0.1, never the internet)."""

import functools
import hashlib
import http.server
import io
import json
import threading
import zipfile

import numpy as np
import pytest
import tensorflow as tf
from scipy import ndimage

from utils import data, metrics
from utils.config import PROFILES, ROOT

MAKERS = [data.make_nuclei, data.make_membranes, data.make_crops]


@pytest.mark.parametrize("make", MAKERS)
def test_embedded_arrays_are_well_formed(make):
    images, masks = make(6, 32, seed=3)[:2]
    assert images.shape == masks.shape == (6, 32, 32, 1)
    assert images.dtype == masks.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    assert set(np.unique(masks)) <= {0.0, 1.0}
    assert (masks.reshape(6, -1).max(axis=1) == 1).all()  # every image has foreground


@pytest.mark.parametrize("make", MAKERS)
def test_embedded_data_is_deterministic_per_image(make):
    first, second = make(3, 32, seed=5)[0], make(3, 32, seed=5)[0]
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(make(2, 32, seed=5)[0], first[:2])  # image i depends on (seed, i)
    assert not np.array_equal(make(3, 32, seed=6)[0], first)


def test_nuclei_are_bright_and_labelled():
    images, masks, labels = data.make_nuclei_with_labels(8, 64, seed=0)
    np.testing.assert_array_equal(masks, (labels > 0).astype(np.float32))
    assert images[masks == 1].mean() > images[masks == 0].mean() + 0.2
    assert max(len(np.unique(label)) - 1 for label in labels) >= 5  # many nuclei per image


def test_return_labels_is_make_nuclei_with_labels():
    with_labels = data.make_nuclei_with_labels(3, 32, seed=2)
    flagged = data.make_nuclei(3, 32, seed=2, return_labels=True)
    plain = data.make_nuclei(3, 32, seed=2)
    assert len(flagged) == 3 and len(plain) == 2
    for ours, theirs in zip(with_labels, flagged, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    for ours, theirs in zip(with_labels[:2], plain, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert with_labels[2].dtype == np.int32


def test_membranes_are_thin_and_dark():
    images, masks = data.make_membranes(8, 64, seed=0)
    assert 0.05 < masks.mean() < 0.35  # thin: a minority of pixels, like ISBI 2012's ~20 %
    assert images[masks == 1].mean() < images[masks == 0].mean() - 0.1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: data.make_nuclei(0), r"num_images must be a positive int, got 0"),
        (lambda: data.make_membranes(2, image_size=8), r"image_size must be an int >= 16, got 8"),
        (lambda: data.split(np.zeros((4, 8, 8, 1)), np.zeros((4, 8, 8, 1)), 2, 2), r"leave 0 of 4"),
        (lambda: data.split(np.zeros((4, 8, 8, 1)), np.zeros((3, 8, 8, 1)), 1, 1), r"same shape"),
        (lambda: data.make_dataset(np.zeros((4, 8, 8)), np.zeros((4, 8, 8)), 2), r"\(N, H, W, C\)"),
        (lambda: data.load_embedded("cells", PROFILES["ci"]), r"name must be one of"),
    ],
)
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_split_sizes():
    images, masks = data.make_nuclei(10, 32)
    train, val, test = data.split(images, masks, num_val=2, num_test=3)
    assert [len(part[0]) for part in (train, val, test)] == [5, 2, 3]
    np.testing.assert_array_equal(test[0], images[7:])


def test_load_embedded_follows_the_profile():
    profile = PROFILES["ci"]
    train, val, test = data.load_embedded("membranes", profile)
    assert train[0].shape == (profile.num_train, profile.image_size, profile.image_size, 1)
    assert len(val[0]) == profile.num_val and len(test[1]) == profile.num_test


def test_augmentation_keeps_image_and_mask_aligned():
    _, masks = data.make_nuclei(4, 48, seed=1)
    for index, mask in enumerate(masks):
        image = mask.copy()  # an image that *is* its mask: any misalignment shows at once
        warped_image, warped_mask = data.augment_pair(image, mask, tf.constant([7, index]))
        warped_mask = warped_mask.numpy()
        assert set(np.unique(warped_mask)) <= {0.0, 1.0}
        assert metrics.dice(warped_mask, warped_image.numpy() > 0.5) > 0.95
        assert not np.array_equal(warped_mask, mask)  # something did change


def test_augmentation_is_deterministic_for_a_seed():
    images, masks = data.make_membranes(1, 32)
    a = data.augment_pair(images[0], masks[0], tf.constant([1, 2]))
    b = data.augment_pair(images[0], masks[0], tf.constant([1, 2]))
    c = data.augment_pair(images[0], masks[0], tf.constant([1, 3]))
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_dataset_batches_and_reruns_identically():
    images, masks = data.make_nuclei(6, 32)

    def epochs(dataset, count=2):
        return [np.concatenate([x.numpy() for x, _ in dataset]) for _ in range(count)]

    first = epochs(data.make_dataset(images, masks, 4, augment=True, shuffle=True, seed=3))
    second = epochs(data.make_dataset(images, masks, 4, augment=True, shuffle=True, seed=3))
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)  # reruns are identical
    assert not np.array_equal(first[0], first[1])  # but each epoch is augmented anew
    plain = next(iter(data.make_dataset(images, masks, 4)))
    assert plain[0].shape == (4, 32, 32, 1)
    np.testing.assert_array_equal(plain[1].numpy(), masks[:4])


# --- real datasets through a local server --------------------------------------------------------


def test_registry_entries_are_complete():
    for name, entry in data.registry().items():
        for key in ("title", "homepage", "licence", "citation", "files", "task"):
            assert entry[key], (name, key)
        for file in entry["files"]:
            assert len(file["sha256"]) == 64
            if entry.get("shipped"):  # in the repository: the file is there and matches its sum
                assert data.sha256(ROOT / file["path"]) == file["sha256"], file["path"]
            else:
                assert file["url"].startswith("https://")
    assert set(data.SHIPPED) == {n for n, e in data.registry().items() if e.get("shipped")}


def test_the_shipped_real_field_loads_offline_as_tiles_with_instances(monkeypatch):
    import pooch

    monkeypatch.setattr(pooch, "retrieve", None)  # any download attempt would fail loudly
    image, labels = data.real_field_scaled_whole("dsb2018-sample")
    assert image.shape == labels.shape == (512, 512) and 0 <= image.min() < image.max() <= 1
    assert len(np.unique(labels)) - 1 == 125  # nuclei in the field
    images, masks, tiles = data.load_real("dsb2018-sample", image_size=128, return_labels=True)
    assert images.shape == masks.shape == tiles.shape == (16, 128, 128, 1)
    assert set(np.unique(masks)) <= {0.0, 1.0}
    np.testing.assert_array_equal(masks, (tiles > 0).astype(np.float32))
    np.testing.assert_array_equal(images[1, ..., 0], image[:128, 128:256])  # row by row
    np.testing.assert_array_equal(tiles[4, ..., 0], labels[128:256, :128])
    assert data.is_cached("dsb2018-sample")
    with pytest.raises(ValueError, match="return_labels=True needs a dataset with instance"):
        data.load_real("isbi2012", 64, return_labels=True)


def test_a_shipped_file_that_changed_is_refused(tmp_path):
    entry = data.registry()["dsb2018-sample"]
    changed = {**entry, "files": [{**entry["files"][0], "sha256": "0" * 64}]}
    registry = tmp_path / "r.json"
    registry.write_text(json.dumps({"datasets": {"dsb2018-sample": changed}}))
    with pytest.raises(ValueError, match=r"does not match its SHA-256.*git checkout"):
        data.fetch("dsb2018-sample", tmp_path, registry)


@pytest.fixture
def server(tmp_path):
    """A local HTTP server over tmp_path/served; yields (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def write_registry(path, name, files, base_url, wrong_hash=False):
    entries = [
        {
            "name": file.name,
            "url": f"{base_url}/{file.name}",
            "sha256": "0" * 64 if wrong_hash else hashlib.sha256(file.read_bytes()).hexdigest(),
        }
        for file in files
    ]
    entry = {"title": "t", "task": "nuclei", "homepage": "h", "licence": "l", "citation": "c"}
    path.write_text(json.dumps({"datasets": {name: {**entry, "files": entries}}}))
    return path


def fake_bbbc039(folder):
    import imageio.v3 as iio

    rng = np.random.default_rng(0)
    images, masks = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(images, "w") as image_zip, zipfile.ZipFile(masks, "w") as mask_zip:
        for stem in ("field_a", "field_b"):
            image = rng.integers(0, 4000, (40, 70), dtype=np.uint16)
            mask = np.zeros((40, 70, 3), np.uint8)
            mask[5:15, 5:25, 0] = 255
            image_zip.writestr(
                f"images/{stem}.tif", iio.imwrite("<bytes>", image, extension=".tif")
            )
            mask_zip.writestr(f"masks/{stem}.png", iio.imwrite("<bytes>", mask, extension=".png"))
    (folder / "images.zip").write_bytes(images.getvalue())
    (folder / "masks.zip").write_bytes(masks.getvalue())
    return [folder / "images.zip", folder / "masks.zip"]


def test_fetch_downloads_verifies_and_converts(server, tmp_path):
    folder, url = server
    registry = write_registry(tmp_path / "registry.json", "bbbc039", fake_bbbc039(folder), url)
    cache = tmp_path / "cache"
    paths = data.fetch("bbbc039", cache, registry)
    assert sorted(paths) == ["images.zip", "masks.zip"] and data.is_cached(
        "bbbc039", cache, registry
    )
    images, masks = data.load_real("bbbc039", image_size=32, cache=cache, registry_path=registry)
    assert images.shape == masks.shape == (4, 32, 32, 1)  # two 40x70 fields, two 32x32 tiles each
    assert images.dtype == np.float32 and 0 <= images.min() and images.max() <= 1
    assert masks[0].sum() == 10 * 20  # the red-channel nucleus in the first tile
    for file in folder.iterdir():
        file.unlink()  # the server loses the files: the verified cache is used, no download
    assert data.fetch("bbbc039", cache, registry) == paths


def test_isbi_h5_is_converted_with_membranes_as_foreground(server, tmp_path):
    import h5py

    folder, url = server
    labels = np.full((2, 32, 32), 255, np.uint8)
    labels[:, ::8] = 0  # thin black membranes, as in the original labels
    with h5py.File(folder / "isbi.h5", "w") as volume:
        volume["raw"] = np.random.default_rng(0).integers(0, 255, (2, 32, 32), dtype=np.uint8)
        volume["labels/membranes"] = labels
    registry = write_registry(tmp_path / "registry.json", "isbi2012", [folder / "isbi.h5"], url)
    images, masks = data.load_real("isbi2012", 32, tmp_path / "cache", registry)
    assert images.shape == (2, 32, 32, 1)
    np.testing.assert_array_equal(masks[..., 0], (labels == 0).astype(np.float32))


def files_under(folder):
    """Every file below `folder` (none when it does not exist)."""
    return sorted(path for path in folder.rglob("*") if path.is_file())


def test_wrong_checksum_is_refused_and_nothing_is_left(server, tmp_path):
    folder, url = server
    registry = write_registry(
        tmp_path / "r.json", "bbbc039", fake_bbbc039(folder), url, wrong_hash=True
    )
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="does not match its SHA-256"):
        data.fetch("bbbc039", cache, registry)
    assert files_under(cache) == []  # no partial or corrupt download anywhere in the cache
    assert not data.is_cached("bbbc039", cache, registry)
    # Control: with the right checksums the same call leaves the files exactly there.
    good = write_registry(tmp_path / "good.json", "bbbc039", fake_bbbc039(folder), url)
    paths = data.fetch("bbbc039", cache, good)
    assert files_under(cache) == sorted(paths.values()) and data.is_cached("bbbc039", cache, good)


def test_offline_gives_a_clear_error_and_nothing_is_left(tmp_path):
    files = fake_bbbc039(tmp_path)
    registry = write_registry(tmp_path / "r.json", "bbbc039", files, "http://127.0.0.1:9")  # closed
    cache = tmp_path / "cache"
    with pytest.raises(
        ConnectionError, match=r"Offline\? Copy the file by hand to .*images.zip"
    ) as raised:
        data.fetch("bbbc039", cache, registry)
    # The message is the course's own: no class name of requests' or pooch's exceptions, which
    # vary with their versions (notebook 03 prints it in a checked cell).
    assert "Error" not in str(raised.value)
    assert files_under(cache) == []  # no partial or corrupt download anywhere in the cache


def test_unknown_real_dataset_is_a_value_error(tmp_path):
    with pytest.raises(
        ValueError, match=r"name must be one of \['bbbc039', 'dsb2018-sample', 'isbi2012'\]"
    ):
        data.fetch("mnist", tmp_path)


def test_cores_keep_only_pixels_deep_inside_an_object():
    mask = np.zeros((1, 9, 9, 1), np.float32)
    mask[0, 2:7, 2:7, 0] = 1  # a 5x5 square: only its centre is 2 px (or more) from the outside
    core = data.cores(mask, depth=2)
    assert core.dtype == np.float32 and core.shape == mask.shape
    assert core.sum() == 9 and core[0, 3:6, 3:6, 0].all()  # distances >= 2: the inner 3x3
    assert data.cores(mask, depth=3).sum() == 1  # only the centre is 3 px inside
    with pytest.raises(ValueError, match=r"masks must be \(N, H, W, 1\)"):
        data.cores(mask[0])
    with pytest.raises(ValueError, match="depth must be > 0"):
        data.cores(mask, depth=0)


def test_crops_hold_one_centred_object_with_its_factors():
    images, masks, factors = data.make_crops(20, 32, seed=1, return_factors=True)
    assert factors.shape == (20, len(data.CROP_FACTORS))
    rows, cols = np.indices((32, 32))
    for image, mask, factor in zip(images[..., 0], masks[..., 0], factors, strict=True):
        count = ndimage.label(mask)[1]
        assert count == 1  # one object
        centre = np.array([rows[mask > 0].mean(), cols[mask > 0].mean()])
        assert np.abs(centre - 15.5).max() < 4  # near the centre
        radius = dict(zip(data.CROP_FACTORS, factor, strict=True))["radius"]
        area = np.pi * (radius * 32) ** 2  # an ellipse of axes r*sqrt(e), r/sqrt(e)
        assert 0.7 < mask.sum() / area < 1.3
        assert image[mask > 0].mean() > image[mask == 0].mean() + 0.1  # bright on dark
    assert factors[:, 0].std() > 0.02 and factors[:, 4].std() > 0.1  # varied size, brightness


def test_noise_free_crops_come_from_the_same_draw():
    images, masks = data.make_crops(6, 32, seed=3)
    again, again_masks, factors, clean = data.make_crops(
        6, 32, seed=3, return_factors=True, return_clean=True
    )
    # Asking for the noise-free crops changes nothing that was drawn before.
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(masks, again_masks)
    assert clean.shape == images.shape and factors.shape == (6, len(data.CROP_FACTORS))
    assert 0 <= clean.min() and clean.max() <= 1
    # The noise is what separates them: mean zero, a few grey levels, more where it is bright.
    noise = images - clean
    assert abs(noise.mean()) < 0.005 and 0.005 < noise.std() < 0.1
    bright = clean > 0.5
    assert noise[bright].std() > noise[clean < 0.1].std()
    with pytest.raises(ValueError, match="return_clean"):
        data.make_crops(2, 32, return_clean="yes")


def test_load_embedded_crops_are_smaller_and_four_times_as_many():
    profile = PROFILES["ci"]
    train, _, test = data.load_embedded("crops", profile)
    assert train[0].shape[1:] == (data.crop_size(profile),) * 2 + (1,)
    assert len(train[0]) == data.CROPS_PER_IMAGE * profile.num_train
    assert len(test[0]) == data.CROPS_PER_IMAGE * profile.num_test


def test_regression_targets_need_no_augmentation():
    images = np.zeros((4, 16, 16, 1), np.float32)
    batch = next(iter(data.make_dataset(images, np.ones((4, 3)), batch_size=2)))
    assert tuple(batch[1].shape) == (2, 3)
    with pytest.raises(ValueError, match="only without augmentation"):
        data.make_dataset(images, np.ones((4, 3)), batch_size=2, augment=True)


@pytest.mark.parametrize("kind", list(data.DEGRADATIONS))
def test_degradations_keep_the_shape_and_range(kind):
    images = data.make_crops(4, 32, seed=2)[0]
    degraded = data.degrade(images, kind, seed=1)
    assert degraded.shape == images.shape and degraded.dtype == np.float32
    assert degraded.min() >= 0 and degraded.max() <= 1
    np.testing.assert_array_equal(degraded, data.degrade(images, kind, seed=1))  # reproducible
    assert not np.array_equal(degraded, images)


def test_shuffles_keep_each_images_pixels_and_blur_keeps_the_mean():
    images = data.make_crops(3, 32, seed=2)[0]
    for kind in ("shuffled pixels", "shuffled blocks (8 px)"):
        shuffled = data.degrade(images, kind)
        np.testing.assert_array_equal(
            np.sort(shuffled.reshape(3, -1)), np.sort(images.reshape(3, -1))
        )
    blurred = data.degrade(images, "blurred (sigma 2 px)")
    np.testing.assert_allclose(blurred.mean(), images.mean(), rtol=0.02)
    assert blurred.std() < images.std()
    with pytest.raises(ValueError, match="kind must be one of"):
        data.degrade(images, "sharpened")


def test_downscale_averages_blocks_and_keeps_the_centre_label():
    image = np.arange(7 * 9, dtype=np.float32).reshape(7, 9)
    labels = np.arange(7 * 9).reshape(7, 9)
    small, small_labels = data.downscale(image, labels, 3)
    assert small.shape == small_labels.shape == (2, 3)  # the edge beyond a whole block dropped
    np.testing.assert_allclose(small[1, 2], image[3:6, 6:9].mean())
    assert small_labels[1, 2] == labels[4, 7]  # the block's centre
    np.testing.assert_array_equal(data.downscale(image, labels, 1)[1], labels)
    with pytest.raises(ValueError, match=r"factor must be an int from 1 to 7, got 2.5"):
        data.downscale(image, labels, 2.5)
    with pytest.raises(ValueError, match=r"image and labels must be \(H, W\) arrays of one shape"):
        data.downscale(image, labels[:, :4], 2)


def test_windows_cut_every_tile_on_the_stride_grid():
    array = np.arange(10 * 6).reshape(10, 6)
    tiles = data.windows(array, 4, 3)
    assert tiles.shape == (3 * 1, 4, 4, 1)  # corners at rows 0, 3, 6 and column 0
    np.testing.assert_array_equal(tiles[2, ..., 0], array[6:10, 0:4])
    assert data.windows(array, 4, 2).shape[0] == 4 * 2
    with pytest.raises(ValueError, match=r"array must be \(H, W\) with H, W >= size 8"):
        data.windows(array, 8, 1)
    with pytest.raises(ValueError, match=r"stride must be an int >= 1, got 0"):
        data.windows(array, 4, 0)


def test_normalise_takes_its_scale_from_a_reference():
    image = np.tile(np.arange(100, dtype=np.float32), (10, 1))  # brighter to the right
    own = data.normalise(image)
    assert own.dtype == np.float32 and own.min() == 0 and own.max() == 1
    half = data.normalise(image, reference=image[:, :50])
    np.testing.assert_allclose(half[:, :50], data.normalise(image[:, :50]), atol=1e-6)
    assert (half[:, 60:] == 1).all()  # brighter than the reference's 99.8th percentile: clipped
    raw, labels = data.real_field_scaled_whole(scaled=False)
    assert raw.max() > 1 and labels.max() > 0
    np.testing.assert_array_equal(data.normalise(raw), data.real_field_scaled_whole()[0])


# --- bad arguments are checked before anything is downloaded -------------------------------------


def test_load_real_checks_every_argument_before_it_downloads(monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("load_real called fetch before checking its arguments")

    monkeypatch.setattr(data, "fetch", no_download)
    with pytest.raises(
        ValueError, match=r"name must be one of \['bbbc039', 'dsb2018-sample', 'isbi2012'\]"
    ):
        data.load_real("mnist")
    with pytest.raises(ValueError, match="return_labels must be True or False, got 'yes'"):
        data.load_real("bbbc039", return_labels="yes")
    with pytest.raises(ValueError, match="image_size must be an int >= 16, got 8"):
        data.load_real("bbbc039", image_size=8)
    with pytest.raises(ValueError, match="cache must be None or a folder's path"):
        data.load_real("bbbc039", cache=3)


def test_is_cached_names_an_unknown_dataset():
    with pytest.raises(
        ValueError, match=r"name must be one of \['bbbc039', 'dsb2018-sample', 'isbi2012'\]"
    ):
        data.is_cached("mnist")
    with pytest.raises(ValueError, match="name must be one of"):
        data.is_cached(["bbbc039"])  # not a string: no TypeError from a dict lookup


def test_makers_take_numpy_ints_and_give_the_same_images():
    plain = data.make_nuclei(2, 32, seed=1)
    numpy = data.make_nuclei(np.int64(2), np.int32(32), seed=np.int64(1))
    for ours, theirs in zip(plain, numpy, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(ValueError, match="seed must be an integer >= 0, got -1"):
        data.make_membranes(2, 32, seed=-1)

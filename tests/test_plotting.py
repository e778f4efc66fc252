"""Tests of utils/plotting.py: the figures draw what they claim."""

import io

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from utils import plotting, synthetic

ORANGE = matplotlib.colors.to_rgba("#f28e2b")


def drawn_cells(ax):
    return [patch for patch in ax.patches if isinstance(patch, matplotlib.patches.Rectangle)]


@pytest.mark.parametrize(
    ("kwargs", "cells", "taps", "title"),
    [
        ({"input_size": 5, "kernel_size": 3}, 25, 9, "in 5x5 → out 3x3"),
        ({"input_size": 5, "kernel_size": 2, "padding": "same"}, 36, 4, "top/bottom 0/1"),
        ({"input_size": 5, "kernel_size": 3, "padding": "same", "dilation_rate": 2}, 81, 9, "2/2"),
        ({"input_size": 6, "kernel_size": 3, "strides": 2, "padding": "same"}, 49, 9, "out 3x3"),
    ],
)
def test_conv_geometry_draws_input_padding_and_taps(kwargs, cells, taps, title):
    _, ax = plt.subplots()
    plotting.draw_conv_geometry(ax, **kwargs)
    patches = drawn_cells(ax)
    assert len(patches) == cells
    assert sum(patch.get_facecolor() == ORANGE for patch in patches) == taps
    assert title in ax.get_title()
    plt.close("all")


def test_show_arrays_writes_every_value():
    fig = plotting.show_arrays([np.arange(4).reshape(2, 2), -np.ones((1, 3))], ["a", "b"])
    texts = [[t.get_text() for t in ax.texts] for ax in fig.axes]
    assert texts == [["0", "1", "2", "3"], ["-1", "-1", "-1"]]
    assert fig.axes[1].images[0].get_cmap().name == "RdBu_r"  # signed values: diverging map
    plt.close(fig)


def test_show_array_writes_the_values_a_learner_computes_not_rounded_ones():
    # Notebook 01's kernel gradient, a bias gradient and an average pool: two significant
    # digits would show 16, 22, -10 and 4.8.
    values = np.array([[14.0, 16.5, 21.5], [24.0, -10.5, 4.75]], dtype=np.float32)
    fig, ax = plt.subplots()
    plotting.show_array(ax, values)
    assert [t.get_text() for t in ax.texts] == ["14", "16.5", "21.5", "24", "-10.5", "4.75"]
    ax.clear()
    plotting.show_array(ax, [[1 / 3, 2 / 3], [-1e-6, 0.1]])  # long decimals stop at three
    assert [t.get_text() for t in ax.texts] == ["0.333", "0.667", "0", "0.1"]
    plt.close(fig)


def test_show_arrays_gives_each_its_own_scale_or_one_shared():
    counts, larger = np.array([[1.0, 2.0], [2.0, 4.0]]), np.full((2, 2), 9.0)
    own = plotting.show_arrays([counts, larger], ["a", "b"])
    assert [ax.images[0].get_clim() for ax in own.axes] == [(0, 4), (0, 9)]
    shared = plotting.show_arrays([counts, larger], ["a", "b"], scale="shared")
    assert [ax.images[0].get_clim() for ax in shared.axes] == [(0, 9), (0, 9)]
    # One negative value anywhere: every panel on one symmetric, diverging scale.
    signed = plotting.show_arrays([counts, -larger], ["a", "b"], scale="shared")
    assert [ax.images[0].get_clim() for ax in signed.axes] == [(-9, 9), (-9, 9)]
    assert {ax.images[0].get_cmap().name for ax in signed.axes} == {"RdBu_r"}
    fixed = plotting.show_arrays([counts], ["a"], scale=(0, 10))
    assert fixed.axes[0].images[0].get_clim() == (0, 10)
    # White text where the cell is dark on the shared scale, not on the array's own.
    assert [t.get_color() for t in shared.axes[0].texts] == ["k", "k", "k", "k"]
    assert [t.get_color() for t in own.axes[0].texts] == ["k", "k", "k", "w"]
    with pytest.raises(ValueError, match="scale must be 'own', 'shared' or a pair"):
        plotting.show_arrays([counts], ["a"], scale="each")
    plt.close("all")


def test_show_images_hides_unused_axes():
    fig = plotting.show_images([np.zeros((4, 4))] * 3, ["a", "b", "c"], ncols=2)
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c", ""]
    assert len(fig.axes[3].images) == 0
    plt.close(fig)


def test_show_images_draws_a_constant_image_mid_grey():
    fig = plotting.show_images(
        [np.full((3, 3), 0.5), np.arange(4.0).reshape(2, 2)], ["flat", "ramp"]
    )
    flat, ramp = (ax.images[0] for ax in fig.axes)
    assert flat.get_clim() == (-0.5, 1.5)
    assert ramp.get_clim() == (0.0, 3.0)
    plt.close(fig)


def test_show_images_shares_one_scale_when_asked():
    dim, bright = np.full((2, 2), 0.2), np.array([[0.0, 1.0], [0.5, 0.8]])
    fig = plotting.show_images([dim, bright], ["dim", "bright"], scale="shared")
    assert [ax.images[0].get_clim() for ax in fig.axes] == [(0.0, 1.0), (0.0, 1.0)]
    plt.close(fig)
    fig = plotting.show_images([dim, bright], ["dim", "bright"], scale=(0, 2))
    assert [ax.images[0].get_clim() for ax in fig.axes] == [(0.0, 2.0), (0.0, 2.0)]
    plt.close(fig)


@pytest.mark.parametrize("scale", ["global", (1, 0), (0,), None])
def test_show_images_rejects_a_bad_scale(scale):
    with pytest.raises(ValueError, match="scale must be 'own', 'shared' or a pair"):
        plotting.show_images([np.zeros((2, 2))], ["a"], scale=scale)


def test_confusion_overlay_colours_each_region():
    image = np.zeros((2, 2))
    truth = np.array([[1, 1], [0, 0]])
    prediction = np.array([[1, 0], [1, 0]])
    rgb = plotting.confusion_overlay(image, truth, prediction, alpha=1.0)
    colours = list(plotting.CONFUSION_COLOURS.values())
    np.testing.assert_allclose(rgb[0, 0], colours[0])  # true positive
    np.testing.assert_allclose(rgb[1, 0], colours[1])  # false positive
    np.testing.assert_allclose(rgb[0, 1], colours[2])  # false negative
    np.testing.assert_allclose(rgb[1, 1], 0.0)  # true negative keeps the image


def test_show_overlays_draws_outline_or_fill():
    image, mask = np.random.default_rng(0).random((8, 8)), np.zeros((8, 8))
    mask[2:5, 2:5] = 1
    outline = plotting.show_overlays([image], [mask], ["a"])
    assert len(outline.axes[0].collections) >= 1 and len(outline.axes[0].images) == 1
    filled = plotting.show_overlays([image], [mask], fill=True)
    assert len(filled.axes[0].images) == 2
    plt.close("all")


def test_show_kernels_shares_one_symmetric_scale():
    kernel = np.zeros((3, 3, 1, 5))
    kernel[1, 1, 0, 0], kernel[0, 0, 0, 3] = 2.0, -0.5
    fig = plotting.show_kernels(kernel, ncols=4)
    drawn = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(drawn) == 5  # one panel per filter; the 3 spare panels stay empty
    assert {image.get_clim() for image in drawn} == {(-2.0, 2.0)}
    np.testing.assert_array_equal(drawn[3].get_array(), kernel[:, :, 0, 3])
    assert [ax.get_title() for ax in fig.axes[:5]] == ["0", "1", "2", "3", "4"]
    plt.close(fig)
    fig = plotting.show_kernels(kernel, titles=list("abcde"))
    assert fig.axes[4].get_title() == "e"
    plt.close(fig)


def test_show_kernels_rejects_a_bad_kernel():
    with pytest.raises(ValueError, match="kernel must have shape"):
        plotting.show_kernels(np.zeros((3, 3, 4)))
    with pytest.raises(ValueError, match="input_channel must be in"):
        plotting.show_kernels(np.zeros((3, 3, 1, 4)), input_channel=1)
    with pytest.raises(ValueError, match="titles must have one entry per filter"):
        plotting.show_kernels(np.zeros((3, 3, 1, 4)), titles=["a"])


def rendered(fig) -> bytes:
    """The figure as PNG bytes (closes it)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


@pytest.mark.parametrize(("num_models", "size"), [(2, 2.8), (4, 2.3)])  # notebooks 04 and 05
def test_show_predictions_draws_what_the_notebooks_drew_by_hand(num_models, size):
    rng = np.random.default_rng(0)
    image, truth = rng.random((16, 16, 1)), (rng.random((16, 16, 1)) > 0.5).astype(np.float32)
    predictions = {f"model {k}": rng.random((16, 16, 1)) for k in range(num_models)}
    fig = plotting.show_predictions(image, truth, predictions, size=size)
    titles = ["image", "truth", *predictions]
    assert [ax.get_title() for ax in fig.axes] == titles
    assert {ax.images[0].get_clim() for ax in fig.axes} == {(0.0, 1.0)}  # one scale
    np.testing.assert_array_equal(
        fig.axes[2].images[0].get_array(),
        plotting.confusion_overlay(image, truth, predictions["model 0"]),
    )
    assert fig.axes[2].get_legend() is not None  # under the first prediction
    # The panel notebooks 04 and 05 built by hand, pixel for pixel.
    images = [image, truth] + [
        plotting.confusion_overlay(image, truth, p) for p in predictions.values()
    ]
    by_hand = plotting.show_images(images, titles, ncols=len(images), size=size, scale=(0, 1))
    plotting.confusion_legend(by_hand.axes[2])
    assert rendered(fig) == rendered(by_hand)


def test_show_predictions_thresholds_the_probabilities():
    image, truth = np.zeros((2, 2)), np.array([[1.0, 1.0], [0.0, 0.0]])
    probabilities = np.array([[0.9, 0.4], [0.6, 0.1]])
    fig = plotting.show_predictions(image, truth, {"m": probabilities}, threshold=0.7)
    expected = plotting.confusion_overlay(image, truth, probabilities > 0.7)
    np.testing.assert_array_equal(fig.axes[2].images[0].get_array(), expected)
    plt.close(fig)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"predictions": {}}, "predictions must map at least one model name"),
        ({"threshold": 1.0}, "threshold must be between 0 and 1, got 1.0"),
        ({"truth": np.zeros((3, 3))}, r"truth must have the image's shape \(2, 2\)"),
        ({"predictions": {"m": np.zeros((2, 3))}}, r"predictions\['m'\] must have the image's"),
    ],
)
def test_show_predictions_rejects_bad_input(kwargs, message):
    arguments = {"image": np.zeros((2, 2)), "truth": np.zeros((2, 2))}
    arguments["predictions"] = {"m": np.zeros((2, 2))}
    with pytest.raises(ValueError, match=message):
        plotting.show_predictions(**{**arguments, **kwargs})


def test_confusion_overlay_keeps_relative_brightness_by_default():
    ramp = np.linspace(0, 1, 16).reshape(4, 4)
    dim, bright = 0.1 + 0.2 * ramp, 0.6 + 0.2 * ramp  # the same picture, two brightnesses
    nothing = np.zeros((4, 4))  # no foreground anywhere: every pixel shows the grey image
    dim_rgb, bright_rgb = (plotting.confusion_overlay(i, nothing, nothing) for i in (dim, bright))
    np.testing.assert_allclose(dim_rgb, np.repeat(dim[..., None], 3, axis=-1))
    np.testing.assert_allclose(bright_rgb, np.repeat(bright[..., None], 3, axis=-1))
    assert bright_rgb.min() > dim_rgb.max()
    shared = plotting.confusion_overlay(dim, nothing, nothing, scale="shared")
    np.testing.assert_array_equal(shared, dim_rgb)
    # "own" stretches each image to black..white: the two pictures become the same.
    dim_own, bright_own = (
        plotting.confusion_overlay(i, nothing, nothing, scale="own") for i in (dim, bright)
    )
    np.testing.assert_allclose(dim_own, bright_own)
    np.testing.assert_allclose(dim_own[..., 0], ramp)


def test_confusion_overlay_maps_a_fixed_range_and_clips_beyond_it():
    image, nothing = np.array([[-1.0, 0.0], [1.0, 3.0]]), np.zeros((2, 2))
    rgb = plotting.confusion_overlay(image, nothing, nothing, scale=(0, 2))
    np.testing.assert_allclose(rgb[..., 0], [[0.0, 0.0], [0.5, 1.0]])
    flat = plotting.confusion_overlay(np.full((2, 2), 0.3), nothing, nothing, scale="own")
    np.testing.assert_allclose(flat, 0.3)  # a constant image is kept, not divided by zero
    with pytest.raises(ValueError, match="scale must be 'own', 'shared' or a pair"):
        plotting.confusion_overlay(image, nothing, nothing, scale=(1, 0))


def seed_histories(*runs):
    """One history per seed from the val_iou curves given (other keys as Keras adds them)."""
    return [{"loss": [1.0] * len(run), "val_iou": list(run), "seconds": 3.0} for run in runs]


def test_plot_seed_curves_draws_the_mean_and_a_band_from_lowest_to_highest_seed():
    runs = np.array([[0.1, 0.4, 0.5], [0.3, 0.2, 0.6], [0.8, 0.3, 0.9]])  # mean != median
    curves = {"UNet": seed_histories(*runs), "short": seed_histories([0.5, 0.6], [0.7, 0.8])}
    fig = plotting.plot_seed_curves(curves, label_axis="validation IoU")
    ax = fig.axes[0]
    line, short = ax.lines
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3])  # epochs count from 1
    np.testing.assert_allclose(line.get_ydata(), runs.mean(axis=0))
    np.testing.assert_allclose(short.get_ydata(), [0.6, 0.7])  # labels may differ in length
    bands = [c for c in ax.collections if isinstance(c, matplotlib.collections.PolyCollection)]
    assert len(bands) == 2
    corners = bands[0].get_paths()[0].vertices
    for epoch, low, high in zip([1, 2, 3], runs.min(axis=0), runs.max(axis=0), strict=True):
        heights = corners[np.isclose(corners[:, 0], epoch), 1]
        np.testing.assert_allclose([heights.min(), heights.max()], [low, high])
    assert ax.get_ylabel() == "validation IoU" and ax.get_xlabel() == "epoch"
    legend = ax.get_legend()
    assert "band: lowest to highest seed" in legend.get_title().get_text()
    assert [t.get_text() for t in legend.get_texts()] == ["UNet (3 seeds)", "short (2 seeds)"]
    plt.close(fig)


def test_plot_seed_curves_draws_on_a_given_axis_and_labels_it_with_the_key():
    fig, ax = plt.subplots()
    returned = plotting.plot_seed_curves({"m": seed_histories([0.1, 0.2])}, key="loss", ax=ax)
    assert returned is fig and ax.get_ylabel() == "loss"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1.0, 1.0])
    plt.close(fig)


@pytest.mark.parametrize(
    ("curves", "message"),
    [
        ({}, "curves must map at least one label"),
        ({"UNet": []}, r"curves\['UNet'\] must hold at least one history"),
        (
            {"UNet": [{"loss": [1.0], "iou": [0.5]}]},
            r"key 'val_iou' is missing from a history of 'UNet'; it has \['iou', 'loss'\]",
        ),
        (
            {"ok": seed_histories([0.1]), "UNet": seed_histories([0.1, 0.2], [0.1])},
            r"the seeds of 'UNet' must have the same number of epochs.*got \[1, 2\]",
        ),
        ({"UNet": seed_histories([])}, r"the seeds of 'UNet' .*at least one"),
    ],
)
def test_plot_seed_curves_rejects_bad_input(curves, message):
    with pytest.raises(ValueError, match=message):
        plotting.plot_seed_curves(curves)


def test_mosaic_tiles_images_with_gaps():
    images = np.arange(3 * 2 * 2, dtype=float).reshape(3, 2, 2, 1)
    tiled = plotting.mosaic(images, ncols=2, gap=1, fill=-1)
    assert tiled.shape == (5, 5)
    np.testing.assert_array_equal(tiled[:2, :2], images[0, ..., 0])
    np.testing.assert_array_equal(tiled[3:, :2], images[2, ..., 0])
    assert (tiled[2] == -1).all() and (tiled[3:, 3:] == -1).all()  # gaps and the empty tile
    with pytest.raises(ValueError, match="ncols must be a positive int"):
        plotting.mosaic(images, ncols=0)


def test_label_colours_give_each_label_one_colour_on_black():
    labels = np.array([[0, 1, 1], [2, 2, 0], [3, 0, 21]])
    rgb = plotting.label_colours(labels)
    assert rgb.shape == (3, 3, 3)
    np.testing.assert_array_equal(rgb[0, 0], 0)  # background
    np.testing.assert_array_equal(rgb[0, 1], rgb[0, 2])  # one label, one colour
    assert not np.array_equal(rgb[0, 1], rgb[1, 0]) and rgb[0, 1].max() > 0
    with pytest.raises(ValueError, match=r"labels must be an \(H, W\) array of ints >= 0"):
        plotting.label_colours(labels.astype(float))


def test_show_images_panels_take_the_images_aspect():
    fig = plotting.show_images([np.zeros((8, 4))] * 2, ["a", "b"], size=2)
    width, height = fig.get_size_inches()
    assert (width, height) == pytest.approx((2.0, 2.0))  # two panels, each half as wide as high
    plt.close(fig)


def test_show_images_needs_one_title_per_image():
    with pytest.raises(ValueError, match=r"titles must give one title per image \(3 images\)"):
        plotting.show_images([np.zeros((4, 4))] * 3, ["a", "b"])
    fig = plotting.show_images([np.zeros((4, 4))] * 2, None)
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["", ""]
    plt.close(fig)


def test_plot_comparison_draws_one_row_per_verdict_on_one_scale():
    from utils import experiments
    from utils.experiments import SeedRuns

    def runs(name, values, metric="dice"):
        return SeedRuns(name, list(range(len(values))), [{metric: v} for v in values])

    better = experiments.verdict(runs("a", [0.8, 0.82, 0.81]), runs("b", [0.7, 0.71, 0.72]))
    hd95 = experiments.verdict(
        runs("a", [3.0, 3.1, 3.2], "hd95"), runs("b", [3.0, 3.2, 3.1], "hd95"), "hd95"
    )
    fig = plotting.plot_comparison({"dice": better, "hd95": hd95}, title="t")
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows == ["a vs b\nDice (δ 0.02)", "a vs b\nHD95 (δ 0.5)"]  # top row first
    assert "a better" in texts and "undetermined" in texts  # HD95: inside the margin of ±δ
    # the ±δ band is [-1, 1] for every row: differences are in units of δ
    band = next(p for p in ax.patches if p.get_label().startswith("±δ"))
    assert band.get_x() == pytest.approx(-1) and band.get_width() == pytest.approx(2)
    plt.close(fig)
    with pytest.raises(ValueError, match="verdicts must be a non-empty list"):
        plotting.plot_comparison([])


def test_label_colours_never_give_touching_labels_one_colour():
    _, _, labels = synthetic.make_nuclei_with_labels(4, 128, seed=0)
    for label_image in labels[..., 0]:
        rgb = plotting.label_colours(label_image)
        right = (label_image[:, 1:] > 0) & (label_image[:, :-1] > 0)
        right &= label_image[:, 1:] != label_image[:, :-1]
        assert right.any()  # the generated nuclei do touch
        assert np.all(np.any(rgb[:, 1:][right] != rgb[:, :-1][right], axis=-1))
        below = (
            (label_image[1:] > 0) & (label_image[:-1] > 0) & (label_image[1:] != label_image[:-1])
        )
        assert np.all(np.any(rgb[1:][below] != rgb[:-1][below], axis=-1))


def test_label_colours_separate_labels_a_gap_apart():
    labels = np.zeros((6, 9), np.int64)
    labels[:, :4], labels[:, 5:] = 1, 2  # one column of background between them
    for seed in range(40):  # without the rule, one seed in 20 would give both one colour
        rgb = plotting.label_colours(labels, seed=seed, reach=2)
        assert not np.array_equal(rgb[0, 0], rgb[0, 8]), seed
    far = np.zeros((6, 20), np.int64)
    far[:, :2], far[:, 18:] = 1, 2
    assert plotting.label_colours(far, reach=1).shape == (6, 20, 3)
    with pytest.raises(ValueError, match="reach"):
        plotting.label_colours(labels, reach=0)

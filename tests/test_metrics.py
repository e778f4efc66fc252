"""Tests of utils/metrics.py: hand-worked values, identities, and Keras' own Dice and BinaryIoU."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.spatial.distance import directed_hausdorff

from utils import metrics

TRUTH = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 0]], np.float32)
PRED = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0]], np.float32)  # TP 2, FP 1, FN 1

masks = hnp.arrays(np.float32, (3, 6, 6, 1), elements=st.sampled_from([0.0, 1.0]))


def test_hand_worked_example():
    assert metrics.confusion(TRUTH, PRED) == ([2], [1], [1])
    assert metrics.dice(TRUTH, PRED) == pytest.approx(4 / 6)
    assert metrics.iou(TRUTH, PRED) == pytest.approx(2 / 4)
    assert metrics.accuracy(TRUTH, PRED) == pytest.approx(7 / 9)


def test_probabilities_are_thresholded():
    assert metrics.dice(TRUTH, PRED * 0.7) == pytest.approx(4 / 6)
    assert metrics.dice(TRUTH, PRED * 0.7, threshold=0.8) == 0.0


def test_empty_mask_conventions():
    empty, full = np.zeros((4, 4)), np.ones((4, 4))
    assert metrics.dice(empty, empty) == metrics.iou(empty, empty) == 1.0
    assert metrics.dice(empty, full) == metrics.iou(full, empty) == 0.0
    assert metrics.hd95(empty, empty) == 0.0
    assert metrics.hd95(empty, full) == pytest.approx(np.hypot(4, 4))


def test_all_background_prediction_has_high_accuracy_and_zero_dice():
    truth = np.zeros((1, 10, 10, 1))
    truth[0, :2, :5] = 1  # 10 % foreground
    background = np.zeros_like(truth)
    assert metrics.accuracy(truth, background) == pytest.approx(0.9)
    assert metrics.dice(truth, background) == 0.0


@settings(max_examples=60, deadline=None, derandomize=True)
@given(masks, masks)
def test_dice_iou_identity(truth, prediction):
    d = metrics.dice(truth, prediction, reduction="none")
    j = metrics.iou(truth, prediction, reduction="none")
    np.testing.assert_allclose(d, 2 * j / (1 + j))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(masks, masks)
def test_global_scores_match_keras(truth, prediction):
    if truth.sum() + prediction.sum() == 0:
        return  # Keras' Dice divides 0 by epsilon there; our convention says 1
    keras_dice = 1 - float(keras.losses.Dice()(truth, prediction))
    assert metrics.dice(truth, prediction, reduction="global") == pytest.approx(
        keras_dice, abs=1e-6
    )
    binary_iou = keras.metrics.BinaryIoU(target_class_ids=[1], threshold=0.5)
    binary_iou.update_state(truth, prediction)
    if truth.sum() + prediction.sum() > 0:
        expected = float(binary_iou.result())
        assert metrics.iou(truth, prediction, reduction="global") == pytest.approx(
            expected, abs=1e-6
        )


def test_soft_dice_loss_matches_keras_dice_without_smoothing():
    rng = np.random.default_rng(0)
    truth = (rng.random((4, 8, 8, 1)) > 0.6).astype(np.float32)
    probabilities = rng.random((4, 8, 8, 1)).astype(np.float32)
    ours = keras.ops.convert_to_numpy(metrics.soft_dice_loss(truth, probabilities, smooth=0.0))
    expected = keras.losses.Dice(axis=(1, 2, 3), reduction=None)(truth, probabilities)
    np.testing.assert_allclose(ours, expected, rtol=1e-5)


def test_soft_dice_of_empty_prediction_of_empty_mask_is_zero():
    empty = np.zeros((1, 4, 4, 1), np.float32)
    assert float(metrics.soft_dice_loss(empty, empty)[0]) == 0.0


def test_bce_dice_loss_is_the_sum_of_its_parts():
    rng = np.random.default_rng(1)
    truth = (rng.random((2, 5, 5, 1)) > 0.5).astype(np.float32)
    p = np.clip(rng.random((2, 5, 5, 1)), 0.05, 0.95).astype(np.float32)
    bce = -(truth * np.log(p) + (1 - truth) * np.log(1 - p)).mean(axis=(1, 2, 3))
    soft_dice = 1 - (2 * (truth * p).sum((1, 2, 3)) + 1) / (
        truth.sum((1, 2, 3)) + p.sum((1, 2, 3)) + 1
    )
    got = keras.ops.convert_to_numpy(metrics.bce_dice_loss(truth, p))
    np.testing.assert_allclose(got, bce + soft_dice, rtol=1e-4)


def test_hd95_of_a_shifted_square():
    truth = np.zeros((20, 20))
    truth[5:12, 5:12] = 1
    shifted = np.roll(truth, 3, axis=1)
    assert metrics.hd95(truth, shifted, percentile=100) == pytest.approx(3.0)
    assert metrics.hd95(truth, truth) == 0.0


def circle_and_stray_blob():
    """Notebook 03's example: a disc shifted by 2 px, plus a 3x3 false positive far away."""
    yy, xx = np.mgrid[:48, :48]
    truth = ((yy - 24) ** 2 + (xx - 20) ** 2 < 12**2).astype(float)
    prediction = ((yy - 24) ** 2 + (xx - 22) ** 2 < 12**2).astype(float)
    prediction[4:7, 40:43] = 1
    return truth, prediction


def brute_force_directed(truth, prediction):
    """Distances prediction -> truth and truth -> prediction over every boundary pair."""
    a, b = np.argwhere(metrics.boundary(truth > 0)), np.argwhere(metrics.boundary(prediction > 0))
    pairs = np.sqrt(((b[:, None, :] - a[None, :, :]) ** 2).sum(-1))
    return pairs.min(axis=1), pairs.min(axis=0)


def test_hd95_conventions_by_brute_force():
    truth, prediction = circle_and_stray_blob()
    to_truth, to_prediction = brute_force_directed(truth, prediction)
    pooled = np.percentile(np.concatenate([to_truth, to_prediction]), 95)
    max_directed = max(np.percentile(to_truth, 95), np.percentile(to_prediction, 95))
    assert metrics.hd95(truth, prediction) == pytest.approx(pooled)  # the default: pooled
    assert metrics.hd95(truth, prediction, convention="pooled") == pytest.approx(pooled)
    assert metrics.hd95(truth, prediction, convention="max_directed") == pytest.approx(max_directed)
    assert max_directed == pytest.approx(np.sqrt(288))  # the blob's far corner, 12*sqrt(2) px
    assert pooled < max_directed - 1  # the two conventions really differ here


def test_hd95_conventions_agree_without_the_outlier_and_at_the_maximum():
    truth, prediction = circle_and_stray_blob()
    for convention in metrics.HD_CONVENTIONS:
        assert metrics.hd95(truth, prediction, percentile=100, convention=convention) == (
            pytest.approx(np.sqrt(338))  # the Hausdorff distance: the blob's farthest pixel
        )
    prediction[4:7, 40:43] = 0  # without the blob, only the 2-px shift is left
    for convention in metrics.HD_CONVENTIONS:
        assert metrics.hd95(truth, prediction, convention=convention) == pytest.approx(2.0)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(masks, masks)
def test_hausdorff_matches_scipy(truth, prediction):
    for t, p, score in zip(
        truth[..., 0],
        prediction[..., 0],
        metrics.hd95(truth, prediction, reduction="none", percentile=100),
        strict=True,
    ):
        if t.any() and p.any():
            a, b = np.argwhere(metrics.boundary(t > 0.5)), np.argwhere(metrics.boundary(p > 0.5))
            assert score == pytest.approx(
                max(directed_hausdorff(a, b)[0], directed_hausdorff(b, a)[0])
            )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: metrics.dice(np.zeros((3, 3)), np.zeros((3, 4))),
            r"same shape, got \(3, 3\) and \(3, 4\)",
        ),
        (
            lambda: metrics.iou(np.zeros(3), np.zeros(3)),
            r"y_true must be \(H, W\), .* got shape \(3,\)",
        ),
        (lambda: metrics.dice(TRUTH, PRED, reduction="sum"), r"reduction must be one of"),
        (
            lambda: metrics.hd95(TRUTH, PRED, reduction="global"),
            r"reduction must be 'mean' or 'none'",
        ),
        (
            lambda: metrics.hd95(TRUTH, PRED, convention="monai"),
            r"convention must be one of \('pooled', 'max_directed'\), got 'monai'",
        ),
        (
            lambda: metrics.hd95(TRUTH, PRED, percentile=101),
            r"percentile must be between 0 and 100",
        ),
    ],
)
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_psnr_by_hand():
    truth = np.zeros((2, 4, 4, 1))
    assert metrics.psnr(truth, truth + 0.1) == pytest.approx(20.0)  # MSE 0.01 -> 20 dB
    assert metrics.psnr(truth, truth + 0.5, data_range=0.5) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="must have the same shape"):
        metrics.psnr(truth, truth[0])


def test_threshold_baseline_picks_the_training_threshold_and_scores_the_test_set():
    masks = np.zeros((2, 8, 8, 1), np.float32)
    masks[:, 2:5, 2:5] = 1
    images = np.where(masks > 0, 0.7, 0.2).astype(np.float32)  # bright foreground
    threshold, test_dice = metrics.threshold_baseline((images, masks), (images, masks))
    assert 0.2 <= threshold < 0.7 and test_dice == 1.0
    # The same images read as dark foreground: no threshold separates them that way.
    _, dark_dice = metrics.threshold_baseline((images, masks), (images, masks), True)
    assert dark_dice < 0.5
    shifted = np.where(masks > 0, 0.35, 0.3).astype(np.float32)  # test set dimmer than training
    assert metrics.threshold_baseline((images, masks), (shifted, masks))[1] < 1.0

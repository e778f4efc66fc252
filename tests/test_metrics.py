"""Tests of utils/metrics.py: hand-worked values, identities, and Keras' own Dice and BinaryIoU."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import ndimage
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


# --- membranes: V_rand and the boundary F-score --------------------------------------------------


def membrane_cases(side: int = 64, spacing: int = 32) -> dict[str, np.ndarray]:
    """Notebook 03's membranes: 1-px membranes every `spacing` px (2 x 2 cells by default), the
    same shifted one pixel to the right, with a one-pixel gap, and with an extra membrane."""
    truth = np.zeros((side, side))
    truth[spacing::spacing, :] = truth[:, spacing::spacing] = 1
    gap, extra = truth.copy(), truth.copy()
    gap[spacing // 2, spacing] = 0  # joins the two top-left cells
    extra[spacing // 2, :spacing] = 1  # cuts the top-left cell in two
    return {"truth": truth, "shifted": np.roll(truth, 1, axis=1), "gap": gap, "extra": extra}


def thinned_by_brute_force(prediction):
    """Border thinning pixel by pixel: each membrane pixel takes the label of the cell whose
    pixels come nearest (squared distances to every cell pixel); 0 when two cells tie, or when
    there is no cell at all."""
    labels, _ = metrics.cells(prediction)
    thinned = labels.copy()
    cell_pixels, cell_labels = np.argwhere(labels > 0), labels[labels > 0]
    if len(cell_pixels) == 0:
        return thinned
    for row, column in np.argwhere(labels == 0):
        squared = ((cell_pixels - [row, column]) ** 2).sum(axis=1)
        nearest = np.unique(cell_labels[squared == squared.min()])
        thinned[row, column] = nearest[0] if len(nearest) == 1 else 0
    return thinned


def pair_counts(truth, prediction, include_self: bool = True):
    """Brute force over every ordered pair of pixels inside a true cell: pairs in one cell of the
    truth, of the thinned prediction (its remaining membrane pixels each alone), and of both."""
    true_cells, _ = metrics.cells(truth)
    predicted_cells = thinned_by_brute_force(prediction)
    inside = np.flatnonzero(true_cells.ravel() > 0)
    t, p = true_cells.ravel()[inside], predicted_cells.ravel()[inside]
    p = np.where(p > 0, p, -1 - np.arange(len(p)))  # a membrane pixel: a label of its own
    same_true, same_predicted = t[:, None] == t[None, :], p[:, None] == p[None, :]
    if not include_self:
        np.fill_diagonal(same_true, False)
        np.fill_diagonal(same_predicted, False)
    return (same_true & same_predicted).sum(), same_true.sum(), same_predicted.sum()


def test_cells_are_the_4_connected_regions_between_membranes():
    cases = membrane_cases()
    assert [metrics.cells(cases[name])[1] for name in cases] == [4, 4, 3, 5]
    diagonal = np.eye(5)  # a diagonal line of 1-px membrane still separates 4-connected cells
    assert metrics.cells(diagonal)[1] == 2
    with pytest.raises(ValueError, match=r"membranes must be one 2-D mask \(H, W\)"):
        metrics.cells(np.zeros((2, 5, 5)))


def test_perfect_membranes_score_one():
    for truth in (membrane_cases()["truth"], membrane_cases(64, 16)["truth"]):
        assert metrics.v_rand(truth, truth) == 1.0
        assert metrics.rand_split_merge(truth, truth) == (1.0, 1.0)
        assert metrics.boundary_f1(truth, truth) == metrics.boundary_f1(truth, truth, 0) == 1.0


def test_a_one_pixel_gap_costs_more_v_rand_than_a_one_pixel_shift():
    cases = membrane_cases()
    truth, shifted, gap = cases["truth"], cases["shifted"], cases["gap"]
    v_shifted, v_gap = metrics.v_rand(truth, shifted), metrics.v_rand(truth, gap)
    assert v_shifted == pytest.approx(0.984, abs=1e-3)
    assert v_gap == pytest.approx(0.795, abs=1e-3)
    assert v_gap <= v_shifted - 0.15  # the margin notebook 03 states
    # Dice and HD95 rank them the other way: the gap is one pixel, the shift a whole membrane.
    assert metrics.dice(truth, gap) > 0.99 and metrics.dice(truth, shifted) < 0.51
    assert metrics.hd95(truth, gap) == 0.0 and metrics.hd95(truth, shifted) == 1.0
    # The boundary F-score at 1 px tolerance sees neither: every boundary pixel has a partner.
    assert metrics.boundary_f1(truth, shifted) == 1.0
    assert metrics.boundary_f1(truth, gap) == 1.0


def test_thinning_by_hand():
    membranes = np.zeros((5, 9))
    membranes[:, 3:6] = 1  # a 3-px membrane between two cells of 3 columns each
    thinned, count = metrics.thinned_cells(membranes)
    assert count == 2
    # Its outer columns join the cell beside them; the middle column is equally near both.
    assert (thinned[:, :4] == 1).all() and (thinned[:, 5:] == 2).all()
    assert (thinned[:, 4] == 0).all()
    membranes[:, 5] = 0  # 2 px wide: every pixel has one nearest cell, nothing is left
    assert (metrics.thinned_cells(membranes)[0] > 0).all()
    spur = np.zeros((5, 5))
    spur[2, :3] = 1  # a membrane that ends inside a cell cuts nothing: it joins that cell
    assert (metrics.thinned_cells(spur)[0] == 1).all()
    everything = np.ones((4, 4))  # no cell to join: every pixel stays membrane
    assert metrics.thinned_cells(everything)[1] == 0
    assert (metrics.thinned_cells(everything)[0] == 0).all()


@settings(max_examples=40, deadline=None, derandomize=True)
@given(masks)
def test_thinned_cells_match_brute_force(prediction):
    for p in prediction[..., 0]:
        np.testing.assert_array_equal(metrics.thinned_cells(p)[0], thinned_by_brute_force(p))


def test_thick_membranes_cost_nothing():
    for spacing in (32, 16):
        truth = membrane_cases(64, spacing)["truth"]
        thick = ndimage.maximum_filter(truth, size=3)  # every membrane 3 px wide
        # Exactly 1: the outer pixels of each thick membrane join the cell on their side; the
        # middle ones are equally near two cells and stay membrane, but they are the truth's
        # membrane, which is not scored.
        assert metrics.v_rand(truth, thick) == 1.0
        assert metrics.rand_split_merge(truth, thick) == (1.0, 1.0)
        assert metrics.dice(truth, thick) < 0.55  # what Dice makes of the same prediction
        # Thick and one pixel off costs what a 1-px membrane one pixel off costs: its middle line.
        assert metrics.v_rand(truth, np.roll(thick, 1, axis=1)) == pytest.approx(
            metrics.v_rand(truth, np.roll(truth, 1, axis=1))
        )


def test_an_empty_prediction_is_one_cell_and_scores_below_a_gap():
    for spacing, empty_at_most in ((32, 0.41), (16, 0.12)):  # 4 cells, then 16
        cases = membrane_cases(64, spacing)
        truth, empty = cases["truth"], np.zeros((64, 64))
        sizes = np.bincount(metrics.cells(truth)[0].ravel())[1:].astype(float)
        split, merge = metrics.rand_split_merge(truth, empty)
        assert split == 1.0
        assert merge == pytest.approx(np.sum(sizes**2) / np.sum(sizes) ** 2)  # all pairs joined
        assert metrics.v_rand(truth, empty) <= empty_at_most
        assert metrics.v_rand(truth, empty) < metrics.v_rand(truth, cases["gap"]) - 0.35


def test_an_all_membrane_prediction_keeps_every_pixel_a_singleton():
    truth = membrane_cases()["truth"]
    sizes = np.bincount(metrics.cells(truth)[0].ravel())[1:].astype(float)
    num_pixels = np.sum(sizes)  # each pairs only with itself
    split, merge = metrics.rand_split_merge(truth, np.ones((64, 64)))
    assert merge == 1.0
    assert split == pytest.approx(num_pixels / np.sum(sizes**2))
    assert metrics.v_rand(truth, np.ones((64, 64))) == pytest.approx(
        2 * num_pixels / (np.sum(sizes**2) + num_pixels)
    )


def test_a_shift_costs_the_same_either_way():
    truth = membrane_cases(64, 16)["truth"][8:57, 8:57]  # 1-px membranes in the middle of 49 px
    assert np.array_equal(truth, truth[:, ::-1])
    right, left = np.roll(truth, 1, axis=1), np.roll(truth, -1, axis=1)
    # Mirror images of each other: a tie between two cells may not be broken towards one side.
    assert metrics.v_rand(truth, right) == pytest.approx(metrics.v_rand(truth, left))
    assert metrics.v_rand(truth, right) < 0.99


@settings(max_examples=40, deadline=None, derandomize=True)
@given(masks, masks)
def test_v_rand_does_not_depend_on_orientation(truth, prediction):
    scores = metrics.v_rand(truth, prediction, reduction="none")
    for turn in (
        lambda x: x[:, ::-1],  # left-right
        lambda x: x[:, :, ::-1],  # up-down
        lambda x: np.swapaxes(x, 1, 2),  # transpose
    ):
        turned = metrics.v_rand(turn(truth), turn(prediction), reduction="none")
        np.testing.assert_allclose(turned, scores)


def test_a_gap_lowers_the_merge_score_by_the_pairs_it_joins():
    cases = membrane_cases()
    split, merge = metrics.rand_split_merge(cases["truth"], cases["gap"])
    sizes = np.bincount(metrics.cells(cases["truth"])[0].ravel())[1:].astype(float)
    assert sorted(sizes) == [31 * 31, 31 * 32, 31 * 32, 32 * 32]
    joined = 2 * sizes[0] * sizes[1]  # ordered pairs of the two top cells, now one cell
    assert split == 1.0
    assert merge == pytest.approx(np.sum(sizes**2) / (np.sum(sizes**2) + joined))


def test_a_shift_lowers_the_split_score_by_its_singletons():
    cases = membrane_cases()
    split, merge = metrics.rand_split_merge(cases["truth"], cases["shifted"])
    # The moved membrane takes column 33 from each right-hand cell: 31 and 32 pixels called
    # membrane (each a segment of its own), the rest of those cells still in one piece.
    both = 32**4 + (31 * 32) ** 2 + (31 * 30) ** 2 + (32 * 30) ** 2 + 31 + 32
    in_truth = 32**4 + 2 * (31 * 32) ** 2 + 31**4
    assert merge == 1.0
    assert split == pytest.approx(both / in_truth)


def test_an_extra_membrane_lowers_the_split_score_only():
    cases = membrane_cases()
    split, merge = metrics.rand_split_merge(cases["truth"], cases["extra"])
    assert merge == 1.0 and split < 0.9
    assert metrics.v_rand(cases["truth"], cases["extra"]) == pytest.approx(2 * split / (1 + split))


def test_swapping_truth_and_prediction_turns_a_merge_into_a_split():
    cases = membrane_cases()
    _, merge = metrics.rand_split_merge(cases["truth"], cases["gap"])
    split_back, merge_back = metrics.rand_split_merge(cases["gap"], cases["truth"])
    assert merge_back == 1.0
    # Not exactly equal: the gap pixel is a true cell pixel only when the gap is the truth.
    assert split_back == pytest.approx(merge, abs=1e-3)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(masks, masks)
def test_v_rand_matches_brute_force_pair_counting(truth, prediction):
    split, merge = metrics.rand_split_merge(truth, prediction, reduction="none")
    scores = metrics.v_rand(truth, prediction, reduction="none")
    for index in range(len(truth)):
        both, in_truth, in_prediction = pair_counts(truth[index, ..., 0], prediction[index, ..., 0])
        if in_truth == 0:
            assert split[index] == merge[index] == scores[index] == 1.0  # no true cell
            continue
        assert split[index] == pytest.approx(both / in_truth)
        assert merge[index] == pytest.approx(both / in_prediction)
        assert scores[index] == pytest.approx(2 * both / (in_truth + in_prediction))
        assert 0 < scores[index] <= 1


@settings(max_examples=40, deadline=None, derandomize=True)
@given(masks, masks)
def test_pair_counting_matches_scikit_image_adapted_rand(truth, prediction):
    """The brute force above, on pairs of distinct pixels, is scikit-image's adapted Rand F-score
    when the thinned prediction's membrane pixels get a label each: the same definition, checked
    against an independent implementation (scikit-image counts no pixel paired with itself)."""
    from skimage.metrics import adapted_rand_error

    for t, p in zip(truth[..., 0], prediction[..., 0], strict=True):
        both, in_truth, in_prediction = pair_counts(t, p, include_self=False)
        if in_truth == 0 or in_prediction == 0:
            continue  # scikit-image divides 0 by 0 there
        true_cells, predicted_cells = metrics.cells(t)[0], thinned_by_brute_force(p)
        singletons = np.arange(p.size).reshape(p.shape) + predicted_cells.max() + 1
        predicted_labels = np.where(predicted_cells > 0, predicted_cells, singletons)
        error, _, _ = adapted_rand_error(true_cells, predicted_labels)
        assert 1 - error == pytest.approx(2 * both / (in_truth + in_prediction))


def test_v_rand_thresholds_probabilities_and_scores_batches_per_image():
    cases = membrane_cases()
    truth = cases["truth"]
    assert metrics.v_rand(truth, truth * 0.7) == 1.0
    # Above every probability nothing is membrane: one cell holds every pixel, a big merge.
    _, merge = metrics.rand_split_merge(truth, truth * 0.7, threshold=0.8)
    sizes = np.bincount(metrics.cells(truth)[0].ravel())[1:].astype(float)
    assert merge == pytest.approx(np.sum(sizes**2) / np.sum(sizes) ** 2)
    batch_truth = np.stack([truth, truth])[..., None]
    batch_prediction = np.stack([cases["gap"], cases["shifted"]])[..., None]
    per_image = metrics.v_rand(batch_truth, batch_prediction, reduction="none")
    assert per_image.shape == (2,)
    assert per_image[0] == metrics.v_rand(truth, cases["gap"])
    assert metrics.v_rand(batch_truth, batch_prediction) == pytest.approx(per_image.mean())


def test_boundary_f1_tolerance():
    cases = membrane_cases()
    truth, shifted = cases["truth"], cases["shifted"]
    assert metrics.boundary_f1(truth, shifted, tolerance=1) == 1.0
    assert metrics.boundary_f1(truth, shifted, tolerance=0) < 0.5  # only the row survives
    dot, diagonal_dot = np.zeros((5, 5)), np.zeros((5, 5))
    dot[2, 2], diagonal_dot[3, 3] = 1, 1  # sqrt(2) px apart
    assert metrics.boundary_f1(dot, diagonal_dot, tolerance=1) == 0.0
    assert metrics.boundary_f1(dot, diagonal_dot, tolerance=np.sqrt(2)) == 1.0


def test_boundary_f1_by_hand_and_empty_masks():
    truth, prediction = np.zeros((12, 12)), np.zeros((12, 12))
    truth[1, 1:11] = 1  # a line of 10 boundary pixels
    prediction[1, 1:11] = prediction[10, 1:11] = 1  # the line, and 10 pixels far from it
    # precision 10/20, recall 10/10, F = 2 * 0.5 * 1 / 1.5
    assert metrics.boundary_f1(truth, prediction) == pytest.approx(2 / 3)
    empty = np.zeros((12, 12))
    assert metrics.boundary_f1(empty, empty) == 1.0
    assert metrics.boundary_f1(truth, empty) == metrics.boundary_f1(empty, truth) == 0.0


@settings(max_examples=40, deadline=None, derandomize=True)
@given(masks, masks, st.sampled_from([0.0, 1.0, 1.5, 2.0]))
def test_boundary_f1_is_symmetric_and_matches_brute_force(truth, prediction, tolerance):
    ours = metrics.boundary_f1(truth, prediction, tolerance=tolerance, reduction="none")
    swapped = metrics.boundary_f1(prediction, truth, tolerance=tolerance, reduction="none")
    np.testing.assert_allclose(ours, swapped)
    for t, p, score in zip(truth[..., 0], prediction[..., 0], ours, strict=True):
        if not t.any() or not p.any():
            continue
        to_truth, to_prediction = brute_force_directed(t, p)
        precision, recall = np.mean(to_truth <= tolerance), np.mean(to_prediction <= tolerance)
        expected = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
        assert score == pytest.approx(expected)
        assert 0 <= score <= 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: metrics.v_rand(np.zeros((4, 4)), np.zeros((4, 5))),
            r"same shape, got \(4, 4\) and \(4, 5\)",
        ),
        (
            lambda: metrics.v_rand(TRUTH, PRED, reduction="global"),
            r"reduction must be 'mean' or 'none' for v_rand, got 'global'",
        ),
        (
            lambda: metrics.rand_split_merge(TRUTH, PRED, reduction="sum"),
            r"reduction must be 'mean' or 'none' for rand_split_merge",
        ),
        (
            lambda: metrics.boundary_f1(TRUTH, PRED, reduction="global"),
            r"reduction must be 'mean' or 'none' for boundary_f1",
        ),
        (
            lambda: metrics.boundary_f1(TRUTH, PRED, tolerance=-1),
            r"tolerance must be a distance >= 0 in pixels, got -1",
        ),
        (
            lambda: metrics.boundary_f1(TRUTH, PRED, tolerance=float("nan")),
            r"tolerance must be a distance >= 0 in pixels, got nan",
        ),
        (
            lambda: metrics.boundary_f1(np.zeros(3), np.zeros(3)),
            r"y_true must be \(H, W\), .* got shape \(3,\)",
        ),
    ],
)
def test_membrane_metrics_raise_clear_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_instance_statistics_count_sizes_intensities_and_touching_objects():
    labels = np.zeros((2, 16, 16), int)
    labels[0, 2:6, 2:6] = 1  # 16 px, alone
    labels[0, 8:12, 8:12] = 2  # 16 px, touches 3
    labels[0, 8:12, 12:14] = 3  # 8 px
    labels[1, 0:4, 0:8] = 4  # 32 px, alone
    images = np.where(labels > 0, 0.8, 0.1)
    stats = metrics.instance_statistics(images, labels, area=256)
    assert stats["median_area"] == 16 and stats["per_area"] == 2.0  # 4 objects in 2 x 256 px
    assert stats["foreground"] == pytest.approx(72 / 512)
    assert stats["object_intensity"] == pytest.approx(0.8)
    assert stats["background_intensity"] == pytest.approx(0.1)
    assert stats["touching"] == 0.5  # objects 2 and 3 share one connected component
    assert metrics.instance_statistics(images[0], labels[0], area=256)["per_area"] == 3.0
    with pytest.raises(ValueError, match="must have the same shape"):
        metrics.instance_statistics(images, labels[0])


def test_component_counts_show_what_a_per_pixel_mask_merges():
    labels = np.zeros((12, 12), int)
    labels[1:4, 1:4], labels[1:4, 4:7] = 1, 2  # two nuclei that touch
    labels[8:11, 8:11], labels[8:10, 1:3] = 3, 4  # one alone, one the prediction misses
    probabilities = np.where(np.isin(labels, [1, 2, 3]), 0.9, 0.1)
    probabilities[6, 10] = 0.9  # a false positive: a component without a nucleus
    counts = metrics.component_counts(labels, probabilities)
    assert counts == {
        "components": 3,
        "objects": 4,
        "merged": 1,
        "objects_in_merged": 2,
        "empty": 1,
        "missed": 1,
    }
    with pytest.raises(ValueError, match=r"labels and probabilities must be \(H, W\) arrays"):
        metrics.component_counts(labels, probabilities[None])


def test_instance_statistics_of_masks_without_objects_are_zero_not_an_error():
    images = np.full((2, 8, 8), 0.25)
    stats = metrics.instance_statistics(images, np.zeros((2, 8, 8), int))
    assert stats == {
        "median_area": 0.0,
        "area_q1": 0.0,
        "area_q3": 0.0,
        "per_area": 0.0,
        "foreground": 0.0,
        "object_intensity": 0.0,  # no object pixel
        "background_intensity": 0.25,
        "touching": 0.0,
        "count": 0,
    }
    assert all(np.isfinite(value) for value in stats.values())
    everything = metrics.instance_statistics(images[0], np.ones((8, 8), int))
    assert everything["count"] == 1 and everything["background_intensity"] == 0.0  # no background
    with pytest.raises(ValueError, match=r"labels must be whole numbers >= 0"):
        metrics.instance_statistics(images, np.full((2, 8, 8), 0.5))


def test_metrics_reject_bad_thresholds_and_non_finite_input_but_keep_their_results():
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0, 1\], got 1.5"):
        metrics.dice(TRUTH, PRED, threshold=1.5)
    with pytest.raises(ValueError, match="y_pred must not contain NaN or infinity"):
        metrics.iou(TRUTH, np.where(PRED > 0, np.nan, 0))
    empty = np.zeros((8, 8))
    assert metrics.dice(empty, empty) == 1.0 and metrics.iou(empty, empty) == 1.0
    assert metrics.hd95(empty, empty) == 0.0
    assert metrics.hd95(empty, np.eye(8)) == pytest.approx(np.hypot(8, 8))  # the diagonal
    # A NumPy float threshold compares as before (in float64 against float32 probabilities).
    probabilities = np.array([[0.15, 0.2]], np.float32)
    assert metrics.dice(np.array([[1.0, 1.0]]), probabilities, np.float64(0.15)) == 1.0

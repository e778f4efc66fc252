"""The answer key: each exercise's reference, its cases and the hints a wrong answer gets.

Reading this module is reading the answers: the notebooks never show them. `utils.exercises.check`
and `check_function` judge a learner's answer with it; `make grade` judges a submission with it
outside the submission's sandbox, where this module is not visible. tests/test_answers.py proves
every reference against the course's own code (the expressions the exercises are about).
"""

from __future__ import annotations

import numpy as np

from utils import references
from utils.exercises import Case, FunctionExercise, ValueExercise

__all__ = ["EXERCISES", "exercises_of"]


def _parts(answer) -> list:
    """An answer as a flat list of numbers ([] when it is not one)."""
    try:
        return [float(v) for v in np.ravel(np.asarray(answer, dtype=float))]
    except (TypeError, ValueError):
        return []


def _first_wrong(expected: tuple, hints: tuple[str, ...], otherwise: str):
    """A hint function for a tuple answer: the hint of its first wrong component."""

    def hint(answer) -> str:
        given = _parts(answer)
        if answer is None or len(given) != len(expected):
            return otherwise
        for value, want, text in zip(given, expected, hints, strict=True):
            if not np.isclose(value, want, rtol=1e-3, atol=1e-3):
                return text
        return otherwise

    return hint


def _when(table: dict, otherwise: str):
    """A hint function: the hint for a known wrong answer (a mistake learners make), else one for
    any wrong answer."""

    def hint(answer) -> str:
        given = _parts(answer)
        for wrong, text in table.items():
            want = _parts(wrong)
            if given and len(given) == len(want) and np.allclose(given, want, rtol=1e-6, atol=1e-3):
                return text
        return otherwise

    return hint


def _constant(value):
    return lambda profile: value


# --- 01: convolution by hand ----------------------------------------------------------------------


def _rng(seed: int):
    return np.random.default_rng(seed)


def _conv_same_cases() -> list[Case]:
    rng = _rng(11)
    made = []
    for x, k, about, hint in (
        (
            (6, 6),
            (2, 2),
            "an even 2×2 kernel on a 6×6 image",
            "Keras pads the extra row and column after (bottom and right), not before",
        ),
        (
            (7, 5),
            (3, 3),
            "an odd 3×3 kernel on a 7×5 image",
            "an odd kernel takes (k − 1)/2 pixels of padding on each side",
        ),
        (
            (5, 8),
            (3, 4),
            "a 3×4 kernel (odd rows, even columns) on a 5×8 image",
            "pad each axis by its own kernel size: the total padding is k − 1 per axis",
        ),
    ):
        arrays = (
            rng.standard_normal(x).astype(np.float32),
            rng.standard_normal(k).astype(np.float32),
        )
        made.append(Case(arrays, about, hint))
    return made


def _keras_same(X, K):
    """Keras' `same` convolution of one 2-D channel."""
    from utils import ops

    return ops.conv2d(X[None, :, :, None], K[:, :, None, None], padding="same")[0, :, :, 0]


def _maxpool_cases() -> list[Case]:
    rng = _rng(12)
    made = []
    for (h, w), about in (
        ((4, 4), "a 4×4 channel: four windows"),
        ((6, 8), "a 6×8 channel: a non-square grid of windows"),
        ((2, 10), "a 2×10 channel: one row of windows"),
    ):
        X = rng.permutation(h * w).reshape(h, w).astype(np.float32)  # every window has one winner
        G = rng.standard_normal((h // 2, w // 2)).astype(np.float32)
        made.append(
            Case(
                (X, G),
                about,
                "only the largest pixel of each window receives G(i, j); the other three get 0",
            )
        )
    return made


def _maxpool_backward(X, G):
    """The gradient of sum(G * maxpool(X)) with respect to X, by automatic differentiation."""
    import keras
    import tensorflow as tf

    x = tf.Variable(X[None, :, :, None])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(keras.layers.MaxPooling2D(2)(x) * G[None, :, :, None])
    return tape.gradient(loss, x).numpy()[0, :, :, 0]


# --- 02: upsampling by hand -----------------------------------------------------------------------


def _matrix_cases() -> list[Case]:
    rng = _rng(21)
    return [
        Case(
            (rng.standard_normal((k, k)).astype(np.float32), n, s),
            f"a {k}×{k} kernel on a {n}×{n} image, stride {s}",
            hint,
        )
        for k, n, s, hint in (
            (3, 5, 1, "C has one row per output pixel and one column per input pixel"),
            (3, 7, 2, "with stride 2 the windows of neighbouring output pixels start 2 apart"),
            (2, 6, 2, "an even kernel: the window of output (i, j) starts at (i·s, j·s)"),
        )
    ]


def _transpose_cases() -> list[Case]:
    made = []
    rng = _rng(22)
    for case in _matrix_cases():
        K, n, s = case.arguments
        m = (n - K.shape[0]) // s + 1
        Y = rng.standard_normal((m, m)).astype(np.float32)
        made.append(
            Case(
                (Y, K, n, s),
                f"a {m}×{m} Y back to {n}×{n} ({case.about.split(', ')[-1]})",
                "C has shape (m², n²): multiply its transpose by Y read row by row, then "
                "reshape to n × n",
            )
        )
    return made


def _transpose_reference(Y, K, n, stride):
    from utils import ops

    return ops.conv2d_transpose(Y[None, :, :, None], K[:, :, None, None], strides=stride)[0, ..., 0]


# --- 03: data and metrics -------------------------------------------------------------------------


def _discs():
    rows, cols = np.mgrid[:24, :24]
    disc = (rows - 10) ** 2 + (cols - 11) ** 2 < 36
    small_disc = (rows - 13) ** 2 + (cols - 9) ** 2 < 25
    two_squares = np.zeros((24, 24), bool)
    two_squares[2:8, 2:8] = two_squares[15:22, 14:20] = True
    inner = (rows - 10) ** 2 + (cols - 11) ** 2 < 4
    return disc, small_disc, two_squares, inner


def _hausdorff_cases() -> list[Case]:
    disc, small_disc, two_squares, inner = _discs()
    both_ways = "take the larger of the two directed distances (from a to b and from b to a)"
    return [
        Case(
            (disc, small_disc),
            "two overlapping discs",
            "the distance is between boundary pixels: use metrics.boundary of each mask",
        ),
        Case((disc, two_squares), "a disc against two squares far apart", both_ways),
        Case((inner, disc), "a small disc inside a large one", both_ways),
        Case((two_squares, inner), "two squares against a small disc", both_ways),
    ]


def _hausdorff(a, b):
    from utils import metrics

    return metrics.hd95(a, b, percentile=100)


def _cell_cases() -> list[Case]:
    from utils import synthetic

    grid = np.zeros((20, 20), bool)
    grid[::7, :] = grid[:, ::7] = True  # membranes on rows and columns 0, 7 and 14
    broken = grid.copy()
    broken[7, 3] = False  # one missing membrane pixel
    _, masks = synthetic.make_membranes(1, 48, seed=3)
    return [
        Case((grid,), "a grid of membranes", "count the regions of non-membrane pixels"),
        Case(
            (broken,),
            "the grid with one membrane pixel missing",
            "a gap merges the two cells it separates",
        ),
        Case(
            (np.eye(12, dtype=bool),),
            "a one-pixel diagonal membrane",
            "cells connect through "
            "their 4 neighbours, not the diagonals: the two sides only touch at corners",
        ),
        Case(
            (np.ones((5, 5), bool),),
            "a mask that is all membrane",
            "no non-membrane pixel: no cell",
        ),
        Case(
            (masks[0, ..., 0] > 0.5,),
            "a synthetic membrane mask (48×48)",
            "flood-fill "
            "iteratively (a stack or a queue): recursion runs out of depth on a large cell",
        ),
    ]


def _count_cells(membranes):
    from utils import metrics

    return metrics.cells(membranes)[1]


def _everything_foreground(profile):
    """Mean accuracy and mean Dice of 'foreground everywhere' on the profile's membrane test set."""
    from utils import data, metrics

    _, _, (_, masks) = data.load_embedded("membranes", profile)
    everything = np.ones_like(masks)
    return (metrics.accuracy(masks, everything), metrics.dice(masks, everything))


# --- 04: UNet -------------------------------------------------------------------------------------


def _decoder_cases() -> list[Case]:
    rng = _rng(0)
    order = "concatenate [skip, upsampled]: the skip first, as the source does"
    return [
        Case(
            (rng.random((1, 4, 4, 8), np.float32), rng.random((1, 8, 8, 4), np.float32), 4),
            "a 4×4×8 input and an 8×8×4 skip, 4 filters",
            order,
        ),
        Case(
            (rng.random((2, 3, 5, 6), np.float32), rng.random((2, 6, 10, 3), np.float32), 3),
            "a batch of 2, a non-square 3×5 input, 3 filters",
            "upsample with a 2×2 "
            "transposed convolution of stride 2 (linear): the sizes then match the skip",
        ),
    ]


def _dice_cases() -> list[Case]:
    rng = _rng(1)
    masks = (rng.random((3, 8, 8, 1)) > 0.7).astype(np.float32)
    masks[0] = 0  # an empty mask
    per_image = "sum over each image's pixels and channels: one loss per image, not one per batch"
    return [
        Case(
            (masks, rng.random((3, 8, 8, 1), np.float32)),
            "random probabilities (the first mask empty)",
            per_image,
        ),
        Case(
            (masks, masks.copy()),
            "a perfect prediction",
            "a perfect prediction scores 0, the "
            "empty mask too: keep the 1s of the smoothing in numerator and denominator",
        ),
        Case(
            (masks[1:], np.clip(masks[1:] + 0.3, 0, 1)),
            "a near-right prediction of two images",
            per_image,
        ),
    ]


# --- 05: UNet++ -----------------------------------------------------------------------------------


def _node_cases() -> list[Case]:
    rng = _rng(0)
    return [
        Case(
            ([rng.random((1, 8, 8, 4), np.float32)], rng.random((1, 4, 4, 8), np.float32), 4),
            "x^{0,1}: a row of one node",
            "concatenate the row's nodes, then the upsampled "
            "one; H is two 3×3 'same' convolutions with ReLU",
        ),
        Case(
            (
                [rng.random((2, 6, 6, 3), np.float32) for _ in range(3)],
                rng.random((2, 3, 3, 5), np.float32),
                3,
            ),
            "x^{1,3}: a row of three nodes",
            "concatenate every earlier node of the row (the dense skips), not only the last",
        ),
    ]


def _supervision_cases() -> list[Case]:
    rng = _rng(1)
    masks = (rng.random((3, 8, 8, 1)) > 0.6).astype(np.float32)
    masks[2] = 0  # an empty mask
    total = "Keras adds the heads' losses: the sum over the heads, not their mean"
    return [
        Case(
            (masks, [rng.uniform(0.05, 0.95, masks.shape) for _ in range(4)]),
            "four heads (depth 4), a batch of 3 with an empty mask",
            total,
        ),
        Case(
            (masks[:2], [rng.uniform(0.05, 0.95, (2, 8, 8, 1)) for _ in range(2)]),
            "two heads (depth 2)",
            "per head: ½·BCE + 1 − soft Dice per image, the mean over the batch",
        ),
    ]


# --- 06: VAE --------------------------------------------------------------------------------------


def _sample_cases() -> list[Case]:
    rng = _rng(6)
    sigma = "σ = exp(½ log σ²): the encoder outputs the log-variance, not σ"
    return [
        Case(tuple(rng.standard_normal((3, 4, 16))), "a batch of 4 codes of 16", sigma),
        Case(tuple(rng.standard_normal((3, 1, 2))), "one code of 2", sigma),
    ]


def _elbo_cases() -> list[Case]:
    rng = _rng(6)
    made = []
    for n, side, latent, beta in ((4, 8, 16, 1.0), (2, 32, 2, 4.0)):
        arguments = (
            rng.random((n, side, side, 1)),  # images in [0, 1]
            rng.uniform(0.02, 0.98, (n, side, side, 1)),  # a decoder's output: never 0 or 1
            rng.standard_normal((n, latent)),
            rng.standard_normal((n, latent)),
            beta,
        )
        made.append(
            Case(
                arguments,
                f"{n} images of {side}×{side}, latent {latent}, beta {beta:g}",
                "the cross-entropy is summed over each image's pixels (not averaged), plus beta "
                "times the KL term summed over the latent axis",
            )
        )
    return made


# --- 07: side by side -----------------------------------------------------------------------------


def _flops_cases() -> list[Case]:
    two = "2 FLOPs per multiply-add; the bias is not counted"
    return [
        Case((32, 32, 3, 1, 8), "a 3×3 layer, 1 → 8 channels on 32×32", two),
        Case(
            (16, 16, 3, 16, 32),
            "a 3×3 layer, 16 → 32 channels on 16×16",
            "each output value sums k·k·C_in products",
        ),
        Case((8, 8, 1, 64, 1), "a 1×1 layer, 64 → 1 channel", two),
        Case(
            (5, 7, 5, 3, 2),
            "a 5×5 layer on a non-square 5×7 input",
            "'same': the output has the input's height × width",
        ),
    ]


def _psnr_cases() -> list[Case]:
    rng = _rng(7)
    made = []
    for shape, noise, about in (
        ((8, 32, 32, 1), 0.05, "8 images, light noise"),
        ((3, 16, 16, 1), 0.2, "3 images, heavy noise"),
    ):
        clean = rng.random(shape)
        noisy = np.clip(clean + noise * rng.standard_normal(shape), 0, 1)
        made.append(
            Case(
                (clean, noisy),
                about,
                "one mean squared error over every pixel of "
                "every image, then 10·log10(1 / MSE) — not the mean of per-image PSNRs",
            )
        )
    return made


def _psnr(images, reconstructions):
    from utils import metrics

    return metrics.psnr(images, reconstructions)


EXERCISES = {
    spec.exercise: spec
    for spec in (
        ValueExercise(
            "01.1",
            _constant((12, 13)),
            _first_wrong(
                (12, 13),
                (
                    "valid: ⌊(n − k_eff)/s⌋ + 1 positions — round down, then count the first",
                    "same: ⌈n/s⌉ — the output length does not depend on the kernel",
                ),
                "answer (valid, same): two lengths",
            ),
        ),
        ValueExercise(
            "01.2",
            _constant([[12, 16], [24, 28]]),
            _when(
                {},
                "L = ΣY makes G all ones, so ∂L/∂K(m, n) is the sum of X over the "
                "window shifted by (m, n)",
            ),
        ),
        ValueExercise(
            "01.3",
            _constant(15),
            _when(
                {7: "7 is the undilated stack: a dilated layer adds d·(k − 1), not k − 1"},
                "each layer adds d·(k − 1) to the receptive field; the jump stays 1",
            ),
        ),
        FunctionExercise("01.4", _keras_same, _conv_same_cases),
        FunctionExercise("01.5", _maxpool_backward, _maxpool_cases),
        ValueExercise(
            "02.1",
            _constant((11, 10)),
            _first_wrong(
                (11, 10),
                ("valid: the full scatter, (n − 1)·s + k", "same: exactly n·s"),
                "answer (valid, same): two lengths",
            ),
        ),
        ValueExercise(
            "02.2",
            _constant([0, 1, 3, 4]),
            _when(
                {
                    (0, 4 / 3, 8 / 3, 4): "that is align-corners interpolation: Keras puts output "
                    "i at (i + ½)/r − ½ in input coordinates"
                },
                "half-pixel centres: the outputs sit at u = −0.25, 0.25, 0.75, 1.25, and "
                "positions outside [0, 1] take the edge value",
            ),
        ),
        ValueExercise(
            "02.3",
            _constant([2, 4, 6]),
            _when(
                {(1, 2, 4, 6): "size 1 leaves gaps between the copies: counts 0 and 1"},
                "the copies overlap evenly when the kernel size is a multiple of the stride",
            ),
        ),
        ValueExercise(
            "02.4",
            _constant([1, 1, 3, 2, 5, 3, 3]),
            _when(
                {},
                "copies of the kernel, scaled by 1, 2 and 3, start s = 2 apart: add them "
                "where they overlap",
            ),
        ),
        FunctionExercise("02.5", references.conv_matrix, _matrix_cases),
        FunctionExercise("02.6", _transpose_reference, _transpose_cases),
        ValueExercise(
            "03.1",
            _constant((0.6, 15 / 35)),
            _first_wrong(
                (0.6, 15 / 35),
                (
                    "Dice = 2|A∩B| / (|A| + |B|)",
                    "IoU = |A∩B| / |A∪B|, with |A∪B| = |A| + |B| − |A∩B|",
                ),
                "answer (Dice, IoU)",
            ),
            atol=1e-3,
        ),
        ValueExercise(
            "03.2",
            _everything_foreground,
            _when(
                {},
                "per image, foreground everywhere gets exactly the foreground pixels right "
                "(accuracy f) and has TP = |A|, FP = the background (Dice 2f/(1 + f)); then the "
                "mean over the images",
            ),
            rtol=1e-3,
        ),
        FunctionExercise("03.3", _hausdorff, _hausdorff_cases),
        FunctionExercise("03.4", _count_cells, _cell_cases),
        ValueExercise(
            "04.1",
            _constant(442_496),
            _when(
                {
                    147_584: "the first decoder convolution sees the concatenation: the skip's "
                    "channels plus the upsampled ones",
                    442_368: "add one bias per filter",
                },
                "3·3 · (input channels) · filters + filters, where the input is the "
                "concatenation of the skip and the upsampled tensor",
            ),
        ),
        ValueExercise(
            "04.2",
            _constant([96, 128]),
            _when({}, "four 2×2 poolings halve the side four times: it must divide by 2⁴"),
        ),
        ValueExercise(
            "04.3",
            _constant(140),
            _when(
                {},
                "a layer adds (k − 1)·j, then multiplies the jump j by its stride: each "
                "pooling doubles the jump the next convolutions add",
            ),
        ),
        FunctionExercise(
            "04.6", references.decoder_block, _decoder_cases, block=True, rtol=1e-4, atol=1e-5
        ),
        FunctionExercise("04.7", references.soft_dice_loss, _dice_cases, rtol=1e-4),
        ValueExercise(
            "05.1",
            _constant(15),
            _when(
                {9: "9 is the UNet of the same depth: UNet++ fills the triangle"},
                "row i of the grid holds L + 1 − i nodes",
            ),
        ),
        ValueExercise(
            "05.2",
            _constant(192),
            _when(
                {128: "x^{1,2} concatenates x^{1,0}, x^{1,1} and the upsampled x^{2,1}"},
                "count every tensor concatenated into the node, and each one's channels",
            ),
        ),
        ValueExercise(
            "05.3",
            _constant(["x00", "x01", "x10"]),
            _when({}, "the sub-network L1 keeps the nodes x^{i,j} with i + j ≤ 1"),
        ),
        FunctionExercise(
            "05.4", references.unet_plus_plus_node, _node_cases, block=True, rtol=1e-4, atol=1e-5
        ),
        FunctionExercise("05.5", references.deep_supervision_loss, _supervision_cases, rtol=1e-4),
        ValueExercise(
            "06.1",
            _constant(0.5),
            _when({}, "KL = −½ Σ (1 + log σ² − μ² − σ²), here with μ = 1 and log σ² = 0"),
        ),
        ValueExercise(
            "06.2",
            _constant(2_097_168),
            _when(
                {2_097_152: "add one bias per latent dimension"},
                "z_mean is a Dense layer of 16 on the flattened 32·32·128 features",
            ),
        ),
        ValueExercise(
            "06.3",
            _constant(1024),
            _when({}, "a mean divides the reconstruction term by the number of pixels"),
        ),
        FunctionExercise("06.4", references.reparameterise, _sample_cases),
        FunctionExercise("06.5", references.negative_elbo, _elbo_cases, rtol=1e-4),
        ValueExercise(
            "07.1",
            _constant(16_384),
            _when({}, "the bottleneck holds 32·32·256 numbers; divide by the VAE's 16"),
        ),
        ValueExercise(
            "07.2",
            _constant(16_384),
            _when({}, "one probability per pixel of the 128×128 image"),
        ),
        FunctionExercise("07.3", references.conv_flops, _flops_cases),
        FunctionExercise("07.4", _psnr, _psnr_cases),
    )
}


def exercises_of(notebook: str) -> list[str]:
    """The exercise ids of a notebook ('01' or '01_convolution_by_hand'), in order."""
    number = notebook[:2]
    return [exercise for exercise in EXERCISES if exercise.startswith(f"{number}.")]

"""The inputs the coding exercises are checked on: each `Case` with what it is about, in words, and
the hint a learner gets when their function fails on it (`utils.answers` pairs them with the
references). Chosen to tell the common mistakes apart: even and odd kernels, empty masks, one
head and several, batches of one.
"""

from __future__ import annotations

import numpy as np

from utils.exercises import Case

__all__ = [
    "cell_cases",
    "conv_same_cases",
    "decoder_cases",
    "dice_cases",
    "elbo_cases",
    "flops_cases",
    "hausdorff_cases",
    "matrix_cases",
    "maxpool_cases",
    "node_cases",
    "psnr_cases",
    "sample_cases",
    "supervision_cases",
    "transpose_cases",
]


def _rng(seed: int):
    return np.random.default_rng(seed)


def conv_same_cases() -> list[Case]:
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


def maxpool_cases() -> list[Case]:
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


def matrix_cases() -> list[Case]:
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


def transpose_cases() -> list[Case]:
    made = []
    rng = _rng(22)
    for case in matrix_cases():
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


def _discs():
    rows, cols = np.mgrid[:24, :24]
    disc = (rows - 10) ** 2 + (cols - 11) ** 2 < 36
    small_disc = (rows - 13) ** 2 + (cols - 9) ** 2 < 25
    two_squares = np.zeros((24, 24), bool)
    two_squares[2:8, 2:8] = two_squares[15:22, 14:20] = True
    inner = (rows - 10) ** 2 + (cols - 11) ** 2 < 4
    return disc, small_disc, two_squares, inner


def hausdorff_cases() -> list[Case]:
    disc, small_disc, two_squares, inner = _discs()
    both_ways = (
        "both directions: from each boundary pixel of a to the nearest of b's, and from b's "
        "to a's; the larger of the two maxima"
    )
    return [
        Case(
            (disc, small_disc),
            "two overlapping discs",
            "between boundary pixels (metrics.boundary of each mask), in " + both_ways,
        ),
        Case((disc, two_squares), "a disc against two squares far apart", both_ways),
        Case((inner, disc), "a small disc inside a large one", both_ways),
        Case((two_squares, inner), "two squares against a small disc", both_ways),
    ]


def cell_cases() -> list[Case]:
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


def decoder_cases() -> list[Case]:
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
            "the skip first, then x upsampled by a 2×2 transposed convolution of stride 2 (linear)",
        ),
    ]


def _masks(rng, fraction: float, empty: int) -> np.ndarray:
    """Three random 8 x 8 masks (about `fraction` foreground), mask number `empty` left empty."""
    masks = (rng.random((3, 8, 8, 1)) > 1 - fraction).astype(np.float32)
    masks[empty] = 0
    return masks


def dice_cases() -> list[Case]:
    rng = _rng(1)
    masks = _masks(rng, 0.3, empty=0)
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
            "one loss per image; a perfect one scores 0, the empty mask too, thanks to the 1s of "
            "the smoothing in numerator and denominator",
        ),
        Case(
            (masks[1:], np.clip(masks[1:] + 0.3, 0, 1)),
            "a near-right prediction of two images",
            per_image,
        ),
    ]


def node_cases() -> list[Case]:
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


def supervision_cases() -> list[Case]:
    rng = _rng(1)
    masks = _masks(rng, 0.4, empty=2)
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
            "the sum over the two heads; per head, ½·BCE + 1 − soft Dice per image, averaged over "
            "the batch",
        ),
    ]


def sample_cases() -> list[Case]:
    rng = _rng(6)
    sigma = "σ = exp(½ log σ²): the encoder outputs the log-variance, not σ"
    return [
        Case(tuple(rng.standard_normal((3, 4, 16))), "a batch of 4 codes of 16", sigma),
        Case(tuple(rng.standard_normal((3, 1, 2))), "one code of 2", sigma),
    ]


def elbo_cases() -> list[Case]:
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


def flops_cases() -> list[Case]:
    two = "2 FLOPs per multiply-add; the bias is not counted"
    return [
        Case((32, 32, 3, 1, 8), "a 3×3 layer, 1 → 8 channels on 32×32", two),
        Case(
            (16, 16, 3, 16, 32),
            "a 3×3 layer, 16 → 32 channels on 16×16",
            "each output value sums k·k·C_in products, 2 FLOPs per multiply-add",
        ),
        Case((8, 8, 1, 64, 1), "a 1×1 layer, 64 → 1 channel", two),
        Case(
            (5, 7, 5, 3, 2),
            "a 5×5 layer on a non-square 5×7 input",
            "'same': the output has the input's height × width; 2 FLOPs per multiply-add",
        ),
    ]


def psnr_cases() -> list[Case]:
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

"""The answer key: each exercise's reference, its cases and the hints a wrong answer gets.

Reading this module is reading the answers: the notebooks never show them. `utils.exercises.check`
and `check_function` judge a learner's answer with it; `make grade` judges a submission with it
outside the submission's sandbox, where this module is not visible. tests/test_answers.py proves
every reference against the course's own code (the expressions the exercises are about).
"""

from __future__ import annotations

import numpy as np

from utils import cases, config, references
from utils.exercises import FunctionExercise, ValueExercise

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


EXERCISES = {
    spec.exercise: spec
    for spec in (
        ValueExercise(
            "00.0",
            lambda profile: config.PROFILES["cpu"].num_train,
            _when({}, "the profiles' table: the cpu row, the column of training images"),
        ),
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
        FunctionExercise("01.4", references.keras_same, cases.conv_same_cases),
        FunctionExercise("01.5", references.maxpool_backward, cases.maxpool_cases),
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
        FunctionExercise("02.5", references.conv_matrix, cases.matrix_cases),
        FunctionExercise("02.6", references.transpose_by_matrix, cases.transpose_cases),
        ValueExercise(
            "02a.1",
            _constant((0.0037, 0.3963)),
            _first_wrong(
                (0.0037, 0.3963),
                (
                    "low = mean − t·s/√n, with s the standard deviation over n − 1",
                    "high = mean + t·s/√n: the interval is symmetric about the mean",
                ),
                "answer (low, high): the interval's two ends, in dB",
            ),
            atol=0.002,
        ),
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
            references.everything_foreground,
            _when(
                {},
                "per image, foreground everywhere gets exactly the foreground pixels right "
                "(accuracy f) and has TP = |A|, FP = the background (Dice 2f/(1 + f)); then the "
                "mean over the images",
            ),
            rtol=1e-3,
        ),
        FunctionExercise("03.3", references.hausdorff, cases.hausdorff_cases),
        FunctionExercise("03.4", references.count_cells, cases.cell_cases),
        ValueExercise(
            "03a.1",
            _constant((0.8757, 0.9788)),
            _first_wrong(
                (0.8757, 0.9788),
                (
                    "the shift: compare the grid with np.roll(grid, 1, axis=1)",
                    "the gap: one membrane pixel set to 0 joins two cells",
                ),
                "answer (V_rand of the shifted grid, V_rand of the grid with a gap)",
            ),
            atol=2e-3,
        ),
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
            "04.6", references.decoder_block, cases.decoder_cases, block=True, rtol=1e-4, atol=1e-5
        ),
        FunctionExercise("04.7", references.soft_dice_loss, cases.dice_cases, rtol=1e-4),
        ValueExercise(
            "04a.1",
            _constant(153),
            _when(
                {
                    45: "that is the stride of 16 px; halve it",
                    136: "count the positions per axis: (side − window) / stride + 1",
                },
                "(192 − 64) / 8 + 1 positions down, (128 − 64) / 8 + 1 across: multiply them",
            ),
        ),
        ValueExercise(
            "04b.1",
            _constant(64),
            _when(
                {44: "that is two convolutions per block: add the third one's (k − 1)·j"},
                "notebook 01's recurrence: each 3×3 convolution adds 2·j, each pooling adds j and "
                "doubles it, each ×2 upsampling halves it",
            ),
        ),
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
            "05.4",
            references.unet_plus_plus_node,
            cases.node_cases,
            block=True,
            rtol=1e-4,
            atol=1e-5,
        ),
        FunctionExercise(
            "05.5", references.deep_supervision_loss, cases.supervision_cases, rtol=1e-4
        ),
        ValueExercise(
            "05a.1",
            _constant(32_161),
            _when(
                {
                    6_425: "6,425 is L1: L2 also keeps x02, x11 and x20",
                    566_001: "that is all of L4",
                },
                "L2 keeps the nodes with i + j <= 2, with their heads' weights: count its layers",
            ),
        ),
        ValueExercise(
            "05b.1",
            _constant(float(np.sqrt(2.46))),
            _when(
                {2.46: "that multiplies the FLOPs by 2.46 twice: both channel counts grow"},
                "a convolution's FLOPs grow with the product of its input and output channels",
            ),
            rtol=0.01,
            atol=0.01,
        ),
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
        FunctionExercise("06.4", references.reparameterise, cases.sample_cases),
        FunctionExercise("06.5", references.negative_elbo, cases.elbo_cases, rtol=1e-4),
        ValueExercise(
            "06a.1",
            _constant(2.56),
            _when(
                {
                    0.64: "the gradient is 2z, not z: Var(2z) = 4·Var(z)",
                    1.6: "variance, not standard deviation: square the 2σ",
                },
                "the pathwise gradient of E[z²] is 2z with z = μ + σε: its variance is 4σ²",
            ),
            rtol=1e-3,
        ),
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
        FunctionExercise("07.3", references.conv_flops, cases.flops_cases),
        FunctionExercise("07.4", references.psnr, cases.psnr_cases),
    )
}


def exercises_of(notebook: str) -> list[str]:
    """The exercise ids of a notebook ('01', '01_convolution_by_hand', or an appendix's '04a_...'),
    in order."""
    prefix = notebook.split("_")[0]
    return [exercise for exercise in EXERCISES if exercise.rsplit(".", 1)[0] == prefix]

"""Tests of utils/answers.py: the answer key is right, and the notebooks never show it.

Each reference is checked against the course's own code (the expressions an exercise is about),
each coding exercise's reference passes its own cases, and no exercise cell computes, holds or
prints an expected value.
"""

import ast
import json

import numpy as np
import pytest

from tools import classroom
from tools.course import NOTEBOOK_DIR, NOTEBOOKS
from utils import answers, config, data, metrics, models, ops
from utils.exercises import FunctionExercise, ValueExercise, _call, judge_function

CPU = config.get_profile("cpu")


def expected(exercise, profile=CPU):
    return answers.EXERCISES[exercise].expected(profile)


def test_value_references_are_the_course_own_computations():
    n_k_s = (37, 4, 3)
    assert expected("01.1") == (
        ops.conv_output_length(*n_k_s, "valid"),
        ops.conv_output_length(*n_k_s, "same"),
    )
    X = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
    window_sums = ops.conv2d(X, np.ones((2, 2, 1, 1), np.float32))[0, :, :, 0]
    np.testing.assert_array_equal(expected("01.2"), window_sums)
    assert expected("01.3") == ops.receptive_field([(3, 1, 1), (3, 1, 2), (3, 1, 4)])[0]
    assert expected("02.1") == (
        ops.conv_transpose_output_length(5, 3, 2, "valid"),
        ops.conv_transpose_output_length(5, 3, 2, "same"),
    )
    signal = np.array([0, 4], np.float32).reshape(1, 1, 2, 1)
    np.testing.assert_allclose(expected("02.2"), ops.upsample_bilinear(signal, (1, 2)).ravel())

    def even_overlap(k):
        ones = np.ones((k, k, 1, 1), np.float32)
        counts = ops.conv2d_transpose(np.ones((1, 6, 6, 1), np.float32), ones, strides=2)
        interior = counts[0, k:-k, k:-k, 0]
        return interior.min() == interior.max()

    assert expected("02.3") == [k for k in range(1, 7) if even_overlap(k)]
    row, kernel = np.array([[1, 2, 3]], np.float32), np.array([[1, 1, 1]], np.float32)
    scatter = ops.conv2d_transpose(row[None, :, :, None], kernel[:, :, None, None], strides=2)
    np.testing.assert_array_equal(expected("02.4"), scatter[0, 0, :, 0])
    np.testing.assert_allclose(expected("03.1"), (2 * 15 / (30 + 20), 15 / (30 + 20 - 15)))
    conv, pool = (3, 1), (2, 2)
    assert expected("04.3") == ops.receptive_field([conv, conv] + [pool, conv, conv] * 4)[0]
    assert float(metrics.gaussian_kl(np.array([1.0]), np.array([0.0]))) == expected("06.1")
    assert expected("06.3") == 32 * 32 and expected("07.1") == 32 * 32 * 256 / 16


def test_value_references_of_the_appendices():
    grid = np.zeros((64, 64))
    grid[8::8, :] = grid[:, 8::8] = 1  # 8 x 8 cells, as exercise 03a.1 draws them
    gap = grid.copy()
    gap[4, 8] = 0
    scores = (metrics.v_rand(grid, np.roll(grid, 1, axis=1)), metrics.v_rand(grid, gap))
    np.testing.assert_allclose(expected("03a.1"), scores, atol=1e-4)
    windows = data.windows(np.zeros((192, 128), np.float32), 64, 8)  # appendix 04a's part
    assert len(windows) == expected("04a.1")
    conv, pool, up = (3, 1), (2, 2), (1, 0.5)
    three = [conv, conv, conv]
    layers = three + [pool] + three + [pool] + three + [up] + three + [up] + three
    assert ops.receptive_field(layers)[0] == expected("04b.1")
    epsilon = np.random.default_rng(0).standard_normal(400_000)
    pathwise = 2 * (1.5 + 0.8 * epsilon)  # d/dmu of z^2 at z = mu + sigma * eps, sigma = 0.8
    np.testing.assert_allclose(pathwise.var(), expected("06a.1"), rtol=0.02)


@pytest.mark.training  # builds the source's full-size models (a minute)
def test_value_references_of_the_models():
    assert models.build_unet().get_layer("decoder2_conv1").count_params() == expected("04.1")

    def accepts(side):
        try:
            models.build_unet((side, side, 1), (32, 64, 128, 256, 512))
            return True
        except ValueError:
            return False

    assert [side for side in (96, 100, 128, 200) if accepts(side)] == expected("04.2")
    small = models.build_unet_plus_plus((64, 64, 1), (8, 16, 32, 64, 128))
    assert sum(layer.name.endswith("_conv1") for layer in small.layers) == expected("05.1")
    paper = models.build_unet_plus_plus((96, 96, 1), deep_supervision=False)
    assert paper.get_layer("x12_concat").output.shape[-1] == expected("05.2")
    supervised = models.build_unet_plus_plus((32, 32, 1), (4, 8, 16, 32, 64), deep_supervision=True)
    pruned = models.prune_unet_plus_plus(supervised, 1)
    kept = sorted(layer.name[:3] for layer in pruned.layers if layer.name.endswith("_conv1"))
    assert kept == expected("05.3")
    # notebook 05's comparison models (cpu): the FLOPs ratio exercise 05b.1 states
    shape, filters = (32, 32, 1), models.scaled_filters(models.UNET_PLUS_PLUS_FILTERS, 0.25)
    unet_flops = models.flops_per_image(models.build_unet(shape, filters, upsampling="transpose"))
    nested = models.flops_per_image(
        models.build_unet_plus_plus(shape, filters, deep_supervision=False)
    )
    assert round(nested / unet_flops, 2) == 2.46
    widened = models.scaled_filters(filters, expected("05b.1"))
    wide = models.flops_per_image(models.build_unet(shape, widened, upsampling="transpose"))
    assert abs(wide / nested - 1) < 0.03  # rounding to whole channels, fixed first and last
    vae = models.build_vae()
    assert vae.encoder.get_layer("z_mean").count_params() == expected("06.2")
    assert int(np.prod(models.build_unet().output.shape[1:])) == expected("07.2")


def test_the_foreground_everywhere_reference_follows_the_profile():
    accuracy, dice = expected("03.2", config.get_profile("ci"))
    f = accuracy  # per image, accuracy is the foreground fraction
    assert 0 < f < 1 and dice > accuracy
    assert expected("03.2", config.get_profile("ci")) != expected("03.2", CPU)


@pytest.mark.parametrize(
    "exercise", [e for e, s in answers.EXERCISES.items() if isinstance(s, FunctionExercise)]
)
def test_every_coding_reference_passes_its_cases_and_a_wrong_answer_fails(exercise):
    spec = answers.EXERCISES[exercise]
    cases = spec.cases()
    assert len(cases) >= 2 and all(case.about and case.hint for case in cases)
    references = [_call(spec.reference, case, spec.block) for case in cases]
    assert not any(isinstance(r, dict) and "raised" in r for r in references), references
    outcome, summary, lines = judge_function(spec, cases, references, references)
    assert outcome == "correct" and summary == f"{len(cases)} of {len(cases)} cases pass"
    if not spec.block:
        wrong = [np.asarray(r, dtype=float) * 1.5 + 1 for r in references]
        outcome, _, lines = judge_function(spec, cases, wrong, references)
        assert outcome == "wrong" and all(line.startswith("✗") for line in lines)
        assert all(case.hint in line for case, line in zip(cases, lines, strict=True))


def test_value_hints_never_hold_the_answer():
    for exercise, spec in answers.EXERCISES.items():
        if isinstance(spec, ValueExercise):
            value = spec.expected(CPU)
            for wrong in (None, 0, [0], -1):
                hint = spec.hint(wrong)
                assert hint, exercise
                if exercise not in ("03.2",):
                    shown = [str(v) for v in np.ravel(np.asarray(value, dtype=object)) if str(v)]
                    assert not any(f" {v}" in f" {hint}" and len(v) > 1 for v in shown), (
                        exercise,
                        hint,
                    )


def exercise_cells(stem):
    notebook = json.loads((NOTEBOOK_DIR / f"{stem}.ipynb").read_text(encoding="utf-8"))
    student = classroom.student_copy(notebook)
    return [
        c
        for c in student["cells"]
        if c["cell_type"] == "code" and classroom.EXERCISE_TAG in classroom.tags(c)
    ]


@pytest.mark.parametrize(
    "stem", [s for s in NOTEBOOKS if s[:2] in {e[:2] for e in answers.EXERCISES}]
)
def test_no_exercise_cell_computes_or_shows_its_answer(stem):
    checked = set()
    for cell in exercise_cells(stem):
        source = "".join(cell["source"])
        assert cell["outputs"] == []  # the student copy shows no output
        assert "references" not in source and "answers" not in source
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "exercise":
                checked.add(node.value.value)
        calls = [n for n in tree.body if isinstance(n, ast.Expr)]
        if any(isinstance(n, ast.Assign) and ast.unparse(n) == "answer = None" for n in tree.body):
            # A value exercise: `answer = None`, its check, and at most the data it is about.
            others = [n for n in tree.body if n not in calls and ast.unparse(n) != "answer = None"]
            allowed = ("splits[", "from utils.exercises import check")
            assert all(any(a in ast.unparse(n) for a in allowed) for n in others), others
            assert [ast.unparse(n) for n in calls] == [
                f"check(answer, exercise={sorted(checked)[-1]!r})"
            ]
        elif calls:  # a coding exercise: its stub and its check, nothing else
            assert all(isinstance(n, (ast.FunctionDef, ast.Expr)) for n in tree.body)
            stub = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
            assert len(stub) == 1 and ast.unparse(stub[0].body[-1]) == "return None"
    number = stem.split("_")[0]  # "05", or an appendix's "05a"
    assert checked == set(answers.exercises_of(number)), (stem, checked)


def test_the_interval_of_exercise_02a_1_is_the_verdict_rule():
    from utils import experiments

    differences = [0.1, 0.3, 0.2, 0.4, 0.0]
    _, low, high = experiments.interval(differences)
    np.testing.assert_allclose(expected("02a.1"), (low, high), atol=1e-4)
    first = experiments.SeedRuns("A", list(range(5)), [{"PSNR gain": d} for d in differences])
    second = experiments.SeedRuns("B", list(range(5)), [{"PSNR gain": 0.0}] * 5)
    assert experiments.verdict(first, second, "PSNR gain").outcome == "undetermined"

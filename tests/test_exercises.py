"""Tests of utils/exercises.py."""

import json

import numpy as np
import pytest

from utils.exercises import check, check_function, decode, encode


def verdict(capsys, *args, **kwargs) -> str:
    check(*args, **kwargs)
    return capsys.readouterr().out


def test_unanswered_is_reported_not_raised(capsys):
    assert "not answered yet" in verdict(capsys, None, 3)


def test_right_and_wrong_numbers(capsys):
    assert "x: correct" in verdict(capsys, np.array([1.0, 2.0]), [1.0, 2.0 + 1e-9], name="x")
    assert "values differ" in verdict(capsys, [1.0, 2.5], [1.0, 2.0])


def test_shape_mismatch_is_explained(capsys):
    out = verdict(capsys, np.zeros((2, 3)), np.zeros((3, 2)))
    assert "answer 6 values" in out


def test_strings_compare_exactly(capsys):
    assert "correct" in verdict(capsys, "cpu", "cpu")
    assert "not yet" in verdict(capsys, "gpu", "cpu")


def test_strict_raises_for_solutions():
    with pytest.raises(AssertionError, match="a different value"):
        check(1.0, 2.0, strict=True)
    with pytest.raises(AssertionError, match="not answered"):
        check(None, 2.0, strict=True)


def test_lists_of_strings_compare_exactly(capsys):
    check(["x00", "x10"], ["x00", "x10"])
    check(["x00"], ["x00", "x10"])
    out = capsys.readouterr().out.splitlines()
    assert "✓" in out[0] and "not yet" in out[1]


def reference_double(x):
    return 2 * x


CASES = [(np.arange(3.0),), (np.ones((2, 2)),)]


def test_a_function_is_checked_on_the_checkers_own_inputs(capsys):
    check_function(lambda x: x + x, reference_double, CASES, name="Exercise 9")
    assert capsys.readouterr().out == (
        "Exercise 9: correct ✓ (2 of 2 cases pass)\n  ✓ case 1\n  ✓ case 2\n"
    )


def test_a_wrong_function_is_told_which_case_and_value(capsys):
    check_function(lambda x: x * x if x.ndim == 1 else x + x, reference_double, CASES, name="Ex 9")
    out = capsys.readouterr().out
    assert "not yet ✗ (1 of 2 cases pass)" in out  # every case listed, passed or not
    assert "✗ case 1: 1 of 3 values differ (the first at index (1,))" in out
    assert "✓ case 2" in out and "expected" not in out
    check_function(lambda x: x[:1] * 2, reference_double, CASES, name="Exercise 9")
    assert "shape (1,), where the case needs (3,)" in capsys.readouterr().out


def test_a_function_that_raises_or_is_a_stub_is_reported(capsys):
    check_function(lambda x: x.nope, reference_double, CASES, name="Exercise 9")
    assert "it raised AttributeError" in capsys.readouterr().out
    check_function(lambda x: None, reference_double, CASES, name="Exercise 9")
    assert "Exercise 9: not answered yet" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="not answered yet"):
        check_function(lambda x: None, reference_double, CASES, strict=True)
    with pytest.raises(ValueError, match="cases must hold at least one"):
        check_function(reference_double, reference_double, [])


def test_the_learners_function_cannot_change_the_checkers_inputs(capsys):
    def in_place(x):
        x *= 2
        return x

    case = np.arange(3.0)
    check_function(in_place, reference_double, [(case,)], name="e")
    assert "correct" in capsys.readouterr().out
    np.testing.assert_array_equal(case, np.arange(3.0))


def test_lists_of_arrays_are_described_and_copied(capsys):
    def first_doubled_in_place(arrays):
        arrays[0] *= 2
        return arrays[0]

    case = [np.arange(3.0), np.arange(3.0)]
    check_function(first_doubled_in_place, lambda arrays: arrays[0] * 2, [(case,)], name="e")
    assert "correct" in capsys.readouterr().out
    np.testing.assert_array_equal(case[0], np.arange(3.0))
    check_function(lambda arrays: arrays[1], lambda arrays: arrays[0] * 2, [(case,)], name="e")
    assert "✗ case 1: 2 of 3 values differ" in capsys.readouterr().out


def test_graded_checks_record_plain_data_and_judge_nothing(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COURSE_GRADING_DIR", str(tmp_path))
    (tmp_path / "cases.json").write_text(
        json.dumps(
            {"01.4": {"block": False, "cases": [encode((np.ones((3, 3)), np.ones((2, 2))))]}}
        )
    )
    check((12, 13), exercise="01.1")
    check_function(lambda X, K: X[:2, :2] * K, exercise="01.4")
    check_function(lambda X, K: 1 / 0, exercise="01.4")
    out = capsys.readouterr().out
    assert "correct" not in out and "recorded for grading" in out
    entries = [json.loads(line) for line in (tmp_path / "answers.jsonl").read_text().splitlines()]
    assert decode(entries[0]["answer"]) == (12, 13) and "outcome" not in entries[0]
    assert decode(entries[1]["results"])[0].shape == (2, 2)
    assert decode(entries[2]["results"]) == [{"raised": "ZeroDivisionError: division by zero"}]


def test_encode_and_decode_plain_data_only():
    value = (1, 2.5, "x", None, [np.arange(6, dtype=np.float32).reshape(2, 3)], {"a": True})
    back = decode(json.loads(json.dumps(encode(value))))
    assert back[:4] == (1, 2.5, "x", None) and back[5] == {"a": True}
    np.testing.assert_array_equal(back[4][0], value[4][0])
    assert decode(encode(object())).name == "object"  # never pickled: a name that matches nothing
    for bad in (
        {"array": "AAAA", "dtype": "object", "shape": [1]},
        {"eval": "1"},
        {"a": 1, "b": 2},
    ):
        with pytest.raises(ValueError):
            decode(bad)
    with pytest.raises(ValueError, match="larger than"):
        decode({"array": "", "dtype": "float64", "shape": [10**9]})


def test_the_key_judges_with_hints_never_the_answer(capsys):
    check((13, 13), exercise="01.1")
    check(None, exercise="01.3")
    check(15, exercise="01.3")
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0]
        == "Exercise 1: not yet ✗ (valid: ⌊(n − k_eff)/s⌋ + 1 positions — round down, then count "
        "the first)"
    )
    assert out[1].startswith("Exercise 3: not answered yet") and out[2] == "Exercise 3: correct ✓"
    with pytest.raises(ValueError, match="exercise must be one of"):
        check(1, exercise="99.1")
    with pytest.raises(ValueError, match="use check_function"):
        check(1, exercise="01.4")

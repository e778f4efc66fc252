"""Tests of utils/exercises.py."""

import json

import numpy as np
import pytest

from utils.exercises import check, check_function


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
    assert "expected shape (3, 2), got (2, 3)" in out


def test_strings_compare_exactly(capsys):
    assert "correct" in verdict(capsys, "cpu", "cpu")
    assert "not yet" in verdict(capsys, "gpu", "cpu")


def test_strict_raises_for_solutions():
    with pytest.raises(AssertionError, match="values differ"):
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
    assert capsys.readouterr().out == "Exercise 9: correct ✓\n"


def test_a_wrong_function_is_told_which_case_and_value(capsys):
    check_function(lambda x: x * x, reference_double, CASES, name="Exercise 9")
    out = capsys.readouterr().out
    assert "not yet ✗ (on case 1 (array of shape (3,)): 1 of 3 values differ" in out
    assert "the first at index (1,): expected 2, got 1" in out
    check_function(lambda x: x[:1] * 2, reference_double, CASES, name="Exercise 9")
    assert "expected shape (3,), got (1,)" in capsys.readouterr().out


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
    assert "on case 1 (list of 2 arrays of shape (3,)):" in capsys.readouterr().out


def test_verdicts_go_to_the_grade_log(monkeypatch, tmp_path, capsys):
    log = tmp_path / "grades.jsonl"
    monkeypatch.setenv("COURSE_GRADE_LOG", str(log))
    check(None, 1, name="Exercise 1")
    check(2, 1, name="Exercise 2")
    check_function(reference_double, reference_double, CASES, name="Exercise 3")
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["exercise"], e["outcome"]) for e in entries] == [
        ("Exercise 1", "unanswered"),
        ("Exercise 2", "wrong"),
        ("Exercise 3", "correct"),
    ]
    assert entries[1]["message"] == "values differ: expected 1, got 2"

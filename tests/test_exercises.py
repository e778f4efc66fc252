"""Tests of utils/exercises.py."""

import numpy as np
import pytest

from utils.exercises import check


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

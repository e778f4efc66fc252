"""Checking a learner's exercise answers: a friendly verdict, never a traceback.

Two kinds of exercise. A value: the cell starts with `answer = None`; the learner fills it in and
runs `check(answer, expected, name=...)`. A function: the cell defines a stub that returns None;
the learner writes its body and `check_function(function, reference, cases, name=...)` calls it on
inputs of the checker's own and compares every result with the reference's. Worked solutions
assert with `strict=True`, so CI proves they are right.

Every verdict is printed ("Exercise 2: correct ✓", "… not yet ✗ (why)", "… not answered yet") and,
when the environment variable COURSE_GRADE_LOG names a file, appended to it as one JSON line:
how `make grade` reads a submission's results without parsing its output.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterable

import numpy as np

__all__ = [
    "OUTCOMES",
    "check",
    "check_function",
]

#: The three outcomes of a check, as `make grade` reports them.
OUTCOMES = ("correct", "wrong", "unanswered")


def _is_text(value) -> bool:
    """True for sequences of strings (compared exactly, not numerically)."""
    return isinstance(value, (list, tuple)) and any(isinstance(item, str) for item in value)


def _record(name: str, outcome: str, message: str) -> None:
    """Append one verdict to $COURSE_GRADE_LOG, if set (one JSON object a line)."""
    path = os.environ.get("COURSE_GRADE_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            entry = {"exercise": name, "outcome": outcome, "message": message}
            log.write(json.dumps(entry, ensure_ascii=False) + "\n")


def _verdict(name: str, outcome: str, detail: str, strict: bool) -> None:
    """Print, record and (if `strict` and not correct) raise one verdict."""
    if outcome == "correct":
        message = f"{name}: correct ✓"
    elif outcome == "unanswered":
        message = f"{name}: not answered yet ({detail})"
    else:
        message = f"{name}: not yet ✗ ({detail})"
    _record(name, outcome, detail)
    if strict and outcome != "correct":
        raise AssertionError(message)
    print(message)


def _show(value) -> str:
    """A number with 6 significant digits; anything else as its repr."""
    try:
        return format(value, ".6g")
    except (TypeError, ValueError):
        return repr(value)


def _compare(answer, expected, rtol: float, atol: float) -> str | None:
    """None when `answer` matches `expected`; otherwise what is off (shape, or where and how)."""
    try:
        if isinstance(expected, (str, bool)) or expected is None or _is_text(expected):
            return None if answer == expected else f"expected {expected!r}, got {answer!r}"
        answer_array, expected_array = np.asarray(answer), np.asarray(expected)
        if answer_array.shape != expected_array.shape:
            return f"expected shape {expected_array.shape}, got {answer_array.shape}"
        close = np.isclose(answer_array, expected_array, rtol=rtol, atol=atol)
        if close.all():
            return None
        if expected_array.ndim == 0:
            expected_value, answer_value = _show(expected_array.item()), _show(answer_array.item())
            return f"values differ: expected {expected_value}, got {answer_value}"
        index = tuple(int(i) for i in np.argwhere(~close)[0])
        return (
            f"{int((~close).sum())} of {close.size} values differ; the first at index {index}: "
            f"expected {_show(expected_array[index])}, got {_show(answer_array[index])}"
        )
    except (TypeError, ValueError) as error:
        return f"could not compare: {error}"


def check(
    answer,
    expected,
    *,
    name: str = "answer",
    rtol: float = 1e-5,
    atol: float = 1e-6,
    strict: bool = False,
) -> None:
    """Compare `answer` with `expected`; print a verdict (raise AssertionError if `strict` and
    it is not correct). Returns nothing, so a cell that ends with it shows only the verdict."""
    if answer is None:
        _verdict(name, "unanswered", "replace None with your answer", strict)
        return
    problem = _compare(answer, expected, rtol, atol)
    _verdict(name, "wrong" if problem else "correct", problem or "", strict)


def _describe(arguments: tuple) -> str:
    """A case's arguments in a few words: arrays by their shape, the rest by their value."""
    parts = []
    for value in arguments:
        if isinstance(value, np.ndarray):
            parts.append(f"array of shape {value.shape}")
        elif (
            isinstance(value, (list, tuple))
            and value
            and all(isinstance(item, np.ndarray) for item in value)
        ):
            shapes = {item.shape for item in value}
            shape = f" of shape {shapes.pop()}" if len(shapes) == 1 else ""
            parts.append(f"list of {len(value)} arrays{shape}")
        else:
            text = repr(value)
            parts.append(text if len(text) <= 40 else text[:37] + "...")
    return ", ".join(parts)


def check_function(
    function: Callable,
    reference: Callable,
    cases: Iterable[tuple],
    *,
    name: str = "function",
    rtol: float = 1e-5,
    atol: float = 1e-6,
    strict: bool = False,
) -> None:
    """Call the learner's `function` on each case (a tuple of arguments, chosen by the checker)
    and compare its result with `reference`'s; print one verdict naming the first case whose
    shape or values are off, or what the function raised. A function that returns None for
    every case is "not answered yet"; `strict` raises AssertionError unless all are correct."""
    cases = [case if isinstance(case, tuple) else (case,) for case in cases]
    if not cases:
        raise ValueError("cases must hold at least one tuple of arguments")
    results = []
    for number, case in enumerate(cases, start=1):
        copies = copy.deepcopy(case)  # so a function that works in place cannot change a case
        try:
            results.append(function(*copies))
        except Exception as error:  # a learner's bug is a verdict, not a traceback
            detail = (
                f"on case {number} ({_describe(case)}) it raised {type(error).__name__}: {error}"
            )
            _verdict(name, "wrong", detail, strict)
            return
    if all(result is None for result in results):
        _verdict(name, "unanswered", "write the function's body; it returns None", strict)
        return
    for number, (case, result) in enumerate(zip(cases, results, strict=True), start=1):
        problem = _compare(result, reference(*case), rtol, atol)
        if problem:
            _verdict(name, "wrong", f"on case {number} ({_describe(case)}): {problem}", strict)
            return
    _verdict(name, "correct", f"{len(cases)} cases", strict)

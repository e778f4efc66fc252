"""Checking a learner's exercise answers: a friendly verdict, never a traceback.

Exercise cells start with `answer = None`; the learner fills it in and runs `check(...)`.
Worked solutions assert with `check(..., strict=True)` so CI proves they are right.
"""

from __future__ import annotations

import numpy as np


def _is_text(value) -> bool:
    """True for sequences of strings (compared exactly, not numerically)."""
    return isinstance(value, (list, tuple)) and any(isinstance(item, str) for item in value)


def check(
    answer,
    expected,
    *,
    name: str = "answer",
    rtol: float = 1e-5,
    atol: float = 1e-6,
    strict: bool = False,
) -> None:
    """Compare `answer` with `expected`; print a verdict (raise AssertionError if `strict`)."""
    if answer is None:
        message = f"{name}: not answered yet (replace None with your answer)"
        if strict:
            raise AssertionError(message)
        print(message)
        return
    try:
        if isinstance(expected, (str, bool)) or expected is None or _is_text(expected):
            ok, detail = answer == expected, f"expected {expected!r}, got {answer!r}"
        else:
            answer_array, expected_array = np.asarray(answer), np.asarray(expected)
            if answer_array.shape != expected_array.shape:
                ok = False
                detail = f"expected shape {expected_array.shape}, got {answer_array.shape}"
            else:
                ok = bool(np.allclose(answer_array, expected_array, rtol=rtol, atol=atol))
                detail = "values differ from the expected ones"
    except (TypeError, ValueError) as error:
        ok, detail = False, f"could not compare: {error}"
    if ok:
        print(f"{name}: correct ✓")
        return
    if strict:
        raise AssertionError(f"{name}: {detail}")
    print(f"{name}: not yet ✗ ({detail})")

"""Checking a learner's exercise answers: a verdict and a hint, never the answer, never a traceback.

Two kinds of exercise, both named by their id ("01.4": notebook 01, exercise 4), whose reference,
cases and hints live in `utils.answers` (the answer key: reading it is reading the answers).

- A value: the cell holds `answer = None`; the learner fills it in and runs
  `check(answer, exercise="01.1")`. A wrong answer gets a hint: what to reconsider.
- A function: the cell defines a stub that returns None; the learner writes its body and
  `check_function(function, exercise="01.4")` calls it on the key's cases and lists every case,
  passed or failed, with what the case is about.

Worked solutions pass `strict=True`, so CI proves they are right.
`check(answer, expected, name=...)` still compares with an `expected` of your own (for checks
outside the exercises).

Grading (`make grade`) runs a submission in a sandbox with $COURSE_GRADING_DIR set. Then nothing is
judged here: `check` records the answer and `check_function` the function's results on the cases
the grader put in that folder, as plain JSON (`encode`), and the grader judges them outside the
sandbox with `judge_value` / `judge_function`, the same code a learner's own check runs.
"""

from __future__ import annotations

import base64
import copy
import json
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "OUTCOMES",
    "Case",
    "FunctionExercise",
    "ValueExercise",
    "check",
    "check_function",
    "decode",
    "encode",
    "judge_function",
    "judge_value",
    "run_block",
]

#: The three outcomes of a check, as `make grade` reports them.
OUTCOMES = ("correct", "wrong", "unanswered")
#: Where a graded submission's checks record, instead of judging (set by the grader only).
GRADING_VARIABLE = "COURSE_GRADING_DIR"
_NOT_GIVEN = object()


# --- what an exercise is (the instances live in utils/answers.py) ---------------------------------


@dataclass(frozen=True)
class Case:
    """One input a coding exercise is checked on: its `arguments`, what it is `about` (in words),
    and the `hint` a learner gets when the function fails on it."""

    arguments: tuple
    about: str
    hint: str = ""


@dataclass(frozen=True)
class ValueExercise:
    """An exercise answered by a value: `expected(profile)` gives the reference; `hint(answer)`
    says what to reconsider about a wrong answer (never the answer)."""

    exercise: str
    expected: Callable
    hint: Callable
    rtol: float = 1e-5
    atol: float = 1e-6


@dataclass(frozen=True)
class FunctionExercise:
    """An exercise answered by a function: checked on `cases()` against `reference`. A `block`
    is a function of Keras tensors, run through `run_block` (the same fixed weights for both)."""

    exercise: str
    reference: Callable
    cases: Callable
    block: bool = False
    rtol: float = 1e-5
    atol: float = 1e-6


def title(exercise: str) -> str:
    """'01.4' -> 'Exercise 4' (how the notebooks number them)."""
    return f"Exercise {exercise.split('.')[-1]}"


def _key(exercise: str):
    """The answer key's entry for `exercise` (a ValueError naming the valid ids otherwise)."""
    from utils import answers

    if exercise not in answers.EXERCISES:
        raise ValueError(
            f"exercise must be one of the course's exercise ids ({', '.join(answers.EXERCISES)}), "
            f"got {exercise!r}"
        )
    return answers.EXERCISES[exercise]


def _profile():
    from utils import config

    return config.get_profile()


# --- plain data in and out of the sandbox: JSON, no pickle ----------------------------------------

_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
_DTYPES |= {"float16", "float32", "float64"}
#: The most numbers one recorded array may hold (a submission cannot make the grader run out).
MAX_ARRAY_SIZE = 4_000_000


def encode(value):
    """`value` as JSON-ready plain data: numbers, strings, lists, tuples, dicts of strings and
    NumPy arrays (tagged); anything else as its type's name, which never matches a reference."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else {"float": repr(number)}
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray) and value.dtype.name in _DTYPES:
        data = base64.b64encode(np.ascontiguousarray(value).tobytes()).decode("ascii")
        return {"array": data, "dtype": value.dtype.name, "shape": list(value.shape)}
    if isinstance(value, (list, tuple)):
        items = [encode(item) for item in value]
        return items if isinstance(value, list) else {"tuple": items}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: encode(v) for k, v in value.items()}}
    try:  # a Keras or TensorFlow tensor, a NumPy scalar of another kind
        array = np.asarray(value)
        if array.dtype.name in _DTYPES:
            return encode(array)
    except Exception:
        pass
    return {"unsupported": type(value).__name__}


def decode(data):
    """The value `encode` wrote (a ValueError for anything else: the files are untrusted)."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(item) for item in data]
    if isinstance(data, dict) and len(data) in (1, 3):
        if "tuple" in data and isinstance(data["tuple"], list):
            return tuple(decode(item) for item in data["tuple"])
        if "dict" in data and isinstance(data["dict"], dict):
            return {str(k): decode(v) for k, v in data["dict"].items()}
        if "float" in data and data["float"] in ("nan", "inf", "-inf"):
            return float(data["float"])
        if "unsupported" in data:
            return Unsupported(str(data["unsupported"])[:60])
        if set(data) == {"array", "dtype", "shape"} and data["dtype"] in _DTYPES:
            shape = tuple(int(n) for n in data["shape"])
            if any(n < 0 for n in shape) or math.prod(shape) > MAX_ARRAY_SIZE:
                raise ValueError(f"an array of shape {shape} is larger than a grader reads")
            raw = base64.b64decode(data["array"], validate=True)
            return np.frombuffer(raw, dtype=data["dtype"]).reshape(shape).copy()
    raise ValueError(f"not a recorded value: {str(data)[:60]}")


@dataclass(frozen=True)
class Unsupported:
    """A result that is not plain data (an object of type `name`)."""

    name: str


# --- judging: the same code for a learner's own check and for the grader -------------------------


def _is_text(value) -> bool:
    """True for strings and sequences of strings (compared exactly, not numerically)."""
    if isinstance(value, str):
        return True
    return isinstance(value, (list, tuple)) and any(isinstance(item, str) for item in value)


def difference(result, expected, rtol: float = 1e-5, atol: float = 1e-6) -> str | None:
    """None when `result` matches `expected`; otherwise what is off — a shape, or how many values
    and where — without `expected`'s values."""
    if isinstance(result, Unsupported):
        return f"it returned a {result.name}, not numbers"
    if isinstance(expected, bool) or expected is None or _is_text(expected):
        as_list = lambda value: list(value) if isinstance(value, (list, tuple)) else value  # noqa: E731
        return None if as_list(result) == as_list(expected) else "a different answer"
    try:
        got, want = np.asarray(result, dtype=float), np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return f"it returned {type(result).__name__} {str(result)[:40]}, not numbers"
    if got.shape != want.shape:
        return f"shape {got.shape}, where the case needs {want.shape}"
    if np.asarray(expected).dtype.kind in "iu":  # counts are exact: 442_497 is not 442_496
        rtol, atol = 0.0, 1e-9
    close = np.isclose(got, want, rtol=rtol, atol=atol)
    if close.all():
        return None
    if want.ndim == 0:
        return f"a different value ({format(got.item(), '.6g')})"
    index = tuple(int(i) for i in np.argwhere(~close)[0])
    return f"{int((~close).sum())} of {close.size} values differ (the first at index {index})"


def judge_value(spec: ValueExercise, answer, expected) -> tuple[str, str]:
    """(outcome, message) for a value answer: a hint about what to reconsider when it is wrong."""
    if answer is None:
        return "unanswered", "replace None with your answer"
    if isinstance(answer, Unsupported):
        return "wrong", f"the answer is a {answer.name}; answer numbers (or a list of them)"
    problem = difference(answer, expected, spec.rtol, spec.atol)
    if problem is None:
        return "correct", ""
    if problem.startswith("shape"):
        count = np.size(expected)
        hint = spec.hint(None)
        return "wrong", f"answer {count} value{'s' if count > 1 else ''}" + (
            f" ({hint})" if hint else ""
        )
    try:
        return "wrong", spec.hint(answer) or problem
    except Exception:
        return "wrong", spec.hint(None) or problem


def run_block(block, arguments) -> dict | None:
    """Build a Keras `block` (a function of Keras tensors, lists of them and numbers) on inputs
    shaped like the array `arguments`, give its weights fixed values (by their order and shape, the
    same for every block) and run it: {"weights": shapes, "output": array}, or None if it returns
    None."""
    import keras

    symbolic, arrays = [], []
    for argument in arguments:
        if isinstance(argument, np.ndarray):
            symbolic.append(keras.Input(argument.shape[1:]))
            arrays.append(argument)
        elif _is_arrays(argument):
            symbolic.append([keras.Input(item.shape[1:]) for item in argument])
            arrays.extend(argument)
        else:
            symbolic.append(argument)
    outputs = block(*symbolic)
    if outputs is None:
        return None
    inputs = [t for s in symbolic for t in (s if isinstance(s, list) else [s])]
    model = keras.Model([t for t in inputs if isinstance(t, keras.KerasTensor)], outputs)
    shapes = [tuple(int(n) for n in weight.shape) for weight in model.weights]
    model.set_weights(_exercise_weights(shapes))
    output = keras.ops.convert_to_numpy(model([np.asarray(a) for a in arrays]))
    return {"weights": [list(shape) for shape in shapes], "output": output}


def _exercise_weights(shapes) -> list[np.ndarray]:
    """Fixed pseudo-random weights for blocks of these weight shapes (the same for every run)."""
    rng = np.random.default_rng(2024)
    return [rng.normal(0.0, 0.3, shape).astype(np.float32) for shape in shapes]


def _is_arrays(value) -> bool:
    """True for a non-empty list or tuple of arrays (a block's list of inputs)."""
    return (
        isinstance(value, (list, tuple))
        and bool(value)
        and all(isinstance(item, np.ndarray) for item in value)
    )


def _case_problem(spec: FunctionExercise, result, reference) -> str | None:
    """What is off in one case's result (None if right); a block's weights are compared first."""
    if isinstance(result, dict) and "raised" in result:
        return f"it raised {result['raised']}"
    if spec.block:
        if not isinstance(result, dict) or not {"weights", "output"} <= set(result):
            return "the block did not build"
        weights = [tuple(shape) for shape in result["weights"]]
        expected = [tuple(shape) for shape in reference["weights"]]
        if weights != expected:
            return f"the block's weights have shapes {weights}; the course's block has {expected}"
        result, reference = result["output"], reference["output"]
    return difference(result, reference, spec.rtol, spec.atol)


def judge_function(spec: FunctionExercise, cases, results, references) -> tuple[str, str, list]:
    """(outcome, summary, lines): every case passed (✓) or failed (✗) with what it is about and,
    when it fails, what is off and its hint. `results` holds the learner's return values (a dict
    {"raised": "..."} for a case that raised); `references` the key's."""
    if len(results) != len(cases) or all(result is None for result in results):
        return "unanswered", "write the function's body; it returns None", []
    lines, passed = [], 0
    for case, result, reference in zip(cases, results, references, strict=True):
        problem = _case_problem(spec, result, reference)
        if problem is None:
            passed += 1
            lines.append(f"✓ {case.about}")
        else:
            hint = case.hint if case.hint and not problem.startswith("it raised") else ""
            lines.append(f"✗ {case.about}: {problem}" + (f" — {hint}" if hint else ""))
    outcome = "correct" if passed == len(cases) else "wrong"
    return outcome, f"{passed} of {len(cases)} cases pass", lines


# --- what a notebook calls ----------------------------------------------------------------------


def _grading_dir() -> Path | None:
    value = os.environ.get(GRADING_VARIABLE)
    return Path(value) if value else None


def _record(entry: dict) -> None:
    """Append one recorded answer (plain JSON) for the grader to judge."""
    with open(_grading_dir() / "answers.jsonl", "a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")


def _say(name: str, outcome: str, detail: str, strict: bool, lines=()) -> None:
    """Print (and, if `strict` and not correct, raise) one verdict, each case on its own line."""
    if outcome == "correct":
        message = f"{name}: correct ✓" + (f" ({detail})" if detail else "")
    elif outcome == "unanswered":
        message = f"{name}: not answered yet ({detail})"
    else:
        message = f"{name}: not yet ✗ ({detail})"
    message = "\n".join([message, *(f"  {line}" for line in lines)])
    if strict and outcome != "correct":
        raise AssertionError(message)
    print(message)


def check(
    answer,
    expected=_NOT_GIVEN,
    *,
    exercise: str | None = None,
    name: str | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    strict: bool = False,
) -> None:
    """Check a value answer: `check(answer, exercise="01.1")` against the answer key, or
    `check(answer, expected, name=...)` against a value of your own. Prints a verdict (raises
    AssertionError if `strict` and it is not correct). A wrong answer gets a hint, never the
    answer."""
    if exercise is None:
        if expected is _NOT_GIVEN:
            raise ValueError('check needs exercise="NN.k" (or an expected value of your own)')
        spec = ValueExercise("", lambda profile: expected, lambda answer: "", rtol, atol)
        outcome, detail = judge_value(spec, answer, expected)
        if outcome == "wrong" and not detail:
            detail = difference(answer, expected, rtol, atol) or ""
        _say(name or "answer", outcome, detail, strict)
        return
    if _grading_dir() is not None:  # graded: record, judge nothing here
        _record({"exercise": str(exercise), "answer": encode(answer)})
        print(f"{title(str(exercise))}: answer recorded for grading")
        return
    spec = _key(exercise)
    if not isinstance(spec, ValueExercise):
        raise ValueError(f"exercise {exercise!r} is a coding exercise: use check_function")
    outcome, detail = judge_value(spec, answer, spec.expected(_profile()))
    _say(name or title(exercise), outcome, detail, strict)


def _call(function: Callable, case: Case, block: bool):
    """The learner's result on one case (on copies: a function that works in place cannot change
    the case), or {"raised": "Type: message"}: a learner's bug is a verdict, not a traceback."""
    arguments = copy.deepcopy(case.arguments)
    try:
        return run_block(function, arguments) if block else function(*arguments)
    except Exception as error:
        return {"raised": f"{type(error).__name__}: {str(error)[:300]}"}


def check_function(
    function: Callable,
    reference: Callable | None = None,
    cases: Iterable[tuple] | None = None,
    *,
    exercise: str | None = None,
    name: str | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    strict: bool = False,
) -> None:
    """Check a coding exercise: `check_function(function, exercise="01.4")` calls `function` on
    the key's cases and lists every case, passed or failed, with what it is about (or, for checks of
    your own, `check_function(function, reference, cases, name=...)`). A function that returns None
    for every case is "not answered yet"; `strict` raises AssertionError unless all are correct."""
    if exercise is None:
        if reference is None or cases is None:
            raise ValueError('check_function needs exercise="NN.k" (or a reference and cases)')
        cases = [case if isinstance(case, tuple) else (case,) for case in cases]
        if not cases:
            raise ValueError("cases must hold at least one tuple of arguments")
        spec = FunctionExercise("", reference, lambda: None, rtol=rtol, atol=atol)
        cases = [Case(arguments, f"case {n}") for n, arguments in enumerate(cases, start=1)]
    elif _grading_dir() is not None:  # graded: run on the grader's cases, record, judge nothing
        given = json.loads((_grading_dir() / "cases.json").read_text(encoding="utf-8"))
        entry = given.get(str(exercise))
        if entry is None:
            print(f"{title(str(exercise))}: not an exercise of this notebook")
            return
        block = bool(entry["block"])
        results = [_call(function, Case(decode(a), ""), block) for a in entry["cases"]]
        _record({"exercise": str(exercise), "results": [encode(r) for r in results]})
        print(f"{title(str(exercise))}: results recorded for grading")
        return
    else:
        spec = _key(exercise)
        if not isinstance(spec, FunctionExercise):
            raise ValueError(f"exercise {exercise!r} is a value exercise: use check")
        cases = spec.cases()
    results = [_call(function, case, spec.block) for case in cases]
    references = [_call(spec.reference, case, spec.block) for case in cases]
    outcome, detail, lines = judge_function(spec, cases, results, references)
    _say(name or title(exercise or "function"), outcome, detail, strict, lines)

"""Argument checks shared by the course's functions: a bad argument is a `ValueError` that names
it and says what was expected, before any NumPy or TensorFlow traceback can happen.

Each check returns the value it checked (ints as plain Python ints, arrays as NumPy arrays), so a
function can check and convert in one line: `count = check_int(count, "count", minimum=1)`.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from utils.config import Profile

__all__ = [
    "check_bool",
    "check_choice",
    "check_filters",
    "check_finite",
    "check_int",
    "check_number",
    "check_numpy_inputs",
    "check_poolings",
    "check_profile",
    "check_seed",
    "check_shape",
    "check_shape_and_filters",
    "check_text",
]


def check_bool(value, name: str) -> bool:
    """`value` as a bool: only True or False (NumPy's bools too), not 1, "yes" or None."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_text(value, name: str) -> str:
    """`value`, a non-empty string (a name, a label)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def check_choice(value, name: str, choices):
    """`value`, one of the words `choices` (the message shows them as given: tuple or list)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def _is_int(value) -> bool:
    """A Python or NumPy integer, and not a bool (which Python counts as an int)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _int_text(minimum: int | None, maximum: int | None) -> str:
    """How `check_int` words the ints it expects."""
    if minimum is not None and maximum is not None:
        return f"an int from {minimum} to {maximum}"
    if minimum == 1:
        return "a positive int"
    if minimum is not None:
        return f"an int >= {minimum}"
    return "an int" if maximum is None else f"an int <= {maximum}"


def check_int(
    value,
    name: str,
    minimum: int | None = None,
    maximum: int | None = None,
    expected: str | None = None,
) -> int:
    """`value` as a plain int: a Python or NumPy integer (not a bool) from minimum to maximum;
    `expected` rewords the message."""
    if (
        not _is_int(value)
        or (minimum is not None and value < minimum)
        or (maximum is not None and value > maximum)
    ):
        raise ValueError(f"{name} must be {expected or _int_text(minimum, maximum)}, got {value!r}")
    return int(value)


def check_number(
    value,
    name: str,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    expected: str | None = None,
):
    """`value`, a finite real number (not a bool) between `low` and `high`, returned as given
    (not converted, so NumPy's type rules stay what they were); `expected` rewords the message."""
    if expected is None:
        if low is not None and high is not None:
            left, right = "(" if low_open else "[", ")" if high_open else "]"
            expected = f"a number in {left}{low:g}, {high:g}{right}"
        elif low is not None:
            expected = f"a finite number {'>' if low_open else '>='} {low:g}"
        elif high is not None:
            expected = f"a finite number {'<' if high_open else '<='} {high:g}"
        else:
            expected = "a finite number"
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, (bool, np.bool_))
        or not math.isfinite(value)
        or (low is not None and (value <= low if low_open else value < low))
        or (high is not None and (value >= high if high_open else value > high))
    ):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return value


def check_finite(array, name: str, dtype=None) -> np.ndarray:
    """`array` as a NumPy array (of `dtype`, if given) of numbers, none NaN or infinite."""
    try:
        result = np.asarray(array) if dtype is None else np.asarray(array, dtype)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be an array of numbers, got {type(array).__name__}"
        ) from None
    if result.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be an array of numbers, got dtype {result.dtype}")
    if result.dtype.kind == "f" and not np.isfinite(result).all():
        raise ValueError(f"{name} must not contain NaN or infinity")
    return result


def check_numpy_inputs(**arrays) -> None:
    """The NumPy arrays among `arrays` (tensors are left to Keras): finite, all of one shape."""
    shapes = {
        name: check_finite(array, name).shape
        for name, array in arrays.items()
        if isinstance(array, np.ndarray)
    }
    if len(set(shapes.values())) > 1:
        raise ValueError(
            f"{' and '.join(shapes)} must have the same shape, got {list(shapes.values())}"
        )


def check_seed(seed, name: str = "seed", optional: bool = False) -> int | None:
    """`seed` as a plain int >= 0 (a Python or NumPy int); None too if `optional`."""
    if optional and seed is None:
        return None
    expected = "None or an integer >= 0" if optional else "an integer >= 0"
    return check_int(seed, name, minimum=0, expected=expected)


def check_profile(profile, name: str = "profile"):
    """`profile`, a `utils.config.Profile` (e.g. `PROFILES["cpu"]` or its `.comparison()`)."""
    # Compared by its fields, not its class: a reloaded `utils.config` makes a new class.
    fields = [field.name for field in Profile.__dataclass_fields__.values()]
    if not all(hasattr(profile, field) for field in fields):
        raise ValueError(
            f"{name} must be a Profile (e.g. utils.config.PROFILES['cpu']), got {profile!r}"
        )
    return profile


def _ints(values) -> tuple[int, ...] | None:
    """`values` as a tuple of plain ints, or None if it is not a sequence of integers."""
    try:
        values = tuple(values)
    except TypeError:
        return None
    return tuple(int(v) for v in values) if all(_is_int(v) for v in values) else None


def check_filters(filters) -> tuple[int, ...]:
    """`filters`, a non-empty sequence of positive ints (Python or NumPy), as plain ints."""
    widths = _ints(filters)
    if not widths or min(widths) < 1:
        raise ValueError(f"filters must be a non-empty sequence of positive ints, got {filters}")
    return widths


def check_shape(shape, name: str = "input_shape") -> tuple[int, int, int]:
    """`shape`, (height, width, channels) of positive ints (Python or NumPy), as plain ints."""
    sides = _ints(shape)
    if sides is None or len(sides) != 3 or min(sides) < 1:
        raise ValueError(f"{name} must be (height, width, channels) of positive ints, got {shape}")
    return sides


def check_poolings(input_shape, num_poolings: int, shape_name: str = "input_shape") -> None:
    """`input_shape`'s height and width survive `num_poolings` halvings (at least 1 pixel)."""
    side = 2**num_poolings
    if min(input_shape[:2]) < side:
        raise ValueError(
            f"{shape_name} {tuple(input_shape[:2])} must be at least 2**len(filters) = {side} on "
            f"each side: {num_poolings} poolings halve it that often"
        )


def check_shape_and_filters(
    input_shape, filters, shape_name: str = "input_shape"
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """`input_shape` and `filters` checked by `check_shape` and `check_filters`, as plain ints:
    a model's JSON is the same for Python and NumPy ints."""
    return check_shape(input_shape, shape_name), check_filters(filters)

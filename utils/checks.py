"""Argument checks shared by the course's functions: a bad argument is a `ValueError` that names
it and says what was expected, before any NumPy or TensorFlow traceback can happen."""

from __future__ import annotations

__all__ = ["check_shape_and_filters"]


def check_shape_and_filters(input_shape, filters) -> None:
    """`input_shape` is (height, width, channels) and `filters` a non-empty sequence, of positive
    ints."""
    if len(input_shape) != 3 or any(not isinstance(n, int) or n < 1 for n in input_shape):
        raise ValueError(
            f"input_shape must be (height, width, channels) of positive ints, got {input_shape}"
        )
    if not filters or any(not isinstance(f, int) or f < 1 for f in filters):
        raise ValueError(f"filters must be a non-empty sequence of positive ints, got {filters}")

"""Tests of utils/timing.py: what each helper calls and returns (never how fast anything is)."""

import numpy as np

from utils import timing


def test_best_time_calls_the_function_repeats_times():
    calls = []
    seconds = timing.best_time(lambda: calls.append(1), repeats=4)
    assert len(calls) == 4 and seconds >= 0


def test_alternating_best_times_calls_each_function_in_turn():
    calls = []
    best = timing.alternating_best_times(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=3
    )
    assert calls == ["a", "b"] * 4  # one warm-up round, then three timed rounds
    assert set(best) == {"a", "b"} and all(value >= 0 for value in best.values())


def test_seconds_per_image_warms_up_then_times_whole_batches():
    calls = []

    def model(images, training):
        """A stand-in with several outputs, like a deeply supervised UNet++."""
        calls.append((tuple(images.shape), training))
        return [images, images * 2]

    seconds = timing.seconds_per_image(model, np.zeros((3, 4, 4, 1)), repeats=2)
    assert calls == [((3, 4, 4, 1), False)] * 3  # one warm-up pass, two timed, inference mode
    assert seconds >= 0

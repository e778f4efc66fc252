"""Tests of utils/timing.py: what each helper calls and returns, on a fake clock (never how fast
anything really is)."""

import itertools

import numpy as np
import pytest

from utils import timing


@pytest.fixture
def clock(monkeypatch):
    """A fake `time.perf_counter`: each function call below lasts as long as `durations` says."""
    state = {"now": 0.0, "durations": iter(())}

    def tick():
        return state["now"]

    def advance():
        state["now"] += next(state["durations"])

    monkeypatch.setattr(timing.time, "perf_counter", tick)
    return state, advance


def test_best_time_is_the_fastest_of_repeats_calls(clock):
    state, advance = clock
    state["durations"] = iter([0.5, 0.2, 0.9, 0.3])
    calls = []
    seconds = timing.best_time(lambda: (calls.append(1), advance()), repeats=4)
    assert len(calls) == 4 and seconds == pytest.approx(0.2)


def test_alternating_best_times_calls_each_function_in_turn(clock):
    state, advance = clock
    # one warm-up round (a, b), then three timed rounds: a's best is 1, b's best is 2
    state["durations"] = iter([9, 9, 3, 2, 1, 5, 4, 7])
    calls = []
    best = timing.alternating_best_times(
        {"a": lambda: (calls.append("a"), advance()), "b": lambda: (calls.append("b"), advance())},
        repeats=3,
    )
    assert calls == ["a", "b"] * 4
    assert best == {"a": pytest.approx(1), "b": pytest.approx(2)}


def test_seconds_per_image_warms_up_then_times_whole_batches(clock):
    state, advance = clock
    state["durations"] = itertools.chain([100.0], [0.6, 0.3])  # warm-up, then two timed passes
    calls = []

    def model(images, training):
        """A stand-in with several outputs, like a deeply supervised UNet++."""
        calls.append((tuple(images.shape), training))
        advance()
        return [images, images * 2]

    seconds = timing.seconds_per_image(model, np.zeros((3, 4, 4, 1)), repeats=2)
    assert calls == [((3, 4, 4, 1), False)] * 3  # one warm-up pass, two timed, inference mode
    assert seconds == pytest.approx(0.3 / 3)  # the fastest pass, per image; the warm-up ignored

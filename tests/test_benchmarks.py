"""Tests of tools/benchmarks.py: the machinery, and every benchmark body run once on tiny inputs
(timings are never asserted, only that each body runs and returns well-formed rows)."""

import math

import pytest

from tools import benchmarks


def test_main_prints_a_table(monkeypatch, capsys):
    monkeypatch.setattr(benchmarks, "BENCHMARKS", {"fake": lambda: [("thing", 1.5, "ms")]})
    assert benchmarks.main() == 0
    out = capsys.readouterr().out
    assert "CPU cores" in out and "fake" in out and "thing" in out and "1.5" in out


def test_course_benchmarks_are_registered():
    expected = {"conv2d_vs_keras", "embedded_datasets", "unet_cpu_profile"}
    assert expected <= set(benchmarks.BENCHMARKS)


@pytest.mark.parametrize("name", sorted(benchmarks.BENCHMARKS))
def test_each_benchmark_runs_on_tiny_inputs(name):
    rows = list(benchmarks.BENCHMARKS[name](tiny=True))
    assert rows, f"{name} returned no rows"
    for what, value, unit in rows:
        assert isinstance(what, str) and what and unit in {"ms", "s", "x"}
        assert math.isfinite(value) and value >= 0, (what, value)

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
        assert isinstance(what, str) and what and unit in {"ms", "s", "x", "GB", "1 = yes"}
        assert math.isfinite(value) and value >= 0, (what, value)
        if unit == "1 = yes":  # a check the benchmark makes (parallel_seeds: the same weights)
            assert value == 1.0, what


def test_seed_costs_groups_a_recipes_seeds(tmp_path):
    import json

    for name, seconds in (("small-unet", 2.0), ("small-unet-seed1", 4.0), ("vae-crops", 1.0)):
        history = {"loss": [1.0] * 3, "seconds": seconds}
        (tmp_path / f"{name}-{'a1' * 6}-{'b2' * 6}.json").write_text(json.dumps(history))
    (tmp_path / "notes.json").write_text("[]")  # not a history: skipped
    rows = benchmarks.recipe_costs_in(tmp_path)
    assert rows == [
        ("small-unet: per seed (2 seeds, 3 epochs)", 3.0, "s"),
        ("vae-crops: per seed (1 seeds, 3 epochs)", 1.0, "s"),
        ("all 3 cached trainings", 7.0, "s"),
    ]


def test_main_runs_the_benchmarks_named(monkeypatch, capsys):
    monkeypatch.setattr(benchmarks, "BENCHMARKS", {"a": lambda: [("x", 1.0, "s")], "b": None})
    assert benchmarks.main(["a"]) == 0
    assert "x" in capsys.readouterr().out
    with pytest.raises(ValueError, match="names must be among"):
        benchmarks.main(["c"])

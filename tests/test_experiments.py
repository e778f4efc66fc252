"""Tests of the utils/experiments/ package: recipes by name, seeds as an axis, the verdict."""

import dataclasses
import re

import numpy as np
import pytest
import scipy.stats

from utils import data, experiments, setup
from utils.experiments import SeedRuns, seeds

# Tiny enough to train in seconds; 16 px is the smallest side the paper's 4 poolings accept.
TINY = dataclasses.replace(
    setup.PROFILES["ci"], image_size=16, num_train=8, num_val=4, num_test=4, num_epochs=2
)


@pytest.fixture
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    return tmp_path


def runs(name, values, metric="dice"):
    """Made-up per-seed results of one metric."""
    return SeedRuns(name, list(range(len(values))), [{metric: v} for v in values])


def test_unknown_recipe_is_a_value_error():
    with pytest.raises(ValueError, match=r"name must be one of \[.*'membranes-unet'"):
        experiments.recipe("membranes-resnet")


def test_show_prints_the_calls_a_recipe_makes():
    assert experiments.show("membranes-unet", setup.PROFILES["cpu"], seed=2) == (
        'train, val, test = data.load_embedded("membranes", PROFILE)\n'
        "model = training.build(\n"
        "    models.build_unet,\n"
        "    (64, 64, 1),\n"
        "    filters=(8, 16, 32, 64, 128),\n"
        '    upsampling="transpose",\n'
        "    seed=2,\n"
        ")\n"
        'history = training.fit(model, train, val, PROFILE, "membranes-unet-seed2", loss="paper", '
        "seed=2)"
    )
    vae = experiments.show("vae-crops", setup.PROFILES["cpu"])
    assert "(train[0], train[0]),\n    (val[0], val[0])," in vae and "loss=None" in vae


def test_comparison_recipes_show_their_smaller_setting():
    text = experiments.show("small-unetpp", setup.PROFILES["cpu"])
    lines = text.splitlines()
    assert lines[0].startswith("COMPARISON = PROFILE.comparison()")
    assert lines[1] == 'train, val, test = data.load_embedded("membranes", COMPARISON)'
    assert "(32, 32, 1)" in text and "COMPARISON" in lines[-1]
    rare = experiments.show("rare-dice", setup.PROFILES["cpu"])
    assert "data.cores(masks, depth=6.0)" in rare and 'loss="dice", num_epochs=3' in rare


def test_recipe_trains_in_its_setting():
    cpu = setup.PROFILES["cpu"]
    assert experiments.recipe("small-unet").setting(cpu).image_size == cpu.comparison_size
    assert experiments.recipe("membranes-unet").setting(cpu) is cpu
    depths = [
        len(experiments.recipe(f"small-unet-depth{d}").arguments(cpu)[0]["filters"]) - 1
        for d in (1, 2, 3)
    ]
    assert depths == [1, 2, 3]


@pytest.mark.parametrize(
    "profile",
    ["ci", "cpu", pytest.param("gpu", marks=pytest.mark.training)],  # gpu: full widths
)
def test_every_recipe_builds_under_the_profiles(profile):
    import inspect

    import keras

    from utils import models, training

    chosen = setup.PROFILES[profile]
    fit_parameters = set(inspect.signature(training.fit).parameters)
    for name, recipe in experiments.RECIPES.items():
        build_args, fit_args = recipe.arguments(chosen)
        assert set(fit_args) <= fit_parameters, name
        shape = recipe.input_shape(chosen)
        keras.backend.clear_session()
        model = recipe.builder(shape, **build_args)  # a builder refuses arguments it cannot use
        if isinstance(model, models.VAE):  # it returns an image of its input's shape
            assert model.encoder.input_shape[1:] == shape, name
            assert model.decoder.output_shape[1:] == shape, name
        elif recipe.dataset == "crops-factors":  # the judge predicts each factor
            assert model.input_shape[1:] == shape, name
            assert model.output_shape == (None, len(data.CROP_FACTORS)), name
        else:  # a segmenter or autoencoder: one value per pixel, from every head
            assert model.input_shape[1:] == shape, name
            assert all(tuple(out.shape[1:]) == shape for out in model.outputs), name


@pytest.mark.training
def test_wide_unet_matches_unet_plus_plus_parameters():
    from utils import models

    profile = setup.PROFILES["cpu"].comparison()
    shape = (32, 32, 1)
    wide = models.build_unet(shape, experiments.wide_unet_filters(profile), upsampling="transpose")
    paper = experiments.recipe("small-unetpp").arguments(profile)[0]
    target = models.build_unet_plus_plus(shape, **paper).count_params()
    assert abs(wide.count_params() - target) / target < 0.05


@pytest.mark.training
def test_flops_unet_matches_unet_plus_plus_flops_not_parameters():
    from utils import models

    profile = setup.PROFILES["cpu"].comparison()
    shape = (32, 32, 1)
    flops_unet = models.build_unet(
        shape, experiments.flops_unet_filters(profile), upsampling="transpose"
    )
    paper = experiments.recipe("small-unetpp").arguments(profile)[0]
    nested = models.build_unet_plus_plus(shape, **paper)
    target = models.flops_per_image(nested)
    assert abs(models.flops_per_image(flops_unet) - target) / target < 0.1
    # Matching compute is not matching parameters: the compute control has about twice as many.
    assert flops_unet.count_params() > 1.8 * nested.count_params()
    assert experiments.recipe("small-flops-unet").arguments(setup.PROFILES["cpu"])[0] == {
        "filters": experiments.flops_unet_filters(profile),
        "upsampling": "transpose",
    }


@pytest.mark.training
def test_train_caches_each_seed_under_its_own_name(cache):
    model, history = experiments.train("small-unet", TINY, seed=1)
    assert len(history["loss"]) == TINY.comparison_epochs and model.count_params() > 0
    names = sorted(path.name for path in (cache / "models").glob("*.keras"))
    assert len(names) == 1 and names[0].startswith("small-unet-seed1-")
    _, cached = experiments.train("small-unet", TINY, seed=1)
    assert cached == history  # loaded from the cache, not trained again
    assert experiments.is_cached("small-unet", TINY, [1])
    assert not experiments.is_cached("small-unet", TINY, [0, 1])  # seed 0 never trained


@pytest.mark.training
def test_a_changed_training_is_trained_and_cached_apart(cache):
    _, plain = experiments.train("rare-bce", TINY)
    _, changed = experiments.train("rare-bce", TINY, learning_rate=1e-2, num_epochs=1)
    assert len(plain["loss"]) == max(1, TINY.num_epochs // 3) and len(changed["loss"]) == 1
    names = sorted(path.name for path in (cache / "models").glob("*.keras"))
    assert len(names) == 2 and names[1].startswith("rare-bce-learning_rate0.01-num_epochs1-")
    result = experiments.run_seeds("rare-bce", TINY, seeds=[0], learning_rate=1e-2, num_epochs=1)
    assert result.name == "rare-bce-learning_rate0.01-num_epochs1"
    assert result.histories[0] == changed  # the same training, loaded from the cache
    with pytest.raises(ValueError, match=r"changes must be among \['loss', .*got \['filters'\]"):
        experiments.train("rare-bce", TINY, filters=(4, 8))


@pytest.mark.training
def test_run_seeds_returns_a_table_per_seed(cache):
    result = experiments.run_seeds("small-unet", TINY, seeds=[0, 1])
    assert result.seeds == [0, 1] and len(result.histories) == 2
    assert set(result.scores[0]) == {"dice", "iou", "hd95", "boundary_f", "v_rand"}
    table = result.table()
    assert table.splitlines()[0] == "small-unet" and "mean" in table and "sd" in table
    rare = experiments.run_seeds("rare-dice", TINY, seeds=[0])
    assert set(rare.scores[0]) == {"dice", "iou", "hd95"}  # nuclei cores: no membrane scores
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        experiments.run_seeds("small-unet", TINY, seeds=[-1])


@pytest.mark.training
def test_run_seeds_keeps_each_models_scores_beside_its_checkpoint(cache, monkeypatch):
    first = experiments.run_seeds("small-unet", TINY, seeds=[0])
    saved = sorted((cache / "models").glob("small-unet-*.scores-*.json"))
    assert len(saved) == 1
    # A second call reads the scores back instead of scoring the model again: the same numbers.
    scorer = seeds._segmenter_scores
    monkeypatch.setattr(seeds, "_segmenter_scores", lambda *args: pytest.fail("scored again"))
    again = experiments.run_seeds("small-unet", TINY, seeds=[0])
    assert again.scores == first.scores and again.histories == first.histories
    # Another way of scoring the same model is another file, computed anew.
    monkeypatch.setattr(seeds, "_segmenter_scores", scorer)
    chosen = experiments.run_seeds("small-unet", TINY, seeds=[0], threshold="validation")
    assert len(sorted((cache / "models").glob("small-unet-*.scores-*.json"))) == 2
    assert chosen.thresholds and not first.thresholds


def test_validation_thresholds_pick_the_best_threshold_of_each_metric():
    masks = np.zeros((2, 8, 8, 1), np.float32)
    masks[:, 2:6, 2:6] = 1
    probabilities = np.where(masks > 0, 0.3, 0.1).astype(np.float32)  # right, but below 0.5
    chosen = experiments.validation_thresholds(masks, probabilities, ["dice", "iou", "hd95"])
    assert set(chosen) == {"dice", "iou", "hd95"}
    assert all(0.1 <= value < 0.3 for value in chosen.values()), chosen  # between the two levels
    assert experiments.validation_thresholds(masks, probabilities, ["dice"], [0.5, 0.2]) == {
        "dice": 0.2
    }
    with pytest.raises(ValueError, match="metric_names must be a list of"):
        experiments.validation_thresholds(masks, probabilities, ["psnr"])
    with pytest.raises(ValueError, match="thresholds must be numbers strictly between 0 and 1"):
        experiments.validation_thresholds(masks, probabilities, ["dice"], [0.0, 0.5])


@pytest.mark.training
def test_run_seeds_can_score_at_thresholds_chosen_on_validation(cache):
    from utils import metrics, training

    fixed = experiments.run_seeds("small-unet", TINY, seeds=[0])
    chosen = experiments.run_seeds("small-unet", TINY, seeds=[0], threshold="validation")
    assert fixed.thresholds == [] and chosen.name.endswith("(thresholds chosen on validation)")
    assert set(chosen.thresholds[0]) == set(chosen.scores[0]) == set(fixed.scores[0])
    # Each score is the test score at its metric's threshold, chosen on the validation images.
    model, _ = experiments.train("small-unet", TINY)
    _, (val_images, val_masks), (test_images, test_masks) = experiments.splits("small-unet", TINY)
    val_maps = training.predict(model, val_images)
    assert chosen.thresholds[0] == experiments.validation_thresholds(
        val_masks, val_maps, list(fixed.scores[0])
    )
    test_maps = training.predict(model, test_images)
    threshold = chosen.thresholds[0]["v_rand"]
    assert chosen.scores[0]["v_rand"] == pytest.approx(
        metrics.v_rand(test_masks, test_maps, threshold)
    )
    assert fixed.scores[0]["dice"] == pytest.approx(metrics.dice(test_masks, test_maps, 0.5))
    with pytest.raises(ValueError, match=r"threshold must be 0\.5 for a VAE"):
        experiments.run_seeds("vae-crops", TINY, seeds=[0], threshold="validation")


def test_usable_cores_follow_the_affinity_and_a_cgroup_quota(monkeypatch, tmp_path):
    import builtins
    import os

    from utils.experiments import parallel

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    real_open = builtins.open
    quota = tmp_path / "cpu.max"

    def fake_open(path, *args, **kwargs):
        if str(path) == "/sys/fs/cgroup/cpu.max":
            return real_open(quota, *args, **kwargs)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    quota.write_text("max 100000\n")
    assert parallel.usable_cores() == 4
    quota.write_text("100000 100000\n")  # Binder: one CPU of a large machine
    assert parallel.usable_cores() == 1
    quota.write_text("250000 100000\n")
    assert parallel.usable_cores() == 2
    quota.unlink()  # no cgroup file (macOS, an old kernel): the affinity alone
    assert parallel.usable_cores() == 4


def test_workers_follow_the_environment_the_profile_and_the_machine(monkeypatch):
    import os

    import tensorflow as tf

    monkeypatch.delenv("COURSE_WORKERS", raising=False)
    assert experiments.workers(TINY) == 1  # ci: tiny models, a worker costs more than it saves
    gpu = bool(tf.config.list_physical_devices("GPU"))
    usable = len(os.sched_getaffinity(0))
    assert experiments.workers(setup.PROFILES["cpu"]) == (1 if gpu else min(2, usable))
    # One usable core (`taskset -c 0`, or Binder's quota of one CPU): one training at a time.
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert experiments.workers(setup.PROFILES["cpu"]) == 1
    monkeypatch.setenv("COURSE_WORKERS", "3")
    assert experiments.workers(TINY) == 3
    monkeypatch.setenv("COURSE_WORKERS", "0")
    with pytest.raises(ValueError, match="COURSE_WORKERS must be a positive integer"):
        experiments.workers(TINY)


@pytest.mark.training
def test_worker_processes_train_the_weights_of_one_training_after_the_other(
    cache, monkeypatch, tmp_path
):
    monkeypatch.setenv("COURSE_WORKERS", "2")
    trained = experiments.train_seeds({"small-unet": [0, 1], "rare-bce": [1]}, TINY)
    assert sorted(trained) == [("rare-bce", 1), ("small-unet", 0), ("small-unet", 1)]
    assert experiments.train_seeds("small-unet", TINY, seeds=[0, 1]) == []  # all in the cache now
    in_worker = experiments.train("small-unet", TINY, seed=1)[0].get_weights()
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "another cache"))
    monkeypatch.setenv("COURSE_WORKERS", "1")
    assert experiments.train_seeds("small-unet", TINY, seeds=[1]) == [("small-unet", 1)]
    here = experiments.train("small-unet", TINY, seed=1)[0].get_weights()
    for a, b in zip(in_worker, here, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.training
def test_trainings_in_this_process_release_memory_and_spare_the_models_held(cache, monkeypatch):
    from utils.experiments import parallel

    held, _ = experiments.train("small-unet", TINY, seed=0)  # a model a notebook holds
    images = np.random.default_rng(0).random((2, *held.input_shape[1:]), dtype=np.float32)
    before = np.asarray(held(images))
    released = []
    real = parallel.release_memory
    monkeypatch.setattr(parallel, "release_memory", lambda: released.append(real()))
    monkeypatch.setenv("COURSE_WORKERS", "1")
    assert experiments.train_seeds("small-unet", TINY, seeds=[1, 2]) == [
        ("small-unet", 1),
        ("small-unet", 2),
    ]
    assert len(released) == 2  # once after each training
    np.testing.assert_array_equal(np.asarray(held(images)), before)  # still works, the same


@pytest.mark.training
def test_run_seeds_scores_a_pruned_head(cache):
    result = experiments.run_seeds("small-unetpp-ds", TINY, seeds=[0], head=2)
    assert result.name == "small-unetpp-ds L2" and 0 <= result.scores[0]["dice"] <= 1
    with pytest.raises(ValueError, match="head=2 needs a deep-supervised model"):
        experiments.run_seeds("small-unet", TINY, seeds=[0], head=2)


def paired(name, base, shifts, metric="dice"):
    """A SeedRuns whose per-seed values are `base` + `shifts` (the paired differences)."""
    return runs(name, [b + s for b, s in zip(base, shifts, strict=True)], metric)


BASE = [0.70, 0.74, 0.68, 0.72, 0.71, 0.69, 0.73, 0.70, 0.75, 0.72]


def test_clear_difference_is_a_verdict_without_numbers():
    shifts = [0.05, 0.06, 0.04, 0.05, 0.07]
    result = experiments.verdict(paired("UNet++", BASE[:5], shifts), runs("UNet", BASE[:5]))
    assert result.outcome == "better"
    assert result.line == "Verdict: UNet++ better than UNet on Dice"
    assert not re.search(r"\d", result.line)  # categorical: the numbers go on the next line
    assert str(result).startswith(result.line + "\n")
    # the estimate, the paired-t interval, the seeds each way, each arm's per-seed values
    mean, _, _ = experiments.interval(shifts)
    assert result.estimate == pytest.approx(mean) == pytest.approx(0.054)
    half = scipy.stats.t.ppf(0.975, 4) * np.std(shifts, ddof=1) / np.sqrt(5)
    assert (result.low, result.high) == pytest.approx((0.054 - half, 0.054 + half))
    assert f"95 % CI [+{result.low:.3f}, +{result.high:.3f}]" in result.details
    assert "UNet++ better on 5/5 seeds, UNet on 0/5" in result.details
    assert "UNet (0.700, 0.740, 0.680, 0.720, 0.710)" in result.details
    assert "δ ±0.02" in result.details and "paired t, 5 seeds" in result.details


def test_the_better_one_is_named_first_whichever_side_it_is():
    shifts = [-0.05, -0.06, -0.04, -0.05, -0.07]
    result = experiments.verdict(paired("UNet", BASE[:5], shifts), runs("UNet++", BASE[:5]))
    assert result.outcome == "worse"
    assert result.line == "Verdict: UNet++ better than UNet on Dice"


def test_a_difference_inside_delta_is_equivalent():
    shifts = [0.002, -0.003, 0.001, 0.0, -0.001, 0.002, -0.002, 0.001, 0.0, 0.001]
    result = experiments.verdict(paired("a", BASE, shifts), runs("b", BASE))
    assert result.outcome == "equivalent"
    assert result.line == "Verdict: a and b equivalent on Dice"
    assert -0.02 < result.low < 0 < result.high < 0.02


def test_a_real_difference_smaller_than_delta_is_still_equivalent():
    shifts = [0.008, 0.010, 0.009, 0.011, 0.010]  # the interval excludes 0, but lies inside ±δ
    result = experiments.verdict(paired("a", BASE[:5], shifts), runs("b", BASE[:5]), margin=0)
    assert result.low > 0 and result.outcome == "equivalent"


def test_too_few_seeds_are_undetermined():
    # two seeds: t with one degree of freedom is 12.7, the interval spans everything
    result = experiments.verdict(paired("a", BASE[:2], [0.05, 0.08]), runs("b", BASE[:2]))
    assert result.outcome == "undetermined"
    assert result.line == "Verdict: undetermined — a vs b on Dice"
    one = experiments.verdict(runs("a", [0.9]), runs("b", [0.1]))
    assert one.outcome == "undetermined" and "-inf" in one.details


def test_a_wide_interval_across_zero_is_undetermined_not_equal():
    shifts = [0.04, -0.03, 0.05, -0.02, 0.01]
    result = experiments.verdict(paired("a", BASE[:5], shifts), runs("b", BASE[:5]))
    assert result.low < -0.02 and result.high > 0.02 and result.outcome == "undetermined"


def shifted(offset, spread=(-0.001, 0.0, 0.001, 0.0, 0.0)):
    """Differences with mean `offset` and a narrow, fixed spread."""
    return [offset + s for s in spread]


def outcome_at(offset, margin=None):
    first = paired("a", BASE[:5], shifted(offset))
    return experiments.verdict(first, runs("b", BASE[:5]), margin=margin)


def test_the_margin_is_the_metrics_measured_one():
    dice = experiments.SMALLEST_DIFFERENCES["dice"]
    assert 0 < dice.margin < dice.delta
    assert outcome_at(0.05).margin == dice.margin
    odd = [runs(name, [0.1, 0.2], "odd") for name in "ab"]
    assert experiments.verdict(*odd, "odd", delta=1.0).margin == experiments.MARGIN * 1.0


def test_near_a_delta_boundary_the_margin_makes_it_undetermined():
    # δ = 0.02 and, for the mechanics, a margin of 0.004
    margin = 0.004
    assert outcome_at(0.0, margin).outcome == "equivalent"
    assert outcome_at(0.05, margin).outcome == "better"
    assert outcome_at(-0.05, margin).outcome == "worse"
    # an interval ending within the margin of +δ: equivalent here, undetermined on another CPU
    near = outcome_at(0.02 - margin / 2, margin)
    assert near.high < 0.02 < near.high + margin and near.outcome == "undetermined"
    assert outcome_at(0.02 - margin / 2, margin=0).outcome == "equivalent"  # without the margin
    assert outcome_at(-(0.02 - margin / 2), margin).outcome == "undetermined"  # the same at -δ
    # clear of every boundary by more than the margin: decided
    assert outcome_at(0.02 - 3 * margin, margin).outcome == "equivalent"
    assert outcome_at(0.02 + 3 * margin, margin).outcome == "better"


def test_near_zero_with_a_wide_interval_the_margin_makes_it_undetermined():
    spread = (-0.03, 0.03, -0.02, 0.02, 0.0)  # an interval about ±0.034 wide
    base = experiments.interval(spread)
    half = base[2] - base[0]
    margin = 0.004
    # the interval's low end just above 0: "better" here, "undetermined" on another CPU
    first = paired("a", BASE[:5], [half + margin / 2 + s for s in spread])
    result = experiments.verdict(first, runs("b", BASE[:5]), margin=margin)
    assert 0 < result.low < margin and result.outcome == "undetermined"
    assert experiments.verdict(first, runs("b", BASE[:5]), margin=0).outcome == "better"
    first = paired("a", BASE[:5], [half + 2 * margin + s for s in spread])
    assert experiments.verdict(first, runs("b", BASE[:5]), margin=margin).outcome == "better"


def test_a_rerun_confirms_a_claim_it_would_not_make_anew():
    margin = 0.004
    # claimed here: the interval clears +δ by more than the margin
    stored = outcome_at(0.02 + 2 * margin, margin)
    assert stored.outcome == stored.claimed == "better" and stored.expected is None
    assert not stored.confirmed and "expected" not in stored.details
    # the rerun's interval moved by less than the margin: too close to claim, but it confirms
    rerun = outcome_at(0.02 + 0.5 * margin, margin)
    assert rerun.claimed == "undetermined"
    confirmed = experiments.verdict(*_pair(0.02 + 0.5 * margin), margin=margin, expected="better")
    assert confirmed.outcome == "better" and confirmed.confirmed
    assert confirmed.line == "Verdict: a better than b on Dice"
    assert "confirms the expected outcome (better; on its own, this run: undetermined)" in (
        confirmed.details
    )
    assert "confirms the expected outcome (better)" in stored_again(margin).details
    # a claim the data contradict is not confirmed: the verdict says what this run claims
    wrong = experiments.verdict(*_pair(0.0), margin=margin, expected="better")
    assert wrong.outcome == wrong.claimed == "equivalent" and not wrong.confirmed
    assert "does NOT confirm the expected outcome (better; this run: equivalent)" in wrong.details


def test_undetermined_is_confirmed_until_an_outcome_clears_twice_the_margin():
    margin = 0.004
    near = experiments.verdict(*_pair(0.02 + margin), margin=margin, expected="undetermined")
    assert near.claimed == "better" and near.outcome == "undetermined" and near.confirmed
    far = experiments.verdict(*_pair(0.02 + 4 * margin), margin=margin, expected="undetermined")
    assert far.outcome == far.claimed == "better" and not far.confirmed
    with pytest.raises(ValueError, match="expected must be one of"):
        experiments.verdict(*_pair(0.0), expected="same")


def test_every_claim_is_confirmed_by_any_interval_within_its_margin():
    rng = np.random.default_rng(0)
    delta, margin = 0.02, 0.004
    checked = 0
    for _ in range(4000):
        low = rng.uniform(-0.05, 0.05)
        high = low + rng.uniform(0, 0.04)
        claimed = experiments.comparison._stable_outcome(low, high, delta, margin)
        moved = np.array([low, high]) + rng.uniform(-0.999 * margin, 0.999 * margin, 2)
        if moved[0] > moved[1]:
            continue
        checked += claimed != "undetermined"
        assert experiments.confirms(claimed, *moved, delta, margin), (claimed, low, high, moved)
    assert checked > 1000  # decided claims were among them, not only "undetermined"


def stored_again(margin):
    """The stored claim of the test above, rerun unchanged: confirmed, and claimed anew."""
    return experiments.verdict(*_pair(0.02 + 2 * margin), margin=margin, expected="better")


def _pair(offset):
    return paired("a", BASE[:5], shifted(offset)), runs("b", BASE[:5])


def test_lower_is_better_reads_naturally():
    base = [3.0, 3.2, 3.1, 2.9, 3.0]
    first = paired("UNet++", base, [-1.0, -1.1, -0.9, -1.0, -1.2], "hd95")
    result = experiments.verdict(first, runs("UNet", base, "hd95"), "hd95")
    assert result.outcome == "better" and result.estimate > 0  # an advantage: lower HD95
    assert result.line == "Verdict: UNet++ better than UNet on HD95"
    assert "HD95 (lower is better): UNet++ − UNet = -1.04 px" in result.details
    assert "UNet++ better on 5/5 seeds" in result.details and "δ ±0.5 px" in result.details


def test_verdict_needs_the_same_seeds_a_known_metric_and_a_delta():
    with pytest.raises(ValueError, match="must use the same seeds"):
        experiments.verdict(runs("a", [0.1, 0.2]), runs("b", [0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match=r"metric must be one of \['dice'\]"):
        experiments.verdict(runs("a", [0.1, 0.2]), runs("b", [0.1, 0.2]), "iou")
    odd = [runs(name, [0.1, 0.2], "odd") for name in "ab"]
    with pytest.raises(ValueError, match="delta must be given for metric 'odd'"):
        experiments.verdict(*odd, "odd")
    assert experiments.verdict(*odd, "odd", delta=1.0).outcome == "equivalent"  # no difference
    with pytest.raises(ValueError, match="delta must be > 0"):
        experiments.verdict(*odd, "odd", delta=0)
    with pytest.raises(ValueError, match="margin must be >= 0"):
        experiments.verdict(*odd, "odd", delta=1.0, margin=-1)


def test_every_metric_a_notebook_compares_has_a_delta_and_a_reason():
    for metric in (*experiments.METRIC_LABELS, "PSNR gain", "interior PSNR gain"):
        smallest = experiments.SMALLEST_DIFFERENCES[metric]
        assert smallest.delta > 0 and len(smallest.reason) > 20, metric
    assert experiments.comparison._smallest("iou_epoch3") is experiments.SMALLEST_DIFFERENCES["iou"]


def test_labels_rename_the_two_in_the_verdict():
    result = experiments.verdict(
        paired("membranes-unetpp-no-ds", BASE[:5], [0.1] * 5),
        runs("membranes-unet", BASE[:5]),
        labels=("UNet++", "UNet"),
    )
    assert result.line == "Verdict: UNet++ better than UNet on Dice"
    with pytest.raises(ValueError, match="labels must be None or two names"):
        experiments.verdict(runs("a", [0.1]), runs("b", [0.2]), labels="ab")


def test_last_change_measures_how_far_the_curve_still_moves():
    histories = [{"val_iou": [0.1, 0.5, 0.60, 0.61, 0.60]}, {"val_iou": [0.2, 0.4, 0.5, 0.55, 0.6]}]
    result = SeedRuns("x", [0, 1], [{"dice": 0.5}] * 2, histories)
    assert result.last_change("val_iou", last=3) == pytest.approx([0.01, 0.1])
    with pytest.raises(ValueError, match=r"key must be one of \['val_iou'\]"):
        result.last_change("val_loss")


def test_crop_recipes_use_the_crops_side_and_show_it():
    cpu = setup.PROFILES["cpu"]
    for name in ("vae-crops", "crops-features", "crops-unet"):
        assert experiments.recipe(name).input_shape(cpu) == (32, 32, 1)
    assert experiments.recipe("membranes-unet").input_shape(cpu) == (64, 64, 1)
    text = experiments.show("vae-crops", cpu)
    assert 'data.load_embedded("crops", PROFILE)' in text and "(32, 32, 1)" in text
    assert "augment=False" in text and "batch_size=64" in text
    features = experiments.show("crops-features", cpu)
    assert 'experiments.splits("crops-features", PROFILE)' in features and 'loss="mse"' in features
    betas = [name for name in experiments.RECIPES if name.startswith("vae-crops-beta")]
    assert len(betas) + 1 == len(experiments.BETAS) >= 3


def test_crop_factors_are_standardised_targets():
    train, val, _ = experiments.splits("crops-features", TINY)
    assert train[1].shape == (len(train[0]), 7) and len(val[1]) == len(val[0])
    np.testing.assert_allclose(train[1].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(train[1].std(0), 1, rtol=1e-4)


@pytest.mark.training
def test_generators_are_scored_with_the_sample_quality_measure(cache):
    experiments.sample_quality.cache_clear()
    quality = experiments.sample_quality(TINY)
    count = experiments.num_quality_images(TINY)
    assert quality.reference.shape == (count, 32)
    real = experiments.real_crops(TINY)
    assert real.shape == (count, 32, 32, 1)
    assert quality.distance(real) < quality.distance(np.random.default_rng(0).random(real.shape))
    with pytest.raises(ValueError, match=r"images must be \(N, 32, 32, 1\)"):
        quality.distance(real[..., 0])
    vae = experiments.run_seeds("vae-crops", TINY, seeds=[0])
    judges = [f"sample_fd_judge{k}" for k in range(TINY.num_seeds)]
    scores = {"excess", "psnr", "excess_clean", "psnr_clean", "sample_fd", "fitted_fd"}
    scores |= {"sample_statistics_fd", *judges}
    assert set(vae.scores[0]) == scores | {"kl", "active"}
    assert vae.scores[0]["excess"] > 0 and vae.scores[0]["sample_fd"] > 0
    # The sample FD is the mean over the judges (one feature network per seed of the profile).
    per_judge = [vae.scores[0][name] for name in judges]
    assert vae.scores[0]["sample_fd"] == pytest.approx(np.mean(per_judge))
    assert 0 <= vae.scores[0]["active"] <= 16
    autoencoder = experiments.run_seeds("autoencoder-crops", TINY, seeds=[0])
    assert set(autoencoder.scores[0]) == scores  # no sigma: no KL term, no active dimensions
    skips = experiments.run_seeds("vae-crops-skips", TINY, seeds=[0])
    assert set(skips.scores[0]) == scores | {"kl", "active"}


@pytest.mark.training
def test_noise_free_test_crops_are_the_test_crops_before_their_noise(cache):
    _, _, test = experiments.splits("vae-crops", TINY)
    clean = experiments.clean_test_crops(TINY)
    assert clean.shape == test[0].shape
    # Shot noise has mean zero: the noisy crops scatter around the clean ones, never far.
    assert 0 < np.abs(test[0] - clean).mean() < 0.05
    assert abs((test[0] - clean).mean()) < 0.005


def test_fitted_codes_follow_the_codes_mean_and_covariance():
    rng = np.random.default_rng(0)
    codes = rng.normal([3.0, -1.0], [2.0, 0.5], size=(4000, 2))
    drawn = experiments.fitted_codes(codes, 4000, seed=1)
    assert drawn.shape == (4000, 2) and drawn.dtype == np.float32
    np.testing.assert_allclose(drawn.mean(0), [3.0, -1.0], atol=0.1)
    np.testing.assert_allclose(drawn.std(0), [2.0, 0.5], rtol=0.05)
    np.testing.assert_array_equal(drawn, experiments.fitted_codes(codes, 4000, seed=1))


def test_lower_is_better_for_distances_and_excess():
    assert {
        "sample_fd",
        "fitted_fd",
        "excess",
        "excess_clean",
        "hd95",
    } <= experiments.LOWER_IS_BETTER
    assert "sample_fd_judge0" in experiments.LOWER_IS_BETTER
    assert {"kl", "active"} <= experiments.DIRECTIONLESS
    closer = SeedRuns("a", list(range(5)), [{"sample_fd": v} for v in (1.0, 1.1, 0.9, 1.2, 1.0)])
    farther = SeedRuns("b", list(range(5)), [{"sample_fd": v} for v in (5.0, 5.2, 4.9, 5.1, 5.3)])
    result = experiments.verdict(closer, farther, "sample_fd")
    assert result.outcome == "better"
    assert result.line == "Verdict: a better than b on sample FD"


# --- the shipped real field: sim to real ---------------------------------------------------------


def test_real_choices_are_made_on_the_fine_tune_block_only(monkeypatch):
    raw, labels = data.real_field_scaled_whole(scaled=False)
    scale = experiments.real_scale(TINY)
    blocks = experiments.real_blocks(TINY)
    assert isinstance(scale["factor"], int) and scale["factor"] >= 1 and scale["gain"] > 0
    # Change everything right of the middle (5x brighter, no nuclei): this moves the whole
    # field's percentiles and statistics, but no choice and no fine-tune pixel may move.
    changed_raw, changed_labels = raw.copy(), labels.copy()
    changed_raw[:, 256:] *= 5
    changed_labels[:, 256:] = 0
    assert not np.allclose(data.normalise(changed_raw)[:, :256], data.normalise(raw)[:, :256])
    monkeypatch.setattr(
        data,
        "real_field_scaled_whole",
        lambda name="dsb2018-sample", scaled=True: (changed_raw, changed_labels),
    )
    assert experiments.real_scale(TINY) == scale
    changed = experiments.real_blocks(TINY)
    np.testing.assert_array_equal(changed["fine-tune"][0], blocks["fine-tune"][0])
    np.testing.assert_array_equal(changed["fine-tune"][1], blocks["fine-tune"][1])
    assert not np.array_equal(changed["test"][0], blocks["test"][0])


def test_real_blocks_are_two_contiguous_halves_of_one_square():
    scale = experiments.real_scale(setup.PROFILES["cpu"])
    for gain in (True, False):
        blocks = experiments.real_blocks(setup.PROFILES["cpu"], gain=gain)
        assert tuple(blocks) == experiments.REAL_BLOCKS
        (left, left_labels), (right, right_labels) = blocks.values()
        side = 512 // scale["factor"] // 8 * 8
        assert left.shape == right.shape == left_labels.shape == (side, side // 2)
        small, small_labels = data.downscale(
            *experiments.real_field_scaled_fine_tune(), scale["factor"]
        )
        expected = np.clip(small * scale["gain"], 0, 1) if gain else small
        np.testing.assert_allclose(left, expected[:side, : side // 2], rtol=1e-6)
        np.testing.assert_allclose(right, expected[:side, side // 2 : side], rtol=1e-6)
        np.testing.assert_array_equal(right_labels, small_labels[:side, side // 2 : side])
    tiles = experiments.block_tiles(left)
    assert tiles.shape == (8, side // 4, side // 4, 1)
    np.testing.assert_array_equal(tiles[3, ..., 0], left[side // 4 : side // 2, side // 4 :])


def test_the_fine_tune_block_holds_out_its_bottom_rows():
    for name in ("ci", "cpu", "gpu"):
        profile = setup.PROFILES[name]
        block, labels = experiments.real_blocks(profile)["fine-tune"]
        parts = experiments.real_parts(profile)
        (top, top_labels), (bottom, bottom_labels) = parts["train"], parts["held-out"]
        side = experiments.real_window_side(profile)
        assert bottom.shape[0] % side == 0 and bottom.shape[0] >= side
        np.testing.assert_array_equal(np.concatenate([top, bottom]), block)
        np.testing.assert_array_equal(np.concatenate([top_labels, bottom_labels]), labels)
        train_windows, held_windows = (experiments.real_windows(profile, p)[0] for p in parts)
        assert len(train_windows) > len(held_windows) >= 1
        assert train_windows.shape[1:] == held_windows.shape[1:] == (side, side, 1)
        # No training window reaches the held-out rows: its last one ends on the part's edge.
        np.testing.assert_array_equal(train_windows[-1, ..., 0], top[-side:, -side:])
    with pytest.raises(ValueError, match=r"part must be one of \('train', 'held-out'\)"):
        experiments.real_windows(TINY, "test")


def test_real_scores_pool_the_block_and_the_threshold_is_the_best_dice():
    labels = np.zeros((8, 8), int)
    labels[1:4, 1:4], labels[5:7, 5:7] = 1, 2
    probabilities = np.where(labels > 0, 0.7, 0.2)
    probabilities[5:7, 5:7] = 0.4  # found only by a threshold below 0.4
    assert experiments.real_threshold(probabilities, labels) < 0.4
    scores = experiments.real_scores(probabilities, labels, threshold=0.5)
    assert scores["dice"] == pytest.approx(2 * 9 / (9 + 13)) and set(scores) == {
        "dice",
        "iou",
        "hd95",
    }


@pytest.mark.training
def test_training_on_real_starts_from_the_synthetic_weights_or_at_random(cache):
    with pytest.raises(ValueError, match=r"start must be one of \('synthetic', 'scratch'\)"):
        experiments.train_on_real(TINY, "imagenet")
    synthetic, _ = experiments.train("unet-nuclei", TINY, verbose=False)
    tuned, history = experiments.train_on_real(TINY, "synthetic", num_epochs=1)
    # Seed 1 from scratch: random weights unlike the synthetic UNet's seed-0 initial ones.
    scratch, _ = experiments.train_on_real(TINY, "scratch", seed=1, num_epochs=1)
    assert len(history["loss"]) == 1
    # One epoch moves the weights a little from where they started: the synthetic ones.
    start, after, other = (m.get_weights()[0] for m in (synthetic, tuned, scratch))
    assert np.abs(after - start).max() < np.abs(other - start).max()
    runs = experiments.real_runs(TINY, "scratch", seeds=[0], num_epochs=1)
    assert runs.name == "from scratch" and set(runs.scores[0]) == {"dice", "iou", "hd95"}
    windows = experiments.real_windows(TINY)
    assert windows[0].shape == windows[1].shape and windows[0].shape[1:] == (16, 16, 1)
    assert set(np.unique(windows[1])) <= {0.0, 1.0}
    maps = experiments.predict_blocks(scratch, experiments.real_blocks(TINY))
    assert maps["test"].shape == experiments.real_blocks(TINY)["test"][0].shape


def test_a_metric_without_a_better_direction_reads_higher_or_lower():
    base = [8.0, 8.2, 8.1, 8.3, 8.0]
    first = paired("small beta", base, [8.5, 8.6, 8.4, 8.7, 8.5], "kl")
    result = experiments.verdict(first, runs("VAE", base, "kl"), "kl")
    assert result.outcome == "better"  # from the first's side: higher
    assert result.line == "Verdict: small beta higher than VAE on KL"
    assert "small beta higher on 5/5 seeds" in result.details
    # its interval keeps the sign of the difference (KL is not lower-is-better)
    assert "lower is better" not in result.details
    assert f"95 % CI [+{result.low:.2f}, +{result.high:.2f}]" in result.details and result.low > 0
    confirmed = experiments.verdict(first, runs("VAE", base, "kl"), "kl", expected="better")
    assert "confirms the expected outcome (higher)" in confirmed.details

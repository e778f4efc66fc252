"""Tests of the utils/experiments/ package: recipes by name, seeds as an axis, the verdict."""

import dataclasses
import re

import numpy as np
import pytest

from utils import data, experiments, setup
from utils.experiments import SeedRuns

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
    assert "data.cores(masks)" in rare and 'loss="dice", num_epochs=3' in rare


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
def test_train_caches_each_seed_under_its_own_name(cache):
    model, history = experiments.train("small-unet", TINY, seed=1)
    assert len(history["loss"]) == TINY.comparison_epochs and model.count_params() > 0
    names = sorted(path.name for path in (cache / "models").glob("*.keras"))
    assert len(names) == 1 and names[0].startswith("small-unet-seed1-")
    _, cached = experiments.train("small-unet", TINY, seed=1)
    assert cached == history  # loaded from the cache, not trained again


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
    with pytest.raises(ValueError, match="another kind of autoencoder"):
        experiments.run_seeds("crops-unet-autoencoder", TINY)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        experiments.run_seeds("small-unet", TINY, seeds=[-1])


@pytest.mark.training
def test_run_seeds_scores_a_pruned_head(cache):
    result = experiments.run_seeds("small-unetpp-ds", TINY, seeds=[0], head=2)
    assert result.name == "small-unetpp-ds L2" and 0 <= result.scores[0]["dice"] <= 1
    with pytest.raises(ValueError, match="head=2 needs a deep-supervised model"):
        experiments.run_seeds("small-unet", TINY, seeds=[0], head=2)


def test_clear_win_is_a_verdict_without_numbers():
    result = experiments.verdict(
        runs("UNet++", [0.80, 0.82, 0.81]), runs("UNet", [0.60, 0.62, 0.61])
    )
    assert result.outcome == "above"
    assert result.line == "Verdict: UNet++ above UNet on Dice (every seed)"
    assert not re.search(r"\d", result.line)  # categorical: the numbers go on the next line
    assert "0.810 ± 0.010" in result.details and str(result).startswith(result.line + "\n")


def test_clear_loss_names_the_better_one_first():
    result = experiments.verdict(
        runs("UNet", [0.60, 0.62, 0.61]), runs("UNet++", [0.80, 0.82, 0.81])
    )
    assert result.outcome == "below"
    assert result.line == "Verdict: UNet++ above UNet on Dice (every seed)"


def test_overlapping_spreads_are_inconclusive():
    result = experiments.verdict(runs("a", [0.70, 0.75, 0.62]), runs("b", [0.66, 0.71, 0.68]))
    assert result.outcome == "inconclusive"
    assert result.line == "Verdict: inconclusive — a vs b on Dice"


def test_one_seed_is_never_a_verdict():
    assert experiments.verdict(runs("a", [0.9]), runs("b", [0.1])).outcome == "inconclusive"


def test_seeds_that_disagree_are_inconclusive():
    # a large mean gap, but one seed ranks them the other way
    result = experiments.verdict(runs("a", [0.9, 0.9, 0.1]), runs("b", [0.1, 0.1, 0.2]))
    assert result.outcome == "inconclusive"


def test_a_gap_near_the_rules_boundary_is_inconclusive():
    # b has no spread, a's sd is 0.1: pooled sd = 0.1 / sqrt(2); threshold = 2 x that
    pooled = 0.1 / 2**0.5
    threshold = experiments.MARGIN * pooled
    a_base = [-0.1, 0.0, 0.1]  # sd exactly 0.1
    cases = ((1.05, "inconclusive"), (1.4, "inconclusive"), (1.6, "above"))
    for factor, expected in cases:
        gap = factor * threshold
        a = runs("a", [0.5 + gap + v for v in a_base])
        b = runs("b", [0.5, 0.5, 0.5])
        assert experiments.verdict(a, b).outcome == expected, factor


def test_lower_is_better_for_hd95():
    result = experiments.verdict(
        runs("UNet++", [3.0, 3.1, 3.2], "hd95"), runs("UNet", [6.0, 6.1, 6.2], "hd95"), "hd95"
    )
    assert result.outcome == "above"
    assert result.line == "Verdict: UNet++ below UNet on HD95 (every seed)"


def test_verdict_needs_the_same_seeds_and_a_known_metric():
    with pytest.raises(ValueError, match="must use the same seeds"):
        experiments.verdict(runs("a", [0.1, 0.2]), runs("b", [0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match=r"metric must be one of \['dice'\]"):
        experiments.verdict(runs("a", [0.1, 0.2]), runs("b", [0.1, 0.2]), "iou")


def test_labels_rename_the_two_in_the_verdict():
    result = experiments.verdict(
        runs("membranes-unetpp-no-ds", [0.8, 0.81, 0.82]),
        runs("membranes-unet", [0.6, 0.61, 0.62]),
        labels=("UNet++", "UNet"),
    )
    assert result.line == "Verdict: UNet++ above UNet on Dice (every seed)"


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
    scores = {"excess", "psnr", "sample_fd", "midpoint_fd", "sample_statistics_fd"}
    assert set(vae.scores[0]) == scores | {"kl"}
    assert vae.scores[0]["excess"] > 0 and vae.scores[0]["sample_fd"] > 0
    autoencoder = experiments.run_seeds("autoencoder-crops", TINY, seeds=[0])
    assert "kl" not in autoencoder.scores[0]  # a plain autoencoder has no sigma, no KL term


def test_lower_is_better_for_distances_and_excess():
    assert {"sample_fd", "midpoint_fd", "excess", "hd95"} <= experiments.LOWER_IS_BETTER
    closer = SeedRuns("a", [0, 1, 2], [{"sample_fd": v} for v in (1.0, 1.1, 0.9)])
    farther = SeedRuns("b", [0, 1, 2], [{"sample_fd": v} for v in (5.0, 5.2, 4.9)])
    result = experiments.verdict(closer, farther, "sample_fd")
    assert result.outcome == "above"
    assert result.line == "Verdict: a below b on sample FD (every seed)"


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
    scratch, _ = experiments.train_on_real(TINY, "scratch", num_epochs=1)
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

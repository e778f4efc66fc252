"""Tests of utils/training.py on tiny data: training, cached checkpoints, evaluation."""

import dataclasses

import keras
import numpy as np
import pytest

from utils import data, models, training
from utils.setup import PROFILES

TINY = dataclasses.replace(PROFILES["ci"], image_size=16, num_epochs=2, batch_size=4)


@pytest.fixture
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def splits():
    images, masks = data.make_nuclei(12, 16, seed=0)
    return data.split(images, masks, num_val=4, num_test=4)


def tiny_unet():
    keras.utils.set_random_seed(0)
    return training.build(models.build_unet, (16, 16, 1), (4, 8))


@pytest.mark.training
def test_fit_trains_saves_and_reuses(cache, splits, capsys):
    train, val, _ = splits
    model = tiny_unet()
    history = training.fit(model, train, val, TINY, "tiny")
    assert len(history["loss"]) == len(history["val_iou"]) == 2 and history["seconds"] > 0
    assert "epoch  2/2" in capsys.readouterr().out
    assert len(list((cache / "models").glob("tiny-*.keras"))) == 1
    again = tiny_unet()
    assert training.fit(again, train, val, TINY, "tiny") == history
    out = capsys.readouterr().out
    assert "reusing the weights" in out and "epoch  2/2" in out  # the cached training log is shown
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.training
def test_other_data_trains_anew(cache, splits):
    train, val, _ = splits
    training.fit(tiny_unet(), train, val, TINY, "tiny", verbose=False)
    flipped = (train[0][:, ::-1], train[1][:, ::-1])
    training.fit(tiny_unet(), flipped, val, TINY, "tiny", verbose=False)
    assert len(list((cache / "models").glob("tiny-*.keras"))) == 2


@pytest.mark.training
def test_batch_size_overrides_the_profile(cache, splits):
    train, val, _ = splits
    history = training.fit(tiny_unet(), train, val, TINY, "tiny", batch_size=2, verbose=False)
    assert len(history["loss"]) == 2
    training.fit(tiny_unet(), train, val, TINY, "tiny", verbose=False)  # the profile's 4: new key
    assert len(list((cache / "models").glob("tiny-*.keras"))) == 2


def test_evaluate_reports_the_three_metrics(splits):
    _, _, test = splits
    scores = training.evaluate(tiny_unet(), *test)
    assert set(scores) == {"dice", "iou", "hd95"}
    assert 0 <= scores["dice"] <= 1 and 0 <= scores["iou"] <= 1 and scores["hd95"] >= 0


def test_strategy_follows_the_devices():
    import tensorflow as tf

    gpus = len(tf.config.list_physical_devices("GPU"))
    before = keras.mixed_precision.global_policy().name
    try:
        strategy = training.strategy()
        # One replica per GPU when there are several, else one; float16 layers only with a GPU.
        assert strategy.num_replicas_in_sync == (gpus if gpus > 1 else 1)
        expected = "mixed_float16" if gpus else "float32"
        assert keras.mixed_precision.global_policy().name == expected
    finally:
        keras.mixed_precision.set_global_policy(before)  # other tests build float32 models


def test_strategy_on_one_gpu_computes_in_float16(monkeypatch):
    # The GPU branch, exercised on any host: one (pretended) GPU gives one replica, float16 layers.
    import tensorflow as tf

    monkeypatch.setattr(
        tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"] if kind == "GPU" else []
    )
    before = keras.mixed_precision.global_policy().name
    try:
        assert training.strategy().num_replicas_in_sync == 1
        assert keras.mixed_precision.global_policy().name == "mixed_float16"
    finally:
        keras.mixed_precision.set_global_policy(before)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "bad name/x"}, r"name must be letters"),
        ({"loss": "focal"}, r"loss must be one of"),
        ({"loss": "mse"}, r"augment must be False with loss='mse'"),
        ({"schedule": "step"}, r"schedule must be 'constant' or 'cosine'"),
        ({"num_epochs": 0}, r"num_epochs must be a positive integer or None, got 0"),
        ({"batch_size": 2.5}, r"batch_size must be a positive integer or None, got 2.5"),
        ({"loss": None}, r"got None \(loss=None is only for a models.VAE\)"),
        ({"name": 3}, r"name must be letters"),
        ({"num_epochs": True}, r"num_epochs must be a positive integer or None, got True"),
        ({"augment": "yes"}, r"augment must be True or False"),
        ({"learning_rate": 0}, r"learning_rate must be a finite number > 0"),
        ({"seed": -1}, r"seed must be an integer >= 0"),
        ({"verbose": "no"}, r"verbose must be True or False"),
        ({"use_cache": 1}, r"use_cache must be True or False"),
    ],
)
def test_bad_arguments(splits, kwargs, message):
    train, val, _ = splits
    with pytest.raises(ValueError, match=message):
        training.fit(tiny_unet(), train, val, TINY, **{"name": "ok", **kwargs})


def test_a_profile_is_needed(splits):
    train, val, _ = splits
    with pytest.raises(ValueError, match=r"profile must be a Profile"):
        training.fit(tiny_unet(), train, val, "cpu", "ok")


def test_a_vae_trains_only_with_its_own_loss(splits):
    train, val, _ = splits
    vae = models.build_vae((16, 16, 1), latent_dim=2, filters=(4,))
    pairs, val_pairs = (train[0], train[0]), (val[0], val[0])
    with pytest.raises(ValueError, match=r"loss must be None for a models.VAE .* got 'bce_dice'"):
        training.fit(vae, pairs, val_pairs, TINY, "tiny-vae")  # the default: a segmentation loss


@pytest.mark.training
def test_deep_supervision_trains_every_head(cache, splits):
    train, val, test = splits
    keras.utils.set_random_seed(0)
    model = training.build(models.build_unet_plus_plus, (16, 16, 1), (4, 8, 8))
    history = training.fit(model, train, val, TINY, "tiny-pp", loss="paper", verbose=False)
    assert {"head1_loss", "head2_loss", "val_head1_iou", "val_head2_iou"} <= set(history)
    np.testing.assert_allclose(  # the total loss is the sum of the heads' losses
        history["val_loss"][-1],
        history["val_head1_loss"][-1] + history["val_head2_loss"][-1],
        rtol=1e-4,
    )
    with pytest.raises(ValueError, match=r"model has 2 outputs"):
        training.evaluate(model, *test)
    assert set(training.evaluate(models.average_heads(model), *test)) == {"dice", "iou", "hd95"}


@pytest.mark.training
def test_a_regression_trains_on_targets_of_any_shape(cache, splits):
    train, val, _ = splits
    keras.utils.set_random_seed(0)
    network = training.build(models.build_feature_network, (16, 16, 1), num_outputs=3, filters=(4,))
    targets = [images.reshape(len(images), -1)[:, :3] for images in (train[0], val[0])]
    history = training.fit(
        network,
        (train[0], targets[0]),
        (val[0], targets[1]),
        TINY,
        "tiny-regression",
        loss="mse",
        augment=False,
    )
    assert "iou" not in history and len(history["val_loss"]) == TINY.num_epochs


@pytest.mark.training
@pytest.mark.parametrize("kind", ["unet", "vae"])
def test_the_training_step_is_traced_once(cache, splits, kind):
    # Optimizer slots created inside the first step would make TensorFlow trace it twice.
    train, val, _ = splits
    if kind == "vae":
        model = training.build(models.build_vae, (16, 16, 1), latent_dim=2, filters=(4,))
        pairs, val_pairs, loss = (train[0], train[0]), (val[0], val[0]), None
    else:
        model, pairs, val_pairs, loss = tiny_unet(), train, val, "bce_dice"
    traces, step = [], model.train_step

    def counted_step(batch):  # runs in Python only while TensorFlow traces the step
        traces.append(1)
        return step(batch)

    model.train_step = counted_step
    training.fit(model, pairs, val_pairs, TINY, f"tiny-{kind}", loss=loss, verbose=False)
    assert model.optimizer.built and len(traces) == 1


def test_forward_computes_what_predict_does_batch_by_batch():
    model = training.build(models.build_unet, (16, 16, 1), (4, 8))
    images = np.random.default_rng(0).random((37, 16, 16, 1), dtype=np.float32)
    expected = model.predict(images, batch_size=32, verbose=0)
    np.testing.assert_array_equal(training.forward(model, images), expected)
    np.testing.assert_array_equal(training.predict(model, images, batch_size=5), expected)
    heads = models.build_unet_plus_plus((16, 16, 1), (4, 8, 16))  # two heads: a list of two
    outputs = training.forward(heads, images)
    assert isinstance(outputs, list) and len(outputs) == 2
    for ours, theirs in zip(outputs, heads.predict(images, verbose=0), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(ValueError, match="batch_size"):
        training.forward(model, images, batch_size=0)
    with pytest.raises(ValueError, match="inputs"):
        training.forward(model, images[:0])

"""Tests of the VAE in utils/models.py and its terms in utils/metrics.py: the seed's encoder and
decoder rebuilt exactly, the closed-form KL, the training step, saving and clear errors."""

import keras
import numpy as np
import pytest
from test_models import signature

from utils import metrics, models, training
from utils.setup import PROFILES


def test_defaults_rebuild_the_seeds_encoder_and_decoder_exactly():
    vae = models.build_vae()
    seed_encoder, seed_decoder = models.source_listing("vae")
    assert signature(vae.encoder) == signature(seed_encoder)
    assert signature(vae.decoder) == signature(seed_decoder)
    assert vae.encoder.count_params() == seed_encoder.count_params() == 4_268_832
    assert vae.decoder.count_params() == seed_decoder.count_params() == 2_450_177


@pytest.mark.parametrize("shape", [(64, 64, 1), (32, 48, 3)])
def test_other_sizes_reconstruct_the_input_shape(shape):
    vae = models.build_vae(shape, latent_dim=3, filters=(4, 8))
    assert vae.decoder.layers[2].output.shape[1:] == (shape[0] // 4, shape[1] // 4, 8)
    images = np.random.default_rng(0).random((2, *shape), dtype=np.float32)
    assert vae(images).shape == (2, *shape)
    z_mean, z_log_var = vae.encoder(images)
    assert z_mean.shape == z_log_var.shape == (2, 3)


def test_closed_form_kl_matches_monte_carlo_and_keras_tensors():
    rng = np.random.default_rng(0)
    mean, log_var = rng.normal(size=(3, 4)), rng.normal(scale=0.5, size=(3, 4))
    std = np.exp(0.5 * log_var)
    z = mean + std * rng.standard_normal((200_000, 3, 4))
    log_q = -0.5 * (((z - mean) / std) ** 2 + log_var + np.log(2 * np.pi))
    log_p = -0.5 * (z**2 + np.log(2 * np.pi))
    monte_carlo = (log_q - log_p).sum(-1).mean(0)
    np.testing.assert_allclose(metrics.gaussian_kl(mean, log_var), monte_carlo, rtol=0.02)
    tensor = metrics.gaussian_kl(
        keras.ops.convert_to_tensor(mean), keras.ops.convert_to_tensor(log_var)
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(tensor), metrics.gaussian_kl(mean, log_var), rtol=1e-5
    )
    assert metrics.gaussian_kl(np.zeros((2, 5)), np.zeros((2, 5))).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="z_mean and z_log_var must have the same shape"):
        metrics.gaussian_kl(np.zeros((2, 5)), np.zeros((2, 4)))


def test_reconstruction_term_is_a_sum_over_pixels():
    images = np.full((2, 4, 4, 1), 0.5, np.float32)
    value = keras.ops.convert_to_numpy(metrics.bernoulli_reconstruction(images, images))
    np.testing.assert_allclose(value, [16 * np.log(2)] * 2, rtol=1e-5)


def test_fit_tracks_the_three_terms_and_the_checkpoint_reloads(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    images = np.random.default_rng(0).random((12, 16, 16, 1), dtype=np.float32)
    profile = PROFILES["ci"]
    vae = models.build_vae((16, 16, 1), latent_dim=2, filters=(4, 8), seed=0)
    history = training.fit(
        vae,
        (images[:8], images[:8]),
        (images[8:], images[8:]),
        profile,
        "tiny-vae",
        loss=None,
        num_epochs=2,
        verbose=False,
    )
    for key in ("loss", "reconstruction", "kl", "val_loss", "val_reconstruction", "val_kl"):
        assert len(history[key]) == 2, key
    np.testing.assert_allclose(  # beta = 1: loss = reconstruction + KL
        history["val_loss"][-1],
        history["val_reconstruction"][-1] + history["val_kl"][-1],
        rtol=1e-4,
    )
    reloaded = keras.models.load_model(next(tmp_path.glob("models/tiny-vae-*.keras")))
    assert isinstance(reloaded, models.VAE) and reloaded.beta == 1.0
    np.testing.assert_allclose(reloaded(images[:2]), vae(images[:2]), atol=1e-6)


def test_autoencoder_ignores_the_kl_term():
    images = np.random.default_rng(0).random((4, 16, 16, 1), dtype=np.float32)
    autoencoder = models.build_vae((16, 16, 1), latent_dim=2, filters=(4,), variational=False)
    terms = autoencoder.terms(images)
    np.testing.assert_allclose(terms["loss"], terms["reconstruction"])
    beta_vae = models.build_vae((16, 16, 1), latent_dim=2, filters=(4,), beta=4.0, seed=1)
    terms = beta_vae.terms(images, training=True)
    np.testing.assert_allclose(
        terms["loss"], terms["reconstruction"] + 4.0 * terms["kl"], rtol=1e-5
    )


def test_terms_with_a_seed_do_not_depend_on_what_ran_before():
    images = np.random.default_rng(0).random((4, 16, 16, 1), dtype=np.float32)
    vae = models.build_vae((16, 16, 1), latent_dim=2, filters=(4,), seed=1)
    first = vae.terms(images, seed=0)["reconstruction"]
    vae.terms(images)  # moves the sampling layer's generator on, as training does
    np.testing.assert_array_equal(vae.terms(images, seed=0)["reconstruction"], first)
    # without a seed, each call draws new noise
    assert not np.array_equal(
        vae.terms(images)["reconstruction"], vae.terms(images)["reconstruction"]
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_shape": (30, 32, 1)}, r"\(30, 32\) must be divisible by 2\*\*len\(filters\) = 4"),
        ({"latent_dim": 0}, "latent_dim must be a positive int"),
        ({"beta": -1.0}, "beta must be >= 0"),
        ({"filters": ()}, "filters must be a non-empty sequence"),
        ({"input_shape": (32, 32)}, r"input_shape must be \(height, width, channels\)"),
    ],
)
def test_bad_arguments_raise_a_clear_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.build_vae(**kwargs)


def test_frechet_distance_is_zero_for_the_same_statistics_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(500, 3))
    assert metrics.frechet_distance(features, features) == pytest.approx(0, abs=1e-6)
    shifted = metrics.frechet_distance(features, features + [2.0, 0, 0])
    assert shifted == pytest.approx(4.0, rel=1e-6)  # |mu_a - mu_b|^2, covariances equal
    # Two Gaussians: N(0, I) vs N(0, 4 I) in 3-D: tr(I + 4I - 2*2I) = 3.
    wide = rng.normal(scale=2.0, size=(200_000, 3))
    narrow = rng.normal(size=(200_000, 3))
    assert metrics.frechet_distance(narrow, wide) == pytest.approx(3.0, rel=0.02)
    with pytest.raises(ValueError, match="features must be"):
        metrics.frechet_distance(features, features[:, :2])


def test_image_statistics_see_brightness_and_scale():
    rng = np.random.default_rng(0)
    noise = rng.random((4, 32, 32, 1))
    blobs = np.repeat(np.repeat(rng.random((4, 4, 4, 1)), 8, axis=1), 8, axis=2)
    stats_noise, stats_blobs = metrics.image_statistics(noise), metrics.image_statistics(blobs)
    assert stats_noise.shape == (4, 24)
    np.testing.assert_allclose(stats_noise[:, :16].sum(1), 1.0)  # histograms of fractions
    # Fine noise has more power at the highest frequencies than coarse blobs.
    assert (stats_noise[:, -2] > stats_blobs[:, -2]).all()
    with pytest.raises(ValueError, match=r"images must be \(N, H, W, C\)"):
        metrics.image_statistics(noise[0])


def test_description_does_not_depend_on_what_was_built_before():
    """training.fit's cache key hashes `to_json()`: it must be the same in every session."""
    first = models.build_vae((16, 16, 1), latent_dim=2, filters=(4,)).to_json()
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(2)])
    models.build_unet((16, 16, 1), (4, 8))
    assert models.build_vae((16, 16, 1), latent_dim=2, filters=(4,)).to_json() == first


def test_the_reconstruction_floor_is_the_binary_entropy_and_the_excess_is_zero_at_it():
    images = np.array([0.0, 0.5, 0.2, 1.0], np.float32).reshape(1, 2, 2, 1)
    entropy = -sum(p * np.log(p) + (1 - p) * np.log(1 - p) for p in (0.5, 0.2))
    np.testing.assert_allclose(metrics.bernoulli_floor(images), [entropy], rtol=1e-5)
    np.testing.assert_allclose(metrics.bernoulli_excess(images, images), [0.0], atol=1e-4)
    worse = metrics.bernoulli_excess(images, np.full_like(images, 0.5))
    assert worse[0] > 0.5  # a wrong reconstruction pays above the floor
    np.testing.assert_allclose(metrics.bernoulli_floor(np.zeros((2, 3, 3, 1))), 0, atol=1e-4)


def test_numpy_ints_build_the_same_vae_as_python_ints():
    plain = models.build_vae((16, 16, 1), 2, filters=(4, 8), seed=3)
    numpy = models.build_vae(
        np.array([16, 16, 1]), np.int64(2), filters=np.array([4, 8]), seed=np.int64(3)
    )
    assert numpy.encoder.to_json() == plain.encoder.to_json()
    assert numpy.decoder.to_json() == plain.decoder.to_json()
    assert numpy.get_config()["seed"] == 3 and type(numpy.get_config()["seed"]) is int


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: models.build_vae((16, 16, 1), 2, filters=(4, 8), variational=1), "variational"),
        (lambda: models.build_vae((16, 16, 1), 2, filters=(4, 8), seed=-1), "seed must be None"),
        (lambda: models.build_vae_decoder((30, 32, 1), 2, (4, 8)), r"output_shape \(30, 32\)"),
        (lambda: models.build_vae_encoder((2, 2, 1), 2, (4, 8)), "input_shape"),
        (lambda: models.Sampling(seed=1.5), "seed must be None or an integer >= 0, got 1.5"),
    ],
)
def test_vae_parts_check_their_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_skip_vae_hands_each_level_its_encoder_map():
    vae = models.build_vae((16, 16, 1), latent_dim=2, filters=(4, 8), skips=True)
    images = np.random.default_rng(0).random((3, 16, 16, 1)).astype("float32")
    z_mean, z_log_var, features = vae.encode(images)
    assert z_mean.shape == z_log_var.shape == (3, 2)
    assert [maps.shape for maps in features] == [(3, 16, 16, 4), (3, 8, 8, 8)]
    assert vae.skips and not models.build_vae((16, 16, 1), 2, filters=(4, 8)).skips
    # Calling the model decodes mu with the image's own maps; decode() with them gives the same.
    np.testing.assert_allclose(vae(images), vae.decode(z_mean, features), atol=1e-6)
    # Without an image, decode() gives the decoder zeros in place of the maps: another output.
    alone = vae.decode(z_mean)
    assert alone.shape == (3, 16, 16, 1) and not np.allclose(alone, vae(images), atol=1e-3)
    np.testing.assert_allclose(
        alone,
        vae.decoder([z_mean, *(np.zeros_like(maps) for maps in features)]),
        atol=1e-6,
    )
    concatenated = [
        layer.name for layer in vae.decoder.layers if isinstance(layer, keras.layers.Concatenate)
    ]
    assert sorted(concatenated) == ["decoder_skip1", "decoder_skip2"]


def test_kl_per_dimension_sums_to_the_kl_term_and_finds_the_active_dimensions():
    rng = np.random.default_rng(0)
    z_mean = np.c_[rng.normal(size=(500, 2)), np.full((500, 1), 0.001) * rng.normal(size=(500, 1))]
    z_log_var = rng.normal(scale=0.3, size=(500, 3))
    per_dimension = metrics.kl_per_dimension(z_mean, z_log_var)
    assert per_dimension.shape == (3,)
    np.testing.assert_allclose(
        per_dimension.sum(), np.mean(metrics.gaussian_kl(z_mean, z_log_var)), rtol=1e-6
    )
    assert metrics.active_dimensions(z_mean) == 2  # the third mean never moves
    assert metrics.active_dimensions(z_mean, threshold=2.0) == 0


def test_precision_sees_fidelity_and_recall_diversity():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(300, 4))
    alike = rng.normal(size=(300, 4))
    collapsed = 0.1 * rng.normal(size=(300, 4))  # faithful but not diverse
    scattered = 4 * rng.normal(size=(300, 4))  # diverse but not faithful
    precision, recall = metrics.precision_recall(real, alike)
    assert precision > 0.8 and recall > 0.8
    precision, recall = metrics.precision_recall(real, collapsed)
    assert precision > 0.9 and recall < 0.2
    precision, recall = metrics.precision_recall(real, scattered)
    assert precision < 0.3 and recall > 0.9

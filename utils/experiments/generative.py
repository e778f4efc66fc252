"""Generated images: a measure of their quality (notebooks 06 and 07).

The Fréchet distance between the features of generated and of held-out real crops, the features
from small networks trained for the purpose (recipe "crops-features", one judge per seed), and a
VAE's scores: reconstruction against the noisy and the noise-free crops, KL, active dimensions,
samples from the prior and from a Gaussian fitted to the codes.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import keras
import numpy as np

from utils import data, metrics, models, training
from utils.checks import check_finite, check_int, check_profile, check_seed
from utils.experiments.recipes import splits, train

__all__ = [
    "HELD_OUT_SEED",
    "REFERENCE_SEED",
    "SampleQuality",
    "clean_test_crops",
    "fitted_codes",
    "generative_scores",
    "judges",
    "num_quality_images",
    "prior_codes",
    "real_crops",
    "sample_quality",
]

#: Seeds of the held-out real crops a sample-quality measure compares with (never trained on).
REFERENCE_SEED, HELD_OUT_SEED = 1001, 1002


def num_quality_images(profile) -> int:
    """How many images each set compared by the sample-quality measure holds (samples, real
    images, degraded images alike: the Fréchet distance's bias depends on the number)."""
    check_profile(profile)
    return 2 * data.CROPS_PER_IMAGE * profile.num_test


def real_crops(profile, seed: int = HELD_OUT_SEED) -> np.ndarray:
    """`num_quality_images` real crops drawn with `seed`: images no model here trained on."""
    seed = check_seed(seed)
    count, size = num_quality_images(profile), data.crop_size(profile)
    return data.make_crops(count, size, seed=seed)[0]


@dataclasses.dataclass
class SampleQuality:
    """The Fréchet distance (as in FID) between the "features" of a set of images and those of
    held-out real crops, from a small network trained for the purpose on the crops (recipe
    "crops-features": it learns to predict the factors each crop was drawn with) — never the
    VAE's own encoder. Lower is closer; notebook 06 validates it before using it."""

    extractor: Callable  # images (N, H, W, 1) -> features (N, D)
    real: np.ndarray  # the held-out real crops it compares with
    reference: np.ndarray = dataclasses.field(init=False, repr=False)  # their features
    reference_statistics: np.ndarray = dataclasses.field(init=False, repr=False)  # hand-made

    def __post_init__(self):
        if not isinstance(self.extractor, keras.Model):
            raise ValueError(
                f"extractor must be a Keras model (models.feature_extractor), got "
                f"{type(self.extractor).__name__}"
            )
        self.real = check_finite(self.real, "real")
        self.reference = self.features(self.real)
        self.reference_statistics = metrics.image_statistics(self.real)

    def features(self, images) -> np.ndarray:
        """The feature vectors of `images`, (N, D)."""
        images = check_finite(images, "images", np.float32)
        expected = self.extractor.input_shape[1:]
        if images.ndim != 4 or images.shape[1:] != tuple(expected):
            raise ValueError(
                f"images must be (N, {', '.join(map(str, expected))}), got {images.shape}"
            )
        return np.asarray(training.forward(self.extractor, images, batch_size=256), np.float64)

    def distance(self, images) -> float:
        """The Fréchet distance between `images`' features and the real crops'."""
        return metrics.frechet_distance(self.features(images), self.reference)

    def statistics_distance(self, images) -> float:
        """The old, hand-made measure, for comparison: the Fréchet distance between the
        `metrics.image_statistics` of `images` and of the real crops (notebook 06 tests it)."""
        statistics = metrics.image_statistics(np.asarray(images, np.float32))
        return metrics.frechet_distance(statistics, self.reference_statistics)


def sample_quality(profile, seed: int = 0) -> SampleQuality:
    """The crops' sample-quality measure: recipe "crops-features" (trained or loaded with `seed`)
    and the features of `real_crops(profile, REFERENCE_SEED)`; made once per session."""
    return _sample_quality(check_profile(profile), check_seed(seed))


@functools.lru_cache(maxsize=16)
def _sample_quality(profile, seed: int) -> SampleQuality:
    network, _ = train("crops-features", profile, seed)
    return SampleQuality(models.feature_extractor(network), real_crops(profile, REFERENCE_SEED))


sample_quality.cache_clear = _sample_quality.cache_clear  # to start afresh (tests do)


def judges(profile) -> list[SampleQuality]:
    """The sample-quality measure with the feature network of every seed of the profile: the
    course's sample FD is their mean, so that no verdict rests on one network's eyes."""
    check_profile(profile)
    return [sample_quality(profile, seed) for seed in range(profile.num_seeds)]


def clean_test_crops(profile) -> np.ndarray:
    """The test crops of the VAEs' recipes before their shot noise (`make_crops(...,
    return_clean=True)`, the same draw): what a reconstruction can reach at best."""
    check_profile(profile)
    train_split, val_split, test_split = splits("vae-crops", profile)
    total = len(train_split[0]) + len(val_split[0]) + len(test_split[0])
    images, _, clean = data.make_crops(total, data.crop_size(profile), return_clean=True)
    count = len(test_split[0])
    np.testing.assert_array_equal(images[-count:], test_split[0])  # the same crops, noisy
    return clean[-count:]


def prior_codes(count: int, latent_dim: int, seed: int = 0) -> np.ndarray:
    """`count` codes drawn from the prior N(0, I): the same for every model given the same seed."""
    count = check_int(count, "count", minimum=1)
    latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
    seed = check_seed(seed)
    return np.random.default_rng(seed).standard_normal((count, latent_dim)).astype(np.float32)


def fitted_codes(codes, count: int, seed: int = 0) -> np.ndarray:
    """`count` codes drawn from a Gaussian fitted to `codes` (N, D) — their mean and covariance:
    how to sample a plain autoencoder, whose codes lie wherever training left them."""
    codes = check_finite(codes, "codes", np.float64)
    if codes.ndim != 2 or len(codes) < 2:
        raise ValueError(f"codes must be (N, latent_dim) with N >= 2, got shape {codes.shape}")
    count = check_int(count, "count", minimum=1)
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    covariance = np.atleast_2d(np.cov(codes, rowvar=False))
    return rng.multivariate_normal(codes.mean(axis=0), covariance, count).astype(np.float32)


def _check_generator_input(model, images, name: str) -> np.ndarray:
    """`model` a VAE (or plain autoencoder), `images` a batch (N, H, W, C) of finite values."""
    if not isinstance(model, models.VAE):
        raise ValueError(f"model must be a models.VAE, got {type(model).__name__}")
    images = check_finite(images, name)
    if images.ndim != 4 or not len(images):
        raise ValueError(f"{name} must be a non-empty batch (N, H, W, C), got {images.shape}")
    return images


def generative_scores(
    model, test_images, quality, clean_images=None, fit_images=None
) -> dict[str, float]:
    """A VAE's (or plain autoencoder's) scores on test images. Reconstruction of the mean code:
    in nats per image above the images' own floor ("excess", see `metrics.bernoulli_excess`)
    and in PSNR, and, given the noise-free `clean_images`, both against those ("excess_clean",
    "psnr_clean"). Samples decoded from the prior ("sample_fd") and, given `fit_images`, from a
    Gaussian fitted to their codes ("fitted_fd"): the Fréchet distance to real crops, the mean
    over the judges in `quality` (one `SampleQuality` or a list; each judge's own value is
    "sample_fd_judge<k>"); the old hand-made measure on the prior samples
    ("sample_statistics_fd"). For a VAE, the KL term per image and the active dimensions."""
    test_images = _check_generator_input(model, test_images, "test_images")
    quality = [quality] if isinstance(quality, SampleQuality) else quality
    if not isinstance(quality, list) or not all(isinstance(q, SampleQuality) for q in quality):
        raise ValueError(
            f"quality must be a SampleQuality or a list of them (judges), got {quality!r}"
        )
    count = len(quality[0].reference)
    z_mean, z_log_var, _ = model.encode(test_images)
    reconstructions = np.asarray(training.forward(model, test_images))
    samples = model.decode(prior_codes(count, z_mean.shape[-1]))
    per_judge = [judge.distance(samples) for judge in quality]
    scores = {
        "excess": float(np.mean(metrics.bernoulli_excess(test_images, reconstructions))),
        "psnr": metrics.psnr(test_images, reconstructions),
        "sample_fd": float(np.mean(per_judge)),
        **{f"sample_fd_judge{k}": value for k, value in enumerate(per_judge)},
        "sample_statistics_fd": quality[0].statistics_distance(samples),
    }
    if clean_images is not None:
        clean_images = _check_generator_input(model, clean_images, "clean_images")
        if clean_images.shape != test_images.shape:
            raise ValueError(
                f"clean_images must have test_images' shape {test_images.shape}, got "
                f"{clean_images.shape}"
            )
        scores["excess_clean"] = float(
            np.mean(metrics.bernoulli_excess(clean_images, reconstructions))
        )
        scores["psnr_clean"] = metrics.psnr(clean_images, reconstructions)
    if fit_images is not None:
        fit_images = _check_generator_input(model, fit_images, "fit_images")
        fitted = model.decode(fitted_codes(model.encode(fit_images)[0], count))
        scores["fitted_fd"] = float(np.mean([judge.distance(fitted) for judge in quality]))
    if model.variational:
        scores["kl"] = float(np.mean(metrics.gaussian_kl(z_mean, z_log_var)))
        scores["active"] = float(metrics.active_dimensions(z_mean))
    return scores

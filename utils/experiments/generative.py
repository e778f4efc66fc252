"""Generated images: a measure of their quality (notebooks 06 and 07).

The Fréchet distance between the features of generated and of held-out real crops, the features
from a small network trained for the purpose (recipe "crops-features"), and a VAE's scores.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import keras
import numpy as np

from utils import data, metrics, models, training
from utils.checks import check_finite, check_int, check_profile, check_seed
from utils.experiments.recipes import train

__all__ = [
    "HELD_OUT_SEED",
    "REFERENCE_SEED",
    "SampleQuality",
    "generative_scores",
    "midpoints",
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


@functools.lru_cache(maxsize=2)
def _sample_quality(profile, seed: int) -> SampleQuality:
    network, _ = train("crops-features", profile, seed)
    return SampleQuality(models.feature_extractor(network), real_crops(profile, REFERENCE_SEED))


sample_quality.cache_clear = _sample_quality.cache_clear  # to start afresh (tests do)


def prior_codes(count: int, latent_dim: int, seed: int = 0) -> np.ndarray:
    """`count` codes drawn from the prior N(0, I): the same for every model given the same seed."""
    count = check_int(count, "count", minimum=1)
    latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
    seed = check_seed(seed)
    return np.random.default_rng(seed).standard_normal((count, latent_dim)).astype(np.float32)


def _check_generator_input(model, images, name: str) -> np.ndarray:
    """`model` a VAE (or plain autoencoder), `images` a batch (N, H, W, C) of finite values."""
    if not isinstance(model, models.VAE):
        raise ValueError(f"model must be a models.VAE, got {type(model).__name__}")
    images = check_finite(images, name)
    if images.ndim != 4 or not len(images):
        raise ValueError(f"{name} must be a non-empty batch (N, H, W, C), got {images.shape}")
    return images


def midpoints(model, images, count: int, seed: int = 0) -> np.ndarray:
    """Decoded midpoints between the codes (mu) of `count` random pairs of `images`: what a walk
    through the latent space passes on its way from one real image to another."""
    images = _check_generator_input(model, images, "images")
    count = check_int(count, "count", minimum=1)
    seed = check_seed(seed)
    codes = np.asarray(training.forward(model.encoder, images)[0])
    pairs = np.random.default_rng(seed).integers(0, len(codes), (count, 2))
    middle = (codes[pairs[:, 0]] + codes[pairs[:, 1]]) / 2
    return np.asarray(training.forward(model.decoder, middle))


def generative_scores(model, test_images, quality: SampleQuality) -> dict[str, float]:
    """A VAE's (or plain autoencoder's) scores on test images: reconstruction of the mean code
    in nats per image above the images' own floor ("excess", see `metrics.bernoulli_excess`)
    and in PSNR; the Fréchet distance of samples decoded from the prior ("sample_fd") and of
    midpoints between test codes ("midpoint_fd"); the old hand-made measure on the samples
    ("sample_statistics_fd", for comparison); for a VAE, the KL term per image."""
    test_images = _check_generator_input(model, test_images, "test_images")
    if not isinstance(quality, SampleQuality):
        raise ValueError(f"quality must be a SampleQuality (sample_quality), got {quality!r}")
    count = len(quality.reference)
    reconstructions = np.asarray(training.forward(model, test_images))
    samples = np.asarray(
        training.forward(model.decoder, prior_codes(count, model.encoder.output[0].shape[-1]))
    )
    scores = {
        "excess": float(np.mean(metrics.bernoulli_excess(test_images, reconstructions))),
        "psnr": metrics.psnr(test_images, reconstructions),
        "sample_fd": quality.distance(samples),
        "midpoint_fd": quality.distance(midpoints(model, test_images, count)),
        "sample_statistics_fd": quality.statistics_distance(samples),
    }
    if model.variational:
        z_mean, z_log_var = training.forward(model.encoder, test_images)
        scores["kl"] = float(np.mean(metrics.gaussian_kl(z_mean, z_log_var)))
    return scores

"""Measures of generated images, in NumPy (notebooks 06 and 07): the floor of the VAE's
reconstruction term and what lies above it, PSNR, the KL term per latent dimension and the active
dimensions, hand-made image statistics, the Fréchet distance between two sets of feature vectors
(as in FID) and the precision and recall of generated samples. `utils.metrics` re-exports every
name here (`metrics.frechet_distance`, ...)."""

from __future__ import annotations

import numpy as np

from utils.checks import check_finite, check_int, check_number
from utils.losses import bernoulli_reconstruction, gaussian_kl

__all__ = [
    "ACTIVITY_THRESHOLD",
    "active_dimensions",
    "bernoulli_excess",
    "bernoulli_floor",
    "frechet_distance",
    "image_statistics",
    "kl_per_dimension",
    "precision_recall",
    "psnr",
]

#: A latent dimension is active when its mean code varies over the images by more than this
#: (variance), as Burda, Grosse & Salakhutdinov (2016) count them.
ACTIVITY_THRESHOLD = 0.01


def _check_images(images, name: str) -> np.ndarray:
    """`images` as float64, one row per image, every value in [0, 1]."""
    images = check_finite(images, name, np.float64)
    if images.ndim < 1 or images.size == 0:
        raise ValueError(f"{name} must be a non-empty array, one row per image, got {images.shape}")
    if images.min() < 0 or images.max() > 1:
        raise ValueError(
            f"{name} must be in [0, 1], got values from {images.min():g} to {images.max():g}"
        )
    return images


# --- the VAE's terms ----------------------------------------------------------------------------


def bernoulli_floor(images):
    """The reconstruction term's floor: what `bernoulli_reconstruction` charges the image itself
    as its own reconstruction — the binary entropy of every grey pixel, summed per image. Only
    a black-and-white image has floor 0."""
    images = _check_images(images, "images")
    p = np.clip(images, 1e-7, 1 - 1e-7)  # as Keras clips
    entropy = -(p * np.log(p) + (1 - p) * np.log(1 - p))
    return entropy.reshape(len(entropy), -1).sum(axis=1)


def bernoulli_excess(images, reconstructions):
    """The reconstruction term above its floor, per image (`bernoulli_reconstruction` minus
    `bernoulli_floor`): the KL divergence between the pixels' Bernoulli distributions, >= 0,
    0 only for a perfect reconstruction — a number with a reference point."""
    checked = _check_images(images, "images")
    if np.shape(reconstructions) != checked.shape:
        raise ValueError(
            f"images and reconstructions must have the same shape, got {checked.shape} and "
            f"{np.shape(reconstructions)}"
        )
    _check_images(reconstructions, "reconstructions")
    term = np.asarray(bernoulli_reconstruction(images, reconstructions), np.float64)
    return term - bernoulli_floor(images)


def _check_codes(z_mean, z_log_var=None) -> tuple:
    """`z_mean` (and `z_log_var`) as (N, D) float64 arrays of one shape, N >= 2."""
    z_mean = check_finite(z_mean, "z_mean", np.float64)
    if z_mean.ndim != 2 or len(z_mean) < 2:
        raise ValueError(f"z_mean must be (N, latent_dim) with N >= 2, got shape {z_mean.shape}")
    if z_log_var is None:
        return z_mean, None
    z_log_var = check_finite(z_log_var, "z_log_var", np.float64)
    if z_log_var.shape != z_mean.shape:
        raise ValueError(
            f"z_log_var must have z_mean's shape {z_mean.shape}, got {z_log_var.shape}"
        )
    return z_mean, z_log_var


def kl_per_dimension(z_mean, z_log_var) -> np.ndarray:
    """The KL term of each latent dimension, averaged over the images, (D,): the closed form of
    `gaussian_kl` before its sum over dimensions. A dimension near 0 carries nothing."""
    z_mean, z_log_var = _check_codes(z_mean, z_log_var)
    per_dimension = [
        np.asarray(gaussian_kl(z_mean[:, [k]], z_log_var[:, [k]])) for k in range(z_mean.shape[1])
    ]
    return np.array([values.mean() for values in per_dimension])


def active_dimensions(z_mean, threshold: float = ACTIVITY_THRESHOLD) -> int:
    """How many latent dimensions the images use: those whose mean code mu varies over the
    images by more than `threshold` (variance). An inactive dimension gives every image the same
    code, the prior's: the decoder cannot read anything from it."""
    check_number(threshold, "threshold", 0, low_open=True)
    z_mean, _ = _check_codes(z_mean)
    return int(np.sum(z_mean.var(axis=0) > threshold))


def psnr(y_true, y_pred, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB over all the values given: 10 log10(range^2 / MSE);
    infinite for a perfect match."""
    check_number(data_range, "data_range", 0, low_open=True)
    y_true = check_finite(y_true, "y_true", np.float64)
    y_pred = check_finite(y_pred, "y_pred", np.float64)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape, got {y_true.shape} and {y_pred.shape}"
        )
    if not y_true.size:
        raise ValueError("y_true and y_pred must not be empty")
    return float(10 * np.log10(data_range**2 / np.mean((y_true - y_pred) ** 2)))


# --- sample quality -----------------------------------------------------------------------------


def image_statistics(images, bins: int = 16, frequencies: int = 8) -> np.ndarray:
    """Hand-made features of each image: its intensity histogram (`bins` values: brightness and
    contrast) and its radially averaged log power spectrum (`frequencies` values: how much
    structure at each scale, from blobs to fine texture). Shape (N, bins + frequencies)."""
    bins = check_int(bins, "bins", minimum=1)
    frequencies = check_int(frequencies, "frequencies", minimum=1)
    images = check_finite(images, "images", np.float64)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, H, W, C), got shape {images.shape}")
    gray = images.mean(axis=-1)
    edges = np.linspace(0, 1, bins + 1)
    histograms = np.stack([np.histogram(np.clip(g, 0, 1), edges)[0] for g in gray]) / gray[0].size
    power = np.abs(np.fft.fftshift(np.fft.fft2(gray - gray.mean(axis=(1, 2), keepdims=True)))) ** 2
    height, width = gray.shape[1:]
    rows, cols = np.indices((height, width))
    radius = np.hypot(rows - height // 2, cols - width // 2) / (min(height, width) / 2)
    rings = np.minimum((radius * frequencies).astype(int), frequencies)  # outside the circle: last
    spectrum = np.stack(
        [[np.log1p(p[rings == k].mean()) for k in range(frequencies)] for p in power]
    )
    return np.concatenate([histograms, spectrum], axis=1)


def frechet_distance(features_a, features_b) -> float:
    """Fréchet distance between Gaussians fitted to two sets of feature vectors (as in FID):
    |mu_a - mu_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2)). 0 for identical statistics. Each set
    needs two vectors at least (a covariance)."""
    from scipy import linalg

    features_a = check_finite(features_a, "features_a", np.float64)
    features_b = check_finite(features_b, "features_b", np.float64)
    if features_a.ndim != 2 or features_b.ndim != 2 or features_a.shape[1] != features_b.shape[1]:
        raise ValueError(
            f"features must be (N, D) arrays with the same D, got {features_a.shape} and "
            f"{features_b.shape}"
        )
    for name, features in (("features_a", features_a), ("features_b", features_b)):
        if len(features) < 2:
            raise ValueError(f"{name} must hold at least 2 vectors, got {len(features)}")
    mean_a, mean_b = features_a.mean(0), features_b.mean(0)
    cov_a, cov_b = np.cov(features_a, rowvar=False), np.cov(features_b, rowvar=False)
    # A feature that never varies (an empty histogram bin) makes a covariance singular; a tiny
    # ridge keeps the matrix square root defined without changing the distance measurably.
    ridge = 1e-9 * np.eye(len(mean_a))
    root = linalg.sqrtm((cov_a + ridge) @ (cov_b + ridge)).real
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * root))


def precision_recall(real_features, fake_features, k: int = 3) -> tuple[float, float]:
    """Precision and recall of generated samples (Kynkäänniemi et al. 2019), in feature space.
    Each set's "manifold" is the union of balls around its vectors, each of radius the distance
    to its `k`-th nearest neighbour in the set. Precision: the share of fake vectors inside the
    real manifold (fidelity); recall: the share of real vectors inside the fake one (diversity)."""
    from scipy import spatial

    k = check_int(k, "k", minimum=1)
    real = check_finite(real_features, "real_features", np.float64)
    fake = check_finite(fake_features, "fake_features", np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"features must be (N, D) arrays with the same D, got {real.shape} and {fake.shape}"
        )
    for name, features in (("real_features", real), ("fake_features", fake)):
        if len(features) <= k:
            raise ValueError(f"{name} must hold more than k = {k} vectors, got {len(features)}")

    def share_inside(manifold, points):
        distances = spatial.distance.cdist(manifold, manifold)
        radii = np.sort(distances, axis=1)[:, k]  # the k-th neighbour (column 0 is itself)
        return float(np.mean((spatial.distance.cdist(points, manifold) <= radii).any(axis=1)))

    return share_inside(real, fake), share_inside(fake, real)

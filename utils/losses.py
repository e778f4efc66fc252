"""The training losses, for Keras: soft Dice, BCE + Dice, the UNet++ paper's loss (notebooks 03-05),
and the VAE's two terms, reconstruction and KL (notebook 06). Each takes tensors and returns one
value per image; `utils.metrics` re-exports them (`metrics.soft_dice_loss`, ...). NumPy arrays
given to them are checked (finite, one shape); tensors, as in training, are left to Keras."""

from __future__ import annotations

import numpy as np

from utils.checks import check_finite, check_number, check_numpy_inputs

__all__ = [
    "bce_dice_loss",
    "bernoulli_reconstruction",
    "gaussian_kl",
    "soft_dice_loss",
    "unet_plus_plus_loss",
]


def soft_dice_loss(y_true, y_pred, smooth: float = 1.0):
    """1 - soft Dice per image, on probabilities (differentiable): 1 - (2Σtp + s) / (Σt + Σp + s).

    Computed per image (over height, width and channels) so that images with small objects count
    as much as images with large ones; `smooth` keeps empty images defined (loss 0 for an empty
    prediction of an empty mask). Returns one loss per image; Keras averages over the batch.
    """
    import keras

    check_number(smooth, "smooth", 0)
    check_numpy_inputs(y_true=y_true, y_pred=y_pred)

    y_pred = keras.ops.convert_to_tensor(y_pred)
    y_true = keras.ops.cast(y_true, y_pred.dtype)
    axes = tuple(range(1, len(y_pred.shape)))
    intersection = keras.ops.sum(y_true * y_pred, axis=axes)
    total = keras.ops.sum(y_true, axis=axes) + keras.ops.sum(y_pred, axis=axes)
    return 1.0 - (2.0 * intersection + smooth) / (total + smooth)


def bce_dice_loss(y_true, y_pred, smooth: float = 1.0, bce_weight: float = 1.0):
    """Binary cross-entropy (mean over pixels) + soft Dice loss, per image.

    Cross-entropy gives every pixel a useful gradient from the start; Dice counters the class
    imbalance that lets cross-entropy alone settle on "all background" (appendix 04b).
    """
    import keras

    check_number(smooth, "smooth", 0)
    check_number(bce_weight, "bce_weight", 0)
    check_numpy_inputs(y_true=y_true, y_pred=y_pred)

    y_pred = keras.ops.convert_to_tensor(y_pred)
    y_true = keras.ops.cast(y_true, y_pred.dtype)
    axes = tuple(range(1, len(y_pred.shape)))
    bce = keras.ops.mean(
        keras.losses.binary_crossentropy(y_true[..., None], y_pred[..., None]), axis=axes
    )
    return bce_weight * bce + soft_dice_loss(y_true, y_pred, smooth)


def unet_plus_plus_loss(y_true, y_pred):
    """The UNet++ paper's loss, per head: 1/2 * binary cross-entropy + (1 - soft Dice)."""
    return bce_dice_loss(y_true, y_pred, bce_weight=0.5)


# --- the VAE's terms ----------------------------------------------------------------------------


def gaussian_kl(z_mean, z_log_var):
    """KL( N(mu, diag sigma^2) || N(0, I) ) per sample, in closed form:
    -1/2 * sum_k (1 + log sigma_k^2 - mu_k^2 - sigma_k^2), summed over the last axis.

    NumPy in, NumPy out; Keras tensors in, a tensor out (the VAE's training step uses it).
    """
    if isinstance(z_mean, np.ndarray) or isinstance(z_log_var, np.ndarray):
        z_mean = check_finite(z_mean, "z_mean", np.float64)
        z_log_var = check_finite(z_log_var, "z_log_var", np.float64)
        if z_mean.shape != z_log_var.shape:
            raise ValueError(
                f"z_mean and z_log_var must have the same shape, got {z_mean.shape} and "
                f"{z_log_var.shape}"
            )
        return -0.5 * np.sum(1 + z_log_var - z_mean**2 - np.exp(z_log_var), axis=-1)
    import keras

    ops = keras.ops
    return -0.5 * ops.sum(1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)


def bernoulli_reconstruction(images, reconstructions):
    """The reconstruction term of the ELBO for images in [0, 1]: binary cross-entropy summed over
    the pixels of each image (a sum, not a mean — see notebook 06), one value per image."""
    import keras

    check_numpy_inputs(images=images, reconstructions=reconstructions)

    reconstructions = keras.ops.convert_to_tensor(reconstructions)
    images = keras.ops.cast(images, reconstructions.dtype)
    per_pixel = keras.losses.binary_crossentropy(images[..., None], reconstructions[..., None])
    return keras.ops.sum(per_pixel, axis=tuple(range(1, len(per_pixel.shape))))

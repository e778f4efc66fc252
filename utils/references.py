"""The references that the coding exercises are checked against (`utils.exercises.check_function`).

Kept out of the notebooks on purpose: reading this module is reading the answers. Each reference
is itself verified against Keras or TensorFlow in tests/test_references.py.
"""

from __future__ import annotations

import numpy as np

from utils import ops


def conv_matrix(kernel, n: int, stride: int) -> np.ndarray:
    """The matrix C (m*m, n*n) of a `valid`, stride-`stride` correlation of an n x n image with a
    2-D `kernel` (notebook 02, exercise 5): column j is the output of the j-th unit image."""
    kernel = np.asarray(kernel, np.float32)
    unit_images = np.eye(n * n, dtype=np.float32).reshape(n * n, n, n, 1)
    outputs = ops.conv2d(unit_images, kernel[:, :, None, None], strides=stride)
    return outputs.reshape(n * n, -1).T


def reparameterise(z_mean, z_log_var, epsilon) -> np.ndarray:
    """z = mu + sigma * epsilon with sigma = exp(log sigma^2 / 2) (notebook 06, exercise 4)."""
    return np.asarray(z_mean) + np.exp(0.5 * np.asarray(z_log_var)) * np.asarray(epsilon)


def negative_elbo(images, reconstructions, z_mean, z_log_var, beta: float = 1.0) -> np.ndarray:
    """Per image: the Bernoulli reconstruction term (binary cross-entropy summed over the pixels)
    plus beta times the closed-form KL term (notebook 06, exercise 5)."""
    from utils import metrics

    reconstruction = np.asarray(metrics.bernoulli_reconstruction(images, reconstructions))
    return reconstruction + beta * metrics.gaussian_kl(np.asarray(z_mean), np.asarray(z_log_var))


def conv_flops(height: int, width: int, kernel_size: int, in_channels: int, filters: int) -> int:
    """FLOPs of one `same`, stride-1 Conv2D on a height x width x in_channels input, counted as
    `models.flops_per_image` counts them (notebook 07, exercise 3)."""
    import keras

    from utils import models

    inputs = keras.Input((height, width, in_channels))
    outputs = keras.layers.Conv2D(filters, kernel_size, padding="same")(inputs)
    return models.flops_per_image(keras.Model(inputs, outputs))

"""Tests of utils/references.py: each exercise reference agrees with Keras."""

import keras
import numpy as np

from utils import references


def test_the_convolution_matrix_times_an_image_is_keras_convolution():
    rng = np.random.default_rng(0)
    for k, n, stride in ((3, 5, 1), (3, 7, 2), (2, 6, 2), (4, 9, 3)):
        kernel = rng.standard_normal((k, k)).astype(np.float32)
        image = rng.standard_normal((n, n)).astype(np.float32)
        matrix = references.conv_matrix(kernel, n, stride)
        m = (n - k) // stride + 1
        assert matrix.shape == (m * m, n * n)
        layer = keras.layers.Conv2D(1, k, strides=stride, use_bias=False)
        layer.build((1, n, n, 1))
        layer.set_weights([kernel[:, :, None, None]])
        expected = np.asarray(layer(image[None, :, :, None]))[0, :, :, 0]
        np.testing.assert_allclose((matrix @ image.ravel()).reshape(m, m), expected, atol=1e-5)


def test_the_reparameterised_sample_is_the_vaes():
    rng = np.random.default_rng(1)
    z_mean, z_log_var = rng.standard_normal((2, 5, 3)).astype(np.float32)
    epsilon = rng.standard_normal((5, 3)).astype(np.float32)
    z = references.reparameterise(z_mean, z_log_var, epsilon)
    np.testing.assert_allclose(z, z_mean + np.sqrt(np.exp(z_log_var)) * epsilon, rtol=1e-6)
    np.testing.assert_allclose(references.reparameterise(z_mean, z_log_var, 0 * epsilon), z_mean)


def test_the_negative_elbo_is_keras_cross_entropy_plus_kl():
    rng = np.random.default_rng(2)
    images = rng.random((3, 4, 4, 1)).astype(np.float32)
    reconstructions = rng.uniform(0.05, 0.95, (3, 4, 4, 1)).astype(np.float32)
    z_mean, z_log_var = rng.standard_normal((2, 3, 2))
    per_pixel = keras.losses.binary_crossentropy(images[..., None], reconstructions[..., None])
    reconstruction = np.asarray(per_pixel).reshape(3, -1).sum(axis=1)
    kl = -0.5 * (1 + z_log_var - z_mean**2 - np.exp(z_log_var)).sum(axis=1)
    for beta in (1.0, 4.0):
        np.testing.assert_allclose(
            references.negative_elbo(images, reconstructions, z_mean, z_log_var, beta),
            reconstruction + beta * kl,
            rtol=1e-5,
        )


def test_conv_flops_are_twice_the_multiply_adds():
    # Every output value of a 3x3 conv on 4 channels is 36 multiply-adds: 2 x 36 FLOPs.
    assert references.conv_flops(8, 6, 3, 4, 5) == 2 * (8 * 6 * 5) * (3 * 3 * 4)
    assert references.conv_flops(16, 16, 1, 64, 1) == 2 * 16 * 16 * 64

"""Tests of utils/references.py: each exercise reference agrees with Keras."""

import keras
import numpy as np
import pytest

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
    from utils import models

    rng = np.random.default_rng(1)
    z_mean, z_log_var = rng.standard_normal((2, 5, 3)).astype(np.float32)
    # The VAE's layer draws its own noise: with mu = 0 and log sigma^2 = 0 it returns that noise,
    # and a layer with the same seed draws the same noise again.
    epsilon = np.asarray(models.Sampling(seed=7)([np.zeros_like(z_mean), np.zeros_like(z_mean)]))
    z = np.asarray(models.Sampling(seed=7)([z_mean, z_log_var]))
    assert np.std(epsilon) > 0.1  # real noise, not zeros
    np.testing.assert_allclose(references.reparameterise(z_mean, z_log_var, epsilon), z, rtol=1e-5)
    np.testing.assert_allclose(references.reparameterise(z_mean, z_log_var, 0 * epsilon), z_mean)


def test_the_negative_elbo_is_the_vaes_loss():
    # The VAE's training step minimises these two terms (utils.losses; tests/test_vae.py checks
    # the step): the reference must agree with them, not with a retyped formula.
    from utils import losses

    rng = np.random.default_rng(2)
    images = rng.random((3, 4, 4, 1)).astype(np.float32)
    reconstructions = rng.uniform(0.05, 0.95, (3, 4, 4, 1)).astype(np.float32)
    z_mean, z_log_var = rng.standard_normal((2, 3, 2)).astype(np.float32)
    reconstruction = np.asarray(losses.bernoulli_reconstruction(images, reconstructions))
    kl = np.asarray(losses.gaussian_kl(keras.ops.array(z_mean), keras.ops.array(z_log_var)))
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


def test_the_soft_dice_loss_reference_is_per_image():
    masks = np.zeros((2, 4, 4, 1), np.float32)
    masks[0, :2] = 1
    probabilities = np.full((2, 4, 4, 1), 0.5, np.float32)
    # image 0: 2*4/(8+8+1) -> 1 - 9/17; image 1 (empty mask): 1 - 1/(8+1)
    np.testing.assert_allclose(
        references.soft_dice_loss(masks, probabilities), [1 - 9 / 17, 1 - 1 / 9], rtol=1e-6
    )


def test_the_deep_supervision_loss_is_what_keras_minimises():
    # A model whose four outputs are the four channels of its input: evaluate's loss is the sum
    # over the outputs of each output's batch-averaged loss.
    from utils import metrics

    rng = np.random.default_rng(3)
    masks = (rng.random((3, 6, 6, 1)) > 0.6).astype(np.float32)
    heads = [rng.uniform(0.05, 0.95, (3, 6, 6, 1)).astype(np.float32) for _ in range(4)]
    inputs = keras.Input((6, 6, 4))
    outputs = [keras.layers.Lambda(lambda t, k=k: t[..., k : k + 1])(inputs) for k in range(4)]
    model = keras.Model(inputs, outputs)
    model.compile(loss=[metrics.unet_plus_plus_loss] * 4)
    keras_loss = model.evaluate(np.concatenate(heads, axis=-1), [masks] * 4, verbose=0)[0]
    loss = references.deep_supervision_loss(masks, heads)
    np.testing.assert_allclose(loss, keras_loss, rtol=1e-5)


def test_the_decoder_block_has_the_unets_decoder_weights():
    from utils import models

    unet = models.build_unet((16, 16, 1), (4, 8), upsampling="transpose")
    expected = [
        tuple(weight.shape)
        for name in ("decoder1_up", "decoder1_conv1", "decoder1_conv2")
        for weight in unet.get_layer(name).weights
    ]
    x, skip = keras.Input((8, 8, 8)), keras.Input((16, 16, 4))
    block = keras.Model([x, skip], references.decoder_block(x, skip, 4))
    assert [tuple(weight.shape) for weight in block.weights] == expected


def test_the_unet_plus_plus_node_has_the_models_node_weights():
    from utils import models

    model = models.build_unet_plus_plus((16, 16, 1), (4, 8, 16))
    expected = [
        tuple(weight.shape)
        for name in ("x11_to_x02_up", "x02_conv1", "x02_conv2")
        for weight in model.get_layer(name).weights
    ]
    row, below = [keras.Input((16, 16, 4)), keras.Input((16, 16, 4))], keras.Input((8, 8, 8))
    node = keras.Model([*row, below], references.unet_plus_plus_node(row, below, 4))
    assert [tuple(weight.shape) for weight in node.weights] == expected


def test_block_function_runs_a_block_with_fixed_weights_and_explains_a_wrong_one():
    rng = np.random.default_rng(4)
    x, skip = rng.random((2, 3, 5, 6), np.float32), rng.random((2, 6, 10, 3), np.float32)
    run = references.block_function(references.decoder_block, references.decoder_block)
    first, second = run(x, skip, 3), run(x, skip, 3)
    assert first.shape == (2, 6, 10, 3)
    np.testing.assert_array_equal(first, second)  # fixed weights: the same output every time
    stub = references.block_function(lambda x, skip, filters: None, references.decoder_block)
    assert stub(x, skip, 3) is None

    def nearest_upsampling(x, skip, filters):
        merged = keras.layers.Concatenate()([skip, keras.layers.UpSampling2D()(x)])
        return keras.layers.Conv2D(filters, 3, padding="same")(merged)

    with pytest.raises(ValueError, match=r"weights have shapes \[\(3, 3, 9, 3\)"):
        references.block_function(nearest_upsampling, references.decoder_block)(x, skip, 3)

    def swapped(x, skip, filters):  # the same weights, the inputs concatenated the other way
        upsampled = keras.layers.Conv2DTranspose(filters, 2, strides=2)(x)
        merged = keras.layers.Concatenate()([upsampled, skip])
        for _ in range(2):
            merged = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(merged)
        return merged

    assert not np.allclose(references.block_function(swapped, swapped)(x, skip, 3), first)


def test_block_function_takes_a_list_of_inputs():
    rng = np.random.default_rng(5)
    row = [rng.random((1, 4, 4, 3), np.float32) for _ in range(2)]
    below = rng.random((1, 2, 2, 5), np.float32)
    node = references.unet_plus_plus_node
    output = references.block_function(node, node)(row, below, 3)
    assert output.shape == (1, 4, 4, 3)

"""The references the coding exercises are checked against (`utils.answers` names them).

Kept out of the notebooks on purpose: reading this module is reading the answers (and `make grade`
hides it from the submissions it runs). Each reference is itself verified against Keras or
TensorFlow in tests/test_references.py.
"""

from __future__ import annotations

import numpy as np

from utils import ops

__all__ = [
    "block_function",
    "conv_flops",
    "conv_matrix",
    "count_cells",
    "decoder_block",
    "deep_supervision_loss",
    "everything_foreground",
    "hausdorff",
    "keras_same",
    "maxpool_backward",
    "negative_elbo",
    "psnr",
    "reparameterise",
    "soft_dice_loss",
    "transpose_by_matrix",
    "unet_plus_plus_node",
]


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


def soft_dice_loss(masks, probabilities, smooth: float = 1.0) -> np.ndarray:
    """1 - soft Dice per image, as `metrics.soft_dice_loss` computes it, as a NumPy array
    (notebook 04, exercise 7)."""
    import keras

    from utils import metrics

    loss = metrics.soft_dice_loss(np.asarray(masks), np.asarray(probabilities), smooth)
    return keras.ops.convert_to_numpy(loss)


def deep_supervision_loss(masks, heads) -> float:
    """The loss Keras minimises for a deep-supervised UNet++ compiled with the paper's loss on
    every head: each head's loss averaged over the batch, summed over the heads (notebook 05,
    exercise 5)."""
    import keras

    from utils import metrics

    masks = np.asarray(masks, np.float32)
    per_head = [
        keras.ops.convert_to_numpy(metrics.unet_plus_plus_loss(masks, np.asarray(head, np.float32)))
        for head in heads
    ]
    return float(sum(np.mean(loss) for loss in per_head))


def unet_plus_plus_node(row, below, filters: int):
    """UNet++ node x^{i,j} on Keras tensors (notebook 05, exercise 4): `row` is the list of the
    row's earlier nodes x^{i,0} ... x^{i,j-1}, `below` is x^{i+1,j-1}; a 2x2 stride-2 transposed
    convolution of `below` to `filters` channels, concatenated after the row, then H (two 3x3
    'same' convolutions with ReLU)."""
    import keras

    from utils import models

    upsampled = models.upsample(below, filters, "transpose", "node")
    return models.conv_block(keras.layers.Concatenate()([*row, upsampled]), filters, "node")


def decoder_block(x, skip, filters: int):
    """One UNet decoder step on Keras tensors (notebook 04, exercise 6): a 2x2 stride-2
    transposed convolution of `x` to `filters` channels, concatenated after the encoder's `skip`
    ([skip, upsampled], as in the source), then two 3x3 'same' convolutions with ReLU — a UNet++
    node whose row holds one node."""
    return unet_plus_plus_node([skip], x, filters)


def block_function(block, reference):
    """Turn a Keras block (a function of Keras tensors, lists of them, and numbers such as
    `filters`) into a NumPy function of arrays: it runs the block with fixed weights
    (`exercises.run_block`) and raises a ValueError listing both when its weights differ in shape
    from `reference`'s; a block that returns None gives None (not answered yet)."""
    from utils.exercises import run_block

    def run(*arguments):
        result = run_block(block, arguments)
        if result is None:
            return None
        expected = run_block(reference, arguments)["weights"]
        if result["weights"] != expected:
            shapes = [tuple(shape) for shape in result["weights"]]
            raise ValueError(
                f"the block's weights have shapes {shapes}; the course's block has "
                f"{[tuple(shape) for shape in expected]}"
            )
        return result["output"]

    return run


def keras_same(X, K):
    """Keras' `same` convolution of one 2-D channel."""
    from utils import ops

    return ops.conv2d(X[None, :, :, None], K[:, :, None, None], padding="same")[0, :, :, 0]


def maxpool_backward(X, G):
    """The gradient of sum(G * maxpool(X)) with respect to X, by automatic differentiation."""
    import keras
    import tensorflow as tf

    x = tf.Variable(X[None, :, :, None])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(keras.layers.MaxPooling2D(2)(x) * G[None, :, :, None])
    return tape.gradient(loss, x).numpy()[0, :, :, 0]


def transpose_by_matrix(Y, K, n, stride):
    from utils import ops

    return ops.conv2d_transpose(Y[None, :, :, None], K[:, :, None, None], strides=stride)[0, ..., 0]


def hausdorff(a, b):
    from utils import metrics

    return metrics.hd95(a, b, percentile=100)


def count_cells(membranes):
    from utils import metrics

    return metrics.cells(membranes)[1]


def everything_foreground(profile):
    """Mean accuracy and mean Dice of 'foreground everywhere' on the profile's membrane test set."""
    from utils import data, metrics

    _, _, (_, masks) = data.load_embedded("membranes", profile)
    everything = np.ones_like(masks)
    return (metrics.accuracy(masks, everything), metrics.dice(masks, everything))


def psnr(images, reconstructions):
    from utils import metrics

    return metrics.psnr(images, reconstructions)

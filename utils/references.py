"""The references that the coding exercises are checked against (`utils.exercises.check_function`).

Kept out of the notebooks on purpose: reading this module is reading the answers. Each reference
is itself verified against Keras or TensorFlow in tests/test_references.py.
"""

from __future__ import annotations

import numpy as np

from utils import ops

__all__ = [
    "block_function",
    "conv_flops",
    "conv_matrix",
    "decoder_block",
    "deep_supervision_loss",
    "negative_elbo",
    "reparameterise",
    "soft_dice_loss",
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


def _exercise_weights(shapes) -> list[np.ndarray]:
    """Fixed pseudo-random weights for blocks of these weight shapes (the same for every run)."""
    rng = np.random.default_rng(2024)
    return [rng.normal(0.0, 0.3, shape).astype(np.float32) for shape in shapes]


def _is_arrays(value) -> bool:
    """True for a non-empty list or tuple of arrays (a block's list of inputs)."""
    return (
        isinstance(value, (list, tuple))
        and bool(value)
        and all(isinstance(item, np.ndarray) for item in value)
    )


def _build_block(block, arguments):
    """A Keras model of `block` on inputs shaped like the array arguments (lists of arrays
    become lists of inputs; anything else is passed as it is), and the arrays it takes; the
    model is None when the block returns None."""
    import keras

    symbolic, arrays = [], []
    for argument in arguments:
        if isinstance(argument, np.ndarray):
            symbolic.append(keras.Input(argument.shape[1:]))
            arrays.append(argument)
        elif _is_arrays(argument):
            symbolic.append([keras.Input(item.shape[1:]) for item in argument])
            arrays.extend(argument)
        else:
            symbolic.append(argument)
    outputs = block(*symbolic)
    if outputs is None:
        return None, arrays
    inputs = [t for s in symbolic for t in (s if isinstance(s, list) else [s])]
    inputs = [t for t in inputs if isinstance(t, keras.KerasTensor)]
    return keras.Model(inputs, outputs), arrays


def block_function(block, reference):
    """Turn a Keras block (a function of Keras tensors, lists of them, and numbers such as
    `filters`) into a NumPy function of arrays that `check_function` can call: it builds the
    block on inputs shaped like the arrays, gives it the same fixed weights as `reference`
    built on the same inputs, and runs it. A block whose weights differ in shape from the
    reference's raises a ValueError that lists both; a block that returns None gives None (not
    answered yet)."""

    def run(*arguments):
        import keras

        model, arrays = _build_block(block, arguments)
        if model is None:
            return None
        expected_model, _ = _build_block(reference, arguments)
        shapes = [tuple(weight.shape) for weight in model.weights]
        expected = [tuple(weight.shape) for weight in expected_model.weights]
        if shapes != expected:
            raise ValueError(
                f"the block's weights have shapes {shapes}; the course's block has {expected}"
            )
        model.set_weights(_exercise_weights(shapes))
        return keras.ops.convert_to_numpy(model([np.asarray(a) for a in arrays]))

    return run

"""The course's models, built from Keras layers: UNet (notebook 04), UNet++ and the VAE later.

`build_unet()` with its defaults rebuilds the seed's listing exactly — same layers, same order,
same parameter count (tests/test_models.py builds the seed's code verbatim and compares).
"""

from __future__ import annotations

import keras
from keras import layers

UPSAMPLINGS = ("nearest", "bilinear", "transpose")
SEED_FILTERS = (64, 128, 256)

#: The seed's UNet listing, verbatim except for the import line (Keras 3: `from keras import`).
SEED_UNET_SOURCE = """
from keras import layers, Model

def unet(input_size=(128, 128, 1)):
    inputs = layers.Input(input_size)

    # Encoder
    conv1 = layers.Conv2D(64, 3, activation='relu', padding='same')(inputs)
    conv1 = layers.Conv2D(64, 3, activation='relu', padding='same')(conv1)
    pool1 = layers.MaxPooling2D(pool_size=(2, 2))(conv1)

    conv2 = layers.Conv2D(128, 3, activation='relu', padding='same')(pool1)
    conv2 = layers.Conv2D(128, 3, activation='relu', padding='same')(conv2)
    pool2 = layers.MaxPooling2D(pool_size=(2, 2))(conv2)

    # Bottleneck (Middle)
    conv3 = layers.Conv2D(256, 3, activation='relu', padding='same')(pool2)
    conv3 = layers.Conv2D(256, 3, activation='relu', padding='same')(conv3)

    # Decoder
    up1 = layers.UpSampling2D(size=(2, 2))(conv3)
    merge1 = layers.Concatenate()([conv2, up1])
    conv4 = layers.Conv2D(128, 3, activation='relu', padding='same')(merge1)
    conv4 = layers.Conv2D(128, 3, activation='relu', padding='same')(conv4)

    up2 = layers.UpSampling2D(size=(2, 2))(conv4)
    merge2 = layers.Concatenate()([conv1, up2])
    conv5 = layers.Conv2D(64, 3, activation='relu', padding='same')(merge2)
    conv5 = layers.Conv2D(64, 3, activation='relu', padding='same')(conv5)

    # Output layer
    outputs = layers.Conv2D(1, 1, activation='sigmoid')(conv5)

    model = Model(inputs, outputs)
    return model
"""


def _check_unet_arguments(input_shape, filters, num_classes, upsampling, dropout) -> None:
    if len(input_shape) != 3 or any(not isinstance(n, int) or n < 1 for n in input_shape):
        raise ValueError(
            f"input_shape must be (height, width, channels) of positive ints, got {input_shape}"
        )
    if not filters or any(not isinstance(f, int) or f < 1 for f in filters):
        raise ValueError(f"filters must be a non-empty sequence of positive ints, got {filters}")
    factor = 2 ** (len(filters) - 1)
    if input_shape[0] % factor or input_shape[1] % factor:
        raise ValueError(
            f"input_shape {input_shape[:2]} must be divisible by 2**(len(filters) - 1) = {factor}: "
            f"{len(filters) - 1} poolings halve it that often, and the decoder must double it back "
            f"to the same size. Pad or crop the images to a multiple of {factor}."
        )
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    if upsampling not in UPSAMPLINGS:
        raise ValueError(f"upsampling must be one of {UPSAMPLINGS}, got {upsampling!r}")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")


def conv_block(x, filters: int, name: str, batch_norm: bool = False):
    """Two 3x3 'same' convolutions with ReLU (the seed's building block), optional batch norm."""
    for index in (1, 2):
        if batch_norm:  # convolution, then normalisation, then the non-linearity
            x = layers.Conv2D(
                filters, 3, padding="same", use_bias=False, name=f"{name}_conv{index}"
            )(x)
            x = layers.BatchNormalization(name=f"{name}_bn{index}")(x)
            x = layers.Activation("relu", name=f"{name}_relu{index}")(x)
        else:
            x = layers.Conv2D(
                filters, 3, activation="relu", padding="same", name=f"{name}_conv{index}"
            )(x)
    return x


def upsample(x, filters: int, method: str, name: str):
    """Double the size: nearest / bilinear UpSampling2D, or a 2x2 stride-2 transposed convolution
    with `filters` output channels (the UNet paper's "up-convolution")."""
    if method == "transpose":
        return layers.Conv2DTranspose(filters, 2, strides=2, padding="same", name=f"{name}_up")(x)
    return layers.UpSampling2D(size=(2, 2), interpolation=method, name=f"{name}_up")(x)


def output_layer(x, num_classes: int, name: str = "output"):
    """1x1 convolution to class scores: sigmoid for one class, softmax for several (float32, so it
    stays exact under mixed precision)."""
    activation = "sigmoid" if num_classes == 1 else "softmax"
    return layers.Conv2D(num_classes, 1, activation=activation, dtype="float32", name=name)(x)


def build_unet(
    input_shape=(128, 128, 1),
    filters=SEED_FILTERS,
    num_classes: int = 1,
    upsampling: str = "nearest",
    skip_connections: bool = True,
    batch_norm: bool = False,
    dropout: float = 0.0,
    name: str = "unet",
) -> keras.Model:
    """UNet: an encoder of conv blocks and 2x2 max poolings, a bottleneck, and a decoder that
    upsamples, concatenates the encoder's feature map of the same size (the skip connection),
    and convolves. Depth follows `len(filters)`; the defaults are the seed's model."""
    input_shape, filters = tuple(input_shape), tuple(filters)
    _check_unet_arguments(input_shape, filters, num_classes, upsampling, dropout)
    inputs = keras.Input(input_shape, name="image")
    x, skips = inputs, []
    for level, width in enumerate(filters[:-1], start=1):
        x = conv_block(x, width, f"encoder{level}", batch_norm)
        skips.append(x)
        x = layers.MaxPooling2D(pool_size=(2, 2), name=f"encoder{level}_pool")(x)
    x = conv_block(x, filters[-1], "bottleneck", batch_norm)
    if dropout:
        x = layers.Dropout(dropout, name="bottleneck_dropout")(x)
    for level in range(len(filters) - 1, 0, -1):
        width = filters[level - 1]
        x = upsample(x, width, upsampling, f"decoder{level}")
        if skip_connections:  # encoder features first, as in the seed: [conv2, up1]
            x = layers.Concatenate(name=f"decoder{level}_concat")([skips[level - 1], x])
        x = conv_block(x, width, f"decoder{level}", batch_norm)
    return keras.Model(inputs, output_layer(x, num_classes), name=name)


def scaled_filters(filters, width: float) -> tuple[int, ...]:
    """Filters multiplied by a profile's `width` (at least 4 each): the seed's (64, 128, 256) at
    width 0.25 is (16, 32, 64)."""
    return tuple(max(4, round(f * width)) for f in filters)

"""The course's segmentation models, built from Keras layers: UNet (notebook 04), UNet++ (05), and
the small feature network that judges generated images (06); the VAE lives in `utils.vae` and is
re-exported here (`models.build_vae`, `models.VAE`, ...).

`build_unet()` with its defaults rebuilds the source document's listing exactly — same layers,
same order, same parameter count (`utils.source` keeps the listing; tests/test_models.py compares).
"""

from __future__ import annotations

import keras
from keras import layers

from utils.checks import check_shape_and_filters
from utils.source import (  # noqa: F401  (the old names, re-exported)
    SEED_FILTERS,
    SEED_UNET_SOURCE,
    SEED_VAE_SOURCE,
    SOURCE_FILTERS,
    SOURCE_UNET_LISTING,
    SOURCE_VAE_LISTING,
    source_listing,
)
from utils.vae import VAE, VAE_FILTERS, Sampling, build_vae, build_vae_decoder, build_vae_encoder

__all__ = [
    "SOURCE_FILTERS",
    "SOURCE_UNET_LISTING",
    "SOURCE_VAE_LISTING",
    "UNET_PLUS_PLUS_FILTERS",
    "UPSAMPLINGS",
    "VAE",
    "VAE_FILTERS",
    "Sampling",
    "average_heads",
    "build_feature_network",
    "build_unet",
    "build_unet_plus_plus",
    "build_vae",
    "build_vae_decoder",
    "build_vae_encoder",
    "conv_block",
    "feature_extractor",
    "flops_per_image",
    "head_names",
    "output_layer",
    "prune_unet_plus_plus",
    "scaled_filters",
    "source_listing",
    "upsample",
    "with_input_shape",
]

UPSAMPLINGS = ("nearest", "bilinear", "transpose")


def _check_unet_arguments(input_shape, filters, num_classes, upsampling, dropout) -> None:
    check_shape_and_filters(input_shape, filters)
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
    """Two 3x3 'same' convolutions with ReLU (the source's building block), optional batch norm."""
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
    filters=SOURCE_FILTERS,
    num_classes: int = 1,
    upsampling: str = "nearest",
    skip_connections: bool = True,
    batch_norm: bool = False,
    dropout: float = 0.0,
    name: str = "unet",
) -> keras.Model:
    """UNet: an encoder of conv blocks and 2x2 max poolings, a bottleneck, and a decoder that
    upsamples, concatenates the encoder's feature map of the same size (the skip connection),
    and convolves. Depth follows `len(filters)`; the defaults are the source document's model."""
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
    """Filters multiplied by a profile's `width` (at least 4 each): the source's (64, 128, 256) at
    width 0.25 is (16, 32, 64)."""
    return tuple(max(4, round(f * width)) for f in filters)


UNET_PLUS_PLUS_FILTERS = (32, 64, 128, 256, 512)


def build_unet_plus_plus(
    input_shape=(128, 128, 1),
    filters=UNET_PLUS_PLUS_FILTERS,
    deep_supervision: bool = True,
    num_classes: int = 1,
    upsampling: str = "transpose",
    batch_norm: bool = False,
    dropout: float = 0.0,
    name: str = "unet_plus_plus",
) -> keras.Model:
    """UNet++ (Zhou et al., 2018): nodes x^{i,j} on a grid, i the depth and j the column.

    x^{i,0} is the backbone (a conv block, after a 2x2 max pooling for i > 0), and for j > 0
    x^{i,j} = H([x^{i,0}, ..., x^{i,j-1}, U(x^{i+1,j-1})]), H a conv block and U an upsampling.
    With `deep_supervision` the model has one 1x1 head per node x^{0,1} ... x^{0,L} (outputs
    `head1` ... `headL`, L = len(filters) - 1); without it, one head on x^{0,L}. Every node is
    named `x{i}{j}` so that `prune_unet_plus_plus` and learners can find it.
    """
    input_shape, filters = tuple(input_shape), tuple(filters)
    _check_unet_arguments(input_shape, filters, num_classes, upsampling, dropout)
    if len(filters) < 2:
        raise ValueError(f"filters must have at least 2 entries (one pooling), got {filters}")
    depth = len(filters) - 1  # L: the number of poolings, and of heads
    inputs = keras.Input(input_shape, name="image")
    nodes: dict[tuple[int, int], object] = {}
    for i in range(depth + 1):  # the backbone x^{i,0}
        x = inputs if i == 0 else layers.MaxPooling2D(2, name=f"x{i - 1}0_pool")(nodes[i - 1, 0])
        nodes[i, 0] = _node(x, filters[i], f"x{i}0", batch_norm, dropout)
    for j in range(1, depth + 1):  # column by column, so every input of a node exists
        for i in range(depth + 1 - j):
            up = upsample(
                nodes[i + 1, j - 1], filters[i], upsampling, f"x{i + 1}{j - 1}_to_x{i}{j}"
            )
            merged = layers.Concatenate(name=f"x{i}{j}_concat")(
                [nodes[i, k] for k in range(j)] + [up]
            )
            nodes[i, j] = _node(merged, filters[i], f"x{i}{j}", batch_norm, dropout)
    columns = range(1, depth + 1) if deep_supervision else [depth]
    outputs = [output_layer(nodes[0, j], num_classes, f"head{j}") for j in columns]
    return keras.Model(inputs, outputs if deep_supervision else outputs[0], name=name)


def _node(x, filters: int, name: str, batch_norm: bool, dropout: float):
    """H in the paper: a conv block, with dropout after it as in the official code."""
    x = conv_block(x, filters, name, batch_norm)
    return layers.Dropout(dropout, name=f"{name}_dropout")(x) if dropout else x


def head_names(model: keras.Model) -> list[str]:
    """The names of a UNet++'s output layers (`head1` ... `headL`), shallowest first."""
    heads = [layer.name for layer in model.layers if layer.name.startswith("head")]
    return sorted(heads, key=lambda name: int(name[4:]))


def prune_unet_plus_plus(model: keras.Model, level: int) -> keras.Model:
    """The sub-network of a deeply supervised UNet++ that ends at head `level` (L1 = x^{0,1}):
    only the nodes x^{i,j} with i + j <= level, sharing the trained weights (nothing is
    copied), for fast inference."""
    heads = head_names(model)
    if not isinstance(level, int) or f"head{level}" not in heads:
        raise ValueError(
            f"level must be one of {[int(head[4:]) for head in heads]} (this model's heads), "
            f"got {level!r}"
        )
    output = model.get_layer(f"head{level}").output
    return keras.Model(model.inputs, output, name=f"{model.name}_L{level}")


def average_heads(model: keras.Model) -> keras.Model:
    """The paper's "accurate" inference mode: the average of all heads, one output."""
    heads = head_names(model)
    if len(heads) < 2:
        raise ValueError(f"model must have several heads (deep supervision), got {heads}")
    average = layers.Average(name="average_of_heads")(
        [model.get_layer(head).output for head in heads]
    )
    return keras.Model(model.inputs, average, name=f"{model.name}_accurate")


# --- a feature network, for judging generated images -------------------------------------------


def build_feature_network(
    input_shape=(32, 32, 1), num_outputs: int = 7, filters=(16, 32, 64), num_features: int = 32
) -> keras.Model:
    """A small CNN that describes an image by `num_features` numbers: conv + pool per filter
    count, flatten, a dense layer named "features", and a linear layer of `num_outputs` (trained
    to predict the factors each image was drawn with). Notebook 06 compares sets of images by the
    statistics of their features (`feature_extractor`), as FID does with an Inception network."""
    input_shape, filters = tuple(input_shape), tuple(filters)
    check_shape_and_filters(input_shape, filters)
    if not isinstance(num_features, int) or num_features < 1:
        raise ValueError(f"num_features must be a positive int, got {num_features!r}")
    if not isinstance(num_outputs, int) or num_outputs < 1:
        raise ValueError(f"num_outputs must be a positive int, got {num_outputs!r}")
    inputs = layers.Input(shape=input_shape, name="image")
    x = inputs
    for level, width in enumerate(filters, start=1):
        x = layers.Conv2D(width, 3, activation="relu", padding="same", name=f"conv{level}")(x)
        x = layers.MaxPooling2D(name=f"pool{level}")(x)
    x = layers.Flatten(name="flatten")(x)
    features = layers.Dense(num_features, activation="relu", name="features")(x)
    outputs = layers.Dense(num_outputs, dtype="float32", name="factors")(features)
    return keras.Model(inputs, outputs, name="feature_network")


def feature_extractor(model: keras.Model) -> keras.Model:
    """The part of a `build_feature_network` model that maps an image to its "features"."""
    try:
        features = model.get_layer("features")
    except ValueError:
        raise ValueError(
            f"model must have a layer named 'features' (build_feature_network), got {model.name}"
        ) from None
    return keras.Model(model.inputs, features.output, name="features")


def with_input_shape(model: keras.Model, input_shape) -> keras.Model:
    """The same fully convolutional network for inputs of another shape (e.g. a whole block of a
    field instead of a training tile): its architecture on a new input, the weights copied.
    A shape it cannot take is a ValueError."""
    input_shape, trained = tuple(input_shape), tuple(model.input.shape[1:])
    poolings = sum(isinstance(layer, layers.MaxPooling2D) for layer in model.layers)
    if (
        len(input_shape) != 3
        or input_shape[-1] != trained[-1]
        or any(not isinstance(side, int) or side % 2**poolings for side in input_shape[:2])
    ):
        raise ValueError(
            f"input_shape must be (H, W, {trained[-1]}) with H and W multiples of "
            f"{2**poolings} ({poolings} poolings in {model.name}), got {input_shape}"
        )
    config = model.get_config()  # the architecture only: no compiled loss to look up
    for layer in config["layers"]:
        if layer["class_name"] == "InputLayer":
            layer["config"]["batch_shape"] = [None, *input_shape]
    clone = keras.Model.from_config(config)
    clone.set_weights(model.get_weights())
    return clone


# --- cost ---------------------------------------------------------------------------------------


def flops_per_image(model: keras.Model) -> int:
    """Floating-point operations for one image: 2 x the multiply-adds of every convolution,
    transposed convolution and dense layer (as TensorFlow's profiler counts them); biases,
    activations, pooling and upsampling (a few % at most) are left out."""
    if isinstance(model, VAE):
        return flops_per_image(model.encoder) + flops_per_image(model.decoder)
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += flops_per_image(layer)
        elif isinstance(layer, (layers.Conv2D, layers.Conv2DTranspose)):
            kh, kw, *_ = layer.kernel.shape
            c_in, c_out = layer.input.shape[-1], layer.filters
            # Conv2D: every output pixel is a kh*kw*c_in dot product per filter; a transposed
            # convolution scatters every *input* pixel through the whole kernel.
            pixels = (
                layer.input.shape[1:3]
                if isinstance(layer, layers.Conv2DTranspose)
                else (layer.output.shape[1:3])
            )
            total += 2 * pixels[0] * pixels[1] * kh * kw * c_in * c_out
        elif isinstance(layer, layers.Dense):
            total += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
    return int(total)

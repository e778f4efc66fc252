"""The course's segmentation models, built from Keras layers: UNet (notebook 04), UNet++ (05), and
the small feature network that judges generated images (06); the VAE lives in `utils.vae` and is
re-exported here (`models.build_vae`, `models.VAE`, ...).

`build_unet()` with its defaults rebuilds the source document's listing exactly — same layers,
same order, same parameter count (`utils.source` keeps the listing; tests/test_models.py compares).
Every builder checks its arguments first (a ValueError naming the bad one); shapes and filters may
be Python or NumPy ints, and are made plain ints so that a model's JSON is the same either way.
"""

from __future__ import annotations

import numbers

import keras
from keras import layers

from utils.checks import (
    check_bool,
    check_choice,
    check_filters,
    check_int,
    check_number,
    check_poolings,
    check_shape,
    check_shape_and_filters,
    check_text,
)
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


def _check_unet_arguments(input_shape, filters, num_classes, upsampling, dropout, name, flags):
    """The arguments every UNet builder shares, checked; returns (input_shape, filters,
    num_classes) as plain ints. `flags` holds the builder's True/False options by name."""
    input_shape, filters = check_shape_and_filters(input_shape, filters)
    factor = 2 ** (len(filters) - 1)
    if input_shape[0] % factor or input_shape[1] % factor:
        raise ValueError(
            f"input_shape {input_shape[:2]} must be divisible by 2**(len(filters) - 1) = {factor}: "
            f"{len(filters) - 1} poolings halve it that often, and the decoder must double it back "
            f"to the same size. Pad or crop the images to a multiple of {factor}."
        )
    num_classes = check_int(num_classes, "num_classes", minimum=1)
    check_choice(upsampling, "upsampling", UPSAMPLINGS)
    check_number(dropout, "dropout", 0, 1, high_open=True, expected="in [0, 1)")
    check_text(name, "name")
    for flag, value in flags.items():
        check_bool(value, flag)
    return input_shape, filters, num_classes


def _check_model(model) -> None:
    """`model`, a Keras model (not a builder, not a name)."""
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a Keras model, got {type(model).__name__}")


def conv_block(x, filters: int, name: str, batch_norm: bool = False):
    """Two 3x3 'same' convolutions with ReLU (the source's building block), optional batch norm."""
    filters = check_int(filters, "filters", minimum=1)
    check_text(name, "name")
    check_bool(batch_norm, "batch_norm")
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
    filters = check_int(filters, "filters", minimum=1)
    check_choice(method, "method", UPSAMPLINGS)
    check_text(name, "name")
    if method == "transpose":
        return layers.Conv2DTranspose(filters, 2, strides=2, padding="same", name=f"{name}_up")(x)
    return layers.UpSampling2D(size=(2, 2), interpolation=method, name=f"{name}_up")(x)


def output_layer(x, num_classes: int, name: str = "output"):
    """1x1 convolution to class scores: sigmoid for one class, softmax for several (float32, so it
    stays exact under mixed precision)."""
    num_classes = check_int(num_classes, "num_classes", minimum=1)
    check_text(name, "name")
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
    flags = {"skip_connections": skip_connections, "batch_norm": batch_norm}
    input_shape, filters, num_classes = _check_unet_arguments(
        input_shape, filters, num_classes, upsampling, dropout, name, flags
    )
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
        if skip_connections:  # encoder features first, as in the source: [conv2, up1]
            x = layers.Concatenate(name=f"decoder{level}_concat")([skips[level - 1], x])
        x = conv_block(x, width, f"decoder{level}", batch_norm)
    return keras.Model(inputs, output_layer(x, num_classes), name=name)


def scaled_filters(filters, width: float) -> tuple[int, ...]:
    """Filters multiplied by a profile's `width` (at least 4 each): the source's (64, 128, 256) at
    width 0.25 is (16, 32, 64)."""
    filters = check_filters(filters)
    check_number(width, "width", 0, low_open=True)
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
    flags = {"deep_supervision": deep_supervision, "batch_norm": batch_norm}
    input_shape, filters, num_classes = _check_unet_arguments(
        input_shape, filters, num_classes, upsampling, dropout, name, flags
    )
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
    _check_model(model)
    heads = [layer.name for layer in model.layers if layer.name.startswith("head")]
    return sorted(heads, key=lambda name: int(name[4:]))


def prune_unet_plus_plus(model: keras.Model, level: int) -> keras.Model:
    """The sub-network of a deeply supervised UNet++ that ends at head `level` (L1 = x^{0,1}):
    only the nodes x^{i,j} with i + j <= level, sharing the trained weights (nothing is
    copied), for fast inference."""
    heads = head_names(model)
    if (
        isinstance(level, bool)
        or not isinstance(level, numbers.Integral)
        or f"head{level}" not in heads
    ):
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
    input_shape, filters = check_shape_and_filters(input_shape, filters)
    num_features = check_int(num_features, "num_features", minimum=1)
    num_outputs = check_int(num_outputs, "num_outputs", minimum=1)
    check_poolings(input_shape, len(filters))
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
    _check_model(model)
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
    _check_model(model)
    trained = tuple(model.input.shape[1:])
    poolings = sum(isinstance(layer, layers.MaxPooling2D) for layer in model.layers)
    shape = check_shape(input_shape)
    if shape[-1] != trained[-1] or any(side % 2**poolings for side in shape[:2]):
        raise ValueError(
            f"input_shape must be (H, W, {trained[-1]}) with H and W multiples of "
            f"{2**poolings} ({poolings} poolings in {model.name}), got {input_shape}"
        )
    config = model.get_config()  # the architecture only: no compiled loss to look up
    for layer in config["layers"]:
        if layer["class_name"] == "InputLayer":
            layer["config"]["batch_shape"] = [None, *shape]
    clone = keras.Model.from_config(config)
    clone.set_weights(model.get_weights())
    return clone


# --- cost ---------------------------------------------------------------------------------------


def flops_per_image(model: keras.Model) -> int:
    """Floating-point operations for one image: 2 x the multiply-adds of every convolution,
    transposed convolution and dense layer (as TensorFlow's profiler counts them); biases,
    activations, pooling and upsampling (a few % at most) are left out."""
    _check_model(model)
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

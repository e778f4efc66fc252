"""The course's models, built from Keras layers: UNet (notebook 04), UNet++ (05) and the VAE (06).

`build_unet()` with its defaults rebuilds the source document's listing exactly — same layers,
same order, same parameter count (`source_listing("unet")` runs the source's code verbatim;
tests/test_models.py compares the two).
"""

from __future__ import annotations

import keras
from keras import layers

from utils import metrics

UPSAMPLINGS = ("nearest", "bilinear", "transpose")
SEED_FILTERS = (64, 128, 256)

#: The source document's UNet listing, verbatim except for the import line
#: (Keras 3: `from keras import`).
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


def _check_shape_and_filters(input_shape, filters) -> None:
    if len(input_shape) != 3 or any(not isinstance(n, int) or n < 1 for n in input_shape):
        raise ValueError(
            f"input_shape must be (height, width, channels) of positive ints, got {input_shape}"
        )
    if not filters or any(not isinstance(f, int) or f < 1 for f in filters):
        raise ValueError(f"filters must be a non-empty sequence of positive ints, got {filters}")


def _check_unet_arguments(input_shape, filters, num_classes, upsampling, dropout) -> None:
    _check_shape_and_filters(input_shape, filters)
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


# --- the VAE ------------------------------------------------------------------------------------

#: The source document's VAE listing, verbatim except for the import lines
#: (Keras 3: `from keras import`).
SEED_VAE_SOURCE = """
from keras import layers, Model

# VAE encoder
def encoder(input_shape=(128, 128, 1)):
    inputs = layers.Input(shape=input_shape)
    x = layers.Conv2D(64, 3, activation='relu', padding='same')(inputs)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(128, 3, activation='relu', padding='same')(x)
    x = layers.MaxPooling2D()(x)

    x = layers.Flatten()(x)
    z_mean = layers.Dense(16, name='z_mean')(x)
    z_log_var = layers.Dense(16, name='z_log_var')(x)

    return Model(inputs, [z_mean, z_log_var], name="encoder")

# VAE decoder
def decoder(latent_dim=16):
    latent_inputs = layers.Input(shape=(latent_dim,))
    x = layers.Dense(32 * 32 * 128, activation='relu')(latent_inputs)
    x = layers.Reshape((32, 32, 128))(x)

    x = layers.Conv2DTranspose(128, 3, activation='relu', padding='same')(x)
    x = layers.UpSampling2D()(x)
    x = layers.Conv2DTranspose(64, 3, activation='relu', padding='same')(x)
    x = layers.UpSampling2D()(x)

    outputs = layers.Conv2DTranspose(1, 3, activation='sigmoid', padding='same')(x)

    return Model(latent_inputs, outputs, name="decoder")
"""

VAE_FILTERS = (64, 128)


@keras.saving.register_keras_serializable(package="course")
class Sampling(layers.Layer):
    """The reparameterisation trick: z = mu + exp(1/2 * log sigma^2) * epsilon, epsilon ~ N(0, I).
    The randomness sits in epsilon, outside the path from (mu, log sigma^2) to z, so gradients
    flow to the encoder."""

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(keras.ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + keras.ops.exp(0.5 * z_log_var) * epsilon

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def build_vae_encoder(input_shape=(128, 128, 1), latent_dim: int = 16, filters=VAE_FILTERS):
    """The source's encoder: conv + pool per filter count, flatten, two dense heads (mu, logvar)."""
    # Layers are named (the source's are not) so that a model's description, and with it its cache
    # key in `training.fit`, does not depend on what else was built before in the session.
    inputs = layers.Input(shape=input_shape, name="image")
    x = inputs
    for level, width in enumerate(filters, start=1):
        x = layers.Conv2D(width, 3, activation="relu", padding="same", name=f"encoder_conv{level}")(
            x
        )
        x = layers.MaxPooling2D(name=f"encoder_pool{level}")(x)
    x = layers.Flatten(name="flatten")(x)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    return keras.Model(inputs, [z_mean, z_log_var], name="encoder")


def build_vae_decoder(output_shape=(128, 128, 1), latent_dim: int = 16, filters=VAE_FILTERS):
    """The source's decoder: dense to a (H/2^n, W/2^n, filters[-1]) map, then per level a 3x3
    transposed convolution and a 2x upsampling, and a sigmoid transposed convolution to the
    image's channels. The first map follows the output size (32x32 for 128x128)."""
    factor = 2 ** len(filters)
    height, width = output_shape[0] // factor, output_shape[1] // factor
    latent_inputs = layers.Input(shape=(latent_dim,), name="z")
    x = layers.Dense(height * width * filters[-1], activation="relu", name="decoder_dense")(
        latent_inputs
    )
    x = layers.Reshape((height, width, filters[-1]), name="decoder_reshape")(x)
    for level, channels in zip(range(len(filters), 0, -1), reversed(filters), strict=True):
        x = layers.Conv2DTranspose(
            channels, 3, activation="relu", padding="same", name=f"decoder_deconv{level}"
        )(x)
        x = layers.UpSampling2D(name=f"decoder_up{level}")(x)
    outputs = layers.Conv2DTranspose(
        output_shape[-1],
        3,
        activation="sigmoid",
        padding="same",
        dtype="float32",
        name="reconstruction",
    )(x)
    return keras.Model(latent_inputs, outputs, name="decoder")


@keras.saving.register_keras_serializable(package="course")
class VAE(keras.Model):
    """A variational autoencoder trained through `train_step`/`test_step` (no `add_loss`), so
    `fit(..., validation_data=...)` works on Keras 3. Tracks `loss` (the negative ELBO with the
    KL term weighted by `beta`), `reconstruction` and `kl`, all per image, averaged over a batch.

    Calling the model returns the reconstruction of the mean code mu (deterministic); training
    decodes a sample z. With `variational=False` it is a plain autoencoder: z = mu, no KL term.
    """

    def __init__(
        self, encoder, decoder, beta: float = 1.0, variational: bool = True, seed=None, **kwargs
    ):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.beta, self.variational, self.seed = float(beta), bool(variational), seed
        self.sampling = Sampling(seed, name="sampling")
        self.trackers = {
            name: keras.metrics.Mean(name=name) for name in ("loss", "reconstruction", "kl")
        }

    @property
    def metrics(self):
        return list(self.trackers.values())

    def build(self, input_shape=None):
        # The encoder and decoder are functional models, built when they were made.
        self.built = True

    def call(self, inputs, training=False):
        z_mean, _ = self.encoder(inputs, training=training)
        return self.decoder(z_mean, training=training)

    def terms(self, images, training=False, seed: int | None = None) -> dict:
        """The per-image loss terms for a batch (what the training step minimises).

        The code z is sampled: by the `Sampling` layer's generator (whose state moves on with
        every call) when `seed` is None, as in training; with the same noise on every call when
        `seed` is an integer — for reported numbers that must not depend on what ran before
        (e.g. whether the model was just trained or loaded from the cache)."""
        z_mean, z_log_var = self.encoder(images, training=training)
        if not self.variational:
            z = z_mean
        elif seed is None:
            z = self.sampling([z_mean, z_log_var])
        else:
            epsilon = keras.random.normal(keras.ops.shape(z_mean), seed=int(seed))
            z = z_mean + keras.ops.exp(0.5 * z_log_var) * epsilon
        reconstructions = self.decoder(z, training=training)
        reconstruction = metrics.bernoulli_reconstruction(images, reconstructions)
        kl = metrics.gaussian_kl(z_mean, z_log_var)
        # The autoencoder ignores the KL term; 0 * kl keeps z_log_var in the graph (its gradient
        # is zero) so Keras does not warn about variables without gradients.
        loss = reconstruction + (self.beta if self.variational else 0.0) * kl
        return {"loss": loss, "reconstruction": reconstruction, "kl": kl}

    def _update(self, terms: dict) -> dict:
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, data):
        import tensorflow as tf  # the course's backend: gradients through tf.GradientTape

        images = data[0] if isinstance(data, (tuple, list)) else data
        with tf.GradientTape() as tape:
            terms = self.terms(images, training=True)
            loss = keras.ops.mean(terms["loss"])
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        return self._update(terms)

    def test_step(self, data):
        images = data[0] if isinstance(data, (tuple, list)) else data
        return self._update(self.terms(images, training=False))

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "beta": self.beta,
            "variational": self.variational,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        config["decoder"] = keras.saving.deserialize_keras_object(config["decoder"])
        return cls(**config)


def build_vae(
    input_shape=(128, 128, 1),
    latent_dim: int = 16,
    beta: float = 1.0,
    filters=VAE_FILTERS,
    variational: bool = True,
    seed: int | None = None,
    name: str = "vae",
) -> VAE:
    """The source's VAE: `.encoder` and `.decoder` are its listings with the defaults; other
    input sizes (divisible by 2**len(filters)), latent sizes, widths and KL weights `beta` work.
    `variational=False` gives the plain autoencoder of notebook 06 (no sampling, no KL)."""
    input_shape, filters = tuple(input_shape), tuple(filters)
    _check_shape_and_filters(input_shape, filters)
    factor = 2 ** len(filters)
    if input_shape[0] % factor or input_shape[1] % factor:
        raise ValueError(
            f"input_shape {input_shape[:2]} must be divisible by 2**len(filters) = {factor}: the "
            f"encoder pools {len(filters)} times and the decoder upsamples back to the same size"
        )
    if not isinstance(latent_dim, int) or latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive int, got {latent_dim!r}")
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0, got {beta!r}")
    encoder = build_vae_encoder(input_shape, latent_dim, filters)
    decoder = build_vae_decoder(input_shape, latent_dim, filters)
    vae = VAE(encoder, decoder, beta=beta, variational=variational, seed=seed, name=name)
    vae.build((None, *input_shape))
    return vae


def source_listing(name: str):
    """What the source document's listing `name` builds, its code run verbatim (but for the
    Keras 3 import): "unet" gives its UNet model, "vae" its (encoder, decoder) pair."""
    listings = {
        "unet": (SEED_UNET_SOURCE, ("unet",)),
        "vae": (SEED_VAE_SOURCE, ("encoder", "decoder")),
    }
    if name not in listings:
        raise ValueError(f"name must be one of {sorted(listings)}, got {name!r}")
    source, functions = listings[name]
    namespace = {}
    exec(source, namespace)  # defines the listing's functions; calling them builds the models
    built = tuple(namespace[function]() for function in functions)
    return built if len(built) > 1 else built[0]


# --- a feature network, for judging generated images -------------------------------------------


def build_feature_network(
    input_shape=(32, 32, 1), num_outputs: int = 7, filters=(16, 32, 64), num_features: int = 32
) -> keras.Model:
    """A small CNN that describes an image by `num_features` numbers: conv + pool per filter
    count, flatten, a dense layer named "features", and a linear layer of `num_outputs` (trained
    to predict the factors each image was drawn with). Notebook 06 compares sets of images by the
    statistics of their features (`feature_extractor`), as FID does with an Inception network."""
    input_shape, filters = tuple(input_shape), tuple(filters)
    _check_shape_and_filters(input_shape, filters)
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

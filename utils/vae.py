"""The variational autoencoder of notebook 06: the source's encoder and decoder generalised, the
reparameterisation (`Sampling`) and a `VAE` model that trains through `train_step` on the negative
ELBO (`utils.losses`). `utils.models` re-exports every name here."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from utils import losses
from utils.checks import (
    check_bool,
    check_int,
    check_number,
    check_poolings,
    check_seed,
    check_shape_and_filters,
    check_text,
)

__all__ = ["VAE", "VAE_FILTERS", "Sampling", "build_vae", "build_vae_decoder", "build_vae_encoder"]

VAE_FILTERS = (64, 128)


@keras.saving.register_keras_serializable(package="course")
class Sampling(layers.Layer):
    """The reparameterisation trick: z = mu + exp(1/2 * log sigma^2) * epsilon, epsilon ~ N(0, I).
    The randomness sits in epsilon, outside the path from (mu, log sigma^2) to z, so gradients
    flow to the encoder."""

    def __init__(self, seed: int | None = None, **kwargs):
        seed = check_seed(seed, optional=True)
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(keras.ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + keras.ops.exp(0.5 * z_log_var) * epsilon

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def build_vae_encoder(
    input_shape=(128, 128, 1), latent_dim: int = 16, filters=VAE_FILTERS, skips: bool = False
):
    """The source's encoder: conv + pool per filter count, flatten, two dense heads (mu, logvar).
    With `skips`, it also outputs each level's feature map before pooling, as a UNet hands them
    to its decoder: outputs [mu, logvar, level 1's map, level 2's map, ...]."""
    # Layers are named (the source's are not) so that a model's description, and with it its cache
    # key in `training.fit`, does not depend on what else was built before in the session.
    input_shape, filters = check_shape_and_filters(input_shape, filters)
    latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
    check_bool(skips, "skips")
    check_poolings(input_shape, len(filters))
    inputs = layers.Input(shape=input_shape, name="image")
    x, features = inputs, []
    for level, width in enumerate(filters, start=1):
        x = layers.Conv2D(width, 3, activation="relu", padding="same", name=f"encoder_conv{level}")(
            x
        )
        features.append(x)
        x = layers.MaxPooling2D(name=f"encoder_pool{level}")(x)
    x = layers.Flatten(name="flatten")(x)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    outputs = [z_mean, z_log_var] + (features if skips else [])
    return keras.Model(inputs, outputs, name="encoder")


def build_vae_decoder(
    output_shape=(128, 128, 1), latent_dim: int = 16, filters=VAE_FILTERS, skips: bool = False
):
    """The source's decoder: dense to a (H/2^n, W/2^n, filters[-1]) map, then per level a 3x3
    transposed convolution and a 2x upsampling, and a sigmoid transposed convolution to the
    image's channels. The first map follows the output size (32x32 for 128x128). With `skips`,
    it also takes the encoder's feature maps (inputs [z, level 1's map, ...]) and concatenates
    each after the upsampling that reaches its size: UNet's skip connections."""
    output_shape, filters = check_shape_and_filters(output_shape, filters, "output_shape")
    latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
    check_bool(skips, "skips")
    factor = 2 ** len(filters)
    if output_shape[0] % factor or output_shape[1] % factor:
        raise ValueError(
            f"output_shape {output_shape[:2]} must be divisible by 2**len(filters) = {factor}: "
            f"the decoder upsamples {len(filters)} times from one map"
        )
    height, width = output_shape[0] // factor, output_shape[1] // factor
    latent_inputs = layers.Input(shape=(latent_dim,), name="z")
    features = [
        layers.Input(
            shape=(output_shape[0] >> (level - 1), output_shape[1] >> (level - 1), channels),
            name=f"skip{level}",
        )
        for level, channels in enumerate(filters, start=1)
        if skips
    ]
    x = layers.Dense(height * width * filters[-1], activation="relu", name="decoder_dense")(
        latent_inputs
    )
    x = layers.Reshape((height, width, filters[-1]), name="decoder_reshape")(x)
    for level, channels in zip(range(len(filters), 0, -1), reversed(filters), strict=True):
        x = layers.Conv2DTranspose(
            channels, 3, activation="relu", padding="same", name=f"decoder_deconv{level}"
        )(x)
        x = layers.UpSampling2D(name=f"decoder_up{level}")(x)
        if skips:  # the encoder's map of this size, around the bottleneck
            x = layers.Concatenate(name=f"decoder_skip{level}")([x, features[level - 1]])
    outputs = layers.Conv2DTranspose(
        output_shape[-1],
        3,
        activation="sigmoid",
        padding="same",
        dtype="float32",
        name="reconstruction",
    )(x)
    return keras.Model(
        [latent_inputs, *features] if skips else latent_inputs, outputs, name="decoder"
    )


@keras.saving.register_keras_serializable(package="course")
class VAE(keras.Model):
    """A variational autoencoder trained through `train_step`/`test_step` (no `add_loss`), so
    `fit(..., validation_data=...)` works on Keras 3. Tracks `loss` (the negative ELBO with the
    KL term weighted by `beta`), `reconstruction` and `kl`, all per image, averaged over a batch.

    Calling the model returns the reconstruction of the mean code mu (deterministic); training
    decodes a sample z. With `variational=False` it is a plain autoencoder: z = mu, no KL term.
    An encoder that also outputs feature maps (`build_vae(skips=True)`) makes a skip-VAE: the
    decoder gets them beside z, as a UNet's decoder gets its skips.
    """

    def __init__(
        self, encoder, decoder, beta: float = 1.0, variational: bool = True, seed=None, **kwargs
    ):
        for name, part in (("encoder", encoder), ("decoder", decoder)):
            if not isinstance(part, keras.Model):
                raise ValueError(f"{name} must be a Keras model, got {type(part).__name__}")
        check_number(beta, "beta", 0, expected=">= 0 and finite")
        check_bool(variational, "variational")
        seed = check_seed(seed, optional=True)
        skips = len(encoder.outputs) - 2
        if skips < 0 or len(decoder.inputs) != 1 + skips:
            raise ValueError(
                f"encoder must output [mu, log sigma^2, *feature maps] and decoder take [z, *the "
                f"same maps]; got {len(encoder.outputs)} encoder outputs and "
                f"{len(decoder.inputs)} decoder inputs"
            )
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.skips = bool(skips)
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
        z_mean, _, *features = self.encoder(inputs, training=training)
        return self._decode(z_mean, features, training)

    def _decode(self, z, features, training=False):
        return self.decoder([z, *features] if self.skips else z, training=training)

    def encode(self, images, batch_size: int = 256) -> tuple:
        """(mu, log sigma^2, feature maps) of `images` as NumPy; the maps are [] without skips."""
        images = np.asarray(images, np.float32)
        parts = [
            [np.asarray(output) for output in self.encoder(images[start : start + batch_size])]
            for start in range(0, len(images), batch_size)
        ]
        z_mean, z_log_var, *features = (
            np.concatenate(column) for column in zip(*parts, strict=True)
        )
        return z_mean, z_log_var, list(features)

    def decode(self, codes, features=None, batch_size: int = 256) -> np.ndarray:
        """Images decoded from latent `codes` (N, latent_dim), as NumPy. A skip-VAE's decoder
        also takes feature maps: `features` (those of N images, from `encode`) makes the output
        depend on those images; None gives zeros — what is left when there is no input image."""
        codes = np.asarray(codes, np.float32)
        shapes = [tuple(tensor.shape[1:]) for tensor in self.decoder.inputs[1:]]
        if features is None:
            features = [np.zeros((len(codes), *shape), np.float32) for shape in shapes]
        features = [np.asarray(maps, np.float32) for maps in features]
        if [maps.shape for maps in features] != [(len(codes), *shape) for shape in shapes]:
            raise ValueError(
                f"features must be {len(shapes)} arrays of shapes "
                f"{[(len(codes), *shape) for shape in shapes]}, got "
                f"{[maps.shape for maps in features]}"
            )
        return np.concatenate(
            [
                np.asarray(
                    self._decode(
                        codes[start : start + batch_size],
                        [maps[start : start + batch_size] for maps in features],
                    )
                )
                for start in range(0, len(codes), batch_size)
            ]
        )

    def terms(self, images, training=False, seed: int | None = None) -> dict:
        """The per-image loss terms for a batch (what the training step minimises).

        The code z is sampled: by the `Sampling` layer's generator (whose state moves on with
        every call) when `seed` is None, as in training; with the same noise on every call when
        `seed` is an integer — for reported numbers that must not depend on what ran before
        (e.g. whether the model was just trained or loaded from the cache)."""
        z_mean, z_log_var, *features = self.encoder(images, training=training)
        if not self.variational:
            z = z_mean
        elif seed is None:
            z = self.sampling([z_mean, z_log_var])
        else:
            epsilon = keras.random.normal(keras.ops.shape(z_mean), seed=int(seed))
            z = z_mean + keras.ops.exp(0.5 * z_log_var) * epsilon
        reconstructions = self._decode(z, features, training)
        reconstruction = losses.bernoulli_reconstruction(images, reconstructions)
        kl = losses.gaussian_kl(z_mean, z_log_var)
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
    skips: bool = False,
) -> VAE:
    """The source's VAE: `.encoder` and `.decoder` are its listings with the defaults; other
    input sizes (divisible by 2**len(filters)), latent sizes, widths and KL weights `beta` work.
    `variational=False` gives the plain autoencoder of notebook 06 (no sampling, no KL);
    `skips=True` adds UNet's skip connections from encoder to decoder (notebook 07)."""
    input_shape, filters = check_shape_and_filters(input_shape, filters)
    factor = 2 ** len(filters)
    if input_shape[0] % factor or input_shape[1] % factor:
        raise ValueError(
            f"input_shape {input_shape[:2]} must be divisible by 2**len(filters) = {factor}: the "
            f"encoder pools {len(filters)} times and the decoder upsamples back to the same size"
        )
    latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
    check_number(beta, "beta", 0, expected=">= 0 and finite")
    check_bool(variational, "variational")
    seed = check_seed(seed, optional=True)
    check_text(name, "name")
    check_bool(skips, "skips")
    encoder = build_vae_encoder(input_shape, latent_dim, filters, skips)
    decoder = build_vae_decoder(input_shape, latent_dim, filters, skips)
    vae = VAE(encoder, decoder, beta=beta, variational=variational, seed=seed, name=name)
    vae.build((None, *input_shape))
    return vae

"""The source document's Keras listings, kept as a document: its UNet and its VAE, verbatim but
for the import line (Keras 3: `from keras import`). `source_listing` runs one; notebooks 04 and 06
compare the course's builders with what it builds (same layers, same parameter count).

The source document itself is `notebooks/source_document.zh.md` (the Chinese original), described
in English, claim by claim, in `notebooks/source_document.md` (its claims S12 and S25 are these
listings)."""

from __future__ import annotations

from utils.checks import check_choice

__all__ = ["SOURCE_FILTERS", "SOURCE_UNET_LISTING", "SOURCE_VAE_LISTING", "source_listing"]

#: The source's UNet filters per level.
SOURCE_FILTERS = (64, 128, 256)

#: The source document's UNet listing.
SOURCE_UNET_LISTING = """
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


#: The source document's VAE listing.
SOURCE_VAE_LISTING = """
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


def source_listing(name: str):
    """What the source document's listing `name` builds, its code run verbatim (but for the
    Keras 3 import): "unet" gives its UNet model, "vae" its (encoder, decoder) pair."""
    listings = {
        "unet": (SOURCE_UNET_LISTING, ("unet",)),
        "vae": (SOURCE_VAE_LISTING, ("encoder", "decoder")),
    }
    source, functions = listings[check_choice(name, "name", sorted(listings))]
    namespace = {}
    exec(source, namespace)  # defines the listing's functions; calling them builds the models
    built = tuple(namespace[function]() for function in functions)
    return built if len(built) > 1 else built[0]


# The names before "seed" came to mean only a random seed.
SEED_FILTERS, SEED_UNET_SOURCE, SEED_VAE_SOURCE = (
    SOURCE_FILTERS,
    SOURCE_UNET_LISTING,
    SOURCE_VAE_LISTING,
)

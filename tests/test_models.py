"""Tests of utils/models.py: the seed's UNet rebuilt exactly, options, and clear errors."""

import keras
import numpy as np
import pytest

from utils import models

KEYS = (
    "filters",
    "kernel_size",
    "strides",
    "padding",
    "activation",
    "pool_size",
    "size",
    "interpolation",
    "axis",
    "use_bias",
)


def seed_unet() -> keras.Model:
    namespace = {}
    exec(models.SEED_UNET_SOURCE, namespace)  # the seed's listing, verbatim but for the import
    return namespace["unet"]()


def signature(model: keras.Model):
    """Each layer's class, key settings, output shape and inputs, in graph order."""
    rows = []
    positions = {id(layer): index for index, layer in enumerate(model.layers)}
    for layer in model.layers:
        config = layer.get_config()
        parents = (
            [positions[id(t._keras_history.operation)] for t in keras.tree.flatten(layer.input)]
            if not isinstance(layer, keras.layers.InputLayer)
            else []
        )
        rows.append(
            (
                type(layer).__name__,
                {k: config[k] for k in KEYS if k in config},
                tuple(layer.output.shape),
                parents,
                layer.count_params(),
            )
        )
    return rows


def test_defaults_rebuild_the_seed_exactly():
    ours, seed = models.build_unet(), seed_unet()
    assert ours.count_params() == seed.count_params() == 1_881_985
    assert signature(ours) == signature(seed)


@pytest.mark.parametrize("upsampling", models.UPSAMPLINGS)
@pytest.mark.parametrize("skip_connections", [True, False])
def test_options_build_and_keep_the_size(upsampling, skip_connections):
    model = models.build_unet(
        (32, 48, 2),
        (4, 8, 16, 32),
        num_classes=3,
        upsampling=upsampling,
        skip_connections=skip_connections,
        batch_norm=True,
        dropout=0.3,
    )
    out = model(np.zeros((2, 32, 48, 2), np.float32))
    assert out.shape == (2, 32, 48, 3)
    np.testing.assert_allclose(np.asarray(out).sum(-1), 1.0, rtol=1e-5)  # softmax over classes
    kinds = {type(layer).__name__ for layer in model.layers}
    assert ("Concatenate" in kinds) == skip_connections
    assert ("Conv2DTranspose" in kinds) == (upsampling == "transpose")
    assert {"BatchNormalization", "Dropout"} <= kinds
    assert sum(isinstance(layer, keras.layers.MaxPooling2D) for layer in model.layers) == 3


def test_without_skips_only_the_decoder_input_widths_change():
    with_skips, without = (
        models.build_unet((32, 32, 1), (8, 16)),
        models.build_unet((32, 32, 1), (8, 16), skip_connections=False),
    )
    # the first decoder conv sees 8 + 16 channels with the skip, 16 without: 3*3*8*8 fewer weights
    assert with_skips.count_params() - without.count_params() == 3 * 3 * 8 * 8


def test_scaled_filters():
    assert models.scaled_filters((64, 128, 256), 0.25) == (16, 32, 64)
    assert models.scaled_filters((64, 128, 256), 0.01) == (4, 4, 4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"input_shape": (102, 128, 1)},
            r"\(102, 128\) must be divisible by 2\*\*\(len\(filters\) - 1\) = 4",
        ),
        ({"input_shape": (64, 64)}, r"input_shape must be \(height, width, channels\)"),
        ({"filters": ()}, r"filters must be a non-empty sequence"),
        ({"filters": (8, 0)}, r"filters must be a non-empty sequence of positive ints"),
        (
            {"upsampling": "cubic"},
            r"upsampling must be one of \('nearest', 'bilinear', 'transpose'\)",
        ),
        ({"num_classes": 0}, r"num_classes must be a positive int"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ],
)
def test_bad_arguments_raise_a_clear_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.build_unet(**kwargs)

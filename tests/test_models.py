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
    ours, seed = models.build_unet(), models.source_listing("unet")
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


def test_source_listing_names_the_listings():
    with pytest.raises(ValueError, match=r"name must be one of \['unet', 'vae'\], got 'gan'"):
        models.source_listing("gan")


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


# --- UNet++ -------------------------------------------------------------------------------------


def test_unet_plus_plus_parameter_counts_match_the_paper():
    """Zhou et al. (2018), Table 1: U-Net 7.76M, UNet++ 9.04M parameters (filters 32 ... 512)."""
    plus_plus = models.build_unet_plus_plus((32, 32, 1), deep_supervision=False)
    unet = models.build_unet((32, 32, 1), models.UNET_PLUS_PLUS_FILTERS, upsampling="transpose")
    assert round(plus_plus.count_params() / 1e6, 2) == 9.04
    assert round(unet.count_params() / 1e6, 2) == 7.76


@pytest.mark.parametrize("upsampling", models.UPSAMPLINGS)
def test_unet_plus_plus_nodes_follow_the_definition(upsampling):
    """x^{i,j} concatenates x^{i,0..j-1} and U(x^{i+1,j-1}): its first convolution sees
    j * filters[i] channels plus the upsampled node's (filters[i] for transpose)."""
    filters = (4, 6, 8, 10)
    model = models.build_unet_plus_plus((16, 16, 1), filters, upsampling=upsampling)
    depth = len(filters) - 1
    for j in range(1, depth + 1):
        for i in range(depth + 1 - j):
            up_channels = filters[i] if upsampling == "transpose" else filters[i + 1]
            concat = model.get_layer(f"x{i}{j}_concat")
            assert len(concat.input) == j + 1
            assert concat.output.shape[1:] == (16 >> i, 16 >> i, j * filters[i] + up_channels)
            assert model.get_layer(f"x{i}{j}_conv2").output.shape[-1] == filters[i]
    assert models.head_names(model) == ["head1", "head2", "head3"]
    assert [tuple(t.shape[1:]) for t in model.outputs] == [(16, 16, 1)] * 3
    with pytest.raises(ValueError):
        model.get_layer("x13_concat")  # i + j > L: no such node


def test_pruned_networks_share_weights_and_keep_only_their_nodes():
    keras.utils.set_random_seed(0)
    model = models.build_unet_plus_plus((16, 16, 1), (4, 6, 8, 10))
    images = np.random.default_rng(0).random((2, 16, 16, 1), dtype=np.float32)
    heads = model.predict(images, verbose=0)
    sizes = []
    for level in (1, 2, 3):
        pruned = models.prune_unet_plus_plus(model, level)
        np.testing.assert_allclose(pruned.predict(images, verbose=0), heads[level - 1], atol=1e-6)
        nodes = {layer.name[:3] for layer in pruned.layers if layer.name.endswith("_conv1")}
        assert nodes == {f"x{i}{j}" for i in range(level + 1) for j in range(level + 1 - i)}
        sizes.append(pruned.count_params())
        assert pruned.get_layer("x00_conv1") is model.get_layer("x00_conv1")  # shared, not copied
    assert sizes == sorted(sizes)
    assert sizes[-1] + 2 * (4 + 1) == model.count_params()  # all but heads 1, 2 (4 weights + bias)
    accurate = models.average_heads(model)
    np.testing.assert_allclose(accurate.predict(images, verbose=0), np.mean(heads, 0), atol=1e-6)


def test_unet_plus_plus_bad_arguments():
    model = models.build_unet_plus_plus((16, 16, 1), (4, 8, 8))
    with pytest.raises(ValueError, match=r"level must be one of \[1, 2\]"):
        models.prune_unet_plus_plus(model, 3)
    single = models.build_unet_plus_plus((16, 16, 1), (4, 8, 8), deep_supervision=False)
    assert len(single.outputs) == 1 and models.head_names(single) == ["head2"]
    with pytest.raises(ValueError, match=r"model must have several heads"):
        models.average_heads(single)
    with pytest.raises(ValueError, match=r"filters must have at least 2 entries"):
        models.build_unet_plus_plus((16, 16, 1), (4,))
    with pytest.raises(ValueError, match=r"must be divisible by 2\*\*\(len\(filters\) - 1\) = 4"):
        models.build_unet_plus_plus((18, 16, 1), (4, 8, 8))


# --- cost ---------------------------------------------------------------------------------------


def profiler_flops(model: keras.Model) -> int:
    """TensorFlow's own count for one image: its convolutions and matrix products."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    spec = tf.TensorSpec([1, *model.inputs[0].shape[1:]])
    frozen = convert_variables_to_constants_v2(tf.function(model).get_concrete_function(spec))
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    root = tf.compat.v1.profiler.profile(
        graph=frozen.graph, run_meta=tf.compat.v1.RunMetadata(), cmd="scope", options=options
    )
    names = ("/convolution", "/conv_transpose", "/MatMul")  # not the BiasAdd, pooling, ... nodes
    return sum(node.float_ops for node in root.children if node.name.endswith(names))


def test_flops_match_tensorflows_profiler():
    unet = models.build_unet((32, 32, 1), (8, 16, 32))
    assert models.flops_per_image(unet) == profiler_flops(unet)
    decoder = models.build_vae((32, 32, 1), latent_dim=4, filters=(4, 8)).decoder
    assert models.flops_per_image(decoder) == profiler_flops(decoder)
    plus_plus = models.build_unet_plus_plus((16, 16, 1), (4, 8, 8), upsampling="transpose")
    assert models.flops_per_image(plus_plus) == profiler_flops(plus_plus)


def test_flops_by_hand():
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(4, 3, padding="same"),
            keras.layers.Conv2DTranspose(2, 2, strides=2),
            keras.layers.Flatten(),
            keras.layers.Dense(5),
        ]
    )
    by_hand = 2 * (8 * 8 * 3 * 3 * 3 * 4 + 8 * 8 * 2 * 2 * 4 * 2 + 16 * 16 * 2 * 5)
    assert models.flops_per_image(model) == by_hand
    vae = models.build_vae((16, 16, 1), latent_dim=2, filters=(4,))
    assert models.flops_per_image(vae) == (
        models.flops_per_image(vae.encoder) + models.flops_per_image(vae.decoder)
    )


def test_feature_network_and_its_extractor():
    network = models.build_feature_network((32, 32, 1), num_outputs=7, num_features=12)
    assert network.output.shape[1:] == (7,)
    extractor = models.feature_extractor(network)
    assert extractor.output.shape[1:] == (12,)
    assert extractor.get_layer("conv1") is network.get_layer("conv1")  # shared weights
    with pytest.raises(ValueError, match="must have a layer named 'features'"):
        models.feature_extractor(models.build_unet((16, 16, 1), (4, 8)))
    with pytest.raises(ValueError, match="num_features must be a positive int"):
        models.build_feature_network(num_features=0)


def test_with_input_shape_predicts_a_larger_image_with_the_same_weights():
    keras.utils.set_random_seed(0)
    model = models.build_unet((16, 16, 1), (4, 8))
    wide = models.with_input_shape(model, (16, 32, 1))
    assert wide.input.shape[1:] == (16, 32, 1) and wide.count_params() == model.count_params()
    image = np.random.default_rng(0).random((1, 16, 32, 1)).astype(np.float32)
    # Far from the seam, the wide prediction of the left half is the small model's of that half.
    np.testing.assert_allclose(
        wide.predict(image, verbose=0)[:, :, :8],
        model.predict(image[:, :, :16], verbose=0)[:, :, :8],
        atol=1e-5,
    )
    with pytest.raises(ValueError, match=r"H and W multiples of 2 \(1 poolings in unet\)"):
        models.with_input_shape(model, (16, 15, 1))
    with pytest.raises(ValueError, match=r"input_shape must be \(H, W, 1\)"):
        models.with_input_shape(model, (16, 16, 3))


def test_numpy_ints_build_the_same_model_as_python_ints():
    """Shapes and filters from NumPy (e.g. a profile's arithmetic) are accepted and made plain
    ints: the model's JSON, part of its cache key, is the same either way."""
    plain = models.build_unet((16, 16, 1), (4, 8), num_classes=1)
    numpy = models.build_unet(np.array([16, 16, 1]), np.array([4, 8]), num_classes=np.int64(1))
    assert numpy.to_json() == plain.to_json()
    nested = models.build_unet_plus_plus(np.array([16, 16, 1]), np.array([4, 8]))
    assert nested.to_json() == models.build_unet_plus_plus((16, 16, 1), (4, 8)).to_json()
    judge = models.build_feature_network(np.array([16, 16, 1]), np.int64(3), np.array([4, 8]))
    assert judge.to_json() == models.build_feature_network((16, 16, 1), 3, (4, 8)).to_json()
    assert models.scaled_filters(np.array([64, 128]), 0.25) == (16, 32)
    assert models.prune_unet_plus_plus(nested, np.int64(1)).name == "unet_plus_plus_L1"
    wide = models.with_input_shape(plain, np.array([16, 32, 1]))
    assert wide.input.shape[1:] == (16, 32, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"skip_connections": 1}, "skip_connections must be True or False, got 1"),
        ({"batch_norm": "no"}, "batch_norm must be True or False, got 'no'"),
        (
            {"filters": np.array([4.0, 8.0])},
            "filters must be a non-empty sequence of positive ints",
        ),
        ({"filters": (4, True)}, "filters must be a non-empty sequence of positive ints"),
        ({"num_classes": 1.0}, "num_classes must be a positive int, got 1.0"),
        ({"dropout": float("nan")}, r"dropout must be in \[0, 1\), got nan"),
        ({"name": ""}, "name must be a non-empty string"),
    ],
)
def test_bad_options_name_the_option(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.build_unet(**{"input_shape": (16, 16, 1), "filters": (4, 8), **kwargs})

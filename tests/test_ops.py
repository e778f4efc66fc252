"""Tests of utils/ops.py: every operation equals Keras for random legal configurations
(hypothesis), and every illegal one raises a clear ValueError."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utils import ops
from utils.verify import keras_conv2d

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
TOLERANCE = {"rtol": 1e-5, "atol": 1e-4}  # float32 sums in a different order


def random_arrays(draw, x_shape, kernel_shape, num_biases: int):
    """Standard-normal float32 input, kernel and bias of these shapes, from one drawn seed."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal(x_shape).astype(np.float32)
    kernel = rng.standard_normal(kernel_shape).astype(np.float32)
    bias = rng.standard_normal(num_biases).astype(np.float32)
    return x, kernel, bias


@st.composite
def conv_cases(draw):
    """A random legal Conv2D configuration: shapes, kernel, strides or dilation, padding."""
    batch, height, width = draw(st.integers(1, 2)), draw(st.integers(1, 9)), draw(st.integers(1, 9))
    c_in, c_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel_size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    padding = draw(st.sampled_from(["valid", "same"]))
    pair = st.tuples(st.integers(1, 3), st.integers(1, 3))
    if draw(st.booleans()):  # Keras refuses strides > 1 together with dilation > 1
        strides, dilation = draw(pair), (1, 1)
    else:
        strides, dilation = (1, 1), draw(pair)
    spans = [d * (k - 1) + 1 for d, k in zip(dilation, kernel_size, strict=True)]
    if padding == "valid":
        height, width = max(height, spans[0]), max(width, spans[1])
    x_shape, kernel_shape = (batch, height, width, c_in), (*kernel_size, c_in, c_out)
    return (*random_arrays(draw, x_shape, kernel_shape, c_out), strides, padding, dilation)


@SETTINGS
@given(conv_cases())
def test_conv2d_matches_keras(case):
    expected = keras_conv2d(*case)  # both take (x, kernel, bias, strides, padding, dilation)
    got = ops.conv2d(*case)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOLERANCE)


@SETTINGS
@given(conv_cases())
def test_conv2d_backward_matches_gradient_tape(case):
    x, kernel, _, strides, padding, dilation = case
    grad_out = (
        np.random.default_rng(1)
        .standard_normal(keras_conv2d(x, kernel, None, strides, padding, dilation).shape)
        .astype(np.float32)
    )
    x_var, kernel_var = tf.Variable(x), tf.Variable(kernel)
    with tf.GradientTape() as tape:
        y = keras.ops.conv(x_var, kernel_var, strides, padding, dilation_rate=dilation)
        loss = tf.reduce_sum(y * grad_out)
    want_x, want_kernel = tape.gradient(loss, [x_var, kernel_var])
    got_x, got_kernel = ops.conv2d_backward(x, kernel, grad_out, strides, padding, dilation)
    np.testing.assert_allclose(got_x, want_x, **TOLERANCE)
    np.testing.assert_allclose(got_kernel, want_kernel, **TOLERANCE)


def test_conv2d_loops_equal_vectorised():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 5, 2)).astype(np.float32)
    kernel = rng.standard_normal((3, 2, 2, 3)).astype(np.float32)
    for kwargs in ({"padding": "same"}, {"strides": (2, 1)}, {"dilation_rate": 2}):
        np.testing.assert_allclose(
            ops.conv2d_loops(x, kernel, np.ones(3), **kwargs),
            ops.conv2d(x, kernel, np.ones(3), **kwargs),
            **TOLERANCE,
        )


def test_seed_formula_worked_by_hand():
    # 3x3 input, 2x2 kernel, valid: Y(i,j) = sum_m sum_n X(i+m, j+n) K(m,n) — no kernel flip.
    x = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
    kernel = np.array([[1, 0], [0, -1]], np.float32).reshape(2, 2, 1, 1)
    np.testing.assert_array_equal(ops.conv2d(x, kernel)[0, :, :, 0], [[-4, -4], [-4, -4]])


@st.composite
def pool_cases(draw):
    height, width = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    pool_size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    strides = draw(st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    padding = draw(st.sampled_from(["valid", "same"]))
    if padding == "valid":
        height, width = max(height, pool_size[0]), max(width, pool_size[1])
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((draw(st.integers(1, 2)), height, width, 2)).astype(np.float32)
    return x, pool_size, strides, padding


@SETTINGS
@given(pool_cases())
def test_pooling_matches_keras(case):
    x, pool_size, strides, padding = case
    for layer, ours in (
        (keras.layers.MaxPooling2D, ops.max_pool2d),
        (keras.layers.AveragePooling2D, ops.avg_pool2d),
    ):
        expected = np.asarray(layer(pool_size, strides, padding)(x))
        got = ours(x, pool_size, strides, padding)
        assert got.dtype == np.float32 and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, **TOLERANCE)


def test_same_padding_puts_the_odd_pixel_after():
    assert ops.same_padding(5, 2) == (0, 1)  # even kernel: nothing before, one after
    assert ops.same_padding(6, 3, stride=2) == (0, 1)
    assert ops.same_padding(7, 3, stride=2) == (1, 1)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "dilation"),
    [
        (n, k, s, p, d)
        for n in (1, 5, 8)
        for k in (1, 2, 3)
        for s in (1, 2)
        for p in ("valid", "same")
        for d in (1, 2)
        if not (s > 1 and d > 1) and (p == "same" or d * (k - 1) + 1 <= n)
    ],
)
def test_output_length_matches_keras(size, kernel, stride, padding, dilation):
    layer = keras.layers.Conv2D(1, kernel, stride, padding, dilation_rate=dilation)
    expected = layer.compute_output_shape((1, size, size, 1))[1]
    assert ops.conv_output_length(size, kernel, stride, padding, dilation) == expected


X = np.zeros((1, 4, 4, 2), np.float32)
K = np.zeros((3, 3, 2, 5), np.float32)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ops.conv2d(X[0], K), r"x must be a 4-D array .* got shape \(4, 4, 2\)"),
        (lambda: ops.conv2d(X, K[0]), r"kernel must be a 4-D array .* got shape \(3, 2, 5\)"),
        (lambda: ops.conv2d(X, K[:, :, :1]), r"kernel expects 1 input channels .* x has 2"),
        (
            lambda: ops.conv2d(X, K, padding="full"),
            r"padding must be 'valid' or 'same', got 'full'",
        ),
        (lambda: ops.conv2d(X, K, strides=0), r"strides must be >= 1, got 0"),
        (lambda: ops.conv2d(X, K, dilation_rate=(1, 0)), r"dilation_rate must be >= 1"),
        (lambda: ops.conv2d(X, K, strides=1.5), r"strides must be an int or a pair of ints"),
        (lambda: ops.conv2d(X, K, dilation_rate=2), r"kernel \(3, 3\) \(spanning 5 .* larger"),
        (lambda: ops.conv2d(X, np.zeros((5, 1, 2, 1))), r"larger than the input's height 4"),
        (lambda: ops.conv2d(X, K, strides=2, dilation_rate=2), r"strides > 1 together with"),
        (lambda: ops.conv2d(X, K, bias=np.zeros(4)), r"bias must have shape .* \(5,\), got \(4,\)"),
        (
            lambda: ops.conv2d_backward(X, K, np.zeros((1, 4, 4, 5))),
            r"grad_out must have .* \(1, 2, 2, 5\)",
        ),
        (lambda: ops.max_pool2d(X, 5), r"pool_size \(5, 5\) .* larger than the input"),
        (lambda: ops.avg_pool2d(X, 2, strides=(0, 1)), r"strides must be >= 1"),
        (lambda: ops.max_pool2d(X, 2, padding="causal"), r"padding must be 'valid' or 'same'"),
    ],
)
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_keras_refuses_strides_with_dilation_too():
    with pytest.raises(ValueError, match="not supported in conjunction"):
        keras.layers.Conv2D(1, 3, strides=2, dilation_rate=2)


def test_receptive_field_formula():
    assert ops.receptive_field([]) == (1, 1)
    assert ops.receptive_field([(3, 1), (3, 1)]) == (5, 1)
    source_encoder = [(3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2), (3, 1), (3, 1)]
    assert ops.receptive_field(source_encoder) == (32, 4)
    assert ops.receptive_field([(3, 1, 1), (3, 1, 2), (3, 1, 4)]) == (15, 1)
    upsampled = [*source_encoder, (1, 0.5), (3, 1), (3, 1), (1, 0.5), (3, 1), (3, 1)]
    assert ops.receptive_field(upsampled) == (44, 1)  # the source's whole UNet
    with pytest.raises(ValueError, match="kernel_size >= 1, stride > 0"):
        ops.receptive_field([(0, 1)])


def test_receptive_field_equals_gradient_support():
    # Measured: the input pixels that influence one output pixel of a linear conv/pool stack.
    layers = [(3, 1), (2, 2), (3, 1, 2), (2, 2), (3, 1)]
    model = keras.Sequential(
        [keras.Input((48, 48, 1))]
        + [
            keras.layers.Conv2D(
                1, k, padding="same", dilation_rate=(rest or [1])[0], kernel_initializer="ones"
            )
            if s == 1
            else keras.layers.AveragePooling2D(k)
            for k, s, *rest in layers
        ]
    )
    image = tf.Variable(np.ones((1, 48, 48, 1), np.float32))
    with tf.GradientTape() as tape:
        out = model(image)
        centre = out[0, out.shape[1] // 2, out.shape[2] // 2, 0]
    rows, cols = np.nonzero(tape.gradient(centre, image).numpy()[0, :, :, 0])
    size = ops.receptive_field(layers)[0]
    assert rows.max() - rows.min() + 1 == size == cols.max() - cols.min() + 1


@pytest.mark.parametrize(
    "layers, paddings, length",
    [
        # the source document's encoder: 'same' convolutions, 'valid' 2x2 pooling (notebook 01)
        ([(3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2), (3, 1), (3, 1)], None, 64),
        (
            [(3, 1), (3, 2), (5, 1, 2), (2, 2), (4, 1)],
            ["same", "same", "same", "valid", "same"],
            29,
        ),
        ([(3, 2), (2, 1), (3, 1, 3)], ["valid", "same", "valid"], 23),
    ],
)
def test_receptive_region_equals_gradient_support(layers, paddings, length):
    # Positive weights and average pooling: no cancellation, so the non-zero gradient is exactly
    # the set of input pixels that influence the output pixel, at the border as in the middle.
    if paddings is None:
        paddings = ["same" if layer[1] == 1 else "valid" for layer in layers]
    stack = [keras.Input((length, length, 1))]
    for (k, s, *rest), padding in zip(layers, paddings, strict=True):
        if len(rest) == 0 and s > 1 and k == s and padding == "valid":
            stack.append(keras.layers.AveragePooling2D(k))
        else:
            d = rest[0] if rest else 1
            stack.append(
                keras.layers.Conv2D(1, k, s, padding, dilation_rate=d, kernel_initializer="ones")
            )
    model = keras.Sequential(stack)
    image = tf.Variable(np.ones((1, length, length, 1), np.float32))
    out_length = model.output_shape[1]
    for index in sorted({0, 1, out_length // 2, out_length - 1}):
        with tf.GradientTape() as tape:
            pixel = model(image)[0, index, out_length // 2, 0]
        rows, cols = np.nonzero(tape.gradient(pixel, image).numpy()[0, :, :, 0])
        region = ops.receptive_region(layers, length, index, paddings)
        assert (rows.min(), rows.max()) == region, index
        assert (cols.min(), cols.max()) == ops.receptive_region(layers, length, None, paddings)


def test_receptive_region_of_the_source_encoder_and_bad_input():
    encoder = [(3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2), (3, 1), (3, 1)]
    paddings = ["same" if stride == 1 else "valid" for _, stride in encoder]
    assert ops.receptive_region(encoder, 64, padding=paddings) == (18, 49)  # centre pixel 8 of 16
    # away from the border its width is the formula's size
    assert 49 - 18 + 1 == ops.receptive_field(encoder)[0]
    assert ops.receptive_region(encoder, 64, 0, paddings) == (0, 17)  # cut by the border
    assert ops.receptive_region([], 5) == (2, 2)
    with pytest.raises(ValueError, match="one per layer"):
        ops.receptive_region(encoder, 64, padding=["same"])
    with pytest.raises(ValueError, match="output_index must be in"):
        ops.receptive_region(encoder, 64, 16, paddings)
    with pytest.raises(ValueError, match="integers"):
        ops.receptive_region([(1, 0.5)], 8)
    with pytest.raises(ValueError, match="input_length must be"):
        ops.receptive_region(encoder, 0)
    with pytest.raises(ValueError, match="more than its input's 4"):
        ops.receptive_region([(5, 1)], 4, padding="valid")


# --- upsampling and transposed convolution ------------------------------------------------------


@st.composite
def upsample_cases(draw):
    height, width = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    size = draw(st.integers(1, 4) | st.tuples(st.integers(1, 4), st.integers(1, 4)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.standard_normal((draw(st.integers(1, 2)), height, width, 2)).astype(np.float32), size


@SETTINGS
@given(upsample_cases(), st.sampled_from(["nearest", "bilinear"]))
def test_upsampling_matches_keras(case, interpolation):
    x, size = case
    expected = np.asarray(keras.layers.UpSampling2D(size, interpolation=interpolation)(x))
    ours = ops.upsample_nearest if interpolation == "nearest" else ops.upsample_bilinear
    got = ours(x, size)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOLERANCE)


def test_nearest_is_the_seed_formula():
    x = np.arange(6, dtype=np.float32).reshape(1, 2, 3, 1)
    up = ops.upsample_nearest(x, 3)
    rows, cols = np.indices(up.shape[1:3])
    np.testing.assert_array_equal(up[0, :, :, 0], x[0, rows // 3, cols // 3, 0])


def test_bilinear_weights_use_half_pixel_centres():
    below, above, weight = ops.bilinear_weights(3, 2)  # output 0 sits at -0.25: the edge value
    np.testing.assert_array_equal(below, [0, 0, 0, 1, 1, 2])
    np.testing.assert_array_equal(above, [0, 1, 1, 2, 2, 2])
    np.testing.assert_allclose(weight, [0.75, 0.25, 0.75, 0.25, 0.75, 0.25])


@st.composite
def transpose_cases(draw):
    batch, height, width = draw(st.integers(1, 2)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    c_in, c_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel_size = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = draw(st.sampled_from(["valid", "same"]))
    output_padding = draw(
        st.none() | st.tuples(st.integers(0, strides[0] - 1), st.integers(0, strides[1] - 1))
    )
    x_shape, kernel_shape = (batch, height, width, c_in), (*kernel_size, c_out, c_in)
    return (*random_arrays(draw, x_shape, kernel_shape, c_out), strides, padding, output_padding)


@SETTINGS
@given(transpose_cases())
def test_conv2d_transpose_matches_keras(case):
    x, kernel, bias, strides, padding, output_padding = case
    layer = keras.layers.Conv2DTranspose(
        kernel.shape[2], kernel.shape[:2], strides, padding, output_padding=output_padding
    )
    layer.build(x.shape)
    layer.set_weights([kernel, bias])
    try:
        expected = np.asarray(layer(x))
    except Exception:  # TensorFlow cannot build some output_padding shapes: we must refuse too
        with pytest.raises(ValueError, match="no transposed convolution has that shape"):
            ops.conv2d_transpose(x, kernel, bias, strides, padding, output_padding)
        return
    got = ops.conv2d_transpose(x, kernel, bias, strides, padding, output_padding)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOLERANCE)


def test_conv2d_transpose_output_padding_grid_matches_keras():
    # Every explicit output_padding on a grid of sizes: equal to Keras where Keras computes it,
    # refused with our ValueError where TensorFlow cannot. Both kinds must occur, so neither
    # branch can pass by never being reached.
    rng = np.random.default_rng(0)
    matched, refused = set(), 0
    for side in (2, 3, 5):
        x = rng.standard_normal((1, side, side + 1, 2)).astype(np.float32)
        for k in range(1, 5):
            for s in range(1, 4):
                for padding in ("valid", "same"):
                    for output_padding in range(s):
                        kernel = rng.standard_normal((k, k, 3, 2)).astype(np.float32)
                        layer = keras.layers.Conv2DTranspose(
                            3, k, s, padding, output_padding=output_padding, use_bias=False
                        )
                        layer.build(x.shape)
                        layer.set_weights([kernel])
                        try:
                            expected = np.asarray(layer(x))
                        except Exception:  # its class depends on the CPU (oneDNN)
                            with pytest.raises(ValueError, match="no transposed convolution"):
                                ops.conv2d_transpose(x, kernel, None, s, padding, output_padding)
                            refused += 1
                            continue
                        got = ops.conv2d_transpose(x, kernel, None, s, padding, output_padding)
                        assert got.shape == expected.shape
                        np.testing.assert_allclose(got, expected, **TOLERANCE)
                        matched.add((s, output_padding))
    # every (strides, output_padding) pair was computed and matched at least once
    assert matched == {(s, p) for s in range(1, 4) for p in range(s)}
    assert refused > 0


@SETTINGS
@given(conv_cases())
def test_conv2d_transpose_is_the_input_gradient_of_conv2d(case):
    x, kernel, _, strides, padding, dilation = case
    if dilation != (1, 1):
        return  # conv2d_transpose has no dilation argument
    grad_out = ops.conv2d(x, kernel, strides=strides, padding=padding)
    grad_x, _ = ops.conv2d_backward(x, kernel, grad_out, strides, padding)
    height, width = x.shape[1:3]
    compared = 0
    for output_padding in [None] + [(a, b) for a in range(strides[0]) for b in range(strides[1])]:
        try:
            up = ops.conv2d_transpose(grad_out, kernel, None, strides, padding, output_padding)
        except ValueError:
            continue
        if up.shape[1:3] == (height, width):
            np.testing.assert_allclose(up, grad_x, **TOLERANCE)
            compared += 1
    if padding == "valid" or all(k % 2 for k in kernel.shape[:2]):
        # then some output_padding recovers the input's shape (an even kernel with 'same'
        # padding can shorten a side by one, which no output_padding undoes)
        assert compared >= 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ops.upsample_nearest(X, 0), r"size must be >= 1, got 0"),
        (lambda: ops.upsample_bilinear(X, (2, -1)), r"size must be >= 1"),
        (lambda: ops.upsample_bilinear(X[0], 2), r"x must be a 4-D array"),
        (lambda: ops.conv2d_transpose(X, K), r"kernel expects 5 input channels .* x has 2"),
        (
            lambda: ops.conv2d_transpose(X, np.zeros((3, 3, 1, 2)), strides=2, output_padding=2),
            r"output_padding must be smaller than strides",
        ),
        (
            lambda: ops.conv2d_transpose(X, np.zeros((3, 3, 1, 2)), output_padding=-1),
            r"output_padding must be >= 0",
        ),
        (
            lambda: ops.conv2d_transpose(X, np.zeros((3, 3, 1, 2)), padding="full"),
            r"padding must be 'valid' or 'same'",
        ),
        (
            lambda: ops.conv2d_transpose(X, np.zeros((3, 3, 1, 2)), bias=np.zeros(2)),
            r"bias must have shape \(out_channels,\) = \(1,\)",
        ),
        (
            lambda: ops.conv2d_transpose(
                X, np.zeros((4, 4, 1, 2)), strides=2, padding="same", output_padding=0
            ),
            r"no transposed convolution has that shape",
        ),
    ],
)
def test_bad_upsampling_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "output_padding"),
    [
        (n, k, s, p, o)
        for n in (1, 4, 7)
        for k in (1, 2, 3, 4)
        for s in (1, 2, 3)
        for p in ("valid", "same")
        for o in [None, *range(s)]
    ],
)
def test_transpose_output_length_matches_keras(size, kernel, stride, padding, output_padding):
    layer = keras.layers.Conv2DTranspose(1, kernel, stride, padding, output_padding=output_padding)
    expected = layer.compute_output_shape((1, size, size, 1))[1]
    got = ops.conv_transpose_output_length(size, kernel, stride, padding, output_padding)
    assert got == expected

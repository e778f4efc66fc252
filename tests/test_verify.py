"""Tests of utils/verify.py."""

import numpy as np
import pytest
import tensorflow as tf

from utils.verify import assert_close, keras_conv2d


def test_assert_close_prints_a_verdict(capsys):
    assert_close([1.0, 2.0], np.array([1.0, 2.0 + 1e-7]), "same values")
    assert capsys.readouterr().out == "✓ same values (shape (2,))\n"


def test_assert_close_fails_on_values_and_shapes():
    with pytest.raises(AssertionError, match="different"):
        assert_close([1.0, 2.0], [1.0, 2.1], "different")
    with pytest.raises(AssertionError, match=r"shape \(2,\) differs from the reference's \(1, 2\)"):
        assert_close([1.0, 2.0], [[1.0, 2.0]], "shapes")


def test_keras_conv2d_uses_the_given_weights():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 5, 3)).astype(np.float32)
    kernel = rng.standard_normal((3, 2, 3, 4)).astype(np.float32)
    bias = rng.standard_normal(4).astype(np.float32)
    expected = tf.nn.conv2d(x, kernel, strides=2, padding="SAME") + bias
    got = keras_conv2d(x, kernel, bias, strides=2, padding="same")
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)

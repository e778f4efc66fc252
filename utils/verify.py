"""Keras references and the assertion that ends every hand-made computation in the notebooks."""

from __future__ import annotations

import numpy as np

__all__ = [
    "assert_close",
    "keras_conv2d",
]


def assert_close(ours, reference, what: str, rtol: float = 1e-5, atol: float = 1e-5) -> None:
    """Assert `ours` equals `reference` to float32 round-off, then print a one-line verdict."""
    ours, reference = np.asarray(ours), np.asarray(reference)
    if ours.shape != reference.shape:
        raise AssertionError(
            f"{what}: shape {ours.shape} differs from the reference's {reference.shape}"
        )
    np.testing.assert_allclose(ours, reference, rtol=rtol, atol=atol, err_msg=what)
    print(f"✓ {what} (shape {ours.shape})")


def keras_conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1) -> np.ndarray:
    """Run `keras.layers.Conv2D` with the given weights copied in: the reference for conv2d."""
    import keras

    x = np.asarray(x, dtype=np.float32)
    kernel = np.asarray(kernel, dtype=np.float32)
    layer = keras.layers.Conv2D(
        kernel.shape[3],
        kernel.shape[:2],
        strides=strides,
        padding=padding,
        dilation_rate=dilation_rate,
        use_bias=bias is not None,
    )
    layer.build(x.shape)
    layer.set_weights([kernel] if bias is None else [kernel, np.asarray(bias, np.float32)])
    return np.asarray(layer(x))

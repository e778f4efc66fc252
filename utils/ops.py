"""Convolution, pooling and their gradients in plain NumPy, matching Keras exactly.

Layout NHWC (batch, height, width, channels), float32 in and out, no TensorFlow import.
Kernels as Keras stores them: `(kh, kw, c_in, c_out)` for `conv2d`. Every function checks its
arguments and raises `ValueError` naming the argument and the shapes, before any arithmetic.
The loops below run over kernel taps (at most kh·kw of them), never over pixels: each tap is one
matrix product over the whole batch, which is how the speed stays close to Keras.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "PADDINGS",
    "avg_pool2d",
    "bilinear_weights",
    "conv2d",
    "conv2d_backward",
    "conv2d_loops",
    "conv2d_transpose",
    "conv_output_length",
    "conv_transpose_output_length",
    "max_pool2d",
    "receptive_field",
    "receptive_region",
    "same_padding",
    "upsample_bilinear",
    "upsample_nearest",
]

PADDINGS = ("valid", "same")


# --- argument checking --------------------------------------------------------------------------


def _pair(value, name: str, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints >= minimum, as a pair (Keras accepts both)."""
    pair = (value, value) if np.isscalar(value) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _padding(padding) -> str:
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in PADDINGS:
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    return mode


def _array4(x, name: str, layout: str) -> np.ndarray:
    array = np.asarray(x, dtype=np.float32)
    if array.ndim != 4:
        raise ValueError(f"{name} must be a 4-D array {layout}, got shape {array.shape}")
    return array


def _image(x) -> np.ndarray:
    return _array4(x, "x", "(batch, height, width, channels)")


# --- sizes ----------------------------------------------------------------------------------------


def conv_output_length(
    input_length: int, kernel_size: int, stride: int = 1, padding: str = "valid", dilation: int = 1
) -> int:
    """Output length on one axis: ceil(n / s) for 'same', floor((n - k_eff) / s) + 1 for 'valid'."""
    effective = dilation * (kernel_size - 1) + 1  # a dilated kernel spans this many inputs
    if _padding(padding) == "same":
        return math.ceil(input_length / stride)
    return (input_length - effective) // stride + 1


def same_padding(input_length: int, kernel_size: int, stride: int = 1, dilation: int = 1):
    """TensorFlow's 'same' padding along one axis as (before, after): the odd one goes after."""
    effective = dilation * (kernel_size - 1) + 1
    output_length = math.ceil(input_length / stride)
    total = max((output_length - 1) * stride + effective - input_length, 0)
    return total // 2, total - total // 2


def _plan(shape, kernel_size, strides, padding, dilation, what: str):
    """Padding per axis and output size for a sliding window; checks the window fits."""
    height, width = shape
    pads, outputs = [], []
    for axis, n, k, s, d in zip(
        ("height", "width"), (height, width), kernel_size, strides, dilation, strict=True
    ):
        effective = d * (k - 1) + 1
        if padding == "valid" and effective > n:
            raise ValueError(
                f"{what} {tuple(kernel_size)} (spanning {effective} with dilation_rate {d}) is "
                f"larger than the input's {axis} {n} under padding='valid'; input is "
                f"{height}x{width}. Use padding='same' or a smaller {what}."
            )
        pads.append(same_padding(n, k, s, d) if padding == "same" else (0, 0))
        outputs.append(conv_output_length(n, k, s, padding, d))
    return pads, tuple(outputs)


def _tap(array, m: int, n: int, out_hw, strides, dilation) -> np.ndarray:
    """The inputs that kernel tap (m, n) meets, for every output pixel: shape (N, OH, OW, C)."""
    top, left = m * dilation[0], n * dilation[1]
    return array[
        :,
        top : top + (out_hw[0] - 1) * strides[0] + 1 : strides[0],
        left : left + (out_hw[1] - 1) * strides[1] + 1 : strides[1],
        :,
    ]


def _image_and_kernel(x, kernel, shape: str, channel_axis: int, where: str = "", layout: str = ""):
    """`x` as an (N, H, W, C) image and `kernel` as a 4-D array of `shape`, checked to agree on the
    input channels (the kernel's axis `channel_axis`); `where` and `layout` refine the message."""
    x = _image(x)
    kernel = _array4(kernel, "kernel", shape)
    if kernel.shape[channel_axis] != x.shape[3]:
        raise ValueError(
            f"kernel expects {kernel.shape[channel_axis]} input channels{where} (kernel shape "
            f"{kernel.shape}{layout}) but x has {x.shape[3]} (x shape {x.shape})"
        )
    return x, kernel


def _conv_setup(x, kernel, strides, padding, dilation_rate):
    x, kernel = _image_and_kernel(
        x, kernel, "(kernel_height, kernel_width, in_channels, out_channels)", 2
    )
    strides, dilation = _pair(strides, "strides"), _pair(dilation_rate, "dilation_rate")
    if max(strides) > 1 and max(dilation) > 1:
        raise ValueError(
            f"strides > 1 together with dilation_rate > 1 is not supported (Keras refuses it "
            f"too), got strides={strides} and dilation_rate={dilation}"
        )
    padding = _padding(padding)
    pads, out_hw = _plan(x.shape[1:3], kernel.shape[:2], strides, padding, dilation, "kernel")
    return x, kernel, strides, dilation, pads, out_hw


def receptive_field(layers) -> tuple[float, float]:
    """Receptive field and jump of a stack of (kernel_size, stride[, dilation]) layers, one axis.

    r_l = r_{l-1} + d_l·(k_l - 1)·j_{l-1} and j_l = j_{l-1}·s_l, from r_0 = j_0 = 1: each layer
    widens the view by its extra taps, spaced by the distance between neighbouring inputs.
    An upsampling by r is the layer (1, 1/r): it widens nothing and divides the jump.
    """
    size, jump = 1, 1
    for layer in layers:
        kernel_size, stride, dilation = (*tuple(layer), 1)[:3]
        if min(kernel_size, dilation) < 1 or stride <= 0:
            raise ValueError(
                f"layers must hold (kernel_size >= 1, stride > 0[, dilation >= 1]), got {layer}"
            )
        size += dilation * (kernel_size - 1) * jump
        jump *= stride
    return size, jump


def receptive_region(layers, input_length: int, output_index=None, padding="same"):
    """Where the receptive field lies: the first and last input pixel (inclusive, one axis) that
    output pixel `output_index` of a stack of (kernel_size, stride[, dilation]) layers sees.

    `padding` is 'same' or 'valid' for every layer, or a list with one per layer; the default
    `output_index` is the centre, `output_length // 2`. Going back one layer, positions a..b of
    its output read inputs s·a - p .. s·b - p + d·(k - 1), where p is the zeros padded before;
    padded positions are not pixels, so the range is cut to the input at every layer. Away from
    the borders last - first + 1 equals `receptive_field(layers)[0]`.
    """
    layers = [(*tuple(layer), 1)[:3] for layer in layers]
    paddings = [padding] * len(layers) if isinstance(padding, str) else list(padding)
    if len(paddings) != len(layers):
        raise ValueError(
            f"padding must be one string or one per layer ({len(layers)}), got {padding!r}"
        )
    if not isinstance(input_length, (int, np.integer)) or input_length < 1:
        raise ValueError(f"input_length must be an int >= 1, got {input_length!r}")
    lengths = [int(input_length)]  # each layer's input length, then the output's
    for (kernel_size, stride, dilation), mode in zip(layers, paddings, strict=True):
        if min(kernel_size, stride, dilation) < 1 or not all(
            isinstance(v, (int, np.integer)) for v in (kernel_size, stride, dilation)
        ):
            raise ValueError(
                "layers must hold integers (kernel_size >= 1, stride >= 1[, dilation >= 1]), "
                f"got {(kernel_size, stride, dilation)}"
            )
        span = dilation * (kernel_size - 1) + 1
        if _padding(mode) == "valid" and span > lengths[-1]:
            raise ValueError(
                f"layer {len(lengths) - 1} spans {span} pixels, more than its input's "
                f"{lengths[-1]} under padding='valid'"
            )
        lengths.append(conv_output_length(lengths[-1], kernel_size, stride, mode, dilation))
    index = lengths[-1] // 2 if output_index is None else output_index
    if not 0 <= index < lengths[-1]:
        raise ValueError(f"output_index must be in [0, {lengths[-1]}), got {output_index}")
    first = last = index
    for (kernel_size, stride, dilation), mode, n in zip(
        reversed(layers), reversed(paddings), reversed(lengths[:-1]), strict=True
    ):
        before = (
            same_padding(n, kernel_size, stride, dilation)[0] if _padding(mode) == "same" else 0
        )
        first = max(stride * first - before, 0)
        last = min(stride * last - before + dilation * (kernel_size - 1), n - 1)
    return first, last


# --- convolution ----------------------------------------------------------------------------------


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1) -> np.ndarray:
    """What `keras.layers.Conv2D` computes: Y(i,j) = Σ_m Σ_n X(s·i + d·m, s·j + d·n)·K(m,n) + b."""
    x, kernel, strides, dilation, pads, out_hw = _conv_setup(
        x, kernel, strides, padding, dilation_rate
    )
    c_out = kernel.shape[3]
    if bias is not None:
        bias = np.asarray(bias, dtype=np.float32)
        if bias.shape != (c_out,):
            raise ValueError(f"bias must have shape (out_channels,) = ({c_out},), got {bias.shape}")
    padded = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    out = np.zeros((x.shape[0], *out_hw, c_out), dtype=np.float32)
    for m in range(kernel.shape[0]):
        for n in range(kernel.shape[1]):
            # one matrix product per tap: (N, OH, OW, C_in) @ (C_in, C_out)
            out += _tap(padded, m, n, out_hw, strides, dilation) @ kernel[m, n]
    if bias is not None:
        out += bias
    return out


def conv2d_backward(
    x, kernel, grad_out, strides=1, padding="valid", dilation_rate=1
) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of Σ(grad_out · conv2d(x, kernel)) w.r.t. x and kernel, as tf.GradientTape gives.

    Every output pixel used x at tap positions with weight K(m,n): the input gradient sends
    grad_out back along the same paths (a transposed convolution), the kernel gradient sums
    input times grad_out over all pixels.
    """
    x, kernel, strides, dilation, pads, out_hw = _conv_setup(
        x, kernel, strides, padding, dilation_rate
    )
    grad_out = _array4(grad_out, "grad_out", "(batch, out_height, out_width, out_channels)")
    expected = (x.shape[0], *out_hw, kernel.shape[3])
    if grad_out.shape != expected:
        raise ValueError(
            f"grad_out must have the convolution's output shape {expected}, got {grad_out.shape}"
        )
    padded = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    grad_kernel = np.zeros_like(kernel)
    flat_grad = grad_out.reshape(-1, kernel.shape[3])
    for m in range(kernel.shape[0]):
        for n in range(kernel.shape[1]):
            window = _tap(padded, m, n, out_hw, strides, dilation)
            grad_kernel[m, n] = window.reshape(-1, kernel.shape[2]).T @ flat_grad
    grad_x = _scatter(grad_out, kernel, x.shape[1:3], pads, out_hw, strides, dilation)
    return grad_x, grad_kernel


def _scatter(values, kernel, in_hw, pads, out_hw, strides, dilation) -> np.ndarray:
    """Send each value back along the paths a convolution read it from, weighted by the kernel.

    This is the adjoint of `conv2d`: the input gradient, and the transposed convolution.
    """
    height, width = in_hw
    shape = (values.shape[0], height + sum(pads[0]), width + sum(pads[1]), kernel.shape[2])
    padded = np.zeros(shape, dtype=np.float32)
    for m in range(kernel.shape[0]):
        for n in range(kernel.shape[1]):
            # one matrix product per tap: (N, OH, OW, C_out) @ (C_out, C_in), added in place
            _tap(padded, m, n, out_hw, strides, dilation)[...] += values @ kernel[m, n].T
    top, left = pads[0][0], pads[1][0]
    return np.ascontiguousarray(padded[:, top : top + height, left : left + width])


def conv2d_loops(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1) -> np.ndarray:
    """The source document's formula as literal loops over every output pixel: slow, for reading."""
    x, kernel, strides, dilation, pads, out_hw = _conv_setup(
        x, kernel, strides, padding, dilation_rate
    )
    padded = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    kh, kw, c_in, c_out = kernel.shape
    out = np.zeros((x.shape[0], *out_hw, c_out), dtype=np.float32)
    for b in range(x.shape[0]):
        for i in range(out_hw[0]):
            for j in range(out_hw[1]):
                for o in range(c_out):
                    total = 0.0
                    for m in range(kh):
                        for n in range(kw):
                            for c in range(c_in):
                                row = i * strides[0] + m * dilation[0]
                                col = j * strides[1] + n * dilation[1]
                                total += padded[b, row, col, c] * kernel[m, n, c, o]
                    out[b, i, j, o] = total
    if bias is not None:
        out += np.asarray(bias, dtype=np.float32)
    return out


# --- pooling --------------------------------------------------------------------------------------


def _pool(x, pool_size, strides, padding, reduce):
    x = _image(x)
    pool_size = _pair(pool_size, "pool_size")
    strides = pool_size if strides is None else _pair(strides, "strides")
    padding = _padding(padding)
    pads, out_hw = _plan(x.shape[1:3], pool_size, strides, padding, (1, 1), "pool_size")
    return reduce(x, pool_size, strides, pads, out_hw)


def _max(x, pool_size, strides, pads, out_hw):
    padded = np.pad(x, ((0, 0), *pads, (0, 0)), constant_values=-np.inf)  # never the maximum
    taps = (
        _tap(padded, m, n, out_hw, strides, (1, 1))
        for m in range(pool_size[0])
        for n in range(pool_size[1])
    )
    return np.maximum.reduce(list(taps)).astype(np.float32)


def _mean(x, pool_size, strides, pads, out_hw):
    padded = np.pad(x, ((0, 0), *pads, (0, 0)))
    inside = np.pad(np.ones((1, *x.shape[1:3], 1), np.float32), ((0, 0), *pads, (0, 0)))
    total = np.zeros((x.shape[0], *out_hw, x.shape[3]), np.float32)
    count = np.zeros((1, *out_hw, 1), np.float32)
    for m in range(pool_size[0]):
        for n in range(pool_size[1]):
            total += _tap(padded, m, n, out_hw, strides, (1, 1))
            count += _tap(inside, m, n, out_hw, strides, (1, 1))
    return total / count  # 'same' averages the in-bounds cells only, as TensorFlow does


def max_pool2d(x, pool_size=2, strides=None, padding="valid") -> np.ndarray:
    """What `keras.layers.MaxPooling2D` computes: the maximum of each window."""
    return _pool(x, pool_size, strides, padding, _max)


def avg_pool2d(x, pool_size=2, strides=None, padding="valid") -> np.ndarray:
    """What `keras.layers.AveragePooling2D` computes: the mean of each window's in-bounds cells."""
    return _pool(x, pool_size, strides, padding, _mean)


# --- upsampling -----------------------------------------------------------------------------------


def upsample_nearest(x, size=2) -> np.ndarray:
    """What `UpSampling2D(size, interpolation="nearest")` computes: Y_up(i,j) = Y(⌊i/r⌋, ⌊j/r⌋)."""
    x = _image(x)
    rows, cols = _pair(size, "size")
    return np.repeat(np.repeat(x, rows, axis=1), cols, axis=2)


def bilinear_weights(input_length: int, factor: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each output position: the two input indices it mixes and the weight of the second.

    Half-pixel centres (TensorFlow's convention): output pixel i sits at (i + 0.5) / r - 0.5 in
    input coordinates; positions beyond the first or last input centre take the edge value.
    """
    source = (np.arange(input_length * factor) + 0.5) / factor - 0.5
    lower = np.floor(source)
    weight = (source - lower).astype(np.float32)
    below = np.clip(lower, 0, input_length - 1).astype(int)
    above = np.clip(lower + 1, 0, input_length - 1).astype(int)
    return below, above, weight


def upsample_bilinear(x, size=2) -> np.ndarray:
    """What `UpSampling2D(size, interpolation="bilinear")` computes (half-pixel centres)."""
    x = _image(x)
    rows, cols = _pair(size, "size")
    below, above, weight = bilinear_weights(x.shape[1], rows)
    w = weight[None, :, None, None]
    x = x[:, below] + (x[:, above] - x[:, below]) * w  # along the height, then the width
    below, above, weight = bilinear_weights(x.shape[2], cols)
    w = weight[None, None, :, None]
    return (x[:, :, below] + (x[:, :, above] - x[:, :, below]) * w).astype(np.float32)


def conv_transpose_output_length(
    input_length: int,
    kernel_size: int,
    stride: int = 1,
    padding: str = "valid",
    output_padding=None,
) -> int:
    """Output length of a transposed convolution along one axis, as Keras computes it."""
    if output_padding is None:
        if _padding(padding) == "same":
            return input_length * stride
        return input_length * stride + max(kernel_size - stride, 0)
    crop = 2 * (kernel_size // 2) if _padding(padding) == "same" else 0
    return (input_length - 1) * stride + kernel_size - crop + output_padding


def conv2d_transpose(
    x, kernel, bias=None, strides=1, padding="valid", output_padding=None
) -> np.ndarray:
    """What `keras.layers.Conv2DTranspose` computes; kernel (kh, kw, out_channels, in_channels).

    Every input pixel adds a copy of the kernel, scaled by its value, to the output at
    stride-spaced positions (scatter-add); 'same' then crops the border as TensorFlow does.
    """
    x, kernel = _image_and_kernel(
        x,
        kernel,
        "(kernel_height, kernel_width, out_channels, in_channels)",
        3,
        where=" in its last axis",
        layout=" is (kh, kw, out, in)",
    )
    strides, padding = _pair(strides, "strides"), _padding(padding)
    extra = (None, None)
    if output_padding is not None:
        extra = _pair(output_padding, "output_padding", minimum=0)
        if extra[0] >= strides[0] or extra[1] >= strides[1]:
            raise ValueError(
                f"output_padding must be smaller than strides, got output_padding={output_padding}"
                f" and strides={strides}"
            )
    lengths = tuple(
        conv_transpose_output_length(n, k, s, padding, o)
        for n, k, s, o in zip(x.shape[1:3], kernel.shape[:2], strides, extra, strict=True)
    )
    pads, forward = _plan(lengths, kernel.shape[:2], strides, padding, (1, 1), "kernel")
    if forward != x.shape[1:3]:
        raise ValueError(
            f"output_padding={output_padding} with kernel {kernel.shape[:2]}, strides {strides} "
            f"and padding='{padding}' gives an output of {lengths}, whose convolution would be "
            f"{forward}, not the input's {x.shape[1:3]}: no transposed convolution has that shape "
            f"(Keras fails inside TensorFlow). Use another output_padding or None."
        )
    out = _scatter(x, kernel, lengths, pads, x.shape[1:3], strides, (1, 1))
    if bias is not None:
        bias = np.asarray(bias, dtype=np.float32)
        if bias.shape != (kernel.shape[2],):
            raise ValueError(
                f"bias must have shape (out_channels,) = ({kernel.shape[2]},), got {bias.shape}"
            )
        out += bias
    return out

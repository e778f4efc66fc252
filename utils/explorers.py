"""Interactive explorers (01, 02, 06): move a control, see the geometry or the decoded image change.

Each explorer has three layers, so that each can be tested on its own:
- a *state*, a pure function of the settings: `conv_state`, `upsampling_state`, `latent_state`;
- a *picture*, the state drawn with matplotlib: `draw_conv`, `draw_upsampling`, `draw_latent`;
- an *explorer*, controls that recompute and redraw it (ipywidgets 7 or 8): `conv_explorer`,
  `upsampling_explorer`, `latent_explorer`. Its output also carries the picture as a PNG, so a
  viewer without widgets (nbconvert, GitHub) still shows the current state.
The course's website cannot run Python: it shows the same pictures, drawn for a grid of settings
when the site is built (`tools/explorers.py`).
"""

from __future__ import annotations

import base64
import io
import itertools

import numpy as np

from utils import ops
from utils.checks import check_choice, check_int, check_number

__all__ = [
    "LABELS",
    "UPSAMPLING_METHODS",
    "Explorer",
    "conv_explorer",
    "conv_state",
    "demo_image",
    "draw_conv",
    "draw_latent",
    "draw_upsampling",
    "figure_png",
    "latent_explorer",
    "latent_state",
    "upsampling_explorer",
    "upsampling_state",
]

UPSAMPLING_METHODS = ("nearest", "bilinear", "transposed")
#: Each explorer's controls, as the learner reads them (the notebook's widgets and the website's).
LABELS = {
    "conv": {
        "input_size": "input size",
        "kernel_size": "kernel size",
        "strides": "stride",
        "padding": "padding",
        "dilation_rate": "dilation",
    },
    "upsampling": {
        "method": "method",
        "kernel_size": "kernel size (transposed)",
        "strides": "stride (factor)",
    },
    "latent": {"z1": "z1", "z2": "z2"},
}
# The colours of the course's geometry figures (`diagrams.draw_conv_geometry`).
TAP, LAST_TAP, PADDING = "#f28e2b", "#4e79a7", "0.85"


# --- states: pure functions of the settings ------------------------------------------------------


def demo_image(size: int, kind: str = "digits") -> np.ndarray:
    """The explorers' input: "digits" (integers 0-9, seed 0, so sums can be checked by eye) or
    "ramp" (a diagonal ramp from 0.25 to 1, smooth enough to show any pattern upsampling adds)."""
    size = check_int(size, "size", minimum=1, maximum=32)
    if check_choice(kind, "kind", ("digits", "ramp")) == "digits":
        return np.random.default_rng(0).integers(0, 10, (size, size))
    rows, cols = np.indices((size, size))
    return 0.25 + 0.75 * (rows + cols) / max(2 * (size - 1), 1)


def conv_state(input_size=6, kernel_size=3, strides=1, padding="same", dilation_rate=1) -> dict:
    """One square convolution with a kernel of ones on `demo_image`: the padded input, where every
    output pixel's window starts, the taps of the first and last windows, and the output (each
    pixel the sum of its window). Settings no convolution accepts give `error`, not an output."""
    n = check_int(input_size, "input_size", minimum=1, maximum=32)
    k = check_int(kernel_size, "kernel_size", minimum=1, maximum=15)
    s = check_int(strides, "strides", minimum=1, maximum=15)
    d = check_int(dilation_rate, "dilation_rate", minimum=1, maximum=15)
    padding = check_choice(padding, "padding", ("valid", "same"))
    image = demo_image(n)
    state = dict(input_size=n, kernel_size=k, strides=s, padding=padding, dilation_rate=d)
    pads = ops.same_padding(n, k, s, d) if padding == "same" else (0, 0)
    state.update(input=image, pads=pads, padded=np.pad(image, [pads, pads]))
    try:  # the course's convolution decides what is legal, and says why not
        output = ops.conv2d(image[None, :, :, None], np.ones((k, k, 1, 1)), None, s, padding, d)
    except ValueError as error:
        return {**state, "error": str(error), "output": None, "windows": [], "taps": []}
    output = np.rint(output[0, :, :, 0]).astype(int)
    out = output.shape[0]
    windows = [(i * s, j * s) for i in range(out) for j in range(out)]

    def taps(top, left):
        return [(top + m * d, left + c * d) for m in range(k) for c in range(k)]

    return {
        **state,
        "error": None,
        "output": output,
        "output_size": out,
        "windows": windows,
        "taps": taps(*windows[0]),
        "last_taps": taps(*windows[-1]),
    }


def upsampling_state(method="transposed", kernel_size=3, strides=2, input_size=4) -> dict:
    """One upsampling of a `demo_image` ramp by `strides`: nearest, bilinear, or a transposed
    convolution with a kernel of ones (scaled so that copies add up to 1 on average where they
    tile evenly). `counts[i, j]`: how many input pixels reach output pixel (i, j)."""
    method = check_choice(method, "method", UPSAMPLING_METHODS)
    k = check_int(kernel_size, "kernel_size", minimum=1, maximum=15)
    s = check_int(strides, "strides", minimum=1, maximum=8)
    n = check_int(input_size, "input_size", minimum=1, maximum=16)
    weight = (s / k) ** 2 if k >= s else 1.0
    kernel = np.full((k, k, 1, 1), weight, np.float32)

    def upsample(x):
        if method == "nearest":
            return ops.upsample_nearest(x, s)
        if method == "bilinear":
            return ops.upsample_bilinear(x, s)
        return ops.conv2d_transpose(x, kernel, strides=s)

    image = demo_image(n, "ramp").astype(np.float32)
    output = upsample(image[None, :, :, None])[0, :, :, 0]
    counts = np.zeros(output.shape, int)
    for i, j in itertools.product(range(n), repeat=2):  # each input pixel alone: where it lands
        alone = np.zeros((1, n, n, 1), np.float32)
        alone[0, i, j, 0] = 1
        counts += upsample(alone)[0, :, :, 0] != 0
    return dict(
        method=method,
        kernel_size=k,
        strides=s,
        input=image,
        output=output,
        counts=counts,
        weight=weight,
    )


def latent_state(decoder, codes, z1=0.0, z2=0.0) -> dict:
    """The crop `decoder` draws at the 2-D code (z1, z2), and which of `codes` (the test crops'
    codes, shape (N, 2)) lies nearest, at what distance."""
    z = np.array([[check_number(z1, "z1", -10, 10), check_number(z2, "z2", -10, 10)]], np.float32)
    codes = np.asarray(codes, np.float32)
    if codes.ndim != 2 or codes.shape[1] != 2 or not len(codes):
        raise ValueError(f"codes must be an (N, 2) array of 2-D codes, got shape {codes.shape}")
    image = np.asarray(decoder(z))[0, :, :, 0]
    distances = np.linalg.norm(codes - z, axis=1)
    nearest = int(np.argmin(distances))
    return dict(code=z[0], image=image, nearest=nearest, distance=float(distances[nearest]))


# --- pictures ------------------------------------------------------------------------------------


def _figure(width: float, height: float, columns: int, **kwargs):
    """A matplotlib Figure outside pyplot: nothing is shown unless it is asked for."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.subplots(1, columns, **kwargs)


def _grid(ax, values, faces, span, size=8, fmt="{}"):
    """Draw `values` as a grid of numbered cells coloured `faces`, in a `span`-cell square frame
    (every panel of a picture gets the same span, so cells are the same size)."""
    import matplotlib.patches as patches

    rows, cols = values.shape
    for r, c in itertools.product(range(rows), range(cols)):
        ax.add_patch(patches.Rectangle((c, r), 1, 1, fc=faces[r][c], ec="0.4", lw=0.6))
        ax.text(c + 0.5, r + 0.5, fmt.format(values[r, c]), ha="center", va="center", size=size)
    ax.set_xlim(-0.2, span + 0.2)
    ax.set_ylim(span + 0.2, -0.2)
    ax.set_aspect("equal")
    ax.axis("off")


def draw_conv(state: dict):
    """The padded input (white: the image, grey: zeros; orange: the first window's taps, blue
    frames: the last window's; dots: where each window starts) beside the output."""
    import matplotlib.patches as patches

    padded, out = state["padded"], state.get("output_size", 0)
    span = max(padded.shape[0], out, 1)
    size = 9 if span <= 8 else 7 if span <= 12 else 5
    figure, (left, right) = _figure(8, 4.3, 2)
    (top, _), n = state["pads"], state["input_size"]
    inside = lambda r, c: top <= r < top + n and top <= c < top + n  # noqa: E731
    taps = set(state["taps"])
    faces = [
        [TAP if (r, c) in taps else ("white" if inside(r, c) else PADDING) for c in range(len(row))]
        for r, row in enumerate(padded)
    ]
    _grid(left, padded, faces, span, size)
    for r, c in state.get("last_taps", []):
        frame = patches.Rectangle((c + 0.08, r + 0.08), 0.84, 0.84, fill=False, ec=LAST_TAP, lw=1.8)
        left.add_patch(frame)
    for r, c in state["windows"]:
        left.plot(c + 0.18, r + 0.18, "o", ms=3, color="k")
    k, s, d = state["kernel_size"], state["strides"], state["dilation_rate"]
    left.set_title(
        f"input {n}x{n}, padding '{state['padding']}' ({top} before, {state['pads'][1]} after)\n"
        f"kernel {k}x{k}, stride {s}, dilation {d}: orange = window of output (0, 0),\n"
        "blue = the last window, dots = where each window starts",
        fontsize=8,
    )
    if state["error"]:
        right.axis("off")
        right.text(
            0.5,
            0.5,
            "no output:\n" + _wrap(state["error"]),
            ha="center",
            va="center",
            fontsize=8,
            transform=right.transAxes,
            wrap=True,
        )
    else:
        faces = [["white"] * out for _ in range(out)]
        faces[0][0] = TAP
        faces[-1][-1] = "#a0cbe8" if out > 1 else TAP
        _grid(right, state["output"], faces, span, size)
        right.set_title(f"output {out}x{out}: each pixel = the sum of its window", fontsize=8)
    return figure


def _wrap(text: str, width: int = 48) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def draw_upsampling(state: dict, scale=(0.0, 2.0)):
    """The input, the upsampled output (both on one intensity scale, `scale`) and the counts:
    how many input pixels reach each output pixel."""
    figure, axes = _figure(10, 3.8, 3)
    method, k, s = state["method"], state["kernel_size"], state["strides"]
    low, high = scale
    name = f"transposed, kernel {k}, stride {s}" if method == "transposed" else f"{method} x{s}"
    for ax, image, title in (
        (axes[0], state["input"], f"input {len(state['input'])}x{len(state['input'])}"),
        (axes[1], state["output"], f"{name}: output {len(state['output'])}x{len(state['output'])}"),
    ):
        ax.imshow(image, cmap="gray", vmin=low, vmax=high)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    counts = state["counts"]
    axes[2].imshow(counts, cmap="viridis", vmin=0, vmax=max(counts.max(), 1))
    if len(counts) <= 16:
        for (r, c), value in np.ndenumerate(counts):
            shade = "k" if value > 0.6 * counts.max() else "w"  # readable on light and dark
            axes[2].text(c, r, str(value), ha="center", va="center", fontsize=6, color=shade)
    levels = sorted(set(counts[s : -s or None, s : -s or None].ravel().tolist())) or [0]
    axes[2].set_title(f"input pixels reaching each output pixel\n(inside: {levels})", fontsize=9)
    axes[2].set_xticks([])
    axes[2].set_yticks([])
    return figure


def draw_latent(state: dict, codes, crops):
    """The 2-D latent plane (the test crops' codes, the prior's 1-, 2- and 3-sigma circles, the
    chosen code) beside the crop decoded there and the test crop whose code is nearest."""
    figure, axes = _figure(9.5, 3.4, 3, width_ratios=[1.3, 1, 1])
    codes = np.asarray(codes)
    axes[0].scatter(codes[:, 0], codes[:, 1], s=4, alpha=0.4, color="0.5")
    circle = np.linspace(0, 2 * np.pi, 100)
    for radius in (1, 2, 3):
        axes[0].plot(radius * np.cos(circle), radius * np.sin(circle), "k:", lw=0.7)
    z1, z2 = state["code"]
    axes[0].plot(z1, z2, "o", ms=9, mfc="none", mec=TAP, mew=2.5)
    near = codes[state["nearest"]]
    axes[0].plot(near[0], near[1], "s", ms=6, mfc="none", mec=LAST_TAP, mew=1.5)
    axes[0].set(xlim=(-3.6, 3.6), ylim=(-3.6, 3.6), aspect="equal", xlabel="$z_1$", ylabel="$z_2$")
    axes[0].set_title("codes of test crops (grey), chosen code (orange)", fontsize=8)
    for ax, image, title in (
        (axes[1], state["image"], f"decoded at ({z1:.1f}, {z2:.1f})"),
        (
            axes[2],
            crops[state["nearest"]][..., 0],
            f"nearest test crop (blue), {state['distance']:.2f} away",
        ),
    ):
        ax.imshow(image, cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    return figure


def figure_png(figure, dpi: int = 80) -> bytes:
    """`figure` as PNG bytes (the figure is not shown)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


# --- explorers: controls that redraw ------------------------------------------------------------


def _widgets():
    import ipywidgets

    return ipywidgets


class Explorer:
    """Controls above a picture: every change of a control redraws the picture with `picture`,
    a function of the controls' values that returns a matplotlib figure."""

    def __init__(self, picture, controls: dict):
        widgets = _widgets()
        self.draw, self.controls = picture, controls
        self.image = widgets.Image(format="png")
        for control in controls.values():
            control.observe(self.redraw, names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox(list(controls.values())[:3]),
                widgets.HBox(list(controls.values())[3:]),
                self.image,
            ]
        )
        self.redraw()

    @property
    def settings(self) -> dict:
        """The controls' current values, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def redraw(self, change=None) -> None:
        """Recompute the picture from the controls (each control calls this when it changes)."""
        self.png = figure_png(self.draw(**self.settings))
        self.image.value = self.png

    def _ipython_display_(self):
        # One output with both: the live widget where widgets run, the picture where they do not.
        from IPython.display import display

        bundle = {
            "application/vnd.jupyter.widget-view+json": {
                "version_major": 2,
                "version_minor": 0,
                "model_id": self.widget.model_id,
            },
            "image/png": base64.b64encode(self.png).decode("ascii"),
            "text/plain": f"Explorer({', '.join(f'{k}={v!r}' for k, v in self.settings.items())})",
        }
        display(bundle, raw=True)


def _slider(name, value, low, high, step=1):
    widgets = _widgets()
    kind = widgets.IntSlider if isinstance(step, int) else widgets.FloatSlider
    return kind(
        value=value,
        min=low,
        max=high,
        step=step,
        description=name,
        continuous_update=False,
        style={"description_width": "initial"},
    )


def _choice(name, value, options):
    widgets = _widgets()
    return widgets.Dropdown(
        value=value, options=list(options), description=name, style={"description_width": "initial"}
    )


def conv_explorer(input_size=6, kernel_size=3, strides=1, padding="same", dilation_rate=1):
    """01's explorer: input size, kernel size, stride, padding and dilation -> `draw_conv`."""
    state = conv_state(input_size, kernel_size, strides, padding, dilation_rate)  # checks them
    controls = {
        "input_size": _slider(LABELS["conv"]["input_size"], state["input_size"], 3, 10),
        "kernel_size": _slider(LABELS["conv"]["kernel_size"], state["kernel_size"], 1, 5),
        "strides": _slider(LABELS["conv"]["strides"], state["strides"], 1, 3),
        "padding": _choice(LABELS["conv"]["padding"], state["padding"], ("valid", "same")),
        "dilation_rate": _slider(LABELS["conv"]["dilation_rate"], state["dilation_rate"], 1, 3),
    }
    return Explorer(lambda **settings: draw_conv(conv_state(**settings)), controls)


def upsampling_explorer(method="transposed", kernel_size=3, strides=2):
    """02's explorer: nearest, bilinear or transposed (kernel, stride) -> `draw_upsampling`."""
    state = upsampling_state(method, kernel_size, strides)
    controls = {
        "method": _choice(LABELS["upsampling"]["method"], state["method"], UPSAMPLING_METHODS),
        "kernel_size": _slider(LABELS["upsampling"]["kernel_size"], state["kernel_size"], 1, 5),
        "strides": _slider(LABELS["upsampling"]["strides"], state["strides"], 1, 3),
    }
    return Explorer(lambda **settings: draw_upsampling(upsampling_state(**settings)), controls)


def latent_explorer(decoder, codes, crops, z1=0.0, z2=0.0):
    """06's explorer: a 2-D code (z1, z2) -> the crop `decoder` draws there, beside the nearest
    of the test crops `crops` (whose codes are `codes`)."""
    latent_state(decoder, codes, z1, z2)  # checks the arguments
    controls = {
        "z1": _slider(LABELS["latent"]["z1"], float(z1), -3.0, 3.0, 0.1),
        "z2": _slider(LABELS["latent"]["z2"], float(z2), -3.0, 3.0, 0.1),
    }
    return Explorer(
        lambda z1, z2: draw_latent(latent_state(decoder, codes, z1, z2), codes, crops), controls
    )

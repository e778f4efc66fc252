"""Figure helpers shared by the notebooks: images on one scale, curves, kernels, verdicts; the
segmentation overlays (`overlays`) and drawn diagrams (`diagrams`) are re-exported."""

from __future__ import annotations

import matplotlib

from utils.diagrams import draw_conv_geometry, draw_unet, draw_unet_plus_plus
from utils.overlays import (
    CONFUSION_COLOURS,
    _checked_scale,
    confusion_legend,
    confusion_overlay,
    label_colours,
)

__all__ = [
    "CONFUSION_COLOURS",
    "FIGURE_DPI",
    "confusion_legend",
    "confusion_overlay",
    "draw_conv_geometry",
    "draw_unet",
    "draw_unet_plus_plus",
    "label_colours",
    "mosaic",
    "plot_comparison",
    "plot_histories",
    "plot_seed_curves",
    "show_array",
    "show_arrays",
    "show_images",
    "show_kernels",
    "show_overlays",
    "show_predictions",
    "use_course_style",
]

#: Modest resolution: stored notebooks stay small and figures still read well on screen.
FIGURE_DPI = 80


def use_course_style() -> None:
    """Apply the course's matplotlib defaults (size, dpi, no top/right spines)."""
    import matplotlib.pyplot as plt  # activates the notebook backend before rcParams are set

    plt.rcParams.update(
        {
            "figure.dpi": FIGURE_DPI,
            "savefig.dpi": FIGURE_DPI,
            "figure.figsize": (6.0, 4.0),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "image.cmap": "gray",
            "font.size": 10,
        }
    )
    matplotlib.rcParams["image.interpolation"] = "nearest"  # show pixels as pixels


def _cell_text(value: float, decimals: int = 3) -> str:
    """A value as a learner writes it: at most `decimals` decimals, trailing zeros dropped
    (16.5, -10.5, 4.75, 14, 0.333); never "-0"."""
    import numpy as np

    if not np.isfinite(value):
        return str(value)
    text = np.format_float_positional(float(value), precision=decimals, trim="-")
    return "0" if text == "-0" else text


def show_array(
    ax, array, title: str | None = None, cmap: str = "Blues", decimals: int = 3, limits=None
) -> None:
    """Draw a small 2-D array as coloured cells with each value written in its cell, exactly
    up to `decimals` decimals (see `_cell_text`).

    `limits` (low, high) fixes the colour scale; by default it is the array's own: 0 to its
    largest value, or symmetric around zero if any value is negative. A scale reaching below
    zero uses a diverging map (red positive, blue negative, white zero).
    """
    import numpy as np

    array = np.asarray(array, dtype=float)
    if limits is None:
        span = np.abs(array[np.isfinite(array)]).max(initial=0.0) or 1.0
        limits = (-span, span) if array.min() < 0 else (0.0, span)
    low, high = limits
    signed = low < 0  # signed values: a diverging map centred on zero
    ax.imshow(array, cmap="RdBu_r" if signed else cmap, vmin=low, vmax=high)
    span = max(abs(low), abs(high))
    for (row, col), value in np.ndenumerate(array):
        text = _cell_text(value, decimals)
        dark = abs(value) > 0.6 * span
        ax.text(col, row, text, ha="center", va="center", fontsize=9, color="w" if dark else "k")
    ax.set_xticks(np.arange(-0.5, array.shape[1]), minor=True)
    ax.set_yticks(np.arange(-0.5, array.shape[0]), minor=True)
    ax.grid(which="minor", color="0.6", linewidth=0.5)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    if title:
        ax.set_title(title)


def show_arrays(arrays, titles, cmap: str = "Blues", size: float = 2.4, scale="own"):
    """Small annotated arrays side by side (input, kernel, output…); returns the figure.

    `scale` sets the colours: "own" gives each array its own scale, "shared" one scale for all
    (0 to the largest value, or symmetric around zero if any value is negative), and a pair
    (low, high) that range for every array — arrays that are compared should share one.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    scale = _checked_scale(scale)
    arrays = [np.asarray(array, dtype=float) for array in arrays]
    limits = None if scale == "own" else scale
    if scale == "shared":
        values = np.concatenate([array.ravel() for array in arrays])
        values = values[np.isfinite(values)]
        span = float(np.abs(values).max(initial=0.0)) or 1.0
        limits = (-span, span) if values.min(initial=0.0) < 0 else (0.0, span)
    fig, axes = plt.subplots(1, len(arrays), figsize=(size * len(arrays), size), squeeze=False)
    for ax, array, title in zip(axes[0], arrays, titles, strict=True):
        show_array(ax, array, title, cmap, limits=limits)
    fig.tight_layout()
    return fig


def _image_grid(count: int, ncols: int, size: float, extra_width: float = 0.0, aspect: float = 1.0):
    """A figure of `count` panels `size` high and `aspect` times as wide, `ncols` a row, axes
    hidden (empty cells stay blank)."""
    import matplotlib.pyplot as plt

    nrows = -(-count // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * aspect * ncols + extra_width, size * nrows), squeeze=False
    )
    for ax in axes.flat:
        ax.axis("off")
    return fig, axes


def show_images(
    images,
    titles,
    ncols: int | None = None,
    size: float = 2.6,
    cmap: str = "gray",
    scale="own",
):
    """Images in a grid with titles (one per image, or None for none), each panel `size` high
    and as wide as the first image's shape makes it; returns the figure.

    `scale` sets the intensities: "own" stretches each image to its own range (to see shapes),
    "shared" puts every image on one range, from the lowest to the highest value of them all, and
    a pair (low, high) uses that range for every image — panels that are compared should share one.
    """
    import numpy as np

    images = [np.asarray(image) for image in images]
    titles = [""] * len(images) if titles is None else list(titles)
    if not images or len(titles) != len(images):  # zip would drop the untitled images silently
        raise ValueError(
            f"titles must give one title per image ({len(images)} images), got {len(titles)}"
        )
    shared = _checked_scale(scale)
    if shared == "own":
        shared = None
    elif shared == "shared":
        shared = (min(float(i.min()) for i in images), max(float(i.max()) for i in images))
    aspect = images[0].shape[1] / images[0].shape[0]  # panels as wide as the images are
    fig, axes = _image_grid(len(images), ncols or len(images), size, aspect=aspect)
    for ax, image, title in zip(axes.flat, images, titles, strict=False):  # axes may be more
        low, high = shared or (float(image.min()), float(image.max()))
        if low == high:  # a constant image: mid-grey, not the colour map's bottom end
            low, high = low - 1, high + 1
        ax.imshow(image, cmap=cmap, vmin=low, vmax=high)
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def mosaic(images, ncols: int, gap: int = 1, fill: float = 1.0):
    """Images (N, H, W[, 1]) tiled into one array, `ncols` per row, `gap` px of `fill` between
    them (for a sample grid shown with one `imshow`, hence on one intensity scale)."""
    import numpy as np

    images = np.asarray(images, np.float64)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"images must be (N, H, W) or (N, H, W, 1), got shape {images.shape}")
    if not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    count, height, width = images.shape
    nrows = -(-count // ncols)
    tiled = np.full((nrows * (height + gap) - gap, ncols * (width + gap) - gap), fill)
    for index, image in enumerate(images):
        row, col = divmod(index, ncols)
        top, left = row * (height + gap), col * (width + gap)
        tiled[top : top + height, left : left + width] = image
    return tiled


def show_predictions(image, truth, predictions: dict, threshold: float = 0.5, size: float = 2.6):
    """One row: the image, its truth, and each model's prediction as a confusion overlay (TP
    green, FP red, FN blue), every panel on one scale (0 to 1); returns the figure.

    `predictions` maps a model's name (the panel's title) to its probability map for `image`;
    pixels above `threshold` are predicted foreground. The colour legend sits under the first
    prediction.
    """
    import numpy as np

    if not predictions:
        raise ValueError("predictions must map at least one model name to a probability map")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold!r}")
    shape = np.asarray(image).squeeze().shape
    named = {"truth": truth}
    named.update({f"predictions[{name!r}]": array for name, array in predictions.items()})
    for what, array in named.items():
        if np.asarray(array).squeeze().shape != shape:
            raise ValueError(
                f"{what} must have the image's shape {shape} (one channel), got {np.shape(array)}"
            )
    images, titles = [image, truth], ["image", "truth"]
    for name, probabilities in predictions.items():
        predicted = np.asarray(probabilities) > threshold
        images.append(confusion_overlay(image, truth, predicted))
        titles.append(name)
    fig = show_images(images, titles, ncols=len(images), size=size, scale=(0, 1))
    confusion_legend(fig.axes[2])
    return fig


def show_overlays(
    images,
    masks,
    titles=None,
    ncols: int | None = None,
    size: float = 2.4,
    colour: str = "#ffcc00",
    fill: bool = False,
):
    """Images with their masks drawn on top: outlines (default) or a translucent fill."""
    import numpy as np

    titles = titles or [""] * len(images)
    fig, axes = _image_grid(len(images), ncols or len(images), size)
    for ax, image, mask, title in zip(axes.flat, images, masks, titles, strict=False):
        ax.imshow(np.asarray(image).squeeze(), cmap="gray", vmin=0, vmax=1)
        mask = np.asarray(mask).squeeze()
        if fill:
            tint = np.zeros((*mask.shape, 4))
            tint[mask > 0.5] = matplotlib.colors.to_rgba(colour, 0.45)
            ax.imshow(tint)
        else:
            ax.contour(mask, levels=[0.5], colors=[colour], linewidths=0.9)
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_histories(histories: dict, keys=("loss", "val_loss", "val_iou"), size: float = 3.2):
    """Learning curves: one panel per history key, one line per model; returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, len(keys), figsize=(size * len(keys), size * 0.8), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for name, history in histories.items():
            values = history.get(key)
            if values:
                ax.plot(range(1, len(values) + 1), values, marker=".", label=name)
        ax.set_title(key.replace("_", " "), fontsize=9)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_seed_curves(curves: dict, key="val_iou", ax=None, label_axis=None, size: float = 4.5):
    """Learning curves over seeds: per label, the mean over seeds as a line and a band from the
    lowest to the highest seed at each epoch; returns the figure.

    `curves` maps a label to its histories, one per seed ({metric: [value per epoch]}). Labels
    may have different numbers of epochs; the seeds of one label must not.
    """
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    if not curves:
        raise ValueError("curves must map at least one label to a list of histories")
    runs = {}
    for label, histories in curves.items():
        if not histories:
            raise ValueError(f"curves[{label!r}] must hold at least one history (one per seed)")
        for history in histories:
            if key not in history:
                raise ValueError(
                    f"key {key!r} is missing from a history of {label!r}; it has {sorted(history)}"
                )
        lengths = sorted({len(history[key]) for history in histories})
        if len(lengths) > 1 or lengths[0] == 0:
            raise ValueError(
                f"the seeds of {label!r} must have the same number of epochs (at least one), "
                f"got {lengths}"
            )
        runs[label] = np.array([history[key] for history in histories], dtype=float)
    own_figure = ax is None
    if own_figure:
        _, ax = plt.subplots(figsize=(size, size * 0.8))
    for label, values in runs.items():
        epochs = np.arange(1, values.shape[1] + 1)
        seeds = f"{len(values)} seed" if len(values) == 1 else f"{len(values)} seeds"
        (line,) = ax.plot(epochs, values.mean(axis=0), marker=".", label=f"{label} ({seeds})")
        ax.fill_between(
            epochs, values.min(axis=0), values.max(axis=0), color=line.get_color(), alpha=0.2
        )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_xlabel("epoch")
    ax.set_ylabel(label_axis or key)
    ax.legend(
        fontsize=8, title="line: mean over seeds\nband: lowest to highest seed", title_fontsize=8
    )
    if own_figure:  # a caller's figure keeps the layout its caller chose
        ax.figure.tight_layout()
    return ax.figure


def show_kernels(kernel, titles=None, ncols: int = 8, size: float = 1.1, input_channel: int = 0):
    """The filters of one convolution layer as small images, all on ONE colour scale symmetric
    around zero (red positive, blue negative, white zero), so their weights compare by eye.

    `kernel` is a Keras Conv2D kernel (kh, kw, c_in, c_out); input channel `input_channel` of each
    of the c_out filters is drawn, titled by `titles` (default: the filter's index). To compare two
    sets of kernels (before and after training) on one scale, concatenate them along the last
    axis. Returns the figure.
    """
    import numpy as np

    kernel = np.asarray(kernel, dtype=float)
    if kernel.ndim != 4:
        raise ValueError(f"kernel must have shape (kh, kw, c_in, c_out), got {kernel.shape}")
    if not 0 <= input_channel < kernel.shape[2]:
        raise ValueError(
            f"input_channel must be in [0, {kernel.shape[2]}) for this kernel, got {input_channel}"
        )
    filters = kernel[:, :, input_channel, :]
    titles = [str(index) for index in range(filters.shape[-1])] if titles is None else titles
    if len(titles) != filters.shape[-1]:
        raise ValueError(
            f"titles must have one entry per filter ({filters.shape[-1]}), got {len(titles)}"
        )
    span = float(np.abs(filters).max()) or 1.0
    count = filters.shape[-1]
    fig, axes = _image_grid(count, min(ncols, count), size, extra_width=0.8)  # room: colour bar
    for index, ax in zip(range(count), axes.flat, strict=False):
        image = ax.imshow(filters[:, :, index], cmap="RdBu_r", vmin=-span, vmax=span)
        ax.set_title(titles[index], fontsize=8)
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8)
    return fig


def _outcome_words(result) -> str:
    """A verdict's outcome in a few words: who is better, equivalent or undetermined."""
    from utils.experiments.seeds import DIRECTIONLESS

    if result.outcome in ("better", "worse"):
        word = "higher" if result.metric in DIRECTIONLESS else "better"
        return f"{result.names[0 if result.outcome == 'better' else 1]} {word}"
    return result.outcome


def plot_comparison(verdicts, ax=None, title: str | None = None, width: float = 7.5):
    """One row per `experiments.verdict` result: each seed's difference (dots), their mean and its
    95 % interval (a bar), the ±δ band (shaded) and the outcome; returns the figure.

    Rows share one scale — each difference divided by its metric's δ — so the band is always
    [-1, 1] and metrics of different units sit side by side; right of 0 the first is better
    (lower, for a lower-is-better metric)."""
    import matplotlib.pyplot as plt
    import numpy as np

    verdicts = list(verdicts.values()) if isinstance(verdicts, dict) else list(verdicts)
    if not verdicts or not all(hasattr(v, "advantages") and v.advantages for v in verdicts):
        raise ValueError("verdicts must be a non-empty list of experiments.verdict results")
    rows = len(verdicts)
    own_figure = ax is None
    if own_figure:
        _, ax = plt.subplots(figsize=(width, 0.55 * rows + 1.2))
    scaled = [np.asarray(v.advantages) / v.delta for v in verdicts]
    ends = [abs(e) / v.delta for v in verdicts for e in (v.low, v.high) if np.isfinite(e)]
    limit = max(2.0, *(np.abs(d).max() for d in scaled), *ends) * 1.08
    ax.axvspan(-1, 1, color="#2ca02c", alpha=0.12, label="±δ: smaller than what matters")
    ax.axvline(0, color="0.3", lw=0.8)
    for row, (result, values) in enumerate(zip(verdicts, scaled, strict=True)):
        y = rows - 1 - row
        jitter = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else np.zeros(1)
        ax.plot(values, y + jitter, "o", ms=3.5, color="0.55", zorder=2)
        low, high = (np.clip(e / result.delta, -limit, limit) for e in (result.low, result.high))
        ax.plot([low, high], [y, y], color="black", lw=2.2, zorder=3)
        ax.plot(result.estimate / result.delta, y, "D", ms=6, color="black", zorder=4)
    # Labels outside the plotting area, so that no text covers a dot, a bar or the band: what is
    # compared on the left, the outcome on the right.
    names = [
        f"{v.names[0]} vs {v.names[1]}\n{v.label or v.metric} (δ {v.delta:g})" for v in verdicts
    ]
    ax.set_yticks(range(rows - 1, -1, -1), names, fontsize=8)
    beside = ax.get_yaxis_transform()  # x in axes units, y in data units
    for row, result in enumerate(verdicts):
        ax.text(
            1.02,
            rows - 1 - row,
            _outcome_words(result),
            transform=beside,
            fontsize=8,
            va="center",
            ha="left",
        )
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-0.6, rows - 0.4)
    ax.tick_params(axis="y", length=0)
    ax.set_xlabel("difference in units of δ  (green band: ±δ; right of 0: the first is better)")
    if title:
        ax.set_title(title, fontsize=10)
    return ax.figure

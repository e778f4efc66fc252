"""Figure helpers shared by the notebooks."""

from __future__ import annotations

import matplotlib

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


def show_array(
    ax, array, title: str | None = None, cmap: str = "Blues", digits: int = 2, limits=None
) -> None:
    """Draw a small 2-D array as coloured cells with each value written in its cell.

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
        text = f"{value:.{digits}g}" if np.isfinite(value) else str(value)
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


def _checked_scale(scale):
    """`scale` as "own", "shared" or a float pair (low, high); ValueError for anything else."""
    if isinstance(scale, str) and scale in ("own", "shared"):
        return scale
    if (
        isinstance(scale, (tuple, list))
        and len(scale) == 2
        and all(isinstance(v, (int, float)) for v in scale)
        and scale[0] < scale[1]
    ):
        return float(scale[0]), float(scale[1])
    raise ValueError(f"scale must be 'own', 'shared' or a pair (low, high), got {scale!r}")


def show_images(
    images,
    titles,
    ncols: int | None = None,
    size: float = 2.6,
    cmap: str = "gray",
    scale="own",
):
    """Images in a grid with titles, each panel `size` high and as wide as the first image's
    shape makes it; returns the figure.

    `scale` sets the intensities: "own" stretches each image to its own range (to see shapes),
    "shared" puts every image on one range, from the lowest to the highest value of them all, and
    a pair (low, high) uses that range for every image — panels that are compared should share one.
    """
    import numpy as np

    images = [np.asarray(image) for image in images]
    shared = _checked_scale(scale)
    if shared == "own":
        shared = None
    elif shared == "shared":
        shared = (min(float(i.min()) for i in images), max(float(i.max()) for i in images))
    aspect = images[0].shape[1] / images[0].shape[0]  # panels as wide as the images are
    fig, axes = _image_grid(len(images), ncols or len(images), size, aspect=aspect)
    for ax, image, title in zip(axes.flat, images, titles, strict=False):
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


def _pair_text(first: int, second: int) -> str:
    return f"{first}" if first == second else f"{first}x{second}"


def draw_conv_geometry(
    ax, input_size, kernel_size, strides=1, padding="valid", dilation_rate=1, output_index=(0, 0)
) -> None:
    """Draw where one output pixel of a convolution reads: input, padding, and the kernel taps.

    White cells are the input, grey hatched cells the zero padding, orange cells the taps that
    output pixel `output_index` multiplies by the kernel.
    """
    import matplotlib.patches as patches

    from utils import ops

    def pair(value):
        return (value, value) if isinstance(value, int) else tuple(value)

    (h, w), (kh, kw) = pair(input_size), pair(kernel_size)
    (sh, sw), (dh, dw) = pair(strides), pair(dilation_rate)
    pads = [
        ops.same_padding(n, k, s, d) if padding == "same" else (0, 0)
        for n, k, s, d in ((h, kh, sh, dh), (w, kw, sw, dw))
    ]
    out = [
        ops.conv_output_length(n, k, s, padding, d)
        for n, k, s, d in ((h, kh, sh, dh), (w, kw, sw, dw))
    ]
    total_h, total_w = h + sum(pads[0]), w + sum(pads[1])
    taps = {
        (output_index[0] * sh + m * dh, output_index[1] * sw + n * dw)
        for m in range(kh)
        for n in range(kw)
    }
    for row in range(total_h):
        for col in range(total_w):
            inside = pads[0][0] <= row < pads[0][0] + h and pads[1][0] <= col < pads[1][0] + w
            face = "#f28e2b" if (row, col) in taps else ("white" if inside else "0.85")
            ax.add_patch(
                patches.Rectangle(
                    (col, row),
                    1,
                    1,
                    facecolor=face,
                    edgecolor="0.4",
                    linewidth=0.6,
                    hatch=None if inside else "///",
                )
            )
    ax.set_xlim(-0.2, total_w + 0.2)
    ax.set_ylim(total_h + 0.2, -0.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(
        f"{padding}, kernel {kh}x{kw}, stride {_pair_text(sh, sw)}, "
        f"dilation {_pair_text(dh, dw)}\n"
        f"in {h}x{w} → out {out[0]}x{out[1]}\n"
        f"padding top/bottom {pads[0][0]}/{pads[0][1]}, left/right {pads[1][0]}/{pads[1][1]}",
        fontsize=8,
    )


#: Colours for a segmentation compared with its truth: hits, false alarms, misses.
CONFUSION_COLOURS = {
    "true positive": (0.2, 0.8, 0.2),
    "false positive": (0.95, 0.2, 0.2),
    "false negative": (0.2, 0.5, 1.0),
}


def confusion_overlay(image, truth, prediction, alpha: float = 0.55, scale=(0, 1)):
    """RGB picture of a grey image with TP green, FP red and FN blue blended in.

    `scale` sets the grey: a pair (low, high) maps low to black and high to white, values beyond
    clipped; the default (0, 1) is the course's image range, so overlays of different images keep
    their relative brightness. "shared" means that same (0, 1) — one image has no others to share
    a range with. "own" stretches the image to its own range (a constant image is kept as it is).
    """
    import numpy as np

    image = np.asarray(image, dtype=float).squeeze()
    truth, prediction = np.asarray(truth).squeeze() > 0.5, np.asarray(prediction).squeeze() > 0.5
    scale = _checked_scale(scale)
    if scale == "own":
        span = image.max() - image.min()
        low, high = (image.min(), image.max()) if span > 0 else (0.0, 1.0)
    else:
        low, high = (0.0, 1.0) if scale == "shared" else scale
    grey = np.clip((image - low) / (high - low), 0, 1)
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    regions = (truth & prediction, ~truth & prediction, truth & ~prediction)
    for region, colour in zip(regions, CONFUSION_COLOURS.values(), strict=True):
        rgb[region] = (1 - alpha) * rgb[region] + alpha * np.array(colour)
    return rgb


def confusion_legend(ax) -> None:
    """Add the TP / FP / FN colour legend to an axis."""
    import matplotlib.patches as patches

    handles = [
        patches.Patch(color=colour, label=name) for name, colour in CONFUSION_COLOURS.items()
    ]
    ax.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, -0.25),
        ncol=3,
        fontsize=8,
        frameon=False,
    )


def label_colours(labels, seed: int = 0):
    """RGB picture (H, W, 3) of instance labels (H, W): one colour per label (20 colours, given
    to the labels in a shuffled order so that neighbours rarely share one), background black."""
    import numpy as np

    labels = np.asarray(labels)
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
        raise ValueError(
            f"labels must be an (H, W) array of ints >= 0, got {labels.dtype} {labels.shape}"
        )
    palette = matplotlib.colormaps["tab20"](np.arange(20))[:, :3]
    order = np.random.default_rng(seed).permutation(int(labels.max()) + 1) % 20
    return np.where(labels[..., None] > 0, palette[order[labels]], 0.0)


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

    fig, axes = plt.subplots(1, len(keys), figsize=(size * len(keys), size * 0.8), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for name, history in histories.items():
            values = history.get(key)
            if values:
                ax.plot(range(1, len(values) + 1), values, marker=".", label=name)
        ax.set_title(key.replace("_", " "), fontsize=9)
        ax.set_xlabel("epoch")
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


def draw_unet(filters, image_size: int = 128, ax=None, skip_connections: bool = True):
    """Schematic of a UNet: one box per level (channels x size), pooling down the left, upsampling
    up the right, skip connections across; returns the axis."""
    import matplotlib.patches as patches
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 3.6))
    depth = len(filters)
    for level, width in enumerate(filters):
        y, size = depth - 1 - level, image_size // 2**level
        columns = [level] if level == depth - 1 else [level, 2 * (depth - 1) - level]
        for column in columns:
            kind = (
                "bottleneck"
                if level == depth - 1
                else ("encoder" if column == level else "decoder")
            )
            colour = {"encoder": "#4e79a7", "decoder": "#59a14f", "bottleneck": "#b07aa1"}[kind]
            ax.add_patch(
                patches.FancyBboxPatch(
                    (column - 0.4, y - 0.3),
                    0.8,
                    0.6,
                    boxstyle="round,pad=0.02",
                    fc=colour,
                    ec="k",
                    alpha=0.85,
                )
            )
            ax.text(
                column,
                y,
                f"{width} ch\n{size}x{size}",
                ha="center",
                va="center",
                color="w",
                fontsize=8,
            )
        if level < depth - 1:
            ax.annotate(
                "",
                (level + 1 - 0.25, y - 1 + 0.3),
                (level + 0.1, y - 0.3),
                arrowprops={"arrowstyle": "->", "color": "#e15759"},
            )
            decoder = 2 * (depth - 1) - level
            ax.annotate(
                "",
                (decoder - 0.1, y - 0.3),
                (decoder - 1 + 0.25, y - 1 + 0.3),
                arrowprops={"arrowstyle": "->", "color": "#f28e2b"},
            )
            if skip_connections:
                ax.annotate(
                    "",
                    (decoder - 0.42, y),
                    (level + 0.42, y),
                    arrowprops={"arrowstyle": "->", "color": "0.3", "ls": "--"},
                )
                ax.text(
                    depth - 1, y + 0.08, "skip: concatenate", ha="center", fontsize=7, color="0.3"
                )
    ax.text(
        0.2,
        -0.75,
        "red: 2x2 max pooling    orange: 2x upsampling    boxes: two 3x3 convolutions",
        fontsize=7.5,
        color="0.25",
    )
    ax.set_xlim(-0.6, 2 * (depth - 1) + 0.6)
    ax.set_ylim(-0.9, depth - 0.5)
    ax.axis("off")
    return ax


def draw_unet_plus_plus(
    depth: int = 4, ax=None, level: int | None = None, deep_supervision: bool = True
):
    """The UNet++ grid: node x^{i,j} at row i, column i + 2j (the paper's layout). Red: pooling;
    orange: upsampling; grey: dense skip connections; heads on x^{0,1..L}. With `level`, the
    nodes a pruned network L<level> keeps are coloured and the rest greyed; returns the axis."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 3.4))

    def position(i, j):
        return i + 2 * j, -i

    def arrow(start, end, colour, style="-", rad=0.0):
        ax.annotate(
            "",
            position(*end),
            position(*start),
            arrowprops={
                "arrowstyle": "->",
                "color": colour,
                "ls": style,
                "shrinkA": 12,
                "shrinkB": 12,
                "connectionstyle": f"arc3,rad={rad}",
            },
        )

    def kept(i, j):
        return level is None or i + j <= level

    for i in range(depth + 1):
        for j in range(depth + 1 - i):
            on = kept(i, j)
            colour = ("#4e79a7" if j == 0 else "#59a14f") if on else "0.85"
            x, y = position(i, j)
            ax.add_patch(plt.Circle((x, y), 0.42, fc=colour, ec="k" if on else "0.7", zorder=3))
            ax.text(
                x,
                y,
                f"$x^{{{i},{j}}}$",
                ha="center",
                va="center",
                zorder=4,
                color="w" if on else "0.5",
                fontsize=9,
            )
            if j == 0 and i < depth:
                arrow((i, 0), (i + 1, 0), "#e15759" if kept(i + 1, 0) else "0.85")
            if j > 0:
                arrow((i + 1, j - 1), (i, j), "#f28e2b" if on else "0.85")
                for k in range(j):  # dense skips: every earlier node on the row
                    arrow(
                        (i, k), (i, j), "0.45" if on else "0.88", "--", 0.0 if k == j - 1 else -0.2
                    )
    heads = range(1, depth + 1) if deep_supervision else [depth]
    for j in heads:
        x, y = position(0, j)
        on = level is None or j == level
        ax.annotate(
            f"L{j}",
            (x, y + 0.45),
            (x, y + 1.05),
            ha="center",
            fontsize=8,
            color="k" if on else "0.6",
            arrowprops={"arrowstyle": "<-", "color": "#b07aa1" if on else "0.85"},
        )
    ax.text(
        -0.5,
        -depth - 0.2,
        "red: 2x2 max pooling\norange: upsampling\ndashed: skip (concatenate)\n"
        "L1, L2, ...: 1x1 sigmoid heads",
        fontsize=7.5,
        color="0.25",
        va="top",
    )
    ax.set_xlim(-0.7, 2 * depth + 0.7)
    ax.set_ylim(-depth - 0.8, 1.4)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


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

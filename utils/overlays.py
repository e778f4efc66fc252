"""Segmentation overlays: TP / FP / FN blended into a grey image, and instance labels coloured
so that near ones differ (`plotting` re-exports them)."""

from __future__ import annotations

import matplotlib

from utils.checks import check_int

__all__ = ["CONFUSION_COLOURS", "confusion_legend", "confusion_overlay", "label_colours"]


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


def label_colours(labels, seed: int = 0, reach: int = 2):
    """RGB picture (H, W, 3) of instance labels (H, W), background black: labels at most `reach`
    px apart never share a colour (20 colours; a label keeps its own unless a near one has it)."""
    import numpy as np
    from scipy import ndimage

    labels = np.asarray(labels)
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
        raise ValueError(
            f"labels must be an (H, W) array of ints >= 0, got {labels.dtype} {labels.shape}"
        )
    reach = check_int(reach, "reach", minimum=1)
    palette = matplotlib.colormaps["tab20"](np.arange(20))[:, :3]
    colour = np.random.default_rng(seed).permutation(int(labels.max()) + 1) % 20
    footprint = np.ones((2 * reach + 1, 2 * reach + 1), bool)
    for label in np.unique(labels[labels > 0]).tolist():  # smallest first: its near ones are set
        grown = ndimage.binary_dilation(labels == label, footprint)
        taken = {int(colour[n]) for n in np.unique(labels[grown]).tolist() if 0 < n < label}
        choices = [(colour[label] + step) % 20 for step in range(20)]
        colour[label] = next((c for c in choices if c not in taken), colour[label])
    return np.where(labels[..., None] > 0, palette[colour[labels]], 0.0)

"""Diagrams drawn for the notebooks: the geometry of one convolution (notebook 01) and the
architectures of UNet (04) and UNet++ (05). `utils.plotting` re-exports them."""

from __future__ import annotations

__all__ = ["draw_conv_geometry", "draw_unet", "draw_unet_plus_plus"]


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

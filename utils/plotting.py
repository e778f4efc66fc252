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

"""The explorers on the static website (`make site`): no Python runs in a reader's browser, so every
picture a control can ask for is drawn here, when the site is built, over a grid of settings.

`precompute(name, folder)` draws explorer `name` (of `EXPLORERS`) for every combination of its grid
(`GRIDS`), writes the PNGs into `folder/name/` and a script `folder/name.js` holding the grid and,
for each combination, its picture and caption. `site/explorer.js` turns that into controls (range
inputs and selects) that swap the picture: no network, no kernel, nothing computed in the page.
`html(name)` is the block `tools.site` puts in place of the notebook's live explorer.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import numpy as np

from utils import explorers

#: The settings each explorer is drawn for on the site (the notebook's sliders reach further).
GRIDS = {
    "conv": {
        "input_size": [4, 5, 6, 7, 8],
        "kernel_size": [1, 2, 3, 4, 5],
        "strides": [1, 2, 3],
        "padding": ["valid", "same"],
        "dilation_rate": [1, 2],
    },
    "upsampling": {
        "method": list(explorers.UPSAMPLING_METHODS),
        "kernel_size": [1, 2, 3, 4, 5],
        "strides": [1, 2, 3],
    },
    "latent": {
        "z1": [round(float(v), 2) for v in np.linspace(-3, 3, 13)],
        "z2": [round(float(v), 2) for v in np.linspace(-3, 3, 13)],
    },
}
#: The settings shown first: the notebook explorers' defaults.
DEFAULTS = {
    "conv": {
        "input_size": 6,
        "kernel_size": 3,
        "strides": 1,
        "padding": "same",
        "dilation_rate": 1,
    },
    "upsampling": {"method": "transposed", "kernel_size": 3, "strides": 2},
    "latent": {"z1": 0.0, "z2": 0.0},
}
#: Which notebook holds each explorer (its cell is tagged `explorer-<name>`).
NOTEBOOK_OF = {
    "conv": "01_convolution_by_hand",
    "upsampling": "02_upsampling_by_hand",
    "latent": "06_vae",
}


def _conv(settings):
    state = explorers.conv_state(**settings)
    if state["error"]:
        return explorers.draw_conv(state), f"no output: {state['error']}"
    out = state["output_size"]
    caption = (
        f"{state['input_size']}x{state['input_size']} input, kernel {state['kernel_size']}, "
        f"stride {state['strides']}, padding '{state['padding']}', dilation "
        f"{state['dilation_rate']}: output {out}x{out}, {len(state['windows'])} windows"
    )
    return explorers.draw_conv(state), caption


def _upsampling(settings):
    state = explorers.upsampling_state(**settings)
    side = len(state["output"])
    levels = sorted(set(state["counts"].ravel().tolist()))
    caption = f"{settings['method']}: output {side}x{side}; input pixels per output pixel: {levels}"
    return explorers.draw_upsampling(state), caption


def _latent_model():
    """The 2-D VAE of notebook 06 (recipe "vae-crops-2d", seed 0) in the profile the site is built
    in (COURSE_PROFILE, default cpu: from the cache when 06 has run), its test crops and codes."""
    from utils import config, experiments

    profile = config.get_profile()  # COURSE_PROFILE, else the machine's default
    model, _ = experiments.train("vae-crops-2d", profile, verbose=False)
    crops = experiments.splits("vae-crops-2d", profile)[2][0]
    codes = np.asarray(model.encoder(crops)[0])
    return model, codes, crops, profile.name


def _drawer(name):
    """A function from settings to (figure, caption) for explorer `name`, and a note on where
    its pictures come from."""
    if name == "conv":
        return _conv, "a kernel of ones on the same 0-9 input as in the notebook"
    if name == "upsampling":
        return _upsampling, "the same ramp input and kernel of ones as in the notebook"
    model, codes, crops, profile = _latent_model()

    def latent(settings):
        state = explorers.latent_state(model.decoder, codes, settings["z1"], settings["z2"])
        caption = (
            f"code ({settings['z1']:.1f}, {settings['z2']:.1f}); nearest test crop's code "
            f"{state['distance']:.2f} away"
        )
        return explorers.draw_latent(state, codes, crops), caption

    return latent, f"decoded by notebook 06's 2-D VAE (seed 0), trained in the '{profile}' profile"


def _small(png: bytes) -> bytes:
    """`png` with a palette of 128 colours: the site serves thousands of these pictures."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").quantize(128).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def precompute(name: str, folder: Path) -> dict:
    """Draw explorer `name` for every setting of its grid into `folder`; return its manifest."""
    grid = GRIDS[name]
    draw, source = _drawer(name)
    images = Path(folder) / name
    images.mkdir(parents=True, exist_ok=True)
    states, seen = {}, {}
    for positions in itertools.product(*(range(len(values)) for values in grid.values())):
        settings = {key: grid[key][i] for key, i in zip(grid, positions, strict=True)}
        figure, caption = draw(settings)
        png = _small(explorers.figure_png(figure))
        digest = hashlib.sha256(png).hexdigest()[:16]  # equal pictures are stored once
        if digest not in seen:
            seen[digest] = f"{name}/{digest}.png"
            (images / f"{digest}.png").write_bytes(png)
        # Keyed by the positions in the grid ("2|0|1"): the same text in Python and JavaScript.
        states["|".join(str(i) for i in positions)] = [seen[digest], caption]
    manifest = {
        "name": name,
        "notebook": NOTEBOOK_OF[name],
        "controls": [
            {"name": k, "label": explorers.LABELS[name][k], "values": v} for k, v in grid.items()
        ],
        "defaults": DEFAULTS[name],
        "states": states,
        "source": source,
    }
    script = "window.courseExplorers = window.courseExplorers || {};\n"
    script += f"window.courseExplorers[{json.dumps(name)}] = {json.dumps(manifest)};\n"
    (Path(folder) / f"{name}.js").write_text(script, encoding="utf-8")
    return manifest


def html(name: str) -> str:
    """The block that shows explorer `name` on its page (scripts from the site's `_static/`)."""
    return (
        f'<div class="course-explorer" data-explorer="{name}">\n'
        '<p class="course-explorer-note">Pictures drawn when this site was built, for a grid of '
        "settings: the controls pick one, and no Python runs here. Open the notebook in "
        "JupyterLab, Colab or Binder to run the explorer live, over every setting.</p>\n"
        "</div>\n"
        f'<script src="_static/explorers/{name}.js"></script>\n'
        '<script src="_static/explorer.js"></script>\n'
    )

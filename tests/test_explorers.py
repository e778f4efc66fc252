"""Tests of utils/explorers.py: the states (pure functions), the pictures, the live controls, and
the website's precomputed pictures (tools/explorers.py)."""

import base64
import json

import numpy as np
import pytest

from tools import explorers as site_explorers
from utils import explorers, ops


def test_demo_images_are_fixed_and_checked():
    np.testing.assert_array_equal(explorers.demo_image(5), explorers.demo_image(5))
    assert explorers.demo_image(5).min() >= 0 and explorers.demo_image(5).max() <= 9
    ramp = explorers.demo_image(4, "ramp")
    assert ramp[0, 0] == 0.25 and ramp[-1, -1] == 1.0
    with pytest.raises(ValueError, match="kind must be one of"):
        explorers.demo_image(4, "noise")
    with pytest.raises(ValueError, match="size must be an int from 1 to 32"):
        explorers.demo_image(0)


@pytest.mark.parametrize(
    "settings",
    [
        dict(input_size=6, kernel_size=3, strides=1, padding="same", dilation_rate=1),
        dict(input_size=7, kernel_size=3, strides=2, padding="same", dilation_rate=1),
        dict(input_size=8, kernel_size=2, strides=1, padding="valid", dilation_rate=3),
        dict(input_size=8, kernel_size=2, strides=3, padding="valid", dilation_rate=1),
        dict(input_size=5, kernel_size=4, strides=2, padding="same", dilation_rate=1),
    ],
)
def test_conv_state_matches_the_course_convolution_and_its_windows(settings):
    state = explorers.conv_state(**settings)
    n, k, s, d = (
        settings[key] for key in ("input_size", "kernel_size", "strides", "dilation_rate")
    )
    expected = ops.conv_output_length(n, k, s, settings["padding"], d)
    assert state["error"] is None and state["output_size"] == expected
    assert state["output"].shape == (expected, expected)
    assert len(state["windows"]) == expected**2
    # Each output pixel is the sum of its window's taps in the padded input (kernel of ones).
    padded = state["padded"]
    for index, (top, left) in enumerate(state["windows"]):
        taps = [(top + m * d, left + c * d) for m in range(k) for c in range(k)]
        total = sum(padded[r, c] for r, c in taps)
        assert state["output"].ravel()[index] == total
    assert state["taps"][0] == (0, 0) and len(state["taps"]) == k * k
    assert max(max(tap) for tap in state["last_taps"]) < len(padded)  # inside the padded input
    if settings["padding"] == "same":
        assert state["pads"] == ops.same_padding(n, k, s, d)


def test_conv_state_reports_a_setting_no_convolution_accepts():
    state = explorers.conv_state(4, 5, 1, "valid", 2)
    assert state["output"] is None and state["windows"] == []
    assert "larger than the input" in state["error"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: explorers.conv_state(input_size=0), "input_size must be an int from 1 to 32"),
        (lambda: explorers.conv_state(kernel_size=2.5), "kernel_size must be an int"),
        (lambda: explorers.conv_state(padding="full"), "padding must be one of"),
        (lambda: explorers.upsampling_state(method="cubic"), "method must be one of"),
        (lambda: explorers.upsampling_state(strides=0), "strides must be an int from 1 to 8"),
        (lambda: explorers.latent_state(lambda z: z, np.zeros((3, 2)), z1="a"), "z1 must be"),
        (lambda: explorers.latent_state(lambda z: z, np.zeros((3, 3))), "codes must be an"),
    ],
)
def test_bad_settings_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    ("method", "kernel_size", "strides", "inside"),
    [
        ("transposed", 3, 2, [1, 2, 4]),  # the checkerboard of notebook 02
        ("transposed", 4, 2, [4]),  # kernel divisible by the stride: even
        ("transposed", 1, 3, [0, 1]),  # kernel smaller than the stride: gaps
        ("nearest", 3, 2, [1]),
        ("bilinear", 3, 2, [4]),
    ],
)
def test_upsampling_counts_are_the_overlaps(method, kernel_size, strides, inside):
    state = explorers.upsampling_state(method, kernel_size, strides)
    counts = state["counts"]
    assert sorted(set(counts[2:-2, 2:-2].ravel().tolist())) == inside
    if method == "transposed":
        ones = np.ones((1, 4, 4, 1), np.float32)
        expected = ops.conv2d_transpose(ones, np.ones((kernel_size,) * 2 + (1, 1)), strides=strides)
        np.testing.assert_array_equal(counts, expected[0, :, :, 0])
    else:  # interpolation weights add up to 1: a constant stays constant
        assert counts.shape == (4 * strides, 4 * strides)


def test_upsampling_kernel_averages_to_one_where_copies_tile_evenly():
    state = explorers.upsampling_state("transposed", 4, 2, input_size=6)
    ramp = state["input"]
    # Inside, kernel 4 at stride 2 gives each output pixel 4 copies of weight 1/4 over 2x2 inputs.
    assert np.isclose(state["output"][5, 5], ramp[1:3, 1:3].mean())


def test_latent_state_decodes_the_code_and_finds_the_nearest():
    codes = np.array([[0.0, 0.0], [1.0, 1.0], [-2.0, 0.5]])
    seen = []

    def decoder(z):
        seen.append(np.array(z))
        return np.full((1, 8, 8, 1), z[0, 0])

    state = explorers.latent_state(decoder, codes, 0.9, 1.2)
    assert state["nearest"] == 1 and np.isclose(state["distance"], np.hypot(0.1, 0.2))
    np.testing.assert_allclose(seen[0], [[0.9, 1.2]])
    assert state["image"].shape == (8, 8) and np.allclose(state["image"], 0.9)


def _png_size(png: bytes):
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_pictures_draw_every_state_including_an_error():
    for state in (explorers.conv_state(), explorers.conv_state(4, 5, 1, "valid", 2)):
        width, height = _png_size(explorers.figure_png(explorers.draw_conv(state)))
        assert width > 300 and height > 200
    png = explorers.figure_png(explorers.draw_upsampling(explorers.upsampling_state()))
    assert _png_size(png)[0] > 300


def test_explorer_controls_redraw_and_the_output_carries_a_static_picture(monkeypatch):
    import IPython.display

    explorer = explorers.conv_explorer()
    first = explorer.png
    assert explorer.image.value == first
    explorer.controls["kernel_size"].value = 5
    assert explorer.settings["kernel_size"] == 5 and explorer.png != first
    assert explorer.image.value == explorer.png
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda bundle, raw: shown.append(bundle))
    explorer._ipython_display_()
    (bundle,) = shown
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view == {"version_major": 2, "version_minor": 0, "model_id": explorer.widget.model_id}
    assert base64.b64decode(bundle["image/png"]) == explorer.png
    assert "kernel_size=5" in bundle["text/plain"]


def test_upsampling_and_latent_explorers_redraw():
    explorer = explorers.upsampling_explorer()
    first = explorer.png
    explorer.controls["method"].value = "nearest"
    assert explorer.png != first
    codes = np.array([[0.0, 0.0], [1.0, 1.0]])
    crops = np.zeros((2, 8, 8, 1))
    latent = explorers.latent_explorer(lambda z: np.full((1, 8, 8, 1), 0.5), codes, crops)
    first = latent.png
    latent.controls["z1"].value = 1.0
    assert latent.png != first


def test_site_grids_hold_the_notebook_defaults():
    for name, grid in site_explorers.GRIDS.items():
        assert list(grid) == list(explorers.LABELS[name])  # the same controls, in the same order
        for key, value in site_explorers.DEFAULTS[name].items():
            assert value in grid[key], (name, key)


def test_precomputed_pictures_cover_the_whole_grid(tmp_path):
    manifest = site_explorers.precompute("upsampling", tmp_path)
    grid = site_explorers.GRIDS["upsampling"]
    assert len(manifest["states"]) == np.prod([len(v) for v in grid.values()])
    files = {state[0] for state in manifest["states"].values()}
    assert all((tmp_path / file).exists() for file in files)
    # Nearest and bilinear ignore the kernel size: one picture serves them all.
    assert len(files) < len(manifest["states"])
    script = (tmp_path / "upsampling.js").read_text(encoding="utf-8")
    data = json.loads(script.splitlines()[1].split(" = ", 1)[1].rstrip(";"))
    assert data["defaults"] == site_explorers.DEFAULTS["upsampling"]
    key = "|".join(str(c["values"].index(data["defaults"][c["name"]])) for c in data["controls"])
    assert key in data["states"]

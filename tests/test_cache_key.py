"""Tests of utils/cache_key.py: the code that trains a model is part of its checkpoint's key."""

import ast
import dataclasses
import shutil
import sys
import threading

import numpy as np
import pytest

from utils import cache_key, data, models, training
from utils.config import ROOT
from utils.setup import PROFILES

TINY = dataclasses.replace(PROFILES["ci"], image_size=16, num_epochs=1, batch_size=4)


@pytest.fixture
def copy_of_utils(tmp_path):
    """A copy of the package to edit: its fingerprint is read from the copy's files."""
    shutil.copytree(
        ROOT / "utils", tmp_path / "utils", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path


def edit(root, relative, old, new):
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur once in {relative}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_every_listed_name_is_defined_where_it_is_listed():
    for module, names in cache_key.TRAINING_CODE.items():
        for name in names:
            assert cache_key.normalised_source(module, name)
    with pytest.raises(ValueError, match="name must be defined"):
        cache_key.normalised_source("utils.losses", "no_such_loss")


def test_a_copy_of_the_code_has_the_same_fingerprint(copy_of_utils):
    assert cache_key.code_fingerprint(copy_of_utils) == cache_key.code_fingerprint()


@pytest.mark.parametrize(
    ("relative", "old", "new"),
    [
        ("utils/losses.py", "bce_weight=0.5)", "bce_weight=0.25)"),  # the UNet++ paper's loss
        ("utils/data.py", "elastic_strength: float = 3.0", "elastic_strength: float = 4.0"),
        ("utils/vae.py", "loss = reconstruction + (", "loss = 2 * reconstruction + ("),
        ("utils/training.py", "if self.weights is None or value < self.best:", "if True:"),
        ("utils/models.py", '"sigmoid" if num_classes == 1', '"tanh" if num_classes == 1'),
    ],
)
def test_changing_code_that_trains_changes_the_key(copy_of_utils, monkeypatch, relative, old, new):
    before = cache_key.code_fingerprint(copy_of_utils)
    edit(copy_of_utils, relative, old, new)
    cache_key.code_fingerprint.cache_clear()
    after = cache_key.code_fingerprint(copy_of_utils)
    assert after != before
    # ... and with it the checkpoint's key, everything else the same.
    model = models.build_unet((16, 16, 1), (4, 8))
    pair = (np.zeros((2, 16, 16, 1), np.float32),) * 2
    settings = training._Settings("paper", 1e-3, "cosine", 1, 4, True, 0, False)
    monkeypatch.setattr(cache_key, "code_fingerprint", lambda: before)
    old_key = training._cache_key(model, pair, pair, settings)
    monkeypatch.setattr(cache_key, "code_fingerprint", lambda: after)
    assert training._cache_key(model, pair, pair, settings) != old_key


def test_docstrings_comments_line_numbers_and_plots_do_not_change_the_key(copy_of_utils):
    before = cache_key.code_fingerprint(copy_of_utils)
    edit(
        copy_of_utils,
        "utils/losses.py",
        '"""The UNet++ paper\'s loss, per head:',
        '"""Reworded: the loss of the UNet++ paper, for each head:',
    )
    edit(
        copy_of_utils,
        "utils/losses.py",
        "    return bce_dice_loss(y_true, y_pred, bce_weight=0.5)",
        "\n\n    # half the cross-entropy, as the paper weighs it\n"
        "    return bce_dice_loss(y_true, y_pred, bce_weight=0.5)  # same call",
    )
    edit(copy_of_utils, "utils/training.py", "import dataclasses\n", "import dataclasses\n\n\n\n")
    edit(copy_of_utils, "utils/plotting.py", "FIGURE_DPI = 80", "FIGURE_DPI = 120")
    edit(copy_of_utils, "utils/data.py", "CROPS_PER_IMAGE = 4", "CROPS_PER_IMAGE = 4  # a comment")
    cache_key.code_fingerprint.cache_clear()
    assert cache_key.code_fingerprint(copy_of_utils) == before


def _top_level_names() -> dict[str, set[str]]:
    """Top-level function name -> the utils modules that define it."""
    index = {}
    for path in (ROOT / "utils").rglob("*.py"):
        module = str(path.relative_to(ROOT)).removesuffix(".py").removesuffix("/__init__")
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                index.setdefault(node.name, set()).add(module.replace("/", "."))
    return index


def _traced_calls(run) -> set[tuple[str, str]]:
    """(module, top-level name) of every function under utils/ that ran during `run()`; code that
    TensorFlow's autograph rewrote (it runs from a generated file, as `tf__<name>`) is mapped back
    to the utils function it came from."""
    utils_dir, index = str(ROOT / "utils"), _top_level_names()
    seen = set()

    def profile(frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        qualname = getattr(code, "co_qualname", code.co_name)
        if code.co_filename.startswith(utils_dir) and qualname != "<module>":
            path = code.co_filename[len(str(ROOT)) + 1 :]
            module = path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
            seen.add((module, qualname.split(".")[0]))
        elif "__autograph_generated_file" in code.co_filename:
            for part in qualname.split("."):
                if part.startswith("tf__") and part[4:] in index:
                    seen.update((module, part[4:]) for module in index[part[4:]])
                    break

    sys.setprofile(profile)
    threading.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    return seen


@pytest.mark.training
def test_every_function_that_runs_while_training_is_in_the_key_or_exempt(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    images, masks = data.make_nuclei(8, 16, seed=0)
    train, val = (images[:4], masks[:4]), (images[4:], masks[4:])
    factors = (images[:4], np.zeros((4, 3), np.float32)), (images[4:], np.zeros((4, 3), np.float32))

    def small_trainings():
        unet = training.build(models.build_unet, (16, 16, 1), (4, 8), batch_norm=True, dropout=0.1)
        training.fit(unet, train, val, TINY, "u", verbose=False)
        dice = training.build(models.build_unet, (16, 16, 1), (4, 8), upsampling="transpose")
        training.fit(dice, train, val, TINY, "d", loss="dice", schedule="constant", verbose=False)
        nested = training.build(models.build_unet_plus_plus, (16, 16, 1), (4, 8), dropout=0.1)
        training.fit(nested, train, val, TINY, "n", loss="paper", verbose=False)
        vae = training.build(models.build_vae, (16, 16, 1), latent_dim=2, filters=(4, 8))
        training.fit(vae, (train[0],) * 2, (val[0],) * 2, TINY, "v", loss=None, verbose=False)
        judge = training.build(models.build_feature_network, (16, 16, 1), 3, (4, 8), 8)
        training.fit(judge, *factors, TINY, "f", loss="mse", augment=False, verbose=False)

    calls = _traced_calls(small_trainings)
    assert ("utils.losses", "unet_plus_plus_loss") in calls  # the tracing sees inside Keras's fit
    assert ("utils.vae", "VAE") in calls and ("utils.data", "augment_pair") in calls
    missing = sorted(
        f"{module}.{name}"
        for module, name in calls
        if name not in cache_key.TRAINING_CODE.get(module, ())
        and f"{module}.{name}" not in cache_key.EXEMPT
        and module not in cache_key.EXEMPT
    )
    assert not missing, f"ran during training, neither in TRAINING_CODE nor in EXEMPT: {missing}"

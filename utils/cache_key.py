"""What a cached checkpoint's key is made of, so that the cache can never serve a stale model.

`training.fit` names a checkpoint by the model's architecture, the training settings, the data's
bytes — and, from here, the code that turns them into weights: the source of every function
listed in `TRAINING_CODE` (builders, losses, augmentation and the input pipeline, the VAE's steps
and terms, `fit` itself and what it calls), hashed without docstrings, comments or line numbers,
plus the versions of TensorFlow, Keras and NumPy. Edit a loss and every model it trained is
trained again; reword a docstring or change a plot and nothing is.

tests/test_cache_key.py trains small models while it watches every call, and fails if a `utils`
function ran that is neither in `TRAINING_CODE` nor in `EXEMPT` (with the reason it cannot change
the weights).
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

from utils.config import ROOT

__all__ = ["EXEMPT", "TRAINING_CODE", "code_fingerprint", "module_path", "normalised_source"]

#: module -> the top-level functions and classes in it whose code decides the trained weights.
#: A class stands for all its methods, a function for the functions defined inside it.
TRAINING_CODE = {
    "utils.training": (
        "LOSSES",
        "REGRESSION",
        "strategy",
        "build",
        "fit",
        "_settings",
        "_Settings",
        "_jit_compile",
        "_compile",
        "_build_optimizer",
        "_datasets",
        "_BestWeights",
        "_train",
        "_num_outputs",
        "_iou",
    ),
    "utils.data": ("make_dataset", "augment_pair", "_sample"),
    "utils.losses": (
        "soft_dice_loss",
        "bce_dice_loss",
        "unet_plus_plus_loss",
        "gaussian_kl",
        "bernoulli_reconstruction",
    ),
    "utils.models": (
        "UPSAMPLINGS",
        "build_unet",
        "_check_unet_arguments",
        "conv_block",
        "upsample",
        "output_layer",
        "build_unet_plus_plus",
        "_node",
        "build_feature_network",
    ),
    "utils.vae": ("Sampling", "build_vae_encoder", "build_vae_decoder", "VAE", "build_vae"),
}

#: "module.name" -> why it may run during a training without being part of the key.
EXEMPT = {
    "utils.training.EpochLine": "prints one line per epoch and times it; the weights never see it",
    "utils.training.fingerprint": "hashes the data: the key's data part",
    "utils.training._cache_key": "computes the key itself",
    "utils.training._checkpoint": "names the checkpoint file from the key",
    "utils.training._check_arguments": "raises on bad arguments of `fit`, changes nothing",
    "utils.cache_key": "computes the key's code part",
    "utils.config": "settings and paths: where the checkpoint is written, not what it holds",
    "utils.checks": (
        "argument checks: they raise on bad input and pass good input on unchanged (as plain "
        "ints); the model's description and the settings in the key carry the result"
    ),
    "utils.timing": "times; the weights never see it",
}


def module_path(module: str, root: Path = ROOT) -> Path:
    """The file of `module` ("utils.models" -> utils/models.py; a package -> its __init__.py)."""
    path = Path(root).joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    """Remove the docstring of every module, class and function in `tree` (they explain, they do
    not compute)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _defined_name(node: ast.stmt) -> str | None:
    """The name a top-level statement defines: a def, a class, or a single-name assignment."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        return target.id if isinstance(target, ast.Name) else None
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    return None


def normalised_source(module: str, name: str, root: Path = ROOT) -> str:
    """What is hashed of `module.name`: its syntax tree without docstrings, comments or line
    numbers (a comment, a reworded docstring or a moved function leaves it unchanged)."""
    tree = ast.parse(module_path(module, root).read_text(encoding="utf-8"))
    found = [node for node in tree.body if _defined_name(node) == name]
    if not found:
        raise ValueError(f"name must be defined at the top level of {module}, got {name!r}")
    return "\n".join(ast.dump(_strip_docstrings(node), include_attributes=False) for node in found)


@functools.lru_cache(maxsize=4)
def code_fingerprint(root: Path = ROOT) -> str:
    """12 hex digits of the SHA-256 of every `TRAINING_CODE` entry's normalised source (read from
    the files under `root`), with the versions of TensorFlow, Keras and NumPy."""
    import keras
    import numpy as np
    import tensorflow as tf

    digest = hashlib.sha256()
    for module, names in sorted(TRAINING_CODE.items()):
        for name in sorted(names):
            digest.update(f"{module}.{name}\n".encode())
            digest.update(normalised_source(module, name, Path(root)).encode())
    digest.update(f"tf {tf.__version__} keras {keras.__version__} numpy {np.__version__}".encode())
    return digest.hexdigest()[:12]

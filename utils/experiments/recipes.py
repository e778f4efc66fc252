"""Named recipes: every model that more than one notebook trains (and every model a comparison
trains), built, trained and cached in one place.

A recipe holds the builder and its arguments, the data set and the training settings, all derived
from the profile. A notebook asks for a model by name (`train("membranes-unet", PROFILE)`), so two
notebooks that use the same recipe share one cached checkpoint, and `show` prints the plain
`training.build` / `training.fit` calls a recipe makes.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable

import numpy as np

from utils import data, models, training
from utils.checks import check_bool, check_choice, check_profile, check_seed, check_text

__all__ = [
    "BETAS",
    "CHANGEABLE",
    "CORE_DEPTH",
    "CROP_EPOCHS",
    "FEATURE_FILTERS",
    "RECIPES",
    "Recipe",
    "checkpoint_name",
    "flops_unet_filters",
    "recipe",
    "show",
    "splits",
    "train",
    "wide_unet_filters",
]

#: The data sets a recipe may train on: the embedded ones, and two made from them (see `splits`).
_DATASETS = (*data.EMBEDDED, "nuclei-cores", "crops-factors")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Everything that defines a trained model: builder, arguments, data and training settings."""

    name: str  # the checkpoint's name in the cache (seed 0; other seeds add "-seed<N>")
    dataset: str  # an embedded data set (see `splits`)
    builder: Callable  # a `utils.models` builder, called as builder(input_shape, **build_args)
    build_args: Callable  # profile -> keyword arguments of the builder
    fit_args: Callable  # profile -> keyword arguments of `training.fit`
    autoencoder: bool = False  # trains on (images, images): the VAE and its relatives
    comparison: bool = False  # trains in the comparison setting, `profile.comparison()`

    def __post_init__(self):
        check_text(self.name, "name")
        check_choice(self.dataset, "dataset", _DATASETS)
        for field in ("builder", "build_args", "fit_args"):
            if not callable(getattr(self, field)):
                raise ValueError(f"{field} must be a function, got {getattr(self, field)!r}")
        check_bool(self.autoencoder, "autoencoder")
        check_bool(self.comparison, "comparison")

    def arguments(self, profile) -> tuple[dict, dict]:
        """The builder's and `training.fit`'s keyword arguments under `profile`."""
        return dict(self.build_args(profile)), dict(self.fit_args(profile))

    def setting(self, profile):
        """The profile the recipe trains under: `profile`, or its comparison setting."""
        return profile.comparison() if self.comparison else profile

    def input_shape(self, profile) -> tuple[int, int, int]:
        """The shape of one input image: the setting's side, or the crops' (`data.crop_size`)."""
        if self.dataset.startswith("crops"):
            size = data.crop_size(profile)
        else:
            size = self.setting(profile).image_size
        return (size, size, 1)


def _paper_filters(profile, widen: float = 1.0, depth: int = 4) -> tuple[int, ...]:
    """UNet++ paper's filters scaled to the profile, optionally widened, for `depth` poolings."""
    filters = models.UNET_PLUS_PLUS_FILTERS[: depth + 1]
    return models.scaled_filters(filters, profile.width * widen)


def _paper_training(profile) -> dict:
    """The membrane models' training: the UNet++ paper's loss, the profile's epochs, silent."""
    return {"loss": "paper", "verbose": False}


def _vae_filters(profile) -> tuple[int, ...]:
    return models.scaled_filters(models.VAE_FILTERS, profile.width)


def wide_unet_filters(profile) -> tuple[int, ...]:
    """Notebook 05's wide UNet: the paper's filters widened (in steps of 0.02) until the UNet has
    about as many parameters as UNet++ without deep supervision."""
    return _matched_filters(check_profile(profile), "parameters")


def flops_unet_filters(profile) -> tuple[int, ...]:
    """Appendix 05b's compute control: the paper's filters widened (in steps of 0.02) until the
    UNet needs about as many FLOPs per image as UNet++ without deep supervision (within 10 %)."""
    return _matched_filters(check_profile(profile), "flops")


#: What a matched UNet matches UNet++ on, and how far its filters may be widened looking for it.
_MEASURES = {
    "parameters": (lambda model: model.count_params(), 1.4),
    "flops": (models.flops_per_image, 2.5),
}


@functools.lru_cache(maxsize=8)
def _matched_filters(profile, measure: str) -> tuple[int, ...]:
    """The paper's filters, widened until a UNet's `measure` is nearest UNet++'s (computed once
    per profile: it builds a model per step)."""
    count, largest = _MEASURES[measure]
    shape = (profile.image_size, profile.image_size, 1)
    filters = _paper_filters(profile)

    def unet(widen):
        wide = models.scaled_filters(filters, widen)
        return count(models.build_unet(shape, wide, upsampling="transpose"))

    target = count(models.build_unet_plus_plus(shape, filters, deep_supervision=False))
    widen = min(np.arange(1.0, largest, 0.02), key=lambda factor: abs(unet(factor) - target))
    return models.scaled_filters(filters, widen)


def _compared(name: str, builder: Callable, depth: int = 4, **options) -> Recipe:
    """A membrane comparison arm: the paper's filters for `depth` poolings (unless `options` say
    otherwise) and loss, trained in the comparison setting."""
    return Recipe(
        name,
        "membranes",
        builder,
        lambda p: {"filters": _paper_filters(p, depth=depth), **options},
        _paper_training,
        comparison=True,
    )


def _rare(name: str, loss: str, full: bool = False) -> Recipe:
    """Notebook 04's rare foreground: the nuclei UNet on nuclei cores at full size (at 32 px a
    third of the images hold no core), a third of the profile's epochs (the point is what happens
    in a short budget), or with `full` all of them."""
    return Recipe(
        name,
        "nuclei-cores",
        models.build_unet,
        lambda p: {"filters": models.scaled_filters(models.SOURCE_FILTERS, p.width)},
        lambda p: {
            "loss": loss,
            "num_epochs": p.num_epochs if full else max(1, p.num_epochs // 3),
            "verbose": False,
        },
    )


#: Notebook 04's rare foreground: the pixels at least this deep inside a nucleus, about 2 % of
#: the image (nuclei have a radius of 6-9 px at every side, `data.make_nuclei`).
CORE_DEPTH = 6.0

#: The most epochs a model of the crops trains for: where a 20-epoch pilot at the VAE's constant
#: learning rate levelled off (`cpu` profile; the validation loss of each VAE and autoencoder moved
#: by under 1 % from epoch 12 to 20). The `gpu` profile's four times as many crops level off sooner.
CROP_EPOCHS = 12


def _crop_training(profile) -> dict:
    """Models of the single-object crops: four times the images (`data.CROPS_PER_IMAGE`) in
    batches four times as large — as many steps per epoch as the profile's other models — twice
    the profile's epochs up to `CROP_EPOCHS`, no augmentation (the generator already varies size
    and orientation)."""
    return {
        "batch_size": data.CROPS_PER_IMAGE * profile.batch_size,
        "num_epochs": min(2 * profile.num_epochs, CROP_EPOCHS),
        "augment": False,
        "verbose": False,
    }


def _crop_vae(name: str, **options) -> Recipe:
    """Notebook 06's VAE (or a relative) on the single-object crops: the source's encoder and
    decoder at the profile's width, a constant learning rate of 0.003."""
    return Recipe(
        name,
        "crops",
        models.build_vae,
        lambda p: {"filters": _vae_filters(p), "latent_dim": 16, **options},
        lambda p: {
            "loss": None,
            "learning_rate": 3e-3,
            "schedule": "constant",
            **_crop_training(p),
        },
        autoencoder=True,
    )


def _crop_segmenter(name: str, builder: Callable, **options) -> Recipe:
    """Notebook 07's segmenters of the crops: the source's filters (two poolings) at the
    profile's width, the UNet++ paper's loss, half the profile's epochs (enough to level off on
    one object per image)."""
    return Recipe(
        name,
        "crops",
        builder,
        lambda p: {"filters": models.scaled_filters(models.SOURCE_FILTERS, p.width), **options},
        lambda p: {
            "loss": "paper",
            **_crop_training(p),
            "num_epochs": max(1, min(p.num_epochs, CROP_EPOCHS) // 2),
        },
    )


#: The judge's filters: the same small network in every profile.
FEATURE_FILTERS = (16, 32, 64)

#: The β values notebook 06 compares (β = 1 is the ELBO itself).
BETAS = (0.25, 1.0, 4.0)

RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in (
        Recipe(
            "unet-nuclei",
            "nuclei",
            models.build_unet,
            lambda p: {"filters": models.scaled_filters(models.SOURCE_FILTERS, p.width)},
            lambda p: {},
        ),
        # The main membrane model: the paper's UNet at the profile's full size and epochs.
        Recipe(
            "membranes-unet",
            "membranes",
            models.build_unet,
            lambda p: {"filters": _paper_filters(p), "upsampling": "transpose"},
            _paper_training,
        ),
        # The comparisons (notebooks 04, 05, 07), all in the comparison setting.
        _compared("small-unet", models.build_unet, upsampling="transpose"),
        _compared("small-unet-nearest", models.build_unet),
        _compared(
            "small-unet-no-skips", models.build_unet, upsampling="transpose", skip_connections=False
        ),
        _compared("small-unet-bn", models.build_unet, upsampling="transpose", batch_norm=True),
        _compared(
            "small-unet-no-skips-bn",
            models.build_unet,
            upsampling="transpose",
            skip_connections=False,
            batch_norm=True,
        ),
        *(
            _compared(f"small-unet-depth{depth}", models.build_unet, depth, upsampling="transpose")
            for depth in (1, 2, 3)
        ),
        *(
            _compared(
                f"small-unet-depth{depth}-no-skips",
                models.build_unet,
                depth,
                upsampling="transpose",
                skip_connections=False,
            )
            for depth in (2, 3)
        ),
        Recipe(
            "small-wide-unet",
            "membranes",
            models.build_unet,
            lambda p: {"filters": wide_unet_filters(p.comparison()), "upsampling": "transpose"},
            _paper_training,
            comparison=True,
        ),
        # Appendix 05b's compute control: a UNet as costly to run as UNet++ (FLOPs per image).
        Recipe(
            "small-flops-unet",
            "membranes",
            models.build_unet,
            lambda p: {"filters": flops_unet_filters(p.comparison()), "upsampling": "transpose"},
            _paper_training,
            comparison=True,
        ),
        _compared("small-unetpp", models.build_unet_plus_plus, deep_supervision=False),
        _compared("small-unetpp-ds", models.build_unet_plus_plus, deep_supervision=True),
        _rare("rare-bce", "bce"),
        _rare("rare-dice", "dice"),
        _rare("rare-bce-full", "bce", full=True),
        # Notebook 06's generators and their judge, on the single-object crops (07 reuses them).
        Recipe(
            "crops-features",
            "crops-factors",
            models.build_feature_network,
            lambda p: {"filters": FEATURE_FILTERS, "num_outputs": len(data.CROP_FACTORS)},
            lambda p: {"loss": "mse", **_crop_training(p)},
        ),
        _crop_vae("vae-crops"),
        _crop_vae("vae-crops-2d", latent_dim=2),
        *(_crop_vae(f"vae-crops-beta{beta:g}", beta=beta) for beta in BETAS if beta != 1),
        _crop_vae("autoencoder-crops", variational=False),
        _crop_vae("vae-crops-skips", skips=True),  # notebook 07: UNet's skips added
        _crop_vae("autoencoder-crops-2d", latent_dim=2, variational=False),
        # Transposed-convolution upsampling, as UNet++'s: the two differ only in their skips.
        _crop_segmenter("crops-unet", models.build_unet, upsampling="transpose"),
        _crop_segmenter("crops-unetpp", models.build_unet_plus_plus, deep_supervision=False),
    )
}


def recipe(name: str) -> Recipe:
    """The recipe called `name`; a clear error lists the valid names."""
    return RECIPES[check_choice(name, "name", sorted(RECIPES))]


def checkpoint_name(name: str, seed: int = 0) -> str:
    """The cache name of recipe `name` trained with `seed` (seed 0: the recipe's own name)."""
    check_text(name, "name")
    seed = check_seed(seed)
    return name if seed == 0 else f"{name}-seed{seed}"


def _check_seeds(seeds, profile) -> list[int]:
    """The seeds to run: `seeds` (a non-empty sequence of seeds) or range(profile.num_seeds)."""
    if seeds is None:
        return list(range(profile.num_seeds))
    if isinstance(seeds, str) or not isinstance(seeds, Iterable):
        raise ValueError(f"seeds must be a sequence of integers >= 0, got {seeds!r}")
    seeds = [check_seed(seed) for seed in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    return seeds


@functools.lru_cache(maxsize=8)
def _splits(dataset: str, profile):
    """The profile's (train, val, test) of an embedded set, generated once per session;
    "nuclei-cores" is the nuclei with only their cores as foreground (`data.cores`)."""
    if dataset == "nuclei-cores":
        return tuple(
            (images, data.cores(masks, CORE_DEPTH)) for images, masks in _splits("nuclei", profile)
        )
    if dataset == "crops-factors":
        return _crop_factors(profile)
    return data.load_embedded(dataset, profile)


def _crop_factors(profile):
    """The crops with the factors each was drawn with (`data.CROP_FACTORS`) as targets, each
    factor standardised with the training images' mean and sd (so that each counts alike)."""
    train, val, test = _splits("crops", profile)
    factors = data.make_crops(
        len(train[0]) + len(val[0]) + len(test[0]), data.crop_size(profile), return_factors=True
    )[2]
    mean, std = factors[: len(train[0])].mean(0), factors[: len(train[0])].std(0)
    factors = (factors - mean) / std
    cuts = np.cumsum([len(train[0]), len(val[0])])
    return tuple(
        (images, part)
        for (images, _), part in zip((train, val, test), np.split(factors, cuts), strict=True)
    )


def splits(name: str, profile):
    """The (train, val, test) splits recipe `name` trains and is tested on (in its setting)."""
    chosen = recipe(name)
    check_profile(profile)
    return _splits(chosen.dataset, chosen.setting(profile))


def _pairs(split, autoencoder: bool):
    """(images, targets): an autoencoder reproduces its input, a segmenter predicts the mask."""
    images, masks = split
    return (images, images) if autoencoder else (images, masks)


def _code(value) -> str:
    """A value as the course's code writes it (strings in double quotes)."""
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _call_text(prefix: str, function: str, positional: list[str], keywords: dict) -> str:
    """`prefix function(arguments)` as code; one argument per line when it would be long."""
    arguments = positional + [f"{key}={_code(value)}" for key, value in keywords.items()]
    line = f"{prefix}{function}({', '.join(arguments)})"
    if len(line) <= 100:
        return line
    return f"{prefix}{function}(\n" + "".join(f"    {a},\n" for a in arguments) + ")"


def _data_lines(dataset: str, profile_code: str) -> str:
    """The plain calls that make a recipe's (train, val, test) splits."""
    if dataset == "nuclei-cores":
        return (
            f'splits = data.load_embedded("nuclei", {profile_code})\n'
            f"train, val, test = [(images, data.cores(masks, depth={CORE_DEPTH})) "
            "for images, masks in splits]"
        )
    if dataset == "crops-factors":
        return (
            f"# the crops, each with the factors it was drawn with (standardised) as its target\n"
            f'train, val, test = experiments.splits("crops-features", {profile_code})'
        )
    return f'train, val, test = data.load_embedded("{dataset}", {profile_code})'


def show(name: str, profile, seed: int = 0) -> str:
    """The plain calls recipe `name` makes under `profile`, as code a learner could type."""
    chosen = recipe(name)
    check_profile(profile)
    seed = check_seed(seed)
    build_args, fit_args = chosen.arguments(profile)
    shape = chosen.input_shape(profile)
    train_val = ["(train[0], train[0])", "(val[0], val[0])"] if chosen.autoencoder else []
    fit_args.pop("verbose", None)  # how much it prints, not what it trains
    profile_code = "COMPARISON" if chosen.comparison else "PROFILE"
    build = _call_text(
        "model = ",
        "training.build",
        [f"models.{chosen.builder.__name__}", repr(shape)],
        {**build_args, "seed": seed},
    )
    fit = _call_text(
        "history = ",
        "training.fit",
        [
            "model",
            *(train_val or ["train", "val"]),
            profile_code,
            _code(checkpoint_name(name, seed)),
        ],
        {**fit_args, "seed": seed},
    )
    lines = [_data_lines(chosen.dataset, profile_code), build, fit]
    if chosen.comparison:
        lines.insert(0, "COMPARISON = PROFILE.comparison()  # smaller images, their own epochs")
    return "\n".join(lines)


#: The training settings a class may change in `train` and `run_seeds` (`training.fit`'s).
CHANGEABLE = ("loss", "learning_rate", "schedule", "num_epochs", "batch_size", "augment")


def _check_changes(changes: dict) -> str:
    """Validate changes to a recipe's training; return the suffix that names them in the cache."""
    unknown = sorted(set(changes) - set(CHANGEABLE))
    if unknown:
        raise ValueError(f"changes must be among {list(CHANGEABLE)}, got {unknown}")
    return "".join(f"-{key}{value}" for key, value in sorted(changes.items()))


def train(name: str, profile, seed: int = 0, verbose: bool | None = None, **changes):
    """Build and train recipe `name` under `profile` (in the recipe's setting) with `seed` (build
    and data order), or load it from the cache; return (model, history). `changes` override its
    training settings (any of `CHANGEABLE`, e.g. `learning_rate=1e-2`)."""
    model, arguments = _prepared(name, profile, seed, verbose, changes)
    history = training.fit(model, *arguments["data"], **arguments["fit"])
    return model, history


def _prepared(name: str, profile, seed, verbose, changes) -> tuple:
    """Recipe `name`'s model, built with `seed`, and the arguments `training.fit` gets: its
    training and validation pairs ("data") and keyword arguments ("fit")."""
    chosen = recipe(name)
    check_profile(profile)
    seed = check_seed(seed)
    suffix = _check_changes(changes)
    build_args, fit_args = chosen.arguments(profile)
    fit_args.update(changes)
    if verbose is not None:
        fit_args["verbose"] = check_bool(verbose, "verbose")
    train_split, val_split, _ = splits(name, profile)
    model = training.build(chosen.builder, chosen.input_shape(profile), seed=seed, **build_args)
    data = (_pairs(train_split, chosen.autoencoder), _pairs(val_split, chosen.autoencoder))
    fit_args.update(
        profile=chosen.setting(profile), name=checkpoint_name(name + suffix, seed), seed=seed
    )
    return model, {"data": data, "fit": fit_args}

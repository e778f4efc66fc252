"""Named experiment recipes: every model that more than one notebook trains (and every model a
comparison trains), built, trained and cached in one place.

A recipe holds the builder and its arguments, the data set and the training settings, all derived
from the profile. A notebook asks for a model by name (`train("membranes-unet", PROFILE)`), so two
notebooks that use the same recipe share one cached checkpoint, and `show` prints the plain
`training.build` / `training.fit` calls a recipe makes. `run_seeds` repeats a recipe over the
profile's seeds (build seed and data-order seed) and returns a table of test metrics;
`verdict` compares two such tables with a stated rule and prints a categorical `Verdict:` line.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import numpy as np

from utils import data, metrics, models, training

# --- recipes -------------------------------------------------------------------------------------


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


@functools.lru_cache(maxsize=4)
def wide_unet_filters(profile) -> tuple[int, ...]:
    """Notebook 05's wide UNet: the paper's filters widened (in steps of 0.02) until the UNet has
    about as many parameters as UNet++ without deep supervision."""
    shape = (profile.image_size, profile.image_size, 1)
    filters = _paper_filters(profile)

    def unet_parameters(widen):
        wide = models.scaled_filters(filters, widen)
        return models.build_unet(shape, wide, upsampling="transpose").count_params()

    target = models.build_unet_plus_plus(shape, filters, deep_supervision=False).count_params()
    widen = min(np.arange(1.0, 1.4, 0.02), key=lambda factor: abs(unet_parameters(factor) - target))
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


def _rare(name: str, loss: str) -> Recipe:
    """Notebook 04's rare foreground: the nuclei UNet on nuclei cores, a fixed third of the
    profile's epochs (the point is what happens in a short budget)."""
    return Recipe(
        name,
        "nuclei-cores",
        models.build_unet,
        lambda p: {"filters": models.scaled_filters(models.SEED_FILTERS, p.width)},
        lambda p: {"loss": loss, "num_epochs": max(1, p.num_epochs // 3), "verbose": False},
    )


#: The most epochs a model of the crops trains for (the `gpu` profile's four times as many crops
#: level off sooner; measured on CPU only: the `cpu` profile's models level off within it).
CROP_EPOCHS = 20


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


def _crop_segmenter(name: str, builder: Callable, autoencoder: bool = False, **options) -> Recipe:
    """Notebook 07's networks on the crops: the source's filters (two poolings) at the profile's
    width, half the profile's epochs (enough to level off on one object per image); segmenters
    learn the mask with the UNet++ paper's loss, an `autoencoder` learns to return its input
    (binary cross-entropy and learning rate as the VAE)."""
    return Recipe(
        name,
        "crops",
        builder,
        lambda p: {"filters": models.scaled_filters(models.SEED_FILTERS, p.width), **options},
        lambda p: {
            "loss": "bce" if autoencoder else "paper",
            # An autoencoder learns at the VAE's constant rate (measured: with the segmenters'
            # cosine schedule, one seed in three of the UNet with skips stalled 7 dB lower).
            **({"learning_rate": 3e-3, "schedule": "constant"} if autoencoder else {}),
            **_crop_training(p),
            "num_epochs": max(1, min(p.num_epochs, CROP_EPOCHS) // 2),
        },
        autoencoder=autoencoder,
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
            lambda p: {"filters": models.scaled_filters(models.SEED_FILTERS, p.width)},
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
        _compared("small-unetpp", models.build_unet_plus_plus, deep_supervision=False),
        _compared("small-unetpp-ds", models.build_unet_plus_plus, deep_supervision=True),
        _rare("rare-bce", "bce"),
        _rare("rare-dice", "dice"),
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
        _crop_vae("autoencoder-crops-2d", latent_dim=2, variational=False),
        # Transposed-convolution upsampling, as UNet++'s: the two differ only in their skips.
        _crop_segmenter("crops-unet", models.build_unet, upsampling="transpose"),
        _crop_segmenter("crops-unetpp", models.build_unet_plus_plus, deep_supervision=False),
        _crop_segmenter("crops-unet-autoencoder", models.build_unet, autoencoder=True),
        _crop_segmenter(
            "crops-unet-autoencoder-no-skips",
            models.build_unet,
            autoencoder=True,
            skip_connections=False,
        ),
    )
}


def recipe(name: str) -> Recipe:
    """The recipe called `name`; a clear error lists the valid names."""
    if name not in RECIPES:
        raise ValueError(f"name must be one of {sorted(RECIPES)}, got {name!r}")
    return RECIPES[name]


def checkpoint_name(name: str, seed: int = 0) -> str:
    """The cache name of recipe `name` trained with `seed` (seed 0: the recipe's own name)."""
    return name if seed == 0 else f"{name}-seed{seed}"


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


@functools.lru_cache(maxsize=8)
def _splits(dataset: str, profile):
    """The profile's (train, val, test) of an embedded set, generated once per session;
    "nuclei-cores" is the nuclei with only their cores as foreground (`data.cores`)."""
    if dataset == "nuclei-cores":
        return tuple((images, data.cores(masks)) for images, masks in _splits("nuclei", profile))
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
            "train, val, test = [(images, data.cores(masks)) for images, masks in splits]"
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
    seed = _check_seed(seed)
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
    and data order), or load it from the cache; return (model, history). `changes` override the
    recipe's training settings (any of `CHANGEABLE`, e.g. `learning_rate=1e-2`): a class
    activity is one changed call."""
    chosen = recipe(name)
    seed = _check_seed(seed)
    suffix = _check_changes(changes)
    setting = chosen.setting(profile)
    build_args, fit_args = chosen.arguments(profile)
    fit_args.update(changes)
    if verbose is not None:
        fit_args["verbose"] = verbose
    train_split, val_split, _ = splits(name, profile)
    shape = chosen.input_shape(profile)
    model = training.build(chosen.builder, shape, seed=seed, **build_args)
    history = training.fit(
        model,
        _pairs(train_split, chosen.autoencoder),
        _pairs(val_split, chosen.autoencoder),
        setting,
        checkpoint_name(name + suffix, seed),
        seed=seed,
        **fit_args,
    )
    return model, history


# --- seeds as an axis ----------------------------------------------------------------------------


@dataclasses.dataclass
class SeedRuns:
    """A recipe's test metrics per seed (one dict per seed), with the histories."""

    name: str
    seeds: list[int]
    scores: list[dict]  # per seed: {"dice": ..., "iou": ..., "hd95": ...}
    histories: list[dict] = dataclasses.field(default_factory=list)

    def values(self, metric: str) -> np.ndarray:
        """The per-seed values of `metric`."""
        if not self.scores or metric not in self.scores[0]:
            known = sorted(self.scores[0]) if self.scores else []
            raise ValueError(f"metric must be one of {known}, got {metric!r}")
        return np.array([score[metric] for score in self.scores], float)

    def mean(self, metric: str) -> float:
        """Mean of `metric` over the seeds."""
        return float(self.values(metric).mean())

    def std(self, metric: str) -> float:
        """Sample standard deviation of `metric` over the seeds (0 with one seed)."""
        values = self.values(metric)
        return float(values.std(ddof=1)) if len(values) > 1 else 0.0

    def last_change(self, key: str = "val_iou", last: int = 3) -> np.ndarray:
        """Per seed, how far `key` moved over the last `last` epochs (highest - lowest): small
        numbers mean the training had levelled off."""
        if not self.histories or key not in self.histories[0]:
            known = sorted(k for k in (self.histories or [{}])[0] if k not in ("log", "seconds"))
            raise ValueError(f"key must be one of {known}, got {key!r}")
        tails = [np.asarray(history[key][-last:], float) for history in self.histories]
        return np.array([tail.max() - tail.min() for tail in tails])

    def table(self) -> str:
        """One row per seed, then mean and standard deviation, for every metric."""
        metrics = list(self.scores[0])
        lines = [f"{self.name}\n  {'seed':<6}" + "".join(f"{m:>11}" for m in metrics)]
        for seed, score in zip(self.seeds, self.scores, strict=True):
            lines.append(f"  {seed:<6}" + "".join(f"{score[m]:>11.3f}" for m in metrics))
        lines.append(f"  {'mean':<6}" + "".join(f"{self.mean(m):>11.3f}" for m in metrics))
        lines.append(f"  {'sd':<6}" + "".join(f"{self.std(m):>11.3f}" for m in metrics))
        return "\n".join(lines)


def run_seeds(
    name: str, profile, seeds=None, verbose: bool = False, head: int | None = None, **changes
) -> SeedRuns:
    """Train (or load) recipe `name` once per seed and score each on the test set.

    `seeds` defaults to range(profile.num_seeds). A segmenter gets Dice, IoU and HD95; a
    deep-supervised one is scored on the mean of its heads (`models.average_heads`), or, with
    `head=k`, on its sub-network Lk alone (`models.prune_unet_plus_plus`); membrane models also
    get the boundary F-score and V_rand. A VAE or plain autoencoder of the crops gets
    `generative_scores` (the sample-quality measure of `sample_quality`). `changes` change the
    recipe's training as in `train`."""
    chosen = recipe(name)
    suffix = _check_changes(changes)
    is_generator = chosen.builder is models.build_vae
    if chosen.autoencoder and not is_generator:
        raise ValueError(
            f"run_seeds scores segmenters and VAEs; {name!r} is another kind of autoencoder"
        )
    if is_generator and not chosen.dataset.startswith("crops"):
        raise ValueError(
            f"run_seeds scores the VAEs of the crops; {name!r} learns {chosen.dataset}"
        )
    seeds = list(range(profile.num_seeds)) if seeds is None else [_check_seed(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    _, _, (test_images, test_masks) = splits(name, profile)
    quality = sample_quality(profile) if is_generator else None
    scores, histories = [], []
    for seed in seeds:
        model, history = train(name, profile, seed, verbose=verbose, **changes)
        if is_generator:
            scores.append(generative_scores(model, test_images, quality))
        else:
            scores.append(
                training.evaluate(
                    scored_model(model, head),
                    test_images,
                    test_masks,
                    membranes=chosen.dataset == "membranes",
                )
            )
        histories.append(history)
    label = name + suffix if head is None else f"{name + suffix} L{head}"
    return SeedRuns(label, seeds, scores, histories)


def scored_model(model, head: int | None = None):
    """The one-output model that is scored: a deep-supervised model's mean of heads, or its
    sub-network L`head`; any other model as it is (`head` must then be None)."""
    supervised = isinstance(model.output, (list, tuple)) and len(model.output) > 1
    if head is not None:
        if not supervised:
            raise ValueError(
                f"head={head!r} needs a deep-supervised model; {model.name} has one output"
            )
        return models.prune_unet_plus_plus(model, head)
    return models.average_heads(model) if supervised else model


def summary(runs, metrics=None, labels=None) -> str:
    """One row per `SeedRuns` in `runs`: mean ± sd of each metric over the seeds (default: the
    metrics of the first), with the number of seeds; `labels` renames the rows."""
    runs = list(runs)
    if not runs:
        raise ValueError("runs must hold at least one SeedRuns")
    metrics = list(metrics or runs[0].scores[0])
    labels = list(labels or [run.name for run in runs])
    if len(labels) != len(runs):
        raise ValueError(f"labels must name each of the {len(runs)} runs, got {len(labels)}")
    width = max(len(label) for label in labels) + 2
    columns = {m: max(16, len(METRIC_LABELS.get(m, m)) + 2) for m in metrics}
    header = f"{'':<{width}}{'seeds':>5}" + "".join(
        f"{METRIC_LABELS.get(m, m):>{columns[m]}}" for m in metrics
    )
    lines = [header]
    for label, run in zip(labels, runs, strict=True):
        cells = "".join(f"{f'{run.mean(m):.3f} ± {run.std(m):.3f}':>{columns[m]}}" for m in metrics)
        lines.append(f"{label:<{width}}{len(run.seeds):>5}{cells}")
    return "\n".join(lines)


# --- generated images: a measure of their quality ------------------------------------------------

#: Seeds of the held-out real crops a sample-quality measure compares with (never trained on).
REFERENCE_SEED, HELD_OUT_SEED = 1001, 1002


def num_quality_images(profile) -> int:
    """How many images each set compared by the sample-quality measure holds (samples, real
    images, degraded images alike: the Fréchet distance's bias depends on the number)."""
    return 2 * data.CROPS_PER_IMAGE * profile.num_test


def real_crops(profile, seed: int = HELD_OUT_SEED) -> np.ndarray:
    """`num_quality_images` real crops drawn with `seed`: images no model here trained on."""
    count, size = num_quality_images(profile), data.crop_size(profile)
    return data.make_crops(count, size, seed=seed)[0]


@dataclasses.dataclass
class SampleQuality:
    """The Fréchet distance (as in FID) between the "features" of a set of images and those of
    held-out real crops, from a small network trained for the purpose on the crops (recipe
    "crops-features": it learns to predict the factors each crop was drawn with) — never the
    VAE's own encoder. Lower is closer; notebook 06 validates it before using it."""

    extractor: Callable  # images (N, H, W, 1) -> features (N, D)
    real: np.ndarray  # the held-out real crops it compares with
    reference: np.ndarray = dataclasses.field(init=False, repr=False)  # their features
    reference_statistics: np.ndarray = dataclasses.field(init=False, repr=False)  # hand-made

    def __post_init__(self):
        self.reference = self.features(self.real)
        self.reference_statistics = metrics.image_statistics(self.real)

    def features(self, images) -> np.ndarray:
        """The feature vectors of `images`, (N, D)."""
        images = np.asarray(images, np.float32)
        expected = self.extractor.input_shape[1:]
        if images.ndim != 4 or images.shape[1:] != tuple(expected):
            raise ValueError(
                f"images must be (N, {', '.join(map(str, expected))}), got {images.shape}"
            )
        return np.asarray(self.extractor.predict(images, batch_size=256, verbose=0), np.float64)

    def distance(self, images) -> float:
        """The Fréchet distance between `images`' features and the real crops'."""
        return metrics.frechet_distance(self.features(images), self.reference)

    def statistics_distance(self, images) -> float:
        """The old, hand-made measure, for comparison: the Fréchet distance between the
        `metrics.image_statistics` of `images` and of the real crops (notebook 06 tests it)."""
        statistics = metrics.image_statistics(np.asarray(images, np.float32))
        return metrics.frechet_distance(statistics, self.reference_statistics)


@functools.lru_cache(maxsize=2)
def sample_quality(profile, seed: int = 0) -> SampleQuality:
    """The crops' sample-quality measure: recipe "crops-features" (trained or loaded with `seed`)
    and the features of `real_crops(profile, REFERENCE_SEED)`."""
    network, _ = train("crops-features", profile, seed)
    return SampleQuality(models.feature_extractor(network), real_crops(profile, REFERENCE_SEED))


def prior_codes(count: int, latent_dim: int, seed: int = 0) -> np.ndarray:
    """`count` codes drawn from the prior N(0, I): the same for every model given the same seed."""
    return np.random.default_rng(seed).standard_normal((count, latent_dim)).astype(np.float32)


def midpoints(model, images, count: int, seed: int = 0) -> np.ndarray:
    """Decoded midpoints between the codes (mu) of `count` random pairs of `images`: what a walk
    through the latent space passes on its way from one real image to another."""
    codes = np.asarray(model.encoder.predict(np.asarray(images, np.float32), verbose=0)[0])
    pairs = np.random.default_rng(seed).integers(0, len(codes), (count, 2))
    middle = (codes[pairs[:, 0]] + codes[pairs[:, 1]]) / 2
    return np.asarray(model.decoder.predict(middle.astype(np.float32), verbose=0))


def generative_scores(model, test_images, quality: SampleQuality) -> dict[str, float]:
    """A VAE's (or plain autoencoder's) scores on test images: reconstruction of the mean code
    in nats per image above the images' own floor ("excess", see `metrics.bernoulli_excess`)
    and in PSNR; the Fréchet distance of samples decoded from the prior ("sample_fd") and of
    midpoints between test codes ("midpoint_fd"); the old hand-made measure on the samples
    ("sample_statistics_fd", for comparison); for a VAE, the KL term per image."""
    count = len(quality.reference)
    reconstructions = np.asarray(model.predict(np.asarray(test_images, np.float32), verbose=0))
    samples = np.asarray(
        model.decoder.predict(prior_codes(count, model.encoder.output[0].shape[-1]), verbose=0)
    )
    scores = {
        "excess": float(np.mean(metrics.bernoulli_excess(test_images, reconstructions))),
        "psnr": metrics.psnr(test_images, reconstructions),
        "sample_fd": quality.distance(samples),
        "midpoint_fd": quality.distance(midpoints(model, test_images, count)),
        "sample_statistics_fd": quality.statistics_distance(samples),
    }
    if model.variational:
        z_mean, z_log_var = model.encoder.predict(np.asarray(test_images, np.float32), verbose=0)
        scores["kl"] = float(np.mean(metrics.gaussian_kl(z_mean, z_log_var)))
    return scores


# --- verdicts ------------------------------------------------------------------------------------

# --- from synthetic to real: the shipped field (notebook 04) -------------------------------------

#: The fixed split of the shipped field (`data.real_field`), stated in notebook 04: the left half
#: of its columns is the fine-tune block, the right half the test block. Contiguous blocks, not
#: interleaved tiles: neighbouring tiles share nuclei, background and focus. Every choice (scale,
#: brightness, threshold) is made on the fine-tune block; the test block is only scored.
REAL_BLOCKS = ("fine-tune", "test")
#: How a UNet starts its training on the fine-tune block: from the weights it learnt on the
#: synthetic nuclei (recipe "unet-nuclei", seed 0), or from random weights (the seed's).
REAL_STARTS = ("synthetic", "scratch")
REAL_LABELS = {"synthetic": "fine-tuned", "scratch": "from scratch"}
#: The real training's epochs: at most this many (the `ci` profile: 2 x its own).
REAL_EPOCHS = 20
REAL_LEARNING_RATE = 1e-3
REAL_BATCH_SIZE = 4


def real_field() -> tuple[np.ndarray, np.ndarray]:
    """The shipped field (`data.real_field`) scaled to [0, 1] by the percentiles of its fine-tune
    block (`data.normalise`), not of the whole field: the test block sets nothing."""
    image, labels = data.real_field(scaled=False)
    return data.normalise(image, reference=image[:, : image.shape[1] // 2]), labels


def real_scale(profile) -> dict[str, float]:
    """How the field is brought to the synthetic training images, measured on the fine-tune
    block only: the downscaling `factor` that gives its nuclei the median area of the training
    nuclei (`profile.image_size`), and the `gain` that then gives them their median brightness;
    with the statistics it compares (areas in pixels, intensities in [0, 1])."""
    image, labels = real_field()
    half = image.shape[1] // 2
    real = metrics.instance_statistics(image[:, :half], labels[:, :half])
    images, _, synthetic_labels = data.make_nuclei_with_labels(64, profile.image_size)
    synthetic = metrics.instance_statistics(images, synthetic_labels)
    factor = max(1, round(np.sqrt(real["median_area"] / synthetic["median_area"])))
    small, small_labels = data.downscale(image[:, :half], labels[:, :half], factor)
    brightness = metrics.instance_statistics(small, small_labels)["object_intensity"]
    return {
        "factor": factor,
        "gain": synthetic["object_intensity"] / brightness,
        "real_area": real["median_area"],
        "synthetic_area": synthetic["median_area"],
        "real_intensity": brightness,
        "synthetic_intensity": synthetic["object_intensity"],
    }


def real_blocks(profile, gain: bool = True) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The field at the scale of `real_scale` (intensities times its gain, clipped to [0, 1],
    unless `gain=False`), cropped to a square of a multiple of 8 px and split into its blocks:
    {"fine-tune": (image, labels), "test": (image, labels)}, each (H, W) with W = H / 2."""
    scale = real_scale(profile)
    image, labels = data.downscale(*real_field(), scale["factor"])
    if gain:
        image = np.clip(image * scale["gain"], 0, 1).astype(np.float32)
    side = min(image.shape) // 8 * 8
    half = side // 2
    return {
        "fine-tune": (image[:side, :half], labels[:side, :half]),
        "test": (image[:side, half:side], labels[:side, half:side]),
    }


def block_tiles(block) -> np.ndarray:
    """A block (H, W) cut into tiles of side W / 2, row by row, as (N, W/2, W/2, 1): the tiles
    that per-tile scores are reported on (8 per block)."""
    block = np.asarray(block)
    side = block.shape[1] // 2
    return data.windows(block, side, side)


def predict_blocks(model, blocks) -> dict[str, np.ndarray]:
    """The probability map (H, W) of each block, each predicted whole and alone: the test
    block's prediction sees nothing of the fine-tune block."""
    maps = {}
    for name, (image, _) in blocks.items():
        whole = models.with_input_shape(model, (*image.shape, 1))
        maps[name] = training.predict(whole, image[None, ..., None])[0, ..., 0]
    return maps


def real_threshold(probabilities, labels) -> float:
    """The threshold (of `metrics.THRESHOLDS`) with the best Dice on a block: the fine-tune one."""
    truth = (np.asarray(labels) > 0).astype(np.float32)
    scores = [metrics.dice(truth, probabilities, t) for t in metrics.THRESHOLDS]
    return float(metrics.THRESHOLDS[int(np.argmax(scores))])


def real_scores(probabilities, labels, threshold: float = 0.5) -> dict[str, float]:
    """A block's Dice, IoU and HD95, the block scored as one image (pooled)."""
    truth = (np.asarray(labels) > 0).astype(np.float32)
    return {
        "dice": metrics.dice(truth, probabilities, threshold),
        "iou": metrics.iou(truth, probabilities, threshold),
        "hd95": metrics.hd95(truth, probabilities, threshold),
    }


def real_windows(profile) -> tuple[np.ndarray, np.ndarray]:
    """The fine-tune block's training data: (images, masks), every window of side
    `profile.image_size` whose corner lies on a grid of an eighth of that side."""
    image, labels = real_blocks(profile)["fine-tune"]
    size = profile.image_size
    stride = max(1, size // 8)
    masks = data.windows(labels > 0, size, stride).astype(np.float32)
    return data.windows(image, size, stride), masks


def train_on_real(
    profile,
    start: str = "synthetic",
    seed: int = 0,
    num_epochs: int | None = None,
    verbose: bool = False,
):
    """Train the nuclei UNet on the fine-tune block's overlapping windows (`real_windows`; the
    same windows are its validation data, since the test block may choose nothing, not even the
    best epoch), starting from `start` (`REAL_STARTS`); return (model,
    history). Both starts train alike: Adam from `REAL_LEARNING_RATE` with a cosine decay,
    `num_epochs` (default: 2 x the profile's, at most `REAL_EPOCHS`)."""
    if start not in REAL_STARTS:
        raise ValueError(f"start must be one of {REAL_STARTS}, got {start!r}")
    seed = _check_seed(seed)
    tiles = real_windows(profile)
    size = profile.image_size
    build_args, _ = recipe("unet-nuclei").arguments(profile)
    model = training.build(models.build_unet, (size, size, 1), seed=seed, **build_args)
    name = f"real-{start}"
    if start == "synthetic":
        model.set_weights(train("unet-nuclei", profile, verbose=False)[0].get_weights())
        name += "-" + training.fingerprint(*model.get_weights())[:6]  # a new start: a new key
    history = training.fit(
        model,
        tiles,
        tiles,
        profile,
        checkpoint_name(name, seed),
        learning_rate=REAL_LEARNING_RATE,
        num_epochs=num_epochs or min(REAL_EPOCHS, 2 * profile.num_epochs),
        batch_size=REAL_BATCH_SIZE,
        seed=seed,
        verbose=verbose,
    )
    return model, history


def real_runs(profile, start: str = "synthetic", seeds=None, num_epochs=None) -> SeedRuns:
    """`train_on_real` once per seed (`num_epochs` as there), each scored on the test block at
    the threshold chosen on the fine-tune block (`real_threshold`): Dice, IoU, HD95."""
    seeds = list(range(profile.num_seeds)) if seeds is None else [_check_seed(s) for s in seeds]
    blocks = real_blocks(profile)
    scores, histories = [], []
    for seed in seeds:
        model, history = train_on_real(profile, start, seed, num_epochs)
        maps = predict_blocks(model, blocks)
        threshold = real_threshold(maps["fine-tune"], blocks["fine-tune"][1])
        scores.append(real_scores(maps["test"], blocks["test"][1], threshold))
        histories.append(history)
    return SeedRuns(REAL_LABELS[start], seeds, scores, histories)


METRIC_LABELS = {
    "dice": "Dice",
    "iou": "IoU",
    "hd95": "HD95",
    "boundary_f": "boundary F",
    "v_rand": "V_rand",
    "excess": "reconstruction above floor",
    "psnr": "PSNR",
    "sample_fd": "sample FD",
    "midpoint_fd": "midpoint FD",
    "sample_statistics_fd": "old measure on samples",
    "kl": "KL",
}
LOWER_IS_BETTER = {"hd95", "excess", "sample_fd", "midpoint_fd", "sample_statistics_fd"}
#: The rule: every seed ranks the two the same way, and the mean gap exceeds MARGIN pooled
#: standard deviations — by a clear distance: a gap within BOUNDARY of the threshold is called
#: inconclusive, since another CPU's round-off could push it to the other side. Measured: rerun
#: with oneDNN off, notebook 05's UNet moved its pooled sd by a third (one slow seed moved most),
#: which took a gap from 1.4 to 0.9 times the threshold; a 20 % band would have flipped it.
MARGIN = 2.0
BOUNDARY = 0.5


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of comparing two recipes on one metric: a categorical line and the numbers."""

    outcome: str  # "above", "below" or "inconclusive" (first vs second, in the metric's sense)
    line: str  # "Verdict: ..." — words only, the same on every machine when the outcome is
    details: str  # the numbers behind it

    def __str__(self) -> str:
        return f"{self.line}\n{self.details}"


def _describe(runs: SeedRuns, metric: str) -> str:
    values = ", ".join(f"{v:.3f}" for v in runs.values(metric))
    return f"{runs.name} {runs.mean(metric):.3f} ± {runs.std(metric):.3f} ({values})"


def verdict(first: SeedRuns, second: SeedRuns, metric: str = "dice", labels=None) -> Verdict:
    """Compare two recipes' per-seed results on `metric` with the rule above (seeds paired).

    "above" means `first` is better (higher, or lower for HD95) on every seed and by more than
    MARGIN pooled standard deviations, clear of the boundary; "below" the same for `second`;
    anything else — one seed, seeds that disagree, a gap inside the spread or near the rule's
    boundary — is "inconclusive". `labels` names the two in the verdict (default: recipe names).
    """
    if first.seeds != second.seeds:
        raise ValueError(
            f"the two runs must use the same seeds, got {first.seeds} and {second.seeds}"
        )
    names = labels or (first.name, second.name)
    label = METRIC_LABELS.get(metric, metric)
    a, b = first.values(metric), second.values(metric)
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    differences = sign * (a - b)  # > 0 where the first is better
    gap = float(differences.mean())
    pooled = float(np.sqrt((first.std(metric) ** 2 + second.std(metric) ** 2) / 2))
    threshold = MARGIN * pooled
    agree = bool(np.all(differences > 0) or np.all(differences < 0))
    clear = abs(gap) > threshold * (1 + BOUNDARY)
    if len(a) < 2 or not agree or not clear:
        outcome = "inconclusive"
        line = f"Verdict: inconclusive — {names[0]} vs {names[1]} on {label}"
    else:
        outcome = "above" if gap > 0 else "below"
        better, worse = names if gap > 0 else names[::-1]
        word = "below" if metric in LOWER_IS_BETTER else "above"
        line = f"Verdict: {better} {word} {worse} on {label} (every seed)"
    rule = (
        f"rule: every seed the same way and |gap| > {MARGIN:g} × pooled sd "
        f"(+{BOUNDARY:.0%} clear of the boundary)"
    )
    details = (
        f"{label}: {_describe(first, metric)}; {_describe(second, metric)}; "
        f"gap {abs(gap):.3f}, pooled sd {pooled:.3f}; {rule}"
    )
    return Verdict(outcome, line, details)

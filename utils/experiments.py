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

from utils import data, models, training

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


def _paper_filters(profile, widen: float = 1.0, depth: int = 4) -> tuple[int, ...]:
    """UNet++ paper's filters scaled to the profile, optionally widened, for `depth` poolings."""
    filters = models.UNET_PLUS_PLUS_FILTERS[: depth + 1]
    return models.scaled_filters(filters, profile.width * widen)


def _paper_training(profile) -> dict:
    """The membrane models' training: the UNet++ paper's loss, the profile's epochs, silent."""
    return {"loss": "paper", "verbose": False}


def _vae_training(profile) -> dict:
    """A VAE needs many updates: half the batch (twice the steps), a higher, constant rate."""
    return {
        "loss": None,
        "batch_size": max(1, profile.batch_size // 2),
        "learning_rate": 3e-3,
        "schedule": "constant",
        "verbose": False,
    }


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


def _vae(name: str, dataset: str, **options) -> Recipe:
    """A VAE (or autoencoder) with notebook 06's encoder/decoder and training."""
    return Recipe(
        name,
        dataset,
        models.build_vae,
        lambda p: {"filters": _vae_filters(p), "latent_dim": 16, **options},
        _vae_training,
        autoencoder=True,
    )


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
        _vae("vae-nuclei", "nuclei"),
        _vae("vae-nuclei-2d", "nuclei", latent_dim=2),
        _vae("vae-nuclei-beta4", "nuclei", beta=4.0),
        _vae("autoencoder-nuclei", "nuclei", variational=False),
        _vae("vae-membranes", "membranes", beta=0.1),
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
    return data.load_embedded(dataset, profile)


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
    return f'train, val, test = data.load_embedded("{dataset}", {profile_code})'


def show(name: str, profile, seed: int = 0) -> str:
    """The plain calls recipe `name` makes under `profile`, as code a learner could type."""
    chosen = recipe(name)
    seed = _check_seed(seed)
    setting = chosen.setting(profile)
    build_args, fit_args = chosen.arguments(profile)
    shape = (setting.image_size, setting.image_size, 1)
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


def train(name: str, profile, seed: int = 0, verbose: bool | None = None):
    """Build and train recipe `name` under `profile` (in the recipe's setting) with `seed` (build
    and data order), or load it from the cache; return (model, history)."""
    chosen = recipe(name)
    seed = _check_seed(seed)
    setting = chosen.setting(profile)
    build_args, fit_args = chosen.arguments(profile)
    if verbose is not None:
        fit_args["verbose"] = verbose
    train_split, val_split, _ = splits(name, profile)
    shape = (setting.image_size, setting.image_size, 1)
    model = training.build(chosen.builder, shape, seed=seed, **build_args)
    history = training.fit(
        model,
        _pairs(train_split, chosen.autoencoder),
        _pairs(val_split, chosen.autoencoder),
        setting,
        checkpoint_name(name, seed),
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
    name: str, profile, seeds=None, verbose: bool = False, head: int | None = None
) -> SeedRuns:
    """Train (or load) segmentation recipe `name` once per seed and score each on the test set.

    `seeds` defaults to range(profile.num_seeds). A deep-supervised model is scored on the mean
    of its heads (`models.average_heads`), or, with `head=k`, on its sub-network Lk alone
    (`models.prune_unet_plus_plus`). Membrane models also get the boundary F-score and V_rand."""
    chosen = recipe(name)
    if chosen.autoencoder:
        raise ValueError(f"run_seeds scores segmentation recipes; {name!r} is an autoencoder")
    seeds = list(range(profile.num_seeds)) if seeds is None else [_check_seed(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    _, _, (test_images, test_masks) = splits(name, profile)
    scores, histories = [], []
    for seed in seeds:
        model, history = train(name, profile, seed, verbose=verbose)
        model = scored_model(model, head)
        scores.append(
            training.evaluate(
                model, test_images, test_masks, membranes=chosen.dataset == "membranes"
            )
        )
        histories.append(history)
    label = name if head is None else f"{name} L{head}"
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
    header = f"{'':<{width}}{'seeds':>5}" + "".join(
        f"{METRIC_LABELS.get(m, m):>16}" for m in metrics
    )
    lines = [header]
    for label, run in zip(labels, runs, strict=True):
        cells = "".join(f"{f'{run.mean(m):.3f} ± {run.std(m):.3f}':>16}" for m in metrics)
        lines.append(f"{label:<{width}}{len(run.seeds):>5}{cells}")
    return "\n".join(lines)


# --- verdicts ------------------------------------------------------------------------------------

METRIC_LABELS = {
    "dice": "Dice",
    "iou": "IoU",
    "hd95": "HD95",
    "boundary_f": "boundary F",
    "v_rand": "V_rand",
}
LOWER_IS_BETTER = {"hd95"}
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

"""Seeds as an axis: a recipe trained once per seed and scored on its test set (`run_seeds`), the
per-seed table it returns (`SeedRuns`) and a summary of several such tables."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import keras
import numpy as np

from utils import metrics, models, training
from utils.checks import check_bool, check_int, check_number, check_profile, check_text
from utils.config import ROOT
from utils.experiments.generative import clean_test_crops, generative_scores, judges
from utils.experiments.parallel import _checkpoint, train_seeds
from utils.experiments.recipes import _check_changes, _check_seeds, recipe, splits, train

__all__ = [
    "DIRECTIONLESS",
    "LOWER_IS_BETTER",
    "METRIC_LABELS",
    "VALIDATION_THRESHOLDS",
    "SeedRuns",
    "run_seeds",
    "scored_model",
    "summary",
    "validation_thresholds",
]

METRIC_LABELS = {
    "dice": "Dice",
    "iou": "IoU",
    "hd95": "HD95",
    "boundary_f": "boundary F",
    "v_rand": "V_rand",
    "excess": "reconstruction above floor",
    "psnr": "PSNR",
    "excess_clean": "above floor, vs noise-free",
    "psnr_clean": "PSNR vs noise-free",
    "sample_fd": "sample FD",
    "fitted_fd": "fitted-Gaussian FD",
    "active": "active dimensions",
    "sample_statistics_fd": "old measure on samples",
    "kl": "KL",
}
LOWER_IS_BETTER = {
    "hd95",
    "excess",
    "excess_clean",
    "sample_fd",
    "fitted_fd",
    "sample_statistics_fd",
    *(f"sample_fd_judge{k}" for k in range(16)),
}
#: Metrics with no better direction: a verdict says "higher" or "lower" (more KL is more
#: information in the codes, and a prior less like them: neither is better in itself).
DIRECTIONLESS = {"kl", "active"}


@dataclasses.dataclass
class SeedRuns:
    """A recipe's test metrics per seed (one dict per seed), with the histories."""

    name: str
    seeds: list[int]
    scores: list[dict]  # per seed: {"dice": ..., "iou": ..., "hd95": ...}
    histories: list[dict] = dataclasses.field(default_factory=list)
    # per seed, the threshold each metric was scored at ({} when all were scored at 0.5)
    thresholds: list[dict] = dataclasses.field(default_factory=list)

    def __post_init__(self):
        check_text(self.name, "name")
        if isinstance(self.seeds, str) or not isinstance(self.seeds, Sequence):
            raise ValueError(f"seeds must be a sequence of integers >= 0, got {self.seeds!r}")
        for seed in self.seeds:
            check_int(seed, "seeds", minimum=0, expected="a sequence of integers >= 0")
        if (
            not isinstance(self.scores, Sequence)
            or len(self.scores) != len(self.seeds)
            or not all(isinstance(score, dict) for score in self.scores)
        ):
            raise ValueError(
                f"scores must hold one dict of metrics per seed ({len(self.seeds)}), got "
                f"{self.scores!r}"
            )
        if self.histories and len(self.histories) != len(self.seeds):
            raise ValueError(
                f"histories must be empty or hold one per seed ({len(self.seeds)}), got "
                f"{len(self.histories)}"
            )
        if self.thresholds and (
            len(self.thresholds) != len(self.seeds)
            or not all(isinstance(chosen, dict) for chosen in self.thresholds)
        ):
            raise ValueError(
                f"thresholds must be empty or hold one dict per seed ({len(self.seeds)}), got "
                f"{self.thresholds!r}"
            )

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
        check_int(last, "last", minimum=1)
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


#: The score functions of a segmenter, by metric (membranes also get boundary F and V_rand).
_SCORES = {
    "dice": metrics.dice,
    "iou": metrics.iou,
    "hd95": metrics.hd95,
    "boundary_f": metrics.boundary_f1,
    "v_rand": metrics.v_rand,
}


#: The thresholds `validation_thresholds` chooses from: notebook 04's 0.05, 0.10, ..., 0.95 and
#: three more at each end (measured: a sharp membrane map's best V_rand lies near 0.02).
VALIDATION_THRESHOLDS = np.round(
    np.concatenate([[0.01, 0.02, 0.03], metrics.THRESHOLDS, [0.97, 0.98, 0.99]]), 2
)


def validation_thresholds(masks, probabilities, metric_names, thresholds=None) -> dict:
    """Per metric, the threshold (of `thresholds`, default `VALIDATION_THRESHOLDS`) with the best
    score on these validation masks and probabilities: highest, or lowest for HD95."""
    unknown = [name for name in metric_names if name not in _SCORES]
    if isinstance(metric_names, str) or not metric_names or unknown:
        raise ValueError(f"metric_names must be a list of {sorted(_SCORES)}, got {metric_names!r}")
    grid = VALIDATION_THRESHOLDS if thresholds is None else np.asarray(thresholds, float)
    if grid.ndim != 1 or not len(grid) or not np.all((grid > 0) & (grid < 1)):
        raise ValueError(f"thresholds must be numbers strictly between 0 and 1, got {thresholds!r}")
    chosen = {}
    for name in metric_names:
        scores = np.array([_SCORES[name](masks, probabilities, t) for t in grid])
        best = np.argmin(scores) if name in LOWER_IS_BETTER else np.argmax(scores)
        chosen[name] = float(grid[int(best)])
    return chosen


def _segmenter_scores(model, val, test, membranes: bool, threshold) -> tuple[dict, dict]:
    """A segmenter's test scores at `threshold` (a number), or with "validation" at each metric's
    threshold chosen on the validation set; with the thresholds used (by metric)."""
    names = ["dice", "iou", "hd95", *(["boundary_f", "v_rand"] if membranes else [])]
    if threshold != "validation":
        return training.evaluate(model, *test, threshold, membranes), {}
    chosen = validation_thresholds(val[1], training.predict(model, val[0]), names)
    probabilities = training.predict(model, test[0])
    scores = {name: _SCORES[name](test[1], probabilities, chosen[name]) for name in names}
    return scores, chosen


def run_seeds(
    name: str,
    profile,
    seeds=None,
    verbose: bool = False,
    head: int | None = None,
    threshold: float | str = 0.5,
    **changes,
) -> SeedRuns:
    """Train (or load) recipe `name` once per seed and score each on the test set.

    `seeds` defaults to range(profile.num_seeds). A segmenter gets Dice, IoU and HD95; a
    deep-supervised one is scored on the mean of its heads (`models.average_heads`), or, with
    `head=k`, on its sub-network Lk alone (`models.prune_unet_plus_plus`); membrane models also
    get the boundary F-score and V_rand. A segmenter is scored at `threshold` (0.5), or with
    "validation" each metric at the threshold best for it on the validation set, per seed
    (`validation_thresholds`; the choices are in `SeedRuns.thresholds`). A VAE or plain
    autoencoder of the crops gets `generative_scores` (against the noisy and the noise-free test
    crops; sample FD as the mean over the `judges`; samples from a Gaussian fitted to the
    training crops' codes). `changes` change the recipe's training as in `train`."""
    chosen = recipe(name)
    check_profile(profile)
    check_bool(verbose, "verbose")
    if head is not None:
        check_int(head, "head", minimum=1)
    if threshold != "validation":
        check_number(threshold, "threshold", 0, 1, low_open=True, high_open=True)
    suffix = _check_changes(changes)
    is_generator = chosen.builder is models.build_vae
    if is_generator and not chosen.dataset.startswith("crops"):
        raise ValueError(
            f"run_seeds scores the VAEs of the crops; {name!r} learns {chosen.dataset}"
        )
    if is_generator and threshold != 0.5:
        raise ValueError(f"threshold must be 0.5 for a VAE ({name!r} is scored without one)")
    seeds = _check_seeds(seeds, profile)
    train_seeds(name, profile, seeds, **changes)  # the seeds not cached yet, several at a time
    (train_images, _), val, test = splits(name, profile)
    quality = judges(profile) if is_generator else None
    clean = clean_test_crops(profile) if is_generator else None
    scores, histories, thresholds = [], [], []
    for seed in seeds:
        model, history = train(name, profile, seed, verbose=verbose, **changes)
        saved = _scores_file(_checkpoint(name, profile, seed, changes), head, threshold)
        if saved.exists():  # scored before, by this code, from this very checkpoint
            score, used = json.loads(saved.read_text(encoding="utf-8"))
        elif is_generator:
            score, used = generative_scores(model, test[0], quality, clean, train_images), {}
        else:
            score, used = _segmenter_scores(
                scored_model(model, head), val, test, chosen.dataset == "membranes", threshold
            )
        if not saved.exists():
            _write_atomically(saved, json.dumps([score, used], default=float))
        scores.append(score)
        thresholds.append(used)
        histories.append(history)
    label = name + suffix if head is None else f"{name + suffix} L{head}"
    if threshold == "validation":
        label += " (thresholds chosen on validation)"
    return SeedRuns(label, seeds, scores, histories, [t for t in thresholds if t])


@functools.lru_cache(maxsize=1)
def _scoring_code() -> str:
    """A hash of everything that could change a score: every source file of `utils` and the
    versions of TensorFlow, Keras and NumPy. Edit any of them and every model is scored anew."""
    import tensorflow as tf

    digest = hashlib.sha256()
    for path in sorted((Path(ROOT) / "utils").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode() + path.read_bytes())
    digest.update(f"tf {tf.__version__} keras {keras.__version__} numpy {np.__version__}".encode())
    return digest.hexdigest()


def _scores_file(checkpoint: Path, head, threshold) -> Path:
    """Where the test scores of the model cached in `checkpoint` are kept: scoring a model costs
    seconds, and several notebooks score the same models (05a and 05b 05's, 06a and 07 06's)."""
    key = json.dumps([_scoring_code(), head, threshold])
    return checkpoint.with_name(
        f"{checkpoint.stem}.scores-{hashlib.sha256(key.encode()).hexdigest()[:12]}.json"
    )


def _write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file, so no reader sees half of it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def scored_model(model, head: int | None = None):
    """The one-output model that is scored: a deep-supervised model's mean of heads, or its
    sub-network L`head`; any other model as it is (`head` must then be None)."""
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a Keras model, got {type(model).__name__}")
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
    runs = list(runs) if isinstance(runs, Iterable) and not isinstance(runs, str) else None
    if not runs or not all(isinstance(run, SeedRuns) for run in runs):
        raise ValueError(f"runs must be a non-empty sequence of SeedRuns, got {runs!r}")
    if isinstance(metrics, str):
        raise ValueError(f"metrics must be a list of metric names, got {metrics!r}")
    metrics = list(metrics or runs[0].scores[0])
    labels = list(labels or [run.name for run in runs])
    if len(labels) != len(runs):
        raise ValueError(f"labels must name each of the {len(runs)} runs, got {len(labels)}")
    if not all(isinstance(label, str) and label for label in labels):
        raise ValueError(f"labels must be non-empty strings, got {labels!r}")
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

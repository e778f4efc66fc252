"""The comparison rule: two recipes' per-seed results on one metric, and a categorical verdict.

Every comparison the course interprets ends here. `verdict(first, second, metric)` pairs the two
recipes seed by seed, estimates the mean difference with a 95 % paired-t confidence interval and
reads the interval against two boundaries: 0 (is one better?) and ±δ, the smallest difference that
matters on that metric (`SMALLEST_DIFFERENCES`, fixed before the runs). Four outcomes:

- "equivalent": the interval lies inside ±δ (two one-sided tests at 2.5 % each: conservative) —
  whatever the difference is, it is smaller than one that matters;
- "better" / "worse": otherwise, the interval excludes 0 (the first is better / worse; for a
  metric without a better direction, `DIRECTIONLESS`, higher / lower);
- "undetermined": anything else — too few seeds, or too much spread, to say.

Round-off moves every training a little, so the same run on another computer gives a slightly
different interval. Each metric has a stability margin, measured (`SMALLEST_DIFFERENCES`): how far
an interval's ends moved between computers. Two rules use it, one to claim, one to confirm:

- **claim**: an outcome is claimed only if every interval within the margin of this one has it
  (the interval clears 0 and ±δ by the margin); else "undetermined";
- **confirm**: a rerun of a claim (`expected`, what the text says) confirms a decided outcome if
  its own interval still has it without margin, and "undetermined" if no outcome clears the
  boundaries by twice the margin. So a claim moves only if an end moved by more than the margin.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import stats

from utils.checks import check_choice, check_number, check_text
from utils.experiments.seeds import DIRECTIONLESS, LOWER_IS_BETTER, METRIC_LABELS, SeedRuns

__all__ = [
    "CONFIDENCE",
    "MARGIN",
    "OUTCOMES",
    "SMALLEST_DIFFERENCES",
    "Smallest",
    "Verdict",
    "confirms",
    "interval",
    "verdict",
]

#: The confidence level of every interval.
CONFIDENCE = 0.95

#: The outcomes, from the first recipe's side.
OUTCOMES = ("better", "worse", "equivalent", "undetermined")

#: The stability margin of a metric without a measured one (a `delta` given to `verdict`), as a
#: fraction of δ.
MARGIN = 0.25


@dataclasses.dataclass(frozen=True)
class Smallest:
    """A metric's smallest difference that matters (δ) and its stability margin, in its units,
    with the reason for each."""

    delta: float
    unit: str
    reason: str
    margin: float  # how far an interval's end must clear 0 and ±δ (see `verdict`)

    def __post_init__(self):
        check_number(self.delta, "delta", 0, low_open=True, expected="> 0")
        check_number(self.margin, "margin", 0, expected=">= 0")
        if not isinstance(self.unit, str):
            raise ValueError(f"unit must be a string, got {self.unit!r}")
        check_text(self.reason, "reason")


_SEGMENTATION = (
    "two points of overlap: about the gains papers report between segmenters (UNet++ over UNet: "
    "1-3 IoU points); smaller gaps are below the spread between seeds of one recipe"
)
_FD = (
    "below 2 the sample grids look alike, and one recipe's sample FD already spreads by 1-2 "
    "between seeds"
)
_NATS = "half a nat per image: about 0.25 dB of PSNR on these crops, invisible in the images"
_PSNR = "a quarter of a decibel: below it no reader sees a difference in the images"

#: δ and the stability margin per metric, committed before the stored run (issue 29). A margin
#: is 1.25 times the largest move of an interval's end (five seeds) measured when the same runs
#: were retrained with oneDNN off, with one thread instead of two, and in the Colab-versions
#: environment (Python 3.13, TF 2.20, Keras 3.13): UNet++ vs UNet in the comparison setting (Dice
#: 0.010, IoU 0.013, boundary F 0.015, V_rand 0.011, HD95 0.34 px), the VAE vs β = 4
#: (reconstruction above floor 1.07 nats, KL 0.132, sample FD 0.41, midpoint FD 1.02, old measure
#: 0.16, PSNR 0.198 dB), notebook 02's upsamplers (PSNR gain: no move); and at least a tenth of
#: δ. Metrics not measured take a measured one's (IoU after some epochs: IoU's; the crops' Dice,
#: HD95 and PSNR: the membranes' and the VAE's). Added before issue 32's runs: the fitted-Gaussian
#: FD takes the sample FD's, the scores against noise-free crops those against noisy ones, and
#: the active dimensions δ = 1 with a margin of half a dimension (a count moves in whole steps).
SMALLEST_DIFFERENCES: dict[str, Smallest] = {
    "dice": Smallest(0.02, "", _SEGMENTATION, 0.013),
    "iou": Smallest(0.02, "", _SEGMENTATION, 0.017),
    "boundary_f": Smallest(0.02, "", _SEGMENTATION, 0.019),
    "v_rand": Smallest(0.02, "", _SEGMENTATION, 0.015),
    "hd95": Smallest(
        0.5,
        "px",
        "half a pixel: a boundary moved by less is not visible at the image's resolution",
        0.42,
    ),
    "psnr": Smallest(0.25, "dB", _PSNR, 0.25),
    "PSNR gain": Smallest(0.25, "dB", "as PSNR: the gain is a difference of PSNRs", 0.025),
    "interior PSNR gain": Smallest(0.25, "dB", "as PSNR: the gain is a difference of PSNRs", 0.025),
    "excess": Smallest(0.5, "nats", _NATS, 1.4),
    "kl": Smallest(0.5, "nats", _NATS, 0.17),
    "sample_fd": Smallest(2.0, "", _FD, 0.51),
    "fitted_fd": Smallest(2.0, "", _FD, 0.51),
    "excess_clean": Smallest(0.5, "nats", _NATS, 1.4),
    "psnr_clean": Smallest(0.25, "dB", _PSNR, 0.25),
    "active": Smallest(
        1.0, "dimensions", "one latent dimension: the smallest change in what a code can hold", 0.5
    ),
    "sample_statistics_fd": Smallest(2.0, "", _FD, 0.2),
}


def _smallest(metric: str) -> Smallest | None:
    """δ of `metric`; a validation IoU after some epochs ("iou_epoch3") counts as IoU."""
    if metric.startswith("iou_epoch"):
        return SMALLEST_DIFFERENCES["iou"]
    if metric.startswith("sample_fd_judge"):  # one judge's sample FD: as the mean's
        return SMALLEST_DIFFERENCES["sample_fd"]
    return SMALLEST_DIFFERENCES.get(metric)


def interval(differences, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """(mean, low, high): the mean of paired `differences` and its `confidence` paired-t interval
    (infinite with fewer than two differences)."""
    values = np.asarray(differences, float)
    if values.ndim != 1 or len(values) == 0 or not np.all(np.isfinite(values)):
        raise ValueError(
            f"differences must be a non-empty 1-D array of finite numbers, got {values}"
        )
    check_number(confidence, "confidence", 0, 1, low_open=True, high_open=True)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, -np.inf, np.inf
    half = stats.t.ppf((1 + confidence) / 2, len(values) - 1) * values.std(ddof=1)
    half /= np.sqrt(len(values))
    return mean, mean - float(half), mean + float(half)


def _classify(low: float, high: float, delta: float) -> str:
    """The outcome of an interval (of the first's advantage) against 0 and ±δ, without margin.
    Equivalence is read first: a difference that is real but smaller than δ does not matter."""
    if -delta < low and high < delta:
        return "equivalent"
    if low > 0:
        return "better"
    if high < 0:
        return "worse"
    return "undetermined"


def _stable_outcome(low: float, high: float, delta: float, margin: float) -> str:
    """The outcome if every interval with ends within `margin` of (low, high) has the same one,
    else "undetermined" (the outcome changes only where an end crosses 0 or ±δ: test there).
    With margin 0, the outcome of (low, high) itself."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "undetermined"
    boundaries = (-delta, 0.0, delta)

    def candidates(end):
        near = [b for b in boundaries if end - margin <= b <= end + margin]
        tiny = 1e-9 * max(1.0, delta)
        return {end - margin, end + margin, *(b - tiny for b in near), *(b + tiny for b in near)}

    outcomes = {
        _classify(lo, hi, delta) for lo in candidates(low) for hi in candidates(high) if lo <= hi
    }
    return outcomes.pop() if len(outcomes) == 1 else "undetermined"


def confirms(expected: str, low: float, high: float, delta: float, margin: float) -> bool:
    """Whether an interval (low, high) confirms the claim `expected`: a decided outcome if the
    interval has it without margin, "undetermined" if no outcome is clear by twice the margin.
    Any interval whose ends lie within `margin` of one that claimed `expected` confirms it."""
    check_choice(expected, "expected", OUTCOMES)
    for name, end in (("low", low), ("high", high)):
        if not isinstance(end, (int, float, np.floating)) or np.isnan(end):
            raise ValueError(f"{name} must be a number (an end of the interval), got {end!r}")
    if low > high:
        raise ValueError(f"low must be <= high, got low={low} and high={high}")
    check_number(delta, "delta", 0, low_open=True, expected="> 0")
    check_number(margin, "margin", 0, expected=">= 0")
    if expected == "undetermined":
        return _stable_outcome(low, high, delta, 2 * margin) == "undetermined"
    return _stable_outcome(low, high, delta, 0.0) == expected


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of comparing two recipes on one metric: a categorical line and the numbers.

    `estimate`, `low` and `high` are the first recipe's mean advantage and its interval, in the
    metric's units, positive where the first is better (lower, for a lower-is-better metric);
    `advantages` the same per seed; `delta` and `margin` the boundaries it was read against;
    `claimed` the outcome this run claims on its own, `expected` the claim it was asked to confirm
    (None: none), and `outcome` the one it reports: `expected` where confirmed, else `claimed`."""

    outcome: str  # one of OUTCOMES, from the first recipe's side
    line: str  # "Verdict: ..." — words only, the same on every machine
    details: str  # the numbers behind it
    names: tuple[str, str] = ("first", "second")
    metric: str = ""
    label: str = ""  # the metric in words, as the line names it
    estimate: float = 0.0
    low: float = 0.0
    high: float = 0.0
    delta: float = 0.0
    margin: float = 0.0
    advantages: tuple[float, ...] = ()
    claimed: str = ""
    expected: str | None = None

    def __post_init__(self):
        check_choice(self.outcome, "outcome", OUTCOMES)
        check_text(self.line, "line")
        check_text(self.details, "details")
        if self.expected is not None:
            check_choice(self.expected, "expected", OUTCOMES)

    @property
    def confirmed(self) -> bool:
        """Whether this run confirms the expected claim (False where none was given)."""
        return self.expected is not None and self.outcome == self.expected

    def __str__(self) -> str:
        return f"{self.line}\n{self.details}"


def _signed(value: float, digits: int) -> str:
    return f"{value:+.{digits}f}" if np.isfinite(value) else ("+inf" if value > 0 else "-inf")


def _check_labels(labels) -> None:
    if labels is not None and (
        isinstance(labels, str)
        or len(labels) != 2
        or not all(isinstance(label, str) and label for label in labels)
    ):
        raise ValueError(f"labels must be None or two names, got {labels!r}")


def verdict(
    first: SeedRuns,
    second: SeedRuns,
    metric: str = "dice",
    labels=None,
    delta: float | None = None,
    margin: float | None = None,
    expected: str | None = None,
) -> Verdict:
    """Compare two recipes' per-seed results on `metric`, seed by seed, with the rule above.

    `delta` (default: `SMALLEST_DIFFERENCES[metric].delta`) is the smallest difference that
    matters, in the metric's units; `margin` (default: the metric's measured one, else `MARGIN` ×
    δ) how far the interval's ends must clear each boundary to claim an outcome. `expected` (one
    of OUTCOMES, or None) is the outcome a stored run claimed: reported if this run confirms it
    (`confirms`), else this run's own claim is. `labels` names the two in the verdict (default:
    the recipes' names)."""
    for name, runs in (("first", first), ("second", second)):
        if not isinstance(runs, SeedRuns):
            raise ValueError(f"{name} must be a SeedRuns (run_seeds), got {type(runs).__name__}")
    check_text(metric, "metric")
    _check_labels(labels)
    if first.seeds != second.seeds:
        raise ValueError(
            f"the two runs must use the same seeds, got {first.seeds} and {second.seeds}"
        )
    a, b = first.values(metric), second.values(metric)  # a clear error for an unknown metric
    known = _smallest(metric)
    if delta is None:
        if known is None:
            raise ValueError(
                f"delta must be given for metric {metric!r} (no smallest difference is set for "
                f"it; known: {sorted(SMALLEST_DIFFERENCES)})"
            )
        delta = known.delta
    check_number(delta, "delta", 0, low_open=True, expected="> 0")
    if margin is None:
        margin = known.margin if known is not None else MARGIN * delta
    check_number(margin, "margin", 0, expected=">= 0")
    if expected is not None:
        check_choice(expected, "expected", OUTCOMES)
    names = tuple(labels or (first.name, second.name))
    label = METRIC_LABELS.get(metric, metric)
    if metric.startswith("iou_epoch") and metric[9:].isdigit():
        label = f"validation IoU after epoch {metric[9:]}"
    unit = f" {known.unit}" if known and known.unit else ""
    lower = metric in LOWER_IS_BETTER
    advantages = (b - a) if lower else (a - b)  # > 0 where the first is better
    estimate, low, high = interval(advantages)
    claimed = _stable_outcome(low, high, delta, margin)
    confirmed = expected is not None and confirms(expected, low, high, delta, margin)
    outcome = expected if confirmed else claimed
    if outcome in ("better", "worse") and metric in DIRECTIONLESS:
        above, below = names if outcome == "better" else names[::-1]
        line = f"Verdict: {above} higher than {below} on {label}"
    elif outcome in ("better", "worse"):
        better, worse = names if outcome == "better" else names[::-1]
        line = f"Verdict: {better} better than {worse} on {label}"
    elif outcome == "equivalent":
        line = f"Verdict: {names[0]} and {names[1]} equivalent on {label}"
    else:
        line = f"Verdict: undetermined — {names[0]} vs {names[1]} on {label}"
    digits = 3 if delta < 0.1 else 2
    sense = " (lower is better)" if lower else ""
    wins = int((advantages > 0).sum())
    losses = int((advantages < 0).sum())
    ahead = "higher" if metric in DIRECTIONLESS else "better"
    raw = a - b
    raw_low, raw_high = (-high, -low) if lower else (low, high)
    values = "; ".join(
        f"{name} ({', '.join(f'{v:.{digits}f}' for v in runs)})"
        for name, runs in zip(names, (a, b), strict=True)
    )
    details = (
        f"{label}{sense}: {names[0]} − {names[1]} = {_signed(float(raw.mean()), digits)}{unit}, "
        f"95 % CI [{_signed(raw_low, digits)}, {_signed(raw_high, digits)}] "
        f"(paired t, {len(a)} seeds); {names[0]} {ahead} on {wins}/{len(a)} seeds, "
        f"{names[1]} on {losses}/{len(a)}; δ ±{delta:g}{unit}, margin {margin:.{digits}g}"
        f"{_confirmation(expected, confirmed, claimed, metric)} | {values}"
    )
    return Verdict(
        outcome,
        line,
        details,
        names=(names[0], names[1]),
        metric=metric,
        label=label,
        estimate=estimate,
        low=low,
        high=high,
        delta=float(delta),
        margin=float(margin),
        advantages=tuple(float(v) for v in advantages),
        claimed=claimed,
        expected=expected,
    )


def _confirmation(expected: str | None, confirmed: bool, claimed: str, metric: str) -> str:
    """The details' note on the expected claim: none, confirmed, or not (and what this run says)."""
    if expected is None:
        return ""
    if metric in DIRECTIONLESS:  # the words the line uses: higher / lower
        words = {"better": "higher", "worse": "lower"}
        expected, claimed = words.get(expected, expected), words.get(claimed, claimed)
    if confirmed and claimed != expected:  # inside the margin: a rerun may confirm, not claim
        return f"; confirms the expected outcome ({expected}; on its own, this run: {claimed})"
    if confirmed:
        return f"; confirms the expected outcome ({expected})"
    return f"; does NOT confirm the expected outcome ({expected}; this run: {claimed})"

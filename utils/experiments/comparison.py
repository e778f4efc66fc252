"""The comparison rule: two recipes' per-seed results on one metric, and a categorical verdict.

Every comparison the course interprets ends here: `verdict(first, second, metric)` returns a
`Verdict` whose `line` ("Verdict: ...") has words only, the numbers on the next line.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from utils.checks import check_choice, check_text
from utils.experiments.seeds import LOWER_IS_BETTER, METRIC_LABELS, SeedRuns

__all__ = ["BOUNDARY", "MARGIN", "Verdict", "verdict"]

_OUTCOMES = ("above", "below", "inconclusive")

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

    def __post_init__(self):
        check_choice(self.outcome, "outcome", _OUTCOMES)
        check_text(self.line, "line")
        check_text(self.details, "details")

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
    for name, runs in (("first", first), ("second", second)):
        if not isinstance(runs, SeedRuns):
            raise ValueError(f"{name} must be a SeedRuns (run_seeds), got {type(runs).__name__}")
    check_text(metric, "metric")
    if labels is not None and (
        isinstance(labels, str)
        or len(labels) != 2
        or not all(isinstance(label, str) and label for label in labels)
    ):
        raise ValueError(f"labels must be None or two names, got {labels!r}")
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

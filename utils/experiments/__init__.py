"""Experiments: the models the notebooks train by name, and the comparisons they decide over seeds.

Each piece reads alone:

- `recipes`     — named recipes (builder, data, training settings from the profile); `train`,
                  `splits`, `show` (the plain calls a recipe makes). Notebooks 04-07.
- `seeds`       — `run_seeds`: a recipe once per seed, scored on its test set; `SeedRuns`,
                  `summary`. Notebooks 02, 04-07.
- `comparison`  — the comparison rule: `verdict` and its `Verdict:` line. Notebooks 02, 04-07.
- `generative`  — a validated quality measure for generated images; a VAE's scores. 06, 07.
- `sim_to_real` — from synthetic to real: the shipped field's blocks, fine-tuning over seeds. 04.

Every public name is also here (`experiments.train`, `experiments.verdict`, ...).
"""

from utils.experiments.comparison import BOUNDARY, MARGIN, Verdict, verdict
from utils.experiments.generative import (
    HELD_OUT_SEED,
    REFERENCE_SEED,
    SampleQuality,
    generative_scores,
    midpoints,
    num_quality_images,
    prior_codes,
    real_crops,
    sample_quality,
)
from utils.experiments.recipes import (
    BETAS,
    CHANGEABLE,
    CROP_EPOCHS,
    FEATURE_FILTERS,
    RECIPES,
    Recipe,
    checkpoint_name,
    recipe,
    show,
    splits,
    train,
    wide_unet_filters,
)
from utils.experiments.seeds import (
    LOWER_IS_BETTER,
    METRIC_LABELS,
    SeedRuns,
    run_seeds,
    scored_model,
    summary,
)
from utils.experiments.sim_to_real import (
    REAL_BATCH_SIZE,
    REAL_BLOCKS,
    REAL_EPOCHS,
    REAL_LABELS,
    REAL_LEARNING_RATE,
    REAL_STARTS,
    block_tiles,
    predict_blocks,
    real_blocks,
    real_field,  # noqa: F401  (the old name of real_field_scaled_fine_tune)
    real_field_scaled_fine_tune,
    real_runs,
    real_scale,
    real_scores,
    real_threshold,
    real_windows,
    train_on_real,
)

__all__ = [
    "BETAS",
    "BOUNDARY",
    "CHANGEABLE",
    "CROP_EPOCHS",
    "FEATURE_FILTERS",
    "HELD_OUT_SEED",
    "LOWER_IS_BETTER",
    "MARGIN",
    "METRIC_LABELS",
    "REAL_BATCH_SIZE",
    "REAL_BLOCKS",
    "REAL_EPOCHS",
    "REAL_LABELS",
    "REAL_LEARNING_RATE",
    "REAL_STARTS",
    "RECIPES",
    "REFERENCE_SEED",
    "Recipe",
    "SampleQuality",
    "SeedRuns",
    "Verdict",
    "block_tiles",
    "checkpoint_name",
    "generative_scores",
    "midpoints",
    "num_quality_images",
    "predict_blocks",
    "prior_codes",
    "real_blocks",
    "real_crops",
    "real_field_scaled_fine_tune",
    "real_runs",
    "real_scale",
    "real_scores",
    "real_threshold",
    "real_windows",
    "recipe",
    "run_seeds",
    "sample_quality",
    "scored_model",
    "show",
    "splits",
    "summary",
    "train",
    "train_on_real",
    "verdict",
    "wide_unet_filters",
]

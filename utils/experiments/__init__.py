"""Experiments: the models the notebooks train by name, and the comparisons they decide over seeds.

Each piece reads alone:

- `recipes`     — named recipes (builder, data, training settings from the profile); `train`,
                  `splits`, `show` (the plain calls a recipe makes). Notebooks 04-07.
- `parallel`    — `train_seeds`: the seeds not cached yet, trained two at a time in worker
                  processes (`workers`), with the weights of one after the other. Notebooks 04-07.
- `seeds`       — `run_seeds`: a recipe once per seed, scored on its test set; `SeedRuns`,
                  `summary`. Notebooks 02, 04-07.
- `comparison`  — the comparison rule: a paired 95 % interval read against 0 and ±δ
                  (`SMALLEST_DIFFERENCES`); `verdict`, its `Verdict:` line. Notebooks 02, 04-07.
- `generative`  — a validated quality measure for generated images; a VAE's scores. 06, 07.
- `sim_to_real` — from synthetic to real: the shipped field's blocks, fine-tuning over seeds. 04.

Every public name is also here (`experiments.train`, `experiments.verdict`, ...).
"""

from utils.experiments import comparison, generative, parallel, recipes, seeds, sim_to_real
from utils.experiments.comparison import *  # noqa: F403  (each piece's __all__, listed below)
from utils.experiments.generative import *  # noqa: F403
from utils.experiments.parallel import *  # noqa: F403
from utils.experiments.recipes import *  # noqa: F403
from utils.experiments.seeds import *  # noqa: F403
from utils.experiments.sim_to_real import *  # noqa: F403
from utils.experiments.sim_to_real import real_field  # noqa: F401  (the old name)

__all__ = [
    *recipes.__all__,
    *parallel.__all__,
    *seeds.__all__,
    *comparison.__all__,
    *generative.__all__,
    *sim_to_real.__all__,
]

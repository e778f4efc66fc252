"""The course package: what the notebooks import, written to be read. One concern per module.

Start a notebook (every notebook, first code cell):
- `setup`       `PROFILE = setup.start()`: seeds, threads, quiet logs, the profile; Colab installs
- `config`      the settings everything reads: profiles, paths, the model cache, pins (00, 04)

Build by hand, check against Keras:
- `ops`         convolution, pooling, upsampling, transposed convolution in NumPy (01, 02; 04b §1)
- `verify`      `assert_close` and a Keras reference convolution: every "by hand" checked (01-06)
- `exercises`   `check` and `check_function`: a verdict and a hint, never the answer (00-07)
- `answers`     the answer key: each exercise's reference, cases and hints (reading it is reading
                the answers; `make grade` hides it from the submissions it runs)
- `cases`       the inputs the coding exercises are checked on, each with what it is about
- `references`  the coding exercises' references that are not the course's own functions
- `timing`      best-of-several wall-clock timings (01 §5; inference speed in 05, 07)

Data and measures:
- `synthetic`   the embedded datasets drawn by code: nuclei, membranes, single-nucleus crops (03)
- `data`        splits, aligned augmentation, tf.data pipelines, real datasets, the shipped field
                (03; 04, 04a; 06) — it re-exports `synthetic`
- `metrics`     Dice, IoU, HD95, boundary F, V_rand in NumPy (03-07) — re-exports `generated`
- `generated`   measures of generated images: PSNR, Fréchet distance, the Bernoulli floor (06, 07)
- `losses`      the Keras losses: soft Dice, BCE + Dice, UNet++'s; the VAE's two terms (03-06)

Models and training:
- `models`      UNet (04), UNet++ (05), the feature network (06); FLOPs (07) — re-exports `vae`
- `vae`         the VAE: `Sampling`, encoder, decoder, `VAE.train_step` on the negative ELBO (06)
- `source`      the source document's Keras listings, run as written (04, 06)
- `checks`      argument checks: a clear `ValueError` naming the argument, never a deep traceback
- `training`    `build`, `fit` (one line per epoch, the best checkpoint cached), `evaluate` (04-07)
- `cache_key`   what names a cached checkpoint: model, settings, data, and the code that trains it
- `experiments` models by name and comparisons over seeds (02a, 04-07), a package:
                `recipes` (`train`, `show`), `seeds` (`run_seeds`), `comparison` (`verdict`),
                `generative` (sample quality, 06-07), `sim_to_real` (the real field, 04a)

Pictures:
- `plotting`    images on one scale, curves, kernels, verdicts (01-07) — re-exports `diagrams` and
                `overlays`
- `overlays`    TP / FP / FN overlays, instance labels coloured so that near ones differ (03-04a)
- `diagrams`    drawn figures: a convolution's geometry (01), UNet (00, 04) and UNet++ (05)
- `explorers`   interactive explorers: a convolution's geometry (01), upsampling's overlaps (02),
                the 2-D VAE's latent space (06); live with ipywidgets 7 or 8

Machinery no notebook imports (grading, the website, browser checks, benchmarks) lives in `tools/`.
"""

__version__ = "0.1.0"

"""Class activities: for each notebook, one change a class makes live, and what it does, measured.

TEACHING.md quotes a run of `python -m tools.activities` (`make activities`), which runs every
activity in the active profile (COURSE_PROFILE; `cpu` by default) and prints what happens: the
measured values, then one `Outcome:` line with no numbers in it. The training activities (04, 05,
06) reuse the notebooks' cached models where they exist (run the notebook first, on the same
cache), otherwise they train them.
"""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import numpy as np

from tools import classroom
from tools.course import NOTEBOOK_DIR
from tools.notebooks import read_notebook, write_notebook
from utils import data, experiments, metrics, models, ops, setup


def profiles_table() -> list[str]:
    """00: what switching the profile changes (image side, images, epochs, seeds)."""
    lines = [f"{'profile':<8}{'image side':>11}{'train':>7}{'epochs':>8}{'seeds':>7}"]
    for profile in setup.PROFILES.values():
        lines.append(
            f"{profile.name:<8}{profile.image_size:>11}{profile.num_train:>7}"
            f"{profile.num_epochs:>8}{profile.num_seeds:>7}"
        )
    lines.append("Outcome: only sizes and budgets change; the code of every cell stays the same")
    return lines


def convolutions_to_see(side: int) -> dict[str, int]:
    """01: how many 3x3 convolutions until one output pixel sees `side` input pixels: stacked
    plainly, with a 2x2 pooling after every two (a UNet encoder), or with dilations 1, 2, 4, ..."""
    conv, pool = (3, 1), (2, 2)
    counts = {}
    designs = {
        "plain": lambda n: [conv] * n,
        "pooling after every two": lambda n: [
            layer for k in range(n) for layer in ([conv, pool] if k % 2 else [conv])
        ],
        "dilations 1, 2, 4, ...": lambda n: [(3, 1, 2**k) for k in range(n)],
    }
    for name, stack in designs.items():
        n = 1
        while ops.receptive_field(stack(n))[0] < side:
            n += 1
        counts[name] = n
    return counts


def overlap_ratio(kernel_size: int, stride: int = 2) -> float:
    """02: how unevenly a transposed convolution (all-ones kernel) covers its output: the largest
    over the smallest number of contributions away from the border (1 = even, no checkerboard)."""
    ones = np.ones((1, 12, 12, 1), np.float32)
    kernel = np.ones((kernel_size, kernel_size, 1, 1), np.float32)
    coverage = ops.conv2d_transpose(ones, kernel, strides=stride)[0, ..., 0]
    inner = coverage[kernel_size:-kernel_size, kernel_size:-kernel_size]
    return float(inner.max() / inner.min())


def shifted_scores(profile, shifts=(0, 1, 2, 4)) -> dict[int, dict[str, float]]:
    """03: Dice, IoU and HD95 of the first nuclei test mask against itself shifted right."""
    _, _, (_, masks) = data.load_embedded("nuclei", profile)
    truth = masks[:1]
    return {
        shift: {
            "dice": float(metrics.dice(truth, np.roll(truth, shift, axis=2))),
            "iou": float(metrics.iou(truth, np.roll(truth, shift, axis=2))),
            "hd95": float(metrics.hd95(truth, np.roll(truth, shift, axis=2))),
        }
        for shift in shifts
    }


def rare_foreground(profile, **changes) -> experiments.SeedRuns:
    """04: appendix 04b's rare-foreground BCE run (section 3) with changed training settings."""
    return experiments.run_seeds("rare-bce", profile, **changes)


def seed_by_seed(profile) -> tuple[experiments.SeedRuns, experiments.SeedRuns]:
    """05: UNet and UNet++ (notebook 05, section 2) seed by seed: what one seed alone would say."""
    seeds = range(
        10 if profile.name != "ci" else profile.num_seeds
    )  # the notebook's HEADLINE_SEEDS
    return (
        experiments.run_seeds("small-unet", profile, seeds),
        experiments.run_seeds("small-unetpp", profile, seeds),
    )


def sampling_temperature(profile, temperatures=(0.5, 1.0, 2.0)) -> dict[float, list[float]]:
    """06: the sample-quality distance (`experiments.sample_quality`) of samples decoded from
    prior codes multiplied by a temperature, for each seed of notebook 06's VAE."""
    quality = experiments.sample_quality(profile)
    count = len(quality.reference)
    distances: dict[float, list[float]] = {t: [] for t in temperatures}
    for seed in range(profile.num_seeds):
        vae, _ = experiments.train("vae-crops", profile, seed)
        codes = experiments.prior_codes(count, vae.encoder.output[0].shape[-1])
        for temperature in temperatures:
            samples = vae.decoder.predict(temperature * codes, verbose=0)
            distances[temperature].append(quality.distance(np.asarray(samples)))
    return distances


def flops_by_side(profile, sides=(64, 128)) -> dict[str, list[int]]:
    """07: FLOPs per image of the three models at two image sides."""
    filters = models.scaled_filters(models.SOURCE_FILTERS, profile.width)
    vae_filters = experiments.recipe("vae-crops").arguments(profile)[0]["filters"]
    builders = {
        "UNet": lambda s: models.build_unet((s, s, 1), filters, upsampling="transpose"),
        "UNet++": lambda s: models.build_unet_plus_plus((s, s, 1), filters, False),
        "VAE": lambda s: models.build_vae((s, s, 1), filters=vae_filters),
    }
    return {
        name: [models.flops_per_image(build(s)) for s in sides] for name, build in builders.items()
    }


#: A common mistake for each coding exercise, as a learner would write it: TEACHING.md quotes what
#: the checkers say to them (`write_mistakes`, then `make grade`).
MISTAKES = {
    "01_convolution_by_hand": {
        "conv_same": """def conv_same(X, K):
    kh, kw = K.shape
    top, left = kh // 2, kw // 2  # the extra row of an even kernel on top (TensorFlow: bottom)
    padded = np.pad(X, ((top, kh - 1 - top), (left, kw - 1 - left)))
    return correlate_by_hand(padded, K)""",
        "maxpool_backward": """def maxpool_backward(X, G):
    return np.repeat(np.repeat(G, 2, axis=0), 2, axis=1) / 4  # spread evenly, as if averaged""",
    },
    "02_upsampling_by_hand": {
        "conv_matrix": """def conv_matrix(K, n, stride):
    k = K.shape[0]
    m = (n - k) // stride + 1
    C = np.zeros((n * n, m * m), np.float32)  # one column per output pixel: the transpose
    for r in range(m * m):
        i, j = divmod(r, m)
        weights = np.zeros((n, n), np.float32)
        weights[i * stride : i * stride + k, j * stride : j * stride + k] = K
        C[:, r] = weights.ravel()
    return C""",
        "transpose_by_matrix": """def transpose_by_matrix(Y, K, n, stride):
    k, m = K.shape[0], Y.shape[0]
    C = np.zeros((m * m, n * n), np.float32)
    for r in range(m * m):
        i, j = divmod(r, m)
        window = np.zeros((n, n), np.float32)
        window[i * stride : i * stride + k, j * stride : j * stride + k] = K
        C[r] = window.ravel()
    return C.T @ Y.ravel()  # not reshaped to n x n""",
    },
    "03_data_and_metrics": {
        "hausdorff_by_hand": """def hausdorff_by_hand(a, b):
    pa, pb = np.argwhere(metrics.boundary(a)), np.argwhere(metrics.boundary(b))
    distances = np.sqrt(((pa[:, None] - pb[None]) ** 2).sum(-1))
    return distances.min(axis=1).max()  # one direction only""",
        "count_cells": """def count_cells(membranes):
    return ndimage.label(~membranes, structure=np.ones((3, 3)))[1]  # 8 neighbours""",
    },
    "04_unet": {
        "decoder_block": """def decoder_block(x, skip, filters):
    upsampled = keras.layers.Conv2DTranspose(filters, 2, strides=2)(x)
    merged = keras.layers.Concatenate()([upsampled, skip])  # the skip second
    merged = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(merged)
    return keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(merged)""",
        "soft_dice_loss": """def soft_dice_loss(masks, probabilities):
    overlap = (masks * probabilities).sum()  # over the whole batch: one number
    return 1 - (2 * overlap + 1) / (masks.sum() + probabilities.sum() + 1)""",
    },
    "05_unet_plus_plus": {
        "unet_plus_plus_node": """def unet_plus_plus_node(row, below, filters):
    upsampled = keras.layers.Conv2DTranspose(filters, 2, strides=2)(below)
    merged = keras.layers.Concatenate()([row[-1], upsampled])  # only the last node: a UNet skip
    merged = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(merged)
    return keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(merged)""",
        "deep_supervision_loss": """def deep_supervision_loss(masks, heads):
    axes = tuple(range(1, masks.ndim))
    losses = []
    for p in heads:
        bce = -(masks * np.log(p) + (1 - masks) * np.log(1 - p)).mean(axis=axes)
        dice = (2 * (masks * p).sum(axis=axes) + 1) / (masks.sum(axis=axes) + p.sum(axis=axes) + 1)
        losses.append(np.mean(0.5 * bce + 1 - dice))
    return np.mean(losses)  # the mean over the heads, not their sum""",
    },
    "06_vae": {
        "reparameterise": """def reparameterise(z_mean, z_log_var, epsilon):
    return z_mean + np.exp(z_log_var) * epsilon  # exp(log sigma^2) is the variance""",
        "negative_elbo": """def negative_elbo(images, reconstructions, z_mean, z_log_var, beta):
    bce = -(images * np.log(reconstructions) + (1 - images) * np.log(1 - reconstructions))
    kl = -0.5 * (1 + z_log_var - z_mean**2 - np.exp(z_log_var)).sum(axis=1)
    return bce.mean(axis=(1, 2, 3)) + beta * kl  # the mean over the pixels, not the sum""",
    },
    "07_side_by_side": {
        "conv_flops": """def conv_flops(height, width, kernel_size, in_channels, filters):
    return height * width * filters * kernel_size**2 * in_channels  # multiply-adds, not FLOPs""",
        "psnr_by_hand": """def psnr_by_hand(images, reconstructions):
    errors = ((images - reconstructions) ** 2).mean(axis=(1, 2, 3))
    return float(np.mean(10 * np.log10(1 / errors)))  # the mean of per-image PSNRs""",
    },
}


def _answered(source: str, function: str, body: str) -> str:
    """An exercise cell's source with the stub of `function` replaced by `body`."""
    lines = source.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(f"def {function}("))
    end = start + 1
    while end < len(lines) and (not lines[end] or lines[end].startswith(" ")):
        end += 1
    while lines[end - 1] == "":
        end -= 1  # keep the blank lines that follow the stub
    return "\n".join([*lines[:start], *body.split("\n"), *lines[end:]])


def write_mistakes(directory: Path) -> list[Path]:
    """Write one submission per notebook (`mistakes_<notebook>.ipynb`): its student copy with
    every coding exercise answered by its common mistake in `MISTAKES`; return the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, answers in MISTAKES.items():
        copy = classroom.student_copy(read_notebook(NOTEBOOK_DIR / f"{stem}.ipynb"))
        for function, body in answers.items():
            cells = [
                cell
                for cell in copy["cells"]
                if cell["cell_type"] == "code"
                and "".join(cell["source"]).startswith(f"def {function}(")
            ]
            if len(cells) != 1:
                raise ValueError(f"{stem}: expected one exercise cell defining {function}")
            source = _answered("".join(cells[0]["source"]), function, body)
            cells[0]["source"] = source.splitlines(keepends=True)
        path = directory / f"mistakes_{stem}.ipynb"
        write_notebook(path, copy)
        written.append(path)
    return written


def _rows(runs, metric: str) -> str:
    return " ".join(f"{value:.3f}" for value in runs.values(metric))


def report(profile, notebooks=None) -> None:
    """Run the activities of `notebooks` (e.g. ["01", "04"]; default all) and print each."""
    chosen = notebooks or ["00", "01", "02", "03", "04", "05", "06", "07"]
    for notebook in chosen:
        print(f"\n## {notebook}")
        if notebook == "00":
            print("\n".join(profiles_table()))
        elif notebook == "01":
            counts = convolutions_to_see(profile.image_size)
            for name, count in counts.items():
                print(f"3x3 convolutions to see {profile.image_size} px, {name}: {count}")
            fewest = min(counts, key=counts.get)
            print(f"Outcome: fewest with {fewest}; most when stacked plainly")
        elif notebook == "02":
            ratios = {k: overlap_ratio(k, stride=3) for k in (3, 4, 5, 6)}
            for k, ratio in ratios.items():
                print(f"stride 3, kernel {k}: most / fewest contributions {ratio:g}")
            even = [k for k, ratio in ratios.items() if math.isclose(ratio, 1)]
            divisible = [k for k in ratios if k % 3 == 0]
            rule = "holds" if even == divisible else "fails"
            print(f"Outcome: even coverage for kernels {even}; the divisibility rule {rule}")
        elif notebook == "03":
            scores = shifted_scores(profile)
            for shift, score in scores.items():
                print(f"shifted {shift} px: " + ", ".join(f"{k} {v:.3f}" for k, v in score.items()))
            dice = [score["dice"] for score in scores.values()]
            falls = all(a > b for a, b in itertools.pairwise(dice))
            print(
                f"Outcome: Dice {'falls with every' if falls else 'does not fall with every'} "
                "pixel of shift"
            )
        elif notebook == "04":
            plain = rare_foreground(profile)
            faster = rare_foreground(profile, learning_rate=1e-2)
            longer = rare_foreground(profile, num_epochs=profile.num_epochs)
            # An all-black prediction has a pooled validation IoU of 0 (its test IoU, a mean per
            # image, is not 0: the test images without a core score 1 for an empty prediction).
            last = {
                runs.name: [h["val_iou"][-1] for h in runs.histories]
                for runs in (plain, faster, longer)
            }
            for runs in (plain, faster, longer):
                values = " ".join(f"{value:.3f}" for value in last[runs.name])
                print(f"{runs.name}: validation IoU after the last epoch, per seed {values}")
            changed = (("5x the learning rate", faster), ("the profile's full epochs", longer))
            for label, runs in changed:
                escaped = sum(value > 0.05 for value in last[runs.name])
                where = "every seed" if escaped == len(runs.seeds) else "some seeds"
                where = "no seed" if escaped == 0 else where
                print(f"Outcome: with {label}, BCE leaves the all-black plateau at {where}")
        elif notebook == "05":
            unet, unetpp = seed_by_seed(profile)
            print(f"test Dice per seed: UNet {_rows(unet, 'dice')}; UNet++ {_rows(unetpp, 'dice')}")
            ahead = [
                "UNet++" if b > a else "UNet"
                for a, b in zip(unet.values("dice"), unetpp.values("dice"), strict=True)
            ]
            print(f"ahead, seed by seed: {', '.join(ahead)}")
            print(experiments.verdict(unetpp, unet, "dice", labels=("UNet++", "UNet")))
            print(
                "Outcome: "
                + (
                    "the seeds disagree: one seed alone could show either model ahead"
                    if len(set(ahead)) > 1
                    else "every seed puts the same model ahead"
                )
            )
        elif notebook == "06":
            distances = sampling_temperature(profile)
            for temperature, values in distances.items():
                print(
                    f"temperature {temperature:g}: distance per seed "
                    + " ".join(f"{v:.1f}" for v in values)
                )
            best = [
                min(distances, key=lambda t: distances[t][seed])
                for seed in range(profile.num_seeds)
            ]
            print(
                f"Outcome: the lowest distance at temperature "
                f"{', '.join(f'{t:g}' for t in best)} (seed by seed)"
            )
        elif notebook == "07":
            flops = flops_by_side(profile)
            ratios = []
            for name, (small, large) in flops.items():
                ratios.append(large / small)
                print(
                    f"{name}: {small / 1e6:.1f} MFLOPs at 64 px, {large / 1e6:.1f} at 128 px "
                    f"(x{large / small:.2f})"
                )
            four = all(math.isclose(ratio, 4, rel_tol=0.01) for ratio in ratios)
            print(
                "Outcome: doubling the side multiplies "
                + ("every model's FLOPs by four" if four else "the models' FLOPs unequally")
            )
        else:
            raise ValueError(f"notebooks must be among 00 ... 07, got {notebook!r}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["mistakes"]:  # python -m tools.activities mistakes DIR
        paths = write_mistakes(Path(sys.argv[2]))
        print(f"{len(paths)} submissions with common mistakes written to {sys.argv[2]}")
    else:
        report(setup.start(), sys.argv[1:] or None)

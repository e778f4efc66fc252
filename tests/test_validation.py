"""Every public function checks its arguments: a bad one is a ValueError that names it.

`CASES` holds, for every function and class in the `__all__` of `utils.metrics`, `utils.models`,
`utils.data` and `utils.experiments`, bad calls and the argument each must name; a public
callable without a case (and not in `NOT_APPLICABLE`) fails `test_every_public_callable_has_a_case`.
Nothing here trains: the functions that train reject these calls before making any data.
"""

import functools
import re

import keras
import numpy as np
import pytest

from utils import checks, data, experiments, metrics, models
from utils.config import PROFILES

CI = PROFILES["ci"]
MODULES = {"metrics": metrics, "models": models, "data": data, "experiments": experiments}

#: Public callables that take no argument, so have no bad call.
NOT_APPLICABLE = {
    "experiments.real_field_scaled_fine_tune": "takes no arguments",
}

MASK = np.zeros((8, 8))
MASK[2:5, 2:5] = 1
NAN = MASK.copy()
NAN[0, 0] = np.nan
INF = MASK.copy()
INF[0, 0] = np.inf
BATCH = MASK[None, ..., None]  # (1, 8, 8, 1)
NAN_BATCH = NAN[None, ..., None]
LABELS = MASK.astype(int)


@functools.cache
def unet():
    return models.build_unet((16, 16, 1), (4, 8))


@functools.cache
def unet_plus_plus():
    return models.build_unet_plus_plus((16, 16, 1), (4, 8))


@functools.cache
def vae():
    return models.build_vae((16, 16, 1), latent_dim=2, filters=(4, 8))


def skip_vae():
    return models.build_vae((16, 16, 1), latent_dim=2, filters=(4, 8), skips=True)


def tensor():
    return keras.Input((16, 16, 1))


def runs(name="a", seeds=(0, 1)):
    return experiments.SeedRuns(name, list(seeds), [{"dice": 0.5} for _ in seeds])


def recipe_args(**changes):
    arguments = {
        "name": "r",
        "dataset": "nuclei",
        "builder": models.build_unet,
        "build_args": lambda p: {},
        "fit_args": lambda p: {},
    }
    return {**arguments, **changes}


CASES = {
    "metrics": {
        "active_dimensions": [
            (lambda: metrics.active_dimensions(np.zeros((1, 4))), "z_mean"),
            (lambda: metrics.active_dimensions(np.zeros(4)), "z_mean"),
            (lambda: metrics.active_dimensions(np.zeros((5, 4)), threshold=0), "threshold"),
        ],
        "kl_per_dimension": [
            (lambda: metrics.kl_per_dimension(np.zeros((5, 4)), np.zeros((5, 3))), "z_log_var"),
            (lambda: metrics.kl_per_dimension(np.full((5, 4), np.nan), np.zeros((5, 4))), "z_mean"),
        ],
        "precision_recall": [
            (lambda: metrics.precision_recall(np.zeros((5, 4)), np.zeros((5, 3))), "features"),
            (lambda: metrics.precision_recall(np.zeros((3, 4)), np.zeros((5, 4))), "real_features"),
            (lambda: metrics.precision_recall(np.zeros((5, 4)), np.zeros((5, 4)), k=0), "k"),
        ],
        "accuracy": [
            (lambda: metrics.accuracy(MASK, MASK, threshold=1.5), "threshold"),
            (lambda: metrics.accuracy(MASK, MASK, reduction="sum"), "reduction"),
            (lambda: metrics.accuracy(MASK, MASK, reduction=["mean"]), "reduction"),
            (lambda: metrics.accuracy(MASK, NAN), "y_pred"),
        ],
        "bce_dice_loss": [
            (lambda: metrics.bce_dice_loss(BATCH, BATCH, smooth=-1), "smooth"),
            (lambda: metrics.bce_dice_loss(BATCH, BATCH, bce_weight=np.nan), "bce_weight"),
            (lambda: metrics.bce_dice_loss(BATCH, NAN_BATCH), "y_pred"),
        ],
        "bernoulli_excess": [
            (lambda: metrics.bernoulli_excess(NAN_BATCH, BATCH), "images"),
            (lambda: metrics.bernoulli_excess(BATCH, BATCH[..., 0]), "reconstructions"),
            (lambda: metrics.bernoulli_excess(BATCH, BATCH * 2), "reconstructions"),
        ],
        "bernoulli_floor": [
            (lambda: metrics.bernoulli_floor(NAN_BATCH), "images"),
            (lambda: metrics.bernoulli_floor(BATCH + 1), "images"),
        ],
        "bernoulli_reconstruction": [
            (lambda: metrics.bernoulli_reconstruction(NAN_BATCH, BATCH), "images"),
            (lambda: metrics.bernoulli_reconstruction(BATCH, BATCH[0]), "reconstructions"),
        ],
        "boundary": [
            (lambda: metrics.boundary(NAN), "mask"),
            (lambda: metrics.boundary(BATCH), "mask"),
        ],
        "boundary_f1": [
            (lambda: metrics.boundary_f1(MASK, MASK, tolerance=-1), "tolerance"),
            (lambda: metrics.boundary_f1(MASK, MASK, reduction="global"), "reduction"),
            (lambda: metrics.boundary_f1(MASK, MASK, threshold=2), "threshold"),
        ],
        "cells": [
            (lambda: metrics.cells(MASK[0]), "membranes"),
            (lambda: metrics.cells(INF), "membranes"),
        ],
        "component_counts": [
            (lambda: metrics.component_counts(LABELS, MASK, threshold=-0.1), "threshold"),
            (lambda: metrics.component_counts(LABELS, NAN), "probabilities"),
            (lambda: metrics.component_counts(NAN, MASK), "labels"),
        ],
        "confusion": [
            (lambda: metrics.confusion(MASK, MASK, threshold="0.5"), "threshold"),
            (lambda: metrics.confusion(INF, MASK), "y_true"),
        ],
        "dice": [
            (lambda: metrics.dice(MASK, MASK, threshold=True), "threshold"),
            (lambda: metrics.dice(MASK, MASK, reduction=None), "reduction"),
            (lambda: metrics.dice(MASK, NAN), "y_pred"),
        ],
        "frechet_distance": [
            (lambda: metrics.frechet_distance(NAN, MASK), "features_a"),
            (lambda: metrics.frechet_distance(MASK, MASK[:1]), "features_b"),
        ],
        "gaussian_kl": [
            (lambda: metrics.gaussian_kl(NAN, MASK), "z_mean"),
            (lambda: metrics.gaussian_kl(MASK, INF), "z_log_var"),
        ],
        "hd95": [
            (lambda: metrics.hd95(MASK, MASK, percentile=101), "percentile"),
            (lambda: metrics.hd95(MASK, MASK, convention="monai"), "convention"),
            (lambda: metrics.hd95(MASK, MASK, reduction="global"), "reduction"),
            (lambda: metrics.hd95(MASK, NAN), "y_pred"),
        ],
        "image_statistics": [
            (lambda: metrics.image_statistics(BATCH, bins=0), "bins"),
            (lambda: metrics.image_statistics(BATCH, frequencies=2.5), "frequencies"),
            (lambda: metrics.image_statistics(NAN_BATCH), "images"),
        ],
        "instance_statistics": [
            (lambda: metrics.instance_statistics(MASK, LABELS, area=0), "area"),
            (lambda: metrics.instance_statistics(MASK, -LABELS), "labels"),
            (lambda: metrics.instance_statistics(NAN, LABELS), "images"),
        ],
        "iou": [
            (lambda: metrics.iou(MASK, MASK, reduction="sum"), "reduction"),
            (lambda: metrics.iou(MASK, MASK, threshold=np.nan), "threshold"),
        ],
        "psnr": [
            (lambda: metrics.psnr(MASK, MASK, data_range=0), "data_range"),
            (lambda: metrics.psnr(MASK, NAN), "y_pred"),
        ],
        "rand_split_merge": [
            (lambda: metrics.rand_split_merge(MASK, MASK, reduction="global"), "reduction"),
            (lambda: metrics.rand_split_merge(MASK, MASK, threshold=5), "threshold"),
        ],
        "soft_dice_loss": [
            (lambda: metrics.soft_dice_loss(BATCH, BATCH, smooth=-1), "smooth"),
            (lambda: metrics.soft_dice_loss(BATCH, BATCH, smooth=np.inf), "smooth"),
            (lambda: metrics.soft_dice_loss(NAN_BATCH, BATCH), "y_true"),
        ],
        "surface_distances": [
            (lambda: metrics.surface_distances(MASK, MASK[:4]), "prediction"),
            (lambda: metrics.surface_distances(NAN, MASK), "truth"),
        ],
        "thinned_cells": [
            (lambda: metrics.thinned_cells(BATCH), "membranes"),
            (lambda: metrics.thinned_cells(NAN), "membranes"),
        ],
        "threshold_baseline": [
            (
                lambda: metrics.threshold_baseline((BATCH, BATCH), (BATCH, BATCH), "yes"),
                "dark_foreground",
            ),
            (
                lambda: metrics.threshold_baseline(
                    (BATCH, BATCH), (BATCH, BATCH), thresholds=[1.5]
                ),
                "thresholds",
            ),
            (lambda: metrics.threshold_baseline((BATCH,), (BATCH, BATCH)), "train"),
            (lambda: metrics.threshold_baseline((BATCH, BATCH), (NAN_BATCH, BATCH)), "test"),
        ],
        "unet_plus_plus_loss": [
            (lambda: metrics.unet_plus_plus_loss(BATCH, NAN_BATCH), "y_pred"),
        ],
        "v_rand": [
            (lambda: metrics.v_rand(MASK, MASK, reduction="global"), "reduction"),
            (lambda: metrics.v_rand(MASK, MASK, threshold=-1), "threshold"),
        ],
    },
    "models": {
        "Sampling": [
            (lambda: models.Sampling(seed=-1), "seed"),
            (lambda: models.Sampling(seed=1.5), "seed"),
        ],
        "VAE": [
            (lambda: models.VAE("encoder", vae().decoder), "encoder"),
            (lambda: models.VAE(vae().encoder, None), "decoder"),
            (lambda: models.VAE(vae().encoder, vae().decoder, beta=-1), "beta"),
            (lambda: models.VAE(vae().encoder, vae().decoder, variational="yes"), "variational"),
            (lambda: models.VAE(skip_vae().encoder, vae().decoder), "decoder"),
            (lambda: skip_vae().decode(np.zeros((2, 2)), [np.zeros((2, 16, 16, 4))]), "features"),
        ],
        "average_heads": [
            (lambda: models.average_heads("unet"), "model"),
            (lambda: models.average_heads(unet()), "model"),  # one head only
        ],
        "build_feature_network": [
            (lambda: models.build_feature_network((4, 4, 1)), "input_shape"),
            (lambda: models.build_feature_network(num_outputs=0), "num_outputs"),
            (lambda: models.build_feature_network(num_features=2.0), "num_features"),
            (lambda: models.build_feature_network(filters=(8, -1)), "filters"),
        ],
        "build_unet": [
            (
                lambda: models.build_unet((16, 16, 1), (4, 8), skip_connections=1),
                "skip_connections",
            ),
            (lambda: models.build_unet((16, 16, 1), (4, 8), batch_norm="no"), "batch_norm"),
            (lambda: models.build_unet((16, 16, 1), (4, 8), upsampling=3), "upsampling"),
            (lambda: models.build_unet((16, 16, 1), (4, 8), dropout=1.0), "dropout"),
            (lambda: models.build_unet((16, 16, 1), (4, 8), num_classes=True), "num_classes"),
            (lambda: models.build_unet((16, 16, 1), (4, 8), name=""), "name"),
            (lambda: models.build_unet((16, 16), (4, 8)), "input_shape"),
            (lambda: models.build_unet((16, 16, 1), np.array([4.0, 8.0])), "filters"),
        ],
        "build_unet_plus_plus": [
            (
                lambda: models.build_unet_plus_plus((16, 16, 1), (4, 8), deep_supervision="yes"),
                "deep_supervision",
            ),
            (lambda: models.build_unet_plus_plus((16, 16, 1), (4,)), "filters"),
            (lambda: models.build_unet_plus_plus((16, 16, 1), (4, 8), dropout=-0.1), "dropout"),
        ],
        "build_vae": [
            (lambda: models.build_vae((16, 16, 1), filters=(4, 8), variational=1), "variational"),
            (lambda: models.build_vae((16, 16, 1), filters=(4, 8), beta=np.inf), "beta"),
            (lambda: models.build_vae((16, 16, 1), np.float64(2), filters=(4, 8)), "latent_dim"),
            (lambda: models.build_vae((16, 16, 1), filters=(4, 8), seed=-1), "seed"),
            (lambda: models.build_vae((16, 16, 1), filters=(4, 8), name=None), "name"),
            (lambda: models.build_vae((16, 16, 1), filters=(4, 8), skips="yes"), "skips"),
        ],
        "build_vae_decoder": [
            (lambda: models.build_vae_decoder((30, 32, 1), filters=(4, 8)), "output_shape"),
            (lambda: models.build_vae_decoder((16, 16, 1), 0, (4, 8)), "latent_dim"),
        ],
        "build_vae_encoder": [
            (lambda: models.build_vae_encoder((2, 2, 1), filters=(4, 8)), "input_shape"),
            (lambda: models.build_vae_encoder((16, 16, 1), "16", (4, 8)), "latent_dim"),
        ],
        "conv_block": [
            (lambda: models.conv_block(tensor(), 0, "block"), "filters"),
            (lambda: models.conv_block(tensor(), 4, "block", batch_norm=1), "batch_norm"),
            (lambda: models.conv_block(tensor(), 4, 5), "name"),
        ],
        "feature_extractor": [
            (lambda: models.feature_extractor("network"), "model"),
            (lambda: models.feature_extractor(unet()), "model"),  # no "features" layer
        ],
        "flops_per_image": [(lambda: models.flops_per_image(None), "model")],
        "head_names": [(lambda: models.head_names(["head1"]), "model")],
        "output_layer": [
            (lambda: models.output_layer(tensor(), 0), "num_classes"),
            (lambda: models.output_layer(tensor(), 1, ""), "name"),
        ],
        "prune_unet_plus_plus": [
            (lambda: models.prune_unet_plus_plus(unet_plus_plus(), True), "level"),
            (lambda: models.prune_unet_plus_plus(unet_plus_plus(), 5), "level"),
            (lambda: models.prune_unet_plus_plus("model", 1), "model"),
        ],
        "scaled_filters": [
            (lambda: models.scaled_filters((64, 128), 0), "width"),
            (lambda: models.scaled_filters((64, 128), np.nan), "width"),
            (lambda: models.scaled_filters((), 0.5), "filters"),
        ],
        "source_listing": [
            (lambda: models.source_listing("gan"), "name"),
            (lambda: models.source_listing(["unet"]), "name"),
        ],
        "upsample": [
            (lambda: models.upsample(tensor(), 4, "cubic", "up"), "method"),
            (lambda: models.upsample(tensor(), 1.5, "transpose", "up"), "filters"),
        ],
        "with_input_shape": [
            (lambda: models.with_input_shape(unet(), (16, 15, 1)), "input_shape"),
            (lambda: models.with_input_shape(unet(), 16), "input_shape"),
            (lambda: models.with_input_shape("model", (16, 16, 1)), "model"),
        ],
    },
    "data": {
        "augment_pair": [
            (lambda: data.augment_pair(BATCH[0], BATCH[0], [0, 0], grid=0), "grid"),
            (lambda: data.augment_pair(BATCH[0], BATCH[0], [0, 0], -1.0), "elastic_strength"),
            (lambda: data.augment_pair(NAN_BATCH[0], BATCH[0], [0, 0]), "image"),
        ],
        "cores": [
            (lambda: data.cores(BATCH, depth=0), "depth"),
            (lambda: data.cores(BATCH, depth=np.nan), "depth"),
            (lambda: data.cores(NAN_BATCH), "masks"),
        ],
        "crop_size": [(lambda: data.crop_size("ci"), "profile")],
        "degrade": [
            (lambda: data.degrade(BATCH, "blur"), "kind"),
            (lambda: data.degrade(BATCH, ["uniform noise"]), "kind"),
            (lambda: data.degrade(BATCH, "uniform noise", seed=-1), "seed"),
            (lambda: data.degrade(NAN_BATCH, "uniform noise"), "images"),
        ],
        "downscale": [
            (lambda: data.downscale(MASK, LABELS, True), "factor"),
            (lambda: data.downscale(NAN, LABELS, 2), "image"),
        ],
        "fetch": [
            (lambda: data.fetch(None), "name"),
            (lambda: data.fetch("dsb2018-sample", registry_path="no-such.json"), "registry_path"),
            (lambda: data.fetch("dsb2018-sample", cache=5), "cache"),
        ],
        "is_cached": [
            (lambda: data.is_cached("mnist"), "name"),
            (lambda: data.is_cached("bbbc039", registry_path=3), "registry_path"),
        ],
        "load_embedded": [
            (lambda: data.load_embedded(["nuclei"], CI), "name"),
            (lambda: data.load_embedded("nuclei", "ci"), "profile"),
            (lambda: data.load_embedded("nuclei", CI, seed=-1), "seed"),
        ],
        "load_real": [
            (lambda: data.load_real("mnist"), "name"),
            (lambda: data.load_real("dsb2018-sample", return_labels="yes"), "return_labels"),
            (lambda: data.load_real("dsb2018-sample", image_size=8), "image_size"),
            (lambda: data.load_real("dsb2018-sample", cache=1.5), "cache"),
        ],
        "make_crops": [
            (lambda: data.make_crops(2, return_factors=1), "return_factors"),
            (lambda: data.make_crops(2, seed=-1), "seed"),
            (lambda: data.make_crops(True), "num_images"),
        ],
        "make_dataset": [
            (lambda: data.make_dataset(BATCH, BATCH, 0), "batch_size"),
            (lambda: data.make_dataset(BATCH, BATCH, 1, augment="yes"), "augment"),
            (lambda: data.make_dataset(BATCH, BATCH, 1, shuffle=1), "shuffle"),
            (lambda: data.make_dataset(BATCH, BATCH, 1, seed=-1), "seed"),
            (lambda: data.make_dataset(NAN_BATCH, BATCH, 1), "images"),
        ],
        "make_membranes": [
            (lambda: data.make_membranes(2, image_size=8), "image_size"),
            (lambda: data.make_membranes(2, 16, seed=1.5), "seed"),
        ],
        "make_nuclei": [
            (lambda: data.make_nuclei(2, 16, return_labels="yes"), "return_labels"),
            (lambda: data.make_nuclei(0), "num_images"),
        ],
        "make_nuclei_with_labels": [
            (lambda: data.make_nuclei_with_labels(-1), "num_images"),
            (lambda: data.make_nuclei_with_labels(2, 16, seed=-1), "seed"),
        ],
        "normalise": [
            (lambda: data.normalise(NAN), "image"),
            (lambda: data.normalise(MASK, reference=INF), "reference"),
        ],
        "real_field_scaled_whole": [
            (lambda: data.real_field_scaled_whole(scaled="no"), "scaled"),
            (lambda: data.real_field_scaled_whole("bbbc039"), "name"),
        ],
        "registry": [
            (lambda: data.registry("no-such-registry.json"), "path"),
            (lambda: data.registry(5), "path"),
        ],
        "sha256": [(lambda: data.sha256("no-such-file"), "path")],
        "split": [
            (lambda: data.split(BATCH.repeat(4, 0), BATCH.repeat(4, 0), 1.5, 1), "num_val"),
            (lambda: data.split(BATCH.repeat(4, 0), BATCH.repeat(4, 0), 1, -1), "num_test"),
            (lambda: data.split(NAN_BATCH.repeat(4, 0), BATCH.repeat(4, 0), 1, 1), "images"),
        ],
        "windows": [
            (lambda: data.windows(MASK, 4, 0), "stride"),
            (lambda: data.windows(MASK, 2.5, 1), "size"),
            (lambda: data.windows(NAN, 4, 1), "array"),
        ],
    },
    "experiments": {
        "Recipe": [
            (lambda: experiments.Recipe(**recipe_args(dataset="cells")), "dataset"),
            (lambda: experiments.Recipe(**recipe_args(autoencoder="yes")), "autoencoder"),
            (lambda: experiments.Recipe(**recipe_args(builder=None)), "builder"),
            (lambda: experiments.Recipe(**recipe_args(name="")), "name"),
        ],
        "SampleQuality": [
            (lambda: experiments.SampleQuality("extractor", BATCH), "extractor"),
        ],
        "SeedRuns": [
            (lambda: experiments.SeedRuns("a", [-1], [{"dice": 0.5}]), "seeds"),
            (lambda: experiments.SeedRuns("a", [0, 1], [{"dice": 0.5}]), "scores"),
            (lambda: experiments.SeedRuns(None, [0], [{"dice": 0.5}]), "name"),
            (lambda: experiments.SeedRuns("a", [0], [{"dice": 0.5}], [], [{}, {}]), "thresholds"),
        ],
        "Verdict": [(lambda: experiments.Verdict("maybe", "Verdict: ?", "-"), "outcome")],
        "block_tiles": [
            (lambda: experiments.block_tiles(MASK[0]), "block"),
            (lambda: experiments.block_tiles(NAN), "block"),
        ],
        "checkpoint_name": [
            (lambda: experiments.checkpoint_name("unet-nuclei", -1), "seed"),
            (lambda: experiments.checkpoint_name(None), "name"),
        ],
        "generative_scores": [
            (lambda: experiments.generative_scores("vae", BATCH, None), "model"),
            (
                lambda: experiments.generative_scores(vae(), np.zeros((2, 16, 16, 1)), None),
                "quality",
            ),
            (
                lambda: experiments.generative_scores(vae(), np.zeros((0, 16, 16, 1)), []),
                "test_images",
            ),
        ],
        "clean_test_crops": [(lambda: experiments.clean_test_crops("cpu"), "profile")],
        "fitted_codes": [
            (lambda: experiments.fitted_codes(np.zeros((1, 2)), 4), "codes"),
            (lambda: experiments.fitted_codes(np.zeros((5, 2)), 0), "count"),
            (lambda: experiments.fitted_codes(np.full((5, 2), np.nan), 4), "codes"),
        ],
        "judges": [(lambda: experiments.judges(None), "profile")],
        "is_cached": [
            (lambda: experiments.is_cached("no-such-recipe", CI), "name"),
            (lambda: experiments.is_cached("small-unet", None), "profile"),
            (lambda: experiments.is_cached("small-unet", CI, [-1]), "seed"),
        ],
        "num_quality_images": [(lambda: experiments.num_quality_images("ci"), "profile")],
        "predict_blocks": [
            (lambda: experiments.predict_blocks(None, {}), "model"),
            (lambda: experiments.predict_blocks(unet(), {}), "blocks"),
        ],
        "prior_codes": [
            (lambda: experiments.prior_codes(0, 2), "count"),
            (lambda: experiments.prior_codes(4, 1.5), "latent_dim"),
            (lambda: experiments.prior_codes(4, 2, seed=-1), "seed"),
        ],
        "real_blocks": [
            (lambda: experiments.real_blocks(CI, gain="yes"), "gain"),
            (lambda: experiments.real_blocks(None), "profile"),
        ],
        "real_crops": [
            (lambda: experiments.real_crops(CI, seed=-1), "seed"),
            (lambda: experiments.real_crops("ci"), "profile"),
        ],
        "real_runs": [
            (lambda: experiments.real_runs(CI, start="random"), "start"),
            (lambda: experiments.real_runs(CI, seeds=[]), "seeds"),
            (lambda: experiments.real_runs(CI, num_epochs=0), "num_epochs"),
            (lambda: experiments.real_runs("ci"), "profile"),
        ],
        "real_scale": [(lambda: experiments.real_scale("cpu"), "profile")],
        "real_scores": [
            (lambda: experiments.real_scores(MASK, LABELS, threshold=2), "threshold"),
            (lambda: experiments.real_scores(MASK[:4], LABELS), "probabilities"),
        ],
        "real_threshold": [
            (lambda: experiments.real_threshold(MASK, NAN), "labels"),
            (lambda: experiments.real_threshold(NAN, LABELS), "probabilities"),
        ],
        "real_windows": [
            (lambda: experiments.real_windows(None), "profile"),
            (lambda: experiments.real_windows(CI, "test"), "part"),
        ],
        "real_parts": [(lambda: experiments.real_parts("ci"), "profile")],
        "real_window_side": [(lambda: experiments.real_window_side(None), "profile")],
        "validation_thresholds": [
            (lambda: experiments.validation_thresholds(MASK, MASK, "dice"), "metric_names"),
            (lambda: experiments.validation_thresholds(MASK, MASK, ["psnr"]), "metric_names"),
            (lambda: experiments.validation_thresholds(MASK, MASK, ["dice"], [1.5]), "thresholds"),
        ],
        "flops_unet_filters": [
            (lambda: experiments.flops_unet_filters("ci"), "profile"),
            (lambda: experiments.flops_unet_filters(["ci"]), "profile"),
        ],
        "recipe": [
            (lambda: experiments.recipe("unet"), "name"),
            (lambda: experiments.recipe(["unet-nuclei"]), "name"),
        ],
        "run_seeds": [
            (lambda: experiments.run_seeds("small-unet", CI, verbose="yes"), "verbose"),
            (lambda: experiments.run_seeds("small-unetpp-ds", CI, head=0), "head"),
            (lambda: experiments.run_seeds("small-unet", CI, seeds=[-1]), "seed"),
            (lambda: experiments.run_seeds("small-unet", CI, seeds=5), "seeds"),
            (lambda: experiments.run_seeds("small-unet", "ci"), "profile"),
            (lambda: experiments.run_seeds("small-unet", CI, threshold=1.5), "threshold"),
            (lambda: experiments.run_seeds("small-unet", CI, threshold="best"), "threshold"),
            (lambda: experiments.run_seeds("vae-crops", CI, threshold="validation"), "threshold"),
        ],
        "sample_quality": [
            (lambda: experiments.sample_quality(["ci"]), "profile"),
            (lambda: experiments.sample_quality(CI, seed=-1), "seed"),
        ],
        "scored_model": [(lambda: experiments.scored_model("model"), "model")],
        "show": [
            (lambda: experiments.show("unet-nuclei", "cpu"), "profile"),
            (lambda: experiments.show("unet-nuclei", CI, seed=-1), "seed"),
        ],
        "splits": [
            (lambda: experiments.splits("unet-nuclei", None), "profile"),
            (lambda: experiments.splits("nuclei", CI), "name"),
        ],
        "summary": [
            (lambda: experiments.summary([]), "runs"),
            (lambda: experiments.summary([runs()], labels=[""]), "labels"),
            (lambda: experiments.summary([runs()], metrics="dice"), "metrics"),
            (lambda: experiments.summary([runs()], metrics=["iou"]), "metric"),
        ],
        "train": [
            (lambda: experiments.train("unet-nuclei", CI, verbose="yes"), "verbose"),
            (lambda: experiments.train("unet-nuclei", "ci"), "profile"),
            (lambda: experiments.train("unet-nuclei", CI, seed=-1), "seed"),
        ],
        "train_on_real": [
            (lambda: experiments.train_on_real(CI, start="x"), "start"),
            (lambda: experiments.train_on_real(CI, num_epochs=0), "num_epochs"),
            (lambda: experiments.train_on_real(CI, verbose="no"), "verbose"),
            (lambda: experiments.train_on_real(None), "profile"),
        ],
        "confirms": [
            (lambda: experiments.confirms("same", 0.1, 0.2, 0.02, 0.01), "expected"),
            (lambda: experiments.confirms("better", "0.1", 0.2, 0.02, 0.01), "low"),
            (lambda: experiments.confirms("better", 0.3, 0.2, 0.02, 0.01), "low"),
            (lambda: experiments.confirms("better", 0.1, 0.2, 0, 0.01), "delta"),
            (lambda: experiments.confirms("better", 0.1, 0.2, 0.02, -1), "margin"),
        ],
        "interval": [
            (lambda: experiments.interval([]), "differences"),
            (lambda: experiments.interval([1.0, 2.0], confidence=1.5), "confidence"),
        ],
        "Smallest": [
            (lambda: experiments.Smallest(0, "", "a reason", 0.1), "delta"),
            (lambda: experiments.Smallest(1.0, "", "a reason", -1), "margin"),
        ],
        "verdict": [
            (lambda: experiments.verdict(None, runs()), "first"),
            (lambda: experiments.verdict(runs(), runs(), labels=("a",)), "labels"),
            (lambda: experiments.verdict(runs(), runs(), metric=5), "metric"),
        ],
        "train_seeds": [
            (lambda: experiments.train_seeds([], CI), "names"),
            (lambda: experiments.train_seeds(["unet"], CI), "name"),
            (lambda: experiments.train_seeds("small-unet", "ci"), "profile"),
            (lambda: experiments.train_seeds("small-unet", CI, seeds=[-1]), "seed"),
            (lambda: experiments.train_seeds("small-unet", CI, filters=(4,)), "changes"),
            (lambda: experiments.train_seeds({"small-unet": [0]}, CI, seeds=[0]), "seeds"),
            (lambda: experiments.train_seeds({}, CI), "names"),
        ],
        "workers": [(lambda: experiments.workers(None), "profile")],
        "wide_unet_filters": [
            (lambda: experiments.wide_unet_filters("ci"), "profile"),
            (lambda: experiments.wide_unet_filters(["ci"]), "profile"),
        ],
    },
}


def _public_callables(module) -> list[str]:
    return [name for name in module.__all__ if callable(getattr(module, name))]


@pytest.mark.parametrize("module", list(MODULES))
def test_every_public_callable_has_a_case(module):
    missing = [
        name
        for name in _public_callables(MODULES[module])
        if name not in CASES[module] and f"{module}.{name}" not in NOT_APPLICABLE
    ]
    assert not missing, f"public callables of utils.{module} without a bad-call case: {missing}"
    unknown = sorted(set(CASES[module]) - set(MODULES[module].__all__))
    assert not unknown, f"cases for names not in utils.{module}.__all__: {unknown}"


BAD_CALLS = [
    pytest.param(call, argument, id=f"{module}.{name}-{index}")
    for module, functions in CASES.items()
    for name, calls in functions.items()
    for index, (call, argument) in enumerate(calls)
]


@pytest.mark.parametrize(("call", "argument"), BAD_CALLS)
def test_a_bad_argument_is_a_value_error_that_names_it(call, argument, monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))  # nothing may reach the real cache
    monkeypatch.setattr(data, "fetch", _no_download(data.fetch))
    with pytest.raises(ValueError) as raised:
        call()
    message = str(raised.value)
    assert re.search(rf"(?<![\w.]){re.escape(argument)}(?!\w)", message), message


def _no_download(fetch):
    """`data.fetch` that checks its arguments but fails the test instead of downloading."""

    def checked(name, cache=None, registry_path=data.REGISTRY_PATH):
        data._check_dataset(name, cache, registry_path)
        if name not in data.SHIPPED:
            raise AssertionError(f"a bad call tried to download {name!r}")
        return fetch(name, cache, registry_path)

    return checked


# --- the shared checks -----------------------------------------------------------------------


def test_checks_accept_numpy_values_and_return_plain_ones():
    assert (
        checks.check_int(np.int64(3), "n") == 3 and type(checks.check_int(np.int8(3), "n")) is int
    )
    assert checks.check_bool(np.bool_(True), "flag") is True
    value = np.float32(0.5)
    assert checks.check_number(value, "threshold", 0, 1) is value  # as given: NumPy's type rules
    assert checks.check_shape_and_filters(np.array([16, 16, 1]), np.array([4, 8])) == (
        (16, 16, 1),
        (4, 8),
    )
    assert checks.check_choice("mean", "reduction", ("mean",)) == "mean"
    assert checks.check_finite([1, 2], "x").dtype.kind == "i"
    assert checks.check_profile(CI) is CI and checks.check_text("a", "name") == "a"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: checks.check_bool(1, "flag"), r"flag must be True or False, got 1"),
        (lambda: checks.check_bool("yes", "flag"), r"flag must be True or False, got 'yes'"),
        (lambda: checks.check_choice(1, "kind", ("a", "b")), r"kind must be one of \('a', 'b'\)"),
        (lambda: checks.check_int(True, "count", minimum=1), r"count must be a positive int"),
        (lambda: checks.check_int(2.0, "count"), r"count must be an int, got 2.0"),
        (lambda: checks.check_int(9, "side", 1, 8), r"side must be an int from 1 to 8, got 9"),
        (lambda: checks.check_int(-1, "seed", 0), r"seed must be an int >= 0, got -1"),
        (
            lambda: checks.check_number(1.5, "threshold", 0, 1),
            r"threshold must be a number in \[0, 1\], got 1.5",
        ),
        (
            lambda: checks.check_number(1, "dropout", 0, 1, high_open=True),
            r"dropout must be a number in \[0, 1\), got 1",
        ),
        (
            lambda: checks.check_number(np.inf, "beta", 0),
            r"beta must be a finite number >= 0, got inf",
        ),
        (lambda: checks.check_number(False, "x"), r"x must be a finite number, got False"),
        (
            lambda: checks.check_finite([1.0, np.nan], "y_pred"),
            r"y_pred must not contain NaN or infinity",
        ),
        (lambda: checks.check_finite(["a"], "y_pred"), r"y_pred must be an array of numbers"),
        (lambda: checks.check_finite([[1], [1, 2]], "x"), r"x must be an array of numbers"),
        (lambda: checks.check_profile("cpu"), r"profile must be a Profile"),
        (lambda: checks.check_text("", "name"), r"name must be a non-empty string"),
    ],
)
def test_checks_name_the_argument_and_what_was_expected(call, message):
    with pytest.raises(ValueError, match=message):
        call()

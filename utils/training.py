"""One training helper for notebooks 04-07: epochs and sizes from the profile, one line per
epoch, the best checkpoint cached (safe `.keras` format) and reused on rerun, evaluation with
`utils.metrics`. Several GPUs: `tf.distribute.MirroredStrategy`; any GPU: mixed precision."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import time
import warnings
from collections.abc import Callable

import keras
import numpy as np

from utils import cache_key, data, losses, metrics, models
from utils.checks import check_bool, check_int, check_number, check_profile, check_seed
from utils.config import cache_dir
from utils.timing import seconds_per_image

__all__ = [
    "LOSSES",
    "REGRESSION",
    "EpochLine",
    "build",
    "checkpoint_path",
    "evaluate",
    "fingerprint",
    "fit",
    "forward",
    "predict",
    "seconds_per_image",
    "strategy",
]

LOSSES = {
    "bce_dice": losses.bce_dice_loss,
    "paper": losses.unet_plus_plus_loss,
    "dice": losses.soft_dice_loss,
    "bce": "binary_crossentropy",
    "mse": "mean_squared_error",  # regression: targets of any shape (notebook 06's feature network)
}
REGRESSION = {"mse"}


def strategy():
    """MirroredStrategy over all GPUs when there are several, else the default strategy.
    With any GPU, layers compute in float16 (mixed precision); outputs stay float32."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        keras.mixed_precision.set_global_policy("mixed_float16")
    return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()


def build(builder: Callable[..., keras.Model], *args, seed: int = 0, **kwargs) -> keras.Model:
    """Build a model inside the training strategy's scope (a no-op scope on one device), with
    its initial weights fixed by `seed` — whatever ran before in the notebook."""
    keras.utils.set_random_seed(seed)
    with strategy().scope():
        return builder(*args, **kwargs)


class EpochLine(keras.callbacks.Callback):
    """One short line per epoch: a progress bar that stays readable in a stored notebook."""

    def __init__(self, num_epochs: int, verbose: bool = True):
        super().__init__()
        self.num_epochs, self.verbose, self.lines, self.seconds = num_epochs, verbose, [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        values = " · ".join(
            f"{key} {value:.3f}" for key, value in (logs or {}).items() if key != "learning_rate"
        )
        seconds = time.perf_counter() - self.start
        self.seconds.append(seconds)
        self.lines.append(f"epoch {epoch + 1:>2}/{self.num_epochs} · {values} · {seconds:.1f} s")
        if self.verbose:
            print(self.lines[-1], flush=True)


def fingerprint(*arrays) -> str:
    """12 hex digits of the SHA-256 of the arrays' bytes: the data's part of the cache key."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:12]


@dataclasses.dataclass(frozen=True)
class _Settings:
    """How one run of `fit` trains, the profile's defaults filled in: all of it is in the key."""

    loss: str | None
    learning_rate: float
    schedule: str
    num_epochs: int
    batch_size: int
    augment: bool
    seed: int
    jit_compile: bool | str  # XLA: "auto" (Keras decides) or False


def fit(
    model: keras.Model,
    train,
    val,
    profile,
    name: str,
    loss: str | None = "bce_dice",
    learning_rate: float = 2e-3,
    schedule: str = "cosine",
    num_epochs: int | None = None,
    batch_size: int | None = None,
    augment: bool = True,
    seed: int = 0,
    jit_compile: bool | str | None = None,
    use_cache: bool = True,
    verbose: bool = True,
) -> dict:
    """Train `model` on (images, masks) pairs; return the history as {metric: [per epoch]}.

    Segmentation models (UNet, UNet++) learn with `loss`, one of `LOSSES` (each head of a deeply
    supervised UNet++ with the same loss), and report the IoU. A regression loss ("mse") takes
    (images, targets) with targets of any shape, no IoU and no augmentation (a flip would change
    what the targets describe). A `models.VAE` is the one model
    trained differently: it computes its own loss (the negative ELBO) in its `train_step`, so it
    must get `loss=None` and (images, images) pairs, of which only the images are used; any
    other model with `loss=None`, or a VAE with a loss, is a ValueError. `num_epochs` and
    `batch_size` default to the profile's.

    `jit_compile` None means XLA off on a CPU (compiling costs more than it saves on these small
    models) and Keras's choice with a GPU. The best weights (lowest validation loss) are kept.
    The checkpoint is cached under a key made from the model's architecture, the training
    settings, the data itself and the code that trains it (`utils.cache_key`), so rerunning a
    notebook reuses it instead of training again (`use_cache=False` forces training).
    """
    settings = _settings(
        model,
        profile,
        name,
        loss,
        learning_rate,
        schedule,
        num_epochs,
        batch_size,
        augment,
        seed,
        jit_compile,
    )
    for flag, value in (("use_cache", use_cache), ("verbose", verbose)):
        check_bool(value, flag)
    checkpoint = _checkpoint(model, train, val, name, settings)
    _compile(model, settings, num_train=len(train[0]))
    if use_cache and checkpoint.exists() and checkpoint.with_suffix(".json").exists():
        return _reuse(model, checkpoint, name, verbose)
    keras.utils.set_random_seed(
        settings.seed
    )  # the same shuffles, augmentations and dropout every run
    train_data, val_data = _datasets(model, train, val, settings)
    _build_optimizer(model)
    return _train(model, train_data, val_data, settings.num_epochs, checkpoint, verbose)


def checkpoint_path(model: keras.Model, train, val, profile, name: str, **arguments):
    """The file in which `fit(model, train, val, profile, name, **arguments)` caches the trained
    model: it exists once that training has run (with its history beside it, as .json)."""
    try:  # fit's own signature fills in its defaults: one place for them
        bound = inspect.signature(fit).bind(model, train, val, profile, name, **arguments)
    except TypeError as error:
        raise ValueError(f"arguments must be keyword arguments of training.fit: {error}") from None
    bound.apply_defaults()
    given = bound.arguments
    settings = _settings(
        *(given[key] for key in ("model", "profile", "name", "loss", "learning_rate", "schedule")),
        *(given[key] for key in ("num_epochs", "batch_size", "augment", "seed", "jit_compile")),
    )
    return _checkpoint(model, train, val, name, settings)


def _settings(
    model,
    profile,
    name,
    loss,
    learning_rate,
    schedule,
    num_epochs,
    batch_size,
    augment,
    seed,
    jit_compile,
) -> _Settings:
    """`fit`'s arguments checked (a clear ValueError for each bad one) and gathered as settings,
    the profile's epochs and batch size filled in."""
    _check_arguments(model, name, loss, schedule, num_epochs, batch_size, augment)
    check_profile(profile)
    check_number(learning_rate, "learning_rate", 0, low_open=True)
    return _Settings(
        loss,
        learning_rate,
        schedule,
        int(num_epochs or profile.num_epochs),
        int(batch_size or profile.batch_size),
        augment,
        check_seed(seed),
        _jit_compile(jit_compile),
    )


def _checkpoint(model, train, val, name: str, settings: _Settings):
    """The checkpoint's path in the cache: the name, then the key (`_cache_key`)."""
    return cache_dir("models") / f"{name}-{_cache_key(model, train, val, settings)}.keras"


def _check_arguments(model, name, loss, schedule, num_epochs, batch_size, augment) -> None:
    """A clear ValueError for each bad argument of `fit`, before anything is built or trained."""
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in "-_." for c in name):
        raise ValueError(f"name must be letters, digits, '-', '_' or '.', got {name!r}")
    if isinstance(model, models.VAE):
        if loss is not None:
            raise ValueError(
                f"loss must be None for a models.VAE (its train_step computes the negative ELBO), "
                f"got {loss!r}"
            )
    elif not isinstance(loss, str) or loss not in LOSSES:
        only_vae = " (loss=None is only for a models.VAE)" if loss is None else ""
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}{only_vae}")
    check_bool(augment, "augment")
    if not isinstance(schedule, str) or schedule not in ("constant", "cosine"):
        raise ValueError(f"schedule must be 'constant' or 'cosine', got {schedule!r}")
    if loss in REGRESSION and augment:
        raise ValueError(
            f"augment must be False with loss={loss!r}: augmenting the images would not change "
            "their regression targets"
        )
    for argument, value in (("num_epochs", num_epochs), ("batch_size", batch_size)):
        if value is not None:
            check_int(value, argument, minimum=1, expected="a positive integer or None")


def _cache_key(model: keras.Model, train, val, settings: _Settings) -> str:
    """`<settings>-<data>`: 12 hex digits of the hash of the model's description, the settings,
    and the code and versions that train it (`cache_key.code_fingerprint`), then 12 of the
    training and validation arrays. Change any of them and the model trains anew."""
    description = json.dumps(
        [
            model.to_json(),
            settings.loss,
            settings.learning_rate,
            settings.schedule,
            settings.num_epochs,
            settings.augment,
            settings.seed,
            settings.batch_size,
            keras.__version__,
            settings.jit_compile,
            cache_key.code_fingerprint(),
        ]
    )
    return hashlib.sha256(description.encode()).hexdigest()[:12] + "-" + fingerprint(*train, *val)


def _jit_compile(value):
    """XLA or not: on a CPU off by default — compiling each new small model takes seconds, more
    than XLA saves on its steps (measured in `make bench`, `training_settings`); with a GPU,
    Keras decides ("auto")."""
    if value is not None:
        if value not in (True, False, "auto"):
            raise ValueError(f"jit_compile must be True, False, 'auto' or None, got {value!r}")
        return value
    import tensorflow as tf

    return "auto" if tf.config.list_physical_devices("GPU") else False


def _compile(model: keras.Model, settings: _Settings, num_train: int) -> None:
    """Adam with the learning-rate schedule; the loss per output and the IoU (a VAE: neither)."""
    learning_rate = settings.learning_rate
    if settings.schedule == "cosine":  # large steps first, small ones to settle at the end
        steps = settings.num_epochs * -(-num_train // settings.batch_size)
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps)
    optimizer = keras.optimizers.Adam(learning_rate)
    if isinstance(model, models.VAE):  # its train_step and test_step compute and track the loss
        model.compile(optimizer, jit_compile=settings.jit_compile)
        return
    num_outputs = _num_outputs(model)  # a deep-supervised UNet++: several, one loss each
    if settings.loss in REGRESSION:
        model.compile(optimizer, LOSSES[settings.loss], jit_compile=settings.jit_compile)
    elif num_outputs > 1:
        model.compile(
            optimizer,
            [LOSSES[settings.loss]] * num_outputs,
            metrics=[[_iou()] for _ in range(num_outputs)],
            jit_compile=settings.jit_compile,
        )
    else:
        model.compile(
            optimizer, LOSSES[settings.loss], metrics=[_iou()], jit_compile=settings.jit_compile
        )


def _build_optimizer(model: keras.Model) -> None:
    """Create the optimizer's slots before `fit`: left to the first training step, they are
    created inside the traced function, which TensorFlow then traces a second time (about 1.5 s
    per model on a laptop CPU; the values are the same either way: zeros)."""
    if model.built and model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def _datasets(model: keras.Model, train, val, settings: _Settings):
    """The tf.data pipelines: training batches shuffled and augmented (reproducibly, from
    `settings.seed`), validation batches as they are; for several outputs, the mask once each."""
    train_data = data.make_dataset(
        *train, settings.batch_size, augment=settings.augment, shuffle=True, seed=settings.seed
    )
    val_data = data.make_dataset(*val, settings.batch_size)
    num_outputs = _num_outputs(model)
    if num_outputs > 1:  # every head learns the same mask
        train_data, val_data = (
            dataset.map(lambda image, mask: (image, (mask,) * num_outputs))
            for dataset in (train_data, val_data)
        )
    return train_data, val_data


class _BestWeights(keras.callbacks.Callback):
    """Keeps the weights of the epoch with the lowest validation loss, in memory: one copy per
    improvement instead of a file written each time (the checkpoint is saved once, at the end)."""

    def on_train_begin(self, logs=None):
        self.best, self.weights = np.inf, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get("val_loss", np.inf)
        if self.weights is None or value < self.best:
            self.best, self.weights = value, self.model.get_weights()


def _train(model, train_data, val_data, num_epochs: int, checkpoint, verbose: bool) -> dict:
    """The training loop: Keras's `fit` with one line per epoch; the model ends with the weights
    of its best epoch (lowest validation loss), saved with the history beside them."""
    log, best = EpochLine(num_epochs, verbose), _BestWeights()
    start = time.perf_counter()
    history = model.fit(
        train_data,
        validation_data=val_data,
        epochs=num_epochs,
        verbose=0,
        shuffle=False,  # the dataset shuffles itself, reproducibly
        callbacks=[best, log],
    ).history
    history = {key: [float(v) for v in values] for key, values in history.items()}
    history["seconds"] = time.perf_counter() - start
    history["log"] = log.lines
    history["epoch_seconds"] = log.seconds
    model.set_weights(best.weights)
    model.save(checkpoint)
    checkpoint.with_suffix(".json").write_text(json.dumps(history))
    return history


def _reuse(model: keras.Model, checkpoint, name: str, verbose: bool) -> dict:
    """Load the cached best weights into `model`; return (and show) the cached history."""
    _load_weights(model, checkpoint)
    history = json.loads(checkpoint.with_suffix(".json").read_text())
    if verbose:
        print(f"{name}: reusing the weights cached in {checkpoint.name}; its training was:")
        print("\n".join(history.get("log", [])))
    return history


def _load_weights(model: keras.Model, checkpoint) -> None:
    """Copy the weights of a saved checkpoint into `model` (its compiled state stays)."""
    model.set_weights(keras.models.load_model(checkpoint, compile=False).get_weights())


def _num_outputs(model: keras.Model) -> int:
    """How many outputs a model has (a subclassed model such as the VAE has no `outputs`: 1)."""
    return len(getattr(model, "outputs", None) or [None])


def _iou():
    """The IoU of the foreground (class 1), as Keras tracks it during training."""
    return keras.metrics.BinaryIoU(target_class_ids=[1], name="iou")


def predict(model: keras.Model, images, batch_size: int = 32) -> np.ndarray:
    """Probabilities for a batch of images, as a NumPy array (a model with one output)."""
    num_outputs = _num_outputs(model)
    if num_outputs > 1:
        raise ValueError(
            f"model has {num_outputs} outputs; predict with one of them: "
            "models.average_heads(model) or models.prune_unet_plus_plus(model, level)"
        )
    return forward(model, images, batch_size)


def forward(model: keras.Model, inputs, batch_size: int = 32):
    """The model's outputs for `inputs`, as NumPy (a list for a model with several outputs):
    the numbers `model.predict` computes, batch by batch, without the prediction function and
    input pipeline `predict` builds for every new model (most of its cost on small inputs)."""
    inputs = np.asarray(inputs, np.float32)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if inputs.ndim == 0 or len(inputs) == 0:
        raise ValueError(f"inputs must be a non-empty batch, got shape {inputs.shape}")
    with warnings.catch_warnings():  # a model built on a list of one input warns; same call
        warnings.filterwarnings("ignore", "The structure of `inputs`", UserWarning)
        parts = [
            model(inputs[start : start + batch_size], training=False)
            for start in range(0, len(inputs), batch_size)
        ]
    if isinstance(parts[0], (list, tuple)):
        return [
            np.concatenate([np.asarray(part[k]) for part in parts]) for k in range(len(parts[0]))
        ]
    return np.concatenate([np.asarray(part) for part in parts])


def evaluate(
    model: keras.Model, images, masks, threshold: float = 0.5, membranes: bool = False
) -> dict[str, float]:
    """Mean per-image Dice, IoU and HD95 on a test set; with `membranes`, also the boundary
    F-score (1 px tolerance) and the topology score V_rand of the cells the membranes enclose."""
    probabilities = predict(model, images)
    scores = {
        "dice": metrics.dice(masks, probabilities, threshold),
        "iou": metrics.iou(masks, probabilities, threshold),
        "hd95": metrics.hd95(masks, probabilities, threshold),
    }
    if membranes:
        scores["boundary_f"] = metrics.boundary_f1(masks, probabilities, threshold)
        scores["v_rand"] = metrics.v_rand(masks, probabilities, threshold)
    return scores

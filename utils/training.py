"""One training helper for notebooks 04-07: epochs and sizes from the profile, one line per
epoch, the best checkpoint cached (safe `.keras` format) and reused on rerun, evaluation with
`utils.metrics`. Several GPUs: `tf.distribute.MirroredStrategy`; any GPU: mixed precision."""

from __future__ import annotations

import hashlib
import json
import numbers
import time
from collections.abc import Callable

import keras
import numpy as np

from utils import data, metrics
from utils.setup import cache_dir

LOSSES = {
    "bce_dice": metrics.bce_dice_loss,
    "paper": metrics.unet_plus_plus_loss,
    "dice": metrics.soft_dice_loss,
    "bce": "binary_crossentropy",
}


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
        self.num_epochs, self.verbose, self.lines = num_epochs, verbose, []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        values = " · ".join(
            f"{key} {value:.3f}" for key, value in (logs or {}).items() if key != "learning_rate"
        )
        seconds = time.perf_counter() - self.start
        self.lines.append(f"epoch {epoch + 1:>2}/{self.num_epochs} · {values} · {seconds:.1f} s")
        if self.verbose:
            print(self.lines[-1], flush=True)


def _fingerprint(*arrays) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:12]


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
    use_cache: bool = True,
    verbose: bool = True,
) -> dict:
    """Train `model` on (images, masks) pairs; return the history as {metric: [per epoch]}.

    `loss=None` is for models that compute their own loss in `train_step` (the VAE: pass
    (images, images) pairs; only the first is used). `num_epochs` and `batch_size` default to the
    profile's.

    The best weights (lowest validation loss) are kept. The checkpoint is cached under a key made
    from the model's architecture, the training settings and the data itself, so rerunning a
    notebook reuses it instead of training again (`use_cache=False` forces training).
    """
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise ValueError(f"name must be letters, digits, '-', '_' or '.', got {name!r}")
    if loss is not None and loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
    if schedule not in ("constant", "cosine"):
        raise ValueError(f"schedule must be 'constant' or 'cosine', got {schedule!r}")
    for argument, value in (("num_epochs", num_epochs), ("batch_size", batch_size)):
        if value is not None and (not isinstance(value, numbers.Integral) or value < 1):
            raise ValueError(f"{argument} must be a positive integer or None, got {value!r}")
    num_epochs = int(num_epochs or profile.num_epochs)
    batch_size = int(batch_size or profile.batch_size)
    settings = json.dumps(
        [
            model.to_json(),
            loss,
            learning_rate,
            schedule,
            num_epochs,
            augment,
            seed,
            batch_size,
            keras.__version__,
        ]
    )
    key = hashlib.sha256(settings.encode()).hexdigest()[:12] + "-" + _fingerprint(*train, *val)
    checkpoint = cache_dir("models") / f"{name}-{key}.keras"
    history_path = checkpoint.with_suffix(".json")
    steps = num_epochs * -(-len(train[0]) // batch_size)
    if schedule == "cosine":  # large steps first, small ones to settle at the end
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps)
    num_outputs = _num_outputs(model)  # a deep-supervised UNet++: several, one loss each
    if loss is None:
        model.compile(keras.optimizers.Adam(learning_rate))
    else:
        model.compile(
            keras.optimizers.Adam(learning_rate),
            [LOSSES[loss]] * num_outputs if num_outputs > 1 else LOSSES[loss],
            metrics=[[_iou()] for _ in range(num_outputs)] if num_outputs > 1 else [_iou()],
        )
    if use_cache and checkpoint.exists() and history_path.exists():
        model.set_weights(keras.models.load_model(checkpoint, compile=False).get_weights())
        history = json.loads(history_path.read_text())
        if verbose:
            print(f"{name}: reusing the weights cached in {checkpoint.name}; its training was:")
            print("\n".join(history.get("log", [])))
        return history
    keras.utils.set_random_seed(seed)
    train_data = data.make_dataset(*train, batch_size, augment=augment, shuffle=True, seed=seed)
    val_data = data.make_dataset(*val, batch_size)
    if num_outputs > 1:  # every head learns the same mask
        train_data, val_data = (
            dataset.map(lambda image, mask: (image, (mask,) * num_outputs))
            for dataset in (train_data, val_data)
        )
    log = EpochLine(num_epochs, verbose)
    best = keras.callbacks.ModelCheckpoint(checkpoint, monitor="val_loss", save_best_only=True)
    callbacks = [best, log]
    start = time.perf_counter()
    history = model.fit(
        train_data,
        validation_data=val_data,
        epochs=num_epochs,
        verbose=0,
        shuffle=False,  # the dataset shuffles itself, reproducibly
        callbacks=callbacks,
    ).history
    history = {key: [float(v) for v in values] for key, values in history.items()}
    history["seconds"] = time.perf_counter() - start
    history["log"] = log.lines
    model.set_weights(keras.models.load_model(checkpoint, compile=False).get_weights())
    history_path.write_text(json.dumps(history))
    return history


def _num_outputs(model: keras.Model) -> int:
    """How many outputs a model has (a subclassed model such as the VAE has no `outputs`: 1)."""
    return len(getattr(model, "outputs", None) or [None])


def _iou():
    return keras.metrics.BinaryIoU(target_class_ids=[1], name="iou")


def predict(model: keras.Model, images, batch_size: int = 32) -> np.ndarray:
    """Probabilities for a batch of images, as a NumPy array (a model with one output)."""
    num_outputs = _num_outputs(model)
    if num_outputs > 1:
        raise ValueError(
            f"model has {num_outputs} outputs; predict with one of them: "
            "models.average_heads(model) or models.prune_unet_plus_plus(model, level)"
        )
    return np.asarray(
        model.predict(np.asarray(images, np.float32), batch_size=batch_size, verbose=0)
    )


def evaluate(model: keras.Model, images, masks, threshold: float = 0.5) -> dict[str, float]:
    """Mean per-image Dice, IoU and HD95 on a test set."""
    probabilities = predict(model, images)
    return {
        "dice": metrics.dice(masks, probabilities, threshold),
        "iou": metrics.iou(masks, probabilities, threshold),
        "hd95": metrics.hd95(masks, probabilities, threshold),
    }


def seconds_per_image(model: keras.Model, images, repeats: int = 5) -> float:
    """Inference time per image: the fastest of `repeats` forward passes over `images` as one
    batch (eager call, no `predict` overhead), after one warm-up pass."""
    images = keras.ops.convert_to_tensor(np.asarray(images, np.float32))
    keras.tree.map_structure(np.asarray, model(images, training=False))  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        keras.tree.map_structure(np.asarray, model(images, training=False))
        times.append(time.perf_counter() - start)
    return min(times) / len(images)

"""Several trainings at once: `train_seeds` trains the seeds of recipes that are not cached yet
in worker processes, `workers` at a time, with the weights of training one after the other.

One training of these small models keeps about one core of a CPU busy, so on a machine with two
cores two trainings at a time finish sooner. Each worker is a Python process of its own, fed one
training at a time and kept for the next call; every training sets its own seeds, so where it runs
does not change its weights.
"""

from __future__ import annotations

import atexit
import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading

from utils import config, training
from utils.checks import check_profile
from utils.experiments.recipes import _check_changes, _check_seeds, _prepared, recipe, train

__all__ = ["is_cached", "train_seeds", "workers"]


#: The checkpoint each (recipe, profile, seed, changes, cache folder) trains to, once computed:
#: finding it builds the model and prepares its data, so a notebook asking again is spared that.
_CHECKPOINTS: dict[tuple, object] = {}


def _checkpoint(name: str, profile, seed: int, changes: dict):
    """The file `train(name, profile, seed, **changes)` caches its model in (computed once)."""
    key = (name, profile, seed, tuple(sorted(changes.items())), os.environ.get("COURSE_CACHE"))
    checkpoint = _CHECKPOINTS.get(key)
    if checkpoint is None:
        model, arguments = _prepared(name, profile, seed, None, changes)
        fit_args = {k: v for k, v in arguments["fit"].items() if k != "verbose"}
        checkpoint = _CHECKPOINTS[key] = training.checkpoint_path(
            model, *arguments["data"], **fit_args
        )
    return checkpoint


def _is_cached(name: str, profile, seed: int, changes: dict) -> bool:
    """Whether `train(name, profile, seed, **changes)` would load its model from the cache."""
    checkpoint = _checkpoint(name, profile, seed, changes)
    return checkpoint.exists() and checkpoint.with_suffix(".json").exists()


def is_cached(name: str, profile, seeds=None, **changes) -> bool:
    """Whether recipe `name` is in the cache for every one of `seeds` (default: the profile's):
    then `train` and `run_seeds` only load, and nothing trains. Notebook 07 quotes notebook 05's
    verdict this way, from 05's models."""
    check_profile(profile)
    recipe(name)
    _check_changes(changes)
    return all(_is_cached(name, profile, seed, changes) for seed in _check_seeds(seeds, profile))


def workers(profile) -> int:
    """How many trainings run at once when several seeds need training (`train_seeds`): the
    environment variable COURSE_WORKERS if set; else 2 where two CPU cores or more are usable,
    because one training of these small models keeps only about one core busy (`make bench
    BENCH=parallel_seeds`: two at a time take about 0.8 of the time, with the same weights);
    1 with a GPU, and in the `ci` profile, whose models train in a second or two (starting a
    worker costs more)."""
    check_profile(profile)
    value = os.environ.get("COURSE_WORKERS")
    if value is not None:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"COURSE_WORKERS must be a positive integer, got {value!r}")
        return int(value)
    if profile.name == "ci" or _has_gpu():
        return 1
    return min(2, usable_cores())


def usable_cores() -> int:
    """The CPU cores this process may use: those it may run on (`taskset`, a container's cpuset),
    capped by a cgroup's CPU quota (Binder and other containers give, say, 1 CPU of a large
    machine, and `os.cpu_count()` would count the machine's)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:  # cgroup v2: "max 100000" (no quota) or "<quota> <period>" in microseconds
        quota, period = open("/sys/fs/cgroup/cpu.max", encoding="ascii").read().split()
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores or 1)


def _has_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def train_seeds(names, profile, seeds=None, **changes) -> list[tuple[str, int]]:
    """Train recipe `names` (one name, a list of names, or a dict of name -> its own seeds) once
    for each of `seeds` not in the cache yet, `workers(profile)` trainings at a time, each worker
    a Python process of its own that takes the next training as soon as it is free; return the
    (name, seed) pairs it trained. The weights are those of training one after the other (every
    training sets its own seeds). `run_seeds` calls it first; a notebook may call it for several
    recipes at once, then load each model from the cache."""
    check_profile(profile)
    if isinstance(names, dict):
        if seeds is not None:
            raise ValueError("seeds must be None when names is a dict of name -> seeds")
        wanted = {name: _check_seeds(list(chosen), profile) for name, chosen in names.items()}
    else:
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, (list, tuple)) or not names:
            raise ValueError(
                f"names must be a recipe name, a non-empty list of them or a dict, got {names!r}"
            )
        wanted = {name: _check_seeds(seeds, profile) for name in names}
    if not wanted:
        raise ValueError("names must name at least one recipe")
    for name in wanted:
        recipe(name)
    _check_changes(changes)
    missing = [
        (name, seed)
        for name, chosen in wanted.items()
        for seed in chosen
        if not _is_cached(name, profile, seed, changes)
    ]
    count = min(workers(profile), len(missing))
    if count < 2:
        for name, seed in missing:
            train(name, profile, seed, verbose=False, **changes)
            release_memory()
        return missing
    jobs = queue.Queue()
    for name, seed in missing:
        jobs.put((name, profile, seed, changes))
    failures = []
    threads = [
        threading.Thread(target=_feed, args=(worker, jobs, failures))
        for worker in _started_workers(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError("a training in a worker process failed:\n" + failures[0])
    return missing


def release_memory() -> None:
    """After a training in this process: drop what Keras keeps from it and hand freed memory back
    to the system. A kernel that trains one model after another (one core, as on Binder) grows by
    about 45 MB a training without this, 20 MB with it; the weights of later trainings are the
    same (each training sets its own seeds)."""
    import ctypes
    import gc

    import keras

    keras.backend.clear_session(free_memory=True)
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # glibc keeps freed memory unless asked
    except (OSError, AttributeError):
        pass  # another C library (macOS): nothing to trim


#: A worker process: `_serve` reads trainings from stdin and says "done" on stdout after each.
_WORKER = "from utils.experiments.parallel import _serve; _serve()"

#: The worker processes that are running, kept for the next `train_seeds` (starting one imports
#: TensorFlow: seconds), each with the file its messages go to and the environment it started in.
_POOL: list[tuple[subprocess.Popen, object, dict]] = []


def _started_workers(count: int) -> list[tuple[subprocess.Popen, object, dict]]:
    """`count` running workers: those of the pool that still run in this process's environment
    (a changed $COURSE_CACHE, say, must reach them), and new ones for the rest."""
    environment = dict(os.environ)
    for worker in list(_POOL):
        if worker[0].poll() is not None or worker[2] != environment:
            _stop(worker)
    while len(_POOL) < count:
        log = tempfile.TemporaryFile()
        process = subprocess.Popen(
            [sys.executable, "-c", _WORKER],
            cwd=config.ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        _POOL.append((process, log, environment))
    return _POOL[:count]


def _stop(worker) -> None:
    """End one worker (it stops at the end of its input) and drop it from the pool."""
    process, log, _ = worker
    if worker in _POOL:
        _POOL.remove(worker)
    try:
        process.stdin.close()
    except OSError:  # it has ended already
        pass
    process.wait()
    log.close()


atexit.register(lambda: [_stop(worker) for worker in list(_POOL)])


def _feed(worker, jobs: queue.Queue, failures: list) -> None:
    """Give one worker the next job of `jobs` until it is empty (a thread of `train_seeds`); on a
    failure the worker's last messages go to `failures`, the worker is stopped and no new job
    starts."""
    process, log, _ = worker
    while not failures:
        try:
            job = jobs.get_nowait()
        except queue.Empty:
            return
        message = pickle.dumps(job)
        try:
            process.stdin.write(len(message).to_bytes(8, "big") + message)
            process.stdin.flush()
            answer = process.stdout.readline()
        except OSError:  # the worker has ended: its messages say why
            answer = b""
        if answer != b"done\n":
            process.wait()
            failures.append(f"{job[0]} seed {job[2]}:\n{_tail(log)}")
            _stop(worker)


def _tail(log, lines: int = 20) -> str:
    """The last `lines` lines a worker wrote to its log."""
    log.seek(0)
    return "\n".join(log.read().decode(errors="replace").strip().splitlines()[-lines:])


def _serve() -> None:
    """The loop of a worker process: read (name, profile, seed, changes), train it into the
    cache, write "done"; stop at the end of stdin. Anything printed goes to stderr."""
    answer = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stdout carries only the answers
    while header := sys.stdin.buffer.read(8):
        name, profile, seed, changes = pickle.loads(
            sys.stdin.buffer.read(int.from_bytes(header, "big"))
        )
        train(name, profile, seed, verbose=False, **changes)
        answer.write(b"done\n")
        answer.flush()

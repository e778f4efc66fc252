"""Running a submission's code where it can harm nothing: Linux namespaces through bubblewrap.

The sandbox sees the system read-only, the Python environment and the course's `utils/`, `tools/`
and `data/` read-only at /course (without the answer key: `utils/answers.py`, `cases.py`,
`references.py`), and one scratch folder it may write, mounted at /course/notebooks: no
other submission, no solution notebook, no network (a network namespace of its own), no other
process (a PID namespace of its own). It runs as a non-root user — `nobody` when the grader runs
as root, since root ignores the per-user process limit — under RLIMIT_NPROC, and a watchdog here
kills it for time or for resident memory (proportional set size, so that forked copies are not
counted twice; an address-space limit would refuse TensorFlow, which reserves far more than it
uses). Killing bubblewrap ends the namespace's first process, and with it every process inside.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from utils.config import ROOT

#: What the sandbox may not read of the course: the answer key, its cases and references.
HIDDEN = ("utils/answers.py", "utils/cases.py", "utils/references.py")
#: The course folders a submission needs, read-only.
VISIBLE = ("utils", "tools", "data", "requirements.txt", "pyproject.toml")
#: The user a grader running as root drops to.
NOBODY = 65534


@dataclass(frozen=True)
class Limits:
    """What one submission may use: seconds, resident memory in bytes, processes and threads."""

    seconds: float = 600.0
    memory_bytes: int = 4 * 2**30
    processes: int = 1024


@dataclass(frozen=True)
class Outcome:
    """How a sandboxed run ended: `status` ("finished", "timed out", "killed for memory") and its
    exit code, stderr's last line, seconds and peak resident memory in bytes."""

    status: str
    returncode: int | None
    detail: str
    seconds: float
    peak_bytes: int


def isolation_problem() -> str | None:
    """None when submissions can be isolated here; otherwise why not, in words."""
    if not sys.platform.startswith("linux"):
        return f"isolation needs Linux namespaces (bubblewrap); this is {sys.platform}"
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed: `apt-get install bubblewrap` (Debian, Ubuntu)"
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return "setpriv (util-linux) is missing: the grader cannot drop root inside the sandbox"
    trial = subprocess.run([*_bwrap_prefix([]), "true"], capture_output=True, text=True)
    if trial.returncode != 0:
        reason = (trial.stderr.strip().splitlines() or ["no message"])[-1]
        return f"bubblewrap cannot create a sandbox here ({reason})"
    return None


#: Where the course appears inside the sandbox, wherever its checkout lies (even under /tmp).
INSIDE = Path("/course")


def _place(path: Path, root: Path = ROOT) -> Path:
    """Where a host path appears inside the sandbox: the course (its environment included) under
    INSIDE, anything else where it is."""
    path = Path(path)
    try:
        return INSIDE / path.relative_to(root)
    except ValueError:
        return path


def _python_prefixes() -> list[Path]:
    """The Python installation and environment this grader runs, where they are not under /usr."""
    prefixes = {Path(sys.prefix).absolute(), Path(sys.base_prefix).resolve()}
    prefixes.add(Path(os.path.realpath(sys.executable)).parent.parent)
    return sorted(p for p in prefixes if not str(p).startswith("/usr"))


def python_inside(root: Path = ROOT) -> str:
    """This grader's Python, as the sandbox sees it."""
    return str(_place(Path(sys.executable).absolute(), Path(root).resolve()))


def _system_binds(root: Path = ROOT) -> list[str]:
    """The system, read-only: /usr and the links of a merged /usr, /etc (no secrets are needed
    beyond what every user reads) and the Python installation outside /usr."""
    arguments = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            arguments += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            arguments += ["--ro-bind", str(path), str(path)]
    arguments += ["--ro-bind", "/etc", "/etc"]
    for prefix in _python_prefixes():
        arguments += ["--ro-bind", str(prefix), str(_place(prefix, root))]
    return arguments


def _parents(paths) -> list[str]:
    """`--dir` for every folder above the bound paths, made readable (bubblewrap's own are 0700)."""
    folders = set()
    for path in paths:
        for parent in Path(path).parents:
            if str(parent) != "/":
                folders.add(parent)
    arguments = []
    for folder in sorted(folders, key=lambda p: len(p.parts)):
        arguments += ["--perms", "0755", "--dir", str(folder)]
    return arguments


def _bwrap_prefix(mounts: list[Path], root: Path = ROOT) -> list[str]:
    """bubblewrap with fresh namespaces (mounts, PIDs, network, IPC, host name), the system and
    Python read-only, and the folders above the sandbox paths `mounts`."""
    arguments = ["bwrap", "--die-with-parent", "--new-session"]
    arguments += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
    arguments += ["--unshare-cgroup-try"]
    if os.geteuid() != 0:
        arguments += ["--unshare-user"]  # the user's own uid inside, as an unprivileged sandbox
    placed = [_place(prefix, root) for prefix in _python_prefixes()]
    arguments += _parents([*mounts, *placed]) + _system_binds(root)
    arguments += ["--proc", "/proc", "--dev", "/dev"]
    return arguments


def command(scratch: Path, argv: list[str], root: Path = ROOT) -> list[str]:
    """The full command that runs `argv` in a sandbox where the course is at INSIDE, read-only,
    and the only writable folders are `scratch`, mounted at INSIDE/notebooks (its working
    folder), and scratch/tmp, mounted at /tmp."""
    scratch, root = Path(scratch).resolve(), Path(root).resolve()
    visible = [root / name for name in VISIBLE if (root / name).exists()]
    notebooks = INSIDE / "notebooks"
    arguments = _bwrap_prefix([*(_place(p, root) for p in visible), notebooks], root)
    arguments += ["--bind", str(scratch / "tmp"), "/tmp"]
    for path in visible:
        arguments += ["--ro-bind", str(path), str(_place(path, root))]
    empty = scratch.parent / "hidden-file"  # outside the scratch: the sandbox cannot fill it
    empty.write_text("", encoding="utf-8")
    for name in HIDDEN:
        if (root / name).exists():
            arguments += ["--ro-bind", str(empty), str(INSIDE / name)]
    arguments += ["--bind", str(scratch), str(notebooks), "--chdir", str(notebooks)]
    if os.geteuid() == 0:
        arguments += ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]
    return arguments + argv


def prepare(scratch: Path) -> None:
    """Make `scratch` (and its tmp/) writable by the sandbox's user."""
    (Path(scratch) / "tmp").mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        for path in (Path(scratch), Path(scratch) / "tmp"):
            os.chown(path, NOBODY, NOBODY)


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            tree.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue  # it ended while we looked
    return tree


def tree_of(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    tree, found, stack = _children(), [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(tree.get(current, []))
    return found


def resident_bytes(pids) -> int:
    """Proportional set size of these processes in bytes (shared pages split between sharers)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
                for line in handle:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError):
            continue
    return total


def _kill(process: subprocess.Popen) -> None:
    """Kill the run and everything it started (bubblewrap's death ends its PID namespace)."""
    pids = tree_of(process.pid) if Path("/proc").is_dir() else [process.pid]
    for pid in reversed(pids):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def run(argv: list[str], environment: dict, limits: Limits, cwd: Path) -> Outcome:
    """Run `argv` (a sandbox command, or a plain one when the teacher accepted the risk) in its own
    process group, watched for time and resident memory; never raises for what the run does."""
    start = time.perf_counter()
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    peak, status, watch = 0, "finished", Path("/proc").is_dir()
    os.set_blocking(process.stderr.fileno(), False)
    stderr = b""
    while process.poll() is None:
        chunk = process.stderr.read(65536)
        if chunk:
            stderr = (stderr + chunk)[-4096:]
        if time.perf_counter() - start > limits.seconds:
            status = "timed out"
            break
        if watch:
            peak = max(peak, resident_bytes(tree_of(process.pid)))
            if peak > limits.memory_bytes:
                status = "killed for memory"
                break
        time.sleep(0.05)
    if status != "finished":
        _kill(process)
    rest = process.stderr.read() or b""
    process.stderr.close()
    lines = (stderr + rest)[-4096:].decode(errors="replace").strip().splitlines() or [""]
    return Outcome(status, process.returncode, lines[-1][:160], time.perf_counter() - start, peak)

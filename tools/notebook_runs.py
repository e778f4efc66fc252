"""`make notebooks`: re-execute notebooks in place and record, for each, its wall time and the peak
memory of its kernel, in `benchmarks/notebook_runs.json` (`make bench` prints that record).

Each notebook runs in its own `jupyter nbconvert --execute --inplace` process. Its peak memory is
what a container such as Binder's counts: the resident memory of that process and of all its
descendants together (the kernel, and the worker processes that train seeds), sampled four times a
second from /proc. The largest peak of a single process (its VmHWM, the kernel's as a rule) is
recorded too. (`os.wait4`'s figure, which `/usr/bin/time -v` prints, would not do: a process forked
from a large one, pytest's, inherits its parent's peak.)
`python -m tools.notebook_runs NOTEBOOK...` runs them (`--output-dir DIR` stores the outputs there
instead, `--record FILE` records elsewhere: a measurement that must not replace the stored run);
`python -m tools.notebook_runs --table` prints the record without running anything.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

from utils.config import ROOT

RECORD = ROOT / "benchmarks" / "notebook_runs.json"
#: Binder's memory limit (mybinder.org: 2 GB); every notebook should stay well under it.
MEMORY_BUDGET_GB = 1.5


def _cores() -> int:
    """The CPU cores this process may run on (taskset and containers narrow it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _tree_memory(root: int) -> tuple[int, int]:
    """Process `root` and all its descendants now (Linux): their resident memory together, and the
    largest peak of one of them (its VmHWM), in bytes."""
    parents = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as stat:
                    parents[int(entry.name)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue  # it ended meanwhile
    tree, grew = {root}, True
    while grew:
        grown = tree | {pid for pid, parent in parents.items() if parent in tree}
        grew, tree = len(grown) > len(tree), grown
    total, largest = 0, 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        rss, hwm = (int(fields.get(name, "0 kB").split()[0]) * 1024 for name in ("VmRSS", "VmHWM"))
        total, largest = total + rss, max(largest, hwm)
    return total, largest


class _Sampler(threading.Thread):
    """Samples `_tree_memory(pid)` every `interval` seconds until stopped; keeps the peaks."""

    def __init__(self, pid: int, interval: float = 0.25):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak, self.largest = pid, interval, 0, 0
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(self.interval):
            total, largest = _tree_memory(self.pid)
            self.peak, self.largest = max(self.peak, total), max(self.largest, largest)


def run(path: Path, output_dir: Path | None = None) -> dict:
    """Execute notebook `path` in place, or into `output_dir` (in the profile of COURSE_PROFILE,
    cpu by default); return
    its wall time, the peak of its processes' memory together, and its largest process's."""
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "nbconvert",
        "--to",
        "notebook",
        "--execute",
        "--ExecutePreprocessor.timeout=-1",
        "--ExecutePreprocessor.record_timing=False",
        *(["--output-dir", str(output_dir)] if output_dir else ["--inplace"]),
        str(path),
    ]
    start = time.monotonic()
    process = subprocess.Popen(command)
    sampler = _Sampler(process.pid)
    sampler.start()
    _, status = os.waitpid(process.pid, 0)
    sampler.stopped.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - start
    if process.returncode != 0:
        raise SystemExit(f"{path} failed (exit status {process.returncode})")
    return {
        "seconds": round(seconds, 1),
        "peak_memory_gb": round(sampler.peak / 1e9, 3),
        "largest_process_gb": round(sampler.largest / 1e9, 3),
        "profile": os.environ.get("COURSE_PROFILE", "cpu"),
        "cores": _cores(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "date": datetime.date.today().isoformat(),
    }


def read(record: Path = RECORD) -> dict:
    """The recorded runs, by notebook stem (empty when nothing was recorded)."""
    return json.loads(record.read_text(encoding="utf-8")) if record.exists() else {}


def table(record: Path = RECORD) -> str:
    """The record as a table: time, peak memory against Binder's budget, cores and profile."""
    runs = read(record)
    if not runs:
        return f"no notebook runs recorded in {record} (run `make notebooks`)"
    lines = [
        f"{'notebook':<28} {'time':>10} {'all processes':>14} {'largest':>8}  cores  profile  date"
    ]
    for stem, entry in sorted(runs.items()):
        minutes, seconds = divmod(round(entry["seconds"]), 60)
        flag = "" if entry["peak_memory_gb"] <= MEMORY_BUDGET_GB else "  over the budget"
        lines.append(
            f"{stem:<28} {minutes:>3} min {seconds:>2} s {entry['peak_memory_gb']:>11.2f} GB"
            f" {entry.get('largest_process_gb', float('nan')):>5.2f} GB"
            f"  {entry['cores']:>5}  {entry['profile']:<7}  {entry['date']}{flag}"
        )
    return "\n".join(lines)


def main(arguments: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.notebook_runs", description=__doc__)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--table", action="store_true", help="print the record, run nothing")
    parser.add_argument("--record", type=Path, default=RECORD, help="the record to update")
    parser.add_argument("--output-dir", type=Path, help="store the outputs there, not in place")
    options = parser.parse_args(arguments)
    if options.table or not options.notebooks:
        print(table(options.record))
        return 0
    runs = read(options.record)
    for path in options.notebooks:
        entry = run(path, options.output_dir)
        runs[path.stem] = entry
        options.record.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(runs, indent=1, sort_keys=True) + "\n"
        options.record.write_text(text, encoding="utf-8")
        print(
            f"{path.stem}: {entry['seconds']:.0f} s, peak memory {entry['peak_memory_gb']:.2f} GB"
        )
    print(table(options.record))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

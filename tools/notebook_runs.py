"""`make notebooks`: re-execute notebooks in place and record, for each, its wall time and the peak
memory of its kernel, in `benchmarks/notebook_runs.json` (`make bench` prints that record).

Each notebook runs in its own `jupyter nbconvert --execute --inplace` process; its peak memory is
the largest resident set of that process and everything it waited for (the kernel included), as
the operating system reports it when the process ends (`os.wait4`, like `/usr/bin/time -v`).
`python -m tools.notebook_runs NOTEBOOK...` runs them; `python -m tools.notebook_runs --table`
prints the record without running anything.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from utils.config import ROOT

RECORD = ROOT / "benchmarks" / "notebook_runs.json"
#: Binder's memory limit (mybinder.org: 2 GB); every notebook should stay well under it.
MEMORY_BUDGET_GB = 1.5


def _cores() -> int:
    """The CPU cores this process may run on (taskset and containers narrow it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def run(path: Path) -> dict:
    """Execute notebook `path` in place (the profile of COURSE_PROFILE, cpu by default); return
    its wall time and its peak memory."""
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "nbconvert",
        "--to",
        "notebook",
        "--execute",
        "--inplace",
        "--ExecutePreprocessor.timeout=-1",
        "--ExecutePreprocessor.record_timing=False",
        str(path),
    ]
    start = time.monotonic()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - start
    if process.returncode != 0:
        raise SystemExit(f"{path} failed (exit status {process.returncode})")
    return {
        "seconds": round(seconds, 1),
        "peak_memory_gb": round(usage.ru_maxrss * 1024 / 1e9, 3),  # ru_maxrss is in KiB on Linux
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
    lines = [f"{'notebook':<28} {'time':>9} {'peak memory':>12}  cores  profile  date"]
    for stem, entry in sorted(runs.items()):
        minutes, seconds = divmod(round(entry["seconds"]), 60)
        flag = "" if entry["peak_memory_gb"] <= MEMORY_BUDGET_GB else "  over the budget"
        lines.append(
            f"{stem:<28} {minutes:>3} min {seconds:>2} s {entry['peak_memory_gb']:>8.2f} GB"
            f"  {entry['cores']:>5}  {entry['profile']:<7}  {entry['date']}{flag}"
        )
    return "\n".join(lines)


def main(arguments: list[str]) -> int:
    if arguments == ["--table"]:
        print(table())
        return 0
    if not arguments:
        print("usage: python -m tools.notebook_runs NOTEBOOK... | --table")
        return 2
    runs = read()
    for name in arguments:
        path = Path(name)
        entry = run(path)
        runs[path.stem] = entry
        RECORD.parent.mkdir(exist_ok=True)
        RECORD.write_text(json.dumps(runs, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(
            f"{path.stem}: {entry['seconds']:.0f} s, peak memory {entry['peak_memory_gb']:.2f} GB"
        )
    print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Do the notebooks' verdicts hold on another machine? (`make rerun-verdicts`)

Re-executes notebooks in the `cpu` profile from an EMPTY model cache, as a learner on another
machine would, and compares every stdout line that starts with "Verdict:" with the outputs stored in
the notebooks. As a stand-in for a different CPU, run it with oneDNN set the opposite way from the
run you stored: TF_ENABLE_ONEDNN_OPTS=0 (the default here) or =1 (if your CPU leaves oneDNN off).

    python -m tools.rerun_verdicts [notebooks/04_unet.ipynb ...]   (default: every notebook)

The notebooks pass their stored outcomes to `experiments.verdict(..., expected=...)`, which reports
a stored claim while the rerun's interval confirms it (`experiments.confirms`): a line here moves
only if an interval's end moved by more than its metric's stability margin.

Prints per notebook: stored/rerun verdict counts, mismatches, cell errors, seconds; exits 1 on any
mismatch or error. The stored notebooks are not modified: the reruns, their logs and the model cache
go to a temporary folder (printed at the end).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.course import NOTEBOOK_DIR, notebook_paths
from tools.notebooks import read_notebook
from utils.config import ROOT

VERDICT = "Verdict:"


def verdicts(notebook: dict) -> tuple[list[tuple[int, str]], int]:
    """The notebook's stored verdicts, as (index of the code cell, line stripped), and how many
    error outputs it holds."""
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    lines, errors = [], 0
    for index, cell in enumerate(code):
        for output in cell.get("outputs", []):
            errors += output.get("output_type") == "error"
            if output.get("name") == "stdout":
                text = "".join(output.get("text", ""))
                lines += [
                    (index, line.strip())
                    for line in text.splitlines()
                    if line.strip().startswith(VERDICT)
                ]
    return lines, errors


def mismatches(stored: list, rerun: list) -> list[tuple[int, str]]:
    """The verdicts only one of the two runs printed (stored ones first)."""
    return [x for x in stored if x not in rerun] + [y for y in rerun if y not in stored]


def compare(stored: Path, rerun: Path, seconds: float) -> tuple[list[str], bool]:
    """The report on one notebook (`stored`) and its rerun (`rerun`, missing when the run failed):
    the mismatching verdicts, then one summary line; and whether nothing moved and nothing
    failed."""
    before, _ = verdicts(read_notebook(stored))
    if not Path(rerun).exists():
        return [f"{stored}: did not run to the end (see the log)"], False
    after, errors = verdicts(read_notebook(rerun))
    moved = mismatches(before, after)
    lines = [f"  cell {cell}: {line}" for cell, line in moved]
    lines.append(
        f"{stored}: stored {len(before)} verdicts, rerun {len(after)}, mismatches {len(moved)}, "
        f"errors {errors}, {seconds:.0f} s"
    )
    return lines, not moved and not errors


def environment(base: dict[str, str], cache: Path) -> dict[str, str]:
    """`base` with the `cpu` profile, the model cache `cache` and oneDNN as TF_ENABLE_ONEDNN_OPTS
    says (off when unset)."""
    return dict(
        base,
        COURSE_PROFILE="cpu",
        COURSE_CACHE=str(cache),
        TF_ENABLE_ONEDNN_OPTS=base.get("TF_ENABLE_ONEDNN_OPTS", "0"),
    )


def command(notebook: Path, out: Path) -> list[str]:
    """The command that runs `notebook` top to bottom into folder `out` (same file name): never in
    place, so the stored notebook stays as it is."""
    return [
        sys.executable,
        "-m",
        "nbconvert",
        "--to",
        "notebook",
        "--execute",
        "--output-dir",
        str(out),
        "--ExecutePreprocessor.timeout=-1",
        str(notebook),
    ]


def execute(notebook: Path, out: Path, log: Path, env: dict[str, str]) -> None:
    """Run `notebook` into folder `out` (`command`) from the repository, its messages in `log`."""
    with log.open("w", encoding="utf-8") as handle:
        subprocess.run(
            command(notebook, out), cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT
        )


def main(
    argv: list[str], run=execute, work: Path | None = None, folder: Path = NOTEBOOK_DIR
) -> int:
    """Rerun the notebooks `argv` (default: every course notebook of `folder`, lessons and
    appendices in course order) with `run`, into `work` (default: a new temporary folder), and
    print the comparisons; 1 if any verdict moved or any run failed, 2 if a notebook is missing."""
    notebooks = [Path(a) for a in argv] or notebook_paths(folder)
    missing = [str(path) for path in notebooks if not path.is_file()]
    if missing:
        print(f"no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    work = Path(work or tempfile.mkdtemp(prefix="rerun-verdicts."))
    work.mkdir(parents=True, exist_ok=True)
    env = environment(dict(os.environ), work / "cache")  # a folder that does not exist yet: empty
    print(
        f"profile cpu, empty model cache {env['COURSE_CACHE']}, "
        f"TF_ENABLE_ONEDNN_OPTS={env['TF_ENABLE_ONEDNN_OPTS']}",
        flush=True,
    )
    status = 0
    for notebook in notebooks:
        (work / "out" / notebook.name).unlink(missing_ok=True)  # no earlier rerun read as this one
        start = time.monotonic()
        run(notebook.resolve(), work / "out", work / f"{notebook.name}.log", env)
        report, ok = compare(notebook, work / "out" / notebook.name, time.monotonic() - start)
        print("\n".join(report), flush=True)
        status = status if ok else 1
    print(f"rerun outputs and logs: {work}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

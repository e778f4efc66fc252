"""Teaching with the course: student copies without the solutions, and grading of submissions.

Exercise cells carry the tag "exercise" and worked solutions the tag "solution" (Jupyter's own
cell metadata, `metadata.tags`). `make student` writes every notebook without its solution cells
and with the exercise cells' outputs cleared; `make grade SUBMISSIONS=dir` runs each submitted
notebook in its own process (the `ci` profile, a time limit each) and tabulates the verdicts its
checks record (`utils.exercises`, through $COURSE_GRADE_LOG).

    python -m tools.classroom student [--out DIR]
    python -m tools.classroom grade DIR [--out DIR] [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.course import NOTEBOOK_DIR, NOTEBOOKS, notebook_paths
from tools.notebooks import read_notebook, write_notebook
from utils.config import ROOT

EXERCISE_TAG, SOLUTION_TAG = "exercise", "solution"
STUDENT_DIR = ROOT / "students"
GRADES_DIR = ROOT / "grades"
#: Seconds one submission may run (the `ci` profile runs any notebook in under two minutes).
GRADE_TIMEOUT = 600
_EXERCISE_NAME = re.compile(r"""name=f?["'](Exercise [^"'{]*[^"'{\s,])""")


def tags(cell: dict) -> list[str]:
    """The cell's Jupyter tags (`metadata.tags`), [] when it has none."""
    return list(cell.get("metadata", {}).get("tags", []))


def student_copy(notebook: dict) -> dict:
    """`notebook` without its solution cells and with its exercise cells' outputs cleared;
    every other cell exactly as it is."""
    copied = copy.deepcopy(notebook)
    cells = []
    for cell in copied["cells"]:
        if SOLUTION_TAG in tags(cell):
            continue
        if EXERCISE_TAG in tags(cell) and cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cells.append(cell)
    copied["cells"] = cells
    return copied


def write_student_copies(target: Path = STUDENT_DIR, source: Path = NOTEBOOK_DIR) -> list[Path]:
    """Write the student copy of every course notebook in `source` (lessons and appendices,
    `course.notebook_paths`) into `target`; the paths, in course order."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for original in notebook_paths(source):
        path = target / original.name
        write_notebook(path, student_copy(read_notebook(original)))
        written.append(path)
    return written


def exercise_names(notebook: dict) -> list[str]:
    """The exercises a notebook checks, in order: the `name=` of its exercise cells' checks."""
    names = []
    for cell in notebook["cells"]:
        if EXERCISE_TAG in tags(cell) and cell["cell_type"] == "code":
            for name in _EXERCISE_NAME.findall("".join(cell["source"])):
                if name not in names:
                    names.append(name)
    return names


def course_notebook(path: Path, stems=None) -> str | None:
    """The course notebook a submission is a copy of: the stem (of `stems`, default the course's
    lessons and appendices) its file name contains, the longest if several."""
    matches = [stem for stem in (NOTEBOOKS if stems is None else stems) if stem in Path(path).name]
    return max(matches, key=len) if matches else None


def _run_one(path: str, log: str) -> int:
    """Execute one notebook (in this process: `grade` starts one per submission)."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=None,
        kernel_name="python3",
        allow_errors=True,  # run every cell: a later exercise still gets its verdict
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()
    errors = [
        output.get("ename", "error")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"errors": errors}) + "\n")
    return 0


def grade_one(path: Path, timeout: float = GRADE_TIMEOUT) -> dict:
    """Run one submission in its own process group (the `ci` profile, an empty model cache)
    and return {"status", "detail", "results": {exercise: (outcome, message)}, "seconds"}.
    A file that is not a notebook, a run that fails or one that outlives `timeout` gets a
    status that says so; grading never raises for a bad submission."""
    path = Path(path)
    start = time.perf_counter()
    try:
        notebook = read_notebook(path)
        if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
            raise ValueError("no list of cells")
    except (OSError, UnicodeDecodeError, ValueError) as error:
        reason = str(error).splitlines()[0][:80]
        return {"status": "not a notebook", "detail": reason, "results": {}, "seconds": 0.0}
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "grades.jsonl"
        log.touch()
        environment = dict(
            os.environ,
            COURSE_PROFILE="ci",
            COURSE_CACHE=str(Path(scratch) / "cache"),
            COURSE_GRADE_LOG=str(log),
        )
        # From the repository (where `tools` is importable), whatever the caller's folder.
        command = [
            sys.executable,
            "-m",
            "tools.classroom",
            "run-one",
            str(path.resolve()),
            str(log),
        ]
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: the kernel goes with it
        )
        try:
            _, stderr = process.communicate(timeout=timeout)
            status, detail = "ran", ""
            if process.returncode != 0:
                lines = stderr.decode(errors="replace").strip().splitlines() or ["no message"]
                status, detail = "failed", lines[-1][:120]
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            status, detail = "timed out", f"still running after {timeout:g} s"
        results, errors = {}, []
        for line in log.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if "errors" in entry:
                errors = entry["errors"]
            else:
                results[entry["exercise"]] = (entry["outcome"], entry["message"])
    if status == "ran" and errors:
        status, detail = "ran with errors", f"{len(errors)} cell(s) raised: " + ", ".join(errors)
    return {
        "status": status,
        "detail": detail,
        "results": results,
        "seconds": time.perf_counter() - start,
    }


def grade(
    submissions: Path,
    out: Path = GRADES_DIR,
    timeout: float = GRADE_TIMEOUT,
    source: Path = NOTEBOOK_DIR,
) -> Path:
    """Grade every file under `submissions` (one row each) into `out`/grades.csv and a readable
    `out`/grades.md, each matched to a course notebook of `source` (lessons and appendices); return
    the CSV's path."""
    submissions, out = Path(submissions), Path(out)
    if not submissions.is_dir():
        raise ValueError(f"submissions must be a folder of notebooks, got {str(submissions)!r}")
    # Hidden files and folders (JupyterLab's .ipynb_checkpoints/ copies) are not submissions.
    files = sorted(
        p
        for p in submissions.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(submissions).parts)
    )
    originals = {path.stem: path for path in notebook_paths(source)}
    rows = []
    for path in files:
        graded = grade_one(path, timeout)
        stem = course_notebook(path, originals)
        expected = exercise_names(read_notebook(originals[stem])) if stem else []
        names = expected + [n for n in graded["results"] if n not in expected]
        rows.append((path.relative_to(submissions).as_posix(), stem, graded, names))
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "grades.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["submission", "notebook", "status", "detail", "exercise", "outcome", "message"]
        )
        for name, stem, graded, names in rows:
            base = [name, stem or "", graded["status"], graded["detail"]]
            if not names:
                writer.writerow([*base, "", "", ""])
            for exercise in names:
                outcome, message = graded["results"].get(exercise, ("not reached", ""))
                writer.writerow([*base, exercise, outcome, message])
    lines = ["# Grades", "", "| submission | status | passed | details |", "|---|---|---|---|"]
    for name, _, graded, names in rows:
        passed = sum(graded["results"].get(n, ("",))[0] == "correct" for n in names)
        notes = [graded["detail"]] if graded["detail"] else []
        for exercise in names:
            outcome, message = graded["results"].get(exercise, ("not reached", ""))
            if outcome != "correct":
                notes.append(f"{exercise}: {outcome}" + (f" ({message})" if message else ""))
        total = f"{passed} / {len(names)}" if names else "—"
        details = "; ".join(notes).replace("|", "\\|") or "all correct"
        lines.append(f"| {name} | {graded['status']} | {total} | {details} |")
    (out / "grades.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return csv_path


def main(argv: list[str]) -> int:
    """`student [--out DIR]`, `grade DIR [--out DIR] [--timeout S]` (and `run-one`, internal)."""
    parser = argparse.ArgumentParser(prog="python -m tools.classroom")
    commands = parser.add_subparsers(dest="command", required=True)
    student = commands.add_parser("student", help="write student copies of the notebooks")
    student.add_argument("--out", type=Path, default=STUDENT_DIR)
    grader = commands.add_parser("grade", help="grade a folder of submitted notebooks")
    grader.add_argument("submissions", type=Path)
    grader.add_argument("--out", type=Path, default=GRADES_DIR)
    grader.add_argument("--timeout", type=float, default=GRADE_TIMEOUT)
    one = commands.add_parser("run-one")
    one.add_argument("path")
    one.add_argument("log")
    arguments = parser.parse_args(argv)
    if arguments.command == "student":
        paths = write_student_copies(arguments.out)
        print(f"{len(paths)} student notebooks written to {arguments.out}")
        return 0
    if arguments.command == "run-one":
        return _run_one(arguments.path, arguments.log)
    csv_path = grade(arguments.submissions, arguments.out, arguments.timeout)
    print((csv_path.parent / "grades.md").read_text(encoding="utf-8"))
    print(f"table: {csv_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

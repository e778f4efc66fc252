"""Teaching with the course: student copies without the solutions, and grading of submissions.

Exercise cells carry the tag "exercise" and worked solutions the tag "solution" (Jupyter's own
cell metadata, `metadata.tags`). `make student` writes every notebook without its solution cells
and with the exercise cells' outputs cleared.

`make grade SUBMISSIONS=dir` runs each submitted notebook in a sandbox (`tools.sandbox`: the `ci`
profile, limits on time, memory and processes, no network, nothing of the teacher's writable or
readable beyond the course code) where its checks only *record* plain data: each value answer,
and each coding exercise's results on the grader's cases. The grader then judges those records
here, outside the sandbox, against the answer key (`utils.answers`), which the sandbox never sees:
nothing a submission prints, writes, imports or patches can change an outcome.

    python -m tools.classroom student [--out DIR]
    python -m tools.classroom grade DIR [--out DIR] [--timeout S] [--memory-gb G]
                                        [--max-processes N] [--unsandboxed]
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tools import sandbox
from tools.course import NOTEBOOK_DIR, NOTEBOOKS, notebook_paths
from tools.notebooks import read_notebook, write_notebook
from utils.config import ROOT

EXERCISE_TAG, SOLUTION_TAG = "exercise", "solution"
STUDENT_DIR = ROOT / "students"
GRADES_DIR = ROOT / "grades"
#: Seconds one submission may run (the `ci` profile runs any notebook in under two minutes).
GRADE_TIMEOUT = 600
_EXERCISE_ID = re.compile(r"""exercise=["'](\d\d[a-z]?\.\d+)["']""")


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
            for exercise in _EXERCISE_ID.findall("".join(cell["source"])):
                name = f"Exercise {exercise.split('.')[1]}"
                if name not in names:
                    names.append(name)
    return names


def course_notebook(path: Path, stems=None) -> str | None:
    """The course notebook a submission is a copy of: the stem (of `stems`, default the course's
    lessons and appendices) its file name contains, the longest if several."""
    matches = [stem for stem in (NOTEBOOKS if stems is None else stems) if stem in Path(path).name]
    return max(matches, key=len) if matches else None


def _run_one(path: str) -> int:
    """Execute one notebook (inside the sandbox: `grade` starts one run per submission) and write
    the errors its cells raised to run.json beside it (its checks record into
    $COURSE_GRADING_DIR)."""
    import resource

    import nbformat
    from nbclient import NotebookClient

    processes = int(os.environ.get("COURSE_GRADE_PROCESSES", "0"))
    if processes:  # processes and threads of this user, counted inside the sandbox's namespace
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=None,
        kernel_name="python3",
        allow_errors=True,  # run every cell: a later exercise still gets its verdict
        resources={"metadata": {"path": str(Path(path).parent)}},
    )
    died = ""
    try:
        client.execute()
    except Exception as error:  # the kernel died (a fork bomb, a crash): still report what ran
        died = f"{type(error).__name__}: {(str(error).splitlines() or [''])[0][:120]}"
    errors = [
        [str(output.get("ename", "error")), str(output.get("evalue", ""))[:200]]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    report = {"errors": errors, "died": died}
    Path(path).with_name("run.json").write_text(json.dumps(report), encoding="utf-8")
    return 0


#: Errors that say the sandbox refused something (files, network, processes), not a learner's bug.
_BLOCKED = re.compile(
    r"PermissionError|Read-only file system|Network is unreachable|name resolution|"
    r"Name or service not known|Resource temporarily unavailable|Operation not permitted|"
    r"Permission denied"
)
#: The most bytes of a submission, or of what a run records, the grader reads.
MAX_READ = 64 * 2**20


def _read_json_lines(path: Path) -> list[dict]:
    """The JSON objects of a file a submission wrote (untrusted: bounded, bad lines skipped)."""
    if not path.is_file() or path.is_symlink():
        return []
    with path.open("rb") as handle:
        text = handle.read(MAX_READ).decode("utf-8", errors="replace")
    entries = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


class _Key:
    """The answer key of one notebook, as the grader uses it: each exercise's spec, the cases of
    the coding exercises and the references' results on them (computed once per grading run)."""

    def __init__(self, stem: str | None):
        from utils import answers, config
        from utils.exercises import FunctionExercise, _call

        self.profile = config.get_profile("ci")
        self.specs = {e: answers.EXERCISES[e] for e in (answers.exercises_of(stem) if stem else [])}
        self.cases, self.references, self.expected = {}, {}, {}
        for exercise, spec in self.specs.items():
            if isinstance(spec, FunctionExercise):
                self.cases[exercise] = spec.cases()
                self.references[exercise] = [
                    _call(spec.reference, c, spec.block) for c in self.cases[exercise]
                ]
            else:
                self.expected[exercise] = spec.expected(self.profile)

    def cases_file(self) -> str:
        """The coding exercises' cases, as the sandbox reads them (plain JSON, no reference)."""
        from utils.exercises import encode

        return json.dumps(
            {
                exercise: {
                    "block": self.specs[exercise].block,
                    "cases": [encode(case.arguments) for case in cases],
                }
                for exercise, cases in self.cases.items()
            }
        )

    def judge(self, records: list[dict]) -> dict[str, tuple[str, str]]:
        """{exercise title: (outcome, message)} for the last record of each exercise."""
        from utils.exercises import decode, judge_function, judge_value, title

        last = {}
        for record in records:
            if record.get("exercise") in self.specs:
                last[record["exercise"]] = record
        results = {}
        for exercise, record in last.items():
            spec = self.specs[exercise]
            try:
                if exercise in self.expected:
                    outcome, message = judge_value(
                        spec, decode(record["answer"]), self.expected[exercise]
                    )
                else:
                    given = [decode(r) for r in record["results"]]
                    outcome, summary, lines = judge_function(
                        spec, self.cases[exercise], given, self.references[exercise]
                    )
                    message = "\n".join([summary, *lines]) if outcome == "wrong" else summary
            except (KeyError, TypeError, ValueError) as error:
                outcome, message = "wrong", f"the record could not be read ({str(error)[:60]})"
            results[title(exercise)] = (outcome, message)
        return results

    def names(self) -> list[str]:
        from utils.exercises import title

        return [title(exercise) for exercise in self.specs]


def _environment(scratch_inside: Path, limits: sandbox.Limits, isolated: bool = True) -> dict:
    """The sandbox's whole environment: nothing of the teacher's (tokens, paths) leaks in."""
    python = Path(sandbox.python_inside() if isolated else sys.executable)
    return {
        "PATH": f"{python.parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(scratch_inside),
        "USER": "student",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(sandbox.INSIDE if isolated else ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(scratch_inside / ".matplotlib"),
        "JUPYTER_RUNTIME_DIR": str(scratch_inside / ".jupyter"),
        "IPYTHONDIR": str(scratch_inside / ".ipython"),
        "TMPDIR": str(scratch_inside / "tmp"),
        "COURSE_PROFILE": "ci",
        "COURSE_CACHE": str(scratch_inside / ".cache"),
        "COURSE_GRADING_DIR": str(scratch_inside),
        "COURSE_GRADE_PROCESSES": str(limits.processes),
    }


def grade_one(
    path: Path, limits: sandbox.Limits | None = None, isolated: bool = True, key=None
) -> dict:
    """Run one submission in a sandbox (`isolated`) or, if the teacher accepted the risk, in a plain
    process, and judge what its checks recorded here, outside it. Returns {"status", "detail",
    "results": {exercise: (outcome, message)}, "seconds", "peak_bytes"}; never raises for a bad
    submission."""
    path, limits = Path(path), limits or sandbox.Limits()
    start = time.perf_counter()
    try:
        if path.stat().st_size > MAX_READ:
            raise ValueError(f"larger than {MAX_READ // 2**20} MB")
        notebook = read_notebook(path)
        if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
            raise ValueError("no list of cells")
    except (OSError, UnicodeDecodeError, ValueError) as error:
        reason = str(error).splitlines()[0][:80]
        return {
            "status": "not a notebook",
            "detail": reason,
            "results": {},
            "seconds": 0.0,
            "peak_bytes": 0,
        }
    key = key or _Key(course_notebook(path))
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder) / "scratch"
        scratch.mkdir()
        sandbox.prepare(scratch)
        shutil.copyfile(path, scratch / "submission.ipynb")
        (scratch / "cases.json").write_text(key.cases_file(), encoding="utf-8")
        inside = sandbox.INSIDE / "notebooks" if isolated else scratch
        runner = [
            sandbox.python_inside() if isolated else sys.executable,
            "-m",
            "tools.classroom",
            "run-one",
            str(inside / "submission.ipynb"),
        ]
        argv = sandbox.command(scratch, runner) if isolated else runner
        environment = _environment(inside, limits, isolated)
        if not isolated:  # outside a namespace the limit would count all of your own processes
            environment["COURSE_GRADE_PROCESSES"] = "0"
        outcome = sandbox.run(argv, environment, limits, cwd=scratch)
        records = _read_json_lines(scratch / "answers.jsonl")
        run_info = _read_json_lines(scratch / "run.json")
    results = key.judge(records)
    errors = [e for info in run_info[-1:] for e in info.get("errors", []) if isinstance(e, list)]
    died = next((str(info.get("died", "")) for info in run_info[-1:]), "")
    status, detail = "ran", ""
    if outcome.status == "timed out":
        status, detail = "timed out", f"still running after {limits.seconds:g} s"
    elif outcome.status == "killed for memory":
        status = "killed for memory"
        detail = f"over {limits.memory_bytes / 2**30:.1f} GiB resident"
    elif outcome.returncode != 0 or died:
        reason = died or outcome.detail or f"exit code {outcome.returncode}"
        status, detail = "failed", f"the run broke down: {reason}"
    if status in ("ran", "failed") and errors:
        named = [f"{e[0]}: {e[1]}"[:100] for e in errors if len(e) == 2]
        blocked = [text for text in named if _BLOCKED.search(text)]
        status = "blocked by the sandbox" if blocked else "raised"
        detail = f"{len(errors)} cell(s) raised: " + "; ".join((blocked or named)[:3])
        detail += f" (then {died})" if died else ""
    return {
        "status": status,
        "detail": detail,
        "results": results,
        "seconds": time.perf_counter() - start,
        "peak_bytes": outcome.peak_bytes,
    }


class IsolationUnavailable(RuntimeError):
    """Raised by `grade` when submissions cannot be sandboxed and the teacher did not accept it."""


def grade(
    submissions: Path,
    out: Path = GRADES_DIR,
    timeout: float = GRADE_TIMEOUT,
    source: Path = NOTEBOOK_DIR,
    *,
    limits: sandbox.Limits | None = None,
    unsandboxed: bool = False,
) -> Path:
    """Grade every file under `submissions` (one row each) into `out`/grades.csv and a readable
    `out`/grades.md, each matched to a course notebook of `source` (lessons and appendices); return
    the CSV's path. Refuses (IsolationUnavailable) when the sandbox cannot run here, unless
    `unsandboxed` says the teacher accepts running the submissions as themselves."""
    submissions, out = Path(submissions), Path(out)
    if not submissions.is_dir():
        raise ValueError(f"submissions must be a folder of notebooks, got {str(submissions)!r}")
    limits = limits or sandbox.Limits(seconds=timeout)
    problem = sandbox.isolation_problem()
    if problem and not unsandboxed:
        raise IsolationUnavailable(
            f"cannot isolate the submissions: {problem}. Grading runs the students' code; without "
            "a sandbox it could read or change your files and reach the network. To grade anyway, "
            "as yourself, pass --unsandboxed (make grade ... UNSANDBOXED=1)."
        )
    # Hidden files and folders (JupyterLab's .ipynb_checkpoints/ copies) are not submissions.
    files = sorted(
        p
        for p in submissions.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(submissions).parts)
    )
    originals = {path.stem: path for path in notebook_paths(source)}
    keys, rows = {}, []
    for path in files:
        stem = course_notebook(path, originals)
        if stem not in keys:
            keys[stem] = _Key(stem)
        graded = grade_one(path, limits, isolated=not problem, key=keys[stem])
        names = keys[stem].names()
        rows.append((path.relative_to(submissions).as_posix(), stem, graded, names))
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "grades.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "submission",
                "notebook",
                "status",
                "detail",
                "seconds",
                "exercise",
                "outcome",
                "message",
            ]
        )
        for name, stem, graded, names in rows:
            base = [
                name,
                stem or "",
                graded["status"],
                graded["detail"],
                f"{graded['seconds']:.0f}",
            ]
            if not names:
                writer.writerow([*base, "", "", ""])
            for exercise in names:
                outcome, message = graded["results"].get(exercise, ("not reached", ""))
                writer.writerow([*base, exercise, outcome, message])
    lines = [
        "# Grades",
        "",
        "| submission | status | passed | seconds | details |",
        "|---|---|---|---|---|",
    ]
    for name, _, graded, names in rows:
        passed = sum(graded["results"].get(n, ("",))[0] == "correct" for n in names)
        notes = [graded["detail"]] if graded["detail"] else []
        for exercise in names:
            outcome, message = graded["results"].get(exercise, ("not reached", ""))
            if outcome != "correct":
                notes.append(f"{exercise}: {outcome}" + (f" ({message})" if message else ""))
        total = f"{passed} / {len(names)}" if names else "—"
        details = "; ".join(notes).replace("|", "\\|").replace("\n", "<br>") or "all correct"
        lines.append(
            f"| {name} | {graded['status']} | {total} | {graded['seconds']:.0f} | {details} |"
        )
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
    grader.add_argument("--memory-gb", type=float, default=sandbox.Limits.memory_bytes / 2**30)
    grader.add_argument("--max-processes", type=int, default=sandbox.Limits.processes)
    grader.add_argument(
        "--unsandboxed",
        action="store_true",
        help="grade without isolation where the sandbox cannot run (the code runs as you)",
    )
    one = commands.add_parser("run-one")
    one.add_argument("path")
    arguments = parser.parse_args(argv)
    if arguments.command == "student":
        paths = write_student_copies(arguments.out)
        print(f"{len(paths)} student notebooks written to {arguments.out}")
        return 0
    if arguments.command == "run-one":
        return _run_one(arguments.path)
    limits = sandbox.Limits(
        arguments.timeout, int(arguments.memory_gb * 2**30), arguments.max_processes
    )
    try:
        csv_path = grade(
            arguments.submissions, arguments.out, limits=limits, unsandboxed=arguments.unsandboxed
        )
    except IsolationUnavailable as error:
        print(f"make grade: {error}", file=sys.stderr)
        return 2
    print((csv_path.parent / "grades.md").read_text(encoding="utf-8"))
    print(f"table: {csv_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Tests of tools/classroom.py: student copies without solutions, and grading submissions.

The grading tests run notebooks (a few minutes in all): they are marked `classroom` and run in
CI's extra pass (`make classroom`), not in `make test`.
"""

import json
import re
from pathlib import Path

import pytest

from tools import classroom
from tools.course import NOTEBOOK_DIR, NOTEBOOKS
from utils.config import ROOT

EXERCISE_NOTEBOOKS = [stem for stem in NOTEBOOKS if stem != "00_start_here"]


def load(stem):
    return json.loads((NOTEBOOK_DIR / f"{stem}.ipynb").read_text(encoding="utf-8"))


def text_of(cell):
    """Everything a cell shows: its source and its outputs' text."""
    parts = ["".join(cell["source"])]
    for output in cell.get("outputs", []):
        parts.append("".join(output.get("text", "")))
        parts += [
            "".join(value)
            for value in output.get("data", {}).values()
            if isinstance(value, (str, list))
        ]
    return "\n".join(parts)


def solution_lines(notebook):
    """The solutions' own lines: in a solution cell, and found in no other cell of the notebook
    (an exercise cell may show the same expression the solution's check repeats)."""
    elsewhere = "\n".join(
        text_of(cell)
        for cell in notebook["cells"]
        if classroom.SOLUTION_TAG not in classroom.tags(cell)
    )
    own = set()
    for cell in notebook["cells"]:
        if classroom.SOLUTION_TAG in classroom.tags(cell):
            for line in "".join(cell["source"]).splitlines():
                line = line.strip().rstrip(",")
                # Long enough to be the solution's own words, not `)` or `</details>`.
                if len(re.sub(r"\W", "", line)) >= 12 and line not in elsewhere:
                    own.add(line)
    return own


@pytest.mark.parametrize("stem", EXERCISE_NOTEBOOKS)
def test_every_notebook_tags_its_exercises_and_solutions(stem):
    notebook = load(stem)
    kinds = [classroom.tags(cell) for cell in notebook["cells"]]
    assert any(classroom.EXERCISE_TAG in k for k in kinds), stem
    assert any(classroom.SOLUTION_TAG in k for k in kinds), stem
    assert classroom.exercise_names(notebook), f"{stem}: no named checks in its exercise cells"


@pytest.mark.parametrize("stem", EXERCISE_NOTEBOOKS)
def test_student_copies_hold_no_solution_text_and_nothing_else_changed(tmp_path, stem):
    classroom.write_student_copies(tmp_path)
    original = load(stem)
    copy = json.loads((tmp_path / f"{stem}.ipynb").read_text(encoding="utf-8"))
    everything = "\n".join(text_of(cell) for cell in copy["cells"])
    lines = solution_lines(original)
    assert lines, f"{stem}: found no solution text to look for"
    survivors = [line for line in lines if line in everything]
    assert not survivors, f"{stem}: solution text in the student copy: {survivors[:3]}"
    kept = [c for c in original["cells"] if classroom.SOLUTION_TAG not in classroom.tags(c)]
    assert len(copy["cells"]) == len(kept)
    for before, after in zip(kept, copy["cells"], strict=True):
        if classroom.EXERCISE_TAG in classroom.tags(before) and before["cell_type"] == "code":
            assert after["outputs"] == [] and after["source"] == before["source"]
        else:
            assert after == before  # every other cell exactly as it was
    assert {k: v for k, v in copy.items() if k != "cells"} == {
        k: v for k, v in original.items() if k != "cells"
    }


def test_student_copy_of_a_made_up_notebook():
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Title"]},
            {
                "cell_type": "code",
                "metadata": {"tags": ["exercise"]},
                "source": ['check(answer, exercise="01.1")'],
                "outputs": [{"output_type": "stream", "name": "stdout", "text": ["x"]}],
                "execution_count": 3,
            },
            {"cell_type": "markdown", "metadata": {"tags": ["solution"]}, "source": ["2"]},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 4,
    }
    copy = classroom.student_copy(notebook)
    assert [c["cell_type"] for c in copy["cells"]] == ["markdown", "code"]
    assert copy["cells"][1]["outputs"] == [] and copy["cells"][1]["execution_count"] is None
    assert notebook["cells"][1]["outputs"]  # the original is untouched
    assert classroom.exercise_names(notebook) == ["Exercise 1"]


def test_a_submission_is_matched_to_its_course_notebook():
    assert (
        classroom.course_notebook("alice/01_convolution_by_hand.ipynb") == "01_convolution_by_hand"
    )
    assert classroom.course_notebook("bob-04_unet (1).ipynb") == "04_unet"
    assert classroom.course_notebook("notes.ipynb") is None


# --- grading: runs notebooks in the sandbox (CI's extra pass, `make classroom`) ----------------

STEM = "01_convolution_by_hand"
BLANK_VALUE, BLANK_BODY = "answer = None", "    return None  # your code here"
RIGHT = {  # exercise id -> (what the exercise cell has, what a right answer puts there)
    "01.1": (BLANK_VALUE, "answer = (12, 13)"),
    "01.2": (BLANK_VALUE, "answer = [[12, 16], [24, 28]]"),
    "01.3": (BLANK_VALUE, "answer = 15"),
    "01.4": (
        BLANK_BODY,
        "    rows, cols = K.shape\n"
        "    pads = ((rows - 1) // 2, rows // 2), ((cols - 1) // 2, cols // 2)\n"
        "    return correlate_by_hand(np.pad(X, pads), K)",
    ),
    "01.5": (
        BLANK_BODY,
        "    windows = X.reshape(G.shape[0], 2, G.shape[1], 2)\n"
        "    winners = windows == windows.max(axis=(1, 3), keepdims=True)\n"
        "    return (winners * G[:, None, :, None]).reshape(X.shape)",
    ),
}
WRONG = {
    "01.1": (BLANK_VALUE, "answer = (13, 13)"),
    "01.2": (BLANK_VALUE, "answer = [[1, 2], [3, 4]]"),
    "01.3": (BLANK_VALUE, "answer = 7"),
    "01.4": (BLANK_BODY, "    return correlate_by_hand(X, K)"),
    "01.5": (BLANK_BODY, "    return np.ones_like(X)"),
}
OTHER = "/nonexistent"  # replaced by the path of another submission, on the teacher's disk

#: Made-up attacks, each one cell added after the setup (they are bounded: a sandbox that fails
#: cannot take the machine down).
ATTACKS = {
    # The grade records of the old grader, forged, and the checker's own recording switched off.
    "forges": """import json, os
from utils import exercises
folder = os.environ.get("COURSE_GRADING_DIR", ".")
with open(os.path.join(folder, "answers.jsonl"), "a") as log:
    for k in range(1, 6):
        log.write(json.dumps({"exercise": f"01.{k}", "outcome": "correct"}) + "\\n")
exercises._record = lambda entry: None""",
    # The checker patched to say "correct" to everything.
    "patches": """from utils import exercises
exercises.judge_value = lambda *a, **k: ("correct", "")
exercises.judge_function = lambda *a, **k: ("correct", "", [])
exercises.check = lambda *a, **k: print("Exercise: correct ✓")
exercises.check_function = lambda *a, **k: print("Exercise: correct ✓")
check, check_function = exercises.check, exercises.check_function""",
    # print, a builtin and json redefined to write "correct" records.
    "redefines": """import builtins, json
builtins.print = lambda *a, **k: None
builtins.abs = lambda x: 0
json.dumps = lambda *a, **k: '{"exercise": "01.1", "answer": null, "outcome": "correct"}'""",
    # Files outside its own folder: the course, the teacher's notebooks, the machine's /tmp.
    "writes": """from pathlib import Path
import utils
course = Path(utils.__file__).parent.parent
(Path("/tmp") / "written-by-a-submission").write_text("x")  # its own /tmp: harmless
for target in (course / "utils" / "evil.py", course / "README.md", Path("/etc/evil")):
    target.write_text("overwritten")""",
    # Another submission, on the teacher's disk, and the answer key.
    "reads": f"""from utils import answers
print(open({OTHER!r}).read()[:100])""",
    "reads-key": """from utils import answers
check(answers.EXERCISES["01.1"].expected(None), exercise="01.1")""",
    # Memory until refused (at most 12 GiB, in 256 MiB steps).
    "memory": """chunks = []
for _ in range(48):
    chunks.append(np.ones(2**25))  # 256 MiB, written: resident""",
    # Processes until refused (at most 3000, each gone after 3 s).
    "forks": """import os, time
for _ in range(3000):
    if os.fork() == 0:
        time.sleep(3)
        os._exit(0)""",
    # The network.
    "socket": """import socket
socket.create_connection(("1.1.1.1", 80), timeout=5)""",
}


def exercise_cell(cell, exercise):
    source = "".join(cell["source"])
    return classroom.EXERCISE_TAG in classroom.tags(cell) and f'exercise="{exercise}"' in source


def submission(answers, extra_cell=None):
    """The student copy of notebook 01 with `answers` filled in (and `extra_cell` after setup)."""
    notebook = classroom.student_copy(load(STEM))
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        for exercise, (blank, filled) in answers.items():
            if exercise_cell(cell, exercise):
                assert blank in source, exercise
                source = source.replace(blank, filled)
        cell["source"] = source.splitlines(True)
    if extra_cell:
        cell = {"cell_type": "code", "metadata": {}, "source": [extra_cell], "outputs": []}
        notebook["cells"].insert(3, {**cell, "execution_count": None})
    return notebook


def rows_by_submission(csv_path):
    rows = list(__import__("csv").DictReader(csv_path.open(encoding="utf-8")))
    by = {}
    for row in rows:
        by.setdefault(row["submission"].split("_")[0], []).append(row)
    return by


@pytest.mark.classroom
def test_grading_made_up_submissions(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    made_up = {
        "all-right": submission(RIGHT),
        "all-wrong": submission(WRONG),
        "raises": submission(RIGHT, 'raise RuntimeError("a bug before the exercises")'),
        "never-ends": submission(RIGHT, "while True:\n    pass"),
    }
    other = folder / f"all-right_{STEM}.ipynb"
    for name, code in ATTACKS.items():
        answers = {} if name in ("forges", "patches", "redefines") else RIGHT
        made_up[name] = submission(answers, code.replace(OTHER, str(other)))
    for name, notebook in made_up.items():
        (folder / f"{name}_{STEM}.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    (folder / f"corrupt_{STEM}.ipynb").write_text('{"cells": [', encoding="utf-8")
    (folder / "notes.txt").write_text("not a notebook", encoding="utf-8")
    limits = classroom.sandbox.Limits(seconds=120, memory_bytes=3 * 2**30, processes=256)
    csv_path = classroom.grade(folder, tmp_path / "grades", limits=limits)
    by = rows_by_submission(csv_path)
    outcomes = {name: [r["outcome"] for r in rows] for name, rows in by.items()}
    status = {name: (rows[0]["status"], rows[0]["detail"]) for name, rows in by.items()}
    # The honest ones grade as they always did.
    assert status["all-right"][0] == "ran" and outcomes["all-right"] == ["correct"] * 5
    assert outcomes["all-wrong"] == ["wrong"] * 5
    messages = [r["message"] for r in by["all-wrong"]]
    assert "valid: ⌊(n − k_eff)/s⌋ + 1" in messages[0]  # a hint, not the answer
    assert not any(str(value) in messages[0] for value in (12, 13))
    assert messages[3].splitlines()[0] == "0 of 3 cases pass"  # then every case, one a line
    assert "✗ an even 2×2 kernel" in messages[3] and "pads the extra row" in messages[3]
    assert status["raises"][0] == "raised" and "RuntimeError" in status["raises"][1]
    assert outcomes["raises"] == ["correct"] * 5  # later cells still ran
    assert status["never-ends"][0] == "timed out"
    assert set(outcomes["never-ends"]) == {"not reached"}
    assert status["corrupt"][0] == "not a notebook" and status["notes.txt"][0] == "not a notebook"
    # Nothing a submission forges, patches or redefines makes an answer correct.
    for name in ("forges", "patches", "redefines"):
        assert "correct" not in outcomes[name], (name, outcomes[name])
    # Writing outside its folder, reading another submission or the key, the network: refused.
    assert status["writes"][0] == "blocked by the sandbox", status["writes"]
    assert (
        not (ROOT / "utils" / "evil.py").exists()
        and not Path("/tmp/written-by-a-submission").exists()
    )
    assert status["reads"][0] == "raised" and "FileNotFoundError" in status["reads"][1]
    assert status["reads-key"][0] == "raised" and "EXERCISES" in status["reads-key"][1]
    assert outcomes["reads-key"] == ["correct"] * 5  # its own (right) answers still count
    assert status["socket"][0] == "blocked by the sandbox", status["socket"]
    assert "Network is unreachable" in status["socket"][1]
    # Memory and processes: bounded, and the table says which.
    assert status["memory"][0] == "killed for memory", status["memory"]
    assert status["forks"][0] == "blocked by the sandbox", status["forks"]
    assert "Resource temporarily unavailable" in status["forks"][1]
    summary = (tmp_path / "grades" / "grades.md").read_text(encoding="utf-8")
    assert "| 5 / 5 |" in summary and "timed out" in summary
    print(summary)  # the closing note's table (pytest -s)


@pytest.mark.classroom
def test_grading_unsandboxed_still_judges_outside_the_submission(tmp_path, monkeypatch):
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name, notebook in (
        ("right", submission(RIGHT)),
        ("forges", submission({}, ATTACKS["forges"])),
    ):
        (folder / f"{name}_{STEM}.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    monkeypatch.setattr(classroom.sandbox, "isolation_problem", lambda: "not Linux")
    limits = classroom.sandbox.Limits(seconds=120)
    by = rows_by_submission(
        classroom.grade(folder, tmp_path / "g", limits=limits, unsandboxed=True)
    )
    assert [r["outcome"] for r in by["right"]] == ["correct"] * 5
    assert "correct" not in [r["outcome"] for r in by["forges"]]


def test_grading_refuses_without_isolation_unless_told(tmp_path, monkeypatch):
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    (submissions / "notes.txt").write_text("not a notebook", encoding="utf-8")
    monkeypatch.setattr(classroom.sandbox, "isolation_problem", lambda: "no bubblewrap here")
    with pytest.raises(classroom.IsolationUnavailable, match=r"no bubblewrap here.*--unsandboxed"):
        classroom.grade(submissions, tmp_path / "grades")
    assert classroom.main(["grade", str(submissions), "--out", str(tmp_path / "g")]) == 2
    csv_path = classroom.grade(submissions, tmp_path / "grades", unsandboxed=True)
    assert "not a notebook" in csv_path.read_text(encoding="utf-8")


def test_grading_skips_hidden_checkpoint_copies(tmp_path):
    submissions = tmp_path / "submissions"
    (submissions / ".ipynb_checkpoints").mkdir(parents=True)
    (submissions / ".ipynb_checkpoints" / "ada_01_convolution_by_hand-checkpoint.ipynb").write_text(
        "{}", encoding="utf-8"
    )
    (submissions / "notes.txt").write_text("not a notebook", encoding="utf-8")
    # Nothing here is run: no sandbox needed.
    csv_path = classroom.grade(submissions, tmp_path / "grades", timeout=30, unsandboxed=True)
    rows = csv_path.read_text(encoding="utf-8").splitlines()[1:]
    assert len(rows) == 1 and rows[0].startswith("notes.txt,")

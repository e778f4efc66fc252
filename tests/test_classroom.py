"""Tests of tools/classroom.py: student copies without solutions, and grading submissions.

The grading tests run notebooks (a few minutes in all): they are marked `classroom` and run in
CI's extra pass (`make classroom`), not in `make test`.
"""

import json
import re

import pytest

from tools import classroom
from tools.course import NOTEBOOK_DIR, NOTEBOOKS

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
                "source": ['check(answer, 2, name="Exercise 1")'],
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


# --- grading: runs notebooks (CI's extra pass, `make classroom`) -------------------------------

STEM = "01_convolution_by_hand"
RIGHT = {  # Exercise name -> (what the exercise cell has, what a right answer puts there)
    "Exercise 1": ("answer = None", "answer = (12, 13)"),
    "Exercise 2": ("answer = None", "answer = [[12, 16], [24, 28]]"),
    "Exercise 3": ("answer = None", "answer = 15"),
    "Exercise 4": (
        "    return None  # your code here",
        "    rows, cols = K.shape\n"
        "    pads = ((rows - 1) // 2, rows // 2), ((cols - 1) // 2, cols // 2)\n"
        "    return correlate_by_hand(np.pad(X, pads), K)",
    ),
    "Exercise 5": (
        "    return None  # your code here",
        "    windows = X.reshape(G.shape[0], 2, G.shape[1], 2)\n"
        "    winners = windows == windows.max(axis=(1, 3), keepdims=True)\n"
        "    return (winners * G[:, None, :, None]).reshape(X.shape)",
    ),
}
WRONG = {
    "Exercise 1": ("answer = None", "answer = (13, 13)"),
    "Exercise 2": ("answer = None", "answer = [[1, 2], [3, 4]]"),
    "Exercise 3": ("answer = None", "answer = 7"),
    "Exercise 4": ("    return None  # your code here", "    return correlate_by_hand(X, K)"),
    "Exercise 5": ("    return None  # your code here", "    return np.ones_like(X)"),
}


def submission(tmp_path, answers, extra_cell=None):
    """The student copy of notebook 01 with `answers` filled in (and `extra_cell` after setup)."""
    notebook = classroom.student_copy(load(STEM))
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        for name, (blank, filled) in answers.items():
            if classroom.EXERCISE_TAG in classroom.tags(cell) and f'name="{name}"' in source:
                assert blank in source, name
                source = source.replace(blank, filled)
        cell["source"] = source.splitlines(True)
    if extra_cell:
        cell = {"cell_type": "code", "metadata": {}, "source": [extra_cell], "outputs": []}
        notebook["cells"].insert(3, {**cell, "execution_count": None})
    return notebook


@pytest.mark.classroom
def test_grading_made_up_submissions(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    made_up = {
        "all-right": submission(tmp_path, RIGHT),
        "all-wrong": submission(tmp_path, WRONG),
        "raises": submission(tmp_path, RIGHT, 'raise RuntimeError("a bug before the exercises")'),
        "never-ends": submission(tmp_path, RIGHT, "while True:\n    pass"),
    }
    for name, notebook in made_up.items():
        (folder / f"{name}_{STEM}.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    (folder / f"corrupt_{STEM}.ipynb").write_text('{"cells": [', encoding="utf-8")
    (folder / "notes.txt").write_text("not a notebook", encoding="utf-8")
    csv_path = classroom.grade(folder, tmp_path / "grades", timeout=90)
    rows = list(__import__("csv").DictReader(csv_path.open(encoding="utf-8")))
    by = {}
    for row in rows:
        by.setdefault(row["submission"].split("_")[0], []).append(row)
    assert {r["status"] for r in by["all-right"]} == {"ran"}
    assert [r["outcome"] for r in by["all-right"]] == ["correct"] * 5
    assert [r["outcome"] for r in by["all-wrong"]] == ["wrong"] * 5
    assert "values differ" in by["all-wrong"][1]["message"]
    assert "on case 1" in by["all-wrong"][3]["message"]  # the function's case, named
    assert (
        by["raises"][0]["status"] == "ran with errors"
        and "RuntimeError" in by["raises"][0]["detail"]
    )
    assert [r["outcome"] for r in by["raises"]] == ["correct"] * 5  # later cells still ran
    assert by["never-ends"][0]["status"] == "timed out"
    assert {r["outcome"] for r in by["never-ends"]} == {"not reached"}
    assert by["corrupt"][0]["status"] == "not a notebook"
    assert by["notes.txt"][0]["status"] == "not a notebook"
    summary = (tmp_path / "grades" / "grades.md").read_text(encoding="utf-8")
    assert "| 5 / 5 |" in summary and "timed out" in summary


def test_grading_skips_hidden_checkpoint_copies(tmp_path):
    submissions = tmp_path / "submissions"
    (submissions / ".ipynb_checkpoints").mkdir(parents=True)
    (submissions / ".ipynb_checkpoints" / "ada_01_convolution_by_hand-checkpoint.ipynb").write_text(
        "{}", encoding="utf-8"
    )
    (submissions / "notes.txt").write_text("not a notebook", encoding="utf-8")
    csv_path = classroom.grade(submissions, tmp_path / "grades", timeout=30)
    rows = csv_path.read_text(encoding="utf-8").splitlines()[1:]
    assert len(rows) == 1 and rows[0].startswith("notes.txt,")
